/**
 * Price paths: each shape's numbers exactly, entries composing in step order, the csv replay on the step
 * grid, gbm's determinism and statistics, and gas cost paths.
 */
import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import type { Scenario, ShapeSpec } from "../../sim/scenario";
import {
  SECONDS_PER_YEAR,
  gasCostPath,
  loadScenario,
  parseScenario,
  pricePaths,
  spanOf,
} from "../../sim/scenario";

/** A scenario (WETH at 2000, WBTC at 60000) with these WETH path entries, `steps` steps of `stepSeconds`. */
function spec(path: ShapeSpec[], opts: { steps?: number; stepSeconds?: number; seed?: number } = {}) {
  return {
    name: "paths",
    steps: opts.steps ?? 30,
    stepSeconds: opts.stepSeconds ?? 60,
    seed: opts.seed ?? 1,
    assets: [
      { symbol: "WETH", decimals: 18, price: 2000 },
      { symbol: "WBTC", decimals: 8, price: 60000 },
    ],
    path: path.map((p) => ({ asset: "WETH", ...p })),
  };
}
const scenario = (...args: Parameters<typeof spec>) => parseScenario(spec(...args), { baseDir: tmp });
const weth = (s: Scenario) => pricePaths(s).WETH;
const tmp = mkdtempSync(path.join(tmpdir(), "paths-"));

describe("price paths", () => {
  it("hold the starting price without entries, for every asset, steps + 1 prices", () => {
    const prices = pricePaths(scenario([], { steps: 5 }));
    expect(prices).to.deep.equal({ WETH: Array(6).fill(2000), WBTC: Array(6).fill(60000) });
  });

  it("gap: -0.5 at step 10 from 2000 gives 1000 from step 10 on", () => {
    const p = weth(scenario([{ shape: "gap", at: 10, change: -0.5 }]));
    expect(p.slice(0, 10)).to.deep.equal(Array(10).fill(2000));
    expect(p.slice(10)).to.deep.equal(Array(21).fill(1000));
  });

  it("gap at step 0 moves the first price", () => {
    expect(weth(scenario([{ shape: "gap", at: 0, change: 1.5 }]))[0]).to.equal(5000);
  });

  it("linear: from the price at `at`, in equal steps, exactly the target at at + over", () => {
    const p = weth(scenario([{ shape: "linear", at: 10, over: 10, to: 1000 }]));
    expect(p[10]).to.equal(2000);
    expect(p.slice(11, 21)).to.deep.equal([1900, 1800, 1700, 1600, 1500, 1400, 1300, 1200, 1100, 1000]);
    expect(p.slice(21)).to.deep.equal(Array(10).fill(1000));
  });

  it("linear: `at` defaults to 0, `change` sets the target", () => {
    const p = weth(scenario([{ shape: "linear", over: 4, change: -0.25 }], { steps: 5 }));
    expect(p).to.deep.equal([2000, 1875, 1750, 1625, 1500, 1500]);
  });

  it("linear: reaches an awkward target exactly", () => {
    const p = weth(scenario([{ shape: "linear", at: 3, over: 7, to: 1234.567 }], { steps: 12 }));
    expect(p[10]).to.equal(1234.567);
    expect(p[12]).to.equal(1234.567);
  });

  it("linear with `from`: jumps to it at `at`", () => {
    const p = weth(scenario([{ shape: "linear", at: 5, over: 5, from: 3000, to: 2000 }], { steps: 12 }));
    expect(p).to.deep.equal([2000, 2000, 2000, 2000, 2000, 3000, 2800, 2600, 2400, 2200, 2000, 2000, 2000]);
  });

  it("vshape: down to the trough, then back by the recovered share of the drop", () => {
    const p = weth(
      scenario([{ shape: "vshape", at: 2, change: -0.4, over: 4, recover: 0.5, recoverOver: 2 }], {
        steps: 10,
      }),
    );
    // trough 1200 at step 6; recovers half of the 800 drop: 1600 at step 8.
    expect(p).to.deep.equal([2000, 2000, 2000, 1800, 1600, 1400, 1200, 1400, 1600, 1600, 1600]);
  });

  it("vshape: a full recovery returns to the starting price exactly", () => {
    const p = weth(
      scenario([{ shape: "vshape", at: 0, change: -0.135, over: 1, recover: 1, recoverOver: 3 }], {
        steps: 5,
      }),
    );
    expect(p[1]).to.be.closeTo(1730, 1e-9);
    expect(p[4]).to.equal(2000);
    expect(p[5]).to.equal(2000);
  });

  it("points: each price held until the next point, and after the last", () => {
    const p = weth(
      scenario(
        [
          {
            shape: "points",
            points: [
              [2, 1500],
              [5, 1800],
              [6, 900],
            ],
          },
        ],
        { steps: 8 },
      ),
    );
    expect(p).to.deep.equal([2000, 2000, 1500, 1500, 1500, 1800, 900, 900, 900]);
  });

  it("entries apply in step order, each from the price the earlier ones left", () => {
    const p = weth(
      scenario(
        [
          { shape: "linear", at: 4, over: 2, change: 1 }, // listed first, acts second: from 1000 to 2000
          { shape: "gap", at: 4, change: -0.5 }, // 2000 -> 1000 at step 4
          { shape: "points", points: [[8, 500]] },
        ],
        { steps: 9 },
      ),
    );
    expect(p).to.deep.equal([2000, 2000, 2000, 2000, 1000, 1500, 2000, 2000, 500, 500]);
  });

  it("spans: the steps each entry sets", () => {
    const s = scenario([
      { shape: "gap", at: 3, change: 0.1 },
      { shape: "linear", at: 4, over: 2, to: 1 },
      { shape: "linear", at: 7, over: 2, to: 1, from: 2 },
      { shape: "vshape", at: 10, change: -0.1, over: 2, recover: 1, recoverOver: 3 },
      {
        shape: "points",
        points: [
          [16, 1],
          [18, 2],
        ],
      },
      { shape: "gbm", drift: 0, volatility: 1, at: 20 },
    ]);
    expect(s.path.map((e) => spanOf(e, s))).to.deep.equal([
      [3, 3],
      [5, 6],
      [7, 9],
      [11, 15],
      [16, 18],
      [21, 30],
    ]);
  });
});

