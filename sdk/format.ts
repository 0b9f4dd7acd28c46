/**
 * Display helpers. The SDK returns every number as a bigint in the contracts' units; these turn them into
 * strings (exact, by decimal shifting, then cut to a number of decimals) or approximate JavaScript numbers.
 * None of them should feed back into a transaction: keep the bigints for that.
 *
 * @packageDocumentation
 */
import { formatUnits } from "ethers";

import { MAX_UINT256 } from "./math";

/**
 * `value` with `decimals` decimals as a decimal string, cut (not rounded) to at most `digits` decimals, with
 * thousands separators: formatFixed(1234567891n, 6, 2) === "1,234.56".
 */
export function formatFixed(value: bigint, decimals: number, digits = decimals): string {
  const negative = value < 0n;
  const text = formatUnits(negative ? -value : value, decimals);
  const [whole, fraction = ""] = text.split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const cut = fraction.slice(0, digits).replace(/0+$/, "");
  return `${negative ? "-" : ""}${grouped}${cut ? `.${cut}` : ""}`;
}

/** A base-asset amount (base units, 6 decimals for USDC): formatBase(1500000n) === "1.5". */
export const formatBase = (amount: bigint, baseDecimals = 6, digits = 2): string =>
  formatFixed(amount, baseDecimals, digits);

/** A WAD number (prices, sizes): formatWad(3000n * 10n ** 18n) === "3,000". */
export const formatWad = (value: bigint, digits = 4): string => formatFixed(value, 18, digits);

/** A WAD price in USD: formatPrice(2941176470588235294117n) === "$2,941.17". */
export const formatPrice = (price: bigint, digits = 2): string =>
  price < 0n ? `-$${formatWad(-price, digits)}` : `$${formatWad(price, digits)}`;

/** A WAD fraction as a percentage: formatPercent(-42n * 10n ** 16n) === "-42%". */
export const formatPercent = (fraction: bigint, digits = 2): string =>
  `${formatFixed(fraction * 100n, 18, digits)}%`;

/** A WAD health, "∞" for an account without debt (2^256 - 1): formatHealth(1_25n * 10n ** 16n) === "1.25". */
export const formatHealth = (health: bigint, digits = 4): string =>
  health === MAX_UINT256 ? "∞" : formatFixed(health, 18, digits);

/** A WAD value as an approximate JavaScript number (for charts; loses precision beyond 2^53). */
export const wadToNumber = (value: bigint): number => Number(formatUnits(value, 18));

/** An amount with `decimals` decimals as an approximate JavaScript number. */
export const unitsToNumber = (value: bigint, decimals: number): number =>
  Number(formatUnits(value, decimals));
