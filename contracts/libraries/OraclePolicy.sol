// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PriceStatus, Action, SuspectPolicy} from "./OracleTypes.sol";

/// @title OraclePolicy
/// @notice The one table of which action may run under which price status. docs/oracle.md prints it and
/// test/oracle/policy.test.ts checks the contract against that page cell by cell.
/// @dev A mask has bit i set when Action(i) is allowed. Three groups:
/// - NO_PRICE: actions that only lower an account's risk and need no price (supply, repay, add collateral,
///   add margin). Always allowed.
/// - SETTLE: risk-reducing actions that settle at the price (reduce, close, liquidate). Allowed on any
///   trustworthy price: OK, FALLBACK, and SUSPECT under TRUST_GAP.
/// - RISK: risk-adding actions (borrow, withdraw collateral, open, increase, withdraw margin). OK only.
library OraclePolicy {
    uint256 internal constant NO_PRICE =
        (1 << uint256(Action.SUPPLY)) |
            (1 << uint256(Action.REPAY)) |
            (1 << uint256(Action.ADD_COLLATERAL)) |
            (1 << uint256(Action.ADD_MARGIN));

    uint256 internal constant SETTLE =
        (1 << uint256(Action.REDUCE)) | (1 << uint256(Action.CLOSE)) | (1 << uint256(Action.LIQUIDATE));

    uint256 internal constant RISK =
        (1 << uint256(Action.BORROW)) |
            (1 << uint256(Action.WITHDRAW_COLLATERAL)) |
            (1 << uint256(Action.OPEN)) |
            (1 << uint256(Action.INCREASE)) |
            (1 << uint256(Action.WITHDRAW_MARGIN));

    /// @notice The actions allowed under `status`, as a bit mask over Action.
    function allowedActions(PriceStatus status, SuspectPolicy policy) internal pure returns (uint256) {
        if (status == PriceStatus.OK) return NO_PRICE | SETTLE | RISK;
        if (status == PriceStatus.FALLBACK) return NO_PRICE | SETTLE;
        if (status == PriceStatus.SUSPECT && policy == SuspectPolicy.TRUST_GAP) return NO_PRICE | SETTLE;
        // SUSPECT while waiting for confirmation, STALE, INVALID, SEQUENCER_DOWN, DISAGREE: no trustworthy
        // price.
        return NO_PRICE;
    }

    /// @notice Whether `action` may run under `status`.
    function isAllowed(PriceStatus status, Action action, SuspectPolicy policy) internal pure returns (bool) {
        return (allowedActions(status, policy) >> uint256(action)) & 1 == 1;
    }
}
