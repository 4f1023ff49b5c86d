//! The pending queue and the sealer thread (group commit).
//!
//! Submitted transactions wait in [`Pool`]. The sealer thread takes *all* of them at once,
//! executes them in order into one block and commits, in one redb write transaction with
//! immediate durability and two-phase commit, the sealed header, the raw transactions,
//! receipts, logs, log index entries, the state changes and the trie nodes they made (the
//! header's state root is the Merkle-Patricia root of the state after the block, see `trie`). Only after that commit returns does it
//! release the transactions from the pool and wake receipt waiters, so a receipt is never visible
//! before its block is on disk. While one block commits, new submissions accumulate for the next.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use alloy_consensus::{
    EMPTY_OMMER_ROOT_HASH, Header, Receipt, ReceiptEnvelope, Transaction as _, TxType,
    Typed2718 as _,
    constants::EMPTY_ROOT_HASH,
    proofs::{calculate_receipt_root, ordered_trie_root_with_encoder},
};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bloom, Bytes};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use redb::Durability;
use revm::{
    ExecuteEvm,
    context::{
        ContextTr,
        result::{EVMError, ExecutionResult},
    },
};

use medshare_light::header::{VANITY, seal_hash, sealed_extra_data};

use super::{
    Shared,
    exec::{self, PendingTx},
    state::{BlockDiff, StateDb},
    store_err,
    tables::{
        ACCOUNTS, BLOCK_NUMBERS, BLOCK_TXS, BLOCKS, BlockRow, CODE, FIELD_ADDRESS, FIELD_TOPIC0,
        LOG_INDEX, LOGS, OptAddress, RECEIPTS, STORAGE, StoredLog, StoredReceipt, StoredTx, TXS,
        encode_row, index_key, log_key,
    },
    trie::{self, DEATHS, NODES, ROOTS, STORAGE_ROOTS, TrieTables},
};
use crate::{Error, Result};

/// How many dropped transactions the pool remembers for [`super::EmbeddedChain::wait_for_receipt`].
const DROPPED_MEMORY: usize = 4096;

/// The newest sealed block, as the sealer needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tip {
    pub(crate) number: u64,
    pub(crate) hash: B256,
    pub(crate) state_root: B256,
    pub(crate) timestamp: u64,
}

/// Per-sender bookkeeping for queued (or being-sealed) transactions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SenderQueue {
    /// The nonce the next submission from this sender must carry.
    pub(crate) next_nonce: u64,
    /// How many of its transactions are queued or being sealed.
    pub(crate) outstanding: usize,
}

/// Transactions accepted but not yet in a committed block.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    /// Waiting for the sealer, in submission order.
    pub(crate) queue: Vec<PendingTx>,
    /// Senders with outstanding transactions. A sender without an entry is expected to use its
    /// committed account nonce.
    pub(crate) senders: HashMap<Address, SenderQueue>,
    /// Hashes queued or being sealed.
    pub(crate) pending: HashSet<B256>,
    /// Transactions accepted but rejected by the EVM when sealed, with the reason.
    dropped: HashMap<B256, String>,
    dropped_order: VecDeque<B256>,
    /// Set when the chain is dropped: seal what is queued, then stop.
    pub(crate) stopping: bool,
    /// Set if sealing failed (store error): nothing more is accepted.
    pub(crate) failed: Option<String>,
    /// Tests hold the sealer to make batching deterministic.
    #[cfg(test)]
    pub(crate) hold: bool,
}

impl Pool {
    /// Whether the sealer must leave the queue alone for now (tests only).
    fn held(&self) -> bool {
        #[cfg(test)]
        {
            self.hold && !self.stopping
        }
        #[cfg(not(test))]
        {
            false
        }
    }

    /// Why `hash` was dropped, if it was.
    pub(crate) fn dropped(&self, hash: &B256) -> Option<&str> {
        self.dropped.get(hash).map(String::as_str)
    }

    fn remember_dropped(&mut self, hash: B256, reason: String) {
        if self.dropped.insert(hash, reason).is_none() {
            self.dropped_order.push_back(hash);
        }
        while self.dropped_order.len() > DROPPED_MEMORY {
            if let Some(old) = self.dropped_order.pop_front() {
                self.dropped.remove(&old);
            }
        }
    }

    /// Settles one transaction that left the pool (sealed or dropped).
    fn release(&mut self, hash: &B256, sender: &Address) {
        self.pending.remove(hash);
        if let Some(q) = self.senders.get_mut(sender) {
            q.outstanding = q.outstanding.saturating_sub(1);
            if q.outstanding == 0 {
                self.senders.remove(sender);
            }
        }
    }
}

