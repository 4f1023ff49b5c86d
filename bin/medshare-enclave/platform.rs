//! The simulation backend's platform: what SGX hardware would provide, provided by this process.
//!
//! * **Measurement** (SGX: MRENCLAVE): the SHA-256 of this program's file, so governance
//!   allowlists exactly the program it built or checked, and a changed program has another
//!   measurement (and cannot unseal the old key, whose sealing key derives from it).
//! * **Sealing secret** (SGX: `EGETKEY`): 32 random bytes in `platform.secret` (0600) in the
//!   enclave directory. Whoever can read that file and runs the same program can unseal the key:
//!   simulation protects nothing from the machine's operator (`docs/threat-model.md`).

use anyhow::{Context, Result};
use medshare_enclave::SimulatedPlatform;
use std::{io::Write, path::Path};

/// SHA-256 of the running program's file.
pub(crate) fn measurement() -> Result<alloy_primitives::B256> {
    let exe = std::env::current_exe().context("locating this program")?;
    let bytes = std::fs::read(&exe).with_context(|| format!("reading {}", exe.display()))?;
    Ok(medshare_crypto::sha256(&bytes))
}

/// The platform secret in `dir` (created on first use).
fn platform_secret(dir: &Path) -> Result<[u8; 32]> {
    let path = dir.join("platform.secret");
    match std::fs::read(&path) {
        Ok(bytes) => bytes
            .as_slice()
            .try_into()
            .with_context(|| format!("{} is not a 32-byte platform secret", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let secret: [u8; 32] = rand::random();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            file.write_all(&secret)?;
            file.sync_all()?;
            Ok(secret)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The simulated platform for the enclave directory `dir`.
pub(crate) fn simulated(dir: &Path) -> Result<SimulatedPlatform> {
    Ok(SimulatedPlatform::new(
        platform_secret(dir)?,
        measurement()?,
    ))
}
