/**
 * Rounding never favours the caller (invariant 9): repeated tiny or awkward-sized actions cannot extract
 * value. In every property an attacker with a starting balance performs many round trips (dust of 1 to 10
 * base units or wei, awkward amounts such as 10^k +- 3, and random amounts) and, after every action:
 * - its total value, valued conservatively (token balance plus what it could withdraw or redeem now, rounded
 *   down, minus what it owes, rounded up), is at most what it started with;
 * - where there are shares (lending supply, the LP vault, the insurance fund), the price of the other
 *   holders' shares never falls (compared with the virtual shares and assets each contract uses);
 * and at the end it exits completely, its token balance is at most its start, and the protocol's books
 * balance (expectConservation for lending, expectPerpBooks for perps).
 *
 * 1. Lending supply: supply then withdraw everything, or an exact amount, repeated, after interest moved the
 *    supply share price away from 1 (a borrower paid interest for a random time, then repaid);
 *    supply once then withdraw in many tiny slices.
 * 1c. Lending borrow: tiny borrows and repayments while a background borrower keeps interest accruing (the
 *    borrow share price is not 1 either); value = balance - debt (rounded up, to the latest block).
 * 2. Lending collateral: dust supplyCollateral / withdrawCollateral of every collateral, with and without a
 *    loan: collateral moves exactly, never a unit more.
 * 3. Perps: round trips of dust and awkward sizes (open, increase, reduce, flip, close), alone or against a
 *    background skew; each round trip's PnL and funding sum to at most zero (fills and PnL round against
 *    the trader), so the margin falls by at least the fees, and every fee is at least one base unit.
 * 4. LiquidityVault (ERC-4626): deposit / mint / withdraw / redeem with dust, after a trader's profit or loss
 *    moved the share price away from 1; every preview equals OpenZeppelin's formula with 1e6 virtual shares,
 *    rounded in the vault's favour (previewDeposit and previewRedeem down, previewMint and previewWithdraw
 *    up), and every action does what its preview said.
 * 5. InsuranceFund: stake and unstake (request, cooldown, unstake) dust round trips after top-ups moved the
 *    share price.
 *
 * Each property runs 3 times by default (60 to 100 actions a run, about 20 s for the file; once under
 * COVERAGE=1); FUZZ_RUNS
 * overrides the number of runs of every property, FUZZ_SEED replays a failure (fast-check prints the seed),
 * FUZZ_SHRINK=1 shrinks a failure (slow: every attempt replays its whole sequence).
 */
import hre, { ethers } from "hardhat";
import { expect } from "chai";
import fc from "fast-check";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionReceipt, ContractTransactionResponse } from "ethers";

import { localConfig } from "../../deploy/config";
import { deploySystem } from "../../deploy/deploySystem";
import { toUnits } from "../../deploy/units";
import { expectConservation } from "../helpers/conservation";
import type { Fixture } from "../helpers/fixture";
import { mulDivDown, mulDivUp, toAssetsDown, VIRTUAL_ASSETS, VIRTUAL_SHARES } from "../helpers/math";
import { expectPerpBooks, loadPerps, setEth } from "../helpers/perps";

const FUZZ_RUNS = process.env.FUZZ_RUNS === undefined ? undefined : Number(process.env.FUZZ_RUNS);
const FUZZ_SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const options = (runs: number) => ({
  // Under coverage (18x slower) one run each: the unit tests cover the branches; this keeps the property live.
  numRuns: FUZZ_RUNS ?? (process.env.COVERAGE ? 1 : runs),
  seed: FUZZ_SEED,
  endOnFailure: process.env.FUZZ_SHRINK !== "1",
});

const MAX = ethers.MaxUint256;
const u = (v: number | string) => toUnits(v, 6);
const DAY = 86_400;
const min = (a: bigint, b: bigint) => (a < b ? a : b);

/* AMOUNTS */

/** 1 to 10 base units (or wei). */
const dust = fc.bigInt({ min: 1n, max: 10n });
/** 10^k + d for k in [1, digits], d in [-3, 3]. */
const awkward = (digits: number) =>
  fc
    .tuple(fc.integer({ min: 1, max: digits }), fc.integer({ min: -3, max: 3 }))
    .map(([k, d]) => 10n ** BigInt(k) + BigInt(d));
