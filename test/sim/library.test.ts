/**
 * The scenario library (scenarios/*.json, the table of SCENARIOS.md): every file passes the strict loader
 * and names its real event, and every scenario runs on the real contracts with what the issue expects of it.
 *
 * By default the runs are SMALL (population counts cut to a handful per group, through the same validated
 * Scenario object `runSimulation` takes) and only the scenarios the issue names are run: gap-50,
 * flash-crash, wti-negative, oracle-faults, oct-2025-cascade. SCENARIOS_FULL=1 runs every scenario (small);
 * SCENARIOS_SIZE=full runs every scenario at the file's own size (minutes: `npm run scenarios`).
 */
import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import hre from "hardhat";

import { loadScenario, parseScenario, type ScenarioSpec } from "../../sim/scenario";
import { runSimulation, type RunResult, type Summary } from "../../sim/run/run";

const dir = path.join(__dirname, "..", "..", "scenarios");

/** The rows of SCENARIOS.md's library table. */
const TABLE = [
  "gap-50",
  "flash-crash",
  "black-thursday-2020",
  "may-2021",
  "bleed-gbm",
  "luna-2022",
  "ftt-2022",
  "crv-2022",
  "usdc-depeg-2023",
  "oct-2025-cascade",
  "oracle-faults",
  "wti-negative",
  "funding-bleed",
];
/** Run by default (their outcome is named by the issue); the rest with SCENARIOS_FULL=1. */
const NAMED = ["gap-50", "flash-crash", "wti-negative", "oracle-faults", "oct-2025-cascade"];

const FULL_SIZE = process.env.SCENARIOS_SIZE === "full";
const ALL = FULL_SIZE || process.env.SCENARIOS_FULL === "1";

/** Small populations: the count of each group (a group the file lacks stays absent). */
const SMALL: Record<string, number> = { suppliers: 4, borrowers: 10, lps: 2, traders: 10 };

function readSpec(name: string): ScenarioSpec {
  return JSON.parse(readFileSync(path.join(dir, `${name}.json`), "utf8")) as ScenarioSpec;
}

/** The scenario as the simulator takes it: validated, with its populations cut down unless FULL_SIZE. */
function scenarioOf(name: string) {
  const spec = readSpec(name);
  if (!FULL_SIZE) {
    const groups = spec.population as Record<string, { count: unknown } | undefined>;
    for (const [group, count] of Object.entries(SMALL)) {
      if (groups[group]) groups[group]!.count = count;
    }
  }
  return parseScenario(spec, { baseDir: dir });
}

const units = (x: number) => BigInt(Math.round(x * 1e6));

/** What holds for every scenario: no invariant violation, the deficit waterfall to the base unit. */
function expectSound(s: Summary) {
  expect(s.invariants.violations).to.deep.equal([]);
  expect(s.invariants.checked).to.equal(s.steps + 1);
  const d = s.deficit;
  expect(units(d.total)).to.equal(
    units(d.insurance) + units(d.socialisedSuppliers) + units(d.socialisedLps) + units(d.adl),
  );
  // Protected policy everywhere in the library: nothing is owed back.
  expect(s.recourse).to.deep.equal({ owed: 0, recovered: 0, outstanding: 0 });
}

const liquidations = (r: RunResult) => r.events.filter((e) => /^(lending|perps)\.liquidate$/.test(e.kind));

