/**
 * Reading a scenario: strict validation of the JSON of SCENARIOS.md, every problem collected (each a
 * ScenarioError naming its JSON path), defaults applied, names resolved, csv files read. Nothing here
 * touches a chain: a scenario that fails is reported before anything is deployed.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

import {
  Checker,
  Fields,
  Json,
  NumberRule,
  ROOT,
  ScenarioError,
  ScenarioErrors,
  isObject,
  join,
  show,
} from "./check";
import { parseCsv } from "./csv";
import { AMOUNT, Bounds, COUNT, FRACTION, LEVERAGE } from "./dist";
import { spanOf } from "./paths";
import type { Amount, Asset, Fault, FaultKind, Keeper, LendingParams, PerpParams } from "./types";
import type { Scenario, Shape, ShapeKind } from "./types";

/** Every default, as docs/scenarios.md lists them. */
export const DEFAULTS = {
  description: "",
  seed: 1,
  stepSeconds: 60,
  negativeBalancePolicy: "protected",
  cascade: false,
  heartbeat: 3600,
  fallback: false,
  insuranceFund: 0,
  longShare: 0.5,
  liquidator: { count: 1, latencySteps: 0, minProfit: 0, gasCostUsd: 0 },
  /** What a `negative` fault reports without `answer`. */
  negativeAnswer: -1,
  /** Seconds of grace after the sequencer is back up. */
  grace: 3600,
} as const;

/** The keepers of a scenario without `keepers`: the protocol with its keepers working. */
export function defaultKeepers(): Keeper[] {
  return [{ kind: "liquidator", ...DEFAULTS.liquidator }, { kind: "adl" }, { kind: "orders" }];
}

/** The router's largest grace period (OracleRouter.MAX_GRACE_PERIOD). */
const MAX_GRACE = 86400;
const POLICIES = ["protected", "recourse"] as const;
const SHAPES: readonly ShapeKind[] = ["gap", "linear", "vshape", "gbm", "csv", "points"];
const FAULTS: readonly FaultKind[] = [
  ...["stale", "freeze", "zero", "negative", "revert"],
  ...["clamp", "spike", "delay", "sequencerDown"],
] as const;
const KEEPERS = ["liquidator", "adl", "orders"] as const;
const FEEDS = ["primary", "fallback", "both"] as const;

const ROOT_KEYS = [
  ...["name", "description?", "seed?", "steps", "stepSeconds?", "negativeBalancePolicy?", "cascade?"],
  ...["assets", "params?", "population?", "keepers?", "path?", "oracle?"],
];
const LIQUIDATOR_KEYS = [
  ...["kind", "count?", "latencySteps?", "maxPerStep?", "marketDepth?", "gasCostUsd?", "minProfit?"],
];
const SHAPE_KEYS: Record<ShapeKind, string[]> = {
  gap: ["at", "change"],
  linear: ["at?", "over", "to?", "change?", "from?"],
  vshape: ["at", "change", "over", "recover", "recoverOver"],
  gbm: ["drift", "volatility", "at?", "over?"],
  csv: ["file", "at?"],
  points: ["points"],
};
const FAULT_KEYS: Record<FaultKind, string[]> = {
  stale: [],
  freeze: [],
  zero: [],
  negative: ["answer?"],
  revert: [],
  clamp: ["floor"],
  spike: ["factor"],
  delay: ["steps"],
  sequencerDown: ["grace?"],
};
const LENDING_RULES: Record<keyof LendingParams, NumberRule> = {
  ltv: { above: 0, below: 1 },
  liquidationThreshold: { above: 0, below: 1 },
  liquidationBonus: { min: 0, below: 1 },
  supplyCap: { min: 0 },
};
const PERP_RULES: Record<keyof PerpParams, NumberRule> = {
  maxLeverage: { min: 1 },
  maintenanceMargin: { above: 0, below: 1 },
  tradingFee: { min: 0, below: 1 },
  liquidationFee: { min: 0, below: 1 },
  maxFundingRatePerDay: { min: 0 },
  marginScale: { above: 0 },
  skewScale: { above: 0 },
  maxLongOI: { min: 0 },
  maxShortOI: { min: 0 },
  adlPnlFactor: { above: 0, max: 1 },
};

