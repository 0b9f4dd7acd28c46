// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PriceStatus, SuspectPolicy, AssetOracleConfig} from "./OracleTypes.sol";
import {ILendingMarket} from "../interfaces/ILendingMarket.sol";
import {IPerpMarket} from "../interfaces/IPerpMarket.sol";

/// @title Events
/// @notice Every event of Ballast, each documented once. Contracts emit `Events.Name(...)`.
library Events {
    /* ORACLE */

    /// @notice Emitted when an asset's oracle configuration is set (listing or change).
    /// @param price The primary feed's price at listing, which becomes the last good price.
    event AssetOracleSet(address indexed asset, AssetOracleConfig config, uint256 price);

    /// @notice Emitted when the L2 sequencer uptime feed or its grace period is set (feed zero: none).
    event SequencerFeedSet(address indexed feed, uint32 gracePeriod);

    /// @notice Emitted when the treatment of SUSPECT prices changes.
    event SuspectPolicySet(SuspectPolicy policy);

    /// @notice Emitted by a state-changing price read when an asset's status differs from the last read.
    /// @param price The price returned with the new status (the last good price when no feed is usable).
    event PriceStatusChanged(address indexed asset, PriceStatus from, PriceStatus to, uint256 price);

    /// @notice Emitted when the router first sees a jumped price that it cannot yet trust.
    /// @param since The time from which the price has been reported (its round's update time).
    /// @param round The feed round in which the router saw it.
    event SuspectPriceSeen(
        address indexed asset,
        uint256 price,
        uint256 lastGoodPrice,
        uint256 since,
        uint256 round
    );

    /* LOSS WATERFALL (shared by lending and perps) */

    /// @notice Emitted when an account's loss exceeds what it posted and the rest goes down the waterfall.
    /// @param deficit What the account could not pay, in base units.
    /// @param fromReserves Covered by the market's reserves (insurance money not yet swept to the fund).
    /// @param fromInsurance Covered by the insurance fund.
    /// @param socialised The rest: suppliers' haircut (lending), or the LP vault and ADL (perps).
    /// @param recourse Recorded as the account's debt (RECOURSE policy), else zero.
    event DeficitRealised(
        address indexed account,
        uint256 deficit,
        uint256 fromReserves,
        uint256 fromInsurance,
        uint256 socialised,
        uint256 recourse
    );

    /* INSURANCE FUND */

    /// @notice Emitted when the fund pays a market's deficit (`paid` may be below `requested`).
    event InsurancePaid(address indexed market, uint256 requested, uint256 paid);

    /// @notice Emitted when anyone adds to the fund (reserves, fees, gifts).
    event InsuranceToppedUp(address indexed from, uint256 amount);

    /// @notice Emitted when a deficit is recorded as an account's debt (RECOURSE).
    event RecourseRecorded(address indexed market, address indexed account, uint256 amount);

    /// @notice Emitted when an account's recourse debt is repaid, by anyone or from its own deposits.
    event RecourseRepaid(address indexed account, address indexed payer, uint256 amount, uint256 stillOwed);

    event Staked(address indexed caller, address indexed receiver, uint256 assets, uint256 shares);
    event UnstakeRequested(address indexed staker, uint256 shares, uint256 readyAt, uint256 closesAt);

    /// @notice Emitted when a cover leaves less than a millionth of the fund's balance while stakers hold shares,
    /// or a stake finds the old shares worth less than a millionth of the first stake's price: every share
    /// of `epoch` is written off and a new epoch starts.
    event StakersWipedOut(uint64 epoch, uint256 sharesWrittenOff);
    event Unstaked(address indexed staker, address indexed receiver, uint256 assets, uint256 shares);
    event MarketRegistered(address indexed market, bool registered);
    event CooldownSet(uint32 cooldown, uint32 window);

    /* LENDING */

    event Supply(address indexed caller, address indexed onBehalf, uint256 assets, uint256 shares);
    event Withdraw(address indexed owner, address indexed receiver, uint256 assets, uint256 shares);
    event SupplyCollateral(
        address indexed caller,
        address indexed onBehalf,
        address indexed token,
        uint256 amount
    );
    event WithdrawCollateral(
        address indexed owner,
        address indexed receiver,
        address indexed token,
        uint256 amount
    );
    event Borrow(address indexed borrower, address indexed receiver, uint256 assets, uint256 shares);
    event Repay(address indexed caller, address indexed onBehalf, uint256 assets, uint256 shares);

    /// @param repaid Base assets the liquidator paid toward the debt.
    /// @param seized Collateral units sent to the liquidator.
    /// @param protocolFee Base assets the liquidator paid into reserves (the protocol's share of the bonus).
    event Liquidate(
        address indexed liquidator,
        address indexed borrower,
        address indexed token,
        uint256 repaid,
        uint256 seized,
        uint256 protocolFee
    );

    /// @param rate Borrow rate per second (WAD) used for the period.
    event AccrueInterest(uint256 rate, uint256 interest, uint256 toReserves);

    event ReservesSwept(uint256 amount);

    /// @notice Emitted when the last borrow share is burnt and what is left in borrowed assets (owed by
    /// nobody: the value of the virtual borrow shares) is written off against reserves, then suppliers.
    /// About one base unit at realistic rates; it grows with the borrow share price.
    event DebtDustWrittenOff(uint256 amount);

    /// @notice Emitted when an account's health is below the warning level but not yet liquidatable (or
    /// already is): a dApp or bot should warn its owner.
    event MarginCall(address indexed account, uint256 health, uint256 warningHealth);

    event CollateralListed(address indexed token, uint256 index, uint8 decimals);
    event CollateralParamsSet(address indexed token, ILendingMarket.CollateralParams params);
    event MarketParamsSet(ILendingMarket.MarketParams params);
    event RateModelSet(address rateModel);
    event PausedSet(bool paused);
    event RateCurveSet(uint64 baseRate, uint64 slope1, uint64 slope2, uint64 kink);

    /* PERPETUALS */

    event MarginDeposited(address indexed caller, address indexed onBehalf, uint256 amount);
    event MarginWithdrawn(address indexed account, address indexed receiver, uint256 amount);

    /// @notice Emitted by every trade (orders included).
    /// @param sizeDelta Signed change of size, underlying WAD.
    /// @param fillPrice WAD; the old size is settled and the new size entered at this price.
    /// @param fee Trading fee charged, base units.
    /// @param realisedPnl PnL of the old size at the fill price, net of funding, base units (signed).
    /// @param newSize The position's size afterwards.
    event PositionModified(
        address indexed account,
        uint256 indexed marketId,
        int256 sizeDelta,
        uint256 fillPrice,
        uint256 fee,
        int256 realisedPnl,
        int256 newSize
    );

    /// @param rate Funding rate per second (WAD, signed: positive when longs pay) for the period.
    /// @param index The cumulative funding index afterwards, USD WAD per unit of size.
    event FundingAccrued(uint256 indexed marketId, int256 rate, int256 index);

    /// @notice Emitted per position closed by a liquidation, at the oracle price.
    event PositionLiquidated(
        address indexed account,
        uint256 indexed marketId,
        int256 size,
        uint256 price,
        int256 realisedPnl
    );

    /// @param notional Base units closed, in total.
    /// @param keeperFee Paid to the keeper. @param insuranceFee Kept for the insurance fund.
    /// @param deficit What the account could not pay (it goes down the waterfall), base units.
    event AccountLiquidated(
        address indexed account,
        address indexed keeper,
        uint256 notional,
        uint256 keeperFee,
        uint256 insuranceFee,
        uint256 deficit
    );

    /// @notice Emitted per position reduced by auto-deleveraging.
    /// @param price The price at which it was closed (pays pnl - haircut).
    /// @param pnl The profit it had at the oracle price, base units. @param haircut What it did not get.
    /// @param score Its ADL score (WAD).
    event Deleveraged(
        address indexed account,
        uint256 indexed marketId,
        int256 size,
        uint256 price,
        uint256 pnl,
        uint256 haircut,
        uint256 score
    );

    /// @notice Emitted when a realised profit is larger than what the pool can pay (its capital plus what the
    /// market's other traders owe it net): the trader is paid that and the rest is withheld (totalAdlHaircut).
    /// @param marketId The market, or MAX_MARKETS (16) for a liquidation's profits over all markets.
    event ProfitHaircut(address indexed account, uint256 indexed marketId, uint256 profit, uint256 paid);

    event OrderPlaced(uint256 indexed orderId, address indexed account, IPerpMarket.Order order);
    event OrderCancelled(uint256 indexed orderId, address indexed account);

    /// @param price The oracle price it ran at. @param keeperFee Paid to the keeper from the margin.
    event OrderExecuted(
        uint256 indexed orderId,
        address indexed account,
        address indexed keeper,
        uint256 price,
        uint256 keeperFee
    );

    event MarketListed(uint256 indexed marketId, address indexed asset);
    event PerpMarketParamsSet(uint256 indexed marketId, IPerpMarket.MarketParams params);
    event PerpGlobalParamsSet(IPerpMarket.GlobalParams params);

    /// @param finalPrice The settlement price when delisted, else zero.
    event MarketStatusSet(uint256 indexed marketId, IPerpMarket.MarketStatus status, uint256 finalPrice);
    event VaultSet(address vault);
    event PerpFeesSwept(uint256 amount);
    event LpDeposited(uint256 amount);
    event LpWithdrawn(address indexed receiver, uint256 amount);
}
