/**
 * Every gated function of every contract called by someone without the right: a stranger (no role), and a
 * pause guardian (PAUSE_GUARDIAN_ROLE on the lending market and the perps engine: it may pause and halt,
 * nothing else). Each call reverts with the contract's own error, AccessControlUnauthorizedAccount(caller,
 * role), NotRegisteredMarket, NotVault, NotOrderOwner, AccessControlBadConfirmation (renouncing for
 * someone else) or ERC20InsufficientAllowance (the vault's shares moved or redeemed for their owner),
 * with a full digest (test/hostile/digest.ts: every view, every account's roles on every contract, the
 * vault-share allowances) the same before and after.
 *
 * The table is checked for completeness against the ABIs: every non-view function of OracleRouter,
 * LendingMarket, KinkedRateModel, InsuranceFund, PerpMarket and LiquidityVault is either in the table or
 * in the list of functions anyone may call, so that a new admin function cannot go untested.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { BaseContract, Interface } from "ethers";

import { wad } from "../../deploy/units";
import {
  ADMIN_ROLE,
  digest,
  e18,
  expectRevertUnchanged,
  GUARDIAN_ROLE,
  lendingParamsOf,
  loadHostile,
  oracleConfigOf,
  perpGlobalsOf,
  perpParamsOf,
  u,
  type ErrorSource,
  type HostileFixture,
} from "./digest";

type Name =
  "OracleRouter" | "LendingMarket" | "KinkedRateModel" | "InsuranceFund" | "PerpMarket" | "LiquidityVault";

interface Gated {
  contract: Name;
  /** The function's name in the ABI. */
  fn: string;
  /** A label when one function has several rows. */
  label?: string;
  call: (f: HostileFixture, who: HardhatEthersSigner) => Promise<unknown>;
  /** Run by the admin before the digest is read (e.g. pause, so that unpausing can be tried). */
  setup?: (f: HostileFixture) => Promise<unknown>;
  /** The error, its source and its arguments (default: AccessControlUnauthorizedAccount(who, admin role)). */
  error?: (f: HostileFixture, who: HardhatEthersSigner) => Promise<[ErrorSource, string, unknown[]]>;
  /** Whether a pause guardian may call it (it then succeeds for the guardian). */
  guardianMay?: boolean;
}

const handle: Record<Name, (f: HostileFixture) => BaseContract> = {
  OracleRouter: (f) => f.router,
  LendingMarket: (f) => f.lending!.market,
  KinkedRateModel: (f) => f.lending!.rateModel,
  InsuranceFund: (f) => f.insuranceFund,
  PerpMarket: (f) => f.perps!.market,
  LiquidityVault: (f) => f.perps!.vault,
};

/** Functions anyone may call (their hostile inputs are in the other files of this suite). */
const OPEN: Record<Name, string[]> = {
  OracleRouter: ["price", "priceFor"],
  LendingMarket: [
    "supply",
    "withdraw",
    "supplyCollateral",
    "withdrawCollateral",
    "borrow",
    "repay",
    "liquidate",
    "accrueInterest",
    "sweepReserves",
    "checkMarginCall",
  ],
  KinkedRateModel: [],
  InsuranceFund: ["topUp", "repayRecourse", "stake", "requestUnstake", "unstake"],
  PerpMarket: [
    "depositMargin",
    "withdrawMargin",
    "modifyPosition",
    "closePosition",
    "placeOrder",
    "executeOrder",
    "liquidate",
    "adl",
    "sweepFees",
  ],
  LiquidityVault: ["approve", "transfer", "deposit", "mint"],
};

/** grantRole, revokeRole and renounceRole of an AccessControl contract. */
function roleRows(contract: Name): Gated[] {
  const c = (f: HostileFixture) =>
    handle[contract](f) as unknown as {
      connect(s: HardhatEthersSigner): {
        grantRole(r: string, a: string): Promise<unknown>;
        revokeRole(r: string, a: string): Promise<unknown>;
        renounceRole(r: string, a: string): Promise<unknown>;
      };
    };
  return [
    { contract, fn: "grantRole", call: (f, who) => c(f).connect(who).grantRole(ADMIN_ROLE, who.address) },
    {
      contract,
      fn: "revokeRole",
      call: (f, who) => c(f).connect(who).revokeRole(ADMIN_ROLE, f.actors.admin.address),
    },
    {
      contract,
      fn: "renounceRole",
      label: "renounceRole (for the admin)",
      call: (f, who) => c(f).connect(who).renounceRole(ADMIN_ROLE, f.actors.admin.address),
      error: async (f) => [handle[contract](f), "AccessControlBadConfirmation", []],
    },
  ];
}

