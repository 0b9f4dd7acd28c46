/**
 * PerpMarket's trading and margin entry points, branch by branch: depositMargin, withdrawMargin,
 * modifyPosition (open, increase, reduce, close, flip, every revert), closePosition, cross margin and the
 * RECOURSE policy's debt gate.
 *
 * Exactness: a small in-file ledger (`Mirror`) replays every trade with the shared mirror of the contract's
 * math (test/helpers/perps.ts: fillPrice, tradeFee, fundingRate, accrue, positionValue, margins) and
 * predicts each PositionModified to the base unit, every margin, the pool's capital and pending insurance,
 * each market's open interest and funding index. Funding accrues every second, so each trade is replayed
 * at the timestamp of the block it was mined in. Reverts whose arguments depend on time are sent at a
 * timestamp fixed in advance (`sendAt`), or run on a market whose skew is zero (no funding at all).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { takeSnapshot, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionResponse } from "ethers";

import { localPerpsConfig } from "../../deploy/config";
import { Action, FeedMode, PriceStatus } from "../../deploy/enums";
import { wad } from "../../deploy/units";
import { setPrice } from "../helpers/feeds";
import {
  accrue,
  expectPerpBooks,
  fillPrice,
  fundingRate,
  loadPerps,
  loadRecoursePerps,
  margins,
  paramsOf,
  positionValue,
  px,
  setEth,
  size,
  tradeFee,
  u,
  WAD,
  type MarketParams,
  type PerpFixture,
} from "../helpers/perps";

const MAX = ethers.MaxUint256;
const INSURANCE_FEE_SHARE = wad(localPerpsConfig().global.insuranceFeeShare);
const ETH_PARAMS = paramsOf("WETH");
const ACTIVE = 0;
const HALTED = 1;
const DELISTED = 2;

/* THE LEDGER MIRROR */

interface MarketMirror {
  longOI: bigint;
  shortOI: bigint;
  index: bigint;
  last: bigint;
  params: MarketParams;
  status: number;
  finalPrice: bigint;
  /** The oracle price the tests set. */
  price: bigint;
}

interface PosMirror {
  size: bigint;
  entry: bigint;
  index: bigint;
}

interface TradeOutcome {
  fill: bigint;
  fee: bigint;
  realised: bigint;
  newSize: bigint;
}

const NO_POSITION: PosMirror = { size: 0n, entry: 0n, index: 0n };

/** PerpMarket's books replayed in TypeScript. */
class Mirror {
  mk: MarketMirror[] = [];
  pos = new Map<string, PosMirror>();
  margin = new Map<string, bigint>();
  capital = 0n;
  pending = 0n;

  static async of(f: PerpFixture): Promise<Mirror> {
    const m = new Mirror();
    const count = Number(await f.perp.marketCount());
    for (let id = 0; id < count; id++) {
      const v = await f.perp.marketView(id);
      const [price] = await f.router.peek(v.asset);
      m.mk.push({
        longOI: v.longOI,
        shortOI: v.shortOI,
        index: v.fundingIndex,
        last: v.lastFundingTime,
        params: toParams(v.params),
        status: Number(v.status),
        finalPrice: v.finalPrice,
        price,
      });
    }
    [m.capital, m.pending] = await f.perp.pool();
    return m;
  }

  clone(): Mirror {
    const c = new Mirror();
    c.mk = this.mk.map((x) => ({ ...x }));
    c.pos = new Map([...this.pos].map(([k, v]) => [k, { ...v }]));
    c.margin = new Map(this.margin);
    c.capital = this.capital;
    c.pending = this.pending;
    return c;
  }

  p(account: string, id: number): PosMirror {
    return this.pos.get(`${account}:${id}`) ?? NO_POSITION;
  }

  m(account: string): bigint {
    return this.margin.get(account) ?? 0n;
  }

  mask(account: string): bigint {
    let bits = 0n;
    for (let id = 0; id < this.mk.length; id++) if (this.p(account, id).size !== 0n) bits |= 1n << BigInt(id);
    return bits;
  }

  skew(id: number) {
    return this.mk[id].longOI - this.mk[id].shortOI;
  }

  rate(id: number) {
    const k = this.mk[id];
    return fundingRate(this.skew(id), k.params.skewScale, k.params.maxFundingRate);
  }

  deposit(account: string, amount: bigint) {
    this.margin.set(account, this.m(account) + amount);
  }

  withdraw(account: string, amount: bigint) {
    this.margin.set(account, this.m(account) - amount);
  }

  /** PerpMarket._accrueFunding at block time `ts`. */
  accrue(id: number, ts: bigint) {
    const k = this.mk[id];
    const elapsed = ts - k.last;
    if (elapsed === 0n || k.status === DELISTED) return;
    const rate = this.rate(id);
    k.last = ts;
    if (rate !== 0n) k.index = accrue(k.index, rate, elapsed, k.price);
  }

  /** PerpMarket._indexNow. */
  indexNow(id: number, ts: bigint) {
    const k = this.mk[id];
    if (k.status === DELISTED) return k.index;
    return accrue(k.index, this.rate(id), ts - k.last, k.price);
  }

  /** setMarketParams: accrues at the old rate (or restarts the clock), then the new parameters. */
  setParams(id: number, params: MarketParams, ts: bigint) {
    const k = this.mk[id];
    if (this.rate(id) !== 0n && k.status !== DELISTED) this.accrue(id, ts);
    else k.last = ts;
    k.params = params;
  }

  delist(id: number, ts: bigint) {
    this.accrue(id, ts);
    this.mk[id].status = DELISTED;
    this.mk[id].finalPrice = this.mk[id].price;
  }

  private moveOI(id: number, sz: bigint, sign: 1n | -1n) {
    const k = this.mk[id];
    if (sz > 0n) k.longOI += sign * sz;
    else if (sz < 0n) k.shortOI += sign * -sz;
  }

  /** PerpMarket._trade at block time `ts`. */
  trade(account: string, id: number, delta: bigint, ts: bigint): TradeOutcome {
    const k = this.mk[id];
    this.accrue(id, ts);
    const delisted = k.status === DELISTED;
    const fill = delisted ? k.finalPrice : fillPrice(k.price, this.skew(id), delta, k.params.skewScale);
    const fee = delisted ? 0n : tradeFee(delta, fill, k.params.tradingFee);
    const old = this.p(account, id);
    const realised = old.size === 0n ? 0n : positionValue(old.size, old.entry, old.index, fill, k.index);
    this.moveOI(id, old.size, -1n);
    const newSize = old.size + delta;
    if (newSize === 0n) this.pos.delete(`${account}:${id}`);
    else {
      this.pos.set(`${account}:${id}`, { size: newSize, entry: fill, index: k.index });
      this.moveOI(id, newSize, 1n);
    }
    this.margin.set(account, this.m(account) + realised - fee);
    const toInsurance = (fee * INSURANCE_FEE_SHARE) / WAD;
    this.capital += -realised + fee - toInsurance;
    this.pending += toInsurance;
    return { fill, fee, realised, newSize };
  }

  /** An account's equity and margins at the oracle prices, funding to `ts` (PerpMarket._risk). */
  risk(account: string, ts: bigint) {
    let equity = this.m(account);
    let im = 0n;
    let mm = 0n;
    let notional = 0n;
    for (let id = 0; id < this.mk.length; id++) {
      const p = this.p(account, id);
      if (p.size === 0n) continue;
      const k = this.mk[id];
      const price = k.status === DELISTED ? k.finalPrice : k.price;
      equity += positionValue(p.size, p.entry, p.index, price, this.indexNow(id, ts));
      const r = margins(k.params, p.size, price);
      im += r.im;
      mm += r.mm;
      notional += r.notional;
    }
    return { equity, im, mm, notional };
  }

