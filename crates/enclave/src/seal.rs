//! Sealing SK_T to disk.
//!
//! The sealed file is `MSSEAL1 ‖ nonce (12) ‖ AES-256-GCM(sealing key, SK_T)`, with the
//! measurement as associated data. The sealing key is HKDF-SHA256 of the platform secret, salt
//! `medshare/v1/seal`, info the measurement: only the same enclave (same measurement) on the same
//! platform unseals it. With SGX the platform secret is the CPU's sealing key (`EGETKEY`, policy
//! MRENCLAVE); the simulation backend takes it from the host (a 0600 file), which a real
//! deployment does not trust.

use crate::{Error, Result};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, aead::Aead, aead::Payload};
use alloy_primitives::B256;
use hkdf::Hkdf;
use medshare_crypto::Identity;
use sha2::Sha256;
use std::{fs, io::Write, path::Path};
use zeroize::Zeroizing;

const MAGIC: &[u8; 7] = b"MSSEAL1";
const SALT: &[u8] = b"medshare/v1/seal";

fn cipher(platform_secret: &[u8; 32], measurement: B256) -> Result<Aes256Gcm> {
    let mut key = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(SALT), platform_secret)
        .expand(measurement.as_slice(), key.as_mut())
        .map_err(|_| Error::State("HKDF output length".into()))?;
    Aes256Gcm::new_from_slice(key.as_ref()).map_err(|_| Error::State("AES key length".into()))
}

fn sealed_err(path: &Path, reason: impl Into<String>) -> Error {
    Error::Sealed {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// Unseals the identity in `path`, or creates, seals and writes a new one if there is no file.
/// Returns the identity and whether it was created.
pub fn unseal_or_create(
    path: &Path,
    platform_secret: &[u8; 32],
    measurement: B256,
) -> Result<(Identity, bool)> {
    match fs::read(path) {
        Ok(bytes) => Ok((unseal(path, &bytes, platform_secret, measurement)?, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let identity = Identity::random();
            seal(path, &identity, platform_secret, measurement)?;
            Ok((identity, true))
        }
        Err(e) => Err(sealed_err(path, e.to_string())),
    }
}

fn unseal(
    path: &Path,
    bytes: &[u8],
    platform_secret: &[u8; 32],
    measurement: B256,
) -> Result<Identity> {
    if bytes.len() != MAGIC.len() + 12 + 32 + 16 || &bytes[..MAGIC.len()] != MAGIC {
        return Err(sealed_err(path, "not a sealed medshare enclave key"));
    }
    let nonce: [u8; 12] = bytes[MAGIC.len()..MAGIC.len() + 12]
        .try_into()
        .map_err(|_| sealed_err(path, "truncated"))?;
    let plain = Zeroizing::new(
        cipher(platform_secret, measurement)?
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &bytes[MAGIC.len() + 12..],
                    aad: measurement.as_slice(),
                },
            )
            .map_err(|_| sealed_err(path, "does not unseal: another platform, another enclave measurement, or a modified file"))?,
    );
    let secret: &[u8; 32] = plain
        .as_slice()
        .try_into()
        .map_err(|_| sealed_err(path, "wrong key length"))?;
    Ok(Identity::from_secret_bytes(secret)?)
}

fn seal(
    path: &Path,
    identity: &Identity,
    platform_secret: &[u8; 32],
    measurement: B256,
) -> Result<()> {
    let secret = Zeroizing::new(<[u8; 32]>::from(identity.signer().to_bytes()));
    let nonce: [u8; 12] = rand::random();
    let ct = cipher(platform_secret, measurement)?
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: secret.as_slice(),
                aad: measurement.as_slice(),
            },
        )
        .map_err(|_| sealed_err(path, "sealing failed"))?;
    let mut out = Vec::with_capacity(MAGIC.len() + 12 + ct.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
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

    #[test]
    fn seals_and_unseals_only_on_the_same_platform_and_measurement() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tee.sealed");
        let (secret, m) = ([7u8; 32], B256::repeat_byte(1));
        let (a, created) = unseal_or_create(&path, &secret, m).unwrap();
        assert!(created);
        let (b, created) = unseal_or_create(&path, &secret, m).unwrap();
        assert!(!created);
        assert_eq!(a.address(), b.address());
        let raw = fs::read(&path).unwrap();
        assert!(
            !raw.windows(32)
                .any(|w| w == a.signer().to_bytes().as_slice())
        );
        assert!(unseal_or_create(&path, &[8u8; 32], m).is_err());
        assert!(unseal_or_create(&path, &secret, B256::repeat_byte(2)).is_err());
        let mut bad = raw.clone();
        *bad.last_mut().unwrap() ^= 1;
        fs::write(&path, bad).unwrap();
        assert!(
            unseal_or_create(&path, &secret, m)
                .unwrap_err()
                .to_string()
                .contains("does not unseal")
        );
    }
}
