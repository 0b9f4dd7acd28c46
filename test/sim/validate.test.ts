/**
 * The scenario validator: every class of error with its exact JSON path, several errors reported at
 * once, the defaults, name resolution, and the fixtures under test/sim/fixtures.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import {
  DEFAULTS,
  ScenarioError,
  ScenarioErrors,
  defaultKeepers,
  loadScenario,
  parseScenario,
  resolveMarket,
} from "../../sim/scenario";
import { baseSpec, problems, specWith } from "./helpers";

const FIXTURES = path.join(__dirname, "fixtures");

/** One broken field (or a few) -> exactly one problem, at `path`, whose text contains `problem`. */
interface Case {
  name: string;
  changes: Record<string, unknown>;
  path: string;
  problem: string;
}

const gbm = (over: Record<string, unknown> = {}) => ({
  asset: "WETH",
  shape: "gbm",
  drift: 0,
  volatility: 1,
  ...over,
});
const linear = (over: Record<string, unknown>) => ({ asset: "WETH", shape: "linear", over: 10, ...over });
const fault = (over: Record<string, unknown>) => ({ asset: "WETH", from: 50, to: 60, ...over });

const CASES: Case[] = [
  // Structure: unknown keys, missing fields, wrong types.
  { name: "unknown key at the root", changes: { colour: "red" }, path: "colour", problem: "unknown key" },
  {
    name: "unknown key in a group",
    changes: { "population.borrowers.colateral": "WETH" },
    path: "population.borrowers.colateral",
    problem: "unknown key (expected one of count, collateral, size, ltv)",
  },
  { name: "missing name", changes: { name: undefined }, path: "name", problem: "is required" },
  { name: "missing steps", changes: { steps: undefined }, path: "steps", problem: "is required" },
  {
    name: "missing decimals",
    changes: { "assets[1].decimals": undefined },
    path: "assets[1].decimals",
    problem: "is required",
  },
  {
    name: "decimals as a string",
    changes: { "assets[1].decimals": "8" },
    path: "assets[1].decimals",
    problem: 'must be a number (got "8")',
  },
  { name: "empty name", changes: { name: "" }, path: "name", problem: "must be a non-empty string" },
  {
    name: "description not a string",
    changes: { description: 3 },
    path: "description",
    problem: "must be a string",
  },
  {
    name: "cascade not a boolean",
    changes: { cascade: "yes" },
    path: "cascade",
    problem: "must be true or false",
  },
  { name: "assets not an array", changes: { assets: {} }, path: "assets", problem: "must be an array" },
  { name: "no assets", changes: { assets: [] }, path: "assets", problem: "must not be empty" },
  {
    name: "population not an object",
    changes: { population: 3 },
    path: "population",
    problem: "must be an object",
  },
  // Scalars out of bounds.
  { name: "zero steps", changes: { steps: 0 }, path: "steps", problem: "must be at least 1 (got 0)" },
  { name: "fractional steps", changes: { steps: 10.5 }, path: "steps", problem: "must be a whole number" },
  {
    name: "zero stepSeconds",
    changes: { stepSeconds: 0 },
    path: "stepSeconds",
    problem: "must be at least 1",
  },
  { name: "negative seed", changes: { seed: -1 }, path: "seed", problem: "must be at least 0" },
  {
    name: "unknown policy",
    changes: { negativeBalancePolicy: "lenient" },
    path: "negativeBalancePolicy",
    problem: 'must be one of protected, recourse (got "lenient")',
  },
  {
    name: "decimals above 18",
    changes: { "assets[0].decimals": 19 },
    path: "assets[0].decimals",
    problem: "must be at most 18",
  },
  {
    name: "zero price",
    changes: { "assets[0].price": 0 },
    path: "assets[0].price",
    problem: "must be above 0",
  },
  {
    name: "zero heartbeat",
    changes: { "assets[0].heartbeat": 0 },
    path: "assets[0].heartbeat",
    problem: "at least 1",
  },
  // Assets and names.
  {
    name: "duplicate symbol",
    changes: { "assets[1].symbol": "WETH" },
    path: "assets[1].symbol",
    problem: "duplicates assets[0].symbol",
  },
  {
    name: "two assets behind one perps market name",
    changes: { "assets[1].symbol": "ETH" },
    path: "assets[1].symbol",
    problem: 'perps market name "ETH" would also name WETH',
  },
  // Parameters.
  {
    name: "liquidationThreshold of 1",
    changes: { "params.lending.WETH.liquidationThreshold": 1 },
    path: "params.lending.WETH.liquidationThreshold",
    problem: "must be below 1 (got 1)",
  },
  {
    name: "liquidationThreshold of 0",
    changes: { "params.lending.WETH.liquidationThreshold": 0 },
    path: "params.lending.WETH.liquidationThreshold",
    problem: "must be above 0 (got 0)",
  },
  {
    name: "ltv at the liquidation threshold",
    changes: { "params.lending.WETH.ltv": 0.85 },
    path: "params.lending.WETH.ltv",
    problem: "must be below liquidationThreshold (0.85)",
  },
  {
    name: "lending parameters of an unknown asset",
    changes: { "params.lending.SOL": {} },
    path: "params.lending.SOL",
    problem: "is not an asset of this scenario (assets: WETH, WBTC)",
  },
  {
    name: "unknown lending parameter",
    changes: { "params.lending.WETH.closeFactor": 0.5 },
    path: "params.lending.WETH.closeFactor",
    problem: "unknown key",
  },
  {
    name: "perps parameters of an unknown market",
    changes: { "params.perps.SOL": {} },
    path: "params.perps.SOL",
    problem: 'names no perps market (got "SOL"; markets: WETH or ETH, WBTC or BTC)',
  },
  {
    name: "one perps market under both its names",
    changes: { "params.perps.WETH": { tradingFee: 0.001 } },
    path: "params.perps.WETH",
    problem: "names the same market as params.perps.ETH",
  },
  {
    name: "maintenance margin above the initial margin",
    changes: { "params.perps.ETH.maintenanceMargin": 0.06 },
    path: "params.perps.ETH.maintenanceMargin",
    problem: "must be below 1 / maxLeverage (0.05)",
  },
  {
    name: "liquidation fee above the maintenance margin",
    changes: { "params.perps.ETH.liquidationFee": 0.03 },
    path: "params.perps.ETH.liquidationFee",
    problem: "must be at most maintenanceMargin (0.025) (got 0.03)",
  },
  {
    name: "negative insurance fund",
    changes: { "params.insuranceFund.initial": -1 },
    path: "params.insuranceFund.initial",
    problem: "must be at least 0",
  },
  // Population values and distributions.
  {
    name: "negative count",
    changes: { "population.suppliers.count": -5 },
    path: "population.suppliers.count",
    problem: "must be at least 0 (got -5)",
  },
  {
    name: "fractional count",
    changes: { "population.lps.count": 2.5 },
    path: "population.lps.count",
    problem: "must be a whole number",
  },
  {
    name: "missing count",
    changes: { "population.lps.count": undefined },
    path: "population.lps.count",
    problem: "is required",
  },
  {
    name: "ltv max above 1",
    changes: { "population.borrowers.ltv.max": 1.2 },
    path: "population.borrowers.ltv.max",
    problem: "must be at most 1 (got 1.2)",
  },
  {
    name: "uniform min above max",
    changes: { "population.borrowers.size.min": 200000 },
    path: "population.borrowers.size.max",
    problem: "must be at least min (200000) (got 100000)",
  },
  {
    name: "uniform without max",
    changes: { "population.borrowers.size.max": undefined },
    path: "population.borrowers.size.max",
    problem: "is required",
  },
  {
    name: "negative sd",
    changes: { "population.traders.margin.sd": -1 },
    path: "population.traders.margin.sd",
    problem: "must be at least 0",
  },
  {
    name: "lognormal median of 0",
    changes: { "population.suppliers.deposit.mean": 0 },
    path: "population.suppliers.deposit.mean",
    problem: "must be above 0",
  },
  {
    name: "unknown distribution",
    changes: { "population.suppliers.deposit.dist": "poisson" },
    path: "population.suppliers.deposit.dist",
    problem: "must be one of uniform, normal, lognormal",
  },
  {
    name: "distribution key of another distribution",
    changes: { "population.suppliers.deposit.min": 1 },
    path: "population.suppliers.deposit.min",
    problem: "unknown key (expected one of dist, mean, sd)",
  },
  {
    name: "amount of the wrong type",
    changes: { "population.lps.deposit": "lots" },
    path: "population.lps.deposit",
    problem: 'must be a number or a distribution (got "lots")',
  },
  {
    name: "leverage below 1",
    changes: { "population.traders.leverage": 0.5 },
    path: "population.traders.leverage",
    problem: "must be at least 1",
  },
  {
    name: "longShare above 1",
    changes: { "population.traders.longShare": 1.5 },
    path: "population.traders.longShare",
    problem: "must be at most 1",
  },
  {
    name: "stopLoss share above 1",
    changes: { "population.traders.stopLoss": { share: 1.5, distance: 0.1 } },
    path: "population.traders.stopLoss.share",
    problem: "must be at most 1",
  },
  {
    name: "stopLoss distance of 1 (a stop at zero)",
    changes: { "population.traders.stopLoss": { share: 0.5, distance: 1 } },
    path: "population.traders.stopLoss.distance",
    problem: "must be below 1",
  },
  {
    name: "stopLoss with an unknown key",
    changes: { "population.traders.stopLoss": { share: 0.5, distance: 0.1, limit: 2 } },
    path: "population.traders.stopLoss.limit",
    problem: "unknown key",
  },
  {
    name: "collateral that is not an asset",
    changes: { "population.borrowers.collateral": "SOL" },
    path: "population.borrowers.collateral",
    problem: 'is not an asset of this scenario (got "SOL"; assets: WETH, WBTC)',
  },
  {
    name: "perps market that resolves to no asset",
    changes: { "population.traders.market": "SOL" },
    path: "population.traders.market",
    problem: 'names no perps market (got "SOL"',
  },
  {
    name: "perps market named by a stripped symbol that is not one",
    changes: { "population.traders.market": "WWBTC" },
    path: "population.traders.market",
    problem: "names no perps market",
  },
  // Keepers.
  {
    name: "keeper kind that does not exist",
    changes: { "keepers[0].kind": "arbitrageur" },
    path: "keepers[0].kind",
    problem: 'must be one of liquidator, adl, orders (got "arbitrageur")',
  },
  {
    name: "keeper without a kind",
    changes: { "keepers[0].kind": undefined },
    path: "keepers[0].kind",
    problem: "is required (one of liquidator, adl, orders)",
  },
  {
    name: "field on an adl keeper",
    changes: { "keepers[1].count": 2 },
    path: "keepers[1].count",
    problem: "unknown key",
  },
  {
    name: "negative latency",
    changes: { "keepers[0].latencySteps": -1 },
    path: "keepers[0].latencySteps",
    problem: "must be at least 0",
  },
  {
    name: "zero liquidators",
    changes: { "keepers[0].count": 0 },
    path: "keepers[0].count",
    problem: "at least 1",
  },
  {
    name: "gas cost of the wrong type",
    changes: { "keepers[0].gasCostUsd": "cheap" },
    path: "keepers[0].gasCostUsd",
    problem: 'must be a number or { "start", "path" }',
  },
  {
    name: "gas cost path beyond the run",
    changes: { "keepers[0].gasCostUsd": { start: 5, path: [{ shape: "gap", at: 101, change: 10 }] } },
    path: "keepers[0].gasCostUsd.path[0].at",
    problem: "must be at most 100 (got 101)",
  },
  {
    name: "gas cost path entry with an asset",
    changes: {
      "keepers[0].gasCostUsd": { start: 5, path: [{ asset: "WETH", shape: "gap", at: 1, change: 1 }] },
    },
    path: "keepers[0].gasCostUsd.path[0].asset",
    problem: "unknown key",
  },
  // Price paths.
  {
    name: "step after the last",
    changes: { "path[0].at": 101 },
    path: "path[0].at",
    problem: "must be at most 100",
  },
  { name: "negative step", changes: { "path[0].at": -1 }, path: "path[0].at", problem: "must be at least 0" },
  {
    name: "change of -100%",
    changes: { "path[0].change": -1 },
    path: "path[0].change",
    problem: "must be above -1",
  },
  {
    name: "unknown shape",
    changes: { "path[0].shape": "spiral" },
    path: "path[0].shape",
    problem: "must be one of gap, linear, vshape, gbm, csv, points",
  },
  {
    name: "path on an unknown asset",
    changes: { "path[0].asset": "SOL" },
    path: "path[0].asset",
    problem: "is not an asset of this scenario",
  },
  {
    name: "key of another shape",
    changes: { "path[0].over": 5 },
    path: "path[0].over",
    problem: "unknown key (expected one of asset, shape, at, change)",
  },
  {
    name: "linear without a target",
    changes: { "path[0]": linear({}) },
    path: "path[0].to",
    problem: "is required (or change)",
  },
  {
    name: "linear with both to and change",
    changes: { "path[0]": linear({ to: 1000, change: -0.5 }) },
    path: "path[0].change",
    problem: "must not be given with to",
  },
  {
    name: "linear that ends after the run",
    changes: { "path[0]": linear({ at: 95, to: 1000 }) },
    path: "path[0].over",
    problem: "ends at step 105, after the last step (100)",
  },
  {
    name: "vshape recovering more than the drop",
    changes: {
      "path[0]": {
        asset: "WETH",
        shape: "vshape",
        at: 5,
        change: -0.3,
        over: 5,
        recover: 1.5,
        recoverOver: 5,
      },
    },
    path: "path[0].recover",
    problem: "must be at most 1",
  },
  {
    name: "vshape that rises",
    changes: {
      "path[0]": { asset: "WETH", shape: "vshape", at: 5, change: 0.3, over: 5, recover: 1, recoverOver: 5 },
    },
    path: "path[0].change",
    problem: "must be below 0",
  },
  {
    name: "vshape that ends after the run",
    changes: {
      "path[0]": {
        asset: "WETH",
        shape: "vshape",
        at: 90,
        change: -0.3,
        over: 5,
        recover: 1,
        recoverOver: 6,
      },
    },
    path: "path[0].recoverOver",
    problem: "ends at step 101",
  },
  {
    name: "negative volatility",
    changes: { "path[0]": gbm({ volatility: -0.1 }) },
    path: "path[0].volatility",
    problem: "must be at least 0",
  },
  {
    name: "gbm at the last step without over",
    changes: { "path[0]": gbm({ at: 100 }) },
    path: "path[0].at",
    problem: "must be below steps (100) when over is omitted",
  },
  {
    name: "points not in step order",
    changes: {
      "path[0]": {
        asset: "WETH",
        shape: "points",
        points: [
          [10, 1500],
          [5, 1800],
        ],
      },
    },
    path: "path[0].points[1][0]",
    problem: "must be above the previous point's step (10) (got 5)",
  },
  {
    name: "point that is not a pair",
    changes: { "path[0]": { asset: "WETH", shape: "points", points: [[10]] } },
    path: "path[0].points[0]",
    problem: "must be a [step, price] pair",
  },
  {
    name: "point at price 0",
    changes: { "path[0]": { asset: "WETH", shape: "points", points: [[10, 0]] } },
    path: "path[0].points[0][1]",
    problem: "must be above 0",
  },
  {
    name: "csv file that does not exist",
    changes: { "path[0]": { asset: "WETH", shape: "csv", file: "no-such-file.csv" } },
    path: "path[0].file",
    problem: "cannot read",
  },
  {
    name: "two gaps at one step",
    changes: { "path[1]": { asset: "WETH", shape: "gap", at: 10, change: 0.1 } },
    path: "path[1]",
    problem: "overlaps path[0] on WETH (steps 10 and 10)",
  },
  {
    name: "a gap inside a linear move",
    changes: { "path[1]": linear({ at: 5, change: -0.2 }) },
    path: "path[1]",
    problem: "overlaps path[0] on WETH (steps 10 and 6-15)",
  },
  // Oracle faults.
  {
    name: "fault from = to",
    changes: { "oracle[0].to": 10 },
    path: "oracle[0].to",
    problem: "must be above from (10)",
  },
  {
    name: "fault from > to",
    changes: { "oracle[0].to": 5 },
    path: "oracle[0].to",
    problem: "must be above from",
  },
  {
    name: "fault ending after the run",
    changes: { "oracle[0].to": 102 },
    path: "oracle[0].to",
    problem: "must be at most 101",
  },
  {
    name: "fault from after the run",
    changes: { "oracle[0].from": 101 },
    path: "oracle[0].from",
    problem: "at most 100",
  },
  {
    name: "fault on an unknown asset",
    changes: { "oracle[0].asset": "SOL" },
    path: "oracle[0].asset",
    problem: "is not an asset of this scenario",
  },
  {
    name: "unknown fault",
    changes: { "oracle[0].fault": "jitter" },
    path: "oracle[0].fault",
    problem: "must be one of stale, freeze, zero, negative, revert, clamp, spike, delay, sequencerDown",
  },
  {
    name: "fault on the fallback of an asset without one",
    changes: { "oracle[0]": fault({ asset: "WBTC", fault: "zero", feed: "fallback" }) },
    path: "oracle[0].feed",
    problem: 'WBTC has no fallback feed (set "fallback": true on the asset)',
  },
  {
    name: "unknown feed",
    changes: { "oracle[0].feed": "secondary" },
    path: "oracle[0].feed",
    problem: "must be one of primary, fallback, both",
  },
  {
    name: "clamp without a floor",
    changes: { "oracle[0]": fault({ fault: "clamp" }) },
    path: "oracle[0].floor",
    problem: "is required",
  },
  {
    name: "negative fault with a positive answer",
    changes: { "oracle[0]": fault({ fault: "negative", answer: 5 }) },
    path: "oracle[0].answer",
    problem: "must be below 0",
  },
  {
    name: "spike held for several steps",
    changes: { "oracle[0]": fault({ fault: "spike", factor: 10 }) },
    path: "oracle[0].to",
    problem: "must be from + 1 (51) or omitted: a spike is one print (got 60)",
  },
  {
    name: "delay of no steps",
    changes: { "oracle[0]": fault({ fault: "delay", steps: 0 }) },
    path: "oracle[0].steps",
    problem: "must be at least 1",
  },
  {
    name: "sequencer fault on one feed",
    changes: { "oracle[0]": fault({ fault: "sequencerDown", feed: "primary" }) },
    path: "oracle[0].feed",
    problem: "unknown key",
  },
  {
    name: "grace above the router's limit",
    changes: { "oracle[0]": fault({ fault: "sequencerDown", grace: 90000 }) },
    path: "oracle[0].grace",
    problem: "must be at most 86400",
  },
  {
    name: "two sequencer outages with different grace periods",
    changes: {
      "oracle[0]": fault({ fault: "sequencerDown", from: 10, to: 20 }),
      "oracle[1]": fault({ fault: "sequencerDown", from: 30, to: 40, grace: 60 }),
    },
    path: "oracle[1].grace",
    problem: "differs from oracle[0] (3600): the router has one grace period",
  },
  {
    name: "overlapping faults on one feed",
    changes: { "oracle[1]": fault({ fault: "zero", from: 39, to: 45 }) },
    path: "oracle[1]",
    problem: "overlaps oracle[0] on the WETH primary feed (steps [10, 40) and [39, 45))",
  },
  {
    name: "a fault on both feeds overlapping one on the primary",
    changes: { "oracle[1]": fault({ fault: "revert", from: 20, feed: "both" }) },
    path: "oracle[1]",
    problem: "overlaps oracle[0] on the WETH primary feed",
  },
  {
    name: "overlapping sequencer outages",
    changes: {
      "oracle[0]": fault({ fault: "sequencerDown", from: 10, to: 20 }),
      "oracle[1]": fault({ asset: "WBTC", fault: "sequencerDown", from: 15, to: 25 }),
    },
    path: "oracle[1]",
    problem: "overlaps oracle[0] on the sequencer",
  },
];

