//! `medshare enclave`: the TEE's process. The untrusted host runtime (`medshare_parties::tee`)
//! and the trusted enclave (`medshare_enclave`) in one process, as an SGX application and its
//! enclave; this is the only command that links the enclave.

use crate::common::Connect;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use medshare_enclave::Enclave;
use medshare_parties::tee::TeeHost;
use medshare_primitives::JobId;
use serde::Serialize;
use std::{io::Write, path::PathBuf};

#[derive(Subcommand)]
pub(crate) enum EnclaveCommand {
    /// Start the enclave (creating and sealing its key on first use) and register PK_T with its
    /// attestation evidence on chain.
    Register(EnclaveArgs),
    /// Run one approved job: verify the model and the records, decrypt the authorized ones,
    /// train, and post the encrypted result and the audit entries.
    Run(RunArgs),
}

#[derive(Args)]
pub(crate) struct EnclaveArgs {
    #[command(flatten)]
    connect: Connect,
    /// Where the sealed key (and, for the simulation backend, the platform secret) are kept.
    #[arg(long, env = "MEDSHARE_ENCLAVE_DIR", default_value_os_t = default_dir())]
    enclave_dir: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    enclave: EnclaveArgs,
    /// The job id (0x…).
    #[arg(long)]
    job: JobId,
}

fn default_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".medshare")
        .join("enclave")
}

/// The simulation backend's platform secret (what SGX's EGETKEY would give): a 0600 file.
fn platform_secret(dir: &std::path::Path) -> Result<[u8; 32]> {
    let path = dir.join("platform.secret");
    match std::fs::read(&path) {
        Ok(bytes) => bytes
            .as_slice()
            .try_into()
            .with_context(|| format!("{} is not a 32-byte platform secret", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
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

async fn host(args: &EnclaveArgs) -> Result<TeeHost> {
    std::fs::create_dir_all(&args.enclave_dir)
        .with_context(|| format!("creating {}", args.enclave_dir.display()))?;
    let secret = platform_secret(&args.enclave_dir)?;
    let enclave = Enclave::simulated(&args.enclave_dir.join("tee.sealed"), &secret)?;
    let host = TeeHost::new(
        Box::new(enclave),
        args.connect.ledger()?,
        args.connect.deployment()?,
        args.connect.store()?,
    )
    .await
    .with_context(|| format!("connecting to the node at {}", args.connect.rpc))?;
    Ok(host)
}

#[derive(Serialize)]
struct Registered {
    address: String,
    public_key: String,
    measurement: String,
    evidence: medshare_enclave_api::EvidenceKind,
    evidence_hash: String,
    pid: u32,
}

pub(crate) async fn run(command: EnclaveCommand) -> Result<()> {
    match command {
        EnclaveCommand::Register(args) => {
            let host = host(&args).await?;
            host.register().await.context("registering the TEE")?;
            let out = Registered {
                address: host.address().to_checksum(None),
                public_key: host.public_key().to_string(),
                measurement: host.evidence().measurement.to_string(),
                evidence: host.evidence().kind,
                evidence_hash: host.evidence().hash().to_string(),
                pid: std::process::id(),
            };
            if args.json {
                println!("{}", serde_json::to_string(&out)?);
            } else {
                println!(
                    "TEE {} registered ({:?} evidence, measurement {})",
                    out.address, out.evidence, out.measurement
                );
            }
            Ok(())
        }
        EnclaveCommand::Run(args) => {
            let host = host(&args.enclave).await?;
            let bar = ProgressBar::new(0);
            bar.set_style(ProgressStyle::with_template(
                "   enclave {bar:40} {pos}/{len} records verified {elapsed}",
            )?);
            let report = host
                .run_job(args.job, &|done, total| {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                })
                .await
                .with_context(|| format!("running job {}", args.job.0))?;
            bar.finish_and_clear();
            #[derive(Serialize)]
            struct Out<'a> {
                #[serde(flatten)]
                report: &'a medshare_parties::tee::JobReport,
                pid: u32,
                /// The process's peak resident memory (Linux `VmHWM`), if known.
                peak_memory_kib: Option<u64>,
            }
            if args.enclave.json {
                let out = Out {
                    report: &report,
                    pid: std::process::id(),
                    peak_memory_kib: peak_memory_kib(),
                };
                println!("{}", serde_json::to_string(&out)?);
            } else {
                println!(
                    "job {}: model {}; {} records seen, {} used; result {}",
                    report.job.0,
                    if report.model_ok {
                        "verified"
                    } else {
                        "refused"
                    },
                    report.records_seen,
                    report.records_used,
                    report.result_hash.map_or("none".into(), |h| h.to_string())
                );
            }
            Ok(())
        }
    }
}

/// This process's peak resident set size in KiB (`VmHWM` of /proc/self/status), on Linux.
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Where a spawned `medshare enclave` finds the chain, the contracts, the store and its key.
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
    /// Runs `medshare enclave COMMAND ... EXTRA --json` as a child process (the TEE's own
    /// process; its stderr is this process's) and returns its JSON report.
    pub(crate) async fn run(&self, command: &str, extra: &[&str]) -> Result<serde_json::Value> {
        let exe = std::env::current_exe().context("locating the medshare binary")?;
        let child = tokio::process::Command::new(exe)
            .args(["enclave", command, "--json", "--rpc", self.rpc])
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
            anyhow::bail!("medshare enclave {command} failed ({})", out.status);
        }
        serde_json::from_slice(&out.stdout).context("reading the enclave's report")
    }
}
