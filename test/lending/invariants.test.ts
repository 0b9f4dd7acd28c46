/**
 * Stateful fuzzing of the lending market (fast-check, command-based): random sequences of supply,
 * withdraw, supplyCollateral, withdrawCollateral, borrow, repay, liquidate (by a keeper, on the most
 * valuable collateral with a usable price; informed keepers pass max uint to an insolvent account,
 * uninformed ones a share of the debt), price moves including gaps of up to -60% (WETH on both feeds
 * together, WBTC on its single feed), WBTC's feed going stale, time jumps (the feeds refreshed after, a
 * keeper reading the oracle around them), sweepReserves and insurance top-ups, admin changes to a
 * collateral's liquidation threshold and bonus (the model follows them) and to the reserve factor, by four
 * actors, under both negative-balance policies.
 *
 * After every step:
 * - expectConservation (tokens cover the books, deficit == covered + socialised, recourse ledger);
 * - the bad-debt ledger equals the sum of the DeficitRealised events seen;
 * - the actors' shares add up to the totals, and their collateral to each collateral's total;
 * - no account holds debt without collateral (a deficit is realised when the last collateral goes);
 * - the supply share price never falls except by an evented loss (invariant 6): the value of a fixed
 *   1e24 supply shares (SharesMath.toAssetsDown over the stored totals, with the virtual shares and assets,
 *   as a withdrawal computes it) is compared with the previous step's; a fall needs a DeficitRealised with
 *   socialised > 0 or a DebtDustWrittenOff in the step's logs, and is at most what those amounts take from
 *   the suppliers;
 * - the insurance fund never pays out more than it holds (invariant 3): its token balance equals its
 *   starting balance plus every InsuranceToppedUp and RecourseRepaid minus every InsurancePaid seen, each
 *   InsurancePaid pays at most what was requested and what the fund held, and the fund's payments equal the
 *   fromInsurance of the DeficitRealised events.
 * Around every liquidation the outcome is predicted exactly from the views at the liquidation's own
 * timestamp, with a TypeScript model of the contract's (`predict`): another collateral's refused price
 * counts at its high estimate (the seized one's reverts PriceNotUsable), NotLiquidatable(health) for a
 * healthy account (so nobody healthy is liquidated), InsolventMustSeizeAll(repayNeeded) when an insolvent
 * account would keep part of the chosen collateral, ZeroAmount, else the Liquidate event's repaid, seized
 * and fee, with the bonus of a solvent account capped at value / debt (and no deficit from it). A command
 * that reverts must revert with one of the errors expected for it and leave the state unchanged.
 *
 * FUZZ_RUNS (default 80; 6 under COVERAGE=1), FUZZ_COMMANDS (default 25) and FUZZ_SEED set the run; on failure fast-check
 * prints the seed and the shrunk command sequence to replay it.
 */
import hre, { ethers } from "hardhat";
import { expect } from "chai";
import fc from "fast-check";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionReceipt, ContractTransactionResponse, LogDescription } from "ethers";

import { localConfig } from "../../deploy/config";
import { deploySystem, type DeployedAsset } from "../../deploy/deploySystem";
import { Action, NegativeBalancePolicy, PriceStatus } from "../../deploy/enums";
import { toUnits, wad, WAD } from "../../deploy/units";
import { expectConservation } from "../helpers/conservation";
import type { Fixture } from "../helpers/fixture";
import { mulDivDown, mulDivUp, toAssetsDown, VIRTUAL_SHARES } from "../helpers/math";

// A few hundred sequences in npm test; fewer under coverage (instrumented, and its branches are the unit tests').
const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? (process.env.COVERAGE ? 6 : 80));
const FUZZ_COMMANDS = Number(process.env.FUZZ_COMMANDS ?? 25);
const FUZZ_SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

const u = (v: number | string) => toUnits(v, 6);
const STATS: Record<string, number> = {};
const count = (key: string) => (STATS[key] = (STATS[key] ?? 0) + 1);
const MAX = ethers.MaxUint256;
const SYMBOLS = ["WETH", "WBTC"] as const;
type Sym = (typeof SYMBOLS)[number];
const ACTOR_NAMES = ["alice", "bob", "carol", "dave"];
/** Price clamps (USD), inside the oracle's [minPrice, maxPrice]. */
const PRICE_BOUNDS: Record<Sym, [number, number]> = { WETH: [50, 100_000], WBTC: [1_000, 5_000_000] };

/* THE SYSTEM UNDER TEST */

interface Real {
  f: Fixture;
  actors: HardhatEthersSigner[];
  keeper: HardhatEthersSigner;
  policy: NegativeBalancePolicy;
}

/** What the test has seen: the DeficitRealised events, summed; the last share price and fund balance. */
interface Model {
  deficit: bigint;
  covered: bigint;
  socialised: bigint;
  recourse: bigint;
  liquidations: number;
  /** The value of PROBE_SHARES supply shares after the previous step. */
  sharePrice: bigint;
  /** The fund's balance as its events account for it: start + topped up + recourse repaid - paid. */
  fund: bigint;
  /** Of which paid to the market (InsurancePaid), and the DeficitRealised fromInsurance, summed. */
  fundPaid: bigint;
  fromInsurance: bigint;
}

/** A fixed, large number of supply shares whose value tracks the share price (about 1e18 base units). */
const PROBE_SHARES = 10n ** 24n;

