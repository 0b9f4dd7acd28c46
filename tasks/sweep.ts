/**
 *   npx hardhat sweep --scenario FILE --param PATH --values v1,v2,... [--param2 PATH --values2 ...]
 *                     [--metric FIELD] [--workers N] [--seed N] [--out DIR]
 *
 * Runs one scenario once per value of a parameter (or per pair of values, on a grid), in parallel worker
 * processes, each with its own in-process chain. Every variant is validated before anything runs. Writes
 * DIR/runs/<run>/ (the simulate outputs and report.html), DIR/sweep.csv and DIR/sweep.html; exits non-zero
 * when any run failed (an error or an invariant violation). docs/sweep.md describes it all.
 */
import os from "node:os";
import { task } from "hardhat/config";
import { HardhatPluginError } from "hardhat/plugins";

const PLUGIN = "ballast";

export const SWEEP_USAGE = [
  "Usage: npx hardhat sweep --scenario FILE --param PATH --values v1,v2,... [--param2 PATH --values2 v1,...]",
  "                         [--metric FIELD] [--workers N] [--seed N] [--out DIR]",
  "  --scenario FILE   the scenario (JSON, SCENARIOS.md)",
  "  --param PATH      a JSON path into the scenario (params.lending.WETH.liquidationBonus, path[0].change);",
  "                    PATH=v1,v2,... may replace --values",
  "  --values LIST     the values, comma-separated (JSON: numbers, true, {...}; other text is a string)",
  "  --param2 PATH     a second parameter: every pair of values is run (a grid)",
  "  --values2 LIST    its values",
  "  --metric FIELD    the summary.json number to chart (default deficit.total)",
  "  --workers N       parallel worker processes (default: the number of cores)",
  "  --seed N          overrides the scenario's seed in every run (an integer >= 0)",
  "  --out DIR         where runs/, sweep.csv and sweep.html go (default out/<scenario name>-sweep)",
].join("\n");

function usage(problem: string): HardhatPluginError {
  return new HardhatPluginError(PLUGIN, `${problem}\n${SWEEP_USAGE}`);
}

export interface SweepArgs {
  scenario?: string;
  param?: string;
  values?: string;
  param2?: string;
  values2?: string;
  metric?: string;
  workers?: string;
  seed?: string;
  out?: string;
}

/** A flag that must be an integer >= min. */
function integer(flag: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === "" || !Number.isSafeInteger(n) || n < min) {
    throw usage(`${flag} ${text}: must be an integer >= ${min}`);
  }
  return n;
}

/** `--param PATH --values LIST`, or SCENARIOS.md's `--param PATH=LIST`. */
function axis(pFlag: string, vFlag: string, param: string | undefined, values: string | undefined) {
  if (param === undefined) {
    if (values !== undefined) throw usage(`${vFlag} needs ${pFlag}`);
    return undefined;
  }
  const eq = param.indexOf("=");
  if (eq >= 0) {
    if (values !== undefined)
      throw usage(`${pFlag} ${param}: give the values after = or with ${vFlag}, not both`);
    return { path: param.slice(0, eq), values: param.slice(eq + 1) };
  }
  if (values === undefined) throw usage(`${pFlag} ${param}: ${vFlag} is required`);
  return { path: param, values };
}

task("sweep", "Runs a scenario for each value of a parameter (or a grid of two) in parallel workers")
  .addOptionalParam("scenario", "the scenario file (JSON)")
  .addOptionalParam("param", "a JSON path into the scenario (or PATH=v1,v2,...)")
  .addOptionalParam("values", "the parameter's values, comma-separated")
  .addOptionalParam("param2", "a second JSON path: a grid of both parameters")
  .addOptionalParam("values2", "the second parameter's values")
  .addOptionalParam("metric", "the summary.json field to chart (default deficit.total)")
  .addOptionalParam("workers", "parallel worker processes (default: the number of cores)")
  .addOptionalParam("seed", "overrides the scenario's seed in every run")
  .addOptionalParam("out", "the output directory (default out/<scenario name>-sweep)")
  .setAction(async (args: SweepArgs, hre) => {
    if (!args.scenario) throw usage("--scenario is required");
    if (!args.param) throw usage("--param is required");
    const first = axis("--param", "--values", args.param, args.values)!;
    const second = axis("--param2", "--values2", args.param2, args.values2);
    const workers = integer("--workers", args.workers, 1) ?? os.availableParallelism();
    const seed = integer("--seed", args.seed, 0);
    if (args.out !== undefined && args.out.trim() === "") throw usage("--out: must be a directory");
    if (args.metric !== undefined && args.metric.trim() === "") throw usage("--metric: must be a field");
    if (hre.network.name !== "hardhat") {
      throw usage(`--network ${hre.network.name}: the simulator runs on the in-process network only`);
    }

    const { planSweep, runSweep, SweepInputError } = await import("../sim/sweep");
    let plan;
    try {
      plan = planSweep({
        scenario: args.scenario,
        axes: second ? [first, second] : [first],
        metric: args.metric ?? "deficit.total",
        workers,
        seed,
        out: args.out,
      });
    } catch (e) {
      // Every problem with the path or value that caused it; nothing has run.
      if (e instanceof SweepInputError) throw new HardhatPluginError(PLUGIN, e.message);
      throw e;
    }

    // Once here, so that the workers find the artifacts instead of each compiling at the same time.
    await hre.run("compile", { quiet: true });
    const n = Math.min(plan.workers, plan.jobs.length);
    console.log(
      `sweep ${plan.scenarioName}: ${plan.jobs.length} run(s) on ${n} worker(s), writing ${plan.out}`,
    );
    const result = await runSweep(plan, { root: hre.config.paths.root, log: (line) => console.log(line) });
    console.log(`wrote ${result.csv} and ${result.html} in ${result.wallSeconds}s`);
    if (result.failed.length > 0) {
      const lines = result.failed.map((o) => `  ${o.name}: ${o.error}`);
      throw new HardhatPluginError(PLUGIN, `${result.failed.length} run(s) failed\n${lines.join("\n")}`);
    }
    return result;
  });
