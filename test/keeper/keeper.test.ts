/**
 * The keeper bot (keeper/keeper.ts, npx hardhat keeper) on the in-process chain: it finds accounts from
 * events, liquidates lending borrowers and perps traders after a crash, executes a triggered stop order,
 * sends nothing in a dry run, and sends nothing that its simulation says would revert (a degraded oracle).
 * Its periodic full scans find the accounts its event sync missed and stop watching those with nothing left.
 */
import hre, { ethers } from "hardhat";
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import type { DeployResult } from "../../deploy/deployments";
import { readDeployments } from "../../deploy/deployments";
import { FeedMode } from "../../deploy/enums";
import { Keeper, type KeeperAction, type KeeperOptions } from "../../keeper/keeper";
import { bin, root } from "../e2e/node";

const tmp = () => path.join(mkdtempSync(path.join(os.tmpdir(), "ballast-keeper-")), "deployments.json");

async function seeded() {
  const file = tmp();
  const result = (await hre.run("deploy", {
    out: file,
    seed: true,
    quiet: true,
    fresh: true,
  })) as DeployResult;
  const keeperSigner = (await ethers.getSigners())[10];
  const lines: string[] = [];
  const make = (opts: KeeperOptions = {}) =>
    new Keeper(hre, readDeployments(file), keeperSigner, { log: (l) => lines.push(l), ...opts });
  return { file, system: result.system, keeperSigner, lines, make };
}

const kinds = (actions: KeeperAction[], outcome: KeeperAction["outcome"]) =>
  actions.filter((a) => a.outcome === outcome).map((a) => `${a.kind} ${a.target}`);

