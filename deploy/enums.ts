/**
 * TypeScript mirrors of the Solidity enums (contracts/libraries/OracleTypes.sol and the mocks). The
 * values are the ABI's; test/oracle/enums.test.ts checks them against the compiled contracts.
 */

export enum PriceStatus {
  OK = 0,
  FALLBACK = 1,
  STALE = 2,
  INVALID = 3,
  SUSPECT = 4,
  SEQUENCER_DOWN = 5,
  DISAGREE = 6,
}

export enum Action {
  SUPPLY = 0,
  REPAY = 1,
  ADD_COLLATERAL = 2,
  BORROW = 3,
  WITHDRAW_COLLATERAL = 4,
  OPEN = 5,
  INCREASE = 6,
  REDUCE = 7,
  CLOSE = 8,
  LIQUIDATE = 9,
  WITHDRAW_MARGIN = 10,
  ADD_MARGIN = 11,
}

export enum SuspectPolicy {
  WAIT_FOR_CONFIRMATION = 0,
  TRUST_GAP = 1,
}

/** How a loss beyond what an account posted is treated (contracts/libraries/RiskTypes.sol). */
export enum NegativeBalancePolicy {
  PROTECTED = 0,
  RECOURSE = 1,
}

/** MockAggregator.Mode */
export enum FeedMode {
  NORMAL = 0,
  REVERT = 1,
  BURN_GAS = 2,
  SHORT_RETURN = 3,
  FREEZE = 4,
  WIDE_ROUND = 5,
}

/** The names of a numeric TypeScript enum, in value order. */
export function enumNames(e: Record<string, string | number>): string[] {
  return Object.keys(e).filter((k) => isNaN(Number(k)));
}
