/**
 * Reentrancy: every external entry point of LendingMarket and InsuranceFund that moves tokens is guarded.
 *
 * The hostile token (contracts/mocks/ReentrantToken.sol) is armed with a target and calldata: its next
 * transfer first calls the target (as an ERC777-style hook would) and bubbles up that call's revert, then
 * disarms. Both contracts use OpenZeppelin's ReentrancyGuardTransient, so a re-entered guarded function
 * reverts with ReentrancyGuardReentrantCall() and, the revert being bubbled, so does the outer call.
 *
 * Every case below checks four things:
 *  1. the outer call reverts with ReentrancyGuardReentrantCall, raised by the contract whose guard is held;
 *  2. nothing changed: the market's totals, bad-debt ledger, params and positions, the fund's totals and
 *     stakes, and every token balance involved;
 *  3. once disarmed, the very same call goes through, so the revert came from the re-entry alone;
 *  4. (the controls) each re-entry payload succeeds when the token fires it outside a guarded call, so it
 *     is the guard, not a bad payload, that stops it. The hostile token is given what it needs for that: a
 *     supply position, collateral, approvals (which it grants itself from its own hook), base tokens and,
 *     for the admin functions, the market's admin role.
 *
 * "The Nth transfer" is reached by having the token's hook re-arm the token itself (see `arm`), e.g. the
 * return of a listing probe, or the recourse repayment that follows a supply's own transfer.
 */
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { BaseContract, ContractTransactionResponse } from "ethers";

import { localConfig, NegativeBalancePolicy, type SystemConfig } from "../../deploy/config";
import { deploySystem, type System } from "../../deploy/deploySystem";
import { toUnits, wad } from "../../deploy/units";
import type {
  InsuranceFund,
  LendingMarket,
  MockAggregator,
  MockERC20,
  ReentrantToken,
} from "../../typechain-types";
import { setPrice } from "../helpers/feeds";

const GUARD = "ReentrancyGuardReentrantCall";
const MAX = ethers.MaxUint256;
const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;
/** Base (6 decimals) units. */
const u = (v: number | string) => toUnits(v, 6);
/** 18-decimal token units. */
const e18 = (v: number | string) => toUnits(v, 18);

/* ARMING */

/**
 * Arms `token` so that its `nth` transfer from now first calls `target` with `data`. For nth > 1 the hook
 * of each earlier transfer calls the token's own `arm` with the next stage, and lets that transfer through.
 */
async function arm(token: ReentrantToken, target: string, data: string, nth = 1) {
  const self = await token.getAddress();
  let [t, d] = [target, data];
  for (let i = 1; i < nth; i++) {
    d = token.interface.encodeFunctionData("arm", [t, d]);
    t = self;
  }
  await (await token.arm(t, d)).wait();
}

async function disarm(token: ReentrantToken) {
  await (await token.arm(ethers.ZeroAddress, "0x")).wait();
}

/** What the token is armed with. */
async function armedTarget(token: ReentrantToken): Promise<string> {
  return token.hookTarget();
}

/** A re-entry: the contract the token calls, with what, and which transfer of the outer call fires it. */
interface Hook {
  target: string;
  data: string;
  nth?: number;
}

/**
 * Arms the token with `hook`, asserts `call` reverts with ReentrancyGuardReentrantCall raised by `guard`
 * and that `state` is unchanged, then disarms and asserts the same call succeeds.
 */
async function expectGuarded(args: {
  token: ReentrantToken;
  hook: Hook;
  call: () => Promise<ContractTransactionResponse>;
  guard: BaseContract;
  state: () => Promise<unknown>;
}) {
  const { token, hook, call, guard, state } = args;
  await arm(token, hook.target, hook.data, hook.nth ?? 1);
  const before = await state();
  await expect(call()).to.be.revertedWithCustomError(guard, GUARD);
  expect(await state(), "state after the reverted call").to.deep.equal(before);
  // The revert rolled back the disarm too: the token is still armed until told otherwise.
  await disarm(token);
  await expect(call(), "the same call without the re-entry").to.not.be.reverted;
}

/** A plain transfer between two EOAs: fires whatever the token is armed with, outside any guarded call. */
async function fireHook(token: ReentrantToken, holder: HardhatEthersSigner) {
  return token.connect(holder).transfer(holder.address, 0n);
}

/* FIXTURE 1: A REENTRANT BASE TOKEN */

