/**
 * PerpMarket.adl: auto-deleveraging, the last step of the loss waterfall. While the winning side's
 * unrealised profit (sidePnl, USD WAD) exceeds adlPnlFactor x what the pool can pay it (its capital plus the
 * losing side's net loss), the listed positions (profitable, on the winning side, in non-increasing adlScore
 * order) are closed whole and paid their profit x (1 - h), h = 1 - capacity / profit when the pool cannot
 * pay the whole side, else 0, and never more than the pool can pay once the position is out.
 *
 * Exactness: `planAdl` runs the contract's loop in TypeScript (funding accrual at a pinned timestamp, the
 * side sums, the trigger, the haircut rate, the score, the payment and the event price) from the stored
 * positions (read from storage) and predicts every revert argument and every Deleveraged event to the unit.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import { wad } from "../../deploy/units";
import {
  abs,
  accrue,
  expectPerpBooks,
  fund,
  loadPerps,
  mulDivDown,
  mulDivUp,
  paramsOf,
  positionValue,
  px,
  setEth,
  size,
  u,
  USD_PER_UNIT,
  WAD,
  wMulDown,
  type PerpFixture,
} from "../helpers/perps";

const ADL_PNL_FACTOR = paramsOf("WETH").adlPnlFactor;
const MAX = ethers.MaxUint256;
/** Storage slot of PerpMarket._positions (AccessControl._roles, _markets, marketCount, _idPlusOne first). */
const POSITIONS_SLOT = 4n;

/* HELPERS */

const coder = ethers.AbiCoder.defaultAbiCoder();
const low128 = (x: bigint) => BigInt.asIntN(128, x & ((1n << 128n) - 1n));

interface Raw {
  size: bigint;
  entry: bigint;
  index: bigint;
}

/** A position as stored: size, entry price and the funding index at its last trade. */
async function rawPosition(f: PerpFixture, account: string, marketId: number): Promise<Raw> {
  const inner = ethers.keccak256(coder.encode(["address", "uint256"], [account, POSITIONS_SLOT]));
  const base = BigInt(ethers.keccak256(coder.encode(["uint256", "bytes32"], [marketId, inner])));
  const addr = await f.perp.getAddress();
  const s0 = BigInt(await ethers.provider.getStorage(addr, base));
  const s1 = BigInt(await ethers.provider.getStorage(addr, base + 1n));
  return { size: low128(s0), entry: s0 >> 128n, index: low128(s1) };
}

/** Fixes the next block's timestamp (one second after the last block) and returns it. */
async function pin(): Promise<bigint> {
  const ts = (await time.latest()) + 1;
  await time.setNextBlockTimestamp(ts);
  return BigInt(ts);
}

/** The funding index a transaction at `ts` sees after its accrual at `price`. */
async function indexAt(f: PerpFixture, marketId: number, ts: bigint, price: bigint) {
  const mv = await f.perp.marketView(marketId);
  const elapsed = ts - mv.lastFundingTime;
  return elapsed === 0n ? mv.fundingIndex : accrue(mv.fundingIndex, mv.fundingRate, elapsed, price);
}

/** PerpMarket._sidePnl from the positions themselves (the market's sums are sums over them). */
function sidePnl(positions: Raw[], price: bigint, index: bigint) {
  let longOI = 0n,
    shortOI = 0n,
    longEntry = 0n,
    shortEntry = 0n,
    longFunding = 0n,
    shortFunding = 0n;
  for (const p of positions) {
    if (p.size === 0n) continue;
    const a = abs(p.size);
    const entryPart = mulDivDown(a, p.entry, WAD);
    const fundingPart = (a * p.index) / WAD;
    if (p.size > 0n) {
      longOI += a;
      longEntry += entryPart;
      longFunding += fundingPart;
    } else {
      shortOI += a;
      shortEntry += entryPart;
      shortFunding += fundingPart;
    }
  }
  const longPnl = (price * longOI) / WAD - longEntry - ((index * longOI) / WAD - longFunding);
  const shortPnl = shortEntry - (price * shortOI) / WAD + ((index * shortOI) / WAD - shortFunding);
  return { longPnl, shortPnl };
}