/* NAMES */

/** The names of an asset's perps market: its symbol and, when it starts with `W`, the symbol without it. */
export function marketNames(symbol: string): string[] {
  return symbol.length > 1 && symbol.startsWith("W") ? [symbol, symbol.slice(1)] : [symbol];
}

/** The symbol of the asset whose perps market `name` names (`ETH` and `WETH` -> `WETH`), if any. */
export function resolveMarket(name: string, assets: readonly { symbol: string }[]): string | undefined {
  return assets.find((a) => marketNames(a.symbol).includes(name))?.symbol;
}

/* THE SCENARIO */

export interface ParseOptions {
  /** Where csv files are looked up (the scenario file's directory). Default: the working directory. */
  baseDir?: string;
  /** What error messages call the scenario (its file). Default "scenario". */
  source?: string;
}

/** What validation needs to know across sections. */
interface Ctx {
  c: Checker;
  /** Undefined when `steps` itself is invalid: step bounds are then not checked. */
  steps?: number;
  stepSeconds: number;
  baseDir: string;
  /** The assets with a valid symbol; undefined when `assets` itself is invalid (no reference checks). */
  assets?: { symbol: string; fallback: boolean }[];
}

/** The validated scenario, or every problem found. Never throws on bad input. */
export function validateScenario(
  json: unknown,
  options: ParseOptions = {},
): { scenario?: Scenario; errors: ScenarioError[] } {
  const c = new Checker();
  const f = c.fields(structuredClone(json), ROOT, ROOT_KEYS);
  if (!f) return { errors: c.errors };
  const o = f.o;
  f.str("name");
  if (o.description !== undefined && typeof o.description !== "string") {
    c.fail("description", `must be a string (got ${show(o.description)})`);
  }
  f.num("seed", { int: true, min: 0, max: Number.MAX_SAFE_INTEGER });
  const steps = f.num("steps", { int: true, min: 1 });
  const stepSeconds = f.num("stepSeconds", { int: true, min: 1 }) ?? DEFAULTS.stepSeconds;
  f.oneOf("negativeBalancePolicy", POLICIES);
  f.bool("cascade");

  const ctx: Ctx = { c, steps, stepSeconds, baseDir: options.baseDir ?? process.cwd() };
  const assets = readAssets(ctx, o.assets);
  const params = readParams(ctx, o.params);
  const population = readPopulation(ctx, o.population);
  const keepers = o.keepers === undefined ? defaultKeepers() : readKeepers(ctx, o.keepers);
  const path = o.path === undefined ? [] : readShapes(ctx, o.path, "path", true);
  const oracle = o.oracle === undefined ? [] : readFaults(ctx, o.oracle);
  if (c.errors.length > 0) return { errors: c.errors };
  const scenario = {
    name: o.name,
    description: o.description ?? DEFAULTS.description,
    seed: o.seed ?? DEFAULTS.seed,
    steps,
    stepSeconds,
    negativeBalancePolicy: o.negativeBalancePolicy ?? DEFAULTS.negativeBalancePolicy,
    cascade: o.cascade ?? DEFAULTS.cascade,
    assets,
    params,
    population,
    keepers,
    path,
    oracle,
  };
  return { scenario: scenario as Scenario, errors: [] };
}

/** The validated scenario; throws ScenarioErrors listing every problem. */
export function parseScenario(json: unknown, options: ParseOptions = {}): Scenario {
  const { scenario, errors } = validateScenario(json, options);
  if (!scenario) throw new ScenarioErrors(options.source ?? "scenario", errors);
  return scenario;
}

/** Reads, validates and resolves a scenario file (csv paths relative to it); throws ScenarioErrors. */
export function loadScenario(file: string): Scenario {
  const fail = (problem: string) => new ScenarioErrors(file, [new ScenarioError(ROOT, problem)]);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw fail(err.code ? `cannot read the file (${err.code})` : `is not valid JSON (${err.message})`);
  }
  return parseScenario(json, { baseDir: dirname(file), source: file });
}

