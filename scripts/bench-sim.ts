/**
 *   npm run bench:sim                         (all sizes; writes bench/sim.md and bench/sim.json)
 *   BENCH_SIZES=100x50,1000x100 npm run bench:sim   (chosen accounts x steps; prints only)
 *
 * The simulator's throughput beside the raw ceiling of the same in-process chain, measured in the same run:
 *  1. plain ERC-20 transfers sent one by one (each waits for its receipt), per second;
 *  2. scenarios of growing size (gap-50's shape: 60% borrowers, 33% traders, 5% suppliers, 2% LPs; a -50%
 *     gap at a fifth of the run), each on a fresh chain: wall time, account-steps per second, and the time
 *     per phase (deploy, population, oracle, reads, keepers, snapshot).
 * The machine and the command are written with the numbers.
 */
import { execSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";

import { parseScenario, type ScenarioSpec } from "../sim/scenario";
import { runSimulation } from "../sim/run/run";

const DEFAULT_SIZES = "100x500,1000x500,10000x1000";

function scenarioOf(accounts: number, steps: number) {
  const spec = JSON.parse(
    readFileSync(path.join(__dirname, "..", "scenarios", "gap-50.json"), "utf8"),
  ) as ScenarioSpec;
  const share = (f: number) => Math.max(1, Math.round(accounts * f));
  const p = spec.population as Record<string, { count: number; deposit?: { mean: number } }>;
  p.borrowers.count = share(0.6);
  p.traders.count = share(0.33);
  p.suppliers.count = share(0.05);
  p.lps.count = Math.max(1, accounts - p.borrowers.count - p.traders.count - p.suppliers.count);
  // Deposits scale so that the lending market has the cash the borrowers ask for.
  p.suppliers.deposit!.mean = (accounts * 0.6 * 60_000) / p.suppliers.count;
  p.lps.deposit!.mean = (accounts * 0.33 * 60_000) / p.lps.count;
  spec.name = `bench-${accounts}x${steps}`;
  spec.steps = steps;
  (spec.path as { at: number }[])[0].at = Math.floor(steps / 5);
  return parseScenario(spec as unknown as object);
}

async function transfersPerSecond(n: number): Promise<number> {
  const [a, b] = await hre.ethers.getSigners();
  const token = await hre.ethers.deployContract("MockERC20", ["Bench", "BNCH", 6]);
  await token.mint(a.address, 10n ** 18n);
  const started = performance.now();
  for (let i = 0; i < n; i++) await (await token.transfer(b.address, 1)).wait();
  return n / ((performance.now() - started) / 1000);
}

async function main() {
  const sizes = (process.env.BENCH_SIZES ?? DEFAULT_SIZES).split(",").map((x) => {
    const m = /^(\d+)x(\d+)$/.exec(x.trim());
    if (!m) {
      console.error(`BENCH_SIZES: "${x}" is not ACCOUNTSxSTEPS (e.g. 1000x500)`);
      process.exit(2);
    }
    return { accounts: Number(m[1]), steps: Number(m[2]) };
  });
  const ceiling = await transfersPerSecond(2000);
  console.log(`raw ceiling: ${ceiling.toFixed(0)} ERC-20 transfers/s (one by one, each mined)`);
  const rows: Record<string, unknown>[] = [];
  for (const { accounts, steps } of sizes) {
    await hre.network.provider.request({ method: "hardhat_reset", params: [] });
    const s = scenarioOf(accounts, steps);
    const started = performance.now();
    const r = await runSimulation(hre, s);
    const seconds = (performance.now() - started) / 1000;
    const accountSteps = r.summary.accounts * (steps + 1);
    const row = {
      accounts: r.summary.accounts,
      steps,
      seconds: Number(seconds.toFixed(1)),
      accountStepsPerSecond: Math.round(accountSteps / seconds),
      transactions: r.summary.transactions,
      liquidations: r.summary.liquidations.lending + r.summary.liquidations.perps,
      violations: r.violations.length,
      phases: Object.fromEntries(
        Object.entries(r.phases).map(([k, v]) => [k, Number((v / 1000).toFixed(1))]),
      ),
    };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  if (process.env.BENCH_SIZES) return; // a custom run is printed, not recorded
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const machine = `${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const commit = execSync("git rev-parse --short HEAD").toString().trim();
  const out = {
    date: new Date().toISOString(),
    machine,
    command: "npm run bench:sim",
    commit,
    ceiling,
    rows,
  };
  mkdirSync("bench", { recursive: true });
  writeFileSync("bench/sim.json", JSON.stringify(out, null, 2) + "\n");
  const table = rows.map((r) => {
    const x = r as {
      accounts: number;
      steps: number;
      seconds: number;
      accountStepsPerSecond: number;
      transactions: number;
      liquidations: number;
      violations: number;
      phases: Record<string, number>;
    };
    const ph = Object.entries(x.phases)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    return `| ${x.accounts} | ${x.steps} | ${x.seconds} | ${x.accountStepsPerSecond} | ${x.transactions} | ${x.liquidations} | ${x.violations} | ${ph} |`;
  });
  writeFileSync(
    "bench/sim.md",
    [
      "# Simulator throughput (`npm run bench:sim`)",
      "",
      `Measured ${out.date} at commit ${commit} on ${machine}; in-process Hardhat network (cancun).`,
      "",
      `Raw ceiling of the same chain in the same run: **${ceiling.toFixed(0)} ERC-20 transfers a second**, sent one by one.`,
      "",
      "| accounts | steps | seconds | account-steps/s | transactions | liquidations | violations | seconds per phase |",
      "| --- | --- | --- | --- | --- | --- | --- | --- |",
      ...table,
      "",
    ].join("\n"),
  );
  console.log("wrote bench/sim.md and bench/sim.json");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
