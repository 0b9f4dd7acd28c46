/**
 * The oracle fault plan: what each feed reports at each step under each fault, which feed a fault hits,
 * and the sequencer's down and grace states. The market is 100 + 10 k at step k, stepSeconds 60, so an
 * honest report at step k is [100 + 10 k, 60 k].
 */
import { expect } from "chai";

import type { FaultSpec } from "../../sim/scenario";
import {
  activeFaults,
  feedFaults,
  feedReports,
  oraclePlan,
  parseScenario,
  pricePaths,
  sequencerStates,
} from "../../sim/scenario";

const STEPS = 10;

function scenario(oracle: FaultSpec[]) {
  return parseScenario({
    name: "faults",
    steps: STEPS,
    stepSeconds: 60,
    assets: [
      { symbol: "WETH", decimals: 18, price: 100, fallback: true },
      { symbol: "WBTC", decimals: 8, price: 100 },
    ],
    path: ["WETH", "WBTC"].map((asset) => ({
      asset,
      shape: "points",
      points: Array.from({ length: STEPS }, (_, i) => [i + 1, 110 + 10 * i]),
    })),
    oracle,
  });
}

type Seen = [answer: number, updatedAt: number] | "revert";
const honest = (k: number): Seen => [100 + 10 * k, 60 * k];

/** What the WETH primary feed reports at each step, as [answer, updatedAt] or "revert". */
function seen(oracle: FaultSpec[], feed: "primary" | "fallback" = "primary"): Seen[] {
  const reports = oraclePlan(scenario(oracle)).feeds.WETH[feed]!;
  return reports.map((r) => (r.reverts ? "revert" : [r.answer, r.updatedAt]));
}

/** Honest reports, with `faulty` in place from step `from` on. */
function expected(from: number, faulty: Seen[]): Seen[] {
  const out = Array.from({ length: STEPS + 1 }, (_, k) => honest(k));
  out.splice(from, faulty.length, ...faulty);
  return out;
}

const window = { asset: "WETH", from: 3, to: 6 } as const;

describe("oracle fault plan: what the feed reports", () => {
  it("no fault: the market price, stamped at its step", () => {
    expect(seen([])).to.deep.equal(expected(0, []));
  });

  it("stale: the last answer with its old timestamp", () => {
    expect(seen([{ ...window, fault: "stale" }])).to.deep.equal(
      expected(3, [
        [120, 120],
        [120, 120],
        [120, 120],
      ]),
    );
  });

  it("freeze: the last answer with fresh timestamps", () => {
    expect(seen([{ ...window, fault: "freeze" }])).to.deep.equal(
      expected(3, [
        [120, 180],
        [120, 240],
        [120, 300],
      ]),
    );
  });

  it("zero: 0, stamped now", () => {
    expect(seen([{ ...window, fault: "zero" }])).to.deep.equal(
      expected(3, [
        [0, 180],
        [0, 240],
        [0, 300],
      ]),
    );
  });

  it("negative: -1 by default, or the given answer", () => {
    expect(seen([{ ...window, fault: "negative" }])).to.deep.equal(
      expected(3, [
        [-1, 180],
        [-1, 240],
        [-1, 300],
      ]),
    );
    expect(seen([{ ...window, fault: "negative", answer: -37.63 }])).to.deep.equal(
      expected(3, [
        [-37.63, 180],
        [-37.63, 240],
        [-37.63, 300],
      ]),
    );
  });

  it("revert: every read reverts", () => {
    expect(seen([{ ...window, fault: "revert" }])).to.deep.equal(expected(3, ["revert", "revert", "revert"]));
  });

  it("clamp: never below the floor while the market is", () => {
    expect(seen([{ ...window, fault: "clamp", floor: 145 }])).to.deep.equal(
      expected(3, [
        [145, 180],
        [145, 240],
        [150, 300],
      ]),
    );
  });

  it("spike: factor x the market for one step", () => {
    expect(seen([{ asset: "WETH", fault: "spike", factor: 10, from: 4 }])).to.deep.equal(
      expected(4, [[1400, 240]]),
    );
  });

  it("delay: the market `steps` ago with that step's timestamp, never before step 0", () => {
    expect(seen([{ ...window, fault: "delay", steps: 2 }])).to.deep.equal(
      expected(3, [
        [110, 60],
        [120, 120],
        [130, 180],
      ]),
    );
    expect(seen([{ asset: "WETH", fault: "delay", steps: 5, from: 1, to: 3 }])).to.deep.equal(
      expected(1, [
        [100, 0],
        [100, 0],
      ]),
    );
  });

  it("stale after a revert: the last answer that did not revert", () => {
    const oracle: FaultSpec[] = [
      { asset: "WETH", fault: "revert", from: 3, to: 5 },
      { asset: "WETH", fault: "stale", from: 5, to: 7 },
    ];
    expect(seen(oracle)).to.deep.equal(expected(3, ["revert", "revert", [120, 120], [120, 120]]));
  });

  it("a fault to the end of the run when `to` is omitted", () => {
    expect(seen([{ asset: "WETH", fault: "zero", from: 9 }])).to.deep.equal(
      expected(9, [
        [0, 540],
        [0, 600],
      ]),
    );
  });

  it("carries the active fault, with its parameters, on each report", () => {
    const reports = oraclePlan(scenario([{ ...window, fault: "clamp", floor: 145 }])).feeds.WETH.primary;
    expect(reports[3].fault).to.deep.equal({ ...window, fault: "clamp", floor: 145, feed: "primary" });
    expect(reports[2]).to.not.have.property("fault");
    expect(reports[6]).to.not.have.property("fault");
  });

  it("report k depends on the market up to step k only (a cascade may replay it step by step)", () => {
    const s = scenario([{ ...window, fault: "delay", steps: 2 }]);
    const market = pricePaths(s).WETH;
    const faults = feedFaults(s, "WETH", "primary");
    const whole = feedReports(market, faults, 60);
    for (let k = 0; k <= STEPS; k++) {
      expect(feedReports(market.slice(0, k + 1), faults, 60)[k]).to.deep.equal(whole[k]);
    }
  });
});