/// A Cancun-shaped header with the fields every block of this chain shares (not yet sealed: its
/// extra data is the bare vanity).
pub(crate) fn base_header(sealer: Address, gas_limit: u64) -> Header {
    Header {
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: sealer,
        transactions_root: EMPTY_ROOT_HASH,
        receipts_root: EMPTY_ROOT_HASH,
        gas_limit,
        extra_data: Bytes::from_static(&VANITY),
        base_fee_per_gas: Some(0),
        withdrawals_root: Some(EMPTY_ROOT_HASH),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(B256::ZERO),
        ..Default::default()
    }
}

/// Seals `header` with the sealing key, Clique style: signs its seal hash and puts the signature
/// in its extra data (`medshare_light::header`). Returns the sealed header's row.
pub(crate) fn seal(signer: &PrivateKeySigner, mut header: Header) -> Result<BlockRow> {
    let signature = signer
        .sign_hash_sync(&seal_hash(&header))
        .map_err(|e| Error::Store(format!("sealing failed: {e}")))?;
    header.extra_data = sealed_extra_data(&signature);
    Ok(BlockRow {
        hash: header.hash_slow(),
        header,
    })
}

/// A transaction executed into the block being sealed.
struct Executed {
    tx: PendingTx,
    result: ExecutionResult,
    gas_used: u64,
    cumulative: u64,
}

/// What one sealing round did.
#[derive(Default)]
struct Outcome {
    included: Vec<(B256, Address)>,
    dropped: Vec<(B256, Address, String)>,
    deferred: Vec<PendingTx>,
    sealed: Option<Tip>,
}

/// The sealer thread's state.
pub(crate) struct Sealer {
    shared: Arc<Shared>,
    signer: PrivateKeySigner,
    tip: Tip,
}

impl Sealer {
    pub(crate) fn new(shared: Arc<Shared>, signer: PrivateKeySigner, tip: Tip) -> Self {
        Self {
            shared,
            signer,
            tip,
        }
    }

