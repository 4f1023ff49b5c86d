//! Errors of the storage crate.

/// Result alias for this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// What went wrong storing or fetching an object.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No object under this key.
    #[error("no object {key} in {store}")]
    NotFound {
        /// The key.
        key: String,
        /// The store.
        store: String,
    },
    /// A key is not a valid storage path.
    #[error("invalid storage key {key:?}: {reason}")]
    BadKey {
        /// The key.
        key: String,
        /// Why.
        reason: &'static str,
    },
    /// An object is larger than accepted: [`crate::MAX_OBJECT_BYTES`], or the `max` of a
    /// [`crate::Store::get_at_most`].
    #[error("object {key} is {len} bytes, more than the {max} accepted")]
    TooLarge {
        /// The key.
        key: String,
        /// Its size.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// The store is misconfigured (missing endpoint, credentials, bad directory).
    #[error("storage configuration: {0}")]
    Config(String),
    /// The file system or the S3 service failed.
    #[error("storage {store}: {op} {key}: {reason}")]
    Io {
        /// The store.
        store: String,
        /// The operation.
        op: &'static str,
        /// The key.
        key: String,
        /// What failed.
        reason: String,
    },
    /// The store cannot be reached at all (connection refused or timed out after retries, its
    /// directory gone): nothing is known about any one object. A job stops rather than
    /// excluding records for it, and can be run again.
    #[error("storage {store} is unavailable: {reason}")]
    Unavailable {
        /// The store.
        store: String,
        /// What failed.
        reason: String,
    },
}

impl Error {
    /// Whether the store as a whole is unreachable ([`Error::Unavailable`]), as opposed to an
    /// error about one object (missing, unreadable, too large, refused by the service).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}
