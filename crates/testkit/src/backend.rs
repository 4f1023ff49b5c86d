//! [`Backend`]: the ledger a test runs on.

use crate::{
    Result,
    process::{ANVIL_DEV_KEY, Anvil, Node},
};
use alloy_primitives::U256;
use alloy_signer_local::PrivateKeySigner;
use medshare_ledger::{Ledger, rpc::RpcLedger, wallet::Wallet};
use medshare_node::embedded::{ChainConfig, EmbeddedChain};
use std::{path::Path, sync::Arc};
use tempfile::TempDir;

/// What a party is given on chains that charge for gas (anvil): 100 ETH.
const FUNDING_WEI: u128 = 100 * 10u128.pow(18);

/// Which ledger a [`Backend`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// The embedded chain, in this process.
    Embedded,
    /// `medshare node` in its own process, over JSON-RPC.
    Node,
    /// anvil in its own process, over JSON-RPC.
    Anvil,
}

/// A fresh, empty ledger of one kind, torn down when dropped.
pub struct Backend {
    // Field order is drop order: the ledger handle goes before the process and the directory.
    ledger: Arc<dyn Ledger>,
    funder: Option<Wallet>,
    kind: BackendKind,
    endpoint: Option<String>,
    _node: Option<Node>,
    _anvil: Option<Anvil>,
    _dir: Option<TempDir>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("kind", &self.kind)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Backend {
    /// The embedded chain in a temporary directory.
    pub async fn embedded() -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let chain = EmbeddedChain::open(
            &dir.path().join("chain"),
            ChainConfig::new(PrivateKeySigner::random()),
        )?;
        Ok(Self {
            ledger: Arc::new(chain),
            funder: None,
            kind: BackendKind::Embedded,
            endpoint: None,
            _node: None,
            _anvil: None,
            _dir: Some(dir),
        })
    }

    /// The embedded chain stored in `dir` (created if missing, reopened and verified if not).
    pub async fn embedded_at(dir: &Path) -> Result<Self> {
        let chain = EmbeddedChain::open(dir, ChainConfig::new(PrivateKeySigner::random()))?;
        Ok(Self {
            ledger: Arc::new(chain),
            funder: None,
            kind: BackendKind::Embedded,
            endpoint: None,
            _node: None,
            _anvil: None,
            _dir: None,
        })
    }

    /// `medshare node` (the binary at `bin`) on a temporary directory, reached over JSON-RPC.
    pub async fn node(bin: &Path) -> Result<Self> {
        Self::node_with(bin, &[]).await
    }

    /// [`Backend::node`] with `extra` arguments for `medshare node`.
    pub async fn node_with(bin: &Path, extra: &[&str]) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let node = Node::spawn(bin, dir.path(), extra)?;
        let endpoint = node.endpoint();
        Ok(Self {
            ledger: Arc::new(RpcLedger::connect(&endpoint)?),
            funder: None,
            kind: BackendKind::Node,
            endpoint: Some(endpoint),
            _node: Some(node),
            _anvil: None,
            _dir: Some(dir),
        })
    }

    /// A fresh anvil, reached over JSON-RPC; parties are funded from its first dev account.
    pub async fn anvil() -> Result<Self> {
        let anvil = Anvil::spawn(&[])?;
        let endpoint = anvil.endpoint();
        let ledger: Arc<dyn Ledger> = Arc::new(RpcLedger::connect(&endpoint)?);
        let key: PrivateKeySigner = ANVIL_DEV_KEY.parse().map_err(|e| crate::Error::Process {
            program: "anvil".into(),
            reason: format!("bad dev key: {e}"),
        })?;
        let funder = Wallet::new(ledger.clone(), key).await?;
        Ok(Self {
            ledger,
            funder: Some(funder),
            kind: BackendKind::Anvil,
            endpoint: Some(endpoint),
            _node: None,
            _anvil: Some(anvil),
            _dir: None,
        })
    }

    /// Which ledger this is.
    pub fn kind(&self) -> BackendKind {
        self.kind
    }

    /// The ledger.
    pub fn ledger(&self) -> Arc<dyn Ledger> {
        self.ledger.clone()
    }

    /// The JSON-RPC endpoint, for the node and anvil backends.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// The process id of the node, for the node and anvil backends (e.g. to read its memory).
    pub fn pid(&self) -> Option<u32> {
        self._node
            .as_ref()
            .map(Node::pid)
            .or_else(|| self._anvil.as_ref().map(Anvil::pid))
    }

    /// Funds `address` on chains that charge for gas (nothing to do on the others).
    pub async fn fund(&self, address: alloy_primitives::Address) -> Result<()> {
        if let Some(funder) = &self.funder {
            funder.transfer(address, U256::from(FUNDING_WEI)).await?;
        }
        Ok(())
    }

    /// A wallet for `signer`, funded first on chains that charge for gas.
    pub async fn wallet(&self, signer: PrivateKeySigner) -> Result<Wallet> {
        let wallet = Wallet::new(self.ledger.clone(), signer).await?;
        if let Some(funder) = &self.funder {
            funder
                .transfer(wallet.address(), U256::from(FUNDING_WEI))
                .await?;
        }
        Ok(wallet)
    }
}
