//! `medshare-enclave`: the TEE's process.
//!
//! The trusted enclave (`medshare_enclave`) and its untrusted host runtime
//! (`medshare_parties::tee`) in one process, as an SGX application and its enclave. This is the
//! only program that links the enclave crate: `medshare` (every other party) does not, so no
//! other program can hold a data key. On machines without TEE hardware it runs the simulation
//! backend: its measurement is the SHA-256 of this program's file, and its sealing secret is a
//! file in the enclave directory (see `docs/threat-model.md` for what simulation cannot protect).

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use medshare_enclave::Enclave;
use medshare_enclave_api::TrustAnchors;
use medshare_parties::tee::TeeHost;
use medshare_primitives::JobId;
use serde::Serialize;
use std::path::PathBuf;

#[path = "../medshare/common.rs"]
mod common;
#[path = "../medshare/exit.rs"]
mod exit;
#[path = "../medshare/hint.rs"]
mod hint;
mod platform;

use common::Connect;

/// The TEE: the enclave that holds SK_T and decrypts consented records, and its host runtime.
///
/// First `register` (creates and seals the enclave's key for this chain and deployment, and
/// submits PK_T with its attestation evidence); governance then verifies the evidence and admits
/// the TEE (`medshare governance admit-tee`); then `run --job J` for each approved job, or one
/// long-running `worker` that takes job ids on stdin.
#[derive(Parser)]
#[command(name = "medshare-enclave", version, about, long_about = None)]
struct Cli {
    /// Log filter (e.g. `info`); also read from RUST_LOG.
    #[arg(long, global = true, env = "RUST_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print this enclave program's measurement (SHA-256 of the program, the simulation
    /// backend's MRENCLAVE), which governance allowlists.
    #[command(
        after_help = "Examples:\n  medshare enclave measurement\n  medshare governance measurement --keystore admin.json --enclave-binary $(dirname $(which medshare))/medshare-enclave"
    )]
    Measurement {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Start the enclave (creating and sealing its key with its trust anchors on first use) and
    /// submit PK_T with its attestation evidence on chain, for governance to admit.
    #[command(
        after_help = "Examples:\n  medshare enclave register --rpc http://127.0.0.1:8545 --deployment deployment.json --store medshare-store\n  medshare enclave register --json | jq -r .address   # the TEE's address, for governance admit-tee"
    )]
    Register(RegisterArgs),
    /// Run one approved job: the enclave checks the job, this TEE and each record's consent
    /// against proofs of the chain's state, verifies the model and the records, decrypts the
    /// consented ones, trains, and the result and audit entries are posted.
    #[command(
        after_help = "Examples:\n  medshare enclave run --job 0x…\n  medshare enclave run --job 0x… --json | jq '{records_used, result_hash}'"
    )]
    Run(RunArgs),
    /// Keep the enclave running and take the jobs assigned to it: one job id (0x…) per line on
    /// stdin, one report per line on stdout (a JSON object with `--json`: the report of `run`,
    /// or `{"job", "error"}` for a job that could not run), after a first line that says it is
    /// ready (`{"ready": true, "tee", "pid"}`). The key is unsealed and the node
    /// reached once for every job; a failed job does not stop the worker. Ends at end of input.
    #[command(after_help = "Examples:\n  echo 0x… | medshare enclave worker --json")]
    Worker(EnclaveArgs),
}