interface BaseCtx {
  f: System;
  rt: ReentrantToken;
  rtAddr: string;
  market: LendingMarket;
  marketAddr: string;
  fund: InsuranceFund;
  fundAddr: string;
  weth: MockERC20;
  admin: HardhatEthersSigner;
  alice: HardhatEthersSigner;
  bob: HardhatEthersSigner;
  keeper: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  carol: HardhatEthersSigner;
  /** An EOA registered with the fund as a market: calls cover and recordRecourse directly. */
  eoaMarket: HardhatEthersSigner;
  /** Owes the fund u(500) of recourse debt (recorded by eoaMarket), and holds a u(1,000) supply. */
  dave: HardhatEthersSigner;
  /** Calldata a hook may carry; each succeeds outside a guarded call (see the controls). */
  calls: Record<string, Hook>;
  state: () => Promise<unknown>;
}

async function buildReentrantBase(policy?: NegativeBalancePolicy): Promise<BaseCtx> {
  const [admin, alice, keeper, stranger, bob, carol, eoaMarket, dave] = await ethers.getSigners();
  const rt = await (await ethers.getContractFactory("ReentrantToken", admin)).deploy(6);
  await rt.waitForDeployment();
  const rtAddr = await rt.getAddress();

  const config: SystemConfig = localConfig({ base: { address: rtAddr } });
  if (policy !== undefined) config.lending = { ...config.lending!, negativeBalancePolicy: policy };
  const f = await deploySystem(hre, config);
  const market = f.lending!.market;
  const marketAddr = await market.getAddress();
  const fund = f.insuranceFund;
  const fundAddr = await fund.getAddress();
  const weth = f.assets.WETH.token!;

  // Suppliers: alice, and a position alice opens for the hostile token itself (so that a re-entered
  // withdraw would otherwise succeed); dave supplies too.
  for (const [who, amount] of [
    [alice, u(111_000)],
    [dave, u(2_000)],
    [keeper, u(100_000)],
    [bob, u(5_000)],
    [stranger, u(5_000)],
  ] as const) {
    await rt.mint(who.address, amount);
    await rt.connect(who).approve(marketAddr, MAX);
    await rt.connect(who).approve(fundAddr, MAX);
  }
  await market.connect(alice).supply(u(100_000), alice.address);
  await market.connect(alice).supply(u(1_000), rtAddr);
  await market.connect(dave).supply(u(1_000), dave.address);

  // A borrower at the top of its capacity: 10 WETH at 3,000, ltv 0.8, 24,000 borrowed.
  await weth.mint(bob.address, e18(11)); // one more for the borrow tests
  await weth.connect(bob).approve(marketAddr, MAX);
  await market.connect(bob).supplyCollateral(await weth.getAddress(), e18(10), bob.address);
  await market.connect(bob).borrow(u(24_000), bob.address);

  // The fund: carol stakes; an EOA registered as a market records a recourse debt for dave.
  await rt.mint(carol.address, u(5_000));
  await rt.connect(carol).approve(fundAddr, MAX);
  await fund.connect(carol).stake(u(5_000), carol.address);
  await fund.connect(admin).setMarket(eoaMarket.address, true);
  await fund.connect(eoaMarket).recordRecourse(dave.address, u(500));

  // The hostile token: base tokens of its own, approvals it grants itself from its own hook, and the
  // market's admin role (so that a re-entered admin function gets past onlyRole to the guard).
  await rt.mint(rtAddr, u(1_000));
  for (const spender of [marketAddr, fundAddr]) {
    await rt.arm(rtAddr, rt.interface.encodeFunctionData("approve", [spender, MAX]));
    await fireHook(rt, admin);
  }
  await market.connect(admin).grantRole(DEFAULT_ADMIN_ROLE, rtAddr);

  // A day of interest, so that there are reserves to sweep; then fresh feeds at the same prices.
  await time.increase(86_400);
  await setPrice(f.assets.WETH, 3000);
  await setPrice(f.assets.WBTC, 60000);
  await setPrice(f.assets.EURC, "1.08");
  await market.accrueInterest();

  const m = market.interface;
  const fi = fund.interface;
  const p = await market.params();
  const params = {
    borrowCap: p.borrowCap,
    minBorrow: p.minBorrow,
    reserveFactor: p.reserveFactor,
    protocolShare: p.protocolShare,
    smallPosition: p.smallPosition,
    marginCallHealth: p.marginCallHealth,
  };
  const rateModelAddr = await f.lending!.rateModel.getAddress();
  const calls: Record<string, Hook> = {
    accrueInterest: { target: marketAddr, data: m.encodeFunctionData("accrueInterest") },
    supply: { target: marketAddr, data: m.encodeFunctionData("supply", [u(1), rtAddr]) },
    withdraw: { target: marketAddr, data: m.encodeFunctionData("withdraw", [u(1), rtAddr]) },
    repay: { target: marketAddr, data: m.encodeFunctionData("repay", [u(1), bob.address]) },
    checkMarginCall: { target: marketAddr, data: m.encodeFunctionData("checkMarginCall", [bob.address]) },
    sweepReserves: { target: marketAddr, data: m.encodeFunctionData("sweepReserves") },
    setRateModel: { target: marketAddr, data: m.encodeFunctionData("setRateModel", [rateModelAddr]) },
    setMarketParams: { target: marketAddr, data: m.encodeFunctionData("setMarketParams", [params]) },
    topUp: { target: fundAddr, data: fi.encodeFunctionData("topUp", [1]) },
    stake: { target: fundAddr, data: fi.encodeFunctionData("stake", [u(1), rtAddr]) },
  };

  const accounts = [alice, bob, keeper, stranger, carol, eoaMarket, dave].map((s) => s.address);
  const holders = [...accounts, marketAddr, fundAddr, rtAddr];
  const state = async () => {
    const [supplyAssets, supplyShares, borrowAssets, borrowShares, reserves] = await market.totals();
    const bd = await market.badDebt();
    const positions: Record<string, bigint[]> = {};
    for (const a of [...accounts, rtAddr]) {
      const v = await market.accountView(a);
      positions[a] = [v.supplyShares, v.borrowShares, await market.collateralOf(a, await weth.getAddress())];
    }
    const fundState: Record<string, unknown> = {
      totalShares: await fund.totalShares(),
      epoch: await fund.epoch(),
      totalPaid: await fund.totalPaid(),
      totalRecovered: await fund.totalRecovered(),
      totalRecourseDebt: await fund.totalRecourseDebt(),
    };
    for (const a of [...accounts, rtAddr]) {
      fundState[`shares:${a}`] = await fund.sharesOf(a);
      fundState[`request:${a}`] = [...(await fund.unstakeRequest(a))];
      fundState[`recourse:${a}`] = await fund.recourseDebt(a);
    }
    const balances: Record<string, bigint[]> = {};
    for (const h of holders) balances[h] = [await rt.balanceOf(h), await weth.balanceOf(h)];
    return {
      totals: { supplyAssets, supplyShares, borrowAssets, borrowShares, reserves },
      badDebt: [...bd],
      params: [...(await market.params())],
      rateModel: await market.rateModel(),
      positions,
      fund: fundState,
      balances,
    };
  };

  return {
    f,
    rt,
    rtAddr,
    market,
    marketAddr,
    fund,
    fundAddr,
    weth,
    admin,
    alice,
    bob,
    keeper,
    stranger,
    carol,
    eoaMarket,
    dave,
    calls,
    state,
  };
}

