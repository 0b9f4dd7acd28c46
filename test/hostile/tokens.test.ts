/**
 * Hostile and unusual tokens:
 * - decimals: collaterals of 18 (WETH), 8 (WBTC) and 6 (EURC) decimals are valued to the base unit, borrowed
 *   against up to exactly their capacity and returned whole; dust of each rounds down; and the whole
 *   system deployed over a base asset of 6, 8 or 18 decimals scales every number (values, the minimum
 *   borrow, perps notional, margin and fees, vault shares) by 10^decimals;
 * - a fee-on-transfer token (contracts/mocks/FeeOnTransferToken.sol) of 6, 8 or 18 decimals is refused at
 *   listing with FeeOnTransfer(token, sent, received), state unchanged, and so can never be supplied;
 * - a token that returns false instead of reverting (contracts/mocks/FalseReturnToken.sol), as a collateral
 *   and as the base asset of the whole system: every pull (no allowance, no balance) and every payout (the
 *   token switched to fail) reverts with OpenZeppelin's SafeERC20FailedOperation(token), state unchanged.
 * Refused calls are checked with `expectRevertUnchanged` (test/hostile/digest.ts): the error, its
 * arguments, and a digest of every view equal before and after.
 */
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import { localConfig } from "../../deploy/config";
import { deploySystem, type System } from "../../deploy/deploySystem";
import { toUnits, wad } from "../../deploy/units";
import type { FalseReturnToken, FeeOnTransferToken } from "../../typechain-types";
import {
  e18,
  e8,
  expectRevertUnchanged,
  loadHostile,
  MAX,
  u,
  type DigestScope,
  type ErrorSource,
  type HostileFixture,
} from "./digest";

const FAILED = "SafeERC20FailedOperation";

/** Lists `asset` in the router with a fresh 8-decimal feed at `usd`. */
async function priceInRouter(s: System, asset: string, usd: number) {
  const feed = await (await ethers.getContractFactory("MockAggregator")).deploy(8, toUnits(usd, 8), "feed");
  await s.router.setAssetConfig(asset, {
    primaryFeed: await feed.getAddress(),
    primaryHeartbeat: 3600,
    fallbackFeed: ethers.ZeroAddress,
    fallbackHeartbeat: 0,
    confirmWindow: 600,
    minPrice: wad("0.01"),
    maxPrice: wad(1_000_000),
    maxDeviation: wad(0.2),
    maxDivergence: wad(0.02),
  });
}

const COLLATERAL_PARAMS = {
  ltv: wad(0.5),
  liquidationThreshold: wad(0.6),
  liquidationBonus: wad(0.05),
  supplyCap: 10n ** 30n,
};

