/**
 * The perps client: reads of an account's equity and margins, the liquidation and bankruptcy price of a
 * position, the largest position it can open, funding rates, the LP vault's share price; and the writes
 * (margin, trades with a slippage limit, vault deposits and redemptions).
 *
 * @packageDocumentation
 */
import { AbiCoder, keccak256 } from "ethers";

import type { LiquidityVault, PerpMarket } from "../typechain-types";
import {
  approveThenCall,
  priceTick,
  signerAddress,
  snapshot,
  type SdkContext,
  type Snapshot,
} from "./context";
import {
  acceptablePrice,
  fundingIndexAt,
  MAX_UINT256,
  maxPositionSize,
  perpBankruptcyPrice,
  perpLiquidationPrice,
  perpPositionView,
  perpRisk,
  SECONDS_PER_DAY,
  SECONDS_PER_YEAR,
  simulateTrade,
  usdPerUnitOf,
  WAD,
} from "./math";
import type {
  BadDebtTotals,
  FundingRate,
  MaxPositionSize,
  PerpAccountState,
  PerpMarketState,
  PerpPosition,
  PerpPositionView,
  PerpRisk,
  ReadOptions,
  Side,
  TradeSimulation,
  VaultState,
  WriteResult,
} from "./types";
import { MarketStatus, NegativeBalancePolicy, PriceStatus } from "./types";

/**
 * PerpMarket's storage slot of `_positions` (mapping account => marketId => Position): slot 0 is
 * AccessControl's roles, then `_markets`, `marketCount`, `_idPlusOne`, `_positions`. IPerpMarket.positionView
 * does not report the funding index a position entered at, which its exact value needs; the read checks the
 * size and entry price it finds there against positionView, so that a layout change fails loudly.
 */
export const PERP_POSITIONS_SLOT = 4n;

const MASK_128 = (1n << 128n) - 1n;
const coder = AbiCoder.defaultAbiCoder();

/** The default slippage of a trade's price limit: 1% (WAD). */
export const DEFAULT_SLIPPAGE = WAD / 100n;

/** Options of a trade. */
export interface TradeOptions {
  /**
   * How much worse than the fill price quoted now (IPerpMarket.fillPrice) the trade accepts, WAD (0.005e18 =
   * 0.5%). Default {@link DEFAULT_SLIPPAGE}. The limit is rounded against the trader.
   */
  slippage?: bigint;
}

/** Reads and writes of the perps engine and its LP vault. Obtain it from `connect(...).perps`. */
export class PerpsClient {
  /**
   * @param market The PerpMarket, connected to the runner.
   * @param vault The LiquidityVault, connected to the runner.
   * @param ctx The shared context.
   * @param knownIds Market ids by symbol, when the deployment file lists them.
   */
  constructor(
    readonly market: PerpMarket,
    readonly vault: LiquidityVault,
    private readonly ctx: SdkContext,
    private readonly knownIds: Record<string, number> = {},
  ) {}

  /** The market id of a symbol listed in the deployment, or of an underlying's token address (on chain). */
  async marketId(symbolOrAsset: string): Promise<number> {
    if (symbolOrAsset in this.knownIds) return this.knownIds[symbolOrAsset];
    return Number(await this.market.marketIdOf(symbolOrAsset));
  }

  /* READS */

  /**
   * One market at one block: status, price (peek, or the final price once delisted) and its grid, open
   * interest, funding index and rate, parameters, and the sides' basis sums (recovered from sidePnl).
   */
  async marketState(marketId: number, opts: ReadOptions = {}): Promise<PerpMarketState> {
    return this.readMarket(marketId, await snapshot(this.ctx, opts));
  }

  /** Every market of the engine at one block, by id. */
  async markets(opts: ReadOptions = {}): Promise<PerpMarketState[]> {
    const snap = await snapshot(this.ctx, opts);
    const count = Number(await this.market.marketCount(snap.call));
    return Promise.all(Array.from({ length: count }, (_, id) => this.readMarket(id, snap)));
  }

