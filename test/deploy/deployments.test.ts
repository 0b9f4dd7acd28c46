/**
 * deploy/deployments.ts and the integrator tasks (tasks/deploy.ts): the deployments file, idempotent
 * re-runs (reuse only the same config on the same chain with code at every address), resuming a deployment
 * that stopped midway, the deploy task with its demo seed, and the crash task, on the in-process network.
 */
import hre, { ethers } from "hardhat";
import { expect } from "chai";
import { Result } from "ethers";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { localConfig } from "../../deploy/config";
import {
  configHash,
  deployOrReuse,
  partialPath,
  readDeployments,
  type DeployResult,
  type DeploymentsFile,
  type PartialDeployment,
} from "../../deploy/deployments";
import type { System } from "../../deploy/deploySystem";
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

/**
 * What a deployment wired, read back from the chain, with every address replaced by the name of what is
 * there (from its deployments file): two deployments of one config give equal results.
 */
async function wiring(system: System, d: DeploymentsFile) {
  const names = new Map<string, string>([[d.admin, "admin"]]);
  for (const [name, address] of Object.entries(d.contracts)) names.set(address, name);
  names.set(d.base.address, d.base.symbol);
  for (const [symbol, a] of Object.entries(d.assets)) {
    names.set(a.address, symbol);
    names.set(a.primaryFeed.address, `${symbol} primary feed`);
    if (a.fallbackFeed) names.set(a.fallbackFeed.address, `${symbol} fallback feed`);
  }
  const plain = (v: unknown): unknown => {
    if (v instanceof Result) return v.toArray().map(plain);
    if (Array.isArray(v)) return v.map(plain);
    if (typeof v === "bigint") return v.toString();
    if (typeof v === "string" && ethers.isAddress(v))
      return names.get(ethers.getAddress(v)) ?? `unknown ${v}`;
    return v;
  };
  const { router, insuranceFund, lending, perps } = system;
  const market = lending!.market;
  const perp = perps!.market;
  const adminRole = await market.DEFAULT_ADMIN_ROLE();
  const out: Record<string, unknown> = {
    sequencer: plain(await router.sequencer()),
    fundAsset: plain(await insuranceFund.asset()),
    fundMarkets: [
      await insuranceFund.isMarket(d.contracts.LendingMarket!),
      await insuranceFund.isMarket(d.contracts.PerpMarket!),
    ],
    lending: plain([await market.oracle(), await market.insuranceFund(), await market.rateModel()]),
    collaterals: plain(await market.collateralTokens()),
    perps: plain([
      await perp.oracle(),
      await perp.insuranceFund(),
      await perp.vault(),
      await perps!.vault.market(),
    ]),
    admins: [
      await router.hasRole(adminRole, d.admin),
      await market.hasRole(adminRole, d.admin),
      await perp.hasRole(adminRole, d.admin),
    ],
  };
  for (const symbol of Object.keys(d.assets)) {
    out[`oracle ${symbol}`] = plain(await router.assetConfig(d.assets[symbol].address));
    out[`collateral ${symbol}`] = plain(await market.collateralConfig(d.assets[symbol].address));
  }
  for (let id = 0; id < Number(await perp.marketCount()); id++) {
    const m = await perp.marketView(id);
    out[`perp market ${id}`] = plain([m.asset, m.status, m.params]);
  }
  return out;
}

/** Throws before the step `key` is sent: the deployment stops there, as after a failed transaction. */
const failAt = (key: string) => (step: string) => {
  if (step === key) throw new Error(`injected failure before ${key}`);
};

async function interrupted(file: string, key: string, config = localConfig()) {
  let error: Error | undefined;
  try {
    await deployOrReuse(hre, config, { file, beforeStep: failAt(key) });
  } catch (e) {
    error = e as Error;
  }
  return error;
}

const readPartial = (file: string) =>
  JSON.parse(readFileSync(partialPath(file), "utf8")) as PartialDeployment;

