//! Keystore v3 files: the structure check never panics, and a file it passes (with a KDF cheap
//! enough to fuzz) opens or is refused with an error, never a panic in eth-keystore.
#![no_main]
use libfuzzer_sys::fuzz_target;

/// Largest KDF work run per input: scrypt n·r (memory 128·n·r bytes) and pbkdf2 rounds.
const MAX_SCRYPT_NR: u64 = 1 << 12;
const MAX_PBKDF2_ROUNDS: u64 = 1_000;

fn cheap(text: &str) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return false;
    };
    let p = &v["crypto"]["kdfparams"];
    match (p["n"].as_u64(), p["r"].as_u64(), p["c"].as_u64()) {
        (Some(n), Some(r), _) => n.saturating_mul(r) <= MAX_SCRYPT_NR,
        (_, _, Some(c)) => c <= MAX_PBKDF2_ROUNDS,
        _ => false,
    }
}

fuzz_target!(|text: &str| {
    if medshare_crypto::check_keystore_json(text).is_err() || !cheap(text) {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("key.json");
    std::fs::write(&path, text).expect("write");
    let _ = medshare_crypto::open_keystore(&path, "password");
});
