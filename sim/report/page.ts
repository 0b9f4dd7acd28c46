/**
 * A self-contained HTML page of Chart.js charts: the Chart.js UMD bundle and every chart's configuration are
 * inlined, so the page opens from a file (or an e-mail attachment) with no network at all. Used by the
 * simulator's report.html (sim/report/report.ts) and reusable for any other page of charts (a sweep).
 *
 * After load, `window.__charts` records per chart id whether it drew (datasets, points, or the error), so a
 * headless browser can check the page without looking at pixels.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";

import type { ChartSpec } from "./charts";

export interface ChartPageOptions {
  /** Page title and top heading (plain text, escaped here). */
  title: string;
  /** HTML shown under the heading: the caller escapes whatever it interpolates. */
  introHtml: string;
  /** One panel per spec, in order: a canvas, or the spec's note when its config is null. */
  charts: ChartSpec[];
  /** HTML after the charts (a table, say): the caller escapes whatever it interpolates. */
  extraHtml?: string;
}

/** Escapes text for HTML content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/**
 * JSON that is safe inside a <script> element: `<` is escaped so no `</script>` or `<!--` can end or
 * confuse the element, and the two line separators JavaScript once treated as newlines are escaped too.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

let chartJsSource: string | undefined;

/** The Chart.js UMD bundle (read once). The package exports only its entry points, so resolve from there. */
function chartJs(): string {
  if (chartJsSource === undefined) {
    const dist = dirname(require.resolve("chart.js")); // node_modules/chart.js/dist/chart.cjs
    // A literal "</script" inside the bundle would end the element early; "<\/script" means the same in JS.
    chartJsSource = readFileSync(join(dist, "chart.umd.min.js"), "utf8").replace(/<\/script/gi, "<\\/script");
  }
  return chartJsSource;
}

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 1200px; color: #222; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: 0.25rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 1rem; margin: 1rem 0; }
.panel { border: 1px solid #ddd; border-radius: 6px; padding: 0.75rem; background: #fff; }
.panel h2 { font-size: 1rem; margin: 0 0 0.5rem; }
.chart { position: relative; height: 300px; }
.note { color: #666; font-style: italic; margin: 0.25rem 0 0; }
.missing { height: 300px; display: flex; align-items: center; justify-content: center; background: #f6f6f6; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
.bad { color: #b00020; font-weight: 600; }
`;

/**
 * Draws every chart, then fills window.__charts. Runs in the browser: plain ES2017, no imports. A chart that
 * throws is logged with console.error (a headless check fails on it) and recorded with its error.
 */
const BOOT = `
(function () {
  var specs = JSON.parse(document.getElementById("chart-specs").textContent);
  var out = {};
  Chart.defaults.animation = false;
  specs.forEach(function (spec) {
    if (!spec.config) { out[spec.id] = { drew: false, datasets: 0, points: 0, note: spec.note || "" }; return; }
    try {
      var canvas = document.getElementById("chart-" + spec.id);
      var chart = new Chart(canvas, spec.config);
      var points = 0;
      // Points: values that are not gaps, in datasets for which Chart.js created elements.
      chart.data.datasets.forEach(function (d, i) {
        if (chart.getDatasetMeta(i).data.length === 0) return;
        d.data.forEach(function (v) { if (v !== null && v !== undefined) points += 1; });
      });
      var datasets = chart.data.datasets.length;
      out[spec.id] = { drew: datasets > 0 && points > 0, datasets: datasets, points: points };
    } catch (e) {
      console.error("chart " + spec.id + ": " + e);
      out[spec.id] = { drew: false, datasets: 0, points: 0, error: String(e) };
    }
  });
  window.__charts = out;
})();
`;

function panel(spec: ChartSpec): string {
  const id = escapeHtml(spec.id);
  const title = `<h2>${escapeHtml(spec.title)}</h2>`;
  if (!spec.config) {
    const text = escapeHtml(spec.note ?? "no data");
    return `<section class="panel" id="panel-${id}">${title}<div class="missing note">${text}</div></section>`;
  }
  const note = spec.note ? `<p class="note">${escapeHtml(spec.note)}</p>` : "";
  return (
    `<section class="panel" id="panel-${id}">${title}` +
    `<div class="chart"><canvas id="chart-${id}"></canvas></div>${note}</section>`
  );
}

/** The whole page as one string (about 220 kB plus the data). */
export function chartPage(opts: ChartPageOptions): string {
  const title = escapeHtml(opts.title);
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // No network at view time, whatever the data contains: only inline scripts, styles and data: images.
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; ' +
      "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">",
    `<title>${title}</title>`,
    `<style>${STYLE}</style>`,
    "</head>",
    "<body>",
    `<h1>${title}</h1>`,
    opts.introHtml,
    `<div class="grid">${opts.charts.map(panel).join("\n")}</div>`,
    opts.extraHtml ?? "",
    `<script>${chartJs()}</script>`,
    `<script type="application/json" id="chart-specs">${scriptJson(opts.charts)}</script>`,
    `<script>${BOOT}</script>`,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}
