/**
 * The system a scenario runs on: a SystemConfig built from the scenario's assets and params (every asset a
 * lending collateral and a perps market, USDC-like base with 6 decimals, mock tokens and feeds), deployed
 * through deploy/deploySystem.ts like every other tool. docs/simulator.md lists the defaults used here.
 */
import type { HardhatRuntimeEnvironment } from "hardhat/types";

import type { CollateralConfig, PerpMarketConfig, SystemConfig } from "../../deploy/config";
import { localConfig, localPerpsConfig } from "../../deploy/config";
import { deploySystem, type System } from "../../deploy/deploySystem";
import { NegativeBalancePolicy, SuspectPolicy } from "../../deploy/enums";
import type { Asset, Scenario } from "../scenario";

/** Decimals of the base asset (USD); every amount of the scenario is in it. */
export const BASE_DECIMALS = 6;
/** Decimals of every mock feed. */
export const FEED_DECIMALS = 8;

/** Lending defaults for a collateral the scenario does not configure. */
const LENDING_DEFAULTS = { liquidationThreshold: 0.85, liquidationBonus: 0.05 };
/** The oracle's defaults per asset (not part of the scenario format yet). */
export const ORACLE_DEFAULTS = { maxDeviation: 0.2, maxDivergence: 0.02, confirmWindow: 600 };

/** A round number, so that a config built twice from the same scenario is identical. */
const fix = (x: number, digits = 12) => Number(x.toPrecision(digits));

/** The lending parameters of `asset`: the scenario's, else the defaults; ltv just under the threshold. */
export function collateralOf(s: Scenario, asset: Asset): CollateralConfig {
  const p = s.params.lending[asset.symbol] ?? {};
  const liquidationThreshold = p.liquidationThreshold ?? LENDING_DEFAULTS.liquidationThreshold;
  return {
    symbol: asset.symbol,
    ltv: p.ltv ?? fix(liquidationThreshold - 0.005),
    liquidationThreshold,
    liquidationBonus: p.liquidationBonus ?? LENDING_DEFAULTS.liquidationBonus,
    // Whole tokens: room for a billion USD of the asset at its starting price.
    supplyCap: p.supplyCap ?? Math.ceil(1e9 / asset.price),
  };
}

/** The perps parameters of `asset`: the scenario's, else localPerpsConfig's WETH market scaled by price. */
export function perpMarketOf(s: Scenario, asset: Asset): PerpMarketConfig {
  const p = s.params.perps[asset.symbol] ?? {};
  const d = localPerpsConfig().markets[0];
  const units = (usd: number) => fix(usd / asset.price, 10);
  const initialMargin = fix(1 / (p.maxLeverage ?? 1 / d.initialMargin));
  return {
    symbol: asset.symbol,
    initialMargin,
    maintenanceMargin: p.maintenanceMargin ?? Math.min(d.maintenanceMargin, fix(initialMargin / 2)),
    tradingFee: p.tradingFee ?? d.tradingFee,
    liquidationFee: p.liquidationFee ?? Math.min(d.liquidationFee, fix(initialMargin / 4)),
    marginScale: p.marginScale ?? units(300_000_000),
    skewScale: p.skewScale ?? units(3_000_000_000),
    maxLongOI: p.maxLongOI ?? units(1_000_000_000),
    maxShortOI: p.maxShortOI ?? units(1_000_000_000),
    maxFundingRatePerDay: p.maxFundingRatePerDay ?? d.maxFundingRatePerDay,
    adlPnlFactor: p.adlPnlFactor ?? d.adlPnlFactor,
  };
}

/** The SystemConfig of a scenario. */
export function systemConfigOf(s: Scenario): SystemConfig {
  const policy =
    s.negativeBalancePolicy === "recourse" ? NegativeBalancePolicy.RECOURSE : NegativeBalancePolicy.PROTECTED;
  const local = localConfig();
  const sequencerFaults = s.oracle.filter((f) => f.fault === "sequencerDown");
  const grace = Math.max(0, ...sequencerFaults.map((f) => ("grace" in f ? f.grace : 0)));
  return {
    suspectPolicy: SuspectPolicy.WAIT_FOR_CONFIRMATION,
    ...(sequencerFaults.length > 0 ? { sequencer: { mock: true as const, gracePeriod: grace } } : {}),
    assets: s.assets.map((a) => ({
      symbol: a.symbol,
      token: { mock: true as const, decimals: a.decimals },
      price: a.price,
      primaryFeed: { mock: true as const, decimals: FEED_DECIMALS, heartbeat: a.heartbeat },
      ...(a.fallback
        ? { fallbackFeed: { mock: true as const, decimals: FEED_DECIMALS, heartbeat: a.heartbeat } }
        : {}),
      minPrice: fix(a.price / 1e6),
      // The router's ceiling is 1e10 USD (MAX_PRICE 1e28 WAD): a price above 10,000 x 1e6 would exceed it.
      maxPrice: fix(Math.min(a.price * 1e6, 1e10)),
      ...ORACLE_DEFAULTS,
    })),
    base: { mock: true, symbol: "USD", decimals: BASE_DECIMALS },
    insurance: local.insurance,
    lending: {
      ...local.lending!,
      negativeBalancePolicy: policy,
      params: { ...local.lending!.params, borrowCap: 1e12, minBorrow: 1 },
      collaterals: s.assets.map((a) => collateralOf(s, a)),
    },
    perps: localPerpsConfig({
      negativeBalancePolicy: policy,
      markets: s.assets.map((a) => perpMarketOf(s, a)),
    }),
  };
}

/** Deploys the scenario's system on the network `hre` is connected to. */
export async function buildSystem(hre: HardhatRuntimeEnvironment, s: Scenario): Promise<System> {
  const sys = await deploySystem(hre, systemConfigOf(s));
  const sequencer = sys.sequencer?.mock;
  if (sequencer) {
    // A fresh mock reports "just back up", which would put the whole setup inside the grace period: make
    // it up since long before (the scenario's outages come from its oracle plan).
    const now = (await hre.ethers.provider.getBlock("latest"))!.timestamp;
    const { gracePeriod } = systemConfigOf(s).sequencer!;
    await (await sequencer.setStatus(0, now - gracePeriod - 1)).wait();
  }
  return sys;
}
