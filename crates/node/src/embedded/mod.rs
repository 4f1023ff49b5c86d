//! The embedded chain: an in-process, single-sealer Ethereum chain persisted in redb.
//!
//! # What it does
//!
//! [`EmbeddedChain`] accepts EIP-2718 signed transactions (legacy with EIP-155, EIP-2930,
//! EIP-1559), checks them (signature, chain id, nonce, gas bounds, funds), queues them, and a
//! sealer thread executes everything queued with revm (Cancun rules) into one block. Gas is
//! metered but the base fee is zero: this is a permissioned consortium chain.
//!
//! ```text
//!  send_raw_transaction(s) ──decode+check──▶ Pool ──(all at once)──▶ sealer thread
//!                                                                    │ revm, block by block
//!                                                                    ▼
//!        receipt()/logs()/call() ◀── read snapshot ◀── redb: one durable commit per block
//!        wait_for_receipt() ◀──────── woken after the commit (tokio watch) ◀──┘
//! ```
//!
//! # Invariants
//!
//! * **Durable before visible.** A block's header, transactions, receipts, logs, log index, state
//!   changes and state-trie nodes are written in one redb write transaction with immediate
//!   durability and two-phase commit. Nothing of it is readable, and no receipt is returned,
//!   before that commit returns; a process killed at any moment loses no transaction whose
//!   receipt was returned.
//! * **Self-verifying headers.** Every header names its parent's hash and carries, in its extra
//!   data, the sealing key's signature of everything else (Clique style, EIP-225; the format is
//!   `medshare_light::header`, shared with the enclave's verifier). The store records the chain
//!   id, the sealer address and the genesis hash.
//! * **A real state root.** A header's `state_root` is the Ethereum Merkle-Patricia root of the
//!   state after its block (account trie of storage tries, as any Ethereum client computes it),
//!   maintained incrementally (`trie`: a block costs what it changed times the trie depth).
//!   [`Ledger::proof`] serves `eth_getProof` against it for the tip and the
//!   [`STATE_HISTORY`] blocks before it, so that a client that trusts only the sealer's address
//!   can check any account or slot (`medshare_light::proof`).
//! * **Never serve a damaged store.** [`EmbeddedChain::open`] verifies redb's page checksums, the
//!   metadata, the whole header chain with every seal, and the tip's state root against the
//!   stored trie and the flat state (see `verify`), and refuses with [`Error::Corrupt`] or
//!   [`Error::ChainMismatch`] rather than serve something else. A trie node that no longer
//!   hashes to its key is refused wherever it is read (a proof, the next block) with
//!   [`Error::Corrupt`].
//! * A transaction rejected at submission never lands; one that reverts lands with status 0.
//!
//! # What it does not do
//!
//! No peer-to-peer networking, no forks or reorgs (one sealer, instant finality), no blob or
//! EIP-7702 transactions, no historical state beyond [`STATE_HISTORY`] blocks (proofs of older
//! blocks are refused; `eth_call` and balance reads are at the latest block only). Pending
//! transactions are in memory only: a crash loses transactions whose receipt was never
//! returned, as on any Ethereum node.

mod exec;
mod query;
mod sealer;
mod state;
mod tables;
mod trie;
mod verify;

pub use trie::STATE_HISTORY;

#[cfg(test)]
mod state_tests;
#[cfg(test)]
mod tests;

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    path::{Path, PathBuf},
    sync::{Arc, Condvar, Mutex},
    thread::JoinHandle,
};

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_rpc_types_eth::{
    Block, EIP1186AccountProofResponse, Filter, Log, Transaction, TransactionReceipt,
    TransactionRequest,
};
use alloy_signer_local::PrivateKeySigner;
use redb::ReadableDatabase;
use tokio::sync::watch;

use self::{
    exec::{PendingTx, Rules},
    query::Reader,
    sealer::{Pool, Sealer, SenderQueue},
    state::{CodeCache, read_state},
};
use crate::{Error, Ledger, Result};

/// Default chain id of the embedded chain.
pub const DEFAULT_CHAIN_ID: u64 = 1337;
/// Default block gas limit.
pub const DEFAULT_BLOCK_GAS_LIMIT: u64 = 30_000_000;

/// What opening an existing chain is verifying, for a progress display: the header chain
/// (block by block), then the state (slot by slot, when [`ChainConfig::verify_state`] is on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenStep {
    /// `done` of `total` headers checked (hash chain and seal).
    Headers {
        /// Headers checked.
        done: u64,
        /// Blocks in the store.
        total: u64,
    },
    /// `done` of `total` storage slots read into the recomputed state root.
    State {
        /// Slots read.
        done: u64,
        /// Slots in the store.
        total: u64,
    },
}

