/**
 * sweep.csv: one row per run in the plan's order (never the finishing order), with the parameter value(s),
 * the seed, the summary numbers a researcher compares first, and the error of a failed run.
 */
import type { Summary } from "../run/run";
import type { Outcome } from "./pool";
import type { SweepPlan } from "./plan";
import { showValue } from "./values";

/** The summary columns of sweep.csv, dotted as in summary.json. */
export const COLUMNS = [
  "liquidations.lending",
  "liquidations.perps",
  "deficit.total",
  "deficit.insurance",
  "deficit.socialisedSuppliers",
  "deficit.socialisedLps",
  "deficit.adl",
  "insuranceFund.end",
  "insuranceFund.min",
  "suppliers.lossPct",
  "lps.lossPct",
  "negativeAccounts",
] as const;

/** A dotted field of the summary (`deficit.total`), or undefined when it is not a number. */
export function metricOf(summary: Summary | undefined, field: string): number | undefined {
  let node: unknown = summary;
  for (const key of field.split(".")) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === "number" ? node : undefined;
}

/** A CSV cell: quoted when it holds a comma, a quote or a line break (RFC 4180). */
function cell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The header of sweep.csv: the metric is added when it is not one of the usual columns. */
export function sweepHeader(plan: SweepPlan): string[] {
  const extra = (COLUMNS as readonly string[]).includes(plan.metric) ? [] : [plan.metric];
  // Sweeping the seed itself makes it an axis: no second seed column.
  const seed = plan.axes.some((a) => a.path === "seed") ? [] : ["seed"];
  return [
    "run",
    ...plan.axes.map((a) => a.path),
    ...seed,
    ...COLUMNS,
    ...extra,
    "violations",
    "wallSeconds",
    "error",
  ];
}

/** sweep.csv's text for the outcomes (indexed like plan.jobs). A failed run's numbers are empty cells. */
export function sweepCsv(plan: SweepPlan, outcomes: Outcome[]): string {
  const header = sweepHeader(plan);
  const rows = plan.jobs.map((job) => {
    const o = outcomes[job.index];
    const fields: Record<string, string> = {
      run: job.name,
      seed: String(job.seed),
      violations: String(o?.violations ?? 0),
      error: o?.error ?? (o ? "" : "not run"),
    };
    plan.axes.forEach((a, i) => (fields[a.path] = showValue(job.values[i])));
    for (const column of header) {
      if (column in fields) continue;
      const value = metricOf(o?.summary, column);
      fields[column] = value === undefined ? "" : String(value);
    }
    return header.map((c) => cell(fields[c])).join(",");
  });
  return [header.join(","), ...rows].join("\n") + "\n";
}