  /**
   * Everything the maths needs about `account` at one block: margin, positions (with the funding index each
   * entered at), every market, the pool, pause and recourse debt.
   */
  async state(account: string, opts: ReadOptions = {}): Promise<PerpAccountState> {
    const snap = await snapshot(this.ctx, opts);
    const m = this.market;
    const [markets, [margin, mask], [capital, pendingInsurance], paused, policy] = await Promise.all([
      this.markets({ ...opts, blockTag: snap.blockNumber, at: snap.at }),
      m.marginOf(account, snap.call),
      m.pool(snap.call),
      m.paused(snap.call),
      m.negativeBalancePolicy(snap.call),
    ]);
    const ids = markets.map((x) => x.marketId).filter((id) => (mask >> BigInt(id)) & 1n);
    const positions = await Promise.all(ids.map((id) => this.readPosition(account, id, snap)));
    const recourseDebt =
      Number(policy) === NegativeBalancePolicy.RECOURSE
        ? await this.ctx.insuranceFund.recourseDebt(account, snap.call)
        : 0n;
    return {
      account,
      blockNumber: snap.blockNumber,
      blockTimestamp: snap.blockTimestamp,
      at: snap.at,
      baseDecimals: this.ctx.baseDecimals,
      usdPerUnit: usdPerUnitOf(this.ctx.baseDecimals),
      margin,
      positions,
      markets,
      pool: { capital, pendingInsurance },
      paused,
      recourseDebt,
    };
  }

  /**
   * The account's margin, equity, initial and maintenance margin, notional, liquidation fee, whether it is
   * liquidatable and what it may withdraw, at `opts.at` (funding accrued to then). At the block's own time,
   * IPerpMarket.accountView's numbers to the base unit.
   */
  async risk(account: string, opts: ReadOptions = {}): Promise<PerpRisk> {
    return perpRisk(await this.state(account, opts));
  }

  /** The account's equity (margin + PnL - funding owed), base units. */
  async equity(account: string, opts: ReadOptions = {}): Promise<bigint> {
    return (await this.risk(account, opts)).equity;
  }

  /** The account's positions valued at `opts.at` (IPerpMarket.positionView's numbers). */
  async positions(account: string, opts: ReadOptions = {}): Promise<PerpPositionView[]> {
    const s = await this.state(account, opts);
    return s.positions.map((p) => perpPositionView(s, p));
  }

  /**
   * The oracle price of `marketId` at which the account's equity meets its maintenance margin: for a long,
   * the highest price (on the feed's grid) at which it is liquidatable; for a short, the lowest. Held fixed:
   * the other markets' prices, the account's other positions and margin, the skew (so the funding rate), and
   * the time `opts.at` (funding accrued to it at the tested price). As time passes, funding moves it.
   * See {@link perpLiquidationPrice}.
   */
  async liquidationPrice(account: string, marketId: number, opts: ReadOptions = {}): Promise<bigint | null> {
    return perpLiquidationPrice(await this.state(account, opts), marketId);
  }

  /**
   * The oracle price of `marketId` at which the account's equity reaches zero (same assumptions as
   * {@link liquidationPrice}), and the equity there (>= 0, less than one grid step's worth plus a unit).
   */
  async bankruptcyPrice(
    account: string,
    marketId: number,
    opts: ReadOptions = {},
  ): Promise<{ price: bigint; equityAtPrice: bigint } | null> {
    return perpBankruptcyPrice(await this.state(account, opts), marketId);
  }

  /**
   * The largest trade on `side` in `marketId` the account's margin allows at `opts.at`: initial margin growing
   * with size, the fee, the price impact and the open-interest cap included. Opening it succeeds (at that
   * time); one wei more reverts with InsufficientMargin (or `limitedBy`). See {@link maxPositionSize}.
   */
  async maxPositionSize(
    account: string,
    marketId: number,
    side: Side,
    opts: ReadOptions = {},
  ): Promise<MaxPositionSize> {
    return maxPositionSize(await this.state(account, opts), marketId, side);
  }

