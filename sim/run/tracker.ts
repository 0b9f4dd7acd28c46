/**
 * The keepers' book of accounts, kept off chain the way a real liquidation bot keeps it: each borrower's
 * collateral and debt shares and each trader's position, read exactly from the contracts' views when the
 * account is created or touched, then carried forward with the step's global state (oracle prices, the
 * lending market's debt per share, each perps market's funding index). From that book the keepers pick the
 * accounts a price step may have put at risk, and only those are read on chain again (one batched view call
 * per step). The estimate is a filter, never a decision: every liquidation is decided on the contracts'
 * own views and simulated before it is sent.
 *
 * The filter is conservative: a borrower is re-read when its estimated health is under 1 + LENDING_MARGIN,
 * a trader when its estimated equity is under its maintenance margin plus PERPS_CUSHION of its notional;
 * every account of an asset whose oracle status is not OK (or whose perps market is not active) is re-read;
 * and every trader is re-read at least every ROLLING_STEPS steps (funding rounding). `audit` re-reads
 * everyone and reports any account the filter would have missed (a simulator bug, listed as a violation).
 */
import type { System } from "../../deploy/deploySystem";
import { PriceStatus } from "../../deploy/enums";
import type { Scenario } from "../scenario";
import type { Reads } from "./batch";
import { collateralOf } from "./build";
import type { Population } from "./population";

const LENDING_MARGIN = 0.03;
const PERPS_CUSHION = 0.015;
const ROLLING_STEPS = 40;
const REUSE_STEPS = 100;
/** An estimated health this far above 1 is healthy whatever the rounding of the estimate. */
const HEALTHY_EPSILON = 0.001;
const WAD = 1e18;

/** The global state a step's estimates need, read once per step. */
export interface Globals {
  /** Timestamp the views run at. */
  time: number;
  assets: Record<string, { price: bigint; status: number }>;
  /** The lending market's totals(): supplyAssets, supplyShares, borrowAssets, borrowShares, reserves. */
  totals: bigint[];
  borrowAssets: bigint;
  borrowShares: bigint;
  markets: Record<string, MarketState>;
}

interface MarketState {
  status: number;
  fundingIndex: bigint;
  fundingRate: bigint;
  lastFundingTime: bigint;
  longOI: bigint;
  shortOI: bigint;
}

/** What the contracts' views said of an account at its last exact read. */
export interface BorrowerView {
  debt: bigint;
  collateralValue: bigint;
  health: bigint;
}
export interface TraderView {
  margin: bigint;
  equity: bigint;
  maintenanceMargin: bigint;
  liquidatable: boolean;
}

interface Borrower {
  address: string;
  symbol: string;
  decimals: number;
  threshold: number;
  units: number;
  shares: number;
  view?: BorrowerView;
  /** The oracle price, status and step of the last exact read. */
  seen: Seen;
}

interface Trader {
  address: string;
  symbol: string;
  marketId: number;
  /** Underlying units (signed), USD, USD per unit, at the last exact read. */
  size: number;
  equity: number;
  maintenance: number;
  price: number;
  index: number;
  readAt: number;
  /** Staggers the rolling re-reads. */
  slot: number;
  view?: TraderView;
  seen: Seen;
}

interface Seen {
  price: bigint;
  status: number;
  step: number;
}

/** USD per unit of a WAD price; USD of base units. */
const usdOfWad = (x: bigint) => Number(x) / WAD;
const usdOfBase = (x: bigint) => Number(x) / 1e6;

export class Tracker {
  readonly borrowers: Borrower[];
  readonly traders: Trader[];
  private readonly byAddress = new Map<string, Borrower | Trader>();
  /** Exact views read this step (the keepers decide on these). */
  readonly lendingViews = new Map<string, BorrowerView>();
  readonly perpViews = new Map<string, TraderView>();
  /** Accounts whose state a keeper changed this step (re-read with the snapshot). */
  readonly touched = new Set<string>();
  /** Every trader margin as last read (the perps books check sums them). */
  margins = 0n;

  constructor(
    private readonly sys: System,
    s: Scenario,
    pop: Population,
  ) {
    this.borrowers = pop.borrowers.map((a) => {
      const spec = s.assets.find((x) => x.symbol === a.asset)!;
      return {
        address: a.address,
        symbol: a.asset!,
        decimals: sys.assets[a.asset!].decimals,
        threshold: collateralOf(s, spec).liquidationThreshold,
        units: 0,
        shares: 0,
        seen: { price: 0n, status: -1, step: -Infinity },
      };
    });
    this.traders = pop.traders.map((a) => ({
      address: a.address,
      symbol: a.asset!,
      marketId: sys.perps!.marketIds[a.asset!],
      size: 0,
      equity: 0,
      maintenance: 0,
      price: 0,
      index: 0,
      readAt: -Infinity,
      slot: 0,
      seen: { price: 0n, status: -1, step: -Infinity },
    }));
    this.traders.forEach((t, i) => (t.slot = i % ROLLING_STEPS));
    for (const x of [...this.borrowers, ...this.traders]) this.byAddress.set(x.address, x);
  }