/// Told of each [`OpenStep`] while [`EmbeddedChain::open`] verifies an existing store.
#[derive(Clone)]
pub struct OpenProgress(pub std::sync::Arc<dyn Fn(OpenStep) + Send + Sync>);

impl std::fmt::Debug for OpenProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpenProgress(..)")
    }
}

/// How to open (or create) an embedded chain.
#[derive(Debug, Clone)]
pub struct ChainConfig {
    /// Chain id (EIP-155). Stored at creation; opening a store of another chain id is refused.
    pub chain_id: u64,
    /// Gas limit of every block, and the largest gas limit a transaction may have.
    pub block_gas_limit: u64,
    /// Smallest accepted `max_fee_per_gas` / `gas_price`, and what `eth_gasPrice` returns.
    /// Zero by default: gas is metered but free.
    pub min_gas_price: u128,
    /// Genesis balances. Used when the chain is created; when reopening, a non-empty allocation
    /// must match the stored genesis.
    pub genesis_alloc: BTreeMap<Address, U256>,
    /// The node's sealing key: signs every header. The caller keeps it (encrypted keystore);
    /// reopening a store with a different key is refused.
    pub sealer: PrivateKeySigner,
    /// Verify the checksum of every committed redb page on open (reads the whole file). On by
    /// default; turning it off leaves only the header-chain verification.
    pub verify_store_integrity: bool,
    /// Recompute the state root from the account and storage tables on open and refuse the
    /// store if it is not the tip's (reads the whole state; about a second per million slots).
    /// On by default; off, only the tip's root node is checked against the stored trie.
    pub verify_state: bool,
    /// The most memory redb keeps as its page cache, bytes ([`DEFAULT_CACHE_BYTES`]). The
    /// node's memory grows with the store until the cache holds this much.
    pub cache_bytes: usize,
    /// Told how verification of an existing store progresses (none by default).
    pub on_open: Option<OpenProgress>,
}

/// The default page cache: redb's own default, 1 GiB.
pub const DEFAULT_CACHE_BYTES: usize = 1024 * 1024 * 1024;

impl ChainConfig {
    /// Defaults (chain id 1337, 30M gas blocks, free gas, empty genesis) with this sealing key.
    pub fn new(sealer: PrivateKeySigner) -> Self {
        Self {
            chain_id: DEFAULT_CHAIN_ID,
            block_gas_limit: DEFAULT_BLOCK_GAS_LIMIT,
            min_gas_price: 0,
            genesis_alloc: BTreeMap::new(),
            sealer,
            verify_store_integrity: true,
            verify_state: true,
            cache_bytes: DEFAULT_CACHE_BYTES,
            on_open: None,
        }
    }

    /// Sets the most memory redb keeps as its page cache.
    pub fn with_cache_bytes(mut self, bytes: usize) -> Self {
        self.cache_bytes = bytes;
        self
    }

    /// Reports the verification of an existing store to `progress` as it goes.
    pub fn with_open_progress(
        mut self,
        progress: impl Fn(OpenStep) + Send + Sync + 'static,
    ) -> Self {
        self.on_open = Some(OpenProgress(std::sync::Arc::new(progress)));
        self
    }

    /// Sets the chain id.
    pub fn with_chain_id(mut self, chain_id: u64) -> Self {
        self.chain_id = chain_id;
        self
    }

    /// Sets the block gas limit.
    pub fn with_block_gas_limit(mut self, gas: u64) -> Self {
        self.block_gas_limit = gas;
        self
    }

    /// Adds a genesis balance.
    pub fn with_balance(mut self, address: Address, balance: U256) -> Self {
        self.genesis_alloc.insert(address, balance);
        self
    }
}

/// State shared by the chain handle(s) and the sealer thread.
pub(crate) struct Shared {
    db: redb::Database,
    path: PathBuf,
    rules: Rules,
    sealer_address: Address,
    code_cache: CodeCache,
    pool: Mutex<Pool>,
    /// Wakes the sealer when transactions are queued or the chain stops.
    wake: Condvar,
    /// The tip's block number; every change (and every dropped transaction) wakes waiters.
    tip: watch::Sender<u64>,
}

/// Maps any redb (or other storage) error to [`Error::Store`].
pub(crate) fn store_err(e: impl fmt::Display) -> Error {
    Error::Store(e.to_string())
}

