/**
 * LendingMarket.liquidate, branch by branch: argument checks, the close factor, the seizure and fee math
 * to the unit, a multi-collateral borrower taken collateral by collateral, and the oracle policy table
 * (which statuses allow a liquidation, and that repay and supply keep working whatever the status).
 *
 * Exactness: every expected number is computed here, in TypeScript, from the same formulas the contract
 * documents (a mirror of the interest accrual, the shares math, the valuation and the seizure). Interest
 * accrues every second, so each measured transaction runs at a timestamp fixed in advance (`prepare`),
 * right after an `accrueInterest`, and the mirror adds that one second of interest.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import { localConfig } from "../../deploy/config";
import type { DeployedAsset } from "../../deploy/deploySystem";
import { Action, FeedMode, PriceStatus, SuspectPolicy } from "../../deploy/enums";
import { toUnits, wad, WAD } from "../../deploy/units";
import type { MockSequencerFeed } from "../../typechain-types";
import { expectConservation } from "../helpers/conservation";
import { setPrice, usd } from "../helpers/feeds";
import { l2Fixture, systemFixture, type Fixture } from "../helpers/fixture";
import {
  mulDivDown,
  mulDivUp,
  toAssetsUp,
  toSharesDown,
  readTotals as readMarketTotals,
  type Totals,
} from "../helpers/math";

/* CONFIGURATION (localConfig) */

const LENDING = localConfig().lending!;
const BASE_DECIMALS = 6;
const u = (v: number | string) => toUnits(v, BASE_DECIMALS);
const SMALL_POSITION = u(LENDING.params.smallPosition);
const PROTOCOL_SHARE = wad(LENDING.params.protocolShare);
const RESERVE_FACTOR = wad(LENDING.params.reserveFactor);
const RATE = {
  base: wad(LENDING.rate.baseRate),
  slope1: wad(LENDING.rate.slope1),
  slope2: wad(LENDING.rate.slope2),
  kink: wad(LENDING.rate.kink),
};
const SECONDS_PER_YEAR = 365n * 86400n;
const FULL_CLOSE_HEALTH = wad("0.95");
const CONFIRM_WINDOW = 600;
const MAX = ethers.MaxUint256;

function risk(symbol: string) {
  const c = LENDING.collaterals.find((x) => x.symbol === symbol)!;
  return { lt: wad(c.liquidationThreshold), bonus: wad(c.liquidationBonus) };
}

/* MIRROR OF THE CONTRACT'S MATH */

const min = (a: bigint, b: bigint) => (a < b ? a : b);
/** 10^(collateral decimals + 18 - base decimals). */
const scale = (decimals: number) => 10n ** BigInt(decimals + 18 - BASE_DECIMALS);

const readTotals = (f: Fixture) => readMarketTotals(f.lending!.market);

type Curve = typeof RATE;
const NO_INTEREST: Curve = { base: 0n, slope1: 0n, slope2: 0n, kink: wad(0.8) };

/** KinkedRateModel.borrowRatePerSecond. */
function ratePerSecond(util: bigint, curve: Curve = RATE): bigint {
  const perYear =
    util <= curve.kink
      ? curve.base + (curve.slope1 * util) / curve.kink
      : curve.base + curve.slope1 + (curve.slope2 * (util - curve.kink)) / (WAD - curve.kink);
  return (perYear + SECONDS_PER_YEAR - 1n) / SECONDS_PER_YEAR;
}

/** LendingMarket._accrue over `elapsed` seconds. */
function accrue(t: Totals, elapsed: bigint, curve: Curve = RATE): Totals {
  if (elapsed === 0n || t.borrowAssets === 0n) return { ...t };
  const util = t.borrowAssets >= t.supplyAssets ? WAD : (t.borrowAssets * WAD) / t.supplyAssets;
  const interest = mulDivUp(t.borrowAssets, ratePerSecond(util, curve) * elapsed, WAD);
  const toReserves = (interest * RESERVE_FACTOR) / WAD;
  return {
    ...t,
    borrowAssets: t.borrowAssets + interest,
    supplyAssets: t.supplyAssets + interest - toReserves,
    reserves: t.reserves + toReserves,
  };
}

/**
 * Accrues interest now (block time T) and fixes the next transaction's time at T + dt. Returns the totals
 * that transaction sees after its own accrual. Send nothing else before the transaction being measured.
 */
async function prepare(f: Fixture & { curve?: Curve }, dt = 1): Promise<{ totals: Totals; at: number }> {
  const receipt = await (await f.lending!.market.accrueInterest()).wait();
  const at = (await ethers.provider.getBlock(receipt!.blockNumber))!.timestamp + dt;
  const totals = accrue(await readTotals(f), BigInt(dt), f.curve ?? RATE);
  await time.setNextBlockTimestamp(at);
  return { totals, at };
}

interface Holding {
  asset: DeployedAsset;
  amount: bigint;
  /** What the oracle reports now (peek), its status, the last good price and the asset's maxDeviation. */
  price: bigint;
  status: PriceStatus;
  /** Whether the policy allows the status for LIQUIDATE (OK, FALLBACK; SUSPECT under TRUST_GAP). */
  allowed: boolean;
  lastGood: bigint;
  maxDeviation: bigint;
  lt: bigint;
  bonus: bigint;
}

/** The account's collaterals in index order, priced as the oracle reports now. */
async function holdings(f: Fixture, account: string): Promise<Holding[]> {
  const { market } = f.lending!;
  const out: Holding[] = [];
  for (const token of await market.collateralTokens()) {
    const asset = Object.values(f.assets).find((a) => a.address === token)!;
    const amount = await market.collateralOf(account, token);
    if (amount === 0n) continue;
    const [price, status] = await f.router.peek(token);
    const [lastGood] = await f.router.lastGoodPrice(token);
    const { maxDeviation } = await f.router.assetConfig(token);
    out.push({
      asset,
      amount,
      price,
      status: Number(status) as PriceStatus,
      allowed: await f.router.isAllowed(status, Action.LIQUIDATE),
      lastGood,
      maxDeviation,
      ...risk(asset.symbol),
    });
  }
  return out;
}

/** LendingMarket._highEstimate: max(price, last good price) x (1 + maxDeviation), rounded up. */
const highEstimate = (h: Holding) =>
  mulDivUp(h.price > h.lastGood ? h.price : h.lastGood, WAD + h.maxDeviation, WAD);

