/**
 * The lending client: reads of an account's health, liquidation and bankruptcy prices, the gap to them,
 * the largest borrow, the market's rates; and the writes (supply, withdraw, collateral, borrow, repay) with
 * the approval each needs.
 *
 * @packageDocumentation
 */
import { IERC20__factory, IRateModel__factory, type LendingMarket } from "../typechain-types";
import { approveThenCall, priceTick, signerAddress, snapshot, type SdkContext } from "./context";
import {
  accrueTotals,
  lendingBankruptcyPrice,
  lendingLiquidationPrice,
  lendingPosition,
  lendingRates,
  MAX_UINT256,
  maxBorrow,
  min,
  priceGap,
  utilisation,
  lendingDebt,
} from "./math";
import type {
  BadDebtTotals,
  BankruptcyPrice,
  CollateralHolding,
  CollateralRisk,
  LendingAccountState,
  LendingMarketState,
  LendingPosition,
  LendingRates,
  MaxBorrow,
  PriceGap,
  ReadOptions,
  WriteResult,
} from "./types";
import { NegativeBalancePolicy, PriceStatus } from "./types";

/**
 * LendingMarket's storage slot holding `Totals.reserves` (low 128 bits) and `Totals.lastAccrual` (next 40
 * bits): slot 0 is AccessControl's roles, `_totals` takes slots 1-3. The market has no view of its last
 * accrual, and projecting interest to a given time needs it; the read checks the reserves half against
 * `totals()` so that a layout change fails loudly instead of silently.
 */
export const LENDING_TOTALS_TAIL_SLOT = 3n;

const MASK_128 = (1n << 128n) - 1n;

/** Options of a repayment. */
export interface RepayOptions {
  /**
   * For "max" (or an amount above the debt): the allowance covers the debt projected this many seconds
   * ahead (interest keeps accruing until the transaction is mined). Default 300.
   */
  slackSeconds?: bigint;
}

/** Reads and writes of one LendingMarket. Obtain it from `connect(...).lending`. */
export class LendingClient {
  /**
   * @param market The LendingMarket, connected to the runner.
   * @param ctx The shared context.
   */
  constructor(
    readonly market: LendingMarket,
    private readonly ctx: SdkContext,
  ) {}

  /* READS */

  /**
   * The market at one block, with its totals projected to `opts.at` (default: the block's time) in one
   * accrual, exactly as the next transaction at that time computes them.
   */
  async marketState(opts: ReadOptions = {}): Promise<LendingMarketState> {
    const snap = await snapshot(this.ctx, opts);
    const m = this.market;
    const address = await m.getAddress();
    const [totals, params, paused, policy, rateModel, tail, maxRate] = await Promise.all([
      m.totals(snap.call),
      m.params(snap.call),
      m.paused(snap.call),
      m.negativeBalancePolicy(snap.call),
      m.rateModel(snap.call),
      this.ctx.provider.getStorage(address, LENDING_TOTALS_TAIL_SLOT, snap.blockNumber),
      m.MAX_BORROW_RATE(snap.call),
    ]);
    const stored = {
      supplyAssets: totals[0],
      supplyShares: totals[1],
      borrowAssets: totals[2],
      borrowShares: totals[3],
      reserves: totals[4],
    };
    const word = BigInt(tail);
    if ((word & MASK_128) !== stored.reserves) {
      throw new Error("LendingMarket storage layout is not the one this SDK reads (Totals.lastAccrual)");
    }
    const lastAccrual = (word >> 128n) & ((1n << 40n) - 1n);
    if (snap.at < lastAccrual) throw new Error(`time ${snap.at} is before the market's last accrual`);
    let rate = 0n;
    try {
      const model = IRateModel__factory.connect(rateModel, this.ctx.runner);
      rate = min(
        await model.borrowRatePerSecond(utilisation(stored.borrowAssets, stored.supplyAssets), snap.call),
        maxRate,
      );
    } catch {
      rate = 0n; // the market charges nothing while its model reverts
    }
    const p = {
      borrowCap: params.borrowCap,
      minBorrow: params.minBorrow,
      reserveFactor: params.reserveFactor,
      smallPosition: params.smallPosition,
      protocolShare: params.protocolShare,
      marginCallHealth: params.marginCallHealth,
    };
    return {
      blockNumber: snap.blockNumber,
      blockTimestamp: snap.blockTimestamp,
      at: snap.at,
      baseDecimals: this.ctx.baseDecimals,
      storedTotals: stored,
      lastAccrual,
      totals: accrueTotals(stored, snap.at - lastAccrual, rate, p.reserveFactor),
      params: p,
      borrowRatePerSecond: rate,
      paused,
      negativeBalancePolicy: Number(policy) as NegativeBalancePolicy,
    };
  }