fn lock_err<T>(_: T) -> Error {
    Error::Store("the transaction pool lock is poisoned".into())
}

/// The in-process chain. Cheap to clone; the sealer stops (after sealing what is queued) and
/// the store closes when the last clone is dropped.
#[derive(Clone)]
pub struct EmbeddedChain {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    sealer: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(mut pool) = self.shared.pool.lock() {
            pool.stopping = true;
        }
        self.shared.wake.notify_all();
        if let Ok(mut handle) = self.sealer.lock()
            && let Some(handle) = handle.take()
        {
            let _ = handle.join();
        }
    }
}

impl fmt::Debug for EmbeddedChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedChain")
            .field("path", &self.inner.shared.path)
            .field("chain_id", &self.inner.shared.rules.chain_id)
            .field("sealer", &self.inner.shared.sealer_address)
            .finish()
    }
}

impl EmbeddedChain {
    /// Opens the chain stored in `dir` (creating the directory and the chain with its genesis
    /// block if there is none), verifies it, and starts the sealer thread.
    ///
    /// Refuses a damaged or truncated store ([`Error::Corrupt`]) and a store of another chain id,
    /// sealer or genesis ([`Error::ChainMismatch`]).
    pub fn open(dir: &Path, config: ChainConfig) -> Result<Self> {
        let (db, path, tip) = verify::open(dir, &config)?;
        let shared = Arc::new(Shared {
            db,
            path,
            rules: Rules {
                chain_id: config.chain_id,
                block_gas_limit: config.block_gas_limit,
                min_gas_price: config.min_gas_price,
            },
            sealer_address: config.sealer.address(),
            code_cache: CodeCache::default(),
            pool: Mutex::new(Pool::default()),
            wake: Condvar::new(),
            tip: watch::channel(tip.number).0,
        });
        let sealer = Sealer::new(Arc::clone(&shared), config.sealer, tip);
        let handle = std::thread::Builder::new()
            .name("medshare-sealer".into())
            .spawn(move || sealer.run())
            .map_err(|e| Error::Store(format!("cannot start the sealer thread: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                shared,
                sealer: Mutex::new(Some(handle)),
            }),
        })
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// The redb file.
    pub fn path(&self) -> &Path {
        &self.shared().path
    }

    /// The address of the sealing key that signs this chain's headers.
    pub fn sealer_address(&self) -> Address {
        self.shared().sealer_address
    }

