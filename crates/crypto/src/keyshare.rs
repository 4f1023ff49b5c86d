//! The paper's non-interactive key sharing (§5.2(c), eq. (4); recovery eq. (13)), on secp256k1.
//!
//! ```text
//! owner:  k, r_U, r_C random;  KEY = k·G
//!         CM  = KEY + r_C·PK_C + r_U·PK_T        (published in the Record, with r_U·g)
//!         pad = keccak256(r_C·PK_C)               (published in the Record as padCommitment)
//!         data key = HKDF-SHA256(KEY compressed, "medshare/v1/keyshare", recordId)
//! consent: the owner reveals r_C·PK_C for one job (checked on chain against pad)
//! TEE:    KEY = CM − r_C·PK_C − SK_T·(r_U·g)      (see crate::tee)
//! ```
//!
//! `PK_C` is a hash-to-curve point of the Authorization contract's chain and address, so nobody
//! knows its discrete log: without the owner's `r_C·PK_C` even the TEE cannot remove the pad,
//! and without `SK_T` a holder of `r_C·PK_C` cannot remove `r_U·PK_T`.
//!
//! The scalars `k`, `r_U`, `r_C` are drawn inside [`KeyShare::generate`] and dropped (zeroized)
//! before it returns; there is no API to supply or read them.

use std::fmt;

use alloy_primitives::{Address, B256, FixedBytes, keccak256};
use k256::elliptic_curve::Group;
use k256::elliptic_curve::hash2curve::{ExpandMsgXmd, GroupDigest};
use k256::elliptic_curve::rand_core::{CryptoRng, RngCore};
use k256::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use k256::{AffinePoint, EncodedPoint, NonZeroScalar, ProjectivePoint, PublicKey, Secp256k1};
use medshare_primitives::RecordId;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::identity::compress;
use crate::record::DataKey;
use crate::secp;

/// Domain-separation tag of the hash-to-curve that defines `PK_C`.
const PK_C_DST: &[u8] = b"medshare/v1/PK_C";

/// RFC 9380 `hash_to_curve` with suite `secp256k1_XMD:SHA-256_SSWU_RO_` and the given DST.
///
/// `None` only if the result is the point at infinity, which for a random oracle happens with
/// probability about 2^-256.
pub(crate) fn hash_to_curve(msg: &[u8], dst: &[u8]) -> Option<PublicKey> {
    let point = Secp256k1::hash_from_bytes::<ExpandMsgXmd<Sha256>>(&[msg], &[dst]).ok()?;
    PublicKey::from_affine(point.to_affine()).ok()
}

/// `PK_C`: the Authorization contract's public point on chain `chain_id` at `authorization`.
///
/// `hash_to_curve(chainId as 32-byte big endian || address (20), DST "medshare/v1/PK_C")`.
pub fn pk_c(chain_id: u64, authorization: Address) -> PublicKey {
    let mut msg = [0u8; 52];
    msg[24..32].copy_from_slice(&chain_id.to_be_bytes());
    msg[32..].copy_from_slice(authorization.as_slice());
    #[allow(
        clippy::expect_used,
        reason = "the DST is a fixed 16-byte constant, so expand_message_xmd cannot fail; the \
                  output is the identity only if SHA-256 behaves like no random oracle (p ~ 2^-256)"
    )]
    hash_to_curve(&msg, PK_C_DST).expect("hash-to-curve output is never the identity")
}

/// The public outputs of one key share, as SEC1-compressed points.
///
/// `cm` and `r_u_g` go into the signed [`crate::eip712::Record`]; `r_c_pk_c` stays with the owner
/// (only its [`pad_commitment`](Self::pad_commitment) is published) until the owner consents to a
/// job, when it goes into the [`crate::eip712::Consent`]. `Debug` does not print `r_c_pk_c`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyShareMaterial {
    /// `CM_i = KEY_i + r_C·PK_C + r_U·PK_T`.
    pub cm: FixedBytes<33>,
    /// `r_U·g`.
    pub r_u_g: FixedBytes<33>,
    /// `r_C·PK_C`, the pad the owner reveals to consent.
    pub r_c_pk_c: FixedBytes<33>,
}