/**
 * The price a liquidation of `seizedToken` values `h` at (LendingMarket._value, LIQUIDATE): the oracle's
 * when the policy allows it; another collateral's refused price counts at its high estimate; the seized
 * collateral's refused price reverts (PriceNotUsable).
 */
function liquidationPrice(h: Holding, seizedToken?: string): bigint {
  if (h.allowed) return h.price;
  if (h.asset.address === seizedToken) throw new Error(`PriceNotUsable(${h.asset.symbol}, ${h.status})`);
  return highEstimate(h);
}

const valueOf = (h: Holding, seizedToken?: string) =>
  mulDivDown(h.amount, liquidationPrice(h, seizedToken), scale(h.asset.decimals));
const collateralValue = (hs: Holding[], seizedToken?: string) =>
  hs.reduce((s, h) => s + valueOf(h, seizedToken), 0n);
const liquidationCapacity = (hs: Holding[], seizedToken?: string) =>
  hs.reduce((s, h) => s + (valueOf(h, seizedToken) * h.lt) / WAD, 0n);
const healthOf = (cap: bigint, debt: bigint) => (debt === 0n ? MAX : (cap * WAD) / debt);

interface Liquidation {
  debt: bigint;
  health: bigint;
  /** Collateral value at the liquidation's prices (high estimates included). */
  value: bigint;
  /** 1 + bonus, capped at value / debt for a solvent account. */
  bonusFactor: bigint;
  maxClose: bigint;
  capped: boolean;
  repaid: bigint;
  seized: bigint;
  shares: bigint;
  fee: bigint;
  /** The borrower's borrow shares after the repayment (before any deficit). */
  sharesLeft: bigint;
  /** Totals after the liquidation, before any deficit. */
  after: Totals;
  /** The deficit realised when this liquidation takes the last collateral, else 0. */
  deficit: bigint;
  /** Borrowed assets written off when this repayment burns the last borrow share, else 0. */
  dust: bigint;
}

/**
 * LendingMarket._liquidation, _seizure, _repayShares, _burnDebt and the deficit's size. Throws on what
 * the contract reverts with (PriceNotUsable, NotLiquidatable, ZeroAmount, InsolventMustSeizeAll).
 */
function predictLiquidation(
  t: Totals,
  borrowShares: bigint,
  hs: Holding[],
  token: string,
  maxRepay: bigint,
  smallPosition = SMALL_POSITION,
): Liquidation {
  const debt = toAssetsUp(borrowShares, t.borrowAssets, t.borrowShares);
  const cap = liquidationCapacity(hs, token);
  const value = collateralValue(hs, token);
  const health = healthOf(cap, debt);
  if (cap >= debt) throw new Error(`not liquidatable: health ${health}`);
  const maxClose = debt <= smallPosition || health < FULL_CLOSE_HEALTH ? debt : mulDivUp(debt, WAD / 2n, WAD);
  const h = hs.find((x) => x.asset.address === token)!;
  // The bonus of a solvent account is capped at value / debt (rounded down).
  let bonusFactor = WAD + h.bonus;
  if (value > debt) bonusFactor = min(bonusFactor, mulDivDown(value, WAD, debt));
  const sc = scale(h.asset.decimals);
  const price = liquidationPrice(h, token);
  let repaid = min(maxRepay, maxClose);
  let seized = mulDivDown(mulDivDown(repaid, bonusFactor, WAD), sc, price);
  let capped = false;
  const wholeBalanceRepay = mulDivUp(mulDivUp(h.amount, price, sc), WAD, bonusFactor);
  if (seized > h.amount) {
    capped = true;
    seized = h.amount;
    repaid = wholeBalanceRepay;
  }
  if (seized === 0n) throw new Error("seizes nothing");
  if (value < debt && seized < h.amount) throw new Error(`InsolventMustSeizeAll(${wholeBalanceRepay})`);
  let shares: bigint;
  if (repaid >= debt) {
    repaid = debt;
    shares = borrowShares;
  } else {
    shares = toSharesDown(repaid, t.borrowAssets, t.borrowShares);
  }
  const fee = mulDivUp(mulDivUp(repaid, bonusFactor - WAD, WAD), PROTOCOL_SHARE, WAD);
  const { totals: after, dust } = burnDebt(t, shares, repaid);
  after.reserves += fee;
  const sharesLeft = borrowShares - shares;
  const lastCollateral = hs.every((x) => x === h || x.amount === 0n) && seized === h.amount;
  // _realiseDeficit: the last borrower's deficit takes all that is borrowed (the rounding dust with it).
  let deficit = 0n;
  if (lastCollateral && sharesLeft > 0n) {
    deficit =
      sharesLeft === after.borrowShares
        ? after.borrowAssets
        : min(toAssetsUp(sharesLeft, after.borrowAssets, after.borrowShares), after.borrowAssets);
  }
  return {
    debt,
    health,
    value,
    bonusFactor,
    maxClose,
    capped,
    repaid,
    seized,
    shares,
    fee,
    sharesLeft,
    after,
    deficit,
    dust,
  };
}

/**
 * LendingMarket._burnDebt: burns shares and assets; when no borrow share is left, what remains of the
 * borrowed assets (rounding owed by nobody) is written off against reserves, then suppliers.
 */
function burnDebt(t: Totals, shares: bigint, assets: bigint): { totals: Totals; dust: bigint } {
  const out: Totals = {
    ...t,
    borrowShares: t.borrowShares - shares,
    borrowAssets: t.borrowAssets > assets ? t.borrowAssets - assets : 0n,
  };
  let dust = 0n;
  if (out.borrowShares === 0n && out.borrowAssets > 0n) {
    dust = out.borrowAssets;
    const fromReserves = min(dust, out.reserves);
    out.borrowAssets = 0n;
    out.reserves -= fromReserves;
    const rest = dust - fromReserves;
    out.supplyAssets = out.supplyAssets > rest ? out.supplyAssets - rest : 0n;
  }
  return { totals: out, dust };
}

/* SCENARIO HELPERS */

/** `curve`: the rate curve the mirror accrues at, when a test has changed it (see `noInterest`). */
type F = Fixture & { bob: HardhatEthersSigner; carol: HardhatEthersSigner; curve?: Curve };

