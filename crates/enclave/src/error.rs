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
}
