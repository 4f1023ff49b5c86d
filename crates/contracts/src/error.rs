//! Errors of this crate.

/// What can go wrong when using the bindings.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call or transaction reverted. `reason` is the contract's named custom error with its
    /// arguments (e.g. `NotRecordOwner(0x…, 0x…)`) when the revert data is one of medshare's
    /// errors, a standard `Error(string)`/`Panic(uint256)` message, or else the raw data in hex.
    #[error("contract reverted: {reason}")]
    Reverted {
        /// Human-readable revert reason.
        reason: String,
    },
    /// Return data, event data or revert data did not ABI-decode as the expected type.
    #[error("ABI decoding failed: {0}")]
    Abi(#[from] alloy_sol_types::Error),
    /// A job status number outside the contract's `JobStatus` enum.
    #[error("unknown job status {0}")]
    UnknownJobStatus(u8),
    /// A number outside one of the contracts' enums.
    #[error("unknown {0} {1}")]
    UnknownEnum(&'static str, u8),
    /// A checked-in artifact lacks what this crate needs (a bug of the build, not of input).
    #[error("contract artifact: {0}")]
    Artifact(String),
}