/**
 * Sets the rate curve to zero: debts stay exactly what was borrowed. Returns the fixture with the mirror's
 * curve set to match (a copy: loadFixture hands every test the same object).
 */
async function noInterest(f: F): Promise<F> {
  await f.lending!.market.accrueInterest();
  await f.lending!.rateModel.setCurve(0, 0, 0, NO_INTEREST.kink);
  return { ...f, curve: NO_INTEREST };
}

/** Suppliers, borrower and liquidator funded and approved; bob has supplied `liquidity` USDC. */
async function seed(system: Fixture, liquidity = u(1_000_000)): Promise<F> {
  const signers = await ethers.getSigners();
  const bob = signers[4];
  const carol = signers[5];
  const f = { ...system, bob, carol };
  const { market } = f.lending!;
  const m = await market.getAddress();
  const usdc = f.base.token!;
  const { alice, keeper, stranger } = f.actors;
  for (const [who, amount] of [
    [bob, u(2_000_000)],
    [keeper, u(10_000_000)],
    [stranger, u(100_000)],
    [alice, u(100_000)],
    [carol, u(100_000)],
  ] as const) {
    await usdc.mint(who.address, amount);
    await usdc.connect(who).approve(m, MAX);
  }
  for (const sym of ["WETH", "WBTC"]) {
    const token = f.assets[sym].token!;
    await token.mint(alice.address, toUnits(sym === "WETH" ? 1000 : 10, f.assets[sym].decimals));
    await token.connect(alice).approve(m, MAX);
  }
  await market.connect(bob).supply(liquidity, bob.address);
  return f;
}

/** Only 25,000 USDC supplied: a 24,000 borrow runs the market at 96% utilisation. */
async function thinFixture(): Promise<F> {
  return seed(await systemFixture(), u(25_000));
}

async function lendingFixture(): Promise<F> {
  return seed(await systemFixture());
}

async function l2LendingFixture(): Promise<F> {
  return seed(await l2Fixture());
}

const load = () => loadFixture(lendingFixture);

/** Posts collateral (whole-token decimal strings) for alice and borrows `borrow` USDC. */
async function open(f: F, collateral: Partial<Record<"WETH" | "WBTC", string>>, borrow: bigint) {
  const { market } = f.lending!;
  const alice = f.actors.alice;
  for (const [sym, amount] of Object.entries(collateral)) {
    const asset = f.assets[sym];
    await market
      .connect(alice)
      .supplyCollateral(asset.address, toUnits(amount, asset.decimals), alice.address);
  }
  if (borrow > 0n) await market.connect(alice).borrow(borrow, alice.address);
}

async function balances(f: F, who: string[], asset: DeployedAsset) {
  const coll = await ethers.getContractAt("IERC20Metadata", asset.address);
  const out: { usdc: bigint; coll: bigint }[] = [];
  for (const w of who) out.push({ usdc: await f.base.erc20.balanceOf(w), coll: await coll.balanceOf(w) });
  return out;
}

/**
 * Liquidates `borrower`'s `asset` as `liquidator` with `maxRepay` and checks every number against the
 * mirror: the Liquidate event, both parties' and the market's token balances, the totals (reserves
 * include the fee), the borrower's collateral and debt, and, when the last collateral goes, the deficit
 * down the waterfall (DeficitRealised, InsurancePaid, the suppliers' haircut).
 */
async function liquidateExactly(
  f: F,
  liquidator: HardhatEthersSigner,
  borrower: string,
  asset: DeployedAsset,
  maxRepay: bigint,
): Promise<Liquidation> {
  const { market } = f.lending!;
  const m = await market.getAddress();
  const fundAddress = await f.insuranceFund.getAddress();
  const hs = await holdings(f, borrower);
  const { borrowShares } = await market.accountView(borrower);
  const collBefore = await market.collateralOf(borrower, asset.address);
  const [liqBefore, mktBefore, borrowerBefore, fundBefore] = await balances(
    f,
    [liquidator.address, m, borrower, fundAddress],
    asset,
  );
  const { totals } = await prepare(f);
  const p = predictLiquidation(totals, borrowShares, hs, asset.address, maxRepay);

  const tx = await market.connect(liquidator).liquidate(borrower, asset.address, maxRepay);
  await expect(tx)
    .to.emit(market, "Liquidate")
    .withArgs(liquidator.address, borrower, asset.address, p.repaid, p.seized, p.fee);

  if (p.dust > 0n) await expect(tx).to.emit(market, "DebtDustWrittenOff").withArgs(p.dust);
  else await expect(tx).not.to.emit(market, "DebtDustWrittenOff");

  let expected = p.after;
  let cover = 0n;
  if (p.deficit > 0n) {
    const fromReserves = min(p.deficit, p.after.reserves);
    const rest = p.deficit - fromReserves;
    const fromInsurance = min(rest, fundBefore.usdc);
    const socialised = rest - fromInsurance;
    cover = fromInsurance;
    await expect(tx)
      .to.emit(market, "DeficitRealised")
      .withArgs(borrower, p.deficit, fromReserves, fromInsurance, socialised, 0n);
    if (rest > 0n)
      await expect(tx).to.emit(f.insuranceFund, "InsurancePaid").withArgs(m, rest, fromInsurance);
    else await expect(tx).not.to.emit(f.insuranceFund, "InsurancePaid");
    expected = {
      ...p.after,
      borrowAssets: p.after.borrowAssets - p.deficit,
      borrowShares: p.after.borrowShares - p.sharesLeft,
      reserves: p.after.reserves - fromReserves,
      supplyAssets: p.after.supplyAssets - socialised,
    };
  } else {
    await expect(tx).not.to.emit(market, "DeficitRealised");
  }

  const [liqAfter, mktAfter, borrowerAfter, fundAfter] = await balances(
    f,
    [liquidator.address, m, borrower, fundAddress],
    asset,
  );
  expect(liqAfter.usdc - liqBefore.usdc, "liquidator pays repaid + fee").to.equal(-(p.repaid + p.fee));
  expect(liqAfter.coll - liqBefore.coll, "liquidator receives the seizure").to.equal(p.seized);
  expect(mktAfter.usdc - mktBefore.usdc, "market receives repaid + fee (+ insurance)").to.equal(
    p.repaid + p.fee + cover,
  );
  expect(mktBefore.coll - mktAfter.coll, "market sends the seizure").to.equal(p.seized);
  expect(borrowerAfter.usdc, "borrower's tokens untouched").to.equal(borrowerBefore.usdc);
  expect(borrowerAfter.coll).to.equal(borrowerBefore.coll);
  expect(fundBefore.usdc - fundAfter.usdc, "fund pays its cover").to.equal(cover);

  expect(await readTotals(f)).to.deep.equal(expected);
  expect(await market.collateralOf(borrower, asset.address)).to.equal(collBefore - p.seized);
  const view = await market.accountView(borrower);
  const sharesAfter = p.deficit > 0n ? 0n : p.sharesLeft;
  expect(view.borrowShares, "borrow shares left").to.equal(sharesAfter);
  expect(view.debt, "debt left").to.equal(
    toAssetsUp(sharesAfter, expected.borrowAssets, expected.borrowShares),
  );
  await expectConservation(f, [borrower]);
  return p;
}

