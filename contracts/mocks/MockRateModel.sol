// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRateModel} from "../interfaces/IRateModel.sol";

/// @title MockRateModel
/// @notice Test-only rate model that returns any rate, or reverts.
contract MockRateModel is IRateModel {
    error MockRateModelReverted();

    uint256 public rate;
    bool public reverting;

    function set(uint256 rate_, bool reverting_) external {
        rate = rate_;
        reverting = reverting_;
    }

    function borrowRatePerSecond(uint256) external view returns (uint256) {
        if (reverting) revert MockRateModelReverted();
        return rate;
    }
}