/* ASSETS AND PARAMETERS */

function readAssets(ctx: Ctx, v: unknown): Asset[] | undefined {
  const c = ctx.c;
  const list = v === undefined ? undefined : c.array(v, "assets", true);
  if (!list) return undefined;
  const known: { symbol: string; fallback: boolean; path: string }[] = [];
  const assets = list.map((a, i) => {
    const f = c.fields(a, `assets[${i}]`, ["symbol", "decimals", "price", "heartbeat?", "fallback?"]);
    if (!f) return undefined;
    const symbol = f.str("symbol");
    f.num("decimals", { int: true, min: 0, max: 18 });
    f.num("price", { above: 0 });
    f.num("heartbeat", { int: true, min: 1 });
    f.bool("fallback");
    if (symbol !== undefined) {
      for (const other of known) {
        const shared = marketNames(symbol).find((n) => marketNames(other.symbol).includes(n));
        const problem =
          other.symbol === symbol
            ? `duplicates ${other.path}.symbol`
            : shared && `perps market name "${shared}" would also name ${other.symbol}`;
        if (problem) c.fail(f.at("symbol"), problem);
      }
      known.push({ symbol, fallback: f.o.fallback === true, path: f.path });
    }
    return {
      ...f.o,
      heartbeat: f.o.heartbeat ?? DEFAULTS.heartbeat,
      fallback: f.o.fallback ?? DEFAULTS.fallback,
    };
  });
  ctx.assets = known;
  return assets as Asset[];
}

/** An asset symbol that must exist. */
function assetRef(ctx: Ctx, f: Fields, key: string): string | undefined {
  const symbol = f.str(key);
  if (symbol === undefined || !ctx.assets || ctx.assets.some((a) => a.symbol === symbol)) return symbol;
  const list = ctx.assets.map((a) => a.symbol).join(", ");
  return ctx.c.fail(f.at(key), `is not an asset of this scenario (got ${show(symbol)}; assets: ${list})`);
}

/** The asset symbol that a perps market name resolves to; an error naming `path` when none does. */
function marketRef(ctx: Ctx, name: string, path: string): string | undefined {
  if (!ctx.assets) return name;
  const symbol = resolveMarket(name, ctx.assets);
  if (symbol !== undefined) return symbol;
  const list = ctx.assets.map((a) => marketNames(a.symbol).join(" or ")).join(", ");
  return ctx.c.fail(path, `names no perps market (got ${show(name)}; markets: ${list})`);
}

/** An object of optional numbers, each under its rule; the valid ones. */
function readNumbers(c: Checker, v: unknown, path: string, rules: Record<string, NumberRule>) {
  const valid: Record<string, number | undefined> = {};
  const f = c.fields(
    v,
    path,
    Object.keys(rules).map((k) => `${k}?`),
  );
  if (f) for (const key of Object.keys(rules)) valid[key] = f.num(key, rules[key]);
  return valid;
}

