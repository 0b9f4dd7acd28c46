/**
 * Hostile inputs on the lending side (LendingMarket and the InsuranceFund's staking): zero and dust
 * amounts, type(uint256).max, values just over the uint128 / uint192 casts, zero addresses, unknown and
 * unlisted tokens, on every user entry point (supply, withdraw, supplyCollateral, withdrawCollateral,
 * borrow, repay, liquidate, stake, requestUnstake, unstake, topUp, repayRecourse).
 *
 * Each refused call is checked with `expectRevertUnchanged` (test/hostile/digest.ts): the exact custom
 * error and its arguments, and a digest of every view of the system (lending, fund, perps, vault, oracle,
 * token balances) equal before and after. Where the interface documents max uint as "all" (withdraw,
 * repay) or a cap (liquidate's maxRepay), the documented behaviour is asserted instead; dust that succeeds
 * is checked to round in the market's favour.
 *
 * The last block holds inputs that used to revert with Panic(0x11) (arithmetic overflow) instead of a custom
 * error, found by this suite and fixed by bounding the amounts at the entry points.
 */
import { expect } from "chai";
import { ethers } from "hardhat";

import { readTotals, toAssetsDown, toSharesDown, toSharesUp } from "../helpers/math";
import {
  e18,
  expectCustomErrorUnchanged,
  expectNoOp,
  expectRevertUnchanged,
  loadHostile,
  MAX,
  u,
  type ErrorSource,
  type HostileFixture,
} from "./digest";

const U128 = 1n << 128n;
const ZERO = ethers.ZeroAddress;

interface Row {
  name: string;
  call: (f: HostileFixture) => Promise<unknown>;
  /** Which contract's ABI holds the error (default: the lending market). */
  by?: (f: HostileFixture) => ErrorSource;
  error: string;
  args?: (f: HostileFixture) => Promise<unknown[]>;
}

const L = (f: HostileFixture) => f.lending!.market;
const F = (f: HostileFixture) => f.insuranceFund;
const weth = (f: HostileFixture) => f.assets.WETH.address;
const totals = (f: HostileFixture) => readTotals(L(f));
const cashOf = async (f: HostileFixture) => {
  const t = await totals(f);
  return t.supplyAssets + t.reserves - t.borrowAssets;
};

function run(rows: Row[]) {
  for (const r of rows) {
    it(`${r.name}: reverts with ${r.error}, state unchanged`, async () => {
      const f = await loadHostile();
      const args = r.args ? await r.args(f) : undefined;
      await expectRevertUnchanged(f, () => r.call(f), (r.by ?? L)(f), r.error, args);
    });
  }
}

