/**
 * The deployments file (deployments/<network>.json) and idempotent deployment on top of deploySystem.
 *
 * `deployOrReuse` deploys the whole system from a config and writes the file; run again with the same
 * config on the same chain, it finds the file, checks that the chain id matches, that the config is the
 * same (by a canonical hash) and that every address still holds code, and reuses what is there instead of
 * deploying again. Anything else (no file, another chain, a changed config, an address without code, e.g. a
 * restarted local node) deploys afresh and rewrites the file.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

import type { SystemConfig } from "./config";
import { deploySystem, type DeployedAsset, type DeployedFeed, type System } from "./deploySystem";

export interface FeedRecord {
  address: string;
  decimals: number;
  /** A MockAggregator (local networks): its price can be set (npx hardhat crash). */
  mock: boolean;
}

export interface AssetRecord {
  address: string;
  decimals: number;
  mock: boolean;
  primaryFeed: FeedRecord;
  fallbackFeed?: FeedRecord;
}

/** What deployments/<network>.json holds. Every address is checksummed. */
export interface DeploymentsFile {
  network: string;
  chainId: number;
  /** The block of the last deployment transaction, and its timestamp (ISO). */
  block: number;
  deployedAt: string;
  admin: string;
  /** sha256 of the canonical JSON of `config`: a re-run with another config deploys afresh. */
  configHash: string;
  config: unknown;
  contracts: {
    OracleRouter: string;
    InsuranceFund: string;
    LendingMarket?: string;
    KinkedRateModel?: string;
    PerpMarket?: string;
    LiquidityVault?: string;
    PerpParams?: string;
    SequencerFeed?: string;
  };
  base: { symbol: string; address: string; decimals: number; mock: boolean };
  assets: Record<string, AssetRecord>;
  /** Perp market ids by asset symbol. */
  perpMarketIds?: Record<string, number>;
}

/** The config as plain JSON (bigints as decimal strings), keys sorted, for hashing and for the file. */
export function canonicalConfig(config: SystemConfig): unknown {
  const normalise = (v: unknown): unknown => {
    if (typeof v === "bigint") return v.toString();
    if (Array.isArray(v)) return v.map(normalise);
    if (v !== null && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) {
        const x = (v as Record<string, unknown>)[k];
        if (x !== undefined) out[k] = normalise(x);
      }
      return out;
    }
    return v;
  };
  return normalise(config);
}

export function configHash(config: SystemConfig): string {
  return (
    "0x" +
    createHash("sha256")
      .update(JSON.stringify(canonicalConfig(config)))
      .digest("hex")
  );
}

/** deployments/<network>.json under the project root. */
export function deploymentsPath(hre: HardhatRuntimeEnvironment, network = hre.network.name): string {
  return path.join(hre.config.paths.root, "deployments", `${network}.json`);
}

export function readDeployments(file: string): DeploymentsFile {
  return JSON.parse(readFileSync(file, "utf8")) as DeploymentsFile;
}

function feedRecord(feed: DeployedFeed): FeedRecord {
  return { address: feed.address, decimals: feed.decimals, mock: feed.mock !== undefined };
}

/** The file's content for a deployed system. */
export async function toDeployments(
  hre: HardhatRuntimeEnvironment,
  system: System,
): Promise<DeploymentsFile> {
  const { ethers } = hre;
  const latest = await ethers.provider.getBlock("latest");
  const assets: Record<string, AssetRecord> = {};
  for (const [symbol, a] of Object.entries(system.assets)) {
    assets[symbol] = {
      address: a.address,
      decimals: a.decimals,
      mock: a.token !== undefined,
      primaryFeed: feedRecord(a.primaryFeed),
      ...(a.fallbackFeed ? { fallbackFeed: feedRecord(a.fallbackFeed) } : {}),
    };
  }
  const contracts: DeploymentsFile["contracts"] = {
    OracleRouter: await system.router.getAddress(),
    InsuranceFund: await system.insuranceFund.getAddress(),
  };
  if (system.lending) {
    contracts.LendingMarket = await system.lending.market.getAddress();
    contracts.KinkedRateModel = await system.lending.rateModel.getAddress();
  }
  if (system.perps) {
    contracts.PerpMarket = await system.perps.market.getAddress();
    contracts.LiquidityVault = await system.perps.vault.getAddress();
    contracts.PerpParams = system.perps.paramsLibrary;
  }
  if (system.sequencer) contracts.SequencerFeed = system.sequencer.address;
  return {
    network: hre.network.name,
    chainId: Number((await ethers.provider.getNetwork()).chainId),
    block: latest!.number,
    deployedAt: new Date(latest!.timestamp * 1000).toISOString(),
    admin: await system.admin.getAddress(),
    configHash: configHash(system.config),
    config: canonicalConfig(system.config),
    contracts,
    base: {
      symbol: system.base.symbol,
      address: system.base.address,
      decimals: system.base.decimals,
      mock: system.base.token !== undefined,
    },
    assets,
    ...(system.perps ? { perpMarketIds: system.perps.marketIds } : {}),
  };
}

