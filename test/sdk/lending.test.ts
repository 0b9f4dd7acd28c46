/**
 * The SDK's lending reads and writes against the deployed LendingMarket.
 *
 * Where the contract has the same view (accountView: debt, collateral value, capacities, health), every
 * number is compared to the unit. Where it has none, the SDK's number is checked by behaviour, at the exact
 * timestamp it was computed for (interest accrues every second): the account is liquidatable at the
 * liquidation price and not one grid step above it (1 wei on 18-decimal feeds, 1e10 wei on 8-decimal
 * ones); equity is within the documented tolerance of zero at the bankruptcy price and negative one step
 * below it (where a partial liquidation must seize all); the largest borrow succeeds and one unit more
 * reverts with the error the SDK names; one second of accrual charges exactly the borrow rate.
 */
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { loadFixture, takeSnapshot } from "@nomicfoundation/hardhat-network-helpers";

import { localConfig } from "../../deploy/config";
import { deploySystem, type System } from "../../deploy/deploySystem";
import { toUnits, WAD } from "../../deploy/units";
import type { LendingMarket } from "../../typechain-types";
import { systemFixture } from "../helpers/fixture";
import {
  connect,
  lendingDebt,
  lendingPosition,
  MAX_UINT256,
  mulDivDown,
  PriceStatus,
  SECONDS_PER_YEAR,
  wMulDown,
  wMulUp,
  type Ballast,
  type DeploymentsFileLike,
} from "../../sdk";
import { exactAssets, freshSigners, mineAt, now, sendAt, setPriceWad } from "./helpers";

const usdc = (v: number | string) => toUnits(v, 6);
const weth = (v: number | string) => toUnits(v, 18);
const wbtc = (v: number | string) => toUnits(v, 8);

/**
 * The book every test starts from: a supplier's 100,000 USDC; alice's 10 WETH and 0.1 WBTC against a
 * 25,000 USDC loan (health about 1.21); a keeper funded to liquidate. Then 30 days pass with no transaction
 * (interest accrues in views only) and the feeds are refreshed at the same prices.
 */
async function book(system: System) {
  const market = system.lending!.market;
  const address = await market.getAddress();
  const [admin, alice, keeper, supplier] = await ethers.getSigners();
  const usdcToken = system.base.token!;
  for (const who of [supplier, keeper]) {
    await usdcToken.mint(who.address, usdc(1_000_000));
    await usdcToken.connect(who).approve(address, ethers.MaxUint256);
  }
  await market.connect(supplier).supply(usdc(100_000), supplier.address);
  for (const [symbol, amount] of [
    ["WETH", weth(10)],
    ["WBTC", wbtc("0.1")],
  ] as const) {
    const token = system.assets[symbol].token!;
    await token.mint(alice.address, amount);
    await token.connect(alice).approve(address, amount);
    await market.connect(alice).supplyCollateral(token, amount, alice.address);
  }
  await market.connect(alice).borrow(usdc(25_000), alice.address);
  await ethers.provider.send("evm_increaseTime", [30 * 86_400]);
  await refresh(system);
  return { system, market, admin, alice, keeper, supplier };
}

/** Pushes every asset's current price again (fresh rounds). */
async function refresh(system: System) {
  for (const a of Object.values(system.assets)) {
    const [price] = await system.router.peek(a.address);
    await setPriceWad(a, price);
  }
}

/** The local system (8-decimal primary feeds) with the book. */
async function defaultBook() {
  return book(await systemFixture());
}

/** The local system on 18-decimal feeds (prices to the wei) with the book. */
async function exactBook() {
  return book(await deploySystem(hre, localConfig({ assets: exactAssets() })));
}

type Book = Awaited<ReturnType<typeof book>>;

async function sdkOf(b: Book, runner = b.admin): Promise<Ballast> {
  return connect(b.system, runner);
}

