//! libsecp256k1 (the `secp256k1` crate, already linked through alloy and revm) for the owner's
//! per-record hot paths: the key share's four products and the EIP-712 record signature.
//!
//! A `medshare bench ledger` profile spent about 40 % of its samples in k256's products and
//! ECDSA signing on the uploading clients; libsecp256k1 does the same work in about half the
//! time. Everything here is constant time in the secrets, as k256 is: `ecmult_gen` (blinded by
//! the context's randomization) for products with the generator and for the ECDSA nonce, and
//! `ecmult_const` (through ECDH) for products with any other point. Point additions stay in
//! k256 (complete, constant-time formulas), as libsecp256k1's public `combine` is variable time.
//!
//! Secrets: a [`secp256k1::SecretKey`] is built per call from the scalar's bytes held in a
//! [`Zeroizing`] buffer and erased on drop ([`SecretKey`] here); secret points come out as
//! bytes in [`Zeroizing`] buffers.
//!
//! Outputs are identical to k256's: the same points, and the same RFC 6979 signatures with low
//! `s` and the recovery id Ethereum expects (tests below compare both for random keys).

use std::sync::LazyLock;

use alloy_primitives::B256;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::{NonZeroScalar, PublicKey};
use rand::RngCore;
use secp256k1::{All, Message, Secp256k1};
use zeroize::Zeroizing;

use crate::eip712::Signature;
use crate::{Error, Result};

/// One context for the process, randomized once from the OS RNG (blinding of `ecmult_gen`
/// against side channels; it does not change any output).
static CONTEXT: LazyLock<Secp256k1<All>> = LazyLock::new(|| {
    let mut context = Secp256k1::new();
    let mut seed = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(seed.as_mut());
    context.seeded_randomize(&seed);
    context
});

/// A libsecp256k1 secret key that is erased when dropped.
pub(crate) struct SecretKey(secp256k1::SecretKey);

impl SecretKey {
    /// The key of a k256 scalar (never zero, below the order, so always valid).
    pub(crate) fn from_scalar(scalar: &NonZeroScalar) -> Result<Self> {
        let bytes: Zeroizing<[u8; 32]> = Zeroizing::new(scalar.to_bytes().into());
        secp256k1::SecretKey::from_byte_array(*bytes)
            .map(Self)
            .map_err(|_| Error::BadSecretKey)
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.0.non_secure_erase();
    }
}

/// A public point in libsecp256k1's form (from k256's affine coordinates: no square root).
pub(crate) fn public_key(point: &PublicKey) -> Result<secp256k1::PublicKey> {
    secp256k1::PublicKey::from_slice(point.to_encoded_point(false).as_bytes())
        .map_err(|_| Error::BadPublicKey)
}

/// `scalar·G` as SEC1 uncompressed bytes `0x04 || x || y`, for a secret product.
pub(crate) fn mul_generator(scalar: &SecretKey) -> Zeroizing<[u8; 65]> {
    let context: &Secp256k1<All> = &CONTEXT;
    Zeroizing::new(
        secp256k1::PublicKey::from_secret_key(context, &scalar.0).serialize_uncompressed(),
    )
}

/// `scalar·G` SEC1-compressed, for a public product.
pub(crate) fn mul_generator_compressed(scalar: &SecretKey) -> [u8; 33] {
    let context: &Secp256k1<All> = &CONTEXT;
    secp256k1::PublicKey::from_secret_key(context, &scalar.0).serialize()
}

/// `scalar·point` as SEC1 uncompressed bytes `0x04 || x || y` (libsecp256k1's constant-time
/// ECDH product, whose output is the point itself here, not a hash of it).
pub(crate) fn mul(point: &secp256k1::PublicKey, scalar: &SecretKey) -> Zeroizing<[u8; 65]> {
    let xy = Zeroizing::new(secp256k1::ecdh::shared_secret_point(point, &scalar.0));
    let mut out = Zeroizing::new([0u8; 65]);
    out[0] = 0x04;
    out[1..].copy_from_slice(xy.as_ref());
    out
}

/// The SEC1-compressed form of an uncompressed encoding (`0x02 | parity of y`, then `x`),
/// without leaving the secret's bytes behind.
pub(crate) fn compress_uncompressed(uncompressed: &[u8; 65]) -> Zeroizing<[u8; 33]> {
    let mut out = Zeroizing::new([0u8; 33]);
    out[0] = 0x02 | (uncompressed[64] & 1);
    out[1..].copy_from_slice(&uncompressed[1..33]);
    out
}

/// Signs a 32-byte digest with `secret` (RFC 6979 deterministic ECDSA, low `s`), as the
/// canonical 65-byte Ethereum signature `r || s || v`, `v = 27 + recovery id`.
pub(crate) fn sign_prehash(secret: &NonZeroScalar, digest: &B256) -> Result<Signature> {
    let key = SecretKey::from_scalar(secret)?;
    let signature = CONTEXT.sign_ecdsa_recoverable(Message::from_digest(digest.0), &key.0);
    let (recovery_id, rs) = signature.serialize_compact();
    // 2 and 3 mean r overflowed the order (probability ~2^-127), which Ethereum's `v` cannot say.
    let v = match i32::from(recovery_id) {
        0 => 27,
        1 => 28,
        _ => {
            return Err(Error::Signing(
                "the signature's r overflowed the group order".into(),
            ));
        }
    };
    let mut bytes = [0u8; 65];
    bytes[..64].copy_from_slice(&rs);
    bytes[64] = v;
    Signature::from_slice(&bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use alloy_signer::SignerSync;
    use alloy_signer_local::PrivateKeySigner;
    use k256::ProjectivePoint;
    use k256::elliptic_curve::ops::MulByGenerator;

    /// libsecp256k1's RFC 6979 signatures are byte for byte k256's (through alloy's signer),
    /// recovery id included, for random keys and digests.
    #[test]
    fn signatures_identical_to_k256() {
        let mut rng = rand::rngs::OsRng;
        for _ in 0..64 {
            let signer = PrivateKeySigner::random_with(&mut rng);
            let mut digest = B256::ZERO;
            rng.fill_bytes(digest.as_mut_slice());
            let k256_sig = signer.sign_hash_sync(&digest).unwrap();
            let ours = sign_prehash(signer.as_nonzero_scalar(), &digest).unwrap();
            assert_eq!(ours.as_bytes(), &k256_sig.as_bytes());
        }
    }

    /// The products are k256's, for random scalars and points.
    #[test]
    fn products_identical_to_k256() {
        let mut rng = rand::rngs::OsRng;
        for _ in 0..32 {
            let s = NonZeroScalar::random(&mut rng);
            let p = PublicKey::from_secret_scalar(&NonZeroScalar::random(&mut rng));
            let key = SecretKey::from_scalar(&s).unwrap();

            let g = ProjectivePoint::mul_by_generator(s.as_ref()).to_affine();
            assert_eq!(
                mul_generator(&key).as_slice(),
                g.to_encoded_point(false).as_bytes()
            );
            assert_eq!(
                mul_generator_compressed(&key).as_slice(),
                g.to_encoded_point(true).as_bytes()
            );
            let sp = (p.to_projective() * s.as_ref()).to_affine();
            let ours = mul(&public_key(&p).unwrap(), &key);
            assert_eq!(ours.as_slice(), sp.to_encoded_point(false).as_bytes());
            assert_eq!(
                compress_uncompressed(&ours).as_slice(),
                sp.to_encoded_point(true).as_bytes()
            );
        }
    }
}
