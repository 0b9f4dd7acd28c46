/**
 * The simulator's charts as Chart.js configurations, built from a run's outputs (summary.json, timeline.csv,
 * events.csv; formats in docs/simulator.md). Pure and browser-safe: no node imports, no functions in the
 * configurations (they are plain JSON, so a page can inline them and a web dashboard can import this module
 * as is). The charts are the ones a researcher looks at first (SCENARIOS.md): prices with fault windows,
 * health distribution, liquidations, insurance fund, deficit by bucket, supplier and LP loss.
 */
import type { ChartConfiguration, ChartDataset } from "chart.js";

/** One panel: a chart, or (config null) the reason there is none. */
export interface ChartSpec {
  id: string;
  title: string;
  config: ChartConfiguration | null;
  /** Shown under the chart, or instead of it when `config` is null. */
  note?: string;
}

/** A parsed CSV: its header and one record per row (column name -> raw text). */
export interface CsvTable {
  columns: string[];
  rows: Record<string, string>[];
}

/**
 * Parses CSV text (RFC 4180: quoted fields may hold commas, quotes as "", and newlines). Accepts \n or \r\n
 * line ends and ignores blank lines. The first row is the header; a short row leaves its missing columns "".
 */
export function parseCsv(text: string): CsvTable {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let quoted = false;
  let i = 0;
  const endRecord = () => {
    record.push(field);
    field = "";
    // A blank line is one empty field: skip it.
    if (record.length > 1 || record[0] !== "") records.push(record);
    record = [];
  };
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === "") {
      quoted = true;
    } else if (c === ",") {
      record.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i += 1;
      endRecord();
    } else {
      field += c;
    }
    i += 1;
  }
  if (field !== "" || record.length > 0) endRecord();
  const [columns = [], ...body] = records;
  const rows = body.map((r) => Object.fromEntries(columns.map((c, k) => [c, r[k] ?? ""])));
  return { columns, rows };
}

/** A column as numbers (null where empty or not a number); all null when the column is missing. */
export function numbers(table: CsvTable, column: string): (number | null)[] {
  return table.rows.map((r) => {
    const raw = r[column];
    if (raw === undefined || raw.trim() === "") return null;
    const x = Number(raw);
    return Number.isFinite(x) ? x : null;
  });
}

/** The assets of a timeline, from its `<SYM>.market` columns, in column order. */
export function timelineAssets(table: CsvTable): string[] {
  return table.columns.filter((c) => c.endsWith(".market")).map((c) => c.slice(0, -".market".length));
}

/** A run of consecutive rows [from, to] (inclusive, by row index) in which the asset's status was not OK. */
export interface FaultWindow {
  from: number;
  to: number;
  /** The statuses seen in the window, in order of first appearance (STALE, SUSPECT, ...). */
  statuses: string[];
}

/** The fault windows of a status column: maximal runs of rows whose status is not OK (and not empty). */
export function faultWindows(statuses: string[]): FaultWindow[] {
  const out: FaultWindow[] = [];
  let open: FaultWindow | undefined;
  statuses.forEach((raw, k) => {
    const status = raw.trim();
    if (status === "" || status === "OK") {
      open = undefined;
      return;
    }
    if (!open) {
      open = { from: k, to: k, statuses: [] };
      out.push(open);
    }
    open.to = k;
    if (!open.statuses.includes(status)) open.statuses.push(status);
  });
  return out;
}

/** The health buckets of timeline.csv: borrowers + traders per health bucket after each step. */
export const HEALTH_BUCKETS = [
  { column: "health.below1", label: "< 1 (liquidatable)", color: "#c62828" },
  { column: "health.1to1.1", label: "1 - 1.1", color: "#ef6c00" },
  { column: "health.1.1to1.25", label: "1.1 - 1.25", color: "#f9a825" },
  { column: "health.1.25to1.5", label: "1.25 - 1.5", color: "#9ccc65" },
  { column: "health.above1.5", label: ">= 1.5", color: "#2e7d32" },
] as const;

