// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PriceStatus, SuspectPolicy, AssetOracleConfig} from "./OracleTypes.sol";

/// @title Events
/// @notice Every event of Ballast, each documented once. Contracts emit `Events.Name(...)`.
library Events {
    /* ORACLE */

    /// @notice Emitted when an asset's oracle configuration is set (listing or change).
    /// @param price The primary feed's price at listing, which becomes the last good price.
    event AssetOracleSet(address indexed asset, AssetOracleConfig config, uint256 price);

    /// @notice Emitted when the L2 sequencer uptime feed or its grace period is set (feed zero: none).
    event SequencerFeedSet(address indexed feed, uint32 gracePeriod);

    /// @notice Emitted when the treatment of SUSPECT prices changes.
    event SuspectPolicySet(SuspectPolicy policy);

    /// @notice Emitted by a state-changing price read when an asset's status differs from the last read.
    /// @param price The price returned with the new status (the last good price when no feed is usable).
    event PriceStatusChanged(address indexed asset, PriceStatus from, PriceStatus to, uint256 price);

    /// @notice Emitted when the router first sees a jumped price that it cannot yet trust.
    /// @param since The time from which the price has been reported (its round's update time).
    /// @param round The feed round in which the router saw it.
    event SuspectPriceSeen(
        address indexed asset,
        uint256 price,
        uint256 lastGoodPrice,
        uint256 since,
        uint256 round
    );
}
