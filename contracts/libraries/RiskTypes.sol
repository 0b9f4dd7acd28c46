// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice What happens to an account whose loss is larger than what it posted (set per deployment).
/// @dev PROTECTED: the account is reset to zero; its loss ends at what it posted. RECOURSE: the account
/// keeps the deficit as a debt owed by its address across Ballast (recorded in the InsuranceFund); while
/// it owes, it can take nothing out and open nothing, and any deposit or withdrawal repays the debt
/// first. In both, the waterfall covers the deficit at once; recoveries refund the insurance fund.
enum NegativeBalancePolicy {
    PROTECTED,
    RECOURSE
}

/// @notice The bad-debt ledger of one market, readable on chain. Base-asset units.
/// @dev deficit == coveredByInsurance + socialised, always (checked by the tests after every step).
struct BadDebtTotals {
    uint128 deficit; // every deficit realised, in total
    uint128 coveredByInsurance; // paid by the insurance fund (including reserves swept into it first)
    uint128 socialised; // borne by suppliers (lending) or the LP vault and ADL (perps)
    uint128 recourseRecorded; // recorded as debts of the accounts (RECOURSE only)
}
