//! The TEE's side of the key sharing: recovering a record's data key (paper eq. (13)).
//!
//! Only the enclave should call this module. Every point comes from outside (chain data, the
//! owner's consent) and is validated: 33-byte SEC1 compressed, on the curve, not the identity.

use alloy_primitives::{B256, keccak256};
use k256::PublicKey;
use medshare_primitives::RecordId;

use crate::keyshare::data_key_from_point;
use crate::record::DataKey;
use crate::{Error, Identity, Result};

/// Parses a SEC1-compressed point from untrusted bytes.
fn parse_compressed(bytes: &[u8], what: &'static str) -> Result<PublicKey> {
    if bytes.len() != 33 || !matches!(bytes[0], 0x02 | 0x03) {
        return Err(Error::BadPoint { what });
    }
    PublicKey::from_sec1_bytes(bytes).map_err(|_| Error::BadPoint { what })
}

/// Recovers `KEY_i = CM_i − r_C·PK_C − SK_T·(r_U·g)` and derives the record's data key.
///
/// `sk_tee` is the TEE's identity (`SK_T`). A wrong `SK_T` or a wrong `r_C·PK_C` gives a key that
/// fails to open the record ([`Error::RecordDecrypt`]); malformed points are rejected here. Check
/// `r_c_pk_c` against the record's pad commitment with [`check_pad_commitment`] first.
pub fn recover_data_key(
    sk_tee: &Identity,
    record_id: RecordId,
    cm: &[u8],
    r_c_pk_c: &[u8],
    r_u_g: &[u8],
) -> Result<DataKey> {
    let cm = parse_compressed(cm, "cm")?;
    let r_c_pk_c = parse_compressed(r_c_pk_c, "r_c_pk_c")?;
    let r_u_g = parse_compressed(r_u_g, "r_u_g")?;
    let blind = r_u_g.to_projective() * sk_tee.secret_scalar().as_ref();
    let key_point = cm.to_projective() - r_c_pk_c.to_projective() - blind;
    data_key_from_point(&key_point, record_id).ok_or(Error::DegenerateKeyShare)
}

/// Checks that `keccak256(r_c_pk_c)` equals the pad commitment registered with the record.
pub fn check_pad_commitment(r_c_pk_c: &[u8], expected: B256) -> Result<()> {
    if keccak256(r_c_pk_c) == expected {
        Ok(())
    } else {
        Err(Error::PadCommitmentMismatch)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::{KeyShare, pk_c};
    use alloy_primitives::Address;

    #[test]
    fn rejects_malformed_points() {
        let tee = Identity::random();
        let (_, m) = KeyShare::generate(
            &mut rand::rngs::OsRng,
            RecordId::random(),
            &tee.public_key(),
            &pk_c(1, Address::ZERO),
        );
        let id = RecordId::random();
        let mut identity = [0u8; 33];
        identity[0] = 0x02; // x = 0 is not on secp256k1 (0^3 + 7 is not a square)
        let uncompressed = tee.public_key_uncompressed();
        for (bad, what) in [
            (&[0u8; 1][..], "identity encoding"),
            (&identity[..], "x = 0"),
            (&[0x02; 32][..], "short"),
            (&[0x04; 33][..], "bad prefix"),
            (uncompressed.as_slice(), "64 bytes"),
        ] {
            assert!(
                matches!(
                    recover_data_key(&tee, id, bad, &m.r_c_pk_c[..], &m.r_u_g[..]),
                    Err(Error::BadPoint { what: "cm" })
                ),
                "{what}"
            );
            assert!(matches!(
                recover_data_key(&tee, id, &m.cm[..], bad, &m.r_u_g[..]),
                Err(Error::BadPoint { .. })
            ));
            assert!(matches!(
                recover_data_key(&tee, id, &m.cm[..], &m.r_c_pk_c[..], bad),
                Err(Error::BadPoint { .. })
            ));
        }
    }

    #[test]
    fn degenerate_share_is_rejected() {
        // cm = r_c_pk_c + SK_T·r_u_g makes KEY the identity.
        let tee = Identity::random();
        let a = Identity::random().public_key();
        let b = Identity::random().public_key();
        let cm = a.to_projective() + b.to_projective() * tee.secret_scalar().as_ref();
        let cm = crate::identity::compress(&PublicKey::from_affine(cm.to_affine()).unwrap());
        let r_c_pk_c = crate::identity::compress(&a);
        let r_u_g = crate::identity::compress(&b);
        assert!(matches!(
            recover_data_key(&tee, RecordId::random(), &cm[..], &r_c_pk_c[..], &r_u_g[..]),
            Err(Error::DegenerateKeyShare)
        ));
    }

    #[test]
    fn pad_commitment_check() {
        let tee = Identity::random();
        let (_, m) = KeyShare::generate(
            &mut rand::rngs::OsRng,
            RecordId::random(),
            &tee.public_key(),
            &pk_c(1, Address::ZERO),
        );
        assert!(check_pad_commitment(&m.r_c_pk_c[..], m.pad_commitment()).is_ok());
        assert!(matches!(
            check_pad_commitment(&m.cm[..], m.pad_commitment()),
            Err(Error::PadCommitmentMismatch)
        ));
    }
}