describe("deployments: resuming a deployment that stopped midway", function () {
  this.timeout(180_000);
  let clean: DeployResult;
  let cleanWiring: Record<string, unknown>;

  before(async () => {
    clean = await deployOrReuse(hre, localConfig(), { file: tmp(), fresh: true });
    cleanWiring = await wiring(clean.system, clean.deployments);
  });

  it("a clean deployment sends every step once, reuses none, and leaves no sidecar", async () => {
    expect(clean.steps!.reused).to.deep.equal([]);
    expect(clean.steps!.sent).to.include.members([
      "OracleRouter",
      "InsuranceFund",
      "PerpMarket",
      "PerpMarket.setVault",
    ]);
    expect(new Set(clean.steps!.sent).size).to.equal(clean.steps!.sent.length);
    expect(existsSync(partialPath(clean.file))).to.equal(false);
  });

  it("a failure midway leaves no deployments file and the steps done in <file>.partial.json; the re-run reuses them, sends only the rest, and wires the system as a clean deployment does", async () => {
    const file = tmp();
    const error = await interrupted(file, "PerpMarket");
    expect(error?.message).to.include("injected failure before PerpMarket");
    expect(error?.message).to.include(`recorded in ${partialPath(file)}: run it again to resume`);
    expect(existsSync(file)).to.equal(false);
    const before = clean.steps!.sent.slice(0, clean.steps!.sent.indexOf("PerpMarket"));
    const partial = readPartial(file);
    expect(Object.keys(partial.steps)).to.deep.equal(before);
    expect(Object.values(partial.steps).every((s) => s.done)).to.equal(true);

    const blockBefore = await ethers.provider.getBlockNumber();
    const resumed = await deployOrReuse(hre, localConfig(), { file });
    expect(resumed.reused).to.equal(false);
    // A probe mint is a step only when the admin lacks the probe amount: the first run minted it.
    const mint = (key: string) => key.endsWith(" mint");
    expect(before.filter(mint)).to.have.length(3);
    expect(resumed.steps!.reused).to.deep.equal(before.filter((k) => !mint(k)));
    expect([...resumed.steps!.reused, ...resumed.steps!.sent]).to.deep.equal(
      clean.steps!.sent.filter((k) => !mint(k)),
    );
    expect(await ethers.provider.getBlockNumber(), "one block per step sent").to.equal(
      blockBefore + resumed.steps!.sent.length,
    );
    // The contracts deployed before the failure are the ones in the file.
    const d = resumed.deployments;
    const recorded = (key: string) => partial.steps[key].address;
    expect(d.contracts.OracleRouter).to.equal(recorded("OracleRouter"));
    expect(d.contracts.InsuranceFund).to.equal(recorded("InsuranceFund"));
    expect(d.contracts.LendingMarket).to.equal(recorded("LendingMarket"));
    expect(d.contracts.KinkedRateModel).to.equal(recorded("KinkedRateModel"));
    expect(d.contracts.PerpParams).to.equal(recorded("PerpParams"));
    expect(d.base.address).to.equal(recorded("base USDC"));
    expect(d.assets.WETH.address).to.equal(recorded("WETH"));
    expect(d.assets.WETH.fallbackFeed!.address).to.equal(recorded("WETH fallback feed"));
    expect(d.perpMarketIds).to.deep.equal(clean.deployments.perpMarketIds);
    expect(d.configHash).to.equal(clean.deployments.configHash);
    expect(await wiring(resumed.system, d)).to.deep.equal(cleanWiring);
    expect(existsSync(partialPath(file)), "the sidecar is removed").to.equal(false);
    expect(
      (await deployOrReuse(hre, localConfig(), { file })).reused,
      "then a re-run reuses it whole",
    ).to.equal(true);
  });

  it("a step sent but not confirmed when the run stopped is adopted from its receipt, not sent again; a step whose block the chain no longer has is redone", async () => {
    const file = tmp();
    await interrupted(file, "PerpMarket.listMarket(WBTC)");
    const partial = readPartial(file);
    const vault = partial.steps.LiquidityVault;
    // As if the run had stopped after sending the vault's deployment, before its receipt.
    partial.steps.LiquidityVault = {
      kind: vault.kind,
      fingerprint: vault.fingerprint,
      hash: vault.hash,
      done: false,
    };
    // As if WETH's fallback feed had been deployed on a chain since restarted (another block at that height).
    partial.steps["WETH fallback feed"].blockHash = "0x" + "ab".repeat(32);
    writeFileSync(partialPath(file), JSON.stringify(partial));

    const resumed = await deployOrReuse(hre, localConfig(), { file });
    expect(resumed.steps!.reused).to.include("LiquidityVault");
    expect(resumed.deployments.contracts.LiquidityVault).to.equal(vault.address);
    // The feed is deployed again, so the router's config for WETH (which names the feed) is sent again.
    expect(resumed.steps!.sent).to.deep.equal([
      "WETH fallback feed",
      "OracleRouter.setAssetConfig(WETH)",
      "PerpMarket.listMarket(WBTC)",
    ]);
    const feed = resumed.deployments.assets.WETH.fallbackFeed!.address;
    expect(feed).to.not.equal(partial.steps["WETH fallback feed"].address);
    expect(
      (await resumed.system.router.assetConfig(resumed.system.assets.WETH.address)).fallbackFeed,
    ).to.equal(feed);
  });

  it("resumed with a changed config: reuses the steps whose transactions are unchanged, redeploys what changed and everything built on it", async () => {
    const file = tmp();
    await interrupted(file, "PerpMarket");
    const partial = readPartial(file);
    const changed = localConfig({ insurance: { cooldown: 3 * 86400, unstakeWindow: 86400 } });
    const resumed = await deployOrReuse(hre, changed, { file });
    const { reused, sent } = resumed.steps!;
    expect(reused).to.include.members([
      "OracleRouter",
      "WETH",
      "WETH primary feed",
      "OracleRouter.setAssetConfig(WETH)",
      "base USDC",
      "KinkedRateModel",
    ]);
    // The fund's constructor changed; the lending market takes the fund's address, so it is new too.
    expect(sent).to.include.members([
      "InsuranceFund",
      "LendingMarket",
      "InsuranceFund.setMarket(LendingMarket)",
    ]);
    expect(resumed.deployments.contracts.OracleRouter).to.equal(partial.steps.OracleRouter.address);
    expect(resumed.deployments.contracts.InsuranceFund).to.not.equal(partial.steps.InsuranceFund.address);
    expect(resumed.deployments.contracts.LendingMarket).to.not.equal(partial.steps.LendingMarket.address);
    expect(await resumed.system.insuranceFund.cooldown()).to.equal(3n * 86400n);
    expect(resumed.deployments.configHash).to.equal(configHash(changed));
  });
});

describe("tasks: deploy --seed and crash", function () {
  this.timeout(120_000);

  it("deploy: after a deployment stopped midway, the task resumes it and says how many steps were already done", async () => {
    const out = tmp();
    await interrupted(out, "LendingMarket");
    const partial = readPartial(out);
    const done = Object.keys(partial.steps).length;
    const printed: string[] = [];
    const log = console.log;
    console.log = (line: string) => printed.push(line);
    let result: DeployResult;
    try {
      result = (await hre.run("deploy", { out, quiet: false, fresh: false, seed: false })) as DeployResult;
    } finally {
      console.log = log;
    }
    expect(result.steps!.reused).to.have.length(done);
    expect(printed).to.include(
      `Resumed an interrupted deployment: ${done} steps were already done, ${result.steps!.sent.length} sent now`,
    );
    expect(readDeployments(out).contracts.OracleRouter).to.equal(partial.steps.OracleRouter.address);
  });

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
