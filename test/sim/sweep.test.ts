/**
 * Parameter sweeps (npx hardhat sweep, sim/sweep/) on a tiny scenario (6 accounts, 8 steps) in two worker
 * processes: sweep.csv's rows and order, the metric moving the way the parameter pushes it, sweep.html
 * carrying the data, a 2-parameter grid, a run that fails (a row with its error, the task failing at the
 * end), and the refusals before anything runs. Also the table `npm start` prints (scripts/start.ts).
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import { chromium } from "playwright-core";

import { parseCsv } from "../../sim/report/charts";
import type { Summary } from "../../sim/run/run";
import type { ScenarioSpec } from "../../sim/scenario";
import { parsePath, parseValues, planSweep, type SweepResult } from "../../sim/sweep";
import { filesText, summaryText } from "../../scripts/start";

const root = path.join(__dirname, "..", "..");
const tmp = mkdtempSync(path.join(os.tmpdir(), "ballast-sweep-"));

/** Borrowers near their limit on WETH (two feeds: a gap is confirmed at once), a thin insurance fund. */
function tinySpec(): ScenarioSpec {
  return {
    name: "tiny",
    seed: 1,
    steps: 8,
    stepSeconds: 60,
    assets: [{ symbol: "WETH", decimals: 18, price: 2000, fallback: true }],
    params: {
      lending: { WETH: { liquidationThreshold: 0.85, liquidationBonus: 0.05 } },
      insuranceFund: { initial: 1000 },
    },
    population: {
      suppliers: { count: 2, deposit: 200_000 },
      borrowers: {
        count: 4,
        collateral: "WETH",
        size: { dist: "uniform", min: 10_000, max: 30_000 },
        ltv: { dist: "uniform", min: 0.7, max: 0.84 },
      },
    },
    keepers: [{ kind: "liquidator", count: 1, latencySteps: 0 }],
    path: [{ asset: "WETH", shape: "gap", at: 3, change: -0.3 }],
  };
}

const scenario = path.join(tmp, "tiny.json");
writeFileSync(scenario, JSON.stringify(tinySpec(), null, 2));

/** sweep.csv as records (column -> text), read by the report's RFC 4180 parser (errors hold commas). */
function readCsv(dir: string): { header: string[]; rows: Record<string, string>[] } {
  const { columns, rows } = parseCsv(readFileSync(path.join(dir, "sweep.csv"), "utf8"));
  return { header: columns, rows };
}

/** The task's error message, or "" when it succeeded. */
async function sweepError(args: Record<string, string>): Promise<string> {
  try {
    await hre.run("sweep", args);
    return "";
  } catch (e) {
    return (e as Error).message;
  }
}

