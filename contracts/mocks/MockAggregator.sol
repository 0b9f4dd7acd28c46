// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// solhint-disable const-name-snakecase, immutable-vars-naming, no-empty-blocks

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title MockAggregator
/// @notice Test-only Chainlink feed that can be told to fail in every way a real feed has failed.
/// @dev Each `setPrice` pushes a round stamped now (the "market" moves). Faults change what
/// `latestRoundData` reports: REVERT, BURN_GAS (loops until its gas is gone), SHORT_RETURN (one word of
/// return data), FREEZE (the answer at freeze time with a fresh timestamp on every read, while the market
/// rounds keep moving), WIDE_ROUND (a round id word wider than uint80: garbage ABI data), a floor and a
/// ceiling that clamp answers (Chainlink's minAnswer/maxAnswer), and a lag of N rounds (an old round with
/// its old timestamp).
contract MockAggregator is AggregatorV3Interface {
    enum Mode {
        NORMAL,
        REVERT,
        BURN_GAS,
        SHORT_RETURN,
        FREEZE,
        WIDE_ROUND
    }

    struct Round {
        int256 answer;
        uint256 startedAt;
        uint256 updatedAt;
    }

    error MockFeedReverted();
    error MockNoSuchRound(uint80 roundId);

    uint8 public immutable override decimals;
    string public override description;
    uint256 public constant override version = 4;

    mapping(uint80 roundId => Round) internal _rounds;
    uint80 public latestRound;
    Mode public mode;
    uint80 public lag;
    int256 public frozenAnswer;
    int256 public floor;
    int256 public ceiling;

    constructor(uint8 decimals_, int256 initialAnswer, string memory description_) {
        decimals = decimals_;
        description = description_;
        setPrice(initialAnswer);
    }

    /* THE MARKET */

    /// @notice Pushes a round with `answer` (clamped to the floor and ceiling, if set), stamped now.
    function setPrice(int256 answer) public {
        _push(_clamp(answer), block.timestamp, block.timestamp);
    }

    /// @notice Pushes a round with explicit timestamps, unclamped (zero, future or old `updatedAt`).
    function setRound(int256 answer, uint256 startedAt, uint256 updatedAt) external {
        _push(answer, startedAt, updatedAt);
    }

    /// @notice Back-dates the latest round so that it is `age` seconds old: the feed stops updating.
    function goStale(uint256 age) external {
        _rounds[latestRound].updatedAt = block.timestamp - age;
    }

    /// @notice Pushes one round at `spike`; the next `setPrice` brings the feed back.
    function spikeOnce(int256 spike) external {
        _push(spike, block.timestamp, block.timestamp);
    }

    /* FAULTS */

    function setMode(Mode mode_) external {
        if (mode_ == Mode.FREEZE) frozenAnswer = _rounds[latestRound].answer;
        mode = mode_;
    }

    /// @notice Answers below `floor_` are reported as `floor_` from the next push on (zero: no floor).
    function setFloor(int256 floor_) external {
        floor = floor_;
    }

    /// @notice Answers above `ceiling_` are reported as `ceiling_` from the next push on (zero: none).
    function setCeiling(int256 ceiling_) external {
        ceiling = ceiling_;
    }

    /// @notice Reports the round `rounds` behind the latest (with its own timestamp).
    function setLag(uint80 rounds) external {
        lag = rounds;
    }

    /// @notice Clears every fault.
    function heal() external {
        mode = Mode.NORMAL;
        lag = 0;
    }

    /* AggregatorV3Interface */

    function latestRoundData() external view override returns (uint80, int256, uint256, uint256, uint80) {
        Mode m = mode;
        if (m == Mode.REVERT) revert MockFeedReverted();
        if (m == Mode.BURN_GAS) {
            assembly {
                for {} 1 {} {}
            }
        }
        if (m == Mode.SHORT_RETURN) {
            assembly {
                mstore(0, 1)
                return(0, 32)
            }
        }
        if (m == Mode.WIDE_ROUND) {
            Round memory latest = _rounds[latestRound];
            bytes memory words = abi.encode(
                uint256(1) << 80,
                latest.answer,
                latest.startedAt,
                latest.updatedAt,
                0
            );
            assembly {
                return(add(words, 32), 160)
            }
        }
        if (m == Mode.FREEZE) {
            return (latestRound, frozenAnswer, block.timestamp, block.timestamp, latestRound);
        }
        uint80 id = lag >= latestRound ? 1 : latestRound - lag;
        Round memory r = _rounds[id];
        return (id, r.answer, r.startedAt, r.updatedAt, id);
    }

    function getRoundData(
        uint80 roundId
    ) external view override returns (uint80, int256, uint256, uint256, uint80) {
        if (roundId == 0 || roundId > latestRound) revert MockNoSuchRound(roundId);
        Round memory r = _rounds[roundId];
        return (roundId, r.answer, r.startedAt, r.updatedAt, roundId);
    }

    /// @notice The market's latest answer, whatever the feed reports.
    function marketAnswer() external view returns (int256) {
        return _rounds[latestRound].answer;
    }

    function _push(int256 answer, uint256 startedAt, uint256 updatedAt) internal {
        latestRound += 1;
        _rounds[latestRound] = Round(answer, startedAt, updatedAt);
    }

    function _clamp(int256 answer) internal view returns (int256) {
        if (floor != 0 && answer < floor) return floor;
        if (ceiling != 0 && answer > ceiling) return ceiling;
        return answer;
    }
}
