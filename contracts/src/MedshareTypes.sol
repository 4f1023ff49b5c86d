// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

// Types and EIP-712 hashing shared by the five medshare contracts.
//
// The struct and type strings here are the protocol's wire format (listed in
// contracts/README.md): the Rust side (crates/crypto, crates/contracts) must produce identical
// type hashes, which a unit test in crates/contracts checks against these artifacts.

/// A party's role in Registration. Numbers are part of the protocol: 1 user, 2 demander, 3 tee,
/// 4 reviewer. `None` means "not registered".
enum Role {
    None,
    User,
    Demander,
    Tee,
    Reviewer
}

/// What produced a TEE's attestation evidence. Numbers are part of the protocol.
enum EvidenceKind {
    /// No TEE hardware: the simulation backend. Admitted only where governance enabled it.
    Simulated,
    /// An Intel SGX DCAP quote.
    SgxDcap,
    /// An Intel TDX quote.
    Tdx
}

/// What the enclave did with one record of a job, as the record's audit entry says.
/// Numbers are part of the protocol.
enum UseOutcome {
    /// Decrypted and trained on; the result was posted.
    Used,
    /// Decrypted, but training failed: no result was released.
    TrainingFailed,
    /// Not decrypted: the ciphertext or TD_i failed verification (HRT_i / VT_i).
    RefusedIntegrity,
    /// Not decrypted, or decrypted and dropped: the key share, the pad or the decryption failed.
    RefusedKey,
    /// Decrypted and dropped: the plaintext is not a usable record of the job's data type.
    RefusedContent,
    /// Not decrypted: the record's privacy budget cannot pay the job's ε.
    RefusedBudget
}

// ε as the contracts count it: thousandths (an `epsilonMilli` of 1000 is ε = 1).
// `EPSILON_INFINITE` means no differential privacy (a model trained exactly); a budget of
// `EPSILON_INFINITE` lets a record be used by such jobs, and is never debited.
uint32 constant EPSILON_INFINITE = type(uint32).max;

/// Life cycle of a model submission (a "job") in Model.
///
/// Pending -> Approved | Rejected            (reviewer)
/// Approved -> Deployed | ModelInvalid       (active TEE posts {ST_j, HRT_j, VT_j})
/// Deployed -> Completed                     (active TEE posts HCMRT_j; CMRT_j, SMRT_j off chain)
/// Completed -> ResultDisputed               (the job's demander, paper §5.5.3(b))
enum JobStatus {
    None,
    Pending,
    Approved,
    Rejected,
    Deployed,
    ModelInvalid,
    Completed,
    ResultDisputed
}

/// The paper's TD_i (eq. (5)), signed by its owner with EIP-712 (verifying contract = Data).
/// On chain only `hashStruct(Record)` is stored, keyed by `ciphertextHash`; every field is
/// published in the `RecordRegistered` event.
struct Record {
    /// PK_i as an Ethereum address (the owner's key hashes to it).
    address owner;
    /// Random id chosen by the owner, bound into the ciphertext's AEAD associated data.
    bytes32 recordId;
    /// UDT: the data type id.
    bytes32 dataType;
    /// DA_i: where the ciphertext is stored off chain.
    bytes32 storageIndex;
    /// HDS_i: SHA-256 of the ciphertext. The record's key on chain.
    bytes32 ciphertextHash;
    /// DT_i: when the owner made the record (seconds since the Unix epoch).
    uint64 timestamp;
    /// CM_i = KEY_i + r_C·PK_C + r_U·PK_T, a 33-byte compressed secp256k1 point.
    bytes cm;
    /// r_U·g, a 33-byte compressed point.
    bytes rUg;
    /// keccak256 of r_C·PK_C (33-byte compressed point); the point itself is released by
    /// Authorization with the owner's consent.
    bytes32 padCommitment;
    /// Address of the TEE whose PK_T the record's key is shared to.
    address tee;
}

/// One use of one record in one job: the paper's Fig. 4 audit structure
/// {MID_j, RM_j, HRT_j, HRT_i, PK_T, PK_j, model_j}, plus the keys that make it listable.
/// PK_T is the sender of `Audit.recordUse`; PK_j and MID_j are both the demander's address
/// (its public key is `Registration.publicKeyOf(demander)`).
struct AuditEntry {
    /// The job (hashStruct of the ModelSubmission).
    bytes32 jobId;
    /// The record used (HDS_i).
    bytes32 ciphertextHash;
    /// The record's owner.
    address owner;
    /// MID_j / PK_j: the data demander.
    address demander;
    /// RM_j: hash of the data requirement.
    bytes32 requirementHash;
    /// model_j: hash of the model that was trained.
    bytes32 modelHash;
    /// HRT_j: the model integrity check result.
    bool modelHashOk;
    /// HRT_i: the record integrity check result.
    bool recordHashOk;
    /// What the enclave did with the record.
    UseOutcome outcome;
    /// The job's ε in thousandths (what a used record's budget paid; `EPSILON_INFINITE` for a
    /// model without differential privacy).
    uint32 epsilonMilli;
}