async function reentrantBaseFixture() {
  return buildReentrantBase();
}
async function reentrantBaseRecourseFixture() {
  return buildReentrantBase(NegativeBalancePolicy.RECOURSE);
}

/* FIXTURE 2: A REENTRANT COLLATERAL TOKEN */

const COLLATERAL_PARAMS = {
  ltv: wad(0.5),
  liquidationThreshold: wad(0.6),
  liquidationBonus: wad(0.05),
  supplyCap: e18(1_000),
};
const PROBE = 10n ** 16n;

interface CollateralCtx {
  f: System;
  market: LendingMarket;
  marketAddr: string;
  usdc: MockERC20;
  /** The listed reentrant collateral, priced at 3,000 by `feed`. */
  rc: ReentrantToken;
  rcAddr: string;
  feed: MockAggregator;
  /** A second reentrant token, priced in the router, probe minted and approved, not yet listed. */
  rc2: ReentrantToken;
  rc2Addr: string;
  admin: HardhatEthersSigner;
  alice: HardhatEthersSigner;
  bob: HardhatEthersSigner;
  keeper: HardhatEthersSigner;
  calls: Record<string, Hook>;
  state: () => Promise<unknown>;
}

async function deployPricedReentrant(f: System, admin: HardhatEthersSigner) {
  const token = await (await ethers.getContractFactory("ReentrantToken", admin)).deploy(18);
  await token.waitForDeployment();
  const feed = await (
    await ethers.getContractFactory("MockAggregator", admin)
  ).deploy(8, 3000n * 10n ** 8n, "R");
  await feed.waitForDeployment();
  await f.router.connect(admin).setAssetConfig(await token.getAddress(), {
    primaryFeed: await feed.getAddress(),
    primaryHeartbeat: 3600,
    fallbackFeed: ethers.ZeroAddress,
    fallbackHeartbeat: 0,
    confirmWindow: 600,
    minPrice: wad(1),
    maxPrice: wad(1e6),
    maxDeviation: wad(0.2),
    maxDivergence: wad(0.02),
  });
  return { token, feed };
}

