/**
 * Stateful fuzzing of the perps engine (fast-check): random sequences of margin deposits and withdrawals,
 * trades (open, increase, reduce, flip, close) in both markets at random leverage, price moves including
 * gaps of -60% to +300%, time jumps (funding), liquidations by a keeper, ADL by a keeper that ranks
 * candidates by adlScore as a real bot would, stop orders placed and executed, LP deposits and withdrawals,
 * insurance top-ups and fee sweeps, oracle faults (a feed that reverts, burns its gas or freezes, a stale
 * feed, and healing), and admin actions (pause, halt, new fees and funding caps), by four traders and an
 * LP, under both negative-balance policies.
 *
 * After every step:
 * - the books balance to the base unit: tokens held == sum of margins + pool capital + pending insurance;
 * - every deficit is covered or socialised (badDebt), and the ledger equals the DeficitRealised events seen;
 * - no account without positions has negative margin: nobody goes silently negative;
 * - every successful risk-adding trade leaves equity >= initial margin;
 * - nobody healthy is liquidated: a liquidation succeeds only when the views said liquidatable, and
 *   AccountNotLiquidatable only when they said healthy;
 * - ADL only ever touches profitable positions (every Deleveraged event carries pnl > 0, haircut <= pnl),
 *   and totalAdlHaircut equals the Deleveraged haircuts plus the ProfitHaircut amounts withheld;
 * - no liquidation on a refused price: a liquidation succeeds only if the router, asked for a LIQUIDATE
 *   price of every market the account holds just before, would have given one;
 * - a margin withdrawal leaves an account with positions at or above its initial margin;
 * - funding and PnL create no value: the traders' unrealised value (equity - margin, summed) equals the
 *   pool's view of it (sidePnl over both markets) to within one base unit per position;
 * - the insurance fund's assets equal its token balance (never negative), and recourse recorded ==
 *   still owed + recovered.
 * A command that reverts must revert with one of the custom errors expected for it.
 *
 * FUZZ_RUNS (default 120; 4 under COVERAGE=1), FUZZ_COMMANDS (default 25) and FUZZ_SEED set the run; on failure fast-check
 * prints the seed and the shrunk sequence to replay it.
 */
import { ethers } from "hardhat";
import { expect } from "chai";
import fc from "fast-check";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionResponse } from "ethers";

import { localPerpsConfig } from "../../deploy/config";
import { Action, FeedMode, NegativeBalancePolicy } from "../../deploy/enums";
import { toUnits } from "../../deploy/units";
import { deployPerps, expectPerpBooks, paramsOf, u, WAD, type PerpFixture } from "../helpers/perps";

// A few hundred sequences in npm test; fewer under coverage (instrumented, and its branches are the unit tests').
const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? (process.env.COVERAGE ? 4 : 120));
const FUZZ_COMMANDS = Number(process.env.FUZZ_COMMANDS ?? 25);
const FUZZ_SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const MAX = ethers.MaxUint256;
const STATS: Record<string, number> = {};
const count = (key: string) => (STATS[key] = (STATS[key] ?? 0) + 1);

type Sym = "WETH" | "WBTC";
const BOUNDS: Record<Sym, [number, number]> = { WETH: [50, 100_000], WBTC: [1_000, 5_000_000] };

interface World {
  f: PerpFixture;
  traders: HardhatEthersSigner[];
  prices: Record<Sym, number>;
  seen: { deficit: bigint; covered: bigint; socialised: bigint; haircut: bigint };
  orders: bigint[];
}

async function protectedWorld() {
  return deployPerps();
}
async function recourseWorld() {
  return deployPerps(localPerpsConfig({ negativeBalancePolicy: NegativeBalancePolicy.RECOURSE }));
}

async function world(policy: NegativeBalancePolicy): Promise<World> {
  const f = await loadFixture(policy === NegativeBalancePolicy.PROTECTED ? protectedWorld : recourseWorld);
  const { lp, alice, bob, carol, dave } = f.actors;
  await f.vault.connect(lp).deposit(u(2_000_000), lp.address);
  await f.insuranceFund.connect(lp).topUp(u(20_000));
  for (const t of [alice, bob, carol, dave]) await f.perp.connect(t).depositMargin(u(10_000), t.address);
  return {
    f,
    traders: [alice, bob, carol, dave],
    prices: { WETH: 3000, WBTC: 60000 },
    seen: { deficit: 0n, covered: 0n, socialised: 0n, haircut: 0n },
    orders: [],
  };
}

