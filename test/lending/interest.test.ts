/**
 * Interest: KinkedRateModel on its own (curve, rounding, bounds, roles), then LendingMarket accrual against
 * an independent TypeScript model driven through uneven time steps with supplies, borrows, repays and
 * withdrawals in between (a fixed sequence, a year at fixed utilisation, and a fast-check property), and the
 * write-off of the rounding dust left in borrowed assets when the last borrow share is burnt.
 *
 * Every market transaction of the sequences is mined at a timestamp the test chooses
 * (`time.setNextBlockTimestamp`), so that the model knows each accrual's elapsed time exactly. View calls
 * run at the latest block's timestamp (Hardhat), which the view checks rely on.
 */
import { expect } from "chai";
import fc from "fast-check";
import { ethers, network } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionResponse } from "ethers";

import { toUnits, wad, WAD } from "../../deploy/units";
import { expectConservation } from "../helpers/conservation";
import { setPrice } from "../helpers/feeds";
import { type Fixture, loadSystem } from "../helpers/fixture";
import { mulDivUp, toAssetsDown, toAssetsUp, toSharesDown, toSharesUp } from "../helpers/math";

const usdc = (v: number | string) => toUnits(v, 6);
const SECONDS_PER_YEAR = 31_536_000n;
const ADMIN_ROLE = ethers.ZeroHash;
const UINT64_MAX = 2n ** 64n - 1n;
const MAX_SLOPE2 = 10n * 10n ** 18n; // KinkedRateModel.MAX_SLOPE2: 1000% a year

/* THE MODEL */

interface Curve {
  baseRate: bigint;
  slope1: bigint;
  slope2: bigint;
  kink: bigint;
}

const LOCAL_CURVE: Curve = { baseRate: 0n, slope1: wad(0.04), slope2: wad(0.75), kink: wad(0.8) };

/** KinkedRateModel.borrowRatePerYear: each division rounds down; utilisation above 1 reads as 1. */
function ratePerYear(c: Curve, utilisation: bigint): bigint {
  const u = utilisation > WAD ? WAD : utilisation;
  if (u <= c.kink) return c.baseRate + (c.slope1 * u) / c.kink;
  return c.baseRate + c.slope1 + (c.slope2 * (u - c.kink)) / (WAD - c.kink);
}

/** KinkedRateModel.borrowRatePerSecond: the yearly rate divided by the seconds of a year, rounded up. */
const ratePerSecond = (c: Curve, u: bigint) => mulDivUp(ratePerYear(c, u), 1n, SECONDS_PER_YEAR);

interface ModelTotals {
  supplyAssets: bigint;
  supplyShares: bigint;
  borrowAssets: bigint;
  borrowShares: bigint;
  reserves: bigint;
}

/** An independent model of the market's books (totals, per-account shares, the accrual clock). */
class Model {
  t: ModelTotals = { supplyAssets: 0n, supplyShares: 0n, borrowAssets: 0n, borrowShares: 0n, reserves: 0n };
  supplyShares = new Map<string, bigint>();
  borrowShares = new Map<string, bigint>();
  lastAccrual: bigint;

  constructor(
    public curve: Curve,
    public reserveFactor: bigint,
    start: bigint,
  ) {
    this.lastAccrual = start;
  }

  utilisation(t = this.t): bigint {
    if (t.borrowAssets === 0n) return 0n;
    if (t.borrowAssets >= t.supplyAssets) return WAD;
    return (t.borrowAssets * WAD) / t.supplyAssets;
  }

  /** The totals accrued to `now`, without recording anything (as `_accruedTotals`). */
  accrued(now: bigint): { t: ModelTotals; rate: bigint; interest: bigint; toReserves: bigint } {
    const t = { ...this.t };
    const elapsed = now - this.lastAccrual;
    if (elapsed < 0n) throw new Error("time went backwards");
    if (elapsed === 0n || t.borrowAssets === 0n) return { t, rate: 0n, interest: 0n, toReserves: 0n };
    const rate = ratePerSecond(this.curve, this.utilisation(t));
    const interest = mulDivUp(t.borrowAssets, rate * elapsed, WAD);
    const toReserves = (interest * this.reserveFactor) / WAD;
    t.borrowAssets += interest;
    t.supplyAssets += interest - toReserves;
    t.reserves += toReserves;
    return { t, rate, interest, toReserves };
  }

  accrue(now: bigint) {
    const r = this.accrued(now);
    this.t = r.t;
    this.lastAccrual = now;
    return r;
  }

  cash() {
    const c = this.t.supplyAssets + this.t.reserves - this.t.borrowAssets;
    return c > 0n ? c : 0n;
  }

  supplyAssetsOf(who: string) {
    return toAssetsDown(this.supplyShares.get(who) ?? 0n, this.t.supplyAssets, this.t.supplyShares);
  }

  debtOf(who: string, t = this.t) {
    return toAssetsUp(this.borrowShares.get(who) ?? 0n, t.borrowAssets, t.borrowShares);
  }

  supply(who: string, assets: bigint) {
    const shares = toSharesDown(assets, this.t.supplyAssets, this.t.supplyShares);
    if (shares === 0n) throw new Error("model: ZeroShares");
    this.t.supplyAssets += assets;
    this.t.supplyShares += shares;
    this.supplyShares.set(who, (this.supplyShares.get(who) ?? 0n) + shares);
    return shares;
  }

  withdraw(who: string, assets: bigint) {
    const shares = toSharesUp(assets, this.t.supplyAssets, this.t.supplyShares);
    const held = this.supplyShares.get(who) ?? 0n;
    if (shares > held) throw new Error("model: InsufficientShares");
    if (assets > this.cash()) throw new Error("model: InsufficientLiquidity");
    this.supplyShares.set(who, held - shares);
    this.t.supplyShares -= shares;
    this.t.supplyAssets -= assets;
    return shares;
  }

