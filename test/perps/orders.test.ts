/**
 * PerpMarket's reduce-only orders, entry point by entry point: placeOrder, cancelOrder and executeOrder
 * (triggers, the keeper fee, partial and over-sized orders, orders whose position is gone or flipped, a
 * refused price) and the gap case: a stop-loss is a market order once triggered, so after a gap through
 * the trigger it fills at the gapped price.
 *
 * Exactness: every fill, fee and realised PnL is predicted by the mirror in test/helpers/perps.ts. Funding
 * accrues every second, so each measured transaction runs at a timestamp fixed in advance (`pin`), and the
 * funding index it will see is computed from marketView (index, rate, last accrual) and that timestamp.
 * A position's entry funding index is read from storage (`rawPosition`).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";

import { localPerpsConfig } from "../../deploy/config";
import { Action, PriceStatus } from "../../deploy/enums";
import { wad } from "../../deploy/units";
import { setPrice } from "../helpers/feeds";
import {
  accrue,
  expectPerpBooks,
  fillPrice,
  loadPerps,
  paramsOf,
  positionValue,
  px,
  setEth,
  size,
  tradeFee,
  u,
  wMulDown,
  type PerpFixture,
} from "../helpers/perps";

/* CONFIGURATION (localPerpsConfig) */

const GLOBAL = localPerpsConfig().global;
const ORDER_KEEPER_FEE = u(GLOBAL.orderKeeperFee); // 1 USDC
const INSURANCE_FEE_SHARE = wad(GLOBAL.insuranceFeeShare);
const MAX = ethers.MaxUint256;
/** Storage slot of PerpMarket._positions (AccessControl._roles, _markets, marketCount, _idPlusOne first). */
const POSITIONS_SLOT = 4n;

/* HELPERS */

const coder = ethers.AbiCoder.defaultAbiCoder();
const low128 = (x: bigint) => BigInt.asIntN(128, x & ((1n << 128n) - 1n));

/** A position as stored: size, entry price and the funding index at its last trade. */
async function rawPosition(f: PerpFixture, account: string, marketId: number) {
  const inner = ethers.keccak256(coder.encode(["address", "uint256"], [account, POSITIONS_SLOT]));
  const base = BigInt(ethers.keccak256(coder.encode(["uint256", "bytes32"], [marketId, inner])));
  const addr = await f.perp.getAddress();
  const s0 = BigInt(await ethers.provider.getStorage(addr, base));
  const s1 = BigInt(await ethers.provider.getStorage(addr, base + 1n));
  return { size: low128(s0), entry: s0 >> 128n, index: low128(s1) };
}

const paramsFor = (f: PerpFixture, marketId: number) => paramsOf(marketId === f.ETH ? "WETH" : "WBTC");

/** Fixes the next block's timestamp (one second after the last block unless told) and returns it. */
async function pin(dt = 1): Promise<bigint> {
  const ts = (await time.latest()) + dt;
  await time.setNextBlockTimestamp(ts);
  return BigInt(ts);
}

/** The funding index a transaction at `ts` sees after its accrual at `price`. */
async function indexAt(f: PerpFixture, marketId: number, ts: bigint, price: bigint) {
  const mv = await f.perp.marketView(marketId);
  const elapsed = ts - mv.lastFundingTime;
  return elapsed === 0n ? mv.fundingIndex : accrue(mv.fundingIndex, mv.fundingRate, elapsed, price);
}

/** What a trade of `delta` by `account` at `ts` and oracle `price` fills at, pays and realises. */
async function predictTrade(
  f: PerpFixture,
  account: string,
  marketId: number,
  delta: bigint,
  ts: bigint,
  price: bigint,
) {
  const p = paramsFor(f, marketId);
  const pos = await rawPosition(f, account, marketId);
  const mv = await f.perp.marketView(marketId);
  const index = await indexAt(f, marketId, ts, price);
  const fill = fillPrice(price, mv.longOI - mv.shortOI, delta, p.skewScale);
  const fee = tradeFee(delta, fill, p.tradingFee);
  const realised = positionValue(pos.size, pos.entry, pos.index, fill, index);
  return { fill, fee, realised, index, newSize: pos.size + delta, entry: pos.entry };
}

