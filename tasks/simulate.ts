/**
 *   npx hardhat simulate --scenario FILE [--seed N] [--out DIR]
 *
 * Runs a scenario (SCENARIOS.md, docs/scenarios.md) on the in-process Hardhat network: deploys a fresh
 * Ballast, builds the population, plays the price path and the oracle faults, lets the keepers act, and
 * writes summary.json, timeline.csv and events.csv to DIR (default out/<scenario name>). A scenario that
 * fails validation is reported with its JSON paths before anything is deployed; a run whose invariant
 * checks fail exits non-zero after writing its outputs. docs/simulator.md describes the outputs.
 */
import { task } from "hardhat/config";
import { HardhatPluginError } from "hardhat/plugins";

const PLUGIN = "ballast";

export const SIMULATE_USAGE = [
  "Usage: npx hardhat simulate --scenario FILE [--seed N] [--out DIR]",
  "  --scenario FILE  the scenario (JSON, SCENARIOS.md)",
  "  --seed N         overrides the scenario's seed (an integer >= 0)",
  "  --out DIR        where summary.json, timeline.csv and events.csv go (default out/<scenario name>)",
].join("\n");

function usage(problem: string): HardhatPluginError {
  return new HardhatPluginError(PLUGIN, `${problem}\n${SIMULATE_USAGE}`);
}

export interface SimulateArgs {
  scenario?: string;
  seed?: string;
  out?: string;
}

task("simulate", "Runs a bad-debt scenario on the in-process network and writes its outputs")
  .addOptionalParam("scenario", "the scenario file (JSON)")
  .addOptionalParam("seed", "overrides the scenario's seed")
  .addOptionalParam("out", "the output directory (default out/<scenario name>)")
  .setAction(async (args: SimulateArgs, hre) => {
    if (!args.scenario) throw usage("--scenario is required");
    let seed: number | undefined;
    if (args.seed !== undefined) {
      seed = Number(args.seed);
      if (args.seed.trim() === "" || !Number.isSafeInteger(seed) || seed < 0) {
        throw usage(`--seed ${args.seed}: must be an integer >= 0`);
      }
    }
    if (args.out !== undefined && args.out.trim() === "") throw usage("--out: must be a directory");
    if (hre.network.name !== "hardhat") {
      throw usage(`--network ${hre.network.name}: the simulator runs on the in-process network only`);
    }

    const { loadScenario, ScenarioErrors } = await import("../sim/scenario");
    let scenario;
    try {
      scenario = loadScenario(args.scenario);
    } catch (e) {
      // Every problem with its JSON path; nothing has been deployed.
      if (e instanceof ScenarioErrors) throw new HardhatPluginError(PLUGIN, e.message);
      throw e;
    }

    await hre.run("compile", { quiet: true });
    const { runSimulation, writeOutputs } = await import("../sim/run/run");
    const out = args.out ?? `out/${scenario.name}`;
    // A progress bar on a terminal; one line per tenth of the run otherwise (logs, CI).
    const tty = process.stdout.isTTY === true;
    const every = tty ? 1 : Math.max(1, Math.ceil(scenario.steps / 10));
    const progress = (step: number, steps: number, line: string) => {
      if (!tty) return console.log(line);
      const done = Math.round((30 * step) / steps);
      process.stdout.write(`\r[${"#".repeat(done)}${" ".repeat(30 - done)}] ${line}`.padEnd(110));
      if (step === steps) process.stdout.write("\n");
    };
    const result = await runSimulation(hre, scenario, { seed, every, progress });
    writeOutputs(out, result);
    const s = result.summary;
    console.log(
      `${s.scenario} (seed ${s.seed}): ${s.liquidations.lending} lending and ${s.liquidations.perps} perps ` +
        `liquidation(s), deficit ${s.deficit.total} (insurance ${s.deficit.insurance}, suppliers ` +
        `${s.deficit.socialisedSuppliers}, LPs ${s.deficit.socialisedLps}, ADL ${s.deficit.adl}); ` +
        `wrote ${out}/summary.json, timeline.csv, events.csv, report.html in ${s.wallSeconds}s`,
    );
    if (result.violations.length > 0) {
      const lines = result.violations.map((v) => `  step ${v.step}: ${v.check}: ${v.detail}`);
      throw new HardhatPluginError(
        PLUGIN,
        `${result.violations.length} invariant violation(s)\n${lines.join("\n")}`,
      );
    }
    return result;
  });
