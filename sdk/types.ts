/**
 * The SDK's data types: addresses, read options, and the plain snapshots of on-chain state that every
 * computation in `math.ts` works on. Every number is a `bigint` in the contracts' own units:
 *
 * - base-asset amounts (USDC) in base units (6 decimals);
 * - collateral amounts in the token's own units;
 * - prices in WAD (1e18) USD per whole token;
 * - fractions (LTV, thresholds, rates, margin fractions) in WAD;
 * - perp sizes in WAD of the underlying, signed (long > 0, short < 0);
 * - timestamps in seconds.
 *
 * `format.ts` turns them into strings for display.
 *
 * @packageDocumentation
 */
import type { BlockTag, ContractTransactionReceipt } from "ethers";

import { NegativeBalancePolicy, PriceStatus } from "../deploy/enums";

/** The Solidity enums PriceStatus and NegativeBalancePolicy (deploy/enums.ts, checked against the ABI by the tests). */
export { NegativeBalancePolicy, PriceStatus };

/* ADDRESSES */

/**
 * The addresses of one Ballast deployment, flat. `connect` also accepts a deployments file
 * ({@link DeploymentsFileLike}) and what `deploySystem` returns ({@link DeploymentLike}).
 */
export interface BallastAddresses {
  /** OracleRouter. */
  oracleRouter: string;
  /** InsuranceFund (also holds the recourse ledger). */
  insuranceFund: string;
  /** The base asset (what is lent, posted as margin, and what every loss is settled in). */
  baseToken: string;
  /** LendingMarket, if the deployment has one. */
  lendingMarket?: string;
  /** PerpMarket (the perps engine), if the deployment has one. */
  perpMarket?: string;
  /** LiquidityVault (the perps LPs' ERC-4626), required with `perpMarket`. */
  liquidityVault?: string;
  /** Token addresses by symbol (optional, for convenience: `ballast.asset("WETH")`). */
  assets?: Record<string, string>;
  /** Perp market ids by underlying symbol (optional: `ballast.perps.marketId("WETH")` reads it on chain otherwise). */
  perpMarketIds?: Record<string, number>;
}

/**
 * The structural shape of a deployments file, `deployments/<network>.json` as deploy/deployments.ts writes it
 * (`DeploymentsFile`): only the fields the SDK reads.
 */
export interface DeploymentsFileLike {
  contracts: {
    OracleRouter: string;
    InsuranceFund: string;
    LendingMarket?: string;
    PerpMarket?: string;
    LiquidityVault?: string;
  };
  base: { address: string };
  assets?: Record<string, { address: string }>;
  perpMarketIds?: Record<string, number>;
}

/** Anything with an address, as TypeChain contracts are (`getAddress()`). */
export interface HasAddress {
  getAddress(): Promise<string>;
}

/**
 * The structural shape of `deploySystem`'s result (deploy/deploySystem.ts `System`), so that scripts and
 * tests can pass it to `connect` as is. Only addresses are read from it.
 */
export interface DeploymentLike {
  router: HasAddress;
  insuranceFund: HasAddress;
  base: { address: string };
  assets?: Record<string, { address: string }>;
  lending?: { market: HasAddress };
  perps?: { market: HasAddress; vault: HasAddress; marketIds?: Record<string, number> };
}

/** How a read is taken. */
export interface ReadOptions {
  /**
   * The block every view of one read is taken at (one consistent snapshot). Default: the latest block,
   * resolved to its number once per read.
   */
  blockTag?: BlockTag;
  /**
   * The timestamp (seconds) that interest and funding are projected to. Default: the timestamp of the
   * block read, which is what the contracts' own views use. Pass the timestamp of the block a transaction
   * will be mined in to predict what that transaction sees (interest and funding accrue every second).
   */
  at?: bigint;
  /**
   * The grid that computed prices are rounded to. `"feed"` (default): the resolution of the asset's
   * price feed, 10^(18 - feed decimals) WAD (the only prices the oracle can report); `"wei"`: 1 wei of a
   * WAD price (the exact mathematical boundary).
   */
  priceTick?: "feed" | "wei";
}

/* LENDING */

/** A lending market's totals (LendingMarket.totals()), base units and shares. */
export interface LendingTotals {
  /** What suppliers are owed. */
  supplyAssets: bigint;
  supplyShares: bigint;
  /** What borrowers owe. */
  borrowAssets: bigint;
  borrowShares: bigint;
  /** Interest owed to the insurance fund, not yet swept. */
  reserves: bigint;
}

