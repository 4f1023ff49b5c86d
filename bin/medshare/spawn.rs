//! Running `medshare-enclave` as a child process: the TEE in its own process, sharing no memory
//! with the parent, reaching the others only through the chain and the store.

use crate::sibling::ENCLAVE;
use anyhow::{Context, Result};

/// The simulation backend's measurement of an enclave program: the SHA-256 of its file (what
/// governance allowlists for a program it built or checked itself).
pub(crate) fn program_measurement(path: &std::path::Path) -> Result<alloy_primitives::B256> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(medshare_crypto::sha256(&bytes))
}

/// Where a spawned `medshare-enclave` finds the chain, the contracts, the store and its key.
pub(crate) struct Spawn<'a> {
    /// The node's JSON-RPC endpoint.
    pub(crate) rpc: &'a str,
    /// The deployment file.
    pub(crate) deployment: &'a std::path::Path,
    /// The store directory.
    pub(crate) store: &'a std::path::Path,
    /// The enclave directory (sealed key, platform secret).
    pub(crate) enclave_dir: &'a std::path::Path,
}

impl Spawn<'_> {
    /// The enclave program (built first if it is missing under `cargo run`).
    pub(crate) fn program() -> Result<std::path::PathBuf> {
        ENCLAVE.locate()
    }

    /// The simulation backend's measurement of the enclave program ([`program_measurement`]).
    pub(crate) fn measurement() -> Result<alloy_primitives::B256> {
        program_measurement(&Self::program()?)
    }

    /// Runs `medshare-enclave COMMAND ... EXTRA --json` as a child process (its stderr is this
    /// process's) and returns its JSON report.
    pub(crate) async fn run(&self, command: &str, extra: &[&str]) -> Result<serde_json::Value> {
        let exe = Self::program()?;
        let child = tokio::process::Command::new(exe)
            .args([command, "--json", "--rpc", self.rpc])
            .arg("--deployment")
            .arg(self.deployment)
            .arg("--store")
            .arg(self.store)
            .arg("--enclave-dir")
            .arg(self.enclave_dir)
            .args(extra)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting the enclave process")?;
        let out = child
            .wait_with_output()
            .await
            .context("waiting for the enclave process")?;
        if !out.status.success() {
            anyhow::bail!("medshare-enclave {command} failed ({})", out.status);
        }
        serde_json::from_slice(&out.stdout).context("reading the enclave's report")
    }
}