function readParams(ctx: Ctx, v: unknown): Scenario["params"] {
  const c = ctx.c;
  const out: Scenario["params"] = {
    lending: {},
    perps: {},
    insuranceFund: { initial: DEFAULTS.insuranceFund },
  };
  const f = v === undefined ? undefined : c.fields(v, "params", ["lending?", "perps?", "insuranceFund?"]);
  if (!f) return out;
  for (const [key, value] of c.record(f.o.lending, "params.lending")) {
    const path = `params.lending.${key}`;
    if (ctx.assets && !ctx.assets.some((a) => a.symbol === key)) {
      c.fail(
        path,
        `is not an asset of this scenario (assets: ${ctx.assets.map((a) => a.symbol).join(", ")})`,
      );
    }
    const { ltv, liquidationThreshold: lt } = readNumbers(c, value, path, LENDING_RULES);
    if (ltv !== undefined && lt !== undefined && ltv >= lt) {
      c.fail(`${path}.ltv`, `must be below liquidationThreshold (${lt}) (got ${ltv})`);
    }
    out.lending[key] = value as LendingParams;
  }
  const seen = new Map<string, string>();
  for (const [key, value] of c.record(f.o.perps, "params.perps")) {
    const path = `params.perps.${key}`;
    const symbol = marketRef(ctx, key, path);
    if (symbol !== undefined && seen.has(symbol)) {
      c.fail(path, `names the same market as ${seen.get(symbol)}`);
    }
    if (symbol !== undefined) seen.set(symbol, path);
    const {
      maxLeverage: lev,
      maintenanceMargin: mm,
      liquidationFee: fee,
    } = readNumbers(c, value, path, PERP_RULES);
    if (lev !== undefined && mm !== undefined && mm >= 1 / lev) {
      c.fail(`${path}.maintenanceMargin`, `must be below 1 / maxLeverage (${1 / lev}) (got ${mm})`);
    }
    if (fee !== undefined && mm !== undefined && fee > mm) {
      c.fail(`${path}.liquidationFee`, `must be at most maintenanceMargin (${mm}) (got ${fee})`);
    }
    out.perps[symbol ?? key] = value as PerpParams;
  }
  if (f.o.insuranceFund !== undefined) {
    const fund = c.fields(f.o.insuranceFund, "params.insuranceFund", ["initial"]);
    const initial = fund?.num("initial", { min: 0 });
    if (initial !== undefined) out.insuranceFund = { initial };
  }
  return out;
}

/* POPULATION */

/** A number or a distribution whose values (min, max, mean) lie within `bounds`. */
function readAmount(c: Checker, v: unknown, path: string, bounds: Bounds): Amount | undefined {
  if (v === undefined) return undefined; // a required field: `object` reported it
  if (typeof v === "number") return c.number(v, path, bounds);
  if (!isObject(v)) return c.fail(path, `must be a number or a distribution (got ${show(v)})`);
  const dist = c.kind(v, path, "dist", ["uniform", "normal", "lognormal"] as const);
  if (!dist) return undefined;
  const range: NumberRule = { min: bounds.min, max: bounds.max };
  if (dist === "uniform") {
    const f = c.fields(v, path, ["dist", "min", "max"])!;
    const min = f.num("min", range);
    const max = f.num("max", range);
    if (min !== undefined && max !== undefined && max < min) {
      return c.fail(f.at("max"), `must be at least min (${min}) (got ${max})`);
    }
  } else {
    const f = c.fields(v, path, ["dist", "mean", "sd"])!;
    f.num("mean", dist === "lognormal" ? { ...range, above: 0 } : range);
    f.num("sd", { min: 0 });
  }
  return v as Amount;
}

function readPopulation(ctx: Ctx, v: unknown): Scenario["population"] {
  const c = ctx.c;
  const f =
    v === undefined ? undefined : c.fields(v, "population", ["suppliers?", "borrowers?", "lps?", "traders?"]);
  if (!f) return {};
  const group = (name: string, keys: string[]) =>
    f.o[name] === undefined ? undefined : c.fields(f.o[name], `population.${name}`, keys);
  for (const name of ["suppliers", "lps"]) {
    const g = group(name, ["count", "deposit"]);
    readAmount(c, g?.o.count, `population.${name}.count`, COUNT);
    readAmount(c, g?.o.deposit, `population.${name}.deposit`, AMOUNT);
  }
  const borrowers = group("borrowers", ["count", "collateral", "size", "ltv"]);
  if (borrowers) {
    readAmount(c, borrowers.o.count, borrowers.at("count"), COUNT);
    assetRef(ctx, borrowers, "collateral");
    readAmount(c, borrowers.o.size, borrowers.at("size"), AMOUNT);
    readAmount(c, borrowers.o.ltv, borrowers.at("ltv"), FRACTION);
  }
  const traders = group("traders", ["count", "market", "longShare?", "margin", "leverage", "stopLoss?"]);
  let asset: string | undefined;
  if (traders) {
    readAmount(c, traders.o.count, traders.at("count"), COUNT);
    const market = traders.str("market");
    if (market !== undefined) asset = marketRef(ctx, market, traders.at("market"));
    traders.num("longShare", { min: 0, max: 1 });
    readAmount(c, traders.o.margin, traders.at("margin"), AMOUNT);
    readAmount(c, traders.o.leverage, traders.at("leverage"), LEVERAGE);
    if (traders.o.stopLoss !== undefined) {
      const stop = c.fields(traders.o.stopLoss, traders.at("stopLoss"), ["share", "distance"]);
      stop?.num("share", { min: 0, max: 1 });
      stop?.num("distance", { above: 0, below: 1 });
    }
  }
  if (!traders) return f.o as Scenario["population"];
  const longShare = traders.o.longShare ?? DEFAULTS.longShare;
  return { ...f.o, traders: { ...traders.o, longShare, asset } } as Scenario["population"];
}

