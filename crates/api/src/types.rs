//! The API's JSON bodies. Hashes and addresses are `0x`-prefixed hex strings, amounts of wei
//! decimal strings, ε in thousandths.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The deployment and the chain the API reads.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Info {
    /// The chain id (EIP-155), which every transaction and EIP-712 signature binds.
    pub chain_id: u64,
    /// The latest block.
    pub block: u64,
    /// The node's gas price suggestion, in wei (decimal).
    pub gas_price: String,
    /// The five contracts.
    pub contracts: Contracts,
    /// The largest record ciphertext the store accepts, in bytes.
    pub max_record_bytes: u64,
}

/// The five contracts' addresses.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Contracts {
    /// Registration: parties, reviewers, TEEs.
    pub registration: String,
    /// Data: record commitments.
    pub data: String,
    /// Model: jobs.
    pub model: String,
    /// Authorization: consent, pads and privacy budgets.
    pub authorization: String,
    /// Audit: every use of a record.
    pub audit: String,
}

/// An account, for signing its next transaction.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Account {
    /// The address.
    pub address: String,
    /// Its next nonce, counting transactions the node holds but has not mined.
    pub nonce: u64,
    /// Its balance, in wei (decimal).
    pub balance: String,
    /// The role it registered with (`user`, `demander`, `tee`, `reviewer`), if any.
    pub role: Option<String>,
    /// The 64-byte public key it registered (0x hex), if any.
    pub public_key: Option<String>,
    /// True if it is a current reviewer.
    pub reviewer: bool,
    /// True if it is an admin (governance).
    pub admin: bool,
}

/// A record's privacy budget.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Budget {
    /// The total ε jobs may spend on it, in thousandths (4294967295: unlimited).
    pub total_milli: u32,
    /// What jobs spent.
    pub spent_milli: u32,
}

/// A record a patient registered, as the chain knows it (never its content).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RecordView {
    /// HDS_i: the SHA-256 of the ciphertext, the record's key on chain and in the store.
    pub ciphertext_hash: String,
    /// The data type id.
    pub data_type: String,
    /// hashStruct(Record) of this version.
    pub commitment: String,
    /// True while this version is the live one (not updated or deleted since).
    pub live: bool,
    /// Its privacy budget.
    pub budget: Budget,
    /// The block it was registered in.
    pub block: Option<u64>,
    /// The transaction that registered it.
    pub transaction: Option<String>,
}

/// One page of a patient's records, oldest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RecordPage {
    /// The records on this page.
    pub items: Vec<RecordView>,
    /// How many there are in all.
    pub total: usize,
    /// The index of the first item.
    pub offset: usize,
}

/// A job: the model a demander submitted and where it stands.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobView {
    /// The job id.
    pub job: String,
    /// The demander's address.
    pub demander: String,
    /// The data type the job trains on.
    pub data_type: String,
    /// `pending`, `approved`, `rejected`, `deployed`, `model_invalid`, `completed` or
    /// `result_disputed`.
    pub status: String,
    /// The model spec, as submitted (JSON text).
    pub model: String,
    /// The data requirement RM_j, as submitted (JSON text).
    pub requirement: String,
    /// The model's hash.
    pub model_hash: String,
    /// The smallest cohort the job may train on.
    pub min_cohort: u32,
    /// The ε the job spends on each record, in thousandths (4294967295: no differential privacy).
    pub epsilon_milli: u32,
    /// When the demander submitted it (seconds since the Unix epoch).
    pub submitted_at: u64,
    /// The block of the submission.
    pub block: Option<u64>,
    /// The encrypted result, once posted.
    pub result: Option<ResultView>,
}

/// Where a job's encrypted result is.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ResultView {
    /// HCMRT_j: the hash the result object is stored under.
    pub result_hash: String,
    /// The TEE that posted it.
    pub tee: String,
    /// The block of the chain state the TEE trained on.
    pub view_block: u64,
    /// That block's hash (the TEE's EIP-712 TrainingResult signs it).
    pub view_hash: String,
    /// The block it was posted in.
    pub block: Option<u64>,
}

/// One page of jobs, oldest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobPage {
    /// The jobs on this page.
    pub items: Vec<JobView>,
    /// How many there are in all.
    pub total: usize,
    /// The index of the first item.
    pub offset: usize,
}

/// One use of one record (the paper's Fig. 4 audit structure).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// The job.
    pub job: String,
    /// The record (HDS_i).
    pub record: String,
    /// The demander (PK_j's address).
    pub demander: String,
    /// model_j: the model's hash.
    pub model_hash: String,
    /// RM_j's hash.
    pub requirement_hash: String,
    /// HRT_j: the model's hash and signature verified.
    pub model_hash_ok: bool,
    /// HRT_i: the record's hash verified.
    pub record_hash_ok: bool,
    /// `used`, `training_failed` (decrypted, training failed), or why the enclave excluded it:
    /// `refused_integrity`, `refused_key`, `refused_content`, `refused_budget`.
    pub outcome: String,
    /// The ε the use cost, in thousandths (0: nothing spent; 4294967295: no differential
    /// privacy).
    pub epsilon_milli: u32,
    /// The TEE's address (PK_T).
    pub tee: String,
    /// The block of the chain state the TEE acted on.
    pub view_block: u64,
    /// The entry's block time (seconds since the Unix epoch).
    pub timestamp: u64,
    /// The entry's block.
    pub block: Option<u64>,
}

