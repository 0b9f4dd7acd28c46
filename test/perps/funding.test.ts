/**
 * PerpMarket funding, end to end: the rate (maxFundingRate x clamp(skew / skewScale, -1, 1), truncated
 * toward zero), the index (rate x oracle price x elapsed seconds / WAD, truncated toward zero, at the skew
 * BEFORE the accruing action), what each position owes (size x index difference, realised at its next
 * trade) and where every unit goes (longs and shorts pay each other per unit of size; the skew's share goes
 * to the pool).
 *
 * Exactness: every expected number comes from an independent TypeScript model of one market (class Book
 * below: OI, index, clock, positions), fed the same trades. Every accrual runs at a timestamp fixed in
 * advance (`time.setNextBlockTimestamp`), so elapsed seconds are exact; views (positionView, accountView)
 * read the latest block's timestamp, which the tests pin with `time.increaseTo`. Feeds are refreshed
 * (setEth at the same or a new price) before every action that needs a price, so they never go STALE.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionReceipt, LogDescription } from "ethers";

import { wad } from "../../deploy/units";
import {
  loadPerps,
  px,
  size,
  u,
  setEth,
  expectPerpBooks,
  fillPrice,
  tradeFee,
  fundingRate as helperFundingRate,
  accrue as helperAccrue,
  positionValue as helperPositionValue,
  margins,
  floorDiv,
  ceilDiv,
  wMulDown,
  abs,
  WAD,
  USD_PER_UNIT,
  type PerpFixture,
  type MarketParams,
} from "../helpers/perps";

/* CONFIGURATION */

const DAY = 86400n;
/** PerpParams.MAX_FUNDING_RATE: 10% of the price a day, WAD per second. */
const MAX_RATE = wad(0.1) / DAY;
/** size x price (WAD x WAD) to base units. */
const WAD_UNIT = WAD * USD_PER_UNIT;
const MAX = ethers.MaxUint256;
const KEEPER_SHARE = wad(0.5); // localPerpsConfig global keeperLiquidationShare
const INSURANCE_FEE_SHARE = wad(0.2); // localPerpsConfig global insuranceFeeShare

/* AN INDEPENDENT MODEL OF ONE MARKET'S FUNDING */

interface Pos {
  size: bigint;
  entry: bigint;
  entryIndex: bigint;
}

interface TradeOutcome {
  accrued: { rate: bigint; index: bigint } | null;
  fill: bigint;
  fee: bigint;
  realised: bigint;
  /** size x (fill - entry) / WAD_UNIT, rounded down (the price part alone). */
  pricePnl: bigint;
  /** size x (index now - index at entry): the funding owed, USD WAD x WAD (exact, not rounded). */
  owedExact: bigint;
  newSize: bigint;
}

/**
 * One market: open interest per side, the funding index and its clock, the oracle price, and every
 * position (size, entry = last fill, index at its last trade). The funding rules are written here from the
 * NatSpec, not imported: rate = maxRate x clamp(skew / skewScale) truncated toward zero (BigInt division
 * truncates toward zero, as Solidity's does); accrual adds rate x elapsed x price / WAD at the skew before
 * the action, and nothing when the rate is zero (the clock moves anyway).
 */
class Book {
  longOI = 0n;
  shortOI = 0n;
  positions = new Map<string, Pos>();

  constructor(
    public params: MarketParams,
    public index: bigint,
    public last: bigint,
    public price: bigint,
  ) {}

  get skew() {
    return this.longOI - this.shortOI;
  }

  rate(): bigint {
    const scale = this.params.skewScale;
    let s = this.skew;
    if (s > scale) s = scale;
    if (s < -scale) s = -scale;
    return (this.params.maxFundingRate * s) / scale;
  }

  /** The index an accrual at `now` would produce (for views). */
  indexAt(now: bigint): bigint {
    return this.index + (this.rate() * (now - this.last) * this.price) / WAD;
  }

  accrue(now: bigint): { rate: bigint; index: bigint } | null {
    const elapsed = now - this.last;
    if (elapsed === 0n) return null;
    this.last = now;
    const rate = this.rate();
    if (rate === 0n) return null;
    this.index += (rate * elapsed * this.price) / WAD;
    return { rate, index: this.index };
  }

  pos(account: string): Pos {
    return this.positions.get(account) ?? { size: 0n, entry: 0n, entryIndex: 0n };
  }

  /** What the position owes now (view): ceil(size x (index - entry index) / WAD_UNIT), base units. */
  fundingOwed(account: string, now: bigint): bigint {
    const p = this.pos(account);
    return ceilDiv(p.size * (this.indexAt(now) - p.entryIndex), WAD_UNIT);
  }

  /** PnL minus funding owed at the oracle price now, base units, rounded down. */
  value(account: string, now: bigint): bigint {
    const p = this.pos(account);
    return floorDiv(p.size * (this.price - p.entry) - p.size * (this.indexAt(now) - p.entryIndex), WAD_UNIT);
  }

