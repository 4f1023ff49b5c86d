//! Errors of the crypto crate.
//!
//! Decryption failures are deliberately coarse: one "authentication failed" variant per domain
//! ([`Error::RecordDecrypt`], [`Error::ResultDecrypt`]) that does not say whether the key, the
//! nonce, the associated data or the tag was wrong. Errors about *public* inputs (malformed points,
//! signatures, keystore files) say precisely what was wrong, because the caller needs that to act.

use alloy_primitives::Address;
use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A record ciphertext did not decrypt: wrong data key, wrong record id, wrong owner, or a
    /// ciphertext that was truncated or modified. Which of these is not revealed.
    #[error(
        "record decryption failed (authentication failed): wrong key, record id, owner, or a modified ciphertext"
    )]
    RecordDecrypt,

    /// A training-result ciphertext did not decrypt: wrong recipient key, wrong job id, or a
    /// ciphertext that was truncated or modified. Which of these is not revealed.
    #[error(
        "result decryption failed (authentication failed): wrong recipient, job id, or a modified ciphertext"
    )]
    ResultDecrypt,

    /// The plaintext is longer than AES-256-GCM can encrypt under one nonce (2^36 bytes).
    #[error("plaintext of {len} bytes is too long for AES-256-GCM (limit 2^36 bytes)")]
    PlaintextTooLong {
        /// Length of the rejected plaintext in bytes.
        len: usize,
    },

    /// A curve point received from outside was not a valid SEC1-compressed secp256k1 point
    /// (33 bytes, prefix 0x02/0x03, on the curve, not the point at infinity).
    #[error(
        "{what} is not a valid compressed secp256k1 point (need 33 bytes, prefix 0x02 or 0x03, on the curve, not the identity)"
    )]
    BadPoint {
        /// Which input was rejected (for example `"cm"`).
        what: &'static str,
    },

    /// A public key given as bytes had neither 33 (compressed), 64 (raw x||y) nor 65 (0x04||x||y)
    /// bytes, or was not on the curve.
    #[error(
        "not a valid secp256k1 public key (expected 33, 64 or 65 bytes of a point on the curve)"
    )]
    BadPublicKey,

    /// Key recovery gave the point at infinity: `CM − r_C·PK_C − SK_T·(r_U·g)` was the identity,
    /// which an honest owner never produces. The key share is inconsistent.
    #[error("key share material is inconsistent: key recovery gave the point at infinity")]
    DegenerateKeyShare,

    /// `keccak256(r_C·PK_C)` did not equal the record's pad commitment.
    #[error("r_C·PK_C does not match the pad commitment registered with the record")]
    PadCommitmentMismatch,

    /// A signature was not a canonical 65-byte Ethereum signature.
    #[error("invalid signature: {reason}")]
    BadSignature {
        /// What was wrong with it.
        reason: &'static str,
    },

    /// A well-formed signature was made by someone other than the expected signer (or over other
    /// data, a different domain or a different struct).
    #[error("signature does not verify: it recovers to {recovered}, expected {expected}")]
    WrongSigner {
        /// The address the caller expected.
        expected: Address,
        /// The address the signature recovers to for the given data and domain.
        recovered: Address,
    },

    /// The signer failed to produce a signature.
    #[error("signing failed: {0}")]
    Signing(String),

    /// 32 bytes that are not a valid secp256k1 secret key (zero, or not below the group order).
    #[error("not a valid secp256k1 secret key (must be in 1..n-1)")]
    BadSecretKey,

    /// No keystore file at the path.
    #[error("keystore {}: no such file", path.display())]
    KeystoreMissing {
        /// The path that was tried.
        path: PathBuf,
    },

    /// The keystore is well-formed but its MAC does not match the password-derived key.
    #[error("keystore {}: wrong password", path.display())]
    KeystoreWrongPassword {
        /// The keystore file.
        path: PathBuf,
    },

    /// The file is not an Ethereum v3 keystore this crate can open.
    #[error("keystore {} is not a valid Ethereum v3 keystore: {reason}", path.display())]
    KeystoreMalformed {
        /// The keystore file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },

    /// A file already exists where a new keystore was to be written; keys are never overwritten.
    #[error("keystore {} already exists; refusing to overwrite a key", path.display())]
    KeystoreExists {
        /// The existing file.
        path: PathBuf,
    },

    /// A keystore name that is not a plain file name.
    #[error(
        "keystore name {name:?} must be a plain file name (no path separators, not '.' or '..')"
    )]
    KeystoreBadName {
        /// The rejected name.
        name: String,
    },

    /// Reading or writing a keystore file failed.
    #[error("keystore {}: {source}", path.display())]
    KeystoreIo {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}