const WETH_COLLATERAL = {
  ltv: wad(0.1),
  liquidationThreshold: wad(0.85),
  liquidationBonus: wad(0.05),
  supplyCap: e18(100_000),
};

const TABLE: Gated[] = [
  /* ORACLE ROUTER */
  {
    contract: "OracleRouter",
    fn: "setAssetConfig",
    call: async (f, who) =>
      f.router.connect(who).setAssetConfig(f.assets.WETH.address, {
        ...(await oracleConfigOf(f, f.assets.WETH.address)),
        maxDeviation: wad(0.5),
      }),
  },
  {
    contract: "OracleRouter",
    fn: "setSequencer",
    call: (f, who) => f.router.connect(who).setSequencer(ethers.ZeroAddress, 60),
  },
  {
    contract: "OracleRouter",
    fn: "setSuspectPolicy",
    call: (f, who) => f.router.connect(who).setSuspectPolicy(1),
  },
  ...roleRows("OracleRouter"),

  /* LENDING MARKET */
  {
    contract: "LendingMarket",
    fn: "listCollateral",
    call: (f, who) =>
      f.lending!.market.connect(who).listCollateral(f.perps!.vault.target, WETH_COLLATERAL, 1),
  },
  {
    contract: "LendingMarket",
    fn: "setCollateralParams",
    call: (f, who) =>
      f.lending!.market.connect(who).setCollateralParams(f.assets.WETH.address, WETH_COLLATERAL),
  },
  {
    contract: "LendingMarket",
    fn: "setMarketParams",
    call: async (f, who) =>
      f.lending!.market.connect(who).setMarketParams({ ...(await lendingParamsOf(f)), borrowCap: 0 }),
  },
  {
    contract: "LendingMarket",
    fn: "setRateModel",
    call: (f, who) => f.lending!.market.connect(who).setRateModel(who.address),
  },
  {
    contract: "LendingMarket",
    fn: "setPaused",
    label: "setPaused(true)",
    call: (f, who) => f.lending!.market.connect(who).setPaused(true),
    guardianMay: true,
  },
  {
    contract: "LendingMarket",
    fn: "setPaused",
    label: "setPaused(false) while paused",
    setup: (f) => f.lending!.market.connect(f.actors.admin).setPaused(true),
    call: (f, who) => f.lending!.market.connect(who).setPaused(false),
  },
  ...roleRows("LendingMarket"),

  /* RATE MODEL */
  {
    contract: "KinkedRateModel",
    fn: "setCurve",
    call: (f, who) => f.lending!.rateModel.connect(who).setCurve(wad(1), 0, 0, wad(0.5)),
  },
  ...roleRows("KinkedRateModel"),

  /* INSURANCE FUND */
  {
    contract: "InsuranceFund",
    fn: "cover",
    call: (f, who) => f.insuranceFund.connect(who).cover(u(1_000)),
    error: async (f, who) => [f.insuranceFund, "NotRegisteredMarket", [who.address]],
  },
  {
    contract: "InsuranceFund",
    fn: "recordRecourse",
    call: (f, who) => f.insuranceFund.connect(who).recordRecourse(f.actors.alice.address, u(1_000)),
    error: async (f, who) => [f.insuranceFund, "NotRegisteredMarket", [who.address]],
  },
  {
    contract: "InsuranceFund",
    fn: "setMarket",
    call: (f, who) => f.insuranceFund.connect(who).setMarket(who.address, true),
  },
  {
    contract: "InsuranceFund",
    fn: "setCooldown",
    call: (f, who) => f.insuranceFund.connect(who).setCooldown(86_400, 3_600),
  },
  ...roleRows("InsuranceFund"),

  /* PERPS ENGINE */
  {
    contract: "PerpMarket",
    fn: "lpDeposit",
    call: (f, who) => f.perps!.market.connect(who).lpDeposit(u(1_000)),
    error: async (f, who) => [f.perps!.market, "NotVault", [who.address]],
  },
  {
    contract: "PerpMarket",
    fn: "lpWithdraw",
    call: (f, who) => f.perps!.market.connect(who).lpWithdraw(u(1_000), who.address),
    error: async (f, who) => [f.perps!.market, "NotVault", [who.address]],
  },
  {
    contract: "PerpMarket",
    fn: "cancelOrder",
    label: "cancelOrder (someone else's)",
    call: (f, who) => f.perps!.market.connect(who).cancelOrder(f.orderId),
    error: async (f) => [f.perps!.market, "NotOrderOwner", [f.orderId, f.actors.alice.address]],
  },
  {
    contract: "PerpMarket",
    fn: "listMarket",
    call: async (f, who) =>
      f.perps!.market.connect(who).listMarket(f.assets.EURC.address, await perpParamsOf(f, 0)),
  },
  {
    contract: "PerpMarket",
    fn: "setMarketParams",
    call: async (f, who) =>
      f.perps!.market.connect(who).setMarketParams(f.ETH, {
        ...(await perpParamsOf(f, f.ETH)),
        maxLongOI: 0,
      }),
  },
  {
    contract: "PerpMarket",
    fn: "setGlobalParams",
    call: async (f, who) =>
      f.perps!.market.connect(who).setGlobalParams({ ...(await perpGlobalsOf(f)), orderKeeperFee: 0 }),
  },
  {
    contract: "PerpMarket",
    fn: "setHalted",
    label: "setHalted(true)",
    call: (f, who) => f.perps!.market.connect(who).setHalted(f.ETH, true),
    guardianMay: true,
  },
  {
    contract: "PerpMarket",
    fn: "setHalted",
    label: "setHalted(false) while halted",
    setup: (f) => f.perps!.market.connect(f.actors.admin).setHalted(f.ETH, true),
    call: (f, who) => f.perps!.market.connect(who).setHalted(f.ETH, false),
  },
  {
    contract: "PerpMarket",
    fn: "delistMarket",
    call: (f, who) => f.perps!.market.connect(who).delistMarket(f.ETH),
  },
  {
    contract: "PerpMarket",
    fn: "setVault",
    call: (f, who) => f.perps!.market.connect(who).setVault(who.address),
  },
  {
    contract: "PerpMarket",
    fn: "setPaused",
    label: "setPaused(true)",
    call: (f, who) => f.perps!.market.connect(who).setPaused(true),
    guardianMay: true,
  },
  {
    contract: "PerpMarket",
    fn: "setPaused",
    label: "setPaused(false) while paused",
    setup: (f) => f.perps!.market.connect(f.actors.admin).setPaused(true),
    call: (f, who) => f.perps!.market.connect(who).setPaused(false),
  },
  ...roleRows("PerpMarket"),

  /* THE VAULT: shares move only with their owner's allowance */
  {
    contract: "LiquidityVault",
    fn: "transferFrom",
    label: "transferFrom (the LP's shares, no allowance)",
    call: (f, who) => f.perps!.vault.connect(who).transferFrom(f.actors.lp.address, who.address, 10n ** 6n),
    error: async (f, who) => [f.perps!.vault, "ERC20InsufficientAllowance", [who.address, 0n, 10n ** 6n]],
  },
  {
    contract: "LiquidityVault",
    fn: "withdraw",
    label: "withdraw (for the LP, no allowance)",
    call: (f, who) => f.perps!.vault.connect(who).withdraw(u(1), who.address, f.actors.lp.address),
    error: async (f, who) => [
      f.perps!.vault,
      "ERC20InsufficientAllowance",
      [who.address, 0n, await f.perps!.vault.previewWithdraw(u(1))],
    ],
  },
  {
    contract: "LiquidityVault",
    fn: "redeem",
    label: "redeem (for the LP, no allowance)",
    call: (f, who) => f.perps!.vault.connect(who).redeem(10n ** 6n, who.address, f.actors.lp.address),
    error: async (f, who) => [f.perps!.vault, "ERC20InsufficientAllowance", [who.address, 0n, 10n ** 6n]],
  },
];