  trade(account: string, delta: bigint, now: bigint): TradeOutcome {
    const accrued = this.accrue(now);
    const fill = fillPrice(this.price, this.skew, delta, this.params.skewScale);
    const fee = tradeFee(delta, fill, this.params.tradingFee);
    const old = this.pos(account);
    const owedExact = old.size * (this.index - old.entryIndex);
    const realised = floorDiv(old.size * (fill - old.entry) - owedExact, WAD_UNIT);
    const pricePnl = floorDiv(old.size * (fill - old.entry), WAD_UNIT);
    this.addOI(old.size, -1n);
    const newSize = old.size + delta;
    this.addOI(newSize, 1n);
    if (newSize === 0n) this.positions.delete(account);
    else this.positions.set(account, { size: newSize, entry: fill, entryIndex: this.index });
    return { accrued, fill, fee, realised, pricePnl, owedExact, newSize };
  }

  private addOI(sz: bigint, sign: bigint) {
    if (sz > 0n) this.longOI += sign * sz;
    else this.shortOI += sign * -sz;
  }
}

/* HELPERS */

/** The WETH market's parameters now, with `over` applied. */
async function currentParams(f: PerpFixture, over: Partial<MarketParams> = {}): Promise<MarketParams> {
  const p = (await f.perp.marketView(f.ETH)).params;
  return {
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
    ...over,
  };
}

/** Sets the WETH market's parameters (admin); returns the transaction. */
async function setParams(f: PerpFixture, over: Partial<MarketParams>) {
  return f.perp.setMarketParams(f.ETH, await currentParams(f, over));
}

/**
 * Prepares the chain so that the next transaction is mined at exactly `at`, with fresh feeds at `usd`:
 * jumps to just before `at`, pushes the price on both WETH feeds, and pins the next block's timestamp.
 */
async function prepareAt(f: PerpFixture, at: bigint, usd: number | string) {
  const now = BigInt(await time.latest());
  if (at - now > 60n) await time.increaseTo(at - 30n);
  await setEth(f, usd);
  await time.setNextBlockTimestamp(at);
}

/** Mines an empty block at exactly `at` (the timestamp views then read). */
async function viewAt(at: bigint) {
  await time.increaseTo(at);
}

function events(f: PerpFixture, rc: ContractTransactionReceipt | null, name: string): LogDescription[] {
  const out: LogDescription[] = [];
  for (const log of rc!.logs) {
    if (log.address.toLowerCase() !== f.perp.target.toString().toLowerCase()) continue;
    const parsed = f.perp.interface.parseLog(log);
    if (parsed && parsed.name === name) out.push(parsed);
  }
  return out;
}

/** Checks a receipt's FundingAccrued events against the model's accrual (none when it accrued nothing). */
function expectAccrual(
  f: PerpFixture,
  rc: ContractTransactionReceipt | null,
  accrued: { rate: bigint; index: bigint } | null,
) {
  const evs = events(f, rc, "FundingAccrued");
  if (accrued === null) {
    expect(evs.length, "no FundingAccrued").to.equal(0);
    return;
  }
  expect(evs.length, "one FundingAccrued").to.equal(1);
  expect(evs[0].args.marketId).to.equal(BigInt(f.ETH));
  expect(evs[0].args.rate, "FundingAccrued rate").to.equal(accrued.rate);
  expect(evs[0].args.index, "FundingAccrued index").to.equal(accrued.index);
}

/** Checks the market's funding state against the model. */
async function expectMarket(f: PerpFixture, book: Book) {
  const m = await f.perp.marketView(f.ETH);
  expect(m.fundingIndex, "fundingIndex").to.equal(book.index);
  expect(m.fundingRate, "fundingRate").to.equal(book.rate());
  expect(m.lastFundingTime, "lastFundingTime").to.equal(book.last);
  expect(m.longOI, "longOI").to.equal(book.longOI);
  expect(m.shortOI, "shortOI").to.equal(book.shortOI);
}

/**
 * A trade at exactly `at` (feeds refreshed at the book's price when needed), checked against the model:
 * the accrual event, PositionModified to the unit, the realised funding (realisedPnl minus the price PnL)
 * within one base unit of the exact owed amount, and the market state.
 */
