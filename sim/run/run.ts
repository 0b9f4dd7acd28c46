/**
 * One simulation: deploy the scenario's system, build its population, then for each step 0..steps set the
 * market and feeds from the price path and the oracle plan, let the keepers act, read the state and check
 * the books. Returns the summary, the timeline and the events; `writeOutputs` writes them to a directory.
 *
 * Determinism: every transaction is mined at a timestamp the clock chooses (sim/run/chain.ts) and every
 * random draw comes from the scenario's seed, so the same file and seed give byte-identical summary.json
 * (apart from `wallSeconds`) and timeline.csv.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

import type { System } from "../../deploy/deploySystem";

import { oraclePlan, pricePaths, type Scenario } from "../scenario";
import { Action, PriceStatus } from "../../deploy/enums";
import { writeReport } from "../report/report";
import { deployHarness, Reads, Writes } from "./batch";
import { buildSystem, FEED_DECIMALS } from "./build";
import { Chain } from "./chain";
import { Keepers, type SimEvent } from "./keepers";
import {
  checkInvariants,
  eventsCsv,
  num,
  snapshot,
  timelineHeader,
  timelineRow,
  type Snapshot,
  type Violation,
} from "./metrics";
import { FeedDriver } from "./oracle";
import { buildPopulation, everyone, usd } from "./population";
import { Tracker } from "./tracker";

/** Every this many steps (and at the last), every account is read exactly and the keepers' filter checked. */
const AUDIT_EVERY = 500;

export interface RunOptions {
  /** Overrides the scenario's seed. */
  seed?: number;
  /** Called after every `every`-th step and the last (default: never). */
  progress?: (step: number, steps: number, line: string) => void;
  every?: number;
  /**
   * Every this many steps (and at the last) every account is read exactly and the keepers' filter checked
   * (default AUDIT_EVERY; 1 reads everyone every step, as a reference run).
   */
  auditEvery?: number;
  /** Called after the keepers of each step, before the step is recorded (tests plant faults here). */
  afterKeepers?: (step: number, system: System) => Promise<void>;
}

export interface RunResult {
  summary: Summary;
  timeline: string;
  events: SimEvent[];
  violations: Violation[];
  /** Wall-clock milliseconds per phase (setup, oracle, reads, keepers, snapshot): for the benchmark only. */
  phases: Record<string, number>;
}

/** summary.json (SCENARIOS.md); `population`, `adlHaircut` and `transactions` are additions. */
export interface Summary {
  scenario: string;
  seed: number;
  steps: number;
  accounts: number;
  wallSeconds: number;
  liquidations: { lending: number; perps: number; valueRepaid: number; bonusPaid: number };
  deficit: {
    total: number;
    insurance: number;
    socialisedSuppliers: number;
    socialisedLps: number;
    adl: number;
  };
  adlHaircut: number;
  /** Stop-loss orders executed by the orders keeper. */
  ordersExecuted: number;
  recourse: { owed: number; recovered: number; outstanding: number };
  insuranceFund: { start: number; end: number; min: number };
  suppliers: { lossPct: number };
  lps: { lossPct: number };
  negativeAccounts: number;
  oracle: { stepsDegraded: number; blockedActions: { borrow: number; liquidate: number } };
  invariants: { checked: number; violations: Violation[] };
  population: { suppliers: number; borrowers: number; lps: number; traders: number; skipped: number };
  transactions: number;
}

/** Loss as a percentage of what was put in, 6 decimals (negative: a gain). */
function lossPct(deposited: bigint, now: bigint): number {
  if (deposited === 0n) return 0;
  return Number(((deposited - now) * 100_000_000n) / deposited) / 1e6;
}

