/**
 * Simulator view: open a simulator output folder (summary.json, timeline.csv, events.csv) and see the same
 * charts as the simulator's report. The charts come from sim/report/charts.ts (shared with the report page),
 * so both always agree. Files never leave the browser.
 */
import Chart from "chart.js/auto";

import { simCharts, type ChartSpec, type ReportSummary } from "../../sim/report/charts";
import { el, render } from "./dom";

const NEEDED = ["summary.json", "timeline.csv", "events.csv"] as const;

/** Picks the three outputs out of the chosen files (a folder's files, or the three chosen one by one). */
export async function readSimFiles(files: Iterable<File>): Promise<Record<(typeof NEEDED)[number], string>> {
  const byName = new Map<string, File>();
  for (const f of files) byName.set(f.name, f);
  const missing = NEEDED.filter((n) => !byName.has(n));
  if (missing.length > 0)
    throw new Error(`the folder has no ${missing.join(", ")}: choose a simulator output folder`);
  const [summary, timeline, events] = await Promise.all(NEEDED.map((n) => byName.get(n)!.text()));
  return { "summary.json": summary, "timeline.csv": timeline, "events.csv": events };
}

export function mountSimulatorView(container: HTMLElement): void {
  const folder = el("input", { type: "file", id: "sim-folder", webkitdirectory: "", multiple: "" });
  const files = el("input", { type: "file", id: "sim-files", multiple: "", accept: ".json,.csv" });
  const out = el("div", { id: "sim-charts" });
  const charts: Chart[] = [];
  const load = async (list: FileList | null) => {
    if (!list) return;
    for (const c of charts.splice(0)) c.destroy();
    try {
      const f = await readSimFiles(Array.from(list));
      const summary = JSON.parse(f["summary.json"]) as ReportSummary;
      const specs = simCharts(summary, f["timeline.csv"], f["events.csv"]);
      render(out, ...specs.map((s) => panel(s, charts)));
    } catch (e) {
      render(out, el("p", { class: "error" }, (e as Error).message));
    }
  };
  folder.addEventListener("change", () => void load(folder.files));
  files.addEventListener("change", () => void load(files.files));
  render(
    container,
    el("label", {}, "output folder ", folder),
    el("label", {}, " or the three files ", files),
    out,
  );
}

function panel(spec: ChartSpec, charts: Chart[]): HTMLElement {
  const box = el("figure", { class: "sim-chart", "data-chart": spec.id }, el("figcaption", {}, spec.title));
  if (spec.config) {
    const canvas = el("canvas", {});
    const holder = el("div", { class: "chart-box" }, canvas);
    box.append(holder);
    // Chart.js mutates what it is given; the spec stays as built.
    charts.push(new Chart(canvas, structuredClone(spec.config)));
  }
  if (spec.note) box.append(el("p", { class: "note" }, spec.note));
  return box;
}
