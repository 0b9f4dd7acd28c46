// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {BadDebtTotals} from "../libraries/RiskTypes.sol";

/// @title ILendingMarket
/// @notice One base asset (a USD stablecoin, valued at exactly 1 USD) is supplied for shares and borrowed
/// against one or more collateral assets priced by the OracleRouter.
/// @dev Units: base-asset amounts in base units (6 decimals for USDC), collateral amounts in the token's own
/// units, prices in WAD USD per whole token, fractions (LTV, thresholds, bonus, factors) in WAD.
/// Rounding always favours the market: shares minted round down and shares burnt round up for suppliers;
/// borrow shares minted round up and burnt round down; collateral is valued down; seized collateral rounds
/// down and the repayment it needs rounds up.
/// Health = sum(collateral value x liquidation threshold) / debt. Below 1 an account may be liquidated.
/// Every entry point runs in the same order: validate, accrue interest, read the oracle (once per asset),
/// compute, write state, check health, emit, transfer tokens last (supplyCollateral needs neither interest
/// nor a price).
interface ILendingMarket {
    /// @notice A collateral asset's risk parameters, as an admin sets them.
    struct CollateralParams {
        /// Fraction of the collateral's value that may be borrowed against.
        uint64 ltv;
        /// Fraction of the collateral's value that counts toward health; ltv < liquidationThreshold < 1.
        uint64 liquidationThreshold;
        /// Extra collateral a liquidator receives, as a fraction of what it repays (0.05 = 5%).
        uint64 liquidationBonus;
        /// Largest total deposit of this collateral, in its own units.
        uint128 supplyCap;
    }

    /// @notice Market-wide risk parameters (two storage slots, in the order they are read).
    struct MarketParams {
        /// Largest total borrow, base units.
        uint96 borrowCap;
        /// Smallest debt a borrow may leave, base units (dust positions are not worth liquidating).
        uint96 minBorrow;
        /// Fraction of interest paid to reserves (swept to the insurance fund).
        uint64 reserveFactor;
        /// Debt at or below which a liquidation may close the whole position, base units.
        uint96 smallPosition;
        /// Fraction of the liquidation bonus the liquidator pays to reserves, in the base asset.
        uint64 protocolShare;
        /// Health below which MarginCall is emitted (WAD, at least 1).
        uint64 marginCallHealth;
    }

    /// @notice An account's position, valued at the oracle's current prices (view: peek, nothing recorded).
    struct AccountView {
        uint256 supplyShares;
        uint256 supplyAssets; // rounded down
        uint256 borrowShares;
        uint256 debt; // rounded up, including interest to now
        uint256 collateralValue; // base units, sum of collateral x price
        uint256 borrowCapacity; // base units, sum of value x ltv
        uint256 liquidationCapacity; // base units, sum of value x liquidation threshold
        uint256 health; // WAD; type(uint256).max without debt
        bool pricesTrusted; // every collateral price had status OK
    }

    /* SUPPLIERS */

    /// @notice Deposits `assets` of the base asset for supply shares credited to `onBehalf` (rounded down).
    /// Under RECOURSE, what `onBehalf` owes Ballast is repaid from the deposit first.
    /// @dev Reverts with ZeroAmount, ZeroAddress or ZeroShares. Emits Supply (and RecourseRepaid).
    function supply(uint256 assets, address onBehalf) external returns (uint256 shares);

    /// @notice Withdraws `assets` of the caller's supply to `receiver`, burning shares rounded up; pass
    /// type(uint256).max for everything. Under RECOURSE, what the caller owes is repaid first from the
    /// proceeds.
    /// @dev Reverts with ZeroAmount, ZeroAddress, InsufficientShares or InsufficientLiquidity. Emits
    /// Withdraw.
    function withdraw(uint256 assets, address receiver) external returns (uint256 shares);

    /* BORROWERS */

    /// @notice Deposits `amount` of a listed collateral for `onBehalf`. Needs no price.
    /// @dev Reverts with ZeroAmount, ZeroAddress, CollateralNotListed or SupplyCapExceeded. Emits
    /// SupplyCollateral.
    function supplyCollateral(address token, uint256 amount, address onBehalf) external;

    /// @notice Withdraws `amount` of the caller's collateral to `receiver`. With debt outstanding this needs
    /// an OK price for every collateral the account still holds afterwards and leaves the debt within the
    /// borrow capacity.
    /// @dev Reverts with ZeroAmount, ZeroAddress, CollateralNotListed, InsufficientCollateral, MarketPaused,
    /// RecourseDebtOutstanding, PriceNotUsable or InsufficientBorrowCapacity. Emits
    /// WithdrawCollateral (and MarginCall when the account ends below the warning level).
    function withdrawCollateral(address token, uint256 amount, address receiver) external;

    /// @notice Borrows `assets` of the base asset to `receiver` against the caller's collateral, minting
    /// borrow shares rounded up. Needs an OK price for every collateral of the account.
    /// @dev Reverts with ZeroAmount, ZeroAddress, MarketPaused, RecourseDebtOutstanding, BelowMinBorrow,
    /// BorrowCapExceeded, InsufficientLiquidity, PriceNotUsable or InsufficientBorrowCapacity. Emits Borrow
    /// (and MarginCall when the account ends below the warning level).
    function borrow(uint256 assets, address receiver) external returns (uint256 shares);