/** PerpMarket._adlScore. */
function adlScore(margin: bigint, p: Raw, price: bigint, pnl: bigint) {
  const equity = margin + pnl;
  if (equity <= 0n) return MAX;
  const a = abs(p.size);
  const entryNotional = mulDivUp(a, p.entry, WAD);
  const notional = mulDivDown(a, price, WAD);
  return mulDivDown(mulDivDown(pnl * USD_PER_UNIT, WAD, entryNotional), notional, equity * USD_PER_UNIT);
}

/** PerpMath.adlPrice: entry + (price - entry) x paid / profit, truncated toward zero. */
const adlPrice = (entry: bigint, price: bigint, paid: bigint, profit: bigint) =>
  entry + ((price - entry) * paid) / profit;

interface Deleverage {
  account: string;
  size: bigint;
  price: bigint;
  pnl: bigint;
  haircut: bigint;
  score: bigint;
  paid: bigint;
  haircutRate: bigint;
}

type Plan =
  | { revert: string; args: unknown[] }
  | {
      revert?: undefined;
      closed: number;
      events: Deleverage[];
      capital: bigint;
      limit0: bigint;
      profit0: bigint;
    };

/** PerpMarket._payCapacity: capital plus what is owed (USD WAD, when positive) in base units, floored at 0. */
function payCapacity(capital: bigint, owedUsd: bigint): bigint {
  const c = capital + (owedUsd > 0n ? owedUsd / USD_PER_UNIT : 0n);
  return c > 0n ? c : 0n;
}

/**
 * PerpMarket.adl run in TypeScript at timestamp `ts`: the holders are every account with a position in
 * the market (their positions and margins are read now, before the call).
 */
async function planAdl(
  f: PerpFixture,
  marketId: number,
  list: string[],
  holders: string[],
  ts: bigint,
): Promise<Plan> {
  const price = (await f.router.peek(f.assets.WETH.address))[0];
  const index = await indexAt(f, marketId, ts, price);
  const pos = new Map<string, Raw>();
  const margin = new Map<string, bigint>();
  for (const h of new Set([...holders, ...list])) {
    pos.set(h, await rawPosition(f, h, marketId));
    margin.set(h, (await f.perp.marginOf(h)).margin);
  }
  let capital = (await f.perp.pool())[0];
  let previous = MAX;
  const events: Deleverage[] = [];
  let profit0 = 0n,
    limit0 = 0n;
  for (let i = 0; i < list.length; i++) {
    const { longPnl, shortPnl } = sidePnl([...pos.values()], price, index);
    const longsWin = longPnl >= shortPnl;
    const profit = longsWin ? longPnl : shortPnl;
    // What the pool can pay the winners: its capital plus what the losing side owes it.
    const cap = payCapacity(capital, -(longsWin ? shortPnl : longPnl)) * USD_PER_UNIT;
    const limit = wMulDown(cap, ADL_PNL_FACTOR);
    if (i === 0) [profit0, limit0] = [profit, limit];
    if (profit <= limit) {
      if (i === 0) return { revert: "AdlNotTriggered", args: [BigInt(marketId), profit, limit] };
      break;
    }
    const h = profit > cap ? WAD - mulDivDown(cap, WAD, profit) : 0n;
    const account = list[i];
    const p = pos.get(account)!;
    if (p.size === 0n) return { revert: "NoPosition", args: [account, BigInt(marketId)] };
    const pnl = positionValue(p.size, p.entry, p.index, price, index);
    if (p.size > 0n !== longsWin || pnl <= 0n) return { revert: "AdlNotProfitable", args: [account, pnl] };
    const score = adlScore(margin.get(account)!, p, price, pnl);
    if (score > previous) return { revert: "AdlOutOfOrder", args: [account, score, previous] };
    previous = score;
    // Never more than the pool can pay once this position is out of the sums (the rate is on the side's
    // net profit): its capital plus what the remaining traders owe it net.
    const rest = sidePnl(
      [...pos.entries()].filter(([a]) => a !== account).map(([, q]) => q),
      price,
      index,
    );
    const available = payCapacity(capital, -(rest.longPnl + rest.shortPnl));
    const byRate = mulDivDown(pnl, WAD - h, WAD);
    const paid = byRate < available ? byRate : available;
    events.push({
      account,
      size: p.size,
      price: adlPrice(p.entry, price, paid, pnl),
      pnl,
      haircut: pnl - paid,
      score,
      paid,
      haircutRate: h,
    });
    pos.set(account, { size: 0n, entry: 0n, index: 0n });
    margin.set(account, margin.get(account)! + paid);
    capital -= paid;
  }
  return { closed: events.length, events, capital, limit0, profit0 };
}

