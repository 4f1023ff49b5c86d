//! Off-chain storage: where ciphertexts live, addressed by their storage index.
//!
//! # What this crate owns
//!
//! [`Store`] is the interface every party uses: `put` an object under a [`Key`], `get`
//! it back, or `get_at_most` a size the reader expects. (It is medshare's own trait, not the
//! `object_store` crate's `ObjectStore`, which [`S3Store`] uses inside.) Two backends implement
//! it:
//!
//! * [`LocalStore`] (the default): a directory. A write goes to a temporary file in the same
//!   directory, is flushed to disk (`fsync`; for a `put_many` on Linux, one `syncfs` of the
//!   file system for all its objects), renamed over the key and the directory is flushed,
//!   so an object is either absent or complete, and a `put` that returned survives a crash.
//!   Written by hand rather than with `object_store`'s `LocalFileSystem`, which renames
//!   atomically but does not `fsync`.
//! * `S3Store` (cargo feature `s3`): any S3-compatible service (AWS, Garage, MinIO…) through the
//!   `object_store` crate. S3 PUTs are atomic: a reader sees the old object or the new one, never
//!   a part.
//!
//! [`open`] picks one from a location string: `s3://BUCKET` or a directory path.
//!
//! # Features
//!
//! `s3` (off by default) compiles the S3 backend and with it `object_store`'s HTTP, TLS and
//! AWS-signing stack. Crates that only take a [`Store`] (the parties) leave it off; the
//! programs that open a store from a location, `medshare` and `medshare-enclave`, turn it on.
//! Without it, [`open`] refuses an `s3://` location with [`Error::Config`].
//!
//! # What it does not do
//!
//! It never sees plaintext: callers store ciphertexts and public metadata (a record's TD_i and
//! US_i, a result's signature). It does not check what it stores: integrity comes from hashes
//! registered on chain, checked by whoever reads the object.

#![forbid(unsafe_code)]

mod error;
mod key;
mod local;
#[cfg(feature = "s3")]
mod s3;

pub use error::{Error, Result};
pub use key::Key;
pub use local::LocalStore;
#[cfg(feature = "s3")]
pub use s3::{DEFAULT_RETRY_TIMEOUT, S3Config, S3Store};

use std::sync::Arc;

/// The largest object a store accepts or returns (a record is far smaller: readers that know
/// their objects' size bound it further with [`Store::get_at_most`]).
pub const MAX_OBJECT_BYTES: u64 = 256 * 1024 * 1024;

/// Refuses a batch in which any object is larger than [`MAX_OBJECT_BYTES`], before writing any.
pub(crate) fn check_sizes(objects: &[(Key, Vec<u8>)]) -> Result<()> {
    objects
        .iter()
        .try_for_each(|(key, bytes)| check_size(key, bytes.len() as u64, MAX_OBJECT_BYTES))
}

/// Refuses an object of `len` bytes under `key` if it is larger than `max` (which callers cap at
/// [`MAX_OBJECT_BYTES`]).
pub(crate) fn check_size(key: &Key, len: u64, max: u64) -> Result<()> {
    if len > max {
        return Err(Error::TooLarge {
            key: key.to_string(),
            len,
            max,
        });
    }
    Ok(())
}

/// Where parties put and get ciphertexts.
#[async_trait::async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Stores `bytes` under `key`, replacing what was there. When this returns `Ok`, the object
    /// is durable and complete; before, no reader sees a partial object.
    async fn put(&self, key: &Key, bytes: Vec<u8>) -> Result<()>;
    /// Stores several objects. When this returns `Ok`, all are durable and complete; on error
    /// each is absent, its previous version, or complete, never partial. Backends override it
    /// to write the objects concurrently.
    async fn put_many(&self, objects: Vec<(Key, Vec<u8>)>) -> Result<()> {
        for (key, bytes) in objects {
            self.put(&key, bytes).await?;
        }
        Ok(())
    }
    /// The object under `key`, or [`Error::NotFound`]; one larger than [`MAX_OBJECT_BYTES`] is
    /// [`Error::TooLarge`].
    async fn get(&self, key: &Key) -> Result<Vec<u8>> {
        self.get_at_most(key, MAX_OBJECT_BYTES).await
    }
    /// The object under `key` if it is at most `max` bytes (and at most [`MAX_OBJECT_BYTES`]).
    /// A larger one is [`Error::TooLarge`], refused by its size (the file's length, the
    /// response's `Content-Length`) before any of its bytes is read, so that a reader that
    /// knows how large its objects can be holds no more than that in memory.
    async fn get_at_most(&self, key: &Key, max: u64) -> Result<Vec<u8>>;
    /// Whether an object exists under `key`.
    async fn exists(&self, key: &Key) -> Result<bool> {
        match self.get(key).await {
            Ok(_) => Ok(true),
            Err(Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
    /// A short description for messages (`dir /path`, `s3://bucket at http://…`).
    fn describe(&self) -> String;
}

/// Opens the store at `location`: `s3://BUCKET` (endpoint, region and credentials from the
/// environment, see `S3Config::from_env`; needs the `s3` feature) or a directory path (created
/// if missing).
pub fn open(location: &str) -> Result<Arc<dyn Store>> {
    if let Some(bucket) = location.strip_prefix("s3://") {
        let bucket = bucket.trim_end_matches('/');
        open_s3(bucket)
    } else {
        Ok(Arc::new(LocalStore::open(location)?))
    }
}

#[cfg(feature = "s3")]
fn open_s3(bucket: &str) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(S3Store::new(S3Config::from_env(bucket)?)?))
}

#[cfg(not(feature = "s3"))]
fn open_s3(bucket: &str) -> Result<Arc<dyn Store>> {
    Err(Error::Config(format!(
        "s3://{bucket}: this program was built without the S3 backend (medshare-storage's `s3` feature)"
    )))
}
