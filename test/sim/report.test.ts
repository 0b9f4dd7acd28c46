/**
 * report.html (sim/report/): a real small run rendered and opened in headless Chromium with the network
 * blocked (every chart draws, with pixels, from the inlined Chart.js and data alone), the CLI that
 * re-renders a folder, and the pure chart builders on a handmade timeline.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import { chromium, type Browser, type Page } from "playwright-core";

import { parseScenario } from "../../sim/scenario";
import { runSimulation, writeOutputs, type Summary } from "../../sim/run/run";
import { faultWindows, HEALTH_BUCKETS, parseCsv, simCharts, type ChartSpec } from "../../sim/report/charts";
import { chartPage } from "../../sim/report/page";
import { writeReport } from "../../sim/report/report";

const root = path.join(__dirname, "..", "..");
const tmp = mkdtempSync(path.join(os.tmpdir(), "ballast-report-"));

interface Drawn {
  drew: boolean;
  datasets: number;
  points: number;
  note?: string;
  error?: string;
}

/** WETH gaps -50% at step 3 (both feeds agree: a deficit for insurance); the primary goes stale on 6..8. */
const scenario = parseScenario({
  name: "report-small",
  seed: 3,
  steps: 12,
  stepSeconds: 60,
  assets: [{ symbol: "WETH", decimals: 18, price: 2000, heartbeat: 120, fallback: true }],
  params: { insuranceFund: { initial: 1_000_000 } },
  population: {
    suppliers: { count: 3, deposit: 300_000 },
    borrowers: {
      count: 6,
      collateral: "WETH",
      size: { dist: "uniform", min: 10_000, max: 50_000 },
      ltv: { dist: "uniform", min: 0.7, max: 0.84 },
    },
    lps: { count: 2, deposit: 200_000 },
    traders: {
      count: 5,
      market: "ETH",
      longShare: 0.8,
      margin: { dist: "uniform", min: 1000, max: 5000 },
      leverage: { dist: "uniform", min: 5, max: 15 },
    },
  },
  keepers: [{ kind: "liquidator", count: 1, latencySteps: 0 }, { kind: "adl" }],
  path: [{ asset: "WETH", shape: "gap", at: 3, change: -0.5 }],
  oracle: [{ asset: "WETH", fault: "stale", from: 6, to: 9 }],
});

/** Opens `file` with every request that is not file: or data: aborted and recorded. */
async function open(browser: Browser, file: string) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const network: string[] = [];
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("request", (r) => {
    if (!/^(file|data):/.test(r.url())) network.push(r.url());
  });
  await page.route("**", (route) =>
    /^(file|data):/.test(route.request().url()) ? route.continue() : route.abort(),
  );
  await page.goto("file://" + file);
  // Set by the page's last script; if Chart.js failed to load it never is, and this times out.
  await page.waitForFunction(
    () => (window as unknown as { __charts?: unknown }).__charts !== undefined,
    null,
    {
      timeout: 15_000,
    },
  );
  const charts = await page.evaluate(
    () => (window as unknown as { __charts: Record<string, Drawn> }).__charts,
  );
  return { page, network, errors, charts };
}

/** Per canvas id: how many of its pixels are not fully transparent (read back from the canvas itself). */
function paintedPixels(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() => {
    const out: Record<string, number> = {};
    for (const canvas of Array.from(document.querySelectorAll("canvas"))) {
      const ctx = canvas.getContext("2d")!;
      const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted += 1;
      out[canvas.id] = painted;
    }
    return out;
  });
}