/* KEEPERS */

function readKeepers(ctx: Ctx, v: unknown): Keeper[] {
  const c = ctx.c;
  return (c.array(v, "keepers") ?? []).map((k, i) => {
    const path = `keepers[${i}]`;
    if (!isObject(k)) return c.fail(path, `must be an object (got ${show(k)})`);
    const kind = c.kind(k, path, "kind", KEEPERS);
    if (kind !== "liquidator") {
      if (kind) c.object(k, path, ["kind"]);
      return k;
    }
    const f = c.fields(k, path, LIQUIDATOR_KEYS)!;
    f.num("count", { int: true, min: 1 });
    f.num("latencySteps", { int: true, min: 0 });
    f.num("maxPerStep", { int: true, min: 1 });
    f.num("marketDepth", { above: 0 });
    f.num("minProfit", { min: 0 });
    let gas = f.o.gasCostUsd;
    if (isObject(gas)) {
      const g = c.fields(gas, f.at("gasCostUsd"), ["start", "path"])!;
      g.num("start", { min: 0 });
      gas = { ...g.o, path: g.o.path === undefined ? [] : readShapes(ctx, g.o.path, g.at("path"), false) };
    } else if (gas !== undefined && typeof gas !== "number") {
      c.fail(f.at("gasCostUsd"), `must be a number or { "start", "path" } (got ${show(gas)})`);
    } else f.num("gasCostUsd", { min: 0 });
    return { kind, ...DEFAULTS.liquidator, ...k, gasCostUsd: gas ?? DEFAULTS.liquidator.gasCostUsd };
  }) as Keeper[];
}

/* PRICE PATHS */

/** The entries of a price path (`withAsset`: the scenario's `path`; without: a gas cost path). */
function readShapes(ctx: Ctx, v: unknown, path: string, withAsset: boolean): Shape[] {
  const list = ctx.c.array(v, path) ?? [];
  const shapes = list.map((s, i) => readShape(ctx, s, join(path, i), withAsset));
  // Overlaps, among the entries that are valid, on the same asset.
  const grid = { steps: ctx.steps ?? Infinity, stepSeconds: ctx.stepSeconds };
  const spans = shapes.map((s) => s && spanOf(s, grid));
  const range = ([a, b]: [number, number]) => (a === b ? `${a}` : `${a}-${b}`);
  for (let j = 0; j < shapes.length; j++) {
    for (let i = 0; i < j; i++) {
      const [a, b] = [spans[i], spans[j]];
      const asset = (shapes[j] as { asset?: string } | undefined)?.asset;
      if (!a || !b || (shapes[i] as { asset?: string }).asset !== asset) continue;
      if (a[0] <= b[1] && b[0] <= a[1]) {
        const on = asset === undefined ? "" : ` on ${asset}`;
        ctx.c.fail(join(path, j), `overlaps ${join(path, i)}${on} (steps ${range(a)} and ${range(b)})`);
      }
    }
  }
  return shapes as Shape[];
}

