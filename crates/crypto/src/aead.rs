//! The one AES-256-GCM construction used by both record and result encryption.
//!
//! Wire format: `nonce (12) || ciphertext || tag (16)`. Kept private so the only way to encrypt
//! is through [`crate::record`] or [`crate::result`], which fix the associated data.
//!
//! The cipher is `ring`'s AES-256-GCM (the BoringSSL assembly, with AES-NI and carry-less
//! multiplication): it runs at the machine's limit, which the portable RustCrypto implementation
//! does not reach on x86-64 (about a fifth of `openssl speed` here).

use rand::RngCore;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use zeroize::Zeroizing;

use crate::{Error, Result};

/// AES-GCM nonce length in bytes (96 bits).
pub(crate) const NONCE_LEN: usize = 12;
/// AES-GCM tag length in bytes.
pub(crate) const TAG_LEN: usize = 16;
/// Longest plaintext AES-GCM accepts under one nonce (the crate's `P_MAX`).
const P_MAX: u64 = 1 << 36;

/// A fresh random 96-bit nonce from the OS RNG. Keys here encrypt few messages (one record, or
/// one ephemeral key per result), far below the 2^32 random-nonce limit.
pub(crate) fn random_nonce() -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    nonce
}

/// Encrypts `plaintext` and returns `nonce || ciphertext || tag`.
pub(crate) fn seal(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    if plaintext.len() as u64 > P_MAX {
        return Err(Error::PlaintextTooLong {
            len: plaintext.len(),
        });
    }
    let cipher = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(|_| {
        Error::PlaintextTooLong {
            len: plaintext.len(),
        }
    })?);
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(nonce);
    out.extend_from_slice(plaintext);
    let tag = cipher
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(aad),
            &mut out[NONCE_LEN..],
        )
        .map_err(|_| Error::PlaintextTooLong {
            len: plaintext.len(),
        })?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Decrypts `nonce || ciphertext || tag`; `None` on any failure (short input or bad tag).
pub(crate) fn open(key: &[u8; 32], aad: &[u8], wire: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if wire.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let (nonce, ct) = wire.split_first_chunk::<NONCE_LEN>()?;
    let cipher = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).ok()?);
    let mut buf = Zeroizing::new(ct.to_vec());
    let len = cipher
        .open_in_place(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(aad),
            &mut buf,
        )
        .ok()?
        .len();
    buf.truncate(len);
    Some(buf)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16 (AES-256, 96-bit IV,
    /// 20 bytes of AAD), the vector NIST SP 800-38D cites. Runs through the same `seal`/`open`
    /// the record and result code use.
    #[test]
    fn aes_256_gcm_known_answer() {
        let key: [u8; 32] = h("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
            .try_into()
            .unwrap();
        let nonce: [u8; 12] = h("cafebabefacedbaddecaf888").try_into().unwrap();
        let pt = h(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        );
        let aad = h("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let expected_ct = h(
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
        );
        let expected_tag = h("76fc6ece0f4e1768cddf8853bb2d551b");

        let wire = seal(&key, &nonce, &aad, &pt).unwrap();
        assert_eq!(&wire[..12], &nonce);
        assert_eq!(&wire[12..12 + pt.len()], &expected_ct[..]);
        assert_eq!(&wire[12 + pt.len()..], &expected_tag[..]);
        assert_eq!(&open(&key, &aad, &wire).unwrap()[..], &pt[..]);
        assert!(open(&key, b"other aad", &wire).is_none());
    }

    #[test]
    fn short_input_is_rejected() {
        let key = [7u8; 32];
        let wire = seal(&key, &[0; 12], b"", b"").unwrap();
        assert_eq!(wire.len(), NONCE_LEN + TAG_LEN);
        assert!(open(&key, b"", &wire).is_some());
        assert!(open(&key, b"", &wire[..wire.len() - 1]).is_none());
    }
}
