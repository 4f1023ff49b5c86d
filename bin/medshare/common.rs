//! What every party command needs: where the ledger, the deployment and the store are.

use anyhow::{Context, Result};
use clap::Args;
use medshare_ledger::{Ledger, rpc::RpcLedger};
use medshare_storage::Store;
use std::{path::PathBuf, sync::Arc};

/// Where a party finds the others: the ledger, the contracts, the store.
#[derive(Args, Clone, Debug)]
pub(crate) struct Connect {
    /// The Ethereum JSON-RPC endpoint (`medshare node`, anvil, geth, Besu, reth…).
    #[arg(long, default_value = Connect::DEFAULT_RPC, env = "MEDSHARE_RPC")]
    pub(crate) rpc: String,
    /// The deployment file written by `medshare deploy` (chain id and contract addresses).
    #[arg(long, default_value = Connect::DEFAULT_DEPLOYMENT, env = "MEDSHARE_DEPLOYMENT")]
    pub(crate) deployment: PathBuf,
    /// The off-chain store: a directory, or `s3://BUCKET` (endpoint and credentials from
    /// MEDSHARE_S3_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
    #[arg(long, default_value = Connect::DEFAULT_STORE, env = "MEDSHARE_STORE")]
    pub(crate) store: String,
}

impl Connect {
    /// `--rpc`'s default.
    pub(crate) const DEFAULT_RPC: &str = "http://127.0.0.1:8545";
    /// `--deployment`'s default.
    pub(crate) const DEFAULT_DEPLOYMENT: &str = "deployment.json";
    /// `--store`'s default.
    pub(crate) const DEFAULT_STORE: &str = "medshare-store";

    /// The ledger.
    pub(crate) fn ledger(&self) -> Result<Arc<dyn Ledger>> {
        Ok(Arc::new(RpcLedger::connect(&self.rpc)?))
    }

    /// The store.
    pub(crate) fn store(&self) -> Result<Arc<dyn Store>> {
        medshare_storage::open(&self.store)
            .with_context(|| format!("opening the store {}", self.store))
    }

    /// Reads the deployment file's addresses (without checking the chain).
    #[allow(dead_code)] // used by medshare-enclave, which shares this file
    pub(crate) fn deployment(&self) -> Result<medshare_chain::Deployment> {
        Ok(medshare_chain::read_deployment(&self.deployment)?.1)
    }
}
