/**
 * Shared helpers of the hostile-inputs suite (test/hostile/*.test.ts):
 * - `digest`: every view that says what Ballast holds and owes, read into one plain object (bigints,
 *   strings, booleans, nested arrays) that chai can compare with deep equality: lending totals, params,
 *   collaterals, bad debt and every tracked account's position; the insurance fund's books, stakes,
 *   requests and recourse ledger; the perps engine's pool, bad debt, parameters, markets, orders and every
 *   tracked account's margin and positions; the vault's assets, supply and shares; the oracle's last good,
 *   pending and current prices and configuration; the rate model's curve; the balance of every token held
 *   by every tracked address and contract; and, in a `full` digest, the roles of the tracked accounts on
 *   every contract and the vault-share allowances each shareholder gave them.
 * - `expectRevertUnchanged`: a hostile call reverts with the custom error (and arguments), it was mined,
 *   and the digest is the same before and after; `expectNoOp` for documented no-ops;
 *   `expectCustomErrorUnchanged` for inputs that must get some custom error (not a panic).
 * - `hostileSystem` / `loadHostile`: the local system (lending + perps) with live positions everywhere
 *   and no time drift in its views (a flat zero rate curve; a balanced perp market, so its funding rate
 *   is zero), so that a digest read before a call equals one read after it whenever nothing happened.
 */
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { Contract, type BaseContract } from "ethers";

import { localConfig } from "../../deploy/config";
import { deploySystem, type System } from "../../deploy/deploySystem";
import { toUnits, wad } from "../../deploy/units";
import { IERC20Metadata__factory, type IERC20Metadata } from "../../typechain-types";

const ERC20 = new Contract(ethers.ZeroAddress, IERC20Metadata__factory.abi, ethers.provider);

export const MAX = ethers.MaxUint256;
export const ADMIN_ROLE = ethers.ZeroHash;
export const GUARDIAN_ROLE = ethers.id("PAUSE_GUARDIAN_ROLE");
/** Base (USDC, 6 decimals) units. */
export const u = (v: number | string) => toUnits(v, 6);
export const e18 = (v: number | string) => toUnits(v, 18);
export const e8 = (v: number | string) => toUnits(v, 8);

/** A decoded ethers Result (or any nested value) as plain arrays, for deep equality. */
export function plain(x: unknown): unknown {
  if (Array.isArray(x)) return [...x].map(plain);
  return x;
}

/** What `digest` reads beyond the system's own contracts. */
export interface DigestScope {
  /** Accounts whose positions, stakes, roles and balances are read. */
  accounts: string[];
  /** Further addresses whose token balances are read (the system's contracts are always read). */
  holders?: string[];
  /** Tokens beyond the base asset and the listed assets whose balances are read. */
  tokens?: string[];
  /** Also read every account's roles on every contract and the vault-share allowances from every
   * shareholder (what only an admin, or an approval, changes: the access-control tests read them). */
  full?: boolean;
}

async function settle<T>(p: Promise<T>): Promise<T | string> {
  try {
    return await p;
  } catch (e) {
    // A view that reverts (e.g. an unknown asset) is part of the state too: record that it reverts.
    return `reverts: ${(e as Error).message.slice(0, 80)}`;
  }
}

/** Resolves every value of `o` concurrently (promises or plain values) into plain values. */
async function all(o: Record<string, unknown>): Promise<Record<string, unknown>> {
  const keys = Object.keys(o);
  const values = await Promise.all(keys.map((k) => o[k]));
  return Object.fromEntries(keys.map((k, i) => [k, plain(values[i])]));
}

/** `f` over `xs`, concurrently. */
const each = <T>(xs: T[], f: (x: T) => Promise<unknown>) => Promise.all(xs.map(f));

