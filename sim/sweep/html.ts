/**
 * sweep.html: the metric against the swept parameter (one line per value of the second parameter on a
 * grid), then every run as a table row with a link to its report. A self-contained page through
 * sim/report/page.ts; numeric values get a linear x axis (spacing as the values are), anything else one
 * category per value.
 */
import type { ChartConfiguration, ChartDataset } from "chart.js";

import type { ChartSpec } from "../report/charts";
import { chartPage, escapeHtml } from "../report/page";
import type { Outcome } from "./pool";
import type { SweepPlan } from "./plan";
import { COLUMNS, metricOf } from "./results";
import { showValue } from "./values";

const COLOURS = ["#1565c0", "#c62828", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037", "#ad1457"];

/** The metric of each run, as chart datasets: one per value of the second axis (or one). */
function metricChart(plan: SweepPlan, outcomes: Outcome[]): ChartSpec {
  const [x, series] = plan.axes;
  const numeric = x.values.every((v) => typeof v === "number");
  const groups = series ? series.values : [undefined];
  const datasets: ChartDataset<"line">[] = groups.map((g, gi) => {
    const jobs = plan.jobs.filter((j) => !series || j.values[1] === g);
    const ys = jobs.map((j) => metricOf(outcomes[j.index]?.summary, plan.metric) ?? null);
    const colour = COLOURS[gi % COLOURS.length];
    return {
      label: series ? `${series.path} = ${showValue(g)}` : plan.metric,
      // A failed run is a gap in its line.
      data: (numeric ? jobs.map((j, i) => ({ x: j.values[0] as number, y: ys[i] })) : ys) as number[],
      borderColor: colour,
      backgroundColor: colour,
      pointRadius: 4,
    };
  });
  const failed = outcomes.filter((o) => o.error).length;
  const config: ChartConfiguration = {
    type: "line",
    data: { labels: numeric ? undefined : x.values.map(showValue), datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      scales: {
        x: { type: numeric ? "linear" : "category", title: { display: true, text: x.path } },
        y: { title: { display: true, text: plan.metric } },
      },
      plugins: { legend: { display: datasets.length > 1 } },
    },
  };
  return {
    id: "metric",
    title: `${plan.metric} against ${x.path}`,
    config,
    note: failed > 0 ? `${failed} failed run(s): gaps in the line(s), errors in the table` : undefined,
  };
}

/** Every run: its values, the metric, the main numbers, a link to its report and its error. */
function runsTable(plan: SweepPlan, outcomes: Outcome[]): string {
  const numbers = [...new Set([plan.metric, ...COLUMNS])];
  // As in sweep.csv: a swept seed is an axis, not a second seed column.
  const seed = !plan.axes.some((a) => a.path === "seed");
  const head = ["run", ...plan.axes.map((a) => a.path), ...(seed ? ["seed"] : []), ...numbers];
  head.push("violations", "wallSeconds", "error");
  const rows = plan.jobs.map((job) => {
    const o = outcomes[job.index];
    const s = o?.summary;
    const link = o?.report
      ? // Run names are made of URL-safe characters (plan.ts).
        `<a href="runs/${escapeHtml(job.name)}/report.html">${escapeHtml(job.name)}</a>`
      : escapeHtml(job.name);
    const cells = [
      link,
      ...job.values.map((v) => escapeHtml(showValue(v))),
      ...(seed ? [escapeHtml(String(job.seed))] : []),
      ...numbers.map((f) => escapeHtml(String(metricOf(s, f) ?? ""))),
      escapeHtml(String(o?.violations ?? 0)),
      escapeHtml(String(s?.wallSeconds ?? "")),
      escapeHtml(o?.error ?? ""),
    ];
    const cls = o?.error ? ' class="bad"' : "";
    return `<tr${cls}>${cells.map((c) => `<td>${c}</td>`).join("")}</tr>`;
  });
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  // The table is wider than the page with a grid: it scrolls on its own instead of widening the page.
  return `<h2>Runs</h2><div style="overflow-x: auto"><table id="runs"><tr>${th}</tr>${rows.join("")}</table></div>`;
}

/** The whole page (pure: no files). */
export function sweepHtml(plan: SweepPlan, outcomes: Outcome[]): string {
  const axes = plan.axes.map(
    (a) => `<code>${escapeHtml(a.path)}</code> in ${escapeHtml(a.values.map(showValue).join(", "))}`,
  );
  const failed = outcomes.filter((o) => o.error).length;
  const intro =
    `<p>Scenario <code>${escapeHtml(plan.scenarioFile)}</code>: ${plan.jobs.length} run(s), ${axes.join(" x ")}. ` +
    `Metric: <code>${escapeHtml(plan.metric)}</code> (summary.json). ` +
    (failed > 0
      ? `<span class="bad">${failed} run(s) failed.</span>`
      : "Every run finished without an invariant violation.") +
    " The same numbers are in sweep.csv.</p>";
  return chartPage({
    title: `Ballast sweep: ${plan.scenarioName}`,
    introHtml: intro,
    charts: [metricChart(plan, outcomes)],
    extraHtml: runsTable(plan, outcomes),
  });
}
