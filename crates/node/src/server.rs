//! Serves any [`Ledger`] over the standard Ethereum JSON-RPC methods, on HTTP.
//!
//! `medshare node` uses this to put the embedded chain on `127.0.0.1:8545`, so that every party,
//! in any process, talks to the ledger the same way whether it is our node, anvil or a
//! consortium network: alloy's provider (with its nonce, gas and fee fillers) and foundry's
//! `cast` work against it unchanged.
//!
//! # Methods
//!
//! `eth_chainId`, `net_version`, `web3_clientVersion`, `eth_syncing`, `eth_accounts`,
//! `eth_blockNumber`, `eth_getTransactionCount` (`latest` or `pending`), `eth_getBalance`,
//! `eth_getCode`, `eth_gasPrice`, `eth_maxPriorityFeePerGas`, `eth_feeHistory`,
//! `eth_estimateGas`, `eth_call`, `eth_sendRawTransaction`, `eth_getTransactionReceipt`,
//! `eth_getLogs`, `eth_getBlockByNumber`, `eth_getBlockByHash`, `eth_getTransactionByHash`,
//! `eth_getProof` (EIP-1186; at most [`medshare_ledger::MAX_PROOF_SLOTS`] slots per call), and over
//! WebSocket (same port) `eth_subscribe("newHeads")` / `eth_unsubscribe`: each new block's header
//! is pushed as soon as the block is durable, so clients wait for receipts without polling.
//!
//! # Errors
//!
//! As geth, anvil and reth answer: a revert is error code `3`, message `execution reverted`,
//! with the revert data as a hex string in `data` (alloy decodes it as revert data); a
//! transaction the node refuses is `-32000` with the reason; a malformed request is `-32602`;
//! a store failure is `-32603`; a log query over the limit below is `-32005` ("limit
//! exceeded", EIP-1474).
//!
//! # Limits
//!
//! Whatever a stranger sends, the work and memory of one request are bounded, and each refusal
//! says what and why: a body over 32 MiB (HTTP 413); a batch of more than
//! [`MAX_BATCH_REQUESTS`] requests; `eth_feeHistory` over more than 1,024 blocks (capped, as
//! geth does) or with more than [`MAX_FEE_HISTORY_PERCENTILES`] or unordered percentiles;
//! `eth_getProof` for more than [`medshare_ledger::MAX_PROOF_SLOTS`] slots; `eth_getLogs`
//! matching more than [`medshare_ledger::MAX_LOGS`] logs over more than one block (a client
//! narrows its range: [`medshare_ledger::logs_paged`]); more than 100 connections.
//!
//! # What it does not do
//!
//! State is served at the latest block only: a state query for an older block number is refused
//! (`-32602`, "historical state is not kept") rather than answered with the wrong state. The
//! exception is `eth_getProof`, answered for every block the ledger keeps proofs of (on the
//! embedded chain, the tip and the [`crate::embedded::STATE_HISTORY`] blocks before it). No
//! subscriptions but `newHeads`, no filters (`eth_newFilter`), no account management: parties sign
//! locally.

use crate::{
    Block, Error, Filter, Ledger, Log, Transaction, TransactionReceipt, TransactionRequest,
};
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, B256, Bytes, U64, U256};
use alloy_rpc_types_eth::{BlockTransactions, EIP1186AccountProofResponse, FeeHistory};
use alloy_serde::storage::JsonStorageKey;
use jsonrpsee::{
    PendingSubscriptionSink, SubscriptionSink,
    core::{RpcResult, SubscriptionResult, async_trait},
    proc_macros::rpc,
    server::{BatchRequestConfig, Server, ServerConfig, ServerHandle},
    types::{ErrorObject, ErrorObjectOwned},
};
use std::{net::SocketAddr, sync::Arc};