    /// @notice Repays up to `assets` of `onBehalf`'s debt (type(uint256).max or more than the debt repays
    /// all of it). Needs no price and is never paused.
    /// @dev Reverts with ZeroAmount, ZeroAddress or NothingToRepay. Emits Repay.
    /// @return repaid The assets actually pulled from the caller.
    function repay(uint256 assets, address onBehalf) external returns (uint256 repaid);

    /* LIQUIDATION */

    /// @notice Repays up to `maxRepay` of an unhealthy borrower's debt and seizes `token` collateral worth
    /// the repayment x (1 + bonus) at the oracle price. The close factor caps the repayment at 50% of the
    /// debt, or 100% when health is below 0.95 or the debt is at or under the small-position threshold. The
    /// liquidator also pays the protocol's share of the bonus (in the base asset) into the market's
    /// reserves, which are swept to the insurance fund.
    /// Guards: the bonus is capped so that a solvent account (collateral worth more than its debt) is never
    /// taken below zero; an insolvent account must be cleared collateral by collateral, each liquidation
    /// taking the whole balance of the chosen collateral (InsolventMustSeizeAll otherwise). When the
    /// borrower is left with no collateral at all, the rest of its debt is a deficit and goes down the
    /// waterfall in the same transaction: reserves, insurance fund, then suppliers.
    /// @dev The collateral seized needs a price the policy allows for LIQUIDATE. Another collateral of the
    /// borrower whose price is refused does not block the liquidation: it counts at a high estimate
    /// (max(price, last good price) x (1 + its maxDeviation)), which can only overstate health. When the
    /// seizure is capped at the balance, the repayment it pays for is rounded up and may exceed `maxRepay`
    /// by one base unit. Reverts with ZeroAmount, CollateralNotListed, NotLiquidatable, NoCollateral,
    /// InsolventMustSeizeAll or PriceNotUsable. Emits Liquidate (and the waterfall's events).
    /// @return repaid Base assets paid by the liquidator (excluding the protocol fee).
    /// @return seized Collateral units sent to the liquidator.
    function liquidate(
        address borrower,
        address token,
        uint256 maxRepay
    ) external returns (uint256 repaid, uint256 seized);

    /* KEEPERS */

    /// @notice Accrues interest to now. Emits AccrueInterest.
    function accrueInterest() external;

    /// @notice Sends the reserves the market holds in cash to the insurance fund. Emits ReservesSwept.
    function sweepReserves() external returns (uint256 swept);

    /// @notice Emits MarginCall if `account` is below the warning health (for bots that warn users), and only
    /// when every collateral price is OK (no warning on a price the oracle does not trust).
    /// @return health The account's health at the oracle's current prices.
    function checkMarginCall(address account) external returns (uint256 health);

    /* VIEWS */

    /// @notice An account's position and health at the oracle's current prices, without recording anything.
    function accountView(address account) external view returns (AccountView memory);

    /// @notice Collateral units of `token` that `account` has posted.
    function collateralOf(address account, address token) external view returns (uint256);

    /// @notice Totals: supplied assets (owed to suppliers), supply shares, borrowed assets, borrow shares,
    /// reserves (owed to the insurance fund), all as of the last accrual.
    function totals()
        external
        view
        returns (
            uint256 supplyAssets,
            uint256 supplyShares,
            uint256 borrowAssets,
            uint256 borrowShares,
            uint256 reserves
        );

    /// @notice Borrowed / supplied, WAD, as of the last accrual.
    function utilisation() external view returns (uint256);

    /// @notice The bad-debt ledger: deficits, covered by insurance, socialised, recorded as recourse.
    function badDebt() external view returns (BadDebtTotals memory);

    /// @notice The listed collateral tokens, in index order.
    function collateralTokens() external view returns (address[] memory);

    /* ADMIN (DEFAULT_ADMIN_ROLE; pausing also PAUSE_GUARDIAN_ROLE) */

    /// @notice Lists a collateral. The token must have at most 18 decimals and a price listed in the oracle,
    /// and must not take a fee on transfer: listing pulls `probeAmount` from the caller and sends it back,
    /// and reverts with FeeOnTransfer unless exactly that arrived. At most MAX_COLLATERALS tokens.
    /// @dev Emits CollateralListed and CollateralParamsSet.
    function listCollateral(address token, CollateralParams calldata params, uint256 probeAmount) external;

    /// @notice Changes a listed collateral's parameters. Bounds: liquidationThreshold at most 98%, bonus at
    /// most 25%, ltv below the threshold, threshold x (1 + bonus) at most 0.95 (which binds before the 98% cap).
    /// @dev Emits CollateralParamsSet.
    function setCollateralParams(address token, CollateralParams calldata params) external;

    /// @notice Sets the market-wide parameters. Bounds: borrowCap at most 1e15 whole base tokens; minBorrow
    /// and smallPosition at most 1,000,000 whole base tokens; reserveFactor at most 50%; protocolShare at
    /// most 100%; marginCallHealth in [1, 2].
    /// @dev Accrues interest first (at the old reserve factor). Reverts with OutOfBounds. Emits
    /// MarketParamsSet.
    function setMarketParams(MarketParams calldata params) external;

    /// @notice Sets the interest rate model (accruing first at the old one). Whatever the model returns is
    /// capped at MAX_BORROW_RATE, and a model that reverts charges no interest rather than stopping the
    /// market: repayments and liquidations never depend on it. Emits RateModelSet.
    function setRateModel(address rateModel) external;

    /// @notice Pauses or unpauses new risk (borrow, withdraw collateral). The pause guardian may pause;
    /// only the admin may unpause. Emits PausedSet.
    function setPaused(bool paused) external;
}
