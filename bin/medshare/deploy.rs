//! `medshare deploy`: deploys the five contracts to any Ethereum JSON-RPC node.

use crate::password;
use anyhow::{Context, Result};
use clap::Args;
use medshare_chain::{ContractClient, Wallet};
use medshare_crypto::open_keystore;
use medshare_ledger::{Ledger, rpc::RpcLedger};
use serde::Serialize;
use std::{path::PathBuf, sync::Arc};

#[derive(Args)]
pub(crate) struct DeployArgs {
    /// The node's JSON-RPC endpoint (`medshare node`, anvil, geth, Besu, reth…).
    #[arg(long, default_value = "http://127.0.0.1:8545", env = "MEDSHARE_RPC")]
    rpc: String,
    /// The deployer's keystore (`medshare key new`); it becomes the first admin of Registration.
    #[arg(long)]
    keystore: PathBuf,
    /// Read the keystore password from this file (else MEDSHARE_PASSWORD, else a prompt).
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// Where to write the deployment (chain id and the five addresses) for the other parties.
    #[arg(long, default_value = "deployment.json")]
    out: PathBuf,
    /// Replace the deployment file if it exists (the parties using it would then talk to the
    /// new contracts).
    #[arg(long)]
    force: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Deployed {
    chain_id: u64,
    deployer: String,
    file: String,
    contracts: medshare_chain::Deployment,
}

pub(crate) async fn run(args: DeployArgs) -> Result<()> {
    if args.out.exists() && !args.force {
        anyhow::bail!(
            "{} exists: the parties of that deployment use it. Pass --force to replace it, or \
             --out another file",
            args.out.display()
        );
    }
    let password = password::read(
        args.password_file.as_deref(),
        &args.keystore.display().to_string(),
        false,
    )?;
    let identity = open_keystore(&args.keystore, password.as_bytes())?;
    let ledger: Arc<dyn Ledger> = Arc::new(RpcLedger::connect(&args.rpc)?);
    let wallet = Wallet::new(ledger, identity.signer().clone())
        .await
        .with_context(|| format!("connecting to the node at {}", args.rpc))?;
    let client = ContractClient::deploy(wallet)
        .await
        .context("deploying the contracts")?;
    client.save_deployment(&args.out)?;
    let out = Deployed {
        chain_id: client.chain_id(),
        deployer: identity.address().to_checksum(None),
        file: args.out.display().to_string(),
        contracts: *client.deployment(),
    };
    if args.json {
        out!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let d = &out.contracts;
        out!("deployed on chain {} by {}", out.chain_id, out.deployer);
        out!("  Registration  {}", d.registration);
        out!("  Data          {}", d.data);
        out!("  Model         {}", d.model);
        out!("  Authorization {}", d.authorization);
        out!("  Audit         {}", d.audit);
        out!("written to {}", out.file);
    }
    Ok(())
}
