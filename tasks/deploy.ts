/**
 * Hardhat tasks for integrators:
 *
 *   npx hardhat deploy [--network N] [--system path/to/config.ts] [--out file] [--fresh] [--seed]
 *   npx hardhat crash --network localhost --asset WETH --change -0.4 [--file deployments/localhost.json]
 *
 * `deploy` deploys the system (or reuses an identical deployment, see deploy/deployments.ts), writes
 * deployments/<network>.json and prints the addresses. A deployment that stopped midway left its steps in
 * deployments/<network>.partial.json; the next run resumes from there instead of starting over. `crash` moves an asset's price on a local chain
 * (every mock feed of the asset) and lets the oracle confirm the jump, to watch liquidations happen.
 */
import path from "node:path";
import { existsSync } from "node:fs";
import { task } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { HardhatPluginError } from "hardhat/plugins";

import type { SystemConfig } from "../deploy/config";

const PLUGIN = "ballast";
const LOCAL = ["hardhat", "localhost"];

async function loadConfig(hre: HardhatRuntimeEnvironment, file: string | undefined): Promise<SystemConfig> {
  if (file === undefined) {
    if (!LOCAL.includes(hre.network.name)) {
      throw new HardhatPluginError(
        PLUGIN,
        `network ${hre.network.name}: pass --system (a module exporting the SystemConfig as default); the local config deploys mock tokens and feeds`,
      );
    }
    const { localConfig } = await import("../deploy/config");
    return localConfig();
  }
  const resolved = path.resolve(file);
  if (!existsSync(resolved)) throw new HardhatPluginError(PLUGIN, `--system: no such file ${resolved}`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(resolved) as { default?: unknown };
  const config = (mod.default ?? mod) as Partial<SystemConfig>;
  if (!Array.isArray(config.assets) || config.base === undefined || config.insurance === undefined) {
    throw new HardhatPluginError(PLUGIN, `--system ${file}: its default export is not a SystemConfig`);
  }
  return config as SystemConfig;
}

task("deploy", "Deploys Ballast (or reuses an identical deployment) and writes deployments/<network>.json")
  .addOptionalParam("system", "a module whose default export is the SystemConfig (default: the local config)")
  .addOptionalParam("out", "the deployments file (default: deployments/<network>.json)")
  .addFlag("fresh", "deploy even when an identical deployment exists")
  .addFlag("seed", "seed a demo state (suppliers, borrowers, an LP, traders, an insurance fund)")
  .addFlag("quiet", "print nothing")
  .setAction(
    async (args: { system?: string; out?: string; fresh: boolean; seed: boolean; quiet: boolean }, hre) => {
      const { deployOrReuse } = await import("../deploy/deployments");
      const config = await loadConfig(hre, args.system);
      const result = await deployOrReuse(hre, config, { file: args.out, fresh: args.fresh });
      const log = (line: string) => {
        if (!args.quiet) console.log(line);
      };
      if (result.reused) log(`Reused the deployment in ${path.relative(process.cwd(), result.file)}`);
      else {
        if (result.reason) log(`Deploying afresh: the existing file cannot be reused (${result.reason})`);
        if (result.partialReason) log(`Not resuming the interrupted deployment: ${result.partialReason}`);
        const done = result.steps?.reused.length ?? 0;
        if (done > 0) {
          log(
            `Resumed an interrupted deployment: ${done} steps were already done, ${result.steps!.sent.length} sent now`,
          );
        }
        log(`Deployed; wrote ${path.relative(process.cwd(), result.file)}`);
      }
      const d = result.deployments;
      log(`network ${d.network} (chain ${d.chainId}), block ${d.block}, admin ${d.admin}`);
      for (const [name, address] of Object.entries(d.contracts)) log(`  ${name.padEnd(16)} ${address}`);
      log(`  ${`base ${d.base.symbol}`.padEnd(16)} ${d.base.address}`);
      for (const [symbol, a] of Object.entries(d.assets)) log(`  ${symbol.padEnd(16)} ${a.address}`);
      if (args.seed) {
        if (result.reused) {
          log(
            "Not seeding: the deployment was reused (it was seeded when it was made); pass --fresh to redo it",
          );
        } else {
          const { seedDemo } = await import("../deploy/seed");
          const accounts = await seedDemo(hre, result.system);
          log("Demo accounts:");
          for (const a of accounts) log(`  ${a.role.padEnd(15)} ${a.address}  ${a.note}`);
        }
      }
      return result;
    },
  );

task("crash", "Moves an asset's price on a local chain (every mock feed) and lets the oracle confirm it")
  .addParam("asset", "the asset's symbol, e.g. WETH")
  // A string, parsed here: Hardhat's float type refuses a leading minus sign.
  .addParam("change", "the move as a fraction, e.g. -0.4 for -40%")
  .addOptionalParam("file", "the deployments file (default: deployments/<network>.json)")
  .setAction(async (args: { asset: string; change: string; file?: string }, hre) => {
    const { deploymentsPath, readDeployments } = await import("../deploy/deployments");
    const change = Number(args.change);
    if (args.change.trim() === "" || !Number.isFinite(change) || !(change > -1)) {
      throw new HardhatPluginError(PLUGIN, `--change ${args.change}: must be a number above -1 (e.g. -0.4)`);
    }
    const file = args.file ?? deploymentsPath(hre);
    if (!existsSync(file)) {
      throw new HardhatPluginError(PLUGIN, `no deployments file at ${file}: run npx hardhat deploy first`);
    }
    const d = readDeployments(file);
    const asset = d.assets[args.asset];
    if (!asset) {
      throw new HardhatPluginError(
        PLUGIN,
        `--asset ${args.asset}: not in the deployment (${Object.keys(d.assets).join(", ")})`,
      );
    }
    const feeds = [asset.primaryFeed, asset.fallbackFeed].filter((f) => f !== undefined);
    if (feeds.some((f) => !f.mock))
      throw new HardhatPluginError(PLUGIN, `${args.asset} has a real feed: crash needs mocks`);
    const { ethers } = hre;
    const router = await ethers.getContractAt("OracleRouter", d.contracts.OracleRouter);
    const mocks = await Promise.all(feeds.map((f) => ethers.getContractAt("MockAggregator", f.address)));
    const factor = BigInt(Math.round((1 + change) * 1e9));
    const targets: bigint[] = [];
    for (const m of mocks) {
      const [, answer] = await m.latestRoundData();
      targets.push((answer * factor) / 1_000_000_000n);
    }
    const push = async () => {
      for (let i = 0; i < mocks.length; i++) await (await mocks[i].setPrice(targets[i])).wait();
      await (await router.price(asset.address)).wait();
      return router.peek(asset.address);
    };
    const [before] = await router.peek(asset.address);
    let [price, status] = await push();
    const STATUS = ["OK", "FALLBACK", "STALE", "INVALID", "SUSPECT", "SEQUENCER_DOWN", "DISAGREE"];
    if (Number(status) !== 0) {
      // A jump beyond maxDeviation is SUSPECT until it persists for the confirmation window.
      const window = (await router.assetConfig(asset.address)).confirmWindow;
      await ethers.provider.send("evm_increaseTime", [Number(window)]);
      await ethers.provider.send("evm_mine", []);
      [price, status] = await push();
    }
    console.log(
      `${args.asset}: ${ethers.formatUnits(before, 18)} -> ${ethers.formatUnits(price, 18)} USD (${STATUS[Number(status)]})`,
    );
    return { before, price, status: Number(status) };
  });
