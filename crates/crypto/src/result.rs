//! Training-result encryption to the demander (the paper's `Encrypt_ECC` / `Decrypt_ECC`, eq. (15)).
//!
//! ECIES on secp256k1: an ephemeral key `e`, ECDH with the recipient's public key, then
//! `HKDF-SHA256(ikm = x(e·PK_j), salt = E (33) || PK_j (33), info = "medshare/v1/result")` gives
//! an AES-256-GCM key; associated data `"medshare/v1/result" || jobId (32)` binds the result to
//! its job. Wire format `E (33) || nonce (12) || ciphertext || tag (16)`.
//!
//! Why hand-assembled from k256 + hkdf + AES-256-GCM (ring): the maintained ECIES crates do not fit. The
//! `ecies` crate fixes its own KDF input and has no associated data, so a result could be
//! replayed under another job; HPKE (RFC 9180, the `hpke` crate) defines no secp256k1 KEM, and
//! the demander's only key is its Ethereum (secp256k1) account key. The pieces used here are
//! maintained primitives (RustCrypto, ring); only the composition (a dozen lines) is ours.

use hkdf::Hkdf;
use k256::ecdh::diffie_hellman;
use k256::{NonZeroScalar, PublicKey};
use medshare_primitives::JobId;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::identity::compress;
use crate::{Error, Identity, Result, aead};

/// Domain-separation string: HKDF info and associated-data prefix.
const RESULT_LABEL: &[u8] = b"medshare/v1/result";
/// Length of the ephemeral public key at the start of the wire format.
const EPHEMERAL_LEN: usize = 33;

fn result_aad(job: JobId) -> [u8; 18 + 32] {
    let mut aad = [0u8; 18 + 32];
    aad[..18].copy_from_slice(RESULT_LABEL);
    aad[18..].copy_from_slice(job.as_b256().as_slice());
    aad
}

/// The AES key for one (ephemeral, recipient) pair from the ECDH shared x-coordinate.
fn result_key(shared_x: &[u8], ephemeral: &[u8; 33], recipient: &[u8; 33]) -> Zeroizing<[u8; 32]> {
    let mut salt = [0u8; 66];
    salt[..33].copy_from_slice(ephemeral);
    salt[33..].copy_from_slice(recipient);
    let hk = Hkdf::<Sha256>::new(Some(&salt), shared_x);
    let mut key = Zeroizing::new([0u8; 32]);
    #[allow(
        clippy::expect_used,
        reason = "HKDF-SHA256 expand fails only above 255*32 bytes; we ask for 32"
    )]
    hk.expand(RESULT_LABEL, key.as_mut())
        .expect("32 <= 255 * 32");
    key
}

/// Encrypts a training result to `recipient` (the demander's public key) for job `job`.
///
/// Fails only for plaintexts of 2^36 bytes or more.
pub fn seal_result(recipient: &PublicKey, job: JobId, plaintext: &[u8]) -> Result<Vec<u8>> {
    let ephemeral = Zeroizing::new(NonZeroScalar::random(&mut rand::rngs::OsRng));
    seal_result_with(&ephemeral, &aead::random_nonce(), recipient, job, plaintext)
}

/// The deterministic core of [`seal_result`], for the known-answer vector.
pub(crate) fn seal_result_with(
    ephemeral: &NonZeroScalar,
    nonce: &[u8; aead::NONCE_LEN],
    recipient: &PublicKey,
    job: JobId,
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let eph_pub = compress(&PublicKey::from_secret_scalar(ephemeral));
    let shared = diffie_hellman(ephemeral, recipient.as_affine());
    let key = result_key(
        shared.raw_secret_bytes(),
        &eph_pub.0,
        &compress(recipient).0,
    );
    let sealed = aead::seal(&key, nonce, &result_aad(job), plaintext)?;
    let mut out = Vec::with_capacity(EPHEMERAL_LEN + sealed.len());
    out.extend_from_slice(eph_pub.as_slice());
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Decrypts a result sealed by [`seal_result`] to `recipient`'s public key for job `job`.
///
/// Any mismatch or modification (including a malformed ephemeral key) gives
/// [`Error::ResultDecrypt`]. The plaintext is zeroized when dropped.
pub fn open_result(
    recipient: &Identity,
    job: JobId,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let (eph_bytes, rest) = ciphertext
        .split_at_checked(EPHEMERAL_LEN)
        .ok_or(Error::ResultDecrypt)?;
    let eph_bytes: &[u8; 33] = eph_bytes.try_into().map_err(|_| Error::ResultDecrypt)?;
    if !matches!(eph_bytes[0], 0x02 | 0x03) {
        return Err(Error::ResultDecrypt);
    }
    let eph = PublicKey::from_sec1_bytes(eph_bytes).map_err(|_| Error::ResultDecrypt)?;
    let shared = diffie_hellman(recipient.secret_scalar(), eph.as_affine());
    let key = result_key(
        shared.raw_secret_bytes(),
        eph_bytes,
        &recipient.public_key_compressed().0,
    );
    aead::open(&key, &result_aad(job), rest).ok_or(Error::ResultDecrypt)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn malformed_ephemeral_is_a_decrypt_error() {
        let id = Identity::random();
        let job = JobId::random();
        let mut ct = seal_result(&id.public_key(), job, b"weights").unwrap();
        assert_eq!(&open_result(&id, job, &ct).unwrap()[..], b"weights");
        ct[0] = 0x04;
        assert!(matches!(
            open_result(&id, job, &ct),
            Err(Error::ResultDecrypt)
        ));
        assert!(matches!(
            open_result(&id, job, &ct[..10]),
            Err(Error::ResultDecrypt)
        ));
    }
}