/** Sets both prices on every feed and lets any jump confirm (WBTC's single feed needs the window). */
async function pushPrices(w: World) {
  const { WETH, WBTC } = w.f.assets;
  await WETH.primaryFeed.mock!.setPrice(toUnits(w.prices.WETH, 8));
  await WETH.fallbackFeed!.mock!.setPrice(toUnits(w.prices.WETH, 18));
  await WBTC.primaryFeed.mock!.setPrice(toUnits(w.prices.WBTC, 8));
  await w.f.router.price(WBTC.address);
  await time.increase(600);
  await WBTC.primaryFeed.mock!.setPrice(toUnits(w.prices.WBTC, 8));
  await w.f.router.price(WBTC.address);
  await WETH.primaryFeed.mock!.setPrice(toUnits(w.prices.WETH, 8));
  await WETH.fallbackFeed!.mock!.setPrice(toUnits(w.prices.WETH, 18));
}

/** Runs a transaction; a revert must be one of `allowed` (custom error names). Returns whether it ran. */
async function attempt(
  w: World,
  what: string,
  send: () => Promise<ContractTransactionResponse>,
  allowed: string[],
): Promise<boolean> {
  try {
    const receipt = await (await send()).wait();
    for (const log of receipt!.logs) {
      const parsed = w.f.perp.interface.parseLog(log);
      if (parsed?.name === "DeficitRealised") {
        w.seen.deficit += parsed.args.deficit;
        w.seen.covered += parsed.args.fromReserves + parsed.args.fromInsurance;
        w.seen.socialised += parsed.args.socialised;
        count("deficits");
      }
      if (parsed?.name === "Deleveraged") {
        expect(parsed.args.pnl, "ADL touches only profitable positions").to.be.gt(0n);
        expect(parsed.args.haircut).to.be.lte(parsed.args.pnl);
        w.seen.haircut += parsed.args.haircut;
        count("deleveraged");
      }
      if (parsed?.name === "ProfitHaircut") {
        w.seen.haircut += (parsed.args.profit as bigint) - (parsed.args.paid as bigint);
        count("profit haircuts");
      }
    }
    count(`${what} ok`);
    return true;
  } catch (e) {
    const data = (e as { data?: string }).data;
    const name = data ? decodeError(w, data) : undefined;
    if (!name || !allowed.includes(name)) throw e;
    count(`${what} reverted ${name}`);
    return false;
  }
}

function decodeError(w: World, data: string): string | undefined {
  for (const iface of [w.f.perp.interface, w.f.vault.interface, w.f.router.interface]) {
    try {
      const parsed = iface.parseError(data);
      if (parsed) return parsed.name;
    } catch {
      /* another interface */
    }
  }
  return undefined;
}

const marketId = (w: World, s: Sym) => (s === "WETH" ? w.f.ETH : w.f.BTC);

/* COMMANDS */

type Command =
  | { kind: "deposit"; who: number; amount: number }
  | { kind: "withdraw"; who: number; pct: number }
  | { kind: "trade"; who: number; sym: Sym; leverage: number; long: boolean }
  | { kind: "close"; who: number; sym: Sym }
  | { kind: "move"; sym: Sym; pct: number }
  | { kind: "wait"; seconds: number }
  | { kind: "liquidate"; who: number }
  | { kind: "adl"; sym: Sym }
  | { kind: "stop"; who: number; sym: Sym; pct: number }
  | { kind: "execute" }
  | { kind: "lp"; deposit: boolean; amount: number }
  | { kind: "sweep" }
  | { kind: "fault"; sym: Sym; mode: "revert" | "burn" | "freeze" | "stale" | "heal" }
  | { kind: "pause"; on: boolean }
  | { kind: "halt"; sym: Sym; on: boolean }
  | { kind: "params"; sym: Sym; feeBps: number; fundingBpsPerDay: number };

