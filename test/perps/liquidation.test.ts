/**
 * PerpMarket.liquidate, end to end: the entry point (who may be liquidated, at which price status), the
 * accounting of a liquidation to the base unit (positions closed at the oracle price, the liquidation fee
 * split keeper / insurance, the deficit down the waterfall: pending insurance fees, the insurance fund, the
 * LP pool), two gap scenarios (a -50% gap on a book of 20x longs, a +300% squeeze on a book of 10x shorts),
 * the oracle policy table during an open book, and the two negative-balance policies.
 *
 * Exactness: a TypeScript model of the engine (`Book`) mirrors every trade and liquidation with the
 * formulas of test/helpers/perps.ts (fill price, fee, funding, position value, margins). Every measured
 * transaction runs at a timestamp fixed in advance, so that the funding it accrues is known; the model
 * predicts each event's arguments, and after every step the model and the chain are compared field by
 * field (margins, positions, open interest, funding index, pool, pending insurance, bad-debt ledger,
 * insurance fund balance, recourse debts).
 */
import { ethers } from "hardhat";
import { expect } from "chai";
import { loadFixture, takeSnapshot, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionResponse } from "ethers";

import { localPerpsConfig } from "../../deploy/config";
import { Action, FeedMode, NegativeBalancePolicy, PriceStatus, SuspectPolicy } from "../../deploy/enums";
import { setPrice } from "../helpers/feeds";
import {
  accrue,
  deployPerps,
  expectPerpBooks,
  fillPrice,
  fundingRate,
  loadPerps,
  loadRecoursePerps,
  floorDiv,
  margins,
  paramsOf,
  positionValue,
  px,
  setEth,
  size,
  tradeFee,
  u,
  wMulDown,
  USD_PER_UNIT,
  WAD,
  type MarketParams,
  type PerpFixture,
} from "../helpers/perps";

const MAX = ethers.MaxUint256;
const min = (a: bigint, b: bigint) => (a < b ? a : b);

/* THE MODEL */

interface MarketModel {
  id: number;
  asset: string;
  params: MarketParams;
  longOI: bigint;
  shortOI: bigint;
  index: bigint;
  last: bigint;
  /** The price the next transaction reads for this market (what the test set on the feeds). */
  price: bigint;
  /** Delisted: settles at `price` (the final price), accrues no more funding. */
  delisted: boolean;
}

interface Pos {
  size: bigint;
  entry: bigint;
  index: bigint;
}

interface TradeResult {
  fill: bigint;
  fee: bigint;
  realised: bigint;
  newSize: bigint;
}

interface Liquidated {
  id: number;
  size: bigint;
  price: bigint;
  realised: bigint;
}

interface LiquidationResult {
  liquidatable: boolean;
  equity: bigint;
  mm: bigint;
  positions: Liquidated[];
  notional: bigint;
  liqFee: bigint;
  keeperFee: bigint;
  insuranceFee: bigint;
  deficit: bigint;
  fromReserves: bigint;
  /** What the engine asked the fund for (deficit less reserves). */
  requested: bigint;
  fromInsurance: bigint;
  socialised: bigint;
  recourse: bigint;
  marginLeft: bigint;
}

/** A mirror of PerpMarket's books, advanced transaction by transaction. */
class Book {
  markets: MarketModel[] = [];
  pos = new Map<string, Pos>();
  margin = new Map<string, bigint>();
  debt = new Map<string, bigint>();
  capital = 0n;
  pending = 0n;
  fund = 0n;
  bad = { deficit: 0n, covered: 0n, socialised: 0n, recourse: 0n };
  recourse = false;
  keeperShare = 0n;
  insuranceShare = 0n;
  accounts: string[] = [];
  /** FundingAccrued events (market id, rate, index) of the transaction being modelled. */
  accruals: [bigint, bigint, bigint][] = [];

  /** Reads the engine's state; every account must be flat. */
  static async sync(f: PerpFixture): Promise<Book> {
    const b = new Book();
    const { alice, bob, carol, dave, stranger } = f.actors;
    b.accounts = [alice, bob, carol, dave, stranger].map((s) => s.address);
    b.recourse = (await f.perp.negativeBalancePolicy()) === BigInt(NegativeBalancePolicy.RECOURSE);
    const g = await f.perp.globalParams();
    b.keeperShare = g.keeperLiquidationShare;
    b.insuranceShare = g.insuranceFeeShare;
    const count = Number(await f.perp.marketCount());
    for (let id = 0; id < count; id++) {
      const v = await f.perp.marketView(id);
      expect(v.longOI + v.shortOI, "sync: no open interest").to.equal(0n);
      const p = v.params;
      b.markets.push({
        id,
        asset: v.asset,
        params: {
          initialMargin: p.initialMargin,
          maintenanceMargin: p.maintenanceMargin,
          tradingFee: p.tradingFee,
          liquidationFee: p.liquidationFee,
          marginScale: p.marginScale,
          skewScale: p.skewScale,
          maxLongOI: p.maxLongOI,
          maxShortOI: p.maxShortOI,
          maxFundingRate: p.maxFundingRate,
          adlPnlFactor: p.adlPnlFactor,
        },
        longOI: 0n,
        shortOI: 0n,
        index: v.fundingIndex,
        last: v.lastFundingTime,
        price: (await f.router.peek(v.asset))[0],
        delisted: false,
      });
    }
    for (const a of b.accounts) {
      const [m, mask] = await f.perp.marginOf(a);
      expect(mask, "sync: flat accounts").to.equal(0n);
      b.margin.set(a, m);
      b.debt.set(a, await f.insuranceFund.recourseDebt(a));
    }
    [b.capital, b.pending] = await f.perp.pool();
    b.fund = await f.base.erc20.balanceOf(await f.insuranceFund.getAddress());
    const bad = await f.perp.badDebt();
    b.bad = {
      deficit: bad.deficit,
      covered: bad.coveredByInsurance,
      socialised: bad.socialised,
      recourse: bad.recourseRecorded,
    };
    return b;
  }

  clone(): Book {
    const b = new Book();
    b.markets = this.markets.map((m) => ({ ...m }));
    for (const [k, p] of this.pos) b.pos.set(k, { ...p });
    b.margin = new Map(this.margin);
    b.debt = new Map(this.debt);
    b.capital = this.capital;
    b.pending = this.pending;
    b.fund = this.fund;
    b.bad = { ...this.bad };
    b.recourse = this.recourse;
    b.keeperShare = this.keeperShare;
    b.insuranceShare = this.insuranceShare;
    b.accounts = [...this.accounts];
    return b;
  }

  adopt(next: Book) {
    Object.assign(this, next);
  }

  marginOf(a: string) {
    return this.margin.get(a) ?? 0n;
  }

  position(a: string, id: number) {
    return this.pos.get(`${a}:${id}`);
  }

  mask(a: string) {
    let mask = 0n;
    for (const m of this.markets) if (this.position(a, m.id)) mask |= 1n << BigInt(m.id);
    return mask;
  }