async function build(policy: NegativeBalancePolicy): Promise<Real> {
  const config = localConfig({ lending: { ...localConfig().lending!, negativeBalancePolicy: policy } });
  const system = await deploySystem(hre, config);
  const signers = await ethers.getSigners();
  const [admin, alice, keeper, stranger] = signers;
  const f: Fixture = { ...system, actors: { admin, alice, keeper, stranger } };
  const actors = [alice, signers[4], signers[5], signers[6]];
  const { market } = f.lending!;
  const m = await market.getAddress();
  const fundAddress = await f.insuranceFund.getAddress();
  for (const who of [...actors, keeper]) {
    await f.base.token!.mint(who.address, u(1_000_000_000));
    await f.base.token!.connect(who).approve(m, MAX);
    await f.base.token!.connect(who).approve(fundAddress, MAX);
  }
  for (const who of actors) {
    for (const sym of SYMBOLS) {
      const asset = f.assets[sym];
      await asset.token!.mint(who.address, toUnits(sym === "WETH" ? 10_000 : 500, asset.decimals));
      await asset.token!.connect(who).approve(m, MAX);
    }
  }
  // Liquidity to borrow, a fund to draw on, and three borrowers near their limits (health 1.0625 to 1.09).
  await market.connect(actors[1]).supply(u(200_000), actors[1].address);
  await f.insuranceFund.connect(keeper).topUp(u(5_000));
  const [, , carol, dave] = actors;
  await market.connect(alice).supplyCollateral(f.assets.WETH.address, toUnits(10, 18), alice.address);
  await market.connect(alice).borrow(u(24_000), alice.address);
  await market.connect(carol).supplyCollateral(f.assets.WBTC.address, toUnits("0.5", 8), carol.address);
  await market.connect(carol).borrow(u(22_000), carol.address);
  await market.connect(dave).supplyCollateral(f.assets.WETH.address, toUnits(2, 18), dave.address);
  await market.connect(dave).supplyCollateral(f.assets.WBTC.address, toUnits("0.2", 8), dave.address);
  await market.connect(dave).borrow(u(13_000), dave.address);
  return { f, actors, keeper, policy };
}

/** Both deployments in one fixture (one snapshot), so that runs can alternate policies without redeploying. */
async function systems(): Promise<Record<NegativeBalancePolicy, Real>> {
  return {
    [NegativeBalancePolicy.PROTECTED]: await build(NegativeBalancePolicy.PROTECTED),
    [NegativeBalancePolicy.RECOURSE]: await build(NegativeBalancePolicy.RECOURSE),
  };
}

/* HELPERS */

function errorName(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const custom = /reverted with custom error '(\w+)\(/.exec(message);
  if (custom) return custom[1];
  if (/panic code/.test(message)) return `Panic: ${message}`;
  return `unexpected: ${message}`;
}

/** The state a command may touch, from storage-level views (no accrual to now). */
async function digest(r: Real, actor?: string) {
  const { market } = r.f.lending!;
  const m = await market.getAddress();
  const [totals, badDebt, fund, owed, marketUsdc] = await Promise.all([
    market.totals(),
    market.badDebt(),
    r.f.insuranceFund.totalAssets(),
    r.f.insuranceFund.totalRecourseDebt(),
    r.f.base.erc20.balanceOf(m),
  ]);
  const d: Record<string, unknown> = {
    totals: [...totals],
    badDebt: [badDebt.deficit, badDebt.coveredByInsurance, badDebt.socialised, badDebt.recourseRecorded],
    fund,
    owed,
    marketUsdc,
  };
  if (actor) {
    const [v, e, b, usdc] = await Promise.all([
      market.accountView(actor),
      market.collateralOf(actor, r.f.assets.WETH.address),
      market.collateralOf(actor, r.f.assets.WBTC.address),
      r.f.base.erc20.balanceOf(actor),
    ]);
    d.actor = [v.supplyShares, v.borrowShares, e, b, usdc];
  }
  return d;
}

type Outcome = { ok: true; receipt: ContractTransactionReceipt } | { ok: false; error: string };

/**
 * Sends a transaction; a revert must be one of `allowed` and leave the digest unchanged. Panics and
 * unexpected errors fail the run.
 */
async function attempt(
  r: Real,
  label: string,
  actor: string | undefined,
  allowed: string[],
  send: () => Promise<ContractTransactionResponse>,
): Promise<Outcome> {
  const before = await digest(r, actor);
  try {
    const receipt = (await (await send()).wait())!;
    return { ok: true, receipt };
  } catch (e) {
    const name = errorName(e);
    if (!allowed.includes(name)) throw new Error(`${label}: unexpected revert ${name}`);
    expect(
      await digest(r, actor),
      `${label} reverted with ${name} and must leave the state unchanged`,
    ).to.deep.equal(before);
    return { ok: false, error: name };
  }
}

