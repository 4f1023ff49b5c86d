//! Errors of the parties' workflows.

use alloy_primitives::Address;

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
    #[error("result of job {job} rejected: {reason} (reported on chain)")]
    ResultRejected {
        /// The job.
        job: String,
        /// Why.
        reason: String,
    },
    /// Something expected on chain or in storage is not there, or is malformed.
    #[error("{0}")]
    Missing(String),
}
