// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {BadDebtTotals, NegativeBalancePolicy} from "../libraries/RiskTypes.sol";

/// @title IPerpMarket
/// @notice One engine for every perpetual market (ETH-PERP, BTC-PERP, ...), each priced off the
/// OracleRouter. Accounts post margin in the base asset (a USD stablecoin, valued at exactly 1 USD) and
/// hold at most one position per market, all backed by the same margin (cross margin). The counterparty of
/// every trade is the LP pool, owned by the LiquidityVault (an ERC-4626 over the base asset): trader
/// losses, fees (less the insurance share) and the funding on the skew are paid into the pool, trader
/// profits are paid out of it. The engine holds every token (margin, pool, pending insurance fees); moving
/// value between them is book-keeping, so a trade moves no tokens.
/// A realised profit is paid only as far as the pool can pay it: its capital plus what the market's other
/// traders owe it net (their unrealised loss, which their margin backs). The rest is withheld (ProfitHaircut),
/// so that a winner is never paid with other traders' margin.
/// @dev Units: sizes in underlying WAD (1e18 = one ETH), signed (long > 0, short < 0); prices in WAD USD
/// per whole underlying; margin, fees, PnL and the pool in base units (6 decimals for USDC); fractions WAD.
/// Every trade realises the position's PnL and funding at the fill price and starts the new size at that
/// price (entry price = last fill price), so a position never carries an averaged entry.
/// Rounding always favours the pool against the trader: a trader's PnL and funding are rounded down
/// (toward minus infinity), fees and margin requirements up, and every amount the trader gains or loses
/// is the same amount the pool loses or gains, so the books balance to the base unit.
/// Fill price: oracle x (1 + (skew + (skew + sizeDelta)) / (2 x skewScale)), rounded against the trader:
/// trades that grow the skew pay a premium, trades that shrink it get a discount (price impact). Fee:
/// |sizeDelta| x fill x tradingFee. Funding: rate per second = maxFundingRate x clamp(skew / skewScale,
/// -1, 1) (longs pay shorts when skew > 0); the index grows by rate x oracle price x seconds at every
/// accrual; a position owes size x (index now - index at its last trade). Longs and shorts pay each other
/// per unit of size; the imbalance (rate x skew) is paid to the pool, which carries the skew.
/// Margin: initial (maintenance) margin of a position = notional x fraction x (1 + |size| / marginScale),
/// the fraction capped at 1: big positions need proportionally more margin. Equity = margin + PnL -
/// funding owed, over every position. Opening or increasing needs equity >= initial margin afterwards;
/// below maintenance margin anyone may liquidate.
interface IPerpMarket {
    /// @notice ACTIVE: every action. HALTED: reduce-only (no open, increase or flip). DELISTED: settled at
    /// the final price: positions can only be closed (at that price, without fee or impact) or liquidated.
    enum MarketStatus {
        ACTIVE,
        HALTED,
        DELISTED
    }

    /// @notice A market's risk parameters, as an admin sets them (four storage slots).
    struct MarketParams {
        /// Initial margin fraction at size zero (1 / max leverage), WAD.
        uint64 initialMargin;
        /// Maintenance margin fraction at size zero, WAD; below initialMargin.
        uint64 maintenanceMargin;
        /// Fee on every trade, a fraction of the fill notional, WAD.
        uint64 tradingFee;
        /// Liquidation fee, a fraction of the notional closed, WAD; split keeper / insurance fund.
        uint64 liquidationFee;
        /// Size (underlying WAD) at which a position's margin fractions have doubled.
        uint128 marginScale;
        /// Skew (underlying WAD) at which the price premium would reach 100% and funding its maximum.
        uint128 skewScale;
        /// Open-interest caps per side, underlying WAD.
        uint128 maxLongOI;
        uint128 maxShortOI;
        /// Funding rate at full skew, WAD per second.
        uint64 maxFundingRate;
        /// ADL may run when a side's unrealised profit exceeds this share of what the pool can pay it (its
        /// capital plus the losing side's net loss), WAD.
        uint64 adlPnlFactor;
    }

    /// @notice Engine-wide parameters (one storage slot).
    struct GlobalParams {
        /// Share of trading fees paid to the insurance fund (the rest to the pool), WAD.
        uint64 insuranceFeeShare;
        /// Share of the liquidation fee paid to the keeper (the rest to the insurance fund), WAD.
        uint64 keeperLiquidationShare;
        /// Share of total open-interest notional the pool keeps back from LP withdrawals, WAD.
        uint64 lpReserveFactor;
        /// Base units paid to the keeper that executes a triggered order, from the account's margin.
        uint64 orderKeeperFee;
    }

