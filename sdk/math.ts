/**
 * The SDK's maths: pure functions over the snapshots of `types.ts`, mirroring the contracts' fixed-point
 * arithmetic to the base unit (contracts/libraries/MathLib.sol, SharesMath.sol, PerpMath.sol,
 * LendingMarket.sol, PerpMarket.sol), each rounding in the same direction as the contract. Nothing here
 * touches the chain, so keepers, the simulator and tests can run it on any state.
 *
 * @packageDocumentation
 */
import { WAD } from "../deploy/units";
import type {
  BankruptcyPrice,
  CollateralHolding,
  LendingAccountState,
  LendingPosition,
  LendingRates,
  LendingTotals,
  MaxBorrow,
  MaxPositionSize,
  PerpAccountState,
  PerpMarketParams,
  PerpMarketState,
  PerpPosition,
  PerpPositionView,
  PerpRisk,
  PriceGap,
  Side,
  TradeSimulation,
} from "./types";
import { MarketStatus, PriceStatus } from "./types";

/** 1e18: the unit of prices, fractions and sizes (deploy/units.ts). */
export { WAD };

/* FIXED POINT (MathLib, SharesMath, PerpMath) */

/** Seconds in a day. */
export const SECONDS_PER_DAY = 86_400n;
/** Seconds in a year of 365 days (KinkedRateModel.SECONDS_PER_YEAR). */
export const SECONDS_PER_YEAR = 365n * SECONDS_PER_DAY;
/** type(uint256).max: the health of an account without debt, and "everything" in withdraw / repay. */
export const MAX_UINT256 = 2n ** 256n - 1n;
/** Virtual shares per virtual asset unit (SharesMath.VIRTUAL_SHARES). */
export const VIRTUAL_SHARES = 10n ** 6n;
/** SharesMath.VIRTUAL_ASSETS. */
export const VIRTUAL_ASSETS = 1n;

/** The smaller of two bigints. */
export const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
/** The larger of two bigints. */
export const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
/** |x|. */
export const abs = (x: bigint): bigint => (x < 0n ? -x : x);
/** max(x, 0). */
export const positivePart = (x: bigint): bigint => (x > 0n ? x : 0n);
/** x * y / d rounded down (x, y >= 0, d > 0). */
export const mulDivDown = (x: bigint, y: bigint, d: bigint): bigint => (x * y) / d;
/** x * y / d rounded up (x, y >= 0, d > 0). */
export const mulDivUp = (x: bigint, y: bigint, d: bigint): bigint => (x * y + d - 1n) / d;
/** x * y / WAD rounded down. */
export const wMulDown = (x: bigint, y: bigint): bigint => mulDivDown(x, y, WAD);
/** x * y / WAD rounded up. */
export const wMulUp = (x: bigint, y: bigint): bigint => mulDivUp(x, y, WAD);
/** x * WAD / y rounded down. */
export const wDivDown = (x: bigint, y: bigint): bigint => mulDivDown(x, WAD, y);
/** x * WAD / y rounded up. */
export const wDivUp = (x: bigint, y: bigint): bigint => mulDivUp(x, WAD, y);
/** x - y, or zero when y > x. */
export const zeroFloorSub = (x: bigint, y: bigint): bigint => (x > y ? x - y : 0n);

/** x / d rounded toward minus infinity (d > 0), PerpMath.floorDiv. */
export function floorDiv(x: bigint, d: bigint): bigint {
  const q = x / d;
  return x % d !== 0n && x < 0n ? q - 1n : q;
}

/** x / d rounded toward plus infinity (d > 0), PerpMath.ceilDiv. */
export function ceilDiv(x: bigint, d: bigint): bigint {
  const q = x / d;
  return x % d !== 0n && x > 0n ? q + 1n : q;
}

/** Assets to shares, rounded down (SharesMath.toSharesDown). */
export const toSharesDown = (assets: bigint, totalAssets: bigint, totalShares: bigint): bigint =>
  mulDivDown(assets, totalShares + VIRTUAL_SHARES, totalAssets + VIRTUAL_ASSETS);
/** Assets to shares, rounded up (SharesMath.toSharesUp). */
export const toSharesUp = (assets: bigint, totalAssets: bigint, totalShares: bigint): bigint =>
  mulDivUp(assets, totalShares + VIRTUAL_SHARES, totalAssets + VIRTUAL_ASSETS);
