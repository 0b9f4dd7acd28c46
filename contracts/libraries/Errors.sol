// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PriceStatus, Action} from "./OracleTypes.sol";

/// @title Errors
/// @notice Every custom error of Ballast, each documented once. Contracts revert with `Errors.Name(...)`.
library Errors {
    /* GENERAL */

    /// @notice Thrown when an address argument that must be set is zero.
    error ZeroAddress();

    /// @notice Thrown when a parameter is set outside its hard bounds.
    /// @param param The parameter's name.
    /// @param value The value that was passed.
    /// @param min The smallest value allowed.
    /// @param max The largest value allowed.
    error OutOfBounds(string param, uint256 value, uint256 min, uint256 max);

    /* ORACLE */

    /// @notice Thrown when an asset has no oracle configuration.
    error AssetNotListed(address asset);

    /// @notice Thrown when a feed's `decimals()` cannot be read at listing.
    error FeedUnreadable(address feed);

    /// @notice Thrown when a feed reports more than 18 decimals, which Ballast does not support.
    error FeedDecimalsUnsupported(address feed, uint8 decimals);

    /// @notice Thrown at listing when a feed does not answer with a valid, fresh, in-bounds price.
    /// @param status What the router made of the feed's answer (STALE or INVALID).
    error FeedUnhealthy(address feed, PriceStatus status);

    /// @notice Thrown at listing when the primary and fallback feeds disagree beyond maxDivergence.
    error FeedsDisagree(uint256 primaryPrice, uint256 fallbackPrice);

    /// @notice Thrown when the policy table refuses an action under the asset's current price status.
    error PriceNotUsable(address asset, Action action, PriceStatus status);

    /// @notice Thrown when a caller leaves too little gas to read a feed with its full gas allowance, so
    /// that starving the call cannot fake a feed failure.
    error OracleGasTooLow(uint256 gasLeft, uint256 gasNeeded);

    /* AMOUNTS AND SHARES */

    /// @notice Thrown when an amount that must be positive is zero.
    error ZeroAmount();

    /// @notice Thrown when an amount is too small to be worth one share (or one unit of anything).
    error ZeroShares();

    /// @notice Thrown when an account has fewer shares than it tries to use.
    error InsufficientShares(uint256 requested, uint256 available);

    /* INSURANCE FUND */

    /// @notice Thrown when a caller that is not a registered market draws on the insurance fund.
    error NotRegisteredMarket(address caller);

    /// @notice Thrown by unstake without a pending request.
    error NoUnstakeRequest();

    /// @notice Thrown by unstake before the cooldown has passed.
    error CooldownNotElapsed(uint256 readyAt);

    /// @notice Thrown by unstake after the window following the cooldown has closed: request again.
    error UnstakeWindowClosed(uint256 closedAt);

    /* LENDING */

    /// @notice Thrown when a token is not a listed collateral of the market.
    error CollateralNotListed(address token);

    /// @notice Thrown when listing a token that is already listed (or is the base asset).
    error CollateralAlreadyListed(address token);

    /// @notice Thrown when listing more collaterals than the market supports.
    error TooManyCollaterals(uint256 max);

    /// @notice Thrown when a token reports more than 18 decimals, or none.
    error TokenDecimalsUnsupported(address token);

    /// @notice Thrown at listing when the token delivered a different amount than was sent (fee on transfer).
    error FeeOnTransfer(address token, uint256 sent, uint256 received);

    /// @notice Thrown when a deposit would take a collateral's total above its supply cap.
    error SupplyCapExceeded(address token, uint256 cap, uint256 wouldBe);

    /// @notice Thrown when a borrow would take the market's total borrows above the borrow cap.
    error BorrowCapExceeded(uint256 cap, uint256 wouldBe);

    /// @notice Thrown when a borrow would leave the account's debt below the minimum borrow.
    error BelowMinBorrow(uint256 debt, uint256 minBorrow);

    /// @notice Thrown when the market holds less cash than a borrow or withdrawal asks for.
    error InsufficientLiquidity(uint256 requested, uint256 available);

    /// @notice Thrown when an account withdraws more collateral than it posted.
    error InsufficientCollateral(uint256 requested, uint256 available);

    /// @notice Thrown when a borrow or collateral withdrawal would leave debt above the borrow capacity.
    error InsufficientBorrowCapacity(uint256 debt, uint256 capacity);

    /// @notice Thrown when liquidating an account whose health is at or above 1.
    error NotLiquidatable(uint256 health);

    /// @notice Thrown when liquidating a collateral the borrower does not hold.
    error NoCollateral(address borrower, address token);

    /// @notice Thrown when repaying for an account without debt.
    error NothingToRepay(address account);

    /// @notice Thrown when an address that owes Ballast (RECOURSE) tries to take something out or borrow.
    error RecourseDebtOutstanding(address account, uint256 owed);

    /// @notice Thrown when new risk is taken while the market is paused.
    error MarketPaused();

    /// @notice Thrown when a liquidation of an insolvent account (collateral worth less than its debt) would
    /// leave part of the chosen collateral behind: it must take all of it, so that the deficit is realised
    /// once the last collateral is gone.
    /// @param repayNeeded The repayment that seizes the whole balance.
    error InsolventMustSeizeAll(uint256 repayNeeded);

    /// @notice Thrown when a collateral's parameters are inconsistent: ltv must be below the liquidation
    /// threshold, and threshold x (1 + bonus) must not exceed FULL_CLOSE_HEALTH (0.95).
    error InvalidCollateralParams(uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus);
}
