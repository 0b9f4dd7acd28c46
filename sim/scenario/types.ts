/**
 * The scenario format of SCENARIOS.md, as types. `*Spec` types are what a researcher writes (optional
 * fields marked `?`); the unsuffixed types are what `parseScenario` returns: validated, with every default
 * applied and every name resolved. docs/scenarios.md documents each field, its default and its bounds.
 */

/* VALUES */

export type UniformDist = { dist: "uniform"; min: number; max: number };
/** `sd` is the standard deviation of the value itself. */
export type NormalDist = { dist: "normal"; mean: number; sd: number };
/** `mean` is the median value; `sd` is the standard deviation of its natural logarithm. */
export type LognormalDist = { dist: "lognormal"; mean: number; sd: number };
export type Dist = UniformDist | NormalDist | LognormalDist;
/** An amount (USD) or a count: a number, or a distribution sampled with the scenario's seed. */
export type Amount = number | Dist;

/* ASSETS AND PARAMETERS */

export interface AssetSpec {
  symbol: string;
  /** Token decimals, 0-18. */
  decimals: number;
  /** Market price at step 0, USD. */
  price: number;
  /** Seconds after which the feed counts as stale. Default 3600. */
  heartbeat?: number;
  /** A second, independent feed. Default false. */
  fallback?: boolean;
}

/** Overrides of a lending collateral's risk parameters (fractions as decimals). */
export interface LendingParams {
  ltv?: number;
  liquidationThreshold?: number;
  liquidationBonus?: number;
  /** Largest total deposit, whole tokens. */
  supplyCap?: number;
}

/** Overrides of a perps market's parameters (fractions as decimals, sizes in whole underlying units). */
export interface PerpParams {
  maxLeverage?: number;
  maintenanceMargin?: number;
  tradingFee?: number;
  liquidationFee?: number;
  /** Funding rate at full skew, a fraction of the price per day. */
  maxFundingRatePerDay?: number;
  marginScale?: number;
  skewScale?: number;
  maxLongOI?: number;
  maxShortOI?: number;
  adlPnlFactor?: number;
}

export interface ParamsSpec {
  /** Keyed by asset symbol. */
  lending?: Record<string, LendingParams>;
  /** Keyed by perps market name (`WETH` or `ETH`). */
  perps?: Record<string, PerpParams>;
  insuranceFund?: { initial: number };
}

/* POPULATION */

export interface DepositorGroup {
  count: Amount;
  deposit: Amount;
}
export interface BorrowerGroup {
  count: Amount;
  /** Asset symbol. */
  collateral: string;
  /** Collateral value posted at the start, USD. */
  size: Amount;
  /** Debt as a share of `size`, 0-1. */
  ltv: Amount;
}
export interface TraderGroupSpec {
  count: Amount;
  /** Perps market name (`WETH` or `ETH`). */
  market: string;
  /** Probability that a trader is long, 0-1. Default 0.5. */
  longShare?: number;
  margin: Amount;
  /** At least 1. */
  leverage: Amount;
  /**
   * Optional: a `share` (0-1) of the traders place a stop-loss on their whole position at an adverse move of
   * `distance` (above 0, below 1) from the starting price; the `orders` keeper executes them.
   */
  stopLoss?: { share: number; distance: number };
}
export interface PopulationSpec {
  suppliers?: DepositorGroup;
  borrowers?: BorrowerGroup;
  lps?: DepositorGroup;
  traders?: TraderGroupSpec;
}

/* PRICE PATHS */

export type GapShape = { shape: "gap"; at: number; change: number };
/** Exactly one of `to` and `change`. */
export type LinearShape = {
  shape: "linear";
  at?: number;
  over: number;
  to?: number;
  change?: number;
  from?: number;
};
export type VShape = {
  shape: "vshape";
  at: number;
  change: number;
  over: number;
  recover: number;
  recoverOver: number;
};
export type GbmShape = { shape: "gbm"; drift: number; volatility: number; at?: number; over?: number };
/** `at` (default 0): the step at which the csv's first row plays. */
export type CsvShape = { shape: "csv"; file: string; at?: number };
export type PointsShape = { shape: "points"; points: [number, number][] };
export type ShapeSpec = GapShape | LinearShape | VShape | GbmShape | CsvShape | PointsShape;
export type PathSpec = ShapeSpec & { asset: string };

/** One csv row: seconds, price. */
export type CsvRow = [time: number, price: number];

/* ORACLE FAULTS */

/** `both` hits the primary and the fallback feed. */
export type FeedTarget = "primary" | "fallback" | "both";

