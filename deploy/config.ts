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
    ...overrides,
  };
}