  borrow(who: string, assets: bigint) {
    if (assets > this.cash()) throw new Error("model: InsufficientLiquidity");
    const shares = toSharesUp(assets, this.t.borrowAssets, this.t.borrowShares);
    this.t.borrowAssets += assets;
    this.t.borrowShares += shares;
    this.borrowShares.set(who, (this.borrowShares.get(who) ?? 0n) + shares);
    return shares;
  }

  /**
   * As `_repayShares` + `_burnDebt`: everything when `assets` covers the debt, else shares down. When the
   * last borrow share is burnt, what is left of borrowAssets (rounding owed by nobody) is written off
   * against reserves first, then suppliers (`_writeOffDust`); `dust` is that amount (0 if none).
   */
  repay(who: string, assets: bigint): { repaid: bigint; shares: bigint; dust: bigint } {
    const held = this.borrowShares.get(who) ?? 0n;
    if (held === 0n) throw new Error("model: NothingToRepay");
    const debt = toAssetsUp(held, this.t.borrowAssets, this.t.borrowShares);
    let repaid = assets;
    let shares: bigint;
    if (assets >= debt) {
      repaid = debt;
      shares = held;
    } else {
      shares = toSharesDown(assets, this.t.borrowAssets, this.t.borrowShares);
      if (shares === 0n) throw new Error("model: ZeroShares");
    }
    this.borrowShares.set(who, held - shares);
    this.t.borrowShares -= shares;
    this.t.borrowAssets = this.t.borrowAssets > repaid ? this.t.borrowAssets - repaid : 0n;
    let dust = 0n;
    if (this.t.borrowShares === 0n && this.t.borrowAssets > 0n) {
      dust = this.t.borrowAssets;
      this.t.borrowAssets = 0n;
      const fromReserves = dust < this.t.reserves ? dust : this.t.reserves;
      this.t.reserves -= fromReserves;
      const fromSuppliers = dust - fromReserves;
      this.t.supplyAssets = this.t.supplyAssets > fromSuppliers ? this.t.supplyAssets - fromSuppliers : 0n;
    }
    return { repaid, shares, dust };
  }
}

/* DRIVING THE CHAIN */

async function chainTotals(f: Fixture): Promise<ModelTotals> {
  const [supplyAssets, supplyShares, borrowAssets, borrowShares, reserves] = await f.lending!.market.totals();
  return { supplyAssets, supplyShares, borrowAssets, borrowShares, reserves };
}

function expectWithinOne(actual: bigint, expected: bigint, label: string) {
  const diff = actual > expected ? actual - expected : expected - actual;
  expect(diff, `${label}: chain ${actual} vs model ${expected}`).to.be.lessThanOrEqual(1n);
}

/** Totals on chain vs the model: shares exactly, assets within one base unit. */
async function expectMatches(f: Fixture, m: Model, label: string) {
  const c = await chainTotals(f);
  expectWithinOne(c.supplyAssets, m.t.supplyAssets, `${label} supplyAssets`);
  expectWithinOne(c.borrowAssets, m.t.borrowAssets, `${label} borrowAssets`);
  expectWithinOne(c.reserves, m.t.reserves, `${label} reserves`);
  expect(c.supplyShares, `${label} supplyShares`).to.equal(m.t.supplyShares);
  expect(c.borrowShares, `${label} borrowShares`).to.equal(m.t.borrowShares);
  return c;
}

/** Mines `send()` at exactly `ts`; returns the receipt. */
async function mineAt(ts: bigint, send: () => Promise<ContractTransactionResponse>) {
  await time.setNextBlockTimestamp(ts);
  const receipt = (await (await send()).wait())!;
  const block = await receipt.getBlock();
  expect(BigInt(block.timestamp), "mined at the chosen time").to.equal(ts);
  return receipt;
}

