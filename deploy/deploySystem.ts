import type { Signer } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

import type {
  IERC20Metadata,
  InsuranceFund,
  KinkedRateModel,
  LendingMarket,
  LiquidityVault,
  MockAggregator,
  MockERC20,
  MockSequencerFeed,
  OracleRouter,
  PerpMarket,
} from "../typechain-types";
import type { AssetConfig, FeedConfig, LendingConfig, PerpsConfig, SystemConfig } from "./config";
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

export interface DeployedBase {
  symbol: string;
  address: string;
  decimals: number;
  /** The token as an ERC20 (for approvals and balances). */
  erc20: IERC20Metadata;
  /** Present when deploySystem deployed a mock (mintable). */
  token?: MockERC20;
}

export interface DeployedLending {
  market: LendingMarket;
  rateModel: KinkedRateModel;
}

export interface DeployedPerps {
  market: PerpMarket;
  vault: LiquidityVault;
  /** Market ids by asset symbol. */
  marketIds: Record<string, number>;
  /** The linked PerpParams library's address. */
  paramsLibrary: string;
}

export interface System {
  admin: Signer;
  router: OracleRouter;
  sequencer?: { address: string; mock?: MockSequencerFeed };
  assets: Record<string, DeployedAsset>;
  base: DeployedBase;
  insuranceFund: InsuranceFund;
  lending?: DeployedLending;
  perps?: DeployedPerps;
  config: SystemConfig;
}

/**
 * Deploys and wires Ballast from a typed config, on whatever network `hre` is connected to. Tests,
 * scripts and the simulator all deploy through this one function; deploy/deployments.ts adds the
 * deployments file and idempotent re-runs on top of it (npx hardhat deploy).
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

  const base = await deployBase(hre, admin, config);
  const insuranceFund = await (
    await ethers.getContractFactory("InsuranceFund", admin)
  ).deploy(adminAddress, base.address, config.insurance.cooldown, config.insurance.unstakeWindow);
  await insuranceFund.waitForDeployment();

  const lending = config.lending
    ? await deployLending(hre, admin, config, config.lending, { router, base, insuranceFund, assets })
    : undefined;

  const perps = config.perps
    ? await deployPerps(hre, admin, config, config.perps, { router, base, insuranceFund, assets })
    : undefined;

  return { admin, router, sequencer, assets, base, insuranceFund, lending, perps, config };
}

async function deployBase(
  hre: HardhatRuntimeEnvironment,
  admin: Signer,
  config: SystemConfig,
): Promise<DeployedBase> {
  const { ethers } = hre;
  if ("mock" in config.base) {
    const token = await (
      await ethers.getContractFactory("MockERC20", admin)
    ).deploy(config.base.symbol, config.base.symbol, config.base.decimals);
    await token.waitForDeployment();
    const address = await token.getAddress();
    const erc20 = await ethers.getContractAt("IERC20Metadata", address);
    return { symbol: config.base.symbol, address, decimals: config.base.decimals, erc20, token };
  }
  const erc20 = await ethers.getContractAt("IERC20Metadata", config.base.address);
  return {
    symbol: await erc20.symbol(),
    address: config.base.address,
    decimals: Number(await erc20.decimals()),
    erc20,
  };
}

async function deployLending(
  hre: HardhatRuntimeEnvironment,
  admin: Signer,
  config: SystemConfig,
  lending: LendingConfig,
  deps: {
    router: OracleRouter;
    base: DeployedBase;
    insuranceFund: InsuranceFund;
    assets: Record<string, DeployedAsset>;
  },
): Promise<DeployedLending> {
  const { ethers } = hre;
  const adminAddress = await admin.getAddress();
  const { rate, params } = lending;
  const rateModel = await (
    await ethers.getContractFactory("KinkedRateModel", admin)
  ).deploy(adminAddress, wad(rate.baseRate), wad(rate.slope1), wad(rate.slope2), wad(rate.kink));
  await rateModel.waitForDeployment();

  const baseUnits = (v: number | string) => toUnits(v, deps.base.decimals);
  const market = await (
    await ethers.getContractFactory("LendingMarket", admin)
  ).deploy(
    adminAddress,
    deps.base.address,
    await deps.router.getAddress(),
    await deps.insuranceFund.getAddress(),
    await rateModel.getAddress(),
    lending.negativeBalancePolicy,
    {
      borrowCap: baseUnits(params.borrowCap),
      minBorrow: baseUnits(params.minBorrow),
      reserveFactor: wad(params.reserveFactor),
      protocolShare: wad(params.protocolShare),
      smallPosition: baseUnits(params.smallPosition),
      marginCallHealth: wad(params.marginCallHealth),
    },
  );
  await market.waitForDeployment();
  const marketAddress = await market.getAddress();
  await (await deps.insuranceFund.setMarket(marketAddress, true)).wait();
  if (config.pauseGuardian) {
    await (await market.grantRole(await market.PAUSE_GUARDIAN_ROLE(), config.pauseGuardian)).wait();
  }

  for (const collateral of lending.collaterals) {
    const asset = deps.assets[collateral.symbol];
    if (!asset) throw new Error(`collateral ${collateral.symbol} is not among the configured assets`);
    const probe = collateral.probeAmount ?? 10n ** BigInt(Math.max(asset.decimals - 2, 4));
    const erc20 = await ethers.getContractAt("IERC20Metadata", asset.address, admin);
    if (asset.token && (await erc20.balanceOf(adminAddress)) < probe) {
      await (await asset.token.mint(adminAddress, probe)).wait();
    }
    await (await erc20.approve(marketAddress, probe)).wait();
    await (
      await market.listCollateral(
        asset.address,
        {
          ltv: wad(collateral.ltv),
          liquidationThreshold: wad(collateral.liquidationThreshold),
          liquidationBonus: wad(collateral.liquidationBonus),
          supplyCap: toUnits(collateral.supplyCap, asset.decimals),
        },
        probe,
      )
    ).wait();
  }
  return { market, rateModel };
}

/** Seconds in a day: funding rates are configured per day and stored per second. */
const DAY = 86_400n;

