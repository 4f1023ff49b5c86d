//! The requests the host makes and the enclave's responses.

use crate::Evidence;
use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use alloy_rpc_types_eth::EIP1186AccountProofResponse;
use medshare_contracts::UseOutcome;
use medshare_crypto::eip712::Record;
use medshare_primitives::JobId;
use serde::{Deserialize, Serialize};

/// A request to the enclave.
#[derive(Debug, Serialize, Deserialize)]
pub enum Request {
    /// Who the enclave is: its address, public key, evidence and trust anchors.
    Identity,
    /// Write the `Registration.submitTee` transaction for this enclave (PK_T and its evidence).
    AuthorRegistration,
    /// Start a job: check the job's chain facts in `view`, verify the model (§5.3.2) and write
    /// `postModelVerification`.
    BeginJob {
        /// The submission IM_j as the host found it (authenticated by the job id).
        job: Box<JobContext>,
        /// The chain state the enclave checks the job against.
        view: ChainView,
    },
    /// A batch of candidate records for the current job (§5.4.2): check each one's consent and
    /// liveness in `view`, verify it, and decrypt and load those that may be used.
    AddRecords {
        /// The batch.
        records: Vec<RecordInput>,
        /// The chain state the records' consent is checked against.
        view: ChainView,
    },
    /// Check the job's facts once more in `view` and train on what was loaded (§5.4.3). The
    /// result stays inside: the enclave answers with the transactions that debit the job's ε
    /// from every record it trained on ([`Response::DebitsPending`]).
    FinishJob {
        /// The chain state the job's facts are checked against.
        view: ChainView,
    },
    /// Take back a training the enclave checkpointed ([`Response::DebitsPending`]) after its
    /// host stopped: check the job's and this TEE's facts in `view` and that the chain's debits
    /// are this training's (or none yet), and answer with the debits still to post.
    ResumeJob {
        /// The checkpoint, as the enclave gave it.
        checkpoint: Bytes,
        /// The chain state it is checked against.
        view: ChainView,
    },
    /// Once every debit is on chain (proven by `view`), encrypt, hash and sign the result
    /// (§5.5.1), and write `postResult` and the audit entries.
    ReleaseResult {
        /// The chain state that shows the debits and that the result names.
        view: ChainView,
    },
    /// Sign a transaction the enclave wrote itself (any other is refused).
    SignTransaction(UnsignedTx),
}

/// A slice of chain state with what proves it: a block header and EIP-1186 proofs (account
/// and storage) against that header's state root. The enclave authenticates the header (its
/// sealer's signature, per its trust anchors) and verifies every proof itself; a fact without a
/// proof here does not exist for it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChainView {
    /// The block header, RLP-encoded (its keccak256 is the block hash).
    pub header: Bytes,
    /// `eth_getProof` answers at that block (several for one account are allowed).
    pub proofs: Vec<EIP1186AccountProofResponse>,
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
        /// Its attestation evidence (which carries its trust anchors).
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
    /// Training succeeded: the budget debits to post before the result is released.
    DebitsPending {
        /// `debitBudgets` batches, in order (after `ResumeJob`: those not yet on chain).
        txs: Vec<AuthoredTx>,
        /// How many records the model was trained and evaluated on.
        records_used: u64,
        /// The training sealed to the enclave's key, to keep until the result is stored and
        /// posted: once its first debit lands, this training is the only one the job can
        /// release ([`Request::ResumeJob`]).
        checkpoint: Bytes,
    },
    /// The finished job.
    JobFinished(Box<JobResult>),
    /// Training failed after records were decrypted: no result, but the audit entries of every
    /// record the job touched, to be posted all the same.
    JobFailed {
        /// Why training failed.
        reason: String,
        /// `recordUse` batches.
        txs: Vec<AuthoredTx>,
    },
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

/// The submission IM_j of a job, as logged by `Model.submitModel`. The enclave trusts none of
/// it: the job id (hashStruct of the submission) ties demander, hashes, data type and
/// timestamp together, the hashes tie the model and requirement, the signature SM_j is checked,
/// and the demander's key is checked against Registration's storage through the view's proofs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobContext {
    /// The job id.
    pub job: JobId,
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
    /// The requirement's minimum cohort as submitted (bound into the job id).
    pub min_cohort: u32,
    /// The spec's ε in thousandths as submitted (bound into the job id).
    pub epsilon_milli: u32,
    /// model_j: the model spec (JSON).
    pub model: Bytes,
    /// RM_j: the data requirement (JSON).
    pub requirement: Bytes,
    /// SM_j: the demander's EIP-712 signature over the submission.
    pub signature: Bytes,
    /// The data type's schema (JSON): its features' public clipping bounds and its label. Its
    /// name must be the submitted data type's.
    pub schema: Bytes,
}

/// One candidate record, as the host found it in storage. Whether it is live and consented is
/// not the host's to say: the enclave reads it from the view's proofs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordInput {
    /// HDS_i as registered on chain.
    pub ciphertext_hash: B256,
    /// The account that registered it (the `RecordRegistered` log's owner).
    pub owner: Address,
    /// hashStruct(TD_i) as registered (the `RecordRegistered` log's commitment): what the
    /// enclave finds Data's slot and the grant's slot keyed by, and what TD_i must hash to.
    pub commitment: B256,
    /// TD_i from storage, if it was there.
    pub record: Option<Record>,
    /// US_i from storage.
    pub signature: Option<Bytes>,
    /// DS_i from storage.
    pub ciphertext: Option<Bytes>,
    /// r_C·PK_C, if the owner released it (`PadReleased`, or the list of a bulk consent).
    pub pad: Option<Bytes>,
    /// Where the record is in a bulk consent to the job, if the host found it in one.
    pub batch: Option<BatchMembership>,
}

/// A record version's place in a bulk consent (`Authorization.grantBatch`): the consent's
/// root and the record's Merkle path in it. The enclave checks both against the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchMembership {
    /// The root the owner's consent slot is keyed by.
    pub root: B256,
    /// Siblings from the leaf up.
    pub proof: Vec<B256>,
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
    /// What its audit entry will say, if it gets one (records without consent get none: the
    /// enclave did not touch them).
    pub audit: Option<UseOutcome>,
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

/// An EIP-1559 transaction to sign; `to` and `input` must be those of an [`AuthoredTx`], the
/// chain id the enclave's, and the fees within its cap.
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

impl UnsignedTx {
    /// The EIP-1559 transaction this describes (no value, no access list): what the enclave
    /// signs, and what the host sends with its signature.
    pub fn into_transaction(self) -> TxEip1559 {
        TxEip1559 {
            chain_id: self.chain_id,
            nonce: self.nonce,
            gas_limit: self.gas_limit,
            max_fee_per_gas: self.max_fee_per_gas,
            max_priority_fee_per_gas: self.max_priority_fee_per_gas,
            to: TxKind::Call(self.to),
            value: U256::ZERO,
            access_list: Default::default(),
            input: self.input,
        }
    }
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
    /// The block the result's view came from.
    pub view_block: u64,
    /// That block's hash.
    pub view_hash: B256,
    /// How many records the model was trained and evaluated on.
    pub records_used: u64,
    /// The ε the model was released under, in thousandths (`EPSILON_INFINITE`: without
    /// differential privacy).
    pub epsilon_milli: u32,
    /// The δ (0 without differential privacy).
    pub delta: f64,
    /// The cohort floor the training enforced.
    pub min_cohort: u64,
    /// `postResult`, then `recordUse` batches.
    pub txs: Vec<AuthoredTx>,
}