  /** PerpMarket._accrueFunding at time `t`. */
  accrue(m: MarketModel, t: bigint) {
    const elapsed = t - m.last;
    if (elapsed === 0n || m.delisted) return;
    m.last = t;
    const rate = fundingRate(m.longOI - m.shortOI, m.params.skewScale, m.params.maxFundingRate);
    if (rate === 0n) return;
    m.index = accrue(m.index, rate, elapsed, m.price);
    this.accruals.push([BigInt(m.id), rate, m.index]);
  }

  private removeOI(m: MarketModel, sz: bigint) {
    if (sz > 0n) m.longOI -= sz;
    else m.shortOI -= -sz;
  }

  private addOI(m: MarketModel, sz: bigint) {
    if (sz > 0n) m.longOI += sz;
    else m.shortOI += -sz;
  }

  deposit(a: string, amount: bigint) {
    const toDebt = this.recourse ? min(this.debt.get(a) ?? 0n, amount) : 0n;
    this.debt.set(a, (this.debt.get(a) ?? 0n) - toDebt);
    this.fund += toDebt;
    this.margin.set(a, this.marginOf(a) + amount - toDebt);
    return { toDebt, credited: amount - toDebt };
  }

  /** PerpMarket._trade at time `t`. */
  trade(a: string, id: number, delta: bigint, t: bigint): TradeResult {
    const m = this.markets[id];
    this.accrue(m, t);
    const fill = fillPrice(m.price, m.longOI - m.shortOI, delta, m.params.skewScale);
    const fee = tradeFee(delta, fill, m.params.tradingFee);
    const key = `${a}:${id}`;
    const old = this.pos.get(key);
    let realised = 0n;
    let oldSize = 0n;
    if (old) {
      realised = positionValue(old.size, old.entry, old.index, fill, m.index);
      oldSize = old.size;
      this.removeOI(m, old.size);
      this.pos.delete(key);
    }
    const newSize = oldSize + delta;
    if (newSize !== 0n) {
      this.addOI(m, newSize);
      this.pos.set(key, { size: newSize, entry: fill, index: m.index });
    }
    this.margin.set(a, this.marginOf(a) + realised - fee);
    const toInsurance = wMulDown(fee, this.insuranceShare);
    this.capital += -realised + fee - toInsurance;
    this.pending += toInsurance;
    return { fill, fee, realised, newSize };
  }

  /** Equity and margins of `a` at the model's prices, after accruing every market it is in to `t`. */
  risk(a: string, t: bigint) {
    let equity = this.marginOf(a);
    let mm = 0n;
    let im = 0n;
    let notional = 0n;
    let liqFee = 0n;
    const values: Liquidated[] = [];
    for (const m of this.markets) {
      const p = this.position(a, m.id);
      if (!p) continue;
      this.accrue(m, t);
      const v = positionValue(p.size, p.entry, p.index, m.price, m.index);
      equity += v;
      const g = margins(m.params, p.size, m.price);
      mm += g.mm;
      im += g.im;
      notional += g.notional;
      liqFee += g.liqFee;
      values.push({ id: m.id, size: p.size, price: m.price, realised: v });
    }
    return { equity, mm, im, notional, liqFee, values };
  }

  /** PerpMarket.liquidate at time `t` (the model changes only when the account is liquidatable). */
  liquidate(a: string, t: bigint): LiquidationResult {
    const r = this.risk(a, t);
    const out: LiquidationResult = {
      liquidatable: r.mm !== 0n && r.equity < r.mm,
      equity: r.equity,
      mm: r.mm,
      positions: r.values,
      notional: r.notional,
      liqFee: r.liqFee,
      keeperFee: 0n,
      insuranceFee: 0n,
      deficit: 0n,
      fromReserves: 0n,
      requested: 0n,
      fromInsurance: 0n,
      socialised: 0n,
      recourse: 0n,
      marginLeft: 0n,
    };
    if (!out.liquidatable) return out;
    let margin = this.marginOf(a);
    let realisedTotal = 0n;
    for (const v of r.values) {
      const m = this.markets[v.id];
      realisedTotal += v.realised;
      this.removeOI(m, v.size);
      this.pos.delete(`${a}:${v.id}`);
    }
    margin += realisedTotal;
    out.keeperFee = wMulDown(r.liqFee, this.keeperShare);
    margin -= out.keeperFee;
    out.insuranceFee = min(r.liqFee - out.keeperFee, margin > 0n ? margin : 0n);
    margin -= out.insuranceFee;
    out.deficit = margin < 0n ? -margin : 0n;
    out.marginLeft = margin < 0n ? 0n : margin;
    this.margin.set(a, out.marginLeft);
    this.capital -= realisedTotal;
    this.pending += out.insuranceFee;
    if (out.deficit > 0n) {
      out.fromReserves = min(out.deficit, this.pending);
      out.requested = out.deficit - out.fromReserves;
      out.fromInsurance = min(out.requested, this.fund);
      out.socialised = out.requested - out.fromInsurance;
      out.recourse = this.recourse ? out.deficit : 0n;
      this.pending -= out.fromReserves;
      this.fund -= out.fromInsurance;
      this.capital -= out.socialised;
      this.bad.deficit += out.deficit;
      this.bad.covered += out.fromReserves + out.fromInsurance;
      this.bad.socialised += out.socialised;
      this.bad.recourse += out.recourse;
      if (this.recourse) this.debt.set(a, (this.debt.get(a) ?? 0n) + out.deficit);
    }
    return out;
  }

  /** Compares the model with the chain, field by field. */
  async check(f: PerpFixture) {
    for (const m of this.markets) {
      const v = await f.perp.marketView(m.id);
      expect(v.longOI, `market ${m.id} longOI`).to.equal(m.longOI);
      expect(v.shortOI, `market ${m.id} shortOI`).to.equal(m.shortOI);
      expect(v.fundingIndex, `market ${m.id} funding index`).to.equal(m.index);
      expect(v.lastFundingTime, `market ${m.id} last funding time`).to.equal(m.last);
    }
    for (const a of this.accounts) {
      const [margin, mask] = await f.perp.marginOf(a);
      expect(margin, `margin of ${a}`).to.equal(this.marginOf(a));
      expect(mask, `markets of ${a}`).to.equal(this.mask(a));
      for (const m of this.markets) {
        const v = await f.perp.positionView(a, m.id);
        const p = this.position(a, m.id);
        expect(v.size, `size of ${a} in ${m.id}`).to.equal(p?.size ?? 0n);
        expect(v.entryPrice, `entry of ${a} in ${m.id}`).to.equal(p?.entry ?? 0n);
      }
      expect(await f.insuranceFund.recourseDebt(a), `recourse debt of ${a}`).to.equal(this.debt.get(a) ?? 0n);
    }
    const [capital, pending] = await f.perp.pool();
    expect(capital, "pool capital").to.equal(this.capital);
    expect(pending, "pending insurance").to.equal(this.pending);
    expect(await f.base.erc20.balanceOf(await f.insuranceFund.getAddress()), "fund balance").to.equal(
      this.fund,
    );
    const bad = await f.perp.badDebt();
    expect(bad.deficit, "badDebt.deficit").to.equal(this.bad.deficit);
    expect(bad.coveredByInsurance, "badDebt.coveredByInsurance").to.equal(this.bad.covered);
    expect(bad.socialised, "badDebt.socialised").to.equal(this.bad.socialised);
    expect(bad.recourseRecorded, "badDebt.recourseRecorded").to.equal(this.bad.recourse);
    let totalDebt = 0n;
    for (const d of this.debt.values()) totalDebt += d;
    expect(await f.insuranceFund.totalRecourseDebt(), "totalRecourseDebt").to.equal(totalDebt);
    await expectPerpBooks(f, this.accounts);
  }
}

