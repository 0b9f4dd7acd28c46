// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IInsuranceFund} from "../interfaces/IInsuranceFund.sol";
import {ILiquidityVault} from "../interfaces/ILiquidityVault.sol";
import {IPerpMarket} from "../interfaces/IPerpMarket.sol";
import {Errors} from "../libraries/Errors.sol";
import {MathLib} from "../libraries/MathLib.sol";

/// @title LiquidityVault
/// @notice See ILiquidityVault.
contract LiquidityVault is ILiquidityVault, ERC4626, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @inheritdoc ILiquidityVault
    IPerpMarket public immutable market;
    IInsuranceFund public immutable insuranceFund;

    constructor(
        IERC20 asset_,
        IPerpMarket market_,
        IInsuranceFund insuranceFund_,
        string memory name_,
        string memory symbol_
    ) ERC20(name_, symbol_) ERC4626(asset_) {
        if (address(market_) == address(0) || address(insuranceFund_) == address(0))
            revert Errors.ZeroAddress();
        market = market_;
        insuranceFund = insuranceFund_;
        asset_.forceApprove(address(market_), type(uint256).max);
        asset_.forceApprove(address(insuranceFund_), type(uint256).max);
    }

    /// @notice The pool's value: PerpMarket.lpAssets().
    function totalAssets() public view override(ERC4626, IERC4626) returns (uint256) {
        return market.lpAssets();
    }

    /// @notice Nothing while the pool's value is zero and shares exist (a deposit then would be priced at
    /// (almost) nothing and take the shares of the LPs who are waiting for the pool to recover), and nothing
    /// for a receiver that owes recourse debt (it repays through InsuranceFund.repayRecourse first); otherwise
    /// 2^128 - 1, so that an absurd amount is refused with ERC4626ExceededMaxDeposit, not an overflow.
    function maxDeposit(address receiver) public view override(ERC4626, IERC4626) returns (uint256) {
        return _frozen() || _owed(receiver) > 0 ? 0 : type(uint128).max;
    }

    /// @notice As maxDeposit.
    function maxMint(address receiver) public view override(ERC4626, IERC4626) returns (uint256) {
        return _frozen() || _owed(receiver) > 0 ? 0 : type(uint128).max;
    }

    /// @notice What `owner` may withdraw now: its shares' worth, within what the pool may pay out.
    function maxWithdraw(address owner) public view override(ERC4626, IERC4626) returns (uint256) {
        return MathLib.min(super.maxWithdraw(owner), market.lpWithdrawable());
    }

    /// @notice The shares `owner` may redeem now, within what the pool may pay out.
    function maxRedeem(address owner) public view override(ERC4626, IERC4626) returns (uint256) {
        uint256 limit = _convertToShares(market.lpWithdrawable(), Math.Rounding.Floor);
        return MathLib.min(super.maxRedeem(owner), limit);
    }

    function deposit(
        uint256 assets,
        address receiver
    ) public override(ERC4626, IERC4626) nonReentrant returns (uint256) {
        return super.deposit(assets, receiver);
    }

    function mint(
        uint256 shares,
        address receiver
    ) public override(ERC4626, IERC4626) nonReentrant returns (uint256) {
        return super.mint(shares, receiver);
    }

    function withdraw(
        uint256 assets,
        address receiver,
        address owner
    ) public override(ERC4626, IERC4626) nonReentrant returns (uint256) {
        return super.withdraw(assets, receiver, owner);
    }

    function redeem(
        uint256 shares,
        address receiver,
        address owner
    ) public override(ERC4626, IERC4626) nonReentrant returns (uint256) {
        return super.redeem(shares, receiver, owner);
    }

    /// @dev Shares of an address that owes recourse debt cannot move (it would redeem them elsewhere without
    /// repaying): RecourseDebtOutstanding. Mints and burns pass (a withdrawal repays the debt first).
    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 owed = _owed(from);
            if (owed > 0) revert Errors.RecourseDebtOutstanding(from, owed);
        }
        super._update(from, to, value);
    }

    function _owed(address account) internal view returns (uint256) {
        return insuranceFund.recourseDebt(account);
    }

    function _frozen() internal view returns (bool) {
        return totalSupply() > 0 && totalAssets() == 0;
    }

    /// @dev 1e6 virtual shares per unit, as everywhere in Ballast.
    function _decimalsOffset() internal pure override returns (uint8) {
        return 6;
    }

    /// @dev Pulls the assets in, mints, then moves them into the engine's pool.
    function _deposit(address caller, address receiver, uint256 assets, uint256 shares) internal override {
        super._deposit(caller, receiver, assets, shares);
        market.lpDeposit(assets);
    }

    /// @dev Burns, then has the engine pay the receiver (and the owner's recourse debt first).
    function _withdraw(
        address caller,
        address receiver,
        address owner,
        uint256 assets,
        uint256 shares
    ) internal override {
        if (caller != owner) _spendAllowance(owner, caller, shares);
        _burn(owner, shares);
        uint256 toDebt = MathLib.min(_owed(owner), assets);
        emit Withdraw(caller, receiver, owner, assets, shares);
        if (assets > toDebt) market.lpWithdraw(assets - toDebt, receiver);
        if (toDebt > 0) {
            market.lpWithdraw(toDebt, address(this));
            insuranceFund.repayRecourse(owner, toDebt);
        }
    }
}