describe("hostile inputs: tokens", () => {
  describe("decimals: collaterals of 18, 8 and 6 decimals against a 6-decimal base", () => {
    // [symbol, decimals, amount posted, its value in base units, ltv, threshold]
    const cases: [string, number, bigint, bigint, number, number][] = [
      ["WETH", 18, e18(2), u(6_000), 0.8, 0.85],
      ["WBTC", 8, e8(0.5), u(30_000), 0.75, 0.8],
      ["EURC", 6, u(5_000), u(5_400), 0.85, 0.9],
    ];
    for (const [symbol, decimals, amount, value, ltv, threshold] of cases) {
      it(`${symbol} (${decimals} decimals): valued to the base unit, borrowed against up to exactly its capacity (one unit more refused, state unchanged), and returned whole`, async () => {
        const f = await loadHostile();
        const m = f.lending!.market;
        const { dave } = f.actors;
        const token = f.assets[symbol].token!;
        const held = await token.balanceOf(dave.address);
        const cash = await f.base.erc20.balanceOf(dave.address);
        await m.connect(dave).supplyCollateral(f.assets[symbol].address, amount, dave.address);
        const v = await m.accountView(dave.address);
        const capacity = (value * wad(ltv)) / wad(1);
        expect([v.collateralValue, v.borrowCapacity, v.liquidationCapacity]).to.deep.equal([
          value,
          capacity,
          (value * wad(threshold)) / wad(1),
        ]);
        await expectRevertUnchanged(
          f,
          () => m.connect(dave).borrow(capacity + 1n, dave.address),
          m,
          "InsufficientBorrowCapacity",
          [capacity + 1n, capacity],
        );
        await expect(m.connect(dave).borrow(capacity, dave.address))
          .to.emit(m, "Borrow")
          .withArgs(dave.address, dave.address, capacity, (s: bigint) => s > 0n);
        expect((await m.accountView(dave.address)).debt).to.equal(capacity);
        await expect(m.connect(dave).repay(MAX, dave.address))
          .to.emit(m, "Repay")
          .withArgs(dave.address, dave.address, capacity, (s: bigint) => s > 0n);
        await m.connect(dave).withdrawCollateral(f.assets[symbol].address, amount, dave.address);
        expect(await token.balanceOf(dave.address)).to.equal(held);
        expect(await f.base.erc20.balanceOf(dave.address)).to.equal(cash);
      });
    }

    it("dust: one smallest unit of each collateral is valued rounded down (1 wei of WETH: 0; 1 sat of WBTC: 600 base units; 1 unit of EURC: 1)", async () => {
      const f = await loadHostile();
      const m = f.lending!.market;
      const { dave } = f.actors;
      const values: bigint[] = [];
      for (const symbol of ["WETH", "WBTC", "EURC"]) {
        const before = (await m.accountView(dave.address)).collateralValue;
        await m.connect(dave).supplyCollateral(f.assets[symbol].address, 1, dave.address);
        values.push((await m.accountView(dave.address)).collateralValue - before);
      }
      // 3,000e18 / 1e30; 60,000e18 / 1e20; 1.08e18 / 1e18.
      expect(values).to.deep.equal([0n, 600n, 1n]);
    });
  });

  describe("decimals: the whole system over a base asset of 6, 8 or 18 decimals", () => {
    for (const d of [6, 8, 18]) {
      it(`base of ${d} decimals: lending values, the minimum borrow, perps notional, margin and fee, and vault shares all scale by 10^${d}`, async () => {
        const s = await deploySystem(hre, localConfig({ base: { mock: true, symbol: "USDX", decimals: d } }));
        const [, lp, alice, bob] = await ethers.getSigners();
        const base = s.base.token!;
        const m = s.lending!.market;
        const p = s.perps!.market;
        const v = s.perps!.vault;
        const one = 10n ** BigInt(d);
        await s.lending!.rateModel.setCurve(0, 0, 0, wad(0.8));
        for (const who of [lp, alice, bob]) {
          await base.mint(who.address, 10_000_000n * one);
          for (const c of [m, p, v]) await base.connect(who).approve(await c.getAddress(), MAX);
        }
        await s.assets.WETH.token!.mint(bob.address, e18(10));
        await s.assets.WETH.token!.connect(bob).approve(await m.getAddress(), MAX);

        // Lending: 10 WETH at 3,000 are worth 30,000 whole base tokens; 80% of it may be borrowed.
        await m.connect(alice).supply(1_000_000n * one, alice.address);
        await m.connect(bob).supplyCollateral(s.assets.WETH.address, e18(10), bob.address);
        const view = await m.accountView(bob.address);
        expect([view.collateralValue, view.borrowCapacity]).to.deep.equal([30_000n * one, 24_000n * one]);
        expect((await m.params()).minBorrow).to.equal(100n * one);
        await expect(m.connect(bob).borrow(100n * one - 1n, bob.address))
          .to.be.revertedWithCustomError(m, "BelowMinBorrow")
          .withArgs(100n * one - 1n, 100n * one);
        await expect(m.connect(bob).borrow(24_000n * one + 1n, bob.address))
          .to.be.revertedWithCustomError(m, "InsufficientBorrowCapacity")
          .withArgs(24_000n * one + 1n, 24_000n * one);
        await m.connect(bob).borrow(24_000n * one, bob.address);
        expect(await m.connect(bob).repay.staticCall(MAX, bob.address)).to.equal(24_000n * one);
        await m.connect(bob).repay(MAX, bob.address);
        await expect(m.connect(alice).withdraw(MAX, alice.address))
          .to.emit(m, "Withdraw")
          .withArgs(alice.address, alice.address, 1_000_000n * one, (x: bigint) => x > 0n);

        // The vault: decimals + 6 virtual-share decimals, 1e6 shares per base unit at first.
        expect(await v.decimals()).to.equal(BigInt(d + 6));
        await expect(v.connect(lp).deposit(1_000_000n * one, lp.address))
          .to.emit(v, "Deposit")
          .withArgs(lp.address, lp.address, 1_000_000n * one, 1_000_000n * one * 10n ** 6n);

        // Perps: one ETH long at 3,000 x (1 + 1 / (2 x 1e6)); fee 0.05% of the fill, rounded up to the unit.
        const usdPerUnit = 10n ** BigInt(18 - d);
        const ceil = (x: bigint, y: bigint) => (x + y - 1n) / y;
        await p.connect(alice).depositMargin(10_000n * one, alice.address);
        const fill = e18(3000) + ceil(e18(3000) * e18(1), 2n * e18(1_000_000));
        const fee = ceil(ceil(fill * wad(0.0005), wad(1)), usdPerUnit);
        await expect(p.connect(alice).modifyPosition(s.perps!.marketIds.WETH, e18(1), MAX))
          .to.emit(p, "PositionModified")
          .withArgs(alice.address, s.perps!.marketIds.WETH, e18(1), fill, fee, 0n, e18(1));
        expect(fee).to.equal(ceil(1_500_000_750_000_000_000n, usdPerUnit));
        const pos = await p.positionView(alice.address, s.perps!.marketIds.WETH);
        expect(pos.notional).to.equal(3_000n * one);
        // Initial margin: 3,000 x 5% x (1 + 1 / 100,000) = 150.0015, rounded up to the unit.
        expect(pos.initialMargin).to.equal(ceil(150_001_500_000_000_000_000n, usdPerUnit));
        expect((await p.marginOf(alice.address)).margin).to.equal(10_000n * one - fee);
      });
    }
  });

  describe("a fee-on-transfer token is refused at listing", () => {
    for (const d of [6, 8, 18]) {
      it(`fee-on-transfer token of ${d} decimals (1 bps and 1%): listCollateral reverts with FeeOnTransfer(token, probe, received), state unchanged; it can then never be supplied (CollateralNotListed)`, async () => {
        const f = await loadHostile();
        const m = f.lending!.market;
        const { admin, dave } = f.actors;
        const probe = 10n ** BigInt(Math.max(d - 2, 4));
        for (const bps of [1n, 100n]) {
          const fot = (await (
            await ethers.getContractFactory("FeeOnTransferToken")
          ).deploy(d, bps)) as unknown as FeeOnTransferToken;
          const address = await fot.getAddress();
          await priceInRouter(f, address, 15);
          await fot.mint(admin.address, probe);
          await fot.connect(admin).approve(await m.getAddress(), probe);
          await fot.mint(dave.address, probe);
          await fot.connect(dave).approve(await m.getAddress(), probe);
          const g = { ...f, scope: { ...f.scope, tokens: [address] } };
          await expectRevertUnchanged(
            g,
            () => m.connect(admin).listCollateral(address, COLLATERAL_PARAMS, probe),
            m,
            "FeeOnTransfer",
            [address, probe, probe - (probe * bps) / 10_000n],
          );
          await expectRevertUnchanged(
            g,
            () => m.connect(dave).supplyCollateral(address, probe, dave.address),
            m,
            "CollateralNotListed",
            [address],
          );
        }
        expect((await m.collateralTokens()).length).to.equal(3);
      });
    }
  });

  describe("a token that returns false instead of reverting, as a collateral", () => {
    async function withFalseCollateral() {
      const f = await loadHostile();
      const frt = (await (
        await ethers.getContractFactory("FalseReturnToken")
      ).deploy(18)) as FalseReturnToken;
      const address = await frt.getAddress();
      await priceInRouter(f, address, 15);
      const g: HostileFixture = { ...f, scope: { ...f.scope, tokens: [address] } };
      return { f: g, frt, address, m: f.lending!.market };
    }

    it("listCollateral: the probe pulled without allowance returns false: SafeERC20FailedOperation(token), nothing listed; with the allowance it lists", async () => {
      const { f, frt, address, m } = await withFalseCollateral();
      const { admin } = f.actors;
      await frt.mint(admin.address, 10n ** 16n);
      await expectRevertUnchanged(
        f,
        () => m.connect(admin).listCollateral(address, COLLATERAL_PARAMS, 10n ** 16n),
        m,
        FAILED,
        [address],
      );
      await frt.connect(admin).approve(await m.getAddress(), 10n ** 16n);
      await expect(m.connect(admin).listCollateral(address, COLLATERAL_PARAMS, 10n ** 16n)).to.emit(
        m,
        "CollateralListed",
      );
      expect(await frt.balanceOf(admin.address)).to.equal(10n ** 16n);
    });

    it("supplyCollateral without balance or allowance, and withdrawCollateral once the token fails: SafeERC20FailedOperation(token), state unchanged", async () => {
      const { f, frt, address, m } = await withFalseCollateral();
      const { admin, dave } = f.actors;
      await frt.mint(admin.address, 10n ** 16n);
      await frt.connect(admin).approve(await m.getAddress(), 10n ** 16n);
      await m.connect(admin).listCollateral(address, COLLATERAL_PARAMS, 10n ** 16n);
      // No balance (but an allowance), then a balance but no allowance.
      await frt.connect(dave).approve(await m.getAddress(), e18(100));
      await expectRevertUnchanged(
        f,
        () => m.connect(dave).supplyCollateral(address, e18(1), dave.address),
        m,
        FAILED,
        [address],
      );
      await frt.mint(dave.address, e18(100));
      await frt.connect(dave).approve(await m.getAddress(), 0);
      await expectRevertUnchanged(
        f,
        () => m.connect(dave).supplyCollateral(address, e18(1), dave.address),
        m,
        FAILED,
        [address],
      );
      // Posted, then the token fails every transfer: the collateral stays on the books.
      await frt.connect(dave).approve(await m.getAddress(), e18(100));
      await m.connect(dave).supplyCollateral(address, e18(10), dave.address);
      await frt.setFailing(true);
      await expectRevertUnchanged(
        f,
        () => m.connect(dave).withdrawCollateral(address, e18(10), dave.address),
        m,
        FAILED,
        [address],
      );
      await expectRevertUnchanged(
        f,
        () => m.connect(dave).supplyCollateral(address, e18(1), dave.address),
        m,
        FAILED,
        [address],
      );
      expect(await m.collateralOf(dave.address, address)).to.equal(e18(10));
      await frt.setFailing(false);
      await m.connect(dave).withdrawCollateral(address, e18(10), dave.address);
      expect(await frt.balanceOf(dave.address)).to.equal(e18(100));
    });
  });

  describe("a token that returns false instead of reverting, as the base asset of the whole system", () => {
    interface FalseBase {
      s: System & { scope: DigestScope };
      frt: FalseReturnToken;
      token: string;
      admin: HardhatEthersSigner;
      lp: HardhatEthersSigner;
      alice: HardhatEthersSigner;
      bob: HardhatEthersSigner;
      carol: HardhatEthersSigner;
      stranger: HardhatEthersSigner;
    }

    /**
     * Lending, perps, vault and fund over a FalseReturnToken base: alice supplies 1,000,000; bob borrows
     * 10,000 against 10 WETH; carol stakes 50,000 and asks to unstake; the LP deposits 1,000,000; alice holds
     * 10,000 of margin and has traded once (pending insurance fees). The stranger holds tokens but has
     * approved nothing. Zero interest; no open positions (no funding drift).
     */
    async function falseBaseSystem(): Promise<FalseBase> {
      const [admin, lp, alice, bob, carol, stranger] = await ethers.getSigners();
      const frt = (await (await ethers.getContractFactory("FalseReturnToken")).deploy(6)) as FalseReturnToken;
      const token = await frt.getAddress();
      const sys = await deploySystem(hre, localConfig({ base: { address: token } }));
      const m = sys.lending!.market;
      const p = sys.perps!.market;
      const ETH = sys.perps!.marketIds.WETH;
      await sys.lending!.rateModel.setCurve(0, 0, 0, wad(0.8));
      for (const who of [lp, alice, bob, carol, stranger]) await frt.mint(who.address, u(10_000_000));
      for (const who of [lp, alice, bob, carol]) {
        for (const c of [m, p, sys.perps!.vault, sys.insuranceFund])
          await frt.connect(who).approve(c.target, MAX);
      }
      await sys.assets.WETH.token!.mint(bob.address, e18(10));
      await sys.assets.WETH.token!.connect(bob).approve(m.target, MAX);
      await m.connect(alice).supply(u(1_000_000), alice.address);
      await m.connect(bob).supplyCollateral(sys.assets.WETH.address, e18(10), bob.address);
      await m.connect(bob).borrow(u(10_000), bob.address);
      await sys.insuranceFund.connect(carol).stake(u(50_000), carol.address);
      await sys.insuranceFund.connect(carol).requestUnstake(await sys.insuranceFund.sharesOf(carol.address));
      await sys.perps!.vault.connect(lp).deposit(u(1_000_000), lp.address);
      await p.connect(alice).depositMargin(u(10_000), alice.address);
      await p.connect(alice).modifyPosition(ETH, e18(1), MAX);
      await p.connect(alice).closePosition(ETH, 0);
      const scope: DigestScope = { accounts: [admin, lp, alice, bob, carol, stranger].map((a) => a.address) };
      return { s: { ...sys, scope }, frt, token, admin, lp, alice, bob, carol, stranger };
    }

    const load = () => loadFixture(falseBaseSystem);

    it("pulls without allowance return false: supply, repay, depositMargin, vault deposit and mint, stake and topUp all revert with SafeERC20FailedOperation(token), state unchanged", async () => {
      const c = await load();
      const { s, stranger, bob, token } = c;
      const m = s.lending!.market;
      const p = s.perps!.market;
      const v = s.perps!.vault;
      const fund = s.insuranceFund;
      const calls: [string, () => Promise<unknown>, ErrorSource][] = [
        ["supply", () => m.connect(stranger).supply(u(1), stranger.address), m],
        ["repay", () => m.connect(stranger).repay(u(1), bob.address), m],
        ["depositMargin", () => p.connect(stranger).depositMargin(u(1), stranger.address), p],
        ["vault deposit", () => v.connect(stranger).deposit(u(1), stranger.address), v],
        ["vault mint", () => v.connect(stranger).mint(10n ** 6n, stranger.address), v],
        ["stake", () => fund.connect(stranger).stake(u(1), stranger.address), fund],
        ["topUp", () => fund.connect(stranger).topUp(u(1)), fund],
      ];
      for (const [, call, by] of calls) await expectRevertUnchanged(s, call, by, FAILED, [token]);
      expect(await c.frt.balanceOf(stranger.address)).to.equal(u(10_000_000));
    });

    it("payouts return false once the token fails: borrow, withdraw, withdrawMargin, vault withdraw and redeem, unstake, and the fee sweep (the fund's pull) revert with SafeERC20FailedOperation(token), state unchanged", async () => {
      const c = await load();
      const { s, frt, token, lp, alice, bob, carol } = c;
      const m = s.lending!.market;
      const p = s.perps!.market;
      const v = s.perps!.vault;
      const fund = s.insuranceFund;
      const [, readyAt] = await fund.unstakeRequest(carol.address);
      await time.increaseTo(readyAt);
      for (const a of Object.values(s.assets)) {
        await a.primaryFeed.mock!.setPrice(await a.primaryFeed.mock!.marketAnswer());
        if (a.fallbackFeed) await a.fallbackFeed.mock!.setPrice(await a.fallbackFeed.mock!.marketAnswer());
      }
      await frt.setFailing(true);
      const calls: [string, () => Promise<unknown>, ErrorSource][] = [
        ["borrow", () => m.connect(bob).borrow(u(100), bob.address), m],
        ["withdraw", () => m.connect(alice).withdraw(u(1), alice.address), m],
        ["withdrawMargin", () => p.connect(alice).withdrawMargin(u(1), alice.address), p],
        ["vault withdraw", () => v.connect(lp).withdraw(u(1), lp.address, lp.address), v],
        ["vault redeem", () => v.connect(lp).redeem(10n ** 12n, lp.address, lp.address), v],
        ["unstake", () => fund.connect(carol).unstake(carol.address), fund],
        ["sweepFees", () => p.connect(carol).sweepFees(), fund],
      ];
      expect((await p.pool())[1], "pending insurance fees to sweep").to.be.gt(0n);
      for (const [, call, by] of calls) await expectRevertUnchanged(s, call, by, FAILED, [token]);
      // The same calls go through once the token works again.
      await frt.setFailing(false);
      for (const [name, call] of calls) await expect(call(), name).to.not.be.reverted;
    });
  });
});