/** One entry; undefined when it has any problem (so that overlaps are only checked between valid ones). */
function readShape(ctx: Ctx, v: unknown, path: string, withAsset: boolean): Shape | undefined {
  const c = ctx.c;
  const before = c.errors.length;
  if (!isObject(v)) return c.fail(path, `must be an object (got ${show(v)})`);
  const shape = c.kind(v, path, "shape", SHAPES);
  if (!shape) return undefined;
  const f = c.fields(v, path, [...(withAsset ? ["asset"] : []), "shape", ...SHAPE_KEYS[shape]])!;
  if (withAsset) assetRef(ctx, f, "asset");
  const step: NumberRule = { int: true, min: 0, max: ctx.steps };
  const length: NumberRule = { int: true, min: 1 };
  const change: NumberRule = { above: -1 };
  /** The last step an entry reaches must be a step of the run. */
  const endsBy = (start: number | undefined, length: number | undefined, key: string) => {
    if (start === undefined || length === undefined || ctx.steps === undefined) return;
    if (start + length > ctx.steps) {
      c.fail(f.at(key), `ends at step ${start + length}, after the last step (${ctx.steps})`);
    }
  };
  const at = f.num("at", step);
  let resolved: Json = f.o;
  switch (shape) {
    case "gap":
      f.num("change", change);
      break;
    case "linear":
      endsBy(at ?? 0, f.num("over", length), "over");
      f.num("to", { above: 0 });
      f.num("change", change);
      f.num("from", { above: 0 });
      if (f.o.to === undefined && f.o.change === undefined) c.fail(f.at("to"), "is required (or change)");
      if (f.o.to !== undefined && f.o.change !== undefined) {
        c.fail(f.at("change"), "must not be given with to");
      }
      resolved = { ...f.o, at: at ?? 0 };
      break;
    case "vshape": {
      f.num("change", { above: -1, below: 0 });
      const over = f.num("over", length);
      f.num("recover", { min: 0, max: 1 });
      const recoverOver = f.num("recoverOver", length);
      endsBy(
        at,
        over !== undefined && recoverOver !== undefined ? over + recoverOver : undefined,
        "recoverOver",
      );
      break;
    }
    case "gbm": {
      f.num("drift");
      f.num("volatility", { min: 0 });
      const start = at ?? 0;
      const over = f.num("over", length) ?? (ctx.steps === undefined ? undefined : ctx.steps - start);
      if (f.o.over === undefined && over === 0) {
        c.fail(f.at("at"), `must be below steps (${ctx.steps}) when over is omitted`);
      } else endsBy(start, over, "over");
      resolved = { ...f.o, at: start, over };
      break;
    }
    case "csv":
      resolved = { ...f.o, at: at ?? 0, rows: readCsvFile(ctx, f) };
      break;
    case "points":
      readPoints(ctx, f);
      break;
  }
  return c.errors.length === before ? (resolved as Shape) : undefined;
}

function readCsvFile(ctx: Ctx, f: Fields) {
  const file = f.str("file");
  if (file === undefined) return undefined;
  const full = resolve(ctx.baseDir, file);
  let text: string;
  try {
    text = readFileSync(full, "utf8");
  } catch (e) {
    return ctx.c.fail(f.at("file"), `cannot read ${full} (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  const { rows, problems } = parseCsv(text);
  for (const p of problems) ctx.c.fail(f.at("file"), `${file} ${p}`);
  return rows;
}

function readPoints(ctx: Ctx, f: Fields) {
  const c = ctx.c;
  const points = f.o.points === undefined ? undefined : c.array(f.o.points, f.at("points"), true);
  let previous: number | undefined;
  points?.forEach((pt, i) => {
    const path = join(f.at("points"), i);
    if (!Array.isArray(pt) || pt.length !== 2) {
      return c.fail(path, `must be a [step, price] pair (got ${show(pt)})`);
    }
    const step = c.number(pt[0], join(path, 0), { int: true, min: 0, max: ctx.steps });
    c.number(pt[1], join(path, 1), { above: 0 });
    if (step !== undefined && previous !== undefined && step <= previous) {
      c.fail(join(path, 0), `must be above the previous point's step (${previous}) (got ${step})`);
    }
    previous = step ?? previous;
  });
}