/** Every relevant view of the system, as one comparable object (see the file's comment). */
export async function digest(s: System, scope: DigestScope): Promise<Record<string, unknown>> {
  const accounts = [...scope.accounts];
  const full = scope.full ?? false;
  /** Role and allowance reads, only in a full digest. */
  const roles = (f: () => Promise<unknown>) => (full ? f() : null);
  const assets = Object.values(s.assets);
  const fund = s.insuranceFund;
  const holders = [...accounts, ...(scope.holders ?? []), fund.target as string];
  if (s.lending) holders.push(s.lending.market.target as string);
  if (s.perps) holders.push(s.perps.market.target as string, s.perps.vault.target as string);

  const oracle = async () =>
    all({
      suspectPolicy: s.router.suspectPolicy(),
      sequencer: s.router.sequencer(),
      assets: each(assets, (a) =>
        all({
          asset: a.address,
          config: s.router.assetConfig(a.address),
          lastGood: s.router.lastGoodPrice(a.address),
          pending: s.router.pendingPrice(a.address),
          peek: settle(s.router.peek(a.address)),
        }),
      ),
      roles: roles(() => each(accounts, (a) => s.router.hasRole(ADMIN_ROLE, a))),
    });

  const insurance = async () =>
    all({
      totalAssets: fund.totalAssets(),
      totalShares: fund.totalShares(),
      epoch: fund.epoch(),
      cooldown: fund.cooldown(),
      unstakeWindow: fund.unstakeWindow(),
      totalRecourseDebt: fund.totalRecourseDebt(),
      totalPaid: fund.totalPaid(),
      totalRecovered: fund.totalRecovered(),
      accounts: each(accounts, (a) =>
        all({
          shares: fund.sharesOf(a),
          request: fund.unstakeRequest(a),
          recourse: fund.recourseDebt(a),
          isMarket: fund.isMarket(a),
          admin: roles(() => fund.hasRole(ADMIN_ROLE, a)),
        }),
      ),
    });

  const lending = async () => {
    if (!s.lending) return null;
    const m = s.lending.market;
    const rm = s.lending.rateModel;
    const tokens = await m.collateralTokens();
    return all({
      totals: m.totals(),
      utilisation: m.utilisation(),
      badDebt: m.badDebt(),
      params: m.params(),
      paused: m.paused(),
      rateModel: m.rateModel(),
      curve: rm.curve(),
      curveRoles: roles(() => each(accounts, (a) => rm.hasRole(ADMIN_ROLE, a))),
      collaterals: each([...tokens], async (t) => plain(await m.collateralConfig(t))),
      accounts: each(accounts, (a) =>
        all({
          view: m.accountView(a),
          collateral: each([...tokens], (t) => m.collateralOf(a, t)),
          admin: roles(() => m.hasRole(ADMIN_ROLE, a)),
          guardian: roles(() => m.hasRole(GUARDIAN_ROLE, a)),
        }),
      ),
    });
  };

  const perps = async () => {
    if (!s.perps) return null;
    const p = s.perps.market;
    const v = s.perps.vault;
    const ids = [...Array(Number(await p.marketCount())).keys()];
    const orders = [...Array(Number(await p.lastOrderId()) + 1).keys()];
    return all({
      pool: p.pool(),
      badDebt: p.badDebt(),
      totalAdlHaircut: p.totalAdlHaircut(),
      globalParams: p.globalParams(),
      paused: p.paused(),
      vault: p.vault(),
      lpAssets: p.lpAssets(),
      lpWithdrawable: p.lpWithdrawable(),
      markets: each(ids, (i) =>
        all({ view: p.marketView(i), sidePnl: p.sidePnl(i), fill: p.fillPrice(i, e18(1)) }),
      ),
      orders: each(orders, async (o) => plain(await p.order(o))),
      accounts: each(accounts, (a) =>
        all({
          margin: p.marginOf(a),
          view: p.accountView(a),
          positions: each(ids, async (i) => plain(await p.positionView(a, i))),
          admin: roles(() => p.hasRole(ADMIN_ROLE, a)),
          guardian: roles(() => p.hasRole(GUARDIAN_ROLE, a)),
        }),
      ),
      vaultTotalAssets: v.totalAssets(),
      vaultTotalSupply: v.totalSupply(),
      vaultShares: each(accounts, (a) => v.balanceOf(a)),
      // What each shareholder has allowed each account to take (an allowance on no shares moves nothing).
      vaultAllowances: roles(() =>
        each(accounts, async (a) =>
          (await v.balanceOf(a)) === 0n ? null : each(accounts, (b) => v.allowance(a, b)),
        ),
      ),
    });
  };

  const balances = async () => {
    const tokenAddrs = [s.base.address, ...assets.map((a) => a.address), ...(scope.tokens ?? [])];
    return each(tokenAddrs, async (t) => {
      const erc20 = ERC20.attach(t) as IERC20Metadata;
      return [t, await each(holders, (h) => erc20.balanceOf(h))];
    });
  };

  return all({
    oracle: oracle(),
    fund: insurance(),
    lending: lending(),
    perps: perps(),
    balances: balances(),
  });
}

const cache = new Map<string, Record<string, unknown>>();

/** The digest at the latest block, cached by block hash (a loadFixture snapshot is read once). */
export async function digestNow(s: System, scope: DigestScope): Promise<Record<string, unknown>> {
  const hit = cache.get(await cacheKey(scope));
  return hit ?? digestFresh(s, scope);
}

/** The digest read now, never from the cache (it is cached for the blocks that follow). */
async function digestFresh(s: System, scope: DigestScope): Promise<Record<string, unknown>> {
  const key = await cacheKey(scope);
  const d = await digest(s, scope);
  cache.set(key, d);
  return d;
}

async function cacheKey(scope: DigestScope) {
  const block = await ethers.provider.getBlock("latest");
  return `${block!.hash}:${JSON.stringify(scope)}`;
}

