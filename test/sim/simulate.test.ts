/**
 * The simulator (npx hardhat simulate, sim/run/): small scenarios on the in-process chain, checked through
 * what a researcher reads (summary.json, timeline.csv): a gap that leaves a deficit paid by insurance, a
 * flash crash that prompt keepers absorb, a stale oracle that blocks liquidations, determinism, and the
 * refusals (a malformed scenario, a bad flag) that happen before anything is deployed.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";

import { parseScenario, type ScenarioSpec } from "../../sim/scenario";
import { runSimulation, type RunResult, type Summary } from "../../sim/run/run";

const root = path.join(__dirname, "..", "..");
const tmp = mkdtempSync(path.join(os.tmpdir(), "ballast-sim-"));

/** Writes `spec` to a file and returns its path. */
function scenarioFile(name: string, spec: unknown): string {
  const file = path.join(tmp, `${name}.json`);
  writeFileSync(file, JSON.stringify(spec, null, 2));
  return file;
}

async function simulate(file: string, out: string, seed?: number): Promise<RunResult> {
  const args: Record<string, string> = { scenario: file, out: path.join(tmp, out) };
  if (seed !== undefined) args.seed = String(seed);
  return (await hre.run("simulate", args)) as RunResult;
}

const read = (out: string, name: string) => readFileSync(path.join(tmp, out, name), "utf8");
const units = (x: number) => BigInt(Math.round(x * 1e6));

/** A small population on WETH (two feeds: a gap is confirmed at once), 20 steps of a minute. */
function gapSpec(change: number): ScenarioSpec {
  return {
    name: "gap-small",
    seed: 1,
    steps: 20,
    stepSeconds: 60,
    assets: [{ symbol: "WETH", decimals: 18, price: 2000, fallback: true }],
    params: {
      lending: { WETH: { liquidationThreshold: 0.85, liquidationBonus: 0.05 } },
      perps: { ETH: { maxLeverage: 20, maintenanceMargin: 0.025 } },
      insuranceFund: { initial: 1_000_000 },
    },
    population: {
      suppliers: { count: 4, deposit: 250_000 },
      borrowers: {
        count: 10,
        collateral: "WETH",
        size: { dist: "uniform", min: 10_000, max: 50_000 },
        ltv: { dist: "uniform", min: 0.6, max: 0.84 },
      },
      lps: { count: 2, deposit: 200_000 },
      traders: {
        count: 8,
        market: "ETH",
        longShare: 0.75,
        margin: { dist: "uniform", min: 1000, max: 5000 },
        leverage: { dist: "uniform", min: 3, max: 15 },
      },
    },
    keepers: [{ kind: "liquidator", count: 1, latencySteps: 0 }, { kind: "adl" }],
    path: [{ asset: "WETH", shape: "gap", at: 5, change }],
  };
}

function expectWaterfall(s: Summary) {
  const d = s.deficit;
  // To the base unit: the summary's decimals are exact in 6 places.
  expect(units(d.total)).to.equal(
    units(d.insurance) + units(d.socialisedSuppliers) + units(d.socialisedLps) + units(d.adl),
  );
}