/** What the charts read from summary.json; every field is optional (an older or partial summary). */
export interface ReportSummary {
  scenario?: string;
  seed?: number;
  steps?: number;
  accounts?: number;
  suppliers?: { lossPct?: number };
  lps?: { lossPct?: number };
  invariants?: { checked?: number; violations?: unknown[] };
}

const FAULT_FILL = "rgba(198, 40, 40, 0.14)";
const PALETTE = ["#1565c0", "#6a1b9a", "#00838f", "#ef6c00", "#2e7d32", "#c62828", "#5d4037"];

/** Options every chart shares: no animation (a report is read, not watched), steps on x, a legend. */
function baseOptions(yTitle: string, stacked = false): ChartConfiguration["options"] {
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    interaction: { mode: "index", intersect: false },
    plugins: { legend: { position: "bottom" } },
    scales: {
      x: { stacked, title: { display: true, text: "step" }, ticks: { maxTicksLimit: 20 } },
      y: { stacked, title: { display: true, text: yTitle } },
    },
  };
}

function line(label: string, data: (number | null)[], color: string): ChartDataset<"line"> {
  return {
    type: "line",
    label,
    data,
    borderColor: color,
    backgroundColor: color,
    borderWidth: 1.5,
    pointRadius: 0,
    // Nulls (no price while the router refuses, say) are gaps, not zeros.
    spanGaps: false,
  };
}

/**
 * Market vs oracle price of one asset. Fault windows are a bar dataset on a hidden 0..1 axis: a full-height
 * translucent bar at each step whose status is not OK, so the shading is plain data (no plugin).
 */
function priceChart(t: CsvTable, labels: number[], symbol: string, k: number): ChartSpec {
  const statuses = t.rows.map((r) => r[`${symbol}.status`] ?? "");
  const windows = faultWindows(statuses);
  const faulty = new Set<number>();
  for (const w of windows) for (let i = w.from; i <= w.to; i++) faulty.add(i);
  const datasets: ChartDataset[] = [
    line(`${symbol} market`, numbers(t, `${symbol}.market`), PALETTE[k % PALETTE.length]),
    { ...line(`${symbol} oracle`, numbers(t, `${symbol}.oracle`), "#424242"), borderDash: [6, 3] },
  ];
  if (windows.length > 0) {
    datasets.push({
      type: "bar",
      label: "status not OK",
      data: statuses.map((_, i) => (faulty.has(i) ? 1 : null)),
      backgroundColor: FAULT_FILL,
      yAxisID: "fault",
      barPercentage: 1,
      categoryPercentage: 1,
      order: 10, // drawn behind the prices
    });
  }
  const options = baseOptions("USD")!;
  options.scales!.fault = { display: false, min: 0, max: 1 };
  const note =
    windows.length === 0
      ? "oracle status OK at every step"
      : "shaded: status not OK at steps " +
        windows.map((w) => `${labels[w.from]}-${labels[w.to]} (${w.statuses.join(", ")})`).join("; ");
  return {
    id: `price-${symbol}`,
    title: `${symbol}: market vs oracle price`,
    config: { type: "line", data: { labels, datasets }, options },
    note,
  };
}

function healthChart(t: CsvTable, labels: number[]): ChartSpec {
  const spec = { id: "health", title: "Health distribution (borrowers + traders per bucket)" };
  if (!HEALTH_BUCKETS.every((b) => t.columns.includes(b.column))) {
    return { ...spec, config: null, note: "not recorded in this timeline" };
  }
  const datasets: ChartDataset<"bar">[] = HEALTH_BUCKETS.map((b) => ({
    label: b.label,
    data: numbers(t, b.column),
    backgroundColor: b.color,
    barPercentage: 1,
    categoryPercentage: 1,
  }));
  return {
    ...spec,
    config: { type: "bar", data: { labels, datasets }, options: baseOptions("accounts", true) },
  };
}

