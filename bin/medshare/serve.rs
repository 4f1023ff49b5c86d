//! `medshare serve`: the HTTP API (`medshare-api`) over one deployment, on this machine.

use crate::common::Connect;
use anyhow::{Context, Result};
use clap::Args;
use medshare_chain::{ContractClient, Wallet};
use std::{io::Write, net::SocketAddr};

/// Where to listen and which deployment to serve.
#[derive(Args)]
pub(crate) struct ServeArgs {
    /// Where to listen. Loopback by default: the API is for this machine's browser (it relays
    /// signed transactions and stores ciphertext, and has no authentication).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    #[command(flatten)]
    connect: Connect,
    /// Print one JSON line (the address and the deployment) when ready.
    #[arg(long)]
    json: bool,
}

/// What `serve` prints when it is ready.
#[derive(serde::Serialize)]
struct Serving {
    url: String,
    openapi: String,
    chain_id: u64,
    rpc: String,
    store: String,
}

pub(crate) async fn run(args: ServeArgs) -> Result<()> {
    // The API never signs: its client holds a throwaway key, for views only.
    let wallet = Wallet::new(
        args.connect.ledger()?,
        alloy_signer_local::PrivateKeySigner::random(),
    )
    .await
    .with_context(|| format!("connecting to the node at {}", args.connect.rpc))?;
    let chain = ContractClient::load_deployment(wallet, &args.connect.deployment)
        .await
        .with_context(|| {
            format!(
                "attaching to the deployment in {}",
                args.connect.deployment.display()
            )
        })?;
    let chain_id = chain.chain_id();
    let store = args.connect.store()?;
    if !args.addr.ip().is_loopback() {
        tracing::warn!(
            "listening on {}, which other machines can reach: the API has no authentication, \
             so anyone who reaches it can relay transactions and store objects (put it behind a \
             proxy that authenticates)",
            args.addr
        );
    }
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("listening on {}", args.addr))?;
    let url = format!("http://{}", listener.local_addr()?);
    let serving = Serving {
        openapi: format!("{url}/api/openapi.json"),
        url,
        chain_id,
        rpc: args.connect.rpc.clone(),
        store: args.connect.store.clone(),
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&serving)?)?;
    } else {
        writeln!(
            out,
            "medshare serve: chain id {}, node {}, store {}",
            serving.chain_id, serving.rpc, serving.store
        )?;
        writeln!(
            out,
            "serving the medshare API on {} (OpenAPI: {}) (Ctrl-C to stop)",
            serving.url, serving.openapi
        )?;
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
