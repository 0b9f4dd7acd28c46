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

    /* PERPETUALS */

    /// @notice Thrown when a perp market id is not listed.
    error MarketNotListed(uint256 marketId);

    /// @notice Thrown when listing a perp market for an asset that already has one.
    error MarketAlreadyListed(address asset);

    /// @notice Thrown when listing more perp markets than the engine supports.
    error TooManyMarkets(uint256 max);

    /// @notice Thrown when an action needs an ACTIVE market (or, for halting, a market not delisted).
    /// @param status The market's status (IPerpMarket.MarketStatus).
    error MarketNotActive(uint256 marketId, uint8 status);

    /// @notice Thrown when a trade would fill beyond the price the trader accepts.
    error PriceLimitExceeded(uint256 fillPrice, uint256 acceptablePrice);

    /// @notice Thrown when the price impact would take the fill price to zero or below.
    error InvalidFillPrice();

    /// @notice Thrown when a trade would take a side's open interest above its cap.
    error OpenInterestCapExceeded(uint256 marketId, uint256 cap, uint256 wouldBe);

    /// @notice Thrown when a trade or margin withdrawal would leave equity below the initial margin.
    error InsufficientMargin(int256 equity, uint256 required);

    /// @notice Thrown when withdrawing more margin than the account has.
    error InsufficientMarginBalance(uint256 requested, uint256 available);

    /// @notice Thrown when a reduce or close would leave an account with no position and negative margin:
    /// it must be liquidated instead, so that its deficit takes the waterfall.
    error InsolventAccount(int256 margin);

    /// @notice Thrown when an account has no position (on the side asked) in a market.
    error NoPosition(address account, uint256 marketId);

    /// @notice Thrown when liquidating an account whose equity is at or above its maintenance margin.
    error AccountNotLiquidatable(int256 equity, uint256 maintenanceMargin);

    /// @notice Thrown when an order id does not exist (never placed, executed or cancelled).
    error OrderNotFound(uint256 orderId);

    /// @notice Thrown when someone other than its owner cancels an order.
    error NotOrderOwner(uint256 orderId, address owner);

    /// @notice Thrown when executing an order whose trigger the oracle price has not crossed.
    error OrderNotTriggered(uint256 orderId, uint256 price, uint256 triggerPrice);

    /// @notice Thrown when ADL is called while the winning side's profit is within adlPnlFactor x the pool's capacity.
    /// @param sideProfit The winning side's unrealised profit, USD WAD.
    /// @param limit adlPnlFactor x what the pool can pay the side (capital plus the losing side's loss), USD WAD.
    error AdlNotTriggered(uint256 marketId, int256 sideProfit, uint256 limit);

    /// @notice Thrown when an ADL candidate is not on the winning side or not in profit.
    error AdlNotProfitable(address account, int256 pnl);

    /// @notice Thrown when an ADL candidate scores higher than the one before it in the list.
    error AdlOutOfOrder(address account, uint256 score, uint256 previousScore);

    /// @notice Thrown when the vault is set a second time.
    error VaultAlreadySet();

    /// @notice Thrown when a caller other than the LiquidityVault moves pool funds.
    error NotVault(address caller);

    /// @notice Thrown when the vault withdraws more than the pool may pay out now.
    error LpWithdrawalTooLarge(uint256 requested, uint256 available);

    /// @notice Thrown when maintenanceMargin is not below initialMargin, or liquidationFee exceeds it.
    error InvalidMarginParams(uint256 initialMargin, uint256 maintenanceMargin, uint256 liquidationFee);
}
