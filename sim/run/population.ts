/**
 * The population of a scenario: suppliers, borrowers, LPs and traders, each drawn from the scenario's
 * distributions with its seed (one PRNG stream per group, so adding traders does not move the borrowers),
 * each a fresh account funded with mock tokens, each acting through the real contracts.
 *
 * Every account is a SimActor clone made by the SimHarness (contracts/mocks/SimHarness.sol): the protocol
 * sees an ordinary account calling its entry points, and the whole setup runs in a few batched
 * transactions instead of four or five transactions per account (docs/simulator.md, "Performance").
 */
import { concat, getCreate2Address, Interface, keccak256, toBeHex, zeroPadValue } from "ethers";

import type { System } from "../../deploy/deploySystem";
import { toUnits } from "../../deploy/units";
import type { SimHarness } from "../../typechain-types";
import { AMOUNT, FRACTION, LEVERAGE, Rng, sample, sampleCount, type Scenario } from "../scenario";
import type { Target } from "./batch";
import { BASE_DECIMALS, collateralOf, perpMarketOf } from "./build";
import type { Chain } from "./chain";

export type Role = "supplier" | "borrower" | "lp" | "trader";

export interface Actor {
  role: Role;
  index: number;
  address: string;
  /** Base units put in at the start (a supplier's or LP's deposit, a trader's margin). */
  deposited: bigint;
  /** Borrowers: the collateral's symbol; traders: the market's asset symbol. */
  asset?: string;
}

export interface Population {
  suppliers: Actor[];
  borrowers: Actor[];
  lps: Actor[];
  traders: Actor[];
  /** Actions of the setup that the contracts refused (e.g. a borrow beyond the market's cash). */
  skipped: { role: Role; index: number; reason: string }[];
  /** Stop-loss orders the traders placed (`population.traders.stopLoss`). */
  orders: StopOrder[];
}

export interface StopOrder {
  id: bigint;
  account: string;
  asset: string;
  /** Underlying units it closes, and the trigger (USD WAD): a long's stop fires at or below it. */
  size: bigint;
  triggerPrice: bigint;
  triggerAbove: boolean;
}

/** USD to base units. */
export const usd = (x: number) => toUnits(x.toFixed(BASE_DECIMALS), BASE_DECIMALS);
const MAX = (1n << 256n) - 1n;
const MAX128 = (1n << 128n) - 1n;
type OpSpec = [actor: boolean, t: Target, what: string, fn: string, args: unknown[]];
/** An operation of an account's setup (labelled by its function). */
const op = (byActor: boolean, t: Target, fn: string, args: unknown[]): OpSpec => [byActor, t, fn, fn, args];
/** Operations per setup transaction (whole accounts only); the harness stops early if gas runs low. */
const OPS_PER_TX = 160;

interface Op {
  group: number;
  actor: number;
  target: string;
  data: string;
}

/** Collects the setup as operations, then runs them through the harness in batches. */
class Setup {
  readonly ops: Op[] = [];
  /** Per operation: who and what (for the skipped list). */
  private readonly labels: { actor: Actor; what: string }[] = [];
  private groups = 0;
  private actors = 0;
  private harnessAddress = "";
  private cloneCodeHash = "";

  constructor(
    private readonly chain: Chain,
    private readonly harness: SimHarness,
  ) {}

  /** Computes actor addresses off chain (CREATE2 of OpenZeppelin's minimal clone), checked once on chain. */
  async init() {
    this.harnessAddress = await this.harness.getAddress();
    const implementation = await this.harness.actorImplementation();
    this.cloneCodeHash = keccak256(
      concat([
        "0x3d602d80600a3d3981f3363d3d373d3d3d363d73",
        implementation,
        "0x5af43d82803e903d91602b57fd5bf3",
      ]),
    );
    if (this.addressOf(1) !== (await this.harness.actorOf(1)))
      throw new Error("SimHarness: clone address mismatch");
  }

  private addressOf(id: number): string {
    return getCreate2Address(this.harnessAddress, zeroPadValue(toBeHex(id), 32), this.cloneCodeHash);
  }

  /** A new actor (its clone is created by its first operation). */
  async actor(role: Role, index: number, deposited: bigint, asset?: string): Promise<Actor & { id: number }> {
    this.actors += 1;
    const id = this.actors;
    return { id, role, index, address: this.addressOf(id), deposited, asset };
  }