/// Largest request body accepted (a batch of raw transactions fits well within it).
const MAX_REQUEST_BYTES: u32 = 32 * 1024 * 1024;
/// Largest response body (a `eth_getLogs` over a big chain).
const MAX_RESPONSE_BYTES: u32 = 256 * 1024 * 1024;
/// How often a `newHeads` subscription asks a ledger that cannot be watched for its tip.
const HEAD_POLL: std::time::Duration = std::time::Duration::from_millis(100);
/// Most headers one `newHeads` notification round sends to a subscriber that fell behind: the
/// latest ones (a subscriber wants the tip, not a replay of the chain).
const MAX_HEADS_PER_ROUND: u64 = 64;
/// Most blocks one `eth_feeHistory` call may ask for (geth's limit).
const MAX_FEE_HISTORY_BLOCKS: u64 = 1024;
/// Most reward percentiles one `eth_feeHistory` call may ask for (geth's limit): the rewards
/// are a blocks × percentiles table.
pub const MAX_FEE_HISTORY_PERCENTILES: usize = 100;
/// Most requests in one JSON-RPC batch (geth's default `--rpc.batch-request-limit`).
pub const MAX_BATCH_REQUESTS: u32 = 1000;

/// JSON-RPC error code for a revert (geth, anvil, reth).
const REVERT_CODE: i32 = 3;
/// JSON-RPC error code for a refused transaction or other server-side error.
const SERVER_ERROR_CODE: i32 = -32000;
/// JSON-RPC "invalid params".
const INVALID_PARAMS_CODE: i32 = -32602;
/// JSON-RPC "internal error".
const INTERNAL_ERROR_CODE: i32 = -32603;

/// The Ethereum JSON-RPC methods served (see the module docs).
#[rpc(server)]
trait EthApi {
    /// `eth_chainId`.
    #[method(name = "eth_chainId")]
    async fn chain_id(&self) -> RpcResult<U64>;
    /// `net_version`.
    #[method(name = "net_version")]
    async fn net_version(&self) -> RpcResult<String>;
    /// `web3_clientVersion`.
    #[method(name = "web3_clientVersion")]
    async fn client_version(&self) -> RpcResult<String>;
    /// `eth_syncing`.
    #[method(name = "eth_syncing")]
    async fn syncing(&self) -> RpcResult<bool>;
    /// `eth_accounts`.
    #[method(name = "eth_accounts")]
    async fn accounts(&self) -> RpcResult<Vec<Address>>;
    /// `eth_blockNumber`.
    #[method(name = "eth_blockNumber")]
    async fn block_number(&self) -> RpcResult<U64>;
    /// `eth_getTransactionCount`.
    #[method(name = "eth_getTransactionCount")]
    async fn transaction_count(&self, address: Address, block: Option<BlockId>) -> RpcResult<U64>;
    /// `eth_getBalance`.
    #[method(name = "eth_getBalance")]
    async fn balance(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256>;
    /// `eth_getCode`.
    #[method(name = "eth_getCode")]
    async fn code(&self, address: Address, block: Option<BlockId>) -> RpcResult<Bytes>;
    /// `eth_gasPrice`.
    #[method(name = "eth_gasPrice")]
    async fn gas_price(&self) -> RpcResult<U256>;
    /// `eth_maxPriorityFeePerGas`.
    #[method(name = "eth_maxPriorityFeePerGas")]
    async fn max_priority_fee(&self) -> RpcResult<U256>;
    /// `eth_feeHistory`.
    #[method(name = "eth_feeHistory")]
    async fn fee_history(
        &self,
        block_count: U64,
        newest: BlockNumberOrTag,
        percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory>;
    /// `eth_estimateGas`.
    #[method(name = "eth_estimateGas")]
    async fn estimate_gas(&self, tx: TransactionRequest, block: Option<BlockId>) -> RpcResult<U64>;
    /// `eth_call`.
    #[method(name = "eth_call")]
    async fn call(
        &self,
        tx: TransactionRequest,
        block: Option<BlockId>,
        overrides: Option<serde_json::Value>,
    ) -> RpcResult<Bytes>;
    /// `eth_sendRawTransaction`.
    #[method(name = "eth_sendRawTransaction")]
    async fn send_raw_transaction(&self, raw: Bytes) -> RpcResult<B256>;
    /// `eth_getTransactionReceipt`.
    #[method(name = "eth_getTransactionReceipt")]
    async fn receipt(&self, hash: B256) -> RpcResult<Option<TransactionReceipt>>;
    /// `eth_getLogs`.
    #[method(name = "eth_getLogs")]
    async fn logs(&self, filter: Filter) -> RpcResult<Vec<Log>>;
    /// `eth_getBlockByNumber`.
    #[method(name = "eth_getBlockByNumber")]
    async fn block_by_number(
        &self,
        number: BlockNumberOrTag,
        full: Option<bool>,
    ) -> RpcResult<Option<Block>>;
    /// `eth_getBlockByHash`.
    #[method(name = "eth_getBlockByHash")]
    async fn block_by_hash(&self, hash: B256, full: Option<bool>) -> RpcResult<Option<Block>>;
    /// `eth_getTransactionByHash`.
    #[method(name = "eth_getTransactionByHash")]
    async fn transaction(&self, hash: B256) -> RpcResult<Option<Transaction>>;
    /// `eth_getProof`.
    #[method(name = "eth_getProof")]
    async fn proof(
        &self,
        address: Address,
        keys: Vec<JsonStorageKey>,
        block: Option<BlockId>,
    ) -> RpcResult<EIP1186AccountProofResponse>;
    /// `eth_subscribe` (WebSocket only): `newHeads` is served.
    #[subscription(
        name = "eth_subscribe" => "eth_subscription",
        unsubscribe = "eth_unsubscribe",
        item = alloy_rpc_types_eth::Header
    )]
    async fn subscribe(
        &self,
        kind: String,
        params: Option<serde_json::Value>,
    ) -> SubscriptionResult;
}

