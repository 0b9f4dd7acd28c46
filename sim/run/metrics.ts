/**
 * What a run records: the state after each step (timeline.csv), the books-balance checks after each step
 * (the invariants of test/helpers/conservation.ts and test/helpers/perps.ts, collected instead of asserted),
 * and the summary (summary.json, fields as SCENARIOS.md lists them). Amounts are read in base units and
 * written as decimals; nothing here depends on wall-clock time except `wallSeconds`.
 */
import { formatUnits, type Result } from "ethers";

import type { System } from "../../deploy/deploySystem";
import { PriceStatus } from "../../deploy/enums";
import type { Scenario } from "../scenario";
import { BASE_DECIMALS } from "./build";
import type { Reads } from "./batch";
import type { SimEvent, StepActivity } from "./keepers";
import type { Tracker } from "./tracker";

const WAD = 10n ** 18n;
/** Base units as a decimal string (exact). */
export const dec = (units: bigint) => formatUnits(units, BASE_DECIMALS);
/** Base units as a JSON number (exact to the base unit below 2^53 units). */
export const num = (units: bigint) => Number(dec(units));
/** A WAD fraction as a decimal string, 6 places. */
const frac = (w: bigint) => (Number((w * 1_000_000n) / WAD) / 1e6).toString();

export interface Snapshot {
  step: number;
  time: number;
  assets: { symbol: string; market: number; oracle: string; status: string; borrowAllowed: boolean }[];
  utilisation: bigint;
  supplied: bigint;
  borrowed: bigint;
  perps: { symbol: string; longOI: bigint; shortOI: bigint; fundingRate: bigint }[];
  vaultNav: bigint;
  insurance: bigint;
  deficit: {
    total: bigint;
    insurance: bigint;
    socialisedSuppliers: bigint;
    socialisedLps: bigint;
    adl: bigint;
  };
  adlHaircut: bigint;
  recourse: { owed: bigint; recovered: bigint; outstanding: bigint };
  liquidations: number;
  blocked: number;
  belowZero: number;
  /** Borrowers and traders per health bucket: < 1, 1-1.1, 1.1-1.25, 1.25-1.5, >= 1.5. */
  health: number[];
}

export interface Violation {
  step: number;
  check: string;
  detail: string;
}

/** Raw reads the books-balance checks need (filled with the snapshot's batch). */
export interface Books {
  lendingCash: bigint;
  lendingOwed: bigint;
  collateral: { symbol: string; held: bigint; recorded: bigint }[];
  lendingBad: { deficit: bigint; covered: bigint; socialised: bigint; recourse: bigint };
  perpHeld: bigint;
  /** Margin of accounts outside the tracker (the keepers: fees are paid to them as tokens, but any margin counts). */
  keeperMargins: bigint;
  poolCapital: bigint;
  poolPending: bigint;
  perpBad: { deficit: bigint; covered: bigint; socialised: bigint; recourse: bigint };
  fundBalance: bigint;
}

/**
 * Reads the state after a step in one batch (with whatever the caller already queued in `reads`, such as
 * the exact re-reads of the accounts the keepers touched), then fills the snapshot and the books.
 */
