/**
 * Price paths: the market price of each asset at every step 0..steps (inclusive), from its starting
 * price and the scenario's path entries. Between entries the price holds; each entry starts from the
 * price the earlier ones left (entries are applied in step order, whatever their order in the file).
 *
 * Each entry sets the prices of a span of steps (`spanOf`); spans on one asset may not overlap:
 * - gap: step `at`, the price before it x (1 + change);
 * - linear: steps at+1..at+over from the price at `at` (or at..at+over from `from`), in equal steps,
 *   exactly `to` (or the start x (1 + change)) at at+over;
 * - vshape: down in equal steps to the price at `at` x (1 + change) at at+over, then up in equal steps to
 *   the trough + recover x the drop at at+over+recoverOver;
 * - gbm: steps at+1..at+over, each price x exp((drift - volatility^2 / 2) dt + volatility sqrt(dt) z),
 *   dt = stepSeconds / (365 x 86400), z from the entry's own seeded stream;
 * - csv: from step `at` to the first step at or after the last row (within the run); the price at step
 *   at+j is the last row whose time <= first time + j x stepSeconds (the first row plays at step `at`);
 * - points: from the first point's step to the last's, each price held until the next point.
 */
import { Rng } from "./rng";
import type { Scenario, Shape } from "./types";

export interface Grid {
  steps: number;
  stepSeconds: number;
}

export const SECONDS_PER_YEAR = 365 * 86400;

/** The first and last step whose price `shape` sets. */
export function spanOf(shape: Shape, grid: Grid): [number, number] {
  switch (shape.shape) {
    case "gap":
      return [shape.at, shape.at];
    case "linear":
      return [shape.from === undefined ? shape.at + 1 : shape.at, shape.at + shape.over];
    case "vshape":
      return [shape.at + 1, shape.at + shape.over + shape.recoverOver];
    case "gbm":
      return [shape.at + 1, shape.at + shape.over];
    case "csv": {
      const seconds = shape.rows[shape.rows.length - 1][0] - shape.rows[0][0];
      return [shape.at, Math.min(grid.steps, shape.at + Math.ceil(seconds / grid.stepSeconds))];
    }
    case "points":
      return [shape.points[0][0], shape.points[shape.points.length - 1][0]];
  }
}

/** `from` + (`to` - `from`) x i / n, exactly `to` at i = n. */
function lerp(from: number, to: number, i: number, n: number): number {
  return i === n ? to : from + ((to - from) * i) / n;
}

/**
 * The price at every step 0..grid.steps, starting at `start`. `rngFor(i)` is the stream of `entries[i]`
 * (used by gbm only). The entries must not overlap (the validator checks).
 */
export function pricePath(start: number, entries: readonly Shape[], grid: Grid, rngFor: (i: number) => Rng) {
  const p: number[] = [start];
  const holdTo = (k: number) => {
    while (p.length <= k) p.push(p[p.length - 1]);
  };
  const order = entries.map((shape, i) => ({ shape, i, span: spanOf(shape, grid) }));
  order.sort((a, b) => a.span[0] - b.span[0]);
  for (const { shape, i, span } of order) {
    const [first, last] = span;
    holdTo(first - 1);
    const before = first === 0 ? start : p[first - 1];
    const set = (k: number, price: number) => (p[k] = price);
    switch (shape.shape) {
      case "gap":
        set(first, before * (1 + shape.change));
        break;
      case "linear": {
        const from = shape.from ?? before;
        const to = shape.to ?? from * (1 + (shape.change ?? 0));
        for (let k = first; k <= last; k++) set(k, lerp(from, to, k - shape.at, shape.over));
        break;
      }
      case "vshape": {
        const trough = before * (1 + shape.change);
        const end = before - (1 - shape.recover) * (before - trough); // exactly `before` at recover = 1
        for (let j = 1; j <= shape.over; j++) set(shape.at + j, lerp(before, trough, j, shape.over));
        for (let j = 1; j <= shape.recoverOver; j++) {
          set(shape.at + shape.over + j, lerp(trough, end, j, shape.recoverOver));
        }
        break;
      }
      case "gbm": {
        const rng = rngFor(i);
        const dt = grid.stepSeconds / SECONDS_PER_YEAR;
        const driftPerStep = (shape.drift - shape.volatility ** 2 / 2) * dt;
        const shockScale = shape.volatility * Math.sqrt(dt);
        for (let k = first; k <= last; k++)
          set(k, p[k - 1] * Math.exp(driftPerStep + shockScale * rng.normal()));
        break;
      }
      case "csv": {
        const rows = shape.rows;
        let r = 0;
        for (let k = first; k <= last; k++) {
          const time = rows[0][0] + (k - shape.at) * grid.stepSeconds;
          while (r + 1 < rows.length && rows[r + 1][0] <= time) r++;
          set(k, rows[r][1]);
        }
        break;
      }
      case "points": {
        let n = 0;
        for (let k = first; k <= last; k++) {
          while (n + 1 < shape.points.length && shape.points[n + 1][0] <= k) n++;
          set(k, shape.points[n][1]);
        }
        break;
      }
    }
  }
  holdTo(grid.steps);
  return p;
}

/** The market price of every asset at every step 0..steps, keyed by symbol. */
export function pricePaths(s: Scenario): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const asset of s.assets) {
    const entries = s.path.filter((e) => e.asset === asset.symbol);
    out[asset.symbol] = pricePath(asset.price, entries, s, (i) => Rng.from(s.seed, "path", asset.symbol, i));
  }
  return out;
}

/** The gas cost (USD per liquidation) of `s.keepers[keeper]`, a liquidator, at every step 0..steps. */
export function gasCostPath(s: Scenario, keeper: number): number[] {
  const k = s.keepers[keeper];
  if (k?.kind !== "liquidator") throw new Error(`keepers[${keeper}] is not a liquidator`);
  const gas = k.gasCostUsd;
  if (typeof gas === "number") return new Array<number>(s.steps + 1).fill(gas);
  return pricePath(gas.start, gas.path, s, (i) => Rng.from(s.seed, "gas", keeper, i));
}