  /**
   * Everything the maths needs about `account` at one block: the market, its shares, every collateral it
   * holds with the oracle's current price (peek) and status, and its recourse debt.
   */
  async state(account: string, opts: ReadOptions = {}): Promise<LendingAccountState> {
    const snap = await snapshot(this.ctx, opts);
    const pinned = { ...opts, blockTag: snap.blockNumber, at: snap.at };
    const m = this.market;
    const [market, view, tokens] = await Promise.all([
      this.marketState(pinned),
      m.accountView(account, snap.call),
      m.collateralTokens(snap.call),
    ]);
    const holdings = await Promise.all(
      tokens.map(async (token, index): Promise<CollateralHolding | null> => {
        const amount = await m.collateralOf(account, token, snap.call);
        if (amount === 0n) return null;
        const [config, [price, status]] = await Promise.all([
          m.collateralConfig(token, snap.call),
          this.ctx.router.peek(token, snap.call),
        ]);
        const priceStatus = Number(status) as PriceStatus;
        return {
          token,
          index,
          decimals: Number(config.decimals),
          amount,
          price,
          priceStatus,
          priceTick: await priceTick(this.ctx, snap, token, priceStatus),
          ltv: config.ltv,
          liquidationThreshold: config.liquidationThreshold,
          liquidationBonus: config.liquidationBonus,
        };
      }),
    );
    const recourseDebt =
      market.negativeBalancePolicy === NegativeBalancePolicy.RECOURSE
        ? await this.ctx.insuranceFund.recourseDebt(account, snap.call)
        : 0n;
    return {
      account,
      market,
      supplyShares: view.supplyShares,
      borrowShares: view.borrowShares,
      holdings: holdings.filter((h): h is CollateralHolding => h !== null),
      recourseDebt,
    };
  }

  /**
   * The account's position at `opts.at`: supply, debt, collateral value, capacities, health (WAD; 2^256 - 1
   * without debt) and whether it is liquidatable. At the block's own time these are LendingMarket.accountView's
   * numbers to the unit.
   */
  async position(account: string, opts: ReadOptions = {}): Promise<LendingPosition> {
    return lendingPosition(await this.state(account, opts));
  }

  /** The account's health, WAD (liquidation capacity / debt, rounded down; 2^256 - 1 without debt). */
  async health(account: string, opts: ReadOptions = {}): Promise<bigint> {
    return (await this.position(account, opts)).health;
  }

  /**
   * The highest price of `token` (WAD, on the feed's grid unless `priceTick: "wei"`) at which the account is
   * liquidatable, every other collateral price and the debt at `opts.at` held fixed; one grid step above it,
   * health >= 1. Null when no positive price of `token` makes the account liquidatable.
   * See {@link lendingLiquidationPrice}.
   */
  async liquidationPrice(account: string, token: string, opts: ReadOptions = {}): Promise<bigint | null> {
    return lendingLiquidationPrice(await this.state(account, opts), token);
  }

  /**
   * The lowest price of `token` at which collateral value still covers the debt (equity >= 0, within
   * `tolerance` of zero), others fixed; below it the account is insolvent. Null when the other collateral
   * alone covers the debt. See {@link lendingBankruptcyPrice}.
   */
  async bankruptcyPrice(
    account: string,
    token: string,
    opts: ReadOptions = {},
  ): Promise<BankruptcyPrice | null> {
    return lendingBankruptcyPrice(await this.state(account, opts), token);
  }

  /**
   * The fractional move of `token`'s price (others fixed) that reaches the bankruptcy price, e.g. -0.42: any
   * larger fall takes the account below zero. Positive when it is already insolvent. Null as for the price.
   */
  async gapToBankruptcy(account: string, token: string, opts: ReadOptions = {}): Promise<PriceGap | null> {
    const s = await this.state(account, opts);
    const b = lendingBankruptcyPrice(s, token);
    return b ? priceGap(currentPrice(s, token), b.price) : null;
  }

  /** The fractional move of `token`'s price (others fixed) that reaches the liquidation price. */
  async gapToLiquidation(account: string, token: string, opts: ReadOptions = {}): Promise<PriceGap | null> {
    const s = await this.state(account, opts);
    const p = lendingLiquidationPrice(s, token);
    return p === null ? null : priceGap(currentPrice(s, token), p);
  }

  /** For each collateral the account holds: its liquidation and bankruptcy prices and the gaps to them. */
  async collateralRisk(account: string, opts: ReadOptions = {}): Promise<CollateralRisk[]> {
    const s = await this.state(account, opts);
    return s.holdings.map((h) => {
      const liquidationPrice = lendingLiquidationPrice(s, h.token);
      const bankruptcyPrice = lendingBankruptcyPrice(s, h.token);
      return {
        token: h.token,
        price: h.price,
        liquidationPrice,
        bankruptcyPrice,
        gapToLiquidation: liquidationPrice === null ? null : priceGap(h.price, liquidationPrice),
        gapToBankruptcy: bankruptcyPrice ? priceGap(h.price, bankruptcyPrice.price) : null,
      };
    });
  }