export async function snapshot(
  sys: System,
  s: Scenario,
  step: number,
  time: number,
  market: Record<string, number>,
  activity: StepActivity,
  tracker: Tracker,
  reads: Reads,
  owing: Iterable<string>,
  keepers: string[],
  /** Whether each price status allows BORROW (the router's policy, read once per run). */
  borrowAllowed: boolean[],
): Promise<{ snap: Snapshot; books: Books }> {
  const lending = sys.lending!.market;
  const perp = sys.perps!.market;
  const erc20 = sys.base.erc20;
  const fund = sys.insuranceFund;
  const globals = await tracker.readGlobals(reads, s, time);
  const x = {
    utilisation: 0n,
    vaultNav: 0n,
    insurance: 0n,
    outstanding: 0n,
    recovered: 0n,
    adlHaircut: 0n,
    owing: 0,
  };
  const books: Books = {
    lendingCash: 0n,
    lendingOwed: 0n,
    collateral: [],
    lendingBad: { deficit: 0n, covered: 0n, socialised: 0n, recourse: 0n },
    perpHeld: 0n,
    keeperMargins: 0n,
    poolCapital: 0n,
    poolPending: 0n,
    perpBad: { deficit: 0n, covered: 0n, socialised: 0n, recourse: 0n },
    fundBalance: 0n,
  };
  const bad = (r: Result) => ({
    deficit: r[0].deficit as bigint,
    covered: r[0].coveredByInsurance as bigint,
    socialised: r[0].socialised as bigint,
    recourse: r[0].recourseRecorded as bigint,
  });
  await reads.add(lending, "utilisation", [], (r) => (x.utilisation = r[0]));
  await reads.add(lending, "badDebt", [], (r) => (books.lendingBad = bad(r)));
  await reads.add(erc20, "balanceOf", [await lending.getAddress()], (r) => (books.lendingCash = r[0]));
  for (const [symbol, a] of Object.entries(sys.assets)) {
    const c = { symbol, held: 0n, recorded: 0n };
    books.collateral.push(c);
    await reads.add(a.token!, "balanceOf", [await lending.getAddress()], (r) => (c.held = r[0]));
    await reads.add(lending, "collateralConfig", [a.address], (r) => (c.recorded = r[0].totalSupplied));
  }
  await reads.add(perp, "badDebt", [], (r) => (books.perpBad = bad(r)));
  await reads.add(perp, "pool", [], (r) => {
    books.poolCapital = r[0];
    books.poolPending = r[1];
  });
  await reads.add(perp, "totalAdlHaircut", [], (r) => (x.adlHaircut = r[0]));
  await reads.add(erc20, "balanceOf", [await perp.getAddress()], (r) => (books.perpHeld = r[0]));
  for (const k of keepers) {
    await reads.add(perp, "marginOf", [k], (r) => (books.keeperMargins += r[0]));
  }
  await reads.add(sys.perps!.vault, "totalAssets", [], (r) => (x.vaultNav = r[0]), { gas: 200_000 });
  await reads.add(fund, "totalAssets", [], (r) => (x.insurance = r[0]));
  await reads.add(fund, "totalRecourseDebt", [], (r) => (x.outstanding = r[0]));
  await reads.add(fund, "totalRecovered", [], (r) => (x.recovered = r[0]));
  await reads.add(erc20, "balanceOf", [await fund.getAddress()], (r) => (books.fundBalance = r[0]));
  // Below zero also counts (RECOURSE) accounts still owing: only accounts that had a deficit can owe.
  const recourse = s.negativeBalancePolicy === "recourse";
  const owingNow = new Set<string>();
  if (recourse) {
    for (const a of owing) {
      await reads.add(fund, "recourseDebt", [a], (r) => {
        if (r[0] > 0n) owingNow.add(a);
      });
    }
  }
  await reads.run();

  // Prices, statuses, the lending totals and the perps markets come from the step's global reads.
  const assets: Snapshot["assets"] = s.assets.map((a) => {
    const { price, status } = globals.assets[a.symbol];
    return {
      symbol: a.symbol,
      market: market[a.symbol],
      oracle: formatUnits(price, 18),
      status: PriceStatus[status],
      borrowAllowed: borrowAllowed[status],
    };
  });
  const perps: Snapshot["perps"] = s.assets.map((a) => {
    const m = globals.markets[a.symbol];
    return { symbol: a.symbol, longOI: m.longOI, shortOI: m.shortOI, fundingRate: m.fundingRate };
  });
  const [supplied, , borrowed, , reserves] = globals.totals;
  books.lendingOwed = supplied + reserves > borrowed ? supplied + reserves - borrowed : 0n;
  const { buckets, belowZero } = tracker.healthBuckets(globals);
  for (const a of belowZero) owingNow.add(a);
  const lb = books.lendingBad;
  const pb = books.perpBad;
  const snap: Snapshot = {
    step,
    time,
    assets,
    utilisation: x.utilisation,
    supplied,
    borrowed,
    perps,
    vaultNav: x.vaultNav,
    insurance: x.insurance,
    deficit: {
      total: lb.deficit + pb.deficit,
      insurance: lb.covered + pb.covered,
      socialisedSuppliers: lb.socialised,
      socialisedLps: pb.socialised,
      // ADL closes winners at a haircut instead of socialising a deficit: its haircuts are not deficits
      // (adlHaircut reports them). A deficit never reaches ADL in the contracts today.
      adl: 0n,
    },
    adlHaircut: x.adlHaircut,
    recourse: { owed: x.outstanding + x.recovered, recovered: x.recovered, outstanding: x.outstanding },
    liquidations: activity.lendingLiquidations + activity.perpLiquidations,
    blocked: activity.blockedLiquidations,
    belowZero: owingNow.size,
    health: buckets,
  };
  return { snap, books };
}

