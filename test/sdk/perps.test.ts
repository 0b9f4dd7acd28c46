/**
 * The SDK's perps reads and writes against the deployed PerpMarket and LiquidityVault.
 *
 * Where the contract has the same view (accountView: equity, margins, notional; positionView; fillPrice;
 * marketView's funding rate; the vault's convertToAssets), every number is compared to the base unit. Where
 * it has none, by behaviour at the exact timestamp the SDK computed for (funding accrues every second, at the
 * price it is accrued at): a liquidation succeeds at the liquidation price and reverts with
 * AccountNotLiquidatable one grid step beyond it (1 wei on 18-decimal feeds, 1e10 wei on 8-decimal ones);
 * equity is within one price step's worth of zero at the bankruptcy price and negative one step beyond;
 * opening the largest size succeeds and one wei more reverts with InsufficientMargin (or the
 * open-interest cap).
 *
 * The book: funding that matters (skew scales of 10,000 ETH and 500 BTC, 10% a day at full skew, margin
 * doubling at 1,000 ETH and 100 BTC), a 10M USDC vault, bob skewing both markets, alice long ETH and short
 * BTC (cross margin), carol short ETH; three days of funding accrue before the tests.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, takeSnapshot } from "@nomicfoundation/hardhat-network-helpers";

import { localPerpsConfig, type PerpsConfig } from "../../deploy/config";
import { deployPerps, loadPerps, size, u, type PerpFixture } from "../helpers/perps";
import {
  acceptablePrice,
  connect,
  MarketStatus,
  perpRisk,
  SECONDS_PER_DAY,
  SECONDS_PER_YEAR,
  simulateTrade,
  WAD,
  type Ballast,
  type PerpMarketState,
} from "../../sdk";
import { exactAssets, freshSigners, mineAt, now, sendAt, setPriceWad } from "./helpers";

const MAX = ethers.MaxUint256;
const wad = (v: bigint) => v * WAD;

function fundedConfig(): PerpsConfig {
  const c = localPerpsConfig();
  c.markets = c.markets.map((m) =>
    m.symbol === "WETH"
      ? { ...m, skewScale: 10_000, marginScale: 1_000, maxFundingRatePerDay: 0.1 }
      : { ...m, skewScale: 500, marginScale: 100, maxFundingRatePerDay: 0.1 },
  );
  return c;
}

/** Opens the book on `f` and lets three days of funding accrue; feeds refreshed at the same prices. */
async function book(f: PerpFixture) {
  const { lp, alice, bob, carol } = f.actors;
  await f.vault.connect(lp).deposit(u(10_000_000), lp.address);
  await f.perp.connect(bob).depositMargin(u(1_000_000), bob.address);
  await f.perp.connect(bob).modifyPosition(f.ETH, size(100), MAX);
  await f.perp.connect(bob).modifyPosition(f.BTC, -size(5), 0);
  await f.perp.connect(alice).depositMargin(u(30_000), alice.address);
  await f.perp.connect(alice).modifyPosition(f.ETH, size(50), MAX);
  await f.perp.connect(alice).modifyPosition(f.BTC, -size(1), 0);
  await f.perp.connect(carol).depositMargin(u(20_000), carol.address);
  await f.perp.connect(carol).modifyPosition(f.ETH, -size(40), 0);
  await ethers.provider.send("evm_increaseTime", [3 * 86_400]);
  await refresh(f);
  return f;
}

async function refresh(f: PerpFixture) {
  for (const a of [f.assets.WETH, f.assets.WBTC]) {
    const [price] = await f.router.peek(a.address);
    await setPriceWad(a, price);
  }
}

/** 18-decimal feeds (a 1-wei price grid), the funded config, the book. */
async function exactBook() {
  return book(await deployPerps(fundedConfig(), { assets: exactAssets() }));
}

/** The local feeds (8-decimal primaries: a 1e10-wei grid), the funded config, the book. */
async function defaultBook() {
  return book(await deployPerps(fundedConfig()));
}