describe("report.html", function () {
  this.timeout(120_000);
  let browser: Browser;

  before(async () => {
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
  });

  after(async () => {
    await browser?.close();
  });

  describe("a real run, opened in headless Chromium with the network blocked", () => {
    let dir: string;
    let summary: Summary;
    let timeline: string;
    let view: Awaited<ReturnType<typeof open>>;

    before(async () => {
      dir = path.join(tmp, "run");
      const result = await runSimulation(hre, scenario);
      writeOutputs(dir, result);
      summary = result.summary;
      timeline = result.timeline;
      expect(writeReport(dir)).to.equal(path.join(dir, "report.html"));
      view = await open(browser, path.join(dir, "report.html"));
      mkdirSync(path.join(root, "test-artifacts"), { recursive: true });
      await view.page.screenshot({ path: path.join(root, "test-artifacts", "report.png"), fullPage: true });
    });

    after(async () => {
      await view?.page.close();
    });

    it("the run is one worth reporting: a deficit, liquidations and a stale window", () => {
      expect(summary.deficit.total).to.be.greaterThan(0);
      expect(summary.liquidations.lending + summary.liquidations.perps).to.be.greaterThan(0);
      expect(summary.oracle.stepsDegraded).to.be.greaterThan(0);
    });

    it("attempts no network request and logs no error", () => {
      expect(view.network).to.deep.equal([]);
      expect(view.errors).to.deep.equal([]);
    });

    it("draws every chart: datasets and points for each, the fault window shaded", () => {
      const ids = Object.keys(view.charts);
      expect(ids).to.include.members([
        "price-WETH",
        "health",
        "liquidations",
        "insurance",
        "deficit",
        "loss",
      ]);
      for (const id of ids) {
        expect(view.charts[id].drew, id).to.equal(true);
        expect(view.charts[id].datasets, id).to.be.greaterThan(0);
        expect(view.charts[id].points, id).to.be.greaterThan(0);
      }
      // market, oracle and the fault shading (the run's stale window)
      expect(view.charts["price-WETH"].datasets).to.equal(3);
      // The run's timeline has the health columns: one dataset per bucket.
      for (const b of HEALTH_BUCKETS) expect(timeline.split("\n")[0].split(",")).to.include(b.column);
      expect(view.charts.health.datasets).to.equal(HEALTH_BUCKETS.length);
    });

    it("paints every canvas (pixels read back from the canvas)", async () => {
      const painted = await paintedPixels(view.page);
      const drawn = Object.entries(view.charts).filter(([, c]) => c.drew);
      expect(Object.keys(painted)).to.have.length(drawn.length);
      for (const [id] of drawn) expect(painted[`chart-${id}`], id).to.be.greaterThan(1000);
    });

    it("shows summary.json as a table, with the deficit and no violation", async () => {
      const shown = await view.page.textContent('#summary tr[data-key="deficit.total"] td');
      const expected = summary.deficit.total.toLocaleString("en-US", { maximumFractionDigits: 6 });
      expect(shown).to.equal(expected);
      expect(await view.page.textContent("body")).to.include("No invariant violations.");
    });

    it("re-renders a folder from the CLI; a bad folder prints the usage and exits 1", () => {
      const cli = (arg: string) =>
        spawnSync("npx", ["ts-node", "--transpile-only", "scripts/report.ts", arg], {
          cwd: root,
          encoding: "utf8",
          timeout: 60_000,
        });
      const bad = cli(path.join(tmp, "nowhere"));
      expect(bad.status).to.equal(1);
      expect(bad.stderr).to.include("usage: ts-node scripts/report.ts DIR");
      const before = readFileSync(path.join(dir, "report.html"), "utf8");
      writeFileSync(path.join(dir, "report.html"), "");
      const good = cli(dir);
      expect(good.status, good.stderr).to.equal(0);
      expect(readFileSync(path.join(dir, "report.html"), "utf8")).to.equal(before);
    });
  });

  describe("an older timeline (no health columns) and a summary with violations", () => {
    it("shows the health panel's note and lists the violations in red", async () => {
      const dir = path.join(tmp, "violations");
      mkdirSync(dir, { recursive: true });
      const summary = {
        scenario: "broken <b>",
        invariants: { checked: 3, violations: [{ step: 2, check: "perps.books", detail: "held 1 != 2" }] },
      };
      writeFileSync(path.join(dir, "summary.json"), JSON.stringify(summary));
      writeFileSync(path.join(dir, "timeline.csv"), TIMELINE);
      writeFileSync(path.join(dir, "events.csv"), EVENTS);
      const html = readFileSync(writeReport(dir), "utf8");
      expect(html).to.match(/<tr class="bad"><td>2<\/td><td>perps\.books<\/td><td>held 1 != 2<\/td><\/tr>/);
      expect(html).to.include("1 invariant violation(s)");
      expect(html).to.include("Ballast simulation: broken &lt;b&gt;");
      expect(html).to.not.include("broken <b>");

      const v = await open(browser, path.join(dir, "report.html"));
      try {
        expect(v.network).to.deep.equal([]);
        expect(v.errors).to.deep.equal([]);
        expect(v.charts.health).to.deep.equal({
          drew: false,
          datasets: 0,
          points: 0,
          note: "not recorded in this timeline",
        });
        expect(await v.page.textContent("#panel-health")).to.include("not recorded in this timeline");
        expect(await v.page.$("#chart-health")).to.equal(null);
        for (const id of ["price-WETH", "liquidations", "insurance", "deficit", "loss"]) {
          expect(v.charts[id].drew, id).to.equal(true);
        }
        const red = "rgb(176, 0, 32)";
        const color = (selector: string) => v.page.$eval(selector, (e) => getComputedStyle(e).color);
        expect(await color("#violations tr.bad")).to.equal(red);
        expect(await v.page.textContent("#violations tr.bad")).to.equal("2perps.booksheld 1 != 2");
      } finally {
        await v.page.close();
      }
    });
  });
});