describe("scenario validation", () => {
  it("accepts the base scenario", () => {
    expect(problems(baseSpec())).to.deep.equal([]);
  });

  describe("reports each class of error at its JSON path", () => {
    for (const c of CASES) {
      it(`${c.name}: ${c.path}`, () => {
        const found = problems(specWith(c.changes), FIXTURES);
        expect(found, JSON.stringify(found)).to.have.length(1);
        expect(found[0][0]).to.equal(c.path);
        expect(found[0][1]).to.include(c.problem);
      });
    }
  });

  it("accepts what the format allows next to each error", () => {
    const variants: Record<string, unknown>[] = [
      { "population.suppliers.count": { dist: "uniform", min: 5, max: 10 } },
      { "population.traders.market": "WETH" },
      { "population.borrowers.ltv": 1, "population.traders.leverage": 1 },
      { "path[1]": { asset: "WETH", shape: "linear", at: 10, over: 10, change: 1 } },
      { "path[1]": { asset: "WBTC", shape: "gap", at: 10, change: -0.2 } },
      { "oracle[1]": { asset: "WETH", fault: "freeze", from: 10, to: 40, feed: "fallback" } },
      { "oracle[1]": { asset: "WETH", fault: "zero", from: 40, to: 41 } },
      { "oracle[1]": { asset: "WETH", fault: "revert", from: 100, to: 101 } },
      {
        "keepers[0].gasCostUsd": {
          start: 5,
          path: [
            {
              shape: "points",
              points: [
                [10, 50],
                [20, 5],
              ],
            },
          ],
        },
      },
      { "params.lending.WBTC": {}, "params.perps.BTC": { maxLeverage: 10 } },
    ];
    for (const changes of variants)
      expect(problems(specWith(changes)), JSON.stringify(changes)).to.deep.equal([]);
  });

  it("names the root when the document is not an object", () => {
    expect(problems([])).to.deep.equal([["(root)", "must be an object (got [])"]]);
  });

  it("collects every error, in document order, into one ScenarioErrors", () => {
    let thrown: unknown;
    try {
      loadScenario(path.join(FIXTURES, "broken.json"));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).to.be.instanceOf(ScenarioErrors);
    const errors = (thrown as ScenarioErrors).errors;
    expect(errors.every((e) => e instanceof ScenarioError)).to.equal(true);
    expect(errors.map((e) => e.path)).to.deep.equal([
      "negativeBalancePolicy",
      "assets[1].decimals",
      "population.borrowers.ltv.max",
      "keepers[0].kind",
      "path[0].at",
      "oracle[0].asset",
      "oracle[0].to",
    ]);
    const message = (thrown as Error).message;
    expect(message).to.match(/broken\.json: 7 problems\n/);
    for (const e of errors) expect(message).to.include(`  ${e.path}: ${e.problem}`);
  });

  it("reports a missing file and invalid JSON as one error on the root", () => {
    expect(() => loadScenario(path.join(FIXTURES, "nope.json"))).to.throw(
      ScenarioErrors,
      "(root): cannot read the file (ENOENT)",
    );
    const dir = mkdtempSync(path.join(tmpdir(), "scenario-"));
    writeFileSync(path.join(dir, "bad.json"), '{ "name": ');
    expect(() => loadScenario(path.join(dir, "bad.json"))).to.throw(
      ScenarioErrors,
      "(root): is not valid JSON",
    );
  });

  it("reports the bad rows of a csv file, each with its line", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "scenario-"));
    writeFileSync(path.join(dir, "bad.csv"), "time,price\n0,2000\n60,abc\n60,1900\n120\n180,-5\n");
    const spec = specWith({ "path[0]": { asset: "WETH", shape: "csv", file: "bad.csv" } });
    expect(problems(spec, dir)).to.deep.equal([
      ["path[0].file", 'bad.csv line 3: price must be a number above 0 (got "abc")'],
      ["path[0].file", "bad.csv line 5: expected 2 columns (time,price), got 1"],
      ["path[0].file", 'bad.csv line 6: price must be a number above 0 (got "-5")'],
    ]);
    writeFileSync(path.join(dir, "order.csv"), "0,2000\n60,1900\n60,1800\n");
    expect(
      problems(specWith({ "path[0]": { asset: "WETH", shape: "csv", file: "order.csv" } }), dir),
    ).to.deep.equal([["path[0].file", "order.csv line 3: time must increase (60 after 60)"]]);
    writeFileSync(path.join(dir, "empty.csv"), "time,price\n\n");
    expect(
      problems(specWith({ "path[0]": { asset: "WETH", shape: "csv", file: "empty.csv" } }), dir),
    ).to.deep.equal([["path[0].file", "empty.csv has no rows"]]);
  });

  it("does not modify the document it reads", () => {
    const spec = baseSpec();
    const copy = JSON.parse(JSON.stringify(spec));
    parseScenario(spec);
    expect(spec).to.deep.equal(copy);
  });
});

