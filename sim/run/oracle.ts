/**
 * Drives the oracle fault plan (sim/scenario/faults.ts) through the mock feeds, step by step: each feed
 * reports exactly what the plan says (answer and updatedAt via setRound, a revert via the REVERT mode), and
 * the mock sequencer follows the plan's outages. The real OracleRouter reads the mocks; nothing bypasses it.
 * A step's updates are queued into one batch (`Writes`), sent with the step's router reads in one transaction.
 */
import type { System } from "../../deploy/deploySystem";
import { FeedMode } from "../../deploy/enums";
import {
  feedFaults,
  feedReports,
  type FeedName,
  type FeedReport,
  type OraclePlan,
  type Scenario,
} from "../scenario";
import type { Writes } from "./batch";
import { FEED_DECIMALS } from "./build";
import type { Chain } from "./chain";

export class FeedDriver {
  /** Chain time at which each step started. */
  readonly stepTimes: number[] = [];
  private readonly reverting = new Set<string>();
  private readonly last = new Map<string, string>();
  private sequencerLast = "up/initial";

  constructor(
    private readonly chain: Chain,
    private readonly sys: System,
    private readonly s: Scenario,
    readonly plan: OraclePlan,
  ) {}

  /** Chain time of a plan time (seconds from step 0; always a whole number of steps). */
  timeOf(planSeconds: number): number {
    const step = Math.floor(planSeconds / this.s.stepSeconds);
    return (
      (this.stepTimes[step] ?? this.chain.t0 + step * this.s.stepSeconds) + (planSeconds % this.s.stepSeconds)
    );
  }

  /**
   * Makes every feed and the sequencer report what the plan says at `step`. With `market` (the market
   * prices so far, steps 0..step, when a cascade moves them away from the path), the feeds' reports are
   * recomputed from those prices with the same rules (feedReports).
   */
  async apply(step: number, writes: Writes, market?: Record<string, number[]>) {
    for (const asset of this.s.assets) {
      const deployed = this.sys.assets[asset.symbol];
      const f = this.plan.feeds[asset.symbol];
      const report = (feed: FeedName, planned: FeedReport[]) =>
        market
          ? feedReports(
              market[asset.symbol].slice(0, step + 1),
              feedFaults(this.s, asset.symbol, feed),
              this.s.stepSeconds,
            )[step]
          : planned[step];
      await this.drive(
        writes,
        `${asset.symbol}/primary`,
        deployed.primaryFeed.mock!,
        report("primary", f.primary),
      );
      if (f.fallback && deployed.fallbackFeed) {
        await this.drive(
          writes,
          `${asset.symbol}/fallback`,
          deployed.fallbackFeed.mock!,
          report("fallback", f.fallback),
        );
      }
    }
    const mock = this.sys.sequencer?.mock;
    const state = this.plan.sequencer[step];
    if (mock && state.since !== null) {
      const key = `${state.down ? "down" : "up"}/${state.since}`;
      if (key !== this.sequencerLast) {
        this.sequencerLast = key;
        const since = this.timeOf(state.since);
        await writes.add(mock, "setStatus", [state.down ? 1 : 0, since]);
      }
    }
  }

  private async drive(
    writes: Writes,
    key: string,
    mock: NonNullable<System["assets"][string]["primaryFeed"]["mock"]>,
    r: FeedReport,
  ) {
    if (r.reverts) {
      if (!this.reverting.has(key)) {
        this.reverting.add(key);
        await writes.add(mock, "setMode", [FeedMode.REVERT]);
      }
      return;
    }
    if (this.reverting.delete(key)) await writes.add(mock, "setMode", [FeedMode.NORMAL]);
    const at = this.timeOf(r.updatedAt);
    const answer = BigInt(Math.round(r.answer * 10 ** FEED_DECIMALS));
    const id = `${answer}/${at}`;
    if (this.last.get(key) === id) return;
    this.last.set(key, id);
    await writes.add(mock, "setRound", [answer, at, at]);
  }
}