/** A contract, or anything with its interface, to match a custom error against. */
export type ErrorSource = BaseContract | { interface: BaseContract["interface"] };

/**
 * Asserts that `call` reverts with `error`, raised by a contract with `by`'s ABI, and with `args` when given
 * (values, or predicates as chai's withArgs takes them); that it was mined (Hardhat's signers send a
 * reverting call as a transaction, which fails on chain and adds a block); and that the digest of the
 * system is the same before and after it.
 */
export async function expectRevertUnchanged(
  f: System & { scope: DigestScope },
  call: () => Promise<unknown>,
  by: ErrorSource,
  error: string,
  args?: unknown[],
) {
  const before = await digestNow(f, f.scope);
  const blockBefore = await ethers.provider.getBlockNumber();
  const assertion = expect(call()).to.be.revertedWithCustomError(by as BaseContract, error);
  if (args) await assertion.withArgs(...args);
  else await assertion;
  expect(await ethers.provider.getBlockNumber(), "the hostile call was mined").to.equal(blockBefore + 1);
  expect(await digestFresh(f, f.scope), `state after a call that reverted with ${error}`).to.deep.equal(
    before,
  );
}

/** Asserts that `call` succeeds and changes nothing in the digest (a documented no-op). */
export async function expectNoOp(f: System & { scope: DigestScope }, call: () => Promise<unknown>) {
  const before = await digestNow(f, f.scope);
  await expect(call()).to.not.be.reverted;
  expect(await digestFresh(f, f.scope), "state after a no-op").to.deep.equal(before);
}

/**
 * Asserts that `call` reverts with a custom error (any, but not a panic, an empty revert or a string) and
 * changes nothing: for inputs the issue asks a clear custom error for.
 */
export async function expectCustomErrorUnchanged(
  f: System & { scope: DigestScope },
  call: () => Promise<unknown>,
) {
  const before = await digestNow(f, f.scope);
  let data = "0x";
  try {
    await call();
  } catch (e) {
    data = revertData(e);
  }
  const what = data.startsWith(PANIC) ? `Panic(0x${BigInt("0x" + data.slice(10)).toString(16)})` : data;
  expect(data.length, "the call reverted with data").to.be.greaterThan(10);
  expect(data.slice(0, 10), `reverted with ${what}: a panic is not a clear custom error`).to.not.equal(PANIC);
  expect(data.slice(0, 10), `reverted with ${what}: a string is not a custom error`).to.not.equal(
    ERROR_STRING,
  );
  expect(await digestFresh(f, f.scope), "state after the reverted call").to.deep.equal(before);
}

const PANIC = ethers.id("Panic(uint256)").slice(0, 10);
const ERROR_STRING = ethers.id("Error(string)").slice(0, 10);

/** The revert data of a failed call, as ethers and Hardhat report it ("0x" when there is none). */
export function revertData(e: unknown): string {
  const err = e as { data?: unknown; error?: { data?: unknown }; info?: { error?: { data?: unknown } } };
  for (const d of [err.data, err.error?.data, err.info?.error?.data]) {
    if (typeof d === "string" && d.startsWith("0x")) return d;
    const nested = (d as { data?: unknown } | undefined)?.data;
    if (typeof nested === "string" && nested.startsWith("0x")) return nested;
  }
  return "0x";
}

/* THE FIXTURE */

export interface HostileActors {
  admin: HardhatEthersSigner;
  lp: HardhatEthersSigner;
  alice: HardhatEthersSigner;
  bob: HardhatEthersSigner;
  carol: HardhatEthersSigner;
  dave: HardhatEthersSigner;
  keeper: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
}

export type HostileFixture = System & {
  actors: HostileActors;
  /** The digest scope: every actor and every contract of the system. */
  scope: DigestScope;
  ETH: number;
  BTC: number;
  /** alice's stop-loss on her ETH long. */
  orderId: bigint;
};

/**
 * The local system with something at stake everywhere:
 * - lending: alice supplies 1,000,000 USDC; bob posts 10 WETH, 1 WBTC and 10,000 EURC and borrows 60,000
 *   (health 1.387);
 *   the rate curve is flat at zero (no interest drift between two reads);
 * - insurance fund: carol stakes 50,000 and has asked to unstake half;
 * - perps: the LP deposits 1,000,000 in the vault; alice (long 10 ETH) and bob (short 10 ETH) hold
 *   100,000 margin each, so the ETH market is balanced and its funding rate zero; alice has a stop-loss;
 * - every actor holds 10,000,000 USDC and 1,000 WETH, 100 WBTC and 1,000,000 EURC, and has approved every
 *   contract for everything.
 */
