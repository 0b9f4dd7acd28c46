// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// solhint-disable immutable-vars-naming

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title FalseReturnToken
/// @notice Test-only hostile token: `transfer` and `transferFrom` return false instead of reverting when they
/// fail (short balance or allowance), as pre-standard tokens such as ZRX do, and can be switched to return
/// false on every transfer (`setFailing`). Nothing moves when they return false. Ballast must treat false as a
/// failure (SafeERC20), never as a payment.
contract FalseReturnToken is ERC20 {
    uint8 internal immutable _decimals;
    /// @notice When set, every transfer and transferFrom returns false and moves nothing.
    bool public failing;

    constructor(uint8 decimals_) ERC20("False Token", "FALSE") {
        _decimals = decimals_;
    }

    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setFailing(bool failing_) external {
        failing = failing_;
    }

    function transfer(address to, uint256 amount) public override returns (bool) {
        if (failing || to == address(0) || balanceOf(msg.sender) < amount) return false;
        return super.transfer(to, amount);
    }

    function transferFrom(address from, address to, uint256 amount) public override returns (bool) {
        if (failing || to == address(0) || balanceOf(from) < amount || allowance(from, msg.sender) < amount) {
            return false;
        }
        return super.transferFrom(from, to, amount);
    }
}
