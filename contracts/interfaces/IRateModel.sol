// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IRateModel
/// @notice Maps utilisation to a borrow rate.
interface IRateModel {
    /// @notice The borrow rate per second (WAD) at `utilisation` (WAD, 0 to 1e18).
    function borrowRatePerSecond(uint256 utilisation) external view returns (uint256);
}