describe("sweep: a scenario for each value of a parameter, in parallel workers", function () {
  this.timeout(120_000);

  describe("one parameter: the gap's size", () => {
    const out = path.join(tmp, "gap");
    let result: SweepResult;
    before(async () => {
      result = (await hre.run("sweep", {
        scenario,
        param: "path[0].change",
        values: "-0.1,-0.3,-0.5",
        workers: "2",
        out,
      })) as SweepResult;
    });

    it("writes one sweep.csv row per value, in the order given, with the summary numbers of each run", () => {
      const { header, rows } = readCsv(out);
      expect(header.slice(0, 5)).to.deep.equal([
        "run",
        "path[0].change",
        "seed",
        "liquidations.lending",
        "liquidations.perps",
      ]);
      for (const column of ["deficit.total", "insuranceFund.min", "lps.lossPct", "violations", "error"]) {
        expect(header).to.include(column);
      }
      expect(rows.map((r) => r.run)).to.deep.equal(["1-change=-0.1", "2-change=-0.3", "3-change=-0.5"]);
      expect(rows.map((r) => r["path[0].change"])).to.deep.equal(["-0.1", "-0.3", "-0.5"]);
      // Both workers took work, and the rows are still in the plan's order.
      expect(new Set(result.outcomes.map((o) => o.worker)).size).to.equal(2);
      for (const row of rows) {
        const summary = JSON.parse(
          readFileSync(path.join(out, "runs", row.run, "summary.json"), "utf8"),
        ) as Summary;
        expect(row.seed).to.equal("1");
        expect(Number(row["deficit.total"])).to.equal(summary.deficit.total);
        expect(Number(row["liquidations.lending"])).to.equal(summary.liquidations.lending);
        expect(Number(row["insuranceFund.end"])).to.equal(summary.insuranceFund.end);
        expect(Number(row.wallSeconds)).to.equal(summary.wallSeconds);
        expect(row.violations).to.equal("0");
        expect(row.error).to.equal("");
        for (const file of ["timeline.csv", "events.csv", "report.html"]) {
          expect(existsSync(path.join(out, "runs", row.run, file)), file).to.equal(true);
        }
      }
    });

    it("the deficit grows with the gap: none at -10%, more at -50% than at -30%", () => {
      const deficit = readCsv(out).rows.map((r) => Number(r["deficit.total"]));
      expect(deficit[0]).to.equal(0);
      expect(deficit[1]).to.be.greaterThan(0);
      expect(deficit[2]).to.be.greaterThan(deficit[1]);
    });

    it("sweep.html charts deficit.total against the path and lists every run", () => {
      const html = readFileSync(path.join(out, "sweep.html"), "utf8");
      const json = /<script type="application\/json" id="chart-specs">([\s\S]*?)<\/script>/.exec(html);
      const [chart] = JSON.parse(json![1]);
      expect(chart.title).to.equal("deficit.total against path[0].change");
      expect(chart.config.options.scales.x.type).to.equal("linear");
      const { rows } = readCsv(out);
      expect(chart.config.data.datasets[0].data).to.deep.equal(
        rows.map((r) => ({ x: Number(r["path[0].change"]), y: Number(r["deficit.total"]) })),
      );
      for (const row of rows) expect(html).to.include(`runs/${row.run}/report.html`);
      expect(html).to.not.match(/<script[^>]+src=/); // self-contained
    });

    it("sweep.html draws its chart in headless Chromium with the network blocked", async () => {
      const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
      try {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
        page.on("pageerror", (e) => problems.push(String(e)));
        await page.route("**", (route) =>
          route.request().url().startsWith("file:") ? route.continue() : route.abort(),
        );
        await page.goto("file://" + path.join(out, "sweep.html"));
        await page.waitForFunction(() => "__charts" in window, null, { timeout: 15_000 });
        const charts = await page.evaluate(() => (window as unknown as { __charts: unknown }).__charts);
        expect(charts).to.deep.equal({ metric: { drew: true, datasets: 1, points: 3 } });
        expect(await page.locator("#runs tr").count()).to.equal(4); // header + 3 runs
        expect(problems).to.deep.equal([]);
      } finally {
        await browser.close();
      }
    });
  });

  it("a grid of two parameters runs n1 x n2 variants; a run that fails is a row with its error, and the task fails", async () => {
    const out = path.join(tmp, "grid");
    // A bonus of 0.5 passes the scenario validator (below 1) but not the lending market (at most 0.25).
    const message = await sweepError({
      scenario,
      param: "lending.WETH.liquidationBonus=0.05,0.5",
      param2: "path[0].change",
      values2: "-0.3,-0.5",
      metric: "liquidations.lending",
      workers: "2",
      out,
    });
    expect(message).to.match(/^2 run\(s\) failed/);
    expect(message).to.include("3-liquidationBonus=0.5_change=-0.3");
    const { header, rows } = readCsv(out);
    expect(header.slice(0, 4)).to.deep.equal([
      "run",
      "params.lending.WETH.liquidationBonus",
      "path[0].change",
      "seed",
    ]);
    expect(rows.map((r) => [r["params.lending.WETH.liquidationBonus"], r["path[0].change"]])).to.deep.equal([
      ["0.05", "-0.3"],
      ["0.05", "-0.5"],
      ["0.5", "-0.3"],
      ["0.5", "-0.5"],
    ]);
    expect(rows.slice(0, 2).map((r) => r.error)).to.deep.equal(["", ""]);
    expect(Number(rows[0]["liquidations.lending"])).to.be.greaterThan(0);
    for (const failed of rows.slice(2)) {
      expect(failed.error).to.match(/OutOfBounds\("liquidationBonus"/);
      expect(failed["deficit.total"]).to.equal("");
    }
    // One line per value of the second parameter; the failed runs are gaps.
    const html = readFileSync(path.join(out, "sweep.html"), "utf8");
    const [chart] = JSON.parse(/id="chart-specs">([\s\S]*?)<\/script>/.exec(html)![1]);
    expect(chart.config.data.datasets.map((d: { label: string }) => d.label)).to.deep.equal([
      "path[0].change = -0.3",
      "path[0].change = -0.5",
    ]);
    expect(chart.config.data.datasets[0].data[1]).to.deep.equal({ x: 0.5, y: null });
    expect(html).to.include("2 run(s) failed");
  });

  describe("refusals, before anything runs", () => {
    it("a path that is not in the scenario, a key the format does not know, a value out of bounds", async () => {
      const cases: [Record<string, string>, RegExp][] = [
        [{ param: "path[2].change", values: "-0.1,-0.2" }, /--param path\[2\]: path has 1 entry/],
        [{ param: "steps.count", values: "1,2" }, /--param steps\.count: steps is a number, not an object/],
        [
          { param: "params.lending.WETH.bonus", values: "0.1,0.2" },
          /params\.lending\.WETH\.bonus: .*\(with params\.lending\.WETH\.bonus=0\.1; params\.lending\.WETH\.bonus=0\.2\)/,
        ],
        [
          { param: "path[0].change", values: "-0.2,-1.5" },
          /path\[0\]\.change: must be above -1 .*with path\[0\]\.change=-1\.5\)/,
        ],
        [{ param: "population.borrowers.count", values: "4,many" }, /population\.borrowers\.count: .*=many/],
        [{ param: "path[0].change", values: "-0.2,-0.2" }, /--values -0\.2,-0\.2: -0\.2 appears twice/],
        [{ param: "path[0].change", values: "-0.2", metric: "deficit" }, /--metric deficit: not a field/],
      ];
      // The file itself must be valid before any variant is made of it.
      const broken = path.join(tmp, "broken.json");
      writeFileSync(broken, JSON.stringify({ ...tinySpec(), steps: 0 }));
      cases.push([
        { scenario: broken, param: "seed", values: "1,2" },
        /broken\.json: 1 problem\n {2}steps: must be at least 1/,
      ]);
      for (const [args, expected] of cases) {
        const out = path.join(tmp, "refused");
        const message = await sweepError({ scenario, out, ...args });
        expect(message, JSON.stringify(args)).to.match(expected);
        expect(existsSync(out), "nothing written").to.equal(false);
      }
    });

    it("missing or malformed flags print the usage", async () => {
      const cases: Record<string, string>[] = [
        {},
        { scenario },
        { scenario, param: "path[0].change" },
        { scenario, param: "path[0].change=-0.1", values: "-0.2" },
        { scenario, param: "path[0].change", values: "-0.1", values2: "1" },
        { scenario, param: "path[0].change", values: "-0.1", workers: "0" },
        { scenario, param: "path[0].change", values: "-0.1", seed: "x" },
      ];
      for (const args of cases) {
        expect(await sweepError(args), JSON.stringify(args)).to.match(
          /Usage: npx hardhat sweep --scenario FILE/,
        );
      }
    });

    it("exits non-zero from the command line", () => {
      const hardhat = path.join(root, "node_modules", ".bin", "hardhat");
      const r = spawnSync(hardhat, ["sweep", "--scenario", scenario, "--param", "path[0].change"], {
        cwd: root,
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(r.status).to.not.equal(0);
      expect(r.stdout + r.stderr).to.include("--param path[0].change: --values is required");
    });
  });

  describe("paths and values", () => {
    it("reads dotted and indexed paths, with params. optional before lending, perps and insuranceFund", () => {
      expect(parsePath("path[0].change")).to.deep.equal(["path", 0, "change"]);
      expect(parsePath("lending.WETH.liquidationBonus")).to.deep.equal([
        "params",
        "lending",
        "WETH",
        "liquidationBonus",
      ]);
      expect(() => parsePath("a..b")).to.throw(/not a path/);
    });

    it("reads values as JSON where they are JSON, splitting only at top-level commas", () => {
      expect(parseValues('0.02,1e3,true,recourse,{"dist":"uniform","min":1,"max":2}')).to.deep.equal([
        0.02,
        1000,
        true,
        "recourse",
        { dist: "uniform", min: 1, max: 2 },
      ]);
      expect(() => parseValues("1,,2")).to.throw(/value 2 is empty/);
    });

    it("plans a grid first axis outermost, and the seed from --seed", () => {
      const plan = planSweep({
        scenario,
        axes: [
          { path: "population.borrowers.count", values: "2,3,4" },
          { path: "negativeBalancePolicy", values: "protected,recourse" },
        ],
        metric: "deficit.total",
        workers: 2,
        seed: 7,
        out: path.join(tmp, "plan"),
      });
      expect(plan.jobs.map((j) => j.values)).to.deep.equal([
        [2, "protected"],
        [2, "recourse"],
        [3, "protected"],
        [3, "recourse"],
        [4, "protected"],
        [4, "recourse"],
      ]);
      expect(plan.jobs.map((j) => j.seed)).to.deep.equal([7, 7, 7, 7, 7, 7]);
      expect(plan.jobs[3].name).to.equal("4-count=3_negativeBalancePolicy=recourse");
      expect((plan.jobs[3].doc as ScenarioSpec).population!.borrowers!.count).to.equal(3);
    });
  });
});

describe("npm start: the summary table", () => {
  const summary: Summary = {
    scenario: "gap-50",
    seed: 1,
    steps: 60,
    accounts: 330,
    wallSeconds: 70.8,
    liquidations: { lending: 155, perps: 67, valueRepaid: 1, bonusPaid: 1 },
    deficit: { total: 4000, insurance: 1000, socialisedSuppliers: 1000, socialisedLps: 2000, adl: 0 },
    adlHaircut: 0,
    ordersExecuted: 0,
    recourse: { owed: 0, recovered: 0, outstanding: 0 },
    insuranceFund: { start: 250000, end: 1234567.891, min: 0 },
    suppliers: { lossPct: 0.19 },
    lps: { lossPct: 1.44 },
    negativeAccounts: 0,
    oracle: { stepsDegraded: 3, blockedActions: { borrow: 0, liquidate: 0 } },
    invariants: { checked: 61, violations: [] },
    population: { suppliers: 20, borrowers: 200, lps: 10, traders: 100, skipped: 0 },
    transactions: 5000,
  };

  it("shows each figure on its own aligned line, amounts with thousands separators and bucket shares", () => {
    const lines = summaryText(summary).split("\n");
    expect(lines[0]).to.equal("gap-50 (seed 1): 60 steps, 330 accounts");
    const row = (label: string) => {
      const line = lines.find((l) => l.trimStart().startsWith(label));
      expect(line, label).to.not.equal(undefined);
      return line!.slice(line!.indexOf(label) + label.length).trim();
    };
    expect(row("liquidations")).to.equal("155 lending, 67 perps");
    expect(row("deficit (USD)")).to.equal("4,000.00");
    expect(row("paid by insurance")).to.equal("1,000.00 (25.0%)");
    expect(row("socialised to suppliers")).to.equal("1,000.00 (25.0%)");
    expect(row("socialised to LPs")).to.equal("2,000.00 (50.0%)");
    expect(row("ADL")).to.equal("0.00 (0.0%)");
    expect(row("insurance fund (USD)")).to.equal("start 250,000.00, end 1,234,567.89, min 0.00");
    expect(row("supplier loss")).to.equal("0.19%");
    expect(row("LP loss")).to.equal("1.44%");
    expect(row("negative accounts")).to.equal("0");
    expect(row("oracle degraded steps")).to.equal("3 of 61");
    expect(row("invariants")).to.equal("61 steps checked, no violation");
    expect(row("wall time")).to.equal("70.8 s");
    // The values start in one column, after the longest label.
    const column = lines[1].indexOf("155");
    for (const line of lines.slice(1)) {
      expect(line.slice(0, column), line).to.match(/^ {2}.*\S {2,}$/);
      expect(line[column], line).to.not.equal(" ");
    }
    expect(lines).to.have.length(14);
  });

  it("names the first invariant violation and lists the output files", () => {
    const bad = {
      ...summary,
      invariants: { checked: 61, violations: [{ step: 4, check: "lending.cash", detail: "x" }] },
    };
    expect(summaryText(bad)).to.include("61 steps checked, 1 VIOLATION(S), first: step 4 lending.cash");
    expect(filesText([path.join(process.cwd(), "out", "gap-50", "summary.json")])).to.equal(
      `Outputs:\n  ${path.join("out", "gap-50", "summary.json")}`,
    );
  });
});