/** The revert a liquidation gets from the policy table (the market checks the seized collateral's price). */
async function expectLiquidationRefused(f: F, asset: DeployedAsset, status: PriceStatus) {
  const { market } = f.lending!;
  await expect(market.connect(f.actors.keeper).liquidate(f.actors.alice.address, asset.address, MAX))
    .to.be.revertedWithCustomError(market, "PriceNotUsable")
    .withArgs(asset.address, Action.LIQUIDATE, status);
}

/**
 * Policy "always": under any status, a third party repays part of alice's debt, bob supplies and alice
 * adds collateral, each exactly; a borrow (risk-adding) is refused unless the status is OK.
 */
async function expectRiskReducingWorks(f: F, asset: DeployedAsset, status: PriceStatus) {
  const { market } = f.lending!;
  const { alice, stranger } = f.actors;
  const bob = f.bob;
  const aliceShares = (await market.accountView(alice.address)).borrowShares;

  const strangerBefore = await f.base.erc20.balanceOf(stranger.address);
  let { totals } = await prepare(f);
  const repayShares = toSharesDown(u(100), totals.borrowAssets, totals.borrowShares);
  await expect(market.connect(stranger).repay(u(100), alice.address))
    .to.emit(market, "Repay")
    .withArgs(stranger.address, alice.address, u(100), repayShares);
  expect(await f.base.erc20.balanceOf(stranger.address)).to.equal(strangerBefore - u(100));
  expect((await market.accountView(alice.address)).borrowShares).to.equal(aliceShares - repayShares);
  await expectConservation(f);

  const bobShares = (await market.accountView(bob.address)).supplyShares;
  ({ totals } = await prepare(f));
  const supplyShares = toSharesDown(u(1000), totals.supplyAssets, totals.supplyShares);
  await expect(market.connect(bob).supply(u(1000), bob.address))
    .to.emit(market, "Supply")
    .withArgs(bob.address, bob.address, u(1000), supplyShares);
  expect((await market.accountView(bob.address)).supplyShares).to.equal(bobShares + supplyShares);
  await expectConservation(f);

  const posted = await market.collateralOf(alice.address, asset.address);
  await expect(market.connect(alice).supplyCollateral(asset.address, 1n, alice.address))
    .to.emit(market, "SupplyCollateral")
    .withArgs(alice.address, alice.address, asset.address, 1n);
  expect(await market.collateralOf(alice.address, asset.address)).to.equal(posted + 1n);
  await expectConservation(f);

  if (status !== PriceStatus.OK) {
    await expect(market.connect(alice).borrow(u(100), alice.address))
      .to.be.revertedWithCustomError(market, "PriceNotUsable")
      .withArgs(asset.address, Action.BORROW, status);
  }
}

async function expectPeek(f: F, asset: DeployedAsset, status: PriceStatus, price: bigint) {
  const [p, s] = await f.router.peek(asset.address);
  expect(PriceStatus[Number(s)], "oracle status").to.equal(PriceStatus[status]);
  expect(p, "oracle price").to.equal(price);
}

/* TESTS */