/**
 * Runs adl(marketId, list) at a pinned timestamp and checks it against `planAdl`: the revert and its
 * arguments, or the returned count, every Deleveraged event (and no other), the margins, the positions,
 * the pool capital, totalAdlHaircut, the untouched holders and the books. Returns the plan.
 */
async function expectAdl(f: PerpFixture, list: string[], holders: string[], caller?: HardhatEthersSigner) {
  const perp = f.perp.connect(caller ?? f.actors.keeper);
  const ts = await pin();
  const plan = await planAdl(f, f.ETH, list, holders, ts);
  if (plan.revert !== undefined) {
    await expect(perp.adl(f.ETH, list))
      .to.be.revertedWithCustomError(f.perp, plan.revert)
      .withArgs(...plan.args);
    return plan;
  }
  expect(await perp.adl.staticCall(f.ETH, list, { blockTag: "pending" }), "returned count").to.equal(
    BigInt(plan.closed),
  );
  const before = new Map<string, { margin: bigint; raw: Raw }>();
  for (const h of new Set([...holders, ...list])) {
    before.set(h, { margin: (await f.perp.marginOf(h)).margin, raw: await rawPosition(f, h, f.ETH) });
  }
  const haircut0 = await f.perp.totalAdlHaircut();
  const [capital0, pending0] = await f.perp.pool();

  const tx = perp.adl(f.ETH, list);
  for (const e of plan.events) {
    await expect(tx)
      .to.emit(f.perp, "Deleveraged")
      .withArgs(e.account, f.ETH, e.size, e.price, e.pnl, e.haircut, e.score);
  }
  const receipt = await (await tx).wait();
  const emitted = receipt!.logs
    .map((l) => f.perp.interface.parseLog(l))
    .filter((l) => l?.name === "Deleveraged")
    .map((l) => l!.args.account as string);
  expect(emitted, "Deleveraged, in list order, for the closed positions only").to.deep.equal(
    plan.events.map((e) => e.account),
  );

  const paid = plan.events.reduce((s, e) => s + e.paid, 0n);
  const cut = plan.events.reduce((s, e) => s + e.haircut, 0n);
  const [capital1, pending1] = await f.perp.pool();
  expect(capital1, "pool capital pays exactly what was paid").to.equal(capital0 - paid);
  expect(capital1).to.equal(plan.capital);
  expect(pending1).to.equal(pending0);
  expect(await f.perp.totalAdlHaircut(), "totalAdlHaircut").to.equal(haircut0 + cut);
  for (const [h, b] of before) {
    const e = plan.events.find((x) => x.account === h);
    const [margin, mask] = await f.perp.marginOf(h);
    const raw = await rawPosition(f, h, f.ETH);
    if (e) {
      expect(margin, `margin of ${h}`).to.equal(b.margin + e.paid);
      expect(raw.size, `position of ${h} closed`).to.equal(0n);
      expect(mask & (1n << BigInt(f.ETH)), `${h} left the market`).to.equal(0n);
    } else {
      expect(margin, `margin of untouched ${h}`).to.equal(b.margin);
      expect(raw, `position of untouched ${h}`).to.deep.equal(b.raw);
    }
  }
  await expectPerpBooks(f, [
    ...new Set([...holders, ...list, ...Object.values(f.actors).map((a) => a.address)]),
  ]);
  return plan;
}