/** Two steps of WETH OK, two STALE, one OK, one SUSPECT; no health columns (an older timeline). */
const TIMELINE = [
  "step,time,WETH.market,WETH.oracle,WETH.status,supplied,vaultNav,insuranceFund,deficit.insurance,deficit.suppliers,deficit.lps,deficit.adl,deficit.total,liquidations,blockedLiquidations",
  "0,0,2000,2000,OK,1000,500,100,0,0,0,0,0,0,0",
  "1,60,1000,2000,OK,1000,500,100,0,0,0,0,0,0,0",
  "2,120,1000,2000,STALE,1000,500,100,0,0,0,0,0,0,2",
  "3,180,1000,,STALE,1000,500,100,0,0,0,0,0,0,2",
  "4,240,1000,1000,OK,1000,480,60,40,0,0,0,40,3,0",
  "5,300,1000,1000,SUSPECT,1000,480,60,40,0,0,0,40,0,0",
].join("\n");
const EVENTS = [
  "step,kind,account,amount,tx",
  "4,lending.liquidate,0xa,100,0x1",
  "4,lending.liquidate,0xb,50,0x2",
  "4,perps.liquidate,0xc,900,0x3",
  "4,lending.deficit,0xa,40,",
  "3,lending.unprofitable,0xd,0,",
].join("\n");

