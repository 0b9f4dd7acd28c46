// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice What the OracleRouter thinks of an asset's price right now.
/// @dev OK: the primary feed is valid and fresh, and agrees with the fallback feed where there is one.
/// FALLBACK: the primary feed failed; the fallback feed is valid and its price is used.
/// STALE: the feed answered, but its last update is older than its heartbeat.
/// INVALID: the feed reverted, returned garbage, zero, a negative number, a price at or beyond the
/// configured bounds, a timestamp that is zero or in the future, or a round older than one already seen.
/// SUSPECT: the price jumped further from the last good price than the deviation limit and is not yet
/// confirmed (by the fallback feed, or by persisting for the confirm window).
/// SEQUENCER_DOWN: the L2 sequencer is down, or came back up less than the grace period ago.
/// DISAGREE: both feeds are valid but further apart than the divergence limit: one of them is wrong (a
/// frozen, lagging or manipulated feed) and nothing on chain says which. Never confirmed by time.
/// The order is part of the ABI; append, never reorder.
enum PriceStatus {
    OK,
    FALLBACK,
    STALE,
    INVALID,
    SUSPECT,
    SEQUENCER_DOWN,
    DISAGREE
}

/// @notice Every user or keeper action whose permission depends on the oracle's status.
/// @dev The order is part of the ABI (bit i of a policy mask is Action(i)); append, never reorder.
enum Action {
    SUPPLY,
    REPAY,
    ADD_COLLATERAL,
    BORROW,
    WITHDRAW_COLLATERAL,
    OPEN,
    INCREASE,
    REDUCE,
    CLOSE,
    LIQUIDATE,
    WITHDRAW_MARGIN,
    ADD_MARGIN
}

/// @notice How a SUSPECT price is treated by the policy table.
/// @dev WAIT_FOR_CONFIRMATION: nothing that settles at the price (reduce, close, liquidate) runs until the
/// jump is confirmed by the fallback feed or by persisting for the confirm window. TRUST_GAP: a jump is
/// taken as real for risk-reducing actions at once; risk-adding actions still wait. Neither trusts two
/// feeds that disagree (DISAGREE).
enum SuspectPolicy {
    WAIT_FOR_CONFIRMATION,
    TRUST_GAP
}

/// @notice The oracle configuration of one asset, as an admin sets it.
/// @dev Prices are WAD (1e18) USD per whole token. Fractions (maxDeviation, maxDivergence) are WAD.
struct AssetOracleConfig {
    /// Chainlink AggregatorV3Interface feed that prices the asset. Required.
    address primaryFeed;
    /// Seconds after its last update at which the primary feed is STALE.
    uint32 primaryHeartbeat;
    /// Optional second feed: used when the primary fails, and cross-checked against it. Zero for none.
    address fallbackFeed;
    /// Seconds after its last update at which the fallback feed is STALE (ignored without a fallback).
    uint32 fallbackHeartbeat;
    /// Seconds a jumped price must persist before it is confirmed without the fallback's agreement.
    uint32 confirmWindow;
    /// A price at or below this is INVALID (set it at or above the feed's own floor, the LUNA lesson).
    uint128 minPrice;
    /// A price at or above this is INVALID.
    uint128 maxPrice;
    /// Largest move from the last good price accepted at once; a larger one is SUSPECT until confirmed.
    uint64 maxDeviation;
    /// Largest relative gap between the two feeds (or a pending price and the next reading) that counts
    /// as agreement.
    uint64 maxDivergence;
}
