/**
 * The Ballast keeper: a bot that watches accounts the way any outside keeper would (the contracts' events
 * from the deployment block, then their views each round) and does the keeper work: lending liquidations,
 * perps liquidations, triggered stop orders, and ADL. It reads no simulator state and needs nothing but an
 * RPC endpoint, the deployments file and a funded signer.
 *
 * Events plus periodic scans: each round reads only the blocks since the last one, so an account whose
 * events it never read (it started with a later cursor, or an RPC dropped logs) would stay invisible. Every
 * `scanEvery` rounds a full scan rereads the whole event history from the deployment block, in chunks of
 * `scanBlocks` blocks, and rereads every candidate's state from the views, in batches of `scanBatch`: it
 * adds what the rounds missed and stops watching accounts with nothing left to liquidate (no debt, no
 * position) and orders that are gone, until their next event.
 *
 * Safe when the oracle is degraded: every candidate transaction is simulated first (eth_call); one that
 * would revert (a refused price, a healthy account, an order not triggered) is logged with its decoded
 * error and never sent, so the keeper does not spam reverting transactions.
 */
import type { Signer, ContractTransactionResponse, Interface } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

import type { DeploymentsFile } from "../deploy/deployments";
import type { LendingMarket, OracleRouter, PerpMarket, IERC20Metadata } from "../typechain-types";

const MAX = (1n << 256n) - 1n;
const LIQUIDATE_ACTION = 9; // Action.LIQUIDATE

export interface KeeperAction {
  kind: "lending.liquidate" | "perps.liquidate" | "perps.executeOrder" | "perps.adl";
  target: string;
  /** What happened: sent (with the hash), skipped (dry run), or refused by the simulation (and why). */
  outcome: "sent" | "dry-run" | "refused";
  reason: string;
  hash?: string;
}

export interface KeeperOptions {
  dryRun?: boolean;
  log?: (line: string) => void;
  /** A full scan every this many rounds (the Nth, 2Nth, ...); 0 never scans. Default 20. */
  scanEvery?: number;
  /** Blocks per log query, for the rounds' sync and the scans. Default 2,000 (within common RPC limits). */
  scanBlocks?: number;
  /** Accounts (or orders) whose views a scan reads at once. Default 25. */
  scanBatch?: number;
  /** The first block the rounds' event sync reads (default: the deployment's). Scans still start there. */
  fromBlock?: number;
}

/** What a full scan found, for the log and for callers. */
export interface ScanReport {
  fromBlock: number;
  toBlock: number;
  chunks: number;
  /** Watched after the scan, of which `added` the rounds had missed, and `dropped` no longer watched. */
  borrowers: { watched: number; added: string[]; dropped: string[] };
  traders: { watched: number; added: string[]; dropped: string[] };
  orders: { watched: number; added: bigint[]; dropped: bigint[] };
}

/** Who the events name: the candidates to watch. */
interface Discovered {
  borrowers: Set<string>;
  traders: Set<string>;
  orders: Set<bigint>;
}

const ZERO = "0x0000000000000000000000000000000000000000";

/** One keeper over one deployment. `round()` syncs the events and does every job once. */
export class Keeper {
  readonly borrowers = new Set<string>();
  readonly traders = new Set<string>();
  readonly orders = new Set<bigint>();
  /** Rounds run so far; a scan runs on every `scanEvery`th. */
  rounds = 0;
  /** The report of the last full scan, if any. */
  lastScan?: ScanReport;
  private nextBlock: number;
  private historyStart = 0;
  private readonly scanEvery: number;
  private readonly scanBlocks: number;
  private readonly scanBatch: number;
  private lending?: LendingMarket;
  private perp?: PerpMarket;
  private router!: OracleRouter;
  private base!: IERC20Metadata;
  private address = "";

  constructor(
    private readonly hre: HardhatRuntimeEnvironment,
    private readonly d: DeploymentsFile,
    private readonly signer: Signer,
    private readonly opts: KeeperOptions = {},
  ) {
    this.nextBlock = 0;
    this.scanEvery = opts.scanEvery ?? 20;
    this.scanBlocks = opts.scanBlocks ?? 2_000;
    this.scanBatch = opts.scanBatch ?? 25;
    for (const [name, v, min] of [
      ["scanEvery", this.scanEvery, 0],
      ["scanBlocks", this.scanBlocks, 1],
      ["scanBatch", this.scanBatch, 1],
    ] as const) {
      if (!Number.isInteger(v) || v < min) throw new Error(`${name} ${v}: must be an integer >= ${min}`);
    }
  }

  private log(line: string) {
    (this.opts.log ?? console.log)(line);
  }

