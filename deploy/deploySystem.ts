import type { ContractDeployTransaction, ContractTransaction, Signer } from "ethers";
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
 * How deploySystem sends each of its transactions, one named step at a time (`key` is unique within a
 * deployment). The default sends every step; deploy/deployments.ts passes one that records each step and,
 * re-run after an interruption, skips the steps already done.
 */
export interface DeploySteps {
  /** Sends a creation transaction (from a factory's getDeployTransaction); returns the new address. */
  deploy(key: string, signer: Signer, tx: ContractDeployTransaction): Promise<string>;
  /** Sends one wiring transaction (from a method's populateTransaction) and waits for it. */
  send(key: string, signer: Signer, tx: ContractTransaction): Promise<void>;
}

/** Sends every step, waiting for each. */
export const sendEveryStep: DeploySteps = {
  async deploy(key, signer, tx) {
    const receipt = await (await signer.sendTransaction(tx)).wait();
    if (!receipt?.contractAddress) throw new Error(`${key}: the deployment created no contract`);
    return receipt.contractAddress;
  },
  async send(_key, signer, tx) {
    await (await signer.sendTransaction(tx)).wait();
  },
};

/**
 * Deploys and wires Ballast from a typed config, on whatever network `hre` is connected to. Tests,
 * scripts and the simulator all deploy through this one function; deploy/deployments.ts adds the
 * deployments file, idempotent re-runs and resuming an interrupted deployment on top of it (npx hardhat
 * deploy), through `steps`.
 */
export async function deploySystem(
  hre: HardhatRuntimeEnvironment,
  config: SystemConfig,
  steps: DeploySteps = sendEveryStep,
): Promise<System> {
  const { ethers } = hre;
  const [first] = await ethers.getSigners();
  const admin = config.admin ? await ethers.getSigner(config.admin) : first;
  const adminAddress = await admin.getAddress();

  const routerTx = await (
    await ethers.getContractFactory("OracleRouter", admin)
  ).getDeployTransaction(adminAddress, config.suspectPolicy);
  const router = await ethers.getContractAt(
    "OracleRouter",
    await steps.deploy("OracleRouter", admin, routerTx),
    admin,
  );

  const assets: Record<string, DeployedAsset> = {};
  for (const asset of config.assets) {
    if (assets[asset.symbol]) throw new Error(`asset ${asset.symbol} is configured twice`);
    assets[asset.symbol] = await deployAsset(hre, admin, router, asset, steps);
  }

  let sequencer: System["sequencer"];
  if (config.sequencer) {
    if ("mock" in config.sequencer) {
      const tx = await (await ethers.getContractFactory("MockSequencerFeed", admin)).getDeployTransaction();
      const address = await steps.deploy("SequencerFeed", admin, tx);
      sequencer = { address, mock: await ethers.getContractAt("MockSequencerFeed", address, admin) };
    } else {
      sequencer = { address: config.sequencer.address };
    }
    const tx = await router.setSequencer.populateTransaction(sequencer.address, config.sequencer.gracePeriod);
    await steps.send("OracleRouter.setSequencer", admin, tx);
  }

  const base = await deployBase(hre, admin, config, steps);
  const fundTx = await (
    await ethers.getContractFactory("InsuranceFund", admin)
  ).getDeployTransaction(
    adminAddress,
    base.address,
    config.insurance.cooldown,
    config.insurance.unstakeWindow,
  );
  const insuranceFund = await ethers.getContractAt(
    "InsuranceFund",
    await steps.deploy("InsuranceFund", admin, fundTx),
    admin,
  );

  const deps = { router, base, insuranceFund, assets, steps };
  const lending = config.lending ? await deployLending(hre, admin, config, config.lending, deps) : undefined;
  const perps = config.perps ? await deployPerps(hre, admin, config, config.perps, deps) : undefined;

  return { admin, router, sequencer, assets, base, insuranceFund, lending, perps, config };
}

