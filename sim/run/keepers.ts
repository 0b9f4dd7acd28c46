/**
 * The scenario's keepers, acting once per step with the logic of keeper/keeper.ts (find the work from views,
 * simulate every transaction first, send only what would succeed), plus what a scenario asks of them:
 * liquidators wait `latencySteps` after an account becomes liquidatable, do at most `maxPerStep` each per
 * step, and act only when bonus - slippage - gas clears `minProfit`. The ADL keeper ranks the winning side
 * by adlScore as the bot does. Refusals caused by the oracle are counted as blocked liquidations.
 *
 * Like a real bot, they do not read every account every step: the Tracker (sim/run/tracker.ts) keeps the
 * accounts off chain and reads exactly, in one batched view call, those a step may have put at risk; the
 * keepers decide on those exact views.
 */
import type { ContractTransactionReceipt, Interface, Signer } from "ethers";

import type { System } from "../../deploy/deploySystem";
import { Action, PriceStatus } from "../../deploy/enums";
import { decode } from "../../keeper/keeper";
import { gasCostPath, type Liquidator, type Scenario } from "../scenario";
import type { Reads } from "./batch";
import type { Chain } from "./chain";
import type { Population } from "./population";
import type { Globals, Tracker } from "./tracker";
import { usd } from "./population";

const MAX = (1n << 256n) - 1n;
/** An explicit gas limit: the transaction was just simulated, so estimating its gas again is wasted work. */
const GAS = { gasLimit: 5_000_000 };
const ADL_RECHECK_STEPS = 10;
const WAD = 10n ** 18n;
/** USD WAD per base unit (base has 6 decimals). */
const USD_PER_UNIT = 10n ** 12n;

export interface SimEvent {
  step: number;
  kind: string;
  account: string;
  /** Base units. */
  amount: bigint;
  tx: string;
}

export interface StepActivity {
  lendingLiquidations: number;
  perpLiquidations: number;
  blockedLiquidations: number;
  /** Per asset symbol: the fraction by which liquidators' sales pushed the market down (cascade). */
  impact: Record<string, number>;
}

export interface Totals {
  liquidationsLending: number;
  liquidationsPerps: number;
  valueRepaid: bigint;
  bonusPaid: bigint;
  blockedLiquidate: number;
  adlCloses: number;
  ordersExecuted: number;
}

interface LiquidatorGroup {
  spec: Liquidator;
  signers: Signer[];
  gas: number[];
  /** Liquidations done by each signer this step. */
  done: number[];
}

export class Keepers {
  readonly events: SimEvent[] = [];
  readonly totals: Totals = {
    liquidationsLending: 0,
    liquidationsPerps: 0,
    valueRepaid: 0n,
    bonusPaid: 0n,
    blockedLiquidate: 0,
    adlCloses: 0,
    ordersExecuted: 0,
  };
  /** Every keeper's address (they may hold perps margin: keeper fees). */
  readonly addresses: string[] = [];
  private groups: LiquidatorGroup[] = [];
  private adlSigner?: Signer;
  private ordersSigner?: Signer;
  /** Per market: the state at the last ADL check that found it untriggered. */
  private readonly adlChecked = new Map<string, { state: string; step: number }>();
  /** Stop orders still open (executed ones, and those whose position is gone, are dropped). */
  private openOrders: Population["orders"] = [];
  private readonly since = new Map<string, number>();
  private readonly ifaces: Interface[];
  /** The router's policy: whether each price status allows LIQUIDATE (read once, it does not change). */
  private liquidateAllowed: boolean[] = [];

  constructor(
    private readonly chain: Chain,
    private readonly sys: System,
    private readonly s: Scenario,
    private readonly pop: Population,
  ) {
    this.ifaces = [sys.lending!.market.interface, sys.perps!.market.interface, sys.router.interface];
  }