  async init() {
    const { ethers } = this.hre;
    this.address = await this.signer.getAddress();
    this.router = await ethers.getContractAt("OracleRouter", this.d.contracts.OracleRouter, this.signer);
    this.base = await ethers.getContractAt("IERC20Metadata", this.d.base.address, this.signer);
    if (this.d.contracts.LendingMarket) {
      this.lending = await ethers.getContractAt("LendingMarket", this.d.contracts.LendingMarket, this.signer);
    }
    if (this.d.contracts.PerpMarket) {
      this.perp = (await ethers.getContractAt(
        "PerpMarket",
        this.d.contracts.PerpMarket,
        this.signer,
      )) as PerpMarket;
    }
    // Events before the deployment block cannot concern it; the deployment itself emits none we need.
    this.historyStart = Math.max(0, this.d.block - 200);
    this.nextBlock = this.opts.fromBlock ?? this.historyStart;
  }

  /** Reads the events since the last sync: who borrows, who trades, which orders are open. */
  async sync() {
    const to = await this.hre.ethers.provider.getBlockNumber();
    if (to < this.nextBlock) return;
    await this.readEvents(this.nextBlock, to, this);
    this.nextBlock = to + 1;
  }

  /**
   * Adds what the events of blocks [from, to] name to `into`, in chunks of `scanBlocks` blocks so that no
   * log query exceeds what an RPC serves; returns the number of chunks. An order placed and then closed
   * within the range ends up absent.
   */
  private async readEvents(from: number, to: number, into: Discovered): Promise<number> {
    let chunks = 0;
    for (let start = from; start <= to; start += this.scanBlocks) {
      const end = Math.min(to, start + this.scanBlocks - 1);
      chunks++;
      if (this.lending) {
        for (const e of await this.lending.queryFilter(this.lending.filters.Borrow(), start, end)) {
          into.borrowers.add(e.args.borrower);
        }
      }
      if (this.perp) {
        const p = this.perp;
        for (const e of await p.queryFilter(p.filters.PositionModified(), start, end))
          into.traders.add(e.args.account);
        for (const e of await p.queryFilter(p.filters.OrderPlaced(), start, end))
          into.orders.add(e.args.orderId);
        for (const e of await p.queryFilter(p.filters.OrderCancelled(), start, end))
          into.orders.delete(e.args.orderId);
        for (const e of await p.queryFilter(p.filters.OrderExecuted(), start, end))
          into.orders.delete(e.args.orderId);
      }
    }
    return chunks;
  }

  /**
   * The full scan: the whole event history up to the last synced block, plus every account and order
   * already watched, each reread from the views; keeps watching those with debt, a position or a live
   * order, and logs what the rounds had missed and what it stops watching.
   */
  async scan(): Promise<ScanReport> {
    const head = await this.hre.ethers.provider.getBlockNumber();
    const toBlock = Math.min(this.nextBlock - 1, head);
    const found: Discovered = { borrowers: new Set(), traders: new Set(), orders: new Set() };
    const chunks =
      toBlock >= this.historyStart ? await this.readEvents(this.historyStart, toBlock, found) : 0;
    const lending = this.lending;
    const perp = this.perp;
    const marketCount = perp ? Number(await perp.marketCount()) : 0;

    const borrowers = await this.reread(this.borrowers, found.borrowers, async (a) =>
      lending ? (await lending.accountView(a)).borrowShares > 0n : false,
    );
    const traders = await this.reread(this.traders, found.traders, async (a) => {
      for (let id = 0; id < marketCount; id++) if ((await perp!.positionView(a, id)).size !== 0n) return true;
      return false;
    });
    const orders = await this.reread(this.orders, found.orders, async (id) =>
      perp ? (await perp.order(id)).account !== ZERO : false,
    );
    const report: ScanReport = { fromBlock: this.historyStart, toBlock, chunks, borrowers, traders, orders };
    this.lastScan = report;

    const list = <T>(xs: T[]) => xs.map(String).join(", ");
    for (const a of borrowers.added)
      this.log(`[keeper] scan: borrower ${a} has debt; the event sync had missed it`);
    for (const a of traders.added)
      this.log(`[keeper] scan: trader ${a} has a position; the event sync had missed it`);
    for (const id of orders.added)
      this.log(`[keeper] scan: order ${id} is open; the event sync had missed it`);
    const dropped = [
      ...(borrowers.dropped.length ? [`borrowers without debt: ${list(borrowers.dropped)}`] : []),
      ...(traders.dropped.length ? [`traders without a position: ${list(traders.dropped)}`] : []),
      ...(orders.dropped.length ? [`orders no longer open: ${list(orders.dropped)}`] : []),
    ];
    if (dropped.length)
      this.log(`[keeper] scan: no longer watched (until their next event): ${dropped.join("; ")}`);
    this.log(
      `[keeper] scan of blocks ${report.fromBlock}..${toBlock} in ${chunks} chunk(s): ${borrowers.watched} borrowers (${borrowers.added.length} missed), ${traders.watched} traders (${traders.added.length} missed), ${orders.watched} open orders (${orders.added.length} missed) watched`,
    );
    return report;
  }

