import { NegativeBalancePolicy, SuspectPolicy } from "./enums";

export { NegativeBalancePolicy, SuspectPolicy };

/**
 * The typed configuration that `deploySystem` deploys from. Prices are given as decimal strings or
 * numbers in USD and fractions as decimals (0.2 = 20%); `deploySystem` converts them to WAD.
 */

/** A feed: an existing address, or a MockAggregator to deploy (local networks and tests). */
export type FeedConfig =
  | { address: string; heartbeat: number }
  | { mock: true; decimals: number; heartbeat: number; price?: number | string };

export interface AssetConfig {
  symbol: string;
  /** An existing token, or a MockERC20 with these decimals to deploy. */
  token: { address: string } | { mock: true; decimals: number; name?: string };
  /** USD price that mock feeds start at. */
  price: number | string;
  primaryFeed: FeedConfig;
  fallbackFeed?: FeedConfig;
  /** Bounds outside which a price is INVALID, in USD. */
  minPrice: number | string;
  maxPrice: number | string;
  /** Largest accepted move from the last good price, e.g. 0.2 for 20%. */
  maxDeviation: number;
  /** Largest accepted gap between the two feeds, e.g. 0.02 for 2%. */
  maxDivergence: number;
  /** Seconds a jumped price must persist to be confirmed without the fallback. */
  confirmWindow: number;
}

/** A collateral of the lending market: one of `assets`, with its risk parameters (fractions as decimals). */
export interface CollateralConfig {
  symbol: string;
  ltv: number;
  liquidationThreshold: number;
  liquidationBonus: number;
  /** Largest total deposit, in whole tokens. */
  supplyCap: number | string;
  /** Units sent and returned at listing to detect a fee on transfer (default 10^max(decimals - 2, 4)). */
  probeAmount?: bigint;
}

export interface LendingConfig {
  negativeBalancePolicy: NegativeBalancePolicy;
  /** Kinked curve, per year, as decimals (0.04 = 4%); kink as a utilisation. */
  rate: { baseRate: number; slope1: number; slope2: number; kink: number };
  /** Base-asset amounts in whole tokens; fractions as decimals; marginCallHealth as a health (1.1). */
  params: {
    borrowCap: number | string;
    minBorrow: number | string;
    reserveFactor: number;
    protocolShare: number;
    smallPosition: number | string;
    marginCallHealth: number;
  };
  collaterals: CollateralConfig[];
}

/** A perp market on one of `assets`. Fractions as decimals; sizes in whole units of the underlying. */
export interface PerpMarketConfig {
  symbol: string;
  /** 1 / max leverage at size zero, e.g. 0.05 for 20x. */
  initialMargin: number;
  maintenanceMargin: number;
  tradingFee: number;
  liquidationFee: number;
  /** Size at which margin fractions double. */
  marginScale: number | string;
  /** Skew at which the price premium would reach 100% and funding its maximum. */
  skewScale: number | string;
  maxLongOI: number | string;
  maxShortOI: number | string;
  /** Funding rate at full skew, a fraction of the price per day (0.01 = 1% a day). */
  maxFundingRatePerDay: number;
  /** ADL may run when a side's unrealised profit exceeds this share of the pool's capital. */
  adlPnlFactor: number;
}

export interface PerpsConfig {
  negativeBalancePolicy: NegativeBalancePolicy;
  global: {
    insuranceFeeShare: number;
    keeperLiquidationShare: number;
    lpReserveFactor: number;
    /** Whole base tokens paid to the keeper of a triggered order. */
    orderKeeperFee: number | string;
  };
  vault: { name: string; symbol: string };
  markets: PerpMarketConfig[];
}

export interface SystemConfig {
  /** Admin of every contract; the first signer when omitted. */
  admin?: string;
  /** Pause guardian of the markets (may pause at once; only the admin unpauses). */
  pauseGuardian?: string;
  suspectPolicy: SuspectPolicy;
  /** L2 sequencer uptime feed: an address, or a mock to deploy. Omit on L1. */
  sequencer?: { address: string; gracePeriod: number } | { mock: true; gracePeriod: number };
  assets: AssetConfig[];
  /** The base asset: what is lent, posted as margin, and what every loss is settled in. */
  base: { address: string } | { mock: true; symbol: string; decimals: number };
  insurance: { cooldown: number; unstakeWindow: number };
  lending?: LendingConfig;
  perps?: PerpsConfig;
}