async function trade(f: PerpFixture, book: Book, who: HardhatEthersSigner, delta: bigint, at: bigint) {
  const now = BigInt(await time.latest());
  expect(at > now, "trade time in the future").to.equal(true);
  await time.setNextBlockTimestamp(at);
  const tx = await f.perp.connect(who).modifyPosition(f.ETH, delta, delta > 0n ? MAX : 0n);
  const rc = await tx.wait();
  const exp = book.trade(who.address, delta, at);

  expectAccrual(f, rc, exp.accrued);
  const [pm] = events(f, rc, "PositionModified");
  expect(pm.args.account).to.equal(who.address);
  expect(pm.args.sizeDelta).to.equal(delta);
  expect(pm.args.fillPrice, "fill").to.equal(exp.fill);
  expect(pm.args.fee, "fee").to.equal(exp.fee);
  expect(pm.args.realisedPnl, "realisedPnl").to.equal(exp.realised);
  expect(pm.args.newSize).to.equal(exp.newSize);

  // The funding part of what was realised: realisedPnl minus the price PnL, within a unit of exact.
  const fundingPaid = exp.pricePnl - (pm.args.realisedPnl as bigint);
  expect(abs(fundingPaid * WAD_UNIT - exp.owedExact) <= WAD_UNIT, "realised funding within 1 unit").to.equal(
    true,
  );
  await expectMarket(f, book);
  return { rc, exp, fundingPaid };
}

/** Every open position's fundingOwed (view, at the latest block) against the model. */
async function expectOwed(f: PerpFixture, book: Book, accounts: HardhatEthersSigner[]) {
  const now = BigInt(await time.latest());
  for (const a of accounts) {
    const v = await f.perp.positionView(a.address, f.ETH);
    expect(v.size, `size of ${a.address}`).to.equal(book.pos(a.address).size);
    expect(v.fundingOwed, `fundingOwed of ${a.address}`).to.equal(book.fundingOwed(a.address, now));
  }
}

/** LP capital and margin for `traders`; the market's funding parameters; a model of its state now. */
async function setup(
  f: PerpFixture,
  traders: HardhatEthersSigner[],
  margin: bigint,
  over: Partial<MarketParams>,
  usd: number | string = 3000,
) {
  await f.vault.connect(f.actors.lp).deposit(u(10_000_000), f.actors.lp.address);
  for (const t of traders) await f.perp.connect(t).depositMargin(margin, t.address);
  await setEth(f, usd);
  await setParams(f, over);
  const m = await f.perp.marketView(f.ETH);
  const params = await currentParams(f);
  return new Book(params, m.fundingIndex, m.lastFundingTime, px(usd));
}

/* TESTS */