/** The invariants, after every step. */
async function checkInvariants(m: Model, r: Real) {
  const { f } = r;
  const { market } = f.lending!;
  const addresses = r.actors.map((a) => a.address);
  await expectConservation(f, addresses);

  const bad = await market.badDebt();
  expect(bad.deficit, "ledger deficit == sum of DeficitRealised").to.equal(m.deficit);
  expect(bad.coveredByInsurance, "ledger covered == sum of fromReserves + fromInsurance").to.equal(m.covered);
  expect(bad.socialised, "ledger socialised == sum of socialised").to.equal(m.socialised);
  expect(bad.recourseRecorded).to.equal(m.recourse);
  expect(bad.deficit, "total deficit == covered + socialised").to.equal(
    bad.coveredByInsurance + bad.socialised,
  );

  const [, supplyShares, borrowAssets, borrowShares] = await market.totals();
  if (borrowShares === 0n)
    expect(borrowAssets, "no borrow shares: nothing borrowed (no dust owed by nobody)").to.equal(0n);
  const weth = f.assets.WETH.address;
  const wbtc = f.assets.WBTC.address;
  const rows = await Promise.all(
    addresses.map(async (a) => {
      const [v, e, b] = await Promise.all([
        market.accountView(a),
        market.collateralOf(a, weth),
        market.collateralOf(a, wbtc),
      ]);
      return { a, v, e, b };
    }),
  );
  let sumSupply = 0n;
  let sumBorrow = 0n;
  for (const { a, v, e, b } of rows) {
    sumSupply += v.supplyShares;
    sumBorrow += v.borrowShares;
    if (v.borrowShares > 0n) expect(e + b, `${a} has debt and no collateral: a silent deficit`).to.be.gt(0n);
  }
  expect(sumSupply, "actors' supply shares == total").to.equal(supplyShares);
  expect(sumBorrow, "actors' borrow shares == total").to.equal(borrowShares);
  const [wethTotal, wbtcTotal] = await Promise.all([
    market.collateralConfig(weth),
    market.collateralConfig(wbtc),
  ]);
  expect(wethTotal.totalSupplied, "WETH: actors' collateral == total").to.equal(
    rows.reduce((x, y) => x + y.e, 0n),
  );
  expect(wbtcTotal.totalSupplied, "WBTC: actors' collateral == total").to.equal(
    rows.reduce((x, y) => x + y.b, 0n),
  );
}

/** The value of PROBE_SHARES supply shares at the stored totals, as `withdraw` computes it after accrual. */
async function sharePrice(r: Real): Promise<{ value: bigint; shares: bigint }> {
  const [supplyAssets, supplyShares] = await r.f.lending!.market.totals();
  return { value: toAssetsDown(PROBE_SHARES, supplyAssets, supplyShares), shares: supplyShares };
}

/** The market's and the insurance fund's events in the blocks after `from`, in order. */
async function stepEvents(r: Real, from: number): Promise<LogDescription[]> {
  const to = await ethers.provider.getBlockNumber();
  if (to <= from) return [];
  const { market } = r.f.lending!;
  const [m, fund] = [await market.getAddress(), await r.f.insuranceFund.getAddress()];
  const logs = await ethers.provider.getLogs({ address: [m, fund], fromBlock: from + 1, toBlock: to });
  return logs.map((log) => {
    const iface =
      log.address.toLowerCase() === m.toLowerCase() ? market.interface : r.f.insuranceFund.interface;
    return iface.parseLog(log)!;
  });
}

/**
 * Invariants 6 and 3 over one step's events: the supply share price falls only by an evented loss, and no
 * further than that loss explains; the fund's balance is what its events account for, and it never pays
 * more than it holds.
 */
async function checkStep(m: Model, r: Real, events: LogDescription[], label: string) {
  let socialised = 0n;
  let dust = 0n;
  let fund = m.fund;
  for (const e of events) {
    switch (e.name) {
      case "DeficitRealised":
        socialised += e.args.socialised as bigint;
        m.fromInsurance += e.args.fromInsurance as bigint;
        break;
      case "DebtDustWrittenOff":
        dust += e.args.amount as bigint;
        count("dustWrittenOff");
        break;
      case "InsuranceToppedUp":
      case "RecourseRepaid":
        fund += e.args.amount as bigint;
        break;
      case "InsurancePaid": {
        const paid = e.args.paid as bigint;
        expect(paid, `${label}: the fund pays at most what was requested`).to.be.lte(e.args.requested);
        expect(paid, `${label}: the fund pays at most what it holds (never negative)`).to.be.lte(fund);
        fund -= paid;
        m.fundPaid += paid;
        break;
      }
      case "Staked":
      case "Unstaked":
        throw new Error(`${label}: nobody stakes in this fuzz (${e.name})`);
    }
  }
  const fundAddress = await r.f.insuranceFund.getAddress();
  expect(await r.f.base.erc20.balanceOf(fundAddress), `${label}: fund balance == its evented flows`).to.equal(
    fund,
  );
  expect(await r.f.insuranceFund.totalAssets(), `${label}: the fund's assets are its balance`).to.equal(fund);
  expect(m.fundPaid, `${label}: the fund's payments == the deficits' fromInsurance`).to.equal(
    m.fromInsurance,
  );
  m.fund = fund;

  const now = await sharePrice(r);
  if (now.value < m.sharePrice) {
    const loss = socialised + dust;
    expect(
      loss,
      `${label}: the supply share price fell (${m.sharePrice} -> ${now.value}) with no evented loss`,
    ).to.be.gt(0n);
    // A loss L taken from the suppliers' assets lowers PROBE_SHARES' value by at most PROBE_SHARES x L / shares.
    expect(
      m.sharePrice - now.value,
      `${label}: the share price fell further than the evented loss (${socialised} socialised, ${dust} dust)`,
    ).to.be.lte(mulDivUp(PROBE_SHARES, loss, now.shares + VIRTUAL_SHARES));
    count(socialised > 0n ? "sharePriceFell:socialised" : "sharePriceFell:dust");
  }
  m.sharePrice = now.value;
}

