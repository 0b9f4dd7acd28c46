// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// solhint-disable immutable-vars-naming

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title FeeOnTransferToken
/// @notice Test-only hostile token: every transfer burns `feeBps` of the amount, so the receiver gets less
/// than was sent (as USDT can be switched to do). Ballast must refuse to list it.
contract FeeOnTransferToken is ERC20 {
    uint8 internal immutable _decimals;
    uint256 public feeBps;

    constructor(uint8 decimals_, uint256 feeBps_) ERC20("Fee Token", "FEE") {
        _decimals = decimals_;
        feeBps = feeBps_;
    }

    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 amount) internal override {
        if (from == address(0) || to == address(0)) return super._update(from, to, amount);
        uint256 fee = (amount * feeBps) / 10_000;
        super._update(from, address(0), fee);
        super._update(from, to, amount - fee);
    }
}
