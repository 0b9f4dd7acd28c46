/**
 * Reentrancy: the perps entry points that move tokens and that the existing suites do not use as the outer
 * call. test/risk/reentrancy.test.ts covers every token-moving entry point of LendingMarket and the
 * InsuranceFund; test/perps/reentrancy.test.ts re-enters every guarded perps and vault function from
 * depositMargin's and vault.deposit's own transfer. Here the outer call is each of the others: a margin
 * withdrawal, an order execution (the keeper's fee), a liquidation (the keeper's fee), the fee sweep (the
 * fund's pull from the engine, with both guards held), and the vault's mint, withdraw and redeem.
 *
 * The base asset is contracts/mocks/ReentrantToken.sol: once armed, its next transfer first calls a target
 * and bubbles up that call's revert. Each case expects ReentrancyGuardReentrantCall from the contract whose
 * guard is held, a digest of every view (test/hostile/digest.ts) equal before and after, and then, the
 * token disarmed, the very same outer call to succeed (so the revert came from the re-entry alone).
 */
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";

import { localConfig } from "../../deploy/config";
import { deploySystem } from "../../deploy/deploySystem";
import { wad } from "../../deploy/units";
import type { ReentrantToken } from "../../typechain-types";
import { e18, expectRevertUnchanged, MAX, u, type DigestScope, type ErrorSource } from "./digest";

const GUARD = "ReentrancyGuardReentrantCall";

/**
 * The local system over a ReentrantToken base. The LP deposits 1,000,000. alice (10,000 margin, long 1 ETH,
 * a stop-loss at 2,900) and bob (200 margin, long 1 ETH) face carol (100,000 margin, short 2 ETH): the
 * market is balanced (no funding drift). ETH then falls to 2,870: alice's stop is triggered and bob is
 * below his maintenance margin.
 */
async function fixture() {
  const [admin, lp, alice, bob, carol, keeper] = await ethers.getSigners();
  const rt = (await (await ethers.getContractFactory("ReentrantToken", admin)).deploy(6)) as ReentrantToken;
  const rtAddr = await rt.getAddress();
  const s = await deploySystem(hre, localConfig({ base: { address: rtAddr } }));
  const perp = s.perps!.market;
  const vault = s.perps!.vault;
  const ETH = s.perps!.marketIds.WETH;
  await s.lending!.rateModel.setCurve(0, 0, 0, wad(0.8));
  for (const who of [lp, alice, bob, carol, keeper]) {
    await rt.mint(who.address, u(10_000_000));
    for (const c of [perp, vault, s.insuranceFund]) await rt.connect(who).approve(c.target, MAX);
  }
  await vault.connect(lp).deposit(u(1_000_000), lp.address);
  await perp.connect(alice).depositMargin(u(10_000), alice.address);
  await perp.connect(bob).depositMargin(u(200), bob.address);
  await perp.connect(carol).depositMargin(u(100_000), carol.address);
  await perp.connect(alice).modifyPosition(ETH, e18(1), MAX);
  await perp.connect(bob).modifyPosition(ETH, e18(1), MAX);
  await perp.connect(carol).modifyPosition(ETH, -e18(2), 0);
  await perp.connect(alice).placeOrder(ETH, true, e18(1), wad(2_900), false, 0);
  const orderId = await perp.lastOrderId();
  await s.assets.WETH.primaryFeed.mock!.setPrice(2_870n * 10n ** 8n);
  await s.assets.WETH.fallbackFeed!.mock!.setPrice(e18(2_870));
  const scope: DigestScope = { accounts: [admin, lp, alice, bob, carol, keeper].map((a) => a.address) };
  return { f: { ...s, scope }, rt, rtAddr, perp, vault, ETH, orderId, lp, alice, bob, carol, keeper };
}

type Ctx = Awaited<ReturnType<typeof fixture>>;
const load = () => loadFixture(fixture);

interface Case {
  name: string;
  outer: (c: Ctx) => Promise<unknown>;
  /** The contract the token re-enters, and with what. */
  target: (c: Ctx) => { to: string; data: string };
  /** The contract whose guard is held and raises the error. */
  guard: (c: Ctx) => ErrorSource;
  /** Checked after the disarmed outer call went through. */
  done: (c: Ctx) => Promise<unknown>;
}

const depositMargin = (c: Ctx) => ({
  to: c.perp.target as string,
  data: c.perp.interface.encodeFunctionData("depositMargin", [u(1), c.rtAddr]),
});
const vaultDeposit = (c: Ctx) => ({
  to: c.vault.target as string,
  data: c.vault.interface.encodeFunctionData("deposit", [u(1), c.rtAddr]),
});

