//! Record encryption (the paper's `DS_i = Encrypt(KEY_i, UDATA_i)`) and the ciphertext hash `HDS_i`.
//!
//! AES-256-GCM with a random 96-bit nonce; associated data
//! `"medshare/v1/record" || recordId (32) || owner address (20)`, so a ciphertext moved to another
//! record or claimed by another owner fails to decrypt. Wire format `nonce || ciphertext || tag`.
//!
//! A [`DataKey`] is bound to the record it was derived for (the HKDF `info` is the record id), and
//! the only ways to get one are [`crate::KeyShare::generate`] (fresh per record, for the owner)
//! and [`crate::tee::recover_data_key`] (for the TEE). [`seal_record`] and [`open_record`] take
//! the record id from the key, so one key cannot be used for two records.

use std::fmt;

use hkdf::Hkdf;
use medshare_primitives::{Address, CiphertextHash, RecordId};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{Error, Result, aead};

/// How much longer a sealed record is than its plaintext: the nonce and the tag.
pub const RECORD_SEAL_OVERHEAD: usize = aead::NONCE_LEN + aead::TAG_LEN;

/// Domain-separation prefix of the record AEAD's associated data.
const RECORD_AAD_PREFIX: &[u8] = b"medshare/v1/record";
/// HKDF salt for deriving a data key from `KEY_i`.
const KEYSHARE_SALT: &[u8] = b"medshare/v1/keyshare";

/// The AES-256-GCM key of one record, derived from the shared curve point `KEY_i`.
///
/// Zeroized on drop; not `Clone`; `Debug` prints `DataKey(..)` only.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct DataKey {
    key: [u8; 32],
    #[zeroize(skip)]
    record_id: RecordId,
}

impl DataKey {
    /// `HKDF-SHA256(ikm = SEC1-compressed KEY_i, salt = "medshare/v1/keyshare", info = recordId)`.
    pub(crate) fn derive(key_point_compressed: &[u8; 33], record_id: RecordId) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(KEYSHARE_SALT), key_point_compressed);
        let mut key = [0u8; 32];
        #[allow(
            clippy::expect_used,
            reason = "HKDF-SHA256 expand fails only above 255*32 bytes; we ask for 32"
        )]
        hk.expand(record_id.as_b256().as_slice(), &mut key)
            .expect("32 <= 255 * 32");
        Self { key, record_id }
    }

    /// The record this key belongs to.
    pub fn record_id(&self) -> RecordId {
        self.record_id
    }

    /// The raw key bytes, for the known-answer tests only.
    #[cfg(test)]
    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.key
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(..)")
    }
}

fn record_aad(record_id: RecordId, owner: Address) -> [u8; 18 + 32 + 20] {
    let mut aad = [0u8; 18 + 32 + 20];
    aad[..18].copy_from_slice(RECORD_AAD_PREFIX);
    aad[18..50].copy_from_slice(record_id.as_b256().as_slice());
    aad[50..].copy_from_slice(owner.as_slice());
    aad
}

/// Encrypts one record for `owner` under its data key (the record id comes from the key).
///
/// Returns `nonce (12) || ciphertext || tag (16)`. Fails only for plaintexts of 2^36 bytes or more.
pub fn seal_record(key: &DataKey, owner: Address, plaintext: &[u8]) -> Result<Vec<u8>> {
    seal_record_with_nonce(key, owner, plaintext, &aead::random_nonce())
}

/// [`seal_record`] with a chosen nonce, for the known-answer test only: a nonce must never repeat.
pub(crate) fn seal_record_with_nonce(
    key: &DataKey,
    owner: Address,
    plaintext: &[u8],
    nonce: &[u8; aead::NONCE_LEN],
) -> Result<Vec<u8>> {
    aead::seal(
        &key.key,
        nonce,
        &record_aad(key.record_id, owner),
        plaintext,
    )
}

/// Decrypts a record produced by [`seal_record`] for `owner` under `key`.
///
/// Any mismatch (key, record id, owner) or modification gives [`Error::RecordDecrypt`], never
/// garbage. The plaintext is zeroized when dropped.
pub fn open_record(key: &DataKey, owner: Address, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    aead::open(&key.key, &record_aad(key.record_id, owner), ciphertext).ok_or(Error::RecordDecrypt)
}

/// The paper's `HDS_i`: SHA-256 of a record ciphertext, the record's key on chain.
pub fn ciphertext_hash(ciphertext: &[u8]) -> CiphertextHash {
    CiphertextHash(sha256(ciphertext))
}

/// SHA-256 (the paper's H1 over ciphertexts; also the simulation backend's measurement of an
/// enclave program).
pub fn sha256(bytes: &[u8]) -> medshare_primitives::B256 {
    // ring's SHA-256 (the BoringSSL assembly) runs at openssl's speed; sha2 does not on CPUs
    // without the SHA extensions.
    medshare_primitives::B256::from_slice(
        ring::digest::digest(&ring::digest::SHA256, bytes).as_ref(),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn sha256_abc_known_answer() {
        // FIPS 180-2, appendix B.1.
        assert_eq!(
            ciphertext_hash(b"abc").to_string(),
            "0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_sealed_record_is_its_plaintext_and_the_overhead() {
        let key = DataKey::derive(&[2u8; 33], RecordId::default());
        for len in [0, 1, 1000] {
            let sealed = seal_record(&key, Address::ZERO, &vec![7; len]).unwrap();
            assert_eq!(sealed.len(), len + RECORD_SEAL_OVERHEAD);
        }
    }

    #[test]
    fn debug_hides_key() {
        let key = DataKey::derive(&[2u8; 33], RecordId::default());
        assert_eq!(format!("{key:?}"), "DataKey(..)");
    }

    #[test]
    fn aad_layout() {
        let id = RecordId::from(medshare_primitives::B256::repeat_byte(0xab));
        let owner = Address::repeat_byte(0xcd);
        let aad = record_aad(id, owner);
        assert_eq!(&aad[..18], b"medshare/v1/record");
        assert!(aad[18..50].iter().all(|&b| b == 0xab));
        assert!(aad[50..].iter().all(|&b| b == 0xcd));
    }
}
