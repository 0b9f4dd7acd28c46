/**
 * deploy/deployments.ts and the integrator tasks (tasks/deploy.ts): the deployments file, idempotent
 * re-runs (reuse only the same config on the same chain with code at every address), the deploy task with
 * its demo seed, and the crash task, on the in-process network.
 */
import hre, { ethers } from "hardhat";
import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { localConfig } from "../../deploy/config";
import { configHash, deployOrReuse, readDeployments, type DeploymentsFile } from "../../deploy/deployments";
import { PriceStatus } from "../../deploy/enums";

const tmp = () => path.join(mkdtempSync(path.join(os.tmpdir(), "ballast-deploy-")), "deployments.json");

describe("deployments: the file and idempotent re-runs", function () {
  this.timeout(120_000);
  let file: string;
  let first: Awaited<ReturnType<typeof deployOrReuse>>;

  before(async () => {
    file = tmp();
    first = await deployOrReuse(hre, localConfig(), { file });
  });

  it("deployOrReuse: a first run deploys and writes the file: network, chain, block, admin, config hash, every address with code", async () => {
    expect(first.reused).to.equal(false);
    const d = readDeployments(file);
    expect(d).to.deep.equal(first.deployments);
    expect(d.network).to.equal("hardhat");
    expect(d.chainId).to.equal(31337);
    expect(d.block).to.be.gt(0);
    expect(d.block).to.be.lte(await ethers.provider.getBlockNumber());
    expect(new Date(d.deployedAt).getTime()).to.be.gt(0);
    expect(d.admin).to.equal(await first.system.admin.getAddress());
    expect(d.configHash).to.equal(configHash(localConfig()));
    expect(d.contracts.OracleRouter).to.equal(await first.system.router.getAddress());
    expect(d.contracts.LendingMarket).to.equal(await first.system.lending!.market.getAddress());
    expect(d.contracts.PerpMarket).to.equal(await first.system.perps!.market.getAddress());
    expect(d.contracts.LiquidityVault).to.equal(await first.system.perps!.vault.getAddress());
    expect(d.perpMarketIds).to.deep.equal({ WETH: 0, WBTC: 1 });
    expect(Object.keys(d.assets)).to.deep.equal(["WETH", "WBTC", "EURC"]);
    expect(d.assets.WETH.fallbackFeed?.mock).to.equal(true);
    expect(d.base).to.deep.include({ symbol: "USDC", decimals: 6, mock: true });
    for (const address of [...Object.values(d.contracts), d.base.address]) {
      expect(ethers.isAddress(address)).to.equal(true);
      expect(address).to.equal(ethers.getAddress(address));
      expect(await ethers.provider.getCode(address)).to.not.equal("0x");
    }
  });

  it("deployOrReuse: the same config on the same chain reuses the deployment; the attached handles work", async () => {
    const blockBefore = await ethers.provider.getBlockNumber();
    const again = await deployOrReuse(hre, localConfig(), { file });
    expect(again.reused).to.equal(true);
    expect(await ethers.provider.getBlockNumber(), "nothing was sent").to.equal(blockBefore);
    expect(again.deployments).to.deep.equal(first.deployments);
    const s = again.system;
    expect(await s.lending!.market.getAddress()).to.equal(first.deployments.contracts.LendingMarket);
    expect(await s.lending!.market.collateralTokens()).to.have.length(3);
    expect(await s.perps!.market.marketCount()).to.equal(2n);
    expect(await s.perps!.vault.market()).to.equal(first.deployments.contracts.PerpMarket);
    expect(await s.base.erc20.decimals()).to.equal(6n);
    const [price, status] = await s.router.peek(s.assets.WETH.address);
    expect(price).to.equal(ethers.parseEther("3000"));
    expect(Number(status)).to.equal(PriceStatus.OK);
    // Mock handles are attached: the admin can still mint and move feeds.
    expect(await s.assets.WETH.primaryFeed.mock!.decimals()).to.equal(8n);
    expect(s.base.token).to.not.equal(undefined);
  });

  it("deployOrReuse: a changed config deploys afresh (reason: the config changed) and rewrites the file", async () => {
    const f = tmp();
    writeFileSync(f, JSON.stringify(first.deployments));
    const changed = localConfig({ insurance: { cooldown: 3 * 86400, unstakeWindow: 86400 } });
    const out = await deployOrReuse(hre, changed, { file: f });
    expect(out.reused).to.equal(false);
    expect(out.reason).to.equal("the config changed");
    expect(out.deployments.contracts.OracleRouter).to.not.equal(first.deployments.contracts.OracleRouter);
    expect(readDeployments(f).configHash).to.equal(configHash(changed));
  });

  it("deployOrReuse: a file for another chain, or an address without code (a restarted node), is not reused", async () => {
    const otherChain = tmp();
    writeFileSync(otherChain, JSON.stringify({ ...first.deployments, chainId: 1 }));
    const a = await deployOrReuse(hre, localConfig(), { file: otherChain });
    expect(a.reused).to.equal(false);
    expect(a.reason).to.equal("it is for chain 1, this is chain 31337");

    const noCode = tmp();
    const gone = "0x" + "11".repeat(20);
    const broken: DeploymentsFile = {
      ...first.deployments,
      contracts: { ...first.deployments.contracts, PerpMarket: gone },
    };
    writeFileSync(noCode, JSON.stringify(broken));
    const b = await deployOrReuse(hre, localConfig(), { file: noCode });
    expect(b.reused).to.equal(false);
    expect(b.reason).to.equal(`no code at ${gone} (a restarted node?)`);
  });

  it("deployOrReuse: fresh deploys even when the deployment could be reused", async () => {
    const out = await deployOrReuse(hre, localConfig(), { file, fresh: true });
    expect(out.reused).to.equal(false);
    expect(out.reason).to.equal(undefined);
    expect(out.deployments.contracts.LendingMarket).to.not.equal(first.deployments.contracts.LendingMarket);
  });
});