    /// @notice A market's state and parameters, for UIs and bots.
    struct MarketView {
        address asset;
        MarketStatus status;
        uint256 finalPrice; // set at delisting
        uint256 longOI;
        uint256 shortOI;
        int256 fundingIndex; // USD WAD per unit of size, cumulative
        int256 fundingRate; // WAD per second, at the current skew (zero once delisted)
        uint256 lastFundingTime;
        MarketParams params;
    }

    /// @notice A position valued at the oracle's current price (view: peek, nothing recorded).
    struct PositionView {
        int256 size;
        uint256 entryPrice; // the last fill price
        int256 pnl; // base units at the oracle price, rounded down
        int256 fundingOwed; // base units owed (negative: to receive), including funding not yet accrued
        uint256 notional; // base units at the oracle price
        uint256 initialMargin; // base units
        uint256 maintenanceMargin; // base units
    }

    /// @notice An account across every market (view: peek).
    struct AccountView {
        int256 margin; // posted margin plus everything realised, base units
        int256 equity; // margin + PnL - funding owed, base units
        uint256 initialMargin;
        uint256 maintenanceMargin;
        uint256 notional;
        bool liquidatable; // equity < maintenance margin
        bool pricesTrusted; // every price it depends on is OK
    }

    /// @notice A reduce-only stop-loss or take-profit order.
    struct Order {
        address account;
        uint8 marketId;
        bool isLong; // the side of the position it closes
        bool triggerAbove; // triggers when price >= triggerPrice (else price <= triggerPrice)
        uint64 positionNonce; // the position it was placed on; it dies with that position
        uint128 size; // underlying WAD to close (capped at the position's size on execution)
        uint128 triggerPrice; // WAD
        uint128 acceptablePrice; // worst fill accepted: the least for a long's sell, the most for a short's buy
    }

    /* MARGIN */

    /// @notice Deposits `amount` of the base asset as margin of `onBehalf`. Needs no price and is never
    /// paused. Under RECOURSE, what `onBehalf` owes Ballast is repaid from the deposit first.
    /// @dev Reverts with ZeroAmount or ZeroAddress. Emits MarginDeposited (and RecourseRepaid).
    function depositMargin(uint256 amount, address onBehalf) external;

    /// @notice Withdraws `amount` of the caller's margin to `receiver` (type(uint256).max: all that is free).
    /// With positions open, needs an OK price for each and leaves equity >= initial margin. Under RECOURSE
    /// what the caller owes is repaid first from the amount.
    /// @dev Reverts with ZeroAmount, ZeroAddress, MarketPaused, PriceNotUsable, or InsufficientMarginBalance
    /// (requested, free margin) beyond min(margin, equity - initial margin). Emits MarginWithdrawn.
    function withdrawMargin(uint256 amount, address receiver) external;

    /* TRADING */

    /// @notice Opens, increases, reduces, closes or flips the caller's position in `marketId` by
    /// `sizeDelta`, at the fill price (oracle moved by the skew) plus the trading fee. The fill must be at or
    /// below `acceptablePrice` for a buy and at or above it for a sell (a limit on slippage).
    /// Opening, increasing or flipping needs an ACTIVE market, no pause, no recourse debt, an OK price for
    /// every market the account is in, room under the side's open-interest cap, and equity >= initial margin
    /// afterwards. Reducing or closing runs on any price the policy allows for REDUCE / CLOSE, in a halted
    /// market too, and is refused only if it would leave the account with no position and negative margin
    /// (that account must be liquidated, so that its deficit takes the waterfall).
    /// @dev Reverts with ZeroAmount, MarketNotListed, MarketNotActive, MarketPaused,
    /// RecourseDebtOutstanding, PriceNotUsable, PriceLimitExceeded, OpenInterestCapExceeded,
    /// InsufficientMargin or InsolventAccount. Emits PositionModified (and FundingAccrued).
    function modifyPosition(uint256 marketId, int256 sizeDelta, uint256 acceptablePrice) external;

    /// @notice Closes the caller's whole position in `marketId` (modifyPosition with -size).
    /// @dev Reverts with NoPosition, and as modifyPosition.
    function closePosition(uint256 marketId, uint256 acceptablePrice) external;

    /* ORDERS */