    fn reader(&self) -> Result<Reader<'_>> {
        let rtx = self.shared().db.begin_read().map_err(store_err)?;
        Ok(Reader::new(rtx, &self.shared().path))
    }

    /// Runs `f` on tokio's blocking pool (EVM runs and log scans can take milliseconds).
    async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(EmbeddedChain) -> Result<T> + Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || f(this))
            .await
            .map_err(|e| Error::Store(format!("blocking task failed: {e}")))?
    }

    /// Submits many signed transactions at once. Either all are accepted (and, unless they
    /// exceed the block gas limit together, land in the same block) or none is and the first
    /// rejection is returned. Transactions from one sender must be in nonce order.
    pub async fn send_raw_transactions(&self, raws: Vec<Bytes>) -> Result<Vec<B256>> {
        let rules = self.shared().rules;
        let decode = move |raws: Vec<Bytes>| -> Result<Vec<PendingTx>> {
            raws.into_iter()
                .map(|raw| exec::decode(raw, &rules))
                .collect()
        };
        // Signature recovery costs ~0.1 ms a transaction: keep big batches off the async threads.
        let decoded = if raws.len() > 4 {
            tokio::task::spawn_blocking(move || decode(raws))
                .await
                .map_err(|e| Error::Store(format!("blocking task failed: {e}")))??
        } else {
            decode(raws)?
        };
        self.enqueue(decoded)
    }

    /// Checks decoded transactions against the state and the queue, then queues them (all or
    /// none).
    fn enqueue(&self, txs: Vec<PendingTx>) -> Result<Vec<B256>> {
        let shared = self.shared();
        let mut pool = shared.pool.lock().map_err(lock_err)?;
        if let Some(reason) = &pool.failed {
            return Err(Error::Store(reason.clone()));
        }
        if pool.stopping {
            return Err(Error::Store("the chain is shutting down".into()));
        }
        // Read under the pool lock: the sealer commits a block before it releases that block's
        // transactions from the pool, so a sender without a queue entry has its nonce committed.
        let rtx = shared.db.begin_read().map_err(store_err)?;
        let state = read_state(&rtx, &shared.code_cache)?;
        let mut next: HashMap<Address, u64> = HashMap::new();
        for tx in &txs {
            if pool.pending.contains(&tx.hash) {
                return Err(Error::Rejected(format!("already known: {}", tx.hash)));
            }
            let account = state.account(&tx.sender)?;
            let expected = match next.get(&tx.sender) {
                Some(n) => *n,
                None => match pool.senders.get(&tx.sender) {
                    Some(q) => q.next_nonce,
                    None => account.as_ref().map_or(0, |a| a.nonce),
                },
            };
            exec::check_against_state(tx, account.as_ref(), expected)?;
            next.insert(tx.sender, expected + 1);
        }
        let mut hashes = Vec::with_capacity(txs.len());
        for tx in txs {
            let q = pool.senders.entry(tx.sender).or_insert(SenderQueue {
                next_nonce: 0,
                outstanding: 0,
            });
            q.next_nonce = tx.env.nonce + 1;
            q.outstanding += 1;
            pool.pending.insert(tx.hash);
            hashes.push(tx.hash);
            pool.queue.push(tx);
        }
        drop(pool);
        shared.wake.notify_one();
        Ok(hashes)
    }

    /// The nonce the next transaction from `address` must carry: its committed nonce plus its
    /// queued transactions (`eth_getTransactionCount(address, "pending")`).
    pub fn pending_nonce(&self, address: Address) -> Result<u64> {
        let shared = self.shared();
        let pool = shared.pool.lock().map_err(lock_err)?;
        if let Some(q) = pool.senders.get(&address) {
            return Ok(q.next_nonce);
        }
        let rtx = shared.db.begin_read().map_err(store_err)?;
        Ok(read_state(&rtx, &shared.code_cache)?
            .account(&address)?
            .map_or(0, |a| a.nonce))
    }

    /// Waits until the transaction `hash` is in a durable block and returns its receipt. Woken
    /// by the sealer, no polling. Fails with [`Error::Rejected`] if the transaction was dropped
    /// when sealed or was never submitted to this chain, and with [`Error::Store`] if the sealer
    /// stopped.
    pub async fn wait_for_receipt(&self, hash: B256) -> Result<TransactionReceipt> {
        let mut changes = self.shared().tip.subscribe();
        loop {
            changes.borrow_and_update();
            if let Some(r) = self.reader()?.receipt(&hash)? {
                return Ok(r);
            }
            let pending = {
                let pool = self.shared().pool.lock().map_err(lock_err)?;
                if let Some(reason) = pool.dropped(&hash) {
                    return Err(Error::Rejected(reason.to_owned()));
                }
                pool.pending.contains(&hash)
            };
            if !pending {
                // It may have been committed between the two reads.
                return match self.reader()?.receipt(&hash)? {
                    Some(r) => Ok(r),
                    None => Err(Error::Rejected(format!("unknown transaction {hash}"))),
                };
            }
            if changes.changed().await.is_err() {
                return Err(Error::Store("the sealer stopped".into()));
            }
        }
    }
}

#[async_trait::async_trait]
impl Ledger for EmbeddedChain {
    async fn chain_id(&self) -> Result<u64> {
        Ok(self.shared().rules.chain_id)
    }

    async fn block_number(&self) -> Result<u64> {
        // The committed tip, read from the store as receipts are: the sealer wakes the `tip`
        // watch only after its commit, and a client that has just read a receipt of the new
        // block must not be told an older latest block (it would build a view without it).
        Ok(self.reader()?.tip()?.header.number)
    }

    fn heads(&self) -> Option<watch::Receiver<u64>> {
        Some(self.shared().tip.subscribe())
    }

    async fn nonce(&self, address: Address) -> Result<u64> {
        let r = self.reader()?;
        Ok(read_state(r.rtx(), &self.shared().code_cache)?
            .account(&address)?
            .map_or(0, |a| a.nonce))
    }

    async fn balance(&self, address: Address) -> Result<U256> {
        let r = self.reader()?;
        Ok(read_state(r.rtx(), &self.shared().code_cache)?
            .account(&address)?
            .map(|a| a.balance)
            .unwrap_or_default())
    }

    async fn code(&self, address: Address) -> Result<Bytes> {
        let r = self.reader()?;
        let state = read_state(r.rtx(), &self.shared().code_cache)?;
        match state.account(&address)? {
            Some(a) => Ok(state.bytecode(a.code_hash)?.original_bytes()),
            None => Ok(Bytes::new()),
        }
    }

    async fn gas_price(&self) -> Result<u128> {
        Ok(self.shared().rules.min_gas_price)
    }

