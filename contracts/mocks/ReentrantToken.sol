// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

// solhint-disable immutable-vars-naming, avoid-low-level-calls

/// @title ReentrantToken
/// @notice Test-only hostile token: when armed, every transfer first calls `target` with `data` (as an
/// ERC777-style hook would), and bubbles up the call's revert, so a test sees exactly what the re-entered
/// contract said. Disarms itself after one attempt.
contract ReentrantToken is ERC20 {
    uint8 internal immutable _decimals;
    address public hookTarget;
    bytes public data;

    constructor(uint8 decimals_) ERC20("Reentrant Token", "REENTER") {
        _decimals = decimals_;
    }

    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice The next transfer calls `target_` with `data_` first.
    function arm(address target_, bytes calldata data_) external {
        hookTarget = target_;
        data = data_;
    }

    function _update(address from, address to, uint256 amount) internal override {
        address t = hookTarget;
        if (t != address(0) && from != address(0) && to != address(0)) {
            hookTarget = address(0);
            (bool ok, bytes memory returned) = t.call(data);
            if (!ok) {
                assembly {
                    revert(add(returned, 32), mload(returned))
                }
            }
        }
        super._update(from, to, amount);
    }
}
