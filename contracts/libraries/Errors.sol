// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PriceStatus, Action} from "./OracleTypes.sol";

/// @title Errors
/// @notice Every custom error of Ballast, each documented once. Contracts revert with `Errors.Name(...)`.
library Errors {
    /* GENERAL */

    /// @notice Thrown when an address argument that must be set is zero.
    error ZeroAddress();

    /// @notice Thrown when a parameter is set outside its hard bounds.
    /// @param param The parameter's name.
    /// @param value The value that was passed.
    /// @param min The smallest value allowed.
    /// @param max The largest value allowed.
    error OutOfBounds(string param, uint256 value, uint256 min, uint256 max);

    /* ORACLE */

    /// @notice Thrown when an asset has no oracle configuration.
    error AssetNotListed(address asset);

    /// @notice Thrown when a feed's `decimals()` cannot be read at listing.
    error FeedUnreadable(address feed);

    /// @notice Thrown when a feed reports more than 18 decimals, which Ballast does not support.
    error FeedDecimalsUnsupported(address feed, uint8 decimals);

    /// @notice Thrown at listing when a feed does not answer with a valid, fresh, in-bounds price.
    /// @param status What the router made of the feed's answer (STALE or INVALID).
    error FeedUnhealthy(address feed, PriceStatus status);

    /// @notice Thrown at listing when the primary and fallback feeds disagree beyond maxDivergence.
    error FeedsDisagree(uint256 primaryPrice, uint256 fallbackPrice);

    /// @notice Thrown when the policy table refuses an action under the asset's current price status.
    error PriceNotUsable(address asset, Action action, PriceStatus status);

    /// @notice Thrown when a caller leaves too little gas to read a feed with its full gas allowance, so
    /// that starving the call cannot fake a feed failure.
    error OracleGasTooLow(uint256 gasLeft, uint256 gasNeeded);
}
