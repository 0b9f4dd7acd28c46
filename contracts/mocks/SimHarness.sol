// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// solhint-disable immutable-vars-naming, avoid-low-level-calls

import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";

import {SimActor} from "./SimActor.sol";

/// @title SimHarness
/// @notice Simulator scaffolding (never deployed by deploySystem): batches many operations into one
/// transaction or one view call, which runs thousands of times faster than one transaction per operation on
/// the in-process chain. `setup` builds a population (each account a SimActor clone); `multicall` sends a
/// step's oracle updates and accruals together; `aggregate` reads a step's state in one eth_call.
contract SimHarness {
    /// One operation of a setup batch: `actor` 0 is the harness itself, otherwise the clone with that id.
    /// Operations share a `group` (one account's setup); once one fails, the rest of its group is skipped.
    struct Op {
        uint256 group;
        uint256 actor;
        address target;
        bytes data;
    }

    /// Stop a batch while this much gas is left, so that it ends cleanly instead of running out of gas.
    uint256 private constant GAS_RESERVE = 1_500_000;

    address public immutable actorImplementation;

    event OpFailed(uint256 indexed group, uint256 op, bytes reason);
    event BatchStopped(uint256 next);

    error CallFailed(uint256 index, bytes reason);

    constructor() {
        actorImplementation = address(new SimActor());
    }

    /// @notice The address of actor `id` (created by the first operation that uses it).
    function actorOf(uint256 id) public view returns (address) {
        return Clones.predictDeterministicAddress(actorImplementation, bytes32(id));
    }

    /// @notice Runs `ops` from `start`; stops early (event BatchStopped with the next index) when gas runs low.
    function setup(Op[] calldata ops, uint256 start) external {
        uint256 failedGroup = type(uint256).max;
        for (uint256 i = start; i < ops.length; ++i) {
            if (gasleft() < GAS_RESERVE) {
                emit BatchStopped(i);
                return;
            }
            Op calldata op = ops[i];
            if (op.group == failedGroup) continue;
            bool ok;
            bytes memory ret;
            if (op.actor == 0) {
                (ok, ret) = op.target.call(op.data);
            } else {
                address actor = actorOf(op.actor);
                if (actor.code.length == 0) Clones.cloneDeterministic(actorImplementation, bytes32(op.actor));
                (ok, ret) = actor.call(abi.encodeCall(SimActor.exec, (op.target, op.data)));
            }
            if (!ok) {
                failedGroup = op.group;
                emit OpFailed(op.group, i, ret);
            }
        }
    }

    /// @notice Calls each target in order; reverts with the index of the first failure.
    function multicall(address[] calldata targets, bytes[] calldata data) external {
        for (uint256 i = 0; i < targets.length; ++i) {
            (bool ok, bytes memory ret) = targets[i].call(data[i]);
            if (!ok) revert CallFailed(i, ret);
        }
    }

    /// @notice Reads many views in one call; a failed read gives ok = false and its revert data.
    function aggregate(
        address[] calldata targets,
        bytes[] calldata data
    ) external view returns (bool[] memory ok, bytes[] memory results) {
        ok = new bool[](targets.length);
        results = new bytes[](targets.length);
        for (uint256 i = 0; i < targets.length; ++i) {
            (ok[i], results[i]) = targets[i].staticcall(data[i]);
        }
    }
}
