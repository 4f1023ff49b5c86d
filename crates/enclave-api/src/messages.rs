//! The requests the host makes and the enclave's responses.

use crate::Evidence;
use alloy_primitives::{Address, B256, Bytes};
use medshare_contracts::Deployment;
use medshare_crypto::eip712::Record;
use medshare_primitives::JobId;
use serde::{Deserialize, Serialize};

/// A request to the enclave.
#[derive(Debug, Serialize, Deserialize)]
pub enum Request {
    /// Who the enclave is: its address, public key and evidence.
    Identity,
    /// Write the `Registration.registerTee` transaction for this enclave.
    AuthorRegistration {
        /// The Registration contract.
        registration: Address,
    },
    /// Start a job: verify the model (§5.3.2) and write `postModelVerification`.
    BeginJob(Box<JobContext>),
    /// A batch of candidate records for the current job (§5.4.2): verify each, and decrypt
    /// and load those that may be used.
    AddRecords {
        /// The batch.
        records: Vec<RecordInput>,
    },
    /// Train on what was loaded, encrypt, hash and sign the result (§5.4.3, §5.5.1), and write
    /// `postResult` and the audit entries.
    FinishJob,
    /// Sign a transaction the enclave wrote itself (any other is refused).
    SignTransaction(UnsignedTx),
}

/// A response of the enclave.
#[derive(Debug, Serialize, Deserialize)]
pub enum Response {
    /// The enclave's identity.
    Identity {
        /// PK_T's address (the TEE's account).
        address: Address,
        /// PK_T, 64 bytes uncompressed without prefix.
        public_key: Bytes,
        /// Its attestation evidence.
        evidence: Evidence,
    },
    /// A transaction the enclave wrote, for the host to send (and have signed).
    Authored(AuthoredTx),
    /// The model verification {ST_j, HRT_j, VT_j}.
    ModelVerified {
        /// HRT_j: the model and requirement hash to what the demander submitted.
        hash_ok: bool,
        /// VT_j: the demander's signature verifies and the spec is valid.
        signature_ok: bool,
        /// Why not, when either is false.
        reason: Option<String>,
        /// `postModelVerification`.
        tx: AuthoredTx,
    },
    /// The outcome of a batch of records.
    RecordsChecked {
        /// One per input record, in order.
        outcomes: Vec<RecordOutcome>,
        /// `postRecordVerifications` for the records checked, if any.
        tx: Option<AuthoredTx>,
    },
    /// The finished job.
    JobFinished(Box<JobResult>),
    /// A signature over an authored transaction.
    Signed {
        /// 65 bytes `r ‖ s ‖ y-parity`.
        signature: Bytes,
    },
    /// The request was refused.
    Error {
        /// Why.
        message: String,
    },
}

/// Everything the enclave needs to verify a job's model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobContext {
    /// The job id.
    pub job: JobId,
    /// The chain the contracts are on (EIP-712 domains).
    pub chain_id: u64,
    /// The contracts.
    pub deployment: Deployment,
    /// The demander.
    pub demander: Address,
    /// The demander's registered public key PK_j (64 bytes): the result is encrypted to it.
    pub demander_public_key: Bytes,
    /// Hmodel_j as submitted.
    pub model_hash: B256,
    /// Hash of RM_j as submitted.
    pub requirement_hash: B256,
    /// The data type id as submitted.
    pub data_type: B256,
    /// The submission's timestamp.
    pub timestamp: u64,
    /// model_j: the model spec (JSON).
    pub model: Bytes,
    /// RM_j: the data requirement (JSON).
    pub requirement: Bytes,
    /// SM_j: the demander's EIP-712 signature over the submission.
    pub signature: Bytes,
}

/// One candidate record, as the host found it on chain and in storage.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordInput {
    /// HDS_i as registered on chain.
    pub ciphertext_hash: B256,
    /// The account that registered it (the `RecordRegistered` log's owner).
    pub owner: Address,
    /// TD_i from storage, if it was there.
    pub record: Option<Record>,
    /// US_i from storage.
    pub signature: Option<Bytes>,
    /// DS_i from storage.
    pub ciphertext: Option<Bytes>,
    /// r_C·PK_C, if the owner released it (`PadReleased`).
    pub pad: Option<Bytes>,
    /// `Data.verifyRecord(TD_i)`: the record is live as its owner registered it.
    pub live: bool,
    /// `Authorization.isAuthorized(TD_i, job)`: a live grant or standing policy.
    pub authorized: bool,
}

/// What the enclave did with one record. Carries no value of the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordOutcome {
    /// The record.
    pub ciphertext_hash: B256,
    /// Its owner.
    pub owner: Address,
    /// HRT_i, when it was checked.
    pub hash_ok: Option<bool>,
    /// VT_i, when it was checked.
    pub signature_ok: Option<bool>,
    /// It was decrypted and loaded for training.
    pub used: bool,
    /// Why it was not used.
    pub excluded: Option<String>,
}

/// A transaction the enclave wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthoredTx {
    /// The contract called.
    pub to: Address,
    /// The calldata.
    pub input: Bytes,
    /// What it is, for messages (`postModelVerification`, …).
    pub what: String,
}

/// An EIP-1559 transaction to sign; `to` and `input` must be those of an [`AuthoredTx`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnsignedTx {
    /// Chain id.
    pub chain_id: u64,
    /// Nonce.
    pub nonce: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// Max fee per gas.
    pub max_fee_per_gas: u128,
    /// Max priority fee per gas.
    pub max_priority_fee_per_gas: u128,
    /// Recipient.
    pub to: Address,
    /// Calldata.
    pub input: Bytes,
}

/// The finished job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobResult {
    /// CMRT_j: MRT_j encrypted to the demander (ECIES, job id as associated data).
    pub result: Bytes,
    /// HCMRT_j = SHA-256(CMRT_j).
    pub result_hash: B256,
    /// SMRT_j: the enclave's EIP-712 TrainingResult signature.
    pub signature: Bytes,
    /// How many records the model was trained and evaluated on.
    pub records_used: u64,
    /// `postResult`, then `recordUse` batches.
    pub txs: Vec<AuthoredTx>,
}
