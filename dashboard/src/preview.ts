/**
 * "What would this do to my health?": each action's effect applied to the SDK's state snapshot, then the
 * SDK's pure maths on the changed state. Lending health is liquidation capacity / debt; perps health is
 * equity / maintenance margin (below 1 anyone may liquidate, as in lending).
 */
import {
  fundingIndexAt,
  lendingPosition,
  MAX_UINT256,
  perpRisk,
  simulateTrade,
  toSharesDown,
  toSharesUp,
  WAD,
  type CollateralHolding,
  type LendingAccountState,
  type PerpAccountState,
  type PerpRisk,
  type TradeSimulation,
} from "../../sdk";

/** Perps health: equity / maintenance margin, WAD; MAX_UINT256 without a position, 0 at or below zero equity. */
export function perpsHealth(r: PerpRisk): bigint {
  if (r.maintenanceMargin === 0n) return MAX_UINT256;
  return r.equity <= 0n ? 0n : (r.equity * WAD) / r.maintenanceMargin;
}

/** The state after borrowing `assets` (the contract's rounding: shares rounded up against the borrower). */
export function afterBorrow(s: LendingAccountState, assets: bigint): LendingAccountState {
  const t = s.market.totals;
  const shares = toSharesUp(assets, t.borrowAssets, t.borrowShares);
  return {
    ...s,
    borrowShares: s.borrowShares + shares,
    market: {
      ...s.market,
      totals: { ...t, borrowAssets: t.borrowAssets + assets, borrowShares: t.borrowShares + shares },
    },
  };
}

/** The state after repaying `assets` (at most the debt). */
export function afterRepay(s: LendingAccountState, assets: bigint): LendingAccountState {
  const t = s.market.totals;
  const debt = lendingPosition(s).debt;
  const paid = assets < debt ? assets : debt;
  const shares = paid === debt ? s.borrowShares : toSharesDown(paid, t.borrowAssets, t.borrowShares);
  return {
    ...s,
    borrowShares: s.borrowShares - shares,
    market: {
      ...s.market,
      totals: { ...t, borrowAssets: t.borrowAssets - paid, borrowShares: t.borrowShares - shares },
    },
  };
}

/** The state after posting `amount` of a collateral (`holding` describes it when the account holds none yet). */
export function afterSupplyCollateral(
  s: LendingAccountState,
  token: string,
  amount: bigint,
  holding: () => Promise<CollateralHolding>,
): Promise<LendingAccountState> {
  const existing = s.holdings.find((h) => h.token.toLowerCase() === token.toLowerCase());
  if (existing) {
    return Promise.resolve({
      ...s,
      holdings: s.holdings.map((h) => (h === existing ? { ...h, amount: h.amount + amount } : h)),
    });
  }
  return holding().then((h) => ({ ...s, holdings: [...s.holdings, { ...h, amount }] }));
}

/** The perps state after a trade as simulated (the position restarts at the fill with the current index). */
export function afterTrade(s: PerpAccountState, marketId: number, sim: TradeSimulation): PerpAccountState {
  const m = s.markets[marketId];
  const others = s.positions.filter((p) => p.marketId !== marketId);
  const positions =
    sim.newSize === 0n
      ? others
      : [
          ...others,
          {
            marketId,
            size: sim.newSize,
            entryPrice: sim.fillPrice,
            entryFundingIndex: fundingIndexAt(m, s.at, m.price),
          },
        ].sort((a, b) => a.marketId - b.marketId);
  return { ...s, margin: sim.marginAfter, positions };
}

/** The perps state after depositing `amount` of margin. */
export const afterDeposit = (s: PerpAccountState, amount: bigint): PerpAccountState => ({
  ...s,
  margin: s.margin + amount,
});

/** Trade simulation and the health after it. */
export function previewTrade(s: PerpAccountState, marketId: number, sizeDelta: bigint) {
  const sim = simulateTrade(s, marketId, sizeDelta);
  return { sim, after: perpRisk(afterTrade(s, marketId, sim)) };
}
