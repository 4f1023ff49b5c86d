//! Keys at rest: password-encrypted Ethereum keystore v3 files (scrypt + AES-128-CTR +
//! keccak MAC), through alloy-signer-local's `keystore` feature (the `eth-keystore` crate).
//!
//! The plaintext key is never written: the file is created empty with mode 0600 first (so an
//! existing key is never overwritten), then filled with the encrypted JSON.
//!
//! `eth-keystore` indexes into the parsed JSON without checking lengths, so a hostile or
//! corrupt file could panic it; [`open_keystore`] therefore checks the structure (lengths, KDF
//! parameters, resource limits) itself before handing the file over, and reports what is wrong.
//! New keystores are written here, not by eth-keystore, whose writer fixes scrypt's cost at
//! `n = 2^13`: [`KdfCost::Standard`] is geth's standard (`n = 2^18, r = 8, p = 1`: 256 MiB and
//! about a second to open, so a stolen file costs an attacker as much per guess), and
//! [`KdfCost::Light`] geth's `--lightkdf` (`n = 2^12, p = 6`) for tests and throwaway keys. Files
//! of any cost within the limits below open (the cost is read from the file).

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use alloy_signer_local::{LocalSignerError, PrivateKeySigner};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::{Error, Identity, Result};

/// Largest keystore file accepted (a v3 keystore is well under 1 KiB).
const MAX_FILE_LEN: u64 = 64 * 1024;
/// Largest scrypt memory cost accepted, `128 · r · n` bytes (geth's standard n = 2^18, r = 8 is
/// 256 MiB).
const MAX_SCRYPT_MEMORY: u64 = 256 * 1024 * 1024;
/// Largest PBKDF2 iteration count accepted.
const MAX_PBKDF2_ROUNDS: u32 = 10_000_000;

/// How costly a new keystore's password is to try: scrypt's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KdfCost {
    /// geth's standard: `n = 2^18, r = 8, p = 1` (256 MiB, about a second per try).
    #[default]
    Standard,
    /// geth's `--lightkdf`: `n = 2^12, r = 8, p = 6` (4 MiB, milliseconds): for tests and keys
    /// that guard nothing of value.
    Light,
}

impl KdfCost {
    /// `(log2 n, r, p)`.
    fn params(self) -> (u8, u32, u32) {
        match self {
            Self::Standard => (18, 8, 1),
            Self::Light => (12, 8, 6),
        }
    }
}

/// Creates a new random identity and writes it, encrypted with `password` at
/// [`KdfCost::Standard`], to `dir/name`.
///
/// Fails if `name` is not a plain file name, if `dir/name` already exists, or on I/O errors.
pub fn create_keystore(
    dir: impl AsRef<Path>,
    name: &str,
    password: impl AsRef<[u8]>,
) -> Result<(Identity, PathBuf)> {
    create_keystore_with(dir, name, password, KdfCost::Standard)
}

/// [`create_keystore`] at the scrypt cost `cost`.
pub fn create_keystore_with(
    dir: impl AsRef<Path>,
    name: &str,
    password: impl AsRef<[u8]>,
    cost: KdfCost,
) -> Result<(Identity, PathBuf)> {
    let dir = dir.as_ref();
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return Err(Error::KeystoreBadName {
            name: name.to_owned(),
        });
    }
    let path = dir.join(name);
    create_private_file(&path)?;

    let identity = Identity::random();
    let secret = Zeroizing::new(<[u8; 32]>::from(identity.signer().to_bytes()));
    let written =
        encrypt_v3(&secret, password.as_ref(), identity.address(), cost).and_then(|json| {
            let mut file = OpenOptions::new().write(true).open(&path)?;
            file.write_all(json.as_bytes())?;
            file.sync_all()
        });
    if let Err(source) = written {
        // Remove the placeholder; the key was never stored anywhere.
        let _ = fs::remove_file(&path);
        return Err(Error::KeystoreIo { path, source });
    }
    Ok((identity, path))
}