async function setupSequence() {
  const f = await loadSystem();
  const market = f.lending!.market;
  const marketAddress = await market.getAddress();
  const signers = await ethers.getSigners();
  const { keeper, alice } = f.actors;
  const carol = signers[5];
  for (const who of [keeper, alice, carol]) {
    await f.base.token!.mint(who.address, usdc(1_000_000_000));
    await f.base.token!.connect(who).approve(marketAddress, ethers.MaxUint256);
  }
  // Alice borrows against 10,000 WETH ($24M of capacity): health never binds in these sequences.
  await f.assets.WETH.token!.mint(alice.address, toUnits(10_000, 18));
  await f.assets.WETH.token!.connect(alice).approve(marketAddress, ethers.MaxUint256);
  await market.connect(alice).supplyCollateral(f.assets.WETH.address, toUnits(10_000, 18), alice.address);

  const c = await f.lending!.rateModel.curve();
  const curve: Curve = { baseRate: c.baseRate, slope1: c.slope1, slope2: c.slope2, kink: c.kink };
  const reserveFactor = (await market.params()).reserveFactor;
  // No borrows yet: the market's clock is irrelevant until the first borrow, at which the model starts.
  const m = new Model(curve, reserveFactor, BigInt(await time.latest()));

  type Op =
    | { kind: "accrue" }
    | { kind: "supply"; who: HardhatEthersSigner; assets: bigint }
    | { kind: "withdraw"; who: HardhatEthersSigner; assets: bigint }
    | { kind: "borrow"; assets: bigint }
    | { kind: "repay"; assets: bigint };

  /**
   * Lets `dt` seconds pass, then runs `op` (a borrow first refreshes the WETH feeds so that its price is
   * OK), then checks the chain against the model. Amounts may be functions of the model accrued to the
   * transaction's time.
   */
  const step = async (dt: bigint, pick: (accruedModel: Model) => Op, label: string, refreshPrice = false) => {
    let ts: bigint;
    if (refreshPrice) {
      await time.increase(dt);
      await setPrice(f.assets.WETH, 3000);
      ts = BigInt(await time.latest()) + 1n;
    } else {
      ts = BigInt(await time.latest()) + dt;
    }
    const acc = m.accrue(ts);
    const op = pick(m);
    if (op.kind === "borrow" && !refreshPrice)
      throw new Error(`${label}: a borrow step must refresh the price`);
    if (op.kind === "accrue") {
      const tx = mineAt(ts, () => market.accrueInterest());
      if (acc.interest > 0n) {
        const receipt = await tx;
        const ev = receipt.logs
          .map((l) => market.interface.parseLog(l))
          .find((e) => e?.name === "AccrueInterest");
        expect(ev, `${label}: AccrueInterest emitted`).to.not.equal(undefined);
        expect(ev!.args.rate, `${label}: rate`).to.equal(acc.rate);
        expectWithinOne(ev!.args.interest, acc.interest, `${label}: interest`);
        expectWithinOne(ev!.args.toReserves, acc.toReserves, `${label}: toReserves`);
      } else {
        await tx;
      }
    } else if (op.kind === "supply") {
      m.supply(op.who.address, op.assets);
      await mineAt(ts, () => market.connect(op.who).supply(op.assets, op.who.address));
      expect((await market.accountView(op.who.address)).supplyShares, `${label}: shares`).to.equal(
        m.supplyShares.get(op.who.address),
      );
    } else if (op.kind === "withdraw") {
      m.withdraw(op.who.address, op.assets);
      await mineAt(ts, () => market.connect(op.who).withdraw(op.assets, op.who.address));
    } else if (op.kind === "borrow") {
      m.borrow(alice.address, op.assets);
      await mineAt(ts, () => market.connect(alice).borrow(op.assets, alice.address));
    } else {
      const { dust } = m.repay(alice.address, op.assets);
      const receipt = await mineAt(ts, () => market.connect(alice).repay(op.assets, alice.address));
      // The last share burnt writes the rounding dust off (DebtDustWrittenOff), as the model does.
      const written = receipt.logs
        .map((l) => market.interface.parseLog(l))
        .filter((e) => e?.name === "DebtDustWrittenOff")
        .map((e) => e!.args.amount as bigint);
      expect(written.length, `${label}: at most one DebtDustWrittenOff`).to.be.lessThanOrEqual(1);
      expectWithinOne(written[0] ?? 0n, dust, `${label}: dust written off`);
      if (m.t.borrowShares === 0n)
        expect(written.length, `${label}: dust written off iff any`).to.equal(dust > 0n ? 1 : 0);
    }
    const chain = await expectMatches(f, m, label);
    const view = await market.accountView(alice.address);
    expectWithinOne(view.debt, m.debtOf(alice.address), `${label}: alice's debt`);
    expect(view.borrowShares, `${label}: alice's borrow shares`).to.equal(
      m.borrowShares.get(alice.address) ?? 0n,
    );
    return { chain, kind: op.kind };
  };

  return { f, market, m, step, keeper, alice, carol };
}

/* TESTS */