describe("scenario library (scenarios/*.json)", function () {
  describe("the files", () => {
    const files = readdirSync(dir).filter((f) => f.endsWith(".json"));

    it("has a file for every row of the SCENARIOS.md table, and no other", () => {
      expect(files.map((f) => f.replace(/\.json$/, "")).sort()).to.deep.equal([...TABLE].sort());
    });

    for (const file of files) {
      it(`${file} passes the strict loader, is named after its file and names a dated real event`, () => {
        const s = loadScenario(path.join(dir, file));
        expect(s.name).to.equal(file.replace(/\.json$/, ""));
        expect(s.description).to.match(/(19|20)\d\d/); // the event's date
        expect(s.description).to.not.include("\n");
        expect(s.negativeBalancePolicy).to.equal("protected");
        expect(s.steps).to.be.greaterThan(0);
      });
    }

    it("every file sets moderate populations (at most a few hundred accounts per group)", () => {
      for (const name of TABLE) {
        const groups = Object.values(readSpec(name).population ?? {}) as { count: number }[];
        expect(groups.length, name).to.be.greaterThan(0);
        for (const g of groups) expect(g.count, name).to.be.within(1, 300);
      }
    });
  });

  describe(`runs (${FULL_SIZE ? "full size" : "small populations"}${ALL ? ", every scenario" : ""})`, function () {
    this.timeout(FULL_SIZE ? 0 : 120_000);
    const results: Record<string, RunResult> = {};
    const run = async (name: string) => {
      results[name] ??= await runSimulation(hre, scenarioOf(name));
      return results[name];
    };

    it("gap-50: liquidations, and a deficit covered (at least in part) by insurance", async () => {
      const { summary: s } = await run("gap-50");
      expectSound(s);
      expect(s.liquidations.lending).to.be.greaterThan(0);
      expect(s.deficit.total).to.be.greaterThan(0);
      expect(s.deficit.insurance).to.be.greaterThan(0);
      expect(s.insuranceFund.min).to.be.lessThan(s.insuranceFund.start);
    });

    it("flash-crash: prompt keepers liquidate and leave no deficit", async () => {
      const { summary: s } = await run("flash-crash");
      expectSound(s);
      expect(s.liquidations.lending).to.be.greaterThan(0);
      expect(s.deficit.total).to.equal(0);
      expect(s.insuranceFund.end).to.be.gte(s.insuranceFund.start);
    });

    it("wti-negative: the market halts while the feed prints -37.63: no liquidation then, attempts blocked", async () => {
      const r = await run("wti-negative");
      const s = r.summary;
      expectSound(s);
      const fault = scenarioOf("wti-negative").oracle[0];
      expect(fault.fault).to.equal("negative");
      const during = (step: number) => step >= fault.from && step < fault.to;
      expect(liquidations(r).filter((e) => during(e.step))).to.deep.equal([]);
      const blocked = r.events.filter((e) => e.kind.endsWith(".blocked") && during(e.step));
      expect(blocked.length).to.be.greaterThan(0);
      expect(s.oracle.blockedActions.liquidate).to.be.greaterThan(0);
      expect(s.oracle.stepsDegraded).to.be.gte(fault.to - fault.from);
    });

    it("oracle-faults: each fault refuses the liquidations keepers attempt in it (stale included)", async () => {
      const r = await run("oracle-faults");
      const s = r.summary;
      expectSound(s);
      expect(s.oracle.blockedActions.liquidate).to.be.greaterThan(0);
      expect(s.oracle.stepsDegraded).to.be.greaterThan(0);
      // Between the faults, the same keepers do liquidate.
      expect(s.liquidations.lending).to.be.greaterThan(0);
      const faults = scenarioOf("oracle-faults").oracle.filter((f) =>
        ["zero", "negative", "stale", "revert", "sequencerDown"].includes(f.fault),
      );
      expect(faults).to.have.length(5);
      for (const f of faults) {
        const during = (step: number) => step >= f.from && step < f.to;
        expect(
          liquidations(r).filter((e) => during(e.step)),
          f.fault,
        ).to.deep.equal([]);
        const blocked = r.events.filter((e) => e.kind.endsWith(".blocked") && during(e.step));
        expect(blocked.length, f.fault).to.be.greaterThan(0);
      }
    });

    it("oct-2025-cascade: alts -70% in 12 minutes under heavy open interest: perps liquidations and ADL", async () => {
      const r = await run("oct-2025-cascade");
      const s = r.summary;
      expectSound(s);
      expect(s.liquidations.perps).to.be.greaterThan(0);
      // The winning shorts' profit outgrows what the thin pool can pay: the ADL keeper closes some.
      expect(r.events.filter((e) => e.kind === "perps.adl").length).to.be.greaterThan(0);
    });

    if (ALL) {
      for (const name of TABLE.filter((n) => !NAMED.includes(n))) {
        it(`${name}: runs with no invariant violation and a balanced deficit waterfall`, async () => {
          const { summary: s } = await run(name);
          expectSound(s);
          expect(s.population.skipped).to.equal(0);
        });
      }
    }
  });
});
