//! Errors of the primitives crate.

/// A value did not have the form the protocol requires.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// A 32-byte id was not 0x-prefixed 64-digit hex.
    #[error("{kind} must be 32 bytes of hex (0x followed by 64 digits), got {input:?}")]
    BadId {
        /// Which id type was being parsed.
        kind: &'static str,
        /// The start of the rejected input.
        input: String,
    },
    /// A data type name had characters or a length outside the allowed set.
    #[error("data type names are 1-64 characters of a-z, 0-9, '.', '_', '/', '-'; got {input:?}")]
    BadDataType {
        /// The start of the rejected input.
        input: String,
    },
    /// A role number outside 1..=4.
    #[error("unknown role number {0} (1 user, 2 demander, 3 tee, 4 reviewer)")]
    BadRole(u8),
}