export async function runSimulation(
  hre: HardhatRuntimeEnvironment,
  scenario: Scenario,
  opts: RunOptions = {},
): Promise<RunResult> {
  const started = Date.now();
  const s: Scenario = { ...scenario, seed: opts.seed ?? scenario.seed };
  const prices = pricePaths(s);
  const plan = oraclePlan(s, prices);

  const phases: Record<string, number> = {
    deploy: 0,
    book: 0,
    population: 0,
    oracle: 0,
    reads: 0,
    keepers: 0,
    snapshot: 0,
  };
  let mark = Date.now();
  const lap = (phase: string) => {
    const now = Date.now();
    phases[phase] += now - mark;
    mark = now;
  };
  const sys = await buildSystem(hre, s);
  const chain = new Chain(hre);
  await chain.init();
  const harness = await deployHarness(hre);
  // Fresh accounts per deployment (a second run in one process must not reuse the first one's accounts).
  const salt = await sys.router.getAddress();

  const insuranceStart = usd(s.params.insuranceFund.initial);
  if (insuranceStart > 0n) {
    const fundAddress = await sys.insuranceFund.getAddress();
    const admin = sys.admin;
    await chain.send(() => sys.base.token!.mint(admin.getAddress(), insuranceStart));
    await chain.send(() => sys.base.erc20.connect(admin).approve(fundAddress, insuranceStart));
    await chain.send(() => sys.insuranceFund.connect(admin).topUp(insuranceStart));
  }
  // Fresh rounds at the market's starting prices: the deployment's rounds may be older than a heartbeat.
  const fresh = new Writes();
  for (const a of s.assets) {
    const d = sys.assets[a.symbol];
    for (const feed of [d.primaryFeed, d.fallbackFeed]) {
      if (!feed?.mock) continue;
      const answer = BigInt(Math.round(prices[a.symbol][0] * 10 ** FEED_DECIMALS));
      await fresh.add(feed.mock, "setPrice", [answer]);
    }
  }
  await chain.send(() => harness.multicall(fresh.targets, fresh.data));
  lap("deploy");
  const pop = await buildPopulation(chain, sys, s, harness);
  lap("population");
  const keepers = new Keepers(chain, sys, s, pop);
  await keepers.init(salt);
  const feeds = new FeedDriver(chain, sys, s, plan);
  const borrowAllowed: boolean[] = [];
  for (let status = 0; status <= PriceStatus.DISAGREE; status++) {
    borrowAllowed.push(await sys.router.isAllowed(status, Action.BORROW));
  }

  const lending = sys.lending!.market;
  const tracker = new Tracker(sys, s, pop);
  const reads = new Reads(harness);
  // The keepers' book starts from an exact read of every account.
  {
    const g = await tracker.readGlobals(reads, s, chain.t - 1);
    await reads.run();
    await tracker.readExact(reads, tracker.all, g, 0);
    await reads.run();
  }
  lap("book");
  const rows = [timelineHeader(s)];
  const violations: Violation[] = [];
  let insuranceMin = insuranceStart;
  let stepsDegraded = 0;
  let blockedBorrow = 0;
  let last: Snapshot | undefined;
  /** Accounts that had a deficit (under RECOURSE, the only ones that can owe). */
  const owing = new Set<string>();
  chain.moveTo(chain.t + s.stepSeconds);
  chain.t0 = chain.t;

  // With cascade: the market prices so far (the path x the liquidators' accumulated price impact).
  const market: Record<string, number[]> = Object.fromEntries(s.assets.map((a) => [a.symbol, []]));
  const factor: Record<string, number> = Object.fromEntries(s.assets.map((a) => [a.symbol, 1]));
  const fix = (x: number) => Number(x.toPrecision(12));

  for (let step = 0; step <= s.steps; step++) {
    chain.moveTo(chain.t0 + step * s.stepSeconds);
    feeds.stepTimes.push(chain.t);
    const stepStart = chain.t;
    if (s.cascade) {
      for (const a of s.assets) market[a.symbol].push(fix(prices[a.symbol][step] * factor[a.symbol]));
    }
    // One transaction: the feeds' reports, then the router's reads (a suspect price's first sighting, the
    // last good price) and the lending market's interest.
    const writes = new Writes();
    await feeds.apply(step, writes, s.cascade ? market : undefined);
    for (const a of s.assets) await writes.add(sys.router, "price", [sys.assets[a.symbol].address]);
    await writes.add(lending, "accrueInterest", []);
    await chain.send(() => harness.multicall(writes.targets, writes.data));
    lap("oracle");

    // The keepers' view of the step: global state, then exact reads of the accounts it may have put at risk
    // (of everyone on an audit step, which also checks that the filter missed nobody).
    tracker.newStep();
    const g = await tracker.readGlobals(reads, s, chain.t - 1);
    await reads.run();
    const picked = tracker.candidates(g, step);
    const seen = new Set([...picked, ...tracker.lendingViews.keys(), ...tracker.perpViews.keys()]);
    const every = opts.auditEvery ?? AUDIT_EVERY;
    const audit = step > 0 && (step % every === 0 || step === s.steps);
    await tracker.readExact(reads, audit ? tracker.all : picked, g, step);
    await reads.run();
    if (audit) {
      for (const a of tracker.missed(seen)) {
        violations.push({ step, check: "keeper.filter", detail: `${a} is liquidatable but was not re-read` });
      }
    }
    lap("reads");
    const activity = await keepers.act(step, tracker, g, reads);
    if (opts.afterKeepers) await opts.afterKeepers(step, sys);

    const now = Object.fromEntries(
      s.assets.map((a) => [a.symbol, s.cascade ? market[a.symbol][step] : prices[a.symbol][step]]),
    );
    // Cascade: the sales of this step move the market for the rest of the run (at most -99% per step).
    for (const [symbol, impact] of Object.entries(activity.impact)) {
      if (s.cascade) factor[symbol] = factor[symbol] * Math.max(0.01, 1 - impact);
    }
    lap("keepers");
    for (const e of keepers.events) if (e.step === step && e.kind.endsWith(".deficit")) owing.add(e.account);
    await tracker.readExact(reads, tracker.touched, g, step);
    const out = await snapshot(
      sys,
      s,
      step,
      stepStart - chain.t0,
      now,
      activity,
      tracker,
      reads,
      owing,
      keepers.addresses,
      borrowAllowed,
    );
    const snap = out.snap;
    if (snap.assets.some((a) => a.status !== "OK")) stepsDegraded += 1;
    blockedBorrow += snap.assets.filter((a) => !a.borrowAllowed).length;
    if (snap.insurance < insuranceMin) insuranceMin = snap.insurance;
    violations.push(...checkInvariants(step, snap, out.books, tracker.margins));
    rows.push(timelineRow(snap));
    last = snap;
    lap("snapshot");
    if (opts.progress && opts.every && (step % opts.every === 0 || step === s.steps)) {
      opts.progress(
        step,
        s.steps,
        `step ${step}/${s.steps}: ${snap.liquidations} liquidation(s), deficit ${num(snap.deficit.total)}`,
      );
    }
  }

  const snap = last!;
  let suppliersIn = 0n;
  let suppliersNow = 0n;
  for (const a of pop.suppliers) {
    suppliersIn += a.deposited;
    await reads.add(lending, "accountView", [a.address], (r) => (suppliersNow += r[0].supplyAssets), {
      gas: 90_000,
    });
  }
  let lpsIn = 0n;
  const vault = sys.perps!.vault;
  let lpShares = 0n;
  for (const a of pop.lps) {
    lpsIn += a.deposited;
    await reads.add(vault, "balanceOf", [a.address], (r) => (lpShares += r[0]));
  }
  await reads.run();
  // Rounded down once over all LP shares, where per-LP rounding differs by at most a unit per LP.
  const lpsNow = await vault.convertToAssets(lpShares);
  const t = keepers.totals;
  const summary: Summary = {
    scenario: s.name,
    seed: s.seed,
    steps: s.steps,
    accounts: everyone(pop).length,
    wallSeconds: 0,
    liquidations: {
      lending: t.liquidationsLending,
      perps: t.liquidationsPerps,
      valueRepaid: num(t.valueRepaid),
      bonusPaid: num(t.bonusPaid),
    },
    deficit: {
      total: num(snap.deficit.total),
      insurance: num(snap.deficit.insurance),
      socialisedSuppliers: num(snap.deficit.socialisedSuppliers),
      socialisedLps: num(snap.deficit.socialisedLps),
      adl: num(snap.deficit.adl),
    },
    adlHaircut: num(snap.adlHaircut),
    ordersExecuted: t.ordersExecuted,
    recourse: {
      owed: num(snap.recourse.owed),
      recovered: num(snap.recourse.recovered),
      outstanding: num(snap.recourse.outstanding),
    },
    insuranceFund: { start: num(insuranceStart), end: num(snap.insurance), min: num(insuranceMin) },
    suppliers: { lossPct: lossPct(suppliersIn, suppliersNow) },
    lps: { lossPct: lossPct(lpsIn, lpsNow) },
    negativeAccounts: snap.belowZero,
    oracle: { stepsDegraded, blockedActions: { borrow: blockedBorrow, liquidate: t.blockedLiquidate } },
    invariants: { checked: s.steps + 1, violations },
    population: {
      suppliers: pop.suppliers.length,
      borrowers: pop.borrowers.length,
      lps: pop.lps.length,
      traders: pop.traders.length,
      skipped: pop.skipped.length,
    },
    transactions: chain.txCount,
  };
  summary.wallSeconds = Math.round((Date.now() - started) / 100) / 10;
  return { summary, timeline: rows.join("\n") + "\n", events: keepers.events, violations, phases };
}

/**
 * Writes summary.json, timeline.csv, events.csv and report.html (docs/report.md) into `dir` (created);
 * returns the report's path.
 */
export function writeOutputs(dir: string, r: RunResult): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "summary.json"), JSON.stringify(r.summary, null, 2) + "\n");
  writeFileSync(join(dir, "timeline.csv"), r.timeline);
  writeFileSync(join(dir, "events.csv"), eventsCsv(r.events));
  return writeReport(dir);
}