const cases: Case[] = [
  {
    name: "withdrawMargin: the payout re-enters perp.depositMargin",
    outer: (c) => c.perp.connect(c.carol).withdrawMargin(u(1_000), c.carol.address),
    target: depositMargin,
    guard: (c) => c.perp,
    done: async (c) => expect((await c.perp.marginOf(c.carol.address)).margin).to.be.lt(u(100_000) - u(999)),
  },
  {
    name: "executeOrder: the keeper's fee re-enters perp.depositMargin",
    outer: (c) => c.perp.connect(c.keeper).executeOrder(c.orderId),
    target: depositMargin,
    guard: (c) => c.perp,
    done: async (c) => expect((await c.perp.positionView(c.alice.address, c.ETH)).size).to.equal(0n),
  },
  {
    name: "liquidate: the keeper's fee re-enters perp.withdrawMargin",
    outer: (c) => c.perp.connect(c.keeper).liquidate(c.bob.address),
    target: (c) => ({
      to: c.perp.target as string,
      data: c.perp.interface.encodeFunctionData("withdrawMargin", [u(1), c.rtAddr]),
    }),
    guard: (c) => c.perp,
    done: async (c) => expect((await c.perp.positionView(c.bob.address, c.ETH)).size).to.equal(0n),
  },
  {
    name: "sweepFees: the fund's pull from the engine re-enters perp.depositMargin (the engine's guard)",
    outer: (c) => c.perp.connect(c.keeper).sweepFees(),
    target: depositMargin,
    guard: (c) => c.perp,
    done: async (c) => expect((await c.perp.pool())[1]).to.equal(0n),
  },
  {
    name: "sweepFees: the fund's pull from the engine re-enters fund.stake (the fund's guard)",
    outer: (c) => c.perp.connect(c.keeper).sweepFees(),
    target: (c) => ({
      to: c.f.insuranceFund.target as string,
      data: c.f.insuranceFund.interface.encodeFunctionData("stake", [u(1), c.rtAddr]),
    }),
    guard: (c) => c.f.insuranceFund,
    done: async (c) => expect((await c.perp.pool())[1]).to.equal(0n),
  },
  {
    name: "vault mint: the caller's payment re-enters vault.deposit",
    outer: (c) => c.vault.connect(c.carol).mint(10n ** 12n, c.carol.address),
    target: vaultDeposit,
    guard: (c) => c.vault,
    done: async (c) => expect(await c.vault.balanceOf(c.carol.address)).to.equal(10n ** 12n),
  },
  {
    name: "vault withdraw: the engine's payout re-enters perp.depositMargin (the engine's guard)",
    outer: (c) => c.vault.connect(c.lp).withdraw(u(1_000), c.lp.address, c.lp.address),
    target: depositMargin,
    guard: (c) => c.perp,
    done: async (c) => expect(await c.vault.balanceOf(c.lp.address)).to.be.lt(u(1_000_000) * 10n ** 6n),
  },
  {
    name: "vault withdraw: the engine's payout re-enters vault.deposit (the vault's guard)",
    outer: (c) => c.vault.connect(c.lp).withdraw(u(1_000), c.lp.address, c.lp.address),
    target: vaultDeposit,
    guard: (c) => c.vault,
    done: async (c) => expect(await c.vault.balanceOf(c.lp.address)).to.be.lt(u(1_000_000) * 10n ** 6n),
  },
  {
    name: "vault redeem: the engine's payout re-enters vault.mint",
    outer: (c) => c.vault.connect(c.lp).redeem(10n ** 12n, c.lp.address, c.lp.address),
    target: (c) => ({
      to: c.vault.target as string,
      data: c.vault.interface.encodeFunctionData("mint", [1n, c.rtAddr]),
    }),
    guard: (c) => c.vault,
    done: async (c) =>
      expect(await c.vault.balanceOf(c.lp.address)).to.equal(u(1_000_000) * 10n ** 6n - 10n ** 12n),
  },
];

describe("hostile inputs: a reentrant base token against the perps entry points not covered elsewhere", () => {
  for (const k of cases) {
    it(`${k.name}: reverts with ${GUARD}, state unchanged; the same call goes through disarmed`, async () => {
      const c = await load();
      const { to, data } = k.target(c);
      await c.rt.arm(to, data);
      await expectRevertUnchanged(c.f, () => k.outer(c), k.guard(c), GUARD);
      // The revert rolled back the token's own disarming: it is still armed until told otherwise.
      expect(await c.rt.hookTarget()).to.equal(to);
      await c.rt.arm(ethers.ZeroAddress, "0x");
      await expect(k.outer(c)).to.not.be.reverted;
      await k.done(c);
    });
  }

  it("control: the payloads succeed when the token fires them outside a guarded call (it is the guard that stops them)", async () => {
    const c = await load();
    // The token needs tokens and approvals of its own to deposit: it grants them from its own hook.
    await c.rt.mint(c.rtAddr, u(10));
    for (const spender of [c.perp.target, c.vault.target, c.f.insuranceFund.target]) {
      await c.rt.arm(c.rtAddr, c.rt.interface.encodeFunctionData("approve", [spender, MAX]));
      await c.rt.connect(c.keeper).transfer(c.keeper.address, 0);
    }
    await c.perp.connect(c.lp).depositMargin(u(1), c.rtAddr);
    const payloads: [string, { to: string; data: string }, string][] = [
      ["perp.depositMargin", depositMargin(c), "MarginDeposited"],
      ["perp.withdrawMargin", cases[2].target(c), "MarginWithdrawn"],
      ["fund.stake", cases[4].target(c), "Staked"],
      ["vault.deposit", vaultDeposit(c), "Deposit"],
      ["vault.mint", cases[8].target(c), "Deposit"],
    ];
    const contracts = [c.perp, c.vault, c.f.insuranceFund];
    for (const [name, { to, data }, event] of payloads) {
      await c.rt.arm(to, data);
      const emitter = contracts.find((x) => x.target === to)!;
      await expect(c.rt.connect(c.keeper).transfer(c.keeper.address, 0), name).to.emit(emitter, event);
    }
  });
});