/* ACTIONS, EACH PREDICTED BY THE MODEL AND CHECKED */

/** Fixes the next block's timestamp one second after the latest and returns it. */
async function nextBlockAt(): Promise<bigint> {
  const t = (await time.latest()) + 1;
  await time.setNextBlockTimestamp(t);
  return BigInt(t);
}

async function lpDeposit(f: PerpFixture, amount: bigint) {
  await f.vault.connect(f.actors.lp).deposit(amount, f.actors.lp.address);
}

async function deposit(f: PerpFixture, book: Book, who: HardhatEthersSigner, amount: bigint) {
  const owed = book.debt.get(who.address) ?? 0n;
  const { toDebt, credited } = book.deposit(who.address, amount);
  const tx = await f.perp.connect(who).depositMargin(amount, who.address);
  if (credited > 0n) {
    await expect(tx).to.emit(f.perp, "MarginDeposited").withArgs(who.address, who.address, credited);
  } else {
    await expect(tx).not.to.emit(f.perp, "MarginDeposited");
  }
  if (toDebt > 0n) {
    await expect(tx)
      .to.emit(f.insuranceFund, "RecourseRepaid")
      .withArgs(who.address, await f.perp.getAddress(), toDebt, owed - toDebt);
  } else {
    await expect(tx).not.to.emit(f.insuranceFund, "RecourseRepaid");
  }
  await expect(tx).to.changeTokenBalances(
    f.base.erc20,
    [who.address, f.perp, f.insuranceFund],
    [-amount, amount - toDebt, toDebt],
  );
  return { toDebt, credited };
}

async function topUpFund(f: PerpFixture, book: Book, amount: bigint) {
  await f.insuranceFund.connect(f.actors.stranger).topUp(amount);
  book.fund += amount;
}

/** modifyPosition (or closePosition) with no price limit; asserts PositionModified to the unit. */
async function trade(
  f: PerpFixture,
  book: Book,
  who: HardhatEthersSigner,
  id: number,
  delta: bigint,
  close = false,
): Promise<TradeResult> {
  const next = book.clone();
  const t = await nextBlockAt();
  const r = next.trade(who.address, id, delta, t);
  const limit = delta > 0n ? MAX : 0n;
  const tx = close
    ? f.perp.connect(who).closePosition(id, limit)
    : f.perp.connect(who).modifyPosition(id, delta, limit);
  await expect(tx)
    .to.emit(f.perp, "PositionModified")
    .withArgs(who.address, id, delta, r.fill, r.fee, r.realised, r.newSize);
  book.adopt(next);
  return r;
}

/** Moves an asset's feeds (WETH: both) and the model's price. */
async function move(f: PerpFixture, book: Book, id: number, usdPrice: number | string) {
  if (id === f.ETH) await setEth(f, usdPrice);
  else await setPrice(f.assets.WBTC, usdPrice);
  book.markets[id].price = px(usdPrice);
}

/** Delists a market at the price its feeds report now (funding accrued to now first). */
async function delist(f: PerpFixture, book: Book, id: number) {
  const m = book.markets[id];
  const t = await nextBlockAt();
  book.accrue(m, t);
  m.delisted = true;
  await expect(f.perp.delistMarket(id)).to.emit(f.perp, "MarketStatusSet").withArgs(id, 2, m.price);
}

/** The model's prediction for a liquidation in the next block, without changing the model. */
async function predict(book: Book, account: string) {
  const t = (await time.latest()) + 1;
  return book.clone().liquidate(account, BigInt(t));
}

/**
 * Liquidates `account`, asserting every event (in order, with exact arguments), the token flows, and the
 * books afterwards. Returns the model's prediction.
 */
async function liquidate(
  f: PerpFixture,
  book: Book,
  keeper: HardhatEthersSigner,
  account: string,
): Promise<LiquidationResult> {
  const next = book.clone();
  const t = await nextBlockAt();
  const r = next.liquidate(account, t);
  expect(r.liquidatable, "the model says liquidatable").to.equal(true);
  const accruals = next.accruals;
  next.accruals = [];
  const tx: ContractTransactionResponse = await f.perp.connect(keeper).liquidate(account);
  const receipt = (await tx.wait())!;
  const perpAddress = await f.perp.getAddress();
  const fundAddress = await f.insuranceFund.getAddress();

  const perpEvents = receipt.logs
    .filter((l) => l.address === perpAddress)
    .map((l) => f.perp.interface.parseLog(l)!);
  const fundEvents = receipt.logs
    .filter((l) => l.address === fundAddress)
    .map((l) => f.insuranceFund.interface.parseLog(l)!);

  // Funding is accrued in every market the account is in, before any position is closed.
  const expected: [string, unknown[]][] = accruals.map((a) => ["FundingAccrued", a]);
  for (const p of r.positions) {
    expected.push(["PositionLiquidated", [account, BigInt(p.id), p.size, p.price, p.realised]]);
  }
  expected.push([
    "AccountLiquidated",
    [account, keeper.address, r.notional, r.keeperFee, r.insuranceFee, r.deficit],
  ]);
  if (r.deficit > 0n) {
    expected.push([
      "DeficitRealised",
      [account, r.deficit, r.fromReserves, r.fromInsurance, r.socialised, r.recourse],
    ]);
  }
  expect(
    perpEvents.map((e) => [e.name, [...e.args]]),
    "engine events",
  ).to.deep.equal(expected);

  const expectedFund: [string, unknown[]][] = [];
  if (r.requested > 0n) expectedFund.push(["InsurancePaid", [perpAddress, r.requested, r.fromInsurance]]);
  if (r.recourse > 0n) expectedFund.push(["RecourseRecorded", [perpAddress, account, r.recourse]]);
  expect(
    fundEvents.filter((e) => e.name !== "StakersWipedOut").map((e) => [e.name, [...e.args]]),
    "insurance fund events",
  ).to.deep.equal(expectedFund);

  await expect(tx).to.changeTokenBalances(
    f.base.erc20,
    [keeper.address, f.perp, f.insuranceFund],
    [r.keeperFee, r.fromInsurance - r.keeperFee, -r.fromInsurance],
  );
  book.adopt(next);
  await book.check(f);
  return r;
}