    async fn estimate_gas(&self, tx: &TransactionRequest) -> Result<u64> {
        let req = tx.clone();
        self.blocking(move |this| {
            // Estimated as the transaction will run: in the next block, on the latest state
            // (as geth and anvil estimate against the pending block), so that BLOCKHASH of
            // the latest block and the block number read as they will when it lands.
            let (state, block, rules) = this.pending_env()?;
            exec::estimate_gas(state, &rules, &block, &req)
        })
        .await
    }

    async fn call(&self, tx: &TransactionRequest) -> Result<Bytes> {
        let req = tx.clone();
        self.blocking(move |this| {
            let (state, block, rules) = this.latest_env()?;
            exec::call(state, &rules, &block, &req)
        })
        .await
    }

    async fn send_raw_transaction(&self, raw: Bytes) -> Result<B256> {
        let mut hashes = self.send_raw_transactions(vec![raw]).await?;
        hashes
            .pop()
            .ok_or_else(|| Error::Store("no hash for the submitted transaction".into()))
    }

    async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>> {
        self.reader()?.receipt(&hash)
    }

    async fn logs(&self, filter: &Filter) -> Result<Vec<Log>> {
        let filter = filter.clone();
        self.blocking(move |this| {
            let reader = this.reader()?;
            let tip = reader.tip()?.header.number;
            reader.logs(&filter, tip)
        })
        .await
    }

    async fn block(&self, number: u64) -> Result<Option<Block>> {
        self.reader()?.block(number)
    }

    async fn block_by_hash(&self, hash: B256) -> Result<Option<Block>> {
        self.reader()?.block_by_hash(&hash)
    }

    async fn transaction(&self, hash: B256) -> Result<Option<Transaction>> {
        self.reader()?.transaction(&hash)
    }

    async fn proof(
        &self,
        address: Address,
        slots: Vec<B256>,
        block: u64,
    ) -> Result<EIP1186AccountProofResponse> {
        medshare_ledger::check_proof_slots(slots.len())?;
        self.blocking(move |this| this.reader()?.proof(address, &slots, block))
            .await
    }

    async fn header(&self, number: u64) -> Result<Option<alloy_consensus::Header>> {
        Ok(self.reader()?.block_row(number)?.map(|row| row.header))
    }

    async fn send_raw_transactions(&self, raws: Vec<Bytes>) -> Result<Vec<B256>> {
        EmbeddedChain::send_raw_transactions(self, raws).await
    }

    async fn pending_nonce(&self, address: Address) -> Result<u64> {
        EmbeddedChain::pending_nonce(self, address)
    }

    async fn wait_for_receipt(
        &self,
        hash: B256,
        _poll: std::time::Duration,
        timeout: std::time::Duration,
    ) -> Result<TransactionReceipt> {
        tokio::time::timeout(timeout, EmbeddedChain::wait_for_receipt(self, hash))
            .await
            .map_err(|_| Error::Timeout(hash))?
    }
}

impl EmbeddedChain {
    /// Holds (or releases) the sealer, so tests can queue transactions deterministically.
    #[cfg(test)]
    pub(crate) fn hold_sealer(&self, hold: bool) {
        if let Ok(mut pool) = self.shared().pool.lock() {
            pool.hold = hold;
        }
        self.shared().wake.notify_all();
    }

    /// The state, block environment and rules of the latest block, from one snapshot.
    fn latest_env(&self) -> Result<(state::ReadState, revm::context::BlockEnv, Rules)> {
        let shared = self.shared();
        let reader = self.reader()?;
        let tip = reader.tip()?;
        let block = exec::block_env(
            tip.header.number,
            tip.header.timestamp,
            shared.sealer_address,
            shared.rules.block_gas_limit,
            tip.header.parent_hash,
        );
        let state = read_state(reader.rtx(), &shared.code_cache)?;
        Ok((state, block, shared.rules))
    }

    /// The latest state with the environment of the next block (number tip + 1, its parent the
    /// tip), for gas estimates.
    fn pending_env(&self) -> Result<(state::ReadState, revm::context::BlockEnv, Rules)> {
        let shared = self.shared();
        let reader = self.reader()?;
        let tip = reader.tip()?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let block = exec::block_env(
            tip.header.number + 1,
            now.max(tip.header.timestamp),
            shared.sealer_address,
            shared.rules.block_gas_limit,
            tip.hash,
        );
        let state = read_state(reader.rtx(), &shared.code_cache)?;
        Ok((state, block, shared.rules))
    }
}