/** Adds the DeficitRealised events of a receipt to the model. */
function recordDeficits(m: Model, r: Real, receipt: ContractTransactionReceipt) {
  const { market } = r.f.lending!;
  for (const log of receipt.logs) {
    let parsed;
    try {
      parsed = market.interface.parseLog(log);
    } catch {
      continue;
    }
    if (parsed?.name !== "DeficitRealised") continue;
    const [, deficit, fromReserves, fromInsurance, socialised, recourse] = parsed.args as unknown as bigint[];
    expect(deficit).to.equal(fromReserves + fromInsurance + socialised);
    if (r.policy === NegativeBalancePolicy.RECOURSE) expect(recourse).to.equal(deficit);
    else expect(recourse).to.equal(0n);
    m.deficit += deficit;
    m.covered += fromReserves + fromInsurance;
    m.socialised += socialised;
    m.recourse += recourse;
  }
}

async function refreshFeeds(f: Fixture) {
  for (const asset of Object.values(f.assets)) {
    await asset.primaryFeed.mock!.setPrice(await asset.primaryFeed.mock!.marketAnswer());
    if (asset.fallbackFeed)
      await asset.fallbackFeed.mock!.setPrice(await asset.fallbackFeed.mock!.marketAnswer());
  }
}

/** A keeper reading every price (what records a pending jump so that persistence can confirm it). */
async function readOracle(f: Fixture) {
  for (const asset of Object.values(f.assets)) await (await f.router.price(asset.address)).wait();
}

const scale = (a: DeployedAsset) => 10n ** BigInt(a.decimals + 12);

/* COMMANDS */

type Cmd = fc.AsyncCommand<Model, Real>;

abstract class Base implements Cmd {
  check() {
    return true;
  }
  abstract step(m: Model, r: Real): Promise<void>;
  async run(m: Model, r: Real) {
    count(this.constructor.name);
    const from = await ethers.provider.getBlockNumber();
    await this.step(m, r);
    await checkInvariants(m, r);
    await checkStep(m, r, await stepEvents(r, from), this.toString());
  }
  abstract toString(): string;
}

const RECOURSE_BLOCK = ["RecourseDebtOutstanding"];

class Supply extends Base {
  constructor(
    readonly who: number,
    readonly amount: bigint,
  ) {
    super();
  }
  async step(_m: Model, r: Real) {
    const a = r.actors[this.who];
    await attempt(r, this.toString(), a.address, ["ZeroShares"], () =>
      r.f.lending!.market.connect(a).supply(this.amount, a.address),
    );
  }
  toString() {
    return `supply(${ACTOR_NAMES[this.who]}, ${this.amount})`;
  }
}

class Withdraw extends Base {
  constructor(
    readonly who: number,
    readonly pct: number,
  ) {
    super();
  }
  async step(_m: Model, r: Real) {
    const a = r.actors[this.who];
    const { market } = r.f.lending!;
    const v = await market.accountView(a.address);
    let amount = this.pct === 100 ? MAX : (v.supplyAssets * BigInt(this.pct)) / 100n;
    if (amount === 0n) amount = 1n;
    await attempt(
      r,
      this.toString(),
      a.address,
      ["InsufficientLiquidity", "InsufficientShares", "ZeroAmount"],
      () => market.connect(a).withdraw(amount, a.address),
    );
  }
  toString() {
    return `withdraw(${ACTOR_NAMES[this.who]}, ${this.pct}%)`;
  }
}

class SupplyCollateral extends Base {
  constructor(
    readonly who: number,
    readonly sym: Sym,
    readonly thousandths: number,
  ) {
    super();
  }
  async step(_m: Model, r: Real) {
    const a = r.actors[this.who];
    const asset = r.f.assets[this.sym];
    // WETH: 0.001 to 20 ETH; WBTC: 0.00005 to 1 BTC
    const unit = this.sym === "WETH" ? 10n ** 15n : 5000n;
    const amount = unit * BigInt(this.thousandths);
    await attempt(r, this.toString(), a.address, ["SupplyCapExceeded"], () =>
      r.f.lending!.market.connect(a).supplyCollateral(asset.address, amount, a.address),
    );
  }
  toString() {
    return `supplyCollateral(${ACTOR_NAMES[this.who]}, ${this.sym}, ${this.thousandths})`;
  }
}

class WithdrawCollateral extends Base {
  constructor(
    readonly who: number,
    readonly sym: Sym,
    readonly pct: number,
  ) {
    super();
  }
  async step(_m: Model, r: Real) {
    const a = r.actors[this.who];
    const { market } = r.f.lending!;
    const asset = r.f.assets[this.sym];
    const held = await market.collateralOf(a.address, asset.address);
    let amount = (held * BigInt(this.pct)) / 100n;
    if (amount === 0n) amount = 1n;
    const out = await attempt(
      r,
      this.toString(),
      a.address,
      [
        "InsufficientBorrowCapacity",
        "PriceNotUsable",
        "InsufficientCollateral",
        "ZeroAmount",
        ...RECOURSE_BLOCK,
      ],
      () => market.connect(a).withdrawCollateral(asset.address, amount, a.address),
    );
    if (out.ok) {
      const v = await market.accountView(a.address);
      expect(v.debt, "withdrawCollateral leaves the debt within the borrow capacity").to.be.lte(
        v.borrowCapacity,
      );
    }
  }
  toString() {
    return `withdrawCollateral(${ACTOR_NAMES[this.who]}, ${this.sym}, ${this.pct}%)`;
  }
}

