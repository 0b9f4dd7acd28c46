/**
 * What a sweep varies: a JSON path into the scenario file (`params.lending.WETH.liquidationBonus`,
 * `path[0].change`) and the list of values it takes (`0.02,0.05,0.1`). Pure functions on the raw JSON; the
 * strict scenario validator judges each variant afterwards (sim/sweep/plan.ts).
 */

/** A problem with a `--param` path or a `--values` list; the message names the path or the value. */
export class SweepInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SweepInputError";
  }
}

export type Key = string | number;

/**
 * Keys under `params` that may be written without it, as SCENARIOS.md's example does
 * (`--param lending.WETH.liquidationBonus=...`): none of them is a key at the root of a scenario, so the
 * shorthand is never ambiguous.
 */
const PARAMS_SHORTHAND = ["lending", "perps", "insuranceFund"];

/** `a.b[0].c` as keys (`["a", "b", 0, "c"]`); throws on an empty segment or a malformed index. */
export function parsePath(path: string): Key[] {
  const text = path.trim();
  if (text === "") throw new SweepInputError("the parameter path is empty");
  const keys: Key[] = [];
  // One segment: a name, then any number of [index] suffixes.
  for (const segment of text.split(".")) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(segment);
    if (!m || (m[1] === "" && (keys.length === 0 || m[2] === ""))) {
      throw new SweepInputError(`${path}: not a path (write it as a.b[0].c)`);
    }
    if (m[1] !== "") keys.push(m[1]);
    for (const index of m[2].match(/\d+/g) ?? []) keys.push(Number(index));
  }
  if (typeof keys[0] !== "string") throw new SweepInputError(`${path}: must start with a key`);
  if (PARAMS_SHORTHAND.includes(keys[0])) keys.unshift("params");
  return keys;
}

/** Keys back to the path as validator messages write it (`path[0].change`). */
export function formatPath(keys: readonly Key[]): string {
  return keys.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return "a list";
  if (v === null) return "null";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/**
 * Sets `value` at `keys` in `doc` (mutated). A missing object key is created (with objects on the way), so a
 * field the file leaves to its default can be swept; the validator then refuses any key the format does not
 * know. A list index must exist: a sweep changes entries, it does not invent them.
 */
export function setAt(doc: unknown, keys: readonly Key[], value: unknown): void {
  let node = doc;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const here = formatPath(keys.slice(0, i + 1));
    const parent = i === 0 ? "the scenario" : formatPath(keys.slice(0, i));
    const last = i === keys.length - 1;
    if (typeof key === "number") {
      if (!Array.isArray(node))
        throw new SweepInputError(`${here}: ${parent} is ${describe(node)}, not a list`);
      if (key >= node.length) {
        const n = node.length;
        throw new SweepInputError(`${here}: ${parent} has ${n} entr${n === 1 ? "y" : "ies"}`);
      }
      if (last) node[key] = value;
      else node = node[key];
    } else {
      if (!isObject(node))
        throw new SweepInputError(`${here}: ${parent} is ${describe(node)}, not an object`);
      if (last) node[key] = value;
      else {
        if (node[key] === undefined) {
          if (typeof keys[i + 1] === "number") {
            throw new SweepInputError(`${here}: not in the scenario (so ${formatPath(keys)} cannot be set)`);
          }
          node[key] = {};
        }
        node = node[key];
      }
    }
  }
}

/**
 * Splits `--values` at the commas outside brackets and quotes (so `{"dist":"uniform","min":1,"max":2}` is one
 * value), then reads each as JSON when it is JSON (numbers, true/false, objects, quoted strings) and as a
 * plain string otherwise (`recourse`). Refuses an empty list, an empty entry and a repeated value.
 */
export function parseValues(text: string, flag = "--values"): unknown[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === "\\") i++;
      else if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === "{" || ch === "[") depth++;
    else if (ch === "}" || ch === "]") depth--;
    else if (ch === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  const seen = new Set<string>();
  return parts.map((raw, i) => {
    const part = raw.trim();
    if (part === "") throw new SweepInputError(`${flag} ${text}: value ${i + 1} is empty`);
    let value: unknown;
    try {
      value = JSON.parse(part);
    } catch {
      value = part;
    }
    const key = JSON.stringify(value);
    if (seen.has(key)) throw new SweepInputError(`${flag} ${text}: ${part} appears twice`);
    seen.add(key);
    return value;
  });
}

/** A value as a table cell or a label shows it: numbers and strings bare, anything else as JSON. */
export function showValue(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}
