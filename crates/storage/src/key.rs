//! Storage keys.

use crate::{Error, Result};

/// A storage key: `/`-separated segments of `a-z`, `0-9`, `.`, `_` and `-`, none empty, `.` or
/// `..`, at most 256 bytes. Keys map to file paths under a [`crate::LocalStore`] root, so these
/// rules keep every key inside it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(String);

impl Key {
    /// Validates `key`.
    pub fn new(key: impl Into<String>) -> Result<Self> {
        let key = key.into();
        let bad = |reason| Error::BadKey {
            key: key.clone(),
            reason,
        };
        if key.is_empty() || key.len() > 256 {
            return Err(bad("a key is 1 to 256 bytes"));
        }
        for segment in key.split('/') {
            if segment.is_empty() || segment == "." || segment == ".." {
                return Err(bad("empty, '.' or '..' path segment"));
            }
            if !segment.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            }) {
                return Err(bad("only a-z, 0-9, '.', '_', '-' and '/' are allowed"));
            }
            if segment.starts_with('.') {
                return Err(bad("a segment may not start with '.'"));
            }
        }
        Ok(Self(key))
    }

    /// `records/<hex>`: a record's ciphertext, by its ciphertext hash (the storage index DA_i).
    pub fn record(ciphertext_hash: &[u8; 32]) -> Self {
        Self(format!("records/{}", hex::encode(ciphertext_hash)))
    }

    /// `records/<hex>.td.json`: a record's TD_i and the owner's signature US_i.
    pub fn record_meta(ciphertext_hash: &[u8; 32]) -> Self {
        Self(format!("records/{}.td.json", hex::encode(ciphertext_hash)))
    }

    /// `results/<hex>`: an encrypted result CMRT_j, by its hash HCMRT_j.
    pub fn result(result_hash: &[u8; 32]) -> Self {
        Self(format!("results/{}", hex::encode(result_hash)))
    }

    /// `results/<hex>.sig.json`: the TEE's signature SMRT_j over a result.
    pub fn result_meta(result_hash: &[u8; 32]) -> Self {
        Self(format!("results/{}.sig.json", hex::encode(result_hash)))
    }

    /// `consents/<hex>.json`: the list of a bulk consent (record versions and their pads), by
    /// its SHA-256 (named on chain by `Authorization.BatchGranted`).
    pub fn consent(list_hash: &[u8; 32]) -> Self {
        Self(format!("consents/{}.json", hex::encode(list_hash)))
    }

    /// `checkpoints/<hex>`: a job's training sealed to its TEE's key, kept until its result is
    /// released, by job id.
    pub fn checkpoint(job: &[u8; 32]) -> Self {
        Self(format!("checkpoints/{}", hex::encode(job)))
    }

    /// `schemas/<hex>.json`: a data type's schema (features, clipping bounds, label), by the
    /// data type's id, for data types that are not built in.
    pub fn schema(data_type: &[u8; 32]) -> Self {
        Self(format!("schemas/{}.json", hex::encode(data_type)))
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_inside_the_store() {
        for bad in [
            "", "/a", "a/", "a//b", "../x", "a/../b", "a/./b", ".hidden", "A", "a b", "a\\b", "a\0",
        ] {
            assert!(Key::new(bad).is_err(), "{bad:?} accepted");
        }
        Key::new("records/00ff.td.json").unwrap();
        assert_eq!(
            Key::record(&[0xab; 32]).as_str().len(),
            "records/".len() + 64
        );
        Key::new(Key::result_meta(&[1; 32]).as_str()).unwrap();
    }
}
