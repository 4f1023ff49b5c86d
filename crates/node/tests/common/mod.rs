//! A `medshare node` for the integration tests: the embedded chain in a temporary directory,
//! served on a free port of 127.0.0.1, with one funded account.

use std::{net::SocketAddr, sync::Arc};

use alloy_primitives::U256;
use alloy_signer_local::PrivateKeySigner;
use medshare_node::{
    embedded::{ChainConfig, EmbeddedChain},
    server::RpcServer,
};

pub(crate) struct Node {
    pub(crate) chain: EmbeddedChain,
    pub(crate) server: RpcServer,
    pub(crate) funded: PrivateKeySigner,
    _dir: tempfile::TempDir,
}

pub(crate) async fn node() -> Node {
    let dir = tempfile::tempdir().unwrap();
    let funded = PrivateKeySigner::random();
    let config = ChainConfig::new(PrivateKeySigner::random())
        .with_balance(funded.address(), U256::from(10).pow(U256::from(24)));
    let chain = EmbeddedChain::open(&dir.path().join("chain"), config).unwrap();
    let server = RpcServer::start(
        Arc::new(chain.clone()),
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .unwrap();
    Node {
        chain,
        server,
        funded,
        _dir: dir,
    }
}
