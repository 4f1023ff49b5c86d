//! `medshare serve`: the web app and the HTTP API (`medshare-api`) over one deployment, on this
//! machine: over a node it reaches by JSON-RPC, or over a kept embedded chain it opens itself.

use crate::common::Connect;
use anyhow::{Context, Result, bail};
use clap::Args;
use medshare_chain::{ContractClient, Wallet};
use medshare_ledger::Ledger;
use medshare_node::{embedded::ChainConfig, server::RpcServer};
use medshare_storage::{LocalStore, Store};
use std::{
    io::Write,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
};

/// Where to listen and which deployment to serve.
#[derive(Args)]
pub(crate) struct ServeArgs {
    /// Where to listen. Loopback by default: the API is for this machine's browser (it relays
    /// signed transactions and stores ciphertext, and has no authentication).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Serve the state kept in DIR by `medshare demo --data-dir DIR` (or a `medshare node
    /// --data-dir DIR` with a deployment.json and store beside its chain): the embedded chain
    /// is opened in this process (headers and state root verified) and served over JSON-RPC on
    /// --rpc-addr as well, for the other parties' commands and the TEE. Replaces --rpc,
    /// --deployment and --store (DIR/deployment.json, DIR/store).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// With --data-dir: read the chain's sealing key's password from this file (else
    /// MEDSHARE_PASSWORD, else a prompt).
    #[arg(long, requires = "data_dir")]
    password_file: Option<PathBuf>,
    /// With --data-dir: where the chain's JSON-RPC listens (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8545")]
    rpc_addr: SocketAddr,
    #[command(flatten)]
    connect: Connect,
    /// Print one JSON line (the address and the deployment) when ready.
    #[arg(long)]
    json: bool,
}

/// What `serve` prints when it is ready.
#[derive(serde::Serialize)]
pub(crate) struct Serving {
    pub(crate) url: String,
    pub(crate) openapi: String,
    pub(crate) chain_id: u64,
    pub(crate) block_number: u64,
    pub(crate) rpc: String,
    pub(crate) store: String,
}

pub(crate) async fn run(args: ServeArgs) -> Result<()> {
    match &args.data_dir {
        Some(dir) => run_kept(&args, dir).await,
        None => {
            let chain = attach(args.connect.ledger()?, &args.connect.deployment)
                .await
                .with_context(|| format!("connecting to the node at {}", args.connect.rpc))?;
            let store = args.connect.store()?;
            let listener = listen(args.addr).await?;
            serve_until_stopped(
                listener,
                chain,
                store,
                &args.connect.rpc,
                &args.connect.store,
                args.json,
                None,
            )
            .await
        }
    }
}

