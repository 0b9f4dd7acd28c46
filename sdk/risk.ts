/**
 * The loss waterfall's books: the insurance fund's balance, every market's bad-debt ledger, and the recourse
 * ledger (what an address owes Ballast under RECOURSE).
 *
 * @packageDocumentation
 */
import { snapshot, type SdkContext } from "./context";
import type { LendingClient } from "./lending";
import type { PerpsClient } from "./perps";
import type { BadDebtTotals, ReadOptions } from "./types";

/** Bad-debt ledgers of the deployment's markets, and their sum. */
export interface BadDebtReport {
  /** The lending market's ledger (null without one). */
  lending: BadDebtTotals | null;
  /** The perps engine's ledger (null without one). */
  perps: BadDebtTotals | null;
  /** Both added up. */
  total: BadDebtTotals;
}

/** Reads of the insurance fund and the bad-debt and recourse ledgers. Obtain it from `connect(...).risk`. */
export class RiskClient {
  /**
   * @param ctx The shared context.
   * @param lending The lending client, if the deployment has a lending market.
   * @param perps The perps client, if the deployment has a perps engine.
   */
  constructor(
    private readonly ctx: SdkContext,
    private readonly lending: LendingClient | null,
    private readonly perps: PerpsClient | null,
  ) {}

  /** The insurance fund's balance of the base asset (InsuranceFund.totalAssets), base units. */
  async insuranceFundBalance(opts: ReadOptions = {}): Promise<bigint> {
    const snap = await snapshot(this.ctx, opts);
    return this.ctx.insuranceFund.totalAssets(snap.call);
  }

  /**
   * Every market's bad-debt ledger (deficit == coveredByInsurance + socialised in each), read at one block.
   */
  async badDebt(opts: ReadOptions = {}): Promise<BadDebtReport> {
    const snap = await snapshot(this.ctx, opts);
    const pinned = { blockTag: snap.blockNumber };
    const [lending, perps] = await Promise.all([
      this.lending ? this.lending.badDebt(pinned) : null,
      this.perps ? this.perps.badDebt(pinned) : null,
    ]);
    const add = (key: keyof BadDebtTotals) => (lending?.[key] ?? 0n) + (perps?.[key] ?? 0n);
    return {
      lending,
      perps,
      total: {
        deficit: add("deficit"),
        coveredByInsurance: add("coveredByInsurance"),
        socialised: add("socialised"),
        recourseRecorded: add("recourseRecorded"),
      },
    };
  }

  /** What `account` owes Ballast under RECOURSE (InsuranceFund.recourseDebt), base units. */
  async recourseDebt(account: string, opts: ReadOptions = {}): Promise<bigint> {
    const snap = await snapshot(this.ctx, opts);
    return this.ctx.insuranceFund.recourseDebt(account, snap.call);
  }

  /** What all addresses owe under RECOURSE (InsuranceFund.totalRecourseDebt), base units. */
  async totalRecourseDebt(opts: ReadOptions = {}): Promise<bigint> {
    const snap = await snapshot(this.ctx, opts);
    return this.ctx.insuranceFund.totalRecourseDebt(snap.call);
  }
}
