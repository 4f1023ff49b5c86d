//! Record encryption and hashing throughput beside `openssl speed`, on 16 KiB buffers.

use anyhow::{Context, Result, bail};
use medshare_crypto::{Identity, ciphertext_hash};
use serde::Serialize;
use std::time::Instant;

#[derive(Serialize)]
pub(super) struct Crypto {
    /// AES-256-GCM record encryption (seal_record) of 16 KiB buffers, MB/s.
    pub(super) aead_mb_s: f64,
    /// `openssl speed -evp aes-256-gcm` at 16 KiB, MB/s.
    pub(super) openssl_aead_mb_s: f64,
    /// SHA-256 of 16 KiB buffers, MB/s.
    pub(super) sha256_mb_s: f64,
    /// `openssl speed -evp sha256` at 16 KiB, MB/s.
    pub(super) openssl_sha256_mb_s: f64,
}

/// MB/s of `f` over 16 KiB buffers for about `seconds`.
fn throughput(seconds: f64, mut f: impl FnMut(&[u8])) -> f64 {
    let buf = vec![0x42u8; 16 * 1024];
    let start = Instant::now();
    let mut bytes = 0u64;
    while start.elapsed().as_secs_f64() < seconds {
        for _ in 0..64 {
            f(&buf);
        }
        bytes += 64 * buf.len() as u64;
    }
    bytes as f64 / start.elapsed().as_secs_f64() / 1e6
}

/// `openssl speed -mr -evp ALGO -bytes 16384`, in MB/s.
///
/// The peer is the `openssl` program, the figure people quote for OpenSSL, so it is run as a
/// program and its output read: no crate runs or parses `openssl speed`, and measuring OpenSSL
/// through the `openssl` crate instead would need OpenSSL's headers at build time and link
/// OpenSSL into the benchmark, which this workspace does not build. `-mr` is the
/// machine-readable form meant for this: a line `+F:<n>:<algorithm>:<bytes per second>`.
fn openssl_speed(algo: &str, seconds: f64) -> Result<f64> {
    let secs = format!("{}", seconds.ceil().max(1.0) as u64);
    let out = std::process::Command::new("openssl")
        .args(["speed", "-mr", "-evp", algo])
        .args(["-bytes", "16384", "-seconds", &secs])
        .output()
        .context("running openssl speed (is openssl installed?)")?;
    if !out.status.success() {
        bail!(
            "openssl speed failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let bytes_per_s: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("+F:"))
        .and_then(|l| l.rsplit(':').next())
        .and_then(|v| v.trim().parse().ok())
        .context("openssl speed -mr printed no +F: result line")?;
    Ok(bytes_per_s / 1e6)
}

pub(super) fn crypto(seconds: f64) -> Result<Crypto> {
    let key_owner = alloy_primitives::Address::repeat_byte(9);
    let pk_c = medshare_crypto::pk_c(1, key_owner);
    let tee = Identity::random();
    let (key, _) = medshare_crypto::KeyShare::generate(
        &mut rand::rngs::OsRng,
        medshare_primitives::RecordId::random(),
        &tee.public_key(),
        &pk_c,
    );
    let aead_mb_s = throughput(seconds, |b| {
        std::hint::black_box(medshare_crypto::seal_record(&key, key_owner, b).ok());
    });
    let sha256_mb_s = throughput(seconds, |b| {
        std::hint::black_box(ciphertext_hash(b));
    });
    Ok(Crypto {
        aead_mb_s: aead_mb_s.round(),
        openssl_aead_mb_s: openssl_speed("aes-256-gcm", seconds)?.round(),
        sha256_mb_s: sha256_mb_s.round(),
        openssl_sha256_mb_s: openssl_speed("sha256", seconds)?.round(),
    })
}