describe("csv replay", () => {
  it("plays the last row at or before each step's time, the first row at `at`", () => {
    // Rows at +0, +90, +120, +300 s; a 60 s grid from step 2: +0 -> 2000, +60 -> 2000, +120 -> 1800, ...
    const p = pricePaths(loadScenario(path.join(__dirname, "fixtures/replay.json"))).WETH;
    expect(p.slice(0, 8)).to.deep.equal([2100, 2100, 2000, 2000, 1800, 1800, 1800, 1500]);
    expect(p.slice(8, 13)).to.deep.equal([1600, 1700, 1800, 1900, 2000]); // the linear entry after it
  });

  it("reads seconds from the first row: relative times and Unix timestamps replay alike", () => {
    writeFileSync(path.join(tmp, "relative.csv"), "time,price\n0,100\n30,110\n60,120\n150,130\n");
    writeFileSync(
      path.join(tmp, "unix.csv"),
      "1700000000,100\n1700000030,110\n1700000060,120\n1700000150,130\n",
    );
    const relative = weth(scenario([{ shape: "csv", file: "relative.csv" }], { steps: 4 }));
    const unix = weth(scenario([{ shape: "csv", file: "unix.csv" }], { steps: 4 }));
    // Step 2 (t = 120) still plays the row at 60; the row at 150 plays from step 3 (t = 180).
    expect(relative).to.deep.equal([100, 120, 120, 130, 130]);
    expect(unix).to.deep.equal(relative);
  });

  it("ignores rows after the last step", () => {
    writeFileSync(path.join(tmp, "long.csv"), "0,100\n60,90\n120,80\n180,70\n240,60\n");
    const s = scenario([{ shape: "csv", file: "long.csv", at: 1 }], { steps: 3 });
    expect(spanOf(s.path[0], s)).to.deep.equal([1, 3]);
    expect(weth(s)).to.deep.equal([2000, 100, 90, 80]);
  });
});

