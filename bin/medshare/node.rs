//! `medshare node`: the embedded chain served over Ethereum JSON-RPC.

use crate::password;
use alloy_primitives::{Address, U256};
use anyhow::{Context, Result, bail};
use clap::Args;
use medshare_crypto::{KdfCost, create_keystore_with, open_keystore};
use medshare_ledger::Ledger;
use medshare_node::{
    embedded::{ChainConfig, DEFAULT_BLOCK_GAS_LIMIT, DEFAULT_CHAIN_ID, EmbeddedChain, OpenStep},
    server::RpcServer,
};
use serde::Serialize;
use std::{io::Write, net::SocketAddr, path::PathBuf, sync::Arc};

/// The file name of the sealing key's keystore inside the data directory.
pub(crate) const SEALER_KEYSTORE: &str = "sealer.json";

#[derive(Args)]
pub(crate) struct NodeArgs {
    /// Where the chain (and, unless --sealer-keystore is given, the sealing key) is kept.
    /// Created on first start; reopened, verified and served after that.
    #[arg(long, env = "MEDSHARE_NODE_DIR", default_value_os_t = default_data_dir())]
    data_dir: PathBuf,
    /// Address to listen on. Port 0 picks a free port (printed at start).
    #[arg(long, default_value = "127.0.0.1:8545")]
    addr: SocketAddr,
    /// Chain id (EIP-155), fixed when the chain is created.
    #[arg(long, default_value_t = DEFAULT_CHAIN_ID)]
    chain_id: u64,
    /// Gas limit of every block.
    #[arg(long, default_value_t = DEFAULT_BLOCK_GAS_LIMIT)]
    block_gas_limit: u64,
    /// The most memory the store's page cache takes, MiB (the node's memory grows with its
    /// store until the cache is full).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    cache_mib: u64,
    /// The node's sealing key (signs every block header); default DATA_DIR/sealer.json,
    /// created with a new key on first start.
    #[arg(long)]
    sealer_keystore: Option<PathBuf>,
    /// Read the sealing key's password from this file (else MEDSHARE_PASSWORD, else a prompt).
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// Create the sealing keystore (on first start) at geth's light scrypt cost instead of its
    /// standard one, as `medshare key new --light-kdf`. For tests.
    #[arg(long)]
    light_kdf: bool,
    /// Genesis balance `ADDRESS=WEI` (repeatable), for clients that pay a gas tip (alloy's
    /// fillers, cast). Used when the chain is created; must match when it is reopened.
    #[arg(long = "alloc", value_parser = parse_alloc)]
    alloc: Vec<(Address, U256)>,
    /// Print one JSON line (endpoint, chain id, tip, sealer) once serving, instead of text.
    #[arg(long)]
    json: bool,
}

/// glibc's malloc settings `medshare node` runs with: one arena, and a fixed mmap threshold
/// (128 KiB) so that large buffers (query answers, pages) are mapped and returned when freed.
const MALLOC_SETTINGS: [(&str, &str); 2] = [
    ("MALLOC_ARENA_MAX", "1"),
    ("MALLOC_MMAP_THRESHOLD_", "131072"),
];

/// Runs this process again with [`MALLOC_SETTINGS`], unless one of them is already set (then
/// the operator's settings stand) or this is not a glibc build.
///
/// glibc gives each thread that meets a locked arena a new one (up to 8 per core) and keeps the
/// freed memory of each, and it raises its mmap threshold as large blocks are freed, so that
/// later large blocks come from the heap and stay there. Under `medshare bench load` (64
/// clients, answers that grow with the chain) that made the node's resident memory grow by
/// about half again over the second half of 80,000 operations, long after the page cache was
/// full; with one arena +3.7 %, and with both settings +0.4 %, at throughput within the run-to-run
/// spread (bench/results/load.md, README "Reliability"). glibc reads them when malloc starts,
/// before `main`, so they cannot be set from inside the process; `exec` keeps the process id, so
/// a supervisor's pid stays right.
pub(crate) fn bound_allocator() -> Result<()> {
    if !cfg!(all(target_os = "linux", target_env = "gnu"))
        || MALLOC_SETTINGS
            .iter()
            .any(|(name, _)| std::env::var_os(name).is_some())
    {
        return Ok(());
    }
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().context("finding this program to run the node")?;
    let error = std::process::Command::new(&exe)
        .args(std::env::args_os().skip(1))
        .envs(MALLOC_SETTINGS)
        .exec();
    Err(error).with_context(|| {
        format!(
            "running {} again with glibc's malloc settings",
            exe.display()
        )
    })
}

fn default_data_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".medshare")
        .join("node")
}

fn parse_alloc(s: &str) -> Result<(Address, U256), String> {
    let (address, wei) = s
        .split_once('=')
        .ok_or_else(|| format!("expected ADDRESS=WEI, got {s:?}"))?;
    let address: Address = address
        .trim()
        .parse()
        .map_err(|e| format!("bad address {address:?}: {e}"))?;
    let wei = U256::from_str_radix(wei.trim(), 10)
        .map_err(|e| format!("bad amount {wei:?} (decimal wei): {e}"))?;
    Ok((address, wei))
}

