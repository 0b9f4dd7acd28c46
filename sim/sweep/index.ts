/**
 * Parameter sweeps (npx hardhat sweep, docs/sweep.md): plan the variants of one scenario (plan.ts), run them
 * in parallel worker processes (pool.ts, worker.ts), then write DIR/sweep.csv (results.ts) and
 * DIR/sweep.html (html.ts) next to DIR/runs/<run>/.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { sweepHtml } from "./html";
import type { SweepPlan } from "./plan";
import { runPool, type Outcome } from "./pool";
import { metricOf, sweepCsv } from "./results";
import { showValue } from "./values";

export { METRICS, planSweep, type PlanInput, type SweepPlan } from "./plan";
export { SweepInputError, parsePath, parseValues } from "./values";
export type { Outcome } from "./pool";

export interface SweepResult {
  outcomes: Outcome[];
  /** Runs with an error or an invariant violation. */
  failed: Outcome[];
  csv: string;
  html: string;
  wallSeconds: number;
}

/** One progress line: `[2/6] 02-liquidationBonus=0.05: deficit.total 1234.5 (worker 1, 12.3s)`. */
export function progressLine(plan: SweepPlan, o: Outcome, finished: number, total: number): string {
  const job = plan.jobs[o.index];
  const values = job.values.map((v, i) => `${plan.axes[i].path}=${showValue(v)}`).join(", ");
  const what = o.summary
    ? `${plan.metric} ${metricOf(o.summary, plan.metric)}, ${o.summary.liquidations.lending + o.summary.liquidations.perps} liquidation(s), ${o.summary.wallSeconds}s`
    : "no result";
  const failure = o.error ? `; FAILED: ${o.error}` : "";
  return `[${finished}/${total}] ${job.name} (${values}): ${what} (worker ${o.worker})${failure}`;
}

/**
 * Runs the plan's jobs on `root`'s Hardhat project (compiled beforehand: workers do not compile) and writes
 * sweep.csv and sweep.html. Never throws for a failed run: the caller decides from `failed`.
 */
export async function runSweep(
  plan: SweepPlan,
  opts: { root: string; log?: (line: string) => void },
): Promise<SweepResult> {
  const started = Date.now();
  mkdirSync(join(plan.out, "runs"), { recursive: true });
  const outcomes = await runPool(plan.jobs, {
    workers: plan.workers,
    root: opts.root,
    onDone: (o, finished, total) => opts.log?.(progressLine(plan, o, finished, total)),
  });
  const csv = join(plan.out, "sweep.csv");
  writeFileSync(csv, sweepCsv(plan, outcomes));
  const html = join(plan.out, "sweep.html");
  writeFileSync(html, sweepHtml(plan, outcomes));
  return {
    outcomes,
    failed: outcomes.filter((o) => o.error),
    csv,
    html,
    wallSeconds: Math.round((Date.now() - started) / 100) / 10,
  };
}