/** Expects liquidate to revert with AccountNotLiquidatable(equity, mm) as the model predicts. */
async function expectNotLiquidatable(f: PerpFixture, book: Book, account: string) {
  const t = await nextBlockAt();
  const r = book.clone().liquidate(account, t);
  expect(r.liquidatable, "the model says not liquidatable").to.equal(false);
  await expect(f.perp.connect(f.actors.keeper).liquidate(account))
    .to.be.revertedWithCustomError(f.perp, "AccountNotLiquidatable")
    .withArgs(r.equity, r.mm);
  return r;
}

/** The PriceNotUsable revert of the router, as the engine bubbles it up. */
function notUsable(f: PerpFixture, p: Promise<unknown>, asset: string, action: Action, status: PriceStatus) {
  return expect(p).to.be.revertedWithCustomError(f.router, "PriceNotUsable").withArgs(asset, action, status);
}

/** PerpParams.MAX_FUNDING_RATE: 10% of the price a day, WAD per second. */
const MAX_FUNDING_RATE = 10n ** 17n / 86_400n;

/* FIXTURES */

/** The local system on an "L2": a mock sequencer with a one-hour grace period, long since up. */
async function l2PerpsFixture(): Promise<PerpFixture> {
  const f = await deployPerps(localPerpsConfig(), { sequencer: { mock: true, gracePeriod: 3600 } });
  await time.increase(3601);
  for (const asset of Object.values(f.assets)) {
    await asset.primaryFeed.mock!.setPrice(await asset.primaryFeed.mock!.marketAnswer());
    if (asset.fallbackFeed)
      await asset.fallbackFeed.mock!.setPrice(await asset.fallbackFeed.mock!.marketAnswer());
  }
  return f;
}