  /** Queues the global reads of a step into `reads`; the returned object is filled when they run. */
  async readGlobals(reads: Reads, s: Scenario, time: number): Promise<Globals> {
    const g: Globals = { time, assets: {}, totals: [], borrowAssets: 0n, borrowShares: 0n, markets: {} };
    for (const a of s.assets) {
      await reads.add(this.sys.router, "peek", [this.sys.assets[a.symbol].address], (r) => {
        g.assets[a.symbol] = { price: r[0], status: Number(r[1]) };
      });
      await reads.add(this.sys.perps!.market, "marketView", [this.sys.perps!.marketIds[a.symbol]], (r) => {
        const m = r[0];
        g.markets[a.symbol] = {
          status: Number(m.status),
          fundingIndex: m.fundingIndex,
          fundingRate: m.fundingRate,
          lastFundingTime: m.lastFundingTime,
          longOI: m.longOI,
          shortOI: m.shortOI,
        };
      });
    }
    await reads.add(this.sys.lending!.market, "totals", [], (r) => {
      g.totals = [...r] as bigint[];
      g.borrowAssets = r[2];
      g.borrowShares = r[3];
    });
    return g;
  }

  /** The perps funding index now (USD per unit), as the contract computes it for views. */
  private indexNow(g: Globals, symbol: string): number {
    const m = g.markets[symbol];
    const price = usdOfWad(g.assets[symbol].price);
    const elapsed = Math.max(0, g.time - Number(m.lastFundingTime));
    return usdOfWad(m.fundingIndex) + usdOfWad(m.fundingRate) * elapsed * price;
  }

  /** A borrower's estimated health at the step's prices (Infinity without debt). */
  private borrowerHealth(b: Borrower, g: Globals): number {
    if (b.shares === 0 || g.borrowShares === 0n) return Infinity;
    const debt = (b.shares * Number(g.borrowAssets)) / Number(g.borrowShares) / 1e6;
    const value = (b.units / 10 ** b.decimals) * usdOfWad(g.assets[b.symbol].price);
    return (value * b.threshold) / debt;
  }

  /** A trader's estimated equity and maintenance margin (USD) at the step's prices and funding. */
  private traderEstimate(t: Trader, g: Globals): { equity: number; maintenance: number; notional: number } {
    const price = usdOfWad(g.assets[t.symbol].price);
    if (t.size === 0 || t.price === 0) return { equity: t.equity, maintenance: 0, notional: 0 };
    const equity = t.equity + t.size * (price - t.price) - t.size * (this.indexNow(g, t.symbol) - t.index);
    return { equity, maintenance: (t.maintenance * price) / t.price, notional: Math.abs(t.size) * price };
  }

  /**
   * The accounts to read exactly this step: those the step may have put at risk (see the file comment). An
   * account already liquidatable at its last exact read, at the same oracle price and status, and untouched
   * since (a keeper's action re-reads it), stays liquidatable (interest and funding only move it slowly); its
   * view is reused for up to REUSE_STEPS steps instead of re-read, so a backlog of accounts waiting for
   * keeper capacity costs nothing per step. Likewise a borrower near the line whose estimate (interest
   * included) is still above 1 + HEALTHY_EPSILON at an unchanged price keeps its recent view.
   */
  candidates(g: Globals, step: number): string[] {
    const out: string[] = [];
    const ok = (symbol: string) => g.assets[symbol].status === PriceStatus.OK;
    const same = (x: { symbol: string; seen: Seen }) =>
      step - x.seen.step < REUSE_STEPS &&
      g.assets[x.symbol].price === x.seen.price &&
      g.assets[x.symbol].status === x.seen.status;
    for (const b of this.borrowers) {
      if (b.shares === 0) continue;
      if (b.view && b.view.debt > 0n && b.view.health < BigInt(WAD) && same(b)) {
        this.lendingViews.set(b.address, b.view);
        continue;
      }
      if (!ok(b.symbol)) {
        out.push(b.address);
        continue;
      }
      const health = this.borrowerHealth(b, g);
      if (health >= 1 + LENDING_MARGIN) continue;
      // Near the line but clearly above it at an unchanged price: the book carries the interest exactly
      // (debt per share), so the account is still healthy and its recent view stands.
      if (b.view && health >= 1 + HEALTHY_EPSILON && same(b)) {
        this.lendingViews.set(b.address, b.view);
        continue;
      }
      out.push(b.address);
    }
    for (const t of this.traders) {
      if (t.size === 0) continue;
      if (t.view?.liquidatable && same(t)) {
        this.perpViews.set(t.address, t.view);
        continue;
      }
      const e = this.traderEstimate(t, g);
      const risky = e.equity < e.maintenance + PERPS_CUSHION * e.notional;
      const active = g.markets[t.symbol].status === 0;
      // Each trader is re-read at least every ROLLING_STEPS steps, staggered so that a step reads a slice.
      const due = step - t.readAt >= ROLLING_STEPS && (step + t.slot) % ROLLING_STEPS === 0;
      if (risky || !ok(t.symbol) || !active || due) out.push(t.address);
    }
    return out;
  }