export async function hostileSystem(): Promise<HostileFixture> {
  const s = await deploySystem(hre, localConfig());
  const [admin, lp, alice, bob, carol, dave, keeper, stranger] = await ethers.getSigners();
  const actors: HostileActors = { admin, lp, alice, bob, carol, dave, keeper, stranger };
  const lending = s.lending!.market;
  const perp = s.perps!.market;
  const vault = s.perps!.vault;
  const spenders = [
    await lending.getAddress(),
    await perp.getAddress(),
    await vault.getAddress(),
    await s.insuranceFund.getAddress(),
  ];
  await s.lending!.rateModel.setCurve(0, 0, 0, wad(0.8));
  for (const who of Object.values(actors)) {
    await s.base.token!.mint(who.address, u(10_000_000));
    await s.assets.WETH.token!.mint(who.address, e18(1_000));
    await s.assets.WBTC.token!.mint(who.address, e8(100));
    await s.assets.EURC.token!.mint(who.address, u(1_000_000));
    for (const t of [s.base.token!, s.assets.WETH.token!, s.assets.WBTC.token!, s.assets.EURC.token!]) {
      for (const sp of spenders) await t.connect(who).approve(sp, MAX);
    }
  }

  await lending.connect(alice).supply(u(1_000_000), alice.address);
  await lending.connect(bob).supplyCollateral(s.assets.WETH.address, e18(10), bob.address);
  await lending.connect(bob).supplyCollateral(s.assets.WBTC.address, e8(1), bob.address);
  await lending.connect(bob).supplyCollateral(s.assets.EURC.address, u(10_000), bob.address);
  await lending.connect(bob).borrow(u(60_000), bob.address);

  await s.insuranceFund.connect(carol).stake(u(50_000), carol.address);
  await s.insuranceFund.connect(carol).requestUnstake((await s.insuranceFund.sharesOf(carol.address)) / 2n);

  const ETH = s.perps!.marketIds.WETH;
  const BTC = s.perps!.marketIds.WBTC;
  await vault.connect(lp).deposit(u(1_000_000), lp.address);
  await perp.connect(alice).depositMargin(u(100_000), alice.address);
  await perp.connect(bob).depositMargin(u(100_000), bob.address);
  await perp.connect(alice).modifyPosition(ETH, e18(10), MAX);
  await perp.connect(bob).modifyPosition(ETH, -e18(10), 0);
  await perp.connect(alice).placeOrder(ETH, true, e18(5), wad(2_500), false, 0);
  const orderId = await perp.lastOrderId();

  const scope: DigestScope = { accounts: Object.values(actors).map((a) => a.address) };
  return { ...s, actors, scope, ETH, BTC, orderId };
}

export const loadHostile = () => loadFixture(hostileSystem);

/* STRUCTS AS PLAIN OBJECTS (the current value of a setter's argument, to change one field of it) */

export async function oracleConfigOf(s: System, asset: string) {
  const c = await s.router.assetConfig(asset);
  return {
    primaryFeed: c.primaryFeed,
    primaryHeartbeat: c.primaryHeartbeat,
    fallbackFeed: c.fallbackFeed,
    fallbackHeartbeat: c.fallbackHeartbeat,
    confirmWindow: c.confirmWindow,
    minPrice: c.minPrice,
    maxPrice: c.maxPrice,
    maxDeviation: c.maxDeviation,
    maxDivergence: c.maxDivergence,
  };
}

export async function lendingParamsOf(s: System) {
  const p = await s.lending!.market.params();
  return {
    borrowCap: p.borrowCap,
    minBorrow: p.minBorrow,
    reserveFactor: p.reserveFactor,
    smallPosition: p.smallPosition,
    protocolShare: p.protocolShare,
    marginCallHealth: p.marginCallHealth,
  };
}

export async function curveOf(s: System) {
  const c = await s.lending!.rateModel.curve();
  return { baseRate: c.baseRate, slope1: c.slope1, slope2: c.slope2, kink: c.kink };
}

export async function perpParamsOf(s: System, marketId: number) {
  const p = (await s.perps!.market.marketView(marketId)).params;
  return {
    initialMargin: p.initialMargin,
    maintenanceMargin: p.maintenanceMargin,
    tradingFee: p.tradingFee,
    liquidationFee: p.liquidationFee,
    marginScale: p.marginScale,
    skewScale: p.skewScale,
    maxLongOI: p.maxLongOI,
    maxShortOI: p.maxShortOI,
    maxFundingRate: p.maxFundingRate,
    adlPnlFactor: p.adlPnlFactor,
  };
}

export async function perpGlobalsOf(s: System) {
  const g = await s.perps!.market.globalParams();
  return {
    insuranceFeeShare: g.insuranceFeeShare,
    keeperLiquidationShare: g.keeperLiquidationShare,
    lpReserveFactor: g.lpReserveFactor,
    orderKeeperFee: g.orderKeeperFee,
  };
}