async function deployPerps(
  hre: HardhatRuntimeEnvironment,
  admin: Signer,
  config: SystemConfig,
  perps: PerpsConfig,
  deps: {
    router: OracleRouter;
    base: DeployedBase;
    insuranceFund: InsuranceFund;
    assets: Record<string, DeployedAsset>;
  },
): Promise<DeployedPerps> {
  const { ethers } = hre;
  const adminAddress = await admin.getAddress();
  const library = await (await ethers.getContractFactory("PerpParams", admin)).deploy();
  await library.waitForDeployment();
  const factory = await ethers.getContractFactory("PerpMarket", {
    signer: admin,
    libraries: { PerpParams: await library.getAddress() },
  });
  const g = perps.global;
  const market = (await factory.deploy(
    adminAddress,
    deps.base.address,
    await deps.router.getAddress(),
    await deps.insuranceFund.getAddress(),
    perps.negativeBalancePolicy,
    {
      insuranceFeeShare: wad(g.insuranceFeeShare),
      keeperLiquidationShare: wad(g.keeperLiquidationShare),
      lpReserveFactor: wad(g.lpReserveFactor),
      orderKeeperFee: toUnits(g.orderKeeperFee, deps.base.decimals),
    },
  )) as unknown as PerpMarket;
  await market.waitForDeployment();
  const marketAddress = await market.getAddress();
  const vault = await (
    await ethers.getContractFactory("LiquidityVault", admin)
  ).deploy(
    deps.base.address,
    marketAddress,
    await deps.insuranceFund.getAddress(),
    perps.vault.name,
    perps.vault.symbol,
  );
  await vault.waitForDeployment();
  await (await market.setVault(await vault.getAddress())).wait();
  await (await deps.insuranceFund.setMarket(marketAddress, true)).wait();
  if (config.pauseGuardian) {
    await (await market.grantRole(await market.PAUSE_GUARDIAN_ROLE(), config.pauseGuardian)).wait();
  }

  const marketIds: Record<string, number> = {};
  for (const m of perps.markets) {
    const asset = deps.assets[m.symbol];
    if (!asset) throw new Error(`perp market ${m.symbol} is not among the configured assets`);
    if (m.symbol in marketIds) throw new Error(`perp market ${m.symbol} is configured twice`);
    marketIds[m.symbol] = Number(await market.marketCount());
    await (await market.listMarket(asset.address, perpMarketParams(m))).wait();
  }
  return { market, vault, marketIds, paramsLibrary: await library.getAddress() };
}

/** A PerpMarketConfig as the contract's MarketParams (WAD fractions, underlying WAD sizes). */
export function perpMarketParams(m: PerpsConfig["markets"][number]) {
  return {
    initialMargin: wad(m.initialMargin),
    maintenanceMargin: wad(m.maintenanceMargin),
    tradingFee: wad(m.tradingFee),
    liquidationFee: wad(m.liquidationFee),
    marginScale: wad(m.marginScale),
    skewScale: wad(m.skewScale),
    maxLongOI: wad(m.maxLongOI),
    maxShortOI: wad(m.maxShortOI),
    maxFundingRate: wad(m.maxFundingRatePerDay) / DAY,
    adlPnlFactor: wad(m.adlPnlFactor),
  };
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