  /** Queues exact reads of `accounts` (their views replace the book's entries when `reads` runs). */
  async readExact(reads: Reads, accounts: Iterable<string>, g: Globals, step: number) {
    const lending = this.sys.lending!.market;
    const perp = this.sys.perps!.market;
    for (const address of accounts) {
      const x = this.byAddress.get(address);
      if (!x) continue;
      if ("threshold" in x) {
        const b = x;
        await reads.add(
          lending,
          "accountView",
          [address],
          (r) => {
            const v = r[0];
            b.shares = Number(v.borrowShares);
            b.view = { debt: v.debt, collateralValue: v.collateralValue, health: v.health };
            b.seen = { price: g.assets[b.symbol].price, status: g.assets[b.symbol].status, step };
            this.lendingViews.set(address, b.view);
          },
          { gas: 90_000 },
        );
        await reads.add(lending, "collateralOf", [address, this.sys.assets[b.symbol].address], (r) => {
          b.units = Number(r[0]);
        });
      } else {
        const t = x;
        await reads.add(
          perp,
          "accountView",
          [address],
          (r) => {
            const v = r[0];
            this.margins += v.margin - (t.view?.margin ?? 0n);
            t.view = {
              margin: v.margin,
              equity: v.equity,
              maintenanceMargin: v.maintenanceMargin,
              liquidatable: v.liquidatable,
            };
            this.perpViews.set(address, t.view);
            t.equity = usdOfBase(v.equity);
            t.maintenance = usdOfBase(v.maintenanceMargin);
            t.price = usdOfWad(g.assets[t.symbol].price);
            t.index = this.indexNow(g, t.symbol);
            t.readAt = step;
            t.seen = { price: g.assets[t.symbol].price, status: g.assets[t.symbol].status, step };
          },
          { gas: 120_000 },
        );
        await reads.add(
          perp,
          "positionView",
          [address, t.marketId],
          (r) => {
            t.size = Number(r[0].size) / 1e18;
          },
          { gas: 90_000 },
        );
      }
    }
  }

  /** Forgets the exact views of the previous step (the book itself is kept). */
  newStep() {
    this.lendingViews.clear();
    this.perpViews.clear();
    this.touched.clear();
  }

  /**
   * Health of every tracked account after the step, for the timeline: exact where read this step, the book's
   * estimate otherwise. Borrowers: the market's health; traders: equity / maintenance margin. Accounts without
   * debt or position count as healthy. Also counts accounts below zero (debt above collateral value, negative
   * equity) among those read exactly: the filter reads every account near or below liquidation.
   */
  healthBuckets(g: Globals): { buckets: number[]; belowZero: string[] } {
    const buckets = [0, 0, 0, 0, 0];
    const belowZero: string[] = [];
    const put = (h: number) => {
      const i = h < 1 ? 0 : h < 1.1 ? 1 : h < 1.25 ? 2 : h < 1.5 ? 3 : 4;
      buckets[i] += 1;
    };
    for (const b of this.borrowers) {
      const v = this.lendingViews.get(b.address);
      if (v) {
        put(v.debt === 0n ? Infinity : Number(v.health) / WAD);
        if (v.debt > v.collateralValue) belowZero.push(b.address);
      } else put(this.borrowerHealth(b, g));
    }
    for (const t of this.traders) {
      const v = this.perpViews.get(t.address);
      if (v) {
        put(v.maintenanceMargin === 0n ? Infinity : Number(v.equity) / Number(v.maintenanceMargin));
        if (v.equity < 0n) belowZero.push(t.address);
      } else {
        const e = this.traderEstimate(t, g);
        put(e.maintenance === 0 ? Infinity : e.equity / e.maintenance);
      }
    }
    return { buckets, belowZero };
  }

  /**
   * Checks the filter after a full exact read of everyone: an account liquidatable on chain that the filter
   * (run on the previous estimates, `before`) did not pick is a miss. Returns the missed addresses.
   */
  missed(before: Set<string>): string[] {
    const out: string[] = [];
    for (const b of this.borrowers) {
      const v = this.lendingViews.get(b.address);
      if (v && v.debt > 0n && Number(v.health) < WAD && !before.has(b.address)) out.push(b.address);
    }
    for (const t of this.traders) {
      const v = this.perpViews.get(t.address);
      if (v && v.liquidatable && !before.has(t.address)) out.push(t.address);
    }
    return out;
  }

  /** Whether the book holds an open position for `account` (as of its last exact read). */
  hasPosition(account: string): boolean {
    const x = this.byAddress.get(account);
    return x !== undefined && !("threshold" in x) && x.size !== 0;
  }

  get all(): string[] {
    return [...this.borrowers.map((b) => b.address), ...this.traders.map((t) => t.address)];
  }
}
