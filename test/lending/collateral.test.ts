/**
 * LendingMarket.supplyCollateral / withdrawCollateral for 18 (WETH), 8 (WBTC) and 6 (EURC) decimal
 * collateral: valuation, supply caps, every custom-error revert, the borrow-capacity check on withdrawal
 * (exact boundary computed in TypeScript), prices needed only with debt, pause, events, collateralOf.
 *
 * Tests with debt set the rate curve to zero first, so that the debt stays exactly what was borrowed and
 * the InsufficientBorrowCapacity arguments can be computed exactly.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import type { DeployedAsset } from "../../deploy/deploySystem";
import { toUnits, wad, WAD } from "../../deploy/units";
import { expectConservation } from "../helpers/conservation";
import { Action, FeedMode, loadSystem, PriceStatus } from "../helpers/fixture";

const usdc = (v: number | string) => toUnits(v, 6);
const SYMBOLS = ["WETH", "WBTC", "EURC"] as const;
type Symbol = (typeof SYMBOLS)[number];

/** Risk parameters and prices of localConfig(), as WAD, and supply caps in token units. */
const PARAMS: Record<Symbol, { price: bigint; ltv: bigint; lt: bigint; cap: bigint; decimals: number }> = {
  WETH: { price: wad(3000), ltv: wad(0.8), lt: wad(0.85), cap: toUnits(100_000, 18), decimals: 18 },
  WBTC: { price: wad(60000), ltv: wad(0.75), lt: wad(0.8), cap: toUnits(5_000, 8), decimals: 8 },
  EURC: { price: wad("1.08"), ltv: wad(0.85), lt: wad(0.9), cap: toUnits(50_000_000, 6), decimals: 6 },
};

/** Collateral value in base units: amount x price / 10^(decimals + 12), rounded down. */
const valueOf = (s: Symbol, amount: bigint) =>
  (amount * PARAMS[s].price) / 10n ** BigInt(PARAMS[s].decimals + 12);
const capacityOf = (s: Symbol, amount: bigint) => (valueOf(s, amount) * PARAMS[s].ltv) / WAD;
const liquidationCapacityOf = (s: Symbol, amount: bigint) => (valueOf(s, amount) * PARAMS[s].lt) / WAD;

/** The smallest amount whose borrow capacity covers `debt` (binary search on a monotone function). */
function minAmountFor(s: Symbol, debt: bigint): bigint {
  let lo = 0n;
  let hi = 10n ** 40n;
  while (lo < hi) {
    const mid = (lo + hi) / 2n;
    if (capacityOf(s, mid) >= debt) hi = mid;
    else lo = mid + 1n;
  }
  return lo;
}

async function setup() {
  const f = await loadSystem();
  const market = f.lending!.market;
  const marketAddress = await market.getAddress();
  const signers = await ethers.getSigners();
  const bob = signers[4];

  const asset = (s: Symbol): DeployedAsset => f.assets[s];
  const mintApprove = async (s: Symbol, who: HardhatEthersSigner, amount: bigint) => {
    await asset(s).token!.mint(who.address, amount);
    await asset(s).token!.connect(who).approve(marketAddress, ethers.MaxUint256);
  };
  const post = async (s: Symbol, who: HardhatEthersSigner, amount: bigint) => {
    await mintApprove(s, who, amount);
    await market.connect(who).supplyCollateral(asset(s).address, amount, who.address);
  };
  const tokenBalance = (s: Symbol, who: string) => asset(s).token!.balanceOf(who);
  /** A supplier with 1,000,000 USDC in the market, and a zero rate curve (debt = what was borrowed). */
  const liquidityAndFrozenRates = async () => {
    const { keeper } = f.actors;
    await f.base.token!.mint(keeper.address, usdc(1_000_000));
    await f.base.token!.connect(keeper).approve(marketAddress, ethers.MaxUint256);
    await market.connect(keeper).supply(usdc(1_000_000), keeper.address);
    await f.lending!.rateModel.setCurve(0, 0, 0, wad(0.8));
  };
  return { f, market, marketAddress, bob, asset, mintApprove, post, tokenBalance, liquidityAndFrozenRates };
}

