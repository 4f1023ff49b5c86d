//! Errors of the enclave. Messages never contain record values or key material.

/// Result alias for this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// What the enclave refuses or fails at.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The sealed key file is missing, unreadable, or does not unseal on this platform.
    #[error("sealed key {path}: {reason}")]
    Sealed {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A request arrived out of order (no job started, a job already running).
    #[error("{0}")]
    State(String),
    /// The host asked for a signature over a transaction the enclave did not write.
    #[error(
        "refusing to sign a transaction the enclave did not write (to {to}, {len} bytes of calldata)"
    )]
    NotAuthored {
        /// The recipient asked for.
        to: alloy_primitives::Address,
        /// Calldata length.
        len: usize,
    },
    /// Training failed or was refused (e.g. fewer usable records than the minimum cohort).
    #[error("training: {0}")]
    Training(#[from] medshare_training::Error),
    /// A cryptographic operation failed.
    #[error("crypto: {0}")]
    Crypto(#[from] medshare_crypto::Error),
    /// A message could not be decoded or encoded.
    #[error("message: {0}")]
    Message(String),
    /// The chain view the host gave does not verify (header seal, proofs, bounds).
    #[error("chain view refused: {0}")]
    View(String),
    /// A fact the request needs has no proof in the view.
    #[error("the chain view does not prove slot {slot} of {address}, which this request needs")]
    Unproven {
        /// The contract.
        address: alloy_primitives::Address,
        /// The storage slot.
        slot: alloy_primitives::B256,
    },
    /// A chain fact the job rests on does not hold (the job is not approved, its reviewer was
    /// removed, this TEE is not admitted or was revoked, …).
    #[error("refused: {0}")]
    Refused(String),
    /// The host asked for a signature with another chain id or fees above the cap.
    #[error("refusing to sign: {0}")]
    Unsignable(String),
}
