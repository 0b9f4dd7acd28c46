/**
 * The keeper bot (keeper/keeper.ts, npx hardhat keeper) on the in-process chain: it finds accounts from
 * events, liquidates lending borrowers and perps traders after a crash, executes a triggered stop order,
 * sends nothing in a dry run, and sends nothing that its simulation says would revert (a degraded oracle).
 */
import hre, { ethers } from "hardhat";
import { expect } from "chai";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import type { DeployResult } from "../../deploy/deployments";
import { readDeployments } from "../../deploy/deployments";
import { FeedMode } from "../../deploy/enums";
import { Keeper, type KeeperAction } from "../../keeper/keeper";

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
  const make = (dryRun = false) =>
    new Keeper(hre, readDeployments(file), keeperSigner, { dryRun, log: (l) => lines.push(l) });
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

    const dry = make(true);
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
    expect(await run({ file: file + ".missing", once: true })).to.include("no deployments file at");
    expect(await run({ once: true, dryRun: true })).to.equal("");
  });
});