  /** One account's operations: the harness mints (`actor` 0), the actor approves and calls. */
  async group(
    a: Actor & { id: number },
    calls: [actor: boolean, t: Target, what: string, fn: string, args: unknown[]][],
  ) {
    this.groups += 1;
    for (const [byActor, t, what, fn, args] of calls) {
      this.ops.push({
        group: this.groups,
        actor: byActor ? a.id : 0,
        target: await t.getAddress(),
        data: t.interface.encodeFunctionData(fn, args),
      });
      this.labels.push({ actor: a, what });
    }
  }

  /** Sends every operation; returns the refused ones with their decoded reason, and the orders placed. */
  async run(ifaces: Interface[], perps: Interface, assetOf: (marketId: number) => string) {
    const skipped: Population["skipped"] = [];
    const orders: StopOrder[] = [];
    const harnessIface = this.harness.interface;
    for (let start = 0; start < this.ops.length;) {
      // Whole groups per transaction: a group's failure must skip the rest of that group only.
      let end = Math.min(start + OPS_PER_TX, this.ops.length);
      while (end < this.ops.length && this.ops[end].group === this.ops[end - 1].group) end += 1;
      const chunk = this.ops.slice(start, end);
      let next = 0;
      while (next < chunk.length) {
        const from = next;
        const r = await this.chain.send(() => this.harness.setup(chunk, from, { gasLimit: 29_000_000 }));
        next = chunk.length;
        for (const log of r.logs) {
          const placed = perps.parseLog({ topics: [...log.topics], data: log.data });
          if (placed?.name === "OrderPlaced") {
            const o = placed.args.order;
            orders.push({
              id: placed.args.orderId,
              account: o.account,
              asset: assetOf(Number(o.marketId)),
              size: o.size,
              triggerPrice: o.triggerPrice,
              triggerAbove: o.triggerAbove,
            });
            continue;
          }
          const p = harnessIface.parseLog({ topics: [...log.topics], data: log.data });
          if (p?.name === "BatchStopped") next = Number(p.args.next);
          if (p?.name === "OpFailed") {
            const { actor, what } = this.labels[start + Number(p.args.op)];
            skipped.push({
              role: actor.role,
              index: actor.index,
              reason: `${what}: ${reason(p.args.reason, ifaces)}`,
            });
          }
        }
      }
      start = end;
    }
    return { skipped, orders };
  }
}

/** A revert's data as `Error(args)` when one of the ABIs knows it. */
function reason(data: string, ifaces: Interface[]): string {
  for (const iface of ifaces) {
    try {
      const e = iface.parseError(data);
      if (e) return `${e.name}(${e.args.map((x) => x.toString()).join(", ")})`;
    } catch {
      /* another interface */
    }
  }
  return data === "0x" ? "reverted without data" : `reverted with ${data}`;
}