/** LendingMarket.MarketParams, as read. */
export interface LendingMarketParams {
  /** Largest total borrow, base units. */
  borrowCap: bigint;
  /** Smallest debt a borrow may leave, base units. */
  minBorrow: bigint;
  /** Fraction of interest paid to reserves, WAD. */
  reserveFactor: bigint;
  /** Debt at or below which a liquidation may close the whole position, base units. */
  smallPosition: bigint;
  /** Share of the liquidation bonus paid to reserves, WAD. */
  protocolShare: bigint;
  /** Health below which MarginCall is emitted, WAD. */
  marginCallHealth: bigint;
}

/** A lending market at one block, with its totals projected to `at`. */
export interface LendingMarketState {
  /** The block read. */
  blockNumber: number;
  /** Its timestamp. */
  blockTimestamp: bigint;
  /** The time the totals are projected to (see {@link ReadOptions.at}). */
  at: bigint;
  /** Base asset decimals. */
  baseDecimals: number;
  /** Totals as stored (as of the last accrual). */
  storedTotals: LendingTotals;
  /** Timestamp of the last accrual. */
  lastAccrual: bigint;
  /** Totals with interest projected to `at` in one accrual, as the contract's next transaction computes it. */
  totals: LendingTotals;
  params: LendingMarketParams;
  /** Borrow rate per second (WAD) at the stored utilisation, capped at MAX_BORROW_RATE; 0 if the model reverts. */
  borrowRatePerSecond: bigint;
  /** Borrowing and collateral withdrawals are paused. */
  paused: boolean;
  /** PROTECTED or RECOURSE. */
  negativeBalancePolicy: NegativeBalancePolicy;
}

/** One collateral an account holds, with its price and risk parameters. */
export interface CollateralHolding {
  token: string;
  /** Index in the market's collateral list. */
  index: number;
  decimals: number;
  /** Units posted. */
  amount: bigint;
  /** OracleRouter.peek price, WAD. */
  price: bigint;
  /** OracleRouter.peek status. */
  priceStatus: PriceStatus;
  /** Price grid (see {@link ReadOptions.priceTick}), WAD. */
  priceTick: bigint;
  /** Borrow LTV, WAD. */
  ltv: bigint;
  /** Liquidation threshold, WAD. */
  liquidationThreshold: bigint;
  /** Liquidation bonus, WAD. */
  liquidationBonus: bigint;
}

/** Everything the lending maths needs about one account, at one block. */
export interface LendingAccountState {
  account: string;
  market: LendingMarketState;
  supplyShares: bigint;
  borrowShares: bigint;
  /** The collaterals the account holds (amount > 0), in index order. */
  holdings: CollateralHolding[];
  /** What the address owes Ballast under RECOURSE (zero under PROTECTED). */
  recourseDebt: bigint;
}

/** An account's lending position at `at` (the same numbers as LendingMarket.accountView at that time). */
export interface LendingPosition {
  /** Supply shares' worth, rounded down. */
  supplyAssets: bigint;
  /** Debt with interest to `at`, rounded up. */
  debt: bigint;
  /** Sum of collateral x price, base units (each rounded down). */
  collateralValue: bigint;
  /** Sum of value x LTV. */
  borrowCapacity: bigint;
  /** Sum of value x liquidation threshold. */
  liquidationCapacity: bigint;
  /** liquidationCapacity / debt, WAD, rounded down; 2^256 - 1 without debt. */
  health: bigint;
  /** Every collateral price had status OK. */
  pricesTrusted: boolean;
  /** health < 1: anyone may liquidate (on prices the policy allows). */
  liquidatable: boolean;
}

/** The price at which an account's equity reaches zero, and how close to zero it is there. */
export interface BankruptcyPrice {
  /** The lowest price (on the grid) at which collateral value >= debt; below it the account is insolvent. */
  price: bigint;
  /** Equity (collateral value - debt, base units) at `price`: >= 0 and below `tolerance`. */
  equityAtPrice: bigint;
  /** The collateral value one price step adds, rounded up: equity at the price is within [0, tolerance). */
  tolerance: bigint;
}

/** A fractional price move. */
export interface PriceGap {
  /** The current price. */
  fromPrice: bigint;
  /** The price the move reaches. */
  toPrice: bigint;
  /** (toPrice - fromPrice) / fromPrice, WAD, signed, truncated toward zero (-0.42e18 for -42%). */
  wad: bigint;
  /** The same as a JavaScript number (-0.42), for display. */
  ratio: number;
}

/** What stops a larger borrow. */
export type BorrowLimit =
  | "capacity" // debt would exceed the borrow capacity (InsufficientBorrowCapacity)
  | "liquidity" // the market's cash (InsufficientLiquidity)
  | "borrowCap" // the market's borrow cap (BorrowCapExceeded)
  | "minBorrow" // even the largest borrow leaves a debt below minBorrow (BelowMinBorrow)
  | "paused" // the market is paused (MarketPaused)
  | "recourse" // the address owes recourse debt (RecourseDebtOutstanding)
  | "price"; // a collateral price is not OK (PriceNotUsable)