describe("report charts (sim/report/charts.ts)", () => {
  const byId = (charts: ChartSpec[]) => Object.fromEntries(charts.map((c) => [c.id, c]));
  const data = (c: ChartSpec, label: string) =>
    c.config!.data.datasets.find((d) => d.label === label)?.data as (number | null)[];

  it("parseCsv: header and records; quotes, \\r\\n, blank lines and short rows", () => {
    const t = parseCsv('a,b,c\r\n1,"x, ""y""",3\r\n\r\n4,5\n"multi\nline",,\n');
    expect(t.columns).to.deep.equal(["a", "b", "c"]);
    expect(t.rows).to.deep.equal([
      { a: "1", b: 'x, "y"', c: "3" },
      { a: "4", b: "5", c: "" },
      { a: "multi\nline", b: "", c: "" },
    ]);
    expect(parseCsv("")).to.deep.equal({ columns: [], rows: [] });
    expect(parseCsv(TIMELINE).rows[3]["WETH.oracle"]).to.equal("");
  });

  it("faultWindows: maximal runs of steps whose status is not OK, with the statuses seen", () => {
    expect(faultWindows(["OK", "STALE", "STALE", "FALLBACK", "OK", "SUSPECT"])).to.deep.equal([
      { from: 1, to: 3, statuses: ["STALE", "FALLBACK"] },
      { from: 5, to: 5, statuses: ["SUSPECT"] },
    ]);
    expect(faultWindows(["OK", "OK", ""])).to.deep.equal([]);
  });

  it("prices: market and oracle per asset, shading exactly at the steps whose status is not OK", () => {
    const price = byId(simCharts({}, TIMELINE, EVENTS))["price-WETH"];
    expect(data(price, "WETH market")).to.deep.equal([2000, 1000, 1000, 1000, 1000, 1000]);
    // An empty oracle price is a gap, not a zero.
    expect(data(price, "WETH oracle")).to.deep.equal([2000, 2000, 2000, null, 1000, 1000]);
    expect(data(price, "status not OK")).to.deep.equal([null, null, 1, 1, null, 1]);
    expect(price.note).to.equal("shaded: status not OK at steps 2-3 (STALE); 5-5 (SUSPECT)");
  });

  it("prices with no fault: no shading dataset", () => {
    const ok = TIMELINE.replace(/STALE|SUSPECT/g, "OK");
    const price = byId(simCharts({}, ok, EVENTS))["price-WETH"];
    expect(price.config!.data.datasets.map((d) => d.label)).to.deep.equal(["WETH market", "WETH oracle"]);
    expect(price.note).to.equal("oracle status OK at every step");
  });

  it("health: a note instead of a chart when the timeline lacks the columns; stacked counts when it has them", () => {
    const missing = byId(simCharts({}, TIMELINE, EVENTS)).health;
    expect(missing.config).to.equal(null);
    expect(missing.note).to.equal("not recorded in this timeline");

    const lines = TIMELINE.split("\n");
    const withHealth = [
      lines[0] + "," + HEALTH_BUCKETS.map((b) => b.column).join(","),
      ...lines.slice(1).map((l, k) => l + `,${k},1,2,3,4`),
    ].join("\n");
    const health = byId(simCharts({}, withHealth, EVENTS)).health;
    expect(health.config!.type).to.equal("bar");
    expect((health.config!.options!.scales!.y as { stacked?: unknown }).stacked).to.equal(true);
    expect(data(health, "< 1 (liquidatable)")).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect(data(health, ">= 1.5")).to.deep.equal([4, 4, 4, 4, 4, 4]);
  });

  it("liquidations, insurance, deficit and loss read their columns; events give the counts", () => {
    const c = byId(simCharts({ suppliers: { lossPct: 0.5 }, lps: { lossPct: -1.25 } }, TIMELINE, EVENTS));
    expect(data(c.liquidations, "liquidations sent")).to.deep.equal([0, 0, 0, 0, 3, 0]);
    expect(data(c.liquidations, "blocked by the oracle")).to.deep.equal([0, 0, 2, 2, 0, 0]);
    expect(data(c.liquidations, "skipped: unprofitable")).to.deep.equal([0, 0, 0, 1, 0, 0]);
    expect(c.liquidations.note).to.equal("events.csv: 2 lending and 1 perps liquidation(s)");
    expect(data(c.insurance, "insurance fund")).to.deep.equal([100, 100, 100, 100, 60, 60]);
    expect(data(c.deficit, "insurance")).to.deep.equal([0, 0, 0, 0, 40, 40]);
    expect(data(c.deficit, "total")).to.deep.equal([0, 0, 0, 0, 40, 40]);
    expect(data(c.loss, "LP vault NAV")).to.deep.equal([500, 500, 500, 500, 480, 480]);
    expect(c.loss.note).to.include("suppliers 0.5%, LPs -1.25%");
    for (const chart of Object.values(c)) {
      if (chart.config) expect(chart.config.options!.animation, chart.id).to.equal(false);
    }
  });

  it("chartPage escapes what it interpolates and keeps </script> out of the inlined data", () => {
    const html = chartPage({
      title: "a <script>",
      introHtml: "<p>intro</p>",
      charts: [{ id: "x", title: "T & <i>", config: null, note: "</script><b>" }],
    });
    expect(html).to.include("<title>a &lt;script&gt;</title>");
    expect(html).to.include("<h2>T &amp; &lt;i&gt;</h2>");
    expect(html).to.include("&lt;/script&gt;&lt;b&gt;");
    expect(html).to.include('"note":"\\u003c/script>\\u003cb>"');
    expect(html.match(/<\/script>/g)).to.have.length(3); // Chart.js, the data, the boot script
  });
});
