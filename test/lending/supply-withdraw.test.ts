/**
 * LendingMarket.supply / withdraw: exact shares (virtual shares and assets, rounding in the market's
 * favour), supply on behalf, withdraw(max), every custom-error revert, events, and the first-depositor
 * inflation attack.
 *
 * Exact numbers on a market with accrued interest: the market is "warmed" (a year of interest at 60%
 * utilisation), then the rate curve is set to zero so that later transactions accrue nothing and every
 * figure can be computed in TypeScript from `totals()` alone.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import { toUnits, wad } from "../../deploy/units";
import { expectConservation } from "../helpers/conservation";
import { setPrice } from "../helpers/feeds";
import { type Fixture, loadSystem } from "../helpers/fixture";
import {
  VIRTUAL_ASSETS,
  VIRTUAL_SHARES,
  mulDivUp,
  toAssetsDown,
  toSharesDown,
  toSharesUp,
  readTotals,
} from "../helpers/math";

/* SharesMath, reimplemented */

const usdc = (v: number | string) => toUnits(v, 6);
const YEAR = 365 * 86400;

const totalsOf = (f: Fixture) => readTotals(f.lending!.market);

async function setup() {
  const f = await loadSystem();
  const market = f.lending!.market;
  const marketAddress = await market.getAddress();
  const signers = await ethers.getSigners();
  const bob = signers[4];
  const carol = signers[5];

  /** Mints `amount` USDC to `who` and approves the market for everything. */
  const fund = async (who: HardhatEthersSigner, amount: bigint) => {
    await f.base.token!.mint(who.address, amount);
    await f.base.token!.connect(who).approve(marketAddress, ethers.MaxUint256);
  };

  /** `who` posts `amount` WETH. */
  const postWeth = async (who: HardhatEthersSigner, amount: bigint) => {
    const weth = f.assets.WETH;
    await weth.token!.mint(who.address, amount);
    await weth.token!.connect(who).approve(marketAddress, amount);
    await market.connect(who).supplyCollateral(weth.address, amount, who.address);
  };

  const balanceOf = (who: string) => f.base.erc20.balanceOf(who);

  /**
   * A year of interest at 60% utilisation (keeper supplies 100,000; bob borrows 60,000 against 100 WETH),
   * accrued, then the curve set to zero: the share price is no longer round, and stays put.
   */
  const warmAndFreeze = async () => {
    await fund(f.actors.keeper, usdc(100_000));
    await market.connect(f.actors.keeper).supply(usdc(100_000), f.actors.keeper.address);
    await postWeth(bob, toUnits(100, 18));
    await market.connect(bob).borrow(usdc(60_000), bob.address);
    await time.increase(YEAR);
    await market.accrueInterest();
    await f.lending!.rateModel.setCurve(0, 0, 0, wad(0.8));
    await setPrice(f.assets.WETH, 3000);
    const t = await totalsOf(f);
    expect(t.supplyAssets, "warm: interest reached suppliers").to.be.greaterThan(usdc(100_000));
    expect(t.reserves, "warm: some interest reached reserves").to.be.greaterThan(0n);
    return t;
  };

  return { f, market, marketAddress, bob, carol, fund, postWeth, balanceOf, warmAndFreeze };
}

