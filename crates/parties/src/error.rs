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
