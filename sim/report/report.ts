/**
 * report.html for a simulation's output folder: the charts of sim/report/charts.ts on the self-contained page
 * of sim/report/page.ts, a headline with the figures a researcher checks first, and summary.json as a table
 * (invariant violations in red). Reads only the folder's files, so an old folder can be re-rendered
 * (scripts/report.ts).
 */
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { simCharts, type ReportSummary } from "./charts";
import { chartPage, escapeHtml } from "./page";

interface Violation {
  step?: unknown;
  check?: unknown;
  detail?: unknown;
}

/** A summary value as text: numbers grouped in thousands, exact to the base unit (6 decimals). */
function show(value: unknown): string {
  if (typeof value === "number") return value.toLocaleString("en-US", { maximumFractionDigits: 6 });
  if (typeof value === "string") return value;
  if (value === undefined) return "n/a"; // a field an older summary does not have
  return JSON.stringify(value);
}

/** Flattens summary.json to dotted keys in document order, skipping the violations (their own table). */
function flatten(value: unknown, prefix = "", out: [string, unknown][] = []): [string, unknown][] {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (key !== "invariants.violations") flatten(v, key, out);
    }
  } else {
    out.push([prefix, value]);
  }
  return out;
}

function violationsOf(summary: ReportSummary): Violation[] {
  const list = summary.invariants?.violations;
  return Array.isArray(list) ? (list as Violation[]) : [];
}

function at(summary: ReportSummary, path: string): unknown {
  let node: unknown = summary;
  for (const k of path.split(".")) {
    node = node !== null && typeof node === "object" ? (node as Record<string, unknown>)[k] : undefined;
  }
  return node;
}

function headline(summary: ReportSummary): string {
  const figure = (label: string, path: string, unit = "") =>
    `${escapeHtml(label)} <strong>${escapeHtml(show(at(summary, path)))}${unit}</strong>`;
  const violations = violationsOf(summary);
  const invariants =
    violations.length > 0
      ? `<span class="bad">${violations.length} invariant violation(s)</span>`
      : `invariants held at every step checked (${escapeHtml(show(at(summary, "invariants.checked")))})`;
  return (
    `<p>Seed ${escapeHtml(show(summary.seed))}, ${escapeHtml(show(summary.steps))} steps, ` +
    `${escapeHtml(show(summary.accounts))} accounts. ` +
    [
      figure("Deficit", "deficit.total", " USD"),
      figure("insurance fund at the end", "insuranceFund.end", " USD"),
      figure("supplier loss", "suppliers.lossPct", "%"),
      figure("LP loss", "lps.lossPct", "%"),
    ].join(", ") +
    `. ${invariants}.</p>`
  );
}

/** summary.json as a table (one row per field), then the violations, in red, if any. */
export function summaryTable(summary: ReportSummary): string {
  const rows = flatten(summary).map(
    ([key, value]) =>
      `<tr data-key="${escapeHtml(key)}"><th>${escapeHtml(key)}</th><td>${escapeHtml(show(value))}</td></tr>`,
  );
  const violations = violationsOf(summary);
  const vRows = violations.map(
    (v) =>
      `<tr class="bad"><td>${escapeHtml(show(v.step))}</td><td>${escapeHtml(show(v.check))}</td>` +
      `<td>${escapeHtml(show(v.detail))}</td></tr>`,
  );
  const vTable =
    violations.length > 0
      ? `<h2 class="bad">Invariant violations (${violations.length})</h2>` +
        `<table id="violations"><tr><th>step</th><th>check</th><th>detail</th></tr>${vRows.join("")}</table>`
      : "<p>No invariant violations.</p>";
  return `<h2>summary.json</h2><table id="summary">${rows.join("")}</table>${vTable}`;
}

/** The report page for a run's three outputs (pure: no files). */
export function reportHtml(summary: ReportSummary, timelineCsv: string, eventsCsv: string): string {
  const name = typeof summary.scenario === "string" ? summary.scenario : "unnamed scenario";
  return chartPage({
    title: `Ballast simulation: ${name}`,
    introHtml: headline(summary),
    charts: simCharts(summary, timelineCsv, eventsCsv),
    extraHtml: summaryTable(summary),
  });
}

/** Reads DIR/summary.json, timeline.csv and events.csv, writes DIR/report.html and returns its path. */
export function writeReport(dir: string): string {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`not a directory: ${dir}`);
  const read = (name: string) => {
    const file = join(dir, name);
    if (!existsSync(file)) throw new Error(`${file}: missing (not a simulation output folder?)`);
    return readFileSync(file, "utf8");
  };
  const summary = JSON.parse(read("summary.json")) as ReportSummary;
  const html = reportHtml(summary, read("timeline.csv"), read("events.csv"));
  const out = join(dir, "report.html");
  writeFileSync(out, html);
  return out;
}