async function run(w: World, c: Command) {
  const { f } = w;
  const perp = f.perp;
  const keeper = f.actors.keeper;
  switch (c.kind) {
    case "deposit": {
      const t = w.traders[c.who];
      await attempt(w, "deposit", () => perp.connect(t).depositMargin(u(c.amount), t.address), []);
      return;
    }
    case "withdraw": {
      const t = w.traders[c.who];
      const { margin } = await perp.marginOf(t.address);
      const amount = c.pct === 100 ? MAX : ((margin > 0n ? margin : 0n) * BigInt(c.pct)) / 100n + 1n;
      const ran = await attempt(w, "withdraw", () => perp.connect(t).withdrawMargin(amount, t.address), [
        "InsufficientMarginBalance",
        "InsufficientMargin",
        "PriceNotUsable",
        "MarketPaused",
      ]);
      const after = await perp.accountView(t.address);
      if (ran && after.notional > 0n && after.pricesTrusted) {
        expect(after.equity, "a margin withdrawal leaves equity >= initial margin").to.be.gte(
          after.initialMargin,
        );
      }
      return;
    }
    case "trade": {
      const t = w.traders[c.who];
      const view = await perp.accountView(t.address);
      const equity = view.equity > 0n ? view.equity : u(100);
      const price = BigInt(w.prices[c.sym]);
      // Size for `leverage` x equity of notional: equity (base units) x 1e12 x leverage / price.
      const sz = (equity * 10n ** 12n * BigInt(c.leverage)) / price;
      if (sz === 0n) return;
      const delta = c.long ? sz : -sz;
      const ran = await attempt(
        w,
        "trade",
        () => perp.connect(t).modifyPosition(marketId(w, c.sym), delta, c.long ? MAX : 0n),
        [
          "InsufficientMargin",
          "OpenInterestCapExceeded",
          "RecourseDebtOutstanding",
          "InsolventAccount",
          "PriceNotUsable",
          "InvalidFillPrice",
          "SafeCastOverflowedIntDowncast",
          "MarketPaused",
          "MarketNotActive",
        ],
      );
      if (ran) {
        const after = await perp.accountView(t.address);
        if (after.notional > view.notional) {
          // It added risk (or flipped): the engine checked the initial margin at the same prices.
          expect(after.equity, "equity >= initial margin after a risk-adding trade").to.be.gte(
            after.initialMargin,
          );
        }
      }
      return;
    }
    case "close": {
      const t = w.traders[c.who];
      const id = marketId(w, c.sym);
      const held = (await perp.positionView(t.address, id)).size;
      if (held === 0n) return;
      // Closing a long sells (no lower limit); closing a short buys (no upper limit).
      await attempt(w, "close", () => perp.connect(t).closePosition(id, held > 0n ? 0n : MAX), [
        "InsolventAccount",
        "PriceNotUsable",
      ]);
      return;
    }
    case "move": {
      const [lo, hi] = BOUNDS[c.sym];
      w.prices[c.sym] = Math.min(hi, Math.max(lo, Math.round((w.prices[c.sym] * (100 + c.pct)) / 100)));
      await pushPrices(w);
      return;
    }
    case "wait": {
      await time.increase(c.seconds);
      await pushPrices(w);
      return;
    }
    case "liquidate": {
      const t = w.traders[c.who];
      const view = await perp.accountView(t.address);
      // What the router would answer for a LIQUIDATE price of every market the account holds, right now.
      let refused = false;
      for (const s of ["WETH", "WBTC"] as Sym[]) {
        if ((await perp.positionView(t.address, marketId(w, s))).size === 0n) continue;
        try {
          await f.router.priceFor.staticCall(f.assets[s].address, Action.LIQUIDATE);
        } catch {
          refused = true;
        }
      }
      const ran = await attempt(w, "liquidate", () => perp.connect(keeper).liquidate(t.address), [
        "AccountNotLiquidatable",
        "PriceNotUsable",
      ]);
      if (ran) expect(view.liquidatable, "only a liquidatable account is liquidated").to.equal(true);
      if (ran) expect(refused, "no liquidation on a price the policy refuses").to.equal(false);
      else if (view.pricesTrusted)
        expect(view.liquidatable, "a liquidatable account can be liquidated").to.equal(false);
      return;
    }
    case "adl": {
      // A keeper's list: profitable positions on the winning side, by score, highest first.
      const id = marketId(w, c.sym);
      const [longPnl, shortPnl] = await perp.sidePnl(id);
      const longsWin = longPnl >= shortPnl;
      const ranked: { who: string; score: bigint }[] = [];
      for (const t of w.traders) {
        const p = await perp.positionView(t.address, id);
        if (p.size === 0n || p.size > 0n !== longsWin) continue;
        const score = await perp.adlScore(t.address, id);
        if (score > 0n) ranked.push({ who: t.address, score });
      }
      if (ranked.length === 0) return;
      ranked.sort((a, b) => (a.score > b.score ? -1 : a.score < b.score ? 1 : 0));
      await attempt(
        w,
        "adl",
        () =>
          perp.connect(keeper).adl(
            id,
            ranked.map((r) => r.who),
          ),
        ["AdlNotTriggered", "PriceNotUsable", "MarketNotActive"],
      );
      return;
    }
    case "stop": {
      const t = w.traders[c.who];
      const id = marketId(w, c.sym);
      const p = await perp.positionView(t.address, id);
      if (p.size === 0n) return;
      const long = p.size > 0n;
      const trigger = (BigInt(w.prices[c.sym]) * WAD * BigInt(long ? 100 - c.pct : 100 + c.pct)) / 100n;
      const abs = p.size > 0n ? p.size : -p.size;
      await perp.connect(t).placeOrder(id, long, abs, trigger, !long, long ? 0n : 2n ** 128n - 1n);
      w.orders.push(await perp.lastOrderId());
      count("stop placed");
      return;
    }
    case "execute": {
      const id = w.orders.shift();
      if (id === undefined) return;
      await attempt(w, "execute", () => perp.connect(keeper).executeOrder(id), [
        "OrderNotTriggered",
        "OrderNotFound",
        "InsolventAccount",
        "PriceNotUsable",
      ]);
      return;
    }
    case "lp": {
      const lp = f.actors.lp;
      if (c.deposit)
        await attempt(w, "lp deposit", () => f.vault.connect(lp).deposit(u(c.amount), lp.address), []);
      else
        await attempt(
          w,
          "lp withdraw",
          () => f.vault.connect(lp).withdraw(u(c.amount), lp.address, lp.address),
          ["ERC4626ExceededMaxWithdraw", "PriceNotUsable", "LpWithdrawalTooLarge", "MarketPaused"],
        );
      return;
    }
    case "sweep":
      await attempt(w, "sweep", () => perp.sweepFees(), []);
      return;
    case "fault": {
      const feed = f.assets[c.sym].primaryFeed.mock!;
      if (c.mode === "stale")
        await time.increase(3_601); // past the primary's heartbeat, nothing pushed
      else if (c.mode === "heal") await feed.heal();
      else
        await feed.setMode(
          c.mode === "revert" ? FeedMode.REVERT : c.mode === "burn" ? FeedMode.BURN_GAS : FeedMode.FREEZE,
        );
      count(`fault ${c.mode}`);
      return;
    }
    case "pause":
      await attempt(w, "pause", () => perp.setPaused(c.on), []);
      return;
    case "halt":
      await attempt(w, "halt", () => perp.setHalted(marketId(w, c.sym), c.on), []);
      return;
    case "params": {
      const p = paramsOf(c.sym);
      const next = {
        ...p,
        tradingFee: (BigInt(c.feeBps) * WAD) / 10_000n,
        maxFundingRate: (BigInt(c.fundingBpsPerDay) * WAD) / 10_000n / 86_400n,
      };
      await attempt(w, "params", () => perp.setMarketParams(marketId(w, c.sym), next), ["PriceNotUsable"]);
      return;
    }
  }
}

