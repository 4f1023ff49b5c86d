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
mod hint;
mod input;
mod job_spec;
mod key;
mod node;
mod parties;
mod password;
mod schema;
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
    Demo(demo::DemoArgs),
    /// Run the embedded chain as a JSON-RPC node (127.0.0.1:8545 by default) for other processes.
    Node(node::NodeArgs),
    /// Deploy the five contracts to an Ethereum JSON-RPC node and write the deployment file.
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
    use std::process::ExitCode;
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`| head`): nothing is wrong, and nothing to say.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            ExitCode::FAILURE
        }
    }
}

/// Says what failed, and what to do next when medshare knows (`hint`): with `--json` as one JSON
/// object `{"error", "hint"}` on stdout, where a script reads the command's answer; else on
/// stderr.
fn report(error: &anyhow::Error) {
    let hint = hint::hint(error);
    if std::env::args_os().any(|a| a == "--json") {
        let object = serde_json::json!({ "error": format!("{error:#}"), "hint": hint });
        println!("{object}");
    } else {
        eprintln!("Error: {error:?}");
        if let Some(hint) = hint {
            eprintln!("\nhint: {hint}");
        }
    }
}

/// Whether `error` comes from writing to a pipe whose reader has gone.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(|e| e.io_error_kind())
                == Some(std::io::ErrorKind::BrokenPipe)
    })
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    // The TEE and the benchmarks are programs of their own.
    let command = match cli.command {
        Command::Enclave { args } => return sibling::ENCLAVE.forward(args),
        Command::Bench { args } => return sibling::BENCH.forward(args),
        other => other,
    };
    if matches!(command, Command::Node(_)) {
        node::bound_allocator()?;
    }
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&cli.log)?)
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match command {
            Command::Demo(args) => demo::run(args).await,
            Command::Node(args) => node::run(args).await,
            Command::Deploy(args) => deploy::run(args).await,
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
