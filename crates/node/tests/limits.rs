//! What `medshare node` refuses from a stranger before doing the work: oversized bodies, batches
//! and `eth_feeHistory` tables. Each is sent as a client would send it, over plain HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::{net::SocketAddr, sync::Arc};

use alloy_eips::BlockNumberOrTag;
use alloy_primitives::{U256, hex};
use alloy_provider::{Provider, RootProvider};
use common::node;
use medshare_ledger::{
    Error, Filter, Ledger, MAX_LOGS, logs_paged, rpc::RpcLedger, wallet::Wallet,
};
use medshare_node::server::{MAX_BATCH_REQUESTS, MAX_FEE_HISTORY_PERCENTILES};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Creation code of a contract that emits as many empty `LOG0`s as the 32-byte number it is
/// called with (hand-assembled: a loop of `LOG0`, then `STOP`).
const LOGGER: &str = "6016600c60003960166000f3\
                      6000355b8015601457600080a0600190036003565b00";

/// POSTs `body` as JSON; the HTTP status and the response body.
async fn post(address: SocketAddr, body: &[u8]) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server may answer (413) and close before it has read a body it refuses.
    let _ = stream.write_all(body).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("an HTTP status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn batch(n: u32) -> Vec<u8> {
    let calls: Vec<serde_json::Value> = (0..n)
        .map(|id| serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "eth_chainId", "params": []}))
        .collect();
    serde_json::to_vec(&calls).unwrap()
}

#[tokio::test]
async fn a_batch_over_the_limit_is_refused_whole() {
    let node = node().await;
    let server = &node.server;
    let (status, body) = post(server.address(), &batch(MAX_BATCH_REQUESTS)).await;
    assert_eq!(status, 200, "{body}");
    let answers: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(answers.len(), MAX_BATCH_REQUESTS as usize);
    assert!(answers.iter().all(|a| a["result"].is_string()));

    let (_, body) = post(server.address(), &batch(MAX_BATCH_REQUESTS + 1)).await;
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        answer.is_object(),
        "one error, not {MAX_BATCH_REQUESTS} answers"
    );
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.to_lowercase().contains("batch"), "{message}");
}

#[tokio::test]
async fn a_body_over_32_mib_is_refused_before_it_is_parsed() {
    let node = node().await;
    let server = &node.server;
    let mut body = br#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[""#.to_vec();
    body.resize(body.len() + 33 * 1024 * 1024, b'a');
    body.extend_from_slice(br#""]}"#);
    let (status, _) = post(server.address(), &body).await;
    assert_eq!(status, 413, "payload too large");
    // The server still answers.
    let (status, body) = post(server.address(), &batch(1)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn fee_history_refuses_too_many_or_unordered_percentiles() {
    let node = node().await;
    let server = &node.server;
    let provider: RootProvider = RootProvider::new_http(server.endpoint().parse().unwrap());
    let ok: Vec<f64> = (0..MAX_FEE_HISTORY_PERCENTILES).map(|i| i as f64).collect();
    let history = provider
        .get_fee_history(1024, BlockNumberOrTag::Latest, &ok)
        .await
        .unwrap();
    assert!(
        history
            .reward
            .unwrap()
            .iter()
            .all(|r| r.len() == MAX_FEE_HISTORY_PERCENTILES)
    );

    let too_many: Vec<f64> = (0..=MAX_FEE_HISTORY_PERCENTILES)
        .map(|i| i as f64 * 0.99)
        .collect();
    let err = provider
        .get_fee_history(1024, BlockNumberOrTag::Latest, &too_many)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("at most 100"), "{err}");

    for bad in [vec![50.0, 10.0], vec![-1.0], vec![101.0]] {
        let err = provider
            .get_fee_history(4, BlockNumberOrTag::Latest, &bad)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid reward percentile"), "{bad:?}: {err}");
    }
}

/// A log query over many blocks that matches more than `MAX_LOGS` is refused with the
/// "limit exceeded" error, over one block it is answered whatever its count, and a client that
/// narrows its range on that error (`logs_paged`) gets every log, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_query_over_the_limit_is_refused_and_paged_queries_get_every_log() {
    let node = node().await;
    let (server, chain) = (&node.server, &node.chain);
    let wallet = Wallet::new(Arc::new(chain.clone()), node.funded.clone())
        .await
        .unwrap();
    let (logger, _) = wallet.deploy(hex::decode(LOGGER).unwrap()).await.unwrap();
    let per_block = MAX_LOGS / 2 + 1000;
    let mut blocks = Vec::new();
    for _ in 0..3 {
        let receipt = wallet
            .send(medshare_ledger::wallet::Call::new(
                logger,
                U256::from(per_block).to_be_bytes::<32>().to_vec(),
            ))
            .await
            .unwrap();
        blocks.push(receipt.block_number.unwrap());
    }
    let remote = RpcLedger::connect(&server.endpoint()).unwrap();
    let all = Filter::new()
        .address(logger)
        .from_block(blocks[0])
        .to_block(blocks[2]);
    for ledger in [chain as &dyn Ledger, &remote] {
        let err = ledger.logs(&all).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::TooManyLogs {
                    limit: MAX_LOGS,
                    ..
                }
            ),
            "{err}"
        );
        // One block: answered, although over the limit with the next one.
        let one = Filter::new()
            .address(logger)
            .from_block(blocks[1])
            .to_block(blocks[1]);
        assert_eq!(ledger.logs(&one).await.unwrap().len(), per_block);
        let paged = logs_paged(ledger, &all).await.unwrap();
        assert_eq!(paged.len(), 3 * per_block);
        let order: Vec<(u64, u64)> = paged
            .iter()
            .map(|l| (l.block_number.unwrap(), l.log_index.unwrap()))
            .collect();
        assert!(order.is_sorted(), "in block order");
    }
}
