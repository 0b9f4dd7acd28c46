/**
 * The deployments file (deployments/<network>.json) and idempotent deployment on top of deploySystem.
 *
 * `deployOrReuse` deploys the whole system from a config and writes the file; run again with the same
 * config on the same chain, it finds the file, checks that the chain id matches, that the config is the
 * same (by a canonical hash) and that every address still holds code, and reuses what is there instead of
 * deploying again. Anything else (no file, another chain, a changed config, an address without code, e.g. a
 * restarted local node) deploys and rewrites the file.
 *
 * A deployment that stops midway (a failed transaction, a dropped RPC, Ctrl-C) is resumed, not redone:
 * while it runs, every step (each contract deployed, each wiring transaction) is recorded in a sidecar,
 * <file>.partial.json (see `ResumableSteps`). The next run replays the plan and skips each step whose exact
 * transaction was already mined on this chain, so it continues from the first missing step. The sidecar is
 * removed once the deployments file is written.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { ContractDeployTransaction, ContractTransaction, Signer, TransactionReceipt } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

import type { SystemConfig } from "./config";
import {
  deploySystem,
  type DeployedAsset,
  type DeployedFeed,
  type DeploySteps,
  type System,
} from "./deploySystem";

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

/** One step of a deployment as the sidecar records it. */
export interface StepRecord {
  kind: "deploy" | "send";
  /** keccak256 of the creation data (code, linked libraries, constructor arguments), or of target + calldata. */
  fingerprint: string;
  hash: string;
  /** False between sending and the receipt: a run that stopped there left the transaction's fate open. */
  done: boolean;
  address?: string;
  block?: number;
  blockHash?: string;
}

/** <file>.partial.json: the steps of a deployment in progress, in the order they were sent. */
export interface PartialDeployment {
  chainId: number;
  admin: string;
  steps: Record<string, StepRecord>;
}

/** The sidecar next to a deployments file: deployments/localhost.json -> deployments/localhost.partial.json. */
export function partialPath(file: string): string {
  return file.replace(/\.json$/, "") + ".partial.json";
}

/**
 * The DeploySteps that make a deployment resumable. Each step is fingerprinted by its exact transaction
 * (so a changed config, or a contract it depends on that was redeployed, changes the fingerprint) and
 * recorded in the sidecar when sent and again when mined. A step is skipped when the sidecar has it with
 * the same fingerprint, mined in a block this chain still has (a restarted node has other blocks at those
 * heights, and may even reuse the same addresses), and, for a contract, with code at its address. A step
 * recorded as sent but not confirmed is adopted if its transaction was mined, waited for if it is pending,
 * and sent again only if the chain does not know it.
 */
export class ResumableSteps implements DeploySteps {
  /** The keys of the steps skipped (already done) and sent by this run, in order. */
  readonly reused: string[] = [];
  readonly sent: string[] = [];

  constructor(
    private readonly hre: HardhatRuntimeEnvironment,
    private readonly sidecar: string,
    private readonly state: PartialDeployment,
    /** Called before each step is sent; a throw stops the deployment there (tests inject failures). */
    private readonly beforeStep?: (key: string) => void | Promise<void>,
  ) {}

  async deploy(key: string, signer: Signer, tx: ContractDeployTransaction): Promise<string> {
    const fingerprint = this.hre.ethers.keccak256(tx.data);
    const done = await this.alreadyDone(key, "deploy", fingerprint);
    if (done?.address) return done.address;
    const receipt = await this.run(key, "deploy", fingerprint, signer, tx);
    if (!receipt.contractAddress) throw new Error(`${key}: the deployment created no contract`);
    return receipt.contractAddress;
  }

  async send(key: string, signer: Signer, tx: ContractTransaction): Promise<void> {
    const fingerprint = this.hre.ethers.keccak256(this.hre.ethers.concat([tx.to, tx.data]));
    if (await this.alreadyDone(key, "send", fingerprint)) return;
    await this.run(key, "send", fingerprint, signer, tx);
  }

  private async alreadyDone(
    key: string,
    kind: StepRecord["kind"],
    fingerprint: string,
  ): Promise<StepRecord | undefined> {
    const provider = this.hre.ethers.provider;
    const r = this.state.steps[key];
    if (!r || r.kind !== kind || r.fingerprint !== fingerprint) return undefined;
    if (!r.done) {
      let receipt = await provider.getTransactionReceipt(r.hash);
      if (!receipt && (await provider.getTransaction(r.hash)))
        receipt = await provider.waitForTransaction(r.hash);
      if (!receipt || receipt.status !== 1) return undefined;
      this.record(key, { ...r, ...mined(receipt) });
    }
    const step = this.state.steps[key];
    if (step.block === undefined || (await provider.getBlock(step.block))?.hash !== step.blockHash)
      return undefined;
    if (kind === "deploy" && (!step.address || (await provider.getCode(step.address)) === "0x"))
      return undefined;
    this.reused.push(key);
    return step;
  }