  /** `risk` for a view call whose block time is not known: every market the account is in has no skew. */
  riskSkewless(account: string) {
    for (let id = 0; id < this.mk.length; id++) {
      if (this.p(account, id).size !== 0n)
        expect(this.rate(id), `market ${id} has a funding rate`).to.equal(0n);
    }
    return this.risk(account, 0n);
  }
}

function toParams(r: MarketParams): MarketParams {
  return {
    initialMargin: r.initialMargin,
    maintenanceMargin: r.maintenanceMargin,
    tradingFee: r.tradingFee,
    liquidationFee: r.liquidationFee,
    marginScale: r.marginScale,
    skewScale: r.skewScale,
    maxLongOI: r.maxLongOI,
    maxShortOI: r.maxShortOI,
    maxFundingRate: r.maxFundingRate,
    adlPnlFactor: r.adlPnlFactor,
  };
}

/* HELPERS */

/** A decoded struct or tuple as plain (nested) arrays, for deep equality. */
const plain = (x: unknown): unknown => (Array.isArray(x) ? [...x].map(plain) : x);

interface Ctx {
  f: PerpFixture;
  m: Mirror;
  all: string[];
}

async function setup(recourse = false): Promise<Ctx> {
  const f = recourse ? await loadRecoursePerps() : await loadPerps();
  const m = await Mirror.of(f);
  const all = Object.values(f.actors).map((a) => a.address);
  return { f, m, all };
}

async function tsOf(tx: ContractTransactionResponse): Promise<bigint> {
  const receipt = await tx.wait();
  const block = await ethers.provider.getBlock(receipt!.blockNumber);
  return BigInt(block!.timestamp);
}

async function latestTs(): Promise<bigint> {
  return BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
}

/** Every account's margin and positions, the pool and each market's state equal the mirror's. */
async function expectMirror(c: Ctx) {
  const { f, m } = c;
  for (const a of c.all) {
    const [margin, mask] = await f.perp.marginOf(a);
    expect(margin, `margin of ${a}`).to.equal(m.m(a));
    expect(mask, `markets of ${a}`).to.equal(m.mask(a));
    for (let id = 0; id < m.mk.length; id++) {
      const want = m.p(a, id);
      if (want.size === 0n && !(mask & (1n << BigInt(id)))) continue;
      const v = await f.perp.positionView(a, id);
      expect(v.size, `size of ${a} in ${id}`).to.equal(want.size);
      expect(v.entryPrice, `entry of ${a} in ${id}`).to.equal(want.entry);
    }
  }
  const [capital, pending] = await f.perp.pool();
  expect(capital, "pool capital").to.equal(m.capital);
  expect(pending, "pending insurance").to.equal(m.pending);
  for (let id = 0; id < m.mk.length; id++) {
    const v = await f.perp.marketView(id);
    const k = m.mk[id];
    expect(v.longOI, `longOI ${id}`).to.equal(k.longOI);
    expect(v.shortOI, `shortOI ${id}`).to.equal(k.shortOI);
    expect(v.fundingIndex, `funding index ${id}`).to.equal(k.index);
    expect(v.lastFundingTime, `last funding time ${id}`).to.equal(k.last);
    expect(Number(v.status), `status ${id}`).to.equal(k.status);
  }
}

/** Mirror and books: everything the engine holds is accounted for. */
async function expectAll(c: Ctx) {
  await expectMirror(c);
  await expectPerpBooks(c.f, c.all);
}

async function deposit(c: Ctx, who: HardhatEthersSigner, amount: bigint) {
  await c.f.perp.connect(who).depositMargin(amount, who.address);
  c.m.deposit(who.address, amount);
}

async function lpDeposit(c: Ctx, amount: bigint) {
  await c.f.vault.connect(c.f.actors.lp).deposit(amount, c.f.actors.lp.address);
  c.m.capital += amount;
}

/** A market order (no price limit) checked against the mirror: the PositionModified event to the unit. */
async function trade(c: Ctx, who: HardhatEthersSigner, id: number, delta: bigint, limit?: bigint) {
  const viewFill = await c.f.perp.fillPrice(id, delta);
  const tx = await c.f.perp.connect(who).modifyPosition(id, delta, limit ?? (delta > 0n ? MAX : 0n));
  return expectTrade(c, tx, who, id, delta, viewFill);
}

async function close(c: Ctx, who: HardhatEthersSigner, id: number) {
  const delta = -c.m.p(who.address, id).size;
  const viewFill = await c.f.perp.fillPrice(id, delta);
  const tx = await c.f.perp.connect(who).closePosition(id, delta > 0n ? MAX : 0n);
  return expectTrade(c, tx, who, id, delta, viewFill);
}

async function expectTrade(
  c: Ctx,
  tx: ContractTransactionResponse,
  who: HardhatEthersSigner,
  id: number,
  delta: bigint,
  viewFill: bigint,
): Promise<TradeOutcome> {
  const ts = await tsOf(tx);
  const o = c.m.trade(who.address, id, delta, ts);
  expect(viewFill, "fillPrice() view before the trade").to.equal(o.fill);
  await expect(tx)
    .to.emit(c.f.perp, "PositionModified")
    .withArgs(who.address, id, delta, o.fill, o.fee, o.realised, o.newSize);
  return o;
}

async function ethTo(c: Ctx, usd: number) {
  await setEth(c.f, usd);
  c.m.mk[c.f.ETH].price = px(usd);
}

async function btcTo(c: Ctx, usd: number) {
  await setPrice(c.f.assets.WBTC, usd);
  c.m.mk[c.f.BTC].price = px(usd);
}

/**
 * The mirror after a trade that has not happened (for a revert's arguments). Time-free: the account's
 * markets have no skew before it, so nothing accrues and no funding is owed.
 */
function previewTrade(c: Ctx, who: HardhatEthersSigner, id: number, delta: bigint): Mirror {
  for (let i = 0; i < c.m.mk.length; i++) {
    if (i === id || c.m.p(who.address, i).size !== 0n) expect(c.m.rate(i), `market ${i} skewed`).to.equal(0n);
  }
  const preview = c.m.clone();
  preview.trade(who.address, id, delta, preview.mk[id].last);
  return preview;
}

/** The mirror after a trade mined at block time `at` (for a revert sent with `sendAt`). */
function previewTradeAt(c: Ctx, who: HardhatEthersSigner, id: number, delta: bigint, at: bigint): Mirror {
  const preview = c.m.clone();
  preview.trade(who.address, id, delta, at);
  return preview;
}

/** Sends `send` mined at block time `ts` (explicit gas: no estimate in another block). */
async function sendAt<T>(ts: bigint, send: (o: { gasLimit: number }) => Promise<T>): Promise<T> {
  await time.setNextBlockTimestamp(ts);
  return send({ gasLimit: 3_000_000 });
}

/* TESTS */