/// A running JSON-RPC server. Dropping it does not stop the server; call [`RpcServer::stop`].
#[derive(Debug)]
pub struct RpcServer {
    handle: ServerHandle,
    address: SocketAddr,
}

impl RpcServer {
    /// Binds `address` (e.g. `127.0.0.1:8545`; port 0 picks a free port) and serves `ledger`.
    pub async fn start(ledger: Arc<dyn Ledger>, address: SocketAddr) -> crate::Result<Self> {
        let config = ServerConfig::builder()
            .max_request_body_size(MAX_REQUEST_BYTES)
            .max_response_body_size(MAX_RESPONSE_BYTES)
            .set_batch_request_config(BatchRequestConfig::Limit(MAX_BATCH_REQUESTS))
            .build();
        let server = Server::builder()
            .set_config(config)
            .build(address)
            .await
            .map_err(|e| Error::Rpc(format!("cannot listen on {address}: {e}")))?;
        let address = server
            .local_addr()
            .map_err(|e| Error::Rpc(format!("cannot read the bound address: {e}")))?;
        let handle = server.start(rpc_module(ledger));
        Ok(Self { handle, address })
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The `http://` URL of the server.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The `ws://` URL of the server (the same port): every method, and `eth_subscribe`.
    pub fn ws_endpoint(&self) -> String {
        format!("ws://{}", self.address)
    }

    /// Stops accepting requests and waits until the server has stopped.
    pub async fn stop(self) {
        // Already stopped is fine.
        let _ = self.handle.stop();
        self.handle.stopped().await;
    }
}

/// The JSON-RPC methods [`RpcServer`] serves for `ledger`, without a transport. A caller can
/// run one request from its JSON text with `RpcModule::raw_json_request` (the `json_rpc` fuzz
/// target does); the server's transport limits (body size, batch length) are not applied here.
pub fn rpc_module(ledger: Arc<dyn Ledger>) -> jsonrpsee::RpcModule<()> {
    EthApiServer::into_rpc(Api { ledger }).remove_context()
}

/// The served ledger.
struct Api {
    ledger: Arc<dyn Ledger>,
}

/// Maps a ledger error to a JSON-RPC error the way Ethereum nodes report it.
fn rpc_error(e: Error) -> ErrorObjectOwned {
    match e {
        Error::Reverted { data } => {
            ErrorObject::owned(REVERT_CODE, "execution reverted", Some(data.to_string()))
        }
        Error::Rejected(reason) => ErrorObject::owned(SERVER_ERROR_CODE, reason, None::<()>),
        Error::InvalidRequest(reason) => {
            ErrorObject::owned(INVALID_PARAMS_CODE, reason, None::<()>)
        }
        e @ Error::TooManyLogs { .. } => ErrorObject::owned(
            medshare_ledger::LIMIT_EXCEEDED_CODE as i32,
            e.to_string(),
            None::<()>,
        ),
        other => ErrorObject::owned(INTERNAL_ERROR_CODE, other.to_string(), None::<()>),
    }
}

fn invalid(reason: impl Into<String>) -> ErrorObjectOwned {
    ErrorObject::owned(INVALID_PARAMS_CODE, reason.into(), None::<()>)
}

impl Api {
    /// Checks that a state query asks for the latest state (the only one kept).
    async fn latest_only(&self, block: Option<BlockId>) -> RpcResult<()> {
        let number = match block {
            None | Some(BlockId::Number(BlockNumberOrTag::Latest | BlockNumberOrTag::Pending)) => {
                return Ok(());
            }
            Some(BlockId::Number(BlockNumberOrTag::Safe | BlockNumberOrTag::Finalized)) => {
                return Ok(());
            }
            Some(BlockId::Number(BlockNumberOrTag::Earliest)) => 0,
            Some(BlockId::Number(BlockNumberOrTag::Number(n))) => n,
            Some(BlockId::Hash(h)) => {
                let block = self
                    .ledger
                    .block_by_hash(h.block_hash)
                    .await
                    .map_err(rpc_error)?;
                block
                    .ok_or_else(|| invalid(format!("unknown block {}", h.block_hash)))?
                    .header
                    .number
            }
        };
        let tip = self.ledger.block_number().await.map_err(rpc_error)?;
        if number == tip {
            Ok(())
        } else {
            Err(invalid(format!(
                "historical state is not kept: block {number} asked, only the latest ({tip}) is served"
            )))
        }
    }