/* ORACLE FAULTS */

function readFaults(ctx: Ctx, v: unknown): Fault[] {
  const list = ctx.c.array(v, "oracle") ?? [];
  const faults = list.map((x, i) => readFault(ctx, x, `oracle[${i}]`));
  const feeds = (f: Fault): string[] =>
    f.fault === "sequencerDown" ? ["sequencer"] : f.feed === "both" ? ["primary", "fallback"] : [f.feed];
  for (let j = 0; j < faults.length; j++) {
    for (let i = 0; i < j; i++) {
      const [a, b] = [faults[i], faults[j]];
      if (!a || !b) continue;
      const seq = a.fault === "sequencerDown" && b.fault === "sequencerDown";
      if (seq && a.grace !== b.grace) {
        ctx.c.fail(
          `oracle[${j}].grace`,
          `differs from oracle[${i}] (${a.grace}): the router has one grace period`,
        );
      }
      const shared = feeds(a).find((x) => feeds(b).includes(x));
      if (!shared || (!seq && a.asset !== b.asset) || a.from >= b.to || b.from >= a.to) continue;
      const what = seq ? "the sequencer" : `the ${a.asset} ${shared} feed`;
      const windows = `[${a.from}, ${a.to}) and [${b.from}, ${b.to})`;
      ctx.c.fail(`oracle[${j}]`, `overlaps oracle[${i}] on ${what} (steps ${windows})`);
    }
  }
  return faults as Fault[];
}

/** One fault; undefined when it has any problem. */
function readFault(ctx: Ctx, v: unknown, path: string): Fault | undefined {
  const c = ctx.c;
  const before = c.errors.length;
  if (!isObject(v)) return c.fail(path, `must be an object (got ${show(v)})`);
  const fault = c.kind(v, path, "fault", FAULTS);
  if (!fault) return undefined;
  const seq = fault === "sequencerDown";
  const f = c.fields(v, path, [
    "asset",
    "fault",
    "from",
    "to?",
    ...(seq ? [] : ["feed?"]),
    ...FAULT_KEYS[fault],
  ])!;
  const symbol = assetRef(ctx, f, "asset");
  const from = f.num("from", { int: true, min: 0, max: ctx.steps });
  const to = f.num("to", { int: true, min: 1, max: ctx.steps === undefined ? undefined : ctx.steps + 1 });
  if (from !== undefined && to !== undefined && to <= from) {
    c.fail(f.at("to"), `must be above from (${from}) (got ${to})`);
  } else if (fault === "spike" && from !== undefined && to !== undefined && to !== from + 1) {
    c.fail(f.at("to"), `must be from + 1 (${from + 1}) or omitted: a spike is one print (got ${to})`);
  }
  const feed = f.oneOf("feed", FEEDS) ?? "primary";
  const asset = ctx.assets?.find((a) => a.symbol === symbol);
  if (feed !== "primary" && asset && !asset.fallback) {
    c.fail(f.at("feed"), `${symbol} has no fallback feed (set "fallback": true on the asset)`);
  }
  f.num("answer", { below: 0 });
  f.num("floor", { above: 0 });
  f.num("factor", { above: 0 });
  f.num("steps", { int: true, min: 1 });
  f.num("grace", { int: true, min: 0, max: MAX_GRACE });
  if (c.errors.length > before || from === undefined || ctx.steps === undefined) return undefined;
  const end = to ?? (fault === "spike" ? from + 1 : ctx.steps + 1);
  if (seq) return { ...f.o, to: end, grace: f.o.grace ?? DEFAULTS.grace } as Fault;
  return {
    ...f.o,
    to: end,
    feed,
    ...(fault === "negative" ? { answer: f.o.answer ?? DEFAULTS.negativeAnswer } : {}),
  } as Fault;
}