#[derive(Serialize)]
struct Serving {
    endpoint: String,
    /// The same server over WebSocket (every method, and `eth_subscribe("newHeads")`).
    ws_endpoint: String,
    chain_id: u64,
    block_number: u64,
    sealer: String,
    data_dir: String,
    pid: u32,
}

pub(crate) async fn run(args: NodeArgs) -> Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let keystore = args
        .sealer_keystore
        .clone()
        .unwrap_or_else(|| args.data_dir.join(SEALER_KEYSTORE));
    let sealer = if keystore.exists() {
        let password = password::read(
            args.password_file.as_deref(),
            &keystore.display().to_string(),
            false,
        )?;
        open_keystore(&keystore, password.as_bytes())?
    } else if args.sealer_keystore.is_some() {
        bail!("the sealing keystore {} does not exist", keystore.display());
    } else {
        let password = password::read(
            args.password_file.as_deref(),
            "the node's new sealing key",
            true,
        )?;
        let dir = keystore.parent().context("the keystore has a directory")?;
        let cost = if args.light_kdf {
            KdfCost::Light
        } else {
            KdfCost::Standard
        };
        create_keystore_with(dir, SEALER_KEYSTORE, password.as_bytes(), cost)?.0
    };

    let mut config = ChainConfig::new(sealer.signer().clone())
        .with_chain_id(args.chain_id)
        .with_block_gas_limit(args.block_gas_limit)
        .with_cache_bytes(usize::try_from(args.cache_mib * 1024 * 1024)?);
    for (address, wei) in &args.alloc {
        config = config.with_balance(*address, *wei);
    }
    let chain_dir = args.data_dir.join("chain");
    let chain = open_chain(&chain_dir, config, args.json)?;
    let ledger: Arc<dyn Ledger> = Arc::new(chain.clone());
    if !args.addr.ip().is_loopback() {
        tracing::warn!(
            "listening on {}, which other machines can reach: medshare node has no \
             authentication, so anyone who reaches it can read the chain and send transactions \
             (put it behind a firewall or a proxy that authenticates)",
            args.addr
        );
    }
    let server = RpcServer::start(ledger.clone(), args.addr).await?;

    let serving = Serving {
        endpoint: server.endpoint(),
        ws_endpoint: server.ws_endpoint(),
        chain_id: ledger.chain_id().await?,
        block_number: ledger.block_number().await?,
        sealer: chain.sealer_address().to_checksum(None),
        data_dir: args.data_dir.display().to_string(),
        pid: std::process::id(),
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&serving)?)?;
    } else {
        writeln!(
            out,
            "medshare node: chain id {}, block {}, sealer {}, data in {}",
            serving.chain_id, serving.block_number, serving.sealer, serving.data_dir
        )?;
        writeln!(
            out,
            "serving Ethereum JSON-RPC on {} and {} (newHeads subscriptions) (Ctrl-C to stop)",
            serving.endpoint, serving.ws_endpoint
        )?;
    }
    out.flush()?;
    drop(out);

    shutdown_signal().await?;
    tracing::info!("stopping: no new requests; sealing what is queued");
    server.stop().await;
    drop(ledger);
    close_chain(chain).await
}

/// Opens (or creates) the chain in `chain_dir`. Reopening a large chain verifies every header
/// and recomputes the state root: a bar on stderr says how far (hidden when `quiet`; indicatif
/// draws nothing when stderr is not a terminal).
pub(crate) fn open_chain(
    chain_dir: &std::path::Path,
    config: ChainConfig,
    quiet: bool,
) -> Result<EmbeddedChain> {
    let bar = indicatif::ProgressBar::new(0);
    if quiet {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(indicatif::ProgressStyle::with_template(
        "{msg:32} {bar:40} {pos}/{len} {elapsed}",
    )?);
    let shown = bar.clone();
    let config = config.with_open_progress(move |step| {
        let (msg, done, total) = match step {
            OpenStep::Headers { done, total } => ("verifying headers and seals", done, total),
            OpenStep::State { done, total } => ("recomputing the state root", done, total),
        };
        shown.set_message(msg);
        shown.set_length(total);
        shown.set_position(done);
    });
    let chain = EmbeddedChain::open(chain_dir, config)
        .with_context(|| format!("opening the chain in {}", chain_dir.display()))?;
    bar.finish_and_clear();
    Ok(chain)
}

/// Closes `chain` once every other handle is gone: its sealer seals what is queued, then its
/// store closes (blocking work, so off the runtime's threads).
pub(crate) async fn close_chain(chain: EmbeddedChain) -> Result<()> {
    tokio::task::spawn_blocking(move || drop(chain)).await?;
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() -> Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}