describe("keeper", function () {
  this.timeout(120_000);

  it("finds every borrower and trader from the events; with healthy prices it does nothing", async () => {
    const { make } = await seeded();
    const keeper = make();
    await keeper.init();
    const signers = await ethers.getSigners();
    const block = await ethers.provider.getBlockNumber();
    expect(await keeper.round()).to.deep.equal([]);
    expect(await ethers.provider.getBlockNumber(), "nothing sent").to.equal(block);
    expect([...keeper.borrowers].sort()).to.deep.equal(
      signers
        .slice(3, 6)
        .map((s) => s.address)
        .sort(),
    );
    expect([...keeper.traders].sort()).to.deep.equal(
      signers
        .slice(7, 10)
        .map((s) => s.address)
        .sort(),
    );
  });

  it("after a -40% WETH crash: a dry run sends nothing and says what it would do; a real round liquidates the three borrowers and the 10x long", async () => {
    const { file, make, system, lines } = await seeded();
    await hre.run("crash", { asset: "WETH", change: "-0.4", file });
    const signers = await ethers.getSigners();
    const borrowers = signers.slice(3, 6).map((s) => s.address);
    const longEth = signers[7].address;

    const dry = make({ dryRun: true });
    await dry.init();
    const block = await ethers.provider.getBlockNumber();
    const planned = await dry.round();
    expect(await ethers.provider.getBlockNumber(), "a dry run sends nothing").to.equal(block);
    expect(kinds(planned, "dry-run").sort()).to.deep.equal(
      [...borrowers.map((b) => `lending.liquidate ${b}`), `perps.liquidate ${longEth}`].sort(),
    );
    expect(lines.some((l) => l.includes("[dry run]") && l.includes("seizing WETH"))).to.equal(true);

    const keeper = make();
    await keeper.init();
    const done = await keeper.round();
    expect(kinds(done, "sent").sort()).to.deep.equal(
      [...borrowers.map((b) => `lending.liquidate ${b}`), `perps.liquidate ${longEth}`].sort(),
    );
    const market = system.lending!.market;
    const liquidated = await market.queryFilter(market.filters.Liquidate(), block);
    expect(liquidated.map((e) => e.args.borrower).sort()).to.deep.equal(borrowers.sort());
    for (const e of liquidated) expect(e.args.liquidator).to.equal(signers[10].address);
    const perp = system.perps!.market;
    const perpLiquidated = await perp.queryFilter(perp.filters.AccountLiquidated(), block);
    expect(perpLiquidated.map((e) => e.args.account)).to.deep.equal([longEth]);
    expect((await perp.positionView(longEth, system.perps!.marketIds.WETH)).size).to.equal(0n);
  });

  it("with WETH's feeds both broken after the crash, it sends nothing: every liquidation is refused by its own check or its simulation, with the reason logged", async () => {
    const { file, make, system, lines } = await seeded();
    await hre.run("crash", { asset: "WETH", change: "-0.4", file });
    await system.assets.WETH.primaryFeed.mock!.setMode(FeedMode.REVERT);
    await system.assets.WETH.fallbackFeed!.mock!.setMode(FeedMode.REVERT);
    await system.router.price(system.assets.WETH.address);
    const keeper = make();
    await keeper.init();
    const block = await ethers.provider.getBlockNumber();
    const actions = await keeper.round();
    expect(await ethers.provider.getBlockNumber(), "no transaction sent").to.equal(block);
    expect(kinds(actions, "sent")).to.deep.equal([]);
    expect(actions.length).to.be.gte(3);
    for (const a of actions) expect(a.outcome).to.equal("refused");
    expect(
      lines.some((l) => l.includes("no collateral with a price the policy allows for LIQUIDATE")),
    ).to.equal(true);
  });

  it("executes a stop order once the price crosses its trigger, and not before", async () => {
    const { file, make, system } = await seeded();
    const signers = await ethers.getSigners();
    const perp = system.perps!.market;
    const ETH = system.perps!.marketIds.WETH;
    const trader = signers[7];
    const size = (await perp.positionView(trader.address, ETH)).size;
    // A stop-loss at 2,900 on the long (WETH is at 3,000).
    await perp.connect(trader).placeOrder(ETH, true, size, ethers.parseEther("2900"), false, 0n);
    const id = await perp.lastOrderId();
    const keeper = make();
    await keeper.init();
    expect(kinds(await keeper.round(), "sent")).to.deep.equal([]);
    expect(keeper.orders.has(id)).to.equal(true);
    await hre.run("crash", { asset: "WETH", change: "-0.05", file });
    const actions = await keeper.round();
    expect(kinds(actions, "sent")).to.deep.equal([`perps.executeOrder order ${id}`]);
    expect((await perp.positionView(trader.address, ETH)).size).to.equal(0n);
    expect(keeper.orders.has(id)).to.equal(true); // until the next sync reads OrderExecuted
    await keeper.round();
    expect(keeper.orders.has(id)).to.equal(false);
  });

  it("scans: a keeper whose event cursor starts after the accounts' events liquidates them once its periodic scan finds them (on round 3 with scanEvery 3); with scanEvery 0 it never does", async () => {
    const { file, make, system, lines } = await seeded();
    await hre.run("crash", { asset: "WETH", change: "-0.4", file });
    const signers = await ethers.getSigners();
    const borrowers = signers.slice(3, 6).map((s) => s.address);
    const longEth = signers[7].address;
    // Both keepers start reading events after the seed: every account's events are behind their cursors.
    const fromBlock = (await ethers.provider.getBlockNumber()) + 1;

    const eventsOnly = make({ scanEvery: 0, fromBlock });
    await eventsOnly.init();
    const block = await ethers.provider.getBlockNumber();
    for (let i = 0; i < 4; i++) expect(await eventsOnly.round()).to.deep.equal([]);
    expect(await ethers.provider.getBlockNumber(), "nothing sent").to.equal(block);
    expect(eventsOnly.borrowers.size + eventsOnly.traders.size).to.equal(0);
    expect(eventsOnly.lastScan).to.equal(undefined);

    const scanning = make({ scanEvery: 3, fromBlock, scanBlocks: 7, scanBatch: 2 });
    await scanning.init();
    expect(await scanning.round()).to.deep.equal([]);
    expect(await scanning.round()).to.deep.equal([]);
    expect(scanning.borrowers.size, "rounds 1 and 2 see no events").to.equal(0);
    const done = await scanning.round();
    expect(kinds(done, "sent").sort()).to.deep.equal(
      [...borrowers.map((b) => `lending.liquidate ${b}`), `perps.liquidate ${longEth}`].sort(),
    );
    const scan = scanning.lastScan!;
    expect(scan.borrowers.added.sort()).to.deep.equal([...borrowers].sort());
    expect(scan.traders.added.sort()).to.deep.equal(
      signers
        .slice(7, 10)
        .map((s) => s.address)
        .sort(),
    );
    // In chunks of 7 blocks from the deployment's start to the last block synced.
    expect(scan.chunks).to.equal(Math.ceil((scan.toBlock - scan.fromBlock + 1) / 7));
    expect(scan.chunks).to.be.gt(1);
    expect(
      lines.some((l) => l.includes(`scan: borrower ${borrowers[0]} has debt; the event sync had missed it`)),
    ).to.equal(true);
    const market = system.lending!.market;
    const liquidated = await market.queryFilter(market.filters.Liquidate(), block);
    expect(liquidated.map((e) => e.args.borrower).sort()).to.deep.equal([...borrowers].sort());
  });

  it("scans: reread every watched account from the views, and stop watching a borrower who repaid and a trader who closed (until their next event)", async () => {
    const { make, system, lines } = await seeded();
    const signers = await ethers.getSigners();
    const keeper = make({ scanEvery: 2 });
    await keeper.init();
    await keeper.round();
    expect(keeper.borrowers.size).to.equal(3);
    const borrower = signers[3];
    const market = system.lending!.market;
    const debt = (await market.accountView(borrower.address)).debt;
    await system.base.token!.mint(borrower.address, debt * 2n);
    await system.base.erc20.connect(borrower).approve(await market.getAddress(), ethers.MaxUint256);
    await market.connect(borrower).repay(ethers.MaxUint256, borrower.address);
    expect((await market.accountView(borrower.address)).borrowShares).to.equal(0n);
    const trader = signers[9];
    const perp = system.perps!.market;
    const WBTC = system.perps!.marketIds.WBTC;
    const size = (await perp.positionView(trader.address, WBTC)).size;
    await perp.connect(trader).modifyPosition(WBTC, -size, 0n);
    expect((await perp.positionView(trader.address, WBTC)).size).to.equal(0n);

    await keeper.round(); // round 2: a scan
    const scan = keeper.lastScan!;
    expect(scan.borrowers.dropped).to.deep.equal([borrower.address]);
    expect(scan.traders.dropped).to.deep.equal([trader.address]);
    expect(scan.borrowers.added).to.deep.equal([]);
    expect(keeper.borrowers.has(borrower.address)).to.equal(false);
    expect(keeper.borrowers.size).to.equal(2);
    expect(keeper.traders.has(trader.address)).to.equal(false);
    expect(lines.some((l) => l.includes("no longer watched") && l.includes(borrower.address))).to.equal(true);
    // Its next borrow is an event: the next round's sync watches it again.
    await market.connect(borrower).borrow(1_000n * 10n ** 6n, borrower.address);
    await keeper.round();
    expect(keeper.borrowers.has(borrower.address)).to.equal(true);
  });

  it("npx hardhat keeper: a bad --scan-every on the command line prints the usage and exits non-zero", () => {
    const r = spawnSync(bin("hardhat"), ["keeper", "--scan-every", "-3"], {
      cwd: root,
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(r.status).to.not.equal(0);
    expect(r.status).to.not.equal(null);
    const output = r.stdout + r.stderr;
    expect(output).to.include("--scan-every -3: must be an integer >= 0");
    expect(output).to.include("Usage: npx hardhat keeper");
  });

  it("npx hardhat keeper: a bad --signer or --rounds is a clear error; --once runs one round", async () => {
    const { file } = await seeded();
    const run = async (args: Record<string, unknown>) => {
      try {
        await hre.run("keeper", {
          file,
          signer: "10",
          interval: "0",
          rounds: "0",
          once: false,
          dryRun: false,
          ...args,
        });
        return "";
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(await run({ signer: "99" })).to.include("--signer 99: the network has 20 accounts");
    expect(await run({ rounds: "-1" })).to.include("--rounds -1: must be an integer >= 0");
    for (const [flag, value, min] of [
      ["scanEvery", "-1", 0],
      ["scanEvery", "two", 0],
      ["scanEvery", "1.5", 0],
      ["scanBlocks", "0", 1],
    ] as const) {
      const message = await run({ [flag]: value, once: true });
      const name = flag === "scanEvery" ? "scan-every" : "scan-blocks";
      expect(message).to.include(`--${name} ${value}: must be an integer >= ${min}`);
      expect(message, "with the usage").to.include("Usage: npx hardhat keeper");
    }
    expect(await run({ once: true, scanEvery: "1", scanBlocks: "3" }), "a scan on round 1").to.equal("");
    expect(await run({ file: file + ".missing", once: true })).to.include("no deployments file at");
    expect(await run({ once: true, dryRun: true })).to.equal("");
  });
});
