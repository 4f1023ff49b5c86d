//! Reads of committed chain data, returned as the alloy RPC types a JSON-RPC node would return.
//!
//! Everything here reads one redb snapshot ([`Reader`]), so a response never mixes two blocks'
//! worth of state. Nothing written by a block is visible before that block's commit.

use std::{
    collections::{BTreeSet, HashMap},
    path::Path,
};

use alloy_consensus::{
    Receipt, ReceiptEnvelope, ReceiptWithBloom, TxEnvelope, TxType, transaction::Recovered,
};
use alloy_eips::{BlockNumberOrTag, eip2718::Decodable2718};
use alloy_primitives::{Address, B256, LogData, U256, keccak256};
use alloy_rpc_types_eth::{
    Block, BlockTransactions, EIP1186AccountProofResponse, EIP1186StorageProof, Filter,
    FilterBlockOption, FilterSet, Header as RpcHeader, Log, Transaction, TransactionReceipt,
    Withdrawals,
};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
use redb::{ReadOnlyTable, ReadTransaction, ReadableTable};

use super::{
    store_err,
    tables::{
        BLOCK_NUMBERS, BLOCK_TXS, BLOCKS, BadRow, BlockRow, FIELD_ADDRESS, FIELD_TOPIC0, LOG_INDEX,
        LOGS, RECEIPTS, StoredLog, StoredReceipt, StoredTx, TXS, decode_row, index_key,
        index_key_position, log_key, split_log_key,
    },
    trie::{self, NODES, Owner, ROOTS, STATE_HISTORY},
};
use crate::{Error, Result};
use medshare_ledger::MAX_LOGS;

/// One read snapshot of the store.
pub(crate) struct Reader<'p> {
    rtx: ReadTransaction,
    path: &'p Path,
}

/// What a log needs from its block.
#[derive(Clone, Copy)]
struct BlockMeta {
    hash: B256,
    timestamp: u64,
}

impl<'p> Reader<'p> {
    pub(crate) fn new(rtx: ReadTransaction, path: &'p Path) -> Self {
        Self { rtx, path }
    }

    /// The snapshot, for state reads.
    pub(crate) fn rtx(&self) -> &ReadTransaction {
        &self.rtx
    }