export function writeDeployments(file: string, content: DeploymentsFile) {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(content, null, 2) + "\n");
}

/** Typed handles on an existing deployment (the admin signer is the file's admin, when the network has it). */
export async function attachSystem(
  hre: HardhatRuntimeEnvironment,
  file: DeploymentsFile,
  config: SystemConfig,
): Promise<System> {
  const { ethers } = hre;
  const admin = await ethers.getSigner(file.admin);
  const at = <T>(name: string, address: string) => ethers.getContractAt(name, address, admin) as Promise<T>;
  const feed = async (r: FeedRecord): Promise<DeployedFeed> => ({
    address: r.address,
    decimals: r.decimals,
    ...(r.mock ? { mock: await at<NonNullable<DeployedFeed["mock"]>>("MockAggregator", r.address) } : {}),
  });
  const assets: Record<string, DeployedAsset> = {};
  for (const [symbol, r] of Object.entries(file.assets)) {
    assets[symbol] = {
      symbol,
      address: r.address,
      decimals: r.decimals,
      ...(r.mock ? { token: await at<NonNullable<DeployedAsset["token"]>>("MockERC20", r.address) } : {}),
      primaryFeed: await feed(r.primaryFeed),
      ...(r.fallbackFeed ? { fallbackFeed: await feed(r.fallbackFeed) } : {}),
    };
  }
  const c = file.contracts;
  const system: System = {
    admin,
    router: await at("OracleRouter", c.OracleRouter),
    assets,
    base: {
      symbol: file.base.symbol,
      address: file.base.address,
      decimals: file.base.decimals,
      erc20: await at("IERC20Metadata", file.base.address),
      ...(file.base.mock
        ? { token: await at<NonNullable<System["base"]["token"]>>("MockERC20", file.base.address) }
        : {}),
    },
    insuranceFund: await at("InsuranceFund", c.InsuranceFund),
    config,
  };
  if (c.SequencerFeed) system.sequencer = { address: c.SequencerFeed };
  if (c.LendingMarket && c.KinkedRateModel) {
    system.lending = {
      market: await at("LendingMarket", c.LendingMarket),
      rateModel: await at("KinkedRateModel", c.KinkedRateModel),
    };
  }
  if (c.PerpMarket && c.LiquidityVault && c.PerpParams) {
    system.perps = {
      market: await at("PerpMarket", c.PerpMarket),
      vault: await at("LiquidityVault", c.LiquidityVault),
      marketIds: file.perpMarketIds ?? {},
      paramsLibrary: c.PerpParams,
    };
  }
  return system;
}

/** Why an existing file cannot be reused, or undefined when it can. */
export async function whyNotReusable(
  hre: HardhatRuntimeEnvironment,
  file: DeploymentsFile,
  config: SystemConfig,
): Promise<string | undefined> {
  const chainId = Number((await hre.ethers.provider.getNetwork()).chainId);
  if (file.chainId !== chainId) return `it is for chain ${file.chainId}, this is chain ${chainId}`;
  if (file.configHash !== configHash(config)) return "the config changed";
  const addresses = [
    ...Object.values(file.contracts),
    file.base.address,
    ...Object.values(file.assets).flatMap((a) => [a.address, a.primaryFeed.address, a.fallbackFeed?.address]),
  ].filter((a): a is string => a !== undefined);
  for (const a of addresses) {
    if ((await hre.ethers.provider.getCode(a)) === "0x") return `no code at ${a} (a restarted node?)`;
  }
  return undefined;
}

export interface DeployResult {
  system: System;
  file: string;
  deployments: DeploymentsFile;
  /** True when an existing deployment was reused. */
  reused: boolean;
  /** Why the existing file was not reused (when it existed). */
  reason?: string;
}

/**
 * Deploys `config` unless deployments/<network>.json (or `opts.file`) already describes the same config on
 * this chain with code at every address; writes the file after a deployment. `fresh` always deploys.
 */
export async function deployOrReuse(
  hre: HardhatRuntimeEnvironment,
  config: SystemConfig,
  opts: { file?: string; fresh?: boolean } = {},
): Promise<DeployResult> {
  const file = opts.file ?? deploymentsPath(hre);
  let reason: string | undefined;
  if (!opts.fresh && existsSync(file)) {
    const existing = readDeployments(file);
    reason = await whyNotReusable(hre, existing, config);
    if (reason === undefined) {
      return { system: await attachSystem(hre, existing, config), file, deployments: existing, reused: true };
    }
  }
  const system = await deploySystem(hre, config);
  const deployments = await toDeployments(hre, system);
  writeDeployments(file, deployments);
  return { system, file, deployments, reused: false, reason };
}