type FaultWindow = { asset: string; from: number; to?: number };
/** A fault of one asset's feed(s). */
export type FeedFaultSpec = FaultWindow & { feed?: FeedTarget } & (
    | { fault: "stale" }
    | { fault: "freeze" }
    | { fault: "zero" }
    | { fault: "negative"; answer?: number }
    | { fault: "revert" }
    | { fault: "clamp"; floor: number }
    | { fault: "spike"; factor: number }
    | { fault: "delay"; steps: number }
  );
/** The L2 sequencer goes down (for every asset; `asset` is kept for a uniform format). */
export type SequencerFaultSpec = FaultWindow & { fault: "sequencerDown"; grace?: number };
export type FaultSpec = FeedFaultSpec | SequencerFaultSpec;
export type FaultKind = FaultSpec["fault"];

/* KEEPERS */

/** A cost that may move like a price: `start` at step 0, then the path entries (without `asset`). */
export interface GasPathSpec<S = ShapeSpec> {
  start: number;
  path: S[];
}
export interface LiquidatorSpec {
  kind: "liquidator";
  /** Default 1. */
  count?: number;
  /** Steps between an account becoming liquidatable and the liquidator acting. Default 0. */
  latencySteps?: number;
  /** Liquidations per liquidator per step. Default: no limit. */
  maxPerStep?: number;
  /** USD that moves the collateral's market price 10% when sold. Default: no slippage. */
  marketDepth?: number;
  /** USD per liquidation. Default 0. */
  gasCostUsd?: number | GasPathSpec;
  /** USD. Default 0. */
  minProfit?: number;
}
export type KeeperSpec = LiquidatorSpec | { kind: "adl" } | { kind: "orders" };

/* THE SCENARIO */

export type NegativeBalancePolicyName = "protected" | "recourse";

export interface ScenarioSpec {
  name: string;
  /** Default "". */
  description?: string;
  /** Default 1. */
  seed?: number;
  steps: number;
  /** Default 60. */
  stepSeconds?: number;
  /** Default "protected". */
  negativeBalancePolicy?: NegativeBalancePolicyName;
  /** Liquidators' sales push the market price. Default false. */
  cascade?: boolean;
  assets: AssetSpec[];
  params?: ParamsSpec;
  population?: PopulationSpec;
  /** Default: one liquidator (no latency, no limit), adl, orders. */
  keepers?: KeeperSpec[];
  path?: PathSpec[];
  oracle?: FaultSpec[];
}

/* VALIDATED FORMS */

/** `T` with the optional fields `K` made required (distributes over unions). */
type WithDefaults<T, K extends PropertyKey> = T extends unknown
  ? Omit<T, K & keyof T> & Required<Pick<T, K & keyof T>>
  : never;

export type Asset = WithDefaults<AssetSpec, "heartbeat" | "fallback">;
export type ShapeKind = ShapeSpec["shape"];
export type Shape =
  | WithDefaults<Exclude<ShapeSpec, CsvShape>, "at" | "over">
  | (WithDefaults<CsvShape, "at"> & { rows: CsvRow[] });
export type PathEntry = Shape & { asset: string };
/** `to` defaults to steps + 1 (the end of the run; a spike: from + 1), `feed` to primary. */
export type FeedFault = WithDefaults<FeedFaultSpec, "to" | "feed" | "answer">;
export type SequencerFault = WithDefaults<SequencerFaultSpec, "to" | "grace">;
export type Fault = FeedFault | SequencerFault;
export type Liquidator = WithDefaults<
  Omit<LiquidatorSpec, "gasCostUsd">,
  "count" | "latencySteps" | "minProfit"
> & { gasCostUsd: number | GasPathSpec<Shape> };
export type Keeper = Liquidator | { kind: "adl" } | { kind: "orders" };
/** `asset`: the symbol of the asset that `market` names. */
export type TraderGroup = WithDefaults<TraderGroupSpec, "longShare"> & { asset: string };

export interface Scenario {
  name: string;
  description: string;
  seed: number;
  steps: number;
  stepSeconds: number;
  negativeBalancePolicy: NegativeBalancePolicyName;
  cascade: boolean;
  assets: Asset[];
  params: {
    lending: Record<string, LendingParams>;
    /** Keyed by asset symbol, whichever name the file used. */
    perps: Record<string, PerpParams>;
    insuranceFund: { initial: number };
  };
  population: Omit<PopulationSpec, "traders"> & { traders?: TraderGroup };
  keepers: Keeper[];
  path: PathEntry[];
  oracle: Fault[];
}
