// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Memory} from "@openzeppelin/contracts/utils/Memory.sol";
import {AuditEntry, UseOutcome, isRecentBlock} from "./MedshareTypes.sol";
import {Registration} from "./Registration.sol";

/// @title Audit — who used which record for what (paper §5.1(3)(e), §5.5.2, Fig. 4)
/// @notice An active TEE records what it did with each consented record of a job: used for the
/// result, decrypted for a training that then failed, or refused (and why) — every record it
/// decrypted gets an entry whether training succeeded or not. Entries live only in
/// `AuditRecorded` events, indexed by owner, job and record, so an owner lists its audit trail
/// with one `eth_getLogs` topic filter. No storage is written. Each batch names the block the
/// enclave's view of the chain came from, accepted only while it is among the 256 most recent.
contract Audit {
    /// The Registration contract consulted for roles.
    Registration public immutable registration;

    /// The caller is not an active TEE.
    error NotActiveTee(address caller);
    /// The batch is empty.
    error EmptyBatch();
    /// The block the TEE's view came from is not among the 256 most recent blocks (or its hash
    /// is not that block's).
    error StaleView(uint64 viewBlock, bytes32 viewHash);

    /// One record in one job: {MID_j = demander, RM_j = requirementHash, HRT_j = modelHashOk,
    /// HRT_i = recordHashOk, PK_T = tee, PK_j = demander, model_j = modelHash}, what the enclave
    /// did with it, the ε the job spent on it, the block its view came from, and the block time.
    event AuditRecorded(
        address indexed owner,
        bytes32 indexed jobId,
        bytes32 indexed ciphertextHash,
        address demander,
        bytes32 requirementHash,
        bytes32 modelHash,
        bool modelHashOk,
        bool recordHashOk,
        UseOutcome outcome,
        uint32 epsilonMilli,
        address tee,
        uint64 viewBlock,
        uint64 timestamp
    );

    constructor(Registration registration_) {
        registration = registration_;
    }

    /// Records a batch of entries. Active TEEs only; the TEE is the sender; the view's block
    /// must be recent.
    function recordUse(uint64 viewBlock, bytes32 viewHash, AuditEntry[] calldata entries) external {
        if (!registration.isActiveTee(msg.sender)) revert NotActiveTee(msg.sender);
        if (!isRecentBlock(viewBlock, viewHash)) revert StaleView(viewBlock, viewHash);
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
                e.outcome,
                e.epsilonMilli,
                msg.sender,
                viewBlock,
                ts
            );
            Memory.unsafeSetFreeMemoryPointer(fmp);
        }
    }
}