async function checkInvariants(w: World) {
  const { f } = w;
  const accounts = [...w.traders.map((t) => t.address), f.actors.lp.address];
  await expectPerpBooks(f, accounts);
  const bad = await f.perp.badDebt();
  expect(bad.deficit, "ledger == DeficitRealised events").to.equal(w.seen.deficit);
  expect(bad.coveredByInsurance).to.equal(w.seen.covered);
  expect(bad.socialised).to.equal(w.seen.socialised);
  expect(await f.perp.totalAdlHaircut(), "ADL haircuts == Deleveraged + ProfitHaircut events").to.equal(
    w.seen.haircut,
  );
  let traderValue = 0n;
  let positions = 0n;
  for (const t of w.traders) {
    const { margin, marketsIn } = await f.perp.marginOf(t.address);
    if (marketsIn === 0n) expect(margin, "no silent negative: an account without positions").to.be.gte(0n);
    traderValue += (await f.perp.accountView(t.address)).equity - margin;
    for (const s of ["WETH", "WBTC"] as Sym[]) {
      if ((await f.perp.positionView(t.address, marketId(w, s))).size !== 0n) positions += 1n;
    }
  }
  // Funding and PnL create no value: what the traders hold unrealised is what the pool owes them.
  let poolView = 0n;
  for (const s of ["WETH", "WBTC"] as Sym[]) {
    const [longPnl, shortPnl] = await f.perp.sidePnl(marketId(w, s));
    poolView += longPnl + shortPnl;
  }
  const diff = traderValue * 10n ** 12n - poolView;
  const abs = diff < 0n ? -diff : diff;
  expect(abs, "traders' unrealised value == the pool's view of it (sidePnl)").to.be.lte(
    (positions + 1n) * 10n ** 12n,
  );
  const fund = f.insuranceFund;
  expect(await fund.totalAssets(), "insurance fund assets == its balance").to.equal(
    await f.base.erc20.balanceOf(await fund.getAddress()),
  );
  expect((await fund.totalRecourseDebt()) + (await fund.totalRecovered()), "recourse recorded").to.be.gte(
    bad.recourseRecorded,
  );
}

