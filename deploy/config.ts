import { SuspectPolicy } from "./enums";

export { SuspectPolicy };

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

export interface SystemConfig {
  /** Admin of every contract; the first signer when omitted. */
  admin?: string;
  suspectPolicy: SuspectPolicy;
  /** L2 sequencer uptime feed: an address, or a mock to deploy. Omit on L1. */
  sequencer?: { address: string; gracePeriod: number } | { mock: true; gracePeriod: number };
  assets: AssetConfig[];
}

/** A local configuration with realistic feeds: WETH (primary + fallback), WBTC (8 decimals, primary only). */
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
    ],
    ...overrides,
  };
}
