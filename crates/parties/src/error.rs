//! Errors of the parties' workflows.

use alloy_primitives::Address;
use medshare_chain::JobStatus;
use medshare_primitives::JobId;

/// Result alias for this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// What went wrong in a party's workflow.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A contract call failed (with the contract's named error when it reverted).
    #[error(transparent)]
    Chain(#[from] medshare_chain::Error),
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] medshare_ledger::Error),
    /// The off-chain store failed.
    #[error(transparent)]
    Storage(#[from] medshare_storage::Error),
    /// A cryptographic operation failed.
    #[error(transparent)]
    Crypto(#[from] medshare_crypto::Error),
    /// A record, schema or requirement is invalid.
    #[error(transparent)]
    Records(#[from] medshare_records::Error),
    /// The enclave refused or failed.
    #[error(transparent)]
    Enclave(#[from] medshare_enclave_api::Error),
    /// A requirement names a data type with no schema: neither built in nor published by
    /// governance in the store.
    #[error(
        "data type {0:?} has no schema: it is not built in (`medshare schema list`) and governance has published none (`medshare governance data-type --schema`)"
    )]
    NoSchema(String),
    /// The runtime shut down while a batch of records was being sealed; nothing of that batch
    /// was stored or registered.
    #[error(
        "sealing a batch of records was cancelled (the runtime is shutting down); nothing of it was sent"
    )]
    SealingCancelled,
    /// The TEE a patient would share keys with is not active on chain.
    #[error(
        "TEE {0} is not an active TEE (measurement not allowlisted, evidence not accepted, or revoked): no key is shared with it"
    )]
    TeeNotActive(Address),
    /// The public key the node returned for a TEE does not belong to the TEE's address: the
    /// node (or something between it and the patient) is lying. Nothing is shared.
    #[error(
        "the public key the node returned for TEE {tee} is not that TEE's ({}): refusing to share any key; check the RPC endpoint",
        .got.map_or_else(|| "not a valid key".to_owned(), |a| format!("it belongs to {a}"))
    )]
    TeeKeyMismatch {
        /// The TEE asked for.
        tee: Address,
        /// Whose key it was, if it was a valid key.
        got: Option<Address>,
    },
    /// Governance refused to admit a TEE: its evidence does not verify or does not fit this
    /// deployment.
    #[error("TEE {tee} not admitted: {reason}")]
    AdmissionRefused {
        /// The TEE.
        tee: Address,
        /// Why.
        reason: String,
    },
    /// The demander refused a result; the failure was reported on chain.
    #[error("result of job {job} rejected: {fault} (reported on chain)")]
    ResultRejected {
        /// The job.
        job: JobId,
        /// Which check of Algorithm 7 failed (its text is what was reported on chain).
        fault: ResultFault,
    },
    /// The model spec is invalid (a hyperparameter, a name, the privacy section).
    #[error("model spec: {0}")]
    InvalidSpec(#[source] medshare_training::Error),
    /// The model reads a feature its data requirement does not ask for.
    #[error("the model reads {0:?}, which the requirement does not ask for")]
    FeatureNotRequested(String),
    /// The model's label is not its data requirement's.
    #[error("the model's label {spec:?} is not the requirement's {requirement:?}")]
    LabelMismatch {
        /// The spec's label.
        spec: String,
        /// The requirement's label.
        requirement: String,
    },
    /// The spec's ε cannot be put on chain (thousandths of ε, or ∞).
    #[error("model spec: ε = {0} is not a positive multiple of 0.001 (or \"inf\")")]
    UnrepresentableEpsilon(f64),
    /// The requirement's minimum cohort does not fit the chain's 32 bits.
    #[error("data requirement: min_cohort {0} is too large")]
    CohortTooLarge(u64),
    /// The requirement names a data type that is not a valid data type name.
    #[error("data requirement: {0}")]
    InvalidDataType(#[source] medshare_primitives::Error),
    /// A value could not be encoded as JSON for storage or submission.
    #[error("cannot encode {what} as JSON: {source}")]
    Serialization {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's error.
        source: serde_json::Error,
    },
    /// A metadata object in storage is oversized or does not parse.
    #[error("{what} is malformed: {reason}")]
    MalformedMetadata {
        /// Which object.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// No result is posted on chain for the job.
    #[error("no result posted for job {0}")]
    NoResult(JobId),
    /// No submission IM_j is on chain for the job.
    #[error("no submission for job {0}")]
    NoSubmission(JobId),
    /// The TEE runs only approved jobs (or deployed ones, to finish a stopped run).
    #[error("job {job} is {status:?}: only an approved job is run")]
    JobNotRunnable {
        /// The job.
        job: JobId,
        /// Its status on chain.
        status: JobStatus,
    },
    /// A job's budgets were debited for a training whose checkpoint the store no longer has:
    /// that training is the only one the job may release, so the job cannot complete.
    #[error(
        "job {job} paid its privacy budgets for a training whose checkpoint (checkpoints/<job>) \
         is not in the store: restore it from a backup of the store; a new training would be a \
         second model for budgets paid once, which the enclave refuses"
    )]
    CheckpointLost {
        /// The job.
        job: JobId,
    },
    /// The node does not have a block it was asked for.
    #[error("the node has no block {0}")]
    NoBlock(u64),
    /// The node's headers carry no seal, so a TEE cannot anchor its trust in a sealer.
    #[error("block {block} carries no valid seal ({source}): the node's headers are not signed")]
    HeadersNotSealed {
        /// The block.
        block: u64,
        /// Why its seal does not verify.
        source: medshare_light::Error,
    },
    /// The enclave's key was sealed for another deployment than the one given.
    #[error(
        "the enclave's key was sealed for the deployment at Registration {sealed_for}, not {given}: use the enclave directory made for this deployment"
    )]
    WrongDeployment {
        /// Registration's address in the enclave's trust anchors.
        sealed_for: Address,
        /// Registration's address in the deployment given.
        given: Address,
    },
    /// The node serves another chain than the one the enclave's key was sealed for.
    #[error(
        "the node serves chain id {node}, but the enclave's key was sealed for chain id {sealed_for}"
    )]
    WrongChain {
        /// The node's chain id.
        node: u64,
        /// The chain id in the enclave's trust anchors.
        sealed_for: u64,
    },
    /// Transactions the enclave wrote could not be sent.
    #[error("{what}: {source}")]
    TransactionFailed {
        /// The transactions (e.g. `Model.postResult, Audit.recordUse`).
        what: String,
        /// Why.
        source: Box<medshare_chain::Error>,
    },
    /// An earlier ecall panicked while holding the enclave: it cannot be used any more.
    #[error("the enclave lock is poisoned")]
    EnclavePoisoned,
}

