// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Errors} from "./Errors.sol";

/// @title Bounds
/// @notice The one check behind every bounded setter.
library Bounds {
    /// @dev Reverts with OutOfBounds(param, value, min, max) unless min <= value <= max.
    function check(string memory param, uint256 value, uint256 min, uint256 max) internal pure {
        if (value < min || value > max) revert Errors.OutOfBounds(param, value, min, max);
    }
}