/** An amount with every decimal place used, so that valuation rounds. */
const ODD_AMOUNTS: Record<Symbol, bigint> = {
  WETH: toUnits("1.234567890123456789", 18),
  WBTC: toUnits("0.12345678", 8),
  EURC: toUnits("1000.123457", 6),
};

describe("lending: collateral", () => {
  describe("supplyCollateral", () => {
    for (const s of SYMBOLS) {
      it(`supplyCollateral (${s}, ${PARAMS[s].decimals} decimals): recorded, evented, valued down at the oracle price`, async () => {
        const { f, market, marketAddress, asset, mintApprove, tokenBalance } = await setup();
        const { alice } = f.actors;
        const amount = ODD_AMOUNTS[s];
        await mintApprove(s, alice, amount);
        const totalBefore = (await market.collateralConfig(asset(s).address)).totalSupplied;
        const heldBefore = await tokenBalance(s, marketAddress);

        await expect(market.connect(alice).supplyCollateral(asset(s).address, amount, alice.address))
          .to.emit(market, "SupplyCollateral")
          .withArgs(alice.address, alice.address, asset(s).address, amount);

        expect(await market.collateralOf(alice.address, asset(s).address)).to.equal(amount);
        expect((await market.collateralConfig(asset(s).address)).totalSupplied).to.equal(
          totalBefore + amount,
        );
        expect(await tokenBalance(s, alice.address)).to.equal(0n);
        expect(await tokenBalance(s, marketAddress)).to.equal(heldBefore + amount);

        const view = await market.accountView(alice.address);
        const value = valueOf(s, amount);
        // The valuation rounds (the exact product is not a whole base unit), except for WBTC at $60,000,
        // where one satoshi is worth exactly 600 base units.
        const remainder = (amount * PARAMS[s].price) % 10n ** BigInt(PARAMS[s].decimals + 12);
        if (s === "WBTC") expect(remainder).to.equal(0n);
        else expect(remainder).to.not.equal(0n);
        expect(view.collateralValue).to.equal(value);
        expect(view.borrowCapacity).to.equal(capacityOf(s, amount));
        expect(view.liquidationCapacity).to.equal(liquidationCapacityOf(s, amount));
        expect(view.debt).to.equal(0n);
        expect(view.health).to.equal(ethers.MaxUint256);
        expect(view.pricesTrusted).to.equal(true);
        await expectConservation(f);
      });
    }

    it("supplyCollateral: the exact values of the odd amounts (hand-checked)", async () => {
      // 1.234567890123456789 WETH x 3000 = 3703.703670370370367 -> 3703.703670 USDC
      expect(valueOf("WETH", ODD_AMOUNTS.WETH)).to.equal(3_703_703_670n);
      // 0.12345678 WBTC x 60000 = 7407.4068 USDC (exact)
      expect(valueOf("WBTC", ODD_AMOUNTS.WBTC)).to.equal(7_407_406_800n);
      // 1000.123457 EURC x 1.08 = 1080.13333356 -> 1080.133333 USDC
      expect(valueOf("EURC", ODD_AMOUNTS.EURC)).to.equal(1_080_133_333n);
      const { f, market, post } = await setup();
      const { alice } = f.actors;
      for (const s of SYMBOLS) await post(s, alice, ODD_AMOUNTS[s]);
      const view = await market.accountView(alice.address);
      expect(view.collateralValue).to.equal(3_703_703_670n + 7_407_406_800n + 1_080_133_333n);
      expect(view.borrowCapacity).to.equal(
        capacityOf("WETH", ODD_AMOUNTS.WETH) +
          capacityOf("WBTC", ODD_AMOUNTS.WBTC) +
          capacityOf("EURC", ODD_AMOUNTS.EURC),
      );
    });

    it("supplyCollateral: on behalf of another account credits that account; the caller pays", async () => {
      const { f, market, asset, mintApprove, tokenBalance } = await setup();
      const { alice, keeper } = f.actors;
      const amount = toUnits(2, 8);
      await mintApprove("WBTC", keeper, amount);
      await expect(market.connect(keeper).supplyCollateral(asset("WBTC").address, amount, alice.address))
        .to.emit(market, "SupplyCollateral")
        .withArgs(keeper.address, alice.address, asset("WBTC").address, amount);
      expect(await market.collateralOf(alice.address, asset("WBTC").address)).to.equal(amount);
      expect(await market.collateralOf(keeper.address, asset("WBTC").address)).to.equal(0n);
      expect(await tokenBalance("WBTC", keeper.address)).to.equal(0n);
      // Only alice can take it out.
      await expect(market.connect(keeper).withdrawCollateral(asset("WBTC").address, 1n, keeper.address))
        .to.be.revertedWithCustomError(market, "InsufficientCollateral")
        .withArgs(1n, 0n);
      await market.connect(alice).withdrawCollateral(asset("WBTC").address, amount, alice.address);
      expect(await tokenBalance("WBTC", alice.address)).to.equal(amount);
      await expectConservation(f);
    });

    for (const s of SYMBOLS) {
      it(`supplyCollateral (${s}): up to the supply cap passes; one unit more reverts with SupplyCapExceeded(token, cap, wouldBe)`, async () => {
        const { f, market, asset, mintApprove, post } = await setup();
        const { alice } = f.actors;
        const cap = PARAMS[s].cap;
        expect((await market.collateralConfig(asset(s).address)).supplyCap).to.equal(cap);
        // Two accounts: the cap is on the total.
        const bobAmount = cap / 3n;
        const [, , , , bob] = await ethers.getSigners();
        await post(s, bob, bobAmount);
        await mintApprove(s, alice, cap);
        const rest = cap - bobAmount;
        await expect(market.connect(alice).supplyCollateral(asset(s).address, rest + 1n, alice.address))
          .to.be.revertedWithCustomError(market, "SupplyCapExceeded")
          .withArgs(asset(s).address, cap, cap + 1n);
        await market.connect(alice).supplyCollateral(asset(s).address, rest, alice.address);
        expect((await market.collateralConfig(asset(s).address)).totalSupplied).to.equal(cap);
        await expect(market.connect(alice).supplyCollateral(asset(s).address, 1n, alice.address))
          .to.be.revertedWithCustomError(market, "SupplyCapExceeded")
          .withArgs(asset(s).address, cap, cap + 1n);
        // A withdrawal makes room again.
        await market.connect(bob).withdrawCollateral(asset(s).address, 1n, bob.address);
        await market.connect(alice).supplyCollateral(asset(s).address, 1n, alice.address);
        expect((await market.collateralConfig(asset(s).address)).totalSupplied).to.equal(cap);
        await expectConservation(f);
      });
    }

    it("supplyCollateral: a cap lowered below the total blocks deposits but not withdrawals", async () => {
      const { f, market, asset, post } = await setup();
      const { alice, admin } = f.actors;
      const weth = asset("WETH").address;
      await post("WETH", alice, toUnits(10, 18));
      await market.connect(admin).setCollateralParams(weth, {
        ltv: wad(0.8),
        liquidationThreshold: wad(0.85),
        liquidationBonus: wad(0.05),
        supplyCap: toUnits(5, 18),
      });
      await expect(market.connect(alice).supplyCollateral(weth, 1n, alice.address))
        .to.be.revertedWithCustomError(market, "SupplyCapExceeded")
        .withArgs(weth, toUnits(5, 18), toUnits(10, 18) + 1n);
      await market.connect(alice).withdrawCollateral(weth, toUnits(6, 18), alice.address);
      expect(await market.collateralOf(alice.address, weth)).to.equal(toUnits(4, 18));
      await market.connect(alice).supplyCollateral(weth, toUnits(1, 18), alice.address);
      expect((await market.collateralConfig(weth)).totalSupplied).to.equal(toUnits(5, 18));
    });

    it("supplyCollateral: reverts with CollateralNotListed for the base asset and an unknown token", async () => {
      const { f, market } = await setup();
      const { alice } = f.actors;
      const stray = ethers.Wallet.createRandom().address;
      for (const token of [f.base.address, stray]) {
        await expect(market.connect(alice).supplyCollateral(token, 1n, alice.address))
          .to.be.revertedWithCustomError(market, "CollateralNotListed")
          .withArgs(token);
        await expect(market.connect(alice).withdrawCollateral(token, 1n, alice.address))
          .to.be.revertedWithCustomError(market, "CollateralNotListed")
          .withArgs(token);
        await expect(market.collateralOf(alice.address, token))
          .to.be.revertedWithCustomError(market, "CollateralNotListed")
          .withArgs(token);
      }
    });

    it("supplyCollateral: reverts with ZeroAmount for 0 and ZeroAddress for onBehalf = 0", async () => {
      const { f, market, asset, mintApprove } = await setup();
      const { alice } = f.actors;
      await mintApprove("WETH", alice, toUnits(1, 18));
      await expect(
        market.connect(alice).supplyCollateral(asset("WETH").address, 0n, alice.address),
      ).to.be.revertedWithCustomError(market, "ZeroAmount");
      await expect(
        market.connect(alice).supplyCollateral(asset("WETH").address, 1n, ethers.ZeroAddress),
      ).to.be.revertedWithCustomError(market, "ZeroAddress");
      expect((await market.collateralConfig(asset("WETH").address)).totalSupplied).to.equal(0n);
    });

    it("supplyCollateral: needs no price (feed reverting) and is allowed while paused", async () => {
      const { f, market, asset, mintApprove } = await setup();
      const { alice, admin } = f.actors;
      await asset("WBTC").primaryFeed.mock!.setMode(FeedMode.REVERT);
      expect((await f.router.peek(asset("WBTC").address))[1]).to.equal(PriceStatus.INVALID);
      await market.connect(admin).setPaused(true);
      await mintApprove("WBTC", alice, toUnits(1, 8));
      await expect(
        market.connect(alice).supplyCollateral(asset("WBTC").address, toUnits(1, 8), alice.address),
      ).to.emit(market, "SupplyCollateral");
      expect(await market.collateralOf(alice.address, asset("WBTC").address)).to.equal(toUnits(1, 8));
    });
  });

  describe("withdrawCollateral", () => {
    for (const s of SYMBOLS) {
      it(`withdrawCollateral (${s}): partial then full, to another receiver; evented; the asset leaves the account`, async () => {
        const { f, market, marketAddress, asset, post, tokenBalance } = await setup();
        const { alice, keeper } = f.actors;
        const amount = ODD_AMOUNTS[s];
        await post(s, alice, amount);
        const part = amount / 3n;
        await expect(market.connect(alice).withdrawCollateral(asset(s).address, part, keeper.address))
          .to.emit(market, "WithdrawCollateral")
          .withArgs(alice.address, keeper.address, asset(s).address, part);
        expect(await tokenBalance(s, keeper.address)).to.equal(part);
        expect(await market.collateralOf(alice.address, asset(s).address)).to.equal(amount - part);
        expect((await market.accountView(alice.address)).collateralValue).to.equal(valueOf(s, amount - part));

        await expect(market.connect(alice).withdrawCollateral(asset(s).address, amount - part, alice.address))
          .to.emit(market, "WithdrawCollateral")
          .withArgs(alice.address, alice.address, asset(s).address, amount - part);
        expect(await market.collateralOf(alice.address, asset(s).address)).to.equal(0n);
        expect(await tokenBalance(s, alice.address)).to.equal(amount - part);
        expect((await market.collateralConfig(asset(s).address)).totalSupplied).to.equal(0n);
        expect(await tokenBalance(s, marketAddress)).to.equal(0n);
        const view = await market.accountView(alice.address);
        expect(view.collateralValue).to.equal(0n);
        expect(view.borrowCapacity).to.equal(0n);
        await expectConservation(f);
      });
    }

    it("withdrawCollateral: reverts with ZeroAmount for 0 and ZeroAddress for receiver = 0", async () => {
      const { f, market, asset, post } = await setup();
      const { alice } = f.actors;
      await post("EURC", alice, usdc(10));
      await expect(
        market.connect(alice).withdrawCollateral(asset("EURC").address, 0n, alice.address),
      ).to.be.revertedWithCustomError(market, "ZeroAmount");
      await expect(
        market.connect(alice).withdrawCollateral(asset("EURC").address, 1n, ethers.ZeroAddress),
      ).to.be.revertedWithCustomError(market, "ZeroAddress");
      expect(await market.collateralOf(alice.address, asset("EURC").address)).to.equal(usdc(10));
    });

    for (const s of SYMBOLS) {
      it(`withdrawCollateral (${s}): reverts with InsufficientCollateral(requested, available) one unit above the balance`, async () => {
        const { f, market, asset, post } = await setup();
        const { alice, stranger } = f.actors;
        const amount = ODD_AMOUNTS[s];
        await post(s, alice, amount);
        await expect(market.connect(alice).withdrawCollateral(asset(s).address, amount + 1n, alice.address))
          .to.be.revertedWithCustomError(market, "InsufficientCollateral")
          .withArgs(amount + 1n, amount);
        await expect(market.connect(stranger).withdrawCollateral(asset(s).address, 1n, stranger.address))
          .to.be.revertedWithCustomError(market, "InsufficientCollateral")
          .withArgs(1n, 0n);
        expect(await market.collateralOf(alice.address, asset(s).address)).to.equal(amount);
      });
    }

    for (const s of SYMBOLS) {
      it(`withdrawCollateral (${s}): with debt, down to the LTV passes; one unit more reverts with InsufficientBorrowCapacity(debt, capacity)`, async () => {
        const { f, market, asset, post, liquidityAndFrozenRates } = await setup();
        const { alice } = f.actors;
        await liquidityAndFrozenRates();
        const amount = ODD_AMOUNTS[s];
        await post(s, alice, amount);
        const debt = (capacityOf(s, amount) * 2n) / 3n;
        await market.connect(alice).borrow(debt, alice.address);
        expect((await market.accountView(alice.address)).debt).to.equal(debt);

        const keep = minAmountFor(s, debt);
        expect(capacityOf(s, keep)).to.be.greaterThanOrEqual(debt);
        expect(capacityOf(s, keep - 1n)).to.be.lessThan(debt);
        const maxOut = amount - keep;
        await expect(market.connect(alice).withdrawCollateral(asset(s).address, maxOut + 1n, alice.address))
          .to.be.revertedWithCustomError(market, "InsufficientBorrowCapacity")
          .withArgs(debt, capacityOf(s, keep - 1n));
        await expect(
          market.connect(alice).withdrawCollateral(asset(s).address, maxOut, alice.address),
        ).to.emit(market, "WithdrawCollateral");
        const view = await market.accountView(alice.address);
        expect(view.borrowCapacity).to.equal(capacityOf(s, keep));
        expect(await market.collateralOf(alice.address, asset(s).address)).to.equal(keep);
        // Everything: no capacity at all.
        await expect(market.connect(alice).withdrawCollateral(asset(s).address, keep, alice.address))
          .to.be.revertedWithCustomError(market, "InsufficientBorrowCapacity")
          .withArgs(debt, 0n);
        await expectConservation(f);
      });
    }

    it("withdrawCollateral: the WETH boundary by hand: 1 WETH, 2,000 USDC owed, 0.166666666666666667 WETH out is one wei too many", async () => {
      const { f, market, asset, post, liquidityAndFrozenRates } = await setup();
      const { alice } = f.actors;
      await liquidityAndFrozenRates();
      await post("WETH", alice, toUnits(1, 18));
      await market.connect(alice).borrow(usdc(2_000), alice.address);
      // Left 0.833333333333333333 WETH: worth 2499.999999 USDC, capacity 1999.999999 USDC.
      await expect(
        market
          .connect(alice)
          .withdrawCollateral(asset("WETH").address, 166_666_666_666_666_667n, alice.address),
      )
        .to.be.revertedWithCustomError(market, "InsufficientBorrowCapacity")
        .withArgs(usdc(2_000), 1_999_999_999n);
      await market
        .connect(alice)
        .withdrawCollateral(asset("WETH").address, 166_666_666_666_666_666n, alice.address);
      expect((await market.accountView(alice.address)).borrowCapacity).to.equal(usdc(2_000));
    });

    it("withdrawCollateral: emits MarginCall(account, health, 1.1) when it leaves health below 1.1, not above", async () => {
      const { f, market, asset, post, liquidityAndFrozenRates } = await setup();
      const { alice } = f.actors;
      await liquidityAndFrozenRates();
      const weth = asset("WETH").address;
      await post("WETH", alice, toUnits(1, 18));
      await market.connect(alice).borrow(usdc(2_000), alice.address);
      // 0.9 WETH left: liquidation capacity 2295, health 1.1475: no call.
      await expect(
        market.connect(alice).withdrawCollateral(weth, toUnits("0.1", 18), alice.address),
      ).to.not.emit(market, "MarginCall");
      // 0.85 WETH left: liquidation capacity 2167.5, health 1.08375.
      const health = (usdc("2167.5") * WAD) / usdc(2_000);
      expect(health).to.equal(wad("1.08375"));
      await expect(market.connect(alice).withdrawCollateral(weth, toUnits("0.05", 18), alice.address))
        .to.emit(market, "MarginCall")
        .withArgs(alice.address, health, wad("1.1"));
      expect((await market.accountView(alice.address)).health).to.equal(health);
    });

    it("withdrawCollateral: without debt needs no price (reverting, stale or zero feed)", async () => {
      const { f, market, asset, post, tokenBalance } = await setup();
      const { alice } = f.actors;
      const wbtc = asset("WBTC");
      await post("WBTC", alice, toUnits(3, 8));

      await wbtc.primaryFeed.mock!.setMode(FeedMode.REVERT);
      expect((await f.router.peek(wbtc.address))[1]).to.equal(PriceStatus.INVALID);
      await expect(market.connect(alice).withdrawCollateral(wbtc.address, toUnits(1, 8), alice.address))
        .to.emit(market, "WithdrawCollateral")
        .withArgs(alice.address, alice.address, wbtc.address, toUnits(1, 8));

      await wbtc.primaryFeed.mock!.heal();
      await wbtc.primaryFeed.mock!.goStale(4000);
      expect((await f.router.peek(wbtc.address))[1]).to.equal(PriceStatus.STALE);
      await market.connect(alice).withdrawCollateral(wbtc.address, toUnits(1, 8), alice.address);

      await wbtc.primaryFeed.mock!.setPrice(0);
      expect((await f.router.peek(wbtc.address))[1]).to.equal(PriceStatus.INVALID);
      await market.connect(alice).withdrawCollateral(wbtc.address, toUnits(1, 8), alice.address);
      expect(await tokenBalance("WBTC", alice.address)).to.equal(toUnits(3, 8));
      expect(await market.collateralOf(alice.address, wbtc.address)).to.equal(0n);
    });

    it("withdrawCollateral: with debt, a stale feed (goStale(4000)) refuses it with PriceNotUsable(asset, WITHDRAW_COLLATERAL, STALE)", async () => {
      const { f, market, asset, post, liquidityAndFrozenRates } = await setup();
      const { alice } = f.actors;
      await liquidityAndFrozenRates();
      const wbtc = asset("WBTC");
      await post("WBTC", alice, toUnits(1, 8));
      await market.connect(alice).borrow(usdc(10_000), alice.address);
      await wbtc.primaryFeed.mock!.goStale(4000);
      await expect(market.connect(alice).withdrawCollateral(wbtc.address, 1n, alice.address))
        .to.be.revertedWithCustomError(f.router, "PriceNotUsable")
        .withArgs(wbtc.address, Action.WITHDRAW_COLLATERAL, PriceStatus.STALE);
      // A reverting feed: INVALID.
      await wbtc.primaryFeed.mock!.setMode(FeedMode.REVERT);
      await expect(market.connect(alice).withdrawCollateral(wbtc.address, 1n, alice.address))
        .to.be.revertedWithCustomError(f.router, "PriceNotUsable")
        .withArgs(wbtc.address, Action.WITHDRAW_COLLATERAL, PriceStatus.INVALID);
      expect(await market.collateralOf(alice.address, wbtc.address)).to.equal(toUnits(1, 8));
      // Fresh again: it goes through.
      await wbtc.primaryFeed.mock!.heal();
      await wbtc.primaryFeed.mock!.setPrice(toUnits(60000, 8));
      await market.connect(alice).withdrawCollateral(wbtc.address, 1n, alice.address);
      expect(await market.collateralOf(alice.address, wbtc.address)).to.equal(toUnits(1, 8) - 1n);
    });

    it("withdrawCollateral: with debt, any collateral of the account with an unusable price blocks it (WETH out, WBTC stale)", async () => {
      const { f, market, asset, post, liquidityAndFrozenRates } = await setup();
      const { alice } = f.actors;
      await liquidityAndFrozenRates();
      await post("WETH", alice, toUnits(10, 18));
      await post("WBTC", alice, toUnits(1, 8));
      await market.connect(alice).borrow(usdc(1_000), alice.address);
      await asset("WBTC").primaryFeed.mock!.goStale(4000);
      await expect(
        market.connect(alice).withdrawCollateral(asset("WETH").address, toUnits(1, 18), alice.address),
      )
        .to.be.revertedWithCustomError(f.router, "PriceNotUsable")
        .withArgs(asset("WBTC").address, Action.WITHDRAW_COLLATERAL, PriceStatus.STALE);
      // Withdrawing all of the stale collateral takes it out of the account: only WETH is valued, and
      // WETH alone covers the debt.
      await expect(
        market.connect(alice).withdrawCollateral(asset("WBTC").address, toUnits(1, 8), alice.address),
      ).to.emit(market, "WithdrawCollateral");
      await market.connect(alice).withdrawCollateral(asset("WETH").address, toUnits(1, 18), alice.address);
      expect(await market.collateralOf(alice.address, asset("WETH").address)).to.equal(toUnits(9, 18));
    });

    it("withdrawCollateral: with debt, a FALLBACK price (primary reverting) is not enough", async () => {
      const { f, market, asset, post, liquidityAndFrozenRates } = await setup();
      const { alice } = f.actors;
      await liquidityAndFrozenRates();
      const weth = asset("WETH");
      await post("WETH", alice, toUnits(1, 18));
      await market.connect(alice).borrow(usdc(100), alice.address);
      await weth.primaryFeed.mock!.setMode(FeedMode.REVERT);
      await expect(market.connect(alice).withdrawCollateral(weth.address, 1n, alice.address))
        .to.be.revertedWithCustomError(f.router, "PriceNotUsable")
        .withArgs(weth.address, Action.WITHDRAW_COLLATERAL, PriceStatus.FALLBACK);
    });

    it("withdrawCollateral: reverts with MarketPaused while paused, even without debt; works again once unpaused", async () => {
      const { f, market, asset, post } = await setup();
      const { alice, admin } = f.actors;
      await post("EURC", alice, usdc(500));
      await expect(market.connect(admin).setPaused(true)).to.emit(market, "PausedSet").withArgs(true);
      await expect(
        market.connect(alice).withdrawCollateral(asset("EURC").address, usdc(1), alice.address),
      ).to.be.revertedWithCustomError(market, "MarketPaused");
      await market.connect(admin).setPaused(false);
      await market.connect(alice).withdrawCollateral(asset("EURC").address, usdc(1), alice.address);
      expect(await market.collateralOf(alice.address, asset("EURC").address)).to.equal(usdc(499));
    });

    it("collateralOf: per account and per token", async () => {
      const { f, market, asset, post, bob } = await setup();
      const { alice } = f.actors;
      await post("WETH", alice, 7n);
      await post("WBTC", alice, 11n);
      await post("WBTC", bob, 13n);
      await post("EURC", bob, 17n);
      expect(await market.collateralOf(alice.address, asset("WETH").address)).to.equal(7n);
      expect(await market.collateralOf(alice.address, asset("WBTC").address)).to.equal(11n);
      expect(await market.collateralOf(alice.address, asset("EURC").address)).to.equal(0n);
      expect(await market.collateralOf(bob.address, asset("WETH").address)).to.equal(0n);
      expect(await market.collateralOf(bob.address, asset("WBTC").address)).to.equal(13n);
      expect(await market.collateralOf(bob.address, asset("EURC").address)).to.equal(17n);
      expect((await market.collateralConfig(asset("WBTC").address)).totalSupplied).to.equal(24n);
      expect(await market.collateralTokens()).to.deep.equal(SYMBOLS.map((s) => asset(s).address));
    });
  });
});