describe("perps: trading and margin", function () {
  describe("depositMargin", function () {
    it("depositMargin: reverts with ZeroAmount for a zero deposit", async function () {
      const { f } = await setup();
      await expect(
        f.perp.connect(f.actors.alice).depositMargin(0, f.actors.alice.address),
      ).to.be.revertedWithCustomError(f.perp, "ZeroAmount");
    });

    it("depositMargin: reverts with ZeroAddress for a zero onBehalf", async function () {
      const { f } = await setup();
      await expect(
        f.perp.connect(f.actors.alice).depositMargin(u(1), ethers.ZeroAddress),
      ).to.be.revertedWithCustomError(f.perp, "ZeroAddress");
    });

    it("depositMargin: credits the margin, pulls the tokens and emits MarginDeposited", async function () {
      const c = await setup();
      const { f } = c;
      const { alice } = f.actors;
      const before = await f.base.erc20.balanceOf(alice.address);
      await expect(f.perp.connect(alice).depositMargin(u(1234.567891), alice.address))
        .to.emit(f.perp, "MarginDeposited")
        .withArgs(alice.address, alice.address, u(1234.567891));
      c.m.deposit(alice.address, u(1234.567891));
      expect(await f.base.erc20.balanceOf(alice.address)).to.equal(before - u(1234.567891));
      expect(await f.base.erc20.balanceOf(await f.perp.getAddress())).to.equal(u(1234.567891));
      await expectAll(c);
    });

    it("depositMargin: on behalf of another account credits that account, paid by the caller", async function () {
      const c = await setup();
      const { f } = c;
      const { alice, bob } = f.actors;
      const bobBefore = await f.base.erc20.balanceOf(bob.address);
      const aliceBefore = await f.base.erc20.balanceOf(alice.address);
      await expect(f.perp.connect(bob).depositMargin(u(500), alice.address))
        .to.emit(f.perp, "MarginDeposited")
        .withArgs(bob.address, alice.address, u(500));
      c.m.deposit(alice.address, u(500));
      expect(await f.base.erc20.balanceOf(bob.address)).to.equal(bobBefore - u(500));
      expect(await f.base.erc20.balanceOf(alice.address)).to.equal(aliceBefore);
      expect((await f.perp.marginOf(bob.address)).margin).to.equal(0n);
      await expectAll(c);
    });

    it("depositMargin: needs no price and is never paused (paused engine, stale feeds)", async function () {
      const c = await setup();
      const { f } = c;
      await f.perp.setPaused(true);
      await f.assets.WETH.primaryFeed.mock!.goStale(100_000);
      await f.assets.WETH.fallbackFeed!.mock!.goStale(200_000);
      await f.assets.WBTC.primaryFeed.mock!.goStale(100_000);
      await expect(f.perp.connect(f.actors.alice).depositMargin(u(10), f.actors.alice.address))
        .to.emit(f.perp, "MarginDeposited")
        .withArgs(f.actors.alice.address, f.actors.alice.address, u(10));
      c.m.deposit(f.actors.alice.address, u(10));
      await expectAll(c);
    });
  });

  describe("withdrawMargin", function () {
    it("withdrawMargin: reverts with ZeroAmount for a zero amount", async function () {
      const c = await setup();
      await deposit(c, c.f.actors.alice, u(100));
      await expect(
        c.f.perp.connect(c.f.actors.alice).withdrawMargin(0, c.f.actors.alice.address),
      ).to.be.revertedWithCustomError(c.f.perp, "ZeroAmount");
    });

    it("withdrawMargin: reverts with ZeroAddress for a zero receiver", async function () {
      const c = await setup();
      await deposit(c, c.f.actors.alice, u(100));
      await expect(
        c.f.perp.connect(c.f.actors.alice).withdrawMargin(u(1), ethers.ZeroAddress),
      ).to.be.revertedWithCustomError(c.f.perp, "ZeroAddress");
    });

    it("withdrawMargin: reverts with MarketPaused while the engine is paused, and works once resumed", async function () {
      const c = await setup();
      const { alice } = c.f.actors;
      await deposit(c, alice, u(100));
      await c.f.perp.setPaused(true);
      await expect(c.f.perp.connect(alice).withdrawMargin(u(1), alice.address)).to.be.revertedWithCustomError(
        c.f.perp,
        "MarketPaused",
      );
      await c.f.perp.setPaused(false);
      await expect(c.f.perp.connect(alice).withdrawMargin(u(1), alice.address))
        .to.emit(c.f.perp, "MarginWithdrawn")
        .withArgs(alice.address, alice.address, u(1));
    });

    it("withdrawMargin: reverts with InsufficientMarginBalance beyond the margin of an account without positions", async function () {
      const c = await setup();
      const { alice } = c.f.actors;
      await deposit(c, alice, u(100));
      await expect(c.f.perp.connect(alice).withdrawMargin(u(100) + 1n, alice.address))
        .to.be.revertedWithCustomError(c.f.perp, "InsufficientMarginBalance")
        .withArgs(u(100) + 1n, u(100));
    });

    it("withdrawMargin: max uint withdraws the whole margin of an account without positions, to another receiver", async function () {
      const c = await setup();
      const { alice, carol } = c.f.actors;
      await deposit(c, alice, u(777));
      const before = await c.f.base.erc20.balanceOf(carol.address);
      await expect(c.f.perp.connect(alice).withdrawMargin(MAX, carol.address))
        .to.emit(c.f.perp, "MarginWithdrawn")
        .withArgs(alice.address, carol.address, u(777));
      c.m.withdraw(alice.address, u(777));
      expect(await c.f.base.erc20.balanceOf(carol.address)).to.equal(before + u(777));
      await expectAll(c);
      // Nothing left: max asks for zero, which is refused.
      await expect(c.f.perp.connect(alice).withdrawMargin(MAX, alice.address))
        .to.be.revertedWithCustomError(c.f.perp, "InsufficientMarginBalance")
        .withArgs(0, 0);
    });

    /** alice 10 ETH long at ~20x, bob the same short: no skew, so no funding and time-free numbers. */
    async function hedgedEthLong() {
      const c = await setup();
      const { alice, bob } = c.f.actors;
      await lpDeposit(c, u(1_000_000));
      await deposit(c, alice, u(2_000));
      await deposit(c, bob, u(100_000));
      await trade(c, alice, c.f.ETH, size(10));
      await trade(c, bob, c.f.ETH, -size(10));
      expect(c.m.skew(c.f.ETH)).to.equal(0n);
      await expectAll(c);
      return c;
    }

    it("withdrawMargin: with a position, reverts with InsufficientMarginBalance beyond equity - initial margin", async function () {
      const c = await hedgedEthLong();
      const { alice } = c.f.actors;
      const r = c.m.riskSkewless(alice.address);
      const available = r.equity - BigInt(r.im);
      expect(available < c.m.m(alice.address), "equity - IM binds").to.equal(true);
      expect(available).to.be.gt(0n);
      await expect(c.f.perp.connect(alice).withdrawMargin(available + 1n, alice.address))
        .to.be.revertedWithCustomError(c.f.perp, "InsufficientMarginBalance")
        .withArgs(available + 1n, available);
    });

    it("withdrawMargin: max uint withdraws min(margin, equity - initial margin) when the initial margin binds", async function () {
      const c = await hedgedEthLong();
      const { alice } = c.f.actors;
      const r = c.m.riskSkewless(alice.address);
      const available = r.equity - r.im;
      const before = await c.f.base.erc20.balanceOf(alice.address);
      await expect(c.f.perp.connect(alice).withdrawMargin(MAX, alice.address))
        .to.emit(c.f.perp, "MarginWithdrawn")
        .withArgs(alice.address, alice.address, available);
      c.m.withdraw(alice.address, available);
      expect(await c.f.base.erc20.balanceOf(alice.address)).to.equal(before + available);
      await expectAll(c);
      const v = await c.f.perp.accountView(alice.address);
      expect(v.equity, "equity left == initial margin").to.equal(v.initialMargin);
      expect(v.initialMargin).to.equal(margins(ETH_PARAMS, size(10), px(3000)).im);
      await expect(c.f.perp.connect(alice).withdrawMargin(1, alice.address))
        .to.be.revertedWithCustomError(c.f.perp, "InsufficientMarginBalance")
        .withArgs(1, 0);
    });

    it("withdrawMargin: max uint withdraws the whole margin when equity - initial margin exceeds it (position in profit)", async function () {
      const c = await hedgedEthLong();
      const { alice } = c.f.actors;
      await ethTo(c, 3600);
      const r = c.m.riskSkewless(alice.address);
      const margin = c.m.m(alice.address);
      expect(r.equity - r.im > margin, "margin binds").to.equal(true);
      await expect(c.f.perp.connect(alice).withdrawMargin(margin + 1n, alice.address))
        .to.be.revertedWithCustomError(c.f.perp, "InsufficientMarginBalance")
        .withArgs(margin + 1n, margin);
      await expect(c.f.perp.connect(alice).withdrawMargin(MAX, alice.address))
        .to.emit(c.f.perp, "MarginWithdrawn")
        .withArgs(alice.address, alice.address, margin);
      c.m.withdraw(alice.address, margin);
      await expectAll(c);
      expect((await c.f.perp.marginOf(alice.address)).margin).to.equal(0n);
      expect((await c.f.perp.positionView(alice.address, c.f.ETH)).size).to.equal(size(10));
    });

    it("withdrawMargin: reverts with PriceNotUsable when a position's feed is stale; an account without positions still withdraws", async function () {
      const c = await setup();
      const { alice, bob } = c.f.actors;
      await lpDeposit(c, u(1_000_000));
      await deposit(c, alice, u(20_000));
      await deposit(c, bob, u(1_000));
      await trade(c, alice, c.f.BTC, size("0.5"));
      await c.f.assets.WBTC.primaryFeed.mock!.goStale(4_000);
      await expect(c.f.perp.connect(alice).withdrawMargin(u(1), alice.address))
        .to.be.revertedWithCustomError(c.f.router, "PriceNotUsable")
        .withArgs(c.f.assets.WBTC.address, Action.WITHDRAW_MARGIN, PriceStatus.STALE);
      await expect(c.f.perp.connect(bob).withdrawMargin(u(1_000), bob.address))
        .to.emit(c.f.perp, "MarginWithdrawn")
        .withArgs(bob.address, bob.address, u(1_000));
      c.m.withdraw(bob.address, u(1_000));
      // A fresh round: the position's price is usable again.
      await btcTo(c, 60_000);
      await expect(c.f.perp.connect(alice).withdrawMargin(u(1), alice.address))
        .to.emit(c.f.perp, "MarginWithdrawn")
        .withArgs(alice.address, alice.address, u(1));
      c.m.withdraw(alice.address, u(1));
      await expectAll(c);
    });
  });

  describe("modifyPosition", function () {
    async function funded() {
      const c = await setup();
      const { alice, bob, carol, dave } = c.f.actors;
      await lpDeposit(c, u(5_000_000));
      for (const who of [alice, bob, carol, dave]) await deposit(c, who, u(200_000));
      return c;
    }

    it("modifyPosition: opens a long at the skewed fill price, charges the fee and splits it", async function () {
      const c = await funded();
      const { alice } = c.f.actors;
      const o = await trade(c, alice, c.f.ETH, size(10));
      // Skew 0 -> 10: oracle x (1 + 10 / 2,000,000), rounded up.
      expect(o.fill).to.equal(px("3000.015"));
      expect(o.fee).to.equal(u("15.000075")); // 30,000.15 x 0.05%
      expect(o.realised).to.equal(0n);
      await expectAll(c);
    });

    it("modifyPosition: opens a short below the oracle price", async function () {
      const c = await funded();
      const { bob } = c.f.actors;
      const o = await trade(c, bob, c.f.ETH, -size(20));
      expect(o.fill).to.equal(px("2999.97"));
      expect(o.newSize).to.equal(-size(20));
      await expectAll(c);
    });

    it("modifyPosition: increases, reduces and closes, realising PnL and funding at each fill", async function () {
      const c = await funded();
      const { alice, bob } = c.f.actors;
      await trade(c, alice, c.f.ETH, size(100));
      await expectAll(c);
      await time.increase(1_000);
      await ethTo(c, 3_050);
      const inc = await trade(c, alice, c.f.ETH, size(50));
      expect(inc.realised, "profit and funding of the old 100").to.be.gt(0n);
      await expectAll(c);
      await trade(c, bob, c.f.ETH, -size(30));
      await time.increase(1_500);
      await ethTo(c, 2_990);
      const red = await trade(c, alice, c.f.ETH, -size(60));
      expect(red.realised, "a loss").to.be.lt(0n);
      expect(red.newSize).to.equal(size(90));
      await expectAll(c);
      await time.increase(700);
      const cl = await trade(c, alice, c.f.ETH, -size(90));
      expect(cl.newSize).to.equal(0n);
      expect((await c.f.perp.marginOf(alice.address)).marketsIn).to.equal(0n);
      await expectAll(c);
    });

    it("modifyPosition: a flip realises the old side and enters the new one at the same fill", async function () {
      const c = await funded();
      const { alice } = c.f.actors;
      await trade(c, alice, c.f.ETH, size(10));
      await time.increase(300);
      await ethTo(c, 3_100);
      const o = await trade(c, alice, c.f.ETH, -size(25));
      expect(o.newSize).to.equal(-size(15));
      expect(o.realised).to.be.gt(0n);
      const v = await c.f.perp.positionView(alice.address, c.f.ETH);
      expect(v.entryPrice).to.equal(o.fill);
      await expectAll(c);
    });

    it("modifyPosition: a flip is risk-adding: refused in a halted market, when paused, and without the initial margin", async function () {
      const c = await funded();
      const { alice, stranger } = c.f.actors;
      await trade(c, alice, c.f.ETH, size(10));
      await c.f.perp.setHalted(c.f.ETH, true);
      await expect(c.f.perp.connect(alice).modifyPosition(c.f.ETH, -size(11), 0))
        .to.be.revertedWithCustomError(c.f.perp, "MarketNotActive")
        .withArgs(c.f.ETH, HALTED);
      await c.f.perp.setHalted(c.f.ETH, false);
      await c.f.perp.setPaused(true);
      await expect(
        c.f.perp.connect(alice).modifyPosition(c.f.ETH, -size(11), 0),
      ).to.be.revertedWithCustomError(c.f.perp, "MarketPaused");
      await c.f.perp.setPaused(false);

      // A thin account: 10 ETH long with just its initial margin cannot flip to a 10 ETH short.
      await deposit(c, stranger, u(1_520));
      await trade(c, stranger, c.f.ETH, size(10));
      const at = (await latestTs()) + 30n;
      const preview = previewTradeAt(c, stranger, c.f.ETH, -size(20), at);
      const r = preview.risk(stranger.address, at);
      expect(r.equity < r.im, "the flip needs more than the account has").to.equal(true);
      await expect(sendAt(at, (o) => c.f.perp.connect(stranger).modifyPosition(c.f.ETH, -size(20), 0, o)))
        .to.be.revertedWithCustomError(c.f.perp, "InsufficientMargin")
        .withArgs(r.equity, r.im);
      // The same size closing (not flipping) is allowed.
      await trade(c, stranger, c.f.ETH, -size(10));
      await expectAll(c);
    });

    it("modifyPosition: reverts with ZeroAmount for a zero size", async function () {
      const c = await funded();
      await expect(
        c.f.perp.connect(c.f.actors.alice).modifyPosition(c.f.ETH, 0, MAX),
      ).to.be.revertedWithCustomError(c.f.perp, "ZeroAmount");
    });

    it("modifyPosition: reverts with MarketNotListed for an unknown market id", async function () {
      const c = await funded();
      await expect(c.f.perp.connect(c.f.actors.alice).modifyPosition(2, size(1), MAX))
        .to.be.revertedWithCustomError(c.f.perp, "MarketNotListed")
        .withArgs(2);
    });

    it("modifyPosition: reverts with PriceLimitExceeded for a buy filling above its limit, fills at the limit", async function () {
      const c = await funded();
      const { alice, bob } = c.f.actors;
      await trade(c, bob, c.f.ETH, size(40)); // a skew, so the premium is not trivial
      const want = fillPrice(px(3000), c.m.skew(c.f.ETH), size(7), ETH_PARAMS.skewScale);
      await expect(c.f.perp.connect(alice).modifyPosition(c.f.ETH, size(7), want - 1n))
        .to.be.revertedWithCustomError(c.f.perp, "PriceLimitExceeded")
        .withArgs(want, want - 1n);
      const o = await trade(c, alice, c.f.ETH, size(7), want);
      expect(o.fill).to.equal(want);
      await expectAll(c);
    });

    it("modifyPosition: reverts with PriceLimitExceeded for a sell filling below its limit, fills at the limit", async function () {
      const c = await funded();
      const { alice, bob } = c.f.actors;
      await trade(c, bob, c.f.ETH, -size(40));
      const want = fillPrice(px(3000), c.m.skew(c.f.ETH), -size(7), ETH_PARAMS.skewScale);
      await expect(c.f.perp.connect(alice).modifyPosition(c.f.ETH, -size(7), want + 1n))
        .to.be.revertedWithCustomError(c.f.perp, "PriceLimitExceeded")
        .withArgs(want, want + 1n);
      const o = await trade(c, alice, c.f.ETH, -size(7), want);
      expect(o.fill).to.equal(want);
      await expectAll(c);
    });

    async function capped(long: bigint, short: bigint) {
      const c = await funded();
      const params = { ...ETH_PARAMS, maxLongOI: long, maxShortOI: short };
      const tx = await c.f.perp.setMarketParams(c.f.ETH, params);
      c.m.setParams(c.f.ETH, params, await tsOf(tx));
      return c;
    }

    it("modifyPosition: reverts with OpenInterestCapExceeded above the long cap; the short side is separate", async function () {
      const c = await capped(size(100), size(30));
      const { alice, bob, carol } = c.f.actors;
      await trade(c, alice, c.f.ETH, size(60));
      await trade(c, bob, c.f.ETH, size(40)); // exactly at the cap
      await expect(c.f.perp.connect(carol).modifyPosition(c.f.ETH, 1n, MAX))
        .to.be.revertedWithCustomError(c.f.perp, "OpenInterestCapExceeded")
        .withArgs(c.f.ETH, size(100), size(100) + 1n);
      await expect(c.f.perp.connect(alice).modifyPosition(c.f.ETH, size(1), MAX))
        .to.be.revertedWithCustomError(c.f.perp, "OpenInterestCapExceeded")
        .withArgs(c.f.ETH, size(100), size(101));
      // Shorts have their own cap.
      await trade(c, carol, c.f.ETH, -size(30));
      await expect(c.f.perp.connect(carol).modifyPosition(c.f.ETH, -1n, 0))
        .to.be.revertedWithCustomError(c.f.perp, "OpenInterestCapExceeded")
        .withArgs(c.f.ETH, size(30), size(30) + 1n);
      await expectAll(c);
    });

    it("modifyPosition: reverts with OpenInterestCapExceeded when a flip's new side is over its cap", async function () {
      const c = await capped(size(100), size(30));
      const { alice } = c.f.actors;
      await trade(c, alice, c.f.ETH, size(50));
      await expect(c.f.perp.connect(alice).modifyPosition(c.f.ETH, -size(81), 0))
        .to.be.revertedWithCustomError(c.f.perp, "OpenInterestCapExceeded")
        .withArgs(c.f.ETH, size(30), size(31));
      await trade(c, alice, c.f.ETH, -size(80)); // flips to exactly the short cap
      await expectAll(c);
    });

    it("modifyPosition: after a cap cut below the open interest, reductions and closes still run; increases do not", async function () {
      const c = await funded();
      const { alice, bob } = c.f.actors;
      await trade(c, alice, c.f.ETH, size(60));
      await trade(c, bob, c.f.ETH, size(40));
      const params = { ...ETH_PARAMS, maxLongOI: size(50) };
      const tx = await c.f.perp.setMarketParams(c.f.ETH, params);
      c.m.setParams(c.f.ETH, params, await tsOf(tx));
      await trade(c, alice, c.f.ETH, -size(10)); // OI 90, still above 50
      await expect(c.f.perp.connect(bob).modifyPosition(c.f.ETH, size(1), MAX))
        .to.be.revertedWithCustomError(c.f.perp, "OpenInterestCapExceeded")
        .withArgs(c.f.ETH, size(50), size(91));
      await close(c, bob, c.f.ETH);
      await close(c, alice, c.f.ETH);
      await expectAll(c);
    });

    it("modifyPosition: reverts with InsufficientMargin with the exact equity and the size-grown initial margin", async function () {
      const c = await setup();
      const { alice } = c.f.actors;
      // 1,000 ETH at 3,000: notional 3,000,000; the margin fraction grows by 1,000 / 100,000 = 1%.
      const s = size(1_000);
      const im = margins(ETH_PARAMS, s, px(3000)).im;
      expect(im, "5% x 1.01 of 3,000,000").to.equal(u(151_500));
      const fill = fillPrice(px(3000), 0n, s, ETH_PARAMS.skewScale);
      expect(fill).to.equal(px("3001.5"));
      const fee = tradeFee(s, fill, ETH_PARAMS.tradingFee);
      expect(fee).to.equal(u("1500.75"));
      const pnl = positionValue(s, fill, 0n, px(3000), 0n);
      expect(pnl).to.equal(-u(1_500));
      // Enough for 5% plus fee and impact, but not for the growth.
      const needed = im + fee - pnl;
      await deposit(c, alice, needed - 1n);
      await expect(c.f.perp.connect(alice).modifyPosition(c.f.ETH, s, MAX))
        .to.be.revertedWithCustomError(c.f.perp, "InsufficientMargin")
        .withArgs(im - 1n, im);
      // The base unit that was missing: equity == initial margin is enough.
      await deposit(c, alice, 1n);
      await trade(c, alice, c.f.ETH, s);
      const v = await c.f.perp.accountView(alice.address);
      expect(v.equity).to.equal(im);
      expect(v.initialMargin).to.equal(im);
      await expectAll(c);
    });

    it("modifyPosition: reverts with InsufficientMargin for an increase, counting the other market's position", async function () {
      const c = await funded();
      const { alice, stranger, bob } = c.f.actors;
      await deposit(c, stranger, u(10_000));
      await trade(c, stranger, c.f.BTC, size(1));
      await trade(c, bob, c.f.BTC, -size(1)); // no BTC skew
      await trade(c, stranger, c.f.ETH, size(5));
      await trade(c, alice, c.f.ETH, -size(5)); // no ETH skew
      const delta = size(40);
      const preview = previewTrade(c, stranger, c.f.ETH, delta);
      const r = preview.risk(stranger.address, preview.mk[c.f.ETH].last);
      expect(r.equity < r.im, "the increase needs more than the account has").to.equal(true);
      await expect(c.f.perp.connect(stranger).modifyPosition(c.f.ETH, delta, MAX))
        .to.be.revertedWithCustomError(c.f.perp, "InsufficientMargin")
        .withArgs(r.equity, r.im);
      await expectAll(c);
    });

    it("modifyPosition: reverts with InsolventAccount when closing the last position leaves negative margin", async function () {
      const c = await funded();
      const { bob, stranger } = c.f.actors;
      await deposit(c, stranger, u(1_600));
      await trade(c, stranger, c.f.ETH, size(10)); // 20x
      await trade(c, bob, c.f.ETH, -size(10)); // no skew: no funding
      await ethTo(c, 2_700);
      const preview = previewTrade(c, stranger, c.f.ETH, -size(10));
      const after = preview.m(stranger.address);
      expect(after).to.be.lt(0n);
      await expect(c.f.perp.connect(stranger).closePosition(c.f.ETH, 0))
        .to.be.revertedWithCustomError(c.f.perp, "InsolventAccount")
        .withArgs(after);
      await expect(c.f.perp.connect(stranger).modifyPosition(c.f.ETH, -size(10), 0))
        .to.be.revertedWithCustomError(c.f.perp, "InsolventAccount")
        .withArgs(after);
      await expectAll(c);
    });

    it("modifyPosition: a reduce may leave negative margin while a position remains; closing the rest is InsolventAccount", async function () {
      const c = await funded();
      const { bob, stranger } = c.f.actors;
      await deposit(c, stranger, u(1_600));
      await trade(c, stranger, c.f.ETH, size(10));
      await trade(c, bob, c.f.ETH, -size(10));
      await ethTo(c, 2_600);
      const o = await trade(c, stranger, c.f.ETH, -size(5));
      expect(o.realised).to.be.lt(0n);
      expect(c.m.m(stranger.address), "margin below zero").to.be.lt(0n);
      await expectAll(c);
      // The skew is now -5: funding runs, so the close is sent at a fixed time.
      const at = (await latestTs()) + 50n;
      const preview = c.m.clone();
      preview.trade(stranger.address, c.f.ETH, -size(5), at);
      await expect(sendAt(at, (o2) => c.f.perp.connect(stranger).closePosition(c.f.ETH, 0, o2)))
        .to.be.revertedWithCustomError(c.f.perp, "InsolventAccount")
        .withArgs(preview.m(stranger.address));
    });

    it("modifyPosition: risk-adding needs an OK price in every market the account is in; reduce and close run on FALLBACK or beside a stale market", async function () {
      const c = await funded();
      const { alice, carol } = c.f.actors;
      await trade(c, alice, c.f.BTC, size("0.5"));
      await trade(c, alice, c.f.ETH, size(10));

      // Another market of the account is stale: no increase, a reduce is fine.
      await c.f.assets.WBTC.primaryFeed.mock!.goStale(4_000);
      await expect(c.f.perp.connect(alice).modifyPosition(c.f.ETH, size(1), MAX))
        .to.be.revertedWithCustomError(c.f.router, "PriceNotUsable")
        .withArgs(c.f.assets.WBTC.address, Action.OPEN, PriceStatus.STALE);
      await trade(c, alice, c.f.ETH, -size(2));
      await expectAll(c);
      await btcTo(c, 60_000);

      // The traded market runs on its fallback feed: no open or increase, reduce and close are fine.
      await c.f.assets.WETH.primaryFeed.mock!.setMode(FeedMode.REVERT);
      await expect(c.f.perp.connect(carol).modifyPosition(c.f.ETH, size(1), MAX))
        .to.be.revertedWithCustomError(c.f.router, "PriceNotUsable")
        .withArgs(c.f.assets.WETH.address, Action.OPEN, PriceStatus.FALLBACK);
      await expect(c.f.perp.connect(alice).modifyPosition(c.f.ETH, size(1), MAX))
        .to.be.revertedWithCustomError(c.f.router, "PriceNotUsable")
        .withArgs(c.f.assets.WETH.address, Action.INCREASE, PriceStatus.FALLBACK);
      await trade(c, alice, c.f.ETH, -size(3));
      await close(c, alice, c.f.ETH);
      await expectAll(c);
    });

    it("modifyPosition: opens are refused with MarketPaused while paused; reduce and close still work", async function () {
      const c = await funded();
      const { alice, carol } = c.f.actors;
      await trade(c, alice, c.f.ETH, size(10));
      await expect(c.f.perp.connect(carol).setPaused(true)).to.be.revertedWithCustomError(
        c.f.perp,
        "AccessControlUnauthorizedAccount",
      );
      await c.f.perp.setPaused(true);
      for (const [who, id, delta] of [
        [carol, c.f.ETH, size(1)],
        [alice, c.f.ETH, size(1)],
        [carol, c.f.BTC, -size("0.1")],
      ] as const) {
        await expect(
          c.f.perp.connect(who).modifyPosition(id, delta, delta > 0n ? MAX : 0),
        ).to.be.revertedWithCustomError(c.f.perp, "MarketPaused");
      }
      await trade(c, alice, c.f.ETH, -size(4));
      await close(c, alice, c.f.ETH);
      await expectAll(c);
    });

    it("modifyPosition: opens and increases are refused with MarketNotActive in a halted market; reduce and close still work", async function () {
      const c = await funded();
      const { alice, carol } = c.f.actors;
      await trade(c, alice, c.f.ETH, size(10));
      await c.f.perp.setHalted(c.f.ETH, true);
      c.m.mk[c.f.ETH].status = HALTED;
      for (const [who, delta] of [
        [carol, size(1)],
        [carol, -size(1)],
        [alice, size(1)],
      ] as const) {
        await expect(c.f.perp.connect(who).modifyPosition(c.f.ETH, delta, delta > 0n ? MAX : 0))
          .to.be.revertedWithCustomError(c.f.perp, "MarketNotActive")
          .withArgs(c.f.ETH, HALTED);
      }
      // The other market is not halted.
      await trade(c, carol, c.f.BTC, size("0.1"));
      await time.increase(100);
      await trade(c, alice, c.f.ETH, -size(3));
      await close(c, alice, c.f.ETH);
      await expectAll(c);
      await c.f.perp.setHalted(c.f.ETH, false);
      c.m.mk[c.f.ETH].status = ACTIVE;
      await trade(c, carol, c.f.ETH, size(1));
      await expectAll(c);
    });

    it("modifyPosition: a delisted market closes and reduces at the final price, without fee, impact or further funding", async function () {
      const c = await funded();
      const { alice, bob, carol } = c.f.actors;
      await trade(c, alice, c.f.ETH, size(10));
      await trade(c, bob, c.f.ETH, -size(4)); // skew 6: funding runs until the delisting
      await time.increase(900);
      await ethTo(c, 3_200);
      const tx = await c.f.perp.delistMarket(c.f.ETH);
      c.m.delist(c.f.ETH, await tsOf(tx));
      await expect(tx).to.emit(c.f.perp, "MarketStatusSet").withArgs(c.f.ETH, DELISTED, px(3_200));
      await expectAll(c);

      // The oracle moves on, and even goes stale: the market settles at 3,200.
      await time.increase(1_200);
      await ethTo(c, 3_500);
      await c.f.assets.WETH.primaryFeed.mock!.goStale(100_000);
      await c.f.assets.WETH.fallbackFeed!.mock!.goStale(200_000);
      expect(await c.f.perp.fillPrice(c.f.ETH, size(1_000))).to.equal(px(3_200));
      expect(await c.f.perp.fillPrice(c.f.ETH, -size(1_000))).to.equal(px(3_200));

      await expect(c.f.perp.connect(carol).modifyPosition(c.f.ETH, size(1), MAX))
        .to.be.revertedWithCustomError(c.f.perp, "MarketNotActive")
        .withArgs(c.f.ETH, DELISTED);
      await expect(c.f.perp.connect(bob).modifyPosition(c.f.ETH, -size(1), 0))
        .to.be.revertedWithCustomError(c.f.perp, "MarketNotActive")
        .withArgs(c.f.ETH, DELISTED);

      const o = await close(c, alice, c.f.ETH);
      expect(o.fill).to.equal(px(3_200));
      expect(o.fee).to.equal(0n);
      const r = await trade(c, bob, c.f.ETH, size(1));
      expect(r.fill).to.equal(px(3_200));
      expect(r.fee).to.equal(0n);
      await close(c, bob, c.f.ETH);
      await expectAll(c);
    });
  });

  describe("fill price and fees", function () {
    it("fill price and fees: a sequence of trades moving the skew matches the mirror to the base unit", async function () {
      const c = await setup();
      const { alice, bob, carol, dave } = c.f.actors;
      await lpDeposit(c, u(3_000_000));
      for (const who of [alice, bob, carol, dave]) await deposit(c, who, u(300_000));
      await expectAll(c);

      const steps: Array<() => Promise<unknown>> = [
        () => trade(c, alice, c.f.ETH, size(100)),
        () => time.increase(1_000),
        () => trade(c, bob, c.f.ETH, -size("30.5")),
        () => ethTo(c, 3_100),
        () => trade(c, carol, c.f.ETH, size(50)),
        () => time.increase(500),
        () => trade(c, alice, c.f.ETH, -size(40)),
        () => ethTo(c, 2_950),
        () => trade(c, dave, c.f.ETH, -size(200)),
        () => time.increase(900),
        () => trade(c, bob, c.f.ETH, size("80.5")),
        () => trade(c, carol, c.f.ETH, -size(50)),
        () => ethTo(c, 3_050),
        () => trade(c, dave, c.f.BTC, size("2.5")),
        () => time.increase(400),
        () => close(c, alice, c.f.ETH),
        () => btcTo(c, 61_234),
        () => trade(c, carol, c.f.BTC, -size("1.25")),
        () => close(c, dave, c.f.ETH),
        () => close(c, dave, c.f.BTC),
      ];
      for (const step of steps) {
        await step();
        await expectAll(c);
      }
      // The funding index moved both ways, and every fee went to the pool and insurance.
      expect(c.m.mk[c.f.ETH].index).to.not.equal(0n);
      expect(c.m.pending).to.be.gt(0n);
    });

    it("fill price and fees: insuranceFeeShare of a fee goes to pending insurance rounded down, the rest to the pool", async function () {
      const c = await setup();
      const { alice } = c.f.actors;
      await deposit(c, alice, u(10_000));
      const delta = size("1.3");
      const fill = fillPrice(px(3000), 0n, delta, ETH_PARAMS.skewScale);
      const fee = tradeFee(delta, fill, ETH_PARAMS.tradingFee);
      expect(fee % 5n, "a fee whose 20% is not whole").to.not.equal(0n);
      const [capital0, pending0] = await c.f.perp.pool();
      const o = await trade(c, alice, c.f.ETH, delta);
      expect(o.fee).to.equal(fee);
      const [capital1, pending1] = await c.f.perp.pool();
      expect(pending1 - pending0).to.equal((fee * INSURANCE_FEE_SHARE) / WAD);
      expect(pending1 - pending0).to.equal(fee / 5n);
      expect(capital1 - capital0).to.equal(fee - fee / 5n);
      expect((await c.f.perp.marginOf(alice.address)).margin).to.equal(u(10_000) - fee);
      await expectAll(c);
    });

    it("fill price and fees: a trade that reduces the skew fills at a better price than the oracle", async function () {
      const c = await setup();
      const { alice, bob, carol, dave } = c.f.actors;
      for (const who of [alice, bob, carol, dave]) await deposit(c, who, u(100_000));
      await lpDeposit(c, u(1_000_000));
      const up = await trade(c, alice, c.f.ETH, size(100));
      expect(up.fill, "adding to the skew pays a premium").to.be.gt(px(3000));
      const sell = await trade(c, bob, c.f.ETH, -size(60));
      expect(sell.fill, "a sell into a long skew fills above the oracle").to.be.gt(px(3000));
      // (2 x 100 - 60) / 2,000,000 of 3,000 above.
      expect(sell.fill).to.equal(px("3000.21"));
      const deep = await trade(c, dave, c.f.ETH, -size(140)); // skew 40 -> -100
      expect(deep.fill).to.equal(px("2999.91"));
      const buy = await trade(c, carol, c.f.ETH, size(30));
      expect(buy.fill, "a buy into a short skew fills below the oracle").to.be.lt(px(3000));
      expect(buy.fill).to.equal(px("2999.7450"));
      await expectAll(c);
    });
  });

  describe("closePosition", function () {
    it("closePosition: reverts with NoPosition without a position", async function () {
      const c = await setup();
      await expect(c.f.perp.connect(c.f.actors.alice).closePosition(c.f.ETH, 0))
        .to.be.revertedWithCustomError(c.f.perp, "NoPosition")
        .withArgs(c.f.actors.alice.address, c.f.ETH);
    });

    it("closePosition: reverts with PriceLimitExceeded like a sell", async function () {
      const c = await setup();
      const { alice } = c.f.actors;
      await deposit(c, alice, u(10_000));
      await trade(c, alice, c.f.ETH, size(2));
      const want = fillPrice(px(3000), size(2), -size(2), ETH_PARAMS.skewScale);
      await expect(c.f.perp.connect(alice).closePosition(c.f.ETH, want + 1n))
        .to.be.revertedWithCustomError(c.f.perp, "PriceLimitExceeded")
        .withArgs(want, want + 1n);
    });

    it("closePosition: equals modifyPosition(-size) at the same block time", async function () {
      const c = await setup();
      const { alice, bob } = c.f.actors;
      await lpDeposit(c, u(1_000_000));
      await deposit(c, alice, u(50_000));
      await deposit(c, bob, u(50_000));
      await trade(c, alice, c.f.ETH, -size(33));
      await trade(c, bob, c.f.ETH, -size(12));
      await time.increase(1_000);
      await ethTo(c, 2_875);
      const at = (await latestTs()) + 20n;
      const run = async (how: "close" | "modify") => {
        await time.setNextBlockTimestamp(at);
        const tx =
          how === "close"
            ? await c.f.perp.connect(alice).closePosition(c.f.ETH, MAX)
            : await c.f.perp.connect(alice).modifyPosition(c.f.ETH, size(33), MAX);
        const receipt = await tx.wait();
        const log = receipt!.logs
          .map((l) => {
            try {
              return c.f.perp.interface.parseLog(l);
            } catch {
              return null;
            }
          })
          .find((l) => l?.name === "PositionModified")!;
        return {
          args: plain(log.args),
          margin: await c.f.perp.marginOf(alice.address),
          pool: await c.f.perp.pool(),
          market: plain(await c.f.perp.marketView(c.f.ETH)),
        };
      };
      const snap = await takeSnapshot();
      const viaClose = await run("close");
      await snap.restore();
      const viaModify = await run("modify");
      expect(viaClose.args).to.deep.equal(viaModify.args);
      expect(plain(viaClose.margin)).to.deep.equal(plain(viaModify.margin));
      expect(plain(viaClose.pool)).to.deep.equal(plain(viaModify.pool));
      expect(viaClose.market).to.deep.equal(viaModify.market);
      // And both equal the mirror.
      const o = c.m.trade(alice.address, c.f.ETH, size(33), at);
      expect(viaModify.args).to.deep.equal([
        alice.address,
        BigInt(c.f.ETH),
        size(33),
        o.fill,
        o.fee,
        o.realised,
        0n,
      ]);
      await expectAll(c);
    });
  });

  describe("cross margin", function () {
    it("cross margin: a loss realised in one market is carried by the margin shared with another market's profit", async function () {
      const c = await setup();
      const { alice, bob } = c.f.actors;
      await lpDeposit(c, u(2_000_000));
      await deposit(c, alice, u(9_000));
      await deposit(c, bob, u(500_000));
      // Both markets hedged by bob: no skew, no funding, so the views are time-free.
      await trade(c, alice, c.f.ETH, size(10));
      await trade(c, alice, c.f.BTC, size(1));
      await trade(c, bob, c.f.ETH, -size(10));
      await trade(c, bob, c.f.BTC, -size(1));
      await expectAll(c);

      const expectView = async () => {
        const r = c.m.riskSkewless(alice.address);
        const v = await c.f.perp.accountView(alice.address);
        expect(v.margin, "margin").to.equal(c.m.m(alice.address));
        expect(v.equity, "equity").to.equal(r.equity);
        expect(v.initialMargin, "initial margin").to.equal(r.im);
        expect(v.maintenanceMargin, "maintenance margin").to.equal(r.mm);
        expect(v.notional, "notional").to.equal(r.notional);
        expect(v.liquidatable).to.equal(r.mm > 0n && r.equity < r.mm);
        expect(v.pricesTrusted).to.equal(true);
        return r;
      };
      const r0 = await expectView();
      const eth = margins(ETH_PARAMS, size(10), px(3000));
      const btc = margins(paramsOf("WBTC"), size(1), px(60000));
      expect(r0.im).to.equal(eth.im + btc.im);
      expect(r0.mm).to.equal(eth.mm + btc.mm);

      await ethTo(c, 2_000); // -10,000 on ETH, more than the margin
      await btcTo(c, 66_000); // +6,000 on BTC
      const r1 = await expectView();
      expect(r1.equity).to.be.gt(r1.mm);

      const o = await trade(c, alice, c.f.ETH, -size(10));
      expect(o.realised).to.be.lt(-u(9_000));
      expect(c.m.m(alice.address), "margin negative, carried by the BTC position").to.be.lt(0n);
      await expectAll(c);
      await expectView();

      // Negative margin: nothing may be withdrawn, whatever the BTC profit.
      await expect(c.f.perp.connect(alice).withdrawMargin(1, alice.address))
        .to.be.revertedWithCustomError(c.f.perp, "InsufficientMarginBalance")
        .withArgs(1, 0);
      await close(c, bob, c.f.ETH); // no ETH skew again
      await expectAll(c);

      await close(c, alice, c.f.BTC);
      expect(c.m.m(alice.address)).to.be.gt(0n);
      await expectAll(c);
      await expect(c.f.perp.connect(alice).withdrawMargin(MAX, alice.address))
        .to.emit(c.f.perp, "MarginWithdrawn")
        .withArgs(alice.address, alice.address, c.m.m(alice.address));
      c.m.withdraw(alice.address, c.m.m(alice.address));
      await expectAll(c);
    });
  });

  describe("recourse", function () {
    /** Under RECOURSE: alice's 20x long is gapped through by -50% and liquidated with a deficit. */
    async function indebted() {
      const c = await setup(true);
      const { alice, bob, keeper } = c.f.actors;
      await lpDeposit(c, u(1_000_000));
      await deposit(c, alice, u(1_600));
      await deposit(c, bob, u(10_000));
      await trade(c, alice, c.f.ETH, size(10));
      await setEth(c.f, 1_500);
      const tx = await c.f.perp.connect(keeper).liquidate(alice.address);
      const receipt = await tx.wait();
      const liquidated = receipt!.logs
        .map((l) => {
          try {
            return c.f.perp.interface.parseLog(l);
          } catch {
            return null;
          }
        })
        .find((l) => l?.name === "AccountLiquidated")!;
      const deficit: bigint = liquidated.args.deficit;
      expect(deficit).to.be.gt(0n);
      expect(await c.f.insuranceFund.recourseDebt(alice.address)).to.equal(deficit);
      expect((await c.f.perp.marginOf(alice.address)).margin).to.equal(0n);
      await expectPerpBooks(c.f, c.all);
      return { c, deficit };
    }

    it("recourse: an account with recourse debt cannot open (RecourseDebtOutstanding)", async function () {
      const { c, deficit } = await indebted();
      const { alice } = c.f.actors;
      for (const [id, delta] of [
        [c.f.ETH, size(1)],
        [c.f.BTC, -size("0.01")],
      ] as const) {
        await expect(c.f.perp.connect(alice).modifyPosition(id, delta, delta > 0n ? MAX : 0))
          .to.be.revertedWithCustomError(c.f.perp, "RecourseDebtOutstanding")
          .withArgs(alice.address, deficit);
      }
    });

    it("recourse: a deposit repays the debt first (RecourseRepaid by the fund), the margin gets only the rest", async function () {
      const { c, deficit } = await indebted();
      const { alice } = c.f.actors;
      const perpAddress = await c.f.perp.getAddress();
      const fundAddress = await c.f.insuranceFund.getAddress();
      const fund0 = await c.f.base.erc20.balanceOf(fundAddress);
      const part = deficit / 3n;

      // Less than the debt: all of it repays, nothing is credited.
      const tx1 = c.f.perp.connect(alice).depositMargin(part, alice.address);
      await expect(tx1)
        .to.emit(c.f.insuranceFund, "RecourseRepaid")
        .withArgs(alice.address, perpAddress, part, deficit - part);
      await expect(tx1).to.not.emit(c.f.perp, "MarginDeposited");
      expect((await c.f.perp.marginOf(alice.address)).margin).to.equal(0n);
      expect(await c.f.insuranceFund.recourseDebt(alice.address)).to.equal(deficit - part);
      expect(await c.f.base.erc20.balanceOf(fundAddress)).to.equal(fund0 + part);
      await expectPerpBooks(c.f, c.all);

      // More than the rest: the rest repays, the remainder is margin.
      const rest = deficit - part;
      const tx2 = c.f.perp.connect(alice).depositMargin(rest + u(2_500), alice.address);
      await expect(tx2)
        .to.emit(c.f.insuranceFund, "RecourseRepaid")
        .withArgs(alice.address, perpAddress, rest, 0);
      await expect(tx2).to.emit(c.f.perp, "MarginDeposited").withArgs(alice.address, alice.address, u(2_500));
      expect((await c.f.perp.marginOf(alice.address)).margin).to.equal(u(2_500));
      expect(await c.f.insuranceFund.recourseDebt(alice.address)).to.equal(0n);
      expect(await c.f.base.erc20.balanceOf(fundAddress)).to.equal(fund0 + deficit);
      await expectPerpBooks(c.f, c.all);

      // Debt-free: she may open again.
      await expect(c.f.perp.connect(alice).modifyPosition(c.f.ETH, size(1), MAX)).to.emit(
        c.f.perp,
        "PositionModified",
      );
      await expectPerpBooks(c.f, c.all);
    });

    it("recourse: a deposit on behalf of an indebted account repays its debt, paid by the depositor", async function () {
      const { c, deficit } = await indebted();
      const { alice, carol } = c.f.actors;
      const perpAddress = await c.f.perp.getAddress();
      const carol0 = await c.f.base.erc20.balanceOf(carol.address);
      const tx = c.f.perp.connect(carol).depositMargin(deficit + 1n, alice.address);
      await expect(tx)
        .to.emit(c.f.insuranceFund, "RecourseRepaid")
        .withArgs(alice.address, perpAddress, deficit, 0);
      await expect(tx).to.emit(c.f.perp, "MarginDeposited").withArgs(carol.address, alice.address, 1);
      expect(await c.f.base.erc20.balanceOf(carol.address)).to.equal(carol0 - deficit - 1n);
      expect((await c.f.perp.marginOf(alice.address)).margin).to.equal(1n);
      await expectPerpBooks(c.f, c.all);
    });
  });
});