/** Mostly dust, then awkward, small and random amounts up to `max`. */
const amount = (max: bigint) =>
  fc.oneof(
    { weight: 4, arbitrary: dust },
    { weight: 2, arbitrary: awkward(max.toString().length - 1) },
    { weight: 2, arbitrary: fc.bigInt({ min: 1n, max: 1_000n }) },
    { weight: 1, arbitrary: fc.bigInt({ min: 1n, max }) },
  );

/* TRANSACTIONS */

function errorName(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const custom = /reverted with custom error '(\w+)\(/.exec(message);
  if (custom) return custom[1];
  return `unexpected: ${message}`;
}

/** Per-property counts, printed after each property. */
let STATS: Record<string, number> = {};
const count = (key: string, by: number | bigint = 1) => (STATS[key] = (STATS[key] ?? 0) + Number(by));
function report() {
  console.log(`      ${JSON.stringify(STATS)}`);
  STATS = {};
}

/** Sends a transaction: the receipt, or the name of an allowed custom error (anything else fails). */
async function attempt(
  label: string,
  allowed: string[],
  send: () => Promise<ContractTransactionResponse>,
): Promise<ContractTransactionReceipt | string> {
  count("actions");
  try {
    const receipt = (await (await send()).wait())!;
    count(`${label} ok`);
    return receipt;
  } catch (e) {
    const name = errorName(e);
    if (!allowed.includes(name)) throw new Error(`${label}: unexpected revert ${name}`);
    count(`${label} reverted ${name}`);
    return name;
  }
}

/** a/b >= c/d for positive denominators. */
const ratioGte = (a: bigint, b: bigint, c: bigint, d: bigint) => a * d >= c * b;

/* LENDING */

interface LendingWorld {
  f: Fixture;
  lp: HardhatEthersSigner;
  borrower: HardhatEthersSigner;
  attacker: HardhatEthersSigner;
}

/** 1M supplied by an LP, a borrower with 1,000 WETH of collateral, an attacker funded in every token. */
async function lendingWorld(): Promise<LendingWorld> {
  const system = await deploySystem(hre, localConfig());
  const signers = await ethers.getSigners();
  const [admin, alice, keeper, stranger, lp, borrower, attacker] = signers;
  const f: Fixture = { ...system, actors: { admin, alice, keeper, stranger } };
  const { market } = f.lending!;
  const m = await market.getAddress();
  for (const who of [lp, borrower, attacker]) {
    await f.base.token!.mint(who.address, u(100_000_000));
    await f.base.token!.connect(who).approve(m, MAX);
  }
  for (const who of [borrower, attacker]) {
    for (const asset of Object.values(f.assets)) {
      await asset.token!.mint(who.address, toUnits(1_000, asset.decimals));
      await asset.token!.connect(who).approve(m, MAX);
    }
  }
  await market.connect(lp).supply(u(1_000_000), lp.address);
  await market
    .connect(borrower)
    .supplyCollateral(f.assets.WETH.address, toUnits(1_000, 18), borrower.address);
  return { f, lp, borrower, attacker };
}

/** Fresh rounds at the same prices: a slow run (coverage) can outlive a heartbeat since the fixture was made. */
async function refreshFeeds(f: Pick<Fixture, "assets">) {
  for (const asset of Object.values(f.assets)) {
    await asset.primaryFeed.mock!.setPrice(await asset.primaryFeed.mock!.marketAnswer());
    if (asset.fallbackFeed)
      await asset.fallbackFeed.mock!.setPrice(await asset.fallbackFeed.mock!.marketAnswer());
  }
}

/**
 * The background borrower borrows `pct`% of the supply for `days`, so that interest moves the supply share
 * price away from 1; with `repay` it then repays everything (no borrow left: no interest accrues during the
 * attack, whose gains would then be interest, not rounding).
 */
