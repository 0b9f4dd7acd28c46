/**
 * The oracle under every fault: deploys the system on the in-process chain (through deploySystem), then
 * for each asset and each fault shows the status and price the OracleRouter reports and what the policy
 * table lets a market do. Each fault starts from the same healthy state (evm_snapshot / evm_revert).
 *
 *   npm start            (or: npx hardhat run scripts/oracle-demo.ts)
 */
import hre from "hardhat";
import { formatUnits } from "ethers";
import { time } from "@nomicfoundation/hardhat-network-helpers";

import { localConfig } from "../deploy/config";
import { deploySystem, type DeployedAsset, type System } from "../deploy/deploySystem";
import { Action, PriceStatus } from "../deploy/enums";
import { applyFault, setMarketPrice, type FeedTarget, type OracleFault } from "../sim/oracleFaults";

interface Case {
  name: string;
  /** Applies the fault; `usd` is the asset's healthy price. */
  run(system: System, asset: DeployedAsset, usd: number): Promise<void>;
}

const fault =
  (f: OracleFault, target: FeedTarget = "primary"): Case["run"] =>
  async (system, asset) =>
    applyFault(system, asset, f, target, await time.latest());

const CASES: Case[] = [
  { name: "healthy", run: async () => {} },
  { name: "market -10%", run: (_s, a, p) => setMarketPrice(a, p * 0.9) },
  { name: "primary stale (heartbeat + 1 s)", run: fault({ kind: "stale", age: 3601 }) },
  { name: "all feeds stale", run: fault({ kind: "stale", age: 2 * 86400 }, "both") },
  {
    name: "primary frozen, market -30%",
    run: async (s, a, p) => {
      await applyFault(s, a, { kind: "freeze" });
      await setMarketPrice(a, p * 0.7);
    },
  },
  { name: "primary answers zero", run: fault({ kind: "zero" }) },
  { name: "primary answers negative", run: fault({ kind: "negative" }) },
  { name: "primary reverts", run: fault({ kind: "revert" }) },
  { name: "primary burns all gas", run: fault({ kind: "burnGas" }) },
  { name: "primary returns garbage", run: fault({ kind: "shortReturn" }) },
  {
    name: "clamped at its floor (= minPrice), market falls below it",
    run: async (s, a) => {
      const floor = Number(formatUnits((await s.router.assetConfig(a.address)).minPrice, 18));
      await applyFault(s, a, { kind: "clamp", floorUsd: floor }, "both");
      await setMarketPrice(a, floor / 10);
    },
  },
  { name: "primary spikes +60% once", run: (s, a, p) => applyFault(s, a, { kind: "spike", usd: p * 1.6 }) },
  { name: "gap -40%, just seen", run: (_s, a, p) => setMarketPrice(a, p * 0.6, "primary") },
  {
    name: "gap -40%, after confirm window",
    run: async (s, a, p) => {
      await setMarketPrice(a, p * 0.6, "primary");
      await s.router.price(a.address);
      await time.increase((await s.router.assetConfig(a.address)).confirmWindow);
      if (a.fallbackFeed) await applyFault(s, a, { kind: "stale", age: 2 * 86400 }, "fallback");
    },
  },
  { name: "gap -40%, fallback agrees", run: (_s, a, p) => setMarketPrice(a, p * 0.6, "both") },
  {
    name: "primary lags 3 rounds, market -3%/round",
    run: async (s, a, p) => {
      for (const step of [0.97, 0.94, 0.91]) await setMarketPrice(a, p * step);
      await applyFault(s, a, { kind: "lag", rounds: 3 });
    },
  },
  { name: "L2 sequencer down", run: fault({ kind: "sequencerDown" }) },
  {
    name: "sequencer up 30 min ago (grace 1 h)",
    run: fault({ kind: "sequencerGrace", secondsSinceUp: 1800 }),
  },
];

function usdText(wadPrice: bigint): string {
  const n = Number(formatUnits(wadPrice, 18));
  return n.toLocaleString("en-US", { maximumFractionDigits: 2 });
}

async function main() {
  const system = await deploySystem(hre, localConfig({ sequencer: { mock: true, gracePeriod: 3600 } }));
  // The sequencer came up long ago; refresh the feeds after moving the clock.
  await system.sequencer!.mock!.setStatus(0, (await time.latest()) - 86400);
  const rows: string[][] = [["asset", "fault", "status", "price (USD)", "borrow", "liquidate"]];
  for (const asset of Object.values(system.assets)) {
    const [healthy] = await system.router.peek(asset.address);
    const usd = Number(formatUnits(healthy, 18));
    for (const c of CASES) {
      const snapshot = await hre.network.provider.send("evm_snapshot", []);
      await c.run(system, asset, usd);
      const [price, status] = await system.router.peek(asset.address);
      const allowed = async (action: number) =>
        (await system.router.isAllowed(status, action)) ? "yes" : "no";
      rows.push([
        asset.symbol + (asset.fallbackFeed ? " (2 feeds)" : " (1 feed)"),
        c.name,
        PriceStatus[Number(status)],
        usdText(price),
        await allowed(Action.BORROW),
        await allowed(Action.LIQUIDATE),
      ]);
      await hre.network.provider.send("evm_revert", [snapshot]);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((cell, i) => (i === 3 ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join("  ");
  console.log("Ballast OracleRouter: what each asset's price looks like under each fault\n");
  console.log(line(rows[0]));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows.slice(1)) console.log(line(r));
  console.log(
    "\nSuspect policy: wait for confirmation. Policy table and rules: docs/oracle.md." +
      "\nNote WBTC 'primary frozen': with one feed a frozen price is indistinguishable from a quiet market.",
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