/// Why a demander refuses a job's result (Algorithm 7); its text is the reason reported on
/// chain with `Model.reportResultFailure`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResultFault {
    /// CMRT_j cannot be read from storage.
    #[error("the encrypted result is not in storage: {0}")]
    NotStored(String),
    /// The stored CMRT_j does not hash to the HCMRT_j the TEE posted.
    #[error("the stored result does not hash to HCMRT_j on chain")]
    HashMismatch,
    /// SMRT_j cannot be read from storage.
    #[error("the result's signature is not in storage: {0}")]
    SignatureNotStored(String),
    /// The stored SMRT_j object is oversized or does not parse.
    #[error("{0}")]
    MalformedSignature(String),
    /// The TEE's registration could not be read.
    #[error("cannot read the TEE's registration: {0}")]
    TeeUnreadable(String),
    /// The account that posted the result is not a registered TEE.
    #[error("the result was posted by an account that is not a registered TEE")]
    NotATee,
    /// The TEE that posted the result was never admitted by governance.
    #[error("the result was posted by a TEE governance never admitted")]
    TeeNotAdmitted,
    /// SMRT_j is not a valid signature.
    #[error("SMRT_j is not a valid signature: {0}")]
    InvalidSignature(String),
    /// SMRT_j is a signature, but not the posting TEE's over this job and result.
    #[error("SMRT_j is not the posting TEE's signature over this job and result")]
    WrongSigner,
    /// CMRT_j does not decrypt with the demander's key.
    #[error("the result does not decrypt: {0}")]
    Undecryptable(String),
    /// MRT_j does not parse.
    #[error("MRT_j does not parse: {0}")]
    Unparsable(String),
}