  /**
   * Rereads each of `watched` and `found` with `keep` (in batches of `scanBatch` concurrent reads) and makes
   * `watched` exactly those it keeps; says which were added and which dropped. The jobs themselves read
   * the views again each round, so a scan only decides what to watch.
   */
  private async reread<T>(
    watched: Set<T>,
    found: Set<T>,
    keep: (item: T) => Promise<boolean>,
  ): Promise<{ watched: number; added: T[]; dropped: T[] }> {
    const candidates = [...new Set([...watched, ...found])];
    const added: T[] = [];
    const dropped: T[] = [];
    for (let i = 0; i < candidates.length; i += this.scanBatch) {
      const batch = candidates.slice(i, i + this.scanBatch);
      // A view that fails (a node hiccup) is no reason to stop watching: keep it.
      const kept = await Promise.all(batch.map((item) => keep(item).catch(() => true)));
      batch.forEach((item, j) => {
        if (kept[j] && !watched.has(item)) {
          watched.add(item);
          added.push(item);
        } else if (!kept[j] && watched.has(item)) {
          watched.delete(item);
          dropped.push(item);
        }
      });
    }
    return { watched: watched.size, added, dropped };
  }

  /** Syncs (and every `scanEvery` rounds scans), then does every job once; returns what it did and why. */
  async round(): Promise<KeeperAction[]> {
    this.rounds++;
    await this.sync();
    if (this.scanEvery > 0 && this.rounds % this.scanEvery === 0) await this.scan();
    const actions: KeeperAction[] = [];
    if (this.lending) actions.push(...(await this.lendingLiquidations(this.lending)));
    if (this.perp) {
      actions.push(...(await this.perpLiquidations(this.perp)));
      actions.push(...(await this.stopOrders(this.perp)));
      actions.push(...(await this.deleverage(this.perp)));
    }
    return actions;
  }

  /** Simulates, then sends (unless a dry run). A simulated revert is logged and nothing is sent. */
  private async act(
    kind: KeeperAction["kind"],
    target: string,
    why: string,
    iface: Interface,
    simulate: () => Promise<unknown>,
    send: () => Promise<ContractTransactionResponse>,
  ): Promise<KeeperAction> {
    try {
      await simulate();
    } catch (e) {
      const reason = `${why}; the simulation reverts: ${decode(e, [iface, this.router.interface])}`;
      this.log(`[keeper] ${kind} ${target}: not sent (${reason})`);
      return { kind, target, outcome: "refused", reason };
    }
    if (this.opts.dryRun) {
      this.log(`[keeper] ${kind} ${target}: would send (${why}) [dry run]`);
      return { kind, target, outcome: "dry-run", reason: why };
    }
    const tx = await send();
    await tx.wait();
    this.log(`[keeper] ${kind} ${target}: sent ${tx.hash} (${why})`);
    return { kind, target, outcome: "sent", reason: why, hash: tx.hash };
  }

  private async lendingLiquidations(market: LendingMarket): Promise<KeeperAction[]> {
    const out: KeeperAction[] = [];
    const tokens = await market.collateralTokens();
    const marketAddress = await market.getAddress();
    for (const account of this.borrowers) {
      const v = await market.accountView(account);
      if (v.debt === 0n || v.health >= 10n ** 18n) continue;
      // The most valuable collateral whose price the policy allows for a liquidation.
      let best: { token: string; value: bigint } | undefined;
      for (const token of tokens) {
        const amount = await market.collateralOf(account, token);
        if (amount === 0n) continue;
        const [price, status] = await this.router.peek(token);
        if (!(await this.router.isAllowed(status, LIQUIDATE_ACTION))) continue;
        const decimals = Object.values(this.d.assets).find((a) => a.address === token)?.decimals ?? 18;
        const value = (amount * price) / 10n ** BigInt(decimals);
        if (!best || value > best.value) best = { token, value };
      }
      const why = `health ${formatWad(v.health)} < 1`;
      if (!best) {
        const reason = `${why}; no collateral with a price the policy allows for LIQUIDATE`;
        this.log(`[keeper] lending.liquidate ${account}: not sent (${reason})`);
        out.push({ kind: "lending.liquidate", target: account, outcome: "refused", reason });
        continue;
      }
      const token = best.token;
      if (this.opts.dryRun && (await this.base.allowance(this.address, marketAddress)) < v.debt) {
        // Without the approval the simulation would only say so; a dry run sends neither.
        const reason = `${why}, seizing ${symbolOf(this.d, token)} (would approve ${this.d.base.symbol} first; not simulated)`;
        this.log(`[keeper] lending.liquidate ${account}: would send (${reason}) [dry run]`);
        out.push({ kind: "lending.liquidate", target: account, outcome: "dry-run", reason });
        continue;
      }
      if (!this.opts.dryRun) await this.ensureAllowance(marketAddress, v.debt);
      out.push(
        await this.act(
          "lending.liquidate",
          account,
          `${why}, seizing ${symbolOf(this.d, token)}`,
          market.interface,
          () => market.liquidate.staticCall(account, token, MAX),
          () => market.liquidate(account, token, MAX),
        ),
      );
    }
    return out;
  }