/** Draws the population and builds it: supply, collateral and borrow, LP deposits, trades. */
export async function buildPopulation(
  chain: Chain,
  sys: System,
  s: Scenario,
  harness: SimHarness,
): Promise<Population> {
  const pop: Population = { suppliers: [], borrowers: [], lps: [], traders: [], skipped: [], orders: [] };
  const g = s.population;
  const base = sys.base.token!;
  const setup = new Setup(chain, harness);
  await setup.init();
  const lending = sys.lending!.market;
  const lendingAddress = await lending.getAddress();

  if (g.suppliers) {
    const rng = Rng.from(s.seed, "suppliers");
    const n = sampleCount(g.suppliers.count, rng);
    for (let i = 0; i < n; i++) {
      const amount = usd(sample(g.suppliers.deposit, rng, AMOUNT));
      const a = await setup.actor("supplier", i, amount);
      pop.suppliers.push(a);
      if (amount === 0n) continue;
      await setup.group(a, [
        [false, base, "mint", "mint", [a.address, amount]],
        [true, base, "approve", "approve", [lendingAddress, MAX]],
        [true, lending, "supply", "supply", [amount, a.address]],
      ]);
    }
  }

  if (g.borrowers) {
    const rng = Rng.from(s.seed, "borrowers");
    const n = sampleCount(g.borrowers.count, rng);
    const symbol = g.borrowers.collateral;
    const asset = sys.assets[symbol];
    const spec = s.assets.find((x) => x.symbol === symbol)!;
    // A borrower asks for `ltv` x size; the market allows at most its collateral ltv (minus a margin for rounding).
    const maxLtv = collateralOf(s, spec).ltv - 0.001;
    for (let i = 0; i < n; i++) {
      const size = sample(g.borrowers.size, rng, AMOUNT);
      const ltv = Math.min(sample(g.borrowers.ltv, rng, FRACTION), maxLtv);
      const a = await setup.actor("borrower", i, 0n, symbol);
      pop.borrowers.push(a);
      const units = toUnits((size / spec.price).toFixed(Math.min(asset.decimals, 12)), asset.decimals);
      if (units === 0n) continue;
      const debt = usd(size * ltv);
      const token = asset.token!;
      await setup.group(a, [
        [false, token, "mint", "mint", [a.address, units]],
        [true, token, "approve", "approve", [lendingAddress, MAX]],
        [true, lending, "supplyCollateral", "supplyCollateral", [asset.address, units, a.address]],
        ...(debt > 0n
          ? [
              [true, lending, "borrow", "borrow", [debt, a.address]] as [
                boolean,
                Target,
                string,
                string,
                unknown[],
              ],
            ]
          : []),
      ]);
    }
  }

  const perp = sys.perps!.market;
  const vault = sys.perps!.vault;
  if (g.lps) {
    const rng = Rng.from(s.seed, "lps");
    const n = sampleCount(g.lps.count, rng);
    const vaultAddress = await vault.getAddress();
    for (let i = 0; i < n; i++) {
      const amount = usd(sample(g.lps.deposit, rng, AMOUNT));
      const a = await setup.actor("lp", i, amount);
      pop.lps.push(a);
      if (amount === 0n) continue;
      await setup.group(a, [
        [false, base, "mint", "mint", [a.address, amount]],
        [true, base, "approve", "approve", [vaultAddress, MAX]],
        [true, vault, "deposit", "deposit", [amount, a.address]],
      ]);
    }
  }

  if (g.traders) {
    const rng = Rng.from(s.seed, "traders");
    const n = sampleCount(g.traders.count, rng);
    const symbol = g.traders.asset;
    const spec = s.assets.find((x) => x.symbol === symbol)!;
    const marketId = sys.perps!.marketIds[symbol];
    // Initial margin grows with size (marginScale): stay a little under the nominal maximum leverage.
    const maxLeverage = (1 / perpMarketOf(s, spec).initialMargin) * 0.95;
    const perpAddress = await perp.getAddress();
    for (let i = 0; i < n; i++) {
      const margin = sample(g.traders.margin, rng, AMOUNT);
      const leverage = Math.min(sample(g.traders.leverage, rng, LEVERAGE), maxLeverage);
      const long = rng.next() < g.traders.longShare;
      // Drawn only when the scenario has stops, so that scenarios without them keep their draws.
      const stop = g.traders.stopLoss ? rng.next() < g.traders.stopLoss.share : false;
      const amount = usd(margin);
      const a = await setup.actor("trader", i, amount, symbol);
      pop.traders.push(a);
      if (amount === 0n) continue;
      const size = toUnits(((margin * leverage) / spec.price).toFixed(12), 18);
      await setup.group(a, [
        [false, base, "mint", "mint", [a.address, amount]],
        [true, base, "approve", "approve", [perpAddress, MAX]],
        [true, perp, "depositMargin", "depositMargin", [amount, a.address]],
        ...(size > 0n
          ? [op(true, perp, "modifyPosition", [marketId, long ? size : -size, long ? MAX : 0n])]
          : []),
        // A stop-loss on the whole position at `distance` against it (no price limit on the fill).
        ...(size > 0n && stop
          ? [
              op(true, perp, "placeOrder", [
                marketId,
                long,
                size,
                toUnits((spec.price * (1 + (long ? -1 : 1) * g.traders.stopLoss!.distance)).toFixed(12), 18),
                !long,
                long ? 0n : MAX128,
              ]),
            ]
          : []),
      ]);
    }
  }
  const ifaces = [lending.interface, perp.interface, vault.interface, base.interface, sys.router.interface];
  const symbols = Object.fromEntries(Object.entries(sys.perps!.marketIds).map(([k, v]) => [Number(v), k]));
  const done = await setup.run(ifaces, perp.interface, (id) => symbols[id]);
  pop.skipped = done.skipped;
  pop.orders = done.orders;
  return pop;
}

/** Every account of the population, in a fixed order. */
export function everyone(p: Population): Actor[] {
  return [...p.suppliers, ...p.borrowers, ...p.lps, ...p.traders];
}