impl KeyShareMaterial {
    /// `keccak256(r_C·PK_C)`: the record's `padCommitment`.
    pub fn pad_commitment(&self) -> B256 {
        keccak256(self.r_c_pk_c)
    }
}

impl fmt::Debug for KeyShareMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyShareMaterial")
            .field("cm", &self.cm)
            .field("r_u_g", &self.r_u_g)
            .field("pad_commitment", &self.pad_commitment())
            .finish_non_exhaustive()
    }
}

/// The owner's side of the key sharing (a namespace: it has no values).
#[derive(Debug)]
pub enum KeyShare {}

impl KeyShare {
    /// Draws a fresh record key and shares it to the TEE with public key `pk_tee`, padded with
    /// `pk_c` (see [`pk_c`]). Returns the record's [`DataKey`] (bound to `record_id`) and the
    /// public [`KeyShareMaterial`].
    pub fn generate<R: RngCore + CryptoRng>(
        rng: &mut R,
        record_id: RecordId,
        pk_tee: &PublicKey,
        pk_c: &PublicKey,
    ) -> (DataKey, KeyShareMaterial) {
        loop {
            let k = Zeroizing::new(NonZeroScalar::random(&mut *rng));
            let r_u = Zeroizing::new(NonZeroScalar::random(&mut *rng));
            let r_c = Zeroizing::new(NonZeroScalar::random(&mut *rng));
            // `None` only if CM is the point at infinity (probability ~2^-256): draw again.
            if let Some(out) = share_with_scalars(&k, &r_u, &r_c, record_id, pk_tee, pk_c) {
                return out;
            }
        }
    }
}

/// The deterministic core of [`KeyShare::generate`], for the known-answer vector.
///
/// The four products are libsecp256k1's (see [`crate::secp`]: about twice as fast as k256's,
/// constant time, identical results); the sum `CM` is k256's complete addition. `None` only if
/// `CM` is the identity.
pub(crate) fn share_with_scalars(
    k: &NonZeroScalar,
    r_u: &NonZeroScalar,
    r_c: &NonZeroScalar,
    record_id: RecordId,
    pk_tee: &PublicKey,
    pk_c: &PublicKey,
) -> Option<(DataKey, KeyShareMaterial)> {
    let k = secp::SecretKey::from_scalar(k).ok()?;
    let r_u = secp::SecretKey::from_scalar(r_u).ok()?;
    let r_c = secp::SecretKey::from_scalar(r_c).ok()?;
    let key_point = secp::mul_generator(&k);
    let r_c_pk_c = secp::mul(&secp::public_key(pk_c).ok()?, &r_c);
    let r_u_pk_t = secp::mul(&secp::public_key(pk_tee).ok()?, &r_u);
    let r_u_g = secp::mul_generator_compressed(&r_u);
    let cm = Zeroizing::new(
        ProjectivePoint::from(affine(&key_point)?) + affine(&r_c_pk_c)? + affine(&r_u_pk_t)?,
    );
    if bool::from(cm.is_identity()) {
        return None;
    }
    let material = KeyShareMaterial {
        cm: compress_point(&cm)?,
        r_u_g: FixedBytes::from(r_u_g),
        r_c_pk_c: FixedBytes::from(*secp::compress_uncompressed(&r_c_pk_c)),
    };
    let key = DataKey::derive(&secp::compress_uncompressed(&key_point), record_id);
    Some((key, material))
}

/// A k256 point from SEC1 uncompressed bytes (constant time: no square root, an on-curve check).
fn affine(uncompressed: &[u8; 65]) -> Option<AffinePoint> {
    let encoded = EncodedPoint::from_bytes(uncompressed).ok()?;
    Option::from(AffinePoint::from_encoded_point(&encoded))
}

/// Derives the record's data key from the point `KEY_i`; `None` for the identity.
pub(crate) fn data_key_from_point(point: &ProjectivePoint, record_id: RecordId) -> Option<DataKey> {
    if bool::from(point.is_identity()) {
        return None;
    }
    let mut encoded = point.to_affine().to_encoded_point(true);
    let ikm: Zeroizing<[u8; 33]> = Zeroizing::new(encoded.as_bytes().try_into().ok()?);
    zeroize::Zeroize::zeroize(&mut encoded);
    Some(DataKey::derive(&ikm, record_id))
}

