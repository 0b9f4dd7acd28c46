// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// solhint-disable const-name-snakecase, immutable-vars-naming, no-empty-blocks

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title MockSequencerFeed
/// @notice Test-only L2 sequencer uptime feed: answer 0 is up, 1 is down; `startedAt` is when the status
/// last changed (Chainlink's convention), `updatedAt` is the latest heartbeat.
contract MockSequencerFeed is AggregatorV3Interface {
    error MockFeedReverted();

    uint8 public constant override decimals = 0;
    string public constant override description = "L2 Sequencer Uptime Status Feed";
    uint256 public constant override version = 1;

    uint80 public roundId = 1;
    int256 public answer;
    uint256 public startedAt;
    bool public reverting;

    constructor() {
        startedAt = block.timestamp;
    }

    function setDown() external {
        _set(1, block.timestamp);
    }

    function setUp() external {
        _set(0, block.timestamp);
    }

    /// @notice Sets any answer and `startedAt` (zero, future, or a status change long ago).
    function setStatus(int256 answer_, uint256 startedAt_) external {
        _set(answer_, startedAt_);
    }

    function setReverting(bool reverting_) external {
        reverting = reverting_;
    }

    function latestRoundData() public view override returns (uint80, int256, uint256, uint256, uint80) {
        if (reverting) revert MockFeedReverted();
        return (roundId, answer, startedAt, block.timestamp, roundId);
    }

    function getRoundData(uint80) external view override returns (uint80, int256, uint256, uint256, uint80) {
        return latestRoundData();
    }

    function _set(int256 answer_, uint256 startedAt_) internal {
        roundId += 1;
        answer = answer_;
        startedAt = startedAt_;
    }
}
