// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PriceStatus, Action, SuspectPolicy, AssetOracleConfig} from "../libraries/OracleTypes.sol";

/// @title IOracleRouter
/// @notice Turns Chainlink-style feeds into a WAD price (USD per whole token) and a status. A failing feed
/// is a normal state, reported as a status, never a revert deep inside a liquidation.
/// @dev Every read checks, in this order:
/// 1. the L2 sequencer, when one is configured: down, unreadable, or up for no longer than the grace
///    period (timed from the feed's `startedAt`) -> SEQUENCER_DOWN, with the last good price;
/// 2. the primary feed: reverted, short return data, roundId 0, answer <= 0, updatedAt 0 or in the future,
///    a price at or beyond [minPrice, maxPrice], or a round older than the last one the router saw
///    -> INVALID; older than its heartbeat -> STALE;
/// 3. the fallback feed the same way (without the round check), when there is one;
/// 4. both valid but apart by more than maxDivergence -> DISAGREE, with the primary's price (this is how a
///    frozen or lagging primary is caught: without a fallback it cannot be told from a quiet market);
/// 5. the price used moved from the last good price by more than maxDeviation -> SUSPECT, until the
///    fallback agrees with it or it has been reported for confirmWindow seconds (see `pendingPrice`);
/// 6. otherwise OK (primary) or FALLBACK (primary failed, fallback used).
/// With no usable feed the last good price is returned beside STALE or INVALID; callers must not act on it
/// beyond what the policy table allows.
/// Persistence: a feed that reports a price in round R has reported it since R's `updatedAt`. A jump
/// carries its clock over to the next round only when the router saw every round at that level (the new
/// round is the one it saw or the next) from the same feed; otherwise the clock restarts at the new
/// round's `updatedAt`.
/// Each feed call gets a fixed gas allowance (FEED_GAS_LIMIT) and returns at most 160 bytes; a read
/// reverts with OracleGasTooLow when the caller left too little gas to give the feed that allowance, so
/// that a caller cannot starve the call to fake a feed failure.
interface IOracleRouter {
    /* READS */

    /// @notice Reads the asset's price and status, and records what it learnt: the last good price on OK or
    /// FALLBACK, the start of a pending jump on SUSPECT, and a PriceStatusChanged event when the status
    /// differs from the previous read. Anyone may call it (a keeper may poke a pending jump).
    /// @dev Reverts with AssetNotListed for an unknown asset and OracleGasTooLow when starved of gas.
    /// @return price WAD price; the last good price when the status is STALE, INVALID or SEQUENCER_DOWN.
    /// @return status The price status.
    function price(address asset) external returns (uint256 price, PriceStatus status);

    /// @notice Reads like `price`, then checks the policy table for `action`: what markets call once per
    /// entry point.
    /// @dev Reverts with PriceNotUsable(asset, action, status) when the policy refuses the action.
    function priceFor(address asset, Action action) external returns (uint256 price, PriceStatus status);

    /// @notice The price and status `price` would return now, without recording anything (for UIs, bots and
    /// off-chain tools).
    function peek(address asset) external view returns (uint256 price, PriceStatus status);

    /// @notice Whether `action` may run under `status`, with the router's current suspect policy.
    function isAllowed(PriceStatus status, Action action) external view returns (bool);

    /// @notice The bit mask of actions allowed under `status` (bit i is Action(i)).
    function allowedActions(PriceStatus status) external view returns (uint256);

    /// @notice The last price the router accepted for the asset (OK or FALLBACK) and when it recorded that
    /// value (a read that finds the same price again does not move the time).
    function lastGoodPrice(address asset) external view returns (uint256 price, uint256 at);

    /// @notice A jumped price waiting for confirmation: its value, the time from which the feed has reported
    /// it, and the last round in which the router saw it.
    /// @dev Zeroes when nothing is pending.
    function pendingPrice(address asset) external view returns (uint256 price, uint256 since, uint256 round);

    /// @notice The asset's oracle configuration. Reverts with AssetNotListed for an unknown asset.
    function assetConfig(address asset) external view returns (AssetOracleConfig memory);

    /// @notice Whether the asset has an oracle configuration.
    function isListed(address asset) external view returns (bool);

    /// @notice How SUSPECT prices are treated by the policy table.
    function suspectPolicy() external view returns (SuspectPolicy);

    /// @notice The L2 sequencer uptime feed (zero for none) and its grace period in seconds.
    function sequencer() external view returns (address feed, uint32 gracePeriod);

    /* ADMIN (DEFAULT_ADMIN_ROLE) */

    /// @notice Lists an asset or changes its configuration. The feeds must answer sanely now: each must have
    /// at most 18 decimals and report a valid, fresh, in-bounds price, and the two must agree within
    /// maxDivergence. The primary's price becomes the last good price and any pending jump is dropped.
    /// @dev Bounds: heartbeats [MIN_HEARTBEAT, MAX_HEARTBEAT]; confirmWindow [0, MAX_CONFIRM_WINDOW];
    /// minPrice < maxPrice <= MAX_PRICE; maxDeviation [MIN_DEVIATION, MAX_DEVIATION]; maxDivergence
    /// [MIN_DIVERGENCE, MAX_DIVERGENCE]. Reverts with ZeroAddress, OutOfBounds, FeedUnreadable,
    /// FeedDecimalsUnsupported, FeedUnhealthy or FeedsDisagree. Emits AssetOracleSet.
    function setAssetConfig(address asset, AssetOracleConfig calldata config) external;

    /// @notice Sets the L2 sequencer uptime feed (zero to disable) and its grace period.
    /// @dev gracePeriod at most MAX_GRACE_PERIOD; a non-zero feed must answer. Emits SequencerFeedSet.
    function setSequencer(address feed, uint32 gracePeriod) external;

    /// @notice Chooses how SUSPECT prices are treated ("wait for confirmation" or "trust the gap").
    /// @dev Emits SuspectPolicySet.
    function setSuspectPolicy(SuspectPolicy policy) external;
}