/** The largest borrow the account can make now. */
export interface MaxBorrow {
  /** Base units; borrowing one unit more reverts (with `limitedBy`'s error). Zero when nothing can be borrowed. */
  amount: bigint;
  /** The account's debt after borrowing `amount` (rounded up), base units. */
  debtAfter: bigint;
  limitedBy: BorrowLimit;
}

/** A lending market's rates. */
export interface LendingRates {
  /** Borrowed / supplied, WAD (LendingMarket.utilisation()). */
  utilisation: bigint;
  /** WAD per second. */
  borrowRatePerSecond: bigint;
  /** borrowRatePerSecond x 365 days, WAD (simple, not compounded). */
  borrowApr: bigint;
  /** What suppliers earn per second: borrow rate x borrowed / supplied x (1 - reserve factor), WAD. */
  supplyRatePerSecond: bigint;
  /** The same over 365 days, WAD (simple). */
  supplyApr: bigint;
}

/** The liquidation and bankruptcy prices of each collateral of an account, and the gaps to them. */
export interface CollateralRisk {
  token: string;
  price: bigint;
  liquidationPrice: bigint | null;
  bankruptcyPrice: BankruptcyPrice | null;
  /** Move of this collateral's price (others fixed) that makes the account liquidatable. */
  gapToLiquidation: PriceGap | null;
  /** Move of this collateral's price (others fixed) that takes the account below zero. */
  gapToBankruptcy: PriceGap | null;
}

/* PERPS */

/** IPerpMarket.MarketStatus. */
export enum MarketStatus {
  ACTIVE = 0,
  HALTED = 1,
  DELISTED = 2,
}

/** IPerpMarket.MarketParams, as read. */
export interface PerpMarketParams {
  /** Initial margin fraction at size zero (1 / max leverage), WAD. */
  initialMargin: bigint;
  /** Maintenance margin fraction at size zero, WAD. */
  maintenanceMargin: bigint;
  /** Fee on every trade, a fraction of the fill notional, WAD. */
  tradingFee: bigint;
  /** Liquidation fee, a fraction of the notional closed, WAD. */
  liquidationFee: bigint;
  /** Size (underlying WAD) at which the margin fractions have doubled. */
  marginScale: bigint;
  /** Skew (underlying WAD) at which the premium would be 100% and funding at its maximum. */
  skewScale: bigint;
  /** Open-interest cap of the longs, underlying WAD. */
  maxLongOI: bigint;
  /** Open-interest cap of the shorts, underlying WAD. */
  maxShortOI: bigint;
  /** Funding rate at full skew, WAD per second. */
  maxFundingRate: bigint;
  /** ADL trigger: side profit / what the pool can pay it, WAD. */
  adlPnlFactor: bigint;
}

/** One perp market at one block. */
export interface PerpMarketState {
  marketId: number;
  asset: string;
  status: MarketStatus;
  /** The oracle price (peek), or the final price once delisted, WAD. */
  price: bigint;
  /** The price status (OK for a delisted market: it settles at its final price). */
  priceStatus: PriceStatus;
  /** Price grid (see {@link ReadOptions.priceTick}), WAD. */
  priceTick: bigint;
  longOI: bigint;
  shortOI: bigint;
  /** Funding index as stored (USD WAD per unit of size). */
  fundingIndex: bigint;
  /** When the index was last accrued. */
  lastFundingTime: bigint;
  /** Funding rate per second at the current skew, WAD (zero once delisted). */
  fundingRate: bigint;
  /**
   * The side's basis sums (sum of |size| x entry - |size| x funding index at entry, USD WAD), recovered
   * exactly from IPerpMarket.sidePnl. Needed only to predict the ProfitHaircut cap on a realised profit.
   */
  longBasisSum: bigint;
  shortBasisSum: bigint;
  params: PerpMarketParams;
}

/** A stored position. */
export interface PerpPosition {
  marketId: number;
  /** Underlying WAD, signed. */
  size: bigint;
  /** The last fill price, WAD. */
  entryPrice: bigint;
  /** The market's funding index when the position last traded. */
  entryFundingIndex: bigint;
}

/** Everything the perps maths needs about one account, at one block. */
export interface PerpAccountState {
  account: string;
  blockNumber: number;
  blockTimestamp: bigint;
  /** The time funding is projected to (see {@link ReadOptions.at}). */
  at: bigint;
  baseDecimals: number;
  /** USD WAD per base unit (1e12 for a 6-decimal base). */
  usdPerUnit: bigint;
  /** Posted margin plus everything realised, base units (may be negative between trades). */
  margin: bigint;
  /** The account's positions, in market order. */
  positions: PerpPosition[];
  /** Every market of the engine, indexed by market id. */
  markets: PerpMarketState[];
  /** The LP pool's capital and the insurance fees not yet swept, base units. */
  pool: { capital: bigint; pendingInsurance: bigint };
  /** Opens, increases and margin withdrawals are paused. */
  paused: boolean;
  /** What the address owes Ballast under RECOURSE. */
  recourseDebt: bigint;
}

