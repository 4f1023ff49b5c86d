//! `eth_subscribe("newHeads")` over WebSocket, as `medshare node` serves it, and the
//! [`RpcLedger`] that waits for receipts through it instead of polling.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::{sync::Arc, time::Duration};

use alloy_primitives::{Address, U256};
use alloy_provider::{Provider, RootProvider};
use common::node;
use medshare_ledger::{Ledger, rpc::RpcLedger, wallet::Wallet};

/// A subscriber is sent each new block's header, in order, as the block is sealed.
#[tokio::test]
async fn new_heads_are_pushed_as_blocks_are_sealed() {
    let node = node().await;
    let provider: RootProvider = RootProvider::connect(&node.server.ws_endpoint())
        .await
        .unwrap();
    let mut heads = provider.subscribe_blocks().await.unwrap();
    let wallet = Wallet::new(Arc::new(node.chain.clone()), node.funded.clone())
        .await
        .unwrap();
    let start = node.chain.block_number().await.unwrap();
    for i in 1..=3u64 {
        let receipt = wallet
            .transfer(Address::repeat_byte(i as u8), U256::from(i))
            .await
            .unwrap();
        let header = tokio::time::timeout(Duration::from_secs(10), heads.recv())
            .await
            .expect("a header within 10 s")
            .unwrap();
        assert_eq!(header.number, start + i);
        assert_eq!(Some(header.number), receipt.block_number);
        assert_eq!(Some(header.hash), receipt.block_hash);
    }
}

/// Only `newHeads` is served: another kind is refused, not silently accepted.
#[tokio::test]
async fn other_subscriptions_are_refused() {
    let node = node().await;
    let provider: RootProvider = RootProvider::connect(&node.server.ws_endpoint())
        .await
        .unwrap();
    let err = provider
        .subscribe_logs(&alloy_rpc_types_eth::Filter::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("newHeads"), "{err}");
}

/// A wallet over a `ws://` RpcLedger sends and waits through the subscription; the same over
/// HTTP still works (by polling).
#[tokio::test]
async fn receipts_are_awaited_over_websocket_and_http() {
    let node = node().await;
    for endpoint in [node.server.ws_endpoint(), node.server.endpoint()] {
        let ledger: Arc<dyn Ledger> = Arc::new(RpcLedger::connect(&endpoint).unwrap());
        let wallet = Wallet::new(ledger.clone(), node.funded.clone())
            .await
            .unwrap();
        let to = Address::random();
        let receipt = wallet.transfer(to, U256::from(7)).await.unwrap();
        assert!(receipt.status(), "{endpoint}");
        assert_eq!(ledger.balance(to).await.unwrap(), U256::from(7));
    }
}

/// Every wait for a receipt shares one subscription: a ledger that waits for more receipts
/// than the node allows subscriptions on a connection (1,024) still gets each of them. (With a
/// subscription per wait, the 1,025th failed with "Too many subscriptions on the connection".)
#[tokio::test]
async fn many_waits_share_one_subscription() {
    let node = node().await;
    let ledger = RpcLedger::connect(&node.server.ws_endpoint()).unwrap();
    let wallet = Wallet::new(Arc::new(ledger.clone()), node.funded.clone())
        .await
        .unwrap();
    let receipt = wallet
        .transfer(Address::random(), U256::from(1))
        .await
        .unwrap();
    for _ in 0..1_100 {
        let again = ledger
            .wait_for_receipt(
                receipt.transaction_hash,
                Duration::from_millis(20),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
        assert_eq!(again.transaction_hash, receipt.transaction_hash);
    }
    // And a new transaction after all that is still awaited through it.
    let later = wallet
        .transfer(Address::random(), U256::from(2))
        .await
        .unwrap();
    assert!(later.status());
}

/// A node that is not there is a clear error naming it, not a hang.
#[tokio::test]
async fn an_unreachable_websocket_is_a_clear_error() {
    let ledger = RpcLedger::connect("ws://127.0.0.1:9").unwrap();
    let err = ledger.chain_id().await.unwrap_err();
    assert!(err.to_string().contains("127.0.0.1:9"), "{err}");
    assert!(RpcLedger::connect("ftp://127.0.0.1:9").is_err());
}