function liquidationsChart(t: CsvTable, events: CsvTable, labels: number[]): ChartSpec {
  // events.csv counts what the keepers skipped as unprofitable (no transaction): worth seeing beside the rest.
  const stepIndex = new Map(labels.map((s, i) => [s, i]));
  const unprofitable: number[] = labels.map(() => 0);
  let lending = 0;
  let perps = 0;
  for (const e of events.rows) {
    if (e.kind === "lending.liquidate") lending += 1;
    if (e.kind === "perps.liquidate") perps += 1;
    const i = stepIndex.get(Number(e.step));
    if (e.kind === "lending.unprofitable" && i !== undefined) unprofitable[i] += 1;
  }
  const datasets: ChartDataset<"bar">[] = [
    { label: "liquidations sent", data: numbers(t, "liquidations"), backgroundColor: "#1565c0" },
    {
      label: "blocked by the oracle",
      data: numbers(t, "blockedLiquidations"),
      backgroundColor: "#c62828",
    },
  ];
  if (unprofitable.some((n) => n > 0)) {
    datasets.push({ label: "skipped: unprofitable", data: unprofitable, backgroundColor: "#9e9e9e" });
  }
  return {
    id: "liquidations",
    title: "Liquidations per step",
    config: { type: "bar", data: { labels, datasets }, options: baseOptions("count") },
    note: `events.csv: ${lending} lending and ${perps} perps liquidation(s)`,
  };
}

function insuranceChart(t: CsvTable, labels: number[]): ChartSpec {
  const datasets = [line("insurance fund", numbers(t, "insuranceFund"), "#00838f")];
  return {
    id: "insurance",
    title: "Insurance fund",
    config: { type: "line", data: { labels, datasets }, options: baseOptions("USD") },
  };
}

/** Cumulative deficit: the four buckets stacked (filled), the total as a line on its own stack. */
function deficitChart(t: CsvTable, labels: number[]): ChartSpec {
  const buckets = [
    ["deficit.insurance", "insurance", "#00838f"],
    ["deficit.suppliers", "suppliers", "#1565c0"],
    ["deficit.lps", "LPs", "#6a1b9a"],
    ["deficit.adl", "ADL", "#ef6c00"],
  ] as const;
  const datasets: ChartDataset<"line">[] = buckets.map(([column, label, color], k) => ({
    ...line(label, numbers(t, column), color),
    backgroundColor: color + "66",
    fill: k === 0 ? "origin" : "-1",
    stack: "buckets",
  }));
  datasets.push({
    ...line("total", numbers(t, "deficit.total"), "#212121"),
    borderDash: [4, 4],
    stack: "total",
  });
  return {
    id: "deficit",
    title: "Cumulative deficit by bucket",
    config: { type: "line", data: { labels, datasets }, options: baseOptions("USD", true) },
  };
}

/** Supplied and vault NAV on their own axes (they differ by orders of magnitude); the summary's losses. */
function lossChart(summary: ReportSummary, t: CsvTable, labels: number[]): ChartSpec {
  const options = baseOptions("supplied (USD)")!;
  options.scales!.nav = {
    position: "right",
    title: { display: true, text: "LP vault NAV (USD)" },
    grid: { drawOnChartArea: false },
  };
  const datasets = [
    line("lending: supplied", numbers(t, "supplied"), "#1565c0"),
    { ...line("LP vault NAV", numbers(t, "vaultNav"), "#6a1b9a"), yAxisID: "nav" },
  ];
  const pct = (x: unknown) => (typeof x === "number" ? `${x}%` : "n/a");
  return {
    id: "loss",
    title: "Supplier and LP loss",
    config: { type: "line", data: { labels, datasets }, options },
    note:
      `loss at the end (summary.json, negative: a gain): suppliers ${pct(summary.suppliers?.lossPct)}, ` +
      `LPs ${pct(summary.lps?.lossPct)}`,
  };
}

/** Every chart of a run's report, in reading order: prices per asset first. */
export function simCharts(summary: ReportSummary, timelineCsv: string, eventsCsv: string): ChartSpec[] {
  const t = parseCsv(timelineCsv);
  const events = parseCsv(eventsCsv);
  const labels = numbers(t, "step").map((s, i) => s ?? i);
  return [
    ...timelineAssets(t).map((symbol, k) => priceChart(t, labels, symbol, k)),
    healthChart(t, labels),
    liquidationsChart(t, events, labels),
    insuranceChart(t, labels),
    deficitChart(t, labels),
    lossChart(summary, t, labels),
  ];
}