describe("tasks: deploy --seed and crash", function () {
  this.timeout(120_000);

  it("deploy --seed: writes the file and seeds suppliers, borrowers at three healths, an LP, three traders and the fund", async () => {
    const out = tmp();
    const result = (await hre.run("deploy", { out, seed: true, quiet: true, fresh: false })) as Awaited<
      ReturnType<typeof deployOrReuse>
    >;
    const d = readDeployments(out);
    expect(d.contracts.LendingMarket).to.equal(await result.system.lending!.market.getAddress());
    const { lending, perps, insuranceFund } = result.system;
    const [supplied, , borrowed] = await lending!.market.totals();
    // 1,000,000 supplied, plus the interest of the few seconds since the borrows.
    expect(supplied)
      .to.be.gte(1_000_000n * 10n ** 6n)
      .and.lt(1_000_001n * 10n ** 6n);
    expect(borrowed).to.be.gt(600_000n * 10n ** 6n);
    const signers = await ethers.getSigners();
    const healths = [];
    for (const s of signers.slice(3, 6)) healths.push((await lending!.market.accountView(s.address)).health);
    // 1.6, 1.15 and the LTV's floor (0.85 / 0.8 = 1.0625): all healthy, in that order.
    expect(healths[0]).to.be.closeTo(ethers.parseEther("1.6"), ethers.parseEther("0.001"));
    expect(healths[1]).to.be.closeTo(ethers.parseEther("1.15"), ethers.parseEther("0.001"));
    expect(healths[2]).to.be.gt(ethers.parseEther("1")).and.lt(ethers.parseEther("1.07"));
    expect(await perps!.vault.totalAssets()).to.be.gte(2_000_000n * 10n ** 6n);
    const weth = perps!.marketIds.WETH;
    expect((await perps!.market.positionView(signers[7].address, weth)).size).to.be.gt(0n);
    expect((await perps!.market.positionView(signers[8].address, weth)).size).to.be.lt(0n);
    expect((await perps!.market.positionView(signers[9].address, perps!.marketIds.WBTC)).size).to.be.gt(0n);
    expect(await insuranceFund.totalAssets()).to.equal(100_000n * 10n ** 6n);
  });

  it("crash: moves every mock feed of the asset by the change and the router confirms it (OK), on WETH (two feeds) and WBTC (one feed, through the confirmation window)", async () => {
    const out = tmp();
    const { system } = (await hre.run("deploy", { out, quiet: true, fresh: true, seed: false })) as Awaited<
      ReturnType<typeof deployOrReuse>
    >;
    const weth = (await hre.run("crash", { asset: "WETH", change: "-0.4", file: out })) as {
      before: bigint;
      price: bigint;
      status: number;
    };
    expect(weth.before).to.equal(ethers.parseEther("3000"));
    expect(weth.price).to.equal(ethers.parseEther("1800"));
    expect(weth.status).to.equal(PriceStatus.OK);
    const [, fallbackAnswer] = await system.assets.WETH.fallbackFeed!.mock!.latestRoundData();
    expect(fallbackAnswer).to.equal(ethers.parseUnits("1800", 18));
    const wbtc = (await hre.run("crash", { asset: "WBTC", change: "-0.3", file: out })) as {
      price: bigint;
      status: number;
    };
    expect(wbtc.price).to.equal(ethers.parseEther("42000"));
    expect(wbtc.status).to.equal(PriceStatus.OK);
  });

  it("crash: an unknown asset, a change of -1 or below or not a number, and a missing file are clear errors", async () => {
    const out = tmp();
    await hre.run("deploy", { out, quiet: true, fresh: true, seed: false });
    const cases: [Record<string, string>, string][] = [
      [{ asset: "XYZ", change: "-0.1", file: out }, "--asset XYZ: not in the deployment (WETH, WBTC, EURC)"],
      [{ asset: "WETH", change: "-1", file: out }, "--change -1: must be a number above -1 (e.g. -0.4)"],
      [{ asset: "WETH", change: "abc", file: out }, "--change abc: must be a number above -1 (e.g. -0.4)"],
      [{ asset: "WETH", change: "-0.1", file: out + ".missing" }, "no deployments file at"],
    ];
    for (const [args, message] of cases) {
      let error: Error | undefined;
      try {
        await hre.run("crash", args);
      } catch (e) {
        error = e as Error;
      }
      expect(error?.message, JSON.stringify(args)).to.include(message);
    }
  });

  it("deploy: --system must name an existing module whose default export is a SystemConfig", async () => {
    const missing = path.join(os.tmpdir(), "no-such-ballast-config.ts");
    let error: Error | undefined;
    try {
      await hre.run("deploy", { system: missing, quiet: true, fresh: false, seed: false });
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).to.include(`--system: no such file ${missing}`);
    const notAConfig = path.join(mkdtempSync(path.join(os.tmpdir(), "ballast-cfg-")), "bad.js");
    writeFileSync(notAConfig, "module.exports = { default: { hello: 1 } };");
    error = undefined;
    try {
      await hre.run("deploy", { system: notAConfig, quiet: true, fresh: false, seed: false });
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).to.include("its default export is not a SystemConfig");
  });
});