/// A v3 keystore of `secret`: scrypt at `cost` over `password` and a fresh salt, AES-128-CTR under
/// the first half of the derived key, and keccak256(second half ‖ ciphertext) as the MAC, as geth
/// writes it.
fn encrypt_v3(
    secret: &[u8; 32],
    password: &[u8],
    address: alloy_primitives::Address,
    cost: KdfCost,
) -> std::io::Result<String> {
    use aes::cipher::{KeyIvInit, StreamCipher};
    use rand::RngCore;

    let (log_n, r, p) = cost.params();
    let mut rng = rand::rngs::OsRng;
    let (mut salt, mut iv, mut id) = ([0u8; 32], [0u8; 16], [0u8; 16]);
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut iv);
    rng.fill_bytes(&mut id);
    let params =
        scrypt::Params::new(log_n, r, p).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut derived = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(password, &salt, &params, derived.as_mut_slice())
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut ciphertext = *secret;
    let mut cipher = ctr::Ctr128BE::<aes::Aes128>::new(derived[..16].into(), (&iv).into());
    cipher.apply_keystream(&mut ciphertext);
    let mac = alloy_primitives::keccak256([&derived[16..], &ciphertext[..]].concat());
    // A random (version 4) UUID.
    id[6] = (id[6] & 0x0f) | 0x40;
    id[8] = (id[8] & 0x3f) | 0x80;
    let h = alloy_primitives::hex::encode(id);
    let json = serde_json::json!({
        "address": alloy_primitives::hex::encode(address),
        "crypto": {
            "cipher": "aes-128-ctr",
            "cipherparams": { "iv": alloy_primitives::hex::encode(iv) },
            "ciphertext": alloy_primitives::hex::encode(ciphertext),
            "kdf": "scrypt",
            "kdfparams": {
                "dklen": 32,
                "n": 1u32 << log_n,
                "p": p,
                "r": r,
                "salt": alloy_primitives::hex::encode(salt),
            },
            "mac": alloy_primitives::hex::encode(mac),
        },
        "id": format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..]),
        "version": 3,
    });
    Ok(json.to_string())
}

