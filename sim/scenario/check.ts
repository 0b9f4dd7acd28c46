/**
 * The validator's building blocks: errors that name a JSON path, and a checker that collects them (so a
 * researcher sees every problem at once) while reading typed values out of untyped JSON.
 */
import type { Bounds } from "./dist";

/** One problem in a scenario. `message` is `<path>: <problem>`, e.g. `assets[1].decimals: is required`. */
export class ScenarioError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = "ScenarioError";
  }
}

/** Every problem found in one scenario, thrown by `parseScenario` and `loadScenario`. */
export class ScenarioErrors extends Error {
  constructor(
    readonly source: string,
    readonly errors: ScenarioError[],
  ) {
    const n = errors.length;
    super(`${source}: ${n} problem${n === 1 ? "" : "s"}\n${errors.map((e) => `  ${e.message}`).join("\n")}`);
    this.name = "ScenarioErrors";
  }
}

/** The path of the whole document, in messages about the document itself. */
export const ROOT = "(root)";

/** `a.b` for a key, `a[0]` for an index; a key at the root is the key alone. */
export function join(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return path === ROOT ? key : `${path}.${key}`;
}

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A value as a message shows it: JSON, cut short. */
export function show(v: unknown): string {
  if (v === undefined) return "nothing";
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

export interface NumberRule extends Bounds {
  /** Strict bounds. */
  above?: number;
  below?: number;
}

/** The rule that `v` breaks, as a message. */
function breaks(v: number, rule: NumberRule): string | undefined {
  if (rule.int && !Number.isInteger(v)) return "must be a whole number";
  if (rule.min !== undefined && v < rule.min) return `must be at least ${rule.min}`;
  if (rule.max !== undefined && v > rule.max) return `must be at most ${rule.max}`;
  if (rule.above !== undefined && v <= rule.above) return `must be above ${rule.above}`;
  if (rule.below !== undefined && v >= rule.below) return `must be below ${rule.below}`;
  return undefined;
}

export class Checker {
  readonly errors: ScenarioError[] = [];

  fail(path: string, problem: string): undefined {
    this.errors.push(new ScenarioError(path, problem));
    return undefined;
  }

  /**
   * `v` as an object whose keys are among `keys` ("name" required, "name?" optional); reports every
   * unknown and every missing key.
   */
  object(v: unknown, path: string, keys: readonly string[]): Json | undefined {
    if (!isObject(v)) return this.fail(path, `must be an object (got ${show(v)})`);
    const known = keys.map((k) => k.replace(/\?$/, ""));
    for (const k of Object.keys(v)) {
      if (!known.includes(k)) this.fail(join(path, k), `unknown key (expected one of ${known.join(", ")})`);
    }
    for (const k of keys) if (!k.endsWith("?") && v[k] === undefined) this.fail(join(path, k), "is required");
    return v;
  }

  number(v: unknown, path: string, rule: NumberRule = {}): number | undefined {
    const finite = typeof v === "number" && Number.isFinite(v);
    if (!finite) return this.fail(path, `must be a number (got ${show(v)})`);
    const problem = breaks(v, rule);
    return problem === undefined ? v : this.fail(path, `${problem} (got ${v})`);
  }

  string(v: unknown, path: string): string | undefined {
    if (typeof v === "string" && v.trim() !== "") return v;
    return this.fail(path, `must be a non-empty string (got ${show(v)})`);
  }

  boolean(v: unknown, path: string): boolean | undefined {
    if (typeof v !== "boolean") return this.fail(path, `must be true or false (got ${show(v)})`);
    return v;
  }

  oneOf<T extends string>(v: unknown, path: string, options: readonly T[]): T | undefined {
    if (typeof v !== "string" || !options.includes(v as T)) {
      return this.fail(path, `must be one of ${options.join(", ")} (got ${show(v)})`);
    }
    return v as T;
  }

  array(v: unknown, path: string, nonEmpty = false): unknown[] | undefined {
    if (!Array.isArray(v)) return this.fail(path, `must be an array (got ${show(v)})`);
    if (nonEmpty && v.length === 0) return this.fail(path, "must not be empty");
    return v;
  }

  /** The entries of an object whose keys are names (asset symbols, market names), checked by the caller. */
  record(v: unknown, path: string): [string, unknown][] {
    if (v === undefined) return [];
    if (!isObject(v)) return this.fail(path, `must be an object (got ${show(v)})`) ?? [];
    return Object.entries(v);
  }

  /** The discriminant `key` of `o` (a shape, a fault, a keeper kind, a distribution). */
  kind<T extends string>(o: Json, path: string, key: string, options: readonly T[]): T | undefined {
    if (o[key] === undefined) return this.fail(join(path, key), `is required (one of ${options.join(", ")})`);
    return this.oneOf(o[key], join(path, key), options);
  }

  /** `object(v, path, keys)`, with readers for its fields. */
  fields(v: unknown, path: string, keys: readonly string[]): Fields | undefined {
    const o = this.object(v, path, keys);
    return o && new Fields(this, o, path);
  }
}

/**
 * Typed reads of one object's fields. A missing field reads as undefined without a message: `object`
 * has already reported the required ones, and the optional ones take their defaults.
 */
export class Fields {
  constructor(
    readonly c: Checker,
    readonly o: Json,
    readonly path: string,
  ) {}

  at(key: string): string {
    return join(this.path, key);
  }

  num(key: string, rule: NumberRule = {}): number | undefined {
    return this.o[key] === undefined ? undefined : this.c.number(this.o[key], this.at(key), rule);
  }

  str(key: string): string | undefined {
    return this.o[key] === undefined ? undefined : this.c.string(this.o[key], this.at(key));
  }

  bool(key: string): boolean | undefined {
    return this.o[key] === undefined ? undefined : this.c.boolean(this.o[key], this.at(key));
  }

  oneOf<T extends string>(key: string, options: readonly T[]): T | undefined {
    return this.o[key] === undefined ? undefined : this.c.oneOf(this.o[key], this.at(key), options);
  }
}