describe("lending: interest", () => {
  describe("KinkedRateModel", () => {
    it("rate model: the local curve is base 0, slope1 4%, slope2 75%, kink 80%", async () => {
      const f = await loadSystem();
      const c = await f.lending!.rateModel.curve();
      expect([c.baseRate, c.slope1, c.slope2, c.kink]).to.deep.equal([0n, wad(0.04), wad(0.75), wad(0.8)]);
      expect(await f.lending!.rateModel.SECONDS_PER_YEAR()).to.equal(SECONDS_PER_YEAR);
    });

    it("rate model: per year 0 at u = 0, 2% at 40%, 4% at the kink, 41.5% at 90%, 79% at 100%", async () => {
      const f = await loadSystem();
      const rm = f.lending!.rateModel;
      expect(await rm.borrowRatePerYear(0n)).to.equal(0n);
      expect(await rm.borrowRatePerYear(wad(0.4))).to.equal(wad(0.02));
      expect(await rm.borrowRatePerYear(wad(0.8))).to.equal(wad(0.04));
      expect(await rm.borrowRatePerYear(wad(0.8) + 1n)).to.equal(wad(0.04) + (wad(0.75) * 1n) / wad(0.2));
      expect(await rm.borrowRatePerYear(wad(0.9))).to.equal(wad(0.415));
      expect(await rm.borrowRatePerYear(WAD)).to.equal(wad(0.79));
    });

    it("rate model: utilisation above 100% is read as 100% (clamped), up to type(uint256).max", async () => {
      const f = await loadSystem();
      const rm = f.lending!.rateModel;
      for (const u of [WAD + 1n, wad(1.5), wad(2), 10n ** 30n, ethers.MaxUint256]) {
        expect(await rm.borrowRatePerYear(u)).to.equal(wad(0.79));
        expect(await rm.borrowRatePerSecond(u)).to.equal(await rm.borrowRatePerSecond(WAD));
      }
    });

    it("rate model: odd utilisations round each division down, exactly as the TypeScript curve", async () => {
      const f = await loadSystem();
      const rm = f.lending!.rateModel;
      const us = [1n, 7n, 123_456_789_012_345_678n, wad(0.8) - 1n, 876_543_210_987_654_321n, WAD - 1n];
      for (const u of us) {
        expect(await rm.borrowRatePerYear(u), `u = ${u}`).to.equal(ratePerYear(LOCAL_CURVE, u));
      }
      // Below the kink the division truncates: 7 x 0.04e18 / 0.8e18 = 0.35 -> 0.
      expect(await rm.borrowRatePerYear(7n)).to.equal(0n);
      expect(await rm.borrowRatePerYear(20n)).to.equal(1n);
    });

    it("rate model: the per-second rate is the yearly rate / 31,536,000 rounded up (and not when exact)", async () => {
      const f = await loadSystem();
      const rm = f.lending!.rateModel;
      expect(await rm.borrowRatePerSecond(0n)).to.equal(0n);
      // 4% a year: 0.04e18 / 31,536,000 = 1,268,391,679.35... -> 1,268,391,680
      expect(await rm.borrowRatePerSecond(wad(0.8))).to.equal(1_268_391_680n);
      // 1 wei a year is still 1 wei a second.
      expect(await rm.borrowRatePerSecond(20n)).to.equal(1n);
      // Exactly divisible: base 31,536,000 x 1e9 -> 1e9 a second, no rounding up.
      await rm.setCurve(SECONDS_PER_YEAR * 10n ** 9n, 0n, 0n, wad(0.8));
      expect(await rm.borrowRatePerSecond(0n)).to.equal(10n ** 9n);
      await rm.setCurve(SECONDS_PER_YEAR * 10n ** 9n + 1n, 0n, 0n, wad(0.8));
      expect(await rm.borrowRatePerSecond(0n)).to.equal(10n ** 9n + 1n);
    });

    it("rate model (property): borrowRatePerYear and borrowRatePerSecond match the TypeScript curve for random curves and utilisations", async () => {
      const f = await loadSystem();
      const rm = f.lending!.rateModel;
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            baseRate: fc.bigInt({ min: 0n, max: WAD }),
            slope1: fc.bigInt({ min: 0n, max: 2n * WAD }),
            slope2: fc.bigInt({ min: 0n, max: MAX_SLOPE2 }),
            kink: fc.bigInt({ min: wad(0.01), max: wad(0.99) }),
          }),
          fc.array(fc.bigInt({ min: 0n, max: 2n * WAD }), { minLength: 1, maxLength: 4 }),
          async (curve, us) => {
            await rm.setCurve(curve.baseRate, curve.slope1, curve.slope2, curve.kink);
            for (const u of [...us, curve.kink, curve.kink + 1n]) {
              expect(await rm.borrowRatePerYear(u)).to.equal(ratePerYear(curve, u));
              expect(await rm.borrowRatePerSecond(u)).to.equal(ratePerSecond(curve, u));
            }
          },
        ),
        { numRuns: 25 },
      );
    });

    it("rate model: setCurve stores the curve and emits RateCurveSet; every bound passes at its edge", async () => {
      const f = await loadSystem();
      const rm = f.lending!.rateModel;
      await expect(rm.setCurve(wad(1), wad(2), wad(10), wad(0.99)))
        .to.emit(rm, "RateCurveSet")
        .withArgs(wad(1), wad(2), wad(10), wad(0.99));
      const c = await rm.curve();
      expect([c.baseRate, c.slope1, c.slope2, c.kink]).to.deep.equal([wad(1), wad(2), wad(10), wad(0.99)]);
      // The steepest curve: 100% + 200% + 1000% = 1300% a year at full utilisation.
      expect(await rm.borrowRatePerYear(WAD)).to.equal(wad(13));
      await expect(rm.setCurve(0n, 0n, 0n, wad(0.01)))
        .to.emit(rm, "RateCurveSet")
        .withArgs(0n, 0n, 0n, wad(0.01));
      expect(await rm.borrowRatePerYear(WAD)).to.equal(0n);
    });

    it("rate model: setCurve beyond a bound reverts with OutOfBounds(param, value, min, max)", async () => {
      const f = await loadSystem();
      const rm = f.lending!.rateModel;
      await expect(rm.setCurve(wad(1) + 1n, 0n, 0n, wad(0.5)))
        .to.be.revertedWithCustomError(rm, "OutOfBounds")
        .withArgs("baseRate", wad(1) + 1n, 0n, wad(1));
      await expect(rm.setCurve(0n, wad(2) + 1n, 0n, wad(0.5)))
        .to.be.revertedWithCustomError(rm, "OutOfBounds")
        .withArgs("slope1", wad(2) + 1n, 0n, wad(2));
      await expect(rm.setCurve(0n, 0n, wad(10) + 1n, wad(0.5)))
        .to.be.revertedWithCustomError(rm, "OutOfBounds")
        .withArgs("slope2", wad(10) + 1n, 0n, wad(10));
      await expect(rm.setCurve(0n, 0n, 0n, wad(0.01) - 1n))
        .to.be.revertedWithCustomError(rm, "OutOfBounds")
        .withArgs("kink", wad(0.01) - 1n, wad(0.01), wad(0.99));
      await expect(rm.setCurve(0n, 0n, 0n, wad(0.99) + 1n))
        .to.be.revertedWithCustomError(rm, "OutOfBounds")
        .withArgs("kink", wad(0.99) + 1n, wad(0.01), wad(0.99));
      const c = await rm.curve();
      expect([c.baseRate, c.slope1, c.slope2, c.kink]).to.deep.equal([0n, wad(0.04), wad(0.75), wad(0.8)]);
    });

    it('rate model: slope2 is bounded by MAX_SLOPE2 = 10e18 (1000% a year, within uint64): 10e18 passes, 10e18 + 1 reverts with OutOfBounds("slope2", 10e18 + 1, 0, 10e18)', async () => {
      const f = await loadSystem();
      const rm = f.lending!.rateModel;
      expect(await rm.MAX_SLOPE2()).to.equal(MAX_SLOPE2);
      expect(MAX_SLOPE2).to.be.lessThan(UINT64_MAX);
      await expect(rm.setCurve(0n, 0n, MAX_SLOPE2, wad(0.8)))
        .to.emit(rm, "RateCurveSet")
        .withArgs(0n, 0n, MAX_SLOPE2, wad(0.8));
      // 1000% a year at full utilisation, 500% halfway between the kink and 100%.
      expect(await rm.borrowRatePerYear(WAD)).to.equal(wad(10));
      expect(await rm.borrowRatePerYear(wad(0.9))).to.equal(wad(5));
      await expect(rm.setCurve(0n, 0n, MAX_SLOPE2 + 1n, wad(0.8)))
        .to.be.revertedWithCustomError(rm, "OutOfBounds")
        .withArgs("slope2", MAX_SLOPE2 + 1n, 0n, MAX_SLOPE2);
      const c = await rm.curve();
      expect([c.baseRate, c.slope1, c.slope2, c.kink]).to.deep.equal([0n, 0n, MAX_SLOPE2, wad(0.8)]);
    });

    it("rate model: setCurve by a stranger reverts with AccessControlUnauthorizedAccount; the curve is unchanged", async () => {
      const f = await loadSystem();
      const rm = f.lending!.rateModel;
      const { stranger } = f.actors;
      await expect(rm.connect(stranger).setCurve(wad(1), 0n, 0n, wad(0.5)))
        .to.be.revertedWithCustomError(rm, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, ADMIN_ROLE);
      const c = await rm.curve();
      expect([c.baseRate, c.slope1, c.slope2, c.kink]).to.deep.equal([0n, wad(0.04), wad(0.75), wad(0.8)]);
    });

    it("rate model: the constructor rejects a zero admin (ZeroAddress) and an out-of-bounds curve (OutOfBounds)", async () => {
      const f = await loadSystem();
      const factory = await ethers.getContractFactory("KinkedRateModel", f.actors.admin);
      await expect(
        factory.deploy(ethers.ZeroAddress, 0n, wad(0.04), wad(0.75), wad(0.8)),
      ).to.be.revertedWithCustomError(factory, "ZeroAddress");
      await expect(factory.deploy(f.actors.admin.address, 0n, wad(0.04), wad(0.75), 0n))
        .to.be.revertedWithCustomError(factory, "OutOfBounds")
        .withArgs("kink", 0n, wad(0.01), wad(0.99));
      const rm = await factory.deploy(f.actors.stranger.address, 1n, 2n, 3n, wad(0.5));
      await expect(rm.deploymentTransaction()).to.emit(rm, "RateCurveSet").withArgs(1n, 2n, 3n, wad(0.5));
      expect(await rm.hasRole(ADMIN_ROLE, f.actors.stranger.address)).to.equal(true);
    });
  });

  describe("accrual against the TypeScript model", () => {
    it("accrual: a sequence of uneven steps with supplies, borrows, repays and withdrawals matches the model (to the unit)", async function () {
      this.timeout(300_000);
      const { f, m, step, keeper, alice, carol } = await setupSequence();
      const D = 86_400n;
      await step(5n, () => ({ kind: "supply", who: keeper, assets: usdc(1_000_000) }), "keeper supplies 1M");
      await step(
        3600n,
        () => ({ kind: "borrow", assets: usdc(400_000) }),
        "alice borrows 400k (u 40%)",
        true,
      );
      await step(1n, () => ({ kind: "accrue" }), "1 s");
      await step(13n * D + 17n, () => ({ kind: "accrue" }), "13 days");
      await step(
        7n * 3600n,
        () => ({ kind: "supply", who: carol, assets: 250_000_123_457n }),
        "carol supplies",
      );
      await step(
        3n * D,
        () => ({ kind: "borrow", assets: usdc(600_000) }),
        "alice borrows 600k (u ~80%)",
        true,
      );
      await step(45n * D, () => ({ kind: "accrue" }), "45 days");
      // Above the kink: 95% utilisation.
      await step(
        7_200n,
        (mm) => ({ kind: "borrow", assets: (mm.t.supplyAssets * 95n) / 100n - mm.t.borrowAssets }),
        "alice borrows to 95%",
        true,
      );
      expect(m.utilisation()).to.be.greaterThan(wad(0.94));
      await step(BigInt(365 * 86400), () => ({ kind: "accrue" }), "a year above the kink");
      await step(600n, () => ({ kind: "repay", assets: usdc(300_000) }), "alice repays 300k");
      await step(
        5n * D,
        () => ({ kind: "withdraw", who: keeper, assets: usdc(100_000) }),
        "keeper withdraws 100k",
      );
      // Every unit of cash, reserves included, lent out: borrowed > supplied, utilisation clamped to 100%.
      await step(2n * D, (mm) => ({ kind: "borrow", assets: mm.cash() }), "alice borrows all the cash", true);
      expect(m.t.borrowAssets).to.be.greaterThan(m.t.supplyAssets);
      expect(m.utilisation()).to.equal(WAD);
      await step(30n * D, () => ({ kind: "accrue" }), "30 days at 100%");
      expect(await f.lending!.market.utilisation()).to.equal(WAD);
      await step(
        D,
        (mm) => ({ kind: "repay", assets: mm.debtOf(alice.address) + 1n }),
        "alice repays everything",
      );
      await step(9n, () => ({ kind: "withdraw", who: carol, assets: usdc(200_000) }), "carol withdraws 200k");
      await step(D, () => ({ kind: "accrue" }), "a day after full repayment");

      // The model is exact, not merely within one unit.
      expect(await chainTotals(f)).to.deep.equal(m.t);
      expect((await f.lending!.market.accountView(keeper.address)).supplyAssets).to.equal(
        m.supplyAssetsOf(keeper.address),
      );
      expect((await f.lending!.market.accountView(carol.address)).supplyAssets).to.equal(
        m.supplyAssetsOf(carol.address),
      );
      await expectConservation(f);
    });

    it("accrual: a year at 50% utilisation: the borrower's debt (accountView) is 500,000 x (1 + 2.5%) as the model says", async () => {
      const { f, market, m, step, keeper, alice } = await setupSequence();
      await step(5n, () => ({ kind: "supply", who: keeper, assets: usdc(1_000_000) }), "supply");
      await step(60n, () => ({ kind: "borrow", assets: usdc(500_000) }), "borrow", true);
      expect(await market.utilisation()).to.equal(wad(0.5));
      await step(SECONDS_PER_YEAR, () => ({ kind: "accrue" }), "one year");

      // 2.5% a year = 792,744,799.59... -> 792,744,800 a second; x a year = 0.0250000000128.
      const rate = ratePerSecond(LOCAL_CURVE, wad(0.5));
      expect(rate).to.equal(792_744_800n);
      expect(await f.lending!.rateModel.borrowRatePerSecond(wad(0.5))).to.equal(rate);
      const interest = mulDivUp(usdc(500_000), rate * SECONDS_PER_YEAR, WAD);
      expect(interest).to.equal(12_500_000_007n); // 12,500.000006.4 rounded up
      const view = await market.accountView(alice.address);
      expect(view.debt).to.equal(m.debtOf(alice.address));
      expect(view.debt).to.equal(
        toAssetsUp(usdc(500_000) * 10n ** 6n, usdc(500_000) + interest, usdc(500_000) * 10n ** 6n),
      );
      expect(view.debt - usdc(512_500)).to.be.lessThanOrEqual(8n);
      // Suppliers get 90%, reserves 10% (rounded down).
      const [supplyAssets, , , , reserves] = await market.totals();
      expect(reserves).to.equal(1_250_000_000n);
      expect(supplyAssets).to.equal(usdc(1_000_000) + interest - 1_250_000_000n);
      expect((await market.accountView(keeper.address)).supplyAssets).to.equal(
        m.supplyAssetsOf(keeper.address),
      );
    });

    it("accrual: monthly accruals over a year compound above simple interest, exactly as the model", async () => {
      const { f, market, m, step, keeper, alice } = await setupSequence();
      await step(5n, () => ({ kind: "supply", who: keeper, assets: usdc(1_000_000) }), "supply");
      await step(60n, () => ({ kind: "borrow", assets: usdc(500_000) }), "borrow", true);
      for (let i = 0; i < 12; i++)
        await step(SECONDS_PER_YEAR / 12n, () => ({ kind: "accrue" }), `month ${i + 1}`);
      const debt = (await market.accountView(alice.address)).debt;
      expect(debt).to.equal(m.debtOf(alice.address));
      // Compounding monthly at a rising utilisation beats one simple-interest accrual.
      expect(debt).to.be.greaterThan(usdc(512_500) + 8n);
      expect(await chainTotals(f)).to.deep.equal(m.t);
    });

    it("accrual: views (accountView, between accruals) include the interest to the latest block; totals() and utilisation() do not", async () => {
      const { f, market, m, step, keeper, alice } = await setupSequence();
      await step(5n, () => ({ kind: "supply", who: keeper, assets: usdc(1_000_000) }), "supply");
      await step(60n, () => ({ kind: "borrow", assets: usdc(800_000) }), "borrow", true);
      const frozen = await chainTotals(f);
      await time.increase(90 * 86400); // mines an empty block 90 days later
      const now = BigInt(await time.latest());
      const projected = m.accrued(now).t;
      expect(projected.borrowAssets).to.be.greaterThan(frozen.borrowAssets);
      expect(await chainTotals(f)).to.deep.equal(frozen);
      expect(await market.utilisation()).to.equal(wad(0.8));
      const view = await market.accountView(alice.address);
      expect(view.debt).to.equal(m.debtOf(alice.address, projected));
      const supplierView = await market.accountView(keeper.address);
      expect(supplierView.supplyAssets).to.equal(
        toAssetsDown(m.supplyShares.get(keeper.address)!, projected.supplyAssets, projected.supplyShares),
      );
    });

    it("accrual: with nothing borrowed only the clock moves (no AccrueInterest); the first loan then pays from its own start", async () => {
      const { f, market, m, step, keeper } = await setupSequence();
      await step(5n, () => ({ kind: "supply", who: keeper, assets: usdc(1_000_000) }), "supply");
      const ts = BigInt(await time.latest()) + 100n * 86_400n;
      await time.setNextBlockTimestamp(ts);
      await expect(market.accrueInterest()).to.not.emit(market, "AccrueInterest");
      m.accrue(ts);
      await step(3_600n, () => ({ kind: "borrow", assets: usdc(100_000) }), "borrow", true);
      await step(86_400n, () => ({ kind: "accrue" }), "a day");
      const interest = m.t.borrowAssets - usdc(100_000);
      // One day (plus the seconds the price refresh took) at 10% utilisation, not a hundred days.
      expect(interest).to.be.lessThan(usdc(100_000) / 3650n);
      expect(interest).to.be.greaterThan(0n);
      expect(await chainTotals(f)).to.deep.equal(m.t);
    });

    it("accrual: two accruals in one block: the second accrues nothing", async () => {
      const { f, market, step, keeper } = await setupSequence();
      await step(5n, () => ({ kind: "supply", who: keeper, assets: usdc(1_000_000) }), "supply");
      await step(60n, () => ({ kind: "borrow", assets: usdc(500_000) }), "borrow", true);
      await time.increase(86_400);
      await network.provider.send("evm_setAutomine", [false]);
      try {
        const tx1 = await market.accrueInterest();
        const tx2 = await market.accrueInterest();
        await network.provider.send("evm_mine", []);
        const r1 = (await tx1.wait())!;
        const r2 = (await tx2.wait())!;
        expect(r1.blockNumber).to.equal(r2.blockNumber);
        const names = (r: typeof r1) => r.logs.map((l) => market.interface.parseLog(l)?.name);
        expect(names(r1)).to.deep.equal(["AccrueInterest"]);
        expect(names(r2)).to.deep.equal([]);
      } finally {
        await network.provider.send("evm_setAutomine", [true]);
      }
      await expectConservation(f);
    });

    it("accrual (property): random sequences of uneven steps and operations match the model within one unit", async function () {
      this.timeout(600_000);
      type Kind = "accrue" | "supply" | "withdraw" | "borrow" | "repay";
      const stepArb = fc.record({
        dt: fc.oneof(
          fc.integer({ min: 1, max: 60 }),
          fc.integer({ min: 61, max: 86_400 }),
          fc.integer({ min: 86_401, max: 120 * 86_400 }),
        ),
        kind: fc.constantFrom<Kind>("accrue", "supply", "withdraw", "borrow", "borrow", "repay"),
        frac: fc.integer({ min: 1, max: 1000 }),
        second: fc.boolean(),
      });
      const executed: Record<string, number> = {};
      await fc.assert(
        fc.asyncProperty(fc.array(stepArb, { minLength: 3, maxLength: 10 }), async (steps) => {
          const { f, step, keeper, alice, carol } = await setupSequence();
          await step(1n, () => ({ kind: "supply", who: keeper, assets: usdc(1_000_000) }), "initial supply");
          for (const [i, s] of steps.entries()) {
            const frac = BigInt(s.frac);
            const label = `step ${i} ${s.kind} dt ${s.dt} frac ${s.frac}`;
            const { kind } = await step(
              BigInt(s.dt),
              (mm) => {
                const who = s.second ? carol : keeper;
                if (s.kind === "supply") return { kind: "supply", who, assets: usdc(1_000) * frac + 1n };
                if (s.kind === "withdraw") {
                  const max =
                    mm.supplyAssetsOf(who.address) < mm.cash() ? mm.supplyAssetsOf(who.address) : mm.cash();
                  const assets = (max * frac) / 1000n;
                  const shares = toSharesUp(assets, mm.t.supplyAssets, mm.t.supplyShares);
                  if (assets === 0n || shares > (mm.supplyShares.get(who.address) ?? 0n))
                    return { kind: "accrue" };
                  return { kind: "withdraw", who, assets };
                }
                if (s.kind === "borrow") {
                  const assets = (mm.cash() * frac) / 1000n;
                  const debtAfter = mm.debtOf(alice.address) + assets;
                  // Within alice's capacity (24M) and the borrow cap (100M) with room to spare.
                  if (assets === 0n || debtAfter < usdc(100) + 1n || debtAfter > usdc(20_000_000))
                    return { kind: "accrue" };
                  if (mm.t.borrowAssets + assets > usdc(90_000_000)) return { kind: "accrue" };
                  return { kind: "borrow", assets };
                }
                if (s.kind === "repay") {
                  const debt = mm.debtOf(alice.address);
                  if (debt === 0n) return { kind: "accrue" };
                  const assets = frac === 1000n ? ethers.MaxUint256 : (debt * frac) / 1000n;
                  if (
                    assets !== ethers.MaxUint256 &&
                    toSharesDown(assets, mm.t.borrowAssets, mm.t.borrowShares) === 0n
                  )
                    return { kind: "accrue" };
                  return { kind: "repay", assets };
                }
                return { kind: "accrue" };
              },
              label,
              s.kind === "borrow",
            );
            executed[kind] = (executed[kind] ?? 0) + 1;
          }
          await expectConservation(f);
        }),
        { numRuns: 30 },
      );
      // The runs exercised every operation, not just accruals.
      for (const kind of ["accrue", "supply", "withdraw", "borrow", "repay"]) {
        expect(executed[kind] ?? 0, `${kind} steps executed`).to.be.greaterThan(0);
      }
    });
  });

  describe("debt dust: written off when the last borrow share is burnt", () => {
    /**
     * The virtual borrow shares "own" a sliver of borrowAssets that no borrower owes. When the last borrow
     * share is burnt, that rounding (borrowAssets minus the debt repaid) leaves the books at once, against
     * reserves first, then suppliers (DebtDustWrittenOff), so that no interest accrues on a debt nobody
     * owes and suppliers' claims stay backed by cash.
     *
     * Alice borrows 900,000 of keeper's 1,000,000 and lets three years pass; the market is accrued at T,
     * then the full repayment is mined at T + 1 so that its accrual, the debt and the dust are known exactly.
     */
    async function lastBorrowerRepays(opts: { reserveFactor?: bigint } = {}) {
      const f = await loadSystem();
      const market = f.lending!.market;
      const marketAddress = await market.getAddress();
      const { keeper, alice, admin } = f.actors;
      if (opts.reserveFactor !== undefined) {
        const p = await market.params();
        await market.connect(admin).setMarketParams({
          borrowCap: p.borrowCap,
          minBorrow: p.minBorrow,
          reserveFactor: opts.reserveFactor,
          protocolShare: p.protocolShare,
          smallPosition: p.smallPosition,
          marginCallHealth: p.marginCallHealth,
        });
      }
      for (const who of [keeper, alice]) {
        await f.base.token!.mint(who.address, usdc(10_000_000));
        await f.base.token!.connect(who).approve(marketAddress, ethers.MaxUint256);
      }
      await market.connect(keeper).supply(usdc(1_000_000), keeper.address);
      await f.assets.WETH.token!.mint(alice.address, toUnits(1_000, 18));
      await f.assets.WETH.token!.connect(alice).approve(marketAddress, ethers.MaxUint256);
      await market.connect(alice).supplyCollateral(f.assets.WETH.address, toUnits(1_000, 18), alice.address);
      await market.connect(alice).borrow(usdc(900_000), alice.address);
      await time.increase(3 * 365 * 86400);
      await market.accrueInterest();
      const T = BigInt(await time.latest());
      const before = await chainTotals(f);
      const shares = (await market.accountView(alice.address)).borrowShares;
      expect(shares, "alice holds every borrow share").to.equal(before.borrowShares);

      // The repayment's own accrual (one second), then the debt of every share and what is left over.
      const reserveFactor = (await market.params()).reserveFactor;
      const m = new Model(LOCAL_CURVE, reserveFactor, T);
      m.t = { ...before };
      const acc = m.accrue(T + 1n);
      const a = acc.t;
      expect(acc.interest, "the repayment's second accrues interest").to.be.greaterThan(0n);
      const debt = toAssetsUp(shares, a.borrowAssets, a.borrowShares);
      const dust = a.borrowAssets - debt;

      await time.setNextBlockTimestamp(T + 1n);
      const tx = market.connect(alice).repay(ethers.MaxUint256, alice.address);
      await expect(tx).to.emit(market, "AccrueInterest").withArgs(acc.rate, acc.interest, acc.toReserves);
      await expect(tx).to.emit(market, "Repay").withArgs(alice.address, alice.address, debt, shares);
      await expect(tx).to.emit(market, "DebtDustWrittenOff").withArgs(dust);
      const receipt = (await (await tx).wait())!;
      expect(
        receipt.logs.map((l) => market.interface.parseLog(l)?.name).filter((n) => n !== undefined),
        "accrue, write the dust off as the last share burns, then Repay",
      ).to.deep.equal(["AccrueInterest", "DebtDustWrittenOff", "Repay"]);
      const after = await chainTotals(f);
      return { f, market, keeper, alice, a, debt, dust, after };
    }

    it("dust: the last full repay emits DebtDustWrittenOff(borrowAssets - debt repaid) and the dust comes out of reserves: borrowAssets ends at exactly 0", async () => {
      const { f, a, dust, after } = await lastBorrowerRepays();
      // The debt of every real share, rounded up, falls one unit short of borrowAssets: that unit is the
      // virtual shares' part, owed by nobody.
      expect(dust).to.equal(1n);
      expect(a.reserves, "reserves can take the whole dust").to.be.greaterThanOrEqual(dust);
      expect(after).to.deep.equal({
        supplyAssets: a.supplyAssets,
        supplyShares: a.supplyShares,
        borrowAssets: 0n,
        borrowShares: 0n,
        reserves: a.reserves - dust,
      });
      await expectConservation(f);
    });

    it("dust: with no borrower left, 50 accruals leave the totals unchanged (no AccrueInterest on the written-off dust)", async () => {
      const { f, market, after } = await lastBorrowerRepays();
      for (let i = 0; i < 50; i++) {
        await expect(market.accrueInterest()).to.not.emit(market, "AccrueInterest");
      }
      await time.increase(365 * 86400);
      await expect(market.accrueInterest()).to.not.emit(market, "AccrueInterest");
      expect(await chainTotals(f)).to.deep.equal(after);
      await expectConservation(f);
    });

    it("dust: without reserves (reserveFactor 0) the dust is written off against suppliers: supplyAssets drops by exactly the dust", async () => {
      const { f, a, dust, after } = await lastBorrowerRepays({ reserveFactor: 0n });
      expect(a.reserves).to.equal(0n);
      expect(dust).to.equal(1n);
      expect(after).to.deep.equal({
        supplyAssets: a.supplyAssets - dust,
        supplyShares: a.supplyShares,
        borrowAssets: 0n,
        borrowShares: 0n,
        reserves: 0n,
      });
      await expectConservation(f);
    });

    it("dust: with no borrower left and the reserves swept, accruals credit nothing and the last supplier's withdraw(max) pays its whole claim, backed by cash", async () => {
      const { f, market, keeper, after } = await lastBorrowerRepays();
      const marketAddress = await market.getAddress();
      await expect(market.sweepReserves()).to.emit(market, "ReservesSwept").withArgs(after.reserves);
      for (let i = 0; i < 50; i++) await market.accrueInterest();
      const t = await chainTotals(f);
      expect(t).to.deep.equal({ ...after, reserves: 0n });
      const cash = await f.base.erc20.balanceOf(marketAddress);
      expect(cash, "cash backs every supplied asset").to.be.greaterThanOrEqual(t.supplyAssets);
      const shares = (await market.accountView(keeper.address)).supplyShares;
      expect(shares).to.equal(t.supplyShares);
      const claim = toAssetsDown(shares, t.supplyAssets, t.supplyShares);
      expect((await market.accountView(keeper.address)).supplyAssets).to.equal(claim);
      expect(claim).to.be.lessThanOrEqual(cash);
      const balanceBefore = await f.base.erc20.balanceOf(keeper.address);
      await expect(market.connect(keeper).withdraw(ethers.MaxUint256, keeper.address))
        .to.emit(market, "Withdraw")
        .withArgs(keeper.address, keeper.address, claim, shares);
      expect(await f.base.erc20.balanceOf(keeper.address)).to.equal(balanceBefore + claim);
      expect(await f.base.erc20.balanceOf(marketAddress)).to.equal(cash - claim);
      const end = await chainTotals(f);
      expect(end).to.deep.equal({ ...t, supplyAssets: t.supplyAssets - claim, supplyShares: 0n });
      await expectConservation(f);
    });
  });
});