class Borrow extends Base {
  constructor(
    readonly who: number,
    readonly pct: number,
  ) {
    super();
  }
  async step(_m: Model, r: Real) {
    const a = r.actors[this.who];
    const { market } = r.f.lending!;
    const v = await market.accountView(a.address);
    const headroom = v.borrowCapacity > v.debt ? v.borrowCapacity - v.debt : 0n;
    let amount = (headroom * BigInt(this.pct)) / 100n;
    if (amount === 0n) amount = u(100);
    const out = await attempt(
      r,
      this.toString(),
      a.address,
      [
        "InsufficientBorrowCapacity",
        "InsufficientLiquidity",
        "BelowMinBorrow",
        "BorrowCapExceeded",
        "PriceNotUsable",
        ...RECOURSE_BLOCK,
      ],
      () => market.connect(a).borrow(amount, a.address),
    );
    if (out.ok) {
      const after = await market.accountView(a.address);
      expect(after.debt, "borrow leaves the debt within the borrow capacity").to.be.lte(after.borrowCapacity);
    }
  }
  toString() {
    return `borrow(${ACTOR_NAMES[this.who]}, ${this.pct}% of headroom)`;
  }
}

class Repay extends Base {
  constructor(
    readonly who: number,
    readonly pct: number,
  ) {
    super();
  }
  async step(_m: Model, r: Real) {
    const a = r.actors[this.who];
    const { market } = r.f.lending!;
    const v = await market.accountView(a.address);
    let amount = this.pct === 100 ? MAX : (v.debt * BigInt(this.pct)) / 100n;
    if (amount === 0n) amount = 1n;
    const out = await attempt(r, this.toString(), a.address, ["NothingToRepay", "ZeroShares"], () =>
      market.connect(a).repay(amount, a.address),
    );
    if (out.ok && this.pct === 100) expect((await market.accountView(a.address)).borrowShares).to.equal(0n);
  }
  toString() {
    return `repay(${ACTOR_NAMES[this.who]}, ${this.pct === 100 ? "all" : `${this.pct}%`})`;
  }
}

/** The local configuration's collateral parameters and protocol share, as WAD. */
const LENDING = localConfig().lending!;
const configuredRisk = () =>
  Object.fromEntries(
    LENDING.collaterals.map((c) => [
      c.symbol,
      { lt: wad(c.liquidationThreshold), bonus: wad(c.liquidationBonus) },
    ]),
  ) as Record<string, { lt: bigint; bonus: bigint }>;
/** The collateral parameters in force: the configuration's, then what SetRisk commands set (reset per run). */
let RISK = configuredRisk();
const PROTOCOL_SHARE = wad(LENDING.params.protocolShare);
const SMALL_POSITION = u(LENDING.params.smallPosition);
const FULL_CLOSE_HEALTH = wad("0.95");
const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** One collateral of the target as a liquidation at the next block sees it. */
interface Held {
  asset: DeployedAsset;
  amount: bigint;
  /** What the oracle reports (peek) and whether the policy allows it for LIQUIDATE. */
  price: bigint;
  status: PriceStatus;
  allowed: boolean;
  /** LendingMarket._highEstimate: max(price, last good price) x (1 + maxDeviation), rounded up. */
  estimate: bigint;
}

/** What a liquidation does, as the model predicts it. */
type Prediction =
  | { kind: "NoCollateral" }
  | { kind: "PriceNotUsable"; status: PriceStatus }
  | { kind: "NotLiquidatable"; health: bigint }
  | { kind: "ZeroAmount" }
  | { kind: "InsolventMustSeizeAll"; repayNeeded: bigint }
  | { kind: "ok"; repaid: bigint; seized: bigint; fee: bigint; solvent: boolean; estimated: boolean };

/**
 * LendingMarket._liquidation and _seizure (A, B and C of the audit): every collateral is valued at its
 * price when the policy allows it, another collateral's refused price at its high estimate, and the seized
 * collateral's refused price reverts; a solvent account's bonus is capped at value / debt; an insolvent
 * account must lose the whole balance of the chosen collateral.
 */
function predict(held: Held[], chosen: DeployedAsset, debt: bigint, maxRepay: bigint): Prediction {
  const h = held.find((x) => x.asset === chosen);
  if (!h) return { kind: "NoCollateral" };
  let value = 0n;
  let capacity = 0n;
  let estimated = false;
  for (const x of held) {
    let price = x.price;
    if (!x.allowed) {
      if (x === h) return { kind: "PriceNotUsable", status: x.status };
      price = x.estimate;
      estimated = true;
    }
    const v = mulDivDown(x.amount, price, scale(x.asset));
    value += v;
    capacity += mulDivDown(v, RISK[x.asset.symbol].lt, WAD);
  }
  const health = debt === 0n ? MAX : mulDivDown(capacity, WAD, debt);
  if (capacity >= debt) return { kind: "NotLiquidatable", health };
  const maxClose =
    debt <= SMALL_POSITION || health < FULL_CLOSE_HEALTH ? debt : mulDivUp(debt, WAD / 2n, WAD);
  let bonusFactor = WAD + RISK[chosen.symbol].bonus;
  if (value > debt) bonusFactor = min(bonusFactor, mulDivDown(value, WAD, debt));
  const sc = scale(chosen);
  let repaid = min(maxRepay, maxClose);
  let seized = mulDivDown(mulDivDown(repaid, bonusFactor, WAD), sc, h.price);
  const wholeBalance = mulDivUp(mulDivUp(h.amount, h.price, sc), WAD, bonusFactor);
  if (seized > h.amount) {
    seized = h.amount;
    repaid = wholeBalance;
  }
  if (seized === 0n) return { kind: "ZeroAmount" };
  if (value < debt && seized < h.amount) return { kind: "InsolventMustSeizeAll", repayNeeded: wholeBalance };
  repaid = min(repaid, debt);
  const fee = mulDivUp(mulDivUp(repaid, bonusFactor - WAD, WAD), PROTOCOL_SHARE, WAD);
  return { kind: "ok", repaid, seized, fee, solvent: value > debt, estimated };
}

