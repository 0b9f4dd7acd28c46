/**
 * The dashboard end to end, in headless Chromium: a Hardhat node and the dashboard's Vite server in child
 * processes, the demo deployment, then through the page: mint, post WETH, borrow (after a refused borrow
 * whose custom error must read in words), `npx hardhat crash` WETH -40%, and `npx hardhat keeper --once`.
 * The account's row must turn red, the liquidation must reach the feed and the insurance fund must move.
 * Then a simulator output folder opened in the page draws the report's charts. Screenshots of every step go
 * to test-artifacts/dashboard/.
 */
import { expect } from "chai";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

import { simCharts } from "../../sim/report/charts";
import { bin, root, startNode } from "./node";

const NODE_PORT = "8601";
const DASHBOARD_PORT = "5181";
const URL = `http://127.0.0.1:${DASHBOARD_PORT}`;
const SHOTS = path.join(root, "test-artifacts", "dashboard");
/** The first of the node's accounts that the demo seed leaves alone (0: admin, 1-9: demo, 10: keeper). */
const USER_INDEX = 11;

function hardhat(args: string[]): string {
  const r = spawnSync(bin("hardhat"), [...args, "--network", "localhost"], {
    cwd: root,
    env: { ...process.env, LOCAL_PORT: NODE_PORT },
    encoding: "utf8",
    timeout: 120_000,
  });
  if (r.status !== 0)
    throw new Error(`hardhat ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Starts scripts/dashboard.ts and resolves once the server answers with the deployments. */
async function startDashboard(file: string): Promise<ChildProcess> {
  const child = spawn(bin("ts-node"), [path.join(root, "scripts", "dashboard.ts")], {
    cwd: root,
    env: {
      ...process.env,
      DASHBOARD_PORT,
      RPC_URL: `http://127.0.0.1:${NODE_PORT}`,
      DEPLOYMENTS: file,
      TS_NODE_TRANSPILE_ONLY: "true", // tsc checks it in lint; here only its behaviour matters
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group, so that Vite (a grandchild) stops with it
  });
  let log = "";
  child.stdout!.on("data", (c: Buffer) => (log += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (log += c.toString()));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the dashboard exited (${child.exitCode}):\n${log}`);
    try {
      const res = await fetch(`${URL}/dashboard-config.json`);
      if (res.ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`the dashboard did not start:\n${log}`);
}

describe("dashboard: the live page in headless Chromium against a local node", function () {
  this.timeout(240_000);
  let node: ChildProcess;
  let dashboard: ChildProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let file: string;
  let step = 0;
  const pageErrors: string[] = [];

  const shot = async (name: string) => {
    step += 1;
    await page.screenshot({
      path: path.join(SHOTS, `${String(step).padStart(2, "0")}-${name}.png`),
      fullPage: true,
    });
  };
  /** Fills an action's form, presses Preview and waits for the preview. */
  const preview = async (action: string, values: Record<string, string>) => {
    const form = page.locator(`form[data-action="${action}"]`);
    for (const [name, value] of Object.entries(values)) {
      const field = form.locator(`[name="${name}"]`);
      if ((await field.evaluate((e) => e.tagName)) === "SELECT") await field.selectOption(value);
      else await field.fill(value);
    }
    await form.locator("button[type=submit]").click();
    await page.locator("#preview-body h4").waitFor();
    await page.locator("#confirm:not([disabled])").waitFor();
  };
  const confirm = async () => {
    await page.locator("#confirm").click();
    await page.locator("#action-result.ok, #action-result.error").waitFor();
    expect(
      await page.locator("#action-result").getAttribute("class"),
      await page.locator("#action-result").innerText(),
    ).to.equal("ok");
  };
  /** Waits until a refresh newer than the chain's current block has rendered. */
  const refreshed = async () => {
    const res = await fetch(`${URL}/rpc`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }),
    });
    const block = Number(((await res.json()) as { result: string }).result);
    await page.waitForFunction(
      (b) => Number(document.getElementById("status")?.dataset.block ?? -1) >= b,
      block,
    );
  };

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    node = await startNode(NODE_PORT);
    file = path.join(mkdtempSync(path.join(os.tmpdir(), "ballast-dashboard-")), "localhost.json");
    hardhat(["deploy", "--seed", "--fresh", "--quiet", "--out", file]);
    dashboard = await startDashboard(file);
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1600 } });
    page.on("pageerror", (e) => pageErrors.push(e.message));
  });

  after(async () => {
    await browser?.close();
    if (dashboard?.pid) process.kill(-dashboard.pid, "SIGTERM");
    node?.kill("SIGINT");
  });

  it("supply and borrow through the page; after a crash and a keeper round the account is red, its liquidation is in the feed and the insurance fund has paid", async () => {
    await page.goto(URL);
    await page.locator("#status[data-block]").waitFor({ timeout: 60_000 });
    expect(await page.locator("#oracle-table tr[data-asset=WETH] .status").innerText()).to.equal("OK");
    expect(await page.locator("#accounts-table tbody tr").count(), "the seeded accounts").to.be.greaterThan(
      5,
    );
    await shot("loaded");

    const accounts = await page
      .locator("#account option")
      .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    const me = accounts[USER_INDEX].toLowerCase();
    await page.locator("#account").selectOption({ index: USER_INDEX });
    await page.locator("#faucet").click();
    await page.locator("#action-result.ok").waitFor();
    expect(await page.locator("#action-result").innerText()).to.match(/minted USDC, WETH/);

    await preview("supplyCollateral", { token: "WETH", amount: "10" });
    expect(await page.locator("#preview-body").innerText()).to.include("approves exactly 10 WETH first");
    await shot("preview-collateral");
    await confirm();

    // A borrow beyond capacity: the preview names the custom error and its arguments, never hex.
    await preview("borrow", { amount: "30000" });
    const problem = await page.locator("#preview-problem").innerText();
    expect(problem).to.match(/InsufficientBorrowCapacity\(debt = \d+, capacity = 24000000000\)/);
    expect(problem).to.include("Thrown when");
    expect(problem).not.to.match(/0x[0-9a-f]{8}/i);
    await shot("preview-refused-borrow");

    // 10 WETH at 3,000 with an 85% threshold against 22,000 of debt: health 25,500 / 22,000.
    await preview("borrow", { amount: "22000" });
    expect(await page.locator("#health-before").innerText()).to.match(/^∞/);
    expect(await page.locator("#health-after").innerText()).to.equal("1.159");
    await shot("preview-borrow");
    await confirm();
    await refreshed();
    const row = page.locator(`#accounts-table tr[data-account="${me}"]`);
    expect(await row.getAttribute("class")).to.equal("health-green");
    expect(await row.locator(".health").innerText()).to.equal("1.159");
    expect(await row.innerText()).to.match(
      /WETH collateral 10: now \$3,000, liquidation \$2,588\.\d+, bankruptcy \$2,200/,
    );
    const fundBefore = await page.locator("#insurance-fund").innerText();
    await shot("borrowed");

    expect(hardhat(["crash", "--asset", "WETH", "--change", "-0.4", "--file", file])).to.include(
      "WETH: 3000.0 -> 1800.0",
    );
    await refreshed();
    expect(await row.getAttribute("class")).to.equal("health-red liquidatable");
    expect(Number(await row.locator(".health").innerText())).to.be.below(1);
    expect(await page.locator("#oracle-table tr[data-asset=WETH] .price").innerText()).to.equal("$1,800");
    await shot("crashed");

    expect(hardhat(["keeper", "--once", "--file", file])).to.include("lending.liquidate");
    await refreshed();
    const label = `#${USER_INDEX} ${accounts[USER_INDEX].slice(0, 6)}`;
    const liquidation = page.locator(`#feed-list li[data-event=Liquidate]`, { hasText: label });
    expect(await liquidation.count(), "the user's liquidation in the feed").to.equal(1);
    expect(
      await page.locator(`#feed-list li[data-event=DeficitRealised]`, { hasText: label }).count(),
    ).to.equal(1);
    const fundAfter = await page.locator("#insurance-fund").innerText();
    expect(fundAfter, "the insurance fund paid the deficits").not.to.equal(fundBefore);
    expect(Number(fundAfter.replace(/,/g, ""))).to.be.below(Number(fundBefore.replace(/,/g, "")));
    await shot("liquidated");
    expect(pageErrors, "uncaught errors in the page").to.deep.equal([]);
  });

  it("every other action previews its health and is sent: supply, deposit margin, open, stop-loss, close, repay", async () => {
    const other = USER_INDEX + 1;
    await page.locator("#account").selectOption({ index: other });
    await page.locator("#faucet").click();
    await page.locator("#action-result.ok").waitFor();
    const feedCount = (event: string) =>
      page.locator(`#feed-list li[data-event=${event}]`, { hasText: `#${other} ` }).count();

    await preview("supply", { amount: "10000" });
    expect(await page.locator("#preview-body").innerText()).to.include("health does not change");
    await confirm();

    await preview("depositMargin", { amount: "5000" });
    expect(await page.locator("#health-after").innerText()).to.match(/^∞/);
    await confirm();

    // 1 WETH long at 1,800 on 5,000 of margin: healthy, and the preview says so before it is sent.
    await preview("open", { market: "WETH", side: "long", size: "1" });
    expect(await page.locator("#preview-problem").count(), "no revert expected").to.equal(0);
    expect(Number(await page.locator("#health-after").innerText())).to.be.above(10);
    await shot("preview-open");
    await confirm();

    await preview("stopLoss", { market: "WETH", trigger: "1500" });
    expect(await page.locator("#preview-body").innerText()).to.match(
      /close 1 WETH long when the price is at or below \$1,500/,
    );
    await confirm();

    await preview("close", { market: "WETH" });
    expect(await page.locator("#health-after").innerText()).to.match(/^∞/);
    await confirm();

    await preview("supplyCollateral", { token: "WETH", amount: "1" });
    await confirm();
    await preview("borrow", { amount: "500" });
    await confirm();
    await preview("repay", { amount: "max" });
    expect(await page.locator("#health-after").innerText()).to.match(/^∞/);
    await confirm();
    await refreshed();
    expect(await feedCount("PositionModified"), "the open and the close are fills in the feed").to.equal(2);
    expect(await feedCount("OrderPlaced")).to.equal(1);
    const row = page.locator(
      `#accounts-table tr[data-account="${(await page.locator("#account").inputValue()).toLowerCase()}"]`,
    );
    expect(await row.locator(".health").innerText(), "no debt and no position left").to.equal("∞");
    await shot("actions");
    expect(pageErrors).to.deep.equal([]);
  });

  it("npm run dashboard refuses bad arguments with its usage", () => {
    const r = spawnSync(bin("ts-node"), [path.join(root, "scripts", "dashboard.ts"), "--port", "http"], {
      cwd: root,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
      encoding: "utf8",
    });
    expect(r.status).to.equal(2);
    expect(r.stderr).to.include("not a port: http");
    expect(r.stderr).to.include("usage: npm run dashboard");
  });

  it("opens a simulator output folder and draws every chart of the report (sim/report/charts.ts)", async () => {
    // A small handmade run in the simulator's formats (docs/simulator.md): a WETH gap with a stale window.
    const dir = mkdtempSync(path.join(os.tmpdir(), "ballast-dashboard-sim-"));
    const timeline = [
      "step,time,WETH.market,WETH.oracle,WETH.status,supplied,vaultNav,insuranceFund,deficit.insurance,deficit.suppliers,deficit.lps,deficit.adl,deficit.total,liquidations,blockedLiquidations",
      "0,0,2000,2000,OK,1000,500,100,0,0,0,0,0,0,0",
      "1,60,1000,2000,OK,1000,500,100,0,0,0,0,0,0,0",
      "2,120,1000,2000,STALE,1000,500,100,0,0,0,0,0,0,2",
      "3,180,1000,1000,OK,1000,480,60,40,0,0,0,40,3,0",
    ].join("\n");
    const events = [
      "step,kind,account,amount,tx",
      "3,lending.liquidate,0xa,100,0x1",
      "3,lending.deficit,0xa,40,",
    ].join("\n");
    const summary = { suppliers: { lossPct: 0 }, lps: { lossPct: 4 } };
    writeFileSync(path.join(dir, "summary.json"), JSON.stringify(summary));
    writeFileSync(path.join(dir, "timeline.csv"), timeline);
    writeFileSync(path.join(dir, "events.csv"), events);
    const expected = simCharts(summary, timeline, events);

    await page.locator("#sim-folder").setInputFiles(dir);
    await page.locator("#sim-charts figure").first().waitFor();
    const ids = await page
      .locator("#sim-charts figure")
      .evaluateAll((fs) => fs.map((f) => (f as HTMLElement).dataset.chart));
    expect(ids).to.deep.equal(expected.map((c) => c.id));
    // Every chart with a config has drawn something: its canvas holds non-transparent pixels.
    const drawn = await page.locator("#sim-charts canvas").evaluateAll((cs) =>
      cs.map((c) => {
        const canvas = c as HTMLCanvasElement;
        const pixels = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
        return pixels.some((v, i) => i % 4 === 3 && v > 0);
      }),
    );
    expect(drawn).to.deep.equal(expected.filter((c) => c.config).map(() => true));
    await page.locator("#sim-section").scrollIntoViewIfNeeded();
    await shot("simulator");

    // A folder without the outputs is refused in words.
    const empty = mkdtempSync(path.join(os.tmpdir(), "ballast-dashboard-empty-"));
    writeFileSync(path.join(empty, "notes.txt"), "not a run");
    await page.locator("#sim-folder").setInputFiles(empty);
    await page.locator("#sim-charts .error").waitFor();
    expect(await page.locator("#sim-charts .error").innerText()).to.include(
      "has no summary.json, timeline.csv, events.csv",
    );
    expect(pageErrors).to.deep.equal([]);
  });
});
