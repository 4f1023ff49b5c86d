//! Sealing SK_T and the trust anchors to disk.
//!
//! The sealed file is `MSSEAL2 ‖ nonce (12) ‖ AES-256-GCM(sealing key, SK_T (32) ‖
//! abi.encode(trust anchors))`, with the measurement as associated data. The sealing key is
//! HKDF-SHA256 of the platform secret, salt `medshare/v2/seal`, info the measurement: only the
//! same enclave program (same measurement) on the same platform unseals it, as SGX's sealing
//! with the MRENCLAVE policy; a changed enclave program cannot unseal an old key. The anchors
//! are sealed with the key, so the key can only ever serve the chain, deployment and sealers it
//! was created for. With SGX the platform secret is the CPU's sealing key (`EGETKEY`); the
//! simulation backend takes it from its host (a 0600 file), which is exactly what simulation
//! cannot protect: whoever reads that file and knows the measurement can unseal the key.

use crate::{Error, Result};
use alloy_primitives::B256;
use hkdf::Hkdf;
// ring's AES-256-GCM, the one medshare-crypto uses for records and results: one implementation.
use medshare_crypto::Identity;
use medshare_enclave_api::TrustAnchors;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use sha2::Sha256;
use std::{fs, io::Write, path::Path};
use zeroize::Zeroizing;

const MAGIC: &[u8; 7] = b"MSSEAL2";
const SALT: &[u8] = b"medshare/v2/seal";
/// Largest sealed file accepted (the anchors carry a validator set).
const MAX_SEALED: usize = 64 * 1024;

fn cipher(platform_secret: &[u8; 32], measurement: B256) -> Result<LessSafeKey> {
    let mut key = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(SALT), platform_secret)
        .expand(measurement.as_slice(), key.as_mut())
        .map_err(|_| Error::State("HKDF output length".into()))?;
    let key = UnboundKey::new(&AES_256_GCM, key.as_ref())
        .map_err(|_| Error::State("AES key length".into()))?;
    Ok(LessSafeKey::new(key))
}

