// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Memory} from "@openzeppelin/contracts/utils/Memory.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Record, Role, JobStatus, MedshareHashing, IPrivacyBudgets, EPSILON_INFINITE} from "./MedshareTypes.sol";
import {Registration} from "./Registration.sol";
import {Data} from "./Data.sol";
import {Model} from "./Model.sol";

/// @title Authorization — owners' consent and key-sharing material (paper §5.1(3)(c), §5.2.3(e),
/// §5.4.2(1))
/// @notice A record's owner authorizes a job to use it either per job (`grant`, or
/// `grantWithSignature` relayed by anyone with an EIP-712 Consent) or by a standing policy for
/// one data type (`setPolicy`, any approved job of that type). The pad r_C·PK_C that the TEE
/// needs to recover KEY_i is released here, with a grant or by `releasePads`, never at storage
/// time; r_U·g is part of the Record (Data's event). A pad is released only while the TEE the
/// record's key is shared to is active (admitted, not revoked): a revoked TEE gets nothing new.
/// Each record also has a privacy budget its owner sets with the consent (`grant`,
/// `releasePads`) or later (`setBudget`): the total ε, in thousandths, that jobs may spend on
/// it. Model debits each job's ε from every record the job trained on before its result is
/// posted; a record whose budget cannot pay is not used (the enclave checks the budget from the
/// chain) and a debit beyond the budget reverts. `EPSILON_INFINITE` is an unlimited budget, the
/// only one a job without differential privacy may use.
/// A bulk consent (`grantBatch`) covers many records with one slot: the owner puts the list of
/// record versions, with their pads, in off-chain storage and commits to it here by the root of
/// a Merkle tree over their commitments (leaf keccak256(abi.encode(hashStruct(Record))), pairs
/// hashed in sorted order as OpenZeppelin's MerkleProof). Its budget applies to each of its
/// records that has none of its own yet (set when the first job's debit lands). The enclave
/// checks membership, the record's liveness and owner, and the pad against the record's
/// padCommitment itself (state proofs and the Merkle path); this contract checks none of them
/// per record, which is what lets 20,000 records be consented in a few transactions.
/// @dev A grant is stored under keccak256(hashStruct(Record), jobId): it covers exactly that
/// version of the record, so updating or deleting the record voids it. One slot per grant;
/// one per bulk consent, under keccak256(owner, jobId, root), and one per record revoked from
/// a bulk consent.
contract Authorization is EIP712, Nonces, IPrivacyBudgets {
    /// A record's privacy budget (one storage slot).
    struct Budget {
        /// The total ε (thousandths) jobs may spend on the record; `EPSILON_INFINITE`: unlimited.
        uint32 totalMilli;
        /// What jobs have spent.
        uint32 spentMilli;
    }

    /// A bulk consent (one storage slot).
    struct BatchGrant {
        /// The budget (total ε, thousandths) of each of its records that has none of its own
        /// when a job first debits it; 0: none (such a record cannot pay a job with ε).
        uint32 budgetMilli;
        /// How many records the owner says it lists.
        uint32 count;
        /// Granted and not revoked as a whole.
        bool live;
    }

    /// keccak256 of the EIP-712 Consent type string.
    bytes32 public constant CONSENT_TYPEHASH = MedshareHashing.CONSENT_TYPEHASH;

    /// The Registration contract consulted for roles.
    Registration public immutable registration;
    /// The Data contract holding record commitments.
    Data public immutable data;
    /// The Model contract holding jobs.
    Model public immutable model;

    mapping(bytes32 grantKey => bool) private _grants;
    mapping(address owner => mapping(bytes32 dataType => bool)) private _policies;
    mapping(bytes32 ciphertextHash => Budget) private _budgets;
    mapping(bytes32 batchKey => BatchGrant) private _batchGrants;
    mapping(bytes32 revocationKey => bool) private _batchRevocations;

    /// The caller is not a registered user.
    error NotUser(address caller);
    /// The record's owner is not the caller.
    error NotRecordOwner(address caller, address owner);
    /// The record is not the live record its owner registered in Data under its ciphertext hash.
    error UnknownRecord(bytes32 ciphertextHash);
    /// keccak256(rCPkC) differs from the record's padCommitment.
    error PadMismatch(bytes32 ciphertextHash);
    /// The job is not approved (or is already finished).
    error JobNotApproved(bytes32 jobId, JobStatus status);
    /// The job asks for another data type than the record's.
    error DataTypeMismatch(bytes32 jobId, bytes32 jobDataType, bytes32 recordDataType);
    /// This record version is already granted to this job.
    error AlreadyGranted(bytes32 ciphertextHash, bytes32 jobId);
    /// There is no grant of this record version to this job.
    error NotGranted(bytes32 ciphertextHash, bytes32 jobId);
    /// The consent's deadline has passed.
    error ConsentExpired(uint256 deadline);
    /// The consent signature is malformed or not by the record's owner (with the current nonce).
    error BadConsentSignature(address owner, address signer);
    /// `records` and `pads` differ in length, or the batch is empty.
    error BadBatch(uint256 records, uint256 pads);
    /// The TEE the record's key is shared to is not active (never admitted, or revoked).
    error TeeNotActive(address tee);
    /// The caller is not the Model contract.
    error NotModel(address caller);
    /// A record's budget cannot pay the job's ε.
    error BudgetExhausted(bytes32 ciphertextHash, uint32 totalMilli, uint32 spentMilli, uint32 epsilonMilli);
    /// This bulk consent is already live.
    error BatchAlreadyGranted(bytes32 jobId, bytes32 root);
    /// The caller has no live bulk consent with this root for this job.
    error NoBatchGrant(bytes32 jobId, bytes32 root);
    /// The Merkle proof does not show the record version in the bulk consent.
    error NotInBatch(bytes32 ciphertextHash, bytes32 root);
    /// A budget below what jobs already spent.
    error BudgetBelowSpent(bytes32 ciphertextHash, uint32 budgetMilli, uint32 spentMilli);

    /// The owner authorized one job to use one record version.
    event Granted(address indexed owner, bytes32 indexed jobId, bytes32 indexed ciphertextHash, bytes32 commitment);
    /// The owner consented to `jobId` using every record version listed under `root` (a
    /// Merkle root over their commitments); the list, with each record's ciphertext hash and
    /// pad r_C·PK_C, is the off-chain object whose SHA-256 is `listHash`.
    event BatchGranted(
        address indexed owner,
        bytes32 indexed jobId,
        bytes32 indexed root,
        uint32 count,
        uint32 budgetMilli,
        bytes32 listHash
    );
    /// The owner withdrew a bulk consent as a whole.
    event BatchRevoked(address indexed owner, bytes32 indexed jobId, bytes32 indexed root);
    /// The owner withdrew a grant (a per-record one, or one record of a bulk consent).
    event Revoked(address indexed owner, bytes32 indexed jobId, bytes32 indexed ciphertextHash, bytes32 commitment);
    /// The owner set or cleared a standing policy for one of its data types.
    event PolicySet(address indexed owner, bytes32 indexed dataType, bool anyApprovedModel);
    /// r_C·PK_C for a record, released by its owner (keccak256 equals the record's padCommitment).
    event PadReleased(bytes32 indexed ciphertextHash, bytes rCPkC);
    /// The owner set a record's privacy budget (total ε in thousandths).
    event BudgetSet(bytes32 indexed ciphertextHash, uint32 totalMilli);

    constructor(Registration registration_, Data data_, Model model_) EIP712("medshare", "1") {
        registration = registration_;
        data = data_;
        model = model_;
    }

    /// Grants job `jobId` the use of `rec`, releases its pad `rCPkC`, and sets its privacy
    /// budget to `budgetMilli` (0 keeps the current one). The record's owner only; the record
    /// must be live in Data and the job approved and of the record's type.
    function grant(Record calldata rec, bytes32 jobId, bytes calldata rCPkC, uint32 budgetMilli) external {
        if (rec.owner != msg.sender) revert NotRecordOwner(msg.sender, rec.owner);
        _grant(rec, jobId, rCPkC);
        _setBudget(rec.ciphertextHash, budgetMilli);
    }

    /// `grant` for a batch of the caller's records, all to `jobId` with the same budget: all
    /// succeed or none (a record not the caller's, not live, of another data type, already
    /// granted, or a wrong pad reverts the batch).
    function grantMany(Record[] calldata records, bytes32 jobId, bytes[] calldata pads, uint32 budgetMilli)
        external
    {
        uint256 n = records.length;
        if (n == 0 || n != pads.length) revert BadBatch(n, pads.length);
        // Free each iteration's scratch memory (event encoding, hashing), as releasePads does.
        Memory.Pointer fmp = Memory.getFreeMemoryPointer();
        for (uint256 i = 0; i < n; ++i) {
            Record calldata rec = records[i];
            if (rec.owner != msg.sender) revert NotRecordOwner(msg.sender, rec.owner);
            _grant(rec, jobId, pads[i]);
            _setBudget(rec.ciphertextHash, budgetMilli);
            Memory.unsafeSetFreeMemoryPointer(fmp);
        }
    }

    /// Consents to `jobId` using every record version listed under `root`, in one slot
    /// whatever their number (see the contract's notice): `count` records, listed with their
    /// pads in the off-chain object whose SHA-256 is `listHash`, each given `budgetMilli` if it
    /// has no budget of its own. Registered users only; the job must be approved.
    function grantBatch(bytes32 jobId, bytes32 root, uint32 count, uint32 budgetMilli, bytes32 listHash)
        external
    {
        if (registration.roleOf(msg.sender) != Role.User) revert NotUser(msg.sender);
        if (count == 0) revert BadBatch(0, 0);
        (JobStatus status,,) = model.jobInfo(jobId);
        if (status != JobStatus.Approved && status != JobStatus.Deployed) revert JobNotApproved(jobId, status);
        BatchGrant storage g = _batchGrants[_batchKey(msg.sender, jobId, root)];
        if (g.live) revert BatchAlreadyGranted(jobId, root);
        g.budgetMilli = budgetMilli;
        g.count = count;
        g.live = true;
        emit BatchGranted(msg.sender, jobId, root, count, budgetMilli, listHash);
    }

    /// Withdraws the caller's bulk consent `root` to `jobId` as a whole.
    function revokeBatch(bytes32 jobId, bytes32 root) external {
        BatchGrant storage g = _batchGrants[_batchKey(msg.sender, jobId, root)];
        if (!g.live) revert NoBatchGrant(jobId, root);
        g.live = false;
        emit BatchRevoked(msg.sender, jobId, root);
    }

    /// Withdraws one record version from the caller's bulk consent `root` to `jobId`: `proof`
    /// is its Merkle path in that consent. The record's owner only.
    function revokeFromBatch(Record calldata rec, bytes32 jobId, bytes32 root, bytes32[] calldata proof) external {
        if (rec.owner != msg.sender) revert NotRecordOwner(msg.sender, rec.owner);
        bytes32 batchKey = _batchKey(msg.sender, jobId, root);
        if (!_batchGrants[batchKey].live) revert NoBatchGrant(jobId, root);
        bytes32 commitment = MedshareHashing.hashRecord(rec);
        if (!MerkleProof.verifyCalldata(proof, root, _leaf(commitment))) revert NotInBatch(rec.ciphertextHash, root);
        bytes32 key = _revocationKey(batchKey, commitment);
        if (_batchRevocations[key]) revert NotGranted(rec.ciphertextHash, jobId);
        _batchRevocations[key] = true;
        emit Revoked(msg.sender, jobId, rec.ciphertextHash, commitment);
    }

    /// Same as `grant`, relayed by anyone: `signature` is the owner's EIP-712 Consent
    /// {ciphertextHash, jobId, rCPkC, budgetMilli, nonce: nonces(owner), deadline}. Consumes the
    /// nonce.
    function grantWithSignature(
        Record calldata rec,
        bytes32 jobId,
        bytes calldata rCPkC,
        uint32 budgetMilli,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (block.timestamp > deadline) revert ConsentExpired(deadline);
        uint256 nonce = _useNonce(rec.owner);
        bytes32 digest = _hashTypedDataV4(
            MedshareHashing.hashConsent(rec.ciphertextHash, jobId, rCPkC, budgetMilli, nonce, deadline)
        );
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
        if (err != ECDSA.RecoverError.NoError || signer != rec.owner) revert BadConsentSignature(rec.owner, signer);
        _grant(rec, jobId, rCPkC);
        _setBudget(rec.ciphertextHash, budgetMilli);
    }

    /// Sets a record's privacy budget (total ε in thousandths; not below what was spent; 0 keeps
    /// it). The record's owner only.
    function setBudget(Record calldata rec, uint32 budgetMilli) external {
        if (rec.owner != msg.sender) revert NotRecordOwner(msg.sender, rec.owner);
        _requireLive(rec);
        _setBudget(rec.ciphertextHash, budgetMilli);
    }

    /// Debits `epsilonMilli` from each record's budget for `jobId` (records with an unlimited
    /// budget pay nothing; a job without differential privacy may only use those). A record
    /// with no budget of its own first gets `grantedTotals[i]` (the budget of the bulk consent
    /// the enclave verified it under; 0: none). Reverts if any record cannot pay. Model only
    /// (its `debitBudgets`, called by the job's TEE).
    function debit(
        bytes32,
        uint32 epsilonMilli,
        bytes32[] calldata ciphertextHashes,
        uint32[] calldata grantedTotals
    ) external {
        if (msg.sender != address(model)) revert NotModel(msg.sender);
        uint256 n = ciphertextHashes.length;
        if (grantedTotals.length != n) revert BadBatch(n, grantedTotals.length);
        for (uint256 i = 0; i < n; ++i) {
            Budget storage b = _budgets[ciphertextHashes[i]];
            uint32 total = b.totalMilli;
            if (total == 0 && grantedTotals[i] != 0) {
                total = grantedTotals[i];
                b.totalMilli = total;
                emit BudgetSet(ciphertextHashes[i], total);
            }
            if (total == EPSILON_INFINITE) continue;
            uint32 spent = b.spentMilli;
            if (epsilonMilli == EPSILON_INFINITE || uint256(spent) + epsilonMilli > total) {
                revert BudgetExhausted(ciphertextHashes[i], total, spent, epsilonMilli);
            }
            b.spentMilli = spent + epsilonMilli;
        }
    }

    /// Withdraws a grant of this record version to `jobId`. The record's owner only.
    function revoke(Record calldata rec, bytes32 jobId) external {
        if (rec.owner != msg.sender) revert NotRecordOwner(msg.sender, rec.owner);
        bytes32 commitment = MedshareHashing.hashRecord(rec);
        bytes32 key = _grantKey(commitment, jobId);
        if (!_grants[key]) revert NotGranted(rec.ciphertextHash, jobId);
        _grants[key] = false;
        emit Revoked(msg.sender, jobId, rec.ciphertextHash, commitment);
    }

    /// Sets (or clears) the caller's standing policy: any approved job of `dataType` may use the
    /// caller's records of that type. Pads still have to be released (`releasePads`).
    /// Registered users only.
    function setPolicy(bytes32 dataType, bool anyApprovedModel) external {
        if (registration.roleOf(msg.sender) != Role.User) revert NotUser(msg.sender);
        _policies[msg.sender][dataType] = anyApprovedModel;
        emit PolicySet(msg.sender, dataType, anyApprovedModel);
    }

    /// Releases the pads r_C·PK_C of a batch of the caller's live records (for use under a
    /// policy) and sets each one's privacy budget to `budgetMilli` (0 keeps the current one).
    /// The records' owner only.
    function releasePads(Record[] calldata records, bytes[] calldata pads, uint32 budgetMilli) external {
        uint256 n = records.length;
        if (n == 0 || n != pads.length) revert BadBatch(n, pads.length);
        // Free each iteration's scratch memory (event encoding, hashing): memory cost grows
        // quadratically, so a batch of n items would otherwise pay O(n^2). Nothing allocated
        // inside an iteration is used after it.
        Memory.Pointer fmp = Memory.getFreeMemoryPointer();
        // A batch usually shares one TEE: check each distinct run of TEEs once.
        address checkedTee;
        for (uint256 i = 0; i < n; ++i) {
            Record calldata rec = records[i];
            if (rec.owner != msg.sender) revert NotRecordOwner(msg.sender, rec.owner);
            _requireLive(rec);
            if (rec.tee != checkedTee || checkedTee == address(0)) {
                _requireActiveTee(rec.tee);
                checkedTee = rec.tee;
            }
            _releasePad(rec, pads[i]);
            _setBudget(rec.ciphertextHash, budgetMilli);
            Memory.unsafeSetFreeMemoryPointer(fmp);
        }
    }

    // ---------------------------------------------------------------- views

    /// True if job `jobId` may use `rec` now: `rec` is live in Data, the job is approved and of
    /// the record's data type, and the owner granted this record version to the job or has a
    /// standing policy for the data type. (The enclave does not call this: it checks the same
    /// storage itself, through state proofs.)
    function isAuthorized(Record calldata rec, bytes32 jobId) external view returns (bool) {
        bytes32 commitment = MedshareHashing.hashRecord(rec);
        if (data.commitmentOf(rec.ciphertextHash) != MedshareHashing.ownedCommitment(rec.owner, commitment)) {
            return false;
        }
        (JobStatus status,, bytes32 jobDataType) = model.jobInfo(jobId);
        if (status != JobStatus.Approved && status != JobStatus.Deployed) return false;
        if (jobDataType != rec.dataType) return false;
        return _grants[_grantKey(commitment, jobId)] || _policies[rec.owner][rec.dataType];
    }

    /// True if the record version with this commitment is granted to `jobId` (regardless of
    /// the job's status or the record still being live).
    function isGranted(bytes32 commitment, bytes32 jobId) external view returns (bool) {
        return _grants[_grantKey(commitment, jobId)];
    }

    /// The caller-independent state of `owner`'s bulk consent `root` to `jobId`.
    function batchGrantOf(address owner, bytes32 jobId, bytes32 root)
        external
        view
        returns (bool live, uint32 count, uint32 budgetMilli)
    {
        BatchGrant memory g = _batchGrants[_batchKey(owner, jobId, root)];
        return (g.live, g.count, g.budgetMilli);
    }

    /// True if the record version with `commitment` was withdrawn from `owner`'s bulk consent
    /// `root` to `jobId`.
    function isRevokedFromBatch(address owner, bytes32 jobId, bytes32 root, bytes32 commitment)
        external
        view
        returns (bool)
    {
        return _batchRevocations[_revocationKey(_batchKey(owner, jobId, root), commitment)];
    }

    /// A record's privacy budget: the total ε (thousandths; `EPSILON_INFINITE` unlimited) and
    /// what jobs spent.
    function budgetOf(bytes32 ciphertextHash) external view returns (uint32 totalMilli, uint32 spentMilli) {
        Budget memory b = _budgets[ciphertextHash];
        return (b.totalMilli, b.spentMilli);
    }

    /// The owner's standing policy for a data type.
    function policyOf(address owner, bytes32 dataType) external view returns (bool) {
        return _policies[owner][dataType];
    }

    /// The EIP-712 digest of a Consent, as the owner signs it.
    function consentDigest(
        bytes32 ciphertextHash,
        bytes32 jobId,
        bytes calldata rCPkC,
        uint32 budgetMilli,
        uint256 nonce,
        uint256 deadline
    ) external view returns (bytes32) {
        return _hashTypedDataV4(
            MedshareHashing.hashConsent(ciphertextHash, jobId, rCPkC, budgetMilli, nonce, deadline)
        );
    }

    /// This contract's EIP-712 domain separator (follows block.chainid).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- internals

    function _grant(Record calldata rec, bytes32 jobId, bytes calldata rCPkC) private {
        bytes32 commitment = _requireLive(rec);
        (JobStatus status,, bytes32 jobDataType) = model.jobInfo(jobId);
        if (status != JobStatus.Approved && status != JobStatus.Deployed) revert JobNotApproved(jobId, status);
        if (jobDataType != rec.dataType) revert DataTypeMismatch(jobId, jobDataType, rec.dataType);
        bytes32 key = _grantKey(commitment, jobId);
        if (_grants[key]) revert AlreadyGranted(rec.ciphertextHash, jobId);
        _requireActiveTee(rec.tee);
        _grants[key] = true;
        emit Granted(rec.owner, jobId, rec.ciphertextHash, commitment);
        _releasePad(rec, rCPkC);
    }

    function _setBudget(bytes32 ciphertextHash, uint32 budgetMilli) private {
        if (budgetMilli == 0) return;
        Budget storage b = _budgets[ciphertextHash];
        uint32 spent = b.spentMilli;
        if (budgetMilli < spent) revert BudgetBelowSpent(ciphertextHash, budgetMilli, spent);
        if (b.totalMilli == budgetMilli) return;
        b.totalMilli = budgetMilli;
        emit BudgetSet(ciphertextHash, budgetMilli);
    }

    function _requireActiveTee(address tee) private view {
        if (!registration.isActiveTee(tee)) revert TeeNotActive(tee);
    }

    function _requireLive(Record calldata rec) private view returns (bytes32 commitment) {
        commitment = MedshareHashing.hashRecord(rec);
        if (data.commitmentOf(rec.ciphertextHash) != MedshareHashing.ownedCommitment(rec.owner, commitment)) {
            revert UnknownRecord(rec.ciphertextHash);
        }
    }

    function _releasePad(Record calldata rec, bytes calldata rCPkC) private {
        if (keccak256(rCPkC) != rec.padCommitment) revert PadMismatch(rec.ciphertextHash);
        emit PadReleased(rec.ciphertextHash, rCPkC);
    }

    function _grantKey(bytes32 commitment, bytes32 jobId) private pure returns (bytes32) {
        return keccak256(abi.encode(commitment, jobId));
    }

    function _batchKey(address owner, bytes32 jobId, bytes32 root) private pure returns (bytes32) {
        return keccak256(abi.encode(owner, jobId, root));
    }

    function _revocationKey(bytes32 batchKey, bytes32 commitment) private pure returns (bytes32) {
        return keccak256(abi.encode(batchKey, commitment));
    }

    /// A bulk consent's Merkle leaf: 32 bytes hashed, never confused with a 64-byte inner node.
    function _leaf(bytes32 commitment) private pure returns (bytes32) {
        return keccak256(abi.encode(commitment));
    }
}
