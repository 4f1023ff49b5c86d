//! Cryptography of medshare: record encryption, the paper's key sharing, EIP-712 signatures,
//! result encryption, and keys at rest.
//!
//! # What this crate owns
//!
//! | step (paper §5) | here |
//! |---|---|
//! | `KEY_i`, `CM_i = KEY_i + r_C·PK_C + r_U·PK_T` (eq. 4) | [`KeyShare::generate`], [`pk_c`] |
//! | `DS_i = Encrypt(KEY_i, UDATA_i)`, `HDS_i = H1(DS_i)` | [`seal_record`], [`ciphertext_hash`] |
//! | `KEY_i = CM_i − r_C·PK_C − SK_T·r_U·g` (eq. 13) | [`tee::recover_data_key`] |
//! | `US_i`, `ST_j`, `ST_i`, `SMRT_j`, consent | [`eip712`] structs, [`Identity::sign_typed`], [`eip712::verify`] |
//! | `CMRT_j = Encrypt_ECC(PK_j, MRT_j)` (eq. 15) | [`seal_result`], [`open_result`] |
//! | parties' keys | [`Identity`], [`create_keystore`], [`open_keystore`] |
//!
//! ```text
//!  owner                              chain                        TEE (SK_T)
//!  KeyShare::generate ──cm, rUg, pad──▶ Record (signed)  ─────────▶ cm, rUg
//!  seal_record(DataKey) ─ciphertext──▶ storage ──────────────────▶ ciphertext
//!  consent ─────────────r_C·PK_C────▶ Consent (pad checked) ─────▶ tee::recover_data_key
//!                                                                    open_record
//!  demander ◀────────────────────────── result ciphertext ◀─────── seal_result(PK_j)
//! ```
//!
//! # Example
//!
//! ```
//! use medshare_crypto::{Identity, KeyShare, open_record, pk_c, seal_record, tee};
//! use medshare_primitives::{Address, RecordId};
//! # fn main() -> medshare_crypto::Result<()> {
//! let owner = Identity::random();
//! let enclave = Identity::random(); // SK_T; its public key is PK_T
//! let record_id = RecordId::random();
//! let pk_c = pk_c(1337, Address::repeat_byte(0xa1)); // the Authorization contract's point
//!
//! // Owner: a fresh key for this record, shared to the enclave, padded with r_C·PK_C.
//! let (key, share) =
//!     KeyShare::generate(&mut rand::rngs::OsRng, record_id, &enclave.public_key(), &pk_c);
//! let ciphertext = seal_record(&key, owner.address(), b"age=54,radius=17.99")?;
//!
//! // Enclave, once the owner has revealed r_C·PK_C in a consent:
//! tee::check_pad_commitment(&share.r_c_pk_c[..], share.pad_commitment())?;
//! let key = tee::recover_data_key(
//!     &enclave, record_id, &share.cm[..], &share.r_c_pk_c[..], &share.r_u_g[..],
//! )?;
//! assert_eq!(&open_record(&key, owner.address(), &ciphertext)?[..], b"age=54,radius=17.99");
//! # Ok(())
//! # }
//! ```
//!
//! # What it does not do
//!
//! No I/O except [`keystore`] files, no networking, no chain access, no choice of which records
//! to decrypt: callers decide *whether* to decrypt (after checking chain state); this crate only
//! makes sure a wrong key, record, owner or job can never yield plaintext.
//!
//! # Invariants
//!
//! * A [`DataKey`] exists only as the fresh output of [`KeyShare::generate`] or of
//!   [`tee::recover_data_key`], is bound to one record id, is zeroized on drop and never printed.
//!   The key-sharing scalars `k`, `r_U`, `r_C` never leave [`KeyShare::generate`].
//! * Decryption either returns the exact plaintext or an "authentication failed" error
//!   ([`Error::RecordDecrypt`], [`Error::ResultDecrypt`]); plaintexts are returned in
//!   [`Zeroizing`](zeroize::Zeroizing) buffers.
//! * Every point and signature from outside is validated before use; a [`eip712::Signature`] is
//!   always canonical (`v ∈ {27,28}`, low `s`).
//! * No `Debug` output contains secret bytes ([`Identity`], [`DataKey`], the pad in
//!   [`KeyShareMaterial`]).
//! * Wire formats and EIP-712 encodings are pinned by known-answer vectors in `testdata/`,
//!   computed independently by `testdata/gen_vectors.py`.

#![forbid(unsafe_code)]

mod aead;
pub mod eip712;
mod error;
mod identity;
mod keyshare;
pub mod keystore;
mod record;
mod result;
mod secp;
pub mod tee;

pub use error::Error;
pub use identity::{Identity, address_of, public_key_from_bytes};
pub use k256::PublicKey;
pub use keyshare::{KeyShare, KeyShareMaterial, pk_c};
pub use keystore::{
    KdfCost, check_keystore_json, create_keystore, create_keystore_with, open_keystore,
};
pub use record::{
    DataKey, RECORD_SEAL_OVERHEAD, ciphertext_hash, open_record, seal_record, sha256,
};
pub use result::{open_result, seal_result};

/// Result alias for this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

#[cfg(test)]
mod vectors;