const who = fc.integer({ min: 0, max: 3 });
const sym = fc.constantFrom<Sym>("WETH", "WBTC");
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("deposit" as const),
      who,
      amount: fc.integer({ min: 100, max: 50_000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("withdraw" as const),
      who,
      pct: fc.integer({ min: 1, max: 100 }),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("trade" as const),
      who,
      sym,
      leverage: fc.integer({ min: 1, max: 25 }),
      long: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("close" as const), who, sym }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("move" as const),
      sym,
      pct: fc.oneof(
        fc.integer({ min: -15, max: 15 }),
        fc.constantFrom(-60, -50, -40, -30, -20, 20, 50, 100, 300),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("wait" as const),
      seconds: fc.integer({ min: 60, max: 20 * 86_400 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("liquidate" as const), who }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("adl" as const), sym }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("stop" as const),
      who,
      sym,
      pct: fc.integer({ min: 1, max: 20 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("execute" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("lp" as const),
      deposit: fc.boolean(),
      amount: fc.integer({ min: 1, max: 500_000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("sweep" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("fault" as const),
      sym,
      mode: fc.constantFrom(
        "revert" as const,
        "burn" as const,
        "freeze" as const,
        "stale" as const,
        "heal" as const,
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("pause" as const), on: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("halt" as const), sym, on: fc.boolean() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("params" as const),
      sym,
      feeBps: fc.integer({ min: 0, max: 100 }),
      fundingBpsPerDay: fc.integer({ min: 0, max: 1_000 }),
    }),
  },
);

describe("perps: stateful invariants (fast-check)", function () {
  it(`invariants: books balance, no silent negative, nobody healthy liquidated, ADL only on profit (${FUZZ_RUNS} runs x up to ${FUZZ_COMMANDS} commands)`, async function () {
    this.timeout(Math.max(300_000, FUZZ_RUNS * FUZZ_COMMANDS * 2_000));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(NegativeBalancePolicy.PROTECTED, NegativeBalancePolicy.RECOURSE),
        fc.array(command, { minLength: 1, maxLength: FUZZ_COMMANDS, size: "max" }),
        async (policy, commands) => {
          const w = await world(policy);
          for (const c of commands) {
            count(`cmd ${c.kind}`);
            await run(w, c);
            await checkInvariants(w);
          }
        },
      ),
      { numRuns: FUZZ_RUNS, seed: FUZZ_SEED, endOnFailure: true },
    );
    const summary = Object.entries(STATS)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}: ${v}`)
      .join(", ");
    console.log(`      ${summary}`);
    expect(STATS["trade ok"] ?? 0, "the fuzz traded").to.be.gt(0);
  });
});