    /// @notice Stores a reduce-only order that closes up to `size` of the caller's `isLong` position in
    /// `marketId` once the oracle price is at or above (`triggerAbove`) or at or below `triggerPrice`. A
    /// stop-loss on a long is triggerAbove = false. It fills like any reduce, at the price of the moment it
    /// runs: after a gap through the trigger, at the gapped price, unless that fill is beyond
    /// `acceptablePrice` (then it cannot run: a stop-limit). 0 for a long (or type(uint128).max for a short)
    /// is a plain stop that always fills; a limit also protects the order from a keeper that moves the skew
    /// just before executing it. The order belongs to the position it was placed on: once that position is
    /// closed, liquidated or deleveraged, the order is void. The executing keeper is paid orderKeeperFee
    /// from the account's margin (at most what the margin holds).
    /// @dev Reverts with ZeroAmount, MarketNotListed or NoPosition (no position on that side). Emits
    /// OrderPlaced.
    function placeOrder(
        uint256 marketId,
        bool isLong,
        uint128 size,
        uint128 triggerPrice,
        bool triggerAbove,
        uint128 acceptablePrice
    ) external returns (uint256 orderId);

    /// @notice Deletes one of the caller's orders. @dev Reverts with OrderNotFound or NotOrderOwner. Emits
    /// OrderCancelled.
    function cancelOrder(uint256 orderId) external;

    /// @notice Executes a triggered order; anyone may call. If the position it was placed on is gone (closed,
    /// liquidated, deleveraged or flipped, even if a new one was opened since) the order is cancelled instead
    /// and no fee is paid.
    /// @dev Reverts with OrderNotFound, PriceNotUsable, OrderNotTriggered or PriceLimitExceeded. Emits
    /// OrderExecuted (or OrderCancelled) and PositionModified.
    function executeOrder(uint256 orderId) external;

    /* KEEPERS */

    /// @notice Liquidates `account` when its equity is below its maintenance margin: every position is
    /// closed at the oracle price (no impact, no trading fee), then the liquidation fee (liquidationFee x
    /// notional) is charged: the keeper's share always (it becomes part of any deficit, so that deep
    /// accounts are still worth liquidating), the insurance share only from what margin is left. Negative
    /// margin left is a deficit and goes down the waterfall at once: pending insurance fees, the insurance
    /// fund, then the LP pool.
    /// @dev Needs a price the policy allows for LIQUIDATE in every market the account is in. Reverts with
    /// AccountNotLiquidatable or PriceNotUsable. Emits PositionLiquidated per position, AccountLiquidated
    /// (and DeficitRealised).
    function liquidate(address account) external;

    /// @notice Auto-deleveraging of `marketId`: while the winning side's unrealised profit exceeds
    /// adlPnlFactor x what the pool can pay it (capacity: its capital plus the losing side's net loss), closes
    /// the positions of `accounts`, in that order, at the price that pays each its profit x (1 - haircut),
    /// where haircut = 1 - capacity / side profit when the pool cannot pay the whole side, else 0, and never
    /// more than the pool can pay once the position is out (its capital plus what the market's remaining
    /// traders owe it; the side's profit is net of its losing positions, so its winners' gross profit may
    /// exceed it). The list must be in
    /// non-increasing score order (score = PnL% x leverage, see adlScore) and every candidate must be on the
    /// winning side and in profit: only profitable positions are ever touched. Stops early once the trigger
    /// no longer holds.
    /// @dev Needs a price the policy allows for CLOSE. Reverts with AdlNotTriggered, NoPosition,
    /// AdlNotProfitable or AdlOutOfOrder. Emits Deleveraged per position.
    /// @return closed How many positions were deleveraged.
    function adl(uint256 marketId, address[] calldata accounts) external returns (uint256 closed);

    /// @notice Sends the pending insurance fees to the insurance fund. Emits PerpFeesSwept.
    function sweepFees() external returns (uint256 swept);

    /* VAULT (the LiquidityVault only) */

    /// @notice Adds `amount` to the pool, pulled from the vault. @dev Reverts with NotVault.
    function lpDeposit(uint256 amount) external;

    /// @notice Pays `amount` of the pool to `receiver`, within lpWithdrawable: the pool keeps what open
    /// positions could claim now (every side's unrealised profit) plus lpReserveFactor x open notional.
    /// @dev Needs a price the policy allows for WITHDRAW_MARGIN in every market with open interest.
    /// Reverts with NotVault, PriceNotUsable or LpWithdrawalTooLarge.
    function lpWithdraw(uint256 amount, address receiver) external;

    /* VIEWS */

    /// @notice The pool's value for its share price: capital minus traders' net unrealised PnL (funding
    /// included) minus, per market, the price impact closing the whole skew would hand back to traders
    /// (skew^2 x price / (2 x skewScale)), at the oracle's current prices (peek), floored at zero. Base units.
    function lpAssets() external view returns (uint256);