describe("LendingMarket.liquidate", () => {
  describe("argument checks", () => {
    it("liquidate: reverts with ZeroAmount when maxRepay is zero", async () => {
      const f = await load();
      await open(f, { WETH: "10" }, u(24_000));
      await setPrice(f.assets.WETH, 2800);
      const { market } = f.lending!;
      await expect(
        market.connect(f.actors.keeper).liquidate(f.actors.alice.address, f.assets.WETH.address, 0n),
      ).to.be.revertedWithCustomError(market, "ZeroAmount");
      await expectConservation(f);
    });

    it("liquidate: reverts with CollateralNotListed for the base asset or an unlisted token", async () => {
      const f = await load();
      await open(f, { WETH: "10" }, u(24_000));
      await setPrice(f.assets.WETH, 2800);
      const { market } = f.lending!;
      const alice = f.actors.alice.address;
      await expect(market.connect(f.actors.keeper).liquidate(alice, f.base.address, MAX))
        .to.be.revertedWithCustomError(market, "CollateralNotListed")
        .withArgs(f.base.address);
      const random = ethers.Wallet.createRandom().address;
      await expect(market.connect(f.actors.keeper).liquidate(alice, random, MAX))
        .to.be.revertedWithCustomError(market, "CollateralNotListed")
        .withArgs(random);
    });

    it("liquidate: reverts with NoCollateral when the borrower holds none of that collateral", async () => {
      const f = await load();
      await open(f, { WETH: "10" }, u(24_000));
      await setPrice(f.assets.WETH, 2800);
      const { market } = f.lending!;
      const { alice, keeper, stranger } = f.actors;
      await expect(market.connect(keeper).liquidate(alice.address, f.assets.WBTC.address, MAX))
        .to.be.revertedWithCustomError(market, "NoCollateral")
        .withArgs(alice.address, f.assets.WBTC.address);
      await expect(market.connect(keeper).liquidate(stranger.address, f.assets.WETH.address, MAX))
        .to.be.revertedWithCustomError(market, "NoCollateral")
        .withArgs(stranger.address, f.assets.WETH.address);
    });

    it("liquidate: reverts with NotLiquidatable(max uint) for an account with collateral and no debt", async () => {
      const f = await load();
      await open(f, { WETH: "10" }, 0n);
      await setPrice(f.assets.WETH, 100);
      const { market } = f.lending!;
      await expect(
        market.connect(f.actors.keeper).liquidate(f.actors.alice.address, f.assets.WETH.address, MAX),
      )
        .to.be.revertedWithCustomError(market, "NotLiquidatable")
        .withArgs(MAX);
    });

    it("liquidate: reverts with NotLiquidatable(health) for a healthy borrower, health exact", async () => {
      const f = await load();
      await open(f, { WETH: "10" }, u(24_000));
      await setPrice(f.assets.WETH, 2830); // health 28300 x 0.85 / 24000 = 1.0022
      const { market } = f.lending!;
      const alice = f.actors.alice.address;
      const { borrowShares } = await market.accountView(alice);
      const hs = await holdings(f, alice);
      const { totals } = await prepare(f);
      const debt = toAssetsUp(borrowShares, totals.borrowAssets, totals.borrowShares);
      const health = healthOf(liquidationCapacity(hs), debt);
      expect(health).to.be.gte(WAD).and.lt(wad("1.003"));
      await expect(market.connect(f.actors.keeper).liquidate(alice, f.assets.WETH.address, MAX))
        .to.be.revertedWithCustomError(market, "NotLiquidatable")
        .withArgs(health);
      await expectConservation(f);
    });

    it("liquidate: reverts with ZeroAmount when the repayment buys less than one unit of collateral", async () => {
      const f = await load();
      await open(f, { WBTC: "1" }, u(44_000));
      await setPrice(f.assets.WBTC, 54000);
      const { market } = f.lending!;
      // A satoshi is worth 540 units at 54,000: floor(509 x 1.06) = 539 buys 539e20 / 5.4e22 = 0 satoshi.
      for (const maxRepay of [1n, 509n]) {
        await expect(
          market.connect(f.actors.keeper).liquidate(f.actors.alice.address, f.assets.WBTC.address, maxRepay),
        ).to.be.revertedWithCustomError(market, "ZeroAmount");
      }
      await expectConservation(f);
      // floor(510 x 1.06) = 540 buys exactly one.
      const p = await liquidateExactly(f, f.actors.keeper, f.actors.alice.address, f.assets.WBTC, 510n);
      expect(p.seized).to.equal(1n);
      expect(p.repaid).to.equal(510n);
      expect(p.fee).to.equal(4n); // ceil(ceil(510 x 0.06 = 30.6) = 31 x 0.1) = 4
    });
  });

  describe("close factor", () => {
    it("liquidate: caps the repayment at ceil(debt / 2) above health 0.95", async () => {
      const f = await load();
      await open(f, { WETH: "10" }, u(24_000));
      await setPrice(f.assets.WETH, 2800); // health 0.9917
      const p = await liquidateExactly(f, f.actors.keeper, f.actors.alice.address, f.assets.WETH, MAX);
      expect(p.health).to.be.gte(FULL_CLOSE_HEALTH).and.lt(WAD);
      expect(p.debt).to.be.gt(SMALL_POSITION);
      expect(p.maxClose).to.equal((p.debt + 1n) / 2n);
      expect(p.repaid).to.equal((p.debt + 1n) / 2n);
      expect(p.capped).to.equal(false);
      // Concrete numbers: the debt is 24,000 USDC plus a few seconds of interest.
      expect(p.debt).to.be.gt(u(24_000)).and.lt(u(24_000.01));
      // seized = floor(floor(repaid x 1.05) x 1e30 / 2800e18)
      expect(p.seized).to.equal((((p.repaid * 105n) / 100n) * 10n ** 30n) / usd(2800));
    });

    it("liquidate: repays exactly maxRepay when it is below the close factor", async () => {
      const f = await load();
      await open(f, { WETH: "10" }, u(24_000));
      await setPrice(f.assets.WETH, 2800);
      const maxRepay = u("5000.123457");
      const p = await liquidateExactly(f, f.actors.keeper, f.actors.alice.address, f.assets.WETH, maxRepay);
      expect(p.repaid).to.equal(maxRepay);
      // floor(5000.123457 x 1.05) = 5250.129629 (5250.12962985), x 1e30 / 2800e18
      expect(p.seized).to.equal((u("5250.129629") * 10n ** 30n) / usd(2800));
      expect(p.seized).to.equal(1875046296071428571n);
      // ceil(ceil(5000.123457 x 0.05) x 0.1) = ceil(250.006173 (250.00617285 up) x 0.1) = 25.000618
      expect(p.fee).to.equal(u("25.000618"));
    });

    it("liquidate: repays the whole debt below health 0.95", async () => {
      const f = await load();
      await open(f, { WETH: "10" }, u(24_000));
      await setPrice(f.assets.WETH, "2650.5"); // health 26505 x 0.85 / 24000 = 0.9387
      const alice = f.actors.alice.address;
      const p = await liquidateExactly(f, f.actors.keeper, alice, f.assets.WETH, MAX);
      expect(p.health).to.be.lt(FULL_CLOSE_HEALTH);
      expect(p.maxClose).to.equal(p.debt);
      expect(p.repaid).to.equal(p.debt);
      expect(p.capped).to.equal(false);
      expect(p.sharesLeft).to.equal(0n);
      expect((await f.lending!.market.accountView(alice)).debt).to.equal(0n);
      // What is left of the collateral stays the borrower's.
      expect(await f.lending!.market.collateralOf(alice, f.assets.WETH.address)).to.equal(
        toUnits(10, 18) - p.seized,
      );
    });

    it("liquidate: repays the whole debt of a small position (debt <= smallPosition) above health 0.95", async () => {
      const f = await load();
      await open(f, { WETH: "0.4" }, u(950));
      await setPrice(f.assets.WETH, 2700); // health 1080 x 0.85 / 950 = 0.9663
      const p = await liquidateExactly(f, f.actors.keeper, f.actors.alice.address, f.assets.WETH, MAX);
      expect(p.health).to.be.gte(FULL_CLOSE_HEALTH).and.lt(WAD);
      expect(p.debt).to.be.lte(SMALL_POSITION);
      expect(p.repaid).to.equal(p.debt);
      expect((await f.lending!.market.accountView(f.actors.alice.address)).debt).to.equal(0n);
    });

    it("liquidate: smallPosition boundary: debt == smallPosition closes fully, smallPosition = debt - 1 caps at half", async () => {
      for (const offset of [0n, 1n]) {
        const f = await load();
        await open(f, { WETH: "10" }, u(24_000));
        await setPrice(f.assets.WETH, 2800);
        const { market } = f.lending!;
        const alice = f.actors.alice.address;
        const hs = await holdings(f, alice);
        const { borrowShares } = await market.accountView(alice);
        // accrue at T; set the parameter at T + 1 (setMarketParams accrues first); liquidate at T + 2.
        const params = await market.params();
        const { totals: atParams, at } = await prepare(f);
        const totals = accrue(atParams, 1n);
        const debt = toAssetsUp(borrowShares, totals.borrowAssets, totals.borrowShares);
        await market.setMarketParams({
          borrowCap: params.borrowCap,
          minBorrow: params.minBorrow,
          reserveFactor: params.reserveFactor,
          protocolShare: params.protocolShare,
          smallPosition: debt - offset,
          marginCallHealth: params.marginCallHealth,
        });
        expect(await readTotals(f), "setMarketParams accrued").to.deep.equal(atParams);
        await time.setNextBlockTimestamp(at + 1);
        const p = predictLiquidation(totals, borrowShares, hs, f.assets.WETH.address, MAX, debt - offset);
        const expectedRepay = offset === 0n ? debt : (debt + 1n) / 2n;
        expect(p.repaid).to.equal(expectedRepay);
        await expect(market.connect(f.actors.keeper).liquidate(alice, f.assets.WETH.address, MAX))
          .to.emit(market, "Liquidate")
          .withArgs(f.actors.keeper.address, alice, f.assets.WETH.address, expectedRepay, p.seized, p.fee);
        await expectConservation(f);
      }
    });
  });

  describe("seizure math", () => {
    it("liquidate: an 8-decimal collateral at an odd price seizes floor(floor(repaid x 1.06) x 1e20 / price)", async () => {
      const f = await load();
      await open(f, { WBTC: "0.73456789" }, u(33_000));
      await setPrice(f.assets.WBTC, "55555.55"); // -7.4%, health 0.9893
      await expectPeek(f, f.assets.WBTC, PriceStatus.OK, usd("55555.55"));
      const p = await liquidateExactly(f, f.actors.keeper, f.actors.alice.address, f.assets.WBTC, MAX);
      expect(p.repaid).to.equal((p.debt + 1n) / 2n);
      const bonusValue = (p.repaid * 106n) / 100n;
      expect(p.seized).to.equal((bonusValue * 10n ** 20n) / usd("55555.55"));
      expect(p.fee).to.equal(mulDivUp(mulDivUp(p.repaid, 6n, 100n), 1n, 10n));
    });

    it("liquidate: an 18-decimal collateral with a seizure capped at the balance charges ceil(ceil(balance x price) / bonusFactor), the bonus of a solvent account capped at value / debt", async () => {
      const f = await noInterest(await load());
      // 2 WETH + 0.5 WBTC: capacity 4,800 + 22,500.
      await open(f, { WETH: "2", WBTC: "0.5" }, u(27_000));
      await setPrice(f.assets.WETH, 1800); // both feeds: -40%, confirmed by the fallback at once
      await setPrice(f.assets.WBTC, 48600); // -19%
      await expectPeek(f, f.assets.WETH, PriceStatus.OK, usd(1800));
      const p = await liquidateExactly(f, f.actors.keeper, f.actors.alice.address, f.assets.WETH, MAX);
      // Value 3,600 + 24,300 = 27,900 against a debt of 27,000: solvent, health 22,500 / 27,000 = 0.8333.
      expect(p.debt).to.equal(u(27_000));
      expect(p.value).to.equal(u(27_900));
      expect(p.health).to.equal(833_333_333_333_333_333n);
      expect(p.maxClose).to.equal(p.debt);
      // bonusFactor = min(1.05, floor(27,900 / 27,000)) = 1.033333333333333333
      expect(p.bonusFactor).to.equal(1_033_333_333_333_333_333n);
      expect(p.capped).to.equal(true);
      expect(p.seized).to.equal(toUnits(2, 18));
      // ceil(2 x 1800 = 3600.000000 / 1.033333333333333333) = ceil(3483.8709677...) = 3483.870968
      expect(p.repaid).to.equal(u("3483.870968"));
      // ceil(ceil(3483.870968 x 0.033333333333333333 = 116.1290322...) = 116.129033 x 0.1) = 11.612904
      expect(p.fee).to.equal(u("11.612904"));
      expect(p.deficit).to.equal(0n);
    });

    it("liquidate: a solvent multi-collateral borrower liquidated collateral by collateral at a capped bonus repays the whole debt: no deficit, one satoshi left to the borrower", async () => {
      const f = await noInterest(await load());
      const { market } = f.lending!;
      const alice = f.actors.alice.address;
      await open(f, { WETH: "2", WBTC: "0.5" }, u(27_000));
      await setPrice(f.assets.WETH, 1800);
      await setPrice(f.assets.WBTC, 48600);
      const first = await liquidateExactly(f, f.actors.keeper, alice, f.assets.WETH, MAX);
      expect(first.repaid).to.equal(u("3483.870968"));
      // 24,300 of WBTC against 23,516.129032: still solvent (health 0.8267, full close).
      const second = await liquidateExactly(f, f.actors.keeper, alice, f.assets.WBTC, MAX);
      expect(second.debt).to.equal(u("23516.129032"));
      expect(second.value).to.equal(u(24_300));
      // floor(24,300 / 23,516.129032 x 1e18)
      expect(second.bonusFactor).to.equal(1_033_333_333_344_673_068n);
      expect(second.capped).to.equal(false);
      expect(second.repaid).to.equal(second.debt);
      // floor(floor(23516.129032 x 1.033333333344673068) = 24299.999999 x 1e20 / 48600e18) = 0.49999999
      expect(second.seized).to.equal(49_999_999n);
      expect(second.fee).to.equal(u("78.387097"));
      expect(second.deficit).to.equal(0n);
      expect(await market.collateralOf(alice, f.assets.WBTC.address)).to.equal(1n);
      expect((await market.accountView(alice)).debt).to.equal(0n);
      expect((await market.badDebt()).deficit).to.equal(0n);
    });

    it("liquidate: an insolvent multi-collateral borrower is liquidated collateral by collateral, each taken whole; the deficit is realised only when the last one is gone", async () => {
      const f = await noInterest(await load());
      const { market } = f.lending!;
      const alice = f.actors.alice.address;
      await open(f, { WETH: "2", WBTC: "0.5" }, u(27_000));
      await setPrice(f.assets.WETH, 1300); // both feeds: -56.7%, confirmed by the fallback at once
      await setPrice(f.assets.WBTC, 48600);
      await expectPeek(f, f.assets.WETH, PriceStatus.OK, usd(1300));
      await expectConservation(f, [alice]);

      // Value 2,600 + 24,300 = 26,900 < 27,000: part of the WETH is not enough.
      await expect(market.connect(f.actors.keeper).liquidate(alice, f.assets.WETH.address, u(1000)))
        .to.be.revertedWithCustomError(market, "InsolventMustSeizeAll")
        .withArgs(u("2476.190477"));

      const first = await liquidateExactly(f, f.actors.keeper, alice, f.assets.WETH, MAX);
      expect(first.value).to.be.lt(first.debt);
      expect(first.bonusFactor, "an insolvent account pays the full bonus").to.equal(wad(1.05));
      expect(first.capped).to.equal(true);
      // ceil(2 x 1300 = 2600 / 1.05) = ceil(2476.1904761...) = 2476.190477
      expect(first.repaid).to.equal(u("2476.190477"));
      expect(first.fee).to.equal(u("12.380953"));
      expect(first.deficit).to.equal(0n);
      expect(await market.collateralOf(alice, f.assets.WETH.address)).to.equal(0n);
      expect((await market.accountView(alice)).debt).to.equal(u("24523.809523"));
      expect((await market.badDebt()).deficit).to.equal(0n);

      // A liquidation of the collateral that is gone now fails; the other one remains.
      await expect(market.connect(f.actors.keeper).liquidate(alice, f.assets.WETH.address, MAX))
        .to.be.revertedWithCustomError(market, "NoCollateral")
        .withArgs(alice, f.assets.WETH.address);
      // Still insolvent (24,300 < 24,523.809523): the WBTC too must go whole.
      await expect(market.connect(f.actors.keeper).liquidate(alice, f.assets.WBTC.address, u(22_000)))
        .to.be.revertedWithCustomError(market, "InsolventMustSeizeAll")
        .withArgs(u("22924.528302"));

      const second = await liquidateExactly(f, f.actors.keeper, alice, f.assets.WBTC, MAX);
      expect(second.capped).to.equal(true);
      expect(second.seized).to.equal(toUnits("0.5", 8));
      // ceil(0.5 x 48600 = 24300 / 1.06) = ceil(22924.5283018...) = 22924.528302
      expect(second.repaid).to.equal(u("22924.528302"));
      expect(second.fee).to.equal(u("137.547170"));
      // deficit: 27,000 - 2,476.190477 - 22,924.528302
      expect(second.deficit).to.equal(u("1599.281221"));
      const bad = await market.badDebt();
      expect(bad.deficit).to.equal(second.deficit);
      // The two fees were in the reserves: they cover that much of the deficit first.
      expect(bad.coveredByInsurance).to.equal(u("12.380953") + u("137.547170"));
      expect(bad.recourseRecorded).to.equal(0n);
      const view = await market.accountView(alice);
      expect(view.debt).to.equal(0n);
      expect(view.collateralValue).to.equal(0n);
    });
  });

  describe("rounding dust", () => {
    it("liquidate: repaying the last borrower in full writes off the rounding dust of the borrowed assets (DebtDustWrittenOff)", async () => {
      const f = await loadFixture(thinFixture);
      const { market } = f.lending!;
      const alice = f.actors.alice.address;
      await open(f, { WETH: "30" }, u(24_000)); // 96% utilisation: 64% a year
      // 1.7 years in one accrual: the borrow index more than doubles, so the virtual shares' slice of the
      // borrowed assets is over a unit.
      await time.increase(Math.round(1.7 * 365 * 86400));
      await setPrice(f.assets.WETH, 1850); // both feeds, -38%: health 0.94, full close
      await setPrice(f.assets.WBTC, 60000);
      const p = await liquidateExactly(f, f.actors.keeper, alice, f.assets.WETH, MAX);
      expect(p.health).to.be.lt(FULL_CLOSE_HEALTH);
      expect(p.repaid).to.equal(p.debt);
      expect(p.capped).to.equal(false);
      expect(p.dust, "dust written off").to.be.gt(0n);
      expect(p.deficit).to.equal(0n);
      const [, , borrowAssets, borrowShares] = await market.totals();
      expect(borrowShares).to.equal(0n);
      expect(borrowAssets, "nothing borrowed is left on the books").to.equal(0n);
      expect((await market.badDebt()).deficit).to.equal(0n);
    });
  });

  describe("oracle statuses (docs/oracle.md policy table, LIQUIDATE row)", () => {
    /** alice: 1 WBTC, 44,000 USDC borrowed; WBTC -10% to 54,000: health 0.9818. */
    async function wbtcBorrower() {
      const f = await load();
      await open(f, { WBTC: "1" }, u(44_000));
      await setPrice(f.assets.WBTC, 54000);
      await expectConservation(f);
      return f;
    }

    /** alice: 10 WETH, 24,000 USDC borrowed; WETH -6.7% to 2,800 on both feeds: health 0.9917. */
    async function wethBorrower() {
      const f = await load();
      await open(f, { WETH: "10" }, u(24_000));
      await setPrice(f.assets.WETH, 2800);
      await expectConservation(f);
      return f;
    }

    it("liquidate: goes through on an OK price", async () => {
      const f = await wbtcBorrower();
      await expectPeek(f, f.assets.WBTC, PriceStatus.OK, usd(54000));
      await liquidateExactly(f, f.actors.keeper, f.actors.alice.address, f.assets.WBTC, MAX);
    });

    it("liquidate: reverts on a stale price (PriceNotUsable STALE); repay and supply still work; fresh again, it goes through", async () => {
      const f = await wbtcBorrower();
      await time.increase(3601);
      await expectPeek(f, f.assets.WBTC, PriceStatus.STALE, usd(60000));
      await expectLiquidationRefused(f, f.assets.WBTC, PriceStatus.STALE);
      await expectRiskReducingWorks(f, f.assets.WBTC, PriceStatus.STALE);
      await expectConservation(f);
      await setPrice(f.assets.WBTC, 54000);
      await liquidateExactly(f, f.actors.keeper, f.actors.alice.address, f.assets.WBTC, MAX);
    });

    it("liquidate: reverts on an invalid price (PriceNotUsable INVALID); repay and supply still work", async () => {
      const f = await wbtcBorrower();
      await f.assets.WBTC.primaryFeed.mock!.setMode(FeedMode.REVERT);
      await expectPeek(f, f.assets.WBTC, PriceStatus.INVALID, usd(60000));
      await expectLiquidationRefused(f, f.assets.WBTC, PriceStatus.INVALID);
      await expectRiskReducingWorks(f, f.assets.WBTC, PriceStatus.INVALID);
      await f.assets.WBTC.primaryFeed.mock!.heal();
      await liquidateExactly(f, f.actors.keeper, f.actors.alice.address, f.assets.WBTC, MAX);
    });

    it("liquidate: reverts on an unconfirmed gap (SUSPECT, WAIT_FOR_CONFIRMATION); allowed once the -40% gap has persisted for the confirm window", async () => {
      const f = await load();
      const alice = f.actors.alice.address;
      await open(f, { WBTC: "1" }, u(30_000)); // health 1.6
      expect(await f.router.suspectPolicy()).to.equal(SuspectPolicy.WAIT_FOR_CONFIRMATION);
      await setPrice(f.assets.WBTC, 36000); // -40% on the only feed
      await expectPeek(f, f.assets.WBTC, PriceStatus.SUSPECT, usd(36000));
      await expectLiquidationRefused(f, f.assets.WBTC, PriceStatus.SUSPECT);
      await expectRiskReducingWorks(f, f.assets.WBTC, PriceStatus.SUSPECT);
      await expectConservation(f);

      await time.increase(CONFIRM_WINDOW);
      await expectPeek(f, f.assets.WBTC, PriceStatus.OK, usd(36000));
      await (await f.router.price(f.assets.WBTC.address)).wait(); // the read that records the confirmation
      expect((await f.router.lastGoodPrice(f.assets.WBTC.address))[0]).to.equal(usd(36000));
      const p = await liquidateExactly(f, f.actors.keeper, alice, f.assets.WBTC, MAX);
      expect(p.health).to.be.gte(FULL_CLOSE_HEALTH); // 28,800 / 30,000-ish: 0.96
      expect(p.repaid).to.equal((p.debt + 1n) / 2n);
    });

    it("liquidate: goes through at the gapped price on SUSPECT under TRUST_GAP", async () => {
      const f = await load();
      await open(f, { WBTC: "1" }, u(30_000));
      await f.router.connect(f.admin).setSuspectPolicy(SuspectPolicy.TRUST_GAP);
      await setPrice(f.assets.WBTC, 36000);
      await expectPeek(f, f.assets.WBTC, PriceStatus.SUSPECT, usd(36000));
      const p = await liquidateExactly(f, f.actors.keeper, f.actors.alice.address, f.assets.WBTC, MAX);
      expect(p.seized).to.equal((((p.repaid * 106n) / 100n) * 10n ** 20n) / usd(36000));
      // Risk-adding actions still wait for confirmation.
      await expect(f.lending!.market.connect(f.actors.alice).borrow(u(100), f.actors.alice.address))
        .to.be.revertedWithCustomError(f.lending!.market, "PriceNotUsable")
        .withArgs(f.assets.WBTC.address, Action.BORROW, PriceStatus.SUSPECT);
    });

    it("liquidate: reverts when the two feeds disagree (PriceNotUsable DISAGREE); repay and supply still work", async () => {
      const f = await wethBorrower();
      await setPrice(f.assets.WETH, 2700, "primary"); // 2,700 vs 2,800: 3.6% apart, limit 2%
      await expectPeek(f, f.assets.WETH, PriceStatus.DISAGREE, usd(2700));
      await expectLiquidationRefused(f, f.assets.WETH, PriceStatus.DISAGREE);
      await expectRiskReducingWorks(f, f.assets.WETH, PriceStatus.DISAGREE);
      await setPrice(f.assets.WETH, 2700, "fallback");
      await liquidateExactly(f, f.actors.keeper, f.actors.alice.address, f.assets.WETH, MAX);
    });

    it("liquidate: goes through on the fallback feed's price when the primary reverts (FALLBACK)", async () => {
      const f = await wethBorrower();
      await setPrice(f.assets.WETH, 2790, "fallback"); // the primary still says 2,800 (0.36% apart)
      await f.assets.WETH.primaryFeed.mock!.setMode(FeedMode.REVERT);
      await expectPeek(f, f.assets.WETH, PriceStatus.FALLBACK, usd(2790));
      const p = await liquidateExactly(f, f.actors.keeper, f.actors.alice.address, f.assets.WETH, MAX);
      expect(p.seized).to.equal((((p.repaid * 105n) / 100n) * 10n ** 30n) / usd(2790));
      await expectRiskReducingWorks(f, f.assets.WETH, PriceStatus.FALLBACK);
    });

    it("liquidate: reverts while the L2 sequencer is down (PriceNotUsable SEQUENCER_DOWN); repay and supply still work", async () => {
      const f = await loadFixture(l2LendingFixture);
      const seq = f.sequencer!.mock as MockSequencerFeed;
      await open(f, { WBTC: "1" }, u(44_000));
      await setPrice(f.assets.WBTC, 54000);
      await seq.setDown();
      await expectPeek(f, f.assets.WBTC, PriceStatus.SEQUENCER_DOWN, usd(60000));
      await expectLiquidationRefused(f, f.assets.WBTC, PriceStatus.SEQUENCER_DOWN);
      await expectRiskReducingWorks(f, f.assets.WBTC, PriceStatus.SEQUENCER_DOWN);
      await expectConservation(f);

      await seq.setUp();
      await time.increase(3601); // the grace period
      await setPrice(f.assets.WBTC, 54000);
      await expectPeek(f, f.assets.WBTC, PriceStatus.OK, usd(54000));
      await liquidateExactly(f, f.actors.keeper, f.actors.alice.address, f.assets.WBTC, MAX);
    });
  });
});