/// Creates `path` empty, owner read/write only, failing if it exists.
fn create_private_file(path: &Path) -> Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(Error::KeystoreExists {
            path: path.to_owned(),
        }),
        Err(source) => Err(Error::KeystoreIo {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Opens the keystore at `path` with `password`.
///
/// Errors: [`Error::KeystoreMissing`] (no file), [`Error::KeystoreMalformed`] (not a v3
/// keystore, with the reason), [`Error::KeystoreWrongPassword`], [`Error::KeystoreIo`].
pub fn open_keystore(path: impl AsRef<Path>, password: impl AsRef<[u8]>) -> Result<Identity> {
    let path = path.as_ref();
    let malformed = |reason: String| Error::KeystoreMalformed {
        path: path.to_owned(),
        reason,
    };
    let meta = fs::metadata(path).map_err(|source| match source.kind() {
        ErrorKind::NotFound => Error::KeystoreMissing {
            path: path.to_owned(),
        },
        _ => Error::KeystoreIo {
            path: path.to_owned(),
            source,
        },
    })?;
    if !meta.is_file() {
        return Err(malformed("not a regular file".into()));
    }
    if meta.len() > MAX_FILE_LEN {
        return Err(malformed(format!(
            "file is {} bytes, larger than any keystore",
            meta.len()
        )));
    }
    let text = fs::read_to_string(path).map_err(|source| Error::KeystoreIo {
        path: path.to_owned(),
        source,
    })?;
    let declared_address = check_structure(&text).map_err(malformed)?;

    let signer = PrivateKeySigner::decrypt_keystore(path, password)
        .map_err(|e| map_signer_error(e, path))?;
    let identity = Identity::from(signer);
    if declared_address.is_some_and(|a| a != identity.address()) {
        return Err(malformed(
            "the \"address\" field does not match the decrypted key".into(),
        ));
    }
    Ok(identity)
}

fn map_signer_error(e: LocalSignerError, path: &Path) -> Error {
    use eth_keystore::KeystoreError as K;
    let path = path.to_owned();
    match e {
        LocalSignerError::EthKeystoreError(K::MacMismatch) => Error::KeystoreWrongPassword { path },
        LocalSignerError::EthKeystoreError(K::StdIo(msg)) => Error::KeystoreIo {
            path,
            source: std::io::Error::other(msg),
        },
        LocalSignerError::IoError(source) => Error::KeystoreIo { path, source },
        LocalSignerError::EcdsaError(_) => Error::KeystoreMalformed {
            path,
            reason: "the decrypted key is not a valid secp256k1 secret key".into(),
        },
        other => Error::KeystoreMalformed {
            path,
            reason: other.to_string(),
        },
    }
}

#[derive(Deserialize)]
struct KeystoreJson {
    version: u64,
    crypto: CryptoJson,
    id: String,
    address: Option<String>,
}

#[derive(Deserialize)]
struct CryptoJson {
    cipher: String,
    cipherparams: CipherParamsJson,
    ciphertext: String,
    kdf: String,
    kdfparams: serde_json::Value,
    mac: String,
}

#[derive(Deserialize)]
struct CipherParamsJson {
    iv: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScryptJson {
    dklen: u8,
    n: u32,
    r: u32,
    p: u32,
    salt: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Pbkdf2Json {
    c: u32,
    dklen: u8,
    prf: String,
    salt: String,
}

/// Decodes a hex field (no `0x`, as v3 keystores write it) and checks its length.
fn hex_field(name: &str, value: &str, len: Option<usize>) -> std::result::Result<Vec<u8>, String> {
    let bytes = if value.starts_with("0x") {
        None
    } else {
        alloy_primitives::hex::decode(value).ok()
    }
    .ok_or_else(|| format!("{name} is not hex"))?;
    match len {
        Some(len) if bytes.len() != len => {
            Err(format!("{name} is {} bytes, expected {len}", bytes.len()))
        }
        None if bytes.is_empty() => Err(format!("{name} is empty")),
        _ => Ok(bytes),
    }
}

/// Checks, without decrypting, that `text` is a v3 keystore [`open_keystore`] would hand to the
/// decryption (structure, field lengths, supported cipher and KDF, KDF cost within limits);
/// the error says what is wrong. [`open_keystore`] runs this first.
pub fn check_keystore_json(text: &str) -> std::result::Result<(), String> {
    check_structure(text).map(|_| ())
}

/// Checks everything `eth-keystore` assumes without checking, and resource limits on the KDF.
/// Returns the optional `address` field.
fn check_structure(text: &str) -> std::result::Result<Option<alloy_primitives::Address>, String> {
    let ks: KeystoreJson = serde_json::from_str(text).map_err(|e| format!("bad JSON: {e}"))?;
    if ks.version != 3 {
        return Err(format!("version {} (only 3 is supported)", ks.version));
    }
    if ks.id.is_empty() {
        return Err("empty id".into());
    }
    let c = &ks.crypto;
    if c.cipher != "aes-128-ctr" {
        return Err(format!(
            "cipher {:?} (only aes-128-ctr is supported)",
            c.cipher
        ));
    }
    hex_field("iv", &c.cipherparams.iv, Some(16))?;
    hex_field("ciphertext", &c.ciphertext, Some(32))?;
    hex_field("mac", &c.mac, Some(32))?;
    match c.kdf.as_str() {
        "scrypt" => {
            let p: ScryptJson = serde_json::from_value(c.kdfparams.clone())
                .map_err(|e| format!("bad scrypt parameters: {e}"))?;
            hex_field("salt", &p.salt, None)?;
            if p.dklen != 32 {
                return Err(format!("dklen {} (must be 32)", p.dklen));
            }
            if p.n < 2 || !p.n.is_power_of_two() {
                return Err(format!("scrypt n = {} is not a power of two >= 2", p.n));
            }
            if p.r == 0 || p.p == 0 || p.p > 16 {
                return Err(format!("scrypt r = {}, p = {} out of range", p.r, p.p));
            }
            if 128 * u64::from(p.r) * u64::from(p.n) > MAX_SCRYPT_MEMORY {
                return Err(format!(
                    "scrypt n = {}, r = {} needs more than 256 MiB",
                    p.n, p.r
                ));
            }
        }
        "pbkdf2" => {
            let p: Pbkdf2Json = serde_json::from_value(c.kdfparams.clone())
                .map_err(|e| format!("bad pbkdf2 parameters: {e}"))?;
            hex_field("salt", &p.salt, None)?;
            if p.dklen != 32 {
                return Err(format!("dklen {} (must be 32)", p.dklen));
            }
            if p.prf != "hmac-sha256" {
                return Err(format!("prf {:?} (only hmac-sha256 is supported)", p.prf));
            }
            if p.c == 0 || p.c > MAX_PBKDF2_ROUNDS {
                return Err(format!("pbkdf2 c = {} out of range", p.c));
            }
        }
        other => {
            return Err(format!(
                "kdf {other:?} (only scrypt and pbkdf2 are supported)"
            ));
        }
    }
    ks.address
        .map(|a| {
            let a = a.strip_prefix("0x").unwrap_or(&a);
            hex_field("address", a, Some(20)).map(|b| alloy_primitives::Address::from_slice(&b))
        })
        .transpose()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn sample() -> serde_json::Value {
        serde_json::json!({
            "crypto": {
                "cipher": "aes-128-ctr",
                "cipherparams": { "iv": "6087dab2f9fdbbfaddc31a909735c1e6" },
                "ciphertext": "5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46",
                "kdf": "pbkdf2",
                "kdfparams": {
                    "c": 262144, "dklen": 32, "prf": "hmac-sha256",
                    "salt": "ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd"
                },
                "mac": "517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2"
            },
            "id": "3198bc9c-6672-5ab3-d995-4942343ae5b6",
            "version": 3
        })
    }

    #[test]
    fn structure_check_accepts_a_real_keystore() {
        assert!(check_structure(&sample().to_string()).is_ok());
    }

    #[test]
    fn structure_check_rejects_what_would_panic_eth_keystore() {
        let cases: [(&str, serde_json::Value); 7] = [
            ("/crypto/cipherparams/iv", "00".into()),
            ("/crypto/ciphertext", "0011".into()),
            ("/crypto/mac", "zz".into()),
            ("/crypto/kdfparams/dklen", 8.into()),
            ("/crypto/kdfparams/c", 0.into()),
            ("/crypto/kdf", "argon2".into()),
            ("/version", 4.into()),
        ];
        for (pointer, value) in cases {
            let mut v = sample();
            *v.pointer_mut(pointer).unwrap() = value;
            let err = check_structure(&v.to_string()).unwrap_err();
            assert!(!err.is_empty(), "{pointer}");
        }
    }

    #[test]
    fn structure_check_bounds_scrypt_cost() {
        let mut v = sample();
        v["crypto"]["kdf"] = "scrypt".into();
        v["crypto"]["kdfparams"] = serde_json::json!({
            "dklen": 32, "n": 1u32 << 30, "r": 8, "p": 1, "salt": "00"
        });
        assert!(
            check_structure(&v.to_string())
                .unwrap_err()
                .contains("256 MiB")
        );
        v["crypto"]["kdfparams"]["n"] = 3000.into();
        assert!(
            check_structure(&v.to_string())
                .unwrap_err()
                .contains("power of two")
        );
        v["crypto"]["kdfparams"]["n"] = 8192.into();
        assert!(check_structure(&v.to_string()).is_ok());
        // pbkdf2-shaped parameters under kdf = scrypt would silently switch KDFs in eth-keystore.
        v["crypto"]["kdfparams"]["c"] = 1.into();
        assert!(check_structure(&v.to_string()).is_err());
    }
}