/** The non-view functions of an ABI. */
function mutating(iface: Interface): string[] {
  const names: string[] = [];
  iface.forEachFunction((fn) => {
    if (fn.stateMutability !== "view" && fn.stateMutability !== "pure") names.push(fn.name);
  });
  return [...new Set(names)].sort();
}

/** Runs a row for `who` with a full digest, expecting its error. */
async function refused(f: HostileFixture, row: Gated, who: HardhatEthersSigner) {
  if (row.setup) await row.setup(f);
  const [by, error, args] = row.error
    ? await row.error(f, who)
    : [handle[row.contract](f), "AccessControlUnauthorizedAccount", [who.address, ADMIN_ROLE]];
  await expectRevertUnchanged(
    { ...f, scope: { ...f.scope, full: true } },
    () => row.call(f, who),
    by,
    error,
    args,
  );
}

describe("hostile inputs: the digest itself", () => {
  it("sees a one-unit change anywhere: a supply, a top-up, margin, a vault deposit, a token transfer, a price, a role, an allowance", async () => {
    const f = await loadHostile();
    const { alice, bob, stranger, admin } = f.actors;
    const full = { ...f.scope, full: true };
    const changes: [string, () => Promise<unknown>][] = [
      ["lending supply of 1 unit", () => f.lending!.market.connect(alice).supply(1, alice.address)],
      ["fund top-up of 1 unit", () => f.insuranceFund.connect(alice).topUp(1)],
      ["perps margin of 1 unit", () => f.perps!.market.connect(alice).depositMargin(1, alice.address)],
      ["vault deposit of 1 unit", () => f.perps!.vault.connect(alice).deposit(1, alice.address)],
      [
        "1 sat of WBTC between two accounts",
        () => f.assets.WBTC.token!.connect(alice).transfer(bob.address, 1),
      ],
      [
        "WBTC's feed up by one unit",
        () => f.assets.WBTC.primaryFeed.mock!.setPrice(60_000n * 10n ** 8n + 1n),
      ],
      ["a role granted", () => f.perps!.market.connect(admin).grantRole(GUARDIAN_ROLE, stranger.address)],
      ["a vault-share allowance", () => f.perps!.vault.connect(alice).approve(stranger.address, 1)],
    ];
    let before = await digest(f, full);
    for (const [name, change] of changes) {
      await change();
      const after = await digest(f, full);
      expect(after, name).to.not.deep.equal(before);
      before = after;
    }
  });
});