/** Shares to assets, rounded down (SharesMath.toAssetsDown). */
export const toAssetsDown = (shares: bigint, totalAssets: bigint, totalShares: bigint): bigint =>
  mulDivDown(shares, totalAssets + VIRTUAL_ASSETS, totalShares + VIRTUAL_SHARES);
/** Shares to assets, rounded up (SharesMath.toAssetsUp). */
export const toAssetsUp = (shares: bigint, totalAssets: bigint, totalShares: bigint): bigint =>
  mulDivUp(shares, totalAssets + VIRTUAL_ASSETS, totalShares + VIRTUAL_SHARES);

/** The grid of prices a feed with `feedDecimals` can report, as a WAD step: 10^(18 - feedDecimals). */
export const priceTickOf = (feedDecimals: number): bigint => 10n ** BigInt(18 - feedDecimals);

/**
 * The fractional move from `fromPrice` to `toPrice`: (to - from) / from, as a signed WAD truncated toward
 * zero and as a number.
 */
export function priceGap(fromPrice: bigint, toPrice: bigint): PriceGap {
  const wad = ((toPrice - fromPrice) * WAD) / fromPrice;
  return { fromPrice, toPrice, wad, ratio: Number(wad) / 1e18 };
}

/**
 * Finds a boundary of a predicate on integers: given `pred(lo)` true (assumed, never evaluated) and
 * `pred(hi)` false, returns n in [lo, hi) with pred(n) true and pred(n + 1) false. For a monotone predicate
 * that is its last true value; for any predicate it is a true boundary (binary search keeps the invariant).
 */