  /** What `modifyPosition(marketId, sizeDelta, ...)` would do at `opts.at`. See {@link simulateTrade}. */
  async simulateTrade(
    account: string,
    marketId: number,
    sizeDelta: bigint,
    opts: ReadOptions = {},
  ): Promise<TradeSimulation> {
    return simulateTrade(await this.state(account, opts), marketId, sizeDelta);
  }

  /** The market's funding rate at its current skew (zero once delisted): per second, per day, per year. */
  async fundingRate(marketId: number, opts: ReadOptions = {}): Promise<FundingRate> {
    const snap = await snapshot(this.ctx, opts);
    const perSecond = (await this.market.marketView(marketId, snap.call)).fundingRate;
    return { perSecond, perDay: perSecond * SECONDS_PER_DAY, perYear: perSecond * SECONDS_PER_YEAR };
  }

  /** The LP vault: its assets, shares, share price (base units per whole share) and what may be withdrawn. */
  async vaultState(opts: ReadOptions = {}): Promise<VaultState> {
    const snap = await snapshot(this.ctx, opts);
    const v = this.vault;
    const decimals = Number(await v.decimals(snap.call));
    const [totalAssets, totalSupply, sharePrice, withdrawable] = await Promise.all([
      v.totalAssets(snap.call),
      v.totalSupply(snap.call),
      v.convertToAssets(10n ** BigInt(decimals), snap.call),
      this.market.lpWithdrawable(snap.call),
    ]);
    return { totalAssets, totalSupply, decimals, sharePrice, withdrawable };
  }

  /** Base units one whole vault share redeems for now (ERC-4626 convertToAssets, rounded down). */
  async sharePrice(opts: ReadOptions = {}): Promise<bigint> {
    return (await this.vaultState(opts)).sharePrice;
  }

  /** The perps bad-debt ledger. */
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

  /** Approves the base asset if needed, then `depositMargin(amount, onBehalf)` (default: the signer). */
  async depositMargin(amount: bigint, onBehalf?: string): Promise<WriteResult> {
    const owner = await signerAddress(this.ctx.runner);
    return approveThenCall(
      { token: this.ctx.baseToken, owner, spender: await this.market.getAddress(), amount },
      () => this.market.depositMargin(amount, onBehalf ?? owner),
    );
  }

  /** `withdrawMargin(amount, receiver)`; "max" withdraws all that is free. No approval. */
  async withdrawMargin(amount: bigint | "max", receiver?: string): Promise<WriteResult> {
    const owner = await signerAddress(this.ctx.runner);
    return approveThenCall(null, () =>
      this.market.withdrawMargin(amount === "max" ? MAX_UINT256 : amount, receiver ?? owner),
    );
  }

  /**
   * Opens, increases, reduces or flips by `sizeDelta` (underlying WAD, signed) with a price limit `slippage`
   * worse than the fill quoted now: `modifyPosition(marketId, sizeDelta, limit)`. Reverts with
   * PriceLimitExceeded if the fill moved further by mining time.
   */
  async openPosition(marketId: number, sizeDelta: bigint, opts: TradeOptions = {}): Promise<WriteResult> {
    await signerAddress(this.ctx.runner);
    const fill = await this.market.fillPrice(marketId, sizeDelta);
    const limit = acceptablePrice(fill, sizeDelta > 0n, opts.slippage ?? DEFAULT_SLIPPAGE);
    return approveThenCall(null, () => this.market.modifyPosition(marketId, sizeDelta, limit));
  }

  /** Closes the signer's whole position in `marketId` with a price limit `slippage` worse than the quote. */
  async closePosition(marketId: number, opts: TradeOptions = {}): Promise<WriteResult> {
    const owner = await signerAddress(this.ctx.runner);
    const { size } = await this.market.positionView(owner, marketId);
    if (size === 0n) throw new Error(`no position in market ${marketId}`);
    const fill = await this.market.fillPrice(marketId, -size);
    const limit = acceptablePrice(fill, size < 0n, opts.slippage ?? DEFAULT_SLIPPAGE);
    return approveThenCall(null, () => this.market.closePosition(marketId, limit));
  }

