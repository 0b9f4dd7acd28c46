/**
 * The Ballast keeper: a bot that watches accounts the way any outside keeper would (the contracts' events
 * from the deployment block, then their views each round) and does the keeper work: lending liquidations,
 * perps liquidations, triggered stop orders, and ADL. It reads no simulator state and needs nothing but an
 * RPC endpoint, the deployments file and a funded signer.
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
}

/** One keeper over one deployment. `round()` syncs the events and does every job once. */
export class Keeper {
  readonly borrowers = new Set<string>();
  readonly traders = new Set<string>();
  readonly orders = new Set<bigint>();
  private nextBlock: number;
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
    this.nextBlock = Math.max(0, this.d.block - 200);
  }

  /** Reads the events since the last sync: who borrows, who trades, which orders are open. */
  async sync() {
    const to = await this.hre.ethers.provider.getBlockNumber();
    if (to < this.nextBlock) return;
    const from = this.nextBlock;
    if (this.lending) {
      for (const e of await this.lending.queryFilter(this.lending.filters.Borrow(), from, to)) {
        this.borrowers.add(e.args.borrower);
      }
    }
    if (this.perp) {
      const p = this.perp;
      for (const e of await p.queryFilter(p.filters.PositionModified(), from, to))
        this.traders.add(e.args.account);
      for (const e of await p.queryFilter(p.filters.OrderPlaced(), from, to)) this.orders.add(e.args.orderId);
      for (const e of await p.queryFilter(p.filters.OrderCancelled(), from, to))
        this.orders.delete(e.args.orderId);
      for (const e of await p.queryFilter(p.filters.OrderExecuted(), from, to))
        this.orders.delete(e.args.orderId);
    }
    this.nextBlock = to + 1;
  }

  /** Syncs, then does every job once; returns what it did and why. */
  async round(): Promise<KeeperAction[]> {
    await this.sync();
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
      if (o.account === "0x0000000000000000000000000000000000000000") {
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
