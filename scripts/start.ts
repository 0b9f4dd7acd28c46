/**
 *   npm start   (hardhat run scripts/start.ts)
 *
 * The first thing to run: the gap-50 scenario as shipped (330 accounts, 60 steps of a minute, ETH -50% in
 * one block at step 10) on the in-process chain, written to out/gap-50, then a table of what happened and
 * where the files are. About a minute on two cores. Exits non-zero on an invariant violation.
 */
import { join, relative } from "node:path";

import type { Summary } from "../sim/run/run";

const SCENARIO = join(__dirname, "..", "scenarios", "gap-50.json");
const OUT = join("out", "gap-50");

const usd = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const count = new Intl.NumberFormat("en-US");

/** A USD amount as the table shows it: `4,113,242.53`. */
const money = (x: number) => usd.format(x);

/** `x / total` as a percentage of the deficit, for the bucket rows. */
function share(x: number, total: number): string {
  return total > 0 ? ` (${((100 * x) / total).toFixed(1)}%)` : "";
}

/**
 * A run's summary as a two-column text table: liquidations, the deficit and where it went, the insurance
 * fund, supplier and LP loss, negative accounts, oracle degradation, invariants and wall time. Pure, so the
 * layout is tested without a run.
 */
export function summaryText(s: Summary): string {
  const d = s.deficit;
  const v = s.invariants.violations;
  const rows: [string, string][] = [
    [
      "liquidations",
      `${count.format(s.liquidations.lending)} lending, ${count.format(s.liquidations.perps)} perps`,
    ],
    ["deficit (USD)", money(d.total)],
    ["  paid by insurance", money(d.insurance) + share(d.insurance, d.total)],
    ["  socialised to suppliers", money(d.socialisedSuppliers) + share(d.socialisedSuppliers, d.total)],
    ["  socialised to LPs", money(d.socialisedLps) + share(d.socialisedLps, d.total)],
    ["  ADL", money(d.adl) + share(d.adl, d.total)],
    [
      "insurance fund (USD)",
      `start ${money(s.insuranceFund.start)}, end ${money(s.insuranceFund.end)}, min ${money(s.insuranceFund.min)}`,
    ],
    ["supplier loss", `${s.suppliers.lossPct}%`],
    ["LP loss", `${s.lps.lossPct}%`],
    ["negative accounts", count.format(s.negativeAccounts)],
    ["oracle degraded steps", `${s.oracle.stepsDegraded} of ${s.steps + 1}`],
    [
      "invariants",
      v.length === 0
        ? `${s.invariants.checked} steps checked, no violation`
        : `${s.invariants.checked} steps checked, ${v.length} VIOLATION(S), first: step ${v[0].step} ${v[0].check}`,
    ],
    ["wall time", `${s.wallSeconds} s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const title = `${s.scenario} (seed ${s.seed}): ${s.steps} steps, ${count.format(s.accounts)} accounts`;
  return [title, ...rows.map(([k, val]) => `  ${k.padEnd(width)}  ${val}`)].join("\n");
}

/** The output files, one per line, relative to the working directory. */
export function filesText(paths: string[]): string {
  return ["Outputs:", ...paths.map((p) => `  ${relative(process.cwd(), p) || p}`)].join("\n");
}

async function main() {
  const hre = (await import("hardhat")).default;
  const { loadScenario } = await import("../sim/scenario");
  const { runSimulation, writeOutputs } = await import("../sim/run/run");

  const scenario = loadScenario(SCENARIO);
  console.log(`${scenario.name}: ${scenario.description}`);
  console.log(`Running ${scenario.steps} steps on the in-process chain (about a minute)...`);
  const every = Math.max(1, Math.ceil(scenario.steps / 10));
  const result = await runSimulation(hre, scenario, {
    every,
    progress: (_step, _steps, line) => console.log(`  ${line}`),
  });
  const report = writeOutputs(OUT, result);
  console.log("");
  console.log(summaryText(result.summary));
  console.log("");
  const files = ["summary.json", "timeline.csv", "events.csv"].map((f) => join(OUT, f));
  console.log(filesText([...files, report]));
  if (result.violations.length > 0) process.exitCode = 1;
}

// `hardhat run` makes this file the main module; a test imports it for summaryText alone.
if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
