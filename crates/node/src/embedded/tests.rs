//! Tests of the embedded chain, with hand-written contracts (no dependency on medshare's).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::BTreeSet, path::Path};

use alloy_consensus::{
    SignableTransaction, TxEip1559, TxEnvelope, TxLegacy,
    proofs::{calculate_receipt_root, calculate_transaction_root},
};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, Signature, TxKind, U256, b256, hex};
use alloy_rpc_types_eth::{BlockTransactions, Filter, TransactionReceipt, TransactionRequest};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use redb::ReadableTable;
use tempfile::TempDir;

use super::{
    ChainConfig, EmbeddedChain, OpenStep,
    tables::{BLOCK_NUMBERS, BLOCKS, BlockRow},
    verify::DB_FILE,
};
use crate::{Error, Ledger};

/// topic0 of the store contract's log.
const STORED: B256 = b256!("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");

/// Runtime of the "store" contract. With calldata: `slot0 = word; LOG2(data = word, STORED,
/// word)`. Without: returns slot 0.
pub(super) fn store_runtime() -> Vec<u8> {
    let mut code = hex!("36600f5760005460005260206000f35b60003580600055806000527f").to_vec();
    code.extend_from_slice(STORED.as_slice());
    code.extend_from_slice(&hex!("60206000a200"));
    code
}

/// Runtime of the "reverter": `revert(0xdeadbeef)`.
fn reverter_runtime() -> Vec<u8> {
    hex!("63deadbeef60e01b60005260046000fd").to_vec()
}

/// Initcode that deploys `runtime` (< 256 bytes): CODECOPY it to memory and RETURN it.
pub(super) fn initcode(runtime: &[u8]) -> Bytes {
    let len = u8::try_from(runtime.len()).unwrap();
    let mut code = vec![
        0x60, len, 0x80, 0x60, 11, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3,
    ];
    code.extend_from_slice(runtime);
    code.into()
}

pub(super) fn word(n: u64) -> B256 {
    B256::from(U256::from(n))
}

pub(super) fn sign(signer: &PrivateKeySigner, tx: TxEip1559) -> Bytes {
    let sig = signer.sign_hash_sync(&tx.signature_hash()).unwrap();
    let env: TxEnvelope = tx.into_signed(sig).into();
    env.encoded_2718().into()
}

pub(super) fn tx(nonce: u64, to: TxKind, input: Bytes, gas_limit: u64) -> TxEip1559 {
    TxEip1559 {
        chain_id: 1337,
        nonce,
        gas_limit,
        max_fee_per_gas: 0,
        max_priority_fee_per_gas: 0,
        to,
        value: U256::ZERO,
        access_list: Default::default(),
        input,
    }
}

struct Node {
    dir: TempDir,
    sealer: PrivateKeySigner,
    user: PrivateKeySigner,
    chain: EmbeddedChain,
}

impl Node {
    fn config(sealer: &PrivateKeySigner, user: &PrivateKeySigner) -> ChainConfig {
        ChainConfig::new(sealer.clone())
            .with_balance(user.address(), U256::from(10u64).pow(U256::from(21)))
    }

    fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let sealer = PrivateKeySigner::random();
        let user = PrivateKeySigner::random();
        let chain = EmbeddedChain::open(dir.path(), Self::config(&sealer, &user)).unwrap();
        Self {
            dir,
            sealer,
            user,
            chain,
        }
    }

    fn reopen(self) -> Self {
        let Self {
            dir,
            sealer,
            user,
            chain,
        } = self;
        drop(chain);
        let chain = EmbeddedChain::open(dir.path(), Self::config(&sealer, &user)).unwrap();
        Self {
            dir,
            sealer,
            user,
            chain,
        }
    }

    async fn send(&self, t: TxEip1559) -> TransactionReceipt {
        let hash = self
            .chain
            .send_raw_transaction(sign(&self.user, t))
            .await
            .unwrap();
        self.chain.wait_for_receipt(hash).await.unwrap()
    }

    async fn deploy(&self, runtime: &[u8]) -> Address {
        let nonce = self.chain.pending_nonce(self.user.address()).unwrap();
        let r = self
            .send(tx(nonce, TxKind::Create, initcode(runtime), 200_000))
            .await;
        assert!(r.status(), "deployment failed");
        r.contract_address.unwrap()
    }

    async fn store(&self, contract: Address, value: B256) -> TransactionReceipt {
        let nonce = self.chain.pending_nonce(self.user.address()).unwrap();
        self.send(tx(
            nonce,
            TxKind::Call(contract),
            value.0.to_vec().into(),
            100_000,
        ))
        .await
    }

    async fn read_slot0(&self, contract: Address) -> Result<Bytes, Error> {
        self.chain
            .call(&TransactionRequest::default().to(contract))
            .await
    }
}