#[derive(Args)]
struct EnclaveArgs {
    #[command(flatten)]
    connect: Connect,
    /// Where the sealed key (and, for the simulation backend, the platform secret) are kept.
    /// One directory per deployment: a key serves the chain it was created for.
    #[arg(long, env = "MEDSHARE_ENCLAVE_DIR", default_value_os_t = default_dir())]
    enclave_dir: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct RegisterArgs {
    #[command(flatten)]
    enclave: EnclaveArgs,
    /// A sealer (validator) whose signature makes a block header genuine; repeat for a
    /// consortium. Default: the sealer of the node's latest block. Fixed in the key's trust
    /// anchors on first use; governance checks them when it admits the TEE.
    #[arg(long = "sealer")]
    sealers: Vec<alloy_primitives::Address>,
    /// Take block headers as the node gives them (for nodes whose headers nobody signs, such as
    /// anvil). Only deployments whose governance accepts unverified headers admit such a TEE,
    /// and every statement it signs says so.
    #[arg(long, conflicts_with = "sealers")]
    unverified_headers: bool,
}

#[derive(Args)]
struct RunArgs {
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

fn main() -> std::process::ExitCode {
    let cli = match exit::parse::<Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    exit::finish(exit::block_on(&cli.log, run(cli.command)), hint::hint)
}

/// Opens the enclave in `dir` (creating its key with `anchors` if there is none) and its host.
async fn host(args: &EnclaveArgs, anchors: Option<&TrustAnchors>) -> Result<TeeHost> {
    let platform = platform::simulated(&args.enclave_dir)?;
    let enclave = Enclave::simulated(&args.enclave_dir.join("tee.sealed"), &platform, anchors)?;
    TeeHost::new(
        Box::new(enclave),
        args.connect.ledger()?,
        Some(args.connect.deployment()?),
        args.connect.store()?,
    )
    .await
    .with_context(|| format!("connecting to the node at {}", args.connect.rpc))
}

/// The trust anchors of a new key: this node's chain id, the deployment file's contracts, and
/// the sealers named (or the node's, from its latest header).
async fn anchors(args: &RegisterArgs) -> Result<TrustAnchors> {
    let connect = &args.enclave.connect;
    let ledger = connect.ledger()?;
    let chain_id = ledger
        .chain_id()
        .await
        .with_context(|| format!("reaching the node at {}", connect.rpc))?;
    let deployment = connect.deployment()?;
    if args.unverified_headers {
        return Ok(TrustAnchors::unverified(chain_id, &deployment));
    }
    let sealers = if args.sealers.is_empty() {
        medshare_parties::tee::sealers_of(ledger.as_ref())
            .await
            .context("reading the node's sealer from its latest block (give --sealer, or --unverified-headers for a node that signs no headers)")?
    } else {
        args.sealers.clone()
    };
    Ok(TrustAnchors::sealed(chain_id, &deployment, sealers))
}

#[derive(Serialize)]
struct Registered {
    address: String,
    public_key: String,
    measurement: String,
    evidence: medshare_enclave_api::EvidenceKind,
    evidence_hash: String,
    chain_id: u64,
    headers_verified: bool,
    sealers: Vec<String>,
    pid: u32,
}

async fn run(command: Command) -> Result<()> {
    match command {
        Command::Measurement { json } => {
            let m = platform::measurement()?;
            if json {
                println!("{}", serde_json::json!({ "measurement": m.to_string() }));
            } else {
                println!("{m}");
            }
            Ok(())
        }
        Command::Register(args) => {
            std::fs::create_dir_all(&args.enclave.enclave_dir)
                .with_context(|| format!("creating {}", args.enclave.enclave_dir.display()))?;
            let sealed = args.enclave.enclave_dir.join("tee.sealed");
            let anchors = if sealed.exists() {
                None
            } else {
                Some(anchors(&args).await?)
            };
            let host = host(&args.enclave, anchors.as_ref()).await?;
            host.register().await.context("submitting the TEE")?;
            let evidence = host.evidence();
            let out = Registered {
                address: host.address().to_checksum(None),
                public_key: host.public_key().to_string(),
                measurement: evidence.measurement.to_string(),
                evidence: evidence.kind,
                evidence_hash: evidence.hash().to_string(),
                chain_id: evidence.anchors.chainId,
                headers_verified: evidence.anchors.headersVerified,
                sealers: evidence
                    .anchors
                    .sealers
                    .iter()
                    .map(|a| a.to_checksum(None))
                    .collect(),
                pid: std::process::id(),
            };
            if args.enclave.json {
                println!("{}", serde_json::to_string(&out)?);
            } else {
                println!(
                    "TEE {} submitted ({:?} evidence, measurement {}); governance admits it with `medshare governance admit-tee --tee {}`",
                    out.address, out.evidence, out.measurement, out.address
                );
            }
            Ok(())
        }
        Command::Worker(args) => worker(args).await,
        Command::Run(args) => {
            require_key(&args.enclave)?;
            let host = host(&args.enclave, None).await?;
            let bar = ProgressBar::new(0);
            if args.enclave.json {
                bar.set_draw_target(ProgressDrawTarget::hidden());
            }
            bar.set_style(ProgressStyle::with_template(
                "   enclave {bar:40} {pos}/{len} records checked {elapsed}",
            )?);
            let report = host
                .run_job(args.job, &|done, total| {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                })
                .await
                .with_context(|| format!("running job {}", args.job.0))?;
            bar.finish_and_clear();
            if args.enclave.json {
                println!("{}", serde_json::to_string(&JobOut::new(&report))?);
            } else {
                println!("{}", describe(&report));
            }
            Ok(())
        }
    }
}

/// What `run --json` and `worker --json` print for a job.
#[derive(Serialize)]
struct JobOut<'a> {
    #[serde(flatten)]
    report: &'a medshare_parties::tee::JobReport,
    pid: u32,
    /// The process's peak resident memory (Linux `VmHWM`), if known.
    peak_memory_kib: Option<u64>,
}

impl<'a> JobOut<'a> {
    fn new(report: &'a medshare_parties::tee::JobReport) -> Self {
        Self {
            report,
            pid: std::process::id(),
            peak_memory_kib: peak_memory_kib(),
        }
    }
}

/// A job's report in words.
fn describe(report: &medshare_parties::tee::JobReport) -> String {
    let mut s = format!(
        "job {}: model {}; {} consented records, {} used; result {}",
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
    if report.resumed {
        s += "\nreleased the training of an earlier run (its budgets were already debited), from \
              its checkpoint";
    }
    if let Some(why) = &report.training_failure {
        s += &format!("\ntraining failed: {why} (audit entries posted)");
    }
    s
}

/// `worker`: runs each job id read from stdin with one enclave and one host.
async fn worker(args: EnclaveArgs) -> Result<()> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    require_key(&args)?;
    let host = host(&args, None).await?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut stdout = tokio::io::stdout();
    // One line once the key is unsealed and the node reached: the worker is ready for jobs.
    let ready = if args.json {
        serde_json::to_string(&serde_json::json!({
            "ready": true,
            "tee": host.address().to_checksum(None),
            "pid": std::process::id(),
        }))?
    } else {
        format!(
            "TEE {} ready: one job id (0x…) per line",
            host.address().to_checksum(None)
        )
    };
    stdout.write_all(ready.as_bytes()).await?;
    stdout.write_all(b"\n").await?;
    stdout.flush().await?;
    while let Some(line) = lines.next_line().await? {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let out = match line.parse::<JobId>() {
            Err(e) => error_line(&args, line, &format!("not a job id: {e}"))?,
            Ok(job) => match host.run_job(job, &|_, _| {}).await {
                Ok(report) if args.json => serde_json::to_string(&JobOut::new(&report))?,
                Ok(report) => describe(&report),
                Err(e) => error_line(&args, line, &format!("{e}"))?,
            },
        };
        stdout.write_all(out.as_bytes()).await?;
        stdout.write_all(b"\n").await?;
        stdout.flush().await?;
    }
    Ok(())
}

/// A job that could not run, as `worker` reports it.
fn error_line(args: &EnclaveArgs, job: &str, error: &str) -> Result<String> {
    Ok(if args.json {
        serde_json::to_string(&serde_json::json!({ "job": job, "error": error }))?
    } else {
        format!("job {job}: {error}")
    })
}

/// Refuses to start without a sealed key.
fn require_key(args: &EnclaveArgs) -> Result<()> {
    if !args.enclave_dir.join("tee.sealed").exists() {
        bail!(
            "no enclave key in {}: run `medshare-enclave register` first",
            args.enclave_dir.display()
        );
    }
    Ok(())
}

/// This process's peak resident set size in KiB (`VmHWM` of /proc/self/status), on Linux.
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
