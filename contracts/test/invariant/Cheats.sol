// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

// The few forge cheatcodes and invariant-target hooks this suite uses, written by hand: forge-std
// (where they usually come from) is not published on a registry this project can reach, and we
// do not vendor it. Signatures are forge's (forge-std src/Vm.sol, src/StdInvariant.sol); forge
// recognises them by ABI, not by name.

/// A log captured by `recordLogs` / `getRecordedLogs`.
struct Log {
    bytes32[] topics;
    bytes data;
    address emitter;
}

/// A key pair made by `createWallet` (public key as the uncompressed point's coordinates).
struct Wallet {
    address addr;
    uint256 publicKeyX;
    uint256 publicKeyY;
    uint256 privateKey;
}

/// forge's cheatcode contract, at its fixed address.
interface Vm {
    function prank(address msgSender) external;
    function startPrank(address msgSender) external;
    function stopPrank() external;
    function roll(uint256 newHeight) external;
    function warp(uint256 newTimestamp) external;
    function createWallet(string calldata walletLabel) external returns (Wallet memory wallet);
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory logs);
    function getNonce(address account) external view returns (uint64 nonce);
    function computeCreateAddress(address deployer, uint256 nonce) external pure returns (address);
    function readFile(string calldata path) external view returns (string memory data);
    function parseJsonBytes(string calldata json, string calldata key) external pure returns (bytes memory);
    function label(address account, string calldata newLabel) external;
    function snapshotState() external returns (uint256 snapshotId);
    function revertToState(uint256 snapshotId) external returns (bool success);
}

Vm constant vm = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

/// The hooks forge calls on an invariant test contract to learn what to fuzz (forge-std's
/// StdInvariant has the same ABI). Only the ones this suite needs.
abstract contract InvariantTargets {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetContracts;
    FuzzSelector[] private _targetSelectors;

    function targetContracts() public view returns (address[] memory) {
        return _targetContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetSelectors;
    }

    function _target(address target, bytes4[] memory selectors) internal {
        _targetContracts.push(target);
        _targetSelectors.push(FuzzSelector({addr: target, selectors: selectors}));
    }
}
