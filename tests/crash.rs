//! Durability: a `medshare node` killed with SIGKILL while several parties write to it loses no
//! transaction whose receipt it returned. Three rounds of write–kill–restart on one data
//! directory, killed at different moments; after every restart each receipt handed out in any
//! earlier round is still there, in the same block, and the header chain still verifies (the
//! node refuses to start on a store that does not).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use alloy_primitives::{Address, B256, U256};
use medshare_ledger::{
    Ledger,
    rpc::RpcLedger,
    wallet::{Call, Wallet},
};
use medshare_testkit::process::Node;
use std::{
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};

/// What a writer saw confirmed: transaction, block number, block hash.
type Confirmed = Arc<Mutex<Vec<(B256, u64, B256)>>>;

const WRITERS: usize = 4;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_medshare"))
}

/// Sends zero-value transfers from a fresh account until the node goes away, recording every
/// receipt the node returned.
async fn writer(endpoint: String, confirmed: Confirmed) {
    let ledger: Arc<dyn Ledger> = Arc::new(RpcLedger::connect(&endpoint).unwrap());
    let signer = alloy_signer_local::PrivateKeySigner::random();
    let Ok(wallet) = Wallet::new(ledger, signer).await else {
        return;
    };
    let wallet = wallet.with_receipt_timeout(Duration::from_secs(5));
    loop {
        let to = Address::random();
        match wallet.send(Call::transfer(to, U256::ZERO)).await {
            Ok(r) => confirmed.lock().unwrap().push((
                r.transaction_hash,
                r.block_number.expect("a mined receipt has a block number"),
                r.block_hash.expect("a mined receipt has a block hash"),
            )),
            // The node was killed: whatever was not confirmed may or may not have landed.
            Err(_) => return,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_returned_receipt_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let confirmed: Confirmed = Arc::default();
    let mut checked = 0;
    for round in 0..3u64 {
        let mut node = Node::spawn(bin(), dir.path(), &[]).unwrap();
        // Everything confirmed before this start is still there.
        verify(&node.endpoint(), &confirmed).await;

        let before = confirmed.lock().unwrap().len();
        let writers: Vec<_> = (0..WRITERS)
            .map(|_| tokio::spawn(writer(node.endpoint(), confirmed.clone())))
            .collect();
        // Let the writers get going, then kill at a different moment each round.
        tokio::time::sleep(Duration::from_millis(400 + 250 * round)).await;
        node.kill9();
        for w in writers {
            w.await.unwrap();
        }
        let after = confirmed.lock().unwrap().len();
        assert!(
            after > before,
            "round {round}: no transaction was confirmed before the kill"
        );
        checked = after;
    }
    let node = Node::spawn(bin(), dir.path(), &[]).unwrap();
    verify(&node.endpoint(), &confirmed).await;
    assert!(
        checked >= 3,
        "too few receipts to prove anything: {checked}"
    );
}

/// Every confirmed transaction has its receipt, in the block it was confirmed in.
async fn verify(endpoint: &str, confirmed: &Confirmed) {
    let ledger = RpcLedger::connect(endpoint).unwrap();
    let confirmed = confirmed.lock().unwrap().clone();
    for (tx, number, hash) in confirmed {
        let receipt =
            ledger.receipt(tx).await.unwrap().unwrap_or_else(|| {
                panic!("receipt of {tx} (block {number}) was returned, then lost")
            });
        assert_eq!(
            receipt.block_hash,
            Some(hash),
            "{tx} moved to another block"
        );
        assert!(receipt.status());
        let block = ledger
            .block(number)
            .await
            .unwrap()
            .expect("the block is there");
        assert_eq!(block.header.hash, hash, "block {number} changed");
    }
}