/**
 * A local configuration with realistic feeds: WETH (18 decimals, primary + fallback feeds), WBTC (8
 * decimals) and EURC (6 decimals), each a lending collateral; USDC (6 decimals) is the base asset.
 */
export function localConfig(overrides: Partial<SystemConfig> = {}): SystemConfig {
  return {
    suspectPolicy: SuspectPolicy.WAIT_FOR_CONFIRMATION,
    assets: [
      {
        symbol: "WETH",
        token: { mock: true, decimals: 18, name: "Wrapped Ether" },
        price: 3000,
        primaryFeed: { mock: true, decimals: 8, heartbeat: 3600 },
        fallbackFeed: { mock: true, decimals: 18, heartbeat: 86400 },
        minPrice: 1,
        maxPrice: 1_000_000,
        maxDeviation: 0.2,
        maxDivergence: 0.02,
        confirmWindow: 600,
      },
      {
        symbol: "WBTC",
        token: { mock: true, decimals: 8, name: "Wrapped Bitcoin" },
        price: 60000,
        primaryFeed: { mock: true, decimals: 8, heartbeat: 3600 },
        minPrice: 10,
        maxPrice: 10_000_000,
        maxDeviation: 0.2,
        maxDivergence: 0.02,
        confirmWindow: 600,
      },
      {
        symbol: "EURC",
        token: { mock: true, decimals: 6, name: "Euro Coin" },
        price: "1.08",
        primaryFeed: { mock: true, decimals: 8, heartbeat: 86400 },
        minPrice: "0.01",
        maxPrice: 100,
        maxDeviation: 0.1,
        maxDivergence: 0.01,
        confirmWindow: 600,
      },
    ],
    base: { mock: true, symbol: "USDC", decimals: 6 },
    insurance: { cooldown: 7 * 86400, unstakeWindow: 2 * 86400 },
    lending: {
      negativeBalancePolicy: NegativeBalancePolicy.PROTECTED,
      rate: { baseRate: 0, slope1: 0.04, slope2: 0.75, kink: 0.8 },
      params: {
        borrowCap: 100_000_000,
        minBorrow: 100,
        reserveFactor: 0.1,
        protocolShare: 0.1,
        smallPosition: 1000,
        marginCallHealth: 1.1,
      },
      collaterals: [
        { symbol: "WETH", ltv: 0.8, liquidationThreshold: 0.85, liquidationBonus: 0.05, supplyCap: 100_000 },
        { symbol: "WBTC", ltv: 0.75, liquidationThreshold: 0.8, liquidationBonus: 0.06, supplyCap: 5_000 },
        {
          symbol: "EURC",
          ltv: 0.85,
          liquidationThreshold: 0.9,
          liquidationBonus: 0.04,
          supplyCap: 50_000_000,
        },
      ],
    },
    perps: localPerpsConfig(),
    ...overrides,
  };
}

/** Perps on WETH (20x) and WBTC (10x), the vault as counterparty; PROTECTED. */
export function localPerpsConfig(overrides: Partial<PerpsConfig> = {}): PerpsConfig {
  return {
    negativeBalancePolicy: NegativeBalancePolicy.PROTECTED,
    global: { insuranceFeeShare: 0.2, keeperLiquidationShare: 0.5, lpReserveFactor: 0.1, orderKeeperFee: 1 },
    vault: { name: "Ballast LP", symbol: "bLP" },
    markets: [
      {
        symbol: "WETH",
        initialMargin: 0.05,
        maintenanceMargin: 0.025,
        tradingFee: 0.0005,
        liquidationFee: 0.01,
        marginScale: 100_000,
        skewScale: 1_000_000,
        maxLongOI: 50_000,
        maxShortOI: 50_000,
        maxFundingRatePerDay: 0.01,
        adlPnlFactor: 0.5,
      },
      {
        symbol: "WBTC",
        initialMargin: 0.1,
        maintenanceMargin: 0.05,
        tradingFee: 0.0005,
        liquidationFee: 0.01,
        marginScale: 5_000,
        skewScale: 50_000,
        maxLongOI: 2_000,
        maxShortOI: 2_000,
        maxFundingRatePerDay: 0.01,
        adlPnlFactor: 0.5,
      },
    ],
    ...overrides,
  };
}
