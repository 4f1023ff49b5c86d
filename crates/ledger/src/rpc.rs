//! [`RpcLedger`]: any Ethereum node (anvil, geth, Besu, reth, `medshare node`) over JSON-RPC,
//! through alloy's provider, on HTTP or WebSocket.
//!
//! Over WebSocket (`ws://`), [`Ledger::wait_for_receipt`] checks for the receipt as each new
//! head arrives, through one `newHeads` subscription per ledger that every wait shares: no
//! polling delay, and no subscription per transaction (a node limits them per connection, and
//! dropping an alloy subscription does not end it on the node). Over HTTP it polls, starting at 1 ms and
//! doubling up to the caller's interval.

use crate::{
    Block, Error, Filter, Ledger, Log, Result, Transaction, TransactionReceipt, TransactionRequest,
};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_provider::{Provider, RootProvider, transport::TransportError};
use alloy_rpc_types_eth::EIP1186AccountProofResponse;
use std::{sync::Arc, time::Duration};
use tokio::sync::{OnceCell, watch};

/// A ledger reached over JSON-RPC (HTTP or WebSocket).
#[derive(Clone, Debug)]
pub struct RpcLedger {
    /// Made on first use for WebSocket (connecting is asynchronous); at once for HTTP.
    provider: Arc<OnceCell<RootProvider>>,
    endpoint: String,
    /// The endpoint is a WebSocket: subscriptions are available.
    pubsub: bool,
    /// The latest head number the node's `newHeads` subscription announced: subscribed on the
    /// first wait, shared by all. Its sender is gone once the subscription ended.
    heads: Arc<OnceCell<watch::Receiver<u64>>>,
}

impl RpcLedger {
    /// Connects to the node at `endpoint`: an `http://` or `https://` URL, or a `ws://` or
    /// `wss://` one (then receipts are awaited through a `newHeads` subscription). No request is
    /// made (and no socket opened) until the first call; use [`Ledger::chain_id`] to check the
    /// node answers.
    pub fn connect(endpoint: &str) -> Result<Self> {
        let invalid = |e: &dyn std::fmt::Display| {
            Error::InvalidRequest(format!("invalid node URL {endpoint:?}: {e}"))
        };
        let url: url::Url = endpoint.parse().map_err(|e| invalid(&e))?;
        let (provider, pubsub) = match url.scheme() {
            "http" | "https" => (OnceCell::new_with(Some(RootProvider::new_http(url))), false),
            "ws" | "wss" => (OnceCell::new(), true),
            other => {
                return Err(invalid(&format!(
                    "scheme {other:?}: use http(s):// or ws(s)://"
                )));
            }
        };
        Ok(Self {
            provider: Arc::new(provider),
            endpoint: endpoint.to_owned(),
            pubsub,
            heads: Arc::new(OnceCell::new()),
        })
    }

    /// A receiver of new heads, subscribing on first use: a task forwards each head the node
    /// announces (or a wake-up when some were missed) until the subscription ends.
    async fn heads(&self) -> Result<watch::Receiver<u64>> {
        let heads = self
            .heads
            .get_or_try_init(|| async {
                let mut subscription = self
                    .provider()
                    .await?
                    .subscribe_blocks()
                    .await
                    .map_err(map_err(&self.endpoint, false))?;
                let (tx, rx) = watch::channel(0);
                tokio::spawn(async move {
                    use tokio::sync::broadcast::error::RecvError;
                    loop {
                        match subscription.recv().await {
                            Ok(header) => tx.send_modify(|n| *n = header.number),
                            Err(RecvError::Lagged(_)) => tx.send_modify(|_| {}),
                            Err(RecvError::Closed) => break,
                        }
                    }
                });
                Ok::<_, Error>(rx)
            })
            .await?;
        Ok(heads.clone())
    }

    /// The provider, connecting a WebSocket on first use.
    async fn provider(&self) -> Result<&RootProvider> {
        self.provider
            .get_or_try_init(|| async {
                RootProvider::connect(&self.endpoint)
                    .await
                    .map_err(|e| Error::Rpc(format!("{}: cannot connect: {e}", self.endpoint)))
            })
            .await
    }

    /// The URL this ledger talks to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

/// Maps a transport error to the ledger's error: a JSON-RPC error whose message says "revert"
/// (code 3 on geth, anvil, reth and `medshare node`) becomes [`Error::Reverted`] with its data;
/// other node-side errors become [`Error::Rejected`] for sends and [`Error::Rpc`] otherwise.
fn map_err(endpoint: &str, sending: bool) -> impl Fn(TransportError) -> Error + '_ {
    move |e| match &e {
        TransportError::ErrorResp(payload) => {
            if let Some(data) = payload.as_revert_data() {
                Error::Reverted { data }
            } else if payload.message.contains("revert") {
                Error::Reverted { data: Bytes::new() }
            } else if sending {
                Error::Rejected(payload.message.to_string())
            } else {
                Error::Rpc(format!(
                    "{endpoint}: {} (code {})",
                    payload.message, payload.code
                ))
            }
        }
        _ => Error::Rpc(format!("{endpoint}: {e}")),
    }
}

