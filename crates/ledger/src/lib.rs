//! The ledger interface medshare's parties use, and the client that reaches any Ethereum node.
//!
//! # What this crate owns
//!
//! * [`Ledger`]: the narrow set of Ethereum JSON-RPC operations the parties need: read chain id,
//!   nonces, balances and code; estimate gas; `eth_call`; send a signed raw transaction and read
//!   its receipt; query logs and blocks; and, for whoever must not trust the node (the enclave),
//!   full headers and EIP-1186 state proofs (`eth_getProof`), which `medshare-light` verifies.
//!   Its types are alloy's RPC types, its errors [`Error`].
//! * [`rpc::RpcLedger`]: the [`Ledger`] of any Ethereum node (anvil, geth, Besu, reth, or
//!   `medshare node`) over JSON-RPC, through alloy's provider.
//! * [`wallet::Wallet`]: one party's account over any [`Ledger`]: nonce, gas estimate, EIP-1559
//!   fees, local (or enclave) signing, receipts.
//!
//! # What it does not own
//!
//! The chain itself. The embedded chain (revm executing transactions, headers sealed Clique-style
//! with a Merkle-Patricia state root, everything persisted in redb) and the JSON-RPC server that
//! puts a [`Ledger`] on the network are in `medshare-node`, which implements this trait. Parties
//! depend on this crate alone, so they compile neither revm nor redb (checked by `scripts/test`
//! with `cargo tree`).
//!
//! This crate knows nothing about medshare's contracts or records: it moves signed transactions and
//! reads chain data. It never sees plaintext medical data or data keys.

#![forbid(unsafe_code)]

pub mod error;
pub mod rpc;
pub mod wallet;
pub use error::Error;

/// Result alias for this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

pub use alloy_rpc_types_eth::{
    Block, Filter, Log, Transaction, TransactionReceipt, TransactionRequest,
};

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_rpc_types_eth::{EIP1186AccountProofResponse, FilterBlockOption};

/// Most storage slots one [`Ledger::proof`] (`eth_getProof`) call may ask for.
pub const MAX_PROOF_SLOTS: usize = 1024;

/// Most logs one `eth_getLogs` query over more than one block returns (as geth's and most
/// providers' 10,000): a query over a single block is never refused for its count, a block's
/// gas bounding it, so a client can always narrow its range until each query is answered
/// ([`logs_paged`]).
pub const MAX_LOGS: usize = 10_000;

/// JSON-RPC error code of [`Error::TooManyLogs`] (EIP-1474's "limit exceeded").
pub const LIMIT_EXCEEDED_CODE: i64 = -32005;