    /// Fills a block's transactions when `full` is asked for.
    async fn fill(&self, block: Option<Block>, full: Option<bool>) -> RpcResult<Option<Block>> {
        let Some(mut block) = block else {
            return Ok(None);
        };
        if full == Some(true)
            && let BlockTransactions::Hashes(hashes) = &block.transactions
        {
            let mut txs = Vec::with_capacity(hashes.len());
            for hash in hashes {
                let tx = self.ledger.transaction(*hash).await.map_err(rpc_error)?;
                txs.push(tx.ok_or_else(|| {
                    rpc_error(Error::Store(format!(
                        "transaction {hash} of a block is missing"
                    )))
                })?);
            }
            block.transactions = BlockTransactions::Full(txs);
        }
        Ok(Some(block))
    }

    /// The number of the block `block` names (absent: the latest).
    async fn resolve_id(&self, block: Option<BlockId>) -> RpcResult<u64> {
        match block {
            None => self.resolve(BlockNumberOrTag::Latest).await,
            Some(BlockId::Number(n)) => self.resolve(n).await,
            Some(BlockId::Hash(h)) => {
                let block = self
                    .ledger
                    .block_by_hash(h.block_hash)
                    .await
                    .map_err(rpc_error)?;
                Ok(block
                    .ok_or_else(|| invalid(format!("unknown block {}", h.block_hash)))?
                    .header
                    .number)
            }
        }
    }

    async fn resolve(&self, number: BlockNumberOrTag) -> RpcResult<u64> {
        match number {
            BlockNumberOrTag::Earliest => Ok(0),
            BlockNumberOrTag::Number(n) => Ok(n),
            _ => self.ledger.block_number().await.map_err(rpc_error),
        }
    }
}

#[async_trait]
impl EthApiServer for Api {
    async fn chain_id(&self) -> RpcResult<U64> {
        self.ledger
            .chain_id()
            .await
            .map(U64::from)
            .map_err(rpc_error)
    }

    async fn net_version(&self) -> RpcResult<String> {
        self.ledger
            .chain_id()
            .await
            .map(|id| id.to_string())
            .map_err(rpc_error)
    }

    async fn client_version(&self) -> RpcResult<String> {
        Ok(format!("medshare/v{}", env!("CARGO_PKG_VERSION")))
    }

    async fn syncing(&self) -> RpcResult<bool> {
        Ok(false)
    }

