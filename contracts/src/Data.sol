// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Memory} from "@openzeppelin/contracts/utils/Memory.sol";
import {Record, Role, MedshareHashing} from "./MedshareTypes.sol";
import {Registration} from "./Registration.sol";

/// @title Data — the record list (paper §5.1(3)(b), §5.2.3)
/// @notice Maps each record's ciphertext hash (HDS_i) to one storage slot holding the EIP-712
/// struct hash of its Record (the paper's TD_i). Every field of the record and the owner's
/// signature US_i are published in `RecordRegistered`; list records by owner or data type with
/// `eth_getLogs` topic filters and keep those for which `verifyRecord` is true.
/// @dev US_i is not checked on chain: the transaction's sender is the record's owner, which
/// already authenticates it, and the TEE verifies US_i (the paper's VT_i) before use. Skipping
/// ecrecover saves ~4,000 gas per record. A ciphertext hash is registered at most once, ever:
/// deleting or replacing a record leaves a tombstone, so an old record cannot be replayed.
contract Data is EIP712 {
    /// Stored in place of a deleted record's commitment.
    bytes32 private constant TOMBSTONE = bytes32(uint256(1));
    /// Length of a compressed secp256k1 point (cm, rUg).
    uint256 private constant POINT_LEN = 33;

    /// keccak256 of the EIP-712 Record type string.
    bytes32 public constant RECORD_TYPEHASH = MedshareHashing.RECORD_TYPEHASH;

    /// The Registration contract consulted for roles.
    Registration public immutable registration;

    mapping(bytes32 ciphertextHash => bytes32 commitment) private _commitments;

    /// The caller is not a registered user.
    error NotUser(address caller);
    /// The record's owner is not the caller.
    error NotRecordOwner(address caller, address owner);
    /// `records` and `signatures` differ in length, or the batch is empty.
    error BadBatch(uint256 records, uint256 signatures);
    /// This ciphertext hash was registered before (possibly then deleted).
    error AlreadyRegistered(bytes32 ciphertextHash);
    /// The record does not match the live commitment stored for its ciphertext hash.
    error RecordMismatch(bytes32 ciphertextHash);
    /// `cm` or `rUg` is not a 33-byte compressed point, or the ciphertext hash is zero.
    error MalformedRecord(bytes32 ciphertextHash);
    /// An update may not change the record's owner.
    error OwnerChange(address from, address to);

    /// A record was registered (or is the new version of an updated record). Together with the
    /// three topics this carries every Record field and the owner's signature US_i.
    event RecordRegistered(
        address indexed owner,
        bytes32 indexed dataType,
        bytes32 indexed ciphertextHash,
        bytes32 recordId,
        bytes32 storageIndex,
        uint64 timestamp,
        bytes cm,
        bytes rUg,
        bytes32 padCommitment,
        address tee,
        bytes signature
    );
    /// A record was replaced; the new version is in the `RecordRegistered` emitted with it.
    event RecordUpdated(address indexed owner, bytes32 indexed oldCiphertextHash, bytes32 indexed newCiphertextHash);
    /// A record was deleted.
    event RecordDeleted(address indexed owner, bytes32 indexed ciphertextHash);

    constructor(Registration registration_) EIP712("medshare", "1") {
        registration = registration_;
    }

    /// Registers a batch of the caller's records. Registered users only; every record's owner
    /// must be the caller. One storage slot per record.
    function registerRecords(Record[] calldata records, bytes[] calldata signatures) external {
        uint256 n = records.length;
        if (n == 0 || n != signatures.length) revert BadBatch(n, signatures.length);
        if (registration.roleOf(msg.sender) != Role.User) revert NotUser(msg.sender);
        // Free each iteration's scratch memory (event encoding, hashing): memory cost grows
        // quadratically, so a batch of n items would otherwise pay O(n^2). Nothing allocated
        // inside an iteration is used after it.
        Memory.Pointer fmp = Memory.getFreeMemoryPointer();
        for (uint256 i = 0; i < n; ++i) {
            Record calldata rec = records[i];
            if (rec.owner != msg.sender) revert NotRecordOwner(msg.sender, rec.owner);
            _store(rec, signatures[i]);
            Memory.unsafeSetFreeMemoryPointer(fmp);
        }
    }

    /// Replaces one of the caller's records with a new version (same owner; the ciphertext hash
    /// may change, in which case the old one is tombstoned). Owner only.
    function updateRecord(Record calldata oldRecord, Record calldata newRecord, bytes calldata signature) external {
        _requireLive(oldRecord);
        if (newRecord.owner != oldRecord.owner) revert OwnerChange(oldRecord.owner, newRecord.owner);
        if (newRecord.ciphertextHash == oldRecord.ciphertextHash) {
            // Same key: clear the slot; _store below writes the new commitment into it.
            _commitments[oldRecord.ciphertextHash] = bytes32(0);
        } else {
            _commitments[oldRecord.ciphertextHash] = TOMBSTONE;
        }
        emit RecordUpdated(msg.sender, oldRecord.ciphertextHash, newRecord.ciphertextHash);
        _store(newRecord, signature);
    }

    /// Deletes one of the caller's records (tombstones its ciphertext hash). Owner only.
    function deleteRecord(Record calldata rec) external {
        _requireLive(rec);
        _commitments[rec.ciphertextHash] = TOMBSTONE;
        emit RecordDeleted(msg.sender, rec.ciphertextHash);
    }

    // ---------------------------------------------------------------- views

    /// The live commitment (hashStruct(Record)) for a ciphertext hash; zero if none or deleted.
    function commitmentOf(bytes32 ciphertextHash) external view returns (bytes32) {
        bytes32 c = _commitments[ciphertextHash];
        return c == TOMBSTONE ? bytes32(0) : c;
    }

    /// True if the ciphertext hash was registered and later deleted or replaced.
    function isDeleted(bytes32 ciphertextHash) external view returns (bool) {
        return _commitments[ciphertextHash] == TOMBSTONE;
    }

    /// True if `rec` is exactly the live record stored under its ciphertext hash.
    function verifyRecord(Record calldata rec) external view returns (bool) {
        return _commitments[rec.ciphertextHash] == MedshareHashing.hashRecord(rec);
    }

    /// hashStruct(Record), the value stored as the record's commitment.
    function hashRecord(Record calldata rec) external pure returns (bytes32) {
        return MedshareHashing.hashRecord(rec);
    }

    /// The EIP-712 digest the owner signs for `rec` (US_i).
    function recordDigest(Record calldata rec) external view returns (bytes32) {
        return _hashTypedDataV4(MedshareHashing.hashRecord(rec));
    }

    /// This contract's EIP-712 domain separator (follows block.chainid).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- internals

    function _requireLive(Record calldata rec) private view {
        if (rec.owner != msg.sender) revert NotRecordOwner(msg.sender, rec.owner);
        bytes32 stored = _commitments[rec.ciphertextHash];
        if (stored == TOMBSTONE || stored != MedshareHashing.hashRecord(rec)) revert RecordMismatch(rec.ciphertextHash);
    }

    function _store(Record calldata rec, bytes calldata signature) private {
        bytes32 key = rec.ciphertextHash;
        if (key == bytes32(0) || rec.cm.length != POINT_LEN || rec.rUg.length != POINT_LEN) {
            revert MalformedRecord(key);
        }
        if (_commitments[key] != bytes32(0)) revert AlreadyRegistered(key);
        _commitments[key] = MedshareHashing.hashRecord(rec);
        emit RecordRegistered(
            rec.owner,
            rec.dataType,
            key,
            rec.recordId,
            rec.storageIndex,
            rec.timestamp,
            rec.cm,
            rec.rUg,
            rec.padCommitment,
            rec.tee,
            signature
        );
    }
}
