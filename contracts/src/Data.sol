// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Record, Role, MedshareHashing} from "./MedshareTypes.sol";
import {Registration} from "./Registration.sol";

/// @title Data — the record list (paper §5.1(3)(b), §5.2.3)
/// @notice A record TD_i is registered on chain by hash: its ciphertext hash HDS_i (the key) and
/// its commitment hashStruct(Record), the EIP-712 struct hash its owner signs as US_i. Data
/// stores, per ciphertext hash, the commitment bound to the registering account
/// (`MedshareHashing.ownedCommitment`), so a record is live only if its `owner` registered it.
/// The full TD_i and US_i travel with the ciphertext in off-chain storage; anyone holding them
/// checks them against the chain with `verifyRecord`, and the TEE verifies US_i (VT_i).
/// `RecordRegistered` is indexed by owner, data type and ciphertext hash, so records are listed
/// with `eth_getLogs` topic filters.
/// @dev One storage slot and one four-topic log per record, no loop over stored state: a batch
/// of records costs about 25,000 gas each. A ciphertext hash is registered at most once, ever:
/// deleting or replacing a record leaves a tombstone, so an old record cannot be replayed.
contract Data is EIP712 {
    /// Stored in place of a deleted record's commitment.
    bytes32 private constant TOMBSTONE = bytes32(uint256(1));

    /// keccak256 of the EIP-712 Record type string.
    bytes32 public constant RECORD_TYPEHASH = MedshareHashing.RECORD_TYPEHASH;

    /// The Registration contract consulted for roles.
    Registration public immutable registration;

    mapping(bytes32 ciphertextHash => bytes32 ownedCommitment) private _commitments;

    /// The caller is not a registered user.
    error NotUser(address caller);
    /// The record's owner is not the caller.
    error NotRecordOwner(address caller, address owner);
    /// `ciphertextHashes` and `commitments` differ in length, or the batch is empty.
    error BadBatch(uint256 records, uint256 commitments);
    /// This ciphertext hash was registered before (possibly then deleted).
    error AlreadyRegistered(bytes32 ciphertextHash);
    /// The record is not the live record registered under its ciphertext hash by its owner.
    error RecordMismatch(bytes32 ciphertextHash);
    /// The ciphertext hash or the commitment is zero.
    error MalformedRecord(bytes32 ciphertextHash);

    /// A record was registered (or is the new version of an updated record) by `owner`:
    /// `commitment` is hashStruct(Record) of its TD_i.
    event RecordRegistered(
        address indexed owner, bytes32 indexed dataType, bytes32 indexed ciphertextHash, bytes32 commitment
    );
    /// A record was replaced; the new version is in the `RecordRegistered` emitted with it.
    event RecordUpdated(address indexed owner, bytes32 indexed oldCiphertextHash, bytes32 indexed newCiphertextHash);
    /// A record was deleted.
    event RecordDeleted(address indexed owner, bytes32 indexed ciphertextHash);

    constructor(Registration registration_) EIP712("medshare", "1") {
        registration = registration_;
    }

    /// Registers a batch of the caller's records of one data type: `commitments[i]` is
    /// hashStruct(Record) of the record whose ciphertext hash is `ciphertextHashes[i]`.
    /// Registered users only. One storage slot per record.
    function registerRecords(bytes32 dataType, bytes32[] calldata ciphertextHashes, bytes32[] calldata commitments)
        external
    {
        uint256 n = ciphertextHashes.length;
        if (n == 0 || n != commitments.length) revert BadBatch(n, commitments.length);
        if (registration.roleOf(msg.sender) != Role.User) revert NotUser(msg.sender);
        for (uint256 i = 0; i < n; ++i) {
            _store(dataType, ciphertextHashes[i], commitments[i]);
        }
    }

    /// Replaces one of the caller's records by a new version of the same data type (the
    /// ciphertext hash may stay, else the old one is tombstoned). Owner only.
    function updateRecord(Record calldata oldRecord, bytes32 newCiphertextHash, bytes32 newCommitment) external {
        _requireLive(oldRecord);
        if (newCiphertextHash == oldRecord.ciphertextHash) {
            // Same key: clear the slot; _store below writes the new commitment into it.
            _commitments[oldRecord.ciphertextHash] = bytes32(0);
        } else {
            _commitments[oldRecord.ciphertextHash] = TOMBSTONE;
        }
        emit RecordUpdated(msg.sender, oldRecord.ciphertextHash, newCiphertextHash);
        _store(oldRecord.dataType, newCiphertextHash, newCommitment);
    }

    /// Deletes one of the caller's records (tombstones its ciphertext hash). Owner only.
    function deleteRecord(Record calldata rec) external {
        _requireLive(rec);
        _commitments[rec.ciphertextHash] = TOMBSTONE;
        emit RecordDeleted(msg.sender, rec.ciphertextHash);
    }

    // ---------------------------------------------------------------- views

    /// What is stored for a ciphertext hash: ownedCommitment(owner, hashStruct(Record)); zero
    /// if none or deleted.
    function commitmentOf(bytes32 ciphertextHash) external view returns (bytes32) {
        bytes32 c = _commitments[ciphertextHash];
        return c == TOMBSTONE ? bytes32(0) : c;
    }

    /// True if the ciphertext hash was registered and later deleted or replaced.
    function isDeleted(bytes32 ciphertextHash) external view returns (bool) {
        return _commitments[ciphertextHash] == TOMBSTONE;
    }

    /// True if `rec` is exactly the live record its owner registered under its ciphertext hash.
    function verifyRecord(Record calldata rec) external view returns (bool) {
        return _commitments[rec.ciphertextHash]
            == MedshareHashing.ownedCommitment(rec.owner, MedshareHashing.hashRecord(rec));
    }

    /// hashStruct(Record), the commitment registered for a record.
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
        if (stored == TOMBSTONE || stored != MedshareHashing.ownedCommitment(rec.owner, MedshareHashing.hashRecord(rec)))
        {
            revert RecordMismatch(rec.ciphertextHash);
        }
    }

    function _store(bytes32 dataType, bytes32 ciphertextHash, bytes32 commitment) private {
        if (ciphertextHash == bytes32(0) || commitment == bytes32(0)) revert MalformedRecord(ciphertextHash);
        if (_commitments[ciphertextHash] != bytes32(0)) revert AlreadyRegistered(ciphertextHash);
        _commitments[ciphertextHash] = MedshareHashing.ownedCommitment(msg.sender, commitment);
        emit RecordRegistered(msg.sender, dataType, ciphertextHash, commitment);
    }
}