describe("hostile inputs: every gated function called by someone without the right", () => {
  it("the table covers every non-view function of every contract that anyone may not call", async () => {
    const f = await loadHostile();
    for (const name of Object.keys(handle) as Name[]) {
      const gated = mutating(handle[name](f).interface).filter((fn) => !OPEN[name].includes(fn));
      const inTable = [...new Set(TABLE.filter((r) => r.contract === name).map((r) => r.fn))].sort();
      expect(inTable, `${name}: gated functions in the table`).to.deep.equal(gated);
      for (const fn of OPEN[name])
        expect(mutating(handle[name](f).interface), `${name}.${fn}`).to.include(fn);
    }
  });

  describe("a stranger", () => {
    for (const row of TABLE) {
      it(`${row.contract}.${row.label ?? row.fn} by a stranger: refused, state unchanged`, async () => {
        const f = await loadHostile();
        await refused(f, row, f.actors.stranger);
      });
    }
  });

  describe("a pause guardian (PAUSE_GUARDIAN_ROLE on the lending market and the perps engine)", () => {
    it("may pause the lending market and halt and pause the perps engine (evented), and is refused every other gated function of both, state unchanged", async () => {
      const f = await loadHostile();
      const guardian = f.actors.keeper;
      await f.lending!.market.grantRole(GUARDIAN_ROLE, guardian.address);
      await f.perps!.market.grantRole(GUARDIAN_ROLE, guardian.address);
      // Elsewhere the guardian is a stranger like any other (the table above).
      const gatedHere = TABLE.filter(
        (r) => !r.guardianMay && (r.contract === "LendingMarket" || r.contract === "PerpMarket"),
      );
      for (const row of gatedHere) await refused(f, row, guardian);
      await expect(f.lending!.market.connect(guardian).setPaused(true))
        .to.emit(f.lending!.market, "PausedSet")
        .withArgs(true);
      await expect(f.perps!.market.connect(guardian).setHalted(f.ETH, true))
        .to.emit(f.perps!.market, "MarketStatusSet")
        .withArgs(f.ETH, 1, 0);
      await expect(f.perps!.market.connect(guardian).setPaused(true))
        .to.emit(f.perps!.market, "PausedSet")
        .withArgs(true);
    });
  });
});