/**
 * The keeper liquidates `target` on its most valuable collateral with a price the policy allows (the most
 * valuable one when none has). An informed keeper passes max uint when the account is insolvent at the
 * liquidation's prices (B); an uninformed one passes `pct` of the debt regardless. The outcome is predicted
 * exactly from the views at the liquidation's own timestamp (`predict`): the revert and its arguments, or
 * the Liquidate event's repaid, seized and fee. Nobody healthy is liquidated, and a liquidation of an
 * account solvent at trusted prices never realises a deficit (C).
 */
class Liquidate extends Base {
  constructor(
    readonly target: number,
    readonly pct: number,
    readonly informed: boolean = true,
  ) {
    super();
  }
  async step(m: Model, r: Real) {
    const { f, keeper } = r;
    const { market } = f.lending!;
    const next = (await time.latest()) + 1;
    await time.setNextBlockTimestamp(next);
    const at = { blockTag: "pending" };
    let target = r.actors[Math.max(this.target, 0)].address;
    if (this.target < 0) {
      // The keeper scans every account and takes the least healthy one that has debt.
      let lowest = MAX;
      for (const a of r.actors) {
        const v = await market.accountView(a.address, at);
        if (v.borrowShares > 0n && v.health < lowest) {
          lowest = v.health;
          target = a.address;
        }
      }
    }
    const view = await market.accountView(target, at);
    const held: Held[] = [];
    for (const token of await market.collateralTokens()) {
      const asset = Object.values(f.assets).find((x) => x.address === token)!;
      const amount = await market.collateralOf(target, token, at);
      if (amount === 0n) continue;
      const [price, rawStatus] = await f.router.peek(token, at);
      const status = Number(rawStatus) as PriceStatus;
      const [lastGood] = await f.router.lastGoodPrice(token, at);
      const { maxDeviation } = await f.router.assetConfig(token, at);
      held.push({
        asset,
        amount,
        price,
        status,
        allowed: await f.router.isAllowed(status, Action.LIQUIDATE, at),
        estimate: mulDivUp(price > lastGood ? price : lastGood, WAD + maxDeviation, WAD),
      });
    }
    const byValue = (xs: Held[]) =>
      xs.reduce<Held | undefined>(
        (best, x) =>
          !best ||
          mulDivDown(x.amount, x.price, scale(x.asset)) >
            mulDivDown(best.amount, best.price, scale(best.asset))
            ? x
            : best,
        undefined,
      );
    const chosen = byValue(held.filter((x) => x.allowed)) ?? byValue(held);
    const asset = chosen?.asset ?? f.assets.WETH;

    let maxRepay = this.pct === 100 ? MAX : (view.debt * BigInt(this.pct)) / 100n + 1n;
    if (this.informed && maxRepay !== MAX) {
      // What the keeper knows: insolvent at the liquidation's prices means all of the collateral must go.
      const probe = predict(held, asset, view.debt, MAX);
      if (probe.kind === "ok" && !probe.solvent) maxRepay = MAX;
    }
    const p = predict(held, asset, view.debt, maxRepay);

    const label = `${this.toString()} on ${asset.symbol}: ${p.kind}`;
    count(`liq:${p.kind}`);
    if (held.some((x) => !x.allowed && x.asset !== asset)) count(`liq:${p.kind}:another-at-estimate`);
    const send = () => market.connect(keeper).liquidate(target, asset.address, maxRepay);
    if (p.kind !== "ok") {
      const before = await digest(r, target);
      const args: Record<Exclude<Prediction["kind"], "ok">, unknown[]> = {
        NoCollateral: [target, asset.address],
        PriceNotUsable: p.kind === "PriceNotUsable" ? [asset.address, Action.LIQUIDATE, p.status] : [],
        NotLiquidatable: p.kind === "NotLiquidatable" ? [p.health] : [],
        ZeroAmount: [],
        InsolventMustSeizeAll: p.kind === "InsolventMustSeizeAll" ? [p.repayNeeded] : [],
      };
      const reverted = expect(send(), label).to.be.revertedWithCustomError(market, p.kind);
      await (args[p.kind].length > 0 ? reverted.withArgs(...args[p.kind]) : reverted);
      expect(await digest(r, target), `${label}: reverted, state unchanged`).to.deep.equal(before);
      return;
    }
    const out = await attempt(r, label, target, [], send);
    if (!out.ok) return;
    const tx = out.receipt;
    let event: unknown[] | undefined;
    let deficits = 0;
    for (const log of tx.logs) {
      let parsed;
      try {
        parsed = market.interface.parseLog(log);
      } catch {
        continue;
      }
      if (parsed?.name === "Liquidate") event = [...parsed.args];
      if (parsed?.name === "DeficitRealised") deficits += 1;
    }
    expect(event, `${label}: Liquidate event`).to.deep.equal([
      keeper.address,
      target,
      asset.address,
      p.repaid,
      p.seized,
      p.fee,
    ]);
    if (p.solvent && !p.estimated) {
      expect(deficits, `${label}: a solvent account's liquidation realises no deficit`).to.equal(0);
      count("liq:solvent");
    }
    if (deficits > 0) count("liq:deficit");
    m.liquidations += 1;
    recordDeficits(m, r, tx);
    const after = await market.accountView(target);
    if (after.collateralValue === 0n && (await market.collateralOf(target, asset.address)) === 0n) {
      const anyLeft = await Promise.all(SYMBOLS.map((s) => market.collateralOf(target, f.assets[s].address)));
      if (anyLeft.every((x) => x === 0n)) expect(after.borrowShares, "no collateral: no debt").to.equal(0n);
    }
  }
  toString() {
    const who = this.target < 0 ? "least healthy" : ACTOR_NAMES[this.target];
    const keeper = this.informed ? "" : ", uninformed";
    return `liquidate(${who}, ${this.pct === 100 ? "max" : `${this.pct}% of debt`}${keeper})`;
  }
}