/// One page of a patient's audit trail, oldest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    /// The entries on this page.
    pub items: Vec<AuditEntry>,
    /// How many there are in all.
    pub total: usize,
    /// The index of the first item.
    pub offset: usize,
}

/// A transaction the browser signed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SignedTransaction {
    /// Its EIP-2718 encoding, `0x`-prefixed hex (what `eth_sendRawTransaction` takes).
    pub raw: String,
}

/// A relayed transaction the node accepted into its pool.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TransactionAccepted {
    /// The transaction hash.
    pub hash: String,
    /// The signer, recovered from the signature.
    pub from: String,
}

/// A mined transaction's receipt.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Receipt {
    /// The transaction hash.
    pub hash: String,
    /// True if it succeeded, false if it reverted.
    pub success: bool,
    /// Its block.
    pub block: Option<u64>,
    /// The gas it used.
    pub gas_used: u64,
}

/// A stored object.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ObjectStored {
    /// The storage key.
    pub key: String,
    /// Its size in bytes.
    pub bytes: usize,
}

/// `?offset=&limit=` of a list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// The index of the first item (default 0).
    pub offset: Option<usize>,
    /// How many items (default 100, at most 500).
    pub limit: Option<usize>,
}

/// A TEE that submitted its key and evidence, and what governance made of it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TeeView {
    /// The TEE's address (PK_T's).
    pub address: String,
    /// Its 64-byte public key (0x hex), as registered.
    pub public_key: String,
    /// Governance admitted it.
    pub admitted: bool,
    /// Admitted, its measurement allowed, its evidence kind accepted and not revoked: records
    /// may be shared with it.
    pub active: bool,
    /// Not revoked.
    pub unrevoked: bool,
    /// Its view of the chain rests on unsigned headers (its TrainingResult signs
    /// `headersVerified = !unverified_headers`).
    pub unverified_headers: bool,
    /// The measurement it was admitted with (zero before admission).
    pub measurement: String,
    /// `simulated`, `sgx_dcap` or `tdx` (meaningful once admitted).
    pub evidence_kind: String,
    /// keccak256 of the evidence it submitted.
    pub evidence_hash: String,
    /// The block of its submission.
    pub block: Option<u64>,
}

/// One page of TEEs, oldest submission first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TeePage {
    /// The TEEs on this page.
    pub items: Vec<TeeView>,
    /// How many there are in all.
    pub total: usize,
    /// The index of the first item.
    pub offset: usize,
}

/// A read-only call of one of the deployment's contracts (`eth_call`), to read a view or to try
/// a transaction before signing it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CallRequest {
    /// The caller (0x address); give it to try a transaction as its sender would send it.
    pub from: Option<String>,
    /// One of the five contracts of the deployment.
    pub to: String,
    /// The ABI-encoded call (0x hex).
    pub data: String,
}

/// What a call returned.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CallResult {
    /// The ABI-encoded return data (0x hex).
    pub output: String,
    /// The node's gas estimate for sending it as a transaction from `from` (when given).
    pub gas: Option<u64>,
}

/// A TEE's submission verified for admission, as `medshare governance admit-tee` verifies it:
/// what governance signs into `Registration.admitTee(tee, evidenceHash, measurement,
/// evidenceKind, unverifiedHeaders)`. Nothing is signed or sent by the API.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AdmissionView {
    /// The TEE's address.
    pub tee: String,
    /// keccak256 of the evidence it submitted (as recorded on chain).
    pub evidence_hash: String,
    /// The measurement the verified evidence attests: MRENCLAVE (SGX), SHA-256 of MRTD ‖
    /// RTMR0–3 (TDX), or the enclave program's SHA-256 (simulation).
    pub measurement: String,
    /// `simulated`, `sgx_dcap` or `tdx`.
    pub evidence_kind: String,
    /// The contract's `EvidenceKind` value for `admitTee` (0 simulated, 1 SGX DCAP, 2 TDX).
    pub evidence_kind_code: u8,
    /// The enclave's view rests on unsigned headers (accepted only where governance enabled it).
    pub unverified_headers: bool,
    /// The platform's TCB status (hardware evidence only).
    pub tcb_status: Option<String>,
    /// Intel advisories that apply to the platform (hardware evidence only).
    pub advisory_ids: Vec<String>,
    /// The measurement is allowlisted on chain (the contract refuses the admission otherwise).
    pub measurement_allowed: bool,
    /// The chain's sealers the enclave's trust anchors were checked against (the sealer of the
    /// node's latest block; none on a node that signs no headers).
    pub sealers: Vec<String>,
    /// The time (unix seconds) the evidence was verified at.
    pub verified_at: u64,
}