#[tokio::test]
async fn deploy_call_and_state_survive_reopen() {
    let node = Node::new();
    let contract = node.deploy(&store_runtime()).await;
    assert_eq!(
        node.chain.code(contract).await.unwrap(),
        Bytes::from(store_runtime())
    );
    let r = node.store(contract, word(42)).await;
    assert!(r.status());
    assert_eq!(
        node.read_slot0(contract).await.unwrap(),
        Bytes::from(word(42).0.to_vec())
    );

    let tip = node.chain.block_number().await.unwrap();
    let tip_block = node.chain.block(tip).await.unwrap().unwrap();
    let nonce = node.chain.nonce(node.user.address()).await.unwrap();
    assert_eq!(nonce, 2);

    let node = node.reopen();
    assert_eq!(node.chain.block_number().await.unwrap(), tip);
    assert_eq!(node.chain.block(tip).await.unwrap().unwrap(), tip_block);
    assert_eq!(node.chain.nonce(node.user.address()).await.unwrap(), nonce);
    assert_eq!(
        node.chain.code(contract).await.unwrap(),
        Bytes::from(store_runtime())
    );
    assert_eq!(
        node.read_slot0(contract).await.unwrap(),
        Bytes::from(word(42).0.to_vec())
    );
    assert_eq!(
        node.chain
            .receipt(r.transaction_hash)
            .await
            .unwrap()
            .unwrap(),
        r
    );

    // The chain continues from the stored tip.
    let r2 = node.store(contract, word(7)).await;
    assert_eq!(r2.block_number, Some(tip + 1));
    let next = node.chain.block(tip + 1).await.unwrap().unwrap();
    assert_eq!(next.header.parent_hash, tip_block.header.hash);
    assert_eq!(
        node.read_slot0(contract).await.unwrap(),
        Bytes::from(word(7).0.to_vec())
    );

    // Storing zero deletes the slot; reading still yields zero after reopening.
    node.store(contract, B256::ZERO).await;
    let node = node.reopen();
    assert_eq!(
        node.read_slot0(contract).await.unwrap(),
        Bytes::from(vec![0u8; 32])
    );
}

#[tokio::test]
async fn receipts_blocks_and_transactions_match_alloy_types() {
    let node = Node::new();
    let contract = node.deploy(&store_runtime()).await;
    node.chain.hold_sealer(true);
    let raws: Vec<Bytes> = (0..3)
        .map(|i| {
            sign(
                &node.user,
                tx(
                    1 + i,
                    TxKind::Call(contract),
                    word(100 + i).0.to_vec().into(),
                    100_000,
                ),
            )
        })
        .collect();
    let hashes = node.chain.send_raw_transactions(raws).await.unwrap();
    // Queued, not sealed: no receipt yet.
    assert!(node.chain.receipt(hashes[0]).await.unwrap().is_none());
    node.chain.hold_sealer(false);
    let mut receipts = Vec::new();
    for h in &hashes {
        receipts.push(node.chain.wait_for_receipt(*h).await.unwrap());
    }
    let number = receipts[0].block_number.unwrap();
    let block = node.chain.block(number).await.unwrap().unwrap();
    assert_eq!(
        node.chain
            .block_by_hash(block.header.hash)
            .await
            .unwrap()
            .unwrap(),
        block
    );
    assert_eq!(block.header.hash, block.header.inner.hash_slow());
    assert_eq!(
        block.header.parent_hash,
        node.chain
            .block(number - 1)
            .await
            .unwrap()
            .unwrap()
            .header
            .hash
    );
    assert_eq!(block.header.base_fee_per_gas, Some(0));
    assert_eq!(
        block.transactions,
        BlockTransactions::Hashes(hashes.clone())
    );

    let mut cumulative = 0;
    for (i, r) in receipts.iter().enumerate() {
        assert!(r.status());
        assert_eq!(r.transaction_hash, hashes[i]);
        assert_eq!(r.transaction_index, Some(i as u64));
        assert_eq!(r.block_hash, Some(block.header.hash));
        assert_eq!(r.from, node.user.address());
        assert_eq!(r.to, Some(contract));
        assert_eq!(r.contract_address, None);
        assert_eq!(r.effective_gas_price, 0);
        assert!(r.gas_used > 21_000);
        cumulative += r.gas_used;
        assert_eq!(r.inner.cumulative_gas_used(), cumulative);
        let logs = r.inner.logs();
        assert_eq!(logs.len(), 1);
        let log = &logs[0];
        assert_eq!(log.address(), contract);
        assert_eq!(log.topics(), &[STORED, word(100 + i as u64)]);
        assert_eq!(
            log.data().data,
            Bytes::from(word(100 + i as u64).0.to_vec())
        );
        assert_eq!(log.block_number, Some(number));
        assert_eq!(log.block_hash, Some(block.header.hash));
        assert_eq!(log.transaction_hash, Some(hashes[i]));
        assert_eq!(log.transaction_index, Some(i as u64));
        // One log per transaction: the block-wide log index equals the transaction index.
        assert_eq!(log.log_index, Some(i as u64));
        assert!(
            r.inner
                .logs_bloom()
                .contains_input(alloy_primitives::BloomInput::Raw(contract.as_slice()))
        );

        // What a JSON-RPC client would read back.
        let json = serde_json::to_value(r).unwrap();
        assert_eq!(json["status"], "0x1");
        assert_eq!(json["blockNumber"], format!("{number:#x}"));
        let back: TransactionReceipt = serde_json::from_value(json).unwrap();
        assert_eq!(&back, r);

        let t = node.chain.transaction(hashes[i]).await.unwrap().unwrap();
        assert_eq!(t.inner.signer(), node.user.address());
        assert_eq!(t.block_number, Some(number));
        assert_eq!(t.transaction_index, Some(i as u64));
        assert_eq!(*t.inner.inner().tx_hash(), hashes[i]);
    }
    assert_eq!(block.header.gas_used, cumulative);

    // The header commits to exactly these transactions and receipts.
    let envelopes: Vec<TxEnvelope> = {
        let mut v = Vec::new();
        for h in &hashes {
            v.push(
                node.chain
                    .transaction(*h)
                    .await
                    .unwrap()
                    .unwrap()
                    .inner
                    .into_inner(),
            );
        }
        v
    };
    assert_eq!(
        block.header.transactions_root,
        calculate_transaction_root(&envelopes)
    );
    let consensus: Vec<_> = receipts
        .iter()
        .map(|r| r.inner.clone().map_logs(|l| l.inner))
        .collect();
    assert_eq!(
        block.header.receipts_root,
        calculate_receipt_root(&consensus)
    );

    // A deployment receipt carries the contract address.
    let first = node.chain.block(1).await.unwrap().unwrap();
    let BlockTransactions::Hashes(first_txs) = first.transactions else {
        panic!("hashes")
    };
    let deploy = node.chain.receipt(first_txs[0]).await.unwrap().unwrap();
    assert_eq!(deploy.contract_address, Some(contract));
    assert_eq!(deploy.to, None);

    let json = serde_json::to_value(&block).unwrap();
    let back: alloy_rpc_types_eth::Block = serde_json::from_value(json).unwrap();
    assert_eq!(back, block);
}