const must = (p: Plan) => {
  if (p.revert !== undefined) throw new Error(`unexpected ${p.revert}`);
  return p;
};

/** Opens `delta` of ETH for `who` after depositing `margin`, at no price limit. */
async function trade(f: PerpFixture, who: HardhatEthersSigner, margin: bigint, delta: bigint) {
  await f.perp.connect(who).depositMargin(margin, who.address);
  await f.perp.connect(who).modifyPosition(f.ETH, delta, delta > 0n ? MAX : 0n);
}

/**
 * The insolvent scenario. A small pool (200,000 USDC), an empty insurance fund. At 1,900: eve shorts 100
 * ETH and the stranger goes long 10. At 3,000: shorts bob (100 ETH, ~10x), carol (20 ETH, ~1.5x) and dave
 * (250 ETH, ~19x); alice goes long 400 ETH at ~19x. Then ETH gaps to 2,100 (-30%) in one step: the shorts
 * from 3,000 win ~333,000, eve loses ~20,000, the stranger's long is up ~2,000, alice is ~298,000 under.
 */
async function insolventScenario() {
  const f = await loadPerps();
  const { lp, alice, bob, carol, dave, stranger } = f.actors;
  const eve = (await ethers.getSigners())[8];
  await fund(f, eve, u(100_000_000));
  await f.vault.connect(lp).deposit(u(200_000), lp.address);

  await setEth(f, 1900);
  await trade(f, eve, u(150_000), -size(100));
  await trade(f, stranger, u(10_000), size(10));
  await setEth(f, 3000);
  await trade(f, bob, u(30_000), -size(100));
  await trade(f, carol, u(40_000), -size(20));
  await trade(f, dave, u(40_000), -size(250));
  await trade(f, alice, u(62_000), size(400));
  await setEth(f, 2100);
  const holders = [alice, bob, carol, dave, eve, stranger].map((s) => s.address);
  return { f, eve, holders };
}

/** The insolvent scenario after alice's liquidation: its deficit is socialised, the pool is short. */
async function afterLiquidation() {
  const s = await insolventScenario();
  const { f } = s;
  const { alice, keeper } = f.actors;
  expect(await f.insuranceFund.totalAssets(), "insurance fund empty").to.equal(0n);
  const [capital0, pending0] = await f.perp.pool();
  const tx = await f.perp.connect(keeper).liquidate(alice.address);
  const receipt = await tx.wait();
  const deficitLog = receipt!.logs
    .map((l) => f.perp.interface.parseLog(l))
    .find((l) => l?.name === "DeficitRealised")!;
  const deficit = deficitLog.args.deficit as bigint;
  expect(deficitLog.args.fromReserves, "pending insurance fees go first").to.equal(pending0);
  expect(deficitLog.args.fromInsurance, "nothing from the empty fund").to.equal(0n);
  expect(deficitLog.args.socialised, "the rest is socialised").to.equal(deficit - pending0);
  const liq = receipt!.logs
    .map((l) => f.perp.interface.parseLog(l))
    .find((l) => l?.name === "PositionLiquidated")!;
  expect((await f.perp.pool())[0], "capital: + alice's realised loss - socialised deficit").to.equal(
    capital0 - (liq.args.realisedPnl as bigint) - (deficit - pending0),
  );
  return { ...s, deficit };
}

