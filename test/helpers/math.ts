/**
 * The contracts' fixed-point maths mirrored in TypeScript (contracts/libraries/MathLib.sol and
 * SharesMath.sol), for tests that predict results to the unit. One copy, shared by every test.
 */
export const WAD = 10n ** 18n;
export const VIRTUAL_SHARES = 10n ** 6n;
export const VIRTUAL_ASSETS = 1n;

export const mulDivDown = (x: bigint, y: bigint, d: bigint) => (x * y) / d;
export const mulDivUp = (x: bigint, y: bigint, d: bigint) => (x * y + d - 1n) / d;
export const wMulDown = (x: bigint, y: bigint) => mulDivDown(x, y, WAD);
export const wMulUp = (x: bigint, y: bigint) => mulDivUp(x, y, WAD);
export const wDivDown = (x: bigint, y: bigint) => mulDivDown(x, WAD, y);
export const wDivUp = (x: bigint, y: bigint) => mulDivUp(x, WAD, y);
export const min = (a: bigint, b: bigint) => (a < b ? a : b);
export const max = (a: bigint, b: bigint) => (a > b ? a : b);

export const toSharesDown = (assets: bigint, totalAssets: bigint, totalShares: bigint) =>
  mulDivDown(assets, totalShares + VIRTUAL_SHARES, totalAssets + VIRTUAL_ASSETS);
export const toSharesUp = (assets: bigint, totalAssets: bigint, totalShares: bigint) =>
  mulDivUp(assets, totalShares + VIRTUAL_SHARES, totalAssets + VIRTUAL_ASSETS);
export const toAssetsDown = (shares: bigint, totalAssets: bigint, totalShares: bigint) =>
  mulDivDown(shares, totalAssets + VIRTUAL_ASSETS, totalShares + VIRTUAL_SHARES);
export const toAssetsUp = (shares: bigint, totalAssets: bigint, totalShares: bigint) =>
  mulDivUp(shares, totalAssets + VIRTUAL_ASSETS, totalShares + VIRTUAL_SHARES);

/** A market's totals as a named object (LendingMarket.totals() returns a tuple). */
export interface Totals {
  supplyAssets: bigint;
  supplyShares: bigint;
  borrowAssets: bigint;
  borrowShares: bigint;
  reserves: bigint;
}

/** Reads `totals()` of a market. */
export async function readTotals(market: {
  totals(): Promise<[bigint, bigint, bigint, bigint, bigint]>;
}): Promise<Totals> {
  const [supplyAssets, supplyShares, borrowAssets, borrowShares, reserves] = await market.totals();
  return { supplyAssets, supplyShares, borrowAssets, borrowShares, reserves };
}