async function reentrantCollateralFixture(): Promise<CollateralCtx> {
  const [admin, alice, keeper, , bob] = await ethers.getSigners();
  const f = await deploySystem(hre, localConfig());
  const market = f.lending!.market;
  const marketAddr = await market.getAddress();
  const usdc = f.base.token!;

  const { token: rc, feed } = await deployPricedReentrant(f, admin);
  const rcAddr = await rc.getAddress();
  await rc.mint(admin.address, PROBE);
  await rc.connect(admin).approve(marketAddr, PROBE);
  await market.connect(admin).listCollateral(rcAddr, COLLATERAL_PARAMS, PROBE);

  const { token: rc2 } = await deployPricedReentrant(f, admin);
  const rc2Addr = await rc2.getAddress();
  await rc2.mint(admin.address, PROBE);
  await rc2.connect(admin).approve(marketAddr, PROBE);

  // Liquidity, and a keeper funded to liquidate.
  for (const [who, amount] of [
    [alice, u(100_000)],
    [keeper, u(100_000)],
  ] as const) {
    await usdc.mint(who.address, amount);
    await usdc.connect(who).approve(marketAddr, MAX);
  }
  await market.connect(alice).supply(u(100_000), alice.address);

  // A borrower near the top of its capacity: 10 R at 3,000, ltv 0.5 (15,000), 14,900 borrowed. Bob also
  // posts 1 R on behalf of the hostile token (so that a re-entered withdrawCollateral would otherwise work).
  await rc.mint(bob.address, e18(20));
  await rc.connect(bob).approve(marketAddr, MAX);
  await market.connect(bob).supplyCollateral(rcAddr, e18(10), bob.address);
  await market.connect(bob).supplyCollateral(rcAddr, e18(1), rcAddr);
  await market.connect(bob).borrow(u(14_900), bob.address);

  const m = market.interface;
  const calls: Record<string, Hook> = {
    accrueInterest: { target: marketAddr, data: m.encodeFunctionData("accrueInterest") },
    checkMarginCall: { target: marketAddr, data: m.encodeFunctionData("checkMarginCall", [bob.address]) },
    withdrawCollateral: {
      target: marketAddr,
      data: m.encodeFunctionData("withdrawCollateral", [rcAddr, e18(0.1), rcAddr]),
    },
  };

  const accounts = [admin, alice, bob, keeper].map((s) => s.address);
  const holders = [...accounts, marketAddr, rcAddr, rc2Addr];
  const state = async () => {
    const [supplyAssets, supplyShares, borrowAssets, borrowShares, reserves] = await market.totals();
    const positions: Record<string, bigint[]> = {};
    for (const a of [...accounts, rcAddr]) {
      const v = await market.accountView(a);
      positions[a] = [v.supplyShares, v.borrowShares, await market.collateralOf(a, rcAddr)];
    }
    const balances: Record<string, bigint[]> = {};
    for (const h of holders)
      balances[h] = [await usdc.balanceOf(h), await rc.balanceOf(h), await rc2.balanceOf(h)];
    return {
      totals: { supplyAssets, supplyShares, borrowAssets, borrowShares, reserves },
      badDebt: [...(await market.badDebt())],
      collaterals: [...(await market.collateralTokens())],
      rcSupplied: (await market.collateralConfig(rcAddr)).totalSupplied,
      positions,
      balances,
    };
  };

  return {
    f,
    market,
    marketAddr,
    usdc,
    rc,
    rcAddr,
    feed,
    rc2,
    rc2Addr,
    admin,
    alice,
    bob,
    keeper,
    calls,
    state,
  };
}

/* TESTS */