async function accountViewOf(f: PerpFixture, account: string) {
  const v = await f.perp.accountView(account);
  return {
    margin: v.margin,
    equity: v.equity,
    initialMargin: v.initialMargin,
    maintenanceMargin: v.maintenanceMargin,
    notional: v.notional,
    liquidatable: v.liquidatable,
  };
}

/** Sets a market's prices so that only `market` moves: the others keep their current price (fresh rounds). */
async function setPerpPrice(f: PerpFixture, asset: "WETH" | "WBTC", price: bigint) {
  await setPriceWad(f.assets[asset], price);
}

describe("sdk: perps", () => {
  describe("risk", () => {
    it("risk / positions: equity, margins, notional, PnL and funding equal the views to the base unit, now and projected", async () => {
      const f = await loadFixture(exactBook);
      const sdk = await connect(f, f.actors.admin);
      for (const who of [f.actors.alice, f.actors.bob, f.actors.carol, f.actors.dave]) {
        const r = await sdk.perps.risk(who.address);
        expect({ ...r, withdrawable: undefined }).to.deep.equal({
          ...(await accountViewOf(f, who.address)),
          liquidationFee: r.liquidationFee,
          withdrawable: undefined,
        });
      }
      const state = await sdk.perps.state(f.actors.alice.address);
      expect(state.positions.map((p) => p.marketId)).to.deep.equal([f.ETH, f.BTC]);
      expect(state.positions[0].entryFundingIndex, "entered after bob's trades moved funding").to.not.equal(
        0n,
      );
      const views = await sdk.perps.positions(f.actors.alice.address);
      for (const p of views) {
        const v = await f.perp.positionView(f.actors.alice.address, p.marketId);
        expect([
          p.size,
          p.entryPrice,
          p.pnl,
          p.fundingOwed,
          p.notional,
          p.initialMargin,
          p.maintenanceMargin,
        ]).to.deep.equal([
          v.size,
          v.entryPrice,
          v.pnl,
          v.fundingOwed,
          v.notional,
          v.initialMargin,
          v.maintenanceMargin,
        ]);
      }
      expect(views[0].fundingOwed, "three days of funding on a long while longs dominate").to.be.greaterThan(
        0n,
      );

      const at = (await now()) + 777n;
      const projected = await sdk.perps.risk(f.actors.alice.address, { at });
      await mineAt(at);
      const v = await accountViewOf(f, f.actors.alice.address);
      expect(projected.equity).to.equal(v.equity);
      expect(projected.initialMargin).to.equal(v.initialMargin);
      expect(await sdk.perps.equity(f.actors.alice.address)).to.equal(v.equity);

      // withdrawable is what withdrawMargin allows: all of it passes, one unit more reverts.
      const free = (await sdk.perps.risk(f.actors.alice.address, { at: at + 300n })).withdrawable;
      const snap = await takeSnapshot();
      await sendAt(at + 300n, async () =>
        expect(f.perp.connect(f.actors.alice).withdrawMargin(free + 1n, f.actors.alice.address))
          .to.be.revertedWithCustomError(f.perp, "InsufficientMarginBalance")
          .withArgs(free + 1n, free),
      );
      await snap.restore();
    });
  });

  describe("liquidation price", () => {
    /** Liquidatable at `price` and not at `price` + `beyond` (a signed step), at time `at`. */
    async function expectBoundary(
      f: PerpFixture,
      account: string,
      market: "WETH" | "WBTC",
      price: bigint,
      beyond: bigint,
      at: bigint,
    ) {
      const keeper = f.actors.keeper;
      const snap = await takeSnapshot();
      await setPerpPrice(f, market, price + beyond);
      await sendAt(at, async () =>
        expect(f.perp.connect(keeper).liquidate(account)).to.be.revertedWithCustomError(
          f.perp,
          "AccountNotLiquidatable",
        ),
      );
      await snap.restore();
      await setPerpPrice(f, market, price);
      await sendAt(at, async () =>
        expect(f.perp.connect(keeper).liquidate(account)).to.emit(f.perp, "AccountLiquidated"),
      );
      await snap.restore();
    }

    it("liquidationPrice (long, cross margin, 3 days of funding): liquidatable at it, not one wei above", async () => {
      const f = await loadFixture(exactBook);
      const sdk = await connect(f, f.actors.admin);
      const alice = f.actors.alice.address;
      const at = (await now()) + 300n;
      const price = (await sdk.perps.liquidationPrice(alice, f.ETH, { at }))!;
      const [current] = await f.router.peek(f.assets.WETH.address);
      expect(price).to.be.lessThan(current).and.greaterThan(wad(2_000n));
      const s = await sdk.perps.state(alice, { at });
      const r = perpRisk(s, { marketId: f.ETH, price });
      expect(r.equity).to.be.lessThan(r.maintenanceMargin);
      await expectBoundary(f, alice, "WETH", price, 1n, at);
      // The liquidation there charges the SDK's notional and liquidation fee (keeper share 50%).
      await setPerpPrice(f, "WETH", price);
      const keeperFee = r.liquidationFee / 2n;
      await expect(sendAt(at, () => f.perp.connect(f.actors.keeper).liquidate(alice)))
        .to.emit(f.perp, "AccountLiquidated")
        .withArgs(alice, f.actors.keeper.address, r.notional, keeperFee, r.liquidationFee - keeperFee, 0n);
    });

    it("liquidationPrice (short): liquidatable at it, not one wei below; the BTC short of a cross account too", async () => {
      const f = await loadFixture(exactBook);
      const sdk = await connect(f, f.actors.admin);
      const at = (await now()) + 300n;
      const carol = f.actors.carol.address;
      const price = (await sdk.perps.liquidationPrice(carol, f.ETH, { at }))!;
      const [current] = await f.router.peek(f.assets.WETH.address);
      expect(price).to.be.greaterThan(current);
      await expectBoundary(f, carol, "WETH", price, -1n, at);

      const alice = f.actors.alice.address;
      const btc = (await sdk.perps.liquidationPrice(alice, f.BTC, { at }))!;
      await expectBoundary(f, alice, "WBTC", btc, -1n, at);
    });

    it("liquidationPrice on 8-decimal feeds: a multiple of 1e10 wei; liquidatable there, not one step beyond", async () => {
      const f = await loadFixture(defaultBook);
      const sdk = await connect(f, f.actors.admin);
      const at = (await now()) + 300n;
      const step = 10n ** 10n;
      const long = (await sdk.perps.liquidationPrice(f.actors.alice.address, f.ETH, { at }))!;
      expect(long % step).to.equal(0n);
      const exact = (await sdk.perps.liquidationPrice(f.actors.alice.address, f.ETH, {
        at,
        priceTick: "wei",
      }))!;
      expect(exact - long, "the grid's price is the wei price rounded down to the grid").to.be.within(
        0n,
        step - 1n,
      );
      await expectBoundary(f, f.actors.alice.address, "WETH", long, step, at);
      const short = (await sdk.perps.liquidationPrice(f.actors.carol.address, f.ETH, { at }))!;
      expect(short % step).to.equal(0n);
      await expectBoundary(f, f.actors.carol.address, "WETH", short, -step, at);
    });

    it("bankruptcyPrice: equity in [0, |size| x step + 1] at it, negative one wei beyond (long and short)", async () => {
      const f = await loadFixture(exactBook);
      const sdk = await connect(f, f.actors.admin);
      const at = (await now()) + 300n;
      for (const [who, beyond] of [
        [f.actors.alice.address, -1n],
        [f.actors.carol.address, 1n],
      ] as const) {
        const b = (await sdk.perps.bankruptcyPrice(who, f.ETH, { at }))!;
        const liq = (await sdk.perps.liquidationPrice(who, f.ETH, { at }))!;
        expect(beyond < 0n ? b.price < liq : b.price > liq, "bankruptcy is beyond liquidation").to.equal(
          true,
        );
        // 50 or 40 ETH: one wei of price moves equity by 5e-11 base units, so equity is 0 (or 1 with rounding).
        expect(b.equityAtPrice).to.be.within(0n, 1n);
        const snap = await takeSnapshot();
        await setPerpPrice(f, "WETH", b.price);
        await mineAt(at);
        expect((await f.perp.accountView(who)).equity).to.equal(b.equityAtPrice);
        await snap.restore();
        await setPerpPrice(f, "WETH", b.price + beyond);
        await mineAt(at);
        expect((await f.perp.accountView(who)).equity).to.be.lessThan(0n);
        await snap.restore();
      }
    });

    it("liquidationPrice / bankruptcyPrice: null where no price reaches them", async () => {
      const f = await loadFixture(exactBook);
      const sdk = await connect(f, f.actors.admin);
      // bob: 1M of margin against 100 ETH long: no positive ETH price liquidates or bankrupts him.
      expect(await sdk.perps.liquidationPrice(f.actors.bob.address, f.ETH)).to.be.null;
      expect(await sdk.perps.bankruptcyPrice(f.actors.bob.address, f.ETH)).to.be.null;
      await expect(sdk.perps.liquidationPrice(f.actors.dave.address, f.ETH)).to.be.rejectedWith(
        "no position",
      );
    });
  });

  describe("max position size", () => {
    /** Opening `size` at `at` succeeds; `size + step` reverts with `error`. */
    async function expectMax(
      f: PerpFixture,
      who: PerpFixture["actors"]["alice"],
      marketId: number,
      delta: bigint,
      step: bigint,
      at: bigint,
      error = "InsufficientMargin",
    ) {
      const limit = delta > 0n ? MAX : 0n;
      const snap = await takeSnapshot();
      await sendAt(at, async () =>
        expect(
          f.perp.connect(who).modifyPosition(marketId, delta + step, limit),
        ).to.be.revertedWithCustomError(f.perp, error),
      );
      await snap.restore();
      await sendAt(at, () => f.perp.connect(who).modifyPosition(marketId, delta, limit));
      const v = await f.perp.accountView(who.address);
      if (error === "InsufficientMargin") {
        // Right at the edge: equity covers the initial margin by less than what one more wei of size costs.
        expect(v.equity - BigInt(v.initialMargin)).to.be.within(0n, u(1));
      }
      await snap.restore();
    }

    it("maxPositionSize (long, flat, holding a BTC short): opening it succeeds, one wei more reverts InsufficientMargin", async () => {
      const f = await loadFixture(exactBook);
      const { dave } = f.actors;
      await f.perp.connect(dave).depositMargin(u(10_000), dave.address);
      await f.perp.connect(dave).modifyPosition(f.BTC, -size("0.5"), 0);
      const sdk = await connect(f, dave);
      const at = (await now()) + 300n;
      const max = await sdk.perps.maxPositionSize(dave.address, f.ETH, "long", { at });
      expect(max.limitedBy).to.equal("margin");
      expect(max.sizeDelta).to.equal(max.size);
      // About 10,000 - 3,000 (the BTC leg's margin) at 5% and more: some 40 ETH.
      expect(max.size).to.be.greaterThan(size(30)).and.lessThan(size(50));
      await expectMax(f, dave, f.ETH, max.size, 1n, at);
      // The SDK's simulation of that trade is the event's.
      const snap = await takeSnapshot();
      await expect(sendAt(at, () => f.perp.connect(dave).modifyPosition(f.ETH, max.size, MAX)))
        .to.emit(f.perp, "PositionModified")
        .withArgs(dave.address, f.ETH, max.size, max.trade!.fillPrice, max.trade!.fee, 0n, max.size);
      await snap.restore();
    });

    it("maxPositionSize (short, flat): opening it succeeds, one wei more (and 1e12 wei more) reverts", async () => {
      const f = await loadFixture(exactBook);
      const { dave } = f.actors;
      await f.perp.connect(dave).depositMargin(u(25_000), dave.address);
      const sdk = await connect(f, dave);
      const at = (await now()) + 300n;
      const max = await sdk.perps.maxPositionSize(dave.address, f.BTC, "short", { at });
      expect(max.limitedBy).to.equal("margin");
      expect(max.sizeDelta).to.equal(-max.size);
      await expectMax(f, dave, f.BTC, -max.size, -1n, at);
      const snap = await takeSnapshot();
      await sendAt(at, async () =>
        expect(
          f.perp.connect(dave).modifyPosition(f.BTC, -max.size - 10n ** 12n, 0),
        ).to.be.revertedWithCustomError(f.perp, "InsufficientMargin"),
      );
      await snap.restore();
    });

    it("maxPositionSize on an open position (increase, realising PnL and funding) and across it (flip)", async () => {
      const f = await loadFixture(exactBook);
      const { alice, carol } = f.actors;
      const sdk = await connect(f, alice);
      const at = (await now()) + 300n;
      const more = await sdk.perps.maxPositionSize(alice.address, f.ETH, "long", { at });
      expect(more.trade!.realised, "the old position is realised at the fill").to.not.equal(0n);
      expect(more.newSize).to.equal(size(50) + more.size);
      await expectMax(f, alice, f.ETH, more.size, 1n, at);

      const flip = await sdk.perps.maxPositionSize(carol.address, f.ETH, "long", { at });
      expect(flip.size, "closes the 40 ETH short and opens a long").to.be.greaterThan(size(40));
      expect(flip.limitedBy).to.equal("margin");
      await expectMax(f, carol, f.ETH, flip.size, 1n, at);
    });

    it("maxPositionSize: limited by the open-interest cap (OpenInterestCapExceeded one wei more); zero when paused", async () => {
      const f = await loadFixture(exactBook);
      const { admin, dave } = f.actors;
      await f.perp.connect(dave).depositMargin(u(1_000_000), dave.address);
      const sdk = await connect(f, dave);
      const m: PerpMarketState = await sdk.perps.marketState(f.ETH);
      await f.perp.connect(admin).setMarketParams(f.ETH, { ...m.params, maxLongOI: m.longOI + size(3) });
      const at = (await now()) + 300n;
      const max = await sdk.perps.maxPositionSize(dave.address, f.ETH, "long", { at });
      expect(max).to.deep.include({ size: size(3), limitedBy: "openInterest" });
      await expectMax(f, dave, f.ETH, size(3), 1n, at, "OpenInterestCapExceeded");

      await f.perp.connect(admin).setHalted(f.BTC, true);
      expect((await sdk.perps.marketState(f.BTC)).status).to.equal(MarketStatus.HALTED);
      expect(await sdk.perps.maxPositionSize(dave.address, f.BTC, "short")).to.deep.include({
        size: 0n,
        limitedBy: "MarketNotActive",
      });
      await f.perp.connect(admin).setHalted(f.BTC, false);
      await f.perp.connect(admin).setPaused(true);
      expect(await sdk.perps.maxPositionSize(dave.address, f.BTC, "short")).to.deep.include({
        size: 0n,
        limitedBy: "MarketPaused",
      });
    });
  });

  describe("market reads", () => {
    it("fundingRate: marketView's rate, per day and per year; the index grows by rate x seconds x price", async () => {
      const f = await loadFixture(exactBook);
      const sdk = await connect(f, f.actors.admin);
      const rate = await sdk.perps.fundingRate(f.ETH);
      const v = await f.perp.marketView(f.ETH);
      expect(rate.perSecond).to.equal(v.fundingRate);
      // Skew 110 ETH of 10,000 at 10% a day: 0.11% a day (the per-second rate is truncated).
      expect(rate.perDay).to.equal(v.fundingRate * SECONDS_PER_DAY);
      expect(rate.perYear).to.equal(v.fundingRate * SECONDS_PER_YEAR);
      expect(rate.perDay).to.be.closeTo(wad(11n) / 10_000n, SECONDS_PER_DAY);
      const [price] = await f.router.peek(f.assets.WETH.address);
      const before = await sdk.perps.marketState(f.ETH);
      await f.perp.connect(f.actors.bob).modifyPosition(f.ETH, size(1), MAX);
      const after = await f.perp.marketView(f.ETH);
      const elapsed = after.lastFundingTime - before.lastFundingTime;
      expect(after.fundingIndex - before.fundingIndex).to.equal((rate.perSecond * elapsed * price) / WAD);
    });

    it("simulateTrade: fill, fee, realised and margin equal the trade's event and state; PriceLimitExceeded by slippage", async () => {
      const f = await loadFixture(exactBook);
      const { alice } = f.actors;
      const sdk = await connect(f, alice);
      const at = (await now()) + 300n;
      const sim = await sdk.perps.simulateTrade(alice.address, f.ETH, -size(20), { at });
      expect(sim.error).to.equal(undefined);
      expect(sim.addsRisk).to.equal(false);
      // A limit one wei better than the simulated fill is refused; the fill itself is accepted.
      const snap = await takeSnapshot();
      await sendAt(at, async () =>
        expect(f.perp.connect(alice).modifyPosition(f.ETH, -size(20), sim.fillPrice + 1n))
          .to.be.revertedWithCustomError(f.perp, "PriceLimitExceeded")
          .withArgs(sim.fillPrice, sim.fillPrice + 1n),
      );
      await snap.restore();
      await expect(sendAt(at, () => f.perp.connect(alice).modifyPosition(f.ETH, -size(20), sim.fillPrice)))
        .to.emit(f.perp, "PositionModified")
        .withArgs(alice.address, f.ETH, -size(20), sim.fillPrice, sim.fee, sim.paid, size(30));
      expect((await f.perp.marginOf(alice.address)).margin).to.equal(sim.marginAfter);
      // The quote (fillPrice view) and the simulation agree at the block's time.
      const s = await sdk.perps.state(alice.address);
      expect(simulateTrade(s, f.ETH, size(7)).fillPrice).to.equal(await f.perp.fillPrice(f.ETH, size(7)));
      expect(acceptablePrice(wad(3000n), true, WAD / 100n)).to.equal(wad(3030n));
      expect(acceptablePrice(wad(3000n), false, WAD / 100n)).to.equal(wad(2970n));
    });

    it("vaultState / sharePrice: convertToAssets of a whole share; the share price rises when a trader's loss is realised", async () => {
      const f = await loadFixture(exactBook);
      const sdk = await connect(f, f.actors.admin);
      const v = await sdk.perps.vaultState();
      expect(v.decimals).to.equal(12);
      expect(v.totalAssets).to.equal(await f.vault.totalAssets());
      expect(v.totalSupply).to.equal(await f.vault.totalSupply());
      expect(v.sharePrice).to.equal(await f.vault.convertToAssets(10n ** 12n));
      expect(v.withdrawable).to.equal(await f.perp.lpWithdrawable());
      expect(v.sharePrice, "about 1 USDC a share, plus fees and funding").to.be.within(u(1), u("1.01"));
      const [price] = await f.router.peek(f.assets.WETH.address);
      await setPerpPrice(f, "WETH", (price * 9n) / 10n);
      await f.perp.connect(f.actors.alice).closePosition(f.ETH, 0);
      await f.perp.connect(f.actors.bob).closePosition(f.ETH, 0);
      expect(await sdk.perps.sharePrice()).to.be.greaterThan(v.sharePrice);
    });
  });

  describe("writes", () => {
    it("depositMargin / vaultDeposit: approve exactly the amount from zero, nothing when the allowance suffices", async () => {
      const f = await loadPerps();
      const [user] = await freshSigners(1);
      const sdk: Ballast = await connect(f, user);
      const usdc = f.base.token!;
      const perpAddress = await f.perp.getAddress();
      await usdc.mint(user.address, u(50_000));
      expect(await usdc.allowance(user.address, perpAddress)).to.equal(0n);
      const first = await sdk.perps.depositMargin(u(1_000));
      expect(first.approval).to.not.be.null;
      expect(await usdc.allowance(user.address, perpAddress)).to.equal(0n);
      await usdc.connect(user).approve(perpAddress, u(5_000));
      const second = await sdk.perps.depositMargin(u(1_000));
      expect(second.approval).to.be.null;
      expect(await usdc.allowance(user.address, perpAddress)).to.equal(u(4_000));
      expect((await f.perp.marginOf(user.address)).margin).to.equal(u(2_000));

      const vault = await f.vault.getAddress();
      const dep = await sdk.perps.vaultDeposit(u(10_000));
      expect(dep.approval).to.not.be.null;
      expect(await usdc.allowance(user.address, vault)).to.equal(0n);
      expect(await f.vault.balanceOf(user.address)).to.equal(u(10_000) * 10n ** 6n);
      await usdc.connect(user).approve(vault, u(10_000));
      expect((await sdk.perps.vaultDeposit(u(1_000))).approval).to.be.null;
      const redeemed = await sdk.perps.vaultRedeem("max");
      expect(redeemed.approval).to.be.null;
      expect(await f.vault.balanceOf(user.address)).to.equal(0n);
    });

    it("openPosition / closePosition: the price limit is the quote moved by the slippage; withdrawMargin max empties the account", async () => {
      const f = await loadPerps();
      const [user] = await freshSigners(1);
      const sdk = await connect(f, user);
      await f.vault.connect(f.actors.lp).deposit(u(1_000_000), f.actors.lp.address);
      await f.base.token!.mint(user.address, u(10_000));
      await sdk.perps.depositMargin(u(10_000));
      const slippage = WAD / 200n; // 0.5%
      const quote = await f.perp.fillPrice(f.ETH, size(2));
      const opened = await sdk.perps.openPosition(f.ETH, size(2), { slippage });
      expect(opened.approval).to.be.null;
      const tx = await ethers.provider.getTransaction(opened.receipt.hash);
      const call = f.perp.interface.parseTransaction(tx!)!;
      expect(call.name).to.equal("modifyPosition");
      expect(call.args[2]).to.equal(acceptablePrice(quote, true, slippage));
      expect(call.args[2]).to.equal((quote * 1005n + 999n) / 1000n);
      expect((await f.perp.positionView(user.address, f.ETH)).size).to.equal(size(2));

      const closeQuote = await f.perp.fillPrice(f.ETH, -size(2));
      const closed = await sdk.perps.closePosition(f.ETH, { slippage });
      expect(closed.approval).to.be.null;
      const closeCall = f.perp.interface.parseTransaction(
        (await ethers.provider.getTransaction(closed.receipt.hash))!,
      )!;
      expect(closeCall.name).to.equal("closePosition");
      expect(closeCall.args[1]).to.equal(acceptablePrice(closeQuote, false, slippage));
      expect((await f.perp.positionView(user.address, f.ETH)).size).to.equal(0n);
      await expect(sdk.perps.closePosition(f.ETH)).to.be.rejectedWith("no position");

      const margin = (await f.perp.marginOf(user.address)).margin;
      expect((await sdk.perps.withdrawMargin("max")).approval).to.be.null;
      expect((await f.perp.marginOf(user.address)).margin).to.equal(0n);
      expect(await f.base.erc20.balanceOf(user.address)).to.equal(margin);
    });
  });
});