/// What Model needs of Authorization: debiting records' privacy budgets for a job (declared here so
/// that Model and Authorization need not import each other).
interface IPrivacyBudgets {
    /// Debits `epsilonMilli` from the budget of each record in `ciphertextHashes` for `jobId`;
    /// a record with no budget of its own first gets `grantedTotals[i]` (0: none). Model only.
    function debit(
        bytes32 jobId,
        uint32 epsilonMilli,
        bytes32[] calldata ciphertextHashes,
        uint32[] calldata grantedTotals
    ) external;
}

/// True if block `number` is one of the chain's 256 most recent blocks and its hash is `hash`.
/// Every statement, result and audit entry a TEE posts names the block its view of the chain
/// came from (the block whose state it verified by proofs), and the contracts accept it only
/// while that block is recent: this bounds how stale the enclave's checks can be.
function isRecentBlock(uint64 number, bytes32 hash) view returns (bool) {
    return hash != bytes32(0) && blockhash(number) == hash;
}

/// EIP-712 type hashes and struct hashing. Domain: name "medshare", version "1".
library MedshareHashing {
    bytes32 internal constant RECORD_TYPEHASH = keccak256(
        "Record(address owner,bytes32 recordId,bytes32 dataType,bytes32 storageIndex,bytes32 ciphertextHash,uint64 timestamp,bytes cm,bytes rUg,bytes32 padCommitment,address tee)"
    );
    bytes32 internal constant CONSENT_TYPEHASH = keccak256(
        "Consent(bytes32 ciphertextHash,bytes32 jobId,bytes rCPkC,uint32 budgetMilli,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant MODEL_SUBMISSION_TYPEHASH = keccak256(
        "ModelSubmission(address demander,bytes32 modelHash,bytes32 requirementHash,bytes32 dataType,uint64 timestamp,uint32 minCohort,uint32 epsilonMilli)"
    );
    bytes32 internal constant VERIFICATION_TYPEHASH = keccak256(
        "Verification(bytes32 jobId,bytes32 subject,bool hashOk,bool signatureOk,uint64 viewBlock,bytes32 viewHash,bool headersVerified)"
    );
    bytes32 internal constant TRAINING_RESULT_TYPEHASH = keccak256(
        "TrainingResult(bytes32 jobId,bytes32 resultHash,uint64 viewBlock,bytes32 viewHash,bool headersVerified)"
    );

    /// hashStruct(Record): the record's on-chain commitment.
    function hashRecord(Record calldata r) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                RECORD_TYPEHASH,
                r.owner,
                r.recordId,
                r.dataType,
                r.storageIndex,
                r.ciphertextHash,
                r.timestamp,
                keccak256(r.cm),
                keccak256(r.rUg),
                r.padCommitment,
                r.tee
            )
        );
    }

    /// What Data stores for a record: its commitment hashStruct(Record) bound to the account
    /// that registered it. A record verifies only if its `owner` field is that account, so a
    /// record registered by anyone else than its owner is never live.
    function ownedCommitment(address owner, bytes32 commitment) internal pure returns (bytes32) {
        return keccak256(abi.encode(owner, commitment));
    }

    /// hashStruct(ModelSubmission): the job id.
    function hashModelSubmission(
        address demander,
        bytes32 modelHash,
        bytes32 requirementHash,
        bytes32 dataType,
        uint64 timestamp,
        uint32 minCohort,
        uint32 epsilonMilli
    ) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                MODEL_SUBMISSION_TYPEHASH,
                demander,
                modelHash,
                requirementHash,
                dataType,
                timestamp,
                minCohort,
                epsilonMilli
            )
        );
    }

    /// hashStruct(Consent).
    function hashConsent(
        bytes32 ciphertextHash,
        bytes32 jobId,
        bytes calldata rCPkC,
        uint32 budgetMilli,
        uint256 nonce,
        uint256 deadline
    ) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(CONSENT_TYPEHASH, ciphertextHash, jobId, keccak256(rCPkC), budgetMilli, nonce, deadline)
        );
    }
}
