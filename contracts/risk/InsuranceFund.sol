// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IInsuranceFund} from "../interfaces/IInsuranceFund.sol";
import {Bounds} from "../libraries/Bounds.sol";
import {Errors} from "../libraries/Errors.sol";
import {Events} from "../libraries/Events.sol";
import {MathLib} from "../libraries/MathLib.sol";
import {SharesMath} from "../libraries/SharesMath.sol";

/// @title InsuranceFund
/// @notice See IInsuranceFund.
contract InsuranceFund is IInsuranceFund, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SharesMath for uint256;

    uint256 public constant MIN_COOLDOWN = 1 days;
    uint256 public constant MAX_COOLDOWN = 30 days;
    uint256 public constant MIN_WINDOW = 1 hours;
    uint256 public constant MAX_WINDOW = 7 days;
    /// @notice A stake into a fund whose shares are worth less than 1 base unit per 1e12 shares (a millionth of
    /// the first stake's price) writes the old shares off first, so that share counts never compound.
    uint256 public constant MAX_SHARES_PER_UNIT = 1e12;
    /// @notice A cover that leaves less than a millionth of the balance it found writes every share off.
    uint256 public constant WIPE_OUT_RATIO = 1e6;

    /// @notice The base asset.
    IERC20 public immutable asset;

    mapping(address market => bool) public isMarket;

    /* STAKING */

    /// A staker's shares, valid only in the epoch they were minted in.
    struct Stake {
        uint192 shares;
        uint64 epoch;
    }

    /// The terms of a request are fixed when it is made.
    struct UnstakeRequest {
        uint128 shares;
        uint40 readyAt;
        uint40 closesAt;
        uint48 epoch;
    }

    uint256 public totalShares;
    /// @notice Incremented when a cover drains the fund to zero while shares exist: those shares are
    /// worth nothing and are written off, so that share counts never compound across wipe-outs.
    uint64 public epoch;
    mapping(address staker => Stake) internal _stakes;
    mapping(address staker => UnstakeRequest) internal _requests;
    uint32 public cooldown;
    uint32 public unstakeWindow;

    /* RECOURSE LEDGER AND TOTALS */

    mapping(address account => uint256) public recourseDebt;
    /// @notice What all accounts owe under RECOURSE.
    uint256 public totalRecourseDebt;
    /// @notice Everything paid to markets for deficits.
    uint256 public totalPaid;
    /// @notice Everything recovered from accounts that owed.
    uint256 public totalRecovered;

    constructor(address admin, IERC20 asset_, uint32 cooldown_, uint32 window_) {
        if (admin == address(0) || address(asset_) == address(0)) revert Errors.ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        asset = asset_;
        _setCooldown(cooldown_, window_);
    }

    /* MARKETS */

    /// @inheritdoc IInsuranceFund
    function cover(uint256 amount) external nonReentrant returns (uint256 paid) {
        if (!isMarket[msg.sender]) revert Errors.NotRegisteredMarket(msg.sender);
        uint256 balance = asset.balanceOf(address(this));
        paid = MathLib.min(amount, balance);
        totalPaid += paid;
        emit Events.InsurancePaid(msg.sender, amount, paid);
        // The line is relative to this cover: the stakers lost (all but a millionth of) what the fund held.
        // An absolute line would let a tiny cover wipe out a stake made just after a large loss.
        if (paid > 0 && totalShares > 0 && (balance - paid) * WIPE_OUT_RATIO < balance) _wipeOut();
        if (paid > 0) asset.safeTransfer(msg.sender, paid);
    }

    /// @inheritdoc IInsuranceFund
    function recordRecourse(address account, uint256 amount) external {
        if (!isMarket[msg.sender]) revert Errors.NotRegisteredMarket(msg.sender);
        recourseDebt[account] += amount;
        totalRecourseDebt += amount;
        emit Events.RecourseRecorded(msg.sender, account, amount);
    }

    /* ANYONE */

    /// @inheritdoc IInsuranceFund
    function topUp(uint256 amount) external nonReentrant {
        if (amount == 0) revert Errors.ZeroAmount();
        emit Events.InsuranceToppedUp(msg.sender, amount);
        asset.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IInsuranceFund
    function repayRecourse(address account, uint256 amount) external nonReentrant returns (uint256 repaid) {
        repaid = _creditRecourse(account, amount, msg.sender);
        if (repaid > 0) asset.safeTransferFrom(msg.sender, address(this), repaid);
    }

    /* STAKERS */

    /// @inheritdoc IInsuranceFund
    function stake(uint256 assets, address receiver) external nonReentrant returns (uint256 shares) {
        if (assets == 0) revert Errors.ZeroAmount();
        if (receiver == address(0)) revert Errors.ZeroAddress();
        SafeCast.toUint128(assets); // SafeCastOverflowedUintDowncast, not an arithmetic panic
        uint256 balanceBefore = asset.balanceOf(address(this));
        uint256 toDebt = _creditRecourse(receiver, assets, msg.sender);
        uint256 staked = assets - toDebt;
        if (staked > 0 && totalShares > (balanceBefore + toDebt) * MAX_SHARES_PER_UNIT) {
            // The old shares are worth less than a millionth of the first stake's price (losses without a
            // wipe-out): write them off before pricing, so that the new stake mints a bounded share count.
            _wipeOut();
        }
        if (staked > 0) {
            // Price the shares on the balance with the debt repayment already in (it belongs to the fund's
            // existing capital, not to the new shares), but before the stake itself arrives.
            shares = staked.toSharesDown(balanceBefore + toDebt, totalShares);
            if (shares == 0) revert Errors.ZeroShares();
            totalShares += shares;
            _stakes[receiver] = Stake(SafeCast.toUint192(sharesOf(receiver) + shares), epoch);
            emit Events.Staked(msg.sender, receiver, staked, shares);
        }
        asset.safeTransferFrom(msg.sender, address(this), assets);
    }

    /// @inheritdoc IInsuranceFund
    function requestUnstake(uint256 shares) external {
        if (shares == 0) revert Errors.ZeroAmount();
        uint256 owned = sharesOf(msg.sender);
        if (shares > owned) revert Errors.InsufficientShares(shares, owned);
        uint256 readyAt = block.timestamp + cooldown;
        uint256 closesAt = readyAt + unstakeWindow;
        _requests[msg.sender] = UnstakeRequest(
            SafeCast.toUint128(shares),
            uint40(readyAt),
            uint40(closesAt),
            uint48(epoch)
        );
        emit Events.UnstakeRequested(msg.sender, shares, readyAt, closesAt);
    }

    /// @inheritdoc IInsuranceFund
    function unstake(address receiver) external nonReentrant returns (uint256 assets) {
        if (receiver == address(0)) revert Errors.ZeroAddress();
        UnstakeRequest memory r = _requests[msg.sender];
        // A request from an epoch whose shares were written off is no request.
        if (r.shares == 0 || r.epoch != epoch) revert Errors.NoUnstakeRequest();
        if (block.timestamp < r.readyAt) revert Errors.CooldownNotElapsed(r.readyAt);
        if (block.timestamp > r.closesAt) revert Errors.UnstakeWindowClosed(r.closesAt);
        uint256 shares = r.shares; // shares cannot move or shrink between request and unstake
        assets = shares.toAssetsDown(asset.balanceOf(address(this)), totalShares);
        delete _requests[msg.sender];
        _stakes[msg.sender].shares -= uint192(shares);
        totalShares -= shares;
        emit Events.Unstaked(msg.sender, receiver, assets, shares);
        // What the staker owes Ballast is repaid from the proceeds first; it stays in the fund.
        uint256 toDebt = _creditRecourse(msg.sender, assets, msg.sender);
        if (assets > toDebt) asset.safeTransfer(receiver, assets - toDebt);
    }

    /* VIEWS */

    /// @inheritdoc IInsuranceFund
    function sharesOf(address staker) public view returns (uint256) {
        Stake memory st = _stakes[staker];
        return st.epoch == epoch ? st.shares : 0;
    }

    /// @inheritdoc IInsuranceFund
    function unstakeRequest(
        address staker
    ) external view returns (uint256 shares, uint256 readyAt, uint256 closesAt) {
        UnstakeRequest memory r = _requests[staker];
        if (r.epoch != epoch) return (0, 0, 0);
        return (r.shares, r.readyAt, r.closesAt);
    }

    /// @inheritdoc IInsuranceFund
    function totalAssets() public view returns (uint256) {
        return asset.balanceOf(address(this));
    }

    /// @inheritdoc IInsuranceFund
    function previewUnstake(uint256 shares) external view returns (uint256) {
        return shares.toAssetsDown(totalAssets(), totalShares);
    }

    /* ADMIN */

    /// @inheritdoc IInsuranceFund
    function setMarket(address market, bool registered) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (market == address(0)) revert Errors.ZeroAddress();
        isMarket[market] = registered;
        emit Events.MarketRegistered(market, registered);
    }

    /// @inheritdoc IInsuranceFund
    function setCooldown(uint32 cooldown_, uint32 window_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setCooldown(cooldown_, window_);
    }

    /* INTERNAL */

    function _setCooldown(uint32 cooldown_, uint32 window_) internal {
        Bounds.check("cooldown", cooldown_, MIN_COOLDOWN, MAX_COOLDOWN);
        Bounds.check("unstakeWindow", window_, MIN_WINDOW, MAX_WINDOW);
        cooldown = cooldown_;
        unstakeWindow = window_;
        emit Events.CooldownSet(cooldown_, window_);
    }

    /// @dev Writes every share off and starts a new epoch (requests of the old one are void).
    function _wipeOut() internal {
        emit Events.StakersWipedOut(epoch, totalShares);
        totalShares = 0;
        ++epoch;
    }

    /// @dev Books up to `amount` against what `account` owes, paid by `payer`; the caller moves the tokens.
    function _creditRecourse(
        address account,
        uint256 amount,
        address payer
    ) internal returns (uint256 credited) {
        uint256 owed = recourseDebt[account];
        if (owed == 0) return 0;
        credited = MathLib.min(owed, amount);
        recourseDebt[account] = owed - credited;
        totalRecourseDebt -= credited;
        totalRecovered += credited;
        emit Events.RecourseRepaid(account, payer, credited, owed - credited);
    }
}