export function lastTrue(lo: bigint, hi: bigint, pred: (n: bigint) => boolean): bigint {
  while (hi - lo > 1n) {
    const mid = lo + (hi - lo) / 2n;
    if (pred(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/* LENDING (LendingMarket.sol, KinkedRateModel.sol) */

/** Borrowed / supplied, WAD, rounded down; 1 when borrowed >= supplied (LendingMarket._utilisation). */
export function utilisation(borrowAssets: bigint, supplyAssets: bigint): bigint {
  if (borrowAssets === 0n) return 0n;
  if (borrowAssets >= supplyAssets) return WAD;
  return wDivDown(borrowAssets, supplyAssets);
}

/**
 * One accrual of `elapsed` seconds at `ratePerSecond` (LendingMarket._accrue): interest = borrowed x rate x
 * elapsed, rounded up; `reserveFactor` of it (rounded down) to reserves, the rest to suppliers.
 */
export function accrueTotals(
  t: LendingTotals,
  elapsed: bigint,
  ratePerSecond: bigint,
  reserveFactor: bigint,
): LendingTotals {
  if (elapsed <= 0n || t.borrowAssets === 0n) return { ...t };
  const interest = wMulUp(t.borrowAssets, ratePerSecond * elapsed);
  const toReserves = wMulDown(interest, reserveFactor);
  return {
    ...t,
    borrowAssets: t.borrowAssets + interest,
    supplyAssets: t.supplyAssets + interest - toReserves,
    reserves: t.reserves + toReserves,
  };
}

/** 10^(collateral decimals + 18 - base decimals): collateral units x WAD price / scale = base units. */
export const collateralScale = (decimals: number, baseDecimals: number): bigint =>
  (10n ** BigInt(decimals) * WAD) / 10n ** BigInt(baseDecimals);

/** A holding's value in base units at `price` (default: its own), rounded down. */
export function holdingValue(h: CollateralHolding, baseDecimals: number, price = h.price): bigint {
  return mulDivDown(h.amount, price, collateralScale(h.decimals, baseDecimals));
}

/** An account's debt at its state's `at`, rounded up. */
export const lendingDebt = (s: LendingAccountState): bigint =>
  toAssetsUp(s.borrowShares, s.market.totals.borrowAssets, s.market.totals.borrowShares);

/** liquidationCapacity / debt, WAD, rounded down; 2^256 - 1 without debt (LendingMarket._health). */
export const lendingHealthOf = (liquidationCapacity: bigint, debt: bigint): bigint =>
  debt === 0n ? MAX_UINT256 : wDivDown(liquidationCapacity, debt);

/**
 * The account's position at its state's `at`, with every collateral at its peek price (or `override`'s
 * price for one token): the numbers of LendingMarket.accountView, to the base unit.
 */
export function lendingPosition(
  s: LendingAccountState,
  override?: { token: string; price: bigint },
): LendingPosition {
  const base = s.market.baseDecimals;
  let collateralValue = 0n;
  let borrowCapacity = 0n;
  let liquidationCapacity = 0n;
  let pricesTrusted = true;
  for (const h of s.holdings) {
    const price = override && sameAddress(override.token, h.token) ? override.price : h.price;
    const value = holdingValue(h, base, price);
    collateralValue += value;
    borrowCapacity += wMulDown(value, h.ltv);
    liquidationCapacity += wMulDown(value, h.liquidationThreshold);
    if (h.priceStatus !== PriceStatus.OK) pricesTrusted = false;
  }
  const t = s.market.totals;
  const debt = lendingDebt(s);
  return {
    supplyAssets: toAssetsDown(s.supplyShares, t.supplyAssets, t.supplyShares),
    debt,
    collateralValue,
    borrowCapacity,
    liquidationCapacity,
    health: lendingHealthOf(liquidationCapacity, debt),
    pricesTrusted,
    liquidatable: liquidationCapacity < debt,
  };
}

function holdingOf(s: LendingAccountState, token: string): CollateralHolding {
  const h = s.holdings.find((x) => sameAddress(x.token, token));
  if (!h) throw new Error(`account ${s.account} holds no collateral ${token}`);
  return h;
}

/**
 * The liquidation price of `token`: the highest price (on the holding's price grid) at which the account is
 * liquidatable (liquidation capacity < debt, i.e. health < 1), every other price and the debt at `at` held
 * fixed. One grid step above it the account is not liquidatable. Null when no positive price makes it
 * liquidatable (no debt, or the other collateral alone covers the debt).
 *
 * Exact, not searched: with need = debt - (the other collaterals' liquidation capacity), the smallest value
 * with value x threshold (rounded down) >= need is ceil(need / threshold), and the smallest price whose
 * value (rounded down) reaches it is ceil(value x scale / amount); the liquidation price is one wei below,
 * rounded down to the grid.
 */
export function lendingLiquidationPrice(s: LendingAccountState, token: string): bigint | null {
  const h = holdingOf(s, token);
  const debt = lendingDebt(s);
  if (debt === 0n) return null;
  const base = s.market.baseDecimals;
  let others = 0n;
  for (const x of s.holdings) if (x !== h) others += wMulDown(holdingValue(x, base), x.liquidationThreshold);
  if (others >= debt) return null;
  const value = mulDivUp(debt - others, WAD, h.liquidationThreshold);
  const lowestSafe = mulDivUp(value, collateralScale(h.decimals, base), h.amount);
  const price = ((lowestSafe - 1n) / h.priceTick) * h.priceTick;
  return price > 0n ? price : null;
}

/**
 * The bankruptcy price of `token`: the lowest price (on the holding's price grid) at which the collateral
 * is worth at least the debt (equity = collateral value - debt >= 0), every other price and the debt at
 * `at` held fixed; one grid step below it the account is insolvent, which is where a liquidation must seize
 * each collateral whole and a deficit goes down the waterfall. Null when the other collateral alone covers
 * the debt (or there is none).
 */
export function lendingBankruptcyPrice(s: LendingAccountState, token: string): BankruptcyPrice | null {
  const h = holdingOf(s, token);
  const debt = lendingDebt(s);
  if (debt === 0n) return null;
  const base = s.market.baseDecimals;
  let others = 0n;
  for (const x of s.holdings) if (x !== h) others += holdingValue(x, base);
  if (others >= debt) return null;
  const scale = collateralScale(h.decimals, base);
  const lowest = mulDivUp(debt - others, scale, h.amount);
  const price = ceilDiv(lowest, h.priceTick) * h.priceTick;
  return {
    price,
    equityAtPrice: holdingValue(h, base, price) + others - debt,
    tolerance: max(mulDivUp(h.amount, h.priceTick, scale), 1n),
  };
}

/**
 * The largest borrow the account can make at its state's `at` (LendingMarket.borrow's checks in order:
 * pause, recourse, cash, borrow cap, minBorrow, and debt <= borrow capacity on OK prices). Borrowing `amount`
 * passes; `amount + 1` reverts with the error of `limitedBy`. The debt after a borrow of x is
 * toAssetsUp(shares + toSharesUp(x)) over the new totals, which is not linear in x, so the capacity bound is
 * found by binary search on the exact formula.
 */
export function maxBorrow(s: LendingAccountState): MaxBorrow {
  const none = (limitedBy: MaxBorrow["limitedBy"]): MaxBorrow => ({
    amount: 0n,
    debtAfter: lendingDebt(s),
    limitedBy,
  });
  if (s.market.paused) return none("paused");
  if (s.recourseDebt > 0n) return none("recourse");
  if (s.holdings.some((h) => h.priceStatus !== PriceStatus.OK)) return none("price");
  const t = s.market.totals;
  const cash = zeroFloorSub(t.supplyAssets + t.reserves, t.borrowAssets);
  const capRoom = zeroFloorSub(s.market.params.borrowCap, t.borrowAssets);
  const upper = min(cash, capRoom);
  const capacity = lendingPosition(s).borrowCapacity;
  const debtAfter = (x: bigint) => {
    const shares = toSharesUp(x, t.borrowAssets, t.borrowShares);
    return toAssetsUp(s.borrowShares + shares, t.borrowAssets + x, t.borrowShares + shares);
  };
  const fits = (x: bigint) => debtAfter(x) <= capacity;
  let amount: bigint;
  let limitedBy: MaxBorrow["limitedBy"];
  if (fits(upper)) {
    amount = upper;
    limitedBy = cash <= capRoom ? "liquidity" : "borrowCap";
  } else {
    amount = lastTrue(0n, upper, fits);
    limitedBy = "capacity";
  }
  if (amount === 0n) return none(limitedBy);
  const debt = debtAfter(amount);
  if (debt < s.market.params.minBorrow) return none("minBorrow");
  return { amount, debtAfter: debt, limitedBy };
}

/**
 * Rates at the stored totals (what the next accrual applies): utilisation, borrow and supply rate per second
 * and their simple APRs. `borrowRatePerSecond` is the rate model's, capped as the market caps it.
 */
export function lendingRates(
  stored: LendingTotals,
  borrowRatePerSecond: bigint,
  reserveFactor: bigint,
): LendingRates {
  const supply = stored.supplyAssets;
  const share = (perSeconds: bigint) =>
    supply === 0n
      ? 0n
      : mulDivDown(borrowRatePerSecond * perSeconds * stored.borrowAssets, WAD - reserveFactor, supply * WAD);
  return {
    utilisation: utilisation(stored.borrowAssets, supply),
    borrowRatePerSecond,
    borrowApr: borrowRatePerSecond * SECONDS_PER_YEAR,
    supplyRatePerSecond: share(1n),
    supplyApr: share(SECONDS_PER_YEAR),
  };
}

/* PERPS (PerpMarket.sol) */

/** USD WAD per base unit: 10^(18 - base decimals). */
export const usdPerUnitOf = (baseDecimals: number): bigint => 10n ** BigInt(18 - baseDecimals);

/** maxFundingRate x clamp(skew / skewScale, -1, 1), truncated toward zero (PerpMarket._fundingRate). */
export function fundingRateOf(
  longOI: bigint,
  shortOI: bigint,
  skewScale: bigint,
  maxFundingRate: bigint,
): bigint {
  let skew = longOI - shortOI;
  if (skew > skewScale) skew = skewScale;
  if (skew < -skewScale) skew = -skewScale;
  return (maxFundingRate * skew) / skewScale;
}

/**
 * The funding index at time `at` if accrued at `price` (PerpMarket._indexNow / _accrueFunding): the stored
 * index plus rate x (at - last accrual) x price / WAD, truncated toward zero; the stored index once delisted.
 */
export function fundingIndexAt(m: PerpMarketState, at: bigint, price: bigint): bigint {
  if (m.status === MarketStatus.DELISTED) return m.fundingIndex;
  const elapsed = at - m.lastFundingTime;
  if (elapsed < 0n) throw new Error(`time ${at} is before market ${m.marketId}'s last funding accrual`);
  return (
    m.fundingIndex +
    (fundingRateOf(m.longOI, m.shortOI, m.params.skewScale, m.params.maxFundingRate) * elapsed * price) / WAD
  );
}

/**
 * The fill price of a trade of `delta` at oracle price `price` and skew `skew` (PerpMarket._fillPrice):
 * price x (1 + (2 x skew + delta) / (2 x skewScale)), rounded up for buys and down for sells. Zero or less
 * means the contract reverts with InvalidFillPrice.
 */
export function fillPriceOf(price: bigint, skew: bigint, delta: bigint, skewScale: bigint): bigint {
  const numerator = price * (2n * skew + delta);
  const denominator = 2n * skewScale;
  const premium = delta > 0n ? ceilDiv(numerator, denominator) : floorDiv(numerator, denominator);
  return price + premium;
}

/** |delta| x fill x tradingFee in base units, rounded up at each step (PerpMarket._fillAndFee). */
export function tradeFeeOf(delta: bigint, fill: bigint, tradingFee: bigint, usdPerUnit: bigint): bigint {
  return ceilDiv(wMulUp(mulDivUp(abs(delta), fill, WAD), tradingFee), usdPerUnit);
}

/**
 * A position's PnL minus funding owed at `price` and funding index `index`, base units, rounded toward minus
 * infinity (PerpMarket._positionValue).
 */
export function positionValueOf(
  size: bigint,
  entryPrice: bigint,
  entryFundingIndex: bigint,
  price: bigint,
  index: bigint,
  usdPerUnit: bigint,
): bigint {
  return floorDiv(size * (price - entryPrice) - size * (index - entryFundingIndex), WAD * usdPerUnit);
}

/**
 * Notional (rounded down), initial and maintenance margin and liquidation fee (rounded up) of a position of
 * `size` at `price`, base units (PerpMarket._margins): margin = notional x min(fraction x (1 + |size| /
 * marginScale), 1).
 */
export function positionMargins(
  p: PerpMarketParams,
  size: bigint,
  price: bigint,
  usdPerUnit: bigint,
): { notional: bigint; initialMargin: bigint; maintenanceMargin: bigint; liquidationFee: bigint } {
  const a = abs(size);
  const growth = WAD + mulDivUp(a, WAD, p.marginScale);
  const usd = mulDivUp(a, price, WAD);
  const up = (x: bigint) => ceilDiv(x, usdPerUnit);
  return {
    notional: mulDivDown(a, price, WAD) / usdPerUnit,
    initialMargin: up(wMulUp(usd, min(wMulUp(p.initialMargin, growth), WAD))),
    maintenanceMargin: up(wMulUp(usd, min(wMulUp(p.maintenanceMargin, growth), WAD))),
    liquidationFee: up(wMulUp(usd, p.liquidationFee)),
  };
}

function marketOf(s: PerpAccountState, marketId: number): PerpMarketState {
  const m = s.markets[marketId];
  if (!m) throw new Error(`perp market ${marketId} is not listed`);
  return m;
}

/**
 * An account's risk at its state's `at` (the numbers of IPerpMarket.accountView), with every market at its
 * price, or `override.price` for `override.marketId` (funding accrued to `at` at that price).
 */
export function perpRisk(s: PerpAccountState, override?: { marketId: number; price: bigint }): PerpRisk {
  let equity = s.margin;
  let initialMargin = 0n;
  let maintenanceMargin = 0n;
  let notional = 0n;
  let liquidationFee = 0n;
  for (const p of s.positions) {
    const m = marketOf(s, p.marketId);
    const price = override && override.marketId === p.marketId ? override.price : m.price;
    const index = fundingIndexAt(m, s.at, price);
    equity += positionValueOf(p.size, p.entryPrice, p.entryFundingIndex, price, index, s.usdPerUnit);
    const r = positionMargins(m.params, p.size, price, s.usdPerUnit);
    initialMargin += r.initialMargin;
    maintenanceMargin += r.maintenanceMargin;
    notional += r.notional;
    liquidationFee += r.liquidationFee;
  }
  const free =
    s.positions.length === 0
      ? positivePart(s.margin)
      : min(positivePart(s.margin), positivePart(equity - initialMargin));
  return {
    margin: s.margin,
    equity,
    initialMargin,
    maintenanceMargin,
    notional,
    liquidationFee,
    liquidatable: maintenanceMargin > 0n && equity < maintenanceMargin,
    withdrawable: free,
  };
}

/** A position valued at the state's `at` (the numbers of IPerpMarket.positionView). */
export function perpPositionView(s: PerpAccountState, p: PerpPosition): PerpPositionView {
  const m = marketOf(s, p.marketId);
  const index = fundingIndexAt(m, s.at, m.price);
  const unit = WAD * s.usdPerUnit;
  const r = positionMargins(m.params, p.size, m.price, s.usdPerUnit);
  return {
    ...p,
    pnl: floorDiv(p.size * (m.price - p.entryPrice), unit),
    fundingOwed: ceilDiv(p.size * (index - p.entryFundingIndex), unit),
    notional: r.notional,
    initialMargin: r.initialMargin,
    maintenanceMargin: r.maintenanceMargin,
  };
}

/** Largest price step count searched (2^160 grid steps). */
const SEARCH_LIMIT = 2n ** 160n;

/**
 * Equity and maintenance margin as functions of market `marketId`'s price, for the searches below. Throws
 * when funding accrued since the last accrual reaches 100% of the price (equity is then not monotone in
 * the price and no price search is meaningful).
 */
function priceSearch(s: PerpAccountState, marketId: number) {
  const m = marketOf(s, marketId);
  const position = s.positions.find((p) => p.marketId === marketId);
  if (!position) throw new Error(`account ${s.account} has no position in market ${marketId}`);
  if (m.status === MarketStatus.DELISTED) return null;
  const rate = fundingRateOf(m.longOI, m.shortOI, m.params.skewScale, m.params.maxFundingRate);
  if (abs(rate * (s.at - m.lastFundingTime)) >= WAD) {
    throw new Error(`market ${marketId}: funding since the last accrual reaches 100% of the price`);
  }
  const tick = m.priceTick;
  const cache = new Map<bigint, PerpRisk>();
  const at = (n: bigint) => {
    let r = cache.get(n);
    if (!r) {
      r = perpRisk(s, { marketId, price: n * tick });
      cache.set(n, r);
    }
    return r;
  };
  const start = max(m.price / tick, 2n);
  return { tick, isLong: position.size > 0n, at, start };
}

/** Doubles `n` until `pred(n)` holds (null past the search limit). */
function grow(n: bigint, pred: (n: bigint) => boolean): bigint | null {
  while (!pred(n)) {
    n *= 2n;
    if (n > SEARCH_LIMIT) return null;
  }
  return n;
}

/**
 * The liquidation price of the account's position in `marketId`: the oracle price of that market at which
 * equity falls below maintenance margin, holding fixed every other market's price, the time (`at`: funding
 * accrued to then, at the tested price, at the current skew), and the account's other positions and margin.
 *
 * For a long it is the highest price on the grid at which the account is liquidatable (one step above it
 * is not); for a short the lowest (one step below it is not). Null when no price on the grid makes it
 * liquidatable (or the market is delisted: it settles at its final price).
 *
 * How: equity and margins are rounded separately (equity down, margin up, to the base unit), so for a long,
 * whose equity and maintenance margin both grow with the price, liquidatability can flip back and forth over
 * a range of prices worth less than a base unit of equity. The search finds a boundary by bisection, then
 * walks up through that range (one maintenance-margin step at a time) until equity exceeds the margin by two
 * base units, beyond which it stays ahead; so the price returned is the highest boundary, not just any. For
 * a short, equity falls and margin rises with the price, and one bisection is exact.
 */
export function perpLiquidationPrice(s: PerpAccountState, marketId: number): bigint | null {
  const q = priceSearch(s, marketId);
  if (!q) return null;
  const liq = (n: bigint) => {
    const r = q.at(n);
    return r.equity < r.maintenanceMargin;
  };
  if (!q.isLong) {
    if (liq(1n)) return q.tick;
    const hi = grow(q.start, liq);
    if (hi === null) return null;
    return (lastTrue(1n, hi, (n) => !liq(n)) + 1n) * q.tick;
  }
  if (!liq(1n)) return null;
  const safe = (n: bigint) => q.at(n).equity - q.at(n).maintenanceMargin >= 2n;
  const hi = grow(q.start, safe);
  if (hi === null) return null;
  let boundary = lastTrue(1n, hi, liq);
  let x = boundary + 1n;
  for (let i = 0; i < 100_000; i++) {
    const r = q.at(x);
    if (r.equity - r.maintenanceMargin >= 2n || x >= hi) return boundary * q.tick;
    if (r.equity < r.maintenanceMargin) {
      boundary = lastTrue(x, hi, liq);
      x = boundary + 1n;
      continue;
    }
    // Up to the next step of the maintenance margin, equity (non-decreasing) stays at or above it.
    const e = r.equity;
    if (q.at(hi).maintenanceMargin <= e) return boundary * q.tick;
    x = lastTrue(x, hi, (n) => q.at(n).maintenanceMargin <= e) + 1n;
  }
  throw new Error("liquidation price: the search did not settle");
}

/**
 * The bankruptcy price of the account's position in `marketId`: the price at which equity reaches zero,
 * with the same things held fixed as {@link perpLiquidationPrice}. For a long, the lowest price on the grid
 * with equity >= 0 (one step below, equity < 0); for a short, the highest. `equityAtPrice` is the equity
 * there: >= 0 and less than what one grid step of the price moves it by (|size| x step) plus a base unit.
 * Null when equity stays at or above zero at every positive price (a long) or is negative at every price (a
 * short), or the market is delisted.
 */
export function perpBankruptcyPrice(
  s: PerpAccountState,
  marketId: number,
): { price: bigint; equityAtPrice: bigint } | null {
  const q = priceSearch(s, marketId);
  if (!q) return null;
  const solvent = (n: bigint) => q.at(n).equity >= 0n;
  let n: bigint;
  if (q.isLong) {
    if (solvent(1n)) return null;
    const hi = grow(q.start, solvent);
    if (hi === null) return null;
    n = lastTrue(1n, hi, (k) => !solvent(k)) + 1n;
  } else {
    if (!solvent(1n)) return null;
    const hi = grow(q.start, (k) => !solvent(k));
    if (hi === null) return null;
    n = lastTrue(1n, hi, solvent);
  }
  return { price: n * q.tick, equityAtPrice: q.at(n).equity };
}

/** A side's basis part of one position (PerpMarket._basisPart). */
const basisPart = (a: bigint, entry: bigint, index: bigint) => mulDivDown(a, entry, WAD) - (a * index) / WAD;

/**
 * What `modifyPosition(marketId, sizeDelta, limit)` would do at the state's `at` if the limit allows the
 * fill (PerpMarket._modify and _trade, step by step): the fill, the fee, the old position realised at the
 * fill (capped as ProfitHaircut caps it), the open-interest cap, and the margin check afterwards (initial
 * margin after a risk-adding trade; solvency after closing the last position).
 */
export function simulateTrade(s: PerpAccountState, marketId: number, sizeDelta: bigint): TradeSimulation {
  const m = marketOf(s, marketId);
  const old = s.positions.find((p) => p.marketId === marketId);
  const oldSize = old?.size ?? 0n;
  const newSize = oldSize + sizeDelta;
  const addsRisk =
    oldSize === 0n || (newSize !== 0n && newSize > 0n !== oldSize > 0n) || abs(newSize) > abs(oldSize);
  const result: TradeSimulation = {
    sizeDelta,
    newSize,
    fillPrice: 0n,
    fee: 0n,
    realised: 0n,
    paid: 0n,
    marginAfter: s.margin,
    equityAfter: 0n,
    initialMarginAfter: 0n,
    addsRisk,
  };
  const fail = (error: TradeSimulation["error"]) => ({ ...result, error });
  if (sizeDelta === 0n) throw new Error("sizeDelta is zero");
  if (addsRisk) {
    if (m.status !== MarketStatus.ACTIVE) return fail("MarketNotActive");
    if (s.paused) return fail("MarketPaused");
    if (s.recourseDebt > 0n) return fail("RecourseDebtOutstanding");
    const ids = new Set([marketId, ...s.positions.map((p) => p.marketId)]);
    for (const id of ids) if (marketOf(s, id).priceStatus !== PriceStatus.OK) return fail("PriceNotUsable");
  }
  const P = m.price;
  const upu = s.usdPerUnit;
  const delisted = m.status === MarketStatus.DELISTED;
  const index = fundingIndexAt(m, s.at, P);
  const fill = delisted ? P : fillPriceOf(P, m.longOI - m.shortOI, sizeDelta, m.params.skewScale);
  if (fill <= 0n) return fail("InvalidFillPrice");
  result.fillPrice = fill;
  result.fee = delisted ? 0n : tradeFeeOf(sizeDelta, fill, m.params.tradingFee, upu);

  // Reposition: the old size out of the sums, the new one in at the fill.
  let { longOI, shortOI, longBasisSum, shortBasisSum } = m;
  if (old) {
    result.realised = positionValueOf(oldSize, old.entryPrice, old.entryFundingIndex, fill, index, upu);
    const part = basisPart(abs(oldSize), old.entryPrice, old.entryFundingIndex);
    if (oldSize > 0n) [longOI, longBasisSum] = [longOI - oldSize, longBasisSum - part];
    else [shortOI, shortBasisSum] = [shortOI + oldSize, shortBasisSum - part];
  }
  if (newSize !== 0n) {
    const part = basisPart(abs(newSize), fill, index);
    if (newSize > 0n) [longOI, longBasisSum] = [longOI + newSize, longBasisSum + part];
    else [shortOI, shortBasisSum] = [shortOI - newSize, shortBasisSum + part];
  }
  result.paid = result.realised;
  if (result.realised > s.pool.capital) {
    // _payable: a profit is paid up to the pool's capital plus what the market's traders owe it net.
    const longPnl = (P * longOI) / WAD - (index * longOI) / WAD - longBasisSum;
    const shortPnl = shortBasisSum - (P * shortOI) / WAD + (index * shortOI) / WAD;
    const available = positivePart(s.pool.capital + positivePart(-(longPnl + shortPnl)) / upu);
    if (result.realised > available) result.paid = available;
  }
  if (addsRisk) {
    const oi = newSize > 0n ? longOI : shortOI;
    const cap = newSize > 0n ? m.params.maxLongOI : m.params.maxShortOI;
    if (oi > cap) return fail("OpenInterestCapExceeded");
  }
  result.marginAfter = s.margin + result.paid - result.fee;

  // The account afterwards, at the traded market's price and index (accrued in this transaction).
  const positions = s.positions.filter((p) => p.marketId !== marketId);
  if (newSize !== 0n) positions.push({ marketId, size: newSize, entryPrice: fill, entryFundingIndex: index });
  const after: PerpAccountState = {
    ...s,
    margin: result.marginAfter,
    positions,
    markets: s.markets.map((x) =>
      x.marketId === marketId ? { ...x, fundingIndex: index, lastFundingTime: s.at, longOI, shortOI } : x,
    ),
  };
  const r = perpRisk(after);
  result.equityAfter = r.equity;
  result.initialMarginAfter = r.initialMargin;
  if (addsRisk && r.equity < r.initialMargin) return fail("InsufficientMargin");
  if (!addsRisk && positions.length === 0 && result.marginAfter < 0n) return fail("InsolventAccount");
  return result;
}

/**
 * The largest trade on `side` in `marketId` that the account can make at its state's `at`: the largest
 * |sizeDelta| for which {@link simulateTrade} passes, to the wei of size. Everything the contract checks is
 * included: initial margin growing with size, the fee, the price impact of the fill on the new entry, the
 * realised PnL of a position already held, the open-interest cap, pause, halt, recourse and price status.
 * Above the returned size by one wei the trade reverts with `limitedBy` (InsufficientMargin when margin
 * binds). Holding a position on the other side, the trade first closes it (always allowed) and the search
 * is over the flip beyond. Found by bisection on the exact simulation (equity falls and margin rises with
 * size, up to rounding; the result is a true boundary either way).
 */
export function maxPositionSize(s: PerpAccountState, marketId: number, side: Side): MaxPositionSize {
  const m = marketOf(s, marketId);
  const dir = side === "long" ? 1n : -1n;
  const oldSize = s.positions.find((p) => p.marketId === marketId)?.size ?? 0n;
  const along = oldSize * dir;
  const lo = along < 0n ? -along : 0n;
  const sideOI = side === "long" ? m.longOI : m.shortOI;
  const cap = side === "long" ? m.params.maxLongOI : m.params.maxShortOI;
  const maxNew = cap - (sideOI - positivePart(along));
  const hi = maxNew - along;
  const trade = (d: bigint) => simulateTrade(s, marketId, dir * d);
  const result = (size: bigint, limitedBy: MaxPositionSize["limitedBy"]): MaxPositionSize => ({
    size,
    sizeDelta: dir * size,
    newSize: oldSize + dir * size,
    trade: size > 0n ? trade(size) : undefined,
    limitedBy,
  });
  const first = trade(lo + 1n);
  if (first.error && first.error !== "InsufficientMargin" && first.error !== "OpenInterestCapExceeded") {
    return result(lo, first.error);
  }
  if (hi <= lo) return result(lo, "openInterest");
  if (!trade(hi).error) return result(hi, "openInterest");
  const size = lastTrue(lo, hi, (d) => !trade(d).error);
  const next = trade(size + 1n).error;
  return result(
    size,
    next === "OpenInterestCapExceeded" ? "openInterest" : next === "InsufficientMargin" ? "margin" : next!,
  );
}

/** The acceptable price for a trade filled at about `fill`: `slippage` (WAD) worse, rounded against the trader. */
export function acceptablePrice(fill: bigint, isBuy: boolean, slippage: bigint): bigint {
  if (slippage < 0n || slippage >= WAD) throw new Error("slippage must be in [0, 1)");
  return isBuy ? mulDivUp(fill, WAD + slippage, WAD) : mulDivDown(fill, WAD - slippage, WAD);
}

/* HELPERS */

/** Case-insensitive address equality. */
export const sameAddress = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
