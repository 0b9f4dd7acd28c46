// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

import {IOracleRouter} from "../interfaces/IOracleRouter.sol";
import {PriceStatus, Action, SuspectPolicy, AssetOracleConfig} from "../libraries/OracleTypes.sol";
import {OraclePolicy} from "../libraries/OraclePolicy.sol";
import {Bounds} from "../libraries/Bounds.sol";
import {Errors} from "../libraries/Errors.sol";
import {Events} from "../libraries/Events.sol";

/// @title OracleRouter
/// @notice Chainlink feeds in; a validated WAD price and a status out. See IOracleRouter for the checks.
contract OracleRouter is IOracleRouter, AccessControl {
    /* CONSTANTS */

    uint256 internal constant WAD = 1e18;
    /// @notice Gas each feed call is given; a feed that needs more is treated as failed.
    uint256 public constant FEED_GAS_LIMIT = 100_000;
    /// @notice Gas a read needs left before each feed call: the allowance, the 1/64 that EIP-150 keeps
    /// back, and the call's own cost.
    uint256 public constant MIN_GAS_FOR_READ = FEED_GAS_LIMIT + FEED_GAS_LIMIT / 63 + 10_000;

    uint256 public constant MIN_HEARTBEAT = 1 minutes;
    uint256 public constant MAX_HEARTBEAT = 2 days;
    uint256 public constant MAX_CONFIRM_WINDOW = 1 days;
    uint256 public constant MAX_GRACE_PERIOD = 1 days;
    /// @notice Largest price bound, in WAD (1e28: a token worth ten billion dollars).
    uint256 public constant MAX_PRICE = 1e28;
    uint256 public constant MIN_DEVIATION = 0.005e18; // 0.5%
    uint256 public constant MAX_DEVIATION = 10e18; // 1000%
    uint256 public constant MIN_DIVERGENCE = 0.001e18; // 0.1%
    uint256 public constant MAX_DIVERGENCE = 0.5e18; // 50%

    /* STORAGE */

    /// One asset's configuration in three slots, packed by what a read needs together (the bounds on
    /// setAssetConfig keep every value within its field).
    struct AssetOracle {
        // slot 0: the primary feed
        address primaryFeed;
        uint24 primaryHeartbeat;
        uint8 primaryDecimals;
        uint24 confirmWindow;
        bool hasFallback; // so that a read without a fallback never loads slot 1
        // slot 1: the fallback feed
        address fallbackFeed;
        uint24 fallbackHeartbeat;
        uint8 fallbackDecimals;
        uint64 maxDivergence;
        // slot 2: bounds
        uint96 minPrice;
        uint96 maxPrice;
        uint64 maxDeviation;
    }

    /// What every read needs from the last one: one slot.
    struct PriceState {
        uint128 lastGoodPrice;
        uint32 lastGoodAt;
        PriceStatus lastStatus;
        uint80 lastRound; // the primary feed's latest round seen; an older one is INVALID
        bool hasPending;
    }

    /// A jump waiting for confirmation: read only when a reading jumped, or to clear it.
    struct Pending {
        uint128 price;
        uint40 since;
        uint80 round;
        bool fromFallback;
    }

    /// One feed's answer after validation.
    struct FeedRead {
        uint256 price;
        uint256 updatedAt;
        uint256 roundId;
        PriceStatus status; // OK, STALE or INVALID
    }

    /// The outcome of one read, before anything is recorded.
    struct Evaluation {
        uint256 price;
        PriceStatus status;
        uint256 primaryRound; // the primary's round when it answered validly, else 0
        uint256 suspectSince; // non-zero when a jump is pending confirmation
        uint256 suspectRound;
        bool suspectFromFallback;
    }

    mapping(address asset => AssetOracle) internal _oracles;
    mapping(address asset => PriceState) internal _states;
    mapping(address asset => Pending) internal _pending;

    SuspectPolicy public suspectPolicy;
    address internal _sequencerFeed;
    uint32 internal _gracePeriod;

    constructor(address admin, SuspectPolicy policy) {
        if (admin == address(0)) revert Errors.ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        suspectPolicy = policy;
        emit Events.SuspectPolicySet(policy);
    }

    /* READS */

    /// @inheritdoc IOracleRouter
    function price(address asset) public returns (uint256, PriceStatus) {
        AssetOracle storage o = _listed(asset);
        PriceState memory s = _states[asset];
        Evaluation memory e = _evaluate(asset, o, s);
        _record(asset, s, e);
        return (e.price, e.status);
    }

    /// @inheritdoc IOracleRouter
    function priceFor(address asset, Action action) external returns (uint256, PriceStatus) {
        (uint256 p, PriceStatus status) = price(asset);
        if (!OraclePolicy.isAllowed(status, action, suspectPolicy)) {
            revert Errors.PriceNotUsable(asset, action, status);
        }
        return (p, status);
    }

    /// @inheritdoc IOracleRouter
    function peek(address asset) external view returns (uint256, PriceStatus) {
        Evaluation memory e = _evaluate(asset, _listed(asset), _states[asset]);
        return (e.price, e.status);
    }

    /// @inheritdoc IOracleRouter
    function isAllowed(PriceStatus status, Action action) external view returns (bool) {
        return OraclePolicy.isAllowed(status, action, suspectPolicy);
    }

    /// @inheritdoc IOracleRouter
    function allowedActions(PriceStatus status) external view returns (uint256) {
        return OraclePolicy.allowedActions(status, suspectPolicy);
    }

    /// @inheritdoc IOracleRouter
    function lastGoodPrice(address asset) external view returns (uint256, uint256) {
        PriceState storage s = _states[asset];
        return (s.lastGoodPrice, s.lastGoodAt);
    }

    /// @inheritdoc IOracleRouter
    function pendingPrice(address asset) external view returns (uint256, uint256, uint256) {
        Pending storage pending = _pending[asset];
        return (pending.price, pending.since, pending.round);
    }

    /// @inheritdoc IOracleRouter
    function assetConfig(address asset) external view returns (AssetOracleConfig memory c) {
        AssetOracle storage o = _listed(asset);
        c.primaryFeed = o.primaryFeed;
        c.primaryHeartbeat = o.primaryHeartbeat;
        c.fallbackFeed = o.fallbackFeed;
        c.fallbackHeartbeat = o.fallbackHeartbeat;
        c.confirmWindow = o.confirmWindow;
        c.minPrice = o.minPrice;
        c.maxPrice = o.maxPrice;
        c.maxDeviation = o.maxDeviation;
        c.maxDivergence = o.maxDivergence;
    }

    /// @inheritdoc IOracleRouter
    function isListed(address asset) external view returns (bool) {
        return _oracles[asset].primaryFeed != address(0);
    }

    /// @inheritdoc IOracleRouter
    function sequencer() external view returns (address, uint32) {
        return (_sequencerFeed, _gracePeriod);
    }

    /* ADMIN */

    /// @inheritdoc IOracleRouter
    function setAssetConfig(
        address asset,
        AssetOracleConfig calldata c
    ) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (asset == address(0) || c.primaryFeed == address(0)) revert Errors.ZeroAddress();
        Bounds.check("primaryHeartbeat", c.primaryHeartbeat, MIN_HEARTBEAT, MAX_HEARTBEAT);
        if (c.fallbackFeed != address(0)) {
            Bounds.check("fallbackHeartbeat", c.fallbackHeartbeat, MIN_HEARTBEAT, MAX_HEARTBEAT);
        }
        Bounds.check("confirmWindow", c.confirmWindow, 0, MAX_CONFIRM_WINDOW);
        Bounds.check("maxPrice", c.maxPrice, 1, MAX_PRICE);
        Bounds.check("minPrice", c.minPrice, 0, c.maxPrice - 1);
        Bounds.check("maxDeviation", c.maxDeviation, MIN_DEVIATION, MAX_DEVIATION);
        Bounds.check("maxDivergence", c.maxDivergence, MIN_DIVERGENCE, MAX_DIVERGENCE);

        AssetOracle storage o = _oracles[asset];
        o.primaryFeed = c.primaryFeed;
        o.primaryHeartbeat = uint24(c.primaryHeartbeat);
        o.primaryDecimals = _decimals(c.primaryFeed);
        o.confirmWindow = uint24(c.confirmWindow);
        o.hasFallback = c.fallbackFeed != address(0);
        o.fallbackFeed = c.fallbackFeed;
        o.fallbackHeartbeat = c.fallbackFeed == address(0) ? 0 : uint24(c.fallbackHeartbeat);
        o.fallbackDecimals = c.fallbackFeed == address(0) ? 0 : _decimals(c.fallbackFeed);
        o.maxDivergence = c.maxDivergence;
        o.minPrice = uint96(c.minPrice);
        o.maxPrice = uint96(c.maxPrice);
        o.maxDeviation = c.maxDeviation;

        FeedRead memory p = _readChecked(o.primaryFeed, o.primaryHeartbeat, o.primaryDecimals, o);
        if (c.fallbackFeed != address(0)) {
            FeedRead memory f = _readChecked(o.fallbackFeed, o.fallbackHeartbeat, o.fallbackDecimals, o);
            if (_apart(p.price, f.price, c.maxDivergence)) revert Errors.FeedsDisagree(p.price, f.price);
        }

        _states[asset] = PriceState({
            lastGoodPrice: uint128(p.price),
            lastGoodAt: uint32(block.timestamp),
            lastStatus: PriceStatus.OK,
            lastRound: uint80(p.roundId),
            hasPending: false
        });
        delete _pending[asset];
        emit Events.AssetOracleSet(asset, c, p.price);
    }

    /// @inheritdoc IOracleRouter
    function setSequencer(address feed, uint32 gracePeriod) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Bounds.check("gracePeriod", gracePeriod, 0, MAX_GRACE_PERIOD);
        if (feed != address(0)) {
            (bool ok, , , , ) = _call(feed);
            if (!ok) revert Errors.FeedUnreadable(feed);
        }
        _sequencerFeed = feed;
        _gracePeriod = gracePeriod;
        emit Events.SequencerFeedSet(feed, gracePeriod);
    }

    /// @inheritdoc IOracleRouter
    function setSuspectPolicy(SuspectPolicy policy) external onlyRole(DEFAULT_ADMIN_ROLE) {
        suspectPolicy = policy;
        emit Events.SuspectPolicySet(policy);
    }

    /* INTERNAL: EVALUATION */

    /// @dev The whole decision of one read (see IOracleRouter), with nothing written.
    function _evaluate(
        address asset,
        AssetOracle storage o,
        PriceState memory s
    ) internal view returns (Evaluation memory e) {
        if (_sequencerDown()) {
            e.price = s.lastGoodPrice;
            e.status = PriceStatus.SEQUENCER_DOWN;
            return e;
        }

        FeedRead memory p = _read(o.primaryFeed, o.primaryHeartbeat, o.primaryDecimals, o);
        // A feed that goes back to an older round than one already seen is broken (or lagging).
        if (p.status != PriceStatus.INVALID && p.roundId < s.lastRound) p.status = PriceStatus.INVALID;
        if (p.status != PriceStatus.INVALID) e.primaryRound = p.roundId;
        FeedRead memory f;
        f.status = PriceStatus.INVALID;
        if (o.hasFallback) f = _read(o.fallbackFeed, o.fallbackHeartbeat, o.fallbackDecimals, o);

        if (p.status == PriceStatus.OK) {
            e.price = p.price;
            if (f.status == PriceStatus.OK) {
                // Two valid feeds: agreement confirms any jump; disagreement cannot be resolved on chain.
                e.status = _apart(p.price, f.price, o.maxDivergence) ? PriceStatus.DISAGREE : PriceStatus.OK;
                return e;
            }
            _checkJump(e, p, false, asset, o, s);
        } else if (f.status == PriceStatus.OK) {
            e.price = f.price;
            _checkJump(e, f, true, asset, o, s);
        } else {
            e.price = s.lastGoodPrice;
            e.status = p.status;
        }
    }

    /// @dev A single valid reading `r`: OK (or FALLBACK) unless it jumped from the last good price and has
    /// not been reported, at this level and without an unseen round, for the confirm window yet.
    function _checkJump(
        Evaluation memory e,
        FeedRead memory r,
        bool fromFallback,
        address asset,
        AssetOracle storage o,
        PriceState memory s
    ) internal view {
        e.status = fromFallback ? PriceStatus.FALLBACK : PriceStatus.OK;
        if (!_apart(r.price, s.lastGoodPrice, o.maxDeviation)) return;
        // The feed has said r.price since r.updatedAt. A pending jump at the same level, from the same feed,
        // seen in this round or the one before, started earlier.
        uint256 since = r.updatedAt;
        if (s.hasPending) {
            Pending memory pending = _pending[asset];
            if (
                pending.since < since &&
                pending.fromFallback == fromFallback &&
                r.roundId >= pending.round &&
                r.roundId <= uint256(pending.round) + 1 &&
                !_apart(r.price, pending.price, o.maxDivergence)
            ) {
                since = pending.since;
            }
        }
        if (block.timestamp - since >= o.confirmWindow) return;
        e.status = PriceStatus.SUSPECT;
        e.suspectSince = since;
        e.suspectRound = r.roundId;
        e.suspectFromFallback = fromFallback;
    }

    /// @dev Writes what a read learnt; each slot only when it changes.
    function _record(address asset, PriceState memory s, Evaluation memory e) internal {
        // A copy: memory structs assign by reference.
        PriceState memory next = PriceState(
            s.lastGoodPrice,
            s.lastGoodAt,
            s.lastStatus,
            s.lastRound,
            s.hasPending
        );
        if (e.primaryRound > s.lastRound) next.lastRound = uint80(e.primaryRound);
        next.lastStatus = e.status;
        if (e.status == PriceStatus.OK || e.status == PriceStatus.FALLBACK) {
            if (e.price != s.lastGoodPrice) {
                next.lastGoodPrice = uint128(e.price);
                next.lastGoodAt = uint32(block.timestamp);
            }
            if (s.hasPending) {
                next.hasPending = false;
                delete _pending[asset];
            }
        } else if (e.suspectSince != 0) {
            Pending storage pending = _pending[asset];
            if (!s.hasPending || e.suspectSince != pending.since) {
                next.hasPending = true;
                _pending[asset] = Pending(
                    uint128(e.price),
                    uint40(e.suspectSince),
                    uint80(e.suspectRound),
                    e.suspectFromFallback
                );
                emit Events.SuspectPriceSeen(asset, e.price, s.lastGoodPrice, e.suspectSince, e.suspectRound);
            } else if (e.suspectRound != pending.round) {
                pending.round = uint80(e.suspectRound);
            }
        }
        if (e.status != s.lastStatus) emit Events.PriceStatusChanged(asset, s.lastStatus, e.status, e.price);
        if (
            next.lastGoodPrice != s.lastGoodPrice ||
            next.lastStatus != s.lastStatus ||
            next.lastRound != s.lastRound ||
            next.hasPending != s.hasPending
        ) _states[asset] = next;
    }

    /* INTERNAL: FEEDS */

    /// @dev Validates one feed's latest answer and scales it to WAD.
    function _read(
        address feed,
        uint256 heartbeat,
        uint256 decimals,
        AssetOracle storage o
    ) internal view returns (FeedRead memory r) {
        r.status = PriceStatus.INVALID;
        (bool ok, uint256 roundId, int256 answer, , uint256 updatedAt) = _call(feed);
        // Answers above 2^128 are garbage whatever the decimals; the check also keeps the scaling safe.
        if (!ok || roundId == 0 || roundId > type(uint80).max) return r;
        if (answer <= 0 || uint256(answer) > type(uint128).max) return r;
        if (updatedAt == 0 || updatedAt > block.timestamp) return r;
        uint256 scaled = uint256(answer) * 10 ** (18 - decimals);
        if (scaled <= o.minPrice || scaled >= o.maxPrice) return r;
        r.price = scaled;
        r.updatedAt = updatedAt;
        r.roundId = roundId;
        r.status = block.timestamp - updatedAt > heartbeat ? PriceStatus.STALE : PriceStatus.OK;
    }

    /// @dev `_read` for listing: the feed must be OK now.
    function _readChecked(
        address feed,
        uint256 heartbeat,
        uint256 decimals,
        AssetOracle storage o
    ) internal view returns (FeedRead memory r) {
        r = _read(feed, heartbeat, decimals, o);
        if (r.status != PriceStatus.OK) revert Errors.FeedUnhealthy(feed, r.status);
    }

    /// @dev True when the sequencer is down, unreadable, or up for no longer than the grace period.
    function _sequencerDown() internal view returns (bool) {
        address feed = _sequencerFeed;
        if (feed == address(0)) return false;
        (bool ok, , int256 answer, uint256 startedAt, ) = _call(feed);
        if (!ok || answer != 0 || startedAt == 0 || startedAt > block.timestamp) return true;
        return block.timestamp - startedAt <= _gracePeriod;
    }

    /// @dev Calls `latestRoundData()` with a fixed gas allowance and copies back at most 160 bytes (no
    /// return-data bomb). `ok` is false when the call reverted, ran out of its allowance, the address has
    /// no code, or the answer is shorter than five words. Reverts when the caller left too little gas to
    /// give the feed its whole allowance, so that a failure is always the feed's own.
    function _call(
        address feed
    ) internal view returns (bool ok, uint256 roundId, int256 answer, uint256 startedAt, uint256 updatedAt) {
        uint256 left = gasleft();
        if (left < MIN_GAS_FOR_READ) revert Errors.OracleGasTooLow(left, MIN_GAS_FOR_READ);
        bytes4 selector = AggregatorV3Interface.latestRoundData.selector;
        uint256 gasLimit = FEED_GAS_LIMIT;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            let success := staticcall(gasLimit, feed, ptr, 4, ptr, 160)
            if and(success, gt(returndatasize(), 159)) {
                ok := 1
                roundId := mload(ptr)
                answer := mload(add(ptr, 32))
                startedAt := mload(add(ptr, 64))
                updatedAt := mload(add(ptr, 96))
            }
        }
    }

    /// @dev Reads a feed's decimals for listing.
    function _decimals(address feed) internal view returns (uint8) {
        // A call to an address without code reverts before try/catch could catch it.
        if (feed.code.length == 0) revert Errors.FeedUnreadable(feed);
        uint8 decimals;
        try AggregatorV3Interface(feed).decimals() returns (uint8 d) {
            decimals = d;
        } catch {
            revert Errors.FeedUnreadable(feed);
        }
        if (decimals > 18) revert Errors.FeedDecimalsUnsupported(feed, decimals);
        return decimals;
    }

    /* INTERNAL: HELPERS */

    function _listed(address asset) internal view returns (AssetOracle storage o) {
        o = _oracles[asset];
        if (o.primaryFeed == address(0)) revert Errors.AssetNotListed(asset);
    }

    /// @dev True when `a` differs from `b` by more than `tolerance` (WAD) of `b`. Exact: no rounding.
    function _apart(uint256 a, uint256 b, uint256 tolerance) internal pure returns (bool) {
        uint256 diff = a > b ? a - b : b - a;
        return diff * WAD > tolerance * b;
    }
}
