/**
 * The loss waterfall (DESIGN.md section 5), end to end on the lending market: a borrower's deficit after a
 * liquidation goes to the market's reserves, then the insurance fund, then is socialised over the
 * suppliers, in the same transaction, every step evented and every number exact to the base unit.
 * Then the two negative-balance policies: RECOURSE (the deficit becomes the address's debt, repaid first
 * from whatever it deposits or withdraws) and PROTECTED (the account is reset to zero).
 *
 * Exactness: as in liquidate.test.ts, each measured transaction runs at a timestamp fixed in advance,
 * right after an `accrueInterest`, and a TypeScript mirror of the contract's math predicts every number.
 */
import hre, { ethers } from "hardhat";
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import { localConfig } from "../../deploy/config";
import { deploySystem, type DeployedAsset } from "../../deploy/deploySystem";
import { NegativeBalancePolicy, PriceStatus } from "../../deploy/enums";
import { toUnits, wad, WAD } from "../../deploy/units";
import { expectConservation } from "../helpers/conservation";
import { setPrice, usd } from "../helpers/feeds";
import { systemFixture, type Actors, type Fixture } from "../helpers/fixture";
import {
  VIRTUAL_SHARES,
  mulDivDown,
  mulDivUp,
  toAssetsDown,
  toAssetsUp,
  toSharesDown,
  toSharesUp,
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
const MAX = ethers.MaxUint256;

function risk(symbol: string) {
  const c = LENDING.collaterals.find((x) => x.symbol === symbol)!;
  return { lt: wad(c.liquidationThreshold), bonus: wad(c.liquidationBonus) };
}

/* MIRROR OF THE CONTRACT'S MATH */

const min = (a: bigint, b: bigint) => (a < b ? a : b);
const scale = (decimals: number) => 10n ** BigInt(decimals + 18 - BASE_DECIMALS);

const readTotals = (f: Fixture) => readMarketTotals(f.lending!.market);

function ratePerSecond(util: bigint): bigint {
  const perYear =
    util <= RATE.kink
      ? RATE.base + (RATE.slope1 * util) / RATE.kink
      : RATE.base + RATE.slope1 + (RATE.slope2 * (util - RATE.kink)) / (WAD - RATE.kink);
  return (perYear + SECONDS_PER_YEAR - 1n) / SECONDS_PER_YEAR;
}

function accrue(t: Totals, elapsed: bigint, reserveFactor = RESERVE_FACTOR): Totals {
  if (elapsed === 0n || t.borrowAssets === 0n) return { ...t };
  const util = t.borrowAssets >= t.supplyAssets ? WAD : (t.borrowAssets * WAD) / t.supplyAssets;
  const interest = mulDivUp(t.borrowAssets, ratePerSecond(util) * elapsed, WAD);
  const toReserves = (interest * reserveFactor) / WAD;
  return {
    ...t,
    borrowAssets: t.borrowAssets + interest,
    supplyAssets: t.supplyAssets + interest - toReserves,
    reserves: t.reserves + toReserves,
  };
}

/** Accrues now (time T), fixes the next transaction at T + 1, returns the totals it will see. */
async function prepare(f: Fixture, reserveFactor = RESERVE_FACTOR): Promise<Totals> {
  const { at, totals } = await accrueNow(f);
  await time.setNextBlockTimestamp(at + 1);
  return accrue(totals, 1n, reserveFactor);
}

/** Sends accrueInterest; returns its block time and the totals after it. */
async function accrueNow(f: Fixture): Promise<{ at: number; totals: Totals }> {
  const receipt = await (await f.lending!.market.accrueInterest()).wait();
  const at = (await ethers.provider.getBlock(receipt!.blockNumber))!.timestamp;
  return { at, totals: await readTotals(f) };
}

interface Holding {
  asset: DeployedAsset;
  amount: bigint;
  price: bigint;
  lt: bigint;
  bonus: bigint;
}

async function holdings(f: Fixture, account: string): Promise<Holding[]> {
  const { market } = f.lending!;
  const out: Holding[] = [];
  for (const token of await market.collateralTokens()) {
    const asset = Object.values(f.assets).find((a) => a.address === token)!;
    const amount = await market.collateralOf(account, token);
    if (amount === 0n) continue;
    const [price] = await f.router.peek(token);
    out.push({ asset, amount, price, ...risk(asset.symbol) });
  }
  return out;
}

const valueOf = (h: Holding) => mulDivDown(h.amount, h.price, scale(h.asset.decimals));

interface Outcome {
  /** The borrower's debt at the liquidation. */
  debt: bigint;
  repaid: bigint;
  seized: bigint;
  fee: bigint;
  deficit: bigint;
  fromReserves: bigint;
  fromInsurance: bigint;
  socialised: bigint;
  /** Totals as the liquidation saw them, after its accrual. */
  pre: Totals;
  /** Totals after the liquidation and the waterfall. */
  post: Totals;
}

/**
 * Liquidates everything `borrower` holds of its only collateral `asset` (the caller makes sure the
 * seizure takes it all) and checks the waterfall, number by number, against the mirror: Liquidate,
 * DeficitRealised, InsurancePaid, RecourseRecorded (RECOURSE) events; the fund's balance; the totals
 * (suppliers' haircut == socialised); the bad-debt ledger; the liquidator's and the market's tokens.
 */
async function liquidateAll(
  f: Fixture,
  liquidator: HardhatEthersSigner,
  borrower: string,
  asset: DeployedAsset,
  opts: { recourse?: boolean; reserveFactor?: bigint; protocolShare?: bigint } = {},
): Promise<Outcome> {
  const { market } = f.lending!;
  const m = await market.getAddress();
  const fund = f.insuranceFund;
  const protocolShare = opts.protocolShare ?? PROTOCOL_SHARE;
  const [h] = await holdings(f, borrower);
  expect(h.asset.address).to.equal(asset.address);
  const { borrowShares } = await market.accountView(borrower);
  const fundBefore = await fund.totalAssets();
  const badBefore = await market.badDebt();
  const recourseBefore = await fund.recourseDebt(borrower);
  const coll = await ethers.getContractAt("IERC20Metadata", asset.address);
  const liqUsdcBefore = await f.base.erc20.balanceOf(liquidator.address);
  const liqCollBefore = await coll.balanceOf(liquidator.address);
  const mktUsdcBefore = await f.base.erc20.balanceOf(m);

  const pre = await prepare(f, opts.reserveFactor ?? RESERVE_FACTOR);
  // _liquidation / _seizure / _repayShares, for a seizure capped at the whole balance.
  const debt = toAssetsUp(borrowShares, pre.borrowAssets, pre.borrowShares);
  const capacity = (valueOf(h) * h.lt) / WAD;
  expect(capacity, "liquidatable").to.be.lt(debt);
  const health = (capacity * WAD) / debt;
  const maxClose =
    debt <= SMALL_POSITION || health < FULL_CLOSE_HEALTH ? debt : mulDivUp(debt, WAD / 2n, WAD);
  const bonusFactor = WAD + h.bonus;
  const wanted = mulDivDown(mulDivDown(maxClose, bonusFactor, WAD), scale(h.asset.decimals), h.price);
  expect(wanted, "the seizure is capped at the balance").to.be.gt(h.amount);
  const seized = h.amount;
  const repaid = mulDivUp(mulDivUp(seized, h.price, scale(h.asset.decimals)), WAD, bonusFactor);
  expect(repaid).to.be.lt(debt);
  const shares = toSharesDown(repaid, pre.borrowAssets, pre.borrowShares);
  const fee = mulDivUp(mulDivUp(repaid, h.bonus, WAD), protocolShare, WAD);
  const afterRepay: Totals = {
    ...pre,
    borrowAssets: pre.borrowAssets - repaid,
    borrowShares: pre.borrowShares - shares,
    reserves: pre.reserves + fee,
  };
  const sharesLeft = borrowShares - shares;
  expect(sharesLeft).to.be.gt(0n);
  // _realiseDeficit (the last borrower's deficit takes all that is borrowed, the rounding dust with it)
  // and LossWaterfall.run.
  const deficit =
    sharesLeft === afterRepay.borrowShares
      ? afterRepay.borrowAssets
      : min(
          toAssetsUp(sharesLeft, afterRepay.borrowAssets, afterRepay.borrowShares),
          afterRepay.borrowAssets,
        );
  const fromReserves = min(deficit, afterRepay.reserves);
  const rest = deficit - fromReserves;
  const fromInsurance = min(rest, fundBefore);
  const socialised = rest - fromInsurance;
  const recourse = opts.recourse ? deficit : 0n;
  const post: Totals = {
    supplyAssets: afterRepay.supplyAssets - socialised,
    supplyShares: afterRepay.supplyShares,
    borrowAssets: afterRepay.borrowAssets - deficit,
    borrowShares: afterRepay.borrowShares - sharesLeft,
    reserves: afterRepay.reserves - fromReserves,
  };

  const tx = await market.connect(liquidator).liquidate(borrower, asset.address, MAX);
  await expect(tx)
    .to.emit(market, "Liquidate")
    .withArgs(liquidator.address, borrower, asset.address, repaid, seized, fee);
  await expect(tx)
    .to.emit(market, "DeficitRealised")
    .withArgs(borrower, deficit, fromReserves, fromInsurance, socialised, recourse);
  if (rest > 0n) await expect(tx).to.emit(fund, "InsurancePaid").withArgs(m, rest, fromInsurance);
  else await expect(tx).not.to.emit(fund, "InsurancePaid");
  if (opts.recourse) await expect(tx).to.emit(fund, "RecourseRecorded").withArgs(m, borrower, deficit);
  else await expect(tx).not.to.emit(fund, "RecourseRecorded");

  expect(await readTotals(f), "totals after the waterfall").to.deep.equal(post);
  expect(post.supplyAssets, "suppliers haircut by exactly the socialised amount").to.equal(
    pre.supplyAssets - socialised,
  );
  expect(await fund.totalAssets(), "fund pays its cover").to.equal(fundBefore - fromInsurance);
  const bad = await market.badDebt();
  expect(bad.deficit).to.equal(badBefore.deficit + deficit);
  expect(bad.coveredByInsurance).to.equal(badBefore.coveredByInsurance + fromReserves + fromInsurance);
  expect(bad.socialised).to.equal(badBefore.socialised + socialised);
  expect(bad.recourseRecorded).to.equal(badBefore.recourseRecorded + recourse);
  expect(await fund.recourseDebt(borrower)).to.equal(recourseBefore + recourse);
  expect(await f.base.erc20.balanceOf(liquidator.address)).to.equal(liqUsdcBefore - repaid - fee);
  expect(await coll.balanceOf(liquidator.address)).to.equal(liqCollBefore + seized);
  expect(await f.base.erc20.balanceOf(m)).to.equal(mktUsdcBefore + repaid + fee + fromInsurance);
  expect(await market.collateralOf(borrower, asset.address)).to.equal(0n);
  const view = await market.accountView(borrower);
  expect(view.borrowShares).to.equal(0n);
  expect(view.debt).to.equal(0n);
  return { debt, repaid, seized, fee, deficit, fromReserves, fromInsurance, socialised, pre, post };
}

/* FIXTURES AND ACTORS */

type F = Fixture & { bob: HardhatEthersSigner; carol: HardhatEthersSigner };

async function actors(): Promise<Actors> {
  const [admin, alice, keeper, stranger] = await ethers.getSigners();
  return { admin, alice, keeper, stranger };
}

/** Everyone funded and approved; nothing supplied yet. */
async function seed(system: Fixture): Promise<F> {
  const signers = await ethers.getSigners();
  const f: F = { ...system, bob: signers[4], carol: signers[5] };
  const m = await f.lending!.market.getAddress();
  const fundAddress = await f.insuranceFund.getAddress();
  const usdc = f.base.token!;
  const { alice, keeper, stranger } = f.actors;
  for (const who of [f.bob, f.carol, keeper, stranger, alice]) {
    await usdc.mint(who.address, u(10_000_000));
    await usdc.connect(who).approve(m, MAX);
    await usdc.connect(who).approve(fundAddress, MAX);
  }
  for (const sym of ["WETH", "WBTC"]) {
    const token = f.assets[sym].token!;
    await token.mint(alice.address, toUnits(100, f.assets[sym].decimals));
    await token.connect(alice).approve(m, MAX);
  }
  return f;
}

async function protectedFixture(): Promise<F> {
  return seed(await systemFixture());
}

async function recourseFixture(): Promise<F> {
  const config = localConfig({
    lending: { ...localConfig().lending!, negativeBalancePolicy: NegativeBalancePolicy.RECOURSE },
  });
  return seed({ ...(await deploySystem(hre, config)), actors: await actors() });
}

/** Pushes fresh rounds at the current prices on every feed (after a jump in time). */
async function refreshFeeds(f: Fixture) {
  for (const asset of Object.values(f.assets)) {
    await asset.primaryFeed.mock!.setPrice(await asset.primaryFeed.mock!.marketAnswer());
    if (asset.fallbackFeed)
      await asset.fallbackFeed.mock!.setPrice(await asset.fallbackFeed.mock!.marketAnswer());
  }
}

/**
 * The gap scenario: bob supplies 60,000 and carol 40,000 USDC (alice `aliceSupply`); alice posts 10 WETH
 * and borrows 24,000 USDC (health 1.0625); 30 days pass (reserves build up); the fund holds `fund`. Then
 * WETH gaps -50% on both feeds in one update: collateral 15,000 < debt.
 */
async function gapScenario(f: F, fund: bigint, aliceSupply = 0n) {
  const { market } = f.lending!;
  const { alice, keeper } = f.actors;
  const accounts = [alice.address, f.bob.address, f.carol.address];
  await market.connect(f.bob).supply(u(60_000), f.bob.address);
  await expectConservation(f, accounts);
  await market.connect(f.carol).supply(u(40_000), f.carol.address);
  await expectConservation(f, accounts);
  if (aliceSupply > 0n) {
    await market.connect(alice).supply(aliceSupply, alice.address);
    await expectConservation(f, accounts);
  }
  await market.connect(alice).supplyCollateral(f.assets.WETH.address, toUnits(10, 18), alice.address);
  await expectConservation(f, accounts);
  await market.connect(alice).borrow(u(24_000), alice.address);
  await expectConservation(f, accounts);
  await time.increase(30 * 86400);
  await refreshFeeds(f);
  await expectConservation(f, accounts);
  if (fund > 0n) {
    await f.insuranceFund.connect(keeper).topUp(fund);
    await expectConservation(f, accounts);
  }

  const before = await market.accountView(alice.address);
  expect(before.health, "healthy before the gap").to.be.gte(WAD);
  await setPrice(f.assets.WETH, 1500); // -50% on both feeds: one update, confirmed by the fallback at once
  const [p, s] = await f.router.peek(f.assets.WETH.address);
  expect(s).to.equal(PriceStatus.OK);
  expect(p).to.equal(usd(1500));
  const after = await market.accountView(alice.address);
  expect(after.collateralValue, "collateral worth 15,000").to.equal(u(15_000));
  expect(after.collateralValue, "collateral < debt").to.be.lt(after.debt);
  await expectConservation(f, accounts);
  return accounts;
}

/** withdraw(max) pays exactly toAssetsDown(shares) at the totals of the moment (after its accrual). */
async function withdrawAll(f: F, who: HardhatEthersSigner): Promise<bigint> {
  const { market } = f.lending!;
  const { supplyShares } = await market.accountView(who.address);
  const t = await prepare(f);
  const assets = toAssetsDown(supplyShares, t.supplyAssets, t.supplyShares);
  const before = await f.base.erc20.balanceOf(who.address);
  await expect(market.connect(who).withdraw(MAX, who.address))
    .to.emit(market, "Withdraw")
    .withArgs(who.address, who.address, assets, supplyShares);
  expect(await f.base.erc20.balanceOf(who.address)).to.equal(before + assets);
  expect(await readTotals(f)).to.deep.equal({
    ...t,
    supplyAssets: t.supplyAssets - assets,
    supplyShares: t.supplyShares - supplyShares,
  });
  return assets;
}

/* TESTS */

describe("loss waterfall (lending)", () => {
  it("waterfall: a -50% gap in one update: everything seized, deficit exact, reserves then the fund pay, suppliers haircut pro rata by the rest", async () => {
    const f = await loadFixture(protectedFixture);
    const { market } = f.lending!;
    const accounts = await gapScenario(f, u(2_000));
    const bobShares = (await market.accountView(f.bob.address)).supplyShares;
    const carolShares = (await market.accountView(f.carol.address)).supplyShares;

    const o = await liquidateAll(f, f.actors.keeper, f.actors.alice.address, f.assets.WETH);
    await expectConservation(f, accounts);

    // The seizure: all 10 WETH for ceil(15,000 / 1.05) = 14,285.714286 plus the fee
    // ceil(ceil(14,285.714286 x 0.05) x 0.1) = ceil(714.285715 x 0.1) = 71.428572.
    expect(o.seized).to.equal(toUnits(10, 18));
    expect(o.repaid).to.equal(u("14285.714286"));
    expect(o.fee).to.equal(u("71.428572"));
    // The deficit is what the repayment left of the debt (alice is the only borrower: all of the borrows).
    expect(o.deficit).to.equal(o.pre.borrowAssets - o.repaid);
    expect(o.deficit).to.be.gte(o.debt - o.repaid);
    expect(o.deficit).to.be.gt(u(9_714)).and.lt(u(9_800));
    // Order: reserves (interest share + the fee) first, then the whole fund, then the suppliers.
    expect(o.fromReserves).to.equal(o.pre.reserves + o.fee);
    expect(o.fromInsurance).to.equal(u(2_000));
    expect(o.socialised).to.equal(o.deficit - o.fromReserves - u(2_000));
    expect(o.post.reserves).to.equal(0n);
    expect(await f.insuranceFund.totalAssets()).to.equal(0n);
    expect(o.post.borrowAssets, "no borrow left on the books").to.equal(0n);
    expect(o.post.borrowShares).to.equal(0n);
    const bad = await market.badDebt();
    expect(bad.deficit).to.equal(o.deficit);
    expect(bad.coveredByInsurance).to.equal(o.fromReserves + o.fromInsurance);
    expect(bad.socialised).to.equal(o.socialised);
    expect(bad.recourseRecorded).to.equal(0n);

    // Suppliers: each gets exactly its shares' value at the new totals, and loses its pro-rata part.
    const bobBefore = toAssetsDown(bobShares, o.pre.supplyAssets, o.pre.supplyShares);
    const carolBefore = toAssetsDown(carolShares, o.pre.supplyAssets, o.pre.supplyShares);
    const bobGot = await withdrawAll(f, f.bob);
    await expectConservation(f, accounts);
    const carolGot = await withdrawAll(f, f.carol);
    await expectConservation(f, accounts);
    expect(bobGot).to.equal(toAssetsDown(bobShares, o.post.supplyAssets, o.post.supplyShares));
    const denominator = o.pre.supplyShares + VIRTUAL_SHARES;
    const bobLoss = bobBefore - bobGot;
    const carolLoss = carolBefore - carolGot;
    const bobFair = (o.socialised * bobShares) / denominator;
    const carolFair = (o.socialised * carolShares) / denominator;
    expect(bobLoss)
      .to.be.gte(bobFair)
      .and.lte(bobFair + 1n);
    // carol withdraws after bob, whose rounding down leaves her a unit at most
    expect(carolLoss)
      .to.be.gte(carolFair - 1n)
      .and.lte(carolFair + 1n);
    expect(bobLoss + carolLoss)
      .to.be.lte(o.socialised)
      .and.gte(o.socialised - 2n);
  });

  it("waterfall: an insurance fund bigger than the deficit covers it all; nothing is socialised", async () => {
    const f = await loadFixture(protectedFixture);
    const { market } = f.lending!;
    const accounts = await gapScenario(f, u(50_000));
    const bobShares = (await market.accountView(f.bob.address)).supplyShares;
    const o = await liquidateAll(f, f.actors.keeper, f.actors.alice.address, f.assets.WETH);
    await expectConservation(f, accounts);
    expect(o.socialised).to.equal(0n);
    expect(o.fromReserves).to.equal(o.pre.reserves + o.fee);
    expect(o.fromInsurance).to.equal(o.deficit - o.fromReserves);
    expect(await f.insuranceFund.totalAssets()).to.equal(u(50_000) - o.fromInsurance);
    expect(o.post.supplyAssets, "suppliers untouched").to.equal(o.pre.supplyAssets);
    expect((await market.badDebt()).socialised).to.equal(0n);
    // Bob gets his 60,000 plus his interest, without a haircut.
    const got = await withdrawAll(f, f.bob);
    expect(got).to.equal(toAssetsDown(bobShares, o.pre.supplyAssets, o.pre.supplyShares));
    expect(got).to.be.gt(u(60_000));
    await expectConservation(f, accounts);
  });

  it("waterfall: an empty fund and no reserves: the whole deficit is socialised", async () => {
    const f = await loadFixture(protectedFixture);
    const { market } = f.lending!;
    // No reserve factor and no protocol fee: nothing is held back for insurance.
    const params = await market.params();
    await market.connect(f.admin).setMarketParams({
      borrowCap: params.borrowCap,
      minBorrow: params.minBorrow,
      reserveFactor: 0n,
      protocolShare: 0n,
      smallPosition: params.smallPosition,
      marginCallHealth: params.marginCallHealth,
    });
    const accounts = await gapScenario(f, 0n);
    expect(await f.insuranceFund.totalAssets()).to.equal(0n);
    const o = await liquidateAll(f, f.actors.keeper, f.actors.alice.address, f.assets.WETH, {
      reserveFactor: 0n,
      protocolShare: 0n,
    });
    await expectConservation(f, accounts);
    expect(o.fee).to.equal(0n);
    expect(o.pre.reserves).to.equal(0n);
    expect(o.fromReserves).to.equal(0n);
    expect(o.fromInsurance).to.equal(0n);
    expect(o.socialised).to.equal(o.deficit);
    expect(o.post.supplyAssets).to.equal(o.pre.supplyAssets - o.deficit);
    const bobShares = (await market.accountView(f.bob.address)).supplyShares;
    const got = await withdrawAll(f, f.bob);
    expect(got).to.equal(toAssetsDown(bobShares, o.post.supplyAssets, o.post.supplyShares));
    await expectConservation(f, accounts);
  });

  /**
   * bob supplies 24,000 and carol 1,000; alice borrows 24,000 against 10 WETH (at the LTV, 96%
   * utilisation); the fund holds 1,000; two years pass with the feeds kept fresh at the same prices; alice
   * is liquidated.
   */
  async function interestScenario() {
    const f = await loadFixture(protectedFixture);
    const { market } = f.lending!;
    const { alice, keeper } = f.actors;
    const accounts = [alice.address, f.bob.address, f.carol.address];
    await market.connect(f.bob).supply(u(24_000), f.bob.address);
    await expectConservation(f, accounts);
    await market.connect(f.carol).supply(u(1_000), f.carol.address);
    await expectConservation(f, accounts);
    await market.connect(alice).supplyCollateral(f.assets.WETH.address, toUnits(10, 18), alice.address);
    await expectConservation(f, accounts);
    await market.connect(alice).borrow(u(24_000), alice.address);
    await expectConservation(f, accounts);
    await f.insuranceFund.connect(keeper).topUp(u(1_000));
    await expectConservation(f, accounts);
    expect(await market.utilisation()).to.equal(wad("0.96"));

    const start = await accrueNow(f);
    await time.increase(2 * 365 * 86400);
    await setPrice(f.assets.WETH, 3000); // the same price, fresh
    await setPrice(f.assets.WBTC, 60000);
    const end = await accrueNow(f);
    // One accrual over the whole period: simple interest at the 96%-utilisation rate.
    expect(end.totals).to.deep.equal(accrue(start.totals, BigInt(end.at - start.at)));
    // 0.04 + 0.75 x 0.16 / 0.2 = 64% a year, for two years: about 30,720 of interest.
    expect(end.totals.borrowAssets - start.totals.borrowAssets).to.be.closeTo(u(30_720), u(5));
    await expectConservation(f, accounts);

    const view = await market.accountView(alice.address);
    expect(view.collateralValue).to.equal(u(30_000)); // no price move
    expect(view.debt, "under water on interest alone").to.be.gt(view.collateralValue);
    expect(view.pricesTrusted).to.equal(true);

    const bobShares = (await market.accountView(f.bob.address)).supplyShares;
    const o = await liquidateAll(f, keeper, alice.address, f.assets.WETH);
    await expectConservation(f, accounts);
    return { f, o, accounts, bobShares };
  }

  it("waterfall: interest alone, over two idle years at high utilisation, takes a borrower under water; the deficit goes down the waterfall", async () => {
    const { f, o, accounts, bobShares } = await interestScenario();
    // ceil(30,000 / 1.05) = 28,571.428572
    expect(o.repaid).to.equal(u("28571.428572"));
    expect(o.deficit).to.be.gt(u(26_000));
    expect(o.fromReserves).to.equal(o.pre.reserves + o.fee);
    expect(o.fromInsurance).to.equal(u(1_000));
    expect(o.socialised).to.equal(o.deficit - o.fromReserves - u(1_000));
    const got = await withdrawAll(f, f.bob);
    expect(got, "bob is haircut").to.be.lt(toAssetsDown(bobShares, o.pre.supplyAssets, o.pre.supplyShares));
    expect(got).to.be.closeTo(toAssetsDown(bobShares, o.post.supplyAssets, o.post.supplyShares), 2n);
    await expectConservation(f, accounts);
  });

  // Regression: _realiseDeficit used to write off min(toAssetsUp(shares), borrowAssets), which left the
  // virtual shares' slice of borrowAssets (here 1 unit, the borrow index having more than doubled) on the
  // books with zero borrow shares: a borrow owed by nobody, on which _accrue kept charging interest (rounded
  // up: a unit per accrual) for the suppliers, and which _cash deducted, so that the last supplier's
  // withdraw(max) reverted with InsufficientLiquidity.
  it("waterfall: once the last borrower's deficit is realised, no borrow is left on the books, suppliers earn nothing more and the last one can withdraw everything", async () => {
    const { f, accounts } = await interestScenario();
    const { market } = f.lending!;
    const problems: string[] = [];
    const t0 = await readTotals(f);
    expect(t0.borrowShares).to.equal(0n);
    if (t0.borrowAssets !== 0n) problems.push(`borrowAssets ${t0.borrowAssets} left with zero borrow shares`);
    for (let i = 0; i < 3; i++) {
      await time.increase(3600);
      await market.accrueInterest();
      await expectConservation(f, accounts);
    }
    const t1 = await readTotals(f);
    if (t1.supplyAssets !== t0.supplyAssets)
      problems.push(`supplyAssets grew by ${t1.supplyAssets - t0.supplyAssets} with no borrower`);
    await withdrawAll(f, f.bob);
    await expectConservation(f, accounts);
    try {
      await market.connect(f.carol).withdraw(MAX, f.carol.address);
    } catch (e) {
      problems.push(`the last supplier's withdraw(max) reverts: ${(e as Error).message.split("\n")[0]}`);
    }
    await expectConservation(f, accounts);
    expect(problems).to.deep.equal([]);
  });

  describe("negative-balance policy", () => {
    it("RECOURSE: the deficit becomes alice's debt; she can borrow and withdraw collateral again only once it is repaid by her deposits, withdrawals and a third party", async () => {
      const f = await loadFixture(recourseFixture);
      const { market } = f.lending!;
      const fund = f.insuranceFund;
      const m = await market.getAddress();
      const { alice, keeper } = f.actors;
      const wbtc = f.assets.WBTC;
      expect(await market.negativeBalancePolicy()).to.equal(NegativeBalancePolicy.RECOURSE);
      const accounts = await gapScenario(f, u(2_000), u(5_000));

      const o = await liquidateAll(f, keeper, alice.address, f.assets.WETH, { recourse: true });
      await expectConservation(f, accounts);
      const owed = o.deficit;
      expect(await fund.recourseDebt(alice.address)).to.equal(owed);
      expect(await fund.totalRecourseDebt()).to.equal(owed);
      expect((await market.badDebt()).recourseRecorded).to.equal(owed);
      // The waterfall still covered the deficit at once.
      expect(o.fromReserves + o.fromInsurance + o.socialised).to.equal(owed);

      // Nothing new while she owes.
      await expect(market.connect(alice).borrow(u(100), alice.address))
        .to.be.revertedWithCustomError(market, "RecourseDebtOutstanding")
        .withArgs(alice.address, owed);
      await market.connect(alice).supplyCollateral(wbtc.address, toUnits(1, 8), alice.address);
      await expectConservation(f, accounts);
      await expect(market.connect(alice).withdrawCollateral(wbtc.address, toUnits("0.1", 8), alice.address))
        .to.be.revertedWithCustomError(market, "RecourseDebtOutstanding")
        .withArgs(alice.address, owed);
      await expect(market.connect(alice).borrow(u(100), alice.address))
        .to.be.revertedWithCustomError(market, "RecourseDebtOutstanding")
        .withArgs(alice.address, owed);

      // Her earlier supply (5,000, haircut) goes to the debt first: she receives nothing.
      let t = await readTotals(f);
      const aliceShares = (await market.accountView(alice.address)).supplyShares;
      const proceeds = toAssetsDown(aliceShares, t.supplyAssets, t.supplyShares);
      expect(proceeds).to.be.lt(owed);
      let aliceUsdc = await f.base.erc20.balanceOf(alice.address);
      let fundBalance = await fund.totalAssets();
      let tx = await market.connect(alice).withdraw(MAX, alice.address);
      await expect(tx)
        .to.emit(market, "Withdraw")
        .withArgs(alice.address, alice.address, proceeds, aliceShares);
      await expect(tx)
        .to.emit(fund, "RecourseRepaid")
        .withArgs(alice.address, m, proceeds, owed - proceeds);
      expect(await f.base.erc20.balanceOf(alice.address)).to.equal(aliceUsdc);
      expect(await fund.totalAssets()).to.equal(fundBalance + proceeds);
      let stillOwed = owed - proceeds;
      expect(await fund.recourseDebt(alice.address)).to.equal(stillOwed);
      expect(await fund.totalRecovered()).to.equal(proceeds);
      await expectConservation(f, accounts);

      // A deposit smaller than the debt all goes to the debt: no shares.
      fundBalance = await fund.totalAssets();
      t = await readTotals(f);
      tx = await market.connect(alice).supply(u(1_000), alice.address);
      await expect(tx)
        .to.emit(fund, "RecourseRepaid")
        .withArgs(alice.address, m, u(1_000), stillOwed - u(1_000));
      await expect(tx).not.to.emit(market, "Supply");
      stillOwed -= u(1_000);
      expect(await fund.totalAssets()).to.equal(fundBalance + u(1_000));
      expect((await market.accountView(alice.address)).supplyShares).to.equal(0n);
      expect(await readTotals(f)).to.deep.equal(t);
      expect(await f.base.erc20.balanceOf(alice.address)).to.equal(aliceUsdc - u(1_000));
      await expectConservation(f, accounts);

      // A third party repays part of it directly.
      fundBalance = await fund.totalAssets();
      const keeperUsdc = await f.base.erc20.balanceOf(keeper.address);
      await expect(fund.connect(keeper).repayRecourse(alice.address, u(2_000)))
        .to.emit(fund, "RecourseRepaid")
        .withArgs(alice.address, keeper.address, u(2_000), stillOwed - u(2_000));
      stillOwed -= u(2_000);
      expect(await fund.totalAssets()).to.equal(fundBalance + u(2_000));
      expect(await f.base.erc20.balanceOf(keeper.address)).to.equal(keeperUsdc - u(2_000));
      expect(await fund.recourseDebt(alice.address)).to.equal(stillOwed);
      await expectConservation(f, accounts);
      await expect(market.connect(alice).borrow(u(100), alice.address))
        .to.be.revertedWithCustomError(market, "RecourseDebtOutstanding")
        .withArgs(alice.address, stillOwed);

      // A deposit larger than the rest: the debt first, only the rest becomes shares.
      fundBalance = await fund.totalAssets();
      aliceUsdc = await f.base.erc20.balanceOf(alice.address);
      t = await readTotals(f);
      const extra = u("500.5");
      const shares = toSharesDown(extra, t.supplyAssets, t.supplyShares);
      tx = await market.connect(alice).supply(stillOwed + extra, alice.address);
      await expect(tx).to.emit(fund, "RecourseRepaid").withArgs(alice.address, m, stillOwed, 0n);
      await expect(tx).to.emit(market, "Supply").withArgs(alice.address, alice.address, extra, shares);
      expect(await fund.totalAssets()).to.equal(fundBalance + stillOwed);
      expect(await f.base.erc20.balanceOf(alice.address)).to.equal(aliceUsdc - stillOwed - extra);
      expect((await market.accountView(alice.address)).supplyShares).to.equal(shares);
      expect(await readTotals(f)).to.deep.equal({
        ...t,
        supplyAssets: t.supplyAssets + extra,
        supplyShares: t.supplyShares + shares,
      });
      expect(await fund.recourseDebt(alice.address)).to.equal(0n);
      expect(await fund.totalRecourseDebt()).to.equal(0n);
      expect(await fund.totalRecovered()).to.equal(owed);
      await expectConservation(f, accounts);

      // Debt cleared: she borrows and withdraws collateral again.
      await expect(market.connect(alice).borrow(u(10_000), alice.address))
        .to.emit(market, "Borrow")
        .withArgs(alice.address, alice.address, u(10_000), (v: bigint) => v > 0n);
      await expectConservation(f, accounts);
      await expect(market.connect(alice).withdrawCollateral(wbtc.address, toUnits("0.1", 8), alice.address))
        .to.emit(market, "WithdrawCollateral")
        .withArgs(alice.address, alice.address, wbtc.address, toUnits("0.1", 8));
      await expectConservation(f, accounts);
      // Nothing owed: a repayRecourse pulls nothing.
      const before = await fund.totalAssets();
      await fund.connect(keeper).repayRecourse(alice.address, u(1));
      expect(await fund.totalAssets()).to.equal(before);
      await expectConservation(f, accounts);
    });

    it("RECOURSE: a withdrawal worth more than the debt repays all of it and sends only the rest, to any receiver", async () => {
      const f = await loadFixture(recourseFixture);
      const { market } = f.lending!;
      const fund = f.insuranceFund;
      const m = await market.getAddress();
      const { alice, keeper, stranger } = f.actors;
      const accounts = await gapScenario(f, u(2_000), u(20_000));
      const o = await liquidateAll(f, keeper, alice.address, f.assets.WETH, { recourse: true });
      await expectConservation(f, accounts);
      const owed = o.deficit;
      expect(await fund.recourseDebt(alice.address)).to.equal(owed);

      const amount = u(15_000);
      expect(amount).to.be.gt(owed);
      const t = await readTotals(f); // no borrows left: no interest
      const shares = toSharesUp(amount, t.supplyAssets, t.supplyShares);
      const sharesBefore = (await market.accountView(alice.address)).supplyShares;
      const fundBefore = await fund.totalAssets();
      const strangerBefore = await f.base.erc20.balanceOf(stranger.address);
      const aliceBefore = await f.base.erc20.balanceOf(alice.address);
      const tx = await market.connect(alice).withdraw(amount, stranger.address);
      await expect(tx).to.emit(market, "Withdraw").withArgs(alice.address, stranger.address, amount, shares);
      await expect(tx).to.emit(fund, "RecourseRepaid").withArgs(alice.address, m, owed, 0n);
      expect(await f.base.erc20.balanceOf(stranger.address)).to.equal(strangerBefore + amount - owed);
      expect(await f.base.erc20.balanceOf(alice.address)).to.equal(aliceBefore);
      expect(await fund.totalAssets()).to.equal(fundBefore + owed);
      expect(await fund.recourseDebt(alice.address)).to.equal(0n);
      expect((await market.accountView(alice.address)).supplyShares).to.equal(sharesBefore - shares);
      await expectConservation(f, accounts);
    });

    it("PROTECTED: after the deficit alice owes nothing, has zero debt and acts normally", async () => {
      const f = await loadFixture(protectedFixture);
      const { market } = f.lending!;
      const fund = f.insuranceFund;
      const { alice, keeper } = f.actors;
      const wbtc = f.assets.WBTC;
      expect(await market.negativeBalancePolicy()).to.equal(NegativeBalancePolicy.PROTECTED);
      const accounts = await gapScenario(f, u(2_000), u(5_000));

      const o = await liquidateAll(f, keeper, alice.address, f.assets.WETH);
      await expectConservation(f, accounts);
      expect(o.deficit).to.be.gt(0n);
      expect(await fund.recourseDebt(alice.address)).to.equal(0n);
      expect(await fund.totalRecourseDebt()).to.equal(0n);
      expect((await market.badDebt()).recourseRecorded).to.equal(0n);
      const view = await market.accountView(alice.address);
      expect(view.debt).to.equal(0n);
      expect(view.borrowShares).to.equal(0n);
      expect(view.collateralValue).to.equal(0n);

      // She supplies: all of it becomes shares (no RecourseRepaid).
      let t = await readTotals(f);
      const sharesBefore = view.supplyShares;
      const shares = toSharesDown(u(1_000), t.supplyAssets, t.supplyShares);
      let tx = await market.connect(alice).supply(u(1_000), alice.address);
      await expect(tx).to.emit(market, "Supply").withArgs(alice.address, alice.address, u(1_000), shares);
      await expect(tx).not.to.emit(fund, "RecourseRepaid");
      expect((await market.accountView(alice.address)).supplyShares).to.equal(sharesBefore + shares);
      await expectConservation(f, accounts);

      // She posts collateral, borrows, withdraws some collateral.
      await market.connect(alice).supplyCollateral(wbtc.address, toUnits(1, 8), alice.address);
      await expectConservation(f, accounts);
      await expect(market.connect(alice).borrow(u(10_000), alice.address))
        .to.emit(market, "Borrow")
        .withArgs(alice.address, alice.address, u(10_000), (v: bigint) => v > 0n);
      await expectConservation(f, accounts);
      await expect(market.connect(alice).withdrawCollateral(wbtc.address, toUnits("0.1", 8), alice.address))
        .to.emit(market, "WithdrawCollateral")
        .withArgs(alice.address, alice.address, wbtc.address, toUnits("0.1", 8));
      await expectConservation(f, accounts);

      // Her earlier supply (haircut) comes back to her, not to a debt.
      const balance = await f.base.erc20.balanceOf(alice.address);
      t = await prepare(f);
      const { supplyShares } = await market.accountView(alice.address);
      const assets = toAssetsDown(supplyShares, t.supplyAssets, t.supplyShares);
      tx = await market.connect(alice).withdraw(MAX, alice.address);
      await expect(tx)
        .to.emit(market, "Withdraw")
        .withArgs(alice.address, alice.address, assets, supplyShares);
      await expect(tx).not.to.emit(fund, "RecourseRepaid");
      expect(await f.base.erc20.balanceOf(alice.address)).to.equal(balance + assets);
      await expectConservation(f, accounts);
    });
  });
});
