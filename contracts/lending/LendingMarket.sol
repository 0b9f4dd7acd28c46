// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IInsuranceFund} from "../interfaces/IInsuranceFund.sol";
import {ILendingMarket} from "../interfaces/ILendingMarket.sol";
import {IOracleRouter} from "../interfaces/IOracleRouter.sol";
import {IRateModel} from "../interfaces/IRateModel.sol";
import {Bounds} from "../libraries/Bounds.sol";
import {Errors} from "../libraries/Errors.sol";
import {Events} from "../libraries/Events.sol";
import {MathLib} from "../libraries/MathLib.sol";
import {Action, PriceStatus} from "../libraries/OracleTypes.sol";
import {BadDebtTotals, NegativeBalancePolicy} from "../libraries/RiskTypes.sol";
import {SharesMath} from "../libraries/SharesMath.sol";
import {LossWaterfall} from "../risk/LossWaterfall.sol";

/// @title LendingMarket
/// @notice See ILendingMarket.
contract LendingMarket is ILendingMarket, AccessControl, ReentrancyGuardTransient {
    using MathLib for uint256;
    using SharesMath for uint256;
    using SafeERC20 for IERC20;

    /* CONSTANTS */

    bytes32 public constant PAUSE_GUARDIAN_ROLE = keccak256("PAUSE_GUARDIAN_ROLE");
    uint256 internal constant WAD = 1e18;
    /// @notice Collaterals per market (an account's set of collaterals is a 16-bit mask).
    uint256 public constant MAX_COLLATERALS = 16;
    /// @notice Below this health a liquidation may repay the whole debt.
    uint256 public constant FULL_CLOSE_HEALTH = 0.95e18;
    /// @notice Share of the debt a liquidation may repay above FULL_CLOSE_HEALTH.
    uint256 public constant CLOSE_FACTOR = 0.5e18;
    uint256 public constant MAX_LIQUIDATION_THRESHOLD = 0.98e18;
    uint256 public constant MAX_LIQUIDATION_BONUS = 0.25e18;
    uint256 public constant MAX_RESERVE_FACTOR = 0.5e18;
    /// @notice Highest borrow rate the market applies, per second (1300% a year: the kinked model's maximum).
    uint256 public constant MAX_BORROW_RATE = uint256(13e18) / 365 days + 1;

    /* IMMUTABLES */

    IERC20 public immutable baseToken;
    IOracleRouter public immutable oracle;
    IInsuranceFund public immutable insuranceFund;
    NegativeBalancePolicy public immutable negativeBalancePolicy;
    /// @dev 10^baseDecimals: base units per whole token.
    uint256 internal immutable _baseUnit;

    /* STORAGE */

    struct Totals {
        uint128 supplyAssets;
        uint128 supplyShares;
        uint128 borrowAssets;
        uint128 borrowShares;
        uint128 reserves;
        uint40 lastAccrual;
    }

    struct Account {
        uint128 supplyShares;
        uint112 borrowShares;
        uint16 assetsIn; // bit i: holds collateral i
    }

    struct Collateral {
        address token;
        uint8 decimals;
        uint64 ltv;
        uint64 liquidationThreshold;
        uint64 liquidationBonus;
        uint128 supplyCap;
        uint128 totalSupplied;
    }

    /// A collateral's value at the current price, for one health computation.
    struct Valuation {
        uint256 borrowCapacity;
        uint256 liquidationCapacity;
        uint256 collateralValue;
        uint256 price; // of the collateral asked for, if any
        bool allOk;
    }

    Totals internal _totals;
    mapping(address account => Account) internal _accounts;
    mapping(address account => mapping(uint256 index => uint256)) internal _collateral;
    mapping(uint256 index => Collateral) internal _collaterals;
    uint256 internal _collateralCount;
    mapping(address token => uint256) internal _indexPlusOne;
    MarketParams public params;
    BadDebtTotals internal _badDebt;
    IRateModel public rateModel;
    bool public paused;

    constructor(
        address admin,
        IERC20 baseToken_,
        IOracleRouter oracle_,
        IInsuranceFund insuranceFund_,
        IRateModel rateModel_,
        NegativeBalancePolicy policy,
        MarketParams memory params_
    ) {
        if (
            admin == address(0) ||
            address(baseToken_) == address(0) ||
            address(oracle_) == address(0) ||
            address(insuranceFund_) == address(0) ||
            address(rateModel_) == address(0)
        ) revert Errors.ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        baseToken = baseToken_;
        oracle = oracle_;
        insuranceFund = insuranceFund_;
        negativeBalancePolicy = policy;
        _baseUnit = 10 ** IERC20Metadata(address(baseToken_)).decimals();
        rateModel = rateModel_;
        _totals.lastAccrual = uint40(block.timestamp);
        _setMarketParams(params_);
        emit Events.RateModelSet(address(rateModel_));
        // The fund pulls recourse repayments from the market.
        baseToken_.forceApprove(address(insuranceFund_), type(uint256).max);
    }

    /* SUPPLIERS */

    /// @inheritdoc ILendingMarket
    function supply(uint256 assets, address onBehalf) external nonReentrant returns (uint256 shares) {
        if (assets == 0) revert Errors.ZeroAmount();
        if (onBehalf == address(0)) revert Errors.ZeroAddress();
        SafeCast.toUint128(assets); // SafeCastOverflowedUintDowncast, not an arithmetic panic, for absurd amounts
        _accrue();
        uint256 toDebt = MathLib.min(_owed(onBehalf), assets);
        uint256 supplied = assets - toDebt;
        if (supplied > 0) {
            Totals storage t = _totals;
            shares = supplied.toSharesDown(t.supplyAssets, t.supplyShares);
            if (shares == 0) revert Errors.ZeroShares();
            t.supplyAssets += uint128(supplied);
            t.supplyShares = SafeCast.toUint128(t.supplyShares + shares);
            _accounts[onBehalf].supplyShares += uint128(shares);
            emit Events.Supply(msg.sender, onBehalf, supplied, shares);
        }
        baseToken.safeTransferFrom(msg.sender, address(this), assets);
        if (toDebt > 0) insuranceFund.repayRecourse(onBehalf, toDebt);
    }

    /// @inheritdoc ILendingMarket
    function withdraw(uint256 assets, address receiver) external nonReentrant returns (uint256 shares) {
        if (assets == 0) revert Errors.ZeroAmount();
        if (receiver == address(0)) revert Errors.ZeroAddress();
        _accrue();
        Totals storage t = _totals;
        Account storage a = _accounts[msg.sender];
        if (assets == type(uint256).max) {
            shares = a.supplyShares;
            assets = shares.toAssetsDown(t.supplyAssets, t.supplyShares);
            if (assets == 0) revert Errors.ZeroAmount();
        } else {
            SafeCast.toUint128(assets);
            shares = assets.toSharesUp(t.supplyAssets, t.supplyShares);
        }
        if (shares > a.supplyShares) revert Errors.InsufficientShares(shares, a.supplyShares);
        uint256 available = _cash(t);
        if (assets > available) revert Errors.InsufficientLiquidity(assets, available);

        a.supplyShares -= uint128(shares);
        t.supplyShares -= uint128(shares);
        t.supplyAssets -= uint128(assets);
        uint256 toDebt = MathLib.min(_owed(msg.sender), assets);
        emit Events.Withdraw(msg.sender, receiver, assets, shares);

        if (assets > toDebt) baseToken.safeTransfer(receiver, assets - toDebt);
        if (toDebt > 0) insuranceFund.repayRecourse(msg.sender, toDebt);
    }

    /* BORROWERS */

    /// @inheritdoc ILendingMarket
    function supplyCollateral(address token, uint256 amount, address onBehalf) external nonReentrant {
        if (amount == 0) revert Errors.ZeroAmount();
        if (onBehalf == address(0)) revert Errors.ZeroAddress();
        uint256 index = _index(token);
        Collateral storage c = _collaterals[index];
        uint256 total = c.totalSupplied + SafeCast.toUint128(amount);
        if (total > c.supplyCap) revert Errors.SupplyCapExceeded(token, c.supplyCap, total);

        c.totalSupplied = uint128(total);
        _collateral[onBehalf][index] += amount;
        Account storage a = _accounts[onBehalf];
        uint16 bit = uint16(1 << index);
        if (a.assetsIn & bit == 0) a.assetsIn |= bit;
        emit Events.SupplyCollateral(msg.sender, onBehalf, token, amount);

        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc ILendingMarket
    function withdrawCollateral(address token, uint256 amount, address receiver) external nonReentrant {
        if (amount == 0) revert Errors.ZeroAmount();
        if (receiver == address(0)) revert Errors.ZeroAddress();
        _whenNotPausedAndNotOwing(msg.sender);
        uint256 index = _index(token);
        uint256 balance = _collateral[msg.sender][index];
        if (amount > balance) revert Errors.InsufficientCollateral(amount, balance);
        _accrue();

        _collateral[msg.sender][index] = balance - amount;
        _collaterals[index].totalSupplied -= uint128(amount);
        Account storage a = _accounts[msg.sender];
        if (balance == amount) a.assetsIn &= ~uint16(1 << index);
        if (a.borrowShares > 0) _checkBorrowCapacity(msg.sender, a, Action.WITHDRAW_COLLATERAL);
        emit Events.WithdrawCollateral(msg.sender, receiver, token, amount);

        IERC20(token).safeTransfer(receiver, amount);
    }

    /// @inheritdoc ILendingMarket
    function borrow(uint256 assets, address receiver) external nonReentrant returns (uint256 shares) {
        if (assets == 0) revert Errors.ZeroAmount();
        if (receiver == address(0)) revert Errors.ZeroAddress();
        _whenNotPausedAndNotOwing(msg.sender);
        _accrue();
        Totals storage t = _totals;
        uint256 available = _cash(t);
        if (assets > available) revert Errors.InsufficientLiquidity(assets, available);
        shares = assets.toSharesUp(t.borrowAssets, t.borrowShares);
        Account storage a = _accounts[msg.sender];
        uint256 borrowAssets = t.borrowAssets + assets;
        uint256 borrowShares = t.borrowShares + shares;
        if (borrowAssets > params.borrowCap) revert Errors.BorrowCapExceeded(params.borrowCap, borrowAssets);
        uint256 accountShares = a.borrowShares + shares;
        uint256 debt = accountShares.toAssetsUp(borrowAssets, borrowShares);
        if (debt < params.minBorrow) revert Errors.BelowMinBorrow(debt, params.minBorrow);

        t.borrowAssets = uint128(borrowAssets);
        t.borrowShares = uint128(borrowShares);
        a.borrowShares = SafeCast.toUint112(accountShares);
        _checkBorrowCapacity(msg.sender, a, Action.BORROW);
        emit Events.Borrow(msg.sender, receiver, assets, shares);

        baseToken.safeTransfer(receiver, assets);
    }

    /// @inheritdoc ILendingMarket
    function repay(uint256 assets, address onBehalf) external nonReentrant returns (uint256 repaid) {
        if (assets == 0) revert Errors.ZeroAmount();
        if (onBehalf == address(0)) revert Errors.ZeroAddress();
        _accrue();
        Account storage a = _accounts[onBehalf];
        if (a.borrowShares == 0) revert Errors.NothingToRepay(onBehalf);
        uint256 shares;
        (repaid, shares) = _repayShares(a.borrowShares, assets);

        _burnDebt(a, shares, repaid);
        emit Events.Repay(msg.sender, onBehalf, repaid, shares);

        baseToken.safeTransferFrom(msg.sender, address(this), repaid);
    }

    /* LIQUIDATION */

    /// @inheritdoc ILendingMarket
    function liquidate(
        address borrower,
        address token,
        uint256 maxRepay
    ) external nonReentrant returns (uint256 repaid, uint256 seized) {
        if (maxRepay == 0) revert Errors.ZeroAmount();
        uint256 index = _index(token);
        uint256 balance = _collateral[borrower][index];
        if (balance == 0) revert Errors.NoCollateral(borrower, token);
        _accrue();

        Account storage a = _accounts[borrower];
        uint256 shares;
        uint256 fee;
        (repaid, seized, shares, fee) = _liquidation(borrower, a, index, balance, maxRepay);

        _collateral[borrower][index] = balance - seized;
        _collaterals[index].totalSupplied -= uint128(seized);
        if (balance == seized) a.assetsIn &= ~uint16(1 << index);
        _burnDebt(a, shares, repaid);
        _totals.reserves += uint128(fee);
        emit Events.Liquidate(msg.sender, borrower, token, repaid, seized, fee);
        // Nothing left to seize: what is still owed is a deficit, settled now.
        if (a.assetsIn == 0 && a.borrowShares > 0) _realiseDeficit(borrower, a);

        baseToken.safeTransferFrom(msg.sender, address(this), repaid + fee);
        IERC20(token).safeTransfer(msg.sender, seized);
    }

    /// @dev The amounts of one liquidation: checks the borrower is unhealthy at prices the policy allows for
    /// LIQUIDATE, caps the repayment by the close factor, and prices the seizure (see `liquidate`).
    function _liquidation(
        address borrower,
        Account storage a,
        uint256 index,
        uint256 balance,
        uint256 maxRepay
    ) internal returns (uint256 repaid, uint256 seized, uint256 shares, uint256 fee) {
        Totals storage t = _totals;
        uint256 debt = uint256(a.borrowShares).toAssetsUp(t.borrowAssets, t.borrowShares);
        Valuation memory v = _value(borrower, a.assetsIn, Action.LIQUIDATE, index);
        if (v.liquidationCapacity >= debt)
            revert Errors.NotLiquidatable(_health(v.liquidationCapacity, debt));

        Collateral storage c = _collaterals[index];
        // The bonus never takes a solvent account below zero: it is capped at what the account's equity
        // pays for (collateral value / debt). An insolvent account pays the full bonus: clearing bad debt
        // must stay worth a liquidator's while, and the waterfall meets the cost.
        uint256 bonusFactor = WAD + c.liquidationBonus;
        if (v.collateralValue > debt)
            bonusFactor = MathLib.min(bonusFactor, v.collateralValue.wDivDown(debt));
        repaid = MathLib.min(maxRepay, _maxClose(v.liquidationCapacity, debt));
        (repaid, seized) = _seizure(c, v.price, repaid, balance, bonusFactor);
        // An insolvent account is cleared collateral by collateral: no dust may be left behind to keep the
        // deficit off the books.
        if (v.collateralValue < debt && seized < balance) {
            revert Errors.InsolventMustSeizeAll(
                balance.mulDivUp(v.price, _scale(c.decimals)).wDivUp(bonusFactor)
            );
        }
        (repaid, shares) = _repayShares(a.borrowShares, repaid);
        fee = repaid.wMulUp(bonusFactor - WAD).wMulUp(params.protocolShare);
    }

    /// @dev Collateral worth `repaid` x bonusFactor at `price`, rounded down; capped at `balance`, in which
    /// case the repayment is what that collateral pays for, rounded up.
    function _seizure(
        Collateral storage c,
        uint256 price,
        uint256 repaid,
        uint256 balance,
        uint256 bonusFactor
    ) internal view returns (uint256, uint256 seized) {
        uint256 scale = _scale(c.decimals);
        seized = repaid.wMulDown(bonusFactor).mulDivDown(scale, price);
        if (seized > balance) {
            seized = balance;
            repaid = balance.mulDivUp(price, scale).wDivUp(bonusFactor);
        }
        if (seized == 0) revert Errors.ZeroAmount();
        return (repaid, seized);
    }

    /* KEEPERS */

    /// @inheritdoc ILendingMarket
    function accrueInterest() external nonReentrant {
        _accrue();
    }

    /// @inheritdoc ILendingMarket
    function sweepReserves() external nonReentrant returns (uint256 swept) {
        _accrue();
        Totals storage t = _totals;
        swept = MathLib.min(t.reserves, _cash(t));
        if (swept == 0) return 0;
        t.reserves -= uint128(swept);
        emit Events.ReservesSwept(swept);
        insuranceFund.topUp(swept);
    }

    /// @inheritdoc ILendingMarket
    function checkMarginCall(address account) external nonReentrant returns (uint256 health) {
        _accrue();
        Account storage a = _accounts[account];
        Totals storage t = _totals;
        uint256 debt = uint256(a.borrowShares).toAssetsUp(t.borrowAssets, t.borrowShares);
        if (debt == 0) return type(uint256).max;
        Valuation memory v = _peekValue(account, a.assetsIn);
        health = _health(v.liquidationCapacity, debt);
        // A warning is only as good as its prices: none on a price that is not OK.
        if (v.allOk) _marginCall(account, health);
    }

    /* VIEWS */

    /// @inheritdoc ILendingMarket
    function accountView(address account) external view returns (AccountView memory r) {
        Account memory a = _accounts[account];
        Totals memory t = _accruedTotals();
        r.supplyShares = a.supplyShares;
        r.supplyAssets = uint256(a.supplyShares).toAssetsDown(t.supplyAssets, t.supplyShares);
        r.borrowShares = a.borrowShares;
        r.debt = uint256(a.borrowShares).toAssetsUp(t.borrowAssets, t.borrowShares);
        Valuation memory v = _peekValue(account, a.assetsIn);
        r.collateralValue = v.collateralValue;
        r.borrowCapacity = v.borrowCapacity;
        r.liquidationCapacity = v.liquidationCapacity;
        r.health = _health(v.liquidationCapacity, r.debt);
        r.pricesTrusted = v.allOk;
    }

    /// @inheritdoc ILendingMarket
    function collateralOf(address account, address token) external view returns (uint256) {
        return _collateral[account][_index(token)];
    }

    /// @inheritdoc ILendingMarket
    function totals() external view returns (uint256, uint256, uint256, uint256, uint256) {
        Totals memory t = _totals;
        return (t.supplyAssets, t.supplyShares, t.borrowAssets, t.borrowShares, t.reserves);
    }

    /// @inheritdoc ILendingMarket
    function utilisation() public view returns (uint256) {
        return _utilisation(_totals.borrowAssets, _totals.supplyAssets);
    }

    /// @inheritdoc ILendingMarket
    function badDebt() external view returns (BadDebtTotals memory) {
        return _badDebt;
    }

    /// @inheritdoc ILendingMarket
    function collateralTokens() external view returns (address[] memory tokens) {
        tokens = new address[](_collateralCount);
        for (uint256 i = 0; i < tokens.length; ++i) tokens[i] = _collaterals[i].token;
    }

    /// @notice A listed collateral's parameters and total deposits.
    function collateralConfig(address token) external view returns (Collateral memory) {
        return _collaterals[_index(token)];
    }

    /* ADMIN */

    /// @inheritdoc ILendingMarket
    function listCollateral(
        address token,
        CollateralParams calldata p,
        uint256 probeAmount
    ) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        if (token == address(0)) revert Errors.ZeroAddress();
        if (_indexPlusOne[token] != 0 || token == address(baseToken))
            revert Errors.CollateralAlreadyListed(token);
        uint256 index = _collateralCount;
        if (index == MAX_COLLATERALS) revert Errors.TooManyCollaterals(MAX_COLLATERALS);
        if (!oracle.isListed(token)) revert Errors.AssetNotListed(token);
        uint8 decimals = _decimals(token);
        if (probeAmount == 0) revert Errors.ZeroAmount();

        _collateralCount = index + 1;
        _indexPlusOne[token] = index + 1;
        Collateral storage c = _collaterals[index];
        c.token = token;
        c.decimals = decimals;
        _setCollateralParams(c, p);
        emit Events.CollateralListed(token, index, decimals);

        // Fee-on-transfer probe: exactly what is sent must arrive.
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), probeAmount);
        uint256 received = IERC20(token).balanceOf(address(this)) - before;
        if (received != probeAmount) revert Errors.FeeOnTransfer(token, probeAmount, received);
        IERC20(token).safeTransfer(msg.sender, probeAmount);
    }

    /// @inheritdoc ILendingMarket
    function setCollateralParams(
        address token,
        CollateralParams calldata p
    ) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setCollateralParams(_collaterals[_index(token)], p);
    }

    /// @inheritdoc ILendingMarket
    function setMarketParams(MarketParams calldata p) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        // Interest to now is split at the old reserve factor.
        _accrue();
        _setMarketParams(p);
    }

    /// @inheritdoc ILendingMarket
    function setRateModel(address rateModel_) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        if (rateModel_ == address(0)) revert Errors.ZeroAddress();
        _accrue();
        rateModel = IRateModel(rateModel_);
        emit Events.RateModelSet(rateModel_);
    }

    /// @inheritdoc ILendingMarket
    function setPaused(bool paused_) external {
        bytes32 role =
            paused_ && hasRole(PAUSE_GUARDIAN_ROLE, msg.sender) ? PAUSE_GUARDIAN_ROLE : DEFAULT_ADMIN_ROLE;
        _checkRole(role);
        paused = paused_;
        emit Events.PausedSet(paused_);
    }

    /* INTERNAL: INTEREST */

    /// @dev Simple interest since the last accrual, compounded at each accrual: interest =
    /// borrowAssets x rate x dt, rounded up; reserveFactor of it (rounded down) goes to reserves, the rest
    /// to suppliers.
    function _accrue() internal {
        Totals storage t = _totals;
        uint256 elapsed = block.timestamp - t.lastAccrual;
        if (elapsed == 0) return;
        t.lastAccrual = uint40(block.timestamp);
        uint256 borrowAssets = t.borrowAssets;
        if (borrowAssets == 0) return;
        (uint256 rate, uint256 interest, uint256 toReserves) = _interest(
            borrowAssets,
            t.supplyAssets,
            elapsed
        );
        t.borrowAssets = uint128(borrowAssets + interest);
        t.supplyAssets += uint128(interest - toReserves);
        t.reserves += uint128(toReserves);
        emit Events.AccrueInterest(rate, interest, toReserves);
    }

    /// @dev The totals `_accrue` would produce now (for views).
    function _accruedTotals() internal view returns (Totals memory t) {
        t = _totals;
        uint256 elapsed = block.timestamp - t.lastAccrual;
        if (elapsed == 0 || t.borrowAssets == 0) return t;
        (, uint256 interest, uint256 toReserves) = _interest(t.borrowAssets, t.supplyAssets, elapsed);
        t.borrowAssets += uint128(interest);
        t.supplyAssets += uint128(interest - toReserves);
        t.reserves += uint128(toReserves);
    }

    /// @dev Interest on `borrowAssets` over `elapsed` seconds, rounded up, and the reserves' part of it,
    /// rounded down.
    function _interest(
        uint256 borrowAssets,
        uint256 supplyAssets,
        uint256 elapsed
    ) internal view returns (uint256 rate, uint256 interest, uint256 toReserves) {
        rate = _borrowRate(borrowAssets, supplyAssets);
        interest = borrowAssets.wMulUp(rate * elapsed);
        toReserves = interest.wMulDown(params.reserveFactor);
    }

    /// @dev The rate model's rate, capped at MAX_BORROW_RATE; zero if the model reverts, so that a broken
    /// model can never stop repayments and liquidations (the admin replaces it).
    function _borrowRate(uint256 borrowAssets, uint256 supplyAssets) internal view returns (uint256) {
        try rateModel.borrowRatePerSecond(_utilisation(borrowAssets, supplyAssets)) returns (uint256 rate) {
            return MathLib.min(rate, MAX_BORROW_RATE);
        } catch {
            return 0;
        }
    }

    function _utilisation(uint256 borrowAssets, uint256 supplyAssets) internal pure returns (uint256) {
        if (borrowAssets == 0) return 0;
        if (borrowAssets >= supplyAssets) return WAD;
        return borrowAssets.wDivDown(supplyAssets);
    }

    /* INTERNAL: HEALTH */

    /// @dev Values an account's collateral at prices the policy allows for `action` (the oracle reverts
    /// otherwise), rounding every value down. `priceOf` names a collateral index whose price to return
    /// (MAX_COLLATERALS for none).
    function _value(
        address account,
        uint256 assetsIn,
        Action action,
        uint256 priceOf
    ) internal returns (Valuation memory v) {
        for (uint256 i = 0; assetsIn != 0; ++i) {
            if (assetsIn & 1 == 1) {
                Collateral storage c = _collaterals[i];
                (uint256 price, PriceStatus status) = oracle.price(c.token);
                if (status != PriceStatus.OK && !oracle.isAllowed(status, action)) {
                    // A collateral that is not being seized must not shield the account from liquidation
                    // when its own feed fails (1 wei of it would do): it counts at a high estimate, which
                    // can only overstate health. Anything else needs a price the policy allows.
                    if (action != Action.LIQUIDATE || i == priceOf) {
                        revert Errors.PriceNotUsable(c.token, action, status);
                    }
                    price = _highEstimate(c.token, price);
                }
                _addValue(v, c, _collateral[account][i], price);
                if (i == priceOf) v.price = price;
            }
            assetsIn >>= 1;
        }
    }

    /// @dev max(price, last good price) x (1 + the asset's maxDeviation), rounded up.
    function _highEstimate(address token, uint256 price) internal view returns (uint256) {
        (uint256 lastGood, ) = oracle.lastGoodPrice(token);
        return MathLib.max(price, lastGood).wMulUp(WAD + oracle.assetConfig(token).maxDeviation);
    }

    /// @dev `_value` from `peek`: the oracle's current view, whatever its status (for views only).
    function _peekValue(address account, uint256 assetsIn) internal view returns (Valuation memory v) {
        v.allOk = true;
        for (uint256 i = 0; assetsIn != 0; ++i) {
            if (assetsIn & 1 == 1) {
                Collateral storage c = _collaterals[i];
                (uint256 price, PriceStatus status) = oracle.peek(c.token);
                if (status != PriceStatus.OK) v.allOk = false;
                _addValue(v, c, _collateral[account][i], price);
            }
            assetsIn >>= 1;
        }
    }

    function _addValue(
        Valuation memory v,
        Collateral storage c,
        uint256 amount,
        uint256 price
    ) internal view {
        uint256 value = amount.mulDivDown(price, _scale(c.decimals));
        v.collateralValue += value;
        v.borrowCapacity += value.wMulDown(c.ltv);
        v.liquidationCapacity += value.wMulDown(c.liquidationThreshold);
    }

    /// @dev Reverts unless the account's debt fits its borrow capacity; emits MarginCall below the warning.
    function _checkBorrowCapacity(address account, Account storage a, Action action) internal {
        Totals storage t = _totals;
        uint256 debt = uint256(a.borrowShares).toAssetsUp(t.borrowAssets, t.borrowShares);
        Valuation memory v = _value(account, a.assetsIn, action, MAX_COLLATERALS);
        if (debt > v.borrowCapacity) revert Errors.InsufficientBorrowCapacity(debt, v.borrowCapacity);
        _marginCall(account, _health(v.liquidationCapacity, debt));
    }

    function _marginCall(address account, uint256 health) internal {
        uint256 warning = params.marginCallHealth;
        if (health < warning) emit Events.MarginCall(account, health, warning);
    }

    function _health(uint256 liquidationCapacity, uint256 debt) internal pure returns (uint256) {
        if (debt == 0) return type(uint256).max;
        return liquidationCapacity.wDivDown(debt);
    }

    /// @dev The largest repayment one liquidation may make: the whole debt below FULL_CLOSE_HEALTH or for a
    /// small position, else CLOSE_FACTOR of it (rounded up).
    function _maxClose(uint256 liquidationCapacity, uint256 debt) internal view returns (uint256) {
        if (debt <= params.smallPosition || _health(liquidationCapacity, debt) < FULL_CLOSE_HEALTH)
            return debt;
        return debt.wMulUp(CLOSE_FACTOR);
    }

    /// @dev 10^(collateral decimals + 18 - base decimals): collateral units x WAD price / scale = base units.
    function _scale(uint8 decimals) internal view returns (uint256) {
        return (10 ** uint256(decimals) * WAD) / _baseUnit;
    }

    /* INTERNAL: DEBT AND DEFICITS */

    /// @dev What repaying up to `assets` of a debt of `borrowShares` costs and burns: all of it when
    /// `assets` covers the debt (rounded up), else shares rounded down.
    function _repayShares(
        uint256 borrowShares,
        uint256 assets
    ) internal view returns (uint256 repaid, uint256 shares) {
        Totals storage t = _totals;
        uint256 debt = borrowShares.toAssetsUp(t.borrowAssets, t.borrowShares);
        if (assets >= debt) return (debt, borrowShares);
        shares = assets.toSharesDown(t.borrowAssets, t.borrowShares);
        if (shares == 0) revert Errors.ZeroShares();
        return (assets, shares);
    }

    function _burnDebt(Account storage a, uint256 shares, uint256 assets) internal {
        Totals storage t = _totals;
        a.borrowShares -= uint112(shares);
        t.borrowShares -= uint128(shares);
        t.borrowAssets = uint128(uint256(t.borrowAssets).zeroFloorSub(assets));
        if (t.borrowShares == 0 && t.borrowAssets > 0) _writeOffDust(t);
    }

    /// @dev With no borrow shares left, what remains of borrowAssets is rounding owed by nobody (the virtual
    /// shares' part): it leaves the books against reserves first, then suppliers, so that no interest
    /// accrues on it.
    function _writeOffDust(Totals storage t) internal {
        uint256 dust = t.borrowAssets;
        t.borrowAssets = 0;
        uint256 fromReserves = MathLib.min(dust, t.reserves);
        t.reserves -= uint128(fromReserves);
        t.supplyAssets = uint128(uint256(t.supplyAssets).zeroFloorSub(dust - fromReserves));
        emit Events.DebtDustWrittenOff(dust);
    }

    /// @dev The borrower has no collateral left: its remaining debt leaves the books and goes down the
    /// waterfall (reserves, insurance fund, then suppliers' haircut).
    function _realiseDeficit(address borrower, Account storage a) internal {
        Totals storage t = _totals;
        uint256 shares = a.borrowShares;
        // The last borrower's deficit takes the rounding dust with it (see _writeOffDust).
        uint256 deficit =
            shares == t.borrowShares
                ? t.borrowAssets
                : MathLib.min(shares.toAssetsUp(t.borrowAssets, t.borrowShares), t.borrowAssets);
        a.borrowShares = 0;
        t.borrowShares -= uint128(shares);
        t.borrowAssets -= uint128(deficit);
        // Reserves are the insurance fund's money still in the market: using them is pure bookkeeping.
        LossWaterfall.Outcome memory o = LossWaterfall.run(
            _badDebt,
            insuranceFund,
            negativeBalancePolicy,
            borrower,
            deficit,
            t.reserves
        );
        t.reserves -= uint128(o.fromReserves);
        t.supplyAssets = uint128(uint256(t.supplyAssets).zeroFloorSub(o.socialised));
    }

    /* INTERNAL: HELPERS */

    /// @dev Base assets the market holds for suppliers and reserves: supplied + reserves - borrowed.
    function _cash(Totals storage t) internal view returns (uint256) {
        return (uint256(t.supplyAssets) + t.reserves).zeroFloorSub(t.borrowAssets);
    }

    function _owed(address account) internal view returns (uint256) {
        if (negativeBalancePolicy != NegativeBalancePolicy.RECOURSE) return 0;
        return insuranceFund.recourseDebt(account);
    }

    function _whenNotPausedAndNotOwing(address account) internal view {
        if (paused) revert Errors.MarketPaused();
        uint256 owed = _owed(account);
        if (owed > 0) revert Errors.RecourseDebtOutstanding(account, owed);
    }

    function _index(address token) internal view returns (uint256) {
        uint256 i = _indexPlusOne[token];
        if (i == 0) revert Errors.CollateralNotListed(token);
        return i - 1;
    }

    function _decimals(address token) internal view returns (uint8 d) {
        // A call to an address without code reverts before try/catch could catch it.
        if (token.code.length == 0) revert Errors.TokenDecimalsUnsupported(token);
        try IERC20Metadata(token).decimals() returns (uint8 value) {
            d = value;
        } catch {
            revert Errors.TokenDecimalsUnsupported(token);
        }
        if (d > 18) revert Errors.TokenDecimalsUnsupported(token);
    }

    function _setCollateralParams(Collateral storage c, CollateralParams calldata p) internal {
        Bounds.check("liquidationThreshold", p.liquidationThreshold, 0, MAX_LIQUIDATION_THRESHOLD);
        Bounds.check("liquidationBonus", p.liquidationBonus, 0, MAX_LIQUIDATION_BONUS);
        if (
            p.ltv >= p.liquidationThreshold ||
            // A liquidation below the threshold must leave the account healthier, or back-to-back
            // liquidations would get around the close factor.
            uint256(p.liquidationThreshold).wMulUp(WAD + p.liquidationBonus) > FULL_CLOSE_HEALTH
        ) {
            revert Errors.InvalidCollateralParams(p.ltv, p.liquidationThreshold, p.liquidationBonus);
        }
        c.ltv = p.ltv;
        c.liquidationThreshold = p.liquidationThreshold;
        c.liquidationBonus = p.liquidationBonus;
        c.supplyCap = p.supplyCap;
        emit Events.CollateralParamsSet(c.token, p);
    }

    function _setMarketParams(MarketParams memory p) internal {
        uint256 maxBase = 1_000_000 * _baseUnit;
        Bounds.check("borrowCap", p.borrowCap, 0, MathLib.min(1e15 * _baseUnit, type(uint96).max));
        Bounds.check("minBorrow", p.minBorrow, 0, maxBase);
        Bounds.check("smallPosition", p.smallPosition, 0, maxBase);
        Bounds.check("reserveFactor", p.reserveFactor, 0, MAX_RESERVE_FACTOR);
        Bounds.check("protocolShare", p.protocolShare, 0, WAD);
        Bounds.check("marginCallHealth", p.marginCallHealth, WAD, 2 * WAD);
        params = p;
        emit Events.MarketParamsSet(p);
    }
}
