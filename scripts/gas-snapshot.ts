/**
 * Measures the gas of every operation that matters and writes gas/snapshot.json (operation -> gasUsed).
 *
 *   npm run gas          writes the snapshot (commit it)
 *   npm run gas:check    compares with the committed snapshot; exits 1 when an operation got more than
 *                        TOLERANCE dearer, or appeared or disappeared, without the snapshot being updated
 *
 * Every number is the gasUsed of a mined transaction on the in-process Hardhat network (cancun).
 */
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import hre from "hardhat";
import type { ContractTransactionResponse } from "ethers";
import { time } from "@nomicfoundation/hardhat-network-helpers";

import { localConfig } from "../deploy/config";
import { deploySystem } from "../deploy/deploySystem";
import { toUnits, wad } from "../deploy/units";

const SNAPSHOT = path.join(__dirname, "..", "gas", "snapshot.json");
const TOLERANCE = 0.03;

type Snapshot = Record<string, number>;

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<number> {
  const receipt = await (await tx).wait();
  if (!receipt) throw new Error("no receipt");
  return Number(receipt.gasUsed);
}

async function measure(): Promise<Snapshot> {
  const s: Snapshot = {};
  const system = await deploySystem(hre, localConfig());
  const { router } = system;
  const weth = system.assets.WETH;
  const wbtc = system.assets.WBTC;
  const btcFeed = wbtc.primaryFeed.mock!;
  const ethPrimary = weth.primaryFeed.mock!;

  // Listing: a one-feed asset and a two-feed asset.
  const feed = await (await hre.ethers.getContractFactory("MockAggregator")).deploy(8, 10n ** 9n, "X");
  const second = await (await hre.ethers.getContractFactory("MockAggregator")).deploy(8, 10n ** 9n, "Y");
  const listing = {
    primaryFeed: await feed.getAddress(),
    primaryHeartbeat: 3600,
    fallbackFeed: hre.ethers.ZeroAddress,
    fallbackHeartbeat: 0,
    confirmWindow: 600,
    minPrice: wad(1),
    maxPrice: wad(1000),
    maxDeviation: wad(0.2),
    maxDivergence: wad(0.02),
  };
  // Fixed addresses keep the calldata, and so the gas, the same on every run.
  const asset = "0x" + "11".repeat(20);
  s["OracleRouter.setAssetConfig (list, one feed)"] = await gasOf(router.setAssetConfig(asset, listing));
  s["OracleRouter.setAssetConfig (list, two feeds)"] = await gasOf(
    router.setAssetConfig("0x" + "22".repeat(20), {
      ...listing,
      fallbackFeed: await second.getAddress(),
      fallbackHeartbeat: 3600,
    }),
  );

  // Reads on a steady price: nothing to write.
  s["OracleRouter.price (OK, one feed, unchanged)"] = await gasOf(router.price(wbtc.address));
  s["OracleRouter.price (OK, two feeds, unchanged)"] = await gasOf(router.price(weth.address));
  s["OracleRouter.priceFor (OK, one feed, unchanged)"] = await gasOf(router.priceFor(wbtc.address, 3));

  // A new price: the last good price is written.
  await btcFeed.setPrice(toUnits(61000, 8));
  s["OracleRouter.price (OK, one feed, new price)"] = await gasOf(router.price(wbtc.address));

  // A jump: SUSPECT recorded, then confirmed by persistence.
  await btcFeed.setPrice(toUnits(36000, 8));
  s["OracleRouter.price (SUSPECT, jump first seen)"] = await gasOf(router.price(wbtc.address));
  await time.increase(600);
  s["OracleRouter.price (OK, jump confirmed by time)"] = await gasOf(router.price(wbtc.address));

  // Primary broken: fallback used.
  await ethPrimary.setMode(1);
  s["OracleRouter.price (FALLBACK, primary reverts)"] = await gasOf(router.price(weth.address));
  await ethPrimary.setMode(2);
  s["OracleRouter.price (FALLBACK, primary burns its gas)"] = await gasOf(router.price(weth.address));
  await ethPrimary.heal();

  // No usable feed.
  await btcFeed.goStale(4000);
  s["OracleRouter.price (STALE, status change)"] = await gasOf(router.price(wbtc.address));
  s["OracleRouter.price (STALE, unchanged)"] = await gasOf(router.price(wbtc.address));

  return Object.fromEntries(Object.entries(s).sort(([a], [b]) => a.localeCompare(b)));
}

function compare(committed: Snapshot, now: Snapshot): string[] {
  const problems: string[] = [];
  for (const [op, gas] of Object.entries(now)) {
    const before = committed[op];
    if (before === undefined) {
      problems.push(`${op}: new operation (${gas}) not in the snapshot`);
    } else if (gas > before * (1 + TOLERANCE)) {
      problems.push(`${op}: ${before} -> ${gas} (+${(((gas - before) / before) * 100).toFixed(1)}%)`);
    }
  }
  for (const op of Object.keys(committed)) {
    if (!(op in now)) problems.push(`${op}: in the snapshot but no longer measured`);
  }
  return problems;
}

async function main() {
  const now = await measure();
  const width = Math.max(...Object.keys(now).map((k) => k.length));
  if (process.env.GAS_CHECK === "1") {
    const committed = JSON.parse(readFileSync(SNAPSHOT, "utf8")) as Snapshot;
    for (const [op, gas] of Object.entries(now)) {
      const before = committed[op];
      const delta = before ? `${gas - before >= 0 ? "+" : ""}${gas - before}` : "new";
      console.log(`${op.padEnd(width)}  ${String(gas).padStart(8)}  ${delta}`);
    }
    const problems = compare(committed, now);
    if (problems.length > 0) {
      console.error(`\nGas check failed (tolerance ${TOLERANCE * 100}%); run \`npm run gas\` and commit:`);
      for (const p of problems) console.error(`  ${p}`);
      process.exitCode = 1;
      return;
    }
    console.log(`\nGas check passed: ${Object.keys(now).length} operations within ${TOLERANCE * 100}%.`);
    return;
  }
  mkdirSync(path.dirname(SNAPSHOT), { recursive: true });
  writeFileSync(SNAPSHOT, JSON.stringify(now, null, 2) + "\n");
  for (const [op, gas] of Object.entries(now)) console.log(`${op.padEnd(width)}  ${String(gas).padStart(8)}`);
  console.log(`\nWrote ${path.relative(process.cwd(), SNAPSHOT)}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
