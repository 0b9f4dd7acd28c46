/**
 * A sweep's plan: the scenario file, one or two axes (a JSON path and its values), and one run per value (per
 * pair of values for a grid, the first axis outermost). Every variant is checked by the strict scenario
 * validator here, before any worker starts, so a bad path or value fails the whole sweep at once.
 */
import { readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

import { ScenarioErrors, validateScenario } from "../scenario";
import { formatPath, parsePath, parseValues, setAt, showValue, SweepInputError, type Key } from "./values";

export interface Axis {
  /** The path as given after shorthand expansion (`params.lending.WETH.liquidationBonus`). */
  path: string;
  keys: Key[];
  values: unknown[];
}

export interface Job {
  /** Position in the plan: the order of sweep.csv, whatever order the runs finish in. */
  index: number;
  /** Directory name under runs/: `03-liquidationBonus=0.1`. */
  name: string;
  /** This run's value on each axis. */
  values: unknown[];
  /** The scenario's seed for this run (after --seed and any `seed` axis). */
  seed: number;
  /** The variant's JSON, already validated; workers parse it again (with baseDir for csv paths). */
  doc: unknown;
  baseDir: string;
  /** Absolute output directory of the run. */
  dir: string;
}

export interface SweepPlan {
  scenarioFile: string;
  scenarioName: string;
  axes: Axis[];
  /** A numeric field of summary.json, dotted (`deficit.total`). */
  metric: string;
  workers: number;
  /** Absolute output directory. */
  out: string;
  jobs: Job[];
}

export interface PlanInput {
  scenario: string;
  axes: { path: string; values: string }[];
  metric: string;
  workers: number;
  seed?: number;
  /** Default: out/<scenario name>-sweep. */
  out?: string;
}

/** The numeric fields of summary.json a sweep can chart (`--metric`). */
export const METRICS = [
  "deficit.total",
  "deficit.insurance",
  "deficit.socialisedSuppliers",
  "deficit.socialisedLps",
  "deficit.adl",
  "liquidations.lending",
  "liquidations.perps",
  "liquidations.valueRepaid",
  "liquidations.bonusPaid",
  "adlHaircut",
  "recourse.owed",
  "recourse.recovered",
  "recourse.outstanding",
  "insuranceFund.start",
  "insuranceFund.end",
  "insuranceFund.min",
  "suppliers.lossPct",
  "lps.lossPct",
  "negativeAccounts",
  "oracle.stepsDegraded",
  "oracle.blockedActions.borrow",
  "oracle.blockedActions.liquidate",
  "accounts",
  "transactions",
  "wallSeconds",
] as const;

/** A directory-safe label: `liquidationBonus=0.1`. */
function label(axis: Axis, value: unknown): string {
  const last = [...axis.keys].reverse().find((k) => typeof k === "string") as string;
  return `${last}=${showValue(value)}`.replace(/[^A-Za-z0-9._=+-]+/g, "_").slice(0, 60);
}

/** Every combination of the axes' values, the first axis outermost. */
function combinations(axes: Axis[]): unknown[][] {
  return axes.reduce<unknown[][]>(
    (acc, axis) => acc.flatMap((prefix) => axis.values.map((v) => [...prefix, v])),
    [[]],
  );
}

/**
 * Reads the scenario, applies each combination of values and validates every variant. Throws
 * SweepInputError naming the path or value (and the validator's JSON paths) on any problem.
 */
export function planSweep(input: PlanInput): SweepPlan {
  const file = input.scenario;
  let base: Record<string, unknown>;
  try {
    base = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new SweepInputError(
      `${file}: ${err.code ? `cannot read the file (${err.code})` : `is not valid JSON (${err.message})`}`,
    );
  }
  if (typeof base !== "object" || base === null || Array.isArray(base)) {
    throw new SweepInputError(`${file}: must be a JSON object (a scenario)`);
  }
  // The file itself must be valid: a problem in it is not the sweep's to explain run by run.
  const baseDir = resolve(dirname(file));
  const check = validateScenario(base, { baseDir });
  if (check.errors.length > 0) {
    throw new SweepInputError(new ScenarioErrors(file, check.errors).message);
  }
  if (input.seed !== undefined) base.seed = input.seed;

  const axes: Axis[] = input.axes.map((a, i) => {
    const flag = i === 0 ? "--values" : "--values2";
    const keys = parsePath(a.path);
    return { path: formatPath(keys), keys, values: parseValues(a.values, flag) };
  });
  if (axes.length === 2 && axes[0].path === axes[1].path) {
    throw new SweepInputError(`--param2 ${axes[1].path}: is the same path as --param`);
  }
  if (input.seed !== undefined && axes.some((a) => a.path === "seed")) {
    throw new SweepInputError("--seed and --param seed: give one or the other");
  }
  if (!(METRICS as readonly string[]).includes(input.metric)) {
    throw new SweepInputError(
      `--metric ${input.metric}: not a field of summary.json (${METRICS.join(", ")})`,
    );
  }

  // A path that does not fit the file fails the same way for every value: say so once, by the flag.
  axes.forEach((axis, i) => {
    try {
      setAt(structuredClone(base), axis.keys, axis.values[0]);
    } catch (e) {
      if (!(e instanceof SweepInputError)) throw e;
      throw new SweepInputError(`${i === 0 ? "--param" : "--param2"} ${e.message}`);
    }
  });

  const name = typeof base.name === "string" ? base.name : basename(file, ".json");
  const out = resolve(input.out ?? join("out", `${name}-sweep`));
  const combos = combinations(axes);
  const width = String(combos.length).length;
  // Each problem once, with the variants it appears in (a wrong key fails for every value alike).
  const problems = new Map<string, string[]>();
  const jobs = combos.map((values, index) => {
    const doc = structuredClone(base);
    const where = values.map((v, i) => `${axes[i].path}=${showValue(v)}`).join(", ");
    const fail = (message: string) => problems.set(message, [...(problems.get(message) ?? []), where]);
    let scenario;
    try {
      values.forEach((v, i) => setAt(doc, axes[i].keys, v));
      const check = validateScenario(doc, { baseDir });
      check.errors.forEach((err) => fail(err.message));
      scenario = check.scenario;
    } catch (e) {
      if (!(e instanceof SweepInputError)) throw e;
      fail(e.message);
    }
    const runName = `${String(index + 1).padStart(width, "0")}-${values.map((v, i) => label(axes[i], v)).join("_")}`;
    return {
      index,
      name: runName,
      values,
      seed: scenario?.seed ?? 0,
      doc,
      baseDir,
      dir: join(out, "runs", runName),
    };
  });
  if (problems.size > 0) {
    const lines = [...problems].map(([message, where]) => `  ${message} (with ${where.join("; ")})`);
    throw new SweepInputError(`${file}: ${problems.size} problem(s) in the variants\n${lines.join("\n")}`);
  }
  return {
    scenarioFile: file,
    scenarioName: name,
    axes,
    metric: input.metric,
    workers: input.workers,
    out,
    jobs,
  };
}
