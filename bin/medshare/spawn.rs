//! Running `medshare-enclave` as a child process: the TEE in its own process, sharing no memory
//! with the parent, reaching the others only through the chain and the store.

use crate::sibling::ENCLAVE;
use anyhow::{Context, Result};
use tokio::io::AsyncBufReadExt;

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

    /// `medshare-enclave COMMAND --json` with this spawn's connection flags, then `extra`.
    fn command(&self, command: &str, extra: &[&str]) -> Result<tokio::process::Command> {
        let mut cmd = tokio::process::Command::new(Self::program()?);
        cmd.args([command, "--json", "--rpc", self.rpc])
            .arg("--deployment")
            .arg(self.deployment)
            .arg("--store")
            .arg(self.store)
            .arg("--enclave-dir")
            .arg(self.enclave_dir)
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true);
        Ok(cmd)
    }

    /// Starts `medshare-enclave worker` (one enclave process that takes job after job) and
    /// waits until it is ready: its key unsealed, the node reached.
    #[allow(dead_code, reason = "used by medshare-bench, which shares this file")]
    pub(crate) async fn worker(&self) -> Result<Worker> {
        let mut child = self
            .command("worker", &[])?
            .stdin(std::process::Stdio::piped())
            .spawn()
            .context("starting the enclave worker")?;
        let stdin = child.stdin.take().context("the worker's stdin")?;
        let stdout = child.stdout.take().context("the worker's stdout")?;
        let mut worker = Worker {
            _child: child,
            stdin,
            reports: tokio::io::BufReader::new(stdout).lines(),
        };
        let ready = worker.report().await?;
        if ready.get("ready") != Some(&serde_json::Value::Bool(true)) {
            anyhow::bail!("the enclave worker did not start: {ready}");
        }
        Ok(worker)
    }

    /// Runs `medshare-enclave COMMAND ... EXTRA --json` as a child process (its stderr is this
    /// process's) and returns its JSON report.
    #[allow(dead_code, reason = "used by medshare, which shares this file")]
    pub(crate) async fn run(&self, command: &str, extra: &[&str]) -> Result<serde_json::Value> {
        let child = self
            .command(command, extra)?
            .stdin(std::process::Stdio::null())
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

/// A running `medshare-enclave worker`: the TEE's process kept between jobs. Dropping it ends
/// the process.
#[allow(dead_code, reason = "used by medshare-bench, which shares this file")]
pub(crate) struct Worker {
    _child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    reports: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

#[allow(dead_code, reason = "used by medshare-bench, which shares this file")]
impl Worker {
    /// Assigns `job` to the worker and returns its JSON report.
    pub(crate) async fn run(
        &mut self,
        job: medshare_primitives::JobId,
    ) -> Result<serde_json::Value> {
        use tokio::io::AsyncWriteExt;
        self.stdin
            .write_all(format!("{}\n", job.0).as_bytes())
            .await
            .context("assigning a job to the enclave worker")?;
        self.stdin.flush().await?;
        let report = self.report().await?;
        if let Some(error) = report.get("error") {
            anyhow::bail!("the enclave worker could not run job {}: {error}", job.0);
        }
        Ok(report)
    }
    /// The worker's next line, as JSON.
    async fn report(&mut self) -> Result<serde_json::Value> {
        let line = self
            .reports
            .next_line()
            .await?
            .context("the enclave worker exited")?;
        serde_json::from_str(&line).context("reading the enclave worker's report")
    }
}
