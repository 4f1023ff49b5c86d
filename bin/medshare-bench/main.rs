//! `medshare-bench`: medshare's benchmarks (`medshare bench …` runs this program).
//!
//! A program of its own because some benchmarks run the enclave in process, to measure the
//! cost of its process boundary: `medshare` itself never links the enclave crate.

use anyhow::Result;
use clap::Parser;

mod anvil;
mod gas;
#[path = "../medshare/job_spec.rs"]
mod job_spec;
mod paper;
mod privacy;
mod python;
mod scenario;
#[path = "../medshare/sibling.rs"]
#[allow(dead_code)] // `medshare` forwards to siblings; this program only locates one
mod sibling;
#[path = "../medshare/spawn.rs"]
mod spawn;

/// The repository root (this program's package is bin/medshare-bench).
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// Measure medshare: the paper's §7 evaluation beside the paper and its peers, gas per
/// transaction type.
#[derive(Parser)]
#[command(name = "medshare bench", version, about, long_about = None)]
struct Cli {
    /// Log filter (e.g. `info`); also read from RUST_LOG.
    #[arg(long, global = true, env = "RUST_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: gas::BenchCommand,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&cli.log)?)
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(gas::run(cli.command))
}
