import type { Signer } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

import type { MockAggregator, MockERC20, MockSequencerFeed, OracleRouter } from "../typechain-types";
import type { AssetConfig, FeedConfig, SystemConfig } from "./config";
import { toUnits, wad } from "./units";

/** A feed as deployed: its address, and the mock's handle when `deploySystem` deployed one. */
export interface DeployedFeed {
  address: string;
  decimals: number;
  mock?: MockAggregator;
}

export interface DeployedAsset {
  symbol: string;
  address: string;
  decimals: number;
  token?: MockERC20;
  primaryFeed: DeployedFeed;
  fallbackFeed?: DeployedFeed;
}

export interface System {
  admin: Signer;
  router: OracleRouter;
  sequencer?: { address: string; mock?: MockSequencerFeed };
  assets: Record<string, DeployedAsset>;
  config: SystemConfig;
}

/**
 * Deploys and wires Ballast from a typed config, on whatever network `hre` is connected to. Tests,
 * scripts and (later) the simulator all deploy through this one function.
 */
export async function deploySystem(hre: HardhatRuntimeEnvironment, config: SystemConfig): Promise<System> {
  const { ethers } = hre;
  const [first] = await ethers.getSigners();
  const admin = config.admin ? await ethers.getSigner(config.admin) : first;
  const adminAddress = await admin.getAddress();

  const router = await (
    await ethers.getContractFactory("OracleRouter", admin)
  ).deploy(adminAddress, config.suspectPolicy);
  await router.waitForDeployment();

  const assets: Record<string, DeployedAsset> = {};
  for (const asset of config.assets) {
    if (assets[asset.symbol]) throw new Error(`asset ${asset.symbol} is configured twice`);
    assets[asset.symbol] = await deployAsset(hre, admin, router, asset);
  }

  let sequencer: System["sequencer"];
  if (config.sequencer) {
    if ("mock" in config.sequencer) {
      const mock = await (await ethers.getContractFactory("MockSequencerFeed", admin)).deploy();
      await mock.waitForDeployment();
      sequencer = { address: await mock.getAddress(), mock };
    } else {
      sequencer = { address: config.sequencer.address };
    }
    await (await router.setSequencer(sequencer.address, config.sequencer.gracePeriod)).wait();
  }

  return { admin, router, sequencer, assets, config };
}

async function deployAsset(
  hre: HardhatRuntimeEnvironment,
  admin: Signer,
  router: OracleRouter,
  asset: AssetConfig,
): Promise<DeployedAsset> {
  const { ethers } = hre;
  let token: MockERC20 | undefined;
  let address: string;
  let decimals: number;
  if ("mock" in asset.token) {
    const name = asset.token.name ?? asset.symbol;
    token = await (
      await ethers.getContractFactory("MockERC20", admin)
    ).deploy(name, asset.symbol, asset.token.decimals);
    await token.waitForDeployment();
    address = await token.getAddress();
    decimals = asset.token.decimals;
  } else {
    address = asset.token.address;
    const erc20 = await ethers.getContractAt("IERC20Metadata", address);
    decimals = Number(await erc20.decimals());
  }

  const primaryFeed = await deployFeed(hre, admin, asset, asset.primaryFeed, "primary");
  const fallbackFeed = asset.fallbackFeed
    ? await deployFeed(hre, admin, asset, asset.fallbackFeed, "fallback")
    : undefined;

  await (
    await router.setAssetConfig(address, {
      primaryFeed: primaryFeed.address,
      primaryHeartbeat: asset.primaryFeed.heartbeat,
      fallbackFeed: fallbackFeed?.address ?? ethers.ZeroAddress,
      fallbackHeartbeat: asset.fallbackFeed?.heartbeat ?? 0,
      confirmWindow: asset.confirmWindow,
      minPrice: wad(asset.minPrice),
      maxPrice: wad(asset.maxPrice),
      maxDeviation: wad(asset.maxDeviation),
      maxDivergence: wad(asset.maxDivergence),
    })
  ).wait();

  return { symbol: asset.symbol, address, decimals, token, primaryFeed, fallbackFeed };
}

async function deployFeed(
  hre: HardhatRuntimeEnvironment,
  admin: Signer,
  asset: AssetConfig,
  feed: FeedConfig,
  role: string,
): Promise<DeployedFeed> {
  const { ethers } = hre;
  if (!("mock" in feed)) {
    const aggregator = await ethers.getContractAt("AggregatorV3Interface", feed.address);
    return { address: feed.address, decimals: Number(await aggregator.decimals()) };
  }
  const answer = toUnits(feed.price ?? asset.price, feed.decimals);
  const mock = await (
    await ethers.getContractFactory("MockAggregator", admin)
  ).deploy(feed.decimals, answer, `${asset.symbol} / USD (${role})`);
  await mock.waitForDeployment();
  return { address: await mock.getAddress(), decimals: feed.decimals, mock };
}