  private async run(
    key: string,
    kind: StepRecord["kind"],
    fingerprint: string,
    signer: Signer,
    tx: ContractDeployTransaction | ContractTransaction,
  ): Promise<TransactionReceipt> {
    await this.beforeStep?.(key);
    const response = await signer.sendTransaction(tx);
    this.record(key, { kind, fingerprint, hash: response.hash, done: false });
    const receipt = await response.wait();
    if (!receipt) throw new Error(`${key}: no receipt for ${response.hash}`);
    this.record(key, { kind, fingerprint, hash: response.hash, ...mined(receipt) });
    this.sent.push(key);
    return receipt;
  }

  private record(key: string, step: StepRecord) {
    // Re-inserted at the end, so the sidecar lists the steps in the order they last happened.
    delete this.state.steps[key];
    this.state.steps[key] = step;
    mkdirSync(path.dirname(this.sidecar), { recursive: true });
    writeFileSync(this.sidecar, JSON.stringify(this.state, null, 2) + "\n");
  }
}

function mined(receipt: TransactionReceipt): Pick<StepRecord, "done" | "address" | "block" | "blockHash"> {
  return {
    done: true,
    ...(receipt.contractAddress ? { address: receipt.contractAddress } : {}),
    block: receipt.blockNumber,
    blockHash: receipt.blockHash,
  };
}

export interface DeployResult {
  system: System;
  file: string;
  deployments: DeploymentsFile;
  /** True when an existing deployment was reused. */
  reused: boolean;
  /** Why the existing file was not reused (when it existed). */
  reason?: string;
  /** After a deployment: the steps it found already done (an interrupted run's) and the steps it sent. */
  steps?: { reused: string[]; sent: string[] };
  /** Why an interrupted run's sidecar was set aside (another chain or admin). */
  partialReason?: string;
}

export interface DeployOptions {
  file?: string;
  /** Deploy everything again, ignoring the deployments file and any interrupted run's sidecar. */
  fresh?: boolean;
  /** Called before each step is sent; a throw stops the deployment there (for tests of resuming). */
  beforeStep?: (key: string) => void | Promise<void>;
}

/**
 * Deploys `config` unless deployments/<network>.json (or `opts.file`) already describes the same config on
 * this chain with code at every address; writes the file after a deployment. A deployment that stopped
 * midway is resumed from its sidecar. `fresh` always deploys everything.
 */
export async function deployOrReuse(
  hre: HardhatRuntimeEnvironment,
  config: SystemConfig,
  opts: DeployOptions = {},
): Promise<DeployResult> {
  const file = opts.file ?? deploymentsPath(hre);
  const sidecar = partialPath(file);
  let reason: string | undefined;
  if (opts.fresh) rmSync(sidecar, { force: true });
  else if (existsSync(file)) {
    const existing = readDeployments(file);
    reason = await whyNotReusable(hre, existing, config);
    if (reason === undefined) {
      return { system: await attachSystem(hre, existing, config), file, deployments: existing, reused: true };
    }
  }

  const { ethers } = hre;
  const chainId = Number((await ethers.provider.getNetwork()).chainId);
  const admin = ethers.getAddress(config.admin ?? (await (await ethers.getSigners())[0].getAddress()));
  let state: PartialDeployment = { chainId, admin, steps: {} };
  let partialReason: string | undefined;
  if (existsSync(sidecar)) {
    const previous = JSON.parse(readFileSync(sidecar, "utf8")) as PartialDeployment;
    if (previous.chainId !== chainId)
      partialReason = `it is for chain ${previous.chainId}, this is chain ${chainId}`;
    else if (previous.admin !== admin)
      partialReason = `it was deployed by ${previous.admin}, the admin is ${admin}`;
    else state = previous;
  }

  const steps = new ResumableSteps(hre, sidecar, state, opts.beforeStep);
  let system: System;
  try {
    system = await deploySystem(hre, config, steps);
  } catch (e) {
    const done = Object.values(state.steps).filter((s) => s.done).length;
    throw new Error(
      `the deployment stopped: ${(e as Error).message?.split("\n")[0] ?? e}; ${done} steps done are recorded in ${sidecar}: run it again to resume`,
      { cause: e },
    );
  }
  const deployments = await toDeployments(hre, system);
  writeDeployments(file, deployments);
  rmSync(sidecar, { force: true });
  return {
    system,
    file,
    deployments,
    reused: false,
    reason,
    steps: { reused: steps.reused, sent: steps.sent },
    ...(partialReason ? { partialReason } : {}),
  };
}
