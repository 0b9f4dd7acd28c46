/**
 * Oracle faults as data: for every asset's feed(s) and every step, the fault that is active and what the
 * feed reports; for the L2 sequencer, whether it is down or in its grace period. The chain driver turns
 * this plan into mock calls (as sim/oracleFaults.ts does); nothing here touches a chain.
 *
 * Times are seconds from the start of the run (step k is at k x stepSeconds).
 */
import { pricePaths } from "./paths";
import type { FeedFault, Scenario, SequencerFault } from "./types";

export type FeedName = "primary" | "fallback";

/** What a feed reports at one step: an answer with its `updatedAt`, or a revert. */
export type FeedReport =
  | { step: number; reverts: true; fault: FeedFault }
  | { step: number; reverts: false; answer: number; updatedAt: number; fault?: FeedFault };

export interface SequencerState {
  step: number;
  down: boolean;
  /** Up, but for no longer than the grace period (the router still reports SEQUENCER_DOWN). */
  inGrace: boolean;
  /** When the status last changed (seconds from the start); null: before the run. */
  since: number | null;
  fault?: SequencerFault;
}

export interface OraclePlan {
  /** Per asset symbol: the market price and what each feed reports, at every step 0..steps. */
  feeds: Record<string, { market: number[]; primary: FeedReport[]; fallback?: FeedReport[] }>;
  sequencer: SequencerState[];
}

/** Active on from <= step < to. */
export function isActive(f: { from: number; to: number }, step: number): boolean {
  return f.from <= step && step < f.to;
}

/** The faults that hit `asset`'s `feed` at `step` (at most one: the validator rejects overlaps). */
export function activeFaults(s: Scenario, asset: string, step: number, feed: FeedName): FeedFault[] {
  return feedFaults(s, asset, feed).filter((f) => isActive(f, step));
}

/** Every fault that hits `asset`'s `feed`, whenever it is active. */
export function feedFaults(s: Scenario, asset: string, feed: FeedName): FeedFault[] {
  return s.oracle.filter(
    (f): f is FeedFault =>
      f.fault !== "sequencerDown" && f.asset === asset && (f.feed === feed || f.feed === "both"),
  );
}

/**
 * What a feed reports at each step, given the market price at each step and the faults on that feed.
 * Report k depends on market[0..k] only, so a driver whose market moves as it runs (a cascade) may call
 * this on the prices so far.
 * - no fault: the market price, stamped now;
 * - stale: the last answer reported, with its old `updatedAt`;
 * - freeze: the last answer reported, stamped now;
 * - zero: 0; negative: `answer`; clamp: max(market, floor); all stamped now;
 * - revert: the read reverts;
 * - spike: `factor` x the market price at step `from` (one print);
 * - delay: the market price `steps` steps ago (step 0 at the earliest), with that step's time.
 * "The last answer reported" is the latest answer before this step that did not revert; before step 0 the
 * feed reported market[0] at time 0.
 */
export function feedReports(
  market: readonly number[],
  faults: readonly FeedFault[],
  stepSeconds: number,
): FeedReport[] {
  let last: Reading = [market[0], 0];
  return market.map((_, step) => {
    const fault = faults.find((f) => isActive(f, step));
    const reading = read(fault, step, market, last, stepSeconds);
    if (reading === undefined) return { step, reverts: true, fault: fault! };
    last = reading;
    return { step, reverts: false, answer: reading[0], updatedAt: reading[1], ...(fault ? { fault } : {}) };
  });
}

type Reading = [answer: number, updatedAt: number];

/** What the feed reports at `step` under `fault`; undefined: the read reverts. */
function read(
  fault: FeedFault | undefined,
  step: number,
  market: readonly number[],
  last: Reading,
  stepSeconds: number,
): Reading | undefined {
  const now = step * stepSeconds;
  const price = market[step];
  switch (fault?.fault) {
    case undefined:
      return [price, now];
    case "stale":
      return last;
    case "freeze":
      return [last[0], now];
    case "zero":
      return [0, now];
    case "negative":
      return [fault.answer, now];
    case "revert":
      return undefined;
    case "clamp":
      return [Math.max(price, fault.floor), now];
    case "spike":
      return [step === fault.from ? fault.factor * price : price, now];
    case "delay": {
      const then = Math.max(0, step - fault.steps);
      return [market[then], then * stepSeconds];
    }
  }
}

/**
 * The L2 sequencer at each step 0..steps: down while a sequencerDown fault is active; once back up, in
 * grace while (now - since) <= grace (the router's rule), `since` being the step at which it came back.
 */
export function sequencerStates(s: Scenario): SequencerState[] {
  const faults = s.oracle.filter((f): f is SequencerFault => f.fault === "sequencerDown");
  const states: SequencerState[] = [];
  let since: number | null = null;
  let down = false;
  let grace = -1; // no outage yet: never in grace
  for (let step = 0; step <= s.steps; step++) {
    const now = step * s.stepSeconds;
    const fault = faults.find((f) => isActive(f, step));
    if ((fault !== undefined) !== down) since = now;
    down = fault !== undefined;
    if (fault) grace = fault.grace;
    const inGrace = !down && since !== null && now - since <= grace;
    states.push({ step, down, inGrace, since, ...(fault ? { fault } : {}) });
  }
  return states;
}

/** The whole plan: market prices, every feed's reports, the sequencer. */
export function oraclePlan(s: Scenario, prices: Record<string, number[]> = pricePaths(s)): OraclePlan {
  const feeds: OraclePlan["feeds"] = {};
  for (const asset of s.assets) {
    const market = prices[asset.symbol];
    const primary = feedReports(market, feedFaults(s, asset.symbol, "primary"), s.stepSeconds);
    const fallback = asset.fallback
      ? feedReports(market, feedFaults(s, asset.symbol, "fallback"), s.stepSeconds)
      : undefined;
    feeds[asset.symbol] = { market, primary, ...(fallback ? { fallback } : {}) };
  }
  return { feeds, sequencer: sequencerStates(s) };
}