/** Moves a price by `pct` percent: WETH on both feeds together, WBTC on its single feed. */
class MovePrice extends Base {
  constructor(
    readonly sym: Sym,
    readonly pct: number,
  ) {
    super();
  }
  async step(_m: Model, r: Real) {
    const asset = r.f.assets[this.sym];
    const primary = asset.primaryFeed.mock!;
    const [lo, hi] = PRICE_BOUNDS[this.sym];
    const unit = 10n ** BigInt(asset.primaryFeed.decimals);
    let next = ((await primary.marketAnswer()) * BigInt(100 + this.pct)) / 100n;
    if (next < BigInt(lo) * unit) next = BigInt(lo) * unit;
    if (next > BigInt(hi) * unit) next = BigInt(hi) * unit;
    await primary.setPrice(next);
    if (asset.fallbackFeed) {
      await asset.fallbackFeed.mock!.setPrice(
        next * 10n ** BigInt(asset.fallbackFeed.decimals - asset.primaryFeed.decimals),
      );
    }
  }
  toString() {
    return `price(${this.sym}, ${this.pct > 0 ? "+" : ""}${this.pct}%)`;
  }
}

/**
 * WBTC's only feed stops updating (its latest round back-dated past the 3,600 s heartbeat): STALE until
 * the next price move or wait. Its holders cannot borrow or withdraw collateral; a liquidation on another
 * collateral counts it at its high estimate.
 */
/** The admin changes a collateral's liquidation threshold and bonus (within or beyond the bounds). */
class SetRisk extends Base {
  constructor(
    readonly sym: "WETH" | "WBTC",
    readonly thresholdBps: number,
    readonly bonusBps: number,
  ) {
    super();
  }
  async step(_m: Model, r: Real) {
    const { market } = r.f.lending!;
    const asset = r.f.assets[this.sym];
    const c = await market.collateralConfig(asset.address);
    const p = {
      ltv: c.ltv,
      liquidationThreshold: BigInt(this.thresholdBps) * 10n ** 14n,
      liquidationBonus: BigInt(this.bonusBps) * 10n ** 14n,
      supplyCap: c.supplyCap,
    };
    const out = await attempt(r, this.toString(), undefined, ["InvalidCollateralParams"], () =>
      market.setCollateralParams(asset.address, p),
    );
    if (out.ok) RISK[this.sym] = { lt: p.liquidationThreshold, bonus: p.liquidationBonus };
  }
  toString() {
    return `setRisk(${this.sym}, threshold ${this.thresholdBps} bps, bonus ${this.bonusBps} bps)`;
  }
}

/** The admin changes the reserve factor (interest accrued first, so the change is not retroactive). */
class SetReserveFactor extends Base {
  constructor(readonly bps: number) {
    super();
  }
  async step(_m: Model, r: Real) {
    const { market } = r.f.lending!;
    const c = await market.params();
    const p = {
      borrowCap: c.borrowCap,
      minBorrow: c.minBorrow,
      reserveFactor: BigInt(this.bps) * 10n ** 14n,
      smallPosition: c.smallPosition,
      protocolShare: c.protocolShare,
      marginCallHealth: c.marginCallHealth,
    };
    await attempt(r, this.toString(), undefined, ["OutOfBounds"], () => market.setMarketParams(p));
  }
  toString() {
    return `setReserveFactor(${this.bps} bps)`;
  }
}

class StaleFeed extends Base {
  async step(_m: Model, r: Real) {
    await r.f.assets.WBTC.primaryFeed.mock!.goStale(3601);
    const [, status] = await r.f.router.peek(r.f.assets.WBTC.address);
    expect(Number(status)).to.equal(PriceStatus.STALE);
  }
  toString() {
    return "staleFeed(WBTC)";
  }
}

/** Time passes; a keeper reads the oracle before and after, and the feeds are refreshed at their prices. */
class Wait extends Base {
  constructor(readonly seconds: number) {
    super();
  }
  async step(_m: Model, r: Real) {
    await readOracle(r.f);
    await time.increase(this.seconds);
    await readOracle(r.f);
    await refreshFeeds(r.f);
    await readOracle(r.f);
  }
  toString() {
    return `wait(${this.seconds}s)`;
  }
}

class Sweep extends Base {
  async step(_m: Model, r: Real) {
    const { market } = r.f.lending!;
    const fundBefore = await r.f.insuranceFund.totalAssets();
    const out = await attempt(r, "sweepReserves", undefined, [], () => market.sweepReserves());
    if (!out.ok) return;
    let swept = 0n;
    for (const log of out.receipt.logs) {
      try {
        const parsed = market.interface.parseLog(log);
        if (parsed?.name === "ReservesSwept") swept = parsed.args[0] as bigint;
      } catch {
        /* another contract's log */
      }
    }
    expect(await r.f.insuranceFund.totalAssets(), "the fund receives what is swept").to.equal(
      fundBefore + swept,
    );
  }
  toString() {
    return "sweepReserves()";
  }
}

