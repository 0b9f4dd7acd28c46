/**
 * Values that may be distributions: their bounds (shared by the validator and the samplers) and the
 * samplers themselves.
 */
import type { Rng } from "./rng";
import type { Amount } from "./types";

/** Closed bounds of a value; `int`: a plain number must be whole (samples are rounded instead). */
export interface Bounds {
  min?: number;
  max?: number;
  int?: boolean;
}

/** Every value in the population: USD amounts, counts, loan-to-values, leverage. */
export const AMOUNT: Bounds = { min: 0 };
export const COUNT: Bounds = { min: 0, int: true };
export const FRACTION: Bounds = { min: 0, max: 1 };
export const LEVERAGE: Bounds = { min: 1 };

/**
 * One draw of `value`: a number is returned as is; uniform is min + (max - min) u; normal is mean + sd z;
 * lognormal is mean x exp(sd z) (`mean` is the median). Draws are clamped into `bounds` (a normal deposit
 * never goes below 0, a normal loan-to-value never above 1).
 */
export function sample(value: Amount, rng: Rng, bounds: Bounds = {}): number {
  let x: number;
  if (typeof value === "number") x = value;
  else if (value.dist === "uniform") x = value.min + (value.max - value.min) * rng.next();
  else if (value.dist === "normal") x = value.mean + value.sd * rng.normal();
  else x = value.mean * Math.exp(value.sd * rng.normal());
  return Math.min(bounds.max ?? Infinity, Math.max(bounds.min ?? -Infinity, x));
}

/** One draw of a count, rounded to the nearest whole number (never below 0). */
export function sampleCount(value: Amount, rng: Rng): number {
  return Math.round(sample(value, rng, COUNT));
}
