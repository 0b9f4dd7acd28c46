/**
 * Hostile inputs on the perps side (PerpMarket and the LiquidityVault): zero and dust amounts and sizes,
 * type(uint256).max, values just over the int128 casts (2^127), the extremes of int256 and uint128, zero
 * addresses, unlisted market ids and unknown order ids, on every user and keeper entry point
 * (depositMargin, withdrawMargin, modifyPosition, closePosition, placeOrder, cancelOrder, executeOrder,
 * liquidate, adl, and the vault's deposit, mint, withdraw and redeem).
 *
 * Each refused call is checked with `expectRevertUnchanged` (test/hostile/digest.ts): the exact custom
 * error and its arguments, and a digest of every view of the system equal before and after. Where the
 * interface documents max uint as "all that is free" (withdrawMargin) or an order size as capped at the
 * position, that behaviour is asserted; dust that succeeds is checked to round in the pool's favour; zero
 * amounts on the ERC-4626 vault are no-ops (the standard's convention), checked as such.
 *
 * The last block holds inputs that used to revert with Panic(0x11) (arithmetic overflow) instead of a custom
 * error, found by this suite and fixed by bounding the inputs at the entry points.
 */
import { expect } from "chai";
import { ethers } from "hardhat";

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

const I128 = 1n << 127n;
const MAX_U128 = (1n << 128n) - 1n;
const MAX_I256 = (1n << 255n) - 1n;
const MIN_I256 = -(1n << 255n);
const ZERO = ethers.ZeroAddress;
const USD_PER_UNIT = 10n ** 12n;

interface Row {
  name: string;
  call: (f: HostileFixture) => Promise<unknown>;
  /** Which contract's ABI holds the error (default: the perps engine). */
  by?: (f: HostileFixture) => ErrorSource;
  error: string;
  args?: (f: HostileFixture) => Promise<unknown[]>;
}

const P = (f: HostileFixture) => f.perps!.market;
const V = (f: HostileFixture) => f.perps!.vault;

/** What alice may withdraw: min(margin, equity - initial margin). */
async function freeMargin(f: HostileFixture, who: string) {
  const v = await P(f).accountView(who);
  const room = v.equity - BigInt(v.initialMargin);
  const free = room > 0n ? room : 0n;
  return v.margin < free ? v.margin : free;
}

function run(rows: Row[]) {
  for (const r of rows) {
    it(`${r.name}: reverts with ${r.error}, state unchanged`, async () => {
      const f = await loadHostile();
      const args = r.args ? await r.args(f) : undefined;
      await expectRevertUnchanged(f, () => r.call(f), (r.by ?? P)(f), r.error, args);
    });
  }
}