class TopUp extends Base {
  constructor(readonly amount: bigint) {
    super();
  }
  async step(_m: Model, r: Real) {
    const before = await r.f.insuranceFund.totalAssets();
    await r.f.insuranceFund.connect(r.keeper).topUp(this.amount);
    expect(await r.f.insuranceFund.totalAssets()).to.equal(before + this.amount);
  }
  toString() {
    return `topUp(${this.amount})`;
  }
}

/* ARBITRARIES */

const actor = fc.integer({ min: 0, max: ACTOR_NAMES.length - 1 });
const sym = fc.constantFrom<Sym>(...SYMBOLS);
const pct = fc.oneof(fc.integer({ min: 1, max: 100 }), fc.constant(100));

const borrower = fc.constantFrom(0, 2, 3);
const weighted = (weight: number, arbitrary: fc.Arbitrary<Cmd>) => ({ weight, arbitrary });

/** One arbitrary over all commands, weighted towards the paths that end in liquidations and deficits. */
const commandArbs: fc.Arbitrary<Cmd>[] = [
  fc.oneof(
    weighted(
      2,
      fc.tuple(actor, fc.bigInt({ min: u(1), max: u(100_000) })).map(([w, a]) => new Supply(w, a)),
    ),
    weighted(
      2,
      fc.tuple(actor, pct).map(([w, p]) => new Withdraw(w, p)),
    ),
    weighted(
      2,
      fc
        .tuple(actor, sym, fc.integer({ min: 1, max: 20_000 }))
        .map(([w, s, t]) => new SupplyCollateral(w, s, t)),
    ),
    weighted(
      2,
      fc.tuple(actor, sym, pct).map(([w, s, p]) => new WithdrawCollateral(w, s, p)),
    ),
    weighted(
      3,
      fc.tuple(actor, fc.integer({ min: 10, max: 130 })).map(([w, p]) => new Borrow(w, p)),
    ),
    weighted(
      2,
      fc.tuple(actor, pct).map(([w, p]) => new Repay(w, p)),
    ),
    weighted(
      2,
      fc.tuple(actor, pct, fc.boolean()).map(([w, p, informed]) => new Liquidate(w, p, informed)),
    ),
    weighted(
      2,
      borrower.map((w) => new Liquidate(w, 100)),
    ),
    weighted(
      3,
      fc.tuple(pct, fc.boolean()).map(([p, informed]) => new Liquidate(-1, p, informed)),
    ),
    weighted(
      2,
      fc.tuple(sym, fc.integer({ min: -60, max: 30 })).map(([s, p]) => new MovePrice(s, p)),
    ),
    weighted(
      2,
      fc.tuple(sym, fc.integer({ min: -19, max: -3 })).map(([s, p]) => new MovePrice(s, p)),
    ),
    weighted(
      2,
      fc.integer({ min: 1, max: 30 * 86400 }).map((s) => new Wait(s)),
    ),
    weighted(1, fc.constant(new StaleFeed())),
    weighted(
      1,
      fc
        .tuple(sym, fc.integer({ min: 8_100, max: 9_000 }), fc.integer({ min: 0, max: 1_500 }))
        .map(([s, t, b]) => new SetRisk(s, t, b)),
    ),
    weighted(
      1,
      fc.integer({ min: 0, max: 6_000 }).map((b) => new SetReserveFactor(b)),
    ),
    weighted(1, fc.constant(new Sweep())),
    weighted(
      1,
      fc.bigInt({ min: u(1), max: u(20_000) }).map((a) => new TopUp(a)),
    ),
  ),
];

/* THE PROPERTY */

describe("lending invariants (stateful fuzz)", () => {
  it(`invariants: books balance, deficits are covered or socialised, nobody healthy is liquidated (${FUZZ_RUNS} runs x up to ${FUZZ_COMMANDS} commands)`, async function () {
    // About 1.5 s per run of 25 commands; leave room for shrinking a failure.
    this.timeout(Math.max(120_000, FUZZ_RUNS * FUZZ_COMMANDS * 1_000));
    let liquidations = 0;
    let deficits = 0n;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(NegativeBalancePolicy.PROTECTED, NegativeBalancePolicy.RECOURSE),
        fc.commands(commandArbs, { maxCommands: FUZZ_COMMANDS, size: "max" }),
        async (policy, cmds) => {
          const real = (await loadFixture(systems))[policy];
          RISK = configuredRisk();
          const model: Model = {
            deficit: 0n,
            covered: 0n,
            socialised: 0n,
            recourse: 0n,
            liquidations: 0,
            sharePrice: (await sharePrice(real)).value,
            fund: await real.f.insuranceFund.totalAssets(),
            fundPaid: 0n,
            fromInsurance: 0n,
          };
          await checkInvariants(model, real);
          await fc.asyncModelRun(() => ({ model, real }), cmds);
          liquidations += model.liquidations;
          deficits += model.deficit;
        },
      ),
      { numRuns: FUZZ_RUNS, seed: FUZZ_SEED, endOnFailure: process.env.FUZZ_SHRINK === "0" },
    );
    console.log(`      commands run: ${JSON.stringify(STATS)}`);
    console.log(
      `      ${liquidations} liquidations, total deficit ${deficits} base units over ${FUZZ_RUNS} runs`,
    );
  });
});