#[tokio::test]
async fn get_logs_filters_by_topic_address_and_range() {
    let node = Node::new();
    let contract = node.deploy(&store_runtime()).await;
    let other = node.deploy(&store_runtime()).await;
    let a = node.store(contract, word(1)).await;
    let b = node.store(contract, word(2)).await;
    let c = node.store(contract, word(1)).await;
    let d = node.store(other, word(1)).await;
    let e = node.store(contract, word(3)).await;
    let hashes = |logs: Vec<crate::Log>| -> Vec<B256> {
        logs.into_iter()
            .map(|l| l.transaction_hash.unwrap())
            .collect()
    };
    let all = Filter::new().from_block(0u64);

    let got = hashes(node.chain.logs(&all.clone().topic1(word(1))).await.unwrap());
    assert_eq!(
        got,
        vec![a.transaction_hash, c.transaction_hash, d.transaction_hash]
    );

    let got = hashes(
        node.chain
            .logs(&all.clone().address(contract).topic1(word(1)))
            .await
            .unwrap(),
    );
    assert_eq!(got, vec![a.transaction_hash, c.transaction_hash]);

    let got = hashes(
        node.chain
            .logs(&all.clone().topic1(vec![word(2), word(3)]))
            .await
            .unwrap(),
    );
    assert_eq!(got, vec![b.transaction_hash, e.transaction_hash]);

    let got = hashes(node.chain.logs(&all.clone().address(other)).await.unwrap());
    assert_eq!(got, vec![d.transaction_hash]);

    let got = node
        .chain
        .logs(&all.clone().event_signature(STORED))
        .await
        .unwrap();
    assert_eq!(got.len(), 5);
    let got = node.chain.logs(&all.clone()).await.unwrap();
    assert_eq!(got.len(), 5);

    // Topics are positional: the event signature is not topic 1, and no log has a topic 2.
    assert!(
        node.chain
            .logs(&all.clone().topic1(STORED))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        node.chain
            .logs(&all.clone().topic2(word(1)))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        node.chain
            .logs(&all.clone().event_signature(word(1)))
            .await
            .unwrap()
            .is_empty()
    );

    // Block ranges and block hashes restrict the result.
    let (cb, db) = (c.block_number.unwrap(), d.block_number.unwrap());
    let ranged = Filter::new().from_block(cb).to_block(db).topic1(word(1));
    assert_eq!(
        hashes(node.chain.logs(&ranged).await.unwrap()),
        vec![c.transaction_hash, d.transaction_hash]
    );
    let at = Filter::new().at_block_hash(b.block_hash.unwrap());
    assert_eq!(
        hashes(node.chain.logs(&at).await.unwrap()),
        vec![b.transaction_hash]
    );
    // No from block means latest only.
    let latest = Filter::new().topic1(vec![word(1), word(3)]);
    assert_eq!(
        hashes(node.chain.logs(&latest).await.unwrap()),
        vec![e.transaction_hash]
    );
    assert!(matches!(
        node.chain
            .logs(&Filter::new().at_block_hash(B256::repeat_byte(9)))
            .await,
        Err(Error::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn rejects_bad_transactions_before_they_land() {
    let node = Node::new();
    let user = &node.user;
    let to = TxKind::Call(Address::repeat_byte(0x11));
    let start = node.chain.block_number().await.unwrap();
    let expect_rejected = |res: Result<B256, Error>, needle: &str| match res {
        Err(Error::Rejected(msg)) => assert!(msg.contains(needle), "{msg:?} lacks {needle:?}"),
        other => panic!("expected a rejection containing {needle:?}, got {other:?}"),
    };

    let wrong_chain = TxEip1559 {
        chain_id: 1,
        ..tx(0, to, Bytes::new(), 21_000)
    };
    expect_rejected(
        node.chain
            .send_raw_transaction(sign(user, wrong_chain))
            .await,
        "wrong chain id",
    );

    expect_rejected(
        node.chain
            .send_raw_transaction(sign(user, tx(1, to, Bytes::new(), 21_000)))
            .await,
        "nonce too high: expected 0, got 1",
    );
    expect_rejected(
        node.chain
            .send_raw_transaction(sign(user, tx(0, to, Bytes::new(), 30_000_001)))
            .await,
        "exceeds the block gas limit",
    );
    expect_rejected(
        node.chain
            .send_raw_transaction(sign(user, tx(0, to, Bytes::new(), 20_000)))
            .await,
        "intrinsic gas too low",
    );

    // A malleated (high-s) signature: mathematically valid, refused by EIP-2.
    let t = tx(0, to, Bytes::new(), 21_000);
    let sig = user.sign_hash_sync(&t.signature_hash()).unwrap();
    let n = U256::from_be_slice(&hex!(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141"
    ));
    let high_s = Signature::new(sig.r(), n - sig.s(), !sig.v());
    let env: TxEnvelope = t.clone().into_signed(high_s).into();
    expect_rejected(
        node.chain
            .send_raw_transaction(env.encoded_2718().into())
            .await,
        "invalid signature",
    );
    let env: TxEnvelope = t
        .into_signed(Signature::new(U256::ZERO, sig.s(), sig.v()))
        .into();
    expect_rejected(
        node.chain
            .send_raw_transaction(env.encoded_2718().into())
            .await,
        "invalid signature",
    );

    // Pre-EIP-155 legacy transactions (no chain id) are refused; EIP-155 ones are accepted.
    let legacy = |chain_id| TxLegacy {
        chain_id,
        nonce: 0,
        gas_price: 0,
        gas_limit: 21_000,
        to,
        value: U256::ZERO,
        input: Bytes::new(),
    };
    let sign_legacy = |t: TxLegacy| -> Bytes {
        let sig = user.sign_hash_sync(&t.signature_hash()).unwrap();
        TxEnvelope::from(t.into_signed(sig)).encoded_2718().into()
    };
    expect_rejected(
        node.chain
            .send_raw_transaction(sign_legacy(legacy(None)))
            .await,
        "chain id",
    );
    assert_eq!(
        node.chain.block_number().await.unwrap(),
        start,
        "a rejected transaction landed"
    );

    let ok = node
        .chain
        .send_raw_transaction(sign_legacy(legacy(Some(1337))))
        .await
        .unwrap();
    let r = node.chain.wait_for_receipt(ok).await.unwrap();
    assert!(r.status());
    assert_eq!(
        node.chain
            .transaction(ok)
            .await
            .unwrap()
            .unwrap()
            .inner
            .signer(),
        user.address()
    );

    expect_rejected(
        node.chain
            .send_raw_transaction(sign(user, tx(0, to, Bytes::new(), 21_000)))
            .await,
        "nonce too low: expected 1, got 0",
    );
    // Queued transactions count: the next nonce is accepted before the previous one is sealed.
    node.chain.hold_sealer(true);
    let h1 = node
        .chain
        .send_raw_transaction(sign(user, tx(1, to, Bytes::new(), 21_000)))
        .await
        .unwrap();
    let h2 = node
        .chain
        .send_raw_transaction(sign(user, tx(2, to, Bytes::new(), 21_000)))
        .await
        .unwrap();
    expect_rejected(
        node.chain
            .send_raw_transaction(sign(user, tx(2, to, Bytes::new(), 21_000)))
            .await,
        "already known",
    );
    expect_rejected(
        node.chain
            .send_raw_transaction(sign(user, tx(4, to, Bytes::new(), 21_000)))
            .await,
        "nonce too high: expected 3, got 4",
    );
    assert_eq!(node.chain.pending_nonce(user.address()).unwrap(), 3);
    node.chain.hold_sealer(false);
    node.chain.wait_for_receipt(h1).await.unwrap();
    node.chain.wait_for_receipt(h2).await.unwrap();
    assert_eq!(node.chain.nonce(user.address()).await.unwrap(), 3);
    assert!(matches!(
        node.chain.wait_for_receipt(B256::repeat_byte(1)).await,
        Err(Error::Rejected(_))
    ));
}

#[tokio::test]
async fn a_batch_is_all_or_nothing() {
    let node = Node::new();
    let to = TxKind::Call(Address::repeat_byte(0x11));
    let good = sign(&node.user, tx(0, to, Bytes::new(), 21_000));
    let gap = sign(&node.user, tx(2, to, Bytes::new(), 21_000));
    assert!(matches!(
        node.chain
            .send_raw_transactions(vec![good.clone(), gap])
            .await,
        Err(Error::Rejected(_))
    ));
    assert_eq!(node.chain.pending_nonce(node.user.address()).unwrap(), 0);
    let hashes = node.chain.send_raw_transactions(vec![good]).await.unwrap();
    assert!(
        node.chain
            .wait_for_receipt(hashes[0])
            .await
            .unwrap()
            .status()
    );
}

#[tokio::test]
async fn revert_data_surfaces_and_reverting_transactions_land_with_status_zero() {
    let node = Node::new();
    let reverter = node.deploy(&reverter_runtime()).await;
    let req = TransactionRequest::default()
        .from(node.user.address())
        .to(reverter);
    match node.chain.call(&req).await {
        Err(Error::Reverted { data }) => assert_eq!(data, Bytes::from(hex!("deadbeef").to_vec())),
        other => panic!("expected a revert, got {other:?}"),
    }
    match node.chain.estimate_gas(&req).await {
        Err(Error::Reverted { data }) => assert_eq!(data, Bytes::from(hex!("deadbeef").to_vec())),
        other => panic!("expected a revert, got {other:?}"),
    }
    let r = node
        .send(tx(1, TxKind::Call(reverter), Bytes::new(), 100_000))
        .await;
    assert!(!r.status());
    assert!(r.block_number.is_some());
    assert_eq!(node.chain.nonce(node.user.address()).await.unwrap(), 2);

    // estimate_gas gives a limit that suffices on chain, and not much more than is used.
    let store = node.deploy(&store_runtime()).await;
    let call = TransactionRequest::default()
        .from(node.user.address())
        .to(store)
        .input(word(5).0.to_vec().into());
    let estimate = node.chain.estimate_gas(&call).await.unwrap();
    let r = node
        .send(tx(
            3,
            TxKind::Call(store),
            word(5).0.to_vec().into(),
            estimate,
        ))
        .await;
    assert!(r.status());
    assert!(
        estimate >= r.gas_used && estimate <= r.gas_used * 11 / 10,
        "{estimate} vs {}",
        r.gas_used
    );
}

#[tokio::test]
async fn transaction_refused_when_sealed_is_dropped_and_reported() {
    let sealer = PrivateKeySigner::random();
    let user = PrivateKeySigner::random();
    let dir = TempDir::new().unwrap();
    let config = ChainConfig::new(sealer).with_balance(user.address(), U256::from(1000));
    let chain = EmbeddedChain::open(dir.path(), config).unwrap();
    let to = TxKind::Call(Address::repeat_byte(0x22));
    let spend = |nonce, value| TxEip1559 {
        value: U256::from(value),
        ..tx(nonce, to, Bytes::new(), 21_000)
    };
    // Both pass admission against the committed balance; the second cannot pay once the first ran.
    chain.hold_sealer(true);
    let h0 = chain
        .send_raw_transaction(sign(&user, spend(0, 1000)))
        .await
        .unwrap();
    let h1 = chain
        .send_raw_transaction(sign(&user, spend(1, 1)))
        .await
        .unwrap();
    chain.hold_sealer(false);
    assert!(chain.wait_for_receipt(h0).await.unwrap().status());
    match chain.wait_for_receipt(h1).await {
        Err(Error::Rejected(msg)) => assert!(msg.contains("dropped"), "{msg}"),
        other => panic!("expected the transaction to be dropped, got {other:?}"),
    }
    assert!(chain.receipt(h1).await.unwrap().is_none());
    assert_eq!(
        chain.balance(Address::repeat_byte(0x22)).await.unwrap(),
        U256::from(1000)
    );
    // The sender's nonce is back to what the state says.
    assert_eq!(chain.pending_nonce(user.address()).unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_lands_concurrent_submissions_in_one_block() {
    let node = Node::new();
    let contract = node.deploy(&store_runtime()).await;
    let before = node.chain.block_number().await.unwrap();
    // 100 senders submit concurrently while the sealer is held: one block takes them all.
    node.chain.hold_sealer(true);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100u64 {
        let chain = node.chain.clone();
        tasks.spawn(async move {
            let sender = PrivateKeySigner::random();
            let raw = sign(
                &sender,
                tx(
                    0,
                    TxKind::Call(contract),
                    word(i).0.to_vec().into(),
                    100_000,
                ),
            );
            chain.send_raw_transaction(raw).await.unwrap()
        });
    }
    let hashes: Vec<B256> = tasks.join_all().await;
    for h in &hashes {
        assert!(
            node.chain.receipt(*h).await.unwrap().is_none(),
            "visible before sealing"
        );
    }
    node.chain.hold_sealer(false);
    let mut blocks = BTreeSet::new();
    for h in &hashes {
        let r = node.chain.wait_for_receipt(*h).await.unwrap();
        assert!(r.status());
        blocks.insert(r.block_number.unwrap());
    }
    assert_eq!(blocks, BTreeSet::from([before + 1]));
    let block = node.chain.block(before + 1).await.unwrap().unwrap();
    assert_eq!(block.transactions.len(), 100);

    // Without holding: every submission still gets its receipt, in fewer blocks than txs.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100u64 {
        let chain = node.chain.clone();
        tasks.spawn(async move {
            let sender = PrivateKeySigner::random();
            let raw = sign(
                &sender,
                tx(
                    0,
                    TxKind::Call(contract),
                    word(i).0.to_vec().into(),
                    100_000,
                ),
            );
            let h = chain.send_raw_transaction(raw).await.unwrap();
            chain
                .wait_for_receipt(h)
                .await
                .unwrap()
                .block_number
                .unwrap()
        });
    }
    let blocks: BTreeSet<u64> = tasks.join_all().await.into_iter().collect();
    assert!(!blocks.is_empty());
    let total: usize = {
        let mut n = 0;
        for b in &blocks {
            n += node
                .chain
                .block(*b)
                .await
                .unwrap()
                .unwrap()
                .transactions
                .len();
        }
        n
    };
    assert_eq!(total, 100);
}

#[tokio::test]
async fn block_gas_limit_splits_a_batch_across_blocks() {
    let dir = TempDir::new().unwrap();
    let user = PrivateKeySigner::random();
    let config = ChainConfig::new(PrivateKeySigner::random()).with_block_gas_limit(50_000);
    let chain = EmbeddedChain::open(dir.path(), config).unwrap();
    let to = TxKind::Call(Address::repeat_byte(0x33));
    let raws = (0..5)
        .map(|n| {
            sign(
                &user,
                TxEip1559 {
                    ..tx(n, to, Bytes::new(), 21_000)
                },
            )
        })
        .collect();
    let hashes = chain.send_raw_transactions(raws).await.unwrap();
    let mut per_block = std::collections::BTreeMap::<u64, usize>::new();
    for h in hashes {
        let r = chain.wait_for_receipt(h).await.unwrap();
        *per_block.entry(r.block_number.unwrap()).or_default() += 1;
    }
    // Two 21,000-gas transactions fit in a 50,000-gas block, three do not.
    assert!(per_block.values().all(|n| *n <= 2), "{per_block:?}");
    assert_eq!(per_block.values().sum::<usize>(), 5);
}

/// Builds a small chain with some history and returns its node (closed) and directory.
async fn chain_with_history() -> (TempDir, PrivateKeySigner, PrivateKeySigner) {
    let node = Node::new();
    let contract = node.deploy(&store_runtime()).await;
    for i in 0..40 {
        node.store(contract, word(i)).await;
    }
    let Node {
        dir,
        sealer,
        user,
        chain,
    } = node;
    drop(chain);
    (dir, sealer, user)
}

pub(super) fn expect_corrupt(res: Result<EmbeddedChain, Error>, needle: &str) {
    match res {
        Err(Error::Corrupt { reason, .. }) => {
            assert!(
                reason.contains(needle),
                "reason {reason:?} lacks {needle:?}"
            );
        }
        other => panic!("expected Corrupt({needle}), got {other:?}"),
    }
}

/// A receipt is never ahead of the latest block: the moment a client can read a transaction's
/// receipt, `eth_blockNumber` names its block (a TEE host that read its debit's receipt and
/// then viewed the chain at the latest block once got a view without the debit). The window
/// was the time between the sealer's commit and its waking of the tip watch, so the test polls
/// for receipts as fast as it can over many blocks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_served_receipt_is_never_ahead_of_the_latest_block() {
    let node = Node::new();
    let contract = node.deploy(&store_runtime()).await;
    for i in 0..200u64 {
        let nonce = node.chain.pending_nonce(node.user.address()).unwrap();
        let hash = node
            .chain
            .send_raw_transaction(sign(
                &node.user,
                tx(
                    nonce,
                    TxKind::Call(contract),
                    word(i).0.to_vec().into(),
                    100_000,
                ),
            ))
            .await
            .unwrap();
        let receipt = loop {
            if let Some(r) = node.chain.receipt(hash).await.unwrap() {
                break r;
            }
            tokio::task::yield_now().await;
        };
        let latest = node.chain.block_number().await.unwrap();
        assert!(
            latest >= receipt.block_number.unwrap(),
            "receipt in block {:?}, latest block {latest}",
            receipt.block_number
        );
    }
}

/// Reopening reports its verification as it goes: every header, then every storage slot of
/// the recomputed state root, ending at the totals.
#[tokio::test]
async fn reopening_reports_its_progress() {
    let (dir, sealer, user) = chain_with_history().await;
    let steps = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = steps.clone();
    let config = Node::config(&sealer, &user)
        .with_open_progress(move |step| seen.lock().unwrap().push(step));
    let chain = EmbeddedChain::open(dir.path(), config).unwrap();
    let blocks = chain.block_number().await.unwrap() + 1;
    let steps = steps.lock().unwrap().clone();
    assert!(
        steps.contains(&OpenStep::Headers {
            done: blocks,
            total: blocks
        }),
        "{steps:?}"
    );
    // The contract's storage is read back into the state root.
    let last = steps.last().copied();
    assert!(
        matches!(last, Some(OpenStep::State { done, total }) if done == total && total >= 1),
        "{steps:?}"
    );
}

#[tokio::test]
async fn flipped_bytes_are_refused() {
    let (dir, sealer, user) = chain_with_history().await;
    let path = dir.path().join(DB_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    let len = bytes.len();
    for off in (len / 4..len * 3 / 4).step_by(512) {
        bytes[off] ^= 0x5a;
    }
    std::fs::write(&path, &bytes).unwrap();
    let res = EmbeddedChain::open(dir.path(), Node::config(&sealer, &user));
    let Err(e) = res else {
        panic!("a damaged store was opened")
    };
    assert!(matches!(e, Error::Corrupt { .. }), "{e}");
    println!("flipped bytes: {e}");
}

#[tokio::test]
async fn truncated_store_is_refused() {
    let (dir, sealer, user) = chain_with_history().await;
    let path = dir.path().join(DB_FILE);
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let res = EmbeddedChain::open(dir.path(), Node::config(&sealer, &user));
    let Err(e) = res else {
        panic!("a truncated store was opened")
    };
    assert!(matches!(e, Error::Corrupt { .. }), "{e}");
    println!("truncated: {e}");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    let res = EmbeddedChain::open(dir.path(), Node::config(&sealer, &user));
    assert!(matches!(res, Err(Error::Corrupt { .. })), "{res:?}");
}

/// Seals `row`'s header with `signer` (as the sealer does) and updates its hash.
pub(super) fn reseal(row: &mut BlockRow, signer: &PrivateKeySigner) {
    let sig = signer
        .sign_hash_sync(&medshare_light::header::seal_hash(&row.header))
        .unwrap();
    row.header.extra_data = medshare_light::header::sealed_extra_data(&sig);
    row.hash = row.header.hash_slow();
}

/// Rewrites block `n`'s row (`n = None`: the tip) through redb with `f`, keeping the hash index
/// consistent with the rewritten row, as a forger with write access to the file would.
fn tamper(dir: &Path, n: Option<u64>, f: impl FnOnce(&mut BlockRow)) {
    let db = redb::Database::open(dir.join(DB_FILE)).unwrap();
    let wtx = db.begin_write().unwrap();
    {
        let mut blocks = wtx.open_table(BLOCKS).unwrap();
        let n = n.unwrap_or_else(|| blocks.last().unwrap().unwrap().0.value());
        let mut row = BlockRow::decode(blocks.get(n).unwrap().unwrap().value()).unwrap();
        let old_hash = row.hash;
        f(&mut row);
        blocks.insert(n, row.encode().as_slice()).unwrap();
        let mut numbers = wtx.open_table(BLOCK_NUMBERS).unwrap();
        numbers.remove(&old_hash.0).unwrap();
        numbers.insert(&row.hash.0, n).unwrap();
    }
    wtx.commit().unwrap();
}

#[tokio::test]
async fn tampered_headers_are_refused() {
    let (dir, sealer, user) = chain_with_history().await;
    let open = || EmbeddedChain::open(dir.path(), Node::config(&sealer, &user));
    let pristine = std::fs::read(dir.path().join(DB_FILE)).unwrap();
    let restore = || std::fs::write(dir.path().join(DB_FILE), &pristine).unwrap();

    // A rewritten parent hash, re-sealed by the real key: the link breaks.
    tamper(dir.path(), Some(5), |row| {
        row.header.parent_hash = B256::repeat_byte(1);
        reseal(row, &sealer);
    });
    expect_corrupt(open(), "block 5: parent hash");
    restore();

    // A rewritten tip (no successor to break), sealed by another key.
    let mallory = PrivateKeySigner::random();
    tamper(dir.path(), None, |row| {
        row.header.gas_used += 1;
        reseal(row, &mallory);
    });
    expect_corrupt(open(), "its seal is not a signature by the sealer");
    restore();

    // The tip's seal replaced by garbage of the right length (the header is re-hashed).
    tamper(dir.path(), None, |row| {
        let mut extra = row.header.extra_data.to_vec();
        extra[40] ^= 0x55;
        row.header.extra_data = extra.into();
        row.hash = row.header.hash_slow();
    });
    expect_corrupt(open(), "its seal is not a signature by the sealer");
    restore();

    // The seal cut off a header (old-style header, extra data just the tag).
    tamper(dir.path(), None, |row| {
        row.header.extra_data = Bytes::from_static(b"medshare/v1");
        row.hash = row.header.hash_slow();
    });
    expect_corrupt(open(), "its seal is not a signature by the sealer");
    restore();

    // A tip resealed by the real key with another state root: no such trie root is stored.
    tamper(dir.path(), None, |row| {
        row.header.state_root = B256::repeat_byte(7);
        reseal(row, &sealer);
    });
    expect_corrupt(open(), "has no root node for its state root");
    restore();

    // A header changed without updating its hash.
    tamper(dir.path(), Some(11), |row| row.header.timestamp += 1);
    expect_corrupt(open(), "block 11: the stored hash is not its header's hash");
    restore();

    // A missing block.
    {
        let db = redb::Database::open(dir.path().join(DB_FILE)).unwrap();
        let wtx = db.begin_write().unwrap();
        wtx.open_table(BLOCKS).unwrap().remove(3).unwrap();
        wtx.commit().unwrap();
    }
    expect_corrupt(open(), "block 3 is missing");
    restore();

    let chain = open().unwrap();
    assert!(chain.block_number().await.unwrap() >= 41);
}

#[tokio::test]
async fn another_chain_id_sealer_or_genesis_is_refused() {
    let (dir, sealer, user) = chain_with_history().await;
    let mismatch = |res: Result<EmbeddedChain, Error>, needle: &str| match res {
        Err(Error::ChainMismatch { reason, .. }) => assert!(reason.contains(needle), "{reason}"),
        other => panic!("expected ChainMismatch, got {other:?}"),
    };
    mismatch(
        EmbeddedChain::open(
            dir.path(),
            Node::config(&sealer, &user).with_chain_id(31337),
        ),
        "chain id 1337",
    );
    mismatch(
        EmbeddedChain::open(dir.path(), Node::config(&PrivateKeySigner::random(), &user)),
        "sealing key",
    );
    mismatch(
        EmbeddedChain::open(
            dir.path(),
            Node::config(&sealer, &user).with_balance(Address::ZERO, U256::from(1)),
        ),
        "genesis",
    );
    // An empty allocation means "whatever the stored genesis says".
    let chain = EmbeddedChain::open(dir.path(), ChainConfig::new(sealer.clone())).unwrap();
    assert!(chain.balance(user.address()).await.unwrap() > U256::ZERO);
}

/// Durable throughput of simple store calls submitted in batches, and the time to reopen
/// (verify) the resulting chain. Prints; asserts only correctness.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark; run with --ignored --nocapture"]
async fn throughput_of_batched_transactions() {
    let node = Node::new();
    let contract = node.deploy(&store_runtime()).await;
    const SENDERS: usize = 20;
    const PER_SENDER: u64 = 100;
    const BATCH: usize = 200;
    let senders: Vec<PrivateKeySigner> = (0..SENDERS).map(|_| PrivateKeySigner::random()).collect();
    let mut raws = Vec::new();
    for n in 0..PER_SENDER {
        for (i, s) in senders.iter().enumerate() {
            let w = word(n * 1000 + i as u64 + 1);
            raws.push(sign(
                s,
                tx(n, TxKind::Call(contract), w.0.to_vec().into(), 60_000),
            ));
        }
    }
    let total = raws.len();
    let before = node.chain.block_number().await.unwrap();
    let start = std::time::Instant::now();
    let mut hashes = Vec::with_capacity(total);
    for chunk in raws.chunks(BATCH) {
        hashes.extend(
            node.chain
                .send_raw_transactions(chunk.to_vec())
                .await
                .unwrap(),
        );
    }
    for h in &hashes {
        assert!(node.chain.wait_for_receipt(*h).await.unwrap().status());
    }
    let elapsed = start.elapsed();
    let blocks = node.chain.block_number().await.unwrap() - before;
    println!(
        "{total} txs in batches of {BATCH}: {:.0} durable tx/s ({blocks} blocks, {:?})",
        total as f64 / elapsed.as_secs_f64(),
        elapsed
    );
    let t = std::time::Instant::now();
    let logs = node
        .chain
        .logs(&Filter::new().from_block(0u64).topic1(word(50_007)))
        .await
        .unwrap();
    println!(
        "one-topic log query: {} log(s) in {:?}",
        logs.len(),
        t.elapsed()
    );
    assert_eq!(logs.len(), 1);
}

/// Time to verify 10,000 headers on open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark; run with --ignored --nocapture"]
async fn verify_ten_thousand_headers() {
    let node = Node::new();
    let to = TxKind::Call(Address::repeat_byte(0x44));
    // One transaction per block: wait for each receipt before the next.
    for n in 0..10_000u64 {
        node.send(tx(n, to, Bytes::new(), 21_000)).await;
    }
    let Node {
        dir,
        sealer,
        user,
        chain,
    } = node;
    drop(chain);
    for verify_store_integrity in [false, true] {
        let config = ChainConfig {
            verify_store_integrity,
            ..Node::config(&sealer, &user)
        };
        let t = std::time::Instant::now();
        let chain = EmbeddedChain::open(dir.path(), config).unwrap();
        println!(
            "open + verify of {} headers (page checksums: {verify_store_integrity}): {:?}",
            chain.block_number().await.unwrap() + 1,
            t.elapsed()
        );
    }
}