/** An account's risk (IPerpMarket.AccountView numbers), base units. */
export interface PerpRisk {
  margin: bigint;
  /** margin + PnL - funding owed, over every position. */
  equity: bigint;
  initialMargin: bigint;
  maintenanceMargin: bigint;
  notional: bigint;
  /** The fee a liquidation would charge now. */
  liquidationFee: bigint;
  /** equity < maintenance margin (with a position open). */
  liquidatable: boolean;
  /** What withdrawMargin allows now: min(margin, equity - initial margin), at least zero. */
  withdrawable: bigint;
}

/** A position valued at `at` (IPerpMarket.PositionView numbers). */
export interface PerpPositionView extends PerpPosition {
  /** PnL at the price, base units, rounded down. */
  pnl: bigint;
  /** Funding owed, base units (negative: to receive), rounded up. */
  fundingOwed: bigint;
  notional: bigint;
  initialMargin: bigint;
  maintenanceMargin: bigint;
}

/** A trade side. */
export type Side = "long" | "short";

/** Why a trade would revert. */
export type TradeError =
  | "InsufficientMargin"
  | "OpenInterestCapExceeded"
  | "InvalidFillPrice"
  | "InsolventAccount"
  | "MarketNotActive"
  | "MarketPaused"
  | "RecourseDebtOutstanding"
  | "PriceNotUsable";

/** What `modifyPosition(marketId, sizeDelta, ...)` would do now (before the price limit). */
export interface TradeSimulation {
  sizeDelta: bigint;
  /** The position afterwards. */
  newSize: bigint;
  /** Fill price, WAD. */
  fillPrice: bigint;
  /** Trading fee, base units. */
  fee: bigint;
  /** PnL and funding of the old position realised at the fill (before any ProfitHaircut), base units. */
  realised: bigint;
  /** What the pool pays of `realised` (less when it cannot pay a profit in full). */
  paid: bigint;
  /** Margin afterwards. */
  marginAfter: bigint;
  /** Equity and initial margin afterwards (as the contract checks them). */
  equityAfter: bigint;
  initialMarginAfter: bigint;
  /** Whether the trade adds risk (open, increase, flip: checked against initial margin). */
  addsRisk: boolean;
  /** Undefined when the trade passes; else the custom error it would revert with. */
  error?: TradeError;
}

/** What limits the largest position that can be opened. */
export type SizeLimit = "margin" | "openInterest" | TradeError;

/** The largest trade on one side that the account can make now. */
export interface MaxPositionSize {
  /** Underlying WAD, unsigned: the largest |sizeDelta| that passes; one wei more reverts with `limitedBy`. */
  size: bigint;
  /** The same, signed for the side. */
  sizeDelta: bigint;
  /** The position after the trade. */
  newSize: bigint;
  /** The trade at `size` (undefined when size is zero). */
  trade?: TradeSimulation;
  limitedBy: SizeLimit;
}

/** A perp market's funding rate: the fraction of the price longs pay shorts (negative: shorts pay longs). */
export interface FundingRate {
  /** WAD per second (IPerpMarket.MarketView.fundingRate). */
  perSecond: bigint;
  /** x 86,400, WAD. */
  perDay: bigint;
  /** x 365 days, WAD (simple). */
  perYear: bigint;
}

/** The LP vault. */
export interface VaultState {
  /** The pool's value (ERC-4626 totalAssets = PerpMarket.lpAssets), base units. */
  totalAssets: bigint;
  /** Shares outstanding (12 decimals for a 6-decimal base: 1e6 virtual shares per unit). */
  totalSupply: bigint;
  /** Share decimals. */
  decimals: number;
  /** Base units one whole share (10^decimals) redeems for now (convertToAssets, rounded down). */
  sharePrice: bigint;
  /** What the pool may pay out now (PerpMarket.lpWithdrawable), base units. */
  withdrawable: bigint;
}

/* RISK */

/** A market's bad-debt ledger (RiskTypes.BadDebtTotals), base units. */
export interface BadDebtTotals {
  deficit: bigint;
  coveredByInsurance: bigint;
  socialised: bigint;
  recourseRecorded: bigint;
}

/* WRITES */

/** The receipts of a write: the approval, when one was needed, then the call. */
export interface WriteResult {
  /** The approval's receipt, or null when the allowance already sufficed (or none is needed). */
  approval: ContractTransactionReceipt | null;
  /** The call's receipt. */
  receipt: ContractTransactionReceipt;
}