  /**
   * The largest amount the account can borrow at `opts.at` (within LTV, the market's cash and borrow cap,
   * minBorrow, pause, recourse and price status): borrowing it succeeds, one unit more reverts. A borrow mined
   * later pays a little more interest first; read with `at` set to the block's time to be exact.
   */
  async maxBorrow(account: string, opts: ReadOptions = {}): Promise<MaxBorrow> {
    return maxBorrow(await this.state(account, opts));
  }

  /** Utilisation, borrow and supply rates per second and as simple APRs, at the stored totals. */
  async rates(opts: ReadOptions = {}): Promise<LendingRates> {
    const m = await this.marketState(opts);
    return lendingRates(m.storedTotals, m.borrowRatePerSecond, m.params.reserveFactor);
  }

  /** Borrowed / supplied, WAD (LendingMarket.utilisation(), as of the last accrual). */
  async utilisation(opts: ReadOptions = {}): Promise<bigint> {
    const snap = await snapshot(this.ctx, opts);
    return this.market.utilisation(snap.call);
  }

  /** The market's bad-debt ledger. */
  async badDebt(opts: ReadOptions = {}): Promise<BadDebtTotals> {
    const snap = await snapshot(this.ctx, opts);
    const b = await this.market.badDebt(snap.call);
    return {
      deficit: b.deficit,
      coveredByInsurance: b.coveredByInsurance,
      socialised: b.socialised,
      recourseRecorded: b.recourseRecorded,
    };
  }

  /* WRITES (the runner must be a Signer) */

  /** Approves the base asset if needed, then `supply(assets, onBehalf)` (default: the signer). */
  async supply(assets: bigint, onBehalf?: string): Promise<WriteResult> {
    const owner = await signerAddress(this.ctx.runner);
    return approveThenCall(
      { token: this.ctx.baseToken, owner, spender: await this.market.getAddress(), amount: assets },
      () => this.market.supply(assets, onBehalf ?? owner),
    );
  }

  /** `withdraw(assets, receiver)`; "max" withdraws the whole supply. No approval. */
  async withdraw(assets: bigint | "max", receiver?: string): Promise<WriteResult> {
    const owner = await signerAddress(this.ctx.runner);
    return approveThenCall(null, () =>
      this.market.withdraw(assets === "max" ? MAX_UINT256 : assets, receiver ?? owner),
    );
  }

  /** Approves `token` if needed, then `supplyCollateral(token, amount, onBehalf)`. */
  async supplyCollateral(token: string, amount: bigint, onBehalf?: string): Promise<WriteResult> {
    const owner = await signerAddress(this.ctx.runner);
    return approveThenCall(
      {
        token: IERC20__factory.connect(token, this.ctx.runner),
        owner,
        spender: await this.market.getAddress(),
        amount,
      },
      () => this.market.supplyCollateral(token, amount, onBehalf ?? owner),
    );
  }

  /** `withdrawCollateral(token, amount, receiver)`. No approval. */
  async withdrawCollateral(token: string, amount: bigint, receiver?: string): Promise<WriteResult> {
    const owner = await signerAddress(this.ctx.runner);
    return approveThenCall(null, () => this.market.withdrawCollateral(token, amount, receiver ?? owner));
  }

  /** `borrow(assets, receiver)`. No approval. See {@link maxBorrow} for the largest amount. */
  async borrow(assets: bigint, receiver?: string): Promise<WriteResult> {
    const owner = await signerAddress(this.ctx.runner);
    return approveThenCall(null, () => this.market.borrow(assets, receiver ?? owner));
  }

  /**
   * Approves what the repayment will pull, if needed, then `repay(assets, onBehalf)`. "max" repays the whole
   * debt. The contract pulls min(assets, debt at mining time), so the approval is for min(assets, the debt
   * projected `slackSeconds` ahead).
   */
  async repay(assets: bigint | "max", onBehalf?: string, opts: RepayOptions = {}): Promise<WriteResult> {
    const owner = await signerAddress(this.ctx.runner);
    const debtor = onBehalf ?? owner;
    const now = await snapshot(this.ctx);
    const ahead = await this.state(debtor, {
      blockTag: now.blockNumber,
      at: now.at + (opts.slackSeconds ?? 300n),
    });
    const amount = assets === "max" ? MAX_UINT256 : assets;
    return approveThenCall(
      {
        token: this.ctx.baseToken,
        owner,
        spender: await this.market.getAddress(),
        amount: min(amount, lendingDebt(ahead)),
      },
      () => this.market.repay(amount, debtor),
    );
  }
}

function currentPrice(s: LendingAccountState, token: string): bigint {
  const h = s.holdings.find((x) => x.token.toLowerCase() === token.toLowerCase());
  if (!h) throw new Error(`account ${s.account} holds no collateral ${token}`);
  return h.price;
}