    /// @notice What the vault may withdraw now (peek prices): capital minus every side's unrealised profit,
    /// the skew's exit impact and lpReserveFactor x open notional. Base units.
    function lpWithdrawable() external view returns (uint256);

    /// @notice The pool's capital (deposits, fees, realised trader losses and funding, less realised profits
    /// and socialised deficits), and the insurance fees not yet swept. Base units.
    function pool() external view returns (int256 capital, uint256 pendingInsurance);

    /// @notice Net unrealised PnL (funding included) of the longs and of the shorts of a market, USD WAD,
    /// at the oracle's current price (peek).
    function sidePnl(uint256 marketId) external view returns (int256 longPnl, int256 shortPnl);

    /// @notice The ADL score of `account`'s position in `marketId`: PnL / entry notional x notional /
    /// (account margin + this position's PnL), WAD; type(uint256).max when that equity is not positive; zero
    /// when not in profit. Uses the oracle's current price (peek).
    function adlScore(address account, uint256 marketId) external view returns (uint256);

    function accountView(address account) external view returns (AccountView memory);

    function positionView(address account, uint256 marketId) external view returns (PositionView memory);

    function marketView(uint256 marketId) external view returns (MarketView memory);

    /// @notice The fill price of a trade of `sizeDelta` now (peek), before the fee.
    function fillPrice(uint256 marketId, int256 sizeDelta) external view returns (uint256);

    function order(uint256 orderId) external view returns (Order memory);

    function marketCount() external view returns (uint256);

    /// @notice The bad-debt ledger: deficits, covered by insurance (pending fees + fund), socialised to the
    /// pool, recorded as recourse.
    function badDebt() external view returns (BadDebtTotals memory);

    /// @notice PROTECTED or RECOURSE, fixed at deployment.
    function negativeBalancePolicy() external view returns (NegativeBalancePolicy);

    /// @notice Profit withheld from deleveraged positions, in total, base units.
    function totalAdlHaircut() external view returns (uint256);

    /* ADMIN (DEFAULT_ADMIN_ROLE; pausing and halting also PAUSE_GUARDIAN_ROLE) */

    /// @notice Lists a market for an asset listed in the oracle. At most MAX_MARKETS.
    /// @dev Reverts with AssetNotListed, MarketAlreadyListed, TooManyMarkets, and as setMarketParams. Emits
    /// MarketListed and PerpMarketParamsSet.
    function listMarket(address asset, MarketParams calldata params) external returns (uint256 marketId);

    /// @notice Sets a market's parameters, accruing its funding first at the old rate.
    /// Bounds: initialMargin [0.5%, 100%], maintenanceMargin [0.1%, initialMargin), tradingFee <= 1%,
    /// liquidationFee <= maintenanceMargin, marginScale and skewScale [1, 1e18] whole units, OI caps <= 1e18
    /// whole units, maxFundingRate <= 10% a day, adlPnlFactor [1%, 100%].
    /// @dev Reverts with OutOfBounds or InvalidMarginParams (from the linked PerpParams library), or
    /// PriceNotUsable (accruing needs a price the policy allows for CLOSE while the funding rate is not zero;
    /// at a zero rate the funding clock just restarts). Emits PerpMarketParamsSet.
    function setMarketParams(uint256 marketId, MarketParams calldata params) external;

    /// @notice Bounds: insuranceFeeShare, keeperLiquidationShare <= 100%, lpReserveFactor <= 50%,
    /// orderKeeperFee <= 100 whole base tokens. Emits PerpGlobalParamsSet.
    function setGlobalParams(GlobalParams calldata params) external;

    /// @notice Halts (reduce-only) or resumes a market. The pause guardian may halt; only the admin resumes.
    /// @dev Reverts with MarketNotActive for a delisted market. Emits MarketStatusSet.
    function setHalted(uint256 marketId, bool halted) external;

    /// @notice Delists a market at the oracle's current price, which must be OK (it is read as a risk-adding
    /// action, OPEN: a final settlement is not made on a fallback or unconfirmed price): funding stops, and
    /// every position settles at that final price. Emits MarketStatusSet.
    function delistMarket(uint256 marketId) external;

    /// @notice Sets the LiquidityVault, once. Emits VaultSet.
    function setVault(address vault) external;

    /// @notice Pauses or unpauses new risk (open, increase, withdraw margin). Emits PausedSet.
    function setPaused(bool paused) external;
}
