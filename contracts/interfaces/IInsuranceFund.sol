// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IInsuranceFund
/// @notice The second step of the loss waterfall: holds the base asset, receives reserve-factor interest and
/// the protocol's share of liquidation and trading fees, and pays deficits to registered markets only, up to
/// its balance. It also keeps the recourse ledger: under the RECOURSE policy, what each address still owes
/// Ballast after the waterfall covered its deficit; recoveries are paid to the fund.
/// Optional stakers add capital: their shares are a pro-rata claim on everything the fund holds (its own
/// income included), so they bear every loss pro rata with the fund's own capital. Shares are not
/// transferable, and leaving takes a cooldown during which the shares still bear every loss, so that no
/// one can run just before a loss. A cover that drains the fund to zero, or to less than a millionth of the
/// balance it found, writes every share off (a new epoch starts); so does a stake into a fund whose shares
/// are worth less than a millionth of the first stake's price, before it mints, so that share counts never
/// compound. The line is relative to each cover, so a stake made just after a large loss is not wiped out
/// by the next small cover.
interface IInsuranceFund {
    /* MARKETS */

    /// @notice Pays up to `amount` of a deficit to the calling market, limited by the fund's balance.
    /// @dev Registered markets only (NotRegisteredMarket). Emits InsurancePaid. Never reverts for lack of
    /// funds: it pays what it has.
    /// @return paid What was transferred to the market.
    function cover(uint256 amount) external returns (uint256 paid);

    /// @notice Records that `account` owes Ballast `amount` after a deficit (RECOURSE policy).
    /// @dev Registered markets only. Emits RecourseRecorded.
    function recordRecourse(address account, uint256 amount) external;

    /* ANYONE */

    /// @notice Adds `amount` of the base asset to the fund (income or a gift). Emits InsuranceToppedUp.
    function topUp(uint256 amount) external;

    /// @notice Repays up to `amount` of what `account` owes, pulled from the caller; refunds the fund.
    /// @dev Emits RecourseRepaid. Zero owed repays nothing (no revert).
    /// @return repaid What was pulled and credited.
    function repayRecourse(address account, uint256 amount) external returns (uint256 repaid);

    /* STAKERS */

    /// @notice Stakes `assets` for shares credited to `receiver`, rounding shares down. If `receiver` owes
    /// recourse debt, the deposit repays it first and only the rest is staked, priced with the repayment
    /// already in the fund (the repayment belongs to those staked before).
    /// @dev Reverts with ZeroAmount, ZeroAddress or ZeroShares. Emits Staked when any part is staked, and
    /// RecourseRepaid when any part repays a debt.
    function stake(uint256 assets, address receiver) external returns (uint256 shares);

    /// @notice Starts the cooldown for `shares` of the caller's. Replaces any earlier request. The request's
    /// terms (when it opens and closes) are fixed now; a later change of the cooldown does not move them.
    /// @dev The shares keep bearing losses (and earning income) while cooling down. Reverts with
    /// ZeroAmount or InsufficientShares. Emits UnstakeRequested.
    function requestUnstake(uint256 shares) external;

    /// @notice Redeems the requested shares once the cooldown has passed and while the window is open,
    /// rounding assets down. Recourse debt of the caller is repaid first from the proceeds. A request made
    /// before the shares were written off (see `epoch`) is void.
    /// @dev Reverts with NoUnstakeRequest, CooldownNotElapsed or UnstakeWindowClosed. Emits Unstaked.
    function unstake(address receiver) external returns (uint256 assets);

    /* VIEWS */

    /// @notice The base-asset balance of the fund.
    function totalAssets() external view returns (uint256);

    /// @notice What `shares` are worth now, rounded down.
    function previewUnstake(uint256 shares) external view returns (uint256);

    /// @notice A staker's shares in the current epoch.
    function sharesOf(address staker) external view returns (uint256);

    /// @notice A staker's pending request: shares, when it opens, when it closes (zeroes for none).
    function unstakeRequest(
        address staker
    ) external view returns (uint256 shares, uint256 readyAt, uint256 closesAt);

    /// @notice What `account` owes Ballast under RECOURSE.
    function recourseDebt(address account) external view returns (uint256);

    /// @notice Whether `market` may draw on the fund and record recourse.
    function isMarket(address market) external view returns (bool);

    /* ADMIN (DEFAULT_ADMIN_ROLE) */

    /// @notice Registers or removes a market. Emits MarketRegistered.
    function setMarket(address market, bool registered) external;

    /// @notice Sets the staking cooldown and the window after it in which unstaking is open.
    /// @dev cooldown [MIN_COOLDOWN, MAX_COOLDOWN], window [MIN_WINDOW, MAX_WINDOW]. Emits CooldownSet.
    function setCooldown(uint32 cooldown, uint32 window) external;
}
