/** Scenario builders shared by the test/sim suites. */
import type { ScenarioSpec } from "../../sim/scenario";
import { validateScenario } from "../../sim/scenario";

/** A valid scenario that uses every section: the base that error cases break one field of. */
export function baseSpec(): ScenarioSpec {
  return {
    name: "base",
    steps: 100,
    stepSeconds: 60,
    assets: [
      { symbol: "WETH", decimals: 18, price: 2000, heartbeat: 3600, fallback: true },
      { symbol: "WBTC", decimals: 8, price: 60000 },
    ],
    params: {
      lending: { WETH: { ltv: 0.8, liquidationThreshold: 0.85, liquidationBonus: 0.05 } },
      perps: { ETH: { maxLeverage: 20, maintenanceMargin: 0.025 } },
      insuranceFund: { initial: 100000 },
    },
    population: {
      suppliers: { count: 20, deposit: { dist: "lognormal", mean: 50000, sd: 0.5 } },
      borrowers: {
        count: 50,
        collateral: "WETH",
        size: { dist: "uniform", min: 1000, max: 100000 },
        ltv: { dist: "uniform", min: 0.3, max: 0.84 },
      },
      lps: { count: 10, deposit: 200000 },
      traders: {
        count: 30,
        market: "ETH",
        longShare: 0.6,
        margin: { dist: "normal", mean: 5000, sd: 1000 },
        leverage: { dist: "uniform", min: 2, max: 20 },
      },
    },
    keepers: [
      { kind: "liquidator", count: 3, latencySteps: 1, maxPerStep: 20 },
      { kind: "adl" },
      { kind: "orders" },
    ],
    path: [{ asset: "WETH", shape: "gap", at: 10, change: -0.5 }],
    oracle: [{ asset: "WETH", fault: "stale", from: 10, to: 40 }],
  };
}

/**
 * Sets the value at a JSON path as error messages write it (`population.borrowers.ltv.max`,
 * `path[0].change`), creating objects on the way; `undefined` deletes the key.
 */
export function setAt(doc: unknown, path: string, value: unknown): void {
  const keys = (path.match(/[^.[\]]+/g) ?? []).map((k) => (/^\d+$/.test(k) ? Number(k) : k));
  let node = doc as Record<string | number, unknown>;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== "object" || node[key] === null) node[key] = {};
    node = node[key] as Record<string | number, unknown>;
  }
  const last = keys[keys.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
}

/** `baseSpec()` with `changes` applied (path -> value). */
export function specWith(changes: Record<string, unknown>): ScenarioSpec {
  const spec = baseSpec();
  for (const [path, value] of Object.entries(changes)) setAt(spec, path, value);
  return spec;
}

/** The problems validation finds, as `[path, problem]` pairs. */
export function problems(doc: unknown, baseDir?: string): [string, string][] {
  return validateScenario(doc, { baseDir }).errors.map((e) => [e.path, e.problem]);
}