describe("perps: liquidation", function () {
  describe("liquidate: entry point", function () {
    it("liquidate: reverts with AccountNotLiquidatable(equity, maintenance margin) for a healthy account", async function () {
      const f = await loadPerps();
      const { alice, bob } = f.actors;
      await lpDeposit(f, u(1_000_000));
      const book = await Book.sync(f);
      await deposit(f, book, alice, u(3_000));
      await deposit(f, book, bob, u(3_000));
      await trade(f, book, alice, f.ETH, size(10));
      await trade(f, book, bob, f.ETH, -size(4));
      // Skewed book: funding runs; a day later, and the price 5% down.
      await time.increase(86_400);
      await move(f, book, f.ETH, 2850);
      const r = await expectNotLiquidatable(f, book, alice.address);
      expect(r.mm).to.equal(margins(book.markets[f.ETH].params, size(10), px(2850)).mm);
      expect(r.equity).to.be.gt(r.mm);
      await expectNotLiquidatable(f, book, bob.address);
      // Nothing changed: the revert undid the accrual too.
      await book.check(f);
    });

    it("liquidate: reverts with AccountNotLiquidatable(margin, 0) for an account with no position", async function () {
      const f = await loadPerps();
      const { alice, bob, stranger } = f.actors;
      await lpDeposit(f, u(1_000_000));
      const book = await Book.sync(f);
      await deposit(f, book, alice, u(500));
      await expect(f.perp.connect(f.actors.keeper).liquidate(alice.address))
        .to.be.revertedWithCustomError(f.perp, "AccountNotLiquidatable")
        .withArgs(u(500), 0n);
      await expect(f.perp.connect(f.actors.keeper).liquidate(stranger.address))
        .to.be.revertedWithCustomError(f.perp, "AccountNotLiquidatable")
        .withArgs(0n, 0n);
      // An account that opened and closed: its margin, and still no maintenance margin.
      await deposit(f, book, bob, u(2_000));
      await trade(f, book, bob, f.ETH, size(5));
      await move(f, book, f.ETH, 2800);
      await trade(f, book, bob, f.ETH, -size(5), true);
      expect(book.marginOf(bob.address)).to.be.gt(0n);
      expect(book.marginOf(bob.address)).to.be.lt(u(1_000));
      await expectNotLiquidatable(f, book, bob.address);
      await expect(f.perp.connect(f.actors.keeper).liquidate(bob.address))
        .to.be.revertedWithCustomError(f.perp, "AccountNotLiquidatable")
        .withArgs(book.marginOf(bob.address), 0n);
    });

    it("liquidate: liquidates at equity one unit below the maintenance margin, not at it", async function () {
      const f = await loadPerps();
      const { alice, bob, keeper } = f.actors;
      await lpDeposit(f, u(1_000_000));
      const book = await Book.sync(f);
      await deposit(f, book, alice, u(1_600));
      await deposit(f, book, bob, u(5_000));
      // A balanced book (skew zero, no funding): equity does not move with time.
      await trade(f, book, alice, f.ETH, size(10));
      await trade(f, book, bob, f.ETH, -size(10));
      await move(f, book, f.ETH, 2900);
      let r = await predict(book, alice.address);
      expect(r.liquidatable).to.equal(true);
      // Top the margin up to exactly mm - 1.
      await deposit(f, book, alice, r.mm - 1n - r.equity);
      r = await predict(book, alice.address);
      expect(r.equity).to.equal(r.mm - 1n);
      const view = await f.perp.accountView(alice.address);
      expect(view.equity).to.equal(r.mm - 1n);
      expect(view.maintenanceMargin).to.equal(r.mm);
      expect(view.liquidatable).to.equal(true);

      const snapshot = await takeSnapshot();
      const atMm = book.clone();
      await deposit(f, atMm, alice, 1n);
      expect((await f.perp.accountView(alice.address)).liquidatable).to.equal(false);
      const n = await expectNotLiquidatable(f, atMm, alice.address);
      expect(n.equity).to.equal(n.mm);
      await snapshot.restore();

      const before = await f.base.erc20.balanceOf(alice.address);
      const l = await liquidate(f, book, keeper, alice.address);
      expect(l.deficit).to.equal(0n);
      expect(l.keeperFee).to.equal(wMulDown(l.liqFee, book.keeperShare));
      // The insurance share came out of the margin in full, and margin is left.
      expect(l.insuranceFee).to.equal(l.liqFee - l.keeperFee);
      expect(l.marginLeft).to.equal(r.equity - l.liqFee);
      expect(l.marginLeft).to.be.gt(0n);
      // What is left belongs to alice and leaves without a price check.
      await expect(f.perp.connect(alice).withdrawMargin(MAX, alice.address))
        .to.emit(f.perp, "MarginWithdrawn")
        .withArgs(alice.address, alice.address, l.marginLeft);
      expect((await f.base.erc20.balanceOf(alice.address)) - before).to.equal(l.marginLeft);
      book.margin.set(alice.address, 0n);
      await book.check(f);
    });

    it("liquidate: the keeper's share is always charged (even into a deficit), the insurance share only from what is left", async function () {
      const f = await loadPerps();
      const { alice, bob, keeper } = f.actors;
      await lpDeposit(f, u(1_000_000));
      const book = await Book.sync(f);
      await deposit(f, book, alice, u(1_600));
      await deposit(f, book, bob, u(5_000));
      // Balanced: no funding, equity does not move with time.
      await trade(f, book, alice, f.ETH, size(10));
      await trade(f, book, bob, f.ETH, -size(10));
      await move(f, book, f.ETH, 2850);
      const r0 = await predict(book, alice.address);
      const keeperFee = wMulDown(r0.liqFee, book.keeperShare);
      expect(r0.equity).to.be.lt(keeperFee);
      const snapshot = await takeSnapshot();

      // Equity = keeper's fee + 50 units: the insurance share gets those 50 units, nothing is left.
      const partial = book.clone();
      await deposit(f, partial, alice, keeperFee + 50n - r0.equity);
      const a = await liquidate(f, partial, keeper, alice.address);
      expect([a.keeperFee, a.insuranceFee, a.deficit, a.marginLeft]).to.deep.equal([keeperFee, 50n, 0n, 0n]);
      await snapshot.restore();

      // Equity = keeper's fee - 50 units: the keeper is paid in full, the 50 units missing are a deficit,
      // covered by the pending insurance fees.
      await deposit(f, book, alice, keeperFee - 50n - r0.equity);
      const pending = book.pending;
      expect(pending).to.be.gt(50n);
      const b = await liquidate(f, book, keeper, alice.address);
      expect([b.keeperFee, b.insuranceFee, b.deficit, b.marginLeft]).to.deep.equal([keeperFee, 0n, 50n, 0n]);
      expect([b.fromReserves, b.fromInsurance, b.socialised]).to.deep.equal([50n, 0n, 0n]);
      expect((await f.perp.pool())[1]).to.equal(pending - 50n);
    });

    it("liquidate: reverts with PriceNotUsable on a STALE or INVALID price, runs once the feeds are healthy", async function () {
      const f = await loadPerps();
      const { alice, keeper } = f.actors;
      const weth = f.assets.WETH;
      await lpDeposit(f, u(1_000_000));
      const book = await Book.sync(f);
      await deposit(f, book, alice, u(1_600));
      await trade(f, book, alice, f.ETH, size(10));
      await move(f, book, f.ETH, 2800);
      expect((await predict(book, alice.address)).liquidatable).to.equal(true);

      await weth.primaryFeed.mock!.goStale(3601);
      await weth.fallbackFeed!.mock!.goStale(86_401);
      await notUsable(
        f,
        f.perp.connect(keeper).liquidate(alice.address),
        weth.address,
        Action.LIQUIDATE,
        PriceStatus.STALE,
      );

      await weth.primaryFeed.mock!.setPrice(0);
      await weth.fallbackFeed!.mock!.setPrice(-1);
      await notUsable(
        f,
        f.perp.connect(keeper).liquidate(alice.address),
        weth.address,
        Action.LIQUIDATE,
        PriceStatus.INVALID,
      );

      await move(f, book, f.ETH, 2800);
      const r = await liquidate(f, book, keeper, alice.address);
      expect(r.positions).to.have.length(1);
      expect(r.positions[0].price).to.equal(px(2800));
    });

    it("liquidate: refused on WBTC's SUSPECT gap until it is confirmed (600 s), then allowed", async function () {
      const f = await loadPerps();
      const { alice, keeper } = f.actors;
      const wbtc = f.assets.WBTC;
      await lpDeposit(f, u(1_000_000));
      const book = await Book.sync(f);
      await deposit(f, book, alice, u(16_000));
      await trade(f, book, alice, f.BTC, size(1));
      // -25% in one step: beyond WBTC's 20% deviation, and there is no second feed to confirm it.
      await move(f, book, f.BTC, 45_000);
      expect((await predict(book, alice.address)).liquidatable).to.equal(true);
      await notUsable(
        f,
        f.perp.connect(keeper).liquidate(alice.address),
        wbtc.address,
        Action.LIQUIDATE,
        PriceStatus.SUSPECT,
      );
      await expect(f.router.price(wbtc.address)).to.emit(f.router, "SuspectPriceSeen");
      await time.increase(300);
      await notUsable(
        f,
        f.perp.connect(keeper).liquidate(alice.address),
        wbtc.address,
        Action.LIQUIDATE,
        PriceStatus.SUSPECT,
      );
      await time.increase(300);
      await f.router.price(wbtc.address);
      const [p, status] = await f.router.peek(wbtc.address);
      expect(status).to.equal(PriceStatus.OK);
      expect(p).to.equal(px(45_000));
      const r = await liquidate(f, book, keeper, alice.address);
      expect(r.positions[0].price).to.equal(px(45_000));
      expect(r.deficit).to.equal(0n);
      expect(r.marginLeft).to.be.gt(0n);
    });

    it("liquidate: closes every position of a multi-market account, fee = sum of the per-position fees, keeper paid in tokens", async function () {
      const f = await loadPerps();
      const { alice, keeper } = f.actors;
      const weth = f.assets.WETH;
      await lpDeposit(f, u(1_000_000));
      const book = await Book.sync(f);
      await deposit(f, book, alice, u(5_000));
      await trade(f, book, alice, f.ETH, size(10));
      await trade(f, book, alice, f.BTC, size("0.5"));
      await move(f, book, f.ETH, 2850);
      await move(f, book, f.BTC, 57_000);
      const pre = await predict(book, alice.address);
      expect(pre.liquidatable).to.equal(true);

      // One market without a usable price blocks the whole liquidation.
      await weth.primaryFeed.mock!.goStale(3601);
      await weth.fallbackFeed!.mock!.goStale(86_401);
      await notUsable(
        f,
        f.perp.connect(keeper).liquidate(alice.address),
        weth.address,
        Action.LIQUIDATE,
        PriceStatus.STALE,
      );
      await move(f, book, f.ETH, 2850);

      const feeEth = margins(book.markets[f.ETH].params, size(10), px(2850)).liqFee;
      const feeBtc = margins(book.markets[f.BTC].params, size("0.5"), px(57_000)).liqFee;
      const keeperBefore = await f.base.erc20.balanceOf(keeper.address);
      const r = await liquidate(f, book, keeper, alice.address);
      expect(r.positions.map((p) => p.id)).to.deep.equal([f.ETH, f.BTC]);
      expect(r.liqFee).to.equal(feeEth + feeBtc);
      expect(r.keeperFee).to.equal(wMulDown(feeEth + feeBtc, book.keeperShare));
      expect(r.insuranceFee).to.equal(feeEth + feeBtc - r.keeperFee);
      expect((await f.base.erc20.balanceOf(keeper.address)) - keeperBefore).to.equal(r.keeperFee);
      expect(await f.perp.marginOf(alice.address)).to.deep.equal([r.marginLeft, 0n]);
      expect(r.marginLeft).to.be.gt(0n);
      // Flat, so the rest leaves with no price at all (even with WETH stale again).
      await weth.primaryFeed.mock!.goStale(3601);
      await weth.fallbackFeed!.mock!.goStale(86_401);
      await expect(f.perp.connect(alice).withdrawMargin(MAX, alice.address)).to.changeTokenBalances(
        f.base.erc20,
        [alice.address, f.perp],
        [r.marginLeft, -r.marginLeft],
      );
      book.margin.set(alice.address, 0n);
      await book.check(f);
    });
  });

  describe("liquidate: funding", function () {
    it("liquidate: funding alone makes an account liquidatable; what it owes is settled in the realised PnL", async function () {
      const f = await loadPerps();
      const { alice, dave, keeper } = f.actors;
      // The highest funding rate the bounds allow (10% of the price a day at full skew).
      const params = { ...paramsOf("WETH"), maxFundingRate: MAX_FUNDING_RATE };
      await f.perp.setMarketParams(f.ETH, params);
      await lpDeposit(f, u(1_000_000));
      const book = await Book.sync(f);
      expect(book.markets[f.ETH].params.maxFundingRate).to.equal(params.maxFundingRate);
      await deposit(f, book, alice, u(1_600));
      await deposit(f, book, dave, u(3_000_000));
      await trade(f, book, alice, f.ETH, size(10));
      await trade(f, book, dave, f.ETH, size(10_000));
      expect((await predict(book, alice.address)).liquidatable).to.equal(false);
      // Forty days at an unchanged price: the longs pay the skew's funding.
      await time.increase(40 * 86_400);
      await move(f, book, f.ETH, 3000);
      const p = book.position(alice.address, f.ETH)!;
      const pnl = floorDiv(p.size * (px(3000) - p.entry), WAD * USD_PER_UNIT);
      const r = await liquidate(f, book, keeper, alice.address);
      // Without funding alice would be safe; the funding owed (hundreds of USDC) takes her below.
      expect(r.equity - r.positions[0].realised + pnl).to.be.gte(r.mm);
      expect(pnl - r.positions[0].realised).to.be.gt(u(800));
      expect(r.positions[0].price).to.equal(px(3000));
    });
  });

  describe("liquidate: market states", function () {
    it("liquidate: runs while the engine is paused and the market halted (both stop new risk only)", async function () {
      const f = await loadPerps();
      const { alice, keeper } = f.actors;
      await lpDeposit(f, u(1_000_000));
      const book = await Book.sync(f);
      await deposit(f, book, alice, u(1_600));
      await trade(f, book, alice, f.ETH, size(10));
      await move(f, book, f.ETH, 2880);
      await f.perp.setPaused(true);
      await f.perp.setHalted(f.ETH, true);
      const r = await liquidate(f, book, keeper, alice.address);
      expect(r.positions[0].price).to.equal(px(2880));
      expect(r.deficit).to.equal(0n);
    });

    it("liquidate: in a delisted market, settles at the final price whatever the feeds say, with no more funding", async function () {
      const f = await loadPerps();
      const { alice, bob, keeper } = f.actors;
      const weth = f.assets.WETH;
      await lpDeposit(f, u(1_000_000));
      const book = await Book.sync(f);
      await deposit(f, book, alice, u(1_600));
      await deposit(f, book, bob, u(1_000));
      await trade(f, book, alice, f.ETH, size(10));
      await trade(f, book, bob, f.ETH, size(1));
      await time.increase(3_000);
      await move(f, book, f.ETH, 2880);
      await delist(f, book, f.ETH);
      await book.check(f);
      const index = book.markets[f.ETH].index;
      // The feeds go stale and far away; a day passes: nothing of it matters any more.
      await time.increase(86_400);
      await weth.primaryFeed.mock!.goStale(86_400);
      await weth.fallbackFeed!.mock!.goStale(86_401);
      expect((await predict(book, alice.address)).liquidatable).to.equal(true);
      await expectNotLiquidatable(f, book, bob.address);
      const r = await liquidate(f, book, keeper, alice.address);
      expect(r.positions[0].price).to.equal(px(2880));
      expect((await f.perp.marketView(f.ETH)).fundingIndex).to.equal(index);
    });
  });

  describe("liquidate: a -50% gap on a book of 20x longs", function () {
    it("liquidate: each deficit takes pending insurance, then the fund up to its balance, then the pool", async function () {
      const f = await loadPerps();
      const { alice, bob, carol, dave, keeper } = f.actors;
      await lpDeposit(f, u(1_000_000));
      const book = await Book.sync(f);
      await topUpFund(f, book, u(20_000));
      const traders: [HardhatEthersSigner, bigint, bigint][] = [
        [alice, u(1_600), size(10)],
        [bob, u(3_200), size(20)],
        [carol, u(800), size(5)],
        [dave, u(4_000), size(25)],
      ];
      for (const [who, m] of traders) await deposit(f, book, who, m);
      for (const [who, , s] of traders) {
        const r = await trade(f, book, who, f.ETH, s);
        // 20x-ish: the margin is within 10% of the initial margin.
        const im = margins(book.markets[f.ETH].params, s, r.fill).im;
        expect(book.marginOf(who.address)).to.be.gte(im);
        expect(book.marginOf(who.address)).to.be.lt((im * 11n) / 10n);
      }
      await book.check(f);
      const pendingBefore = book.pending;
      expect(pendingBefore).to.be.gt(0n);
      const marginBefore = traders.reduce((s, [who]) => s + book.marginOf(who.address), 0n);
      await time.increase(3_000);
      await move(f, book, f.ETH, 1500);

      const results: LiquidationResult[] = [];
      for (const [who] of traders) results.push(await liquidate(f, book, keeper, who.address));
      const [a, b, c, d] = results;
      // Alice: pending fees first, the fund pays the rest.
      expect(a.fromReserves).to.equal(pendingBefore);
      expect(a.fromInsurance).to.equal(a.deficit - pendingBefore);
      expect(a.socialised).to.equal(0n);
      // Bob: the fund is exhausted, the pool takes the rest.
      expect(b.fromReserves).to.equal(0n);
      expect(b.fromInsurance).to.equal(u(20_000) - a.fromInsurance);
      expect(b.socialised).to.equal(b.deficit - b.fromInsurance);
      expect(b.socialised).to.be.gt(0n);
      // Carol and dave: all socialised.
      for (const x of [c, d]) {
        expect(x.fromReserves + x.fromInsurance).to.equal(0n);
        expect(x.socialised).to.equal(x.deficit);
      }
      for (const x of results) {
        expect(x.insuranceFee).to.equal(0n);
        expect(x.keeperFee).to.equal(wMulDown(x.liqFee, book.keeperShare));
        expect(x.keeperFee).to.be.gt(0n);
      }
      const total = results.reduce((s, x) => s + x.deficit, 0n);
      const realised = results.reduce((s, x) => s + x.positions[0].realised, 0n);
      const keeperFees = results.reduce((s, x) => s + x.keeperFee, 0n);
      // Each deficit is what the trader could not pay plus the keeper's fee (always charged).
      expect(total).to.equal(keeperFees - marginBefore - realised);
      const bad = await f.perp.badDebt();
      expect(bad.deficit).to.equal(total);
      expect(bad.coveredByInsurance).to.equal(pendingBefore + u(20_000));
      expect(bad.socialised).to.equal(total - pendingBefore - u(20_000));
      expect(await f.base.erc20.balanceOf(await f.insuranceFund.getAddress())).to.equal(0n);
      expect(await f.perp.pool()).to.deep.equal([book.capital, 0n]);
      // No open interest left: the vault is worth exactly the pool's capital.
      expect(await f.perp.lpAssets()).to.equal(book.capital);
    });
  });

  describe("liquidate: a +300% squeeze on a book of 10x shorts", function () {
    it("liquidate: the pool absorbs what pending insurance and the fund cannot", async function () {
      const f = await loadPerps();
      const { alice, bob, carol, dave, keeper } = f.actors;
      await lpDeposit(f, u(1_000_000));
      const book = await Book.sync(f);
      await topUpFund(f, book, u(10_000));
      const traders: [HardhatEthersSigner, bigint, bigint][] = [
        [alice, u(3_100), -size(10)],
        [bob, u(6_200), -size(20)],
        [carol, u(1_600), -size(5)],
        [dave, u(4_700), -size(15)],
      ];
      for (const [who, m] of traders) await deposit(f, book, who, m);
      for (const [who, , s] of traders) await trade(f, book, who, f.ETH, s);
      const pendingBefore = book.pending;
      const capitalBefore = book.capital;
      const marginBefore = traders.reduce((s, [who]) => s + book.marginOf(who.address), 0n);
      await time.increase(7_200);
      await move(f, book, f.ETH, 12_000);

      const results: LiquidationResult[] = [];
      for (const [who] of traders) results.push(await liquidate(f, book, keeper, who.address));
      const [a] = results;
      expect(a.fromReserves).to.equal(pendingBefore);
      expect(a.fromInsurance).to.equal(u(10_000));
      expect(a.socialised).to.equal(a.deficit - pendingBefore - u(10_000));
      for (const x of results.slice(1)) {
        expect(x.fromReserves + x.fromInsurance).to.equal(0n);
        expect(x.socialised).to.equal(x.deficit);
      }
      for (const [who] of traders) expect(book.marginOf(who.address)).to.equal(0n);
      const total = results.reduce((s, x) => s + x.deficit, 0n);
      const realised = results.reduce((s, x) => s + x.positions[0].realised, 0n);
      const keeperFees = results.reduce((s, x) => s + x.keeperFee, 0n);
      // Each deficit is what the trader could not pay plus the keeper's fee (always charged).
      expect(total).to.equal(keeperFees - marginBefore - realised);
      // Every loss the traders realised went to the pool, less what they could not pay and insurance did not.
      expect(book.capital).to.equal(capitalBefore - realised - (total - pendingBefore - u(10_000)));
      const bad = await f.perp.badDebt();
      expect(bad.socialised).to.equal(total - pendingBefore - u(10_000));
      expect(bad.coveredByInsurance).to.equal(pendingBefore + u(10_000));
    });
  });

  describe("liquidate: oracle faults during an open book", function () {
    interface Sizes {
      aliceMargin: bigint;
      alice: bigint;
      bobMargin: bigint;
      bob: bigint;
      step: bigint;
    }
    const SIZES: Record<"WETH" | "WBTC", Sizes> = {
      WETH: { aliceMargin: u(1_600), alice: size(10), bobMargin: u(5_000), bob: size(5), step: size(1) },
      WBTC: {
        aliceMargin: u(6_100),
        alice: size(1),
        bobMargin: u(20_000),
        bob: size("0.5"),
        step: size("0.1"),
      },
    };

    interface Fault {
      name: string;
      market: "WETH" | "WBTC";
      l2?: boolean;
      status: PriceStatus;
      /** Whether the policy lets reduce, close and liquidate run. */
      settles: boolean;
      /** Applies the fault; returns the USD price a settling action uses. */
      apply: (f: PerpFixture) => Promise<number>;
    }

    const FAULTS: Fault[] = [
      {
        name: "STALE (both feeds stopped updating)",
        market: "WETH",
        status: PriceStatus.STALE,
        settles: false,
        apply: async (f) => {
          await f.assets.WETH.primaryFeed.mock!.goStale(3601);
          await f.assets.WETH.fallbackFeed!.mock!.goStale(86_401);
          return 2900;
        },
      },
      {
        name: "INVALID (zero answers)",
        market: "WETH",
        status: PriceStatus.INVALID,
        settles: false,
        apply: async (f) => {
          await f.assets.WETH.primaryFeed.mock!.setPrice(0);
          await f.assets.WETH.fallbackFeed!.mock!.setPrice(0);
          return 2900;
        },
      },
      {
        name: "INVALID (negative answers)",
        market: "WETH",
        status: PriceStatus.INVALID,
        settles: false,
        apply: async (f) => {
          await f.assets.WETH.primaryFeed.mock!.setPrice(-1);
          await f.assets.WETH.fallbackFeed!.mock!.setPrice(-px(2900));
          return 2900;
        },
      },
      {
        name: "FALLBACK (the primary reverts, the fallback is valid)",
        market: "WETH",
        status: PriceStatus.FALLBACK,
        settles: true,
        apply: async (f) => {
          await f.assets.WETH.primaryFeed.mock!.setMode(FeedMode.REVERT);
          await setPrice(f.assets.WETH, 2880, "fallback");
          return 2880;
        },
      },
      {
        name: "FALLBACK (the primary is stale, the fallback is fresh)",
        market: "WETH",
        status: PriceStatus.FALLBACK,
        settles: true,
        apply: async (f) => {
          await setPrice(f.assets.WETH, 2870, "fallback");
          await f.assets.WETH.primaryFeed.mock!.goStale(3601);
          return 2870;
        },
      },
      {
        name: "DISAGREE (the feeds are 3.4% apart)",
        market: "WETH",
        status: PriceStatus.DISAGREE,
        settles: false,
        apply: async (f) => {
          await setPrice(f.assets.WETH, 3000, "fallback");
          return 2900;
        },
      },
      {
        name: "SEQUENCER_DOWN (the L2 sequencer is down)",
        market: "WETH",
        l2: true,
        status: PriceStatus.SEQUENCER_DOWN,
        settles: false,
        apply: async (f) => {
          await f.sequencer!.mock!.setDown();
          return 2900;
        },
      },
      {
        name: "SEQUENCER_DOWN (back up, within the grace period)",
        market: "WETH",
        l2: true,
        status: PriceStatus.SEQUENCER_DOWN,
        settles: false,
        apply: async (f) => {
          await f.sequencer!.mock!.setDown();
          await f.sequencer!.mock!.setUp();
          return 2900;
        },
      },
      {
        name: "SUSPECT under WAIT_FOR_CONFIRMATION (WBTC -23% in one step)",
        market: "WBTC",
        status: PriceStatus.SUSPECT,
        settles: false,
        apply: async (f) => {
          await setPrice(f.assets.WBTC, 46_000);
          return 46_000;
        },
      },
      {
        name: "SUSPECT under TRUST_GAP (WBTC -23% in one step)",
        market: "WBTC",
        status: PriceStatus.SUSPECT,
        settles: true,
        apply: async (f) => {
          await f.router.setSuspectPolicy(SuspectPolicy.TRUST_GAP);
          await setPrice(f.assets.WBTC, 46_000);
          return 46_000;
        },
      },
    ];

    for (const fault of FAULTS) {
      const verdict = fault.settles ? "reduce, close and liquidate run" : "only margin deposits run";
      it(`liquidate: ${fault.name}: opens, increases and margin withdrawals refused; ${verdict}`, async function () {
        const f = fault.l2 ? await loadFixture(l2PerpsFixture) : await loadPerps();
        const { alice, bob, carol, keeper } = f.actors;
        const id = fault.market === "WETH" ? f.ETH : f.BTC;
        const asset = f.assets[fault.market].address;
        const s = SIZES[fault.market];
        await lpDeposit(f, u(1_000_000));
        const book = await Book.sync(f);
        await deposit(f, book, alice, s.aliceMargin);
        await deposit(f, book, bob, s.bobMargin);
        await deposit(f, book, carol, u(10_000));
        await trade(f, book, alice, id, s.alice);
        await trade(f, book, bob, id, s.bob);
        if (fault.market === "WETH") {
          await move(f, book, id, 2900);
          expect((await predict(book, alice.address)).liquidatable, "alice underwater").to.equal(true);
        }

        const usdPrice = await fault.apply(f);
        expect((await f.router.peek(asset))[1], "status").to.equal(fault.status);

        // Risk-adding actions: refused under every fault (they need OK).
        await notUsable(
          f,
          f.perp.connect(carol).modifyPosition(id, s.step, MAX),
          asset,
          Action.OPEN,
          fault.status,
        );
        await notUsable(
          f,
          f.perp.connect(bob).modifyPosition(id, s.step, MAX),
          asset,
          Action.INCREASE,
          fault.status,
        );
        await notUsable(
          f,
          f.perp.connect(bob).withdrawMargin(1n, bob.address),
          asset,
          Action.WITHDRAW_MARGIN,
          fault.status,
        );
        // Adding margin needs no price, nor does a flat account's withdrawal.
        await deposit(f, book, bob, u(1));
        await expect(f.perp.connect(carol).withdrawMargin(u(1), carol.address))
          .to.emit(f.perp, "MarginWithdrawn")
          .withArgs(carol.address, carol.address, u(1));
        book.margin.set(carol.address, book.marginOf(carol.address) - u(1));

        if (fault.settles) {
          book.markets[id].price = px(usdPrice);
          await trade(f, book, bob, id, -s.step);
          await trade(f, book, bob, id, -(s.bob - s.step), true);
          const r = await liquidate(f, book, keeper, alice.address);
          expect(r.positions[0].price, "liquidated at the usable price").to.equal(px(usdPrice));
        } else {
          await notUsable(
            f,
            f.perp.connect(bob).modifyPosition(id, -s.step, 0n),
            asset,
            Action.REDUCE,
            fault.status,
          );
          await notUsable(f, f.perp.connect(bob).closePosition(id, 0n), asset, Action.CLOSE, fault.status);
          await notUsable(
            f,
            f.perp.connect(keeper).liquidate(alice.address),
            asset,
            Action.LIQUIDATE,
            fault.status,
          );
          await book.check(f);
        }
      });
    }
  });

  describe("liquidate: negative-balance policies", function () {
    it("liquidate: under RECOURSE the deficit becomes the account's debt; its margin restarts at zero; deposits repay the debt first", async function () {
      const f = await loadRecoursePerps();
      const { alice, keeper } = f.actors;
      await lpDeposit(f, u(1_000_000));
      const book = await Book.sync(f);
      expect(book.recourse).to.equal(true);
      await topUpFund(f, book, u(1_000));
      await deposit(f, book, alice, u(1_600));
      await trade(f, book, alice, f.ETH, size(10));
      await move(f, book, f.ETH, 2500);

      const r = await liquidate(f, book, keeper, alice.address);
      expect(r.deficit).to.be.gt(u(1_000));
      expect(r.recourse).to.equal(r.deficit);
      // The waterfall still covered the whole deficit at once.
      expect(r.fromReserves + r.fromInsurance + r.socialised).to.equal(r.deficit);
      expect(r.fromInsurance).to.equal(u(1_000));
      expect(await f.insuranceFund.recourseDebt(alice.address)).to.equal(r.deficit);
      expect(await f.insuranceFund.totalRecourseDebt()).to.equal(r.deficit);
      expect((await f.perp.badDebt()).recourseRecorded).to.equal(r.deficit);
      expect(await f.perp.marginOf(alice.address)).to.deep.equal([0n, 0n]);

      // While it owes, it opens nothing.
      await expect(f.perp.connect(alice).modifyPosition(f.ETH, size(1), MAX))
        .to.be.revertedWithCustomError(f.perp, "RecourseDebtOutstanding")
        .withArgs(alice.address, r.deficit);

      // A deposit below the debt repays it and credits nothing.
      const first = await deposit(f, book, alice, u(1_000));
      expect(first).to.deep.equal({ toDebt: u(1_000), credited: 0n });
      await book.check(f);
      // A deposit above it clears the debt and credits the rest.
      const second = await deposit(f, book, alice, r.deficit);
      expect(second).to.deep.equal({ toDebt: r.deficit - u(1_000), credited: u(1_000) });
      expect(await f.insuranceFund.recourseDebt(alice.address)).to.equal(0n);
      expect(await f.insuranceFund.totalRecovered()).to.equal(r.deficit);
      await book.check(f);
      await trade(f, book, alice, f.ETH, size("0.1"));
      await book.check(f);
    });

    it("liquidate: under PROTECTED the account is reset to zero margin and owes nothing", async function () {
      const f = await loadPerps();
      const { alice, keeper } = f.actors;
      await lpDeposit(f, u(1_000_000));
      const book = await Book.sync(f);
      expect(book.recourse).to.equal(false);
      await topUpFund(f, book, u(1_000));
      await deposit(f, book, alice, u(1_600));
      await trade(f, book, alice, f.ETH, size(10));
      await move(f, book, f.ETH, 2500);

      const r = await liquidate(f, book, keeper, alice.address);
      expect(r.deficit).to.be.gt(u(1_000));
      expect(r.recourse).to.equal(0n);
      expect(r.fromReserves + r.fromInsurance + r.socialised).to.equal(r.deficit);
      expect(await f.perp.marginOf(alice.address)).to.deep.equal([0n, 0n]);
      expect(await f.insuranceFund.recourseDebt(alice.address)).to.equal(0n);
      expect(await f.insuranceFund.totalRecourseDebt()).to.equal(0n);
      expect((await f.perp.badDebt()).recourseRecorded).to.equal(0n);

      // A new deposit is credited in full, and the account may trade again.
      expect(await deposit(f, book, alice, u(1_000))).to.deep.equal({ toDebt: 0n, credited: u(1_000) });
      await trade(f, book, alice, f.ETH, size("0.1"));
      await book.check(f);
    });
  });
});
