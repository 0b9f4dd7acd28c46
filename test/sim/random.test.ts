/**
 * The seeded PRNG and the samplers: the same numbers on every machine (pinned against the xoshiro128**
 * reference implementation and against recorded values), independent streams, and the distributions
 * SCENARIOS.md defines (lognormal: mean is the median, sd of the log).
 */
import { expect } from "chai";

import { AMOUNT, COUNT, FRACTION, Rng, sample, sampleCount } from "../../sim/scenario";

const N = 20000;

function draws(n: number, draw: () => number): number[] {
  return Array.from({ length: n }, draw);
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
function sd(xs: number[]): number {
  const m = mean(xs);
  return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describe("Rng", () => {
  it("matches the xoshiro128** reference implementation", () => {
    // Outputs of the authors' C code (prng.di.unimi.it/xoshiro128starstar.c) from the state {1, 2, 3, 4}.
    const rng = new Rng([1, 2, 3, 4]);
    expect(draws(6, () => rng.nextU32())).to.deep.equal([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492,
    ]);
  });

  it("gives the recorded numbers for a named stream (a change here changes every scenario's output)", () => {
    const rng = Rng.from(1, "golden");
    expect(draws(3, () => rng.nextU32())).to.deep.equal([573307527, 1040725230, 3372676835]);
    expect(rng.next()).to.equal(0.643117507721539);
    expect(rng.normal()).to.equal(-0.13777869414210442);
  });

  it("repeats a stream and separates streams by seed and by name", () => {
    const first = (...parts: (string | number)[]) => {
      const rng = Rng.from(...parts);
      return draws(8, () => rng.next());
    };
    expect(first(7, "path", "WETH", 0)).to.deep.equal(first(7, "path", "WETH", 0));
    expect(first(7, "path", "WETH", 0)).to.not.deep.equal(first(8, "path", "WETH", 0));
    expect(first(7, "path", "WETH", 0)).to.not.deep.equal(first(7, "path", "WETH", 1));
    expect(first(7, "path", "WETH", 0)).to.not.deep.equal(first(7, "path", "WBTC", 0));
  });

  it("draws uniforms in [0, 1) and standard normals", () => {
    const rng = Rng.from(3, "uniform");
    const u = draws(N, () => rng.next());
    expect(Math.min(...u)).to.be.at.least(0);
    expect(Math.max(...u)).to.be.below(1);
    expect(mean(u)).to.be.closeTo(0.5, 0.01);
    const z = draws(N, () => rng.normal());
    expect(mean(z)).to.be.closeTo(0, 0.03);
    expect(sd(z)).to.be.closeTo(1, 0.03);
    expect(z.every(Number.isFinite)).to.equal(true);
  });

  it("never has an all-zero state", () => {
    const rng = new Rng([0, 0, 0, 0]);
    expect(draws(4, () => rng.nextU32()).some((x) => x !== 0)).to.equal(true);
  });
});

describe("samplers", () => {
  const rng = () => Rng.from(11, "samplers");

  it("return a plain number as it is", () => {
    expect(sample(1234.5, rng(), AMOUNT)).to.equal(1234.5);
  });

  it("uniform: within [min, max], centred", () => {
    const r = rng();
    const xs = draws(N, () => sample({ dist: "uniform", min: 1000, max: 3000 }, r, AMOUNT));
    expect(Math.min(...xs)).to.be.at.least(1000);
    expect(Math.max(...xs)).to.be.at.most(3000);
    expect(mean(xs)).to.be.closeTo(2000, 20);
  });

  it("normal: mean and sd", () => {
    const r = rng();
    const xs = draws(N, () => sample({ dist: "normal", mean: 5000, sd: 1000 }, r, AMOUNT));
    expect(mean(xs)).to.be.closeTo(5000, 30);
    expect(sd(xs)).to.be.closeTo(1000, 30);
  });

  it("lognormal: mean is the median, sd is the sd of the log", () => {
    const r = rng();
    const xs = draws(N, () => sample({ dist: "lognormal", mean: 50000, sd: 0.5 }, r, AMOUNT));
    expect(median(xs)).to.be.closeTo(50000, 1000);
    expect(sd(xs.map(Math.log))).to.be.closeTo(0.5, 0.01);
    expect(mean(xs)).to.be.closeTo(50000 * Math.exp(0.5 ** 2 / 2), 1000); // above the median
  });

  it("clamp draws into the value's bounds", () => {
    const r = rng();
    const ltvs = draws(N, () => sample({ dist: "normal", mean: 0.9, sd: 0.5 }, r, FRACTION));
    expect(Math.max(...ltvs)).to.equal(1);
    expect(Math.min(...ltvs)).to.equal(0);
    const deposits = draws(1000, () => sample({ dist: "normal", mean: 10, sd: 100 }, r, AMOUNT));
    expect(Math.min(...deposits)).to.equal(0);
  });

  it("counts are whole and never negative", () => {
    const r = rng();
    const counts = draws(1000, () => sampleCount({ dist: "normal", mean: 3, sd: 5 }, r));
    expect(counts.every((n) => Number.isInteger(n) && n >= 0)).to.equal(true);
    expect(new Set(counts).size).to.be.greaterThan(5);
    expect(sampleCount(7, r)).to.equal(7);
    expect(sample(2.4, r, COUNT)).to.equal(2.4); // rounding is sampleCount's
  });

  it("repeat with the same stream", () => {
    const a = rng();
    const b = rng();
    const dist = { dist: "lognormal", mean: 100, sd: 1 } as const;
    expect(draws(50, () => sample(dist, a))).to.deep.equal(draws(50, () => sample(dist, b)));
  });
});