  private async perpLiquidations(perp: PerpMarket): Promise<KeeperAction[]> {
    const out: KeeperAction[] = [];
    for (const account of this.traders) {
      const v = await perp.accountView(account);
      if (!v.liquidatable) continue;
      const why = `equity ${v.equity} < maintenance margin ${v.maintenanceMargin}`;
      out.push(
        await this.act(
          "perps.liquidate",
          account,
          why,
          perp.interface,
          () => perp.liquidate.staticCall(account),
          () => perp.liquidate(account),
        ),
      );
    }
    return out;
  }

  private async stopOrders(perp: PerpMarket): Promise<KeeperAction[]> {
    const out: KeeperAction[] = [];
    for (const id of [...this.orders]) {
      const o = await perp.order(id);
      if (o.account === ZERO) {
        this.orders.delete(id);
        continue;
      }
      const asset = (await perp.marketView(o.marketId)).asset;
      const [price] = await this.router.peek(asset);
      const triggered = o.triggerAbove ? price >= o.triggerPrice : price <= o.triggerPrice;
      if (!triggered) continue;
      out.push(
        await this.act(
          "perps.executeOrder",
          `order ${id}`,
          `price ${formatWad(price)} crossed the trigger ${formatWad(o.triggerPrice)}`,
          perp.interface,
          () => perp.executeOrder.staticCall(id),
          () => perp.executeOrder(id),
        ),
      );
    }
    return out;
  }

  /** Per market: the winning side's profitable positions, by adlScore, highest first; sent if ADL runs. */
  private async deleverage(perp: PerpMarket): Promise<KeeperAction[]> {
    const out: KeeperAction[] = [];
    const count = Number(await perp.marketCount());
    for (let id = 0; id < count; id++) {
      const [longPnl, shortPnl] = await perp.sidePnl(id);
      const longsWin = longPnl >= shortPnl;
      const ranked: { account: string; score: bigint }[] = [];
      for (const account of this.traders) {
        const p = await perp.positionView(account, id);
        if (p.size === 0n || p.size > 0n !== longsWin) continue;
        const score = await perp.adlScore(account, id);
        if (score > 0n) ranked.push({ account, score });
      }
      if (ranked.length === 0) continue;
      ranked.sort((a, b) => (a.score > b.score ? -1 : a.score < b.score ? 1 : 0));
      const list = ranked.map((r) => r.account);
      let closes: bigint;
      try {
        closes = await perp.adl.staticCall(id, list);
      } catch {
        continue; // not triggered (AdlNotTriggered) or a refused price: nothing to do, nothing to log
      }
      if (closes === 0n) continue;
      out.push(
        await this.act(
          "perps.adl",
          `market ${id}`,
          `the winning ${longsWin ? "longs" : "shorts"}' profit is past the trigger; ${closes} position(s)`,
          perp.interface,
          () => perp.adl.staticCall(id, list),
          () => perp.adl(id, list),
        ),
      );
    }
    return out;
  }

  private async ensureAllowance(spender: string, needed: bigint) {
    if ((await this.base.allowance(this.address, spender)) >= needed) return;
    await (await this.base.approve(spender, MAX)).wait();
    this.log(`[keeper] approved ${spender} to pull ${this.d.base.symbol}`);
  }
}

function formatWad(v: bigint): string {
  const whole = v / 10n ** 18n;
  const frac = ((v % 10n ** 18n) * 10_000n) / 10n ** 18n;
  return `${whole}.${frac.toString().padStart(4, "0")}`;
}

function symbolOf(d: DeploymentsFile, token: string): string {
  return Object.entries(d.assets).find(([, a]) => a.address === token)?.[0] ?? token;
}

/** A revert's custom error name and arguments, from any of the interfaces, or the message. */
export function decode(e: unknown, ifaces: Interface[]): string {
  const data = (e as { data?: string }).data ?? (e as { error?: { data?: string } }).error?.data;
  if (typeof data === "string" && data.length >= 10) {
    for (const iface of ifaces) {
      try {
        const parsed = iface.parseError(data);
        if (parsed) return `${parsed.name}(${parsed.args.map((a) => a.toString()).join(", ")})`;
      } catch {
        /* another interface */
      }
    }
  }
  return (e as Error).message?.split("\n")[0] ?? String(e);
}