async function accrue(w: LendingWorld, pct: number, days: number, repay: boolean) {
  const { market } = w.f.lending!;
  await market.connect(w.borrower).borrow((u(1_000_000) * BigInt(pct)) / 100n, w.borrower.address);
  await time.increase(days * DAY);
  await refreshFeeds(w.f);
  if (repay) {
    await market.connect(w.borrower).repay(MAX, w.borrower.address);
    expect((await market.totals())[2], "nothing borrowed: no interest during the attack").to.equal(0n);
  } else {
    await market.accrueInterest();
  }
  const [supplyAssets, supplyShares] = await market.totals();
  expect(supplyAssets * VIRTUAL_SHARES, "the supply share price is above 1").to.be.gt(supplyShares);
}

/** The value of 1e24 supply shares (what a withdrawal pays for them), from the stored totals. */
async function supplyPrice(w: LendingWorld) {
  const [supplyAssets, supplyShares] = await w.f.lending!.market.totals();
  return toAssetsDown(10n ** 24n, supplyAssets, supplyShares);
}

/** The attacker's base balance plus what its supply shares withdraw now, rounded down, minus its debt. */
async function lendingValue(w: LendingWorld) {
  const { market } = w.f.lending!;
  const [balance, view] = await Promise.all([
    w.f.base.erc20.balanceOf(w.attacker.address),
    market.accountView(w.attacker.address),
  ]);
  return balance + view.supplyAssets - view.debt;
}

/** Checks after every lending action: the attacker gained nothing, the other suppliers lost nothing. */
async function checkLending(w: LendingWorld, start: bigint, price: { last: bigint }, label: string) {
  const value = await lendingValue(w);
  expect(value, `${label}: the attacker's value (${value}) exceeds its start (${start})`).to.be.lte(start);
  const now = await supplyPrice(w);
  expect(now, `${label}: the supply share price fell`).to.be.gte(price.last);
  price.last = now;
}

type SupplyAction = { kind: "supply"; amount: bigint } | { kind: "withdraw"; amount: bigint | "all" };

async function runSupplyAction(w: LendingWorld, a: SupplyAction) {
  const { market } = w.f.lending!;
  const who = w.attacker;
  if (a.kind === "supply") {
    await attempt("supply", ["ZeroShares"], () => market.connect(who).supply(a.amount, who.address));
  } else {
    let amount = a.amount === "all" ? MAX : a.amount;
    if (a.amount !== "all") {
      // An exact amount beyond the attacker's supply asks for exactly all of it (by amount, not max).
      const { supplyAssets } = await market.accountView(who.address);
      if (amount > supplyAssets && supplyAssets > 0n) amount = supplyAssets;
    }
    await attempt(
      `withdraw ${a.amount === "all" ? "all" : "exact"}`,
      ["ZeroAmount", "InsufficientShares"],
      () => market.connect(who).withdraw(amount, who.address),
    );
  }
}

/** Withdraws whatever is left, then the attacker's balance must be at most its start. */
async function exitSupply(w: LendingWorld, start: bigint) {
  const { market } = w.f.lending!;
  const left = await market.accountView(w.attacker.address);
  if (left.supplyAssets > 0n) await market.connect(w.attacker).withdraw(MAX, w.attacker.address);
  count("shares left worth nothing (summed)", (await market.accountView(w.attacker.address)).supplyShares);
  const end = await w.f.base.erc20.balanceOf(w.attacker.address);
  expect(end, "after the exit the attacker holds at most its start").to.be.lte(start);
  count("base units lost by the attacker", start - end);
  await expectConservation(w.f, [w.lp.address, w.borrower.address, w.attacker.address]);
}

/* THE PROPERTIES */

