// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IInsuranceFund} from "../interfaces/IInsuranceFund.sol";
import {IOracleRouter} from "../interfaces/IOracleRouter.sol";
import {IPerpMarket} from "../interfaces/IPerpMarket.sol";
import {Errors} from "../libraries/Errors.sol";
import {Events} from "../libraries/Events.sol";
import {MathLib} from "../libraries/MathLib.sol";
import {Action, PriceStatus} from "../libraries/OracleTypes.sol";
import {PerpMath} from "../libraries/PerpMath.sol";
import {PerpParams} from "./PerpParams.sol";
import {BadDebtTotals, NegativeBalancePolicy} from "../libraries/RiskTypes.sol";
import {LossWaterfall} from "../risk/LossWaterfall.sol";

/// @title PerpMarket
/// @notice See IPerpMarket.
contract PerpMarket is IPerpMarket, AccessControl, ReentrancyGuardTransient {
    using MathLib for uint256;
    using SafeCast for uint256;
    using SafeCast for int256;
    using SafeERC20 for IERC20;

    /* CONSTANTS */

    bytes32 public constant PAUSE_GUARDIAN_ROLE = keccak256("PAUSE_GUARDIAN_ROLE");
    uint256 internal constant WAD = 1e18;
    /// @notice Markets per engine (an account's set of markets is a 16-bit mask).
    uint256 public constant MAX_MARKETS = 16;

    /* IMMUTABLES */

    IERC20 public immutable baseToken;
    IOracleRouter public immutable oracle;
    IInsuranceFund public immutable insuranceFund;
    NegativeBalancePolicy public immutable negativeBalancePolicy;
    /// @dev USD WAD per base unit (1e12 for a 6-decimal base).
    uint256 internal immutable _usdPerUnit;

    /* STORAGE */

    /// A market's moving state (three slots). Basis sums let the pool value every position without a loop:
    /// per side, sum(|size| x entry price / WAD) - sum(|size| x funding index at entry / WAD), each term
    /// rounded as the position's own, so that a side's PnL is OI x (price - index) / WAD - basis sum.
    struct MarketState {
        uint128 longOI;
        uint128 shortOI;
        int128 longBasisSum;
        int128 shortBasisSum;
        int128 fundingIndex;
        uint40 lastFundingTime;
        MarketStatus status;
    }

    struct Market {
        address asset;
        uint96 finalPrice;
        MarketParams params;
        MarketState s;
    }

    struct Position {
        int128 size;
        uint128 entryPrice;
        int128 fundingIndex;
        /// Bumped each time the position is closed, so that orders placed on it die with it.
        uint64 nonce;
    }

    struct Account {
        int128 margin;
        uint16 marketsIn; // bit i: has a position in market i
    }

    /// One account's risk at the current prices, base units.
    struct Risk {
        int256 equity;
        uint256 initialMargin;
        uint256 maintenanceMargin;
        uint256 notional;
        uint256 liquidationFee;
    }

    mapping(uint256 marketId => Market) internal _markets;
    uint256 public marketCount;
    mapping(address asset => uint256) internal _idPlusOne;
    mapping(address account => mapping(uint256 marketId => Position)) internal _positions;
    mapping(address account => Account) internal _accounts;
    /// The pool's capital (owned by the vault) and the insurance fees not yet swept: one slot.
    int128 internal _lpCapital;
    uint128 internal _pendingInsurance;
    GlobalParams public globalParams;
    BadDebtTotals internal _badDebt;
    /// @inheritdoc IPerpMarket
    uint256 public totalAdlHaircut;
    mapping(uint256 orderId => Order) internal _orders;
    uint256 public lastOrderId;
    address public vault;
    bool public paused;

    constructor(
        address admin,
        IERC20 baseToken_,
        IOracleRouter oracle_,
        IInsuranceFund insuranceFund_,
        NegativeBalancePolicy policy,
        GlobalParams memory params_
    ) {
        if (
            admin == address(0) ||
            address(baseToken_) == address(0) ||
            address(oracle_) == address(0) ||
            address(insuranceFund_) == address(0)
        ) revert Errors.ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        baseToken = baseToken_;
        oracle = oracle_;
        insuranceFund = insuranceFund_;
        negativeBalancePolicy = policy;
        uint8 decimals = IERC20Metadata(address(baseToken_)).decimals();
        if (decimals > 18) revert Errors.TokenDecimalsUnsupported(address(baseToken_));
        _usdPerUnit = 10 ** (18 - decimals);
        _setGlobalParams(params_);
        // The fund pulls fees and recourse repayments from the engine.
        baseToken_.forceApprove(address(insuranceFund_), type(uint256).max);
    }

    /* MARGIN */

    /// @inheritdoc IPerpMarket
    function depositMargin(uint256 amount, address onBehalf) external nonReentrant {
        if (amount == 0) revert Errors.ZeroAmount();
        if (onBehalf == address(0)) revert Errors.ZeroAddress();
        uint256 toDebt = MathLib.min(_owed(onBehalf), amount);
        uint256 credited = amount - toDebt;
        if (credited > 0) {
            Account storage a = _accounts[onBehalf];
            a.margin = (a.margin + credited.toInt256()).toInt128();
            emit Events.MarginDeposited(msg.sender, onBehalf, credited);
        }
        baseToken.safeTransferFrom(msg.sender, address(this), amount);
        if (toDebt > 0) insuranceFund.repayRecourse(onBehalf, toDebt);
    }

    /// @inheritdoc IPerpMarket
    function withdrawMargin(uint256 amount, address receiver) external nonReentrant {
        if (amount == 0) revert Errors.ZeroAmount();
        if (receiver == address(0)) revert Errors.ZeroAddress();
        if (paused) revert Errors.MarketPaused();
        Account storage a = _accounts[msg.sender];
        int256 margin = a.margin;
        uint256 available = PerpMath.positivePart(margin);
        if (a.marketsIn != 0) {
            Risk memory r = _risk(msg.sender, a, Action.WITHDRAW_MARGIN, MAX_MARKETS, 0);
            available = MathLib.min(available, PerpMath.positivePart(r.equity - int256(r.initialMargin)));
        }
        if (amount == type(uint256).max) amount = available;
        if (amount == 0 || amount > available) revert Errors.InsufficientMarginBalance(amount, available);

        a.margin = (margin - int256(amount)).toInt128();
        uint256 toDebt = MathLib.min(_owed(msg.sender), amount);
        emit Events.MarginWithdrawn(msg.sender, receiver, amount);
        if (amount > toDebt) baseToken.safeTransfer(receiver, amount - toDebt);
        if (toDebt > 0) insuranceFund.repayRecourse(msg.sender, toDebt);
    }

    /* TRADING */

    /// @inheritdoc IPerpMarket
    function modifyPosition(
        uint256 marketId,
        int256 sizeDelta,
        uint256 acceptablePrice
    ) external nonReentrant {
        _modify(msg.sender, marketId, sizeDelta.toInt128(), acceptablePrice);
    }

    /// @inheritdoc IPerpMarket
    function closePosition(uint256 marketId, uint256 acceptablePrice) external nonReentrant {
        int256 size = _positions[msg.sender][marketId].size;
        if (size == 0) revert Errors.NoPosition(msg.sender, marketId);
        _modify(msg.sender, marketId, -size, acceptablePrice);
    }

    /* ORDERS */

    /// @inheritdoc IPerpMarket
    function placeOrder(
        uint256 marketId,
        bool isLong,
        uint128 size,
        uint128 triggerPrice,
        bool triggerAbove,
        uint128 acceptablePrice
    ) external returns (uint256 orderId) {
        if (size == 0 || triggerPrice == 0) revert Errors.ZeroAmount();
        _market(marketId);
        Position storage p = _positions[msg.sender][marketId];
        int256 held = p.size;
        if (held == 0 || (held > 0) != isLong) revert Errors.NoPosition(msg.sender, marketId);
        orderId = ++lastOrderId;
        Order memory o = Order(
            msg.sender,
            uint8(marketId),
            isLong,
            triggerAbove,
            p.nonce,
            size,
            triggerPrice,
            acceptablePrice
        );
        _orders[orderId] = o;
        emit Events.OrderPlaced(orderId, msg.sender, o);
    }

    /// @inheritdoc IPerpMarket
    function cancelOrder(uint256 orderId) external {
        address owner = _orders[orderId].account;
        if (owner == address(0)) revert Errors.OrderNotFound(orderId);
        if (owner != msg.sender) revert Errors.NotOrderOwner(orderId, owner);
        delete _orders[orderId];
        emit Events.OrderCancelled(orderId, owner);
    }

    /// @inheritdoc IPerpMarket
    function executeOrder(uint256 orderId) external nonReentrant {
        Order memory o = _orders[orderId];
        if (o.account == address(0)) revert Errors.OrderNotFound(orderId);
        delete _orders[orderId];
        Position storage p = _positions[o.account][o.marketId];
        int256 held = p.size;
        if (held == 0 || (held > 0) != o.isLong || p.nonce != o.positionNonce) {
            // The position it was placed on is gone (closed, liquidated, deleveraged or flipped).
            emit Events.OrderCancelled(orderId, o.account);
            return;
        }
        uint256 closing = MathLib.min(o.size, PerpMath.abs(held));
        Market storage m = _markets[o.marketId];
        uint256 price = _price(m, closing == PerpMath.abs(held) ? Action.CLOSE : Action.REDUCE);
        if (o.triggerAbove ? price < o.triggerPrice : price > o.triggerPrice) {
            revert Errors.OrderNotTriggered(orderId, price, o.triggerPrice);
        }
        int256 delta = o.isLong ? -int256(closing) : int256(closing);
        _trade(o.account, o.marketId, m, p, delta, price, o.acceptablePrice, false);

        Account storage a = _accounts[o.account];
        uint256 fee = MathLib.min(globalParams.orderKeeperFee, PerpMath.positivePart(a.margin));
        a.margin -= int128(int256(fee));
        emit Events.OrderExecuted(orderId, o.account, msg.sender, price, fee);
        if (fee > 0) baseToken.safeTransfer(msg.sender, fee);
    }

    /* KEEPERS */

    /// @inheritdoc IPerpMarket
    function liquidate(address account) external nonReentrant {
        Account storage a = _accounts[account];
        uint256 mask = a.marketsIn;
        uint256[MAX_MARKETS] memory prices;
        Risk memory r;
        r.equity = a.margin;
        for (uint256 i = 0; mask >> i != 0; ++i) {
            if ((mask >> i) & 1 == 0) continue;
            Market storage m = _markets[i];
            prices[i] = _price(m, Action.LIQUIDATE);
            _accrueFunding(i, m, prices[i]);
            _addRisk(r, m, _positions[account][i], prices[i], m.s.fundingIndex);
        }
        if (r.maintenanceMargin == 0 || r.equity >= int256(r.maintenanceMargin)) {
            revert Errors.AccountNotLiquidatable(r.equity, r.maintenanceMargin);
        }

        int256 margin = a.margin;
        int256 realisedTotal;
        for (uint256 i = 0; mask >> i != 0; ++i) {
            if ((mask >> i) & 1 == 0) continue;
            Position storage p = _positions[account][i];
            int256 size = p.size;
            int256 realised = _settle(_markets[i], p, prices[i]);
            realisedTotal += realised;
            _clearPosition(p);
            emit Events.PositionLiquidated(account, i, size, prices[i], realised);
        }
        if (realisedTotal > _lpCapital) {
            realisedTotal = _payable(account, MAX_MARKETS, realisedTotal, _owedToPoolIn(mask, prices));
        }
        margin += realisedTotal;
        a.marketsIn = 0;

        GlobalParams memory g = globalParams;
        uint256 keeperFee = r.liquidationFee.wMulDown(g.keeperLiquidationShare);
        margin -= int256(keeperFee);
        uint256 insuranceFee = MathLib.min(r.liquidationFee - keeperFee, PerpMath.positivePart(margin));
        margin -= int256(insuranceFee);
        uint256 deficit = margin < 0 ? uint256(-margin) : 0;
        a.margin = margin < 0 ? int128(0) : margin.toInt128();
        _lpCapital = (_lpCapital - realisedTotal).toInt128();
        _pendingInsurance += uint128(insuranceFee);
        emit Events.AccountLiquidated(account, msg.sender, r.notional, keeperFee, insuranceFee, deficit);
        if (deficit > 0) _realiseDeficit(account, deficit);
        if (keeperFee > 0) baseToken.safeTransfer(msg.sender, keeperFee);
    }

    /// @inheritdoc IPerpMarket
    function adl(
        uint256 marketId,
        address[] calldata accounts
    ) external nonReentrant returns (uint256 closed) {
        Market storage m = _market(marketId);
        uint256 price = _price(m, Action.CLOSE);
        _accrueFunding(marketId, m, price);
        uint256 previousScore = type(uint256).max;
        for (; closed < accounts.length; ++closed) {
            (bool longsWin, uint256 haircutRate) = _adlState(marketId, m, price, closed == 0);
            if (haircutRate == type(uint256).max) break; // no longer triggered
            previousScore = _deleverage(
                marketId,
                m,
                accounts[closed],
                price,
                longsWin,
                haircutRate,
                previousScore
            );
        }
    }

    /// @inheritdoc IPerpMarket
    function sweepFees() external nonReentrant returns (uint256 swept) {
        swept = _pendingInsurance;
        if (swept == 0) return 0;
        _pendingInsurance = 0;
        emit Events.PerpFeesSwept(swept);
        insuranceFund.topUp(swept);
    }

    /* VAULT */

    /// @inheritdoc IPerpMarket
    function lpDeposit(uint256 amount) external nonReentrant {
        if (msg.sender != vault) revert Errors.NotVault(msg.sender);
        _lpCapital += amount.toInt256().toInt128();
        emit Events.LpDeposited(amount);
        baseToken.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IPerpMarket
    function lpWithdraw(uint256 amount, address receiver) external nonReentrant {
        if (msg.sender != vault) revert Errors.NotVault(msg.sender);
        uint256[MAX_MARKETS] memory prices;
        for (uint256 i = 0; i < marketCount; ++i) {
            Market storage m = _markets[i];
            if (m.s.longOI != 0 || m.s.shortOI != 0) prices[i] = _price(m, Action.WITHDRAW_MARGIN);
        }
        (, uint256 available) = _lpValue(prices);
        if (amount > available) revert Errors.LpWithdrawalTooLarge(amount, available);
        _lpCapital -= int128(int256(amount));
        emit Events.LpWithdrawn(receiver, amount);
        baseToken.safeTransfer(receiver, amount);
    }

    /* VIEWS */

    /// @inheritdoc IPerpMarket
    function lpAssets() external view returns (uint256 assets) {
        (assets, ) = _lpValue(_peekPrices());
    }

    /// @inheritdoc IPerpMarket
    function lpWithdrawable() external view returns (uint256 available) {
        (, available) = _lpValue(_peekPrices());
    }

    /// @inheritdoc IPerpMarket
    function pool() external view returns (int256 capital, uint256 pendingInsurance) {
        return (_lpCapital, _pendingInsurance);
    }

    /// @inheritdoc IPerpMarket
    function sidePnl(uint256 marketId) external view returns (int256 longPnl, int256 shortPnl) {
        Market storage m = _market(marketId);
        uint256 price = _peek(m);
        return _sidePnl(m.s, price, _indexNow(m, price));
    }

    /// @inheritdoc IPerpMarket
    function adlScore(address account, uint256 marketId) external view returns (uint256) {
        Market storage m = _market(marketId);
        Position storage p = _positions[account][marketId];
        if (p.size == 0) return 0;
        uint256 price = _peek(m);
        int256 pnl = _positionValue(p, price, _indexNow(m, price));
        return pnl <= 0 ? 0 : _adlScore(_accounts[account].margin, p, price, pnl);
    }

    /// @inheritdoc IPerpMarket
    function accountView(address account) external view returns (AccountView memory v) {
        Account storage a = _accounts[account];
        Risk memory r;
        r.equity = a.margin;
        v.pricesTrusted = true;
        uint256 mask = a.marketsIn;
        for (uint256 i = 0; mask >> i != 0; ++i) {
            if ((mask >> i) & 1 == 0) continue;
            Market storage m = _markets[i];
            uint256 price = m.finalPrice;
            if (m.s.status != MarketStatus.DELISTED) {
                PriceStatus status;
                (price, status) = oracle.peek(m.asset);
                if (status != PriceStatus.OK) v.pricesTrusted = false;
            }
            _addRisk(r, m, _positions[account][i], price, _indexNow(m, price));
        }
        v.margin = a.margin;
        v.equity = r.equity;
        v.initialMargin = r.initialMargin;
        v.maintenanceMargin = r.maintenanceMargin;
        v.notional = r.notional;
        v.liquidatable = r.maintenanceMargin > 0 && r.equity < int256(r.maintenanceMargin);
    }

    /// @inheritdoc IPerpMarket
    function positionView(address account, uint256 marketId) external view returns (PositionView memory v) {
        Market storage m = _market(marketId);
        Position storage p = _positions[account][marketId];
        uint256 price = _peek(m);
        int256 index = _indexNow(m, price);
        v.size = p.size;
        v.entryPrice = p.entryPrice;
        v.pnl = PerpMath.floorDiv(
            int256(p.size) * (int256(price) - int256(uint256(p.entryPrice))),
            _wadUnit()
        );
        v.fundingOwed = PerpMath.ceilDiv(int256(p.size) * (index - p.fundingIndex), _wadUnit());
        (v.notional, v.initialMargin, v.maintenanceMargin, ) = _margins(m.params, p.size, price);
    }

    /// @inheritdoc IPerpMarket
    function marketView(uint256 marketId) external view returns (MarketView memory v) {
        Market storage m = _market(marketId);
        MarketState storage s = m.s;
        v.asset = m.asset;
        v.status = s.status;
        v.finalPrice = m.finalPrice;
        v.longOI = s.longOI;
        v.shortOI = s.shortOI;
        v.fundingIndex = s.fundingIndex;
        v.fundingRate = s.status == MarketStatus.DELISTED ? int256(0) : _fundingRate(m);
        v.lastFundingTime = s.lastFundingTime;
        v.params = m.params;
    }

    /// @inheritdoc IPerpMarket
    function fillPrice(uint256 marketId, int256 sizeDelta) external view returns (uint256) {
        Market storage m = _market(marketId);
        uint256 price = _peek(m);
        if (m.s.status == MarketStatus.DELISTED) return price;
        return _fillPrice(m, price, sizeDelta);
    }

    /// @inheritdoc IPerpMarket
    function order(uint256 orderId) external view returns (Order memory) {
        return _orders[orderId];
    }

    /// @inheritdoc IPerpMarket
    function badDebt() external view returns (BadDebtTotals memory) {
        return _badDebt;
    }

    /// @notice The margin `account` has posted plus everything realised (may be negative between trades
    /// of a cross-margined account), and its set of markets as a bit mask.
    function marginOf(address account) external view returns (int256 margin, uint256 marketsIn) {
        Account storage a = _accounts[account];
        return (a.margin, a.marketsIn);
    }

    /// @notice The market id of `asset` (reverts with MarketNotListed(type(uint256).max) when none).
    function marketIdOf(address asset) external view returns (uint256) {
        uint256 id = _idPlusOne[asset];
        if (id == 0) revert Errors.MarketNotListed(type(uint256).max);
        return id - 1;
    }

    /* ADMIN */

    /// @inheritdoc IPerpMarket
    function listMarket(
        address asset,
        MarketParams calldata params
    ) external onlyRole(DEFAULT_ADMIN_ROLE) returns (uint256 marketId) {
        if (!oracle.isListed(asset)) revert Errors.AssetNotListed(asset);
        if (_idPlusOne[asset] != 0) revert Errors.MarketAlreadyListed(asset);
        marketId = marketCount;
        if (marketId == MAX_MARKETS) revert Errors.TooManyMarkets(MAX_MARKETS);
        marketCount = marketId + 1;
        _idPlusOne[asset] = marketId + 1;
        Market storage m = _markets[marketId];
        m.asset = asset;
        m.s.lastFundingTime = uint40(block.timestamp);
        emit Events.MarketListed(marketId, asset);
        _setMarketParams(marketId, m, params);
    }

    /// @inheritdoc IPerpMarket
    function setMarketParams(
        uint256 marketId,
        MarketParams calldata params
    ) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        Market storage m = _market(marketId);
        // Funding to now is charged at the old rate.
        if (_fundingRate(m) != 0 && m.s.status != MarketStatus.DELISTED) {
            _accrueFunding(marketId, m, _price(m, Action.CLOSE));
        } else {
            m.s.lastFundingTime = uint40(block.timestamp);
        }
        _setMarketParams(marketId, m, params);
    }

    /// @inheritdoc IPerpMarket
    function setGlobalParams(GlobalParams calldata params) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setGlobalParams(params);
    }

    /// @inheritdoc IPerpMarket
    function setHalted(uint256 marketId, bool halted) external {
        _checkRole(_guardianOrAdmin(halted));
        Market storage m = _market(marketId);
        if (m.s.status == MarketStatus.DELISTED) revert Errors.MarketNotActive(marketId, uint8(m.s.status));
        MarketStatus status = halted ? MarketStatus.HALTED : MarketStatus.ACTIVE;
        m.s.status = status;
        emit Events.MarketStatusSet(marketId, status, 0);
    }

    /// @inheritdoc IPerpMarket
    function delistMarket(uint256 marketId) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        Market storage m = _market(marketId);
        if (m.s.status == MarketStatus.DELISTED) revert Errors.MarketNotActive(marketId, uint8(m.s.status));
        // Settling every position for good needs a price the oracle fully trusts (as a risk-adding action).
        uint256 price = _price(m, Action.OPEN);
        _accrueFunding(marketId, m, price);
        m.s.status = MarketStatus.DELISTED;
        m.finalPrice = price.toUint96();
        emit Events.MarketStatusSet(marketId, MarketStatus.DELISTED, price);
    }

    /// @inheritdoc IPerpMarket
    function setVault(address vault_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (vault_ == address(0)) revert Errors.ZeroAddress();
        if (vault != address(0)) revert Errors.VaultAlreadySet();
        vault = vault_;
        emit Events.VaultSet(vault_);
    }

    /// @inheritdoc IPerpMarket
    function setPaused(bool paused_) external {
        _checkRole(_guardianOrAdmin(paused_));
        paused = paused_;
        emit Events.PausedSet(paused_);
    }

    /* INTERNAL: TRADING */

    function _modify(address account, uint256 marketId, int256 delta, uint256 acceptablePrice) internal {
        if (delta == 0) revert Errors.ZeroAmount();
        Market storage m = _market(marketId);
        Position storage p = _positions[account][marketId];
        int256 oldSize = p.size;
        int256 newSize = oldSize + delta;
        Action action;
        if (oldSize == 0 || (newSize != 0 && (newSize > 0) != (oldSize > 0))) action = Action.OPEN;
        else if (newSize == 0) action = Action.CLOSE;
        else if (PerpMath.abs(newSize) > PerpMath.abs(oldSize)) action = Action.INCREASE;
        else action = Action.REDUCE;
        bool addsRisk = action == Action.OPEN || action == Action.INCREASE;
        if (addsRisk) {
            if (m.s.status != MarketStatus.ACTIVE) revert Errors.MarketNotActive(marketId, uint8(m.s.status));
            if (paused) revert Errors.MarketPaused();
            uint256 owed = _owed(account);
            if (owed > 0) revert Errors.RecourseDebtOutstanding(account, owed);
        }
        uint256 price = _price(m, action);
        _trade(account, marketId, m, p, delta, price, acceptablePrice, addsRisk);
    }

    /// @dev Settles the old size at the fill price, enters the new size at it, charges the fee, and checks
    /// the account: initial margin after a risk-adding trade, solvency after the last position is closed.
    function _trade(
        address account,
        uint256 marketId,
        Market storage m,
        Position storage p,
        int256 delta,
        uint256 price,
        uint256 acceptablePrice,
        bool addsRisk
    ) internal {
        _accrueFunding(marketId, m, price);
        (uint256 fill, uint256 fee) = _fillAndFee(m, price, delta, acceptablePrice);
        int256 newSize = p.size + delta;
        int256 realised = _reposition(m, p, newSize, fill);
        if (realised > _lpCapital) realised = _payable(account, marketId, realised, _owedToPool(m.s, price));
        if (addsRisk) _checkOpenInterest(marketId, m, newSize > 0);

        realised = _book(account, marketId, newSize != 0, realised, fee);
        _checkAfterTrade(account, marketId, price, addsRisk);
        emit Events.PositionModified(account, marketId, delta, fill, fee, realised, newSize);
    }

    /// @dev Initial margin after a risk-adding trade; solvency after the last position is closed.
    function _checkAfterTrade(address account, uint256 marketId, uint256 price, bool addsRisk) internal {
        Account storage a = _accounts[account];
        if (addsRisk) {
            Risk memory r = _risk(account, a, Action.OPEN, marketId, price);
            if (r.equity < int256(r.initialMargin))
                revert Errors.InsufficientMargin(r.equity, r.initialMargin);
        } else if (a.marketsIn == 0 && a.margin < 0) {
            revert Errors.InsolventAccount(a.margin);
        }
    }

    /// @dev Books a trade: the realised PnL (already capped by _payable) and the fee against the margin, the
    /// other side against the pool and the insurance share of the fee; the account's market set.
    function _book(
        address account,
        uint256 marketId,
        bool holds,
        int256 realised,
        uint256 fee
    ) internal returns (int256 paid) {
        paid = realised;
        Account storage a = _accounts[account];
        a.margin = (a.margin + paid - int256(fee)).toInt128();
        uint16 bit = uint16(1 << marketId);
        a.marketsIn = holds ? a.marketsIn | bit : a.marketsIn & ~bit;
        uint256 toInsurance = fee.wMulDown(globalParams.insuranceFeeShare);
        _lpCapital = (_lpCapital - paid + int256(fee - toInsurance)).toInt128();
        _pendingInsurance += uint128(toInsurance);
    }

    /// @dev A realised profit is paid only as far as the pool can pay it: its capital plus `owedUsd`, what the
    /// remaining traders of the markets involved owe it net (their unrealised loss, backed by their margin; a
    /// loss beyond that margin is a deficit the waterfall takes when they are liquidated). What the pool cannot
    /// pay is withheld (ProfitHaircut, counted in totalAdlHaircut), so that it never pays a winner with other
    /// traders' margin. Losses pass unchanged.
    function _payable(
        address account,
        uint256 marketId,
        int256 realised,
        int256 owedUsd
    ) internal returns (int256) {
        uint256 available = _payCapacity(owedUsd);
        if (realised <= int256(available)) return realised;
        uint256 withheld = uint256(realised) - available;
        totalAdlHaircut += withheld;
        emit Events.ProfitHaircut(account, marketId, uint256(realised), available);
        return int256(available);
    }

    /// @dev The fill price (the final price, without fee, in a delisted market) and the fee, base units,
    /// rounded up; reverts beyond the trader's limit.
    function _fillAndFee(
        Market storage m,
        uint256 price,
        int256 delta,
        uint256 acceptablePrice
    ) internal view returns (uint256 fill, uint256 fee) {
        fill = price;
        if (m.s.status != MarketStatus.DELISTED) {
            fill = _fillPrice(m, price, delta);
            fee = _baseUp(PerpMath.abs(delta).mulDivUp(fill, WAD).wMulUp(m.params.tradingFee));
        }
        if (delta > 0 ? fill > acceptablePrice : fill < acceptablePrice) {
            revert Errors.PriceLimitExceeded(fill, acceptablePrice);
        }
    }

    /// @dev Realises the old size at `fill` and enters `newSize` at it; returns what was realised.
    function _reposition(
        Market storage m,
        Position storage p,
        int256 newSize,
        uint256 fill
    ) internal returns (int256 realised) {
        realised = _settle(m, p, fill);
        if (newSize == 0) {
            _clearPosition(p);
            return realised;
        }
        int128 index = m.s.fundingIndex;
        _addToSums(m.s, newSize, fill, index);
        (p.size, p.entryPrice, p.fundingIndex) = (newSize.toInt128(), fill.toUint128(), index);
    }

    /// @dev Realises the position's PnL and funding at `price` into nothing but the return value (the caller
    /// books it), and takes the position out of the market's sums. Zero for no position.
    function _settle(Market storage m, Position storage p, uint256 price) internal returns (int256 realised) {
        int256 size = p.size;
        if (size == 0) return 0;
        realised = _positionValue(p, price, m.s.fundingIndex);
        _removeFromSums(m.s, size, p.entryPrice, p.fundingIndex);
    }

    /// @dev Zeroes a position but keeps (and bumps) its nonce, so that its orders no longer match.
    function _clearPosition(Position storage p) internal {
        (p.size, p.entryPrice, p.fundingIndex) = (0, 0, 0);
        ++p.nonce;
    }

    function _checkOpenInterest(uint256 marketId, Market storage m, bool isLong) internal view {
        uint256 oi = isLong ? m.s.longOI : m.s.shortOI;
        uint256 cap = isLong ? m.params.maxLongOI : m.params.maxShortOI;
        if (oi > cap) revert Errors.OpenInterestCapExceeded(marketId, cap, oi);
    }

    /// @dev Checks one ADL candidate (on the winning side, in profit, in score order) and closes it; returns
    /// its score.
    function _deleverage(
        uint256 marketId,
        Market storage m,
        address account,
        uint256 price,
        bool longsWin,
        uint256 haircutRate,
        uint256 previousScore
    ) internal returns (uint256 score) {
        Position storage p = _positions[account][marketId];
        if (p.size == 0) revert Errors.NoPosition(account, marketId);
        int256 pnl = _positionValue(p, price, m.s.fundingIndex);
        if ((p.size > 0) != longsWin || pnl <= 0) revert Errors.AdlNotProfitable(account, pnl);
        score = _adlScore(_accounts[account].margin, p, price, pnl);
        if (score > previousScore) revert Errors.AdlOutOfOrder(account, score, previousScore);
        _adlClose(account, marketId, m, price, uint256(pnl), haircutRate, score);
    }

    /// @dev Closes a deleveraged position whole, paying its profit less the haircut from the pool, and never
    /// more than the pool can pay (_payCapacity): the haircut rate is computed on the side's net profit, and a
    /// side with losing positions has winners whose gross profit exceeds it.
    function _adlClose(
        address account,
        uint256 marketId,
        Market storage m,
        uint256 price,
        uint256 profit,
        uint256 haircutRate,
        uint256 score
    ) internal {
        Position memory p = _positions[account][marketId];
        _removeFromSums(m.s, p.size, p.entryPrice, p.fundingIndex);
        uint256 paid = MathLib.min(
            profit.mulDivDown(WAD - haircutRate, WAD),
            _payCapacity(_owedToPool(m.s, price))
        );
        _clearPosition(_positions[account][marketId]);
        Account storage a = _accounts[account];
        a.marketsIn &= ~uint16(1 << marketId);
        a.margin += int128(int256(paid));
        _lpCapital -= int128(int256(paid));
        totalAdlHaircut += profit - paid;
        if (a.marketsIn == 0 && a.margin < 0) {
            // Its last position is gone and its margin is negative: a deficit, down the waterfall.
            uint256 deficit = uint256(-int256(a.margin));
            a.margin = 0;
            _realiseDeficit(account, deficit);
        }
        uint256 at = PerpMath.adlPrice(p.entryPrice, price, paid, profit);
        emit Events.Deleveraged(account, marketId, p.size, at, profit, profit - paid, score);
    }

    /* INTERNAL: FUNDING AND PRICES */

    /// @dev Adds rate x price x seconds to the index (truncated toward zero). Delisted markets accrue no more.
    function _accrueFunding(uint256 marketId, Market storage m, uint256 price) internal {
        MarketState storage s = m.s;
        uint256 elapsed = block.timestamp - s.lastFundingTime;
        if (elapsed == 0 || s.status == MarketStatus.DELISTED) return;
        s.lastFundingTime = uint40(block.timestamp);
        int256 rate = _fundingRate(m);
        if (rate == 0) return;
        int256 index = s.fundingIndex + (rate * int256(elapsed) * int256(price)) / int256(WAD);
        s.fundingIndex = index.toInt128();
        emit Events.FundingAccrued(marketId, rate, index);
    }

    /// @dev The index `_accrueFunding` would produce now (for views).
    function _indexNow(Market storage m, uint256 price) internal view returns (int256) {
        MarketState storage s = m.s;
        if (s.status == MarketStatus.DELISTED) return s.fundingIndex;
        int256 elapsed = int256(block.timestamp - s.lastFundingTime);
        return s.fundingIndex + (_fundingRate(m) * elapsed * int256(price)) / int256(WAD);
    }

    /// @dev maxFundingRate x clamp(skew / skewScale, -1, 1), truncated toward zero.
    function _fundingRate(Market storage m) internal view returns (int256) {
        int256 scale = int256(uint256(m.params.skewScale));
        int256 skew = int256(uint256(m.s.longOI)) - int256(uint256(m.s.shortOI));
        if (skew > scale) skew = scale;
        if (skew < -scale) skew = -scale;
        return (int256(uint256(m.params.maxFundingRate)) * skew) / scale;
    }

    /// @dev price x (1 + (2 x skew + delta) / (2 x skewScale)), rounded up for buys and down for sells.
    function _fillPrice(Market storage m, uint256 price, int256 delta) internal view returns (uint256) {
        int256 skew = int256(uint256(m.s.longOI)) - int256(uint256(m.s.shortOI));
        int256 numerator = int256(price) * (2 * skew + delta);
        int256 denominator = 2 * int256(uint256(m.params.skewScale));
        int256 premium =
            delta > 0 ? PerpMath.ceilDiv(numerator, denominator) : PerpMath.floorDiv(numerator, denominator);
        int256 fill = int256(price) + premium;
        if (fill <= 0) revert Errors.InvalidFillPrice();
        return uint256(fill);
    }

    /// @dev The price `action` may use: the final price of a delisted market, else the oracle's (which
    /// reverts with PriceNotUsable when the policy refuses the action).
    function _price(Market storage m, Action action) internal returns (uint256 price) {
        if (m.s.status == MarketStatus.DELISTED) return m.finalPrice;
        (price, ) = oracle.priceFor(m.asset, action);
    }

    function _peek(Market storage m) internal view returns (uint256 price) {
        if (m.s.status == MarketStatus.DELISTED) return m.finalPrice;
        (price, ) = oracle.peek(m.asset);
    }

    function _peekPrices() internal view returns (uint256[MAX_MARKETS] memory prices) {
        for (uint256 i = 0; i < marketCount; ++i) prices[i] = _peek(_markets[i]);
    }

    /* INTERNAL: VALUATION */

    /// @dev PnL minus funding owed of a position at `price` and funding index `index`, base units, rounded
    /// down (toward minus infinity: against the trader).
    function _positionValue(Position storage p, uint256 price, int256 index) internal view returns (int256) {
        int256 size = p.size;
        int256 n = size * (int256(price) - int256(uint256(p.entryPrice))) - size * (index - p.fundingIndex);
        return PerpMath.floorDiv(n, _wadUnit());
    }

    /// @dev Notional, initial and maintenance margin and liquidation fee of a position, base units: the
    /// notional rounded down, the margins and fee up.
    function _margins(
        MarketParams storage pr,
        int256 size,
        uint256 price
    ) internal view returns (uint256 notional, uint256 im, uint256 mm, uint256 fee) {
        uint256 abs = PerpMath.abs(size);
        notional = abs.mulDivDown(price, WAD) / _usdPerUnit;
        uint256 growth = WAD + abs.mulDivUp(WAD, pr.marginScale);
        uint256 usd = abs.mulDivUp(price, WAD);
        im = _baseUp(usd.wMulUp(MathLib.min(uint256(pr.initialMargin).wMulUp(growth), WAD)));
        mm = _baseUp(usd.wMulUp(MathLib.min(uint256(pr.maintenanceMargin).wMulUp(growth), WAD)));
        fee = _baseUp(usd.wMulUp(pr.liquidationFee));
    }

    /// @dev USD WAD to base units, rounded up.
    function _baseUp(uint256 usd) internal view returns (uint256) {
        return usd.mulDivUp(1, _usdPerUnit);
    }

    function _addRisk(
        Risk memory r,
        Market storage m,
        Position storage p,
        uint256 price,
        int256 index
    ) internal view {
        r.equity += _positionValue(p, price, index);
        (uint256 notional, uint256 im, uint256 mm, uint256 fee) = _margins(m.params, p.size, price);
        r.notional += notional;
        r.initialMargin += im;
        r.maintenanceMargin += mm;
        r.liquidationFee += fee;
    }

    /// @dev An account's risk at prices the policy allows for `action` (the traded market's price given).
    function _risk(
        address account,
        Account storage a,
        Action action,
        uint256 knownId,
        uint256 knownPrice
    ) internal returns (Risk memory r) {
        r.equity = a.margin;
        uint256 mask = a.marketsIn;
        for (uint256 i = 0; mask >> i != 0; ++i) {
            if ((mask >> i) & 1 == 0) continue;
            Market storage m = _markets[i];
            uint256 price = i == knownId ? knownPrice : _price(m, action);
            _addRisk(r, m, _positions[account][i], price, _indexNow(m, price));
        }
    }

    /// @dev Net unrealised PnL of each side, USD WAD, from the market's sums.
    function _sidePnl(
        MarketState storage s,
        uint256 price,
        int256 index
    ) internal view returns (int256 longPnl, int256 shortPnl) {
        int256 p = int256(price);
        int256 w = int256(WAD);
        int256 longOI = int256(uint256(s.longOI));
        int256 shortOI = int256(uint256(s.shortOI));
        longPnl = (p * longOI) / w - (index * longOI) / w - s.longBasisSum;
        shortPnl = s.shortBasisSum - (p * shortOI) / w + (index * shortOI) / w;
    }

    /// @dev The pool's value (capital minus traders' net unrealised PnL, floored at zero) and what may leave
    /// it (capital minus every side's unrealised profit and the reserve on open notional), base units.
    function _lpValue(
        uint256[MAX_MARKETS] memory prices
    ) internal view returns (uint256 assets, uint256 withdrawable) {
        int256 capital = int256(_lpCapital) * int256(_usdPerUnit);
        int256 netPnl;
        uint256 claims;
        uint256 notional;
        for (uint256 i = 0; i < marketCount; ++i) {
            Market storage m = _markets[i];
            if (m.s.longOI == 0 && m.s.shortOI == 0) continue;
            (int256 longPnl, int256 shortPnl) = _sidePnl(m.s, prices[i], _indexNow(m, prices[i]));
            uint256 impact = _exitImpact(m, prices[i]);
            netPnl += longPnl + shortPnl + int256(impact);
            claims += PerpMath.positivePart(longPnl) + PerpMath.positivePart(shortPnl) + impact;
            notional += uint256(m.s.longOI + m.s.shortOI).mulDivUp(prices[i], WAD);
        }
        int256 reserved = int256(claims + notional.wMulUp(globalParams.lpReserveFactor));
        assets = PerpMath.positivePart(capital - netPnl) / _usdPerUnit;
        withdrawable = PerpMath.positivePart(capital - reserved) / _usdPerUnit;
    }

    /// @dev What the pool can pay out, base units: its capital plus `owedUsd` (USD WAD) when positive, rounded
    /// down, never below zero.
    function _payCapacity(int256 owedUsd) internal view returns (uint256) {
        return PerpMath.positivePart(_lpCapital + int256(PerpMath.positivePart(owedUsd) / _usdPerUnit));
    }

    /// @dev What a market's traders owe the pool net at `price` (minus their net unrealised PnL), USD WAD.
    function _owedToPool(MarketState storage s, uint256 price) internal view returns (int256) {
        (int256 longPnl, int256 shortPnl) = _sidePnl(s, price, s.fundingIndex);
        return -(longPnl + shortPnl);
    }

    /// @dev _owedToPool summed over the markets of `mask`.
    function _owedToPoolIn(
        uint256 mask,
        uint256[MAX_MARKETS] memory prices
    ) internal view returns (int256 owed) {
        for (uint256 i = 0; mask >> i != 0; ++i) {
            if ((mask >> i) & 1 != 0) owed += _owedToPool(_markets[i].s, prices[i]);
        }
    }

    /// @dev What the traders of a market would get back from the price impact if they closed the whole skew
    /// now, USD WAD, rounded up: skew^2 x price / (2 x skewScale). Positions are marked at the oracle price, but
    /// their entry already paid the impact that closing would return, so the pool must not count it as its
    /// own (or a trader could inflate the share price with a large open and take it back on close).
    function _exitImpact(Market storage m, uint256 price) internal view returns (uint256) {
        if (m.s.status == MarketStatus.DELISTED) return 0;
        uint256 skew = PerpMath.abs(int256(uint256(m.s.longOI)) - int256(uint256(m.s.shortOI)));
        return skew.mulDivUp(skew, 2 * uint256(m.params.skewScale)).mulDivUp(price, WAD);
    }

    /// @dev ADL state of a market: which side wins, and the haircut rate (WAD) its profits get, both measured
    /// against what the pool can pay them (its capital plus the losing side's net loss); a haircut
    /// rate of type(uint256).max means ADL is not triggered (reverts instead when `mustTrigger`).
    function _adlState(
        uint256 marketId,
        Market storage m,
        uint256 price,
        bool mustTrigger
    ) internal view returns (bool longsWin, uint256 haircutRate) {
        (int256 longPnl, int256 shortPnl) = _sidePnl(m.s, price, m.s.fundingIndex);
        longsWin = longPnl >= shortPnl;
        int256 profit = longsWin ? longPnl : shortPnl;
        // What the pool can pay the winners: its capital plus what the losing side owes it.
        uint256 capital = _payCapacity(-(longsWin ? shortPnl : longPnl)) * _usdPerUnit;
        uint256 limit = capital.wMulDown(m.params.adlPnlFactor);
        if (profit <= int256(limit)) {
            if (mustTrigger) revert Errors.AdlNotTriggered(marketId, profit, limit);
            return (longsWin, type(uint256).max);
        }
        // The pool pays each deleveraged winner capital / profit of its profit, when it cannot pay them all.
        haircutRate = uint256(profit) > capital ? WAD - capital.mulDivDown(WAD, uint256(profit)) : 0;
    }

    /// @dev PnL / entry notional x notional / (margin + pnl), WAD; max when that equity is not positive.
    function _adlScore(
        int256 margin,
        Position storage p,
        uint256 price,
        int256 pnl
    ) internal view returns (uint256) {
        int256 equity = margin + pnl;
        if (equity <= 0) return type(uint256).max;
        uint256 abs = PerpMath.abs(p.size);
        uint256 entryNotional = abs.mulDivUp(p.entryPrice, WAD);
        uint256 notional = abs.mulDivDown(price, WAD);
        uint256 pnlUsd = uint256(pnl) * _usdPerUnit;
        uint256 equityUsd = uint256(equity) * _usdPerUnit;
        return pnlUsd.mulDivDown(WAD, entryNotional).mulDivDown(notional, equityUsd);
    }

    /* INTERNAL: SUMS */

    function _addToSums(MarketState storage s, int256 size, uint256 entry, int256 index) internal {
        uint256 abs = PerpMath.abs(size);
        int128 basisPart = _basisPart(abs, entry, index).toInt128();
        if (size > 0) {
            s.longOI = (s.longOI + abs).toUint128();
            s.longBasisSum += basisPart;
        } else {
            s.shortOI = (s.shortOI + abs).toUint128();
            s.shortBasisSum += basisPart;
        }
    }

    function _removeFromSums(MarketState storage s, int256 size, uint256 entry, int256 index) internal {
        uint256 abs = PerpMath.abs(size);
        int128 basisPart = int128(_basisPart(abs, entry, index));
        if (size > 0) {
            s.longOI -= uint128(abs);
            s.longBasisSum -= basisPart;
        } else {
            s.shortOI -= uint128(abs);
            s.shortBasisSum -= basisPart;
        }
    }

    /// @dev A position's share of its side's basis sum: |size| x entry / WAD (down) - |size| x index / WAD
    /// (toward zero), the same terms the position's own value uses.
    function _basisPart(uint256 abs, uint256 entry, int256 index) internal pure returns (int256) {
        return int256(abs.mulDivDown(entry, WAD)) - (int256(abs) * index) / int256(WAD);
    }

    /* INTERNAL: DEFICITS AND HELPERS */

    /// @dev The waterfall: pending insurance fees, the insurance fund, then the pool.
    function _realiseDeficit(address account, uint256 deficit) internal {
        LossWaterfall.Outcome memory o = LossWaterfall.run(
            _badDebt,
            insuranceFund,
            negativeBalancePolicy,
            account,
            deficit,
            _pendingInsurance
        );
        _pendingInsurance -= uint128(o.fromReserves);
        _lpCapital -= int128(int256(o.socialised));
    }

    function _market(uint256 marketId) internal view returns (Market storage m) {
        m = _markets[marketId];
        if (m.asset == address(0)) revert Errors.MarketNotListed(marketId);
    }

    /// @dev WAD x USD WAD per base unit: divides size x price to base units.
    function _wadUnit() internal view returns (int256) {
        return int256(WAD * _usdPerUnit);
    }

    function _owed(address account) internal view returns (uint256) {
        if (negativeBalancePolicy != NegativeBalancePolicy.RECOURSE) return 0;
        return insuranceFund.recourseDebt(account);
    }

    function _guardianOrAdmin(bool guardianMay) internal view returns (bytes32) {
        return
            guardianMay && hasRole(PAUSE_GUARDIAN_ROLE, msg.sender)
                ? PAUSE_GUARDIAN_ROLE
                : DEFAULT_ADMIN_ROLE;
    }

    function _setMarketParams(uint256 marketId, Market storage m, MarketParams memory p) internal {
        PerpParams.checkMarket(p);
        m.params = p;
        emit Events.PerpMarketParamsSet(marketId, p);
    }

    function _setGlobalParams(GlobalParams memory g) internal {
        PerpParams.checkGlobal(g, WAD / _usdPerUnit);
        globalParams = g;
        emit Events.PerpGlobalParamsSet(g);
    }
}