describe("gbm paths", () => {
  const bleed = { shape: "gbm", drift: -0.47, volatility: 3.67 } as const;

  it("are identical for the same seed and differ for another", () => {
    const a = weth(scenario([bleed], { steps: 288, stepSeconds: 300, seed: 7 }));
    const b = weth(scenario([bleed], { steps: 288, stepSeconds: 300, seed: 7 }));
    const c = weth(scenario([bleed], { steps: 288, stepSeconds: 300, seed: 8 }));
    expect(a).to.deep.equal(b);
    expect(a).to.not.deep.equal(c);
    expect(a[0]).to.equal(2000);
    expect(a.every((x) => x > 0)).to.equal(true);
  });

  it("do not move when another asset's path changes", () => {
    const base = spec([bleed], { seed: 3 });
    const other = { ...base, path: [{ asset: "WBTC", shape: "gap", at: 1, change: -0.1 }, ...base.path] };
    const prices = pricePaths(parseScenario(other));
    expect(prices.WETH).to.deep.equal(weth(parseScenario(base)));
    expect(prices.WBTC[1]).to.equal(54000);
  });

  it("compound the drift exactly without volatility (dt = stepSeconds / year)", () => {
    const p = weth(
      scenario([{ shape: "gbm", drift: 0.365, volatility: 0, at: 2, over: 3 }], {
        steps: 6,
        stepSeconds: 86400,
      }),
    );
    const daily = Math.exp(0.365 / 365);
    expect(p.slice(0, 3)).to.deep.equal([2000, 2000, 2000]);
    for (let k = 3; k <= 5; k++) expect(p[k]).to.be.closeTo(2000 * daily ** (k - 2), 1e-9);
    expect(p[6]).to.equal(p[5]);
  });

  it("have log-returns of mean (drift - volatility^2 / 2) dt and sd volatility sqrt(dt)", () => {
    const stepSeconds = 3600;
    const p = weth(scenario([{ shape: "gbm", drift: 0.5, volatility: 0.8 }], { steps: 20000, stepSeconds }));
    const r = p.slice(1).map((x, k) => Math.log(x / p[k]));
    const dt = stepSeconds / SECONDS_PER_YEAR;
    const m = r.reduce((a, b) => a + b, 0) / r.length;
    const sd = Math.sqrt(r.reduce((a, b) => a + (b - m) ** 2, 0) / r.length);
    expect(sd).to.be.closeTo(0.8 * Math.sqrt(dt), 0.8 * Math.sqrt(dt) * 0.02);
    expect(m).to.be.closeTo((0.5 - 0.32) * dt, 3 * (sd / Math.sqrt(r.length)));
  });
});

describe("gas cost paths", () => {
  const withGas = (gasCostUsd: unknown) =>
    parseScenario({
      name: "gas",
      steps: 6,
      assets: [{ symbol: "WETH", decimals: 18, price: 2000 }],
      keepers: [{ kind: "adl" }, { kind: "liquidator", gasCostUsd }],
    });

  it("are constant for a number", () => {
    expect(gasCostPath(withGas(4), 1)).to.deep.equal(Array(7).fill(4));
  });

  it("follow their own path entries", () => {
    const s = withGas({
      start: 5,
      path: [
        { shape: "gap", at: 2, change: 9 },
        { shape: "linear", at: 3, over: 2, to: 10 },
      ],
    });
    expect(gasCostPath(s, 1)).to.deep.equal([5, 5, 50, 50, 30, 10, 10]);
  });

  it("exist for liquidators only", () => {
    expect(() => gasCostPath(withGas(4), 0)).to.throw("keepers[0] is not a liquidator");
  });
});