const marginOf = async (f: PerpFixture, a: string) => (await f.perp.marginOf(a)).margin;
const usdcOf = (f: PerpFixture, a: string) => f.base.erc20.balanceOf(a);

/** The LP funds the pool; `who` posts `margin` and opens `delta` of ETH at no price limit. */
async function open(f: PerpFixture, who = f.actors.alice, margin = u(12_000), delta = size(10)) {
  if ((await f.perp.pool())[0] === 0n)
    await f.vault.connect(f.actors.lp).deposit(u(1_000_000), f.actors.lp.address);
  await f.perp.connect(who).depositMargin(margin, who.address);
  await f.perp.connect(who).modifyPosition(f.ETH, delta, delta > 0n ? MAX : 0n);
}

const everyone = (f: PerpFixture) => Object.values(f.actors).map((a) => a.address);

/**
 * Executes order `id` by `keeper` at a pinned timestamp and checks everything that moves: the
 * PositionModified and OrderExecuted events, the margin (realised PnL, trade fee and keeper fee), the
 * keeper's tokens, the pool capital and pending insurance, the deleted order and the books.
 */
async function executeExactly(
  f: PerpFixture,
  id: bigint,
  keeper = f.actors.keeper,
  expectedKeeperFee?: bigint,
) {
  const o = await f.perp.order(id);
  const price = (await f.router.peek(f.assets.WETH.address))[0];
  const held = (await rawPosition(f, o.account, Number(o.marketId))).size;
  const absHeld = held < 0n ? -held : held;
  const closing = o.size < absHeld ? o.size : absHeld;
  const delta = o.isLong ? -closing : closing;
  const ts = await pin();
  const t = await predictTrade(f, o.account, Number(o.marketId), delta, ts, price);
  const margin0 = await marginOf(f, o.account);
  const [capital0, pending0] = await f.perp.pool();
  const keeper0 = await usdcOf(f, keeper.address);
  const afterTrade = margin0 + t.realised - t.fee;
  const keeperFee =
    expectedKeeperFee ??
    (afterTrade <= 0n ? 0n : afterTrade < ORDER_KEEPER_FEE ? afterTrade : ORDER_KEEPER_FEE);

  await expect(f.perp.connect(keeper).executeOrder(id))
    .to.emit(f.perp, "PositionModified")
    .withArgs(o.account, o.marketId, delta, t.fill, t.fee, t.realised, t.newSize)
    .and.to.emit(f.perp, "OrderExecuted")
    .withArgs(id, o.account, keeper.address, price, keeperFee);

  expect(await marginOf(f, o.account), "margin").to.equal(afterTrade - keeperFee);
  expect((await usdcOf(f, keeper.address)) - keeper0, "keeper paid").to.equal(keeperFee);
  const toInsurance = wMulDown(t.fee, INSURANCE_FEE_SHARE);
  const [capital1, pending1] = await f.perp.pool();
  expect(capital1, "pool capital").to.equal(capital0 - t.realised + t.fee - toInsurance);
  expect(pending1, "pending insurance").to.equal(pending0 + toInsurance);
  expect((await f.perp.order(id)).account, "order deleted").to.equal(ethers.ZeroAddress);
  const after = await f.perp.positionView(o.account, o.marketId);
  expect(after.size, "size left").to.equal(t.newSize);
  if (t.newSize !== 0n) expect(after.entryPrice, "the rest re-enters at the fill").to.equal(t.fill);
  await expectPerpBooks(f, everyone(f));
  return { ...t, price, keeperFee };
}

