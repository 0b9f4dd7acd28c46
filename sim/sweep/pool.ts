/**
 * Runs a sweep's jobs in parallel worker processes (sim/sweep/worker.ts, forked). Each worker loads its own
 * Hardhat runtime with its own in-process chain, so runs never share a chain, and takes one job at a time:
 * a worker that finishes early takes the next job, so uneven runs keep every core busy.
 *
 * A run that throws comes back as an outcome with its error; a worker that dies takes only its current run
 * with it, and a replacement picks up the rest of the queue.
 */
import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";

import type { Summary } from "../run/run";
import type { Job } from "./plan";

/** Parent to worker. */
export type ToWorker = { kind: "run"; job: Job } | { kind: "stop" };

/** Worker to parent. */
export type FromWorker =
  | { kind: "ready" }
  | { kind: "done"; index: number; summary?: Summary; violations: number; report?: string; error?: string };

export interface Outcome {
  index: number;
  name: string;
  /** Absent when the run failed before it finished. */
  summary?: Summary;
  /** Invariant violations (0 when the run did not finish). */
  violations: number;
  /** report.html, when sim/report/report.ts wrote one. */
  report?: string;
  /** Why the run failed: its error, or its invariant violations. */
  error?: string;
  /** Which worker ran it (1-based). */
  worker: number;
}

export interface PoolOptions {
  workers: number;
  /** The Hardhat project root (where hardhat.config.ts is): each worker's working directory. */
  root: string;
  /** Called as each run finishes, in finishing order. */
  onDone?: (outcome: Outcome, finished: number, total: number) => void;
}

/** What a worker that failed wrote last, for the error of the run it took down. */
const TAIL = 2000;

const WORKER = join(__dirname, "worker");

function spawnWorker(root: string): ChildProcess {
  // Under ts-node (npx hardhat, the tests) the worker is TypeScript and needs the same loader; compiled, not.
  const ts = __filename.endsWith(".ts");
  return fork(WORKER + (ts ? ".ts" : ".js"), [], {
    cwd: root,
    execArgv: ts ? ["--require", "ts-node/register/transpile-only"] : [],
    env: { ...process.env, HARDHAT_NETWORK: "hardhat", TS_NODE_TRANSPILE_ONLY: "true" },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
}

/** Runs every job; resolves with one outcome per job, in the jobs' order. */
export function runPool(jobs: Job[], opts: PoolOptions): Promise<Outcome[]> {
  const outcomes: (Outcome | undefined)[] = jobs.map(() => undefined);
  const queue = [...jobs];
  let finished = 0;
  let alive = 0;
  let nextId = 1;

  return new Promise((resolvePool) => {
    const record = (outcome: Outcome) => {
      outcomes[outcome.index] = outcome;
      finished += 1;
      opts.onDone?.(outcome, finished, jobs.length);
    };
    const settleIfDone = () => {
      if (alive > 0) return;
      // Every worker is gone: whatever is still queued could not be run.
      for (const job of queue.splice(0)) {
        record({
          index: job.index,
          name: job.name,
          violations: 0,
          error: "no worker left to run it",
          worker: 0,
        });
      }
      resolvePool(outcomes as Outcome[]);
    };

    const start = () => {
      const id = nextId++;
      const child = spawnWorker(opts.root);
      alive += 1;
      let current: Job | undefined;
      let ready = false;
      let tail = "";
      const keep = (chunk: Buffer) => {
        tail = (tail + chunk.toString()).slice(-TAIL);
      };
      child.stdout!.on("data", keep);
      child.stderr!.on("data", keep);

      const next = () => {
        current = queue.shift();
        const msg: ToWorker = current ? { kind: "run", job: current } : { kind: "stop" };
        child.send(msg);
      };
      child.on("message", (m: FromWorker) => {
        if (m.kind === "ready") {
          ready = true;
          return next();
        }
        const job = current!;
        current = undefined;
        record({
          index: job.index,
          name: job.name,
          summary: m.summary,
          violations: m.violations,
          report: m.report,
          error: m.error,
          worker: id,
        });
        next();
      });
      child.on("exit", (code, signal) => {
        alive -= 1;
        const how = signal ? `signal ${signal}` : `code ${code}`;
        if (current) {
          const why = `worker ${id} exited (${how}) during the run: ${tail.trim().slice(-500)}`;
          record({ index: current.index, name: current.name, violations: 0, error: why, worker: id });
          current = undefined;
        }
        // A worker that never became ready (Hardhat failed to load) would fail again: do not replace it.
        if (ready && queue.length > 0) start();
        else if (!ready && queue.length > 0 && alive === 0) {
          const why = `worker ${id} failed to start (${how}): ${tail.trim().slice(-500)}`;
          for (const job of queue.splice(0)) {
            record({ index: job.index, name: job.name, violations: 0, error: why, worker: id });
          }
        }
        settleIfDone();
      });
    };

    const n = Math.max(1, Math.min(opts.workers, jobs.length));
    if (jobs.length === 0) return resolvePool([]);
    for (let i = 0; i < n; i++) start();
  });
}