async function deployBase(
  hre: HardhatRuntimeEnvironment,
  admin: Signer,
  config: SystemConfig,
  steps: DeploySteps,
): Promise<DeployedBase> {
  const { ethers } = hre;
  if ("mock" in config.base) {
    const tx = await (
      await ethers.getContractFactory("MockERC20", admin)
    ).getDeployTransaction(config.base.symbol, config.base.symbol, config.base.decimals);
    const address = await steps.deploy(`base ${config.base.symbol}`, admin, tx);
    const token = await ethers.getContractAt("MockERC20", address, admin);
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
    steps: DeploySteps;
  },
): Promise<DeployedLending> {
  const { ethers } = hre;
  const { steps } = deps;
  const adminAddress = await admin.getAddress();
  const { rate, params } = lending;
  const rateModelTx = await (
    await ethers.getContractFactory("KinkedRateModel", admin)
  ).getDeployTransaction(
    adminAddress,
    wad(rate.baseRate),
    wad(rate.slope1),
    wad(rate.slope2),
    wad(rate.kink),
  );
  const rateModel = await ethers.getContractAt(
    "KinkedRateModel",
    await steps.deploy("KinkedRateModel", admin, rateModelTx),
    admin,
  );

  const baseUnits = (v: number | string) => toUnits(v, deps.base.decimals);
  const marketTx = await (
    await ethers.getContractFactory("LendingMarket", admin)
  ).getDeployTransaction(
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
  const market = await ethers.getContractAt(
    "LendingMarket",
    await steps.deploy("LendingMarket", admin, marketTx),
    admin,
  );
  const marketAddress = await market.getAddress();
  const fundTx = await deps.insuranceFund.setMarket.populateTransaction(marketAddress, true);
  await steps.send("InsuranceFund.setMarket(LendingMarket)", admin, fundTx);
  if (config.pauseGuardian) {
    const role = await market.PAUSE_GUARDIAN_ROLE();
    const tx = await market.grantRole.populateTransaction(role, config.pauseGuardian);
    await steps.send("LendingMarket.grantRole(PAUSE_GUARDIAN)", admin, tx);
  }

  for (const collateral of lending.collaterals) {
    const asset = deps.assets[collateral.symbol];
    if (!asset) throw new Error(`collateral ${collateral.symbol} is not among the configured assets`);
    const probe = collateral.probeAmount ?? 10n ** BigInt(Math.max(asset.decimals - 2, 4));
    const erc20 = await ethers.getContractAt("IERC20Metadata", asset.address, admin);
    const key = `LendingMarket.listCollateral(${collateral.symbol})`;
    if (asset.token && (await erc20.balanceOf(adminAddress)) < probe) {
      await steps.send(`${key} mint`, admin, await asset.token.mint.populateTransaction(adminAddress, probe));
    }
    await steps.send(`${key} approve`, admin, await erc20.approve.populateTransaction(marketAddress, probe));
    const listTx = await market.listCollateral.populateTransaction(
      asset.address,
      {
        ltv: wad(collateral.ltv),
        liquidationThreshold: wad(collateral.liquidationThreshold),
        liquidationBonus: wad(collateral.liquidationBonus),
        supplyCap: toUnits(collateral.supplyCap, asset.decimals),
      },
      probe,
    );
    await steps.send(key, admin, listTx);
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
    steps: DeploySteps;
  },
): Promise<DeployedPerps> {
  const { ethers } = hre;
  const { steps } = deps;
  const adminAddress = await admin.getAddress();
  const libraryTx = await (await ethers.getContractFactory("PerpParams", admin)).getDeployTransaction();
  const libraryAddress = await steps.deploy("PerpParams", admin, libraryTx);
  const factory = await ethers.getContractFactory("PerpMarket", {
    signer: admin,
    libraries: { PerpParams: libraryAddress },
  });
  const g = perps.global;
  const marketTx = await factory.getDeployTransaction(
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
  );
  const market: PerpMarket = await ethers.getContractAt(
    "PerpMarket",
    await steps.deploy("PerpMarket", admin, marketTx),
    admin,
  );
  const marketAddress = await market.getAddress();
  const vaultTx = await (
    await ethers.getContractFactory("LiquidityVault", admin)
  ).getDeployTransaction(
    deps.base.address,
    marketAddress,
    await deps.insuranceFund.getAddress(),
    perps.vault.name,
    perps.vault.symbol,
  );
  const vault = await ethers.getContractAt(
    "LiquidityVault",
    await steps.deploy("LiquidityVault", admin, vaultTx),
    admin,
  );
  await steps.send(
    "PerpMarket.setVault",
    admin,
    await market.setVault.populateTransaction(await vault.getAddress()),
  );
  const fundTx = await deps.insuranceFund.setMarket.populateTransaction(marketAddress, true);
  await steps.send("InsuranceFund.setMarket(PerpMarket)", admin, fundTx);
  if (config.pauseGuardian) {
    const role = await market.PAUSE_GUARDIAN_ROLE();
    const tx = await market.grantRole.populateTransaction(role, config.pauseGuardian);
    await steps.send("PerpMarket.grantRole(PAUSE_GUARDIAN)", admin, tx);
  }

  const marketIds: Record<string, number> = {};
  for (const m of perps.markets) {
    const asset = deps.assets[m.symbol];
    if (!asset) throw new Error(`perp market ${m.symbol} is not among the configured assets`);
    if (m.symbol in marketIds) throw new Error(`perp market ${m.symbol} is configured twice`);
    // The market is new and lists in config order, so ids are positions; read from the config rather than
    // from marketCount(), which a resumed deployment has already advanced past the markets listed before.
    marketIds[m.symbol] = Object.keys(marketIds).length;
    const tx = await market.listMarket.populateTransaction(asset.address, perpMarketParams(m));
    await steps.send(`PerpMarket.listMarket(${m.symbol})`, admin, tx);
  }
  return { market, vault, marketIds, paramsLibrary: libraryAddress };
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
  steps: DeploySteps,
): Promise<DeployedAsset> {
  const { ethers } = hre;
  let token: MockERC20 | undefined;
  let address: string;
  let decimals: number;
  if ("mock" in asset.token) {
    const name = asset.token.name ?? asset.symbol;
    const tx = await (
      await ethers.getContractFactory("MockERC20", admin)
    ).getDeployTransaction(name, asset.symbol, asset.token.decimals);
    address = await steps.deploy(asset.symbol, admin, tx);
    token = await ethers.getContractAt("MockERC20", address, admin);
    decimals = asset.token.decimals;
  } else {
    address = asset.token.address;
    const erc20 = await ethers.getContractAt("IERC20Metadata", address);
    decimals = Number(await erc20.decimals());
  }

  const primaryFeed = await deployFeed(hre, admin, asset, asset.primaryFeed, "primary", steps);
  const fallbackFeed = asset.fallbackFeed
    ? await deployFeed(hre, admin, asset, asset.fallbackFeed, "fallback", steps)
    : undefined;

  const configTx = await router.setAssetConfig.populateTransaction(address, {
    primaryFeed: primaryFeed.address,
    primaryHeartbeat: asset.primaryFeed.heartbeat,
    fallbackFeed: fallbackFeed?.address ?? ethers.ZeroAddress,
    fallbackHeartbeat: asset.fallbackFeed?.heartbeat ?? 0,
    confirmWindow: asset.confirmWindow,
    minPrice: wad(asset.minPrice),
    maxPrice: wad(asset.maxPrice),
    maxDeviation: wad(asset.maxDeviation),
    maxDivergence: wad(asset.maxDivergence),
  });
  await steps.send(`OracleRouter.setAssetConfig(${asset.symbol})`, admin, configTx);

  return { symbol: asset.symbol, address, decimals, token, primaryFeed, fallbackFeed };
}

async function deployFeed(
  hre: HardhatRuntimeEnvironment,
  admin: Signer,
  asset: AssetConfig,
  feed: FeedConfig,
  role: string,
  steps: DeploySteps,
): Promise<DeployedFeed> {
  const { ethers } = hre;
  if (!("mock" in feed)) {
    const aggregator = await ethers.getContractAt("AggregatorV3Interface", feed.address);
    return { address: feed.address, decimals: Number(await aggregator.decimals()) };
  }
  const answer = toUnits(feed.price ?? asset.price, feed.decimals);
  const tx = await (
    await ethers.getContractFactory("MockAggregator", admin)
  ).getDeployTransaction(feed.decimals, answer, `${asset.symbol} / USD (${role})`);
  const address = await steps.deploy(`${asset.symbol} ${role} feed`, admin, tx);
  return {
    address,
    decimals: feed.decimals,
    mock: await ethers.getContractAt("MockAggregator", address, admin),
  };
}