describe("hostile inputs: lending and the insurance fund", () => {
  describe("supply", () => {
    run([
      {
        name: "supply: zero assets",
        call: (f) => L(f).connect(f.actors.stranger).supply(0, f.actors.stranger.address),
        error: "ZeroAmount",
        args: async () => [],
      },
      {
        name: "supply: zero onBehalf",
        call: (f) => L(f).connect(f.actors.stranger).supply(1, ZERO),
        error: "ZeroAddress",
        args: async () => [],
      },
      {
        name: "supply: 2^128 (just over the uint128 totals) overflows the supply shares' cast",
        call: (f) => L(f).connect(f.actors.stranger).supply(U128, f.actors.stranger.address),
        error: "SafeCastOverflowedUintDowncast",
        args: async (f) => {
          return [128, U128]; // the amount is bounded at the entry point
        },
      },
      {
        name: "supply: one unit more than the caller holds",
        call: async (f) =>
          L(f)
            .connect(f.actors.stranger)
            .supply(
              (await f.base.erc20.balanceOf(f.actors.stranger.address)) + 1n,
              f.actors.stranger.address,
            ),
        by: (f) => f.base.token!,
        error: "ERC20InsufficientBalance",
        args: async (f) => {
          const held = await f.base.erc20.balanceOf(f.actors.stranger.address);
          return [f.actors.stranger.address, held, held + 1n];
        },
      },
    ]);

    it("supply: dust (1 base unit) mints exactly the virtual-share price's worth (1e6 shares) and withdraws back to the unit", async () => {
      const f = await loadHostile();
      const { dave } = f.actors;
      const t = await totals(f);
      const shares = toSharesDown(1n, t.supplyAssets, t.supplyShares);
      expect(shares).to.equal(10n ** 6n);
      await expect(L(f).connect(dave).supply(1, dave.address))
        .to.emit(L(f), "Supply")
        .withArgs(dave.address, dave.address, 1n, shares);
      const before = await f.base.erc20.balanceOf(dave.address);
      await expect(L(f).connect(dave).withdraw(MAX, dave.address))
        .to.emit(L(f), "Withdraw")
        .withArgs(dave.address, dave.address, 1n, shares);
      expect(await f.base.erc20.balanceOf(dave.address)).to.equal(before + 1n);
    });
  });

  describe("withdraw", () => {
    run([
      {
        name: "withdraw: zero assets",
        call: (f) => L(f).connect(f.actors.alice).withdraw(0, f.actors.alice.address),
        error: "ZeroAmount",
        args: async () => [],
      },
      {
        name: "withdraw: zero receiver",
        call: (f) => L(f).connect(f.actors.alice).withdraw(1, ZERO),
        error: "ZeroAddress",
        args: async () => [],
      },
      {
        name: "withdraw: max uint ('everything') by an address that supplied nothing",
        call: (f) => L(f).connect(f.actors.stranger).withdraw(MAX, f.actors.stranger.address),
        error: "ZeroAmount",
        args: async () => [],
      },
      {
        name: "withdraw: one unit by an address that supplied nothing",
        call: (f) => L(f).connect(f.actors.stranger).withdraw(1, f.actors.stranger.address),
        error: "InsufficientShares",
        args: async (f) => {
          const t = await totals(f);
          return [toSharesUp(1n, t.supplyAssets, t.supplyShares), 0n];
        },
      },
      {
        name: "withdraw: 2^128 by a supplier (bounded at the entry point)",
        call: (f) => L(f).connect(f.actors.alice).withdraw(U128, f.actors.alice.address),
        error: "SafeCastOverflowedUintDowncast",
        args: async () => [128, U128],
      },
      {
        name: "withdraw: max uint ('everything') when the market lacks the cash (60,000 lent out)",
        call: (f) => L(f).connect(f.actors.alice).withdraw(MAX, f.actors.alice.address),
        error: "InsufficientLiquidity",
        args: async (f) => [(await L(f).accountView(f.actors.alice.address)).supplyAssets, await cashOf(f)],
      },
      {
        name: "withdraw: one unit more than the cash",
        call: async (f) =>
          L(f)
            .connect(f.actors.alice)
            .withdraw((await cashOf(f)) + 1n, f.actors.alice.address),
        error: "InsufficientLiquidity",
        args: async (f) => [(await cashOf(f)) + 1n, await cashOf(f)],
      },
    ]);

    it("withdraw: max uint is documented as 'everything': it burns every share and pays their worth, rounded down", async () => {
      const f = await loadHostile();
      const { dave } = f.actors;
      await L(f).connect(dave).supply(u(1234.567891), dave.address);
      const shares = (await L(f).accountView(dave.address)).supplyShares;
      const t = await totals(f);
      const assets = toAssetsDown(shares, t.supplyAssets, t.supplyShares);
      await expect(L(f).connect(dave).withdraw(MAX, dave.address))
        .to.emit(L(f), "Withdraw")
        .withArgs(dave.address, dave.address, assets, shares);
      expect(assets).to.be.lte(u(1234.567891));
      expect((await L(f).accountView(dave.address)).supplyShares).to.equal(0n);
    });
  });

  describe("supplyCollateral and withdrawCollateral", () => {
    run([
      {
        name: "supplyCollateral: zero amount",
        call: (f) => L(f).connect(f.actors.bob).supplyCollateral(weth(f), 0, f.actors.bob.address),
        error: "ZeroAmount",
        args: async () => [],
      },
      {
        name: "supplyCollateral: zero onBehalf",
        call: (f) => L(f).connect(f.actors.bob).supplyCollateral(weth(f), 1, ZERO),
        error: "ZeroAddress",
        args: async () => [],
      },
      {
        name: "supplyCollateral: 2^128 (over any uint128 supply cap; bounded at the entry point)",
        call: (f) =>
          L(f).connect(f.actors.stranger).supplyCollateral(weth(f), U128, f.actors.stranger.address),
        error: "SafeCastOverflowedUintDowncast",
        args: async () => [128, U128],
      },
      {
        name: "supplyCollateral: one unit over the supply cap",
        call: async (f) => {
          const c = await L(f).collateralConfig(weth(f));
          return L(f)
            .connect(f.actors.stranger)
            .supplyCollateral(weth(f), c.supplyCap - c.totalSupplied + 1n, f.actors.stranger.address);
        },
        error: "SupplyCapExceeded",
        args: async (f) => {
          const c = await L(f).collateralConfig(weth(f));
          return [weth(f), c.supplyCap, c.supplyCap + 1n];
        },
      },
      {
        name: "withdrawCollateral: zero amount",
        call: (f) => L(f).connect(f.actors.bob).withdrawCollateral(weth(f), 0, f.actors.bob.address),
        error: "ZeroAmount",
        args: async () => [],
      },
      {
        name: "withdrawCollateral: zero receiver",
        call: (f) => L(f).connect(f.actors.bob).withdrawCollateral(weth(f), 1, ZERO),
        error: "ZeroAddress",
        args: async () => [],
      },
      {
        name: "withdrawCollateral: max uint",
        call: (f) => L(f).connect(f.actors.bob).withdrawCollateral(weth(f), MAX, f.actors.bob.address),
        error: "InsufficientCollateral",
        args: async () => [MAX, e18(10)],
      },
      {
        name: "withdrawCollateral: 2^128",
        call: (f) => L(f).connect(f.actors.bob).withdrawCollateral(weth(f), U128, f.actors.bob.address),
        error: "InsufficientCollateral",
        args: async () => [U128, e18(10)],
      },
      {
        name: "withdrawCollateral: one wei by an address that posted none",
        call: (f) =>
          L(f).connect(f.actors.stranger).withdrawCollateral(weth(f), 1, f.actors.stranger.address),
        error: "InsufficientCollateral",
        args: async () => [1n, 0n],
      },
      {
        name: "withdrawCollateral: all the WBTC of a borrower whose debt it backs",
        call: (f) =>
          L(f)
            .connect(f.actors.bob)
            .withdrawCollateral(f.assets.WBTC.address, 10n ** 8n, f.actors.bob.address),
        error: "InsufficientBorrowCapacity",
        // Without WBTC: 10 WETH x 3,000 x 0.8 + 10,000 EURC x 1.08 x 0.85 = 24,000 + 9,180.
        args: async (f) => [(await L(f).accountView(f.actors.bob.address)).debt, u(33_180)],
      },
    ]);

    it("supplyCollateral: exactly up to the supply cap passes; dust (1 wei of WETH) is valued at zero, rounded down", async () => {
      const f = await loadHostile();
      const { dave } = f.actors;
      const c = await L(f).collateralConfig(weth(f));
      const room = c.supplyCap - c.totalSupplied;
      await f.assets.WETH.token!.mint(dave.address, room);
      await expect(
        L(f)
          .connect(dave)
          .supplyCollateral(weth(f), room - 1n, dave.address),
      ).to.emit(L(f), "SupplyCollateral");
      await L(f)
        .connect(dave)
        .withdrawCollateral(weth(f), room - 2n, dave.address);
      // dave holds 1 wei of WETH in the market: worth 3,000e18 / 1e30 base units, i.e. nothing.
      expect(await L(f).collateralOf(dave.address, weth(f))).to.equal(1n);
      expect((await L(f).accountView(dave.address)).collateralValue).to.equal(0n);
      await expect(L(f).connect(dave).borrow(u(100), dave.address))
        .to.be.revertedWithCustomError(L(f), "InsufficientBorrowCapacity")
        .withArgs(u(100), 0n);
      // The cap is met exactly with the room that is left, and one more wei is refused.
      const left = c.supplyCap - (await L(f).collateralConfig(weth(f))).totalSupplied;
      await expect(L(f).connect(dave).supplyCollateral(weth(f), left, dave.address)).to.emit(
        L(f),
        "SupplyCollateral",
      );
      expect((await L(f).collateralConfig(weth(f))).totalSupplied).to.equal(c.supplyCap);
      await expectRevertUnchanged(
        f,
        () => L(f).connect(dave).supplyCollateral(weth(f), 1, dave.address),
        L(f),
        "SupplyCapExceeded",
        [weth(f), c.supplyCap, c.supplyCap + 1n],
      );
    });
  });

  describe("borrow", () => {
    run([
      {
        name: "borrow: zero assets",
        call: (f) => L(f).connect(f.actors.bob).borrow(0, f.actors.bob.address),
        error: "ZeroAmount",
        args: async () => [],
      },
      {
        name: "borrow: zero receiver",
        call: (f) => L(f).connect(f.actors.bob).borrow(1, ZERO),
        error: "ZeroAddress",
        args: async () => [],
      },
      {
        name: "borrow: max uint",
        call: (f) => L(f).connect(f.actors.bob).borrow(MAX, f.actors.bob.address),
        error: "InsufficientLiquidity",
        args: async (f) => [MAX, await cashOf(f)],
      },
      {
        name: "borrow: 2^128",
        call: (f) => L(f).connect(f.actors.bob).borrow(U128, f.actors.bob.address),
        error: "InsufficientLiquidity",
        args: async (f) => [U128, await cashOf(f)],
      },
      {
        name: "borrow: dust (1 unit) as a first loan is below the minimum borrow",
        call: (f) => L(f).connect(f.actors.stranger).borrow(1, f.actors.stranger.address),
        error: "BelowMinBorrow",
        args: async () => [1n, u(100)],
      },
      {
        name: "borrow: the minimum borrow without collateral",
        call: (f) => L(f).connect(f.actors.stranger).borrow(u(100), f.actors.stranger.address),
        error: "InsufficientBorrowCapacity",
        args: async () => [u(100), 0n],
      },
      {
        name: "borrow: one unit beyond the borrow capacity (78,180)",
        call: async (f) => {
          const v = await L(f).accountView(f.actors.bob.address);
          return L(f)
            .connect(f.actors.bob)
            .borrow(v.borrowCapacity - v.debt + 1n, f.actors.bob.address);
        },
        error: "InsufficientBorrowCapacity",
        args: async (f) => {
          const v = await L(f).accountView(f.actors.bob.address);
          expect(v.borrowCapacity).to.equal(u(78_180));
          // The new debt is rounded up: at least capacity + 1.
          return [(d: bigint) => d >= v.borrowCapacity + 1n && d <= v.borrowCapacity + 2n, v.borrowCapacity];
        },
      },
    ]);

    it("borrow: dust (1 unit) on top of a loan mints borrow shares rounded up: the debt grows by at least the unit", async () => {
      const f = await loadHostile();
      const { bob } = f.actors;
      const t = await totals(f);
      const before = await L(f).accountView(bob.address);
      const shares = toSharesUp(1n, t.borrowAssets, t.borrowShares);
      await expect(L(f).connect(bob).borrow(1, bob.address))
        .to.emit(L(f), "Borrow")
        .withArgs(bob.address, bob.address, 1n, shares);
      const after = await L(f).accountView(bob.address);
      expect(after.borrowShares - before.borrowShares).to.equal(shares);
      expect(after.debt - before.debt).to.be.gte(1n);
    });
  });

  describe("repay", () => {
    run([
      {
        name: "repay: zero assets",
        call: (f) => L(f).connect(f.actors.bob).repay(0, f.actors.bob.address),
        error: "ZeroAmount",
        args: async () => [],
      },
      {
        name: "repay: zero onBehalf",
        call: (f) => L(f).connect(f.actors.bob).repay(1, ZERO),
        error: "ZeroAddress",
        args: async () => [],
      },
      {
        name: "repay: max uint for an account without debt",
        call: (f) => L(f).connect(f.actors.stranger).repay(MAX, f.actors.stranger.address),
        error: "NothingToRepay",
        args: async (f) => [f.actors.stranger.address],
      },
      {
        name: "repay: one unit for an account without debt",
        call: (f) => L(f).connect(f.actors.stranger).repay(1, f.actors.alice.address),
        error: "NothingToRepay",
        args: async (f) => [f.actors.alice.address],
      },
    ]);

    it("repay: max uint and 2^128 are documented as 'all of it': exactly the debt (rounded up) is pulled and every borrow share burnt", async () => {
      const f = await loadHostile();
      const { bob, keeper } = f.actors;
      const v = await L(f).accountView(bob.address);
      expect(await L(f).connect(keeper).repay.staticCall(U128, bob.address)).to.equal(v.debt);
      const balance = await f.base.erc20.balanceOf(keeper.address);
      await expect(L(f).connect(keeper).repay(MAX, bob.address))
        .to.emit(L(f), "Repay")
        .withArgs(keeper.address, bob.address, v.debt, v.borrowShares);
      expect(await f.base.erc20.balanceOf(keeper.address)).to.equal(balance - v.debt);
      expect((await L(f).accountView(bob.address)).borrowShares).to.equal(0n);
      expect((await totals(f)).borrowAssets).to.equal(0n);
    });

    it("repay: dust (1 unit) burns shares rounded down and pulls exactly the unit", async () => {
      const f = await loadHostile();
      const { bob } = f.actors;
      const t = await totals(f);
      const shares = toSharesDown(1n, t.borrowAssets, t.borrowShares);
      expect(shares).to.be.gt(0n);
      await expect(L(f).connect(bob).repay(1, bob.address))
        .to.emit(L(f), "Repay")
        .withArgs(bob.address, bob.address, 1n, shares);
    });
  });

  describe("liquidate", () => {
    run([
      {
        name: "liquidate: zero maxRepay",
        call: (f) => L(f).connect(f.actors.keeper).liquidate(f.actors.bob.address, weth(f), 0),
        error: "ZeroAmount",
        args: async () => [],
      },
      {
        name: "liquidate: max uint on a healthy borrower",
        call: (f) => L(f).connect(f.actors.keeper).liquidate(f.actors.bob.address, weth(f), MAX),
        error: "NotLiquidatable",
        args: async (f) => [(await L(f).accountView(f.actors.bob.address)).health],
      },
      {
        name: "liquidate: an address that posted no collateral",
        call: (f) => L(f).connect(f.actors.keeper).liquidate(f.actors.stranger.address, weth(f), MAX),
        error: "NoCollateral",
        args: async (f) => [f.actors.stranger.address, weth(f)],
      },
      {
        name: "liquidate: the zero address",
        call: (f) => L(f).connect(f.actors.keeper).liquidate(ZERO, weth(f), 1),
        error: "NoCollateral",
        args: async (f) => [ZERO, weth(f)],
      },
    ]);

    it("liquidate: maxRepay of max uint or 2^128 is capped (close factor, then the collateral balance): the same repayment as the exact cap", async () => {
      const f = await loadHostile();
      const { bob, keeper } = f.actors;
      // WETH at 200 (both feeds agree: OK at once).
      // Health = (10 x 200 x 0.85 + 48,000 + 9,720) / 60,000 = 0.99.
      await f.assets.WETH.primaryFeed.mock!.setPrice(200n * 10n ** 8n);
      await f.assets.WETH.fallbackFeed!.mock!.setPrice(e18(200));
      expect((await L(f).accountView(bob.address)).health).to.be.lt(e18(1));
      // The close factor allows 30,000, but 10 WETH x 200 / 1.05 (bonus) is all the collateral pays for:
      // ceil(2,000 / 1.05) = 1,904.761905.
      const cap = 1_904_761_905n;
      const seizeAll = [cap, e18(10)];
      expect(await L(f).connect(keeper).liquidate.staticCall(bob.address, weth(f), MAX)).to.deep.equal(
        seizeAll,
      );
      expect(await L(f).connect(keeper).liquidate.staticCall(bob.address, weth(f), U128)).to.deep.equal(
        seizeAll,
      );
      expect(await L(f).connect(keeper).liquidate.staticCall(bob.address, weth(f), cap)).to.deep.equal(
        seizeAll,
      );
      const [repaid, seized] = await L(f)
        .connect(keeper)
        .liquidate.staticCall(bob.address, weth(f), cap - 1n);
      expect(repaid).to.equal(cap - 1n);
      expect(seized).to.be.lt(e18(10));
      await expect(L(f).connect(keeper).liquidate(bob.address, weth(f), MAX))
        .to.emit(L(f), "Liquidate")
        .withArgs(keeper.address, bob.address, weth(f), cap, e18(10), (fee: bigint) => fee > 0n);
    });
  });

  describe("unknown and unlisted tokens", () => {
    const unknowns: [string, (f: HostileFixture) => string][] = [
      ["an address without code", (f) => f.actors.stranger.address],
      ["the zero address", () => ZERO],
      ["the base asset", (f) => f.base.address],
      ["an ERC-20 that is not listed (the vault's share)", (f) => f.perps!.vault.target as string],
    ];
    for (const [what, token] of unknowns) {
      run([
        {
          name: `supplyCollateral: ${what}`,
          call: (f) => L(f).connect(f.actors.bob).supplyCollateral(token(f), 1, f.actors.bob.address),
          error: "CollateralNotListed",
          args: async (f) => [token(f)],
        },
        {
          name: `withdrawCollateral: ${what}`,
          call: (f) => L(f).connect(f.actors.bob).withdrawCollateral(token(f), 1, f.actors.bob.address),
          error: "CollateralNotListed",
          args: async (f) => [token(f)],
        },
        {
          name: `liquidate: seizing ${what}`,
          call: (f) => L(f).connect(f.actors.keeper).liquidate(f.actors.bob.address, token(f), MAX),
          error: "CollateralNotListed",
          args: async (f) => [token(f)],
        },
      ]);
    }

    it("views: collateralOf and collateralConfig of an unknown token revert with CollateralNotListed", async () => {
      const f = await loadHostile();
      const t = f.actors.stranger.address;
      await expect(L(f).collateralOf(f.actors.bob.address, t))
        .to.be.revertedWithCustomError(L(f), "CollateralNotListed")
        .withArgs(t);
      await expect(L(f).collateralConfig(t))
        .to.be.revertedWithCustomError(L(f), "CollateralNotListed")
        .withArgs(t);
    });
  });

  describe("insurance fund: stake, requestUnstake, unstake, topUp, repayRecourse", () => {
    run([
      {
        name: "stake: zero assets",
        call: (f) => F(f).connect(f.actors.stranger).stake(0, f.actors.stranger.address),
        by: F,
        error: "ZeroAmount",
        args: async () => [],
      },
      {
        name: "stake: zero receiver",
        call: (f) => F(f).connect(f.actors.stranger).stake(1, ZERO),
        by: F,
        error: "ZeroAddress",
        args: async () => [],
      },
      {
        name: "stake: 2^200 (over the uint192 stake)",
        call: (f) =>
          F(f)
            .connect(f.actors.stranger)
            .stake(1n << 200n, f.actors.stranger.address),
        by: F,
        error: "SafeCastOverflowedUintDowncast",
        args: async () => [128, 1n << 200n], // bounded at the entry point
      },
      {
        name: "requestUnstake: zero shares",
        call: (f) => F(f).connect(f.actors.carol).requestUnstake(0),
        by: F,
        error: "ZeroAmount",
        args: async () => [],
      },
      {
        name: "requestUnstake: max uint",
        call: (f) => F(f).connect(f.actors.carol).requestUnstake(MAX),
        by: F,
        error: "InsufficientShares",
        args: async (f) => [MAX, await F(f).sharesOf(f.actors.carol.address)],
      },
      {
        name: "requestUnstake: one share by a non-staker",
        call: (f) => F(f).connect(f.actors.stranger).requestUnstake(1),
        by: F,
        error: "InsufficientShares",
        args: async () => [1n, 0n],
      },
      {
        name: "unstake: zero receiver",
        call: (f) => F(f).connect(f.actors.carol).unstake(ZERO),
        by: F,
        error: "ZeroAddress",
        args: async () => [],
      },
      {
        name: "unstake: before the cooldown",
        call: (f) => F(f).connect(f.actors.carol).unstake(f.actors.carol.address),
        by: F,
        error: "CooldownNotElapsed",
        args: async (f) => [(await F(f).unstakeRequest(f.actors.carol.address)).readyAt],
      },
      {
        name: "unstake: without a request",
        call: (f) => F(f).connect(f.actors.stranger).unstake(f.actors.stranger.address),
        by: F,
        error: "NoUnstakeRequest",
        args: async () => [],
      },
      {
        name: "topUp: zero",
        call: (f) => F(f).connect(f.actors.stranger).topUp(0),
        by: F,
        error: "ZeroAmount",
        args: async () => [],
      },
      {
        name: "topUp: max uint (more than the caller holds)",
        call: (f) => F(f).connect(f.actors.stranger).topUp(MAX),
        by: (f) => f.base.token!,
        error: "ERC20InsufficientBalance",
        args: async (f) => [
          f.actors.stranger.address,
          await f.base.erc20.balanceOf(f.actors.stranger.address),
          MAX,
        ],
      },
    ]);

    it("repayRecourse: max uint for an account that owes nothing is a documented no-op (returns 0, moves nothing)", async () => {
      const f = await loadHostile();
      const { stranger } = f.actors;
      expect(await F(f).connect(stranger).repayRecourse.staticCall(stranger.address, MAX)).to.equal(0n);
      await expectNoOp(f, () => F(f).connect(stranger).repayRecourse(stranger.address, MAX));
    });

    it("stake: dust (1 base unit) mints shares at the pool's price, rounded down, and at least one", async () => {
      const f = await loadHostile();
      const { dave } = f.actors;
      const shares = toSharesDown(1n, await F(f).totalAssets(), await F(f).totalShares());
      expect(shares).to.be.gt(0n);
      await expect(F(f).connect(dave).stake(1, dave.address))
        .to.emit(F(f), "Staked")
        .withArgs(dave.address, dave.address, 1n, shares);
    });
  });

  describe("amounts near 2^256 get a custom error, not an arithmetic panic (regressions)", () => {
    // These reverted with Panic(0x11) (arithmetic overflow) before the amounts were bounded at the entry
    // point (SafeCast.toUint128, which gives SafeCastOverflowedUintDowncast) before being multiplied or added.
    it("supply: max uint overflows toSharesDown (assets x (shares + 1e6)): now a custom error, state unchanged (was Panic(0x11))", async () => {
      const f = await loadHostile();
      await expectCustomErrorUnchanged(f, () =>
        L(f).connect(f.actors.stranger).supply(MAX, f.actors.stranger.address),
      );
    });

    it("withdraw: 2^200 (below max uint, which means 'all') overflows toSharesUp: now a custom error, state unchanged (was Panic(0x11))", async () => {
      const f = await loadHostile();
      await expectCustomErrorUnchanged(f, () =>
        L(f)
          .connect(f.actors.alice)
          .withdraw(1n << 200n, f.actors.alice.address),
      );
    });

    it("supplyCollateral: max uint overflows totalSupplied + amount: now a custom error, state unchanged (was Panic(0x11))", async () => {
      const f = await loadHostile();
      await expectCustomErrorUnchanged(f, () =>
        L(f).connect(f.actors.stranger).supplyCollateral(weth(f), MAX, f.actors.stranger.address),
      );
    });

    it("stake: max uint overflows toSharesDown: now a custom error, state unchanged (was Panic(0x11))", async () => {
      const f = await loadHostile();
      await expectCustomErrorUnchanged(f, () =>
        F(f).connect(f.actors.stranger).stake(MAX, f.actors.stranger.address),
      );
    });
  });
});