describe("perps: funding", function () {
  describe("accrual at every trade (against the model)", function () {
    it("trade: the index and each trade's realised funding follow the model over uneven steps and price moves", async function () {
      const f = await loadPerps();
      const { alice, bob, carol } = f.actors;
      const book = await setup(f, [alice, bob, carol], u(2_000_000), {
        skewScale: size(1000),
        maxFundingRate: MAX_RATE,
      });
      const all = [alice, bob, carol];
      let t = BigInt(await time.latest()) + 100n;

      // Step 0: alice opens long 300 at zero skew: the clock moves, nothing accrues.
      await prepareAt(f, t, 3000);
      await trade(f, book, alice, size(300), t);
      // Step 1: a minute later bob shorts 100 (accrues at skew 300).
      t += 60n;
      await trade(f, book, bob, -size(100), t);

      // Step 2: 17 s later carol longs 50; the accrual is at skew 200. Checked by hand:
      // rate = 1157407407407 x 200 / 1000 = 231481481481 (truncated),
      // index += 231481481481 x 17 s x 3000 = 11805555555531000.
      const indexBefore = book.index;
      t += 17n;
      const s2 = await trade(f, book, carol, size(50), t);
      expect(MAX_RATE).to.equal(1157407407407n);
      expect(s2.exp.accrued!.rate).to.equal(231481481481n);
      expect((await f.perp.marketView(f.ETH)).fundingIndex - indexBefore).to.equal(11805555555531000n);
      // ...and the shared mirror in test/helpers agrees with this file's model.
      expect(helperFundingRate(size(200), size(1000), MAX_RATE)).to.equal(231481481481n);
      expect(helperAccrue(indexBefore, 231481481481n, 17n, px(3000))).to.equal(book.index);
      await expectOwed(f, book, all);

      // Step 3: an hour later at a fractional price, alice reduces by 100 (realises 1 h + 77 s of funding).
      t += 3600n;
      book.price = px("3100.12345678");
      await prepareAt(f, t, "3100.12345678");
      const s3 = await trade(f, book, alice, -size(100), t);
      expect(s3.fundingPaid > 0n, "longs pay while the skew is long").to.equal(true);
      await expectOwed(f, book, all);

      // Step 4: 3 h 7 min later, price down, bob shorts 400 more: the skew flips to short.
      t += 3n * 3600n + 7n * 60n;
      book.price = px("2899.87654321");
      await prepareAt(f, t, "2899.87654321");
      await trade(f, book, bob, -size(400), t);
      expect(book.skew).to.equal(-size(250));
      expect((await f.perp.marketView(f.ETH)).fundingRate < 0n, "negative rate for a short skew").to.equal(
        true,
      );

      // Step 5: two days later, carol adds 50 long: the index falls (shorts pay), a negative accrual.
      t += 2n * DAY;
      book.price = px("3050.5");
      await prepareAt(f, t, "3050.5");
      const before5 = book.index;
      await trade(f, book, carol, size(50), t);
      expect(book.index < before5, "index falls under a short skew").to.equal(true);
      await expectOwed(f, book, all);

      // Step 6: 5 min 13 s later alice closes.
      t += 313n;
      await trade(f, book, alice, -size(200), t);
      expect((await f.perp.positionView(alice.address, f.ETH)).size).to.equal(0n);

      // Step 7: a day and an hour later (feeds refreshed at the same price) bob flips short 500 to long 100.
      t += DAY + 3600n;
      await prepareAt(f, t, "3050.5");
      const s7 = await trade(f, book, bob, size(600), t);
      expect(s7.exp.newSize).to.equal(size(100));
      await expectOwed(f, book, [bob, carol]);
      await expectPerpBooks(
        f,
        all.map((a) => a.address),
      );
    });
  });

  describe("where every unit goes", function () {
    it("funding is zero-sum between longs and shorts except the skew's share, which the pool receives, to the base unit", async function () {
      const f = await loadPerps();
      const { alice, bob, carol } = f.actors;
      const traders = [alice, carol, bob];
      const book = await setup(f, traders, u(2_000_000), {
        skewScale: size(1000),
        maxFundingRate: MAX_RATE,
        tradingFee: 0n,
      });
      const marginOf = async (a: HardhatEthersSigner) => (await f.perp.marginOf(a.address)).margin;
      const m0 = await Promise.all(traders.map(marginOf));
      const [c0, pending0] = await f.perp.pool();

      // Longs alice 200 and carol 100, short bob 100, all opened in one block (same entry index), held five
      // days at a constant price, then all closed in one block (same exit index).
      const deltas = [size(200), size(100), -size(100)];
      const inOneBlock = async (at: bigint, ds: bigint[]) => {
        await ethers.provider.send("evm_setAutomine", [false]);
        try {
          const txs = [];
          for (let i = 0; i < traders.length; i++) {
            txs.push(
              await f.perp
                .connect(traders[i])
                .modifyPosition(f.ETH, ds[i], ds[i] > 0n ? MAX : 0n, { gasLimit: 3_000_000 }),
            );
          }
          await ethers.provider.send("evm_mine", [Number(at)]);
          return Promise.all(txs.map((tx) => tx.wait()));
        } finally {
          await ethers.provider.send("evm_setAutomine", [true]);
        }
      };
      const tOpen = BigInt(await time.latest()) + 100n;
      await prepareAt(f, tOpen, 3000);
      const opens = await inOneBlock(tOpen, deltas);
      const outOpen = traders.map((a, i) => book.trade(a.address, deltas[i], tOpen));
      await expectMarket(f, book);
      const entryIndex = book.index;

      const tClose = tOpen + 5n * DAY;
      await prepareAt(f, tClose, 3000);
      const closes = await inOneBlock(
        tClose,
        deltas.map((d) => -d),
      );
      const outClose = traders.map((a, i) => book.trade(a.address, -deltas[i], tClose));
      await expectMarket(f, book);
      // One accrual for the whole period, at the skew of 200 long, in the first close only.
      expect(outClose[0].accrued!.rate).to.equal((MAX_RATE * 200n) / 1000n);
      expectAccrual(f, closes[0], outClose[0].accrued);
      expectAccrual(f, closes[1], null);
      expectAccrual(f, closes[2], null);
      const dIndex = book.index - entryIndex;
      expect(dIndex).to.equal(((MAX_RATE * 200n) / 1000n) * 5n * DAY * 3000n);

      // Each trader: price PnL from the fills (exact: every fill here is a multiple of 1e12), funding paid
      // = price PnL - what the margin moved by.
      const m1 = await Promise.all(traders.map(marginOf));
      const paid: bigint[] = [];
      const pricePnls: bigint[] = [];
      for (let i = 0; i < traders.length; i++) {
        const open = events(f, opens[i], "PositionModified")[0].args;
        const close = events(f, closes[i], "PositionModified")[0].args;
        expect(open.fillPrice).to.equal(outOpen[i].fill);
        expect(close.fillPrice).to.equal(outClose[i].fill);
        expect(open.fee + close.fee).to.equal(0n);
        const priceMove = deltas[i] * ((close.fillPrice as bigint) - (open.fillPrice as bigint));
        expect(priceMove % WAD_UNIT, "price PnL is whole base units").to.equal(0n);
        const pricePnl = priceMove / WAD_UNIT;
        const fundingPaid = pricePnl - (m1[i] - m0[i]);
        // Rounded against the trader: a long pays ceil(size x dIndex), a short receives floor(size x dIndex).
        expect(fundingPaid, `funding paid by trader ${i}`).to.equal(ceilDiv(deltas[i] * dIndex, WAD_UNIT));
        paid.push(fundingPaid);
        pricePnls.push(pricePnl);
      }
      const longsPaid = paid[0] + paid[1];
      const shortsReceived = -paid[2];
      expect(longsPaid > 0n && shortsReceived > 0n).to.equal(true);

      // Zero-sum between the sides: carol's 100 long pays what bob's 100 short receives (bar the one unit
      // each rounding keeps for the pool).
      expect(paid[1] - shortsReceived).to.be.oneOf([0n, 1n]);

      // The pool: its capital moved by minus the traders' price PnL plus the net funding.
      const [c1, pending1] = await f.perp.pool();
      expect(pending1).to.equal(pending0);
      const poolFunding = c1 - c0 + pricePnls.reduce((a, b) => a + b, 0n);
      expect(poolFunding, "pool's funding gain == longs paid - shorts received").to.equal(
        longsPaid - shortsReceived,
      );
      // ...which is the skew's share: skew x dIndex, plus at most one unit per position of rounding.
      const skewShare = floorDiv(size(200) * dIndex, WAD_UNIT);
      expect(poolFunding - skewShare >= 0n && poolFunding - skewShare <= 3n, "skew's share").to.equal(true);
      // Conservation: what the margins lost the pool gained.
      expect(c1 - c0).to.equal(-m1.reduce((a, b, i) => a + b - m0[i], 0n));
      await expectPerpBooks(
        f,
        traders.map((a) => a.address),
      );
    });
  });

  describe("rate cap", function () {
    it("fundingRate: a skew beyond skewScale gives exactly maxFundingRate, and accrues at it", async function () {
      const f = await loadPerps();
      const { alice } = f.actors;
      const book = await setup(f, [alice], u(1_000_000), {}, "3000.12345678");
      let t = BigInt(await time.latest()) + 100n;
      await prepareAt(f, t, "3000.12345678");
      await trade(f, book, alice, size(150), t);

      // Shrink skewScale below the skew: the rate is the cap, exactly.
      t += 50n;
      await time.setNextBlockTimestamp(t);
      await setParams(f, { skewScale: size(100), maxFundingRate: MAX_RATE });
      book.accrue(t);
      book.params = await currentParams(f);
      expect((await f.perp.marketView(f.ETH)).fundingRate).to.equal(MAX_RATE);
      expect(book.rate()).to.equal(MAX_RATE);

      // And the index grows at the cap: 1234 s later (setMarketParams accrues).
      t += 1234n;
      await prepareAt(f, t, "3000.12345678");
      const tx = setParams(f, { skewScale: size(1_000_000) });
      const expected = book.index + (MAX_RATE * 1234n * px("3000.12345678")) / WAD;
      await expect(tx).to.emit(f.perp, "FundingAccrued").withArgs(f.ETH, MAX_RATE, expected);
      expect((await f.perp.marketView(f.ETH)).fundingIndex).to.equal(expected);
    });

    it("fundingRate: a short skew gives a negative rate, capped at -maxFundingRate, truncated toward zero within", async function () {
      const f = await loadPerps();
      const { alice, bob } = f.actors;
      const p = px("3000.12345678");
      const book = await setup(f, [alice, bob], u(1_000_000), {}, "3000.12345678");
      let t = BigInt(await time.latest()) + 100n;
      await prepareAt(f, t, "3000.12345678");
      await trade(f, book, alice, size(150), t);
      t += 10n;
      await trade(f, book, bob, -size(400), t);
      expect(book.skew).to.equal(-size(250));

      t += 10n;
      await time.setNextBlockTimestamp(t);
      await setParams(f, { skewScale: size(100), maxFundingRate: MAX_RATE });
      book.accrue(t);
      expect((await f.perp.marketView(f.ETH)).fundingRate).to.equal(-MAX_RATE);

      // 777 s at -MAX_RATE: the index falls by MAX_RATE x 777 x price / WAD, truncated toward zero.
      t += 777n;
      const idx = book.index;
      const fall = (MAX_RATE * 777n * p) / WAD;
      expect((MAX_RATE * 777n * p) % WAD !== 0n, "a truncation happens").to.equal(true);
      await time.setNextBlockTimestamp(t);
      await expect(setParams(f, { skewScale: size(500) }))
        .to.emit(f.perp, "FundingAccrued")
        .withArgs(f.ETH, -MAX_RATE, idx - fall);

      // Skew -250 of 500: half the cap, truncated toward zero (-578703703703.5 -> -578703703703).
      expect((await f.perp.marketView(f.ETH)).fundingRate).to.equal(-578703703703n);
      t += 100n;
      await time.setNextBlockTimestamp(t);
      await expect(setParams(f, { skewScale: size(1_000_000) }))
        .to.emit(f.perp, "FundingAccrued")
        .withArgs(f.ETH, -578703703703n, idx - fall - (578703703703n * 100n * p) / WAD);
    });

    it("fundingRate: zero skew gives a zero rate, a trade accrues nothing and emits no FundingAccrued", async function () {
      const f = await loadPerps();
      const { alice, bob, carol } = f.actors;
      const book = await setup(f, [alice, bob, carol], u(1_000_000), {
        skewScale: size(1000),
        maxFundingRate: MAX_RATE,
      });
      let t = BigInt(await time.latest()) + 100n;
      await prepareAt(f, t, 3000);
      await trade(f, book, alice, size(100), t);
      t += 30n;
      await trade(f, book, bob, -size(100), t);
      expect(book.skew).to.equal(0n);
      const m = await f.perp.marketView(f.ETH);
      expect(m.fundingRate).to.equal(0n);
      const owedBefore = (await f.perp.positionView(alice.address, f.ETH)).fundingOwed;

      // An hour later nothing is owed more, and carol's trade accrues nothing.
      t += 3600n;
      await prepareAt(f, t, 3000);
      const { rc } = await trade(f, book, carol, size(1), t);
      expect(events(f, rc, "FundingAccrued").length).to.equal(0);
      const after = await f.perp.marketView(f.ETH);
      expect(after.fundingIndex).to.equal(m.fundingIndex);
      expect(after.lastFundingTime).to.equal(t);
      expect((await f.perp.positionView(alice.address, f.ETH)).fundingOwed).to.equal(owedBefore);
    });
  });

  describe("funding alone drains a thin account", function () {
    it("liquidate: a month of funding at a constant price takes a thin long below zero; the deficit goes down the waterfall", async function () {
      const f = await loadPerps();
      const { alice, bob, dave, keeper } = f.actors;
      const params = { skewScale: size(5000), maxFundingRate: MAX_RATE };
      const book = await setup(f, [bob], u(1_000_000), params);
      await f.perp.connect(alice).depositMargin(u(21_500), alice.address);
      await f.insuranceFund.connect(dave).topUp(u(300));

      let t = BigInt(await time.latest()) + 100n;
      await prepareAt(f, t, 3000);
      await trade(f, book, bob, -size(20), t);
      t += 10n;
      await trade(f, book, alice, size(120), t);
      const tOpen = t;
      // Skew 100 of 5000 at the maximum rate: 2% of 10% a day, about 6 USD per ETH per day.
      expect(book.rate()).to.equal((MAX_RATE * 100n) / 5000n);
      const im = margins(book.params, size(120), px(3000));
      const margin0 = (await f.perp.marginOf(alice.address)).margin;
      const equity0 = margin0 + book.value(alice.address, tOpen);
      expect(equity0 >= BigInt(im.im) && equity0 < BigInt(im.im) + u(500), "little excess margin").to.equal(
        true,
      );

      // Before it is liquidatable, a keeper is refused.
      await viewAt(tOpen + 600n);
      await expect(f.perp.connect(keeper).liquidate(alice.address)).to.be.revertedWithCustomError(
        f.perp,
        "AccountNotLiquidatable",
      );

      // A day at a time, at the same price: equity falls exactly as the model says.
      let prevEquity = equity0;
      let firstLiquidatable = 0;
      let crossedZero = 0;
      for (let d = 1; d <= 30; d++) {
        const at = tOpen + BigInt(d) * DAY;
        await time.increaseTo(at - 30n);
        await setEth(f, 3000);
        await viewAt(at);
        const v = await f.perp.accountView(alice.address);
        const equity = margin0 + book.value(alice.address, at);
        expect(v.equity, `equity on day ${d}`).to.equal(equity);
        expect(v.margin).to.equal(margin0);
        expect(v.pricesTrusted).to.equal(true);
        expect(v.maintenanceMargin).to.equal(im.mm);
        expect(equity < prevEquity, "funding only takes").to.equal(true);
        // The daily drop is size x one day of index, within a unit of rounding.
        const dayIndex = (book.rate() * DAY * book.price) / WAD;
        expect(abs(prevEquity - equity - (size(120) * dayIndex) / WAD_UNIT) <= 1n).to.equal(true);
        expect(v.liquidatable, `liquidatable on day ${d}`).to.equal(equity < BigInt(im.mm));
        if (v.liquidatable && firstLiquidatable === 0) {
          firstLiquidatable = d;
          // The keeper could act now with no deficit; we let funding run on.
          expect(equity > 0n).to.equal(true);
        }
        prevEquity = equity;
        if (equity < 0n) {
          crossedZero = d;
          break;
        }
      }
      expect(firstLiquidatable, "becomes liquidatable").to.be.greaterThan(0);
      expect(crossedZero, "equity crosses zero within the month").to.be.greaterThan(firstLiquidatable);

      // The keeper liquidates 10 minutes later (feeds fresh): everything from the model.
      const tLiq = tOpen + BigInt(crossedZero) * DAY + 600n;
      await prepareAt(f, tLiq, 3000);
      const pos = book.pos(alice.address);
      const accrued = book.accrue(tLiq)!;
      const realised = floorDiv(
        pos.size * (book.price - pos.entry) - pos.size * (book.index - pos.entryIndex),
        WAD_UNIT,
      );
      expect(realised).to.equal(
        helperPositionValue(pos.size, pos.entry, pos.entryIndex, book.price, book.index),
      );
      const mg = margins(book.params, pos.size, book.price);
      const keeperFee = wMulDown(mg.liqFee, KEEPER_SHARE);
      const left = margin0 + realised - keeperFee;
      expect(left < 0n).to.equal(true);
      const deficit = -left;
      expect(margin0 + realised < 0n, "funding alone took equity below zero").to.equal(true);

      const [capital0, pending0] = await f.perp.pool();
      const fundBalance = await f.base.erc20.balanceOf(await f.insuranceFund.getAddress());
      expect(pending0).to.equal(
        wMulDown(
          tradeFee(-size(20), fillPrice(px(3000), 0n, -size(20), size(5000)), book.params.tradingFee),
          INSURANCE_FEE_SHARE,
        ) + wMulDown(tradeFee(size(120), pos.entry, book.params.tradingFee), INSURANCE_FEE_SHARE),
      );
      const fromReserves = deficit < pending0 ? deficit : pending0;
      const rest = deficit - fromReserves;
      const fromInsurance = rest < fundBalance ? rest : fundBalance;
      const socialised = rest - fromInsurance;
      expect(fromReserves > 0n && fromInsurance > 0n && socialised > 0n, "every layer takes a part").to.equal(
        true,
      );

      const tx = f.perp.connect(keeper).liquidate(alice.address);
      await expect(tx).to.emit(f.perp, "FundingAccrued").withArgs(f.ETH, accrued.rate, accrued.index);
      await expect(tx)
        .to.emit(f.perp, "PositionLiquidated")
        .withArgs(alice.address, f.ETH, size(120), px(3000), realised);
      await expect(tx)
        .to.emit(f.perp, "AccountLiquidated")
        .withArgs(alice.address, keeper.address, mg.notional, keeperFee, 0n, deficit);
      await expect(tx)
        .to.emit(f.perp, "DeficitRealised")
        .withArgs(alice.address, deficit, fromReserves, fromInsurance, socialised, 0n);

      const bad = await f.perp.badDebt();
      expect(bad.deficit).to.equal(deficit);
      expect(bad.coveredByInsurance).to.equal(fromReserves + fromInsurance);
      expect(bad.socialised).to.equal(socialised);
      expect(bad.recourseRecorded).to.equal(0n);
      const [capital1, pending1] = await f.perp.pool();
      expect(pending1).to.equal(pending0 - fromReserves);
      expect(capital1 - capital0).to.equal(-realised - socialised);
      expect((await f.perp.marginOf(alice.address)).margin).to.equal(0n);
      await expectPerpBooks(f, [alice.address, bob.address]);
    });
  });

  describe("delisting", function () {
    it("delistMarket: accrues to the delisting, then the index stays constant however long time passes", async function () {
      const f = await loadPerps();
      const { alice, bob } = f.actors;
      const book = await setup(f, [alice, bob], u(2_000_000), {
        skewScale: size(1000),
        maxFundingRate: MAX_RATE,
      });
      let t = BigInt(await time.latest()) + 100n;
      await prepareAt(f, t, 3000);
      await trade(f, book, alice, size(300), t);
      t += 10n;
      await trade(f, book, bob, -size(100), t);

      // An hour later, at a new price, the market is delisted: it accrues at skew 200 first.
      t += 3600n;
      book.price = px("3111.5");
      await prepareAt(f, t, "3111.5");
      const accrued = book.accrue(t)!;
      const tx = f.perp.delistMarket(f.ETH);
      await expect(tx).to.emit(f.perp, "FundingAccrued").withArgs(f.ETH, accrued.rate, accrued.index);
      await expect(tx).to.emit(f.perp, "MarketStatusSet").withArgs(f.ETH, 2, px("3111.5"));
      const owedAtDelist = (await f.perp.positionView(alice.address, f.ETH)).fundingOwed;
      expect(owedAtDelist).to.equal(book.fundingOwed(alice.address, t));

      // Ten days on (feeds long stale: a delisted market needs none), nothing accrues.
      await time.increase(10n * DAY);
      let m = await f.perp.marketView(f.ETH);
      expect(m.fundingIndex).to.equal(accrued.index);
      expect(m.lastFundingTime).to.equal(t);
      expect((await f.perp.positionView(alice.address, f.ETH)).fundingOwed).to.equal(owedAtDelist);

      // Not even a new maxFundingRate restarts it.
      await setParams(f, { maxFundingRate: MAX_RATE / 2n });
      await time.increase(DAY);
      m = await f.perp.marketView(f.ETH);
      expect(m.fundingIndex).to.equal(accrued.index);

      // Alice closes at the final price, with the funding owed at the delisting: no accrual.
      const pos = book.pos(alice.address);
      const close = await (await f.perp.connect(alice).closePosition(f.ETH, 0)).wait();
      expect(events(f, close, "FundingAccrued").length).to.equal(0);
      const [pm] = events(f, close, "PositionModified");
      expect(pm.args.fillPrice).to.equal(px("3111.5"));
      expect(pm.args.fee).to.equal(0n);
      expect(pm.args.realisedPnl).to.equal(
        floorDiv(
          pos.size * (px("3111.5") - pos.entry) - pos.size * (accrued.index - pos.entryIndex),
          WAD_UNIT,
        ),
      );
      expect((await f.perp.marketView(f.ETH)).fundingIndex).to.equal(accrued.index);
      await expectPerpBooks(f, [alice.address, bob.address]);
    });
  });

  describe("setMarketParams", function () {
    it("setMarketParams: accrues at the old rate up to the change, then at the new rate", async function () {
      const f = await loadPerps();
      const { alice, bob } = f.actors;
      const oldMax = wad(0.02) / DAY;
      const book = await setup(f, [alice, bob], u(2_000_000), {
        skewScale: size(1000),
        maxFundingRate: oldMax,
      });
      let t = BigInt(await time.latest()) + 100n;
      await prepareAt(f, t, 3000);
      await trade(f, book, alice, size(300), t);
      t += 10n;
      await trade(f, book, bob, -size(100), t);
      const oldRate = (oldMax * 200n) / 1000n;
      expect(book.rate()).to.equal(oldRate);

      // Two hours later the admin raises maxFundingRate to the cap: the two hours are charged at the old rate.
      t += 7200n;
      await prepareAt(f, t, 3000);
      const tx = setParams(f, { maxFundingRate: MAX_RATE });
      const expected = book.index + (oldRate * 7200n * px(3000)) / WAD;
      await expect(tx).to.emit(f.perp, "FundingAccrued").withArgs(f.ETH, oldRate, expected);
      await expect(tx).to.emit(f.perp, "PerpMarketParamsSet");
      book.accrue(t);
      expect(book.index).to.equal(expected);
      book.params = await currentParams(f);
      const newRate = (MAX_RATE * 200n) / 1000n;
      expect(book.rate()).to.equal(newRate);
      await expectMarket(f, book);

      // An hour later alice's trade accrues that hour at the new rate, and realises both segments.
      t += 3600n;
      await prepareAt(f, t, 3000);
      const { exp } = await trade(f, book, alice, -size(1), t);
      expect(exp.accrued).to.deep.equal({
        rate: newRate,
        index: expected + (newRate * 3600n * px(3000)) / WAD,
      });
      // Alice's entry index predates bob's trade: 10 s at skew 300, 7200 s at 200 (old), 3600 s at 200 (new).
      const rate300 = (oldMax * 300n) / 1000n;
      expect(exp.owedExact).to.equal(
        size(300) * (rate300 * 10n * 3000n + oldRate * 7200n * 3000n + newRate * 3600n * 3000n),
      );
    });

    it("setMarketParams: from a zero rate, restarts the clock: the time before the change is charged nothing", async function () {
      const f = await loadPerps();
      const { alice, bob } = f.actors;
      const book = await setup(f, [alice, bob], u(2_000_000), { skewScale: size(1000), maxFundingRate: 0n });
      let t = BigInt(await time.latest()) + 100n;
      await prepareAt(f, t, 3000);
      await trade(f, book, alice, size(300), t);
      t += 10n;
      await trade(f, book, bob, -size(100), t);
      expect((await f.perp.marketView(f.ETH)).fundingRate).to.equal(0n);
      const index0 = book.index;

      // A day later funding is switched on: no accrual, the clock restarts.
      t += DAY;
      await prepareAt(f, t, 3000);
      await expect(setParams(f, { maxFundingRate: MAX_RATE })).not.to.emit(f.perp, "FundingAccrued");
      book.last = t;
      book.params = await currentParams(f);
      await expectMarket(f, book);
      expect(book.index).to.equal(index0);

      // An hour later only that hour is charged.
      t += 3600n;
      await prepareAt(f, t, 3000);
      const { exp } = await trade(f, book, bob, -size(1), t);
      const newRate = (MAX_RATE * 200n) / 1000n;
      expect(exp.accrued).to.deep.equal({ rate: newRate, index: index0 + newRate * 3600n * 3000n });
    });
  });
});