  async init(salt: string) {
    this.openOrders = [...this.pop.orders];
    for (let status = 0; status <= PriceStatus.DISAGREE; status++) {
      this.liquidateAllowed.push(await this.sys.router.isAllowed(status, Action.LIQUIDATE));
    }
    const base = this.sys.base.token!;
    const spenders = [await this.sys.lending!.market.getAddress(), await this.sys.perps!.market.getAddress()];
    for (const [k, spec] of this.s.keepers.entries()) {
      if (spec.kind === "orders" && this.pop.orders.length === 0) continue; // no stops: nothing to do
      const count = spec.kind === "liquidator" ? spec.count : 1;
      const signers: Signer[] = [];
      for (let i = 0; i < count; i++) {
        const signer = await this.chain.account(salt, `keeper/${k}/${i}`);
        const address = await signer.getAddress();
        this.addresses.push(address);
        signers.push(signer);
        if (spec.kind !== "liquidator") continue;
        await this.chain.send(() => base.mint(address, usd(1e10)));
        for (const spender of spenders)
          await this.chain.send(() => base.connect(signer).approve(spender, MAX));
      }
      if (spec.kind === "liquidator") {
        this.groups.push({ spec, signers, gas: gasCostPath(this.s, k), done: signers.map(() => 0) });
      } else if (spec.kind === "adl") this.adlSigner = signers[0];
      else this.ordersSigner = signers[0];
    }
  }

  /**
   * The orders keeper: every open stop whose trigger the oracle price has crossed is simulated, then executed
   * (the contract pays the keeper's fee from the trader's margin). A stop whose position is gone (liquidated,
   * deleveraged) is dropped without a transaction.
   */
  private async orders(step: number, tracker: Tracker, g: Globals) {
    const perp = this.sys.perps!.market.connect(this.ordersSigner!);
    const open: Population["orders"] = [];
    for (const o of this.openOrders) {
      if (!tracker.hasPosition(o.account)) continue;
      const price = g.assets[o.asset].price;
      const crossed = o.triggerAbove ? price >= o.triggerPrice : price <= o.triggerPrice;
      if (!crossed) {
        open.push(o);
        continue;
      }
      try {
        await perp.executeOrder.staticCall(o.id);
      } catch {
        open.push(o); // a refused price (or not triggered at the contract's price): try again next step
        continue;
      }
      const r = await this.chain.send(() => perp.executeOrder(o.id, GAS));
      tracker.touched.add(o.account);
      for (const log of r.logs) {
        const p = this.parse(log);
        if (p?.name === "OrderExecuted") {
          this.totals.ordersExecuted += 1;
          const notional = (o.size * p.args.price) / WAD / USD_PER_UNIT;
          this.events.push({ step, kind: "perps.order", account: o.account, amount: notional, tx: r.hash });
        }
      }
    }
    this.openOrders = open;
  }

  /** The first signer of a group with latency satisfied and capacity left, or undefined. */
  private pick(step: number, since: number): { g: LiquidatorGroup; i: number } | undefined {
    for (const g of this.groups) {
      if (step - since < g.spec.latencySteps) continue;
      const cap = g.spec.maxPerStep ?? Infinity;
      const i = g.done.findIndex((d) => d < cap);
      if (i >= 0) return { g, i };
    }
    return undefined;
  }

  private waiting(key: string, unhealthy: boolean, step: number): number | undefined {
    if (!unhealthy) {
      this.since.delete(key);
      return undefined;
    }
    if (!this.since.has(key)) this.since.set(key, step);
    return this.since.get(key)!;
  }

  /** Every keeper's work at `step`, on the tracker's exact views of the accounts at risk. */
  async act(step: number, tracker: Tracker, g: Globals, reads: Reads): Promise<StepActivity> {
    const activity: StepActivity = {
      lendingLiquidations: 0,
      perpLiquidations: 0,
      blockedLiquidations: 0,
      impact: {},
    };
    for (const g of this.groups) g.done.fill(0);
    // Stops first: a stop that fires keeps its position out of liquidation.
    if (this.ordersSigner) await this.orders(step, tracker, g);
    if (this.groups.length > 0) {
      await this.lending(step, activity, tracker, g);
      await this.perps(step, activity, tracker);
    }
    if (this.adlSigner) await this.adl(step, tracker, reads, g);
    return activity;
  }

  private blocked(step: number, account: string, activity: StepActivity, kind: string) {
    activity.blockedLiquidations += 1;
    this.totals.blockedLiquidate += 1;
    this.events.push({ step, kind: `${kind}.blocked`, account, amount: 0n, tx: "" });
  }