describe("hostile inputs: perps and the LP vault", () => {
  describe("depositMargin and withdrawMargin", () => {
    run([
      {
        name: "depositMargin: zero amount",
        call: (f) => P(f).connect(f.actors.carol).depositMargin(0, f.actors.carol.address),
        error: "ZeroAmount",
        args: async () => [],
      },
      {
        name: "depositMargin: zero onBehalf",
        call: (f) => P(f).connect(f.actors.carol).depositMargin(1, ZERO),
        error: "ZeroAddress",
        args: async () => [],
      },
      {
        name: "depositMargin: max uint (over int256)",
        call: (f) => P(f).connect(f.actors.carol).depositMargin(MAX, f.actors.carol.address),
        error: "SafeCastOverflowedUintToInt",
        args: async () => [MAX],
      },
      {
        name: "depositMargin: 2^127 (just over the int128 margin)",
        call: (f) => P(f).connect(f.actors.carol).depositMargin(I128, f.actors.carol.address),
        error: "SafeCastOverflowedIntDowncast",
        args: async () => [128, I128],
      },
      {
        name: "depositMargin: one unit more than the caller holds",
        call: async (f) =>
          P(f)
            .connect(f.actors.carol)
            .depositMargin(
              (await f.base.erc20.balanceOf(f.actors.carol.address)) + 1n,
              f.actors.carol.address,
            ),
        by: (f) => f.base.token!,
        error: "ERC20InsufficientBalance",
        args: async (f) => {
          const held = await f.base.erc20.balanceOf(f.actors.carol.address);
          return [f.actors.carol.address, held, held + 1n];
        },
      },
      {
        name: "withdrawMargin: zero amount",
        call: (f) => P(f).connect(f.actors.alice).withdrawMargin(0, f.actors.alice.address),
        error: "ZeroAmount",
        args: async () => [],
      },
      {
        name: "withdrawMargin: zero receiver",
        call: (f) => P(f).connect(f.actors.alice).withdrawMargin(1, ZERO),
        error: "ZeroAddress",
        args: async () => [],
      },
      {
        name: "withdrawMargin: max uint ('all that is free') by an account with no margin",
        call: (f) => P(f).connect(f.actors.stranger).withdrawMargin(MAX, f.actors.stranger.address),
        error: "InsufficientMarginBalance",
        args: async () => [0n, 0n],
      },
      {
        name: "withdrawMargin: one unit by an account with no margin",
        call: (f) => P(f).connect(f.actors.stranger).withdrawMargin(1, f.actors.stranger.address),
        error: "InsufficientMarginBalance",
        args: async () => [1n, 0n],
      },
      {
        name: "withdrawMargin: max uint - 1 (not the 'all' sentinel) with a position open",
        call: (f) =>
          P(f)
            .connect(f.actors.alice)
            .withdrawMargin(MAX - 1n, f.actors.alice.address),
        error: "InsufficientMarginBalance",
        args: async (f) => [MAX - 1n, await freeMargin(f, f.actors.alice.address)],
      },
      {
        name: "withdrawMargin: one unit more than is free with a position open",
        call: async (f) =>
          P(f)
            .connect(f.actors.alice)
            .withdrawMargin((await freeMargin(f, f.actors.alice.address)) + 1n, f.actors.alice.address),
        error: "InsufficientMarginBalance",
        args: async (f) => {
          const free = await freeMargin(f, f.actors.alice.address);
          return [free + 1n, free];
        },
      },
    ]);

    it("withdrawMargin: max uint is documented as 'all that is free': it withdraws exactly min(margin, equity - initial margin)", async () => {
      const f = await loadHostile();
      const { alice } = f.actors;
      const free = await freeMargin(f, alice.address);
      expect(free).to.be.gt(0n);
      const balance = await f.base.erc20.balanceOf(alice.address);
      await expect(P(f).connect(alice).withdrawMargin(MAX, alice.address))
        .to.emit(P(f), "MarginWithdrawn")
        .withArgs(alice.address, alice.address, free);
      expect(await f.base.erc20.balanceOf(alice.address)).to.equal(balance + free);
      expect(await freeMargin(f, alice.address)).to.equal(0n);
    });
  });

  describe("modifyPosition and closePosition", () => {
    run([
      {
        name: "modifyPosition: zero size",
        call: (f) => P(f).connect(f.actors.alice).modifyPosition(f.ETH, 0, MAX),
        error: "ZeroAmount",
        args: async () => [],
      },
      {
        name: "modifyPosition: size 2^127 (just over the int128 position)",
        call: (f) => P(f).connect(f.actors.alice).modifyPosition(f.ETH, I128, MAX),
        error: "SafeCastOverflowedIntDowncast",
        args: async () => [128, (v: bigint) => v >= I128],
      },
      {
        name: "modifyPosition: size 2^127 - 1 (the int128 maximum: its basis overflows int128)",
        call: (f) =>
          P(f)
            .connect(f.actors.alice)
            .modifyPosition(f.ETH, I128 - 1n, MAX),
        error: "SafeCastOverflowedIntDowncast",
        args: async () => [128, (v: bigint) => v >= I128],
      },
      {
        name: "modifyPosition: size -2^127 (the impact takes the fill below zero)",
        call: (f) => P(f).connect(f.actors.alice).modifyPosition(f.ETH, -I128, 0),
        error: "InvalidFillPrice",
        args: async () => [],
      },
      {
        name: "modifyPosition: a 1,000,000 ETH long (over the open-interest cap)",
        call: (f) => P(f).connect(f.actors.carol).modifyPosition(f.ETH, e18(1_000_000), MAX),
        error: "OpenInterestCapExceeded",
        args: async (f) => [f.ETH, e18(50_000), e18(1_000_010)],
      },
      {
        name: "modifyPosition: a 1,000,000 ETH short (over the open-interest cap)",
        call: (f) => P(f).connect(f.actors.carol).modifyPosition(f.ETH, -e18(1_000_000), 0),
        error: "OpenInterestCapExceeded",
        args: async (f) => [f.ETH, e18(50_000), e18(1_000_010)],
      },
      {
        name: "modifyPosition: dust (1 wei of size) without margin",
        call: (f) => P(f).connect(f.actors.carol).modifyPosition(f.ETH, 1, MAX),
        error: "InsufficientMargin",
        // Equity: minus the one-unit fee, minus one unit of PnL at the oracle price (rounded down); the
        // initial margin rounds up to one unit.
        args: async () => [-2n, 1n],
      },
      {
        name: "modifyPosition: a buy with acceptablePrice 0",
        call: (f) => P(f).connect(f.actors.alice).modifyPosition(f.ETH, e18(1), 0),
        error: "PriceLimitExceeded",
        args: async (f) => [await P(f).fillPrice(f.ETH, e18(1)), 0n],
      },
      {
        name: "modifyPosition: a sell with acceptablePrice max uint",
        call: (f) => P(f).connect(f.actors.alice).modifyPosition(f.ETH, -e18(1), MAX),
        error: "PriceLimitExceeded",
        args: async (f) => [await P(f).fillPrice(f.ETH, -e18(1)), MAX],
      },
      {
        name: "closePosition: with acceptablePrice max uint",
        call: (f) => P(f).connect(f.actors.alice).closePosition(f.ETH, MAX),
        error: "PriceLimitExceeded",
        args: async (f) => [await P(f).fillPrice(f.ETH, -e18(10)), MAX],
      },
      {
        name: "closePosition: without a position",
        call: (f) => P(f).connect(f.actors.stranger).closePosition(f.ETH, 0),
        error: "NoPosition",
        args: async (f) => [f.actors.stranger.address, f.ETH],
      },
    ]);

    it("modifyPosition: dust (1 wei of size) on an open position is charged at least one base unit of fee", async () => {
      const f = await loadHostile();
      const { alice } = f.actors;
      const [marginBefore] = await P(f).marginOf(alice.address);
      const [, pendingBefore] = await P(f).pool();
      const receipt = await (await P(f).connect(alice).modifyPosition(f.ETH, 1, MAX)).wait();
      const log = receipt!.logs
        .map((l) => P(f).interface.parseLog(l))
        .find((l) => l?.name === "PositionModified")!;
      const { sizeDelta, fee, realisedPnl, newSize } = log.args;
      expect([sizeDelta, fee, newSize]).to.deep.equal([1n, 1n, e18(10) + 1n]);
      // Every trade realises the old size at the fill; the margin moves by exactly that, less the fee.
      const [marginAfter] = await P(f).marginOf(alice.address);
      expect(marginAfter - marginBefore).to.equal(realisedPnl - 1n);
      // 20% of a one-unit fee rounds down to nothing for the insurance fund: the pool keeps the unit.
      expect((await P(f).pool())[1]).to.equal(pendingBefore);
    });
  });

  describe("orders", () => {
    run([
      {
        name: "placeOrder: zero size",
        call: (f) => P(f).connect(f.actors.alice).placeOrder(f.ETH, true, 0, e18(2000), false, 0),
        error: "ZeroAmount",
        args: async () => [],
      },
      {
        name: "placeOrder: zero trigger price",
        call: (f) => P(f).connect(f.actors.alice).placeOrder(f.ETH, true, 1, 0, false, 0),
        error: "ZeroAmount",
        args: async () => [],
      },
      {
        name: "placeOrder: on the side the caller does not hold",
        call: (f) => P(f).connect(f.actors.alice).placeOrder(f.ETH, false, e18(1), e18(4000), true, MAX_U128),
        error: "NoPosition",
        args: async (f) => [f.actors.alice.address, f.ETH],
      },
      {
        name: "placeOrder: without a position",
        call: (f) => P(f).connect(f.actors.stranger).placeOrder(f.ETH, true, e18(1), e18(2000), false, 0),
        error: "NoPosition",
        args: async (f) => [f.actors.stranger.address, f.ETH],
      },
      {
        name: "cancelOrder: order id 0 (never placed)",
        call: (f) => P(f).connect(f.actors.alice).cancelOrder(0),
        error: "OrderNotFound",
        args: async () => [0n],
      },
      {
        name: "cancelOrder: order id max uint",
        call: (f) => P(f).connect(f.actors.alice).cancelOrder(MAX),
        error: "OrderNotFound",
        args: async () => [MAX],
      },
      {
        name: "cancelOrder: someone else's order",
        call: (f) => P(f).connect(f.actors.stranger).cancelOrder(f.orderId),
        error: "NotOrderOwner",
        args: async (f) => [f.orderId, f.actors.alice.address],
      },
      {
        name: "executeOrder: order id max uint",
        call: (f) => P(f).connect(f.actors.keeper).executeOrder(MAX),
        error: "OrderNotFound",
        args: async () => [MAX],
      },
      {
        name: "executeOrder: an order whose trigger has not been crossed",
        call: (f) => P(f).connect(f.actors.keeper).executeOrder(f.orderId),
        error: "OrderNotTriggered",
        args: async (f) => [f.orderId, e18(3000), e18(2500)],
      },
    ]);

    it("placeOrder: uint128 max for size, trigger and limit is accepted; on execution the size is capped at the position's", async () => {
      const f = await loadHostile();
      const { alice, keeper } = f.actors;
      // A stop that always triggers (price <= 2^128 - 1) and always fills (a long's sell limit 0).
      await expect(P(f).connect(alice).placeOrder(f.ETH, true, MAX_U128, MAX_U128, false, 0)).to.emit(
        P(f),
        "OrderPlaced",
      );
      const id = await P(f).lastOrderId();
      expect((await P(f).order(id)).size).to.equal(MAX_U128);
      await expect(P(f).connect(keeper).executeOrder(id))
        .to.emit(P(f), "PositionModified")
        .withArgs(
          alice.address,
          f.ETH,
          -e18(10),
          (x: bigint) => x > 0n,
          (x: bigint) => x > 0n,
          (x: bigint) => x <= 0n,
          0n,
        );
      expect((await P(f).positionView(alice.address, f.ETH)).size).to.equal(0n);
    });
  });

  describe("keepers: liquidate and adl", () => {
    run([
      {
        name: "liquidate: a healthy account",
        call: (f) => P(f).connect(f.actors.keeper).liquidate(f.actors.alice.address),
        error: "AccountNotLiquidatable",
        args: async (f) => {
          const v = await P(f).accountView(f.actors.alice.address);
          return [v.equity, v.maintenanceMargin];
        },
      },
      {
        name: "liquidate: an account without positions",
        call: (f) => P(f).connect(f.actors.keeper).liquidate(f.actors.stranger.address),
        error: "AccountNotLiquidatable",
        args: async () => [0n, 0n],
      },
      {
        name: "liquidate: the zero address",
        call: (f) => P(f).connect(f.actors.keeper).liquidate(ZERO),
        error: "AccountNotLiquidatable",
        args: async () => [0n, 0n],
      },
      {
        name: "adl: a market whose winners' profit is within adlPnlFactor x what the pool can pay",
        call: (f) => P(f).connect(f.actors.keeper).adl(f.ETH, [f.actors.alice.address]),
        error: "AdlNotTriggered",
        // The winning side's profit, and a limit (adlPnlFactor x the pool's capacity) it does not exceed.
        args: async (f) => {
          const [longPnl, shortPnl] = await P(f).sidePnl(f.ETH);
          const profit = longPnl >= shortPnl ? longPnl : shortPnl;
          const [capital] = await P(f).pool();
          const half = (BigInt(capital) * USD_PER_UNIT) / 2n;
          return [f.ETH, profit, (limit: bigint) => limit >= half && limit >= profit];
        },
      },
    ]);

    it("adl: an empty list deleverages nothing and returns 0 (it only accrues funding, as any trade would)", async () => {
      const f = await loadHostile();
      const { keeper, alice, bob } = f.actors;
      expect(await P(f).connect(keeper).adl.staticCall(f.ETH, [])).to.equal(0n);
      const state = async () => [
        (await P(f).positionView(alice.address, f.ETH)).size,
        (await P(f).positionView(bob.address, f.ETH)).size,
        [...(await P(f).pool())],
        [...(await P(f).marginOf(alice.address))],
        [...(await P(f).marginOf(bob.address))],
      ];
      const before = await state();
      await expect(P(f).connect(keeper).adl(f.ETH, [])).to.not.emit(P(f), "Deleveraged");
      expect(await state()).to.deep.equal(before);
    });
  });

  describe("unlisted market ids", () => {
    const ids: [string, bigint][] = [
      ["2 (the next id, unlisted)", 2n],
      ["16 (MAX_MARKETS)", 16n],
      ["2^255", 1n << 255n],
      ["max uint", MAX],
    ];
    for (const [what, id] of ids) {
      run([
        {
          name: `modifyPosition: market ${what}`,
          call: (f) => P(f).connect(f.actors.alice).modifyPosition(id, e18(1), MAX),
          error: "MarketNotListed",
          args: async () => [id],
        },
        {
          name: `placeOrder: market ${what}`,
          call: (f) => P(f).connect(f.actors.alice).placeOrder(id, true, e18(1), e18(2000), false, 0),
          error: "MarketNotListed",
          args: async () => [id],
        },
        {
          name: `adl: market ${what}`,
          call: (f) => P(f).connect(f.actors.keeper).adl(id, [f.actors.alice.address]),
          error: "MarketNotListed",
          args: async () => [id],
        },
        {
          name: `closePosition: market ${what} (no position there)`,
          call: (f) => P(f).connect(f.actors.alice).closePosition(id, 0),
          error: "NoPosition",
          args: async (f) => [f.actors.alice.address, id],
        },
      ]);
    }

    it("views: positionView, marketView, sidePnl, fillPrice and adlScore of an unlisted market revert with MarketNotListed; marketIdOf of an unknown asset with MarketNotListed(max)", async () => {
      const f = await loadHostile();
      const a = f.actors.alice.address;
      const views: [string, () => Promise<unknown>][] = [
        ["positionView", () => P(f).positionView(a, 2)],
        ["marketView", () => P(f).marketView(2)],
        ["sidePnl", () => P(f).sidePnl(2)],
        ["fillPrice", () => P(f).fillPrice(2, e18(1))],
        ["adlScore", () => P(f).adlScore(a, 2)],
      ];
      for (const [name, view] of views) {
        await expect(view(), name).to.be.revertedWithCustomError(P(f), "MarketNotListed").withArgs(2n);
      }
      await expect(P(f).marketIdOf(f.assets.EURC.address))
        .to.be.revertedWithCustomError(P(f), "MarketNotListed")
        .withArgs(MAX);
    });
  });

  describe("the LP vault: deposit, mint, withdraw, redeem", () => {
    run([
      {
        name: "vault deposit: zero receiver",
        call: (f) => V(f).connect(f.actors.lp).deposit(u(1), ZERO),
        by: V,
        error: "ERC20InvalidReceiver",
        args: async () => [ZERO],
      },
      {
        name: "vault deposit: one unit more than the caller holds",
        call: async (f) =>
          V(f)
            .connect(f.actors.carol)
            .deposit((await f.base.erc20.balanceOf(f.actors.carol.address)) + 1n, f.actors.carol.address),
        by: (f) => f.base.token!,
        error: "ERC20InsufficientBalance",
        args: async (f) => {
          const held = await f.base.erc20.balanceOf(f.actors.carol.address);
          return [f.actors.carol.address, held, held + 1n];
        },
      },
      {
        name: "vault mint: max uint shares",
        call: (f) => V(f).connect(f.actors.carol).mint(MAX, f.actors.carol.address),
        by: V,
        error: "ERC4626ExceededMaxMint",
        args: async (f) => [f.actors.carol.address, MAX, (1n << 128n) - 1n],
      },
      {
        name: "vault withdraw: max uint",
        call: (f) => V(f).connect(f.actors.lp).withdraw(MAX, f.actors.lp.address, f.actors.lp.address),
        by: V,
        error: "ERC4626ExceededMaxWithdraw",
        args: async (f) => [f.actors.lp.address, MAX, await V(f).maxWithdraw(f.actors.lp.address)],
      },
      {
        name: "vault withdraw: one unit more than maxWithdraw",
        call: async (f) =>
          V(f)
            .connect(f.actors.lp)
            .withdraw(
              (await V(f).maxWithdraw(f.actors.lp.address)) + 1n,
              f.actors.lp.address,
              f.actors.lp.address,
            ),
        by: V,
        error: "ERC4626ExceededMaxWithdraw",
        args: async (f) => {
          const most = await V(f).maxWithdraw(f.actors.lp.address);
          return [f.actors.lp.address, most + 1n, most];
        },
      },
      {
        name: "vault redeem: max uint",
        call: (f) => V(f).connect(f.actors.lp).redeem(MAX, f.actors.lp.address, f.actors.lp.address),
        by: V,
        error: "ERC4626ExceededMaxRedeem",
        args: async (f) => [f.actors.lp.address, MAX, await V(f).maxRedeem(f.actors.lp.address)],
      },
      {
        name: "vault redeem: one share by an address without shares",
        call: (f) =>
          V(f).connect(f.actors.stranger).redeem(1, f.actors.stranger.address, f.actors.stranger.address),
        by: V,
        error: "ERC4626ExceededMaxRedeem",
        args: async (f) => [f.actors.stranger.address, 1n, 0n],
      },
      {
        name: "vault withdraw: one unit by an address without shares",
        call: (f) =>
          V(f).connect(f.actors.stranger).withdraw(1, f.actors.stranger.address, f.actors.stranger.address),
        by: V,
        error: "ERC4626ExceededMaxWithdraw",
        args: async (f) => [f.actors.stranger.address, 1n, 0n],
      },
    ]);

    const zeros: [string, (f: HostileFixture) => Promise<unknown>][] = [
      ["deposit(0)", (f) => V(f).connect(f.actors.lp).deposit(0, f.actors.lp.address)],
      ["mint(0)", (f) => V(f).connect(f.actors.lp).mint(0, f.actors.lp.address)],
      ["withdraw(0)", (f) => V(f).connect(f.actors.lp).withdraw(0, f.actors.lp.address, f.actors.lp.address)],
      ["redeem(0)", (f) => V(f).connect(f.actors.lp).redeem(0, f.actors.lp.address, f.actors.lp.address)],
    ];
    for (const [name, call] of zeros) {
      it(`vault ${name}: a no-op under the ERC-4626 convention (no revert, no shares, no assets moved)`, async () => {
        const f = await loadHostile();
        await expectNoOp(f, () => call(f));
      });
    }

    it("vault deposit: dust (1 base unit) mints the previewed shares, more than zero", async () => {
      const f = await loadHostile();
      const { carol } = f.actors;
      const shares = await V(f).previewDeposit(1);
      expect(shares).to.be.gt(0n);
      await expect(V(f).connect(carol).deposit(1, carol.address))
        .to.emit(V(f), "Deposit")
        .withArgs(carol.address, carol.address, 1n, shares);
    });

    it("vault redeem: dust (1 share) pays nothing, rounded down in the vault's favour, and burns the share", async () => {
      const f = await loadHostile();
      const { lp } = f.actors;
      expect(await V(f).previewRedeem(1)).to.equal(0n);
      const shares = await V(f).balanceOf(lp.address);
      const [capital] = await P(f).pool();
      await expect(V(f).connect(lp).redeem(1, lp.address, lp.address))
        .to.emit(V(f), "Withdraw")
        .withArgs(lp.address, lp.address, lp.address, 0n, 1n);
      expect(await V(f).balanceOf(lp.address)).to.equal(shares - 1n);
      expect((await P(f).pool())[0]).to.equal(capital);
    });
  });

  describe("inputs near 2^255 / int128 max get a custom error, not an arithmetic panic (regressions)", () => {
    // These reverted with Panic(0x11) before the fixes: modifyPosition casts sizeDelta to int128 first,
    // depositMargin adds in int256 and casts the sum, and the vault caps maxDeposit / maxMint at 2^128 - 1
    // (ERC4626ExceededMaxDeposit).
    it("modifyPosition: sizeDelta = int256 max overflows oldSize + delta: now a custom error, state unchanged (was Panic(0x11))", async () => {
      const f = await loadHostile();
      await expectCustomErrorUnchanged(f, () =>
        P(f).connect(f.actors.alice).modifyPosition(f.ETH, MAX_I256, MAX),
      );
    });

    it("modifyPosition: sizeDelta = int256 min overflows: now a custom error, state unchanged (was Panic(0x11))", async () => {
      const f = await loadHostile();
      await expectCustomErrorUnchanged(f, () =>
        P(f).connect(f.actors.alice).modifyPosition(f.ETH, MIN_I256, 0),
      );
    });

    it("depositMargin: 2^127 - 1 onto an account with margin overflows the int128 sum: now a custom error, state unchanged (was Panic(0x11))", async () => {
      const f = await loadHostile();
      await expectCustomErrorUnchanged(f, () =>
        P(f)
          .connect(f.actors.alice)
          .depositMargin(I128 - 1n, f.actors.alice.address),
      );
    });

    it("vault deposit: max uint overflows the share conversion (OpenZeppelin's mulDiv): now a custom error, state unchanged (was Panic(0x11))", async () => {
      const f = await loadHostile();
      await expectCustomErrorUnchanged(f, () =>
        V(f).connect(f.actors.carol).deposit(MAX, f.actors.carol.address),
      );
    });
  });
});
