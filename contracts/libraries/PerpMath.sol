// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title PerpMath
/// @notice Signed helpers for the perpetuals engine, with the rounding direction in every name.
library PerpMath {
    function abs(int256 x) internal pure returns (uint256) {
        return uint256(x >= 0 ? x : -x);
    }

    /// @notice max(x, 0) as an unsigned number.
    function positivePart(int256 x) internal pure returns (uint256) {
        return x > 0 ? uint256(x) : 0;
    }

    /// @notice x / d rounded toward minus infinity (d > 0).
    function floorDiv(int256 x, int256 d) internal pure returns (int256 q) {
        q = x / d;
        if (x % d != 0 && x < 0) --q;
    }

    /// @notice x / d rounded toward plus infinity (d > 0).
    function ceilDiv(int256 x, int256 d) internal pure returns (int256 q) {
        q = x / d;
        if (x % d != 0 && x > 0) ++q;
    }

    /// @notice The price at which closing a position entered at `entry` realises `paid` of the `profit` it has
    /// at `price`: entry + (price - entry) x paid / profit, truncated toward zero (funding aside). For events.
    function adlPrice(
        uint256 entry,
        uint256 price,
        uint256 paid,
        uint256 profit
    ) internal pure returns (uint256) {
        int256 move = int256(price) - int256(entry);
        return uint256(int256(entry) + (move * int256(paid)) / int256(profit));
    }
}