describe("scenario defaults", () => {
  it("applies every top-level default", () => {
    const s = loadScenario(path.join(FIXTURES, "minimal.json"));
    expect(s).to.deep.include({
      description: "",
      seed: 1,
      stepSeconds: 60,
      negativeBalancePolicy: "protected",
      cascade: false,
      population: {},
      path: [],
      oracle: [],
    });
    expect(s.assets[0]).to.deep.equal({
      symbol: "WETH",
      decimals: 18,
      price: 2000,
      heartbeat: 3600,
      fallback: false,
    });
    expect(s.params).to.deep.equal({ lending: {}, perps: {}, insuranceFund: { initial: 0 } });
    expect(s.keepers).to.deep.equal(defaultKeepers());
    expect(s.keepers[0]).to.deep.equal({
      kind: "liquidator",
      count: 1,
      latencySteps: 0,
      minProfit: 0,
      gasCostUsd: 0,
    });
  });

  it("applies the defaults inside entries", () => {
    const s = parseScenario(
      specWith({
        "population.traders.longShare": undefined,
        keepers: [{ kind: "liquidator", maxPerStep: 5 }],
        path: [
          { asset: "WETH", shape: "linear", over: 10, to: 1000 },
          { asset: "WETH", shape: "gbm", drift: 0, volatility: 1, at: 50 },
          { asset: "WBTC", shape: "csv", file: "replay.csv" },
        ],
        oracle: [
          { asset: "WETH", fault: "negative", from: 10 },
          { asset: "WBTC", fault: "spike", factor: 10, from: 20 },
          { asset: "WBTC", fault: "sequencerDown", from: 30, to: 40 },
        ],
      }),
      { baseDir: FIXTURES },
    );
    expect(s.population.traders?.longShare).to.equal(DEFAULTS.longShare);
    expect(s.keepers).to.deep.equal([
      { kind: "liquidator", count: 1, latencySteps: 0, minProfit: 0, gasCostUsd: 0, maxPerStep: 5 },
    ]);
    expect(s.path[0]).to.deep.include({ at: 0 });
    expect(s.path[1]).to.deep.include({ at: 50, over: 50 });
    expect(s.path[2]).to.deep.include({ at: 0 });
    expect(s.oracle[0]).to.deep.equal({
      asset: "WETH",
      fault: "negative",
      from: 10,
      to: 101,
      feed: "primary",
      answer: -1,
    });
    expect(s.oracle[1]).to.deep.include({ from: 20, to: 21, feed: "primary" });
    expect(s.oracle[2]).to.deep.equal({
      asset: "WBTC",
      fault: "sequencerDown",
      from: 30,
      to: 40,
      grace: 3600,
    });
  });

  it("reads the example of SCENARIOS.md as written", () => {
    const s = loadScenario(path.join(FIXTURES, "gap-50.json"));
    expect(s.name).to.equal("gap-50");
    expect(s.steps).to.equal(100);
    expect(s.keepers[0]).to.deep.equal({
      kind: "liquidator",
      count: 3,
      latencySteps: 1,
      maxPerStep: 20,
      minProfit: 0,
      gasCostUsd: 0,
    });
    expect(s.oracle).to.deep.equal([{ asset: "WETH", fault: "stale", from: 10, to: 40, feed: "primary" }]);
  });

  it("reads csv rows relative to the scenario file", () => {
    const s = loadScenario(path.join(FIXTURES, "replay.json"));
    const csv = s.path[0];
    expect(csv.shape === "csv" && csv.rows).to.deep.equal([
      [1589000000, 2000],
      [1589000090, 1900],
      [1589000120, 1800],
      [1589000300, 1500],
    ]);
  });
});