describe("perps: orders", function () {
  /* placeOrder */

  describe("placeOrder", function () {
    it("placeOrder: reverts with ZeroAmount for a zero size or a zero trigger price", async function () {
      const f = await loadPerps();
      await open(f);
      const alice = f.perp.connect(f.actors.alice);
      await expect(alice.placeOrder(f.ETH, true, 0, px(2700), false, 0n)).to.be.revertedWithCustomError(
        f.perp,
        "ZeroAmount",
      );
      await expect(alice.placeOrder(f.ETH, true, size(1), 0, false, 0n)).to.be.revertedWithCustomError(
        f.perp,
        "ZeroAmount",
      );
    });

    it("placeOrder: reverts with MarketNotListed for an unknown market id", async function () {
      const f = await loadPerps();
      await open(f);
      const count = await f.perp.marketCount();
      await expect(f.perp.connect(f.actors.alice).placeOrder(count, true, size(1), px(2700), false, 0n))
        .to.be.revertedWithCustomError(f.perp, "MarketNotListed")
        .withArgs(count);
    });

    it("placeOrder: reverts with NoPosition without a position, or without one on the side named", async function () {
      const f = await loadPerps();
      const { alice, bob } = f.actors;
      await open(f, alice); // a long in ETH
      await expect(f.perp.connect(bob).placeOrder(f.ETH, true, size(1), px(2700), false, 0n))
        .to.be.revertedWithCustomError(f.perp, "NoPosition")
        .withArgs(bob.address, f.ETH);
      await expect(f.perp.connect(alice).placeOrder(f.ETH, false, size(1), px(3300), true, 2n ** 128n - 1n))
        .to.be.revertedWithCustomError(f.perp, "NoPosition")
        .withArgs(alice.address, f.ETH);
      await expect(f.perp.connect(alice).placeOrder(f.BTC, true, size(1), px(50_000), false, 0n))
        .to.be.revertedWithCustomError(f.perp, "NoPosition")
        .withArgs(alice.address, f.BTC);
    });

    it("placeOrder: stores the order, emits OrderPlaced with it, and numbers orders from 1 upward", async function () {
      const f = await loadPerps();
      const { alice, bob } = f.actors;
      await open(f, alice);
      await open(f, bob, u(12_000), -size(5));
      expect(await f.perp.lastOrderId()).to.equal(0n);

      // (account, market, isLong, triggerAbove, positionNonce, size, trigger, acceptablePrice)
      const stop = [alice.address, BigInt(f.ETH), true, false, 0n, size(10), px(2700), 0n];
      await expect(f.perp.connect(alice).placeOrder(f.ETH, true, size(10), px(2700), false, 0n))
        .to.emit(f.perp, "OrderPlaced")
        .withArgs(1n, alice.address, stop);
      const bobTp = [bob.address, BigInt(f.ETH), false, false, 0n, size(2), px(2500), 2n ** 128n - 1n];
      await expect(f.perp.connect(bob).placeOrder(f.ETH, false, size(2), px(2500), false, 2n ** 128n - 1n))
        .to.emit(f.perp, "OrderPlaced")
        .withArgs(2n, bob.address, bobTp);
      const tp = [alice.address, BigInt(f.ETH), true, true, 0n, size(4), px(3300), 0n];
      expect(
        await f.perp.connect(alice).placeOrder.staticCall(f.ETH, true, size(4), px(3300), true, 0n),
      ).to.equal(3n);
      await expect(f.perp.connect(alice).placeOrder(f.ETH, true, size(4), px(3300), true, 0n))
        .to.emit(f.perp, "OrderPlaced")
        .withArgs(3n, alice.address, tp);

      expect(await f.perp.lastOrderId()).to.equal(3n);
      expect(await f.perp.order(1)).to.deep.equal(stop);
      expect(await f.perp.order(2)).to.deep.equal(bobTp);
      expect(await f.perp.order(3)).to.deep.equal(tp);
      // Placing an order moves nothing.
      expect((await f.perp.positionView(alice.address, f.ETH)).size).to.equal(size(10));
    });
  });

  /* cancelOrder */

  describe("cancelOrder", function () {
    it("cancelOrder: reverts with OrderNotFound for an id never placed", async function () {
      const f = await loadPerps();
      await expect(f.perp.connect(f.actors.alice).cancelOrder(7))
        .to.be.revertedWithCustomError(f.perp, "OrderNotFound")
        .withArgs(7n);
    });

    it("cancelOrder: reverts with NotOrderOwner when another account cancels", async function () {
      const f = await loadPerps();
      const { alice, bob } = f.actors;
      await open(f, alice);
      await f.perp.connect(alice).placeOrder(f.ETH, true, size(10), px(2700), false, 0n);
      await expect(f.perp.connect(bob).cancelOrder(1))
        .to.be.revertedWithCustomError(f.perp, "NotOrderOwner")
        .withArgs(1n, alice.address);
      expect((await f.perp.order(1)).account).to.equal(alice.address);
    });

    it("cancelOrder: deletes the order and emits OrderCancelled; it can then be neither executed nor cancelled", async function () {
      const f = await loadPerps();
      const { alice, keeper } = f.actors;
      await open(f, alice);
      await f.perp.connect(alice).placeOrder(f.ETH, true, size(10), px(2700), false, 0n);
      await expect(f.perp.connect(alice).cancelOrder(1))
        .to.emit(f.perp, "OrderCancelled")
        .withArgs(1n, alice.address);
      expect(await f.perp.order(1)).to.deep.equal([ethers.ZeroAddress, 0n, false, false, 0n, 0n, 0n, 0n]);

      await setEth(f, 2600); // the trigger is crossed, but the order is gone
      await expect(f.perp.connect(keeper).executeOrder(1))
        .to.be.revertedWithCustomError(f.perp, "OrderNotFound")
        .withArgs(1n);
      await expect(f.perp.connect(alice).cancelOrder(1))
        .to.be.revertedWithCustomError(f.perp, "OrderNotFound")
        .withArgs(1n);
      expect((await f.perp.positionView(alice.address, f.ETH)).size).to.equal(size(10));
    });
  });

  /* executeOrder */

  describe("executeOrder", function () {
    it("executeOrder: reverts with OrderNotFound for an id never placed", async function () {
      const f = await loadPerps();
      await expect(f.perp.connect(f.actors.keeper).executeOrder(1))
        .to.be.revertedWithCustomError(f.perp, "OrderNotFound")
        .withArgs(1n);
    });

    it("executeOrder: reverts with OrderNotTriggered (price, trigger) for a stop-loss while the price is above it", async function () {
      const f = await loadPerps();
      const { alice, keeper } = f.actors;
      await open(f, alice);
      await f.perp.connect(alice).placeOrder(f.ETH, true, size(10), px(2700), false, 0n);
      await expect(f.perp.connect(keeper).executeOrder(1))
        .to.be.revertedWithCustomError(f.perp, "OrderNotTriggered")
        .withArgs(1n, px(3000), px(2700));
      await setEth(f, "2700.01");
      await expect(f.perp.connect(keeper).executeOrder(1))
        .to.be.revertedWithCustomError(f.perp, "OrderNotTriggered")
        .withArgs(1n, px("2700.01"), px(2700));
    });

    it("executeOrder: reverts with OrderNotTriggered (price, trigger) for a take-profit while the price is below it", async function () {
      const f = await loadPerps();
      const { alice, keeper } = f.actors;
      await open(f, alice);
      await f.perp.connect(alice).placeOrder(f.ETH, true, size(10), px(3300), true, 0n);
      await setEth(f, "3299.99");
      await expect(f.perp.connect(keeper).executeOrder(1))
        .to.be.revertedWithCustomError(f.perp, "OrderNotTriggered")
        .withArgs(1n, px("3299.99"), px(3300));
      expect((await f.perp.order(1)).account, "still stored").to.equal(alice.address);
    });

    it("executeOrder: a stop-loss executes at exactly its trigger: closes the long at the fill and pays the keeper 1 USDC", async function () {
      const f = await loadPerps();
      const { alice, keeper } = f.actors;
      await open(f, alice);
      await f.perp.connect(alice).placeOrder(f.ETH, true, size(10), px(2700), false, 0n);
      await setEth(f, 2700);
      const r = await executeExactly(f, 1n, keeper, ORDER_KEEPER_FEE);
      expect(r.newSize).to.equal(0n);
      expect(r.realised, "a loss").to.be.lt(0n);
      expect((await f.perp.marginOf(alice.address)).marketsIn, "left the market").to.equal(0n);
    });

    it("executeOrder: anyone may execute a crossed take-profit, and is the one paid the keeper fee", async function () {
      const f = await loadPerps();
      const { alice, stranger, keeper } = f.actors;
      await open(f, alice);
      await f.perp.connect(alice).placeOrder(f.ETH, true, size(10), px(3300), true, 0n);
      await setEth(f, 3400);
      const keeperBefore = await usdcOf(f, keeper.address);
      const r = await executeExactly(f, 1n, stranger, ORDER_KEEPER_FEE);
      expect(r.realised, "a profit").to.be.gt(0n);
      expect(await usdcOf(f, keeper.address), "the idle keeper gets nothing").to.equal(keeperBefore);
    });

    it("executeOrder: a take-profit below the price closes a short (a buy, at the fill with the skew)", async function () {
      const f = await loadPerps();
      const { bob, keeper } = f.actors;
      await open(f, bob, u(12_000), -size(10));
      await f.perp.connect(bob).placeOrder(f.ETH, false, size(10), px(2800), false, 2n ** 128n - 1n);
      await setEth(f, 2750);
      const r = await executeExactly(f, 1n, keeper, ORDER_KEEPER_FEE);
      expect(r.newSize).to.equal(0n);
      expect(r.realised).to.be.gt(0n);
    });

    it("executeOrder: an order smaller than the position closes only its size; the rest re-enters at the fill", async function () {
      const f = await loadPerps();
      const { alice, keeper } = f.actors;
      await open(f, alice);
      await f.perp.connect(alice).placeOrder(f.ETH, true, size(4), px(2700), false, 0n);
      await setEth(f, 2650);
      const r = await executeExactly(f, 1n, keeper, ORDER_KEEPER_FEE);
      expect(r.newSize).to.equal(size(6));
      expect((await f.perp.marketView(f.ETH)).longOI).to.equal(size(6));
    });

    it("executeOrder: an order larger than the position closes all of it (capped at the position's size)", async function () {
      const f = await loadPerps();
      const { alice, keeper } = f.actors;
      await open(f, alice);
      await f.perp.connect(alice).placeOrder(f.ETH, true, size(25), px(2700), false, 0n);
      await setEth(f, 2650);
      const r = await executeExactly(f, 1n, keeper, ORDER_KEEPER_FEE);
      expect(r.newSize).to.equal(0n);
      expect((await f.perp.marketView(f.ETH)).longOI).to.equal(0n);
    });

    it("executeOrder: the keeper fee is capped at the positive margin left after the fill", async function () {
      const f = await loadPerps();
      const { bob, keeper } = f.actors;
      await open(f, bob, u(200), size(1));
      await f.perp.connect(bob).placeOrder(f.ETH, true, size(1), px(2850), false, 0n);
      await setEth(f, 2800); // a loss of ~200 USDC: more than the margin posted
      // Top the margin up so that exactly 0.4 USDC is left after the fill.
      const depositAt = await pin();
      const executeAt = depositAt + 1n;
      const t = await predictTrade(f, bob.address, f.ETH, -size(1), executeAt, px(2800));
      const topUp = 400_000n - ((await marginOf(f, bob.address)) + t.realised - t.fee);
      expect(topUp, "the fill alone would leave the margin negative").to.be.gt(400_000n);
      await f.perp.connect(bob).depositMargin(topUp, bob.address);
      const r = await executeExactly(f, 1n, keeper, 400_000n);
      expect(await marginOf(f, bob.address)).to.equal(0n);
      expect(r.keeperFee).to.be.lt(ORDER_KEEPER_FEE);
    });

    it("executeOrder: pays no keeper fee when the margin is negative after the fill (cross margin, another position open)", async function () {
      const f = await loadPerps();
      const { carol, keeper } = f.actors;
      await open(f, carol, u(10_000), size(10));
      await f.perp.connect(carol).modifyPosition(f.BTC, size(1), MAX);
      await f.perp.connect(carol).placeOrder(f.ETH, true, size(10), px(2500), false, 0n);
      await setEth(f, 1800); // -12,000 on ETH
      await setPrice(f.assets.WBTC, 69_000); // +15%: within maxDeviation, OK
      const r = await executeExactly(f, 1n, keeper, 0n);
      expect(await marginOf(f, carol.address), "negative margin, carried by the BTC profit").to.be.lt(0n);
      expect(r.newSize).to.equal(0n);
      expect((await f.perp.accountView(carol.address)).equity).to.be.gt(0n);
    });

    it("executeOrder: cancels without a fee when the position it protects is gone", async function () {
      const f = await loadPerps();
      const { alice, keeper } = f.actors;
      await open(f, alice);
      await f.perp.connect(alice).placeOrder(f.ETH, true, size(10), px(2700), false, 0n);
      await f.perp.connect(alice).closePosition(f.ETH, 0);
      await setEth(f, 2600);
      const margin0 = await marginOf(f, alice.address);
      const keeper0 = await usdcOf(f, keeper.address);
      const pool0 = await f.perp.pool();
      await expect(f.perp.connect(keeper).executeOrder(1))
        .to.emit(f.perp, "OrderCancelled")
        .withArgs(1n, alice.address)
        .and.not.to.emit(f.perp, "OrderExecuted");
      expect(await marginOf(f, alice.address)).to.equal(margin0);
      expect(await usdcOf(f, keeper.address)).to.equal(keeper0);
      expect(await f.perp.pool()).to.deep.equal(pool0);
      expect((await f.perp.order(1)).account).to.equal(ethers.ZeroAddress);
      await expect(f.perp.connect(keeper).executeOrder(1)).to.be.revertedWithCustomError(
        f.perp,
        "OrderNotFound",
      );
    });

    it("executeOrder: cancels without a fee and without trading when the position has flipped side", async function () {
      const f = await loadPerps();
      const { alice, keeper } = f.actors;
      await open(f, alice);
      await f.perp.connect(alice).placeOrder(f.ETH, true, size(10), px(2700), false, 0n);
      await f.perp.connect(alice).modifyPosition(f.ETH, -size(15), 0); // now short 5
      await setEth(f, 2600);
      const margin0 = await marginOf(f, alice.address);
      const keeper0 = await usdcOf(f, keeper.address);
      await expect(f.perp.connect(keeper).executeOrder(1))
        .to.emit(f.perp, "OrderCancelled")
        .withArgs(1n, alice.address)
        .and.not.to.emit(f.perp, "PositionModified");
      expect((await f.perp.positionView(alice.address, f.ETH)).size).to.equal(-size(5));
      expect(await marginOf(f, alice.address)).to.equal(margin0);
      expect(await usdcOf(f, keeper.address)).to.equal(keeper0);
    });

    it("executeOrder: reverts with PriceNotUsable on a stale price (CLOSE for a whole position, REDUCE for part)", async function () {
      const f = await loadPerps();
      const { alice, keeper } = f.actors;
      await open(f, alice);
      await f.perp.connect(alice).placeOrder(f.ETH, true, size(10), px(2700), false, 0n);
      await f.perp.connect(alice).placeOrder(f.ETH, true, size(3), px(2700), false, 0n);
      await setEth(f, 2600);
      await f.assets.WETH.primaryFeed.mock!.goStale(3601);
      await f.assets.WETH.fallbackFeed!.mock!.goStale(86_401);
      const weth = f.assets.WETH.address;
      await expect(f.perp.connect(keeper).executeOrder(1))
        .to.be.revertedWithCustomError(f.router, "PriceNotUsable")
        .withArgs(weth, Action.CLOSE, PriceStatus.STALE);
      await expect(f.perp.connect(keeper).executeOrder(2))
        .to.be.revertedWithCustomError(f.router, "PriceNotUsable")
        .withArgs(weth, Action.REDUCE, PriceStatus.STALE);
      // A fresh price lets it run.
      await setEth(f, 2600);
      await executeExactly(f, 1n, keeper, ORDER_KEEPER_FEE);
    });

    it("executeOrder: a stop-loss is not a guaranteed price: after a -30% gap through a -10% stop it fills at the gapped price, and the loss is ~30% of the notional, not 10%", async function () {
      const f = await loadPerps();
      const { alice, keeper } = f.actors;
      await open(f, alice, u(12_000), size(10)); // 2.5x long at ~3,000
      const entry = (await rawPosition(f, alice.address, f.ETH)).entry;
      const entryNotional = (size(10) * entry) / 10n ** 30n; // base units
      // A stop 10% below the entry.
      await f.perp.connect(alice).placeOrder(f.ETH, true, size(10), px(2700), false, 0n);
      // The market gaps 30% in one step: no price between 3,000 and 2,100 is ever seen.
      await setEth(f, 2100);

      const ts = await pin();
      const mv = await f.perp.marketView(f.ETH);
      const p = paramsOf("WETH");
      const fill = fillPrice(px(2100), mv.longOI - mv.shortOI, -size(10), p.skewScale);
      const index = await indexAt(f, f.ETH, ts, px(2100));
      const pos = await rawPosition(f, alice.address, f.ETH);
      const realised = positionValue(pos.size, pos.entry, pos.index, fill, index);
      const fee = tradeFee(-size(10), fill, p.tradingFee);
      await expect(f.perp.connect(keeper).executeOrder(1))
        .to.emit(f.perp, "PositionModified")
        .withArgs(alice.address, f.ETH, -size(10), fill, fee, realised, 0n)
        .and.to.emit(f.perp, "OrderExecuted")
        .withArgs(1n, alice.address, keeper.address, px(2100), ORDER_KEEPER_FEE);

      // The fill is the gapped price (with a tiny skew discount), far below the trigger.
      expect(fill).to.be.lt(px(2101));
      expect(fill).to.be.gt(px(2099));
      // Realised loss: about 30% of the entry notional (9,000 of 30,000 USDC), three times the stop distance.
      const stopLoss = (entryNotional * 10n) / 100n;
      expect(-realised).to.be.gt((entryNotional * 299n) / 1000n);
      expect(-realised).to.be.lt((entryNotional * 301n) / 1000n);
      expect(-realised).to.be.gt((stopLoss * 29n) / 10n);
      expect(await marginOf(f, alice.address)).to.equal(
        u(12_000) - tradeFeeAtOpen(entry) + realised - fee - ORDER_KEEPER_FEE,
      );
      await expectPerpBooks(f, everyone(f));
    });
  });
});

/** The fee alice paid to open 10 ETH at `entry` (her first trade, into an empty book). */
function tradeFeeAtOpen(entry: bigint) {
  return tradeFee(size(10), entry, paramsOf("WETH").tradingFee);
}