    fn corrupt(&self, e: BadRow) -> Error {
        Error::Corrupt {
            path: self.path.display().to_string(),
            reason: e.0,
        }
    }

    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        def: redb::TableDefinition<K, V>,
    ) -> Result<ReadOnlyTable<K, V>> {
        self.rtx.open_table(def).map_err(store_err)
    }

    /// The block row of block `number`.
    pub(crate) fn block_row(&self, number: u64) -> Result<Option<BlockRow>> {
        let blocks = self.table(BLOCKS)?;
        let row = blocks.get(number).map_err(store_err)?;
        row.map(|r| BlockRow::decode(r.value()).map_err(|e| self.corrupt(e)))
            .transpose()
    }

    /// The newest block.
    pub(crate) fn tip(&self) -> Result<BlockRow> {
        let blocks = self.table(BLOCKS)?;
        let (_, row) = blocks
            .last()
            .map_err(store_err)?
            .ok_or_else(|| self.corrupt(BadRow("no blocks".into())))?;
        BlockRow::decode(row.value()).map_err(|e| self.corrupt(e))
    }

    /// The number of the block with hash `hash`.
    pub(crate) fn number_of(&self, hash: &B256) -> Result<Option<u64>> {
        let t = self.table(BLOCK_NUMBERS)?;
        Ok(t.get(&hash.0).map_err(store_err)?.map(|g| g.value()))
    }

    fn block_meta(&self, cache: &mut HashMap<u64, BlockMeta>, number: u64) -> Result<BlockMeta> {
        if let Some(m) = cache.get(&number) {
            return Ok(*m);
        }
        let row = self.block_row(number)?.ok_or_else(|| {
            self.corrupt(BadRow(format!("block {number} referenced but missing")))
        })?;
        let meta = BlockMeta {
            hash: row.hash,
            timestamp: row.header.timestamp,
        };
        cache.insert(number, meta);
        Ok(meta)
    }

    /// `eth_getBlockByNumber` with transaction hashes.
    pub(crate) fn block(&self, number: u64) -> Result<Option<Block>> {
        let Some(row) = self.block_row(number)? else {
            return Ok(None);
        };
        let txs = self.table(BLOCK_TXS)?;
        let hashes = match txs.get(number).map_err(store_err)? {
            Some(g) => {
                let bytes = g.value();
                if bytes.len() % 32 != 0 {
                    return Err(self.corrupt(BadRow(format!("block {number} tx list length"))));
                }
                bytes.chunks_exact(32).map(B256::from_slice).collect()
            }
            None => Vec::new(),
        };
        Ok(Some(Block {
            header: RpcHeader {
                hash: row.hash,
                inner: row.header,
                total_difficulty: None,
                size: None,
            },
            uncles: Vec::new(),
            transactions: BlockTransactions::Hashes(hashes),
            withdrawals: Some(Withdrawals::default()),
        }))
    }

    /// `eth_getBlockByHash` with transaction hashes.
    pub(crate) fn block_by_hash(&self, hash: &B256) -> Result<Option<Block>> {
        match self.number_of(hash)? {
            Some(n) => self.block(n),
            None => Ok(None),
        }
    }

    fn stored_log(
        &self,
        logs: &ReadOnlyTable<&'static [u8; 12], &'static [u8]>,
        block: u64,
        index: u32,
    ) -> Result<StoredLog> {
        let row = logs
            .get(&log_key(block, index))
            .map_err(store_err)?
            .ok_or_else(|| self.corrupt(BadRow(format!("log {block}/{index} missing"))))?;
        decode_row("log", row.value()).map_err(|e| self.corrupt(e))
    }

    /// `eth_getTransactionReceipt`.
    pub(crate) fn receipt(&self, hash: &B256) -> Result<Option<TransactionReceipt>> {
        let receipts = self.table(RECEIPTS)?;
        let Some(row) = receipts.get(&hash.0).map_err(store_err)? else {
            return Ok(None);
        };
        let r: StoredReceipt = decode_row("receipt", row.value()).map_err(|e| self.corrupt(e))?;
        let meta = self.block_meta(&mut HashMap::new(), r.block_number)?;
        let logs_table = self.table(LOGS)?;
        let mut logs = Vec::with_capacity(r.log_count as usize);
        for i in 0..r.log_count {
            let index = u32::try_from(r.first_log_index + i)
                .map_err(|_| self.corrupt(BadRow("log index out of range".into())))?;
            let log = self.stored_log(&logs_table, r.block_number, index)?;
            logs.push(rpc_log(log, r.block_number, meta, index));
        }
        let tx_type = TxType::try_from(r.tx_type)
            .map_err(|e| self.corrupt(BadRow(format!("receipt tx type: {e}"))))?;
        let receipt = Receipt {
            status: r.success.into(),
            cumulative_gas_used: r.cumulative_gas_used,
            logs,
        };
        let logs_bloom = receipt.bloom_slow();
        Ok(Some(TransactionReceipt {
            inner: ReceiptEnvelope::from_typed(
                tx_type,
                ReceiptWithBloom {
                    receipt,
                    logs_bloom,
                },
            ),
            transaction_hash: *hash,
            transaction_index: Some(r.tx_index),
            block_hash: Some(meta.hash),
            block_number: Some(r.block_number),
            gas_used: r.gas_used,
            effective_gas_price: r.effective_gas_price,
            blob_gas_used: None,
            blob_gas_price: None,
            from: r.from,
            to: r.to.0,
            contract_address: r.contract_address.0,
        }))
    }

    /// `eth_getTransactionByHash` (mined transactions only).
    pub(crate) fn transaction(&self, hash: &B256) -> Result<Option<Transaction>> {
        let txs = self.table(TXS)?;
        let Some(row) = txs.get(&hash.0).map_err(store_err)? else {
            return Ok(None);
        };
        let t: StoredTx = decode_row("transaction", row.value()).map_err(|e| self.corrupt(e))?;
        let envelope = TxEnvelope::decode_2718_exact(&t.raw)
            .map_err(|e| self.corrupt(BadRow(format!("stored transaction {hash}: {e}"))))?;
        let meta = self.block_meta(&mut HashMap::new(), t.block_number)?;
        let effective_gas_price =
            alloy_consensus::Transaction::effective_gas_price(&envelope, Some(0));
        Ok(Some(Transaction {
            inner: Recovered::new_unchecked(envelope, t.sender),
            block_hash: Some(meta.hash),
            block_number: Some(t.block_number),
            transaction_index: Some(t.tx_index),
            effective_gas_price: Some(effective_gas_price),
            block_timestamp: Some(meta.timestamp),
        }))
    }

    /// `eth_getLogs`. When the filter names topics or addresses, candidates come from the log
    /// index (most specific field first: topic 3, 2, 1, 0, then address); otherwise the block
    /// range of the log table is scanned. Every candidate is checked against the whole filter.
    pub(crate) fn logs(&self, filter: &Filter, tip: u64) -> Result<Vec<Log>> {
        let (from, to) = match filter.block_option {
            FilterBlockOption::AtBlockHash(h) => match self.number_of(&h)? {
                Some(n) => (n, n),
                None => return Err(Error::InvalidRequest(format!("unknown block hash {h}"))),
            },
            FilterBlockOption::Range {
                from_block,
                to_block,
            } => (resolve(from_block, tip), resolve(to_block, tip).min(tip)),
        };
        if from > to {
            if from > tip {
                return Ok(Vec::new());
            }
            return Err(Error::InvalidRequest(format!(
                "invalid block range: from block {from} is after to block {to}"
            )));
        }
        let logs_table = self.table(LOGS)?;
        let mut positions: BTreeSet<(u64, u32)> = BTreeSet::new();
        // Over more than one block, at most MAX_LOGS logs (and 10× as many candidates read
        // from the index): memory stays bounded whatever the chain holds. One block is always
        // answered, its gas bounding its logs, so a client can narrow until it is.
        let too_many = |found: usize| {
            if from < to && found > 10 * MAX_LOGS {
                Err(Error::TooManyLogs {
                    from,
                    to,
                    limit: MAX_LOGS,
                })
            } else {
                Ok(())
            }
        };
        // Every field the filter constrains, most specific first (a topic naming one owner or
        // record beats the event signature, which beats the contract address).
        let mut fields: Vec<(u8, Vec<B256>)> = [3usize, 2, 1, 0]
            .into_iter()
            .filter(|&i| !filter.topics[i].is_empty())
            .map(|i| (FIELD_TOPIC0 + i as u8, topic_values(&filter.topics[i])))
            .collect();
        if !filter.address.is_empty() {
            fields.push((
                FIELD_ADDRESS,
                filter.address.iter().map(|a| a.into_word()).collect(),
            ));
        }
        if !fields.is_empty() {
            let index = self.table(LOG_INDEX)?;
            let scan = |field: u8, v: &B256| {
                let lo = index_key(field, v, from, 0);
                let hi = index_key(field, v, to, u32::MAX);
                index.range::<&[u8; 45]>(&lo..=&hi).map_err(store_err)
            };
            // Use the field with the fewest index entries in range, counting each only up to
            // PROBE entries so that the choice stays cheap when all of them are common.
            const PROBE: usize = 1024;
            let mut best: Option<(usize, usize)> = None;
            for (i, (field, values)) in fields.iter().enumerate() {
                let mut count = 0;
                for v in values {
                    count += scan(*field, v)?.take(PROBE - count.min(PROBE)).count();
                }
                if best.is_none_or(|(_, c)| count < c) {
                    best = Some((i, count));
                }
                if count < PROBE {
                    break;
                }
            }
            let (chosen, _) = best.unwrap_or_default();
            let (field, values) = &fields[chosen];
            for v in values {
                for entry in scan(*field, v)? {
                    let (k, _) = entry.map_err(store_err)?;
                    positions.insert(index_key_position(k.value()));
                    too_many(positions.len())?;
                }
            }
        } else {
            let lo = log_key(from, 0);
            let hi = log_key(to, u32::MAX);
            for entry in logs_table
                .range::<&[u8; 12]>(&lo..=&hi)
                .map_err(store_err)?
            {
                let (k, _) = entry.map_err(store_err)?;
                positions.insert(split_log_key(k.value()));
                too_many(positions.len())?;
            }
        }
        let mut metas = HashMap::new();
        let mut out = Vec::new();
        for (block, index) in positions {
            let log = self.stored_log(&logs_table, block, index)?;
            if !filter.matches_address(log.address) || !filter.matches_topics(&log.topics) {
                continue;
            }
            let meta = self.block_meta(&mut metas, block)?;
            out.push(rpc_log(log, block, meta, index));
            if from < to && out.len() > MAX_LOGS {
                return Err(Error::TooManyLogs {
                    from,
                    to,
                    limit: MAX_LOGS,
                });
            }
        }
        Ok(out)
    }
}

