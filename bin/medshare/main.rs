//! `medshare`: the one command line of medshare.
//!
//! Every party (patient, demander, reviewer, governance, node operator) uses this binary; the
//! TEE is its own program, `medshare-enclave`, the only one that links the enclave crate
//! (`medshare enclave …` runs it), and the benchmarks are `medshare-bench` (`medshare bench …`).
//! The binaries are the only places that use `anyhow`, print progress, and parse flags; the work
//! itself lives in the crates.

use anyhow::Result;
use clap::{Parser, Subcommand};

/// `println!` that returns the write's error (`?`) instead of panicking: a closed pipe
/// (`medshare … | head`) then ends the command quietly (see `main`).
macro_rules! out {
    () => {
        out!("")
    };
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

mod common;
mod demo;
mod deploy;
mod exit;
mod hint;
mod input;
mod job_spec;
mod key;
mod node;
mod parties;
mod password;
mod schema;
mod serve;
mod sibling;
mod spawn;

/// Patient-owned medical data sharing for machine learning.
///
/// Records are encrypted by their owner, stored off-chain, registered on an Ethereum ledger by hash,
/// and decrypted only inside a trusted execution environment that trains a reviewed model.
#[derive(Parser)]
#[command(name = "medshare", version, about, long_about = None)]
struct Cli {
    /// Log filter (e.g. `info`, `medshare_node=debug`); also read from RUST_LOG.
    #[arg(long, global = true, env = "RUST_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The whole protocol (§5.6) on the breast cancer data: patients, demander, reviewer, and the
    /// TEE in its own process, on the embedded chain (no setup needed).
    #[command(
        after_help = "Examples:\n  medshare demo\n  medshare demo --patients 20 --epsilon 2\n  medshare demo --data-dir demo-state --json | jq .accuracy\n  medshare demo --patients 20 --serve   # then open the printed address in a browser"
    )]
    Demo(demo::DemoArgs),
    /// Run the embedded chain as a JSON-RPC node (127.0.0.1:8545 by default) for other processes.
    #[command(
        after_help = "Examples:\n  medshare node                      # 127.0.0.1:8545, state in ~/.medshare/node\n  medshare node --data-dir /var/lib/medshare/chain --sealer-keystore sealer.json\n  medshare node --addr 0.0.0.0:8545   # warns: reachable from other machines"
    )]
    Node(node::NodeArgs),
    /// Serve the web app and its HTTP API (OpenAPI at /api/openapi.json) over a deployment:
    /// chain state, a relay for transactions signed elsewhere, content-addressed ciphertext.
    /// 127.0.0.1:8080 by default.
    #[command(
        after_help = "Examples:\n  medshare serve                      # http://127.0.0.1:8080, node at 127.0.0.1:8545\n  medshare serve --data-dir demo-state # what `medshare demo --data-dir demo-state` kept, chain included\n  medshare serve --rpc http://127.0.0.1:8545 --deployment deployment.json --store s3://medshare\n  curl -s http://127.0.0.1:8080/api/jobs | jq '.items[].status'"
    )]
    Serve(serve::ServeArgs),
    /// Deploy the five contracts to an Ethereum JSON-RPC node and write the deployment file.
    #[command(
        after_help = "Examples:\n  medshare deploy --keystore admin.json --rpc http://127.0.0.1:8545 --out deployment.json\n  medshare deploy --keystore admin.json --force   # replace an existing deployment file"
    )]
    Deploy(deploy::DeployArgs),
    /// The patient: upload records, consent, revoke, read the audit trail.
    #[command(subcommand)]
    User(parties::UserCommand),
    /// The research institute: submit a model, fetch and decrypt its result.
    #[command(subcommand)]
    Demander(parties::DemanderCommand),
    /// The reviewer: list, approve or reject submitted models.
    #[command(subcommand)]
    Reviewer(parties::ReviewerCommand),
    /// Governance (admins): allowlist enclave measurements, appoint reviewers, revoke TEEs.
    #[command(subcommand)]
    Governance(parties::GovernanceCommand),
    /// The TEE's process (runs `medshare-enclave`): register the enclave, run a job.
    #[command(disable_help_flag = true)]
    Enclave {
        /// Arguments for `medshare-enclave` (`medshare enclave --help` shows its help).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Create or inspect a party's encrypted keystore.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// The data types (schemas): their features, units, LOINC codes and public ranges.
    #[command(subcommand)]
    Schema(schema::SchemaCommand),
    /// Measure medshare (runs `medshare-bench`): `bench paper`, `bench gas`.
    #[command(disable_help_flag = true)]
    Bench {
        /// Arguments for `medshare-bench` (`medshare bench --help` shows its help).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}

fn main() -> std::process::ExitCode {
    let cli = match exit::parse::<Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    exit::finish(run(cli), hint::hint)
}

fn run(cli: Cli) -> Result<()> {
    // The TEE and the benchmarks are programs of their own.
    let command = match cli.command {
        Command::Enclave { args } => return sibling::ENCLAVE.forward(args),
        Command::Bench { args } => return sibling::BENCH.forward(args),
        other => other,
    };
    if matches!(command, Command::Node(_)) {
        node::bound_allocator()?;
    }
    exit::block_on(&cli.log, async move {
        match command {
            Command::Demo(args) => demo::run(args).await,
            Command::Node(args) => node::run(args).await,
            Command::Deploy(args) => deploy::run(args).await,
            Command::Serve(args) => serve::run(args).await,
            Command::User(command) => parties::user(command).await,
            Command::Demander(command) => parties::demander(command).await,
            Command::Reviewer(command) => parties::reviewer(command).await,
            Command::Governance(command) => parties::governance(command).await,
            Command::Key(command) => key::run(command),
            Command::Schema(command) => schema::run(command),
            Command::Enclave { .. } | Command::Bench { .. } => Ok(()),
        }
    })
}
