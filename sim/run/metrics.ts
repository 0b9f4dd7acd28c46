/**
 * What a run records: the state after each step (timeline.csv), the books-balance checks after each step
 * (the invariants of test/helpers/conservation.ts and test/helpers/perps.ts, collected instead of asserted),
 * and the summary (summary.json, fields as SCENARIOS.md lists them). Amounts are read in base units and
 * written as decimals; nothing here depends on wall-clock time except `wallSeconds`.
 */
import { formatUnits } from "ethers";

import type { System } from "../../deploy/deploySystem";
import { Action, PriceStatus } from "../../deploy/enums";
import type { Scenario } from "../scenario";
import { BASE_DECIMALS } from "./build";
import type { SimEvent, StepActivity } from "./keepers";

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
}

export interface Violation {
  step: number;
  check: string;
  detail: string;
}

/** Reads the state after a step. */
export async function snapshot(
  sys: System,
  s: Scenario,
  step: number,
  time: number,
  market: Record<string, number>,
  activity: StepActivity,
  accounts: { borrowers: string[]; traders: string[] },
): Promise<Snapshot> {
  const lending = sys.lending!.market;
  const perp = sys.perps!.market;
  const assets: Snapshot["assets"] = [];
  for (const a of s.assets) {
    const [price, status] = await sys.router.peek(sys.assets[a.symbol].address);
    assets.push({
      symbol: a.symbol,
      market: market[a.symbol],
      oracle: formatUnits(price, 18),
      status: PriceStatus[Number(status)],
      borrowAllowed: await sys.router.isAllowed(status, Action.BORROW),
    });
  }
  const [supplied, , borrowed] = await lending.totals();
  const perps: Snapshot["perps"] = [];
  for (const a of s.assets) {
    const m = await perp.marketView(sys.perps!.marketIds[a.symbol]);
    perps.push({ symbol: a.symbol, longOI: m.longOI, shortOI: m.shortOI, fundingRate: m.fundingRate });
  }
  const lb = await lending.badDebt();
  const pb = await perp.badDebt();
  const outstanding = await sys.insuranceFund.totalRecourseDebt();
  const recovered = await sys.insuranceFund.totalRecovered();
  // Below zero: debt above the collateral's value, negative perps equity, or (RECOURSE) a debt still owed.
  let belowZero = 0;
  const recourse = s.negativeBalancePolicy === "recourse";
  const owes = async (a: string) => recourse && (await sys.insuranceFund.recourseDebt(a)) > 0n;
  for (const b of accounts.borrowers) {
    const v = await lending.accountView(b);
    if (v.debt > v.collateralValue || (await owes(b))) belowZero += 1;
  }
  for (const t of accounts.traders) {
    if ((await perp.accountView(t)).equity < 0n || (await owes(t))) belowZero += 1;
  }
  return {
    step,
    time,
    assets,
    utilisation: await lending.utilisation(),
    supplied,
    borrowed,
    perps,
    vaultNav: await sys.perps!.vault.totalAssets(),
    insurance: await sys.insuranceFund.totalAssets(),
    deficit: {
      total: lb.deficit + pb.deficit,
      insurance: lb.coveredByInsurance + pb.coveredByInsurance,
      socialisedSuppliers: lb.socialised,
      socialisedLps: pb.socialised,
      // ADL closes winners at a haircut instead of socialising a deficit: its haircuts are not deficits
      // (adlHaircut reports them). A deficit never reaches ADL in the contracts today.
      adl: 0n,
    },
    adlHaircut: await perp.totalAdlHaircut(),
    recourse: { owed: outstanding + recovered, recovered, outstanding },
    liquidations: activity.lendingLiquidations + activity.perpLiquidations,
    blocked: activity.blockedLiquidations,
    belowZero,
  };
}

/** The books-balance checks after a step (lending and perps); returns the violations. */
export async function checkInvariants(
  sys: System,
  step: number,
  snap: Snapshot,
  marginAccounts: string[],
): Promise<Violation[]> {
  const out: Violation[] = [];
  const fail = (check: string, detail: string) => out.push({ step, check, detail });
  const lending = sys.lending!.market;
  const perp = sys.perps!.market;
  const erc20 = sys.base.erc20;

  const [supplyAssets, , borrowAssets, , reserves] = await lending.totals();
  const owed = supplyAssets + reserves > borrowAssets ? supplyAssets + reserves - borrowAssets : 0n;
  const cash = await erc20.balanceOf(await lending.getAddress());
  if (cash < owed) fail("lending.cash", `held ${cash} < supplied + reserves - borrowed ${owed}`);
  for (const a of Object.values(sys.assets)) {
    const held = await a.token!.balanceOf(await lending.getAddress());
    const recorded = (await lending.collateralConfig(a.address)).totalSupplied;
    if (held < recorded) fail("lending.collateral", `${a.symbol}: held ${held} < recorded ${recorded}`);
  }
  const lb = await lending.badDebt();
  if (lb.deficit !== lb.coveredByInsurance + lb.socialised) {
    fail("lending.deficit", `${lb.deficit} != ${lb.coveredByInsurance} + ${lb.socialised}`);
  }

  const held = await erc20.balanceOf(await perp.getAddress());
  let margins = 0n;
  for (const a of marginAccounts) margins += (await perp.marginOf(a)).margin;
  const [capital, pending] = await perp.pool();
  if (held !== margins + capital + pending) {
    fail("perps.books", `held ${held} != margins ${margins} + pool ${capital} + pending ${pending}`);
  }
  const pb = await perp.badDebt();
  if (pb.deficit !== pb.coveredByInsurance + pb.socialised) {
    fail("perps.deficit", `${pb.deficit} != ${pb.coveredByInsurance} + ${pb.socialised}`);
  }

  const f = sys.insuranceFund;
  const recorded = lb.recourseRecorded + pb.recourseRecorded;
  if (snap.recourse.owed !== recorded)
    fail("recourse", `owed + recovered ${snap.recourse.owed} != recorded ${recorded}`);
  const fundBalance = await erc20.balanceOf(await f.getAddress());
  if (snap.insurance !== fundBalance)
    fail("insurance.books", `assets ${snap.insurance} != balance ${fundBalance}`);

  const d = snap.deficit;
  if (d.total !== d.insurance + d.socialisedSuppliers + d.socialisedLps + d.adl) {
    fail("deficit.waterfall", `total ${d.total} != insurance + suppliers + lps + adl`);
  }
  return out;
}

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
  return cols.join(",");
}

/** events.csv: step, kind, account, amount (USD), tx hash. */
export function eventsCsv(events: SimEvent[]): string {
  const rows = events.map((e) => [e.step, e.kind, e.account, dec(e.amount), e.tx].join(","));
  return ["step,kind,account,amount,tx", ...rows].join("\n") + "\n";
}