#[async_trait::async_trait]
impl Ledger for RpcLedger {
    async fn chain_id(&self) -> Result<u64> {
        self.provider()
            .await?
            .get_chain_id()
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn block_number(&self) -> Result<u64> {
        self.provider()
            .await?
            .get_block_number()
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn nonce(&self, address: Address) -> Result<u64> {
        self.provider()
            .await?
            .get_transaction_count(address)
            .latest()
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn pending_nonce(&self, address: Address) -> Result<u64> {
        self.provider()
            .await?
            .get_transaction_count(address)
            .pending()
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn balance(&self, address: Address) -> Result<U256> {
        self.provider()
            .await?
            .get_balance(address)
            .latest()
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn code(&self, address: Address) -> Result<Bytes> {
        self.provider()
            .await?
            .get_code_at(address)
            .latest()
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn gas_price(&self) -> Result<u128> {
        self.provider()
            .await?
            .get_gas_price()
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn estimate_gas(&self, tx: &TransactionRequest) -> Result<u64> {
        self.provider()
            .await?
            .estimate_gas(tx.clone())
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn call(&self, tx: &TransactionRequest) -> Result<Bytes> {
        self.provider()
            .await?
            .call(tx.clone())
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn send_raw_transaction(&self, raw: Bytes) -> Result<B256> {
        let pending = self
            .provider()
            .await?
            .send_raw_transaction(&raw)
            .await
            .map_err(map_err(&self.endpoint, true))?;
        Ok(*pending.tx_hash())
    }

    async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>> {
        self.provider()
            .await?
            .get_transaction_receipt(hash)
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn logs(&self, filter: &Filter) -> Result<Vec<Log>> {
        self.provider()
            .await?
            .get_logs(filter)
            .await
            .map_err(|e| match &e {
                // medshare node's code (EIP-1474 "limit exceeded"), and the words geth and
                // hosted providers use for the same refusal.
                TransportError::ErrorResp(payload)
                    if payload.code == crate::LIMIT_EXCEEDED_CODE
                        || payload.message.contains("query returned more than") =>
                {
                    Error::TooManyLogs {
                        from: filter.get_from_block().unwrap_or(0),
                        to: filter.get_to_block().unwrap_or(u64::MAX),
                        limit: crate::MAX_LOGS,
                    }
                }
                _ => map_err(&self.endpoint, false)(e),
            })
    }

    async fn block(&self, number: u64) -> Result<Option<Block>> {
        self.provider()
            .await?
            .get_block_by_number(number.into())
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn block_by_hash(&self, hash: B256) -> Result<Option<Block>> {
        self.provider()
            .await?
            .get_block_by_hash(hash)
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn transaction(&self, hash: B256) -> Result<Option<Transaction>> {
        self.provider()
            .await?
            .get_transaction_by_hash(hash)
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn proof(
        &self,
        address: Address,
        slots: Vec<B256>,
        block: u64,
    ) -> Result<EIP1186AccountProofResponse> {
        crate::check_proof_slots(slots.len())?;
        self.provider()
            .await?
            .get_proof(address, slots)
            .number(block)
            .await
            .map_err(map_err(&self.endpoint, false))
    }
    async fn wait_for_receipt(
        &self,
        hash: B256,
        poll: Duration,
        timeout: Duration,
    ) -> Result<TransactionReceipt> {
        let deadline = tokio::time::Instant::now() + timeout;
        let timed_out = || Error::Timeout(hash);
        if self.pubsub {
            // Listen first, then look: a block sealed in between is still announced.
            let mut heads = self.heads().await?;
            heads.mark_unchanged();
            loop {
                if let Some(receipt) = self.receipt(hash).await? {
                    return Ok(receipt);
                }
                match tokio::time::timeout_at(deadline, heads.changed()).await {
                    Err(_) => return Err(timed_out()),
                    // A new head (or a wake-up after missed ones): look again.
                    Ok(Ok(())) => {}
                    // The subscription ended (e.g. the socket closed): poll from here on.
                    Ok(Err(_)) => break,
                }
            }
        }
        let mut wait = Duration::from_millis(1).min(poll);
        loop {
            if let Some(receipt) = self.receipt(hash).await? {
                return Ok(receipt);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(timed_out());
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(poll);
        }
    }
}
