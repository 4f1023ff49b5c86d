// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Memory} from "@openzeppelin/contracts/utils/Memory.sol";
import {AuditEntry} from "./MedshareTypes.sol";
import {Registration} from "./Registration.sol";

/// @title Audit — who used which record for what (paper §5.1(3)(e), §5.5.2, Fig. 4)
/// @notice An active TEE records each use of a record in a job. Entries live only in
/// `AuditRecorded` events, indexed by owner, job and record, so an owner lists its audit trail
/// with one `eth_getLogs` topic filter. No storage is written.
contract Audit {
    /// The Registration contract consulted for roles.
    Registration public immutable registration;

    /// The caller is not an active TEE.
    error NotActiveTee(address caller);
    /// The batch is empty.
    error EmptyBatch();

    /// One use of one record in one job: {MID_j = demander, RM_j = requirementHash,
    /// HRT_j = modelHashOk, HRT_i = recordHashOk, PK_T = tee, PK_j = demander,
    /// model_j = modelHash}, with the block time.
    event AuditRecorded(
        address indexed owner,
        bytes32 indexed jobId,
        bytes32 indexed ciphertextHash,
        address demander,
        bytes32 requirementHash,
        bytes32 modelHash,
        bool modelHashOk,
        bool recordHashOk,
        address tee,
        uint64 timestamp
    );

    constructor(Registration registration_) {
        registration = registration_;
    }

    /// Records a batch of uses. Active TEEs only; the TEE is the sender.
    function recordUse(AuditEntry[] calldata entries) external {
        if (!registration.isActiveTee(msg.sender)) revert NotActiveTee(msg.sender);
        uint256 n = entries.length;
        if (n == 0) revert EmptyBatch();
        uint64 ts = uint64(block.timestamp);
        // Free each iteration's scratch memory (event encoding, hashing): memory cost grows
        // quadratically, so a batch of n items would otherwise pay O(n^2). Nothing allocated
        // inside an iteration is used after it.
        Memory.Pointer fmp = Memory.getFreeMemoryPointer();
        for (uint256 i = 0; i < n; ++i) {
            AuditEntry calldata e = entries[i];
            emit AuditRecorded(
                e.owner,
                e.jobId,
                e.ciphertextHash,
                e.demander,
                e.requirementHash,
                e.modelHash,
                e.modelHashOk,
                e.recordHashOk,
                msg.sender,
                ts
            );
            Memory.unsafeSetFreeMemoryPointer(fmp);
        }
    }
}