/// The logs `filter` selects, asked of `ledger` over block ranges the node answers: a range
/// refused with [`Error::TooManyLogs`] is halved until each half is answered. In block order.
pub async fn logs_paged(ledger: &dyn Ledger, filter: &Filter) -> Result<Vec<Log>> {
    // Asked whole first: only a refused query costs the tip lookup and the halving.
    let (from, to) = match (ledger.logs(filter).await, &filter.block_option) {
        (
            Err(Error::TooManyLogs { .. }),
            FilterBlockOption::Range {
                from_block,
                to_block,
            },
        ) if from_block.is_some_and(|b| b.as_number().is_some()) => {
            let from = from_block.and_then(|b| b.as_number()).unwrap_or(0);
            let to = match to_block.and_then(|b| b.as_number()) {
                Some(n) => n,
                None => ledger.block_number().await?,
            };
            (from, to)
        }
        // Answered, or by hash or from a tag (the node's own resolution): as the node said.
        (answer, _) => return answer,
    };
    let mut out = Vec::new();
    // Ranges still to ask, the lowest on top.
    let mut ranges = vec![(from, to)];
    while let Some((lo, hi)) = ranges.pop() {
        let page = filter.clone().from_block(lo).to_block(hi);
        match ledger.logs(&page).await {
            Ok(logs) => out.extend(logs),
            Err(Error::TooManyLogs { .. }) if lo < hi => {
                let mid = lo + (hi - lo) / 2;
                ranges.push((mid + 1, hi));
                ranges.push((lo, mid));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Refuses a [`Ledger::proof`] (`eth_getProof`) call for more than [`MAX_PROOF_SLOTS`] slots.
pub fn check_proof_slots(slots: usize) -> Result<()> {
    if slots > MAX_PROOF_SLOTS {
        return Err(Error::InvalidRequest(format!(
            "{slots} storage slots asked, at most {MAX_PROOF_SLOTS} per eth_getProof"
        )));
    }
    Ok(())
}

/// The operations on an Ethereum ledger that medshare uses. Every method maps to one standard
/// JSON-RPC method (named in its doc), so any Ethereum node can implement it.
#[async_trait::async_trait]
pub trait Ledger: Send + Sync {
    /// `eth_chainId`.
    async fn chain_id(&self) -> Result<u64>;
    /// `eth_blockNumber`.
    async fn block_number(&self) -> Result<u64>;
    /// `eth_getTransactionCount` at the latest block.
    async fn nonce(&self, address: Address) -> Result<u64>;
    /// `eth_getBalance` at the latest block.
    async fn balance(&self, address: Address) -> Result<U256>;
    /// `eth_getCode` at the latest block.
    async fn code(&self, address: Address) -> Result<Bytes>;
    /// `eth_gasPrice`: a gas price (wei) that the next block accepts.
    async fn gas_price(&self) -> Result<u128>;
    /// `eth_estimateGas` against the latest state.
    async fn estimate_gas(&self, tx: &TransactionRequest) -> Result<u64>;
    /// `eth_call` against the latest state. A revert is [`Error::Reverted`] with the revert data.
    async fn call(&self, tx: &TransactionRequest) -> Result<Bytes>;
    /// `eth_sendRawTransaction`: submit an EIP-2718 encoded signed transaction.
    async fn send_raw_transaction(&self, raw: Bytes) -> Result<B256>;
    /// `eth_getTransactionReceipt`.
    async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>>;
    /// `eth_getLogs`.
    async fn logs(&self, filter: &Filter) -> Result<Vec<Log>>;
    /// `eth_getBlockByNumber` (transaction hashes only).
    async fn block(&self, number: u64) -> Result<Option<Block>>;
    /// `eth_getBlockByHash` (transaction hashes only).
    async fn block_by_hash(&self, hash: B256) -> Result<Option<Block>>;
    /// `eth_getTransactionByHash`.
    async fn transaction(&self, hash: B256) -> Result<Option<Transaction>>;
    /// `eth_getProof` at block `block`: the account at `address` and the storage `slots`, with
    /// EIP-1186 Merkle proofs against that block's state root (absent accounts and slots get
    /// exclusion proofs). At most [`MAX_PROOF_SLOTS`] slots; the embedded chain serves the last
    /// `STATE_HISTORY` blocks before the tip (`medshare_node::embedded`), and the tip.
    async fn proof(
        &self,
        address: Address,
        slots: Vec<B256>,
        block: u64,
    ) -> Result<EIP1186AccountProofResponse>;

    /// The full consensus header of block `number` (from `eth_getBlockByNumber`): with it, the
    /// seal of an embedded-chain header can be checked and its state root trusted.
    async fn header(&self, number: u64) -> Result<Option<alloy_consensus::Header>> {
        Ok(self.block(number).await?.map(|b| b.header.inner))
    }

    /// Submits several signed transactions, in order. The default sends them one by one;
    /// the embedded chain takes them as one batch (one block, one durable commit).
    async fn send_raw_transactions(&self, raws: Vec<Bytes>) -> Result<Vec<B256>> {
        let mut hashes = Vec::with_capacity(raws.len());
        for raw in raws {
            hashes.push(self.send_raw_transaction(raw).await?);
        }
        Ok(hashes)
    }

    /// `eth_getTransactionCount(address, "pending")`: the nonce the next transaction from
    /// `address` must carry, counting transactions the node has accepted but not yet sealed.
    async fn pending_nonce(&self, address: Address) -> Result<u64> {
        self.nonce(address).await
    }

    /// A watch of the chain's tip (its block number) that changes as soon as a block is durable,
    /// for backends that can be woken on a new block (the embedded chain). `None` means callers
    /// must ask. `medshare node` serves it as `eth_subscribe("newHeads")`, so that clients in other
    /// processes wait for receipts without polling.
    fn heads(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }

    /// Waits until `hash` has a receipt and returns it. The default polls
    /// [`Ledger::receipt`] every `poll` for at most `timeout`; backends that can be woken on a new
    /// block override it.
    async fn wait_for_receipt(
        &self,
        hash: B256,
        poll: std::time::Duration,
        timeout: std::time::Duration,
    ) -> Result<TransactionReceipt> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(receipt) = self.receipt(hash).await? {
                return Ok(receipt);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Timeout(hash));
            }
            tokio::time::sleep(poll).await;
        }
    }
}