describe("perps market names", () => {
  const assets = [{ symbol: "WETH" }, { symbol: "WBTC" }, { symbol: "USDT" }, { symbol: "W" }];

  it("resolve by symbol or by the symbol without a leading W", () => {
    expect(resolveMarket("WETH", assets)).to.equal("WETH");
    expect(resolveMarket("ETH", assets)).to.equal("WETH");
    expect(resolveMarket("BTC", assets)).to.equal("WBTC");
    expect(resolveMarket("USDT", assets)).to.equal("USDT");
    expect(resolveMarket("W", assets)).to.equal("W");
  });

  it("leave unknown names unresolved", () => {
    for (const name of ["SOL", "SDT", "", "eth", "WWETH"])
      expect(resolveMarket(name, assets), name).to.equal(undefined);
  });

  it("key the validated perps parameters and traders by the asset's symbol", () => {
    const s = parseScenario(specWith({ "population.traders.market": "BTC" }));
    expect(s.params.perps).to.deep.equal({ WETH: { maxLeverage: 20, maintenanceMargin: 0.025 } });
    expect(s.population.traders).to.deep.include({ market: "BTC", asset: "WBTC" });
  });
});

describe("docs/scenarios.md", () => {
  const doc = readFileSync(path.join(__dirname, "../../docs/scenarios.md"), "utf8");
  const json = doc.match(/```json\n([\s\S]*?)```/)?.[1] ?? "";

  it("has a full example that validates, with every section", () => {
    const example = JSON.parse(json);
    const s = parseScenario(example);
    for (const key of ["params", "population", "keepers", "path", "oracle"])
      expect(example).to.have.property(key);
    expect(s.path).to.have.length(3);
    expect(s.oracle).to.have.length(3);
  });

  it("prints the errors of broken.json as the loader does", () => {
    let message = "";
    try {
      loadScenario(path.join(FIXTURES, "broken.json"));
    } catch (e) {
      message = (e as Error).message;
    }
    const listed = message.split("\n").slice(1);
    expect(listed).to.have.length(7);
    const printed = doc.slice(doc.indexOf("test/sim/fixtures/broken.json: 7 problems"));
    expect(printed.split("\n").slice(1, 8)).to.deep.equal(listed);
  });
});