describe("rounding never favours the caller (properties)", function () {
  this.timeout(300_000);

  describe("lending", () => {
    it("1a. supply then withdraw (all or exact), repeated with dust and random amounts, share price above 1", async () => {
      const action: fc.Arbitrary<SupplyAction> = fc.oneof(
        amount(u(1_000_000)).map((x) => ({ kind: "supply" as const, amount: x })),
        fc.constant({ kind: "withdraw" as const, amount: "all" as const }),
        amount(u(1_000_000)).map((x) => ({ kind: "withdraw" as const, amount: x })),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 10, max: 90 }),
          fc.integer({ min: 1, max: 365 }),
          fc.array(action, { minLength: 60, maxLength: 60 }),
          async (pct, days, actions) => {
            const w = await loadFixture(lendingWorld);
            await accrue(w, pct, days, true);
            const start = await lendingValue(w);
            const price = { last: await supplyPrice(w) };
            for (const [i, a] of actions.entries()) {
              await runSupplyAction(w, a);
              await checkLending(w, start, price, `#${i} ${a.kind}(${a.amount})`);
            }
            await exitSupply(w, start);
          },
        ),
        options(3),
      );
      report();
    });

    it("1b. supply once, then withdraw in many tiny slices", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 10, max: 90 }),
          fc.integer({ min: 1, max: 365 }),
          fc.oneof(awkward(12), fc.bigInt({ min: u(1), max: u(1_000_000) })),
          fc.array(fc.oneof(dust, fc.bigInt({ min: 1n, max: 1_000n })), { minLength: 80, maxLength: 80 }),
          async (pct, days, supplied, slices) => {
            const w = await loadFixture(lendingWorld);
            await accrue(w, pct, days, true);
            const start = await lendingValue(w);
            const price = { last: await supplyPrice(w) };
            await runSupplyAction(w, { kind: "supply", amount: supplied });
            await checkLending(w, start, price, `supply(${supplied})`);
            for (const [i, slice] of slices.entries()) {
              await runSupplyAction(w, { kind: "withdraw", amount: slice });
              await checkLending(w, start, price, `#${i} withdraw(${slice})`);
            }
            await exitSupply(w, start);
          },
        ),
        options(3),
      );
      report();
    });

    it("1c. tiny borrows and repayments while interest accrues (borrow share price above 1)", async () => {
      const action = fc.tuple(fc.boolean(), amount(u(1_000)));
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 10, max: 80 }),
          fc.integer({ min: 1, max: 365 }),
          fc.array(action, { minLength: 60, maxLength: 60 }),
          async (pct, days, actions) => {
            const w = await loadFixture(lendingWorld);
            await accrue(w, pct, days, false);
            const { market } = w.f.lending!;
            const [, , borrowAssets, borrowShares] = await market.totals();
            expect(borrowAssets * VIRTUAL_SHARES, "the borrow share price is above 1").to.be.gt(borrowShares);
            const who = w.attacker;
            await market.connect(who).supplyCollateral(w.f.assets.WETH.address, toUnits(10, 18), who.address);
            const start = await lendingValue(w);
            const price = { last: await supplyPrice(w) };
            await market.connect(who).borrow(u(100), who.address); // minBorrow
            await checkLending(w, start, price, "borrow(minBorrow)");
            for (const [i, [isBorrow, x]] of actions.entries()) {
              if (isBorrow) {
                await attempt("borrow", ["BelowMinBorrow"], () => market.connect(who).borrow(x, who.address));
              } else {
                await attempt("repay", ["NothingToRepay"], () => market.connect(who).repay(x, who.address));
              }
              await checkLending(w, start, price, `#${i} ${isBorrow ? "borrow" : "repay"}(${x})`);
            }
            if ((await market.accountView(who.address)).borrowShares > 0n)
              await market.connect(who).repay(MAX, who.address);
            const end = await w.f.base.erc20.balanceOf(who.address);
            expect(end, "after repaying everything the attacker holds at most its start").to.be.lte(start);
            count("base units lost by the attacker (interest included)", start - end);
            await expectConservation(w.f, [w.lp.address, w.borrower.address, who.address]);
          },
        ),
        options(3),
      );
      report();
    });

    it("2. supplyCollateral / withdrawCollateral dust, with and without a loan", async () => {
      const symbols = ["WETH", "WBTC", "EURC"] as const;
      const action = fc.record({
        sym: fc.constantFrom(...symbols),
        supply: fc.boolean(),
        amount: fc.oneof(dust, awkward(6)),
        all: fc.boolean(),
      });
      await fc.assert(
        fc.asyncProperty(
          fc.boolean(),
          fc.array(action, { minLength: 60, maxLength: 60 }),
          async (loan, actions) => {
            const w = await loadFixture(lendingWorld);
            const { market } = w.f.lending!;
            const who = w.attacker;
            if (loan) {
              // Enough collateral for a minimum loan, so that every withdrawal runs the health check.
              await market
                .connect(who)
                .supplyCollateral(w.f.assets.WETH.address, toUnits("0.05", 18), who.address);
              await market.connect(who).borrow(u(100), who.address);
            }
            const tokens = symbols.map((s) => w.f.assets[s]);
            const held = async () =>
              Promise.all(
                tokens.map(async (t) => {
                  const [balance, posted] = await Promise.all([
                    t.token!.balanceOf(who.address),
                    market.collateralOf(who.address, t.address),
                  ]);
                  return balance + posted;
                }),
              );
            const start = await held();
            const debt = (await market.accountView(who.address)).borrowShares;
            for (const [i, a] of actions.entries()) {
              const token = w.f.assets[a.sym].address;
              if (a.supply) {
                await attempt("supplyCollateral", [], () =>
                  market.connect(who).supplyCollateral(token, a.amount, who.address),
                );
              } else {
                const posted = await market.collateralOf(who.address, token);
                const x = a.all && posted > 0n ? posted : a.amount;
                await attempt(
                  `withdrawCollateral${a.all ? " all" : ""}`,
                  ["InsufficientCollateral", "InsufficientBorrowCapacity"],
                  () => market.connect(who).withdrawCollateral(token, x, who.address),
                );
              }
              expect(await held(), `#${i}: collateral moved by exactly the amounts asked`).to.deep.equal(
                start,
              );
              expect((await market.accountView(who.address)).borrowShares, "the loan is untouched").to.equal(
                debt,
              );
            }
            // The exit: repay, take every collateral back; the balances are the start to the unit.
            if (loan) await market.connect(who).repay(MAX, who.address);
            for (const t of tokens) {
              const posted = await market.collateralOf(who.address, t.address);
              if (posted > 0n) await market.connect(who).withdrawCollateral(t.address, posted, who.address);
            }
            const balances = await Promise.all(tokens.map((t) => t.token!.balanceOf(who.address)));
            expect(balances, "after the exit every collateral is back, to the unit").to.deep.equal(start);
            await expectConservation(w.f, [w.lp.address, w.borrower.address, who.address]);
          },
        ),
        options(3),
      );
      report();
    });
  });

  describe("perps", () => {
    it("3. dust and awkward-sized round trips: PnL + funding <= 0, margin falls by at least the fees", async () => {
      // One round trip: one to three trades of dust or awkward sizes (a leg of kind 3 doubles its size, so that
      // flips happen), then back to flat by closePosition or by a trade of the opposite size.
      const roundTrip = fc.record({
        market: fc.integer({ min: 0, max: 1 }),
        legs: fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3 })), {
          minLength: 1,
          maxLength: 3,
        }),
        sizes: fc.array(amount(10n ** 16n), { minLength: 3, maxLength: 3 }),
        close: fc.boolean(),
      });
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: -1000, max: 1000 }),
          fc.integer({ min: -1000, max: 1000 }),
          fc.array(roundTrip, { minLength: 30, maxLength: 30 }),
          async (whaleEth, whaleBtc, trips) => {
            const f = await loadPerps();
            await refreshFeeds(f);
            const { lp, alice: trader, bob: whale } = f.actors;
            await f.vault.connect(lp).deposit(u(2_000_000), lp.address);
            const start = await f.base.erc20.balanceOf(trader.address);
            await f.perp.connect(trader).depositMargin(u(10_000), trader.address);
            // A background skew of up to 2,000 ETH and 100 BTC (0.2% of each skew scale): the trader's fills are
            // not at the oracle price, and the funding it pays or earns in a few seconds is far below a base unit.
            await f.perp.connect(whale).depositMargin(u(2_000_000), whale.address);
            const skews = [BigInt(whaleEth) * 2n * 10n ** 18n, (BigInt(whaleBtc) * 10n ** 18n) / 10n];
            for (const [id, s] of skews.entries())
              if (s !== 0n) await f.perp.connect(whale).modifyPosition(id, s, s > 0n ? MAX : 0n);
            const everyone = Object.values(f.actors).map((a) => a.address);

            for (const [t, trip] of trips.entries()) {
              const id = trip.market;
              const before = (await f.perp.marginOf(trader.address)).margin;
              let fees = 0n;
              let trades = 0;
              const trade = async (label: string, send: () => Promise<ContractTransactionResponse>) => {
                const r = (await attempt(label, [], send)) as ContractTransactionReceipt;
                for (const log of r.logs) {
                  const parsed = f.perp.interface.parseLog(log);
                  if (parsed?.name !== "PositionModified") continue;
                  expect(parsed.args.fee, `${label}: every fee is at least one base unit`).to.be.gte(1n);
                  fees += parsed.args.fee as bigint;
                  trades += 1;
                }
              };
              for (const [long, k] of trip.legs) {
                const delta = trip.sizes[k % 3] * (k === 3 ? 2n : 1n) * (long ? 1n : -1n);
                await trade(long ? "buy" : "sell", () =>
                  f.perp.connect(trader).modifyPosition(id, delta, long ? MAX : 0n),
                );
              }
              const { size } = await f.perp.positionView(trader.address, id);
              if (size !== 0n) {
                const limit = size > 0n ? 0n : MAX;
                await trade(trip.close ? "closePosition" : "trade back to flat", () =>
                  trip.close
                    ? f.perp.connect(trader).closePosition(id, limit)
                    : f.perp.connect(trader).modifyPosition(id, -size, limit),
                );
              }
              const after = (await f.perp.marginOf(trader.address)).margin;
              expect(trades, "every trade emitted PositionModified").to.be.gte(trip.legs.length);
              expect(
                after,
                `round trip #${t} (${trades} trades, ${fees} fees): margin ${before} -> ${after}: PnL + funding > 0`,
              ).to.be.lte(before - fees);
              count("trades", trades);
              count("fees paid", fees);
              count("lost beyond the fees", before - fees - after);
              await expectPerpBooks(f, everyone);
            }
            await f.perp.connect(trader).withdrawMargin(MAX, trader.address);
            const end = await f.base.erc20.balanceOf(trader.address);
            expect(end, "after withdrawing all margin the trader holds less than its start").to.be.lt(start);
            await expectPerpBooks(f, everyone);
          },
        ),
        options(3),
      );
      report();
    });

    it("4. LiquidityVault deposit/redeem and mint/withdraw dust after the share price moved; previews round for the vault", async () => {
      type VaultAction = { kind: "deposit" | "mint" | "withdraw" | "redeem"; amount: bigint };
      // Assets for deposit and withdraw, shares (1e6 per base unit at a price of 1) for mint and redeem.
      const action: fc.Arbitrary<VaultAction> = fc
        .oneof(
          fc.tuple(fc.constantFrom("deposit" as const, "withdraw" as const), amount(u(1_000_000))),
          fc.tuple(
            fc.constantFrom("mint" as const, "redeem" as const),
            amount(u(1_000_000) * VIRTUAL_SHARES),
          ),
        )
        .map(([kind, x]) => ({ kind, amount: x }));
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 10, max: 200 }),
          fc.integer({ min: -12, max: 12 }),
          fc.array(action, { minLength: 100, maxLength: 100 }),
          async (eth, move, actions) => {
            const f = await loadPerps();
            await refreshFeeds(f);
            const { lp, bob: trader, carol: attacker } = f.actors;
            const { vault } = f;
            await vault.connect(lp).deposit(u(1_000_000), lp.address);
            // A trader's realised profit or loss (and the fees) move the share price away from 1.
            await f.perp.connect(trader).depositMargin(u(100_000), trader.address);
            await f.perp.connect(trader).modifyPosition(f.ETH, BigInt(eth) * 10n ** 18n, MAX);
            await setEth(f, 3000 + 30 * move);
            await f.perp.connect(trader).closePosition(f.ETH, 0n);
            await setEth(f, 3000);
            const read = async () => {
              const [assets, supply] = await Promise.all([vault.totalAssets(), vault.totalSupply()]);
              return { assets, supply };
            };
            const t0 = await read();
            expect(t0.assets * VIRTUAL_SHARES, "the share price moved away from 1").to.not.equal(t0.supply);
            const value = async () =>
              (await f.base.erc20.balanceOf(attacker.address)) +
              (await vault.previewRedeem(await vault.balanceOf(attacker.address)));
            const start = await value();
            let last = t0;
            for (const [i, a] of actions.entries()) {
              const { assets: A, supply: S } = await read();
              const label = `#${i} ${a.kind}(${a.amount})`;
              // OpenZeppelin's conversions with _decimalsOffset 6: shares = assets x (S + 1e6) / (A + 1).
              const exact = {
                deposit: mulDivDown(a.amount, S + VIRTUAL_SHARES, A + VIRTUAL_ASSETS),
                mint: mulDivUp(a.amount, A + VIRTUAL_ASSETS, S + VIRTUAL_SHARES),
                withdraw: mulDivUp(a.amount, S + VIRTUAL_SHARES, A + VIRTUAL_ASSETS),
                redeem: mulDivDown(a.amount, A + VIRTUAL_ASSETS, S + VIRTUAL_SHARES),
              }[a.kind];
              const preview = await {
                deposit: () => vault.previewDeposit(a.amount),
                mint: () => vault.previewMint(a.amount),
                withdraw: () => vault.previewWithdraw(a.amount),
                redeem: () => vault.previewRedeem(a.amount),
              }[a.kind]();
              expect(preview, `${label}: preview == OpenZeppelin's formula rounded for the vault`).to.equal(
                exact,
              );
              // The rounding direction, stated without the formula: the vault never gives more than it gets.
              if (a.kind === "deposit" || a.kind === "redeem") {
                // shares for assets (deposit), assets for shares (redeem): rounded down.
                const [x, y, num, den] =
                  a.kind === "deposit"
                    ? [a.amount, preview, S + VIRTUAL_SHARES, A + VIRTUAL_ASSETS]
                    : [a.amount, preview, A + VIRTUAL_ASSETS, S + VIRTUAL_SHARES];
                expect(y * den, `${label}: rounded down`).to.be.lte(x * num);
              } else {
                // assets owed for shares (mint), shares burnt for assets (withdraw): rounded up.
                const [x, y, num, den] =
                  a.kind === "mint"
                    ? [a.amount, preview, A + VIRTUAL_ASSETS, S + VIRTUAL_SHARES]
                    : [a.amount, preview, S + VIRTUAL_SHARES, A + VIRTUAL_ASSETS];
                expect(y * den, `${label}: rounded up`).to.be.gte(x * num);
              }
              const who = attacker.address;
              const r = await attempt(
                a.kind,
                ["ERC4626ExceededMaxWithdraw", "ERC4626ExceededMaxRedeem"],
                () =>
                  a.kind === "deposit"
                    ? vault.connect(attacker).deposit(a.amount, who)
                    : a.kind === "mint"
                      ? vault.connect(attacker).mint(a.amount, who)
                      : a.kind === "withdraw"
                        ? vault.connect(attacker).withdraw(a.amount, who, who)
                        : vault.connect(attacker).redeem(a.amount, who, who),
              );
              if (typeof r !== "string") {
                for (const log of r.logs) {
                  const parsed = vault.interface.parseLog(log);
                  if (parsed?.name !== "Deposit" && parsed?.name !== "Withdraw") continue;
                  const { assets, shares } = parsed.args as unknown as { assets: bigint; shares: bigint };
                  const did = { deposit: shares, mint: assets, withdraw: shares, redeem: assets }[a.kind];
                  expect(did, `${label}: does what its preview said`).to.equal(preview);
                }
              }
              const now = await read();
              expect(
                ratioGte(
                  now.assets + VIRTUAL_ASSETS,
                  now.supply + VIRTUAL_SHARES,
                  last.assets + VIRTUAL_ASSETS,
                  last.supply + VIRTUAL_SHARES,
                ),
                `${label}: the vault's share price fell`,
              ).to.equal(true);
              last = now;
              const v = await value();
              expect(v, `${label}: the attacker's value (${v}) exceeds its start (${start})`).to.be.lte(
                start,
              );
            }
            const shares = await vault.balanceOf(attacker.address);
            if ((await vault.previewRedeem(shares)) > 0n)
              await vault.connect(attacker).redeem(shares, attacker.address, attacker.address);
            const end = await f.base.erc20.balanceOf(attacker.address);
            expect(end, "after redeeming everything the attacker holds at most its start").to.be.lte(start);
            count("base units lost by the attacker", start - end);
            await expectPerpBooks(
              f,
              Object.values(f.actors).map((x) => x.address),
            );
          },
        ),
        options(3),
      );
      report();
    });
  });

  describe("insurance fund", () => {
    it("5. stake / unstake dust round trips after top-ups moved the share price", async () => {
      type FundAction = { kind: "stake"; amount: bigint } | { kind: "unstake"; shares: bigint | "all" };
      const action: fc.Arbitrary<FundAction> = fc.oneof(
        { weight: 3, arbitrary: amount(u(1_000_000)).map((x) => ({ kind: "stake" as const, amount: x })) },
        {
          weight: 2,
          arbitrary: amount(u(1_000_000) * VIRTUAL_SHARES).map((x) => ({
            kind: "unstake" as const,
            shares: x,
          })),
        },
        { weight: 1, arbitrary: fc.constant({ kind: "unstake" as const, shares: "all" as const }) },
      );
      await fc.assert(
        fc.asyncProperty(
          fc.bigInt({ min: u(1_000), max: u(1_000_000) }),
          fc.bigInt({ min: 1n, max: u(100_000) }),
          fc.array(action, { minLength: 80, maxLength: 80 }),
          async (staked, toppedUp, actions) => {
            const w = await loadFixture(lendingWorld);
            const fund = w.f.insuranceFund;
            const fundAddress = await fund.getAddress();
            const { lp: staker, borrower: donor, attacker } = w;
            for (const who of [staker, donor, attacker])
              await w.f.base.token!.connect(who).approve(fundAddress, MAX);
            await fund.connect(staker).stake(staked, staker.address);
            await fund.connect(donor).topUp(toppedUp);
            const cooldown = Number(await fund.cooldown());
            const read = async () => {
              const [assets, shares] = await Promise.all([fund.totalAssets(), fund.totalShares()]);
              return { assets, shares };
            };
            const value = async () =>
              (await w.f.base.erc20.balanceOf(attacker.address)) +
              (await fund.previewUnstake(await fund.sharesOf(attacker.address)));
            const start = await value();
            let last = await read();
            expect(last.assets * VIRTUAL_SHARES, "the top-up lifted the share price above 1").to.be.gt(
              last.shares,
            );
            for (const [i, a] of actions.entries()) {
              const label = `#${i} ${a.kind}(${a.kind === "stake" ? a.amount : a.shares})`;
              if (a.kind === "stake") {
                await attempt("stake", ["ZeroShares"], () =>
                  fund.connect(attacker).stake(a.amount, attacker.address),
                );
              } else {
                const owned = await fund.sharesOf(attacker.address);
                const shares = a.shares === "all" ? owned : min(a.shares, owned);
                if (shares === 0n) {
                  count("unstake skipped: no shares");
                  continue;
                }
                await attempt("requestUnstake", [], () => fund.connect(attacker).requestUnstake(shares));
                await time.increase(cooldown);
                const expected = await fund.previewUnstake(shares);
                const r = await attempt("unstake", [], () =>
                  fund.connect(attacker).unstake(attacker.address),
                );
                for (const log of (r as ContractTransactionReceipt).logs) {
                  const parsed = fund.interface.parseLog(log);
                  if (parsed?.name === "Unstaked")
                    expect(parsed.args.assets, `${label}: pays what previewUnstake said`).to.equal(expected);
                }
              }
              const now = await read();
              expect(
                ratioGte(
                  now.assets + VIRTUAL_ASSETS,
                  now.shares + VIRTUAL_SHARES,
                  last.assets + VIRTUAL_ASSETS,
                  last.shares + VIRTUAL_SHARES,
                ),
                `${label}: the fund's share price fell`,
              ).to.equal(true);
              last = now;
              const v = await value();
              expect(v, `${label}: the attacker's value (${v}) exceeds its start (${start})`).to.be.lte(
                start,
              );
            }
            const left = await fund.sharesOf(attacker.address);
            if (left > 0n) {
              await fund.connect(attacker).requestUnstake(left);
              await time.increase(cooldown);
              await fund.connect(attacker).unstake(attacker.address);
            }
            const end = await w.f.base.erc20.balanceOf(attacker.address);
            expect(end, "after unstaking everything the attacker holds at most its start").to.be.lte(start);
            count("base units lost by the attacker", start - end);
            expect(await fund.totalAssets(), "the fund's assets are its balance").to.equal(
              await w.f.base.erc20.balanceOf(fundAddress),
            );
          },
        ),
        options(3),
      );
      report();
    });
  });
});