    /// Seals until the chain is dropped (after sealing what is queued) or a store error occurs.
    /// A panic (a bug) is caught and stops the chain like a store error, so no waiter hangs.
    pub(crate) fn run(self) {
        let shared = Arc::clone(&self.shared);
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.seal_until_stopped()))
            .is_err()
        {
            fail(&shared, &Error::Store("the sealer panicked".into()));
        }
    }

    fn seal_until_stopped(mut self) {
        loop {
            let batch = {
                let Ok(mut pool) = self.shared.pool.lock() else {
                    return;
                };
                loop {
                    if !pool.queue.is_empty() && !pool.held() {
                        break std::mem::take(&mut pool.queue);
                    }
                    if pool.stopping {
                        return;
                    }
                    pool = match self.shared.wake.wait(pool) {
                        Ok(p) => p,
                        Err(_) => return,
                    };
                }
            };
            match self.seal_block(batch) {
                Ok(outcome) => self.settle(outcome),
                Err(e) => {
                    fail(&self.shared, &e);
                    return;
                }
            }
        }
    }

    fn settle(&mut self, outcome: Outcome) {
        if let Some(tip) = outcome.sealed {
            self.tip = tip;
        }
        if let Ok(mut pool) = self.shared.pool.lock() {
            for (hash, sender) in &outcome.included {
                pool.release(hash, sender);
            }
            for (hash, sender, reason) in outcome.dropped.iter() {
                pool.release(hash, sender);
                pool.remember_dropped(*hash, format!("dropped when sealing: {reason}"));
            }
            if !outcome.deferred.is_empty() {
                let later = std::mem::take(&mut pool.queue);
                pool.queue = outcome.deferred;
                pool.queue.extend(later);
            }
        }
        if !outcome.dropped.is_empty() || outcome.sealed.is_some() {
            // Wakes every receipt waiter; they re-read the store and the pool.
            self.shared.tip.send_replace(self.tip.number);
        }
    }

    /// Executes `batch` into one block and commits it. Transactions the EVM refuses are dropped;
    /// those that no longer fit in the block gas limit are deferred to the next block.
    fn seal_block(&mut self, batch: Vec<PendingTx>) -> Result<Outcome> {
        let shared = Arc::clone(&self.shared);
        let rules = shared.rules;
        let number = self.tip.number + 1;
        let timestamp = now().max(self.tip.timestamp);
        let block = exec::block_env(
            number,
            timestamp,
            shared.sealer_address,
            rules.block_gas_limit,
            self.tip.hash,
        );
        let mut wtx = shared.db.begin_write().map_err(store_err)?;
        // Durable when commit returns; two-phase so that a damaged newest commit is reported as
        // corruption on open instead of being silently rolled back.
        wtx.set_durability(Durability::Immediate)
            .map_err(store_err)?;
        wtx.set_two_phase_commit(true);
        let mut outcome = Outcome::default();

        let (executed, diff) = execute(&wtx, &shared, block, batch, &mut outcome)?;
        if executed.is_empty() {
            wtx.abort().map_err(store_err)?;
            return Ok(outcome);
        }

        let mut blocks = wtx.open_table(BLOCKS).map_err(store_err)?;
        let mut txs = wtx.open_table(TXS).map_err(store_err)?;
        let mut receipts = wtx.open_table(RECEIPTS).map_err(store_err)?;
        let mut logs = wtx.open_table(LOGS).map_err(store_err)?;
        let mut index = wtx.open_table(LOG_INDEX).map_err(store_err)?;
        let mut block_numbers = wtx.open_table(BLOCK_NUMBERS).map_err(store_err)?;
        let mut block_txs = wtx.open_table(BLOCK_TXS).map_err(store_err)?;

        let mut logs_bloom = Bloom::default();
        let mut consensus_receipts = Vec::with_capacity(executed.len());
        let mut tx_hashes = Vec::with_capacity(executed.len() * 32);
        let mut log_index: u32 = 0;
        for (i, e) in executed.iter().enumerate() {
            let tx_index = i as u64;
            let envelope = &e.tx.envelope;
            let result_logs = e.result.logs();
            let receipt = Receipt {
                status: e.result.is_success().into(),
                cumulative_gas_used: e.cumulative,
                logs: result_logs.to_vec(),
            }
            .with_bloom();
            logs_bloom.accrue_bloom(&receipt.logs_bloom);
            let tx_type = TxType::try_from(envelope.ty())
                .map_err(|err| Error::Store(format!("unexpected tx type: {err}")))?;
            consensus_receipts.push(ReceiptEnvelope::from_typed(tx_type, receipt));

            txs.insert(
                &e.tx.hash.0,
                encode_row(&StoredTx {
                    block_number: number,
                    tx_index,
                    sender: e.tx.sender,
                    raw: e.tx.raw.clone(),
                })
                .as_slice(),
            )
            .map_err(store_err)?;
            let contract_address = envelope
                .is_create()
                .then(|| e.tx.sender.create(envelope.nonce()));
            receipts
                .insert(
                    &e.tx.hash.0,
                    encode_row(&StoredReceipt {
                        block_number: number,
                        tx_index,
                        tx_type: envelope.ty(),
                        from: e.tx.sender,
                        to: OptAddress(envelope.to()),
                        success: e.result.is_success(),
                        cumulative_gas_used: e.cumulative,
                        gas_used: e.gas_used,
                        effective_gas_price: envelope.effective_gas_price(Some(0)),
                        contract_address: OptAddress(contract_address),
                        first_log_index: u64::from(log_index),
                        log_count: result_logs.len() as u64,
                    })
                    .as_slice(),
                )
                .map_err(store_err)?;
            for log in result_logs {
                let row = StoredLog {
                    tx_hash: e.tx.hash,
                    tx_index,
                    address: log.address,
                    topics: log.topics().to_vec(),
                    data: log.data.data.clone(),
                };
                logs.insert(&log_key(number, log_index), encode_row(&row).as_slice())
                    .map_err(store_err)?;
                index
                    .insert(
                        &index_key(FIELD_ADDRESS, &log.address.into_word(), number, log_index),
                        (),
                    )
                    .map_err(store_err)?;
                for (pos, topic) in log.topics().iter().enumerate() {
                    index
                        .insert(
                            &index_key(FIELD_TOPIC0 + pos as u8, topic, number, log_index),
                            (),
                        )
                        .map_err(store_err)?;
                }
                log_index = log_index
                    .checked_add(1)
                    .ok_or_else(|| Error::Store("too many logs in one block".into()))?;
            }
            tx_hashes.extend_from_slice(e.tx.hash.as_slice());
        }

        let gas_used = executed.last().map(|e| e.cumulative).unwrap_or_default();
        let state_root = {
            let mut nodes = wtx.open_table(NODES).map_err(store_err)?;
            let mut roots = wtx.open_table(ROOTS).map_err(store_err)?;
            let mut storage_roots = wtx.open_table(STORAGE_ROOTS).map_err(store_err)?;
            let mut deaths = wtx.open_table(DEATHS).map_err(store_err)?;
            let tables = TrieTables {
                nodes: &mut nodes,
                roots: &mut roots,
                storage_roots: &mut storage_roots,
                deaths: &mut deaths,
            };
            trie::commit_block(tables, &diff, number, self.tip.state_root, &shared.path)?
        };
        let header = Header {
            parent_hash: self.tip.hash,
            state_root,
            transactions_root: ordered_trie_root_with_encoder(&executed, |e, buf| {
                e.tx.envelope.encode_2718(buf)
            }),
            receipts_root: calculate_receipt_root(&consensus_receipts),
            logs_bloom,
            number,
            gas_used,
            timestamp,
            mix_hash: self.tip.hash,
            ..base_header(shared.sealer_address, rules.block_gas_limit)
        };
        let row = seal(&self.signer, header)?;
        let hash = row.hash;
        blocks
            .insert(number, row.encode().as_slice())
            .map_err(store_err)?;
        block_numbers.insert(&hash.0, number).map_err(store_err)?;
        block_txs
            .insert(number, tx_hashes.as_slice())
            .map_err(store_err)?;
        drop((txs, receipts, logs, index, block_numbers, block_txs, blocks));
        wtx.commit().map_err(store_err)?;

        outcome.included = executed.iter().map(|e| (e.tx.hash, e.tx.sender)).collect();
        outcome.sealed = Some(Tip {
            number,
            hash,
            state_root,
            timestamp,
        });
        Ok(outcome)
    }
}