impl Reader<'_> {
    /// `eth_getProof` at block `number`: the account at `address` and the given storage slots,
    /// with their Merkle proofs against that block's state root. Blocks older than
    /// [`STATE_HISTORY`] before the tip are refused (their replaced trie nodes are pruned).
    pub(crate) fn proof(
        &self,
        address: Address,
        slots: &[B256],
        number: u64,
    ) -> Result<EIP1186AccountProofResponse> {
        let tip = self.tip()?.header.number;
        if number > tip {
            return Err(Error::InvalidRequest(format!(
                "block {number} is not sealed yet (the tip is {tip})"
            )));
        }
        if number.saturating_add(STATE_HISTORY) < tip {
            return Err(Error::InvalidRequest(format!(
                "the state of block {number} is no longer kept: proofs are served for the last \
                 {STATE_HISTORY} blocks before the tip ({}..={tip})",
                tip - STATE_HISTORY
            )));
        }
        let header = self
            .block_row(number)?
            .ok_or_else(|| self.corrupt(BadRow(format!("block {number} is missing"))))?
            .header;
        let nodes = self.table(NODES)?;
        let born = trie::root_born(&self.table(ROOTS)?, number, header.state_root, self.path)?;
        let (account_proof, leaf) = trie::prove(
            &nodes,
            Owner::State,
            header.state_root,
            born,
            keccak256(address),
            self.path,
        )?;
        let (nonce, balance, storage_root, code_hash, storage_born) = match leaf {
            Some((leaf, storage_born)) => {
                let a = trie::decode_trie_account(&leaf, self.path)?;
                let storage_born = storage_born.unwrap_or_default();
                (
                    a.nonce,
                    a.balance,
                    a.storage_root,
                    a.code_hash,
                    storage_born,
                )
            }
            None => (0, U256::ZERO, EMPTY_ROOT_HASH, KECCAK_EMPTY, 0),
        };
        let mut storage_proof = Vec::with_capacity(slots.len());
        for slot in slots {
            let (proof, leaf) = trie::prove(
                &nodes,
                Owner::Storage(address),
                storage_root,
                storage_born,
                keccak256(slot),
                self.path,
            )?;
            let value = leaf
                .map(|(l, _)| trie::decode_storage_leaf(&l, self.path))
                .transpose()?
                .unwrap_or_default();
            storage_proof.push(EIP1186StorageProof {
                key: (*slot).into(),
                value,
                proof,
            });
        }
        Ok(EIP1186AccountProofResponse {
            address,
            balance,
            code_hash,
            nonce,
            storage_hash: storage_root,
            account_proof,
            storage_proof,
        })
    }
}

fn topic_values(set: &FilterSet<B256>) -> Vec<B256> {
    set.iter().copied().collect()
}

/// Resolves a filter bound: a number, or a tag meaning the tip (latest, pending, safe,
/// finalized: one sealer, instant finality) or genesis (earliest). Absent means latest.
fn resolve(tag: Option<BlockNumberOrTag>, tip: u64) -> u64 {
    match tag {
        Some(BlockNumberOrTag::Number(n)) => n,
        Some(BlockNumberOrTag::Earliest) => 0,
        _ => tip,
    }
}

fn rpc_log(log: StoredLog, block: u64, meta: BlockMeta, index: u32) -> Log {
    Log {
        inner: alloy_primitives::Log {
            address: log.address,
            data: LogData::new_unchecked(log.topics, log.data),
        },
        block_hash: Some(meta.hash),
        block_number: Some(block),
        block_timestamp: Some(meta.timestamp),
        transaction_hash: Some(log.tx_hash),
        transaction_index: Some(log.tx_index),
        log_index: Some(u64::from(index)),
        removed: false,
    }
}