/// Compresses a non-identity point; `None` for the identity.
fn compress_point(point: &ProjectivePoint) -> Option<FixedBytes<33>> {
    PublicKey::from_affine(point.to_affine())
        .ok()
        .map(|pk| compress(&pk))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// RFC 9380 appendix J.8.1 (secp256k1_XMD:SHA-256_SSWU_RO_), msg "abc": proves that the
    /// hash-to-curve behind `pk_c` is the standard one.
    #[test]
    fn hash_to_curve_rfc9380_vector() {
        let p =
            hash_to_curve(b"abc", b"QUUX-V01-CS02-with-secp256k1_XMD:SHA-256_SSWU_RO_").unwrap();
        let enc = p.to_encoded_point(false);
        assert_eq!(
            hex::encode(enc.x().unwrap()),
            "3377e01eab42db296b512293120c6cee72b6ecf9f9205760bd9ff11fb3cb2c4b"
        );
        assert_eq!(
            hex::encode(enc.y().unwrap()),
            "7f95890f33efebd1044d382a01b1bee0900fb6116f94688d487c6c7b9c8371f6"
        );
    }

    #[test]
    fn pk_c_depends_on_chain_and_contract() {
        let a = Address::repeat_byte(1);
        assert_eq!(pk_c(1337, a), pk_c(1337, a));
        assert_ne!(pk_c(1337, a), pk_c(31337, a));
        assert_ne!(pk_c(1337, a), pk_c(1337, Address::repeat_byte(2)));
    }

    /// The key share as k256 computes it (the implementation before libsecp256k1).
    fn share_with_scalars_k256(
        k: &NonZeroScalar,
        r_u: &NonZeroScalar,
        r_c: &NonZeroScalar,
        record_id: RecordId,
        pk_tee: &PublicKey,
        pk_c: &PublicKey,
    ) -> (DataKey, KeyShareMaterial) {
        use k256::elliptic_curve::ops::MulByGenerator;
        let key_point = ProjectivePoint::mul_by_generator(k.as_ref());
        let r_c_pk_c = pk_c.to_projective() * r_c.as_ref();
        let r_u_pk_t = pk_tee.to_projective() * r_u.as_ref();
        let r_u_g = ProjectivePoint::mul_by_generator(r_u.as_ref());
        let cm = key_point + r_c_pk_c + r_u_pk_t;
        let material = KeyShareMaterial {
            cm: compress_point(&cm).unwrap(),
            r_u_g: compress_point(&r_u_g).unwrap(),
            r_c_pk_c: compress_point(&r_c_pk_c).unwrap(),
        };
        (
            data_key_from_point(&key_point, record_id).unwrap(),
            material,
        )
    }

    /// libsecp256k1's key shares are k256's, byte for byte, for random scalars and TEE keys.
    #[test]
    fn key_share_identical_to_k256() {
        let mut rng = rand::rngs::OsRng;
        let pk_c = pk_c(1337, Address::repeat_byte(7));
        for _ in 0..32 {
            let tee = crate::Identity::random().public_key();
            let record_id = RecordId::random();
            let k = NonZeroScalar::random(&mut rng);
            let r_u = NonZeroScalar::random(&mut rng);
            let r_c = NonZeroScalar::random(&mut rng);
            let (key, m) = share_with_scalars(&k, &r_u, &r_c, record_id, &tee, &pk_c).unwrap();
            let (key_ref, m_ref) = share_with_scalars_k256(&k, &r_u, &r_c, record_id, &tee, &pk_c);
            assert_eq!(m, m_ref);
            assert_eq!(key.as_bytes(), key_ref.as_bytes());
        }
    }

    #[test]
    fn debug_hides_pad() {
        let tee = crate::Identity::random();
        let (_, m) = KeyShare::generate(
            &mut rand::rngs::OsRng,
            RecordId::random(),
            &tee.public_key(),
            &pk_c(1337, Address::ZERO),
        );
        let dbg = format!("{m:?}");
        assert!(!dbg.contains(&hex::encode(m.r_c_pk_c)));
        assert!(dbg.contains(&hex::encode(m.cm)));
    }
}