/// Stops accepting transactions after a sealing failure and tells every waiter.
fn fail(shared: &Shared, e: &Error) {
    tracing::error!(error = %e, "sealer stopped");
    let reason = format!("the sealer stopped: {e}");
    let mut pool = match shared.pool.lock() {
        Ok(p) => p,
        Err(poisoned) => poisoned.into_inner(),
    };
    pool.failed = Some(reason.clone());
    let hashes: Vec<B256> = pool.pending.drain().collect();
    for h in hashes {
        pool.remember_dropped(h, reason.clone());
    }
    pool.queue.clear();
    pool.senders.clear();
    drop(pool);
    // Wake every waiter without changing the tip.
    shared.tip.send_modify(|_| {});
}

/// Executes `batch` in order against the state tables of `wtx`, applying each transaction's
/// changes before the next runs. Returns the executed transactions and what they changed in the
/// state; refused transactions go to `outcome.dropped`, those over the gas limit to
/// `outcome.deferred`.
fn execute(
    wtx: &redb::WriteTransaction,
    shared: &Shared,
    block: revm::context::BlockEnv,
    batch: Vec<PendingTx>,
    outcome: &mut Outcome,
) -> Result<(Vec<Executed>, BlockDiff)> {
    let rules = shared.rules;
    let mut state = StateDb {
        accounts: wtx.open_table(ACCOUNTS).map_err(store_err)?,
        code: wtx.open_table(CODE).map_err(store_err)?,
        storage: wtx.open_table(STORAGE).map_err(store_err)?,
        blocks: wtx.open_table(BLOCKS).map_err(store_err)?,
        code_cache: Arc::clone(&shared.code_cache),
    };
    let mut evm = exec::evm(&mut state, rules.chain_id, block, false);
    let mut executed: Vec<Executed> = Vec::with_capacity(batch.len());
    let mut diff = BlockDiff::default();
    let mut cumulative = 0u64;
    let mut batch = batch.into_iter();
    while let Some(tx) = batch.next() {
        if tx.env.gas_limit > rules.block_gas_limit {
            // Admission refuses these; never defer one that can fit in no block.
            let reason = format!("gas limit {} exceeds the block gas limit", tx.env.gas_limit);
            outcome.dropped.push((tx.hash, tx.sender, reason));
            continue;
        }
        if cumulative.saturating_add(tx.env.gas_limit) > rules.block_gas_limit {
            outcome.deferred.push(tx);
            outcome.deferred.extend(batch);
            break;
        }
        match evm.transact(tx.env.clone()) {
            Ok(r) => {
                evm.ctx.db_mut().apply(&r.state, &mut diff)?;
                let gas_used = r.result.tx_gas_used();
                cumulative += gas_used;
                executed.push(Executed {
                    tx,
                    result: r.result,
                    gas_used,
                    cumulative,
                });
            }
            Err(EVMError::Transaction(e)) => {
                outcome.dropped.push((tx.hash, tx.sender, e.to_string()));
            }
            Err(e) => return Err(exec::evm_error(e)),
        }
    }
    Ok((executed, diff))
}

/// Seconds since the Unix epoch (0 if the clock is before it).
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