/// `serve --data-dir DIR`: the kept chain opened here, served over JSON-RPC and the API.
async fn run_kept(args: &ServeArgs, dir: &Path) -> Result<()> {
    for (given, default, what) in [
        (
            &args.connect.rpc,
            Connect::DEFAULT_RPC,
            "--rpc (MEDSHARE_RPC)",
        ),
        (
            &args.connect.store,
            Connect::DEFAULT_STORE,
            "--store (MEDSHARE_STORE)",
        ),
    ] {
        if given != default {
            tracing::warn!("{what} {given} is not used: --data-dir serves its own chain and store");
        }
    }
    if args.connect.deployment != Path::new(Connect::DEFAULT_DEPLOYMENT) {
        tracing::warn!(
            "--deployment (MEDSHARE_DEPLOYMENT) {} is not used: --data-dir serves its own",
            args.connect.deployment.display()
        );
    }
    let keystore = dir.join(crate::node::SEALER_KEYSTORE);
    let deployment = dir.join("deployment.json");
    for (path, what) in [
        (&keystore, "the chain's sealing key"),
        (&deployment, "the deployment"),
    ] {
        if !path.exists() {
            bail!(
                "{} has no {what} ({} is missing): DIR is what `medshare demo --data-dir DIR` \
                 kept, or a `medshare node --data-dir DIR` with `medshare deploy --out \
                 DIR/deployment.json`",
                dir.display(),
                path.display()
            );
        }
    }
    let password = crate::password::read(
        args.password_file.as_deref(),
        &keystore.display().to_string(),
        false,
    )?;
    let sealer = medshare_crypto::open_keystore(&keystore, password.as_bytes())?;
    let chain = crate::node::open_chain(
        &dir.join("chain"),
        ChainConfig::new(sealer.signer().clone()),
        args.json,
    )?;
    let ledger: Arc<dyn Ledger> = Arc::new(chain.clone());
    let rpc = RpcServer::start(ledger.clone(), args.rpc_addr)
        .await
        .with_context(|| format!("serving JSON-RPC on {}", args.rpc_addr))?;
    let store_dir = dir.join("store");
    let served = async {
        let client = attach(ledger.clone(), &deployment).await?;
        let store: Arc<dyn Store> = Arc::new(LocalStore::open(&store_dir)?);
        let listener = listen(args.addr).await?;
        serve_until_stopped(
            listener,
            client,
            store,
            &rpc.endpoint(),
            &store_dir.display().to_string(),
            args.json,
            None,
        )
        .await
    }
    .await;
    rpc.stop().await;
    drop(ledger);
    crate::node::close_chain(chain).await?;
    served
}

/// A client of the deployment in `deployment` for the API's views. The API never signs: its
/// client holds a throwaway key.
pub(crate) async fn attach(ledger: Arc<dyn Ledger>, deployment: &Path) -> Result<ContractClient> {
    let wallet = Wallet::new(ledger, alloy_signer_local::PrivateKeySigner::random()).await?;
    ContractClient::load_deployment(wallet, deployment)
        .await
        .with_context(|| format!("attaching to the deployment in {}", deployment.display()))
}

/// Binds the API's address, warning when it is beyond loopback.
pub(crate) async fn listen(addr: SocketAddr) -> Result<tokio::net::TcpListener> {
    if !addr.ip().is_loopback() {
        tracing::warn!(
            "listening on {addr}, which other machines can reach: the API has no authentication, \
             so anyone who reaches it can relay transactions and store objects (put it behind a \
             proxy that authenticates)"
        );
    }
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))
}

/// Says where the API is (a JSON line with `json`, else text, and the page at `open`, a path
/// such as `/#patient/0x…`), then serves it until Ctrl-C or SIGTERM.
pub(crate) async fn serve_until_stopped(
    listener: tokio::net::TcpListener,
    chain: ContractClient,
    store: Arc<dyn Store>,
    rpc: &str,
    store_name: &str,
    json: bool,
    open: Option<&str>,
) -> Result<()> {
    let url = format!("http://{}", listener.local_addr()?);
    let serving = Serving {
        openapi: format!("{url}/api/openapi.json"),
        chain_id: chain.chain_id(),
        block_number: chain.ledger().block_number().await?,
        url,
        rpc: rpc.to_owned(),
        store: store_name.to_owned(),
    };
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(&serving)?)?;
    } else {
        writeln!(
            out,
            "medshare serve: chain id {}, block {}, node {}, store {}",
            serving.chain_id, serving.block_number, serving.rpc, serving.store
        )?;
        writeln!(
            out,
            "serving the medshare web app and API on {} (OpenAPI: {}) (Ctrl-C to stop)",
            serving.url, serving.openapi
        )?;
        if let Some(path) = open {
            writeln!(out, "open {}{path}", serving.url)?;
        }
    }
    out.flush()?;
    drop(out);
    let shutdown = async {
        if let Err(e) = crate::node::shutdown_signal().await {
            tracing::warn!("waiting for Ctrl-C: {e}");
        }
    };
    medshare_api::serve(listener, medshare_api::Api::new(chain, store), shutdown)
        .await
        .context("serving the API")?;
    Ok(())
}
