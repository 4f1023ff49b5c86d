//! The deployment file: a deployment's chain id and contract addresses as JSON, written by
//! whoever deployed and read by every party that attaches to it.

use crate::{ContractClient, Error, Result};
use medshare_contracts::Deployment;
use medshare_ledger::wallet::Wallet;
use std::path::Path;

/// The on-disk form of a deployment.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DeploymentFile {
    chain_id: u64,
    contracts: Deployment,
}

impl ContractClient {
    /// Writes the deployment (chain id and addresses) as JSON to `path`, atomically.
    pub fn save_deployment(&self, path: &Path) -> Result<()> {
        let file = DeploymentFile {
            chain_id: self.chain_id(),
            contracts: *self.deployment(),
        };
        let failed = |reason: String| Error::DeploymentFile {
            path: path.display().to_string(),
            reason,
        };
        let json = serde_json::to_vec_pretty(&file).map_err(|e| failed(e.to_string()))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json).map_err(|e| failed(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| failed(e.to_string()))
    }

    /// Reads a deployment file written by [`ContractClient::save_deployment`] and attaches to
    /// it, refusing a file made for another chain.
    pub async fn load_deployment(wallet: Wallet, path: &Path) -> Result<Self> {
        let (chain_id, contracts) = read_deployment(path)?;
        if chain_id != wallet.chain_id() {
            return Err(Error::DeploymentFile {
                path: path.display().to_string(),
                reason: format!(
                    "made for chain id {chain_id}, but the node is chain id {}",
                    wallet.chain_id()
                ),
            });
        }
        Self::attach(wallet, contracts).await
    }
}

/// Reads a deployment file written by [`ContractClient::save_deployment`]: its chain id and the
/// contracts' addresses (nothing is checked against a chain).
pub fn read_deployment(path: &Path) -> Result<(u64, Deployment)> {
    let bad = |reason: String| Error::DeploymentFile {
        path: path.display().to_string(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let file: DeploymentFile = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    Ok((file.chain_id, file.contracts))
}
