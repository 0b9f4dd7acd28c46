// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// solhint-disable immutable-vars-naming, avoid-low-level-calls, no-inline-assembly

/// @title SimActor
/// @notice One account of the simulator's population: a minimal clone that makes calls only for the harness
/// that created it. The protocol sees an ordinary account (msg.sender), so supplying, borrowing and trading
/// through it is the real entry point, not a shortcut.
contract SimActor {
    address private immutable harness;

    error NotHarness(address caller);

    constructor() {
        harness = msg.sender;
    }

    function exec(address target, bytes calldata data) external returns (bytes memory ret) {
        if (msg.sender != harness) revert NotHarness(msg.sender);
        bool ok;
        (ok, ret) = target.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }
}
