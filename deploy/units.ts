import { parseUnits } from "ethers";

/** Fixed-point helpers shared by the deploy script, tests and tools. */
export const WAD = 10n ** 18n;

/** A decimal number or string as a fixed-point integer with `decimals` decimals (exact for strings). */
export function toUnits(value: number | string, decimals: number): bigint {
  const text = typeof value === "number" ? numberToPlain(value) : value;
  return parseUnits(text, decimals);
}

/** A decimal as WAD. */
export function wad(value: number | string): bigint {
  return toUnits(value, 18);
}

/** A number without exponent notation, so that parseUnits accepts it. */
function numberToPlain(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
  const text = value.toString();
  if (!/e/i.test(text)) return text;
  return value.toFixed(20).replace(/\.?0+$/, "");
}