describe("perps: adl", function () {
  describe("adl: arguments and preconditions", function () {
    it("adl: reverts with AdlNotTriggered (side profit, limit) while the winning side's profit is within adlPnlFactor x capacity (capital plus the losing side's loss)", async function () {
      const f = await loadPerps();
      const { lp, alice, bob } = f.actors;
      await f.vault.connect(lp).deposit(u(1_000_000), lp.address);
      await trade(f, bob, u(30_000), -size(100));
      await trade(f, alice, u(10_000), size(20));
      await setEth(f, 2700);
      const plan = await expectAdl(f, [bob.address], [alice.address, bob.address]);
      expect(plan.revert).to.equal("AdlNotTriggered");
      // The shorts win ~24,000 USD against a limit of half the ~1,000,000 capital.
      const [, profit, limit] = (plan as { args: bigint[] }).args;
      expect(profit).to.be.gt(wad(23_000));
      expect(limit).to.be.gt(wad(500_000));
    });

    it("adl: reverts with AdlNotTriggered when no one holds a position (zero profit, zero capital)", async function () {
      const f = await loadPerps();
      await expect(f.perp.adl(f.ETH, [f.actors.alice.address]))
        .to.be.revertedWithCustomError(f.perp, "AdlNotTriggered")
        .withArgs(f.ETH, 0n, 0n);
    });

    it("adl: reverts with MarketNotListed for an unknown market", async function () {
      const f = await loadPerps();
      const count = await f.perp.marketCount();
      await expect(f.perp.adl(count, []))
        .to.be.revertedWithCustomError(f.perp, "MarketNotListed")
        .withArgs(count);
    });

    it("adl: reverts with AdlNotProfitable for a losing position on the winning side", async function () {
      const { f, eve, holders } = await afterLiquidation();
      const plan = await expectAdl(f, [eve.address], holders);
      expect(plan.revert).to.equal("AdlNotProfitable");
      expect((plan as { args: bigint[] }).args[1], "eve's short from 1,900 loses").to.be.lt(0n);
    });

    it("adl: reverts with AdlNotProfitable for a position on the losing side, in profit or not", async function () {
      const { f, holders } = await insolventScenario();
      const { alice, stranger } = f.actors;
      // The stranger's long from 1,900 is in profit, but the longs lose.
      let plan = await expectAdl(f, [stranger.address], holders);
      expect(plan.revert).to.equal("AdlNotProfitable");
      expect((plan as { args: bigint[] }).args[1]).to.be.gt(0n);
      // alice's long loses (before her liquidation).
      plan = await expectAdl(f, [alice.address], holders);
      expect(plan.revert).to.equal("AdlNotProfitable");
      expect((plan as { args: bigint[] }).args[1]).to.be.lt(0n);
    });

    it("adl: reverts with NoPosition for an account without a position, or listed twice", async function () {
      const { f, holders } = await afterLiquidation();
      const { lp, dave, alice } = f.actors;
      let plan = await expectAdl(f, [lp.address], holders);
      expect(plan).to.deep.equal({ revert: "NoPosition", args: [lp.address, BigInt(f.ETH)] });
      plan = await expectAdl(f, [alice.address], holders); // liquidated: no position left
      expect(plan).to.deep.equal({ revert: "NoPosition", args: [alice.address, BigInt(f.ETH)] });
      plan = await expectAdl(f, [dave.address, dave.address], holders);
      expect(plan).to.deep.equal({ revert: "NoPosition", args: [dave.address, BigInt(f.ETH)] });
    });

    it("adl: reverts with AdlOutOfOrder (score, previous score) when the list is not in non-increasing adlScore order", async function () {
      const { f, holders } = await afterLiquidation();
      const { bob, dave } = f.actors;
      const ts = await pin();
      const scoreOf = (a: string) => f.perp.adlScore(a, f.ETH, { blockTag: "pending" });
      const [bobScore, daveScore] = [await scoreOf(bob.address), await scoreOf(dave.address)];
      expect(daveScore, "dave (~19x) ranks above bob (~10x)").to.be.gt(bobScore);
      // The mirror agrees with the contract's scores at that timestamp.
      const plan = await planAdl(f, f.ETH, [bob.address, dave.address], holders, ts);
      expect(plan).to.deep.equal({ revert: "AdlOutOfOrder", args: [dave.address, daveScore, bobScore] });
      await expect(f.perp.connect(f.actors.keeper).adl(f.ETH, [bob.address, dave.address]))
        .to.be.revertedWithCustomError(f.perp, "AdlOutOfOrder")
        .withArgs(dave.address, daveScore, bobScore);
    });
  });

  describe("adl: the insolvent pool (haircut)", function () {
    it("adl: after a gap and a socialised liquidation deficit, closes only the profitable shorts, in score order, paying profit x (1 - h) with h = 1 - capital / profit", async function () {
      const { f, eve, holders } = await afterLiquidation();
      const { bob, carol, dave, stranger } = f.actors;

      // Winners are owed more than the pool holds: the shorts' profit exceeds the capital.
      const [capital] = await f.perp.pool();
      const [longPnl, shortPnl] = await f.perp.sidePnl(f.ETH);
      expect(shortPnl, "shorts win").to.be.gt(longPnl);
      expect(shortPnl, "more than the pool holds").to.be.gt(capital * USD_PER_UNIT);
      expect(await f.perp.lpAssets(), "LPs are wiped out at these prices").to.equal(0n);

      // The list, sorted by the contract's own scores at the ADL's timestamp.
      const candidates = [bob, carol, dave].map((s) => s.address);
      const ts = await pin();
      const scores = new Map<string, bigint>();
      for (const a of candidates) scores.set(a, await f.perp.adlScore(a, f.ETH, { blockTag: "pending" }));
      expect(await f.perp.adlScore(eve.address, f.ETH), "a losing position scores zero").to.equal(0n);
      const sorted = [...candidates].sort((a, b) => (scores.get(b)! > scores.get(a)! ? 1 : -1));
      expect(sorted, "dave (~19x), bob (~10x), carol (~1.5x)").to.deep.equal(
        [dave, bob, carol].map((s) => s.address),
      );
      const list = sorted.slice(0, 2); // the two most leveraged winners

      const plan = must(await planAdl(f, f.ETH, list, holders, ts));
      for (const e of plan.events)
        expect(e.score, "the mirror's score is the contract's").to.equal(scores.get(e.account));
      const h = plan.events[0].haircutRate;
      expect(h).to.equal(WAD - mulDivDown(capital * USD_PER_UNIT, WAD, plan.profit0));
      expect(h).to.be.gt(wad(0.1));
      expect(h).to.be.lt(wad(0.25));
      // Each close keeps capital / profit, so the second winner gets the same rate (up to the base-unit
      // rounding of the payment and of the PnL removed from the side: ~1e-10).
      expect(plan.events[1].haircutRate).to.be.closeTo(h, 10n ** 8n);

      const done = must(await expectAdl(f, list, holders));
      expect(done.closed).to.equal(2);
      expect(done.events.map((e) => e.account)).to.deep.equal([dave.address, bob.address]);
      for (const e of done.events) {
        expect(e.haircut, "profit withheld").to.be.gt(0n);
        expect(
          e.price,
          "the event price realises the paid profit: between the oracle and the entry",
        ).to.be.gt(px(2100));
      }
      // Carol, eve and the stranger are untouched (also checked in expectAdl).
      expect((await f.perp.positionView(carol.address, f.ETH)).size).to.equal(-size(20));
      expect((await f.perp.positionView(eve.address, f.ETH)).size).to.equal(-size(100));
      expect((await f.perp.positionView(stranger.address, f.ETH)).size).to.equal(size(10));
    });

    it("adl: one call per winner gives the same haircut rate as one call for all (capital / profit is kept by each close)", async function () {
      const { f, holders } = await afterLiquidation();
      const { bob, dave } = f.actors;
      const first = must(await expectAdl(f, [dave.address], holders));
      expect(first.closed).to.equal(1);
      const second = must(await expectAdl(f, [bob.address], holders));
      expect(second.closed).to.equal(1);
      // A second later funding has moved the side's profit by a hair: the rate agrees to 1e-9.
      expect(second.events[0].haircutRate).to.be.closeTo(first.events[0].haircutRate, 10n ** 9n);
    });

    it("adl: stops once the trigger no longer holds: every winner of a side without losers closed, the rest of the list untouched", async function () {
      // No losing short here (eve stays out) and no profitable long (the stranger stays out).
      const f = await loadPerps();
      const { lp, alice, bob, carol, dave, keeper } = f.actors;
      await f.vault.connect(lp).deposit(u(200_000), lp.address);
      await trade(f, bob, u(30_000), -size(100));
      await trade(f, carol, u(40_000), -size(20));
      await trade(f, dave, u(40_000), -size(250));
      await trade(f, alice, u(62_000), size(400));
      await setEth(f, 2100);
      await f.perp.connect(keeper).liquidate(alice.address);
      const holders = [alice, bob, carol, dave].map((s) => s.address);

      // dave, bob, carol close with a haircut; then the side has no profit left: the stranger at the
      // end of the list is not even looked at (it has no position, which would revert NoPosition).
      const list = [dave, bob, carol, f.actors.stranger].map((s) => s.address);
      const done = must(await expectAdl(f, list, holders));
      expect(done.closed).to.equal(3);
      expect(done.events[0].haircutRate).to.be.gt(0n);
      const [capital] = await f.perp.pool();
      expect(capital, "the pool paid out all it had, to the base unit's rounding").to.be.gte(0n);
      expect(capital).to.be.lt(10n);
      expect((await f.perp.marketView(f.ETH)).shortOI).to.equal(0n);
    });

    it("adl: never pays the winners more than the pool can pay (its capital plus what the remaining losers owe), even with a losing position on the winning side", async function () {
      // Regression: h is computed from the side's NET profit (sidePnl: winners' profits minus the losses of
      // the side's losing positions) but applied to each winner's GROSS profit, so the winners together
      // could be paid more than the pool had. Each payment is capped by what the pool can pay: its capital
      // plus what the market's remaining traders owe it net (the losing position's margin backs that), so
      // capital may go below zero only by what the loser still owes.
      const { f, holders } = await afterLiquidation();
      const { bob, dave } = f.actors;
      must(await expectAdl(f, [dave.address, bob.address], holders));
      const [capital] = await f.perp.pool();
      const [longPnl, shortPnl] = await f.perp.sidePnl(f.ETH);
      const owed = -(longPnl + shortPnl);
      expect(owed, "the losing short still owes the pool").to.be.gt(0n);
      expect(capital * USD_PER_UNIT + owed, "capital + what the remaining traders owe").to.be.gte(0n);
      expect(capital, "below zero by no more than what is owed").to.be.gte(-(owed / USD_PER_UNIT));
    });
  });

  describe("adl: the solvent pool (no haircut)", function () {
    it("adl: with the pool able to pay the side (h = 0), closes at the oracle price with the full profit, and stops once the trigger no longer holds", async function () {
      const f = await loadPerps();
      const { lp, bob, carol, dave } = f.actors;
      await f.vault.connect(lp).deposit(u(300_000), lp.address);
      await trade(f, bob, u(30_000), -size(100));
      await trade(f, dave, u(15_000), -size(80));
      await trade(f, carol, u(20_000), -size(20));
      await setEth(f, 2000);
      const holders = [bob, carol, dave].map((s) => s.address);

      const ts = await pin();
      const plan = must(await planAdl(f, f.ETH, [dave.address, bob.address, carol.address], holders, ts));
      const [capital] = await f.perp.pool();
      expect(plan.profit0, "triggered").to.be.gt(plan.limit0);
      expect(plan.profit0, "the pool can pay it all").to.be.lte(capital * USD_PER_UNIT);
      expect(plan.closed, "dave, bob, then carol's 20,000 is under half of the 120,000 left").to.equal(2);
      const done = must(await expectAdl(f, [dave.address, bob.address, carol.address], holders));
      for (const e of done.events) {
        expect(e.haircutRate).to.equal(0n);
        expect(e.haircut, "no haircut").to.equal(0n);
        expect(e.paid, "the full profit").to.equal(e.pnl);
        expect(e.price, "at the oracle price").to.equal(px(2000));
      }
      expect(await f.perp.totalAdlHaircut()).to.equal(0n);
      expect((await f.perp.positionView(carol.address, f.ETH)).size).to.equal(-size(20));
    });
  });
});
