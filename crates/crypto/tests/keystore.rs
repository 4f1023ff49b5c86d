//! Keystore files: round trip, wrong password, malformed and missing files, geth's scrypt costs,
//! old files (eth-keystore's n = 2^13) still open, and that the key never reaches the disk in the
//! clear. A create or open at the standard cost runs scrypt at n = 2^18 (256 MiB, about a second;
//! scrypt is optimized in test builds, see the workspace's Cargo.toml).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::fs;

use medshare_crypto::{
    Error, Identity, KdfCost, create_keystore, create_keystore_with, open_keystore,
};

/// A keystore at the light cost (the tests of what the cost does not change).
fn light(
    dir: impl AsRef<std::path::Path>,
    name: &str,
    password: &str,
) -> medshare_crypto::Result<(Identity, std::path::PathBuf)> {
    create_keystore_with(dir, name, password, KdfCost::Light)
}

#[test]
fn round_trip_and_wrong_password() {
    let dir = tempfile::tempdir().unwrap();
    let (id, path) = light(dir.path(), "alice.json", "correct horse").unwrap();
    assert_eq!(path, dir.path().join("alice.json"));
    let opened = open_keystore(&path, "correct horse").unwrap();
    assert_eq!(opened.address(), id.address());
    assert_eq!(opened.public_key(), id.public_key());

    let err = open_keystore(&path, "wrong").unwrap_err();
    assert!(matches!(err, Error::KeystoreWrongPassword { .. }), "{err}");
    assert!(err.to_string().contains("wrong password"));
}

#[test]
fn file_holds_no_plaintext_key_and_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let (id, path) = light(dir.path(), "k", "pw").unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let secret = hex::encode(id.signer().to_bytes());
    assert!(!text.to_lowercase().contains(&secret));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["version"], 3);
    assert_eq!(json["crypto"]["kdf"], "scrypt");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn never_overwrites_and_rejects_bad_names() {
    let dir = tempfile::tempdir().unwrap();
    let (id, path) = light(dir.path(), "k", "pw").unwrap();
    assert!(matches!(
        light(dir.path(), "k", "pw"),
        Err(Error::KeystoreExists { .. })
    ));
    assert_eq!(open_keystore(&path, "pw").unwrap().address(), id.address());
    for bad in ["", ".", "..", "a/b", "../x"] {
        assert!(
            matches!(
                light(dir.path(), bad, "pw"),
                Err(Error::KeystoreBadName { .. })
            ),
            "{bad:?}"
        );
    }
    let missing_dir = dir.path().join("nope");
    assert!(matches!(
        light(&missing_dir, "k", "pw"),
        Err(Error::KeystoreIo { .. })
    ));
}

#[test]
fn missing_and_malformed_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent.json");
    let err = open_keystore(&missing, "pw").unwrap_err();
    assert!(matches!(err, Error::KeystoreMissing { .. }), "{err}");
    assert!(err.to_string().contains("no such file"));

    let not_json = dir.path().join("notes.txt");
    fs::write(&not_json, "hello").unwrap();
    let err = open_keystore(&not_json, "pw").unwrap_err();
    assert!(matches!(err, Error::KeystoreMalformed { .. }), "{err}");

    // A real keystore with its iv cut short: eth-keystore alone would panic on this.
    let (_, path) = light(dir.path(), "k", "pw").unwrap();
    let mut json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    json["crypto"]["cipherparams"]["iv"] = "00".into();
    let short_iv = dir.path().join("short-iv.json");
    fs::write(&short_iv, json.to_string()).unwrap();
    let err = open_keystore(&short_iv, "pw").unwrap_err();
    assert!(
        matches!(&err, Error::KeystoreMalformed { reason, .. } if reason.contains("iv")),
        "{err}"
    );

    // A directory is not a keystore.
    assert!(matches!(
        open_keystore(dir.path(), "pw"),
        Err(Error::KeystoreMalformed { .. })
    ));
}

#[test]
fn tampered_ciphertext_is_caught_by_the_mac() {
    let dir = tempfile::tempdir().unwrap();
    let (_, path) = light(dir.path(), "k", "pw").unwrap();
    let mut json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    let ct = json["crypto"]["ciphertext"].as_str().unwrap().to_owned();
    let (first, rest) = ct.split_at(1);
    let flipped = format!("{}{rest}", if first == "0" { "1" } else { "0" });
    json["crypto"]["ciphertext"] = flipped.into();
    fs::write(&path, json.to_string()).unwrap();
    // The MAC covers the ciphertext; a modified file reads as a wrong password, never a wrong key.
    assert!(matches!(
        open_keystore(&path, "pw"),
        Err(Error::KeystoreWrongPassword { .. })
    ));
}

fn kdf_params(path: &std::path::Path) -> (u64, u64, u64) {
    let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    let p = &json["crypto"]["kdfparams"];
    (
        p["n"].as_u64().unwrap(),
        p["r"].as_u64().unwrap(),
        p["p"].as_u64().unwrap(),
    )
}

#[test]
fn new_keystores_use_geths_standard_scrypt_cost_and_light_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (id, path) = create_keystore(dir.path(), "standard", "pw").unwrap();
    assert_eq!(kdf_params(&path), (1 << 18, 8, 1));
    assert_eq!(open_keystore(&path, "pw").unwrap().address(), id.address());
    let (id, path) = create_keystore_with(dir.path(), "light", "pw", KdfCost::Light).unwrap();
    assert_eq!(kdf_params(&path), (1 << 12, 8, 6));
    assert_eq!(open_keystore(&path, "pw").unwrap().address(), id.address());
    assert!(matches!(
        open_keystore(&path, "wrong").unwrap_err(),
        Error::KeystoreWrongPassword { .. }
    ));
}

#[test]
fn keystores_written_at_eth_keystores_old_cost_still_open() {
    let dir = tempfile::tempdir().unwrap();
    let signer = alloy_signer_local::PrivateKeySigner::random();
    alloy_signer_local::PrivateKeySigner::encrypt_keystore(
        dir.path(),
        &mut rand::rngs::OsRng,
        signer.to_bytes(),
        "pw",
        Some("old"),
    )
    .unwrap();
    let path = dir.path().join("old");
    assert_eq!(kdf_params(&path), (1 << 13, 8, 1));
    assert_eq!(
        open_keystore(&path, "pw").unwrap().address(),
        signer.address()
    );
}

/// The browser's keystore code (web/src/crypto/keystore.ts) wrote this file; medshare opens it,
/// and web/test/keystore.test.ts opens the one `medshare key new` wrote.
#[test]
fn a_keystore_written_by_the_browser_code_opens() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/keystore-browser-light.json"
    );
    let identity = open_keystore(path, "correct horse battery staple").unwrap();
    assert_eq!(
        identity.address().to_string().to_lowercase(),
        "0x8e462b237c288aa7842393b44f2909eabdb84ac6"
    );
    assert!(open_keystore(path, "another password").is_err());
    let rust = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/keystore-rust-light.json"
    );
    assert_eq!(
        open_keystore(rust, "correct horse battery staple")
            .unwrap()
            .address()
            .to_string()
            .to_lowercase(),
        "0xa327ad4281c5e0ecd1f54292e647954a6f1cd877"
    );
}