  /** Approves the base asset to the vault if needed, then `deposit(assets, receiver)`. */
  async vaultDeposit(assets: bigint, receiver?: string): Promise<WriteResult> {
    const owner = await signerAddress(this.ctx.runner);
    return approveThenCall(
      { token: this.ctx.baseToken, owner, spender: await this.vault.getAddress(), amount: assets },
      () => this.vault.deposit(assets, receiver ?? owner),
    );
  }

  /** `redeem(shares, receiver, signer)`; "max" redeems what maxRedeem allows now. No approval. */
  async vaultRedeem(shares: bigint | "max", receiver?: string): Promise<WriteResult> {
    const owner = await signerAddress(this.ctx.runner);
    const amount = shares === "max" ? await this.vault.maxRedeem(owner) : shares;
    return approveThenCall(null, () => this.vault.redeem(amount, receiver ?? owner, owner));
  }

  /* INTERNAL */

  private async readMarket(marketId: number, snap: Snapshot): Promise<PerpMarketState> {
    const v = await this.market.marketView(marketId, snap.call);
    const status = Number(v.status) as MarketStatus;
    let price = v.finalPrice;
    let priceStatus = PriceStatus.OK;
    if (status !== MarketStatus.DELISTED) {
      const [p, st] = await this.ctx.router.peek(v.asset, snap.call);
      price = p;
      priceStatus = Number(st) as PriceStatus;
    }
    const [[longPnl, shortPnl], tick] = await Promise.all([
      this.market.sidePnl(marketId, snap.call),
      priceTick(this.ctx, snap, v.asset, priceStatus),
    ]);
    const p = v.params;
    const state: PerpMarketState = {
      marketId,
      asset: v.asset,
      status,
      price,
      priceStatus,
      priceTick: tick,
      longOI: v.longOI,
      shortOI: v.shortOI,
      fundingIndex: v.fundingIndex,
      lastFundingTime: v.lastFundingTime,
      fundingRate: v.fundingRate,
      longBasisSum: 0n,
      shortBasisSum: 0n,
      params: {
        initialMargin: p.initialMargin,
        maintenanceMargin: p.maintenanceMargin,
        tradingFee: p.tradingFee,
        liquidationFee: p.liquidationFee,
        marginScale: p.marginScale,
        skewScale: p.skewScale,
        maxLongOI: p.maxLongOI,
        maxShortOI: p.maxShortOI,
        maxFundingRate: p.maxFundingRate,
        adlPnlFactor: p.adlPnlFactor,
      },
    };
    // sidePnl = OI x (price - index) / WAD - basis sum (longs), mirrored for shorts, at the block's time.
    const index = fundingIndexAt(state, snap.blockTimestamp, price);
    state.longBasisSum = (price * v.longOI) / WAD - (index * v.longOI) / WAD - longPnl;
    state.shortBasisSum = shortPnl + (price * v.shortOI) / WAD - (index * v.shortOI) / WAD;
    return state;
  }

  private async readPosition(account: string, marketId: number, snap: Snapshot): Promise<PerpPosition> {
    const address = await this.market.getAddress();
    const outer = keccak256(coder.encode(["address", "uint256"], [account, PERP_POSITIONS_SLOT]));
    const slot = BigInt(keccak256(coder.encode(["uint256", "bytes32"], [marketId, outer])));
    const [w0, w1, view] = await Promise.all([
      this.ctx.provider.getStorage(address, slot, snap.blockNumber),
      this.ctx.provider.getStorage(address, slot + 1n, snap.blockNumber),
      this.market.positionView(account, marketId, snap.call),
    ]);
    const size = BigInt.asIntN(128, BigInt(w0) & MASK_128);
    const entryPrice = BigInt(w0) >> 128n;
    if (size !== view.size || entryPrice !== view.entryPrice) {
      throw new Error("PerpMarket storage layout is not the one this SDK reads (Position.fundingIndex)");
    }
    return { marketId, size, entryPrice, entryFundingIndex: BigInt.asIntN(128, BigInt(w1) & MASK_128) };
  }
}