/** The books-balance checks after a step (lending and perps); returns the violations. */
export function checkInvariants(
  step: number,
  snap: Snapshot,
  books: Books,
  traderMargins: bigint,
): Violation[] {
  const out: Violation[] = [];
  const fail = (check: string, detail: string) => out.push({ step, check, detail });
  const b = books;
  if (b.lendingCash < b.lendingOwed)
    fail("lending.cash", `held ${b.lendingCash} < supplied + reserves - borrowed ${b.lendingOwed}`);
  for (const c of b.collateral) {
    if (c.held < c.recorded)
      fail("lending.collateral", `${c.symbol}: held ${c.held} < recorded ${c.recorded}`);
  }
  const lb = b.lendingBad;
  if (lb.deficit !== lb.covered + lb.socialised) {
    fail("lending.deficit", `${lb.deficit} != ${lb.covered} + ${lb.socialised}`);
  }
  const margins = traderMargins + b.keeperMargins;
  if (b.perpHeld !== margins + b.poolCapital + b.poolPending) {
    fail(
      "perps.books",
      `held ${b.perpHeld} != margins ${margins} + pool ${b.poolCapital} + pending ${b.poolPending}`,
    );
  }
  const pb = b.perpBad;
  if (pb.deficit !== pb.covered + pb.socialised) {
    fail("perps.deficit", `${pb.deficit} != ${pb.covered} + ${pb.socialised}`);
  }
  const recorded = lb.recourse + pb.recourse;
  if (snap.recourse.owed !== recorded)
    fail("recourse", `owed + recovered ${snap.recourse.owed} != recorded ${recorded}`);
  if (snap.insurance !== b.fundBalance)
    fail("insurance.books", `assets ${snap.insurance} != balance ${b.fundBalance}`);

  const d = snap.deficit;
  if (d.total !== d.insurance + d.socialisedSuppliers + d.socialisedLps + d.adl) {
    fail("deficit.waterfall", `total ${d.total} != insurance + suppliers + lps + adl`);
  }
  return out;
}

/** timeline.csv's health columns: borrowers and traders per health bucket after the step. */
export const HEALTH_COLUMNS = [
  "health.below1",
  "health.1to1.1",
  "health.1.1to1.25",
  "health.1.25to1.5",
  "health.above1.5",
];

/** The header of timeline.csv for the scenario's assets. */
export function timelineHeader(s: Scenario): string {
  const cols = ["step", "time"];
  for (const a of s.assets) cols.push(`${a.symbol}.market`, `${a.symbol}.oracle`, `${a.symbol}.status`);
  cols.push("utilisation", "supplied", "borrowed");
  for (const a of s.assets)
    cols.push(`${a.symbol}.oiLong`, `${a.symbol}.oiShort`, `${a.symbol}.fundingPerDay`);
  cols.push(
    "vaultNav",
    "insuranceFund",
    "deficit.insurance",
    "deficit.suppliers",
    "deficit.lps",
    "deficit.adl",
  );
  cols.push("deficit.total", "liquidations", "blockedLiquidations", "accountsBelowZero");
  cols.push(...HEALTH_COLUMNS);
  return cols.join(",");
}

/** One timeline.csv row. */
export function timelineRow(x: Snapshot): string {
  const cols: string[] = [String(x.step), String(x.time)];
  for (const a of x.assets) cols.push(String(a.market), a.oracle, a.status);
  cols.push(frac(x.utilisation), dec(x.supplied), dec(x.borrowed));
  for (const p of x.perps)
    cols.push(formatUnits(p.longOI, 18), formatUnits(p.shortOI, 18), frac(p.fundingRate * 86400n));
  const d = x.deficit;
  cols.push(
    dec(x.vaultNav),
    dec(x.insurance),
    dec(d.insurance),
    dec(d.socialisedSuppliers),
    dec(d.socialisedLps),
  );
  cols.push(dec(d.adl), dec(d.total), String(x.liquidations), String(x.blocked), String(x.belowZero));
  cols.push(...x.health.map(String));
  return cols.join(",");
}

/** events.csv: step, kind, account, amount (USD), tx hash. */
export function eventsCsv(events: SimEvent[]): string {
  const rows = events.map((e) => [e.step, e.kind, e.account, dec(e.amount), e.tx].join(","));
  return ["step,kind,account,amount,tx", ...rows].join("\n") + "\n";
}