fn sealed_err(path: &Path, reason: impl Into<String>) -> Error {
    Error::Sealed {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// Unseals the identity and anchors in `path`, or, if there is no file, creates a key, seals it
/// with `anchors` and writes it. Returns the identity, its anchors and whether it was created.
///
/// Refuses an existing key sealed for other anchors than `anchors` (when given): a key serves
/// one chain and deployment for life. Creating a key needs `anchors`.
pub fn unseal_or_create(
    path: &Path,
    platform_secret: &[u8; 32],
    measurement: B256,
    anchors: Option<&TrustAnchors>,
) -> Result<(Identity, TrustAnchors, bool)> {
    match fs::read(path) {
        Ok(bytes) => {
            let (identity, sealed) = unseal(path, &bytes, platform_secret, measurement)?;
            if let Some(wanted) = anchors
                && *wanted != sealed
            {
                return Err(sealed_err(
                    path,
                    "this key was sealed for another chain, deployment or sealer set: use a new \
                     enclave directory for this deployment",
                ));
            }
            Ok((identity, sealed, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let anchors = anchors.ok_or_else(|| {
                sealed_err(
                    path,
                    "no sealed key yet, and a new key needs its trust anchors (chain id, \
                     deployment, sealers)",
                )
            })?;
            anchors
                .validate()
                .map_err(|e| sealed_err(path, e.to_string()))?;
            let identity = Identity::random();
            seal(path, &identity, anchors, platform_secret, measurement)?;
            Ok((identity, anchors.clone(), true))
        }
        Err(e) => Err(sealed_err(path, e.to_string())),
    }
}

fn unseal(
    path: &Path,
    bytes: &[u8],
    platform_secret: &[u8; 32],
    measurement: B256,
) -> Result<(Identity, TrustAnchors)> {
    if bytes.len() < MAGIC.len() + 12 + 32 + 16
        || bytes.len() > MAX_SEALED
        || !bytes.starts_with(MAGIC)
    {
        return Err(sealed_err(path, "not a sealed medshare enclave key (v2)"));
    }
    let (nonce, body) = bytes[MAGIC.len()..]
        .split_at_checked(12)
        .ok_or_else(|| sealed_err(path, "truncated"))?;
    let nonce: [u8; 12] = nonce
        .try_into()
        .map_err(|_| sealed_err(path, "truncated"))?;
    let mut plain = Zeroizing::new(body.to_vec());
    let len = cipher(platform_secret, measurement)?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(measurement.as_slice()),
            plain.as_mut_slice(),
        )
        .map_err(|_| sealed_err(path, "does not unseal: another platform, another enclave program (measurement), or a modified file"))?
        .len();
    plain.truncate(len);
    let (secret, anchors) = plain
        .split_at_checked(32)
        .ok_or_else(|| sealed_err(path, "truncated key"))?;
    let secret: &[u8; 32] = secret
        .try_into()
        .map_err(|_| sealed_err(path, "wrong key length"))?;
    let anchors = TrustAnchors::decode(anchors).map_err(|e| sealed_err(path, e.to_string()))?;
    Ok((Identity::from_secret_bytes(secret)?, anchors))
}

fn seal(
    path: &Path,
    identity: &Identity,
    anchors: &TrustAnchors,
    platform_secret: &[u8; 32],
    measurement: B256,
) -> Result<()> {
    let mut plain = Zeroizing::new(Vec::with_capacity(32 + 512));
    plain.extend_from_slice(identity.signer().to_bytes().as_slice());
    plain.extend_from_slice(&anchors.encode());
    let nonce: [u8; 12] = rand::random();
    // Encrypted in place: `plain` becomes ciphertext ‖ tag.
    cipher(platform_secret, measurement)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(measurement.as_slice()),
            &mut *plain,
        )
        .map_err(|_| sealed_err(path, "sealing failed"))?;
    let ct = plain.as_slice();
    let mut out = Vec::with_capacity(MAGIC.len() + 12 + ct.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(ct);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| sealed_err(path, e.to_string()))?;
    file.write_all(&out)
        .and_then(|()| file.sync_all())
        .map_err(|e| sealed_err(path, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchors(chain_id: u64) -> TrustAnchors {
        TrustAnchors::sealed(
            chain_id,
            &medshare_contracts::Deployment::predict(alloy_primitives::Address::repeat_byte(3), 0),
            vec![alloy_primitives::Address::repeat_byte(4)],
        )
    }

    #[test]
    fn seals_and_unseals_only_on_the_same_platform_measurement_and_anchors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tee.sealed");
        let (secret, m) = ([7u8; 32], B256::repeat_byte(1));
        assert!(
            unseal_or_create(&path, &secret, m, None).is_err(),
            "no anchors, no key"
        );
        let (a, sealed, created) = unseal_or_create(&path, &secret, m, Some(&anchors(1))).unwrap();
        assert!(created);
        assert_eq!(sealed, anchors(1));
        let (b, sealed, created) = unseal_or_create(&path, &secret, m, None).unwrap();
        assert!(!created);
        assert_eq!((a.address(), sealed), (b.address(), anchors(1)));
        // The same key cannot be pointed at another chain.
        assert!(
            unseal_or_create(&path, &secret, m, Some(&anchors(2)))
                .unwrap_err()
                .to_string()
                .contains("another chain")
        );
        let raw = fs::read(&path).unwrap();
        assert!(
            !raw.windows(32)
                .any(|w| w == a.signer().to_bytes().as_slice())
        );
        assert!(unseal_or_create(&path, &[8u8; 32], m, None).is_err());
        // Another enclave program (measurement) cannot unseal it.
        assert!(unseal_or_create(&path, &secret, B256::repeat_byte(2), None).is_err());
        let mut bad = raw.clone();
        *bad.last_mut().unwrap() ^= 1;
        fs::write(&path, bad).unwrap();
        assert!(
            unseal_or_create(&path, &secret, m, None)
                .unwrap_err()
                .to_string()
                .contains("does not unseal")
        );
    }
}