describe("Reentrancy guards", () => {
  describe("a reentrant base token", () => {
    const load = () => loadFixture(reentrantBaseFixture);

    it("control: every re-entry payload used below succeeds when the token fires it outside a guarded call", async () => {
      const c = await load();
      const { rt, market, fund, stranger } = c;
      // The token bubbles up any revert of its hook: a transfer that goes through proves the call succeeded.
      const events: Record<string, [BaseContract, string]> = {
        accrueInterest: [market, "AccrueInterest"],
        supply: [market, "Supply"],
        withdraw: [market, "Withdraw"],
        repay: [market, "Repay"],
        checkMarginCall: [market, "MarginCall"], // bob's health is below the 1.1 warning
        sweepReserves: [market, "ReservesSwept"],
        setRateModel: [market, "RateModelSet"],
        setMarketParams: [market, "MarketParamsSet"],
        topUp: [fund, "InsuranceToppedUp"],
        stake: [fund, "Staked"],
      };
      expect(Object.keys(events).sort()).to.deep.equal(Object.keys(c.calls).sort());
      for (const [name, hook] of Object.entries(c.calls)) {
        await arm(rt, hook.target, hook.data);
        const [contract, event] = events[name];
        await expect(fireHook(rt, stranger), name).to.emit(contract, event);
        expect(await armedTarget(rt), `${name}: the hook fired and the token disarmed`).to.equal(
          ethers.ZeroAddress,
        );
      }
    });

    describe("LendingMarket", () => {
      it("supply: a base token that re-enters withdraw during the transfer reverts the whole supply with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await expectGuarded({
          token: c.rt,
          hook: c.calls.withdraw,
          call: () => c.market.connect(c.alice).supply(u(100), c.alice.address),
          guard: c.market,
          state: c.state,
        });
      });

      it("supply: a base token that re-enters supply itself during the transfer reverts the whole supply with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await expectGuarded({
          token: c.rt,
          hook: c.calls.supply,
          call: () => c.market.connect(c.alice).supply(u(100), c.alice.address),
          guard: c.market,
          state: c.state,
        });
      });

      it("supply: a base token that re-enters accrueInterest during the transfer reverts the whole supply with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await expectGuarded({
          token: c.rt,
          hook: c.calls.accrueInterest,
          call: () => c.market.connect(c.alice).supply(u(100), c.alice.address),
          guard: c.market,
          state: c.state,
        });
      });

      it("supply: a base token that re-enters checkMarginCall during the transfer reverts the whole supply with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await expectGuarded({
          token: c.rt,
          hook: c.calls.checkMarginCall,
          call: () => c.market.connect(c.alice).supply(u(100), c.alice.address),
          guard: c.market,
          state: c.state,
        });
      });

      it("supply: a base token holding the admin role that re-enters setRateModel during the transfer reverts the whole supply with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await expectGuarded({
          token: c.rt,
          hook: c.calls.setRateModel,
          call: () => c.market.connect(c.alice).supply(u(100), c.alice.address),
          guard: c.market,
          state: c.state,
        });
      });

      it("supply: a base token holding the admin role that re-enters setMarketParams during the transfer reverts the whole supply with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await expectGuarded({
          token: c.rt,
          hook: c.calls.setMarketParams,
          call: () => c.market.connect(c.alice).supply(u(100), c.alice.address),
          guard: c.market,
          state: c.state,
        });
      });

      it("supply: a base token that re-enters sweepReserves during the transfer reverts the whole supply with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await expectGuarded({
          token: c.rt,
          hook: c.calls.sweepReserves,
          call: () => c.market.connect(c.alice).supply(u(100), c.alice.address),
          guard: c.market,
          state: c.state,
        });
      });

      it("withdraw: a base token that re-enters withdraw during the payout reverts the whole withdrawal with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await expectGuarded({
          token: c.rt,
          hook: c.calls.withdraw,
          call: () => c.market.connect(c.alice).withdraw(u(1_000), c.alice.address),
          guard: c.market,
          state: c.state,
        });
      });

      it("withdraw: a base token that re-enters supply during the payout reverts the whole withdrawal with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await expectGuarded({
          token: c.rt,
          hook: c.calls.supply,
          call: () => c.market.connect(c.alice).withdraw(u(1_000), c.alice.address),
          guard: c.market,
          state: c.state,
        });
      });

      it("borrow: a base token that re-enters repay during the payout reverts the whole borrow with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        // Room to borrow: one more WETH (2,400 of capacity).
        await c.market.connect(c.bob).supplyCollateral(c.f.assets.WETH.address, e18(1), c.bob.address);
        await expectGuarded({
          token: c.rt,
          hook: c.calls.repay,
          call: () => c.market.connect(c.bob).borrow(u(100), c.bob.address),
          guard: c.market,
          state: c.state,
        });
      });

      it("borrow: a base token that re-enters withdraw during the payout reverts the whole borrow with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        // Room to borrow: one more WETH (2,400 of capacity).
        await c.market.connect(c.bob).supplyCollateral(c.f.assets.WETH.address, e18(1), c.bob.address);
        await expectGuarded({
          token: c.rt,
          hook: c.calls.withdraw,
          call: () => c.market.connect(c.bob).borrow(u(100), c.bob.address),
          guard: c.market,
          state: c.state,
        });
      });

      it("repay: a base token that re-enters withdraw during the transfer reverts the whole repayment with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await expectGuarded({
          token: c.rt,
          hook: c.calls.withdraw,
          call: () => c.market.connect(c.bob).repay(u(1_000), c.bob.address),
          guard: c.market,
          state: c.state,
        });
      });

      it("repay: a base token that re-enters repay itself during the transfer reverts the whole repayment with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await expectGuarded({
          token: c.rt,
          hook: c.calls.repay,
          call: () => c.market.connect(c.bob).repay(u(1_000), c.bob.address),
          guard: c.market,
          state: c.state,
        });
      });

      it("liquidate: a base token that re-enters withdraw while the liquidator pays reverts the whole liquidation with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await setPrice(c.f.assets.WETH, 2800); // health 28,000 x 0.85 / 24,000+ < 1
        await expectGuarded({
          token: c.rt,
          hook: c.calls.withdraw,
          call: () => c.market.connect(c.keeper).liquidate(c.bob.address, c.f.assets.WETH.address, u(1_000)),
          guard: c.market,
          state: c.state,
        });
      });

      it("liquidate: a base token that re-enters liquidate itself while the liquidator pays reverts the whole liquidation with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await setPrice(c.f.assets.WETH, 2800);
        const again = c.market.interface.encodeFunctionData("liquidate", [
          c.bob.address,
          c.f.assets.WETH.address,
          u(1_000),
        ]);
        await expectGuarded({
          token: c.rt,
          hook: { target: c.marketAddr, data: again },
          call: () => c.market.connect(c.keeper).liquidate(c.bob.address, c.f.assets.WETH.address, u(1_000)),
          guard: c.market,
          state: c.state,
        });
      });

      it("liquidate: on an insolvent borrower, a base token that re-enters the market while the insurance fund pays the deficit in reverts the whole liquidation with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await setPrice(c.f.assets.WETH, 1300); // 13,000 of collateral against 24,000+ of debt
        // The fund's payout (inside cover, inside liquidate) is the first base transfer.
        await expectGuarded({
          token: c.rt,
          hook: c.calls.accrueInterest,
          call: () => c.market.connect(c.keeper).liquidate(c.bob.address, c.f.assets.WETH.address, MAX),
          guard: c.market,
          state: c.state,
        });
        const bd = await c.market.badDebt();
        expect(bd.deficit, "the retried liquidation did realise a deficit").to.be.gt(0n);
      });

      it("liquidate: on an insolvent borrower, a base token that re-enters the fund (topUp) while the fund pays the deficit in reverts the whole liquidation with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await setPrice(c.f.assets.WETH, 1300);
        await expectGuarded({
          token: c.rt,
          hook: c.calls.topUp,
          call: () => c.market.connect(c.keeper).liquidate(c.bob.address, c.f.assets.WETH.address, MAX),
          guard: c.fund,
          state: c.state,
        });
      });

      it("sweepReserves: a base token that re-enters the market (withdraw) while the fund pulls the reserves reverts the sweep with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        const [, , , , reserves] = await c.market.totals();
        expect(reserves, "reserves to sweep").to.be.gt(0n);
        await expectGuarded({
          token: c.rt,
          hook: c.calls.withdraw,
          call: () => c.market.connect(c.stranger).sweepReserves(),
          guard: c.market,
          state: c.state,
        });
      });

      it("sweepReserves: a base token that re-enters the fund (stake) while the fund pulls the reserves reverts the sweep with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await expectGuarded({
          token: c.rt,
          hook: c.calls.stake,
          call: () => c.market.connect(c.stranger).sweepReserves(),
          guard: c.fund,
          state: c.state,
        });
      });
    });

    describe("InsuranceFund", () => {
      it("cover: a base token that re-enters topUp while the fund pays the market reverts the whole cover with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await expectGuarded({
          token: c.rt,
          hook: c.calls.topUp,
          call: () => c.fund.connect(c.eoaMarket).cover(u(1_000)),
          guard: c.fund,
          state: c.state,
        });
      });

      it("cover: a base token that re-enters stake while the fund pays the market reverts the whole cover with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await expectGuarded({
          token: c.rt,
          hook: c.calls.stake,
          call: () => c.fund.connect(c.eoaMarket).cover(u(1_000)),
          guard: c.fund,
          state: c.state,
        });
      });

      it("topUp: a base token that re-enters stake during the transfer reverts the whole top-up with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await expectGuarded({
          token: c.rt,
          hook: c.calls.stake,
          call: () => c.fund.connect(c.stranger).topUp(u(100)),
          guard: c.fund,
          state: c.state,
        });
      });

      it("topUp: a base token that re-enters topUp itself during the transfer reverts the whole top-up with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await expectGuarded({
          token: c.rt,
          hook: c.calls.topUp,
          call: () => c.fund.connect(c.stranger).topUp(u(100)),
          guard: c.fund,
          state: c.state,
        });
      });

      it("repayRecourse: a base token that re-enters topUp during the transfer reverts the whole repayment with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        expect(await c.fund.recourseDebt(c.dave.address)).to.equal(u(500));
        await expectGuarded({
          token: c.rt,
          hook: c.calls.topUp,
          call: () => c.fund.connect(c.dave).repayRecourse(c.dave.address, u(200)),
          guard: c.fund,
          state: c.state,
        });
      });

      it("stake: a base token that re-enters topUp during the transfer reverts the whole stake with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await expectGuarded({
          token: c.rt,
          hook: c.calls.topUp,
          call: () => c.fund.connect(c.stranger).stake(u(1_000), c.stranger.address),
          guard: c.fund,
          state: c.state,
        });
      });

      it("stake: a base token that re-enters stake itself during the transfer reverts the whole stake with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await expectGuarded({
          token: c.rt,
          hook: c.calls.stake,
          call: () => c.fund.connect(c.stranger).stake(u(1_000), c.stranger.address),
          guard: c.fund,
          state: c.state,
        });
      });

      it("stake: paying off a recourse debt, a base token that re-enters topUp during the transfer reverts the whole stake with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await expectGuarded({
          token: c.rt,
          hook: c.calls.topUp,
          call: () => c.fund.connect(c.dave).stake(u(800), c.dave.address),
          guard: c.fund,
          state: c.state,
        });
      });

      it("unstake: a base token that re-enters stake while the fund pays the staker out reverts the whole unstake with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await c.fund.connect(c.carol).requestUnstake(await c.fund.sharesOf(c.carol.address));
        await time.increase(7 * 86_400);
        await expectGuarded({
          token: c.rt,
          hook: c.calls.stake,
          call: () => c.fund.connect(c.carol).unstake(c.carol.address),
          guard: c.fund,
          state: c.state,
        });
      });

      it("unstake: a base token that re-enters topUp while the fund pays the staker out reverts the whole unstake with ReentrancyGuardReentrantCall", async () => {
        const c = await load();
        await c.fund.connect(c.carol).requestUnstake(await c.fund.sharesOf(c.carol.address));
        await time.increase(7 * 86_400);
        await expectGuarded({
          token: c.rt,
          hook: c.calls.topUp,
          call: () => c.fund.connect(c.carol).unstake(c.carol.address),
          guard: c.fund,
          state: c.state,
        });
      });
    });
  });

  describe("a reentrant base token, RECOURSE policy (the market repays recourse debt through the fund)", () => {
    const load = () => loadFixture(reentrantBaseRecourseFixture);

    it("control: dave's supply and withdrawal route part of the money to the fund as a recourse repayment", async () => {
      const c = await load();
      await expect(c.market.connect(c.dave).supply(u(100), c.dave.address))
        .to.emit(c.fund, "RecourseRepaid")
        .withArgs(c.dave.address, c.marketAddr, u(100), u(400));
      await expect(c.market.connect(c.dave).withdraw(u(300), c.dave.address))
        .to.emit(c.fund, "RecourseRepaid")
        .withArgs(c.dave.address, c.marketAddr, u(300), u(100));
    });

    it("supply: a base token that re-enters the market on the second transfer (the market paying the fund, both guards held) reverts the whole supply with ReentrancyGuardReentrantCall", async () => {
      const c = await load();
      await expectGuarded({
        token: c.rt,
        hook: { ...c.calls.accrueInterest, nth: 2 },
        call: () => c.market.connect(c.dave).supply(u(800), c.dave.address),
        guard: c.market,
        state: c.state,
      });
    });

    it("supply: a base token that re-enters the fund on the second transfer (the market paying the fund, both guards held) reverts the whole supply with ReentrancyGuardReentrantCall", async () => {
      const c = await load();
      await expectGuarded({
        token: c.rt,
        hook: { ...c.calls.topUp, nth: 2 },
        call: () => c.market.connect(c.dave).supply(u(800), c.dave.address),
        guard: c.fund,
        state: c.state,
      });
    });

    it("withdraw: a base token that re-enters withdraw on the second transfer (the recourse repayment to the fund) reverts the whole withdrawal with ReentrancyGuardReentrantCall", async () => {
      const c = await load();
      await expectGuarded({
        token: c.rt,
        hook: { ...c.calls.withdraw, nth: 2 },
        call: () => c.market.connect(c.dave).withdraw(u(800), c.dave.address),
        guard: c.market,
        state: c.state,
      });
    });

    it("withdraw: a base token that re-enters the fund (stake) on the second transfer (the recourse repayment to the fund) reverts the whole withdrawal with ReentrancyGuardReentrantCall", async () => {
      const c = await load();
      await expectGuarded({
        token: c.rt,
        hook: { ...c.calls.stake, nth: 2 },
        call: () => c.market.connect(c.dave).withdraw(u(800), c.dave.address),
        guard: c.fund,
        state: c.state,
      });
    });
  });

  describe("a reentrant collateral token", () => {
    const load = () => loadFixture(reentrantCollateralFixture);

    it("control: every re-entry payload used below succeeds when the token fires it outside a guarded call", async () => {
      const c = await load();
      const { rc, market, bob } = c;
      // The token bubbles up any revert of its hook: a transfer that goes through proves the call succeeded.
      const events: Record<string, string | undefined> = {
        accrueInterest: "AccrueInterest",
        checkMarginCall: undefined, // bob is above the warning: nothing to emit
        withdrawCollateral: "WithdrawCollateral",
      };
      expect(Object.keys(events).sort()).to.deep.equal(Object.keys(c.calls).sort());
      for (const [name, hook] of Object.entries(c.calls)) {
        await arm(rc, hook.target, hook.data);
        const tx = fireHook(rc, bob);
        const event = events[name];
        if (event) await expect(tx, name).to.emit(market, event);
        else await expect(tx, name).to.not.be.reverted;
        expect(await armedTarget(rc), `${name}: the hook fired and the token disarmed`).to.equal(
          ethers.ZeroAddress,
        );
      }
      expect(
        await market.collateralOf(c.rcAddr, c.rcAddr),
        "the token withdrew from its own position",
      ).to.equal(e18(0.9));
    });

    it("supplyCollateral: a collateral token that re-enters withdrawCollateral during the transfer reverts the whole deposit with ReentrancyGuardReentrantCall", async () => {
      const c = await load();
      await expectGuarded({
        token: c.rc,
        hook: c.calls.withdrawCollateral,
        call: () => c.market.connect(c.bob).supplyCollateral(c.rcAddr, e18(1), c.bob.address),
        guard: c.market,
        state: c.state,
      });
    });

    it("supplyCollateral: a collateral token that re-enters accrueInterest during the transfer reverts the whole deposit with ReentrancyGuardReentrantCall", async () => {
      const c = await load();
      await expectGuarded({
        token: c.rc,
        hook: c.calls.accrueInterest,
        call: () => c.market.connect(c.bob).supplyCollateral(c.rcAddr, e18(1), c.bob.address),
        guard: c.market,
        state: c.state,
      });
    });

    it("withdrawCollateral: a collateral token that re-enters withdrawCollateral during the payout reverts the whole withdrawal with ReentrancyGuardReentrantCall", async () => {
      const c = await load();
      await expectGuarded({
        token: c.rc,
        hook: c.calls.withdrawCollateral,
        call: () => c.market.connect(c.bob).withdrawCollateral(c.rcAddr, e18(0.01), c.bob.address),
        guard: c.market,
        state: c.state,
      });
    });

    it("withdrawCollateral: a collateral token that re-enters checkMarginCall during the payout reverts the whole withdrawal with ReentrancyGuardReentrantCall", async () => {
      const c = await load();
      await expectGuarded({
        token: c.rc,
        hook: c.calls.checkMarginCall,
        call: () => c.market.connect(c.bob).withdrawCollateral(c.rcAddr, e18(0.01), c.bob.address),
        guard: c.market,
        state: c.state,
      });
    });

    it("liquidate: a collateral token that re-enters withdrawCollateral while the seized collateral is paid out reverts the whole liquidation with ReentrancyGuardReentrantCall", async () => {
      const c = await load();
      await c.feed.setPrice(2450n * 10n ** 8n); // -18.3%: 24,500 x 0.6 = 14,700 < 14,900+
      await expectGuarded({
        token: c.rc,
        hook: c.calls.withdrawCollateral,
        call: () => c.market.connect(c.keeper).liquidate(c.bob.address, c.rcAddr, u(1_000)),
        guard: c.market,
        state: c.state,
      });
    });

    it("liquidate: a collateral token that re-enters liquidate itself while the seized collateral is paid out reverts the whole liquidation with ReentrancyGuardReentrantCall", async () => {
      const c = await load();
      await c.feed.setPrice(2450n * 10n ** 8n);
      const again = c.market.interface.encodeFunctionData("liquidate", [c.bob.address, c.rcAddr, u(1_000)]);
      await expectGuarded({
        token: c.rc,
        hook: { target: c.marketAddr, data: again },
        call: () => c.market.connect(c.keeper).liquidate(c.bob.address, c.rcAddr, u(1_000)),
        guard: c.market,
        state: c.state,
      });
    });

    it("listCollateral: a token that re-enters accrueInterest while the probe is pulled in reverts the whole listing with ReentrancyGuardReentrantCall", async () => {
      const c = await load();
      await expectGuarded({
        token: c.rc2,
        hook: c.calls.accrueInterest,
        call: () => c.market.connect(c.admin).listCollateral(c.rc2Addr, COLLATERAL_PARAMS, PROBE),
        guard: c.market,
        state: c.state,
      });
      expect([...(await c.market.collateralTokens())], "listed on the retry").to.include(c.rc2Addr);
    });

    it("listCollateral: a token that re-enters checkMarginCall while the probe is sent back reverts the whole listing with ReentrancyGuardReentrantCall", async () => {
      const c = await load();
      await expectGuarded({
        token: c.rc2,
        hook: { ...c.calls.checkMarginCall, nth: 2 },
        call: () => c.market.connect(c.admin).listCollateral(c.rc2Addr, COLLATERAL_PARAMS, PROBE),
        guard: c.market,
        state: c.state,
      });
    });
  });
});