describe("simulate: bad-debt scenarios on the in-process chain", function () {
  this.timeout(120_000);

  describe("a -50% gap (gap-50, small)", () => {
    let first: RunResult;
    let file: string;
    before(async () => {
      file = scenarioFile("gap", gapSpec(-0.5));
      first = await simulate(file, "gap-a");
    });

    it("liquidates and leaves a deficit that insurance covers, to the base unit", () => {
      const s = first.summary;
      expect(s.liquidations.lending).to.be.greaterThan(0);
      expect(s.liquidations.perps).to.be.greaterThan(0);
      expect(s.deficit.total).to.be.greaterThan(0);
      expect(s.deficit.insurance).to.equal(s.deficit.total); // a fund of 1M covers it all
      expectWaterfall(s);
      expect(s.insuranceFund.start).to.equal(1_000_000);
      // The fund paid the deficit (less what fees and swept reserves brought in meanwhile).
      expect(s.insuranceFund.end).to.be.lessThan(s.insuranceFund.start);
      expect(s.insuranceFund.min).to.equal(s.insuranceFund.end);
      expect(s.population.skipped).to.equal(0);
      expect(s.invariants).to.deep.equal({ checked: 21, violations: [] });
      expect(s.accounts).to.equal(24);
      expect(s.negativeAccounts).to.equal(0);
    });

    it("writes summary.json, a timeline row per step and an events row per liquidation and deficit", () => {
      const summary = JSON.parse(read("gap-a", "summary.json")) as Summary;
      expect(summary.deficit).to.deep.equal(first.summary.deficit);
      const timeline = read("gap-a", "timeline.csv").trim().split("\n");
      expect(timeline).to.have.length(22); // header + steps 0..20
      const header = timeline[0].split(",");
      const row5 = Object.fromEntries(timeline[6].split(",").map((v, i) => [header[i], v]));
      expect(row5["WETH.market"]).to.equal("1000");
      expect(row5["WETH.status"]).to.equal("OK");
      expect(Number(row5.liquidations)).to.equal(
        first.summary.liquidations.lending + first.summary.liquidations.perps,
      );
      expect(Number(row5["deficit.total"])).to.equal(first.summary.deficit.total);
      const events = read("gap-a", "events.csv").trim().split("\n");
      expect(events[0]).to.equal("step,kind,account,amount,tx");
      const liquidations = events.filter((e) => /,(lending|perps)\.liquidate,/.test(e));
      expect(liquidations).to.have.length(
        first.summary.liquidations.lending + first.summary.liquidations.perps,
      );
      const deficits = events
        .filter((e) => e.includes(".deficit,"))
        .map((e) => units(Number(e.split(",")[3])));
      expect(deficits.reduce((a, b) => a + b, 0n)).to.equal(units(first.summary.deficit.total));
    });

    it("is deterministic: same file and seed, identical timeline.csv and summary.json but wallSeconds", async () => {
      await simulate(file, "gap-b", 1);
      expect(read("gap-b", "timeline.csv")).to.equal(read("gap-a", "timeline.csv"));
      const strip = (text: string) => text.replace(/"wallSeconds": [0-9.]+/, "");
      expect(strip(read("gap-b", "summary.json"))).to.equal(strip(read("gap-a", "summary.json")));
      expect(read("gap-b", "summary.json")).to.include('"wallSeconds"');
    });
  });

  it("the keepers' off-chain filter changes nothing: a reference run reading every account every step gives the same outputs", async () => {
    // A gradual slide (linear, then a gap) with funding running: accounts cross the liquidation line at
    // different steps, which is where a filter that re-reads too few accounts would miss one.
    const spec = gapSpec(0);
    spec.name = "filter-check";
    spec.steps = 30;
    spec.path = [
      { asset: "WETH", shape: "linear", at: 3, over: 17, change: -0.3 },
      { asset: "WETH", shape: "gap", at: 24, change: -0.2 },
    ];
    spec.population!.borrowers!.count = 30;
    spec.population!.traders!.count = 20;
    spec.keepers = [{ kind: "liquidator", count: 1, latencySteps: 0, maxPerStep: 3 }, { kind: "adl" }];
    const scenario = parseScenario(spec);
    // Each run deploys its own system and accounts, so the two runs do not share state.
    const filtered = await runSimulation(hre, scenario);
    const reference = await runSimulation(hre, scenario, { auditEvery: 1 });
    // Every step of the reference run is an audit: a liquidatable account the filter did not pick is listed.
    expect(reference.violations).to.deep.equal([]);
    expect(filtered.violations).to.deep.equal([]);
    expect(filtered.summary.liquidations.lending).to.be.greaterThan(5);
    expect(filtered.timeline).to.equal(reference.timeline);
    const strip = (x: Summary) => ({ ...x, wallSeconds: 0, transactions: 0 });
    expect(strip(filtered.summary)).to.deep.equal(strip(reference.summary));
    expect(filtered.events.map((e) => [e.step, e.kind, e.amount])).to.deep.equal(
      reference.events.map((e) => [e.step, e.kind, e.amount]),
    );
  });

  it("stop-losses: the orders keeper executes each stop the price crosses, and those traders are not liquidated", async () => {
    const spec = gapSpec(0);
    spec.name = "stops";
    delete spec.population!.borrowers;
    spec.population!.traders = {
      count: 10,
      market: "ETH",
      longShare: 1,
      margin: { dist: "uniform", min: 1000, max: 5000 },
      leverage: { dist: "uniform", min: 10, max: 15 },
    };
    spec.path = [{ asset: "WETH", shape: "linear", at: 3, over: 12, change: -0.3 }];
    spec.keepers = [{ kind: "liquidator", count: 1, latencySteps: 0 }, { kind: "orders" }];
    const without = await runSimulation(hre, parseScenario(spec));
    expect(without.summary.liquidations.perps).to.equal(10);
    expect(without.summary.ordersExecuted).to.equal(0);

    spec.population!.traders.stopLoss = { share: 1, distance: 0.03 };
    const withStops = await runSimulation(hre, parseScenario(spec));
    expect(withStops.violations).to.deep.equal([]);
    expect(withStops.summary.ordersExecuted).to.equal(10);
    expect(withStops.summary.liquidations.perps).to.equal(0);
    const fills = withStops.events.filter((e) => e.kind === "perps.order");
    expect(fills).to.have.length(10);
    // Each fired in the step the price first crossed 97% of the start (2000 -> 1940), not before.
    const timeline = withStops.timeline.trim().split("\n");
    const price = timeline[0].split(",").indexOf("WETH.oracle");
    const firstBelow = timeline.slice(1).findIndex((row) => Number(row.split(",")[price]) <= 1940);
    expect(new Set(fills.map((f) => f.step))).to.deep.equal(new Set([firstBelow]));
    // A stop closes the whole position: no open interest is left.
    const oi = timeline[0].split(",").indexOf("WETH.oiLong");
    expect(Number(timeline[timeline.length - 1].split(",")[oi])).to.equal(0);
  });

  it("a thin insurance fund under RECOURSE: the rest is socialised, recorded as owed, and the law holds", async () => {
    const spec = gapSpec(-0.5);
    spec.name = "gap-thin-recourse";
    spec.negativeBalancePolicy = "recourse";
    spec.params!.insuranceFund = { initial: 1000 };
    const { summary } = await simulate(scenarioFile("thin", spec), "thin");
    const d = summary.deficit;
    expect(d.socialisedSuppliers).to.be.greaterThan(0);
    expect(d.socialisedLps).to.be.greaterThan(0);
    expectWaterfall(summary);
    expect(summary.insuranceFund.end).to.equal(0);
    expect(summary.suppliers.lossPct).to.be.greaterThan(0);
    expect(summary.recourse.owed).to.equal(d.total);
    expect(units(summary.recourse.owed)).to.equal(
      units(summary.recourse.recovered) + units(summary.recourse.outstanding),
    );
    expect(summary.negativeAccounts).to.be.greaterThan(0);
    expect(summary.invariants.violations).to.deep.equal([]);
  });

  it("a flash crash (-13.5%, recovered within 10 steps) with prompt keepers: liquidations, no deficit", async () => {
    const spec = gapSpec(0);
    spec.name = "flash-crash-small";
    spec.path = [
      { asset: "WETH", shape: "vshape", at: 5, change: -0.135, over: 1, recover: 1, recoverOver: 10 },
    ];
    spec.population!.borrowers!.ltv = { dist: "uniform", min: 0.7, max: 0.84 };
    spec.population!.traders!.leverage = { dist: "uniform", min: 2, max: 6 };
    const { summary } = await simulate(scenarioFile("flash", spec), "flash");
    expect(summary.liquidations.lending).to.be.greaterThan(0);
    expect(summary.deficit).to.deep.equal({
      total: 0,
      insurance: 0,
      socialisedSuppliers: 0,
      socialisedLps: 0,
      adl: 0,
    });
    expect(summary.insuranceFund.end).to.be.gte(summary.insuranceFund.start);
    expect(summary.invariants.violations).to.deep.equal([]);
  });

  it("a stale oracle window blocks liquidations (oracle.blockedActions.liquidate > 0)", async () => {
    const spec = gapSpec(-0.15);
    spec.name = "stale-small";
    spec.assets = [{ symbol: "WETH", decimals: 18, price: 2000, heartbeat: 120 }];
    spec.population!.borrowers!.ltv = { dist: "uniform", min: 0.75, max: 0.84 };
    delete spec.population!.traders;
    // The feed prints the -15% at step 5, then stops updating; the liquidator reacts after 3 steps.
    spec.oracle = [{ asset: "WETH", fault: "stale", from: 6, to: 21 }];
    spec.keepers = [{ kind: "liquidator", count: 1, latencySteps: 3 }];
    const { summary } = await simulate(scenarioFile("stale", spec), "stale");
    expect(summary.population.skipped).to.equal(0);
    expect(summary.oracle.blockedActions.liquidate).to.be.greaterThan(0);
    expect(summary.liquidations.lending).to.equal(0);
    expect(summary.oracle.stepsDegraded).to.be.greaterThan(0);
    const timeline = read("stale", "timeline.csv").trim().split("\n");
    const status = timeline[0].split(",").indexOf("WETH.status");
    expect(timeline[10].split(",")[status]).to.equal("STALE");
    expect(summary.invariants.violations).to.deep.equal([]);
  });

  describe("liquidator economics", () => {
    /** A -12% gap on borrowers near their limit, liquidators selling into a thin market. */
    function thinMarket(cascade: boolean): ScenarioSpec {
      const spec = gapSpec(-0.12);
      spec.name = cascade ? "cascade" : "no-cascade";
      spec.cascade = cascade;
      spec.population!.borrowers!.ltv = { dist: "uniform", min: 0.7, max: 0.84 };
      delete spec.population!.traders;
      spec.keepers = [{ kind: "liquidator", count: 1, latencySteps: 0, marketDepth: 200_000 }];
      return spec;
    }
    const lastPrice = (out: string) => {
      const rows = read(out, "timeline.csv").trim().split("\n");
      return Number(rows[rows.length - 1].split(",")[rows[0].split(",").indexOf("WETH.market")]);
    };

    it("cascade: liquidators' sales push the market (and the feed) down, and more accounts follow", async () => {
      const calm = (await simulate(scenarioFile("no-cascade", thinMarket(false)), "no-cascade")).summary;
      const spiral = (await simulate(scenarioFile("cascade", thinMarket(true)), "cascade")).summary;
      expect(lastPrice("no-cascade")).to.equal(1760);
      expect(lastPrice("cascade")).to.be.lessThan(1760);
      expect(spiral.liquidations.lending).to.be.greaterThan(calm.liquidations.lending);
      const rows = read("cascade", "timeline.csv").trim().split("\n");
      const header = rows[0].split(",");
      const last = rows[rows.length - 1].split(",");
      expect(last[header.indexOf("WETH.oracle")]).to.equal(last[header.indexOf("WETH.market")]);
    });

    it("a liquidation whose gas costs more than its bonus is not sent", async () => {
      const spec = thinMarket(false);
      spec.keepers = [{ kind: "liquidator", count: 1, latencySteps: 0, gasCostUsd: 1_000_000 }];
      const r = await simulate(scenarioFile("gas", spec), "gas");
      expect(r.summary.liquidations.lending).to.equal(0);
      expect(r.events.filter((e) => e.kind === "lending.unprofitable").length).to.be.greaterThan(0);
    });
  });

  it("lists a broken invariant (tokens taken out of the lending market) from that step on", async () => {
    const spec = gapSpec(-0.1);
    spec.name = "planted";
    spec.steps = 6;
    delete spec.population!.traders;
    const scenario = parseScenario(spec);
    const { violations, summary } = await runSimulation(hre, scenario, {
      afterKeepers: async (step, system) => {
        if (step !== 3) return;
        // The market's cash leaves without any accounting: held < supplied + reserves - borrowed.
        const market = await system.lending!.market.getAddress();
        await hre.network.provider.request({
          method: "hardhat_setBalance",
          params: [market, "0xde0b6b3a7640000"],
        });
        const thief = await hre.ethers.getImpersonatedSigner(market);
        const cash = await system.base.erc20.balanceOf(market);
        await system.base.erc20.connect(thief).transfer(system.admin, cash);
      },
    });
    expect(violations.map((v) => [v.step, v.check])).to.deep.equal([
      [3, "lending.cash"],
      [4, "lending.cash"],
      [5, "lending.cash"],
      [6, "lending.cash"],
    ]);
    expect(summary.invariants.violations).to.deep.equal(violations);
  });

  describe("refusals, before anything is deployed", () => {
    it("rejects a malformed scenario with the JSON path of every problem and deploys nothing", async () => {
      const spec = gapSpec(-0.5) as unknown as {
        population: { borrowers: { ltv: unknown } };
        bogus?: number;
      };
      spec.population.borrowers.ltv = { dist: "uniform", min: 0.3, max: "0.84" };
      spec.bogus = 1;
      const file = scenarioFile("broken", spec);
      const before = await hre.ethers.provider.getBlockNumber();
      let message = "";
      try {
        await simulate(file, "broken");
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).to.include("population.borrowers.ltv.max");
      expect(message).to.include("bogus");
      expect(await hre.ethers.provider.getBlockNumber()).to.equal(before);
    });

    it("rejects a bad flag value or a missing --scenario with the usage", async () => {
      const file = scenarioFile("gap-flags", gapSpec(-0.5));
      for (const args of [{ scenario: file, seed: "abc" }, { scenario: file, seed: "-1" }, {}]) {
        let message = "";
        try {
          await hre.run("simulate", args);
        } catch (e) {
          message = (e as Error).message;
        }
        expect(message, JSON.stringify(args)).to.match(/Usage: npx hardhat simulate --scenario FILE/);
      }
    });

    it("exits non-zero with the usage from the command line", () => {
      const hardhat = path.join(root, "node_modules", ".bin", "hardhat");
      const r = spawnSync(hardhat, ["simulate", "--scenario", "x.json", "--seed", "1.5"], {
        cwd: root,
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(r.status).to.not.equal(0);
      expect(r.stdout + r.stderr).to.include("Usage: npx hardhat simulate");
    });
  });
});