    async fn accounts(&self) -> RpcResult<Vec<Address>> {
        Ok(Vec::new())
    }

    async fn block_number(&self) -> RpcResult<U64> {
        self.ledger
            .block_number()
            .await
            .map(U64::from)
            .map_err(rpc_error)
    }

    async fn transaction_count(&self, address: Address, block: Option<BlockId>) -> RpcResult<U64> {
        if matches!(block, Some(BlockId::Number(BlockNumberOrTag::Pending))) {
            return self
                .ledger
                .pending_nonce(address)
                .await
                .map(U64::from)
                .map_err(rpc_error);
        }
        self.latest_only(block).await?;
        self.ledger
            .nonce(address)
            .await
            .map(U64::from)
            .map_err(rpc_error)
    }

    async fn balance(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256> {
        self.latest_only(block).await?;
        self.ledger.balance(address).await.map_err(rpc_error)
    }

    async fn code(&self, address: Address, block: Option<BlockId>) -> RpcResult<Bytes> {
        self.latest_only(block).await?;
        self.ledger.code(address).await.map_err(rpc_error)
    }

    async fn gas_price(&self) -> RpcResult<U256> {
        self.ledger
            .gas_price()
            .await
            .map(U256::from)
            .map_err(rpc_error)
    }

    async fn max_priority_fee(&self) -> RpcResult<U256> {
        // The base fee is zero: the whole gas price is the tip.
        self.ledger
            .gas_price()
            .await
            .map(U256::from)
            .map_err(rpc_error)
    }

    async fn fee_history(
        &self,
        block_count: U64,
        newest: BlockNumberOrTag,
        percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory> {
        // Refused before anything is read or allocated, as geth refuses them.
        if let Some(p) = &percentiles {
            if p.len() > MAX_FEE_HISTORY_PERCENTILES {
                return Err(invalid(format!(
                    "{} reward percentiles asked for; at most {MAX_FEE_HISTORY_PERCENTILES}",
                    p.len()
                )));
            }
            let mut last = 0.0;
            for &q in p {
                if !(0.0..=100.0).contains(&q) || q < last {
                    return Err(invalid(format!(
                        "invalid reward percentile {q}: each must be in [0, 100] and not below \
                         the one before"
                    )));
                }
                last = q;
            }
        }
        let count = block_count.to::<u64>().min(MAX_FEE_HISTORY_BLOCKS);
        let tip = self.ledger.block_number().await.map_err(rpc_error)?;
        let newest = self.resolve(newest).await?.min(tip);
        let oldest = newest.saturating_sub(count.saturating_sub(1));
        let blocks = if count == 0 { 0 } else { newest - oldest + 1 };
        let mut gas_used_ratio = Vec::new();
        let mut base_fees = Vec::new();
        for n in oldest..oldest + blocks {
            let block = self.ledger.block(n).await.map_err(rpc_error)?;
            let (ratio, base_fee) = block.map_or((0.0, 0), |b| {
                let limit = b.header.gas_limit.max(1) as f64;
                (
                    b.header.gas_used as f64 / limit,
                    b.header.base_fee_per_gas.map_or(0, u128::from),
                )
            });
            gas_used_ratio.push(ratio);
            base_fees.push(base_fee);
        }
        // The next block's base fee: the chain keeps it constant.
        base_fees.push(base_fees.last().copied().unwrap_or(0));
        let gas_price = self.ledger.gas_price().await.map_err(rpc_error)?;
        let reward = percentiles.map(|p| vec![vec![gas_price; p.len()]; gas_used_ratio.len()]);
        Ok(FeeHistory {
            base_fee_per_gas: base_fees,
            gas_used_ratio,
            base_fee_per_blob_gas: Vec::new(),
            blob_gas_used_ratio: Vec::new(),
            oldest_block: oldest,
            reward,
        })
    }

    async fn estimate_gas(&self, tx: TransactionRequest, block: Option<BlockId>) -> RpcResult<U64> {
        self.latest_only(block).await?;
        self.ledger
            .estimate_gas(&tx)
            .await
            .map(U64::from)
            .map_err(rpc_error)
    }

    async fn call(
        &self,
        tx: TransactionRequest,
        block: Option<BlockId>,
        overrides: Option<serde_json::Value>,
    ) -> RpcResult<Bytes> {
        if overrides.is_some_and(|o| !o.is_null()) {
            return Err(invalid("state overrides are not supported"));
        }
        self.latest_only(block).await?;
        self.ledger.call(&tx).await.map_err(rpc_error)
    }

    async fn send_raw_transaction(&self, raw: Bytes) -> RpcResult<B256> {
        self.ledger
            .send_raw_transaction(raw)
            .await
            .map_err(rpc_error)
    }

    async fn receipt(&self, hash: B256) -> RpcResult<Option<TransactionReceipt>> {
        self.ledger.receipt(hash).await.map_err(rpc_error)
    }

    async fn logs(&self, filter: Filter) -> RpcResult<Vec<Log>> {
        self.ledger.logs(&filter).await.map_err(rpc_error)
    }

    async fn block_by_number(
        &self,
        number: BlockNumberOrTag,
        full: Option<bool>,
    ) -> RpcResult<Option<Block>> {
        let n = self.resolve(number).await?;
        let block = self.ledger.block(n).await.map_err(rpc_error)?;
        self.fill(block, full).await
    }

    async fn block_by_hash(&self, hash: B256, full: Option<bool>) -> RpcResult<Option<Block>> {
        let block = self.ledger.block_by_hash(hash).await.map_err(rpc_error)?;
        self.fill(block, full).await
    }

    async fn transaction(&self, hash: B256) -> RpcResult<Option<Transaction>> {
        self.ledger.transaction(hash).await.map_err(rpc_error)
    }

    async fn proof(
        &self,
        address: Address,
        keys: Vec<JsonStorageKey>,
        block: Option<BlockId>,
    ) -> RpcResult<EIP1186AccountProofResponse> {
        // Refused before any key is read.
        medshare_ledger::check_proof_slots(keys.len()).map_err(rpc_error)?;
        let number = self.resolve_id(block).await?;
        let slots = keys.iter().map(JsonStorageKey::as_b256).collect();
        let mut response = self
            .ledger
            .proof(address, slots, number)
            .await
            .map_err(rpc_error)?;
        // Echo each key as the client wrote it (a full word or a number).
        for (entry, key) in response.storage_proof.iter_mut().zip(keys) {
            entry.key = key;
        }
        Ok(response)
    }
    async fn subscribe(
        &self,
        pending: PendingSubscriptionSink,
        kind: String,
        _params: Option<serde_json::Value>,
    ) -> SubscriptionResult {
        if kind != "newHeads" {
            pending
                .reject(invalid(format!(
                    "subscription {kind:?} is not served; only \"newHeads\" is"
                )))
                .await;
            return Ok(());
        }
        let sink = pending.accept().await?;
        let ledger = self.ledger.clone();
        tokio::spawn(async move {
            if let Err(e) = new_heads(ledger, sink).await {
                tracing::debug!("newHeads subscription ended: {e}");
            }
        });
        Ok(())
    }
}

/// Pushes every new block's header to `sink` until the subscriber leaves: woken by the ledger's
/// head watch where it has one, else by asking for the tip every [`HEAD_POLL`].
async fn new_heads(
    ledger: Arc<dyn Ledger>,
    sink: SubscriptionSink,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut next = ledger.block_number().await? + 1;
    let mut watch = ledger.heads();
    loop {
        match &mut watch {
            Some(w) => tokio::select! {
                changed = w.changed() => if changed.is_err() { return Ok(()) },
                _ = sink.closed() => return Ok(()),
            },
            None => tokio::select! {
                _ = tokio::time::sleep(HEAD_POLL) => {},
                _ = sink.closed() => return Ok(()),
            },
        }
        let tip = ledger.block_number().await?;
        next = next.max((tip + 1).saturating_sub(MAX_HEADS_PER_ROUND));
        while next <= tip {
            let Some(block) = ledger.block(next).await? else {
                break;
            };
            sink.send(serde_json::value::to_raw_value(&block.header)?)
                .await?;
            next += 1;
        }
    }
}