/** LendingMarket.params() as a MarketParams argument. */
function paramsOf(p: Awaited<ReturnType<LendingMarket["params"]>>) {
  return {
    borrowCap: p.borrowCap,
    minBorrow: p.minBorrow,
    reserveFactor: p.reserveFactor,
    smallPosition: p.smallPosition,
    protocolShare: p.protocolShare,
    marginCallHealth: p.marginCallHealth,
  };
}

/** accountView's fields as the SDK names them. */
async function viewOf(market: LendingMarket, account: string) {
  const v = await market.accountView(account);
  return {
    supplyAssets: v.supplyAssets,
    debt: v.debt,
    collateralValue: v.collateralValue,
    borrowCapacity: v.borrowCapacity,
    liquidationCapacity: v.liquidationCapacity,
    health: v.health,
    pricesTrusted: v.pricesTrusted,
    liquidatable: v.liquidationCapacity < v.debt,
  };
}

describe("sdk: lending", () => {
  describe("connect", () => {
    it("connect: deploySystem's result, a deployments file and flat addresses give the same handles", async () => {
      const b = await loadFixture(defaultBook);
      const s = b.system;
      const fromSystem = await sdkOf(b);
      const file: DeploymentsFileLike = {
        contracts: {
          OracleRouter: await s.router.getAddress(),
          InsuranceFund: await s.insuranceFund.getAddress(),
          LendingMarket: await s.lending!.market.getAddress(),
          PerpMarket: await s.perps!.market.getAddress(),
          LiquidityVault: await s.perps!.vault.getAddress(),
        },
        base: { address: s.base.address },
        assets: { WETH: { address: s.assets.WETH.address } },
        perpMarketIds: { WETH: 0, WBTC: 1 },
      };
      const fromFile = await connect(file, b.admin);
      const fromFlat = await connect(fromSystem.addresses, ethers.provider);
      for (const x of [fromFile, fromFlat]) {
        expect(x.addresses.lendingMarket).to.equal(file.contracts.LendingMarket);
        expect(x.addresses.perpMarket).to.equal(file.contracts.PerpMarket);
        expect(x.addresses.liquidityVault).to.equal(file.contracts.LiquidityVault);
        expect(x.addresses.baseToken).to.equal(s.base.address);
        expect(x.asset("WETH")).to.equal(s.assets.WETH.address);
        expect(x.baseDecimals).to.equal(6);
        expect(x.hasLending && x.hasPerps).to.equal(true);
      }
      expect(await fromFile.perps.marketId("WBTC")).to.equal(1);
      expect(await fromSystem.perps.marketId(s.assets.WBTC.address), "read on chain").to.equal(1);
      expect(await fromFlat.lending.health(b.alice.address)).to.equal(
        (await b.market.accountView(b.alice.address)).health,
      );
      await expect(fromFlat.lending.supply(1n)).to.be.rejectedWith("writes need a Signer");
      const lendingOnly = await connect({ ...fromSystem.addresses, perpMarket: undefined }, ethers.provider);
      expect(() => lendingOnly.perps).to.throw("no perps engine");
      expect(() => fromFlat.asset("DOGE")).to.throw("not in this deployment");
    });
  });

  describe("position and health", () => {
    it("position: debt, value, capacities and health equal accountView to the unit, now and projected", async () => {
      const b = await loadFixture(exactBook);
      const sdk = await sdkOf(b);
      const alice = b.alice.address;
      expect(await sdk.lending.position(alice)).to.deep.equal(await viewOf(b.market, alice));
      const s = await sdk.lending.state(alice);
      expect(s.market.totals.borrowAssets, "30 days of interest in the view").to.be.greaterThan(
        s.market.storedTotals.borrowAssets,
      );
      expect(s.holdings.map((h) => h.priceStatus)).to.deep.equal([PriceStatus.OK, PriceStatus.OK]);

      // Projected 1,000 seconds ahead, then a block is mined at that time: the same numbers.
      const at = (await now()) + 1_000n;
      const projected = await sdk.lending.position(alice, { at });
      await mineAt(at);
      expect(projected).to.deep.equal(await viewOf(b.market, alice));
      expect(projected.debt).to.be.greaterThan(usdc(25_000));
      expect(await sdk.lending.health(alice)).to.equal((await b.market.accountView(alice)).health);

      // A supplier and an account with nothing.
      expect(await sdk.lending.position(b.supplier.address)).to.deep.equal(
        await viewOf(b.market, b.supplier.address),
      );
      expect(await sdk.lending.health(b.keeper.address)).to.equal(MAX_UINT256);
    });
  });

  describe("liquidation price", () => {
    async function expectBoundary(b: Book, sdk: Ballast, step: bigint) {
      const { alice, keeper, market, system } = b;
      const weth = system.assets.WETH;
      const at = (await now()) + 300n;
      const price = (await sdk.lending.liquidationPrice(alice.address, weth.address, { at }))!;
      expect(price % step, "on the feed's grid").to.equal(0n);
      const [current] = await system.router.peek(weth.address);
      expect(price).to.be.lessThan(current);

      // The SDK's own health at the two prices (same time): below 1 at the price, at least 1 one step above.
      const state = await sdk.lending.state(alice.address, { at });
      expect(lendingPosition(state, { token: weth.address, price }).health).to.be.lessThan(WAD);
      expect(lendingPosition(state, { token: weth.address, price: price + step }).health).to.be.gte(WAD);

      const snap = await takeSnapshot();
      await setPriceWad(weth, price + step);
      await sendAt(at, async () =>
        expect(
          market.connect(keeper).liquidate(alice.address, weth.address, usdc(100)),
        ).to.be.revertedWithCustomError(market, "NotLiquidatable"),
      );
      await snap.restore();
      await setPriceWad(weth, price);
      await sendAt(at, async () =>
        expect(market.connect(keeper).liquidate(alice.address, weth.address, usdc(100))).to.emit(
          market,
          "Liquidate",
        ),
      );
    }

    it("liquidationPrice: liquidatable at it, not one wei above (18-decimal feeds, interest to the second)", async () => {
      const b = await loadFixture(exactBook);
      const sdk = await sdkOf(b);
      // WETH's liquidation capacity (25,500) alone covers the debt: no WBTC price makes the account liquidatable.
      expect(await sdk.lending.liquidationPrice(b.alice.address, b.system.assets.WBTC.address)).to.be.null;
      await expectBoundary(b, sdk, 1n);
    });

    it("liquidationPrice: on an 8-decimal feed, a multiple of 1e10 wei; liquidatable there, not one step above", async () => {
      const b = await loadFixture(defaultBook);
      await expectBoundary(b, await sdkOf(b), 10n ** 10n);
    });

    it("liquidationPrice: null without debt, or when the other collateral alone covers the debt", async () => {
      const b = await loadFixture(exactBook);
      const sdk = await sdkOf(b);
      const { alice, market, system } = b;
      const [wethAddress, wbtcAddress] = [system.assets.WETH.address, system.assets.WBTC.address];
      expect(await sdk.lending.liquidationPrice(alice.address, wethAddress)).to.not.be.null;
      expect(await sdk.lending.bankruptcyPrice(alice.address, wethAddress)).to.not.be.null;
      await b.system.base.token!.mint(alice.address, usdc(10_000));
      await b.system.base.token!.connect(alice).approve(await market.getAddress(), ethers.MaxUint256);
      // Repay down to about 1,000: the WBTC (0.1 x 60,000 x 0.8 = 4,800) covers it whatever WETH is worth.
      await market.connect(alice).repay(usdc(24_100), alice.address);
      expect(await sdk.lending.liquidationPrice(alice.address, wethAddress)).to.be.null;
      expect(await sdk.lending.bankruptcyPrice(alice.address, wethAddress)).to.be.null;
      expect(await sdk.lending.gapToBankruptcy(alice.address, wethAddress)).to.be.null;
      await expect(
        sdk.lending.liquidationPrice(alice.address, system.assets.EURC.address),
      ).to.be.rejectedWith("holds no collateral");
      await market.connect(alice).repay(ethers.MaxUint256, alice.address);
      expect(await sdk.lending.liquidationPrice(alice.address, wbtcAddress)).to.be.null;
      expect(await sdk.lending.bankruptcyPrice(alice.address, wbtcAddress)).to.be.null;
    });
  });

  describe("bankruptcy price and gap", () => {
    it("bankruptcyPrice: equity in [0, tolerance) at it; one wei below, insolvent (a partial liquidation must seize all)", async () => {
      const b = await loadFixture(exactBook);
      const sdk = await sdkOf(b);
      const { alice, keeper, market, system } = b;
      const weth = system.assets.WETH;
      const at = (await now()) + 300n;
      const bankruptcy = (await sdk.lending.bankruptcyPrice(alice.address, weth.address, { at }))!;
      expect(bankruptcy.tolerance, "10 WETH: one wei of price is worth less than a base unit").to.equal(1n);
      expect(bankruptcy.equityAtPrice).to.be.gte(0n).and.lessThan(bankruptcy.tolerance);

      // At the price: the view (a block mined at that time) and a partial liquidation sent at that time.
      const snap = await takeSnapshot();
      await setPriceWad(weth, bankruptcy.price);
      const priced = await takeSnapshot();
      await mineAt(at);
      const v = await market.accountView(alice.address);
      expect(v.collateralValue - v.debt, "equity at the price").to.equal(bankruptcy.equityAtPrice);
      await priced.restore();
      await sendAt(at, async () =>
        expect(market.connect(keeper).liquidate(alice.address, weth.address, usdc(100))).to.emit(
          market,
          "Liquidate",
        ),
      );

      // One wei below: insolvent.
      await snap.restore();
      await setPriceWad(weth, bankruptcy.price - 1n);
      const below = await takeSnapshot();
      await mineAt(at);
      const u = await market.accountView(alice.address);
      expect(u.collateralValue, "insolvent one wei below").to.be.lessThan(u.debt);
      await below.restore();
      await sendAt(at, () =>
        expect(
          market.connect(keeper).liquidate(alice.address, weth.address, usdc(100)),
        ).to.be.revertedWithCustomError(market, "InsolventMustSeizeAll"),
      );
    });

    it("gapToBankruptcy / gapToLiquidation / collateralRisk: the fractional moves to those prices", async () => {
      const b = await loadFixture(exactBook);
      const sdk = await sdkOf(b);
      const alice = b.alice.address;
      const token = b.system.assets.WETH.address;
      const block = (await ethers.provider.getBlock("latest"))!.number;
      const opts = { blockTag: block };
      const [current] = await b.system.router.peek(token);
      const bankruptcy = (await sdk.lending.bankruptcyPrice(alice, token, opts))!;
      const gap = (await sdk.lending.gapToBankruptcy(alice, token, opts))!;
      expect(gap.fromPrice).to.equal(current);
      expect(gap.toPrice).to.equal(bankruptcy.price);
      expect(gap.wad).to.equal(((bankruptcy.price - current) * WAD) / current);
      // Debt about 25,000 + interest, WBTC worth 6,000: WETH may fall to about 1,900 (-37%).
      expect(gap.ratio).to.be.within(-0.38, -0.36);
      const liq = (await sdk.lending.gapToLiquidation(alice, token, opts))!;
      expect(liq.toPrice).to.equal(await sdk.lending.liquidationPrice(alice, token, opts));
      expect(liq.ratio, "liquidation comes before bankruptcy").to.be.greaterThan(gap.ratio);
      const risk = await sdk.lending.collateralRisk(alice, opts);
      expect(risk.map((r) => r.token)).to.deep.equal([token, b.system.assets.WBTC.address]);
      expect(risk[0].gapToBankruptcy).to.deep.equal(gap);
      expect(risk[0].gapToLiquidation).to.deep.equal(liq);
      expect(risk[0].bankruptcyPrice).to.deep.equal(bankruptcy);
    });
  });

  describe("max borrow", () => {
    it("maxBorrow: borrowing it succeeds, one unit more reverts with InsufficientBorrowCapacity (30 days of interest)", async () => {
      const b = await loadFixture(exactBook);
      const sdk = await sdkOf(b);
      const { alice, market } = b;
      const at = (await now()) + 300n;
      const max = await sdk.lending.maxBorrow(alice.address, { at });
      expect(max.limitedBy).to.equal("capacity");
      expect(max.amount).to.be.greaterThan(usdc(3_000)).and.lessThan(usdc(3_500));

      const snap = await takeSnapshot();
      await sendAt(at, async () =>
        expect(market.connect(alice).borrow(max.amount + 1n, alice.address)).to.be.revertedWithCustomError(
          market,
          "InsufficientBorrowCapacity",
        ),
      );
      await snap.restore();
      await sendAt(at, () => market.connect(alice).borrow(max.amount, alice.address));
      const v = await market.accountView(alice.address);
      expect(v.debt, "debtAfter is the debt the borrow leaves").to.equal(max.debtAfter);
      expect(v.debt).to.be.lte(v.borrowCapacity);
    });

    it("maxBorrow: limited by cash (InsufficientLiquidity), the borrow cap, minBorrow; zero when paused or a price is not OK", async () => {
      const b = await loadFixture(exactBook);
      const sdk = await sdkOf(b);
      const { admin, market, system } = b;
      const [whale, minnow] = await freshSigners(2);
      const post = async (who: typeof whale, amount: bigint) => {
        const token = system.assets.WETH.token!;
        await token.mint(who.address, amount);
        await token.connect(who).approve(await market.getAddress(), amount);
        await market.connect(who).supplyCollateral(token, amount, who.address);
      };
      await post(whale, weth(1_000));
      await post(minnow, weth("0.05")); // capacity 120 USDC

      // Cash: 100,000 supplied + interest - 25,000 + interest borrowed.
      let at = (await now()) + 300n;
      const byCash = await sdk.lending.maxBorrow(whale.address, { at });
      expect(byCash.limitedBy).to.equal("liquidity");
      let snap = await takeSnapshot();
      await sendAt(at, async () =>
        expect(market.connect(whale).borrow(byCash.amount + 1n, whale.address)).to.be.revertedWithCustomError(
          market,
          "InsufficientLiquidity",
        ),
      );
      await snap.restore();
      await sendAt(at, () => market.connect(whale).borrow(byCash.amount, whale.address));
      await snap.restore();

      // The borrow cap, lowered to 50,000.
      const p = await market.params();
      await market.connect(admin).setMarketParams({ ...paramsOf(p), borrowCap: usdc(50_000) });
      at = (await now()) + 300n;
      const byCap = await sdk.lending.maxBorrow(whale.address, { at });
      expect(byCap.limitedBy).to.equal("borrowCap");
      snap = await takeSnapshot();
      await sendAt(at, async () =>
        expect(market.connect(whale).borrow(byCap.amount + 1n, whale.address)).to.be.revertedWithCustomError(
          market,
          "BorrowCapExceeded",
        ),
      );
      await snap.restore();
      await sendAt(at, () => market.connect(whale).borrow(byCap.amount, whale.address));
      await snap.restore();

      // minBorrow 100: a capacity of 120 allows it, 100 minimum raised to 200 does not.
      expect((await sdk.lending.maxBorrow(minnow.address)).amount).to.be.closeTo(usdc(120), 1n);
      await market.connect(admin).setMarketParams({ ...paramsOf(p), minBorrow: usdc(200) });
      const none = await sdk.lending.maxBorrow(minnow.address);
      expect(none).to.deep.include({ amount: 0n, limitedBy: "minBorrow" });
      await expect(market.connect(minnow).borrow(usdc(120), minnow.address)).to.be.revertedWithCustomError(
        market,
        "BelowMinBorrow",
      );

      await market.connect(admin).setPaused(true);
      expect(await sdk.lending.maxBorrow(whale.address)).to.deep.include({ amount: 0n, limitedBy: "paused" });
      await market.connect(admin).setPaused(false);
      await ethers.provider.send("evm_increaseTime", [7_200]); // feeds stale
      await ethers.provider.send("evm_mine", []);
      expect(await sdk.lending.maxBorrow(whale.address)).to.deep.include({ amount: 0n, limitedBy: "price" });
      await expect(market.connect(whale).borrow(usdc(1_000), whale.address)).to.be.revertedWithCustomError(
        market,
        "PriceNotUsable",
      );
    });
  });

  describe("rates", () => {
    it("rates: one second of accrual charges exactly the borrow rate; APRs, utilisation and the supply rate follow", async () => {
      const b = await loadFixture(exactBook);
      const sdk = await sdkOf(b);
      const { market, system } = b;
      await market.accrueInterest();
      const t0 = await now();
      const rates = await sdk.lending.rates();
      const state = await sdk.lending.marketState();
      expect(state.lastAccrual).to.equal(t0);
      const [sA, , bA, , reserves] = await market.totals();
      expect(rates.utilisation).to.equal(await market.utilisation());
      const model = system.lending!.rateModel;
      expect(rates.borrowRatePerSecond).to.equal(await model.borrowRatePerSecond(rates.utilisation));
      expect(rates.borrowApr).to.equal(rates.borrowRatePerSecond * SECONDS_PER_YEAR);
      // Utilisation about 25%: 0.04 x 0.25 / 0.8 = 1.25% a year (the per-second rate is rounded up).
      expect(rates.borrowApr - (await model.borrowRatePerYear(rates.utilisation))).to.be.within(
        0n,
        SECONDS_PER_YEAR,
      );
      const reserveFactor = state.params.reserveFactor;
      expect(rates.supplyRatePerSecond).to.equal(
        mulDivDown(rates.borrowRatePerSecond * bA, WAD - reserveFactor, sA * WAD),
      );
      expect(rates.supplyApr).to.be.closeTo(rates.supplyRatePerSecond * SECONDS_PER_YEAR, SECONDS_PER_YEAR);

      await sendAt(t0 + 1n, () => market.accrueInterest());
      const interest = wMulUp(bA, rates.borrowRatePerSecond);
      const [sA1, , bA1, , reserves1] = await market.totals();
      expect(bA1 - bA).to.equal(interest);
      expect(reserves1 - reserves).to.equal(wMulDown(interest, reserveFactor));
      expect(sA1 - sA).to.equal(interest - wMulDown(interest, reserveFactor));
    });
  });

  describe("writes", () => {
    it("supply / supplyCollateral: approve exactly the amount from a zero allowance, nothing when it suffices", async () => {
      const b = await loadFixture(defaultBook);
      const [user] = await freshSigners(1);
      const sdk = await connect(b.system, user);
      const { market, system } = b;
      const address = await market.getAddress();
      const usdcToken = system.base.token!;
      const wethToken = system.assets.WETH.token!;
      await usdcToken.mint(user.address, usdc(5_000));
      await wethToken.mint(user.address, weth(5));
      expect(await usdcToken.allowance(user.address, address)).to.equal(0n);

      const first = await sdk.lending.supply(usdc(1_000));
      expect(first.approval, "approved").to.not.be.null;
      expect(first.approval!.to).to.equal(await usdcToken.getAddress());
      expect(await usdcToken.allowance(user.address, address), "exactly what was needed").to.equal(0n);
      expect(first.receipt.status).to.equal(1);
      await usdcToken.connect(user).approve(address, usdc(3_000));
      const second = await sdk.lending.supply(usdc(1_000));
      expect(second.approval, "the allowance sufficed").to.be.null;
      expect(await usdcToken.allowance(user.address, address)).to.equal(usdc(2_000));
      expect((await market.accountView(user.address)).supplyAssets).to.be.closeTo(usdc(2_000), 1n);

      const collateral = await sdk.lending.supplyCollateral(system.assets.WETH.address, weth(2));
      expect(collateral.approval).to.not.be.null;
      expect(await wethToken.allowance(user.address, address)).to.equal(0n);
      await wethToken.connect(user).approve(address, weth(10));
      expect((await sdk.lending.supplyCollateral(system.assets.WETH.address, weth(1))).approval).to.be.null;
      expect(await market.collateralOf(user.address, system.assets.WETH.address)).to.equal(weth(3));
    });

    it("borrow / repay max / withdraw max / withdrawCollateral: repay approves the projected debt only; all cleared", async () => {
      const b = await loadFixture(defaultBook);
      const [user] = await freshSigners(1);
      const sdk = await connect(b.system, user);
      const { market, system } = b;
      const address = await market.getAddress();
      const usdcToken = system.base.token!;
      const wethToken = system.assets.WETH.token!;
      await wethToken.mint(user.address, weth(2));
      await usdcToken.mint(user.address, usdc(500));
      await sdk.lending.supplyCollateral(system.assets.WETH.address, weth(2));
      const borrowed = await sdk.lending.borrow(usdc(2_000));
      expect(borrowed.approval).to.be.null;
      expect(await usdcToken.balanceOf(user.address)).to.equal(usdc(2_500));
      await ethers.provider.send("evm_increaseTime", [86_400 * 10]);
      await ethers.provider.send("evm_mine", []);

      const debtBefore = (await market.accountView(user.address)).debt;
      const repaid = await sdk.lending.repay("max", undefined, { slackSeconds: 60n });
      expect(repaid.approval).to.not.be.null;
      const v = await market.accountView(user.address);
      expect(v.debt).to.equal(0n);
      const spent = usdc(2_500) - (await usdcToken.balanceOf(user.address));
      expect(spent).to.be.greaterThan(debtBefore - 1n);
      // What is left of the allowance: at most 60 seconds of interest on 2,000 USDC at about 1.25%.
      expect(await usdcToken.allowance(user.address, address)).to.be.lessThan(100n);

      await refresh(system);
      const out = await sdk.lending.withdrawCollateral(system.assets.WETH.address, weth(2));
      expect(out.approval).to.be.null;
      expect(await wethToken.balanceOf(user.address)).to.equal(weth(2));

      await sdk.lending.supply(usdc(100));
      expect((await sdk.lending.withdraw("max")).approval).to.be.null;
      expect((await market.accountView(user.address)).supplyShares).to.equal(0n);
    });

    it("repay of a given amount below the debt approves that amount", async () => {
      const b = await loadFixture(defaultBook);
      const sdk = await connect(b.system, b.alice);
      const usdcToken = b.system.base.token!;
      await usdcToken.mint(b.alice.address, usdc(1_000));
      const before = lendingDebt(await sdk.lending.state(b.alice.address));
      const r = await sdk.lending.repay(usdc(1_000));
      const approvals = r
        .approval!.logs.map((l) => usdcToken.interface.parseLog(l)!)
        .filter((e) => e.name === "Approval");
      expect(approvals[0].args.value).to.equal(usdc(1_000));
      expect((await b.market.accountView(b.alice.address)).debt).to.be.closeTo(before - usdc(1_000), usdc(1));
      // With an allowance that suffices, no approval.
      await usdcToken.connect(b.alice).approve(await b.market.getAddress(), usdc(5_000));
      const again = await sdk.lending.repay(usdc(1_000));
      expect(again.approval).to.be.null;
      expect(await usdcToken.allowance(b.alice.address, await b.market.getAddress())).to.equal(usdc(4_000));
    });
  });
});