  private async lending(step: number, activity: StepActivity, tracker: Tracker, g: Globals) {
    const market = this.sys.lending!.market;
    for (const b of this.pop.borrowers) {
      const v = tracker.lendingViews.get(b.address);
      // Not read this step: the tracker's estimate puts it well above liquidation.
      const since = this.waiting(`l/${b.address}`, v !== undefined && v.debt > 0n && v.health < WAD, step);
      if (since === undefined) continue;
      const who = this.pick(step, since);
      if (!who) continue;
      const asset = this.sys.assets[b.asset!];
      const { price, status } = g.assets[b.asset!];
      if (!this.liquidateAllowed[status]) {
        this.blocked(step, b.address, activity, "lending.liquidate");
        continue;
      }
      const signer = who.g.signers[who.i];
      let repaid: bigint, seized: bigint;
      try {
        [repaid, seized] = await market.connect(signer).liquidate.staticCall(b.address, asset.address, MAX);
      } catch (e) {
        if (decode(e, this.ifaces).startsWith("PriceNotUsable"))
          this.blocked(step, b.address, activity, "lending.liquidate");
        continue;
      }
      const seizedValue = (seized * price) / 10n ** BigInt(asset.decimals) / USD_PER_UNIT;
      if (!this.profitable(who.g, step, seizedValue, repaid)) {
        this.events.push({
          step,
          kind: "lending.unprofitable",
          account: b.address,
          amount: seizedValue - repaid,
          tx: "",
        });
        continue;
      }
      const r = await this.chain.send(() =>
        market.connect(signer).liquidate(b.address, asset.address, MAX, GAS),
      );
      tracker.touched.add(b.address);
      who.g.done[who.i] += 1;
      activity.lendingLiquidations += 1;
      this.totals.liquidationsLending += 1;
      this.totals.valueRepaid += repaid;
      this.totals.bonusPaid += seizedValue > repaid ? seizedValue - repaid : 0n;
      this.events.push({ step, kind: "lending.liquidate", account: b.address, amount: repaid, tx: r.hash });
      if (who.g.spec.marketDepth) {
        // The liquidator sells what it seized: 10% of the price per marketDepth of USD sold.
        const sold = Number(seizedValue) / 1e6;
        activity.impact[b.asset!] = (activity.impact[b.asset!] ?? 0) + (0.1 * sold) / who.g.spec.marketDepth;
      }
      this.deficits(step, r, "lending.deficit");
    }
  }

  /** bonus - slippage - gas >= minProfit (USD), the scenario's liquidator economics. */
  private profitable(g: LiquidatorGroup, step: number, seizedValue: bigint, repaid: bigint): boolean {
    const seizedUsd = Number(seizedValue) / 1e6;
    const bonus = seizedUsd - Number(repaid) / 1e6;
    const slippage = g.spec.marketDepth ? (seizedUsd * 0.1 * seizedUsd) / g.spec.marketDepth : 0;
    return bonus - slippage - g.gas[step] >= g.spec.minProfit;
  }

  private deficits(step: number, r: ContractTransactionReceipt, kind: string) {
    for (const log of r.logs) {
      const parsed = this.parse(log);
      if (parsed?.name === "DeficitRealised") {
        this.events.push({
          step,
          kind,
          account: parsed.args.account,
          amount: parsed.args.deficit,
          tx: r.hash,
        });
      }
    }
  }

  private parse(log: { topics: readonly string[]; data: string }) {
    for (const iface of this.ifaces) {
      try {
        const p = iface.parseLog({ topics: [...log.topics], data: log.data });
        if (p) return p;
      } catch {
        /* another interface */
      }
    }
    return null;
  }