describe("lending: supply and withdraw", () => {
  describe("supply", () => {
    it("supply: the first deposit mints assets x 1e6 shares (virtual shares), credited and evented", async () => {
      const { f, market, fund, balanceOf, marketAddress } = await setup();
      const { alice } = f.actors;
      await fund(alice, usdc(1_000));
      const assets = usdc(1_000);
      const expected = toSharesDown(assets, 0n, 0n);
      expect(expected).to.equal(assets * 10n ** 6n);

      expect(await market.connect(alice).supply.staticCall(assets, alice.address)).to.equal(expected);
      await expect(market.connect(alice).supply(assets, alice.address))
        .to.emit(market, "Supply")
        .withArgs(alice.address, alice.address, assets, expected);

      const t = await totalsOf(f);
      expect(t.supplyAssets).to.equal(assets);
      expect(t.supplyShares).to.equal(expected);
      expect(t.borrowAssets).to.equal(0n);
      expect(t.reserves).to.equal(0n);
      const view = await market.accountView(alice.address);
      expect(view.supplyShares).to.equal(expected);
      expect(view.supplyAssets).to.equal(assets);
      expect(await balanceOf(alice.address)).to.equal(0n);
      expect(await balanceOf(marketAddress)).to.equal(assets);
      await expectConservation(f);
    });

    it("supply: mints shares rounded down (toSharesDown) once interest has moved the share price", async () => {
      const { f, market, fund, warmAndFreeze } = await setup();
      const { alice } = f.actors;
      const before = await warmAndFreeze();
      const assets = 1_234_567_891n; // 1,234.567891 USDC
      await fund(alice, assets);

      const expected = toSharesDown(assets, before.supplyAssets, before.supplyShares);
      // The division is inexact: rounding happens, and it goes down.
      const numerator = assets * (before.supplyShares + VIRTUAL_SHARES);
      expect(numerator % (before.supplyAssets + VIRTUAL_ASSETS), "an inexact division").to.not.equal(0n);
      expect(expected).to.be.lessThan(toSharesUp(assets, before.supplyAssets, before.supplyShares));

      await expect(market.connect(alice).supply(assets, alice.address))
        .to.emit(market, "Supply")
        .withArgs(alice.address, alice.address, assets, expected);
      const after = await totalsOf(f);
      expect(after.supplyAssets).to.equal(before.supplyAssets + assets);
      expect(after.supplyShares).to.equal(before.supplyShares + expected);
      expect(after.borrowAssets).to.equal(before.borrowAssets);
      expect(after.reserves).to.equal(before.reserves);
      // Rounding down: the new shares are worth no more than what was paid for them.
      const worth = toAssetsDown(expected, after.supplyAssets, after.supplyShares);
      expect(worth).to.be.lessThanOrEqual(assets);
      expect((await market.accountView(alice.address)).supplyAssets).to.equal(worth);
      await expectConservation(f);
    });

    it("supply: on behalf of another account credits that account; the caller pays", async () => {
      const { f, market, fund, balanceOf } = await setup();
      const { alice, keeper } = f.actors;
      await fund(keeper, usdc(500));
      const assets = usdc(500);
      const shares = toSharesDown(assets, 0n, 0n);

      await expect(market.connect(keeper).supply(assets, alice.address))
        .to.emit(market, "Supply")
        .withArgs(keeper.address, alice.address, assets, shares);
      expect((await market.accountView(alice.address)).supplyShares).to.equal(shares);
      expect((await market.accountView(keeper.address)).supplyShares).to.equal(0n);
      expect(await balanceOf(keeper.address)).to.equal(0n);

      // Alice, not the keeper, can take it out.
      await expect(market.connect(keeper).withdraw(1n, keeper.address))
        .to.be.revertedWithCustomError(market, "InsufficientShares")
        .withArgs(toSharesUp(1n, assets, shares), 0n);
      await market.connect(alice).withdraw(assets, alice.address);
      expect(await balanceOf(alice.address)).to.equal(assets);
      await expectConservation(f);
    });

    it("supply: reverts with ZeroAmount for 0 assets", async () => {
      const { f, market } = await setup();
      await expect(
        market.connect(f.actors.alice).supply(0n, f.actors.alice.address),
      ).to.be.revertedWithCustomError(market, "ZeroAmount");
      expect((await totalsOf(f)).supplyShares).to.equal(0n);
    });

    it("supply: reverts with ZeroAddress for onBehalf = 0", async () => {
      const { f, market, fund } = await setup();
      await fund(f.actors.alice, usdc(1));
      await expect(
        market.connect(f.actors.alice).supply(usdc(1), ethers.ZeroAddress),
      ).to.be.revertedWithCustomError(market, "ZeroAddress");
      expect((await totalsOf(f)).supplyAssets).to.equal(0n);
    });

    it("supply: reverts without allowance (SafeERC20 bubbles the token's error), nothing credited", async () => {
      const { f, market } = await setup();
      const { alice } = f.actors;
      await f.base.token!.mint(alice.address, usdc(10));
      await expect(market.connect(alice).supply(usdc(10), alice.address)).to.be.revertedWithCustomError(
        f.base.token!,
        "ERC20InsufficientAllowance",
      );
      expect((await market.accountView(alice.address)).supplyShares).to.equal(0n);
    });

    it("supply: reverts with ZeroShares when the assets are worth less than one share (reachable after extreme interest)", async () => {
      const { f, market, fund, postWeth, bob, carol } = await setup();
      const { alice, admin } = f.actors;
      // minBorrow 0 so that a one-unit loan is allowed; the steepest curve the bounds allow: base 100%,
      // slope1 200%, slope2 1000% (MAX_SLOPE2).
      const p = await market.params();
      await market.connect(admin).setMarketParams({
        borrowCap: p.borrowCap,
        minBorrow: 0n,
        reserveFactor: p.reserveFactor,
        protocolShare: p.protocolShare,
        smallPosition: p.smallPosition,
        marginCallHealth: p.marginCallHealth,
      });
      await f.lending!.rateModel.setCurve(wad(1), wad(2), wad(10), wad(0.8));
      // One unit supplied (1e6 shares), one unit borrowed: 100% utilisation, 1300% a year, so each yearly
      // accrual multiplies the debt by ~14 and suppliers get 90% of it.
      await fund(alice, 1n);
      await market.connect(alice).supply(1n, alice.address);
      await postWeth(bob, toUnits(1, 18));
      await market.connect(bob).borrow(1n, bob.address);
      expect(await f.lending!.rateModel.borrowRatePerYear(await market.utilisation())).to.equal(wad(13));

      // Until one unit is worth less than one share: supplyAssets + 1 > supplyShares + 1e6 (six years).
      let t = await totalsOf(f);
      let years = 0;
      for (; years < 10 && t.supplyAssets + VIRTUAL_ASSETS <= t.supplyShares + VIRTUAL_SHARES; years++) {
        await time.increase(YEAR);
        await market.accrueInterest();
        t = await totalsOf(f);
      }
      expect(years).to.equal(6);
      // Freeze the curve so that the figures below stay exact, and keep the feeds fresh after the jumps.
      await f.lending!.rateModel.setCurve(0, 0, 0, wad(0.8));
      await setPrice(f.assets.WETH, 3000);
      expect(t.supplyShares).to.equal(10n ** 6n);
      expect(toSharesDown(1n, t.supplyAssets, t.supplyShares), "1 unit is worth 0 shares").to.equal(0n);

      await fund(carol, usdc(1_000_000));
      await expect(market.connect(carol).supply(1n, carol.address)).to.be.revertedWithCustomError(
        market,
        "ZeroShares",
      );
      // The smallest deposit worth one share goes through (exactly one share); one unit less does not.
      const oneShare = mulDivUp(1n, t.supplyAssets + VIRTUAL_ASSETS, t.supplyShares + VIRTUAL_SHARES);
      await expect(market.connect(carol).supply(oneShare - 1n, carol.address)).to.be.revertedWithCustomError(
        market,
        "ZeroShares",
      );
      await expect(market.connect(carol).supply(oneShare, carol.address))
        .to.emit(market, "Supply")
        .withArgs(carol.address, carol.address, oneShare, 1n);
      await expectConservation(f);
    });
  });

  describe("withdraw", () => {
    it("withdraw: burns shares rounded up (toSharesUp) and pays the receiver; Withdraw evented", async () => {
      const { f, market, fund, warmAndFreeze, balanceOf } = await setup();
      const { alice } = f.actors;
      await warmAndFreeze();
      await fund(alice, usdc(10_000));
      await market.connect(alice).supply(usdc(10_000), alice.address);
      const before = await totalsOf(f);
      const sharesBefore = (await market.accountView(alice.address)).supplyShares;

      const assets = 3_333_333_337n;
      const expected = toSharesUp(assets, before.supplyAssets, before.supplyShares);
      const numerator = assets * (before.supplyShares + VIRTUAL_SHARES);
      expect(numerator % (before.supplyAssets + VIRTUAL_ASSETS), "an inexact division").to.not.equal(0n);
      expect(expected).to.equal(toSharesDown(assets, before.supplyAssets, before.supplyShares) + 1n);

      expect(await market.connect(alice).withdraw.staticCall(assets, alice.address)).to.equal(expected);
      await expect(market.connect(alice).withdraw(assets, alice.address))
        .to.emit(market, "Withdraw")
        .withArgs(alice.address, alice.address, assets, expected);
      const after = await totalsOf(f);
      expect(after.supplyAssets).to.equal(before.supplyAssets - assets);
      expect(after.supplyShares).to.equal(before.supplyShares - expected);
      expect((await market.accountView(alice.address)).supplyShares).to.equal(sharesBefore - expected);
      expect(await balanceOf(alice.address)).to.equal(assets);
      await expectConservation(f);
    });

    it("withdraw: pays another receiver; the owner's shares are burnt", async () => {
      const { f, market, fund, balanceOf, carol } = await setup();
      const { alice } = f.actors;
      await fund(alice, usdc(100));
      await market.connect(alice).supply(usdc(100), alice.address);
      const before = await totalsOf(f);
      const assets = usdc(40);
      const shares = toSharesUp(assets, before.supplyAssets, before.supplyShares);
      await expect(market.connect(alice).withdraw(assets, carol.address))
        .to.emit(market, "Withdraw")
        .withArgs(alice.address, carol.address, assets, shares);
      expect(await balanceOf(carol.address)).to.equal(assets);
      expect(await balanceOf(alice.address)).to.equal(0n);
      expect((await market.accountView(alice.address)).supplyShares).to.equal(usdc(100) * 10n ** 6n - shares);
      await expectConservation(f);
    });

    it("withdraw(max): burns every share for toAssetsDown of them", async () => {
      const { f, market, fund, warmAndFreeze, balanceOf } = await setup();
      const { alice } = f.actors;
      await warmAndFreeze();
      await fund(alice, usdc(2_500));
      await market.connect(alice).supply(usdc(2_500), alice.address);
      const before = await totalsOf(f);
      const shares = (await market.accountView(alice.address)).supplyShares;
      const assets = toAssetsDown(shares, before.supplyAssets, before.supplyShares);
      // The round trip costs at most one unit, never gains.
      expect(assets).to.be.lessThanOrEqual(usdc(2_500));
      expect(assets).to.be.greaterThanOrEqual(usdc(2_500) - 1n);

      await expect(market.connect(alice).withdraw(ethers.MaxUint256, alice.address))
        .to.emit(market, "Withdraw")
        .withArgs(alice.address, alice.address, assets, shares);
      expect((await market.accountView(alice.address)).supplyShares).to.equal(0n);
      expect(await balanceOf(alice.address)).to.equal(assets);
      const after = await totalsOf(f);
      expect(after.supplyShares).to.equal(before.supplyShares - shares);
      expect(after.supplyAssets).to.equal(before.supplyAssets - assets);
      await expectConservation(f);
    });

    it("withdraw(max): the last supplier takes everything once the loan is repaid, interest included", async () => {
      const { f, market, fund, postWeth, bob, balanceOf } = await setup();
      const { keeper } = f.actors;
      await fund(keeper, usdc(10_000));
      await market.connect(keeper).supply(usdc(10_000), keeper.address);
      await postWeth(bob, toUnits(5, 18));
      await market.connect(bob).borrow(usdc(5_000), bob.address);
      await time.increase(YEAR / 2);
      await fund(bob, usdc(1_000));
      await market.connect(bob).repay(ethers.MaxUint256, bob.address);
      const t = await totalsOf(f);
      expect(t.borrowAssets).to.equal(0n);
      expect(t.supplyAssets).to.be.greaterThan(usdc(10_000));

      const shares = (await market.accountView(keeper.address)).supplyShares;
      const assets = toAssetsDown(shares, t.supplyAssets, t.supplyShares);
      await expect(market.connect(keeper).withdraw(ethers.MaxUint256, keeper.address))
        .to.emit(market, "Withdraw")
        .withArgs(keeper.address, keeper.address, assets, shares);
      expect(await balanceOf(keeper.address)).to.equal(assets);
      expect(assets).to.be.greaterThan(usdc(10_000));
      // The virtual share keeps at most one unit of the suppliers' assets behind.
      const after = await totalsOf(f);
      expect(after.supplyShares).to.equal(0n);
      expect(after.supplyAssets).to.be.lessThanOrEqual(1n);
      await expectConservation(f);
    });

    it("withdraw: reverts with ZeroAmount for 0 assets, and for max without shares", async () => {
      const { f, market } = await setup();
      const { alice } = f.actors;
      await expect(market.connect(alice).withdraw(0n, alice.address)).to.be.revertedWithCustomError(
        market,
        "ZeroAmount",
      );
      await expect(
        market.connect(alice).withdraw(ethers.MaxUint256, alice.address),
      ).to.be.revertedWithCustomError(market, "ZeroAmount");
    });

    it("withdraw: reverts with ZeroAddress for receiver = 0", async () => {
      const { f, market, fund } = await setup();
      const { alice } = f.actors;
      await fund(alice, usdc(10));
      await market.connect(alice).supply(usdc(10), alice.address);
      await expect(market.connect(alice).withdraw(usdc(1), ethers.ZeroAddress)).to.be.revertedWithCustomError(
        market,
        "ZeroAddress",
      );
      expect((await market.accountView(alice.address)).supplyAssets).to.equal(usdc(10));
    });

    it("withdraw: reverts with InsufficientShares(requested, available) one unit above the balance", async () => {
      const { f, market, fund } = await setup();
      const { alice, stranger } = f.actors;
      await fund(alice, usdc(1_000));
      await market.connect(alice).supply(usdc(1_000), alice.address);
      const t = await totalsOf(f);
      const held = usdc(1_000) * 10n ** 6n;
      const requested = toSharesUp(usdc(1_000) + 1n, t.supplyAssets, t.supplyShares);
      expect(requested).to.equal(held + 10n ** 6n);
      await expect(market.connect(alice).withdraw(usdc(1_000) + 1n, alice.address))
        .to.be.revertedWithCustomError(market, "InsufficientShares")
        .withArgs(requested, held);
      // No shares at all.
      await expect(market.connect(stranger).withdraw(1n, stranger.address))
        .to.be.revertedWithCustomError(market, "InsufficientShares")
        .withArgs(toSharesUp(1n, t.supplyAssets, t.supplyShares), 0n);
      // Exactly the balance goes through.
      await market.connect(alice).withdraw(usdc(1_000), alice.address);
      expect((await market.accountView(alice.address)).supplyShares).to.equal(0n);
    });

    it("withdraw: reverts with InsufficientLiquidity(requested, cash) when the cash is lent out", async () => {
      const { f, market, fund, postWeth, bob, balanceOf } = await setup();
      const { alice } = f.actors;
      await fund(alice, usdc(1_000));
      await market.connect(alice).supply(usdc(1_000), alice.address);
      await postWeth(bob, toUnits(1, 18));
      await market.connect(bob).borrow(usdc(900), bob.address);
      // Accrual moves supplied + reserves and borrowed by the same interest: the cash stays 100 USDC.
      await expect(market.connect(alice).withdraw(usdc(200), alice.address))
        .to.be.revertedWithCustomError(market, "InsufficientLiquidity")
        .withArgs(usdc(200), usdc(100));
      await expect(market.connect(alice).withdraw(usdc(100) + 1n, alice.address))
        .to.be.revertedWithCustomError(market, "InsufficientLiquidity")
        .withArgs(usdc(100) + 1n, usdc(100));
      // withdraw(max) too: her claim (with a second of interest) is above the cash.
      await expect(
        market.connect(alice).withdraw(ethers.MaxUint256, alice.address),
      ).to.be.revertedWithCustomError(market, "InsufficientLiquidity");
      // All the cash there is goes through.
      await market.connect(alice).withdraw(usdc(100), alice.address);
      expect(await balanceOf(alice.address)).to.equal(usdc(100));
      const t = await totalsOf(f);
      expect(t.supplyAssets + t.reserves - t.borrowAssets).to.equal(0n);
      await expectConservation(f);
    });
  });

  describe("first-depositor inflation attack", () => {
    it("inflation: a donation does not move the share price; the next supplier loses nothing", async () => {
      const { f, market, fund, marketAddress, balanceOf, carol: attacker } = await setup();
      const { alice: victim } = f.actors;
      // The attacker supplies one unit, then donates 10,000 USDC straight to the market.
      await fund(attacker, usdc(10_000) + 1n);
      await market.connect(attacker).supply(1n, attacker.address);
      const beforeDonation = await totalsOf(f);
      const viewBefore = await market.accountView(attacker.address);
      await f.base.token!.connect(attacker).transfer(marketAddress, usdc(10_000));

      // The market tracks its cash: totals and the share price are exactly as before.
      expect(await totalsOf(f)).to.deep.equal(beforeDonation);
      expect(await market.accountView(attacker.address)).to.deep.equal(viewBefore);
      expect(viewBefore.supplyAssets).to.equal(1n);

      // The victim supplies 10,000 USDC and gets exactly the shares of an untouched market.
      await fund(victim, usdc(10_000));
      const expectedShares = toSharesDown(usdc(10_000), 1n, 10n ** 6n);
      expect(expectedShares).to.equal(usdc(10_000) * 10n ** 6n);
      await expect(market.connect(victim).supply(usdc(10_000), victim.address))
        .to.emit(market, "Supply")
        .withArgs(victim.address, victim.address, usdc(10_000), expectedShares);
      expect((await market.accountView(victim.address)).supplyAssets).to.equal(usdc(10_000));

      // Both leave: the victim gets all of its deposit back, the attacker its one unit; the donation is
      // stranded in the market (no one's claim).
      await market.connect(victim).withdraw(ethers.MaxUint256, victim.address);
      expect(await balanceOf(victim.address)).to.equal(usdc(10_000));
      await market.connect(attacker).withdraw(ethers.MaxUint256, attacker.address);
      expect(await balanceOf(attacker.address)).to.equal(1n);
      const t = await totalsOf(f);
      expect(await balanceOf(marketAddress)).to.equal(usdc(10_000) + t.supplyAssets);
      await expectConservation(f);
    });

    it("inflation: a donation to an empty market changes nothing: the first supplier gets assets x 1e6 shares", async () => {
      const { f, market, fund, marketAddress, balanceOf, carol: donor } = await setup();
      const { alice } = f.actors;
      await fund(donor, usdc(5_000));
      await f.base.token!.connect(donor).transfer(marketAddress, usdc(5_000));
      expect(await totalsOf(f)).to.deep.equal({
        supplyAssets: 0n,
        supplyShares: 0n,
        borrowAssets: 0n,
        borrowShares: 0n,
        reserves: 0n,
      });
      await fund(alice, usdc(1_000));
      await expect(market.connect(alice).supply(usdc(1_000), alice.address))
        .to.emit(market, "Supply")
        .withArgs(alice.address, alice.address, usdc(1_000), usdc(1_000) * 10n ** 6n);
      // The donation is not lendable cash either: only what was supplied can be withdrawn or borrowed.
      await expect(market.connect(alice).withdraw(usdc(1_000) + 1n, alice.address))
        .to.be.revertedWithCustomError(market, "InsufficientShares")
        .withArgs(usdc(1_000) * 10n ** 6n + 10n ** 6n, usdc(1_000) * 10n ** 6n);
      await market.connect(alice).withdraw(ethers.MaxUint256, alice.address);
      expect(await balanceOf(alice.address)).to.equal(usdc(1_000));
      expect(await balanceOf(marketAddress)).to.equal(usdc(5_000));
      await expectConservation(f);
    });
  });
});