describe("oracle fault plan: which feed a fault hits", () => {
  it("primary by default: the fallback follows the market", () => {
    expect(seen([{ ...window, fault: "zero" }], "fallback")).to.deep.equal(expected(0, []));
  });

  it('"feed": "fallback" hits the fallback only', () => {
    const oracle: FaultSpec[] = [{ ...window, fault: "zero", feed: "fallback" }];
    expect(seen(oracle, "primary")).to.deep.equal(expected(0, []));
    expect(seen(oracle, "fallback")).to.deep.equal(
      expected(3, [
        [0, 180],
        [0, 240],
        [0, 300],
      ]),
    );
  });

  it('"feed": "both" hits both', () => {
    const oracle: FaultSpec[] = [{ ...window, fault: "revert", feed: "both" }];
    expect(seen(oracle, "primary")).to.deep.equal(seen(oracle, "fallback"));
    expect(seen(oracle, "fallback")[4]).to.equal("revert");
  });

  it("activeFaults: from <= step < to, on the named feed", () => {
    const s = scenario([
      { ...window, fault: "stale" },
      { asset: "WETH", fault: "freeze", from: 4, to: 8, feed: "fallback" },
    ]);
    expect(activeFaults(s, "WETH", 2, "primary")).to.deep.equal([]);
    expect(activeFaults(s, "WETH", 3, "primary")).to.deep.equal([s.oracle[0]]);
    expect(activeFaults(s, "WETH", 5, "primary")).to.deep.equal([s.oracle[0]]);
    expect(activeFaults(s, "WETH", 6, "primary")).to.deep.equal([]);
    expect(activeFaults(s, "WETH", 3, "fallback")).to.deep.equal([]);
    expect(activeFaults(s, "WETH", 7, "fallback")).to.deep.equal([s.oracle[1]]);
    expect(activeFaults(s, "WBTC", 3, "primary")).to.deep.equal([]);
  });

  it("the plan covers every asset and step, with a fallback only where there is one", () => {
    const s = scenario([{ asset: "WBTC", fault: "zero", from: 2, to: 4 }]);
    const plan = oraclePlan(s);
    expect(Object.keys(plan.feeds)).to.deep.equal(["WETH", "WBTC"]);
    expect(plan.feeds.WETH.market).to.deep.equal(pricePaths(s).WETH);
    expect(plan.feeds.WETH.primary).to.have.length(STEPS + 1);
    expect(plan.feeds.WETH.fallback).to.have.length(STEPS + 1);
    expect(plan.feeds.WBTC).to.not.have.property("fallback");
    expect(plan.feeds.WBTC.primary[2]).to.deep.include({ answer: 0 });
    expect(plan.sequencer).to.have.length(STEPS + 1);
    expect(plan.sequencer.every((st) => !st.down && !st.inGrace)).to.equal(true);
  });
});

describe("oracle fault plan: the sequencer", () => {
  it("is down on [from, to), then in grace while up for no longer than the grace period", () => {
    const states = sequencerStates(
      scenario([{ asset: "WETH", fault: "sequencerDown", from: 3, to: 5, grace: 120 }]),
    );
    const brief = states.map((st) => [st.step, st.down, st.inGrace, st.since]);
    expect(brief).to.deep.equal([
      [0, false, false, null],
      [1, false, false, null],
      [2, false, false, null],
      [3, true, false, 180],
      [4, true, false, 180],
      [5, false, true, 300], // back up at 300: 0 s since
      [6, false, true, 300],
      [7, false, true, 300], // 120 s since: still within the grace period (router: <=)
      [8, false, false, 300],
      [9, false, false, 300],
      [10, false, false, 300],
    ]);
    expect(states[3].fault).to.deep.include({ fault: "sequencerDown", grace: 120 });
    expect(states[5]).to.not.have.property("fault");
  });

  it("does not touch the price feeds", () => {
    expect(seen([{ asset: "WETH", fault: "sequencerDown", from: 3, to: 5 }])).to.deep.equal(expected(0, []));
  });

  it("stays down across back-to-back outages; grace 3600 by default", () => {
    const states = sequencerStates(
      scenario([
        { asset: "WETH", fault: "sequencerDown", from: 2, to: 4 },
        { asset: "WBTC", fault: "sequencerDown", from: 4, to: 6 },
      ]),
    );
    expect(states.slice(2, 6).every((st) => st.down && st.since === 120)).to.equal(true);
    expect(states.slice(6).every((st) => st.inGrace && st.since === 360)).to.equal(true);
  });
});