  private async perps(step: number, activity: StepActivity, tracker: Tracker) {
    const perp = this.sys.perps!.market;
    for (const t of this.pop.traders) {
      const v = tracker.perpViews.get(t.address);
      const since = this.waiting(`p/${t.address}`, v?.liquidatable === true, step);
      if (since === undefined) continue;
      const who = this.pick(step, since);
      if (!who) continue;
      const signer = who.g.signers[who.i];
      try {
        await perp.connect(signer).liquidate.staticCall(t.address);
      } catch (e) {
        if (decode(e, this.ifaces).startsWith("PriceNotUsable"))
          this.blocked(step, t.address, activity, "perps.liquidate");
        continue;
      }
      const r = await this.chain.send(() => perp.connect(signer).liquidate(t.address, GAS));
      tracker.touched.add(t.address);
      who.g.done[who.i] += 1;
      activity.perpLiquidations += 1;
      this.totals.liquidationsPerps += 1;
      for (const log of r.logs) {
        const p = this.parse(log);
        if (p?.name === "AccountLiquidated") {
          this.totals.valueRepaid += p.args.notional;
          this.totals.bonusPaid += p.args.keeperFee;
          this.events.push({
            step,
            kind: "perps.liquidate",
            account: t.address,
            amount: p.args.notional,
            tx: r.hash,
          });
        }
      }
      this.deficits(step, r, "perps.deficit");
    }
  }

  /**
   * Per market: the winning side's profitable positions by adlScore, highest first (keeper/keeper.ts). A
   * one-account simulation first asks the contract whether ADL is triggered at all, so the ranking (a batched
   * read of every position of the market) happens only in the steps that need it.
   */
  private async adl(step: number, tracker: Tracker, reads: Reads, g: Globals) {
    const perp = this.sys.perps!.market.connect(this.adlSigner!);
    for (const asset of this.s.assets) {
      const id = this.sys.perps!.marketIds[asset.symbol];
      const traders = this.pop.traders.filter((t) => t.asset === asset.symbol);
      if (traders.length === 0) continue;
      // The trigger moves with the price, the open interest and the pool (which only a keeper's action
      // changes); funding moves it slowly. Unchanged since a check that found it untriggered: check again
      // only every ADL_RECHECK_STEPS steps.
      const m = g.markets[asset.symbol];
      const state = `${g.assets[asset.symbol].price}/${m.longOI}/${m.shortOI}`;
      const last = this.adlChecked.get(asset.symbol);
      if (
        last &&
        last.state === state &&
        tracker.touched.size === 0 &&
        step - last.step < ADL_RECHECK_STEPS
      ) {
        continue;
      }
      this.adlChecked.delete(asset.symbol);
      try {
        await perp.adl.staticCall(id, [traders[0].address]);
      } catch (e) {
        const why = decode(e, this.ifaces);
        if (why.startsWith("AdlNotTriggered")) this.adlChecked.set(asset.symbol, { state, step });
        if (why.startsWith("AdlNotTriggered") || why.startsWith("PriceNotUsable")) continue;
      }
      const [longPnl, shortPnl] = await perp.sidePnl(id);
      const longsWin = longPnl >= shortPnl;
      const ranked: { account: string; score: bigint; order: number }[] = [];
      for (const [order, t] of this.pop.traders.entries()) {
        if (t.asset !== asset.symbol) continue;
        let size = 0n;
        await reads.add(perp, "positionView", [t.address, id], (r) => (size = r[0].size), { gas: 90_000 });
        await reads.add(
          perp,
          "adlScore",
          [t.address, id],
          (r) => {
            const score: bigint = r[0];
            if (size !== 0n && size > 0n === longsWin && score > 0n)
              ranked.push({ account: t.address, score, order });
          },
          { gas: 90_000 },
        );
      }
      await reads.run();
      if (ranked.length === 0) continue;
      ranked.sort((a, b) => (a.score > b.score ? -1 : a.score < b.score ? 1 : a.order - b.order));
      const list = ranked.map((r) => r.account);
      try {
        if ((await perp.adl.staticCall(id, list)) === 0n) continue;
      } catch {
        continue; // not triggered, or a refused price
      }
      const r = await this.chain.send(() => perp.adl(id, list, { gasLimit: 25_000_000 }));
      for (const log of r.logs) {
        const p = this.parse(log);
        if (p?.name === "Deleveraged") {
          this.totals.adlCloses += 1;
          tracker.touched.add(p.args.account);
          this.events.push({
            step,
            kind: "perps.adl",
            account: p.args.account,
            amount: p.args.haircut,
            tx: r.hash,
          });
        }
      }
    }
  }
}
