//! Opening the store: create it with its genesis block, or verify an existing one before serving
//! it.
//!
//! An existing store is served only if (1) redb opens it (with page-checksum verification of
//! every committed page when [`super::ChainConfig::verify_store_integrity`] is on, which is the
//! default); (2) its metadata names this format, this chain id and this node's sealer, and, if
//! the caller gave a genesis allocation, the genesis matches it; (3) the blocks form an unbroken
//! hash chain from the recorded genesis to the tip: every stored hash is the hash of its header,
//! every header's number and parent hash follow from the previous block, timestamps do not go
//! back, the hash → number index agrees, and every header's seal (in its extra data) recovers to
//! the sealer's address; (4) the tip's state root is the root node of the stored account trie
//! (present, and hashing to it); and, when [`super::ChainConfig::verify_state`] is on (the
//! default), the state root recomputed from scratch from the account and storage tables is the
//! tip's: the state revm executes on is the state the headers commit to and proofs show.

use std::{
    io::ErrorKind,
    path::{Path, PathBuf},
};

use alloy_consensus::Header;
use alloy_primitives::{Address, B256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, HashBuilder, KECCAK_EMPTY, Nibbles};
use redb::{
    Builder, Database, DatabaseError, Durability, ReadableDatabase, ReadableTable,
    ReadableTableMetadata, StorageError, TableError,
};
use revm::state::AccountInfo;

use super::{
    ChainConfig,
    sealer::{Tip, base_header, seal},
    store_err,
    tables::{
        ACCOUNTS, BLOCK_NUMBERS, BLOCK_TXS, BLOCKS, BlockRow, CODE, FORMAT, LOG_INDEX, LOGS, META,
        META_CHAIN_ID, META_FORMAT, META_GENESIS, META_SEALER, RECEIPTS, STORAGE, TXS,
        encode_account,
    },
    trie::{self, DEATHS, NODES, Owner, ROOTS, STORAGE_ROOTS, TrieWriter, account_leaf},
};
use crate::{Error, Result};

/// The redb file inside the chain directory.
pub(crate) const DB_FILE: &str = "chain.redb";

/// Seals are checked in chunks of this many headers, spread over the available cores.
const SEAL_CHUNK: usize = 8192;

/// Opens (or creates) the store in `dir` and verifies it. Returns the database, its path and
/// the tip.
pub(crate) fn open(dir: &Path, config: &ChainConfig) -> Result<(Database, PathBuf, Tip)> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Store(format!("cannot create {}: {e}", dir.display())))?;
    let path = dir.join(DB_FILE);
    let mut builder = Builder::new();
    builder.set_check_integrity_on_open(config.verify_store_integrity);
    builder.set_cache_size(config.cache_bytes);
    let v = Verifier {
        path: &path,
        config,
    };
    let db = if path.exists() {
        let db = builder.open(&path).map_err(|e| open_error(&path, e))?;
        if !v.initialized(&db)? {
            v.create_genesis(&db)?;
        }
        db
    } else {
        create(dir, &path, &builder, &v)?
    };
    let tip = v.verify(&db)?;
    Ok((db, path, tip))
}

/// Creates a new store with its genesis under a temporary name and renames it into place, so
/// that a crash during creation leaves no half-made `chain.redb` (which would be refused).
fn create(dir: &Path, path: &Path, builder: &Builder, v: &Verifier<'_>) -> Result<Database> {
    let io =
        |what: &str, e: std::io::Error| Error::Store(format!("{what} in {}: {e}", dir.display()));
    let tmp = dir.join(format!("{DB_FILE}.creating"));
    if tmp.exists() {
        std::fs::remove_file(&tmp).map_err(|e| io("cannot remove a stale store", e))?;
    }
    let db = builder.create(&tmp).map_err(|e| open_error(&tmp, e))?;
    v.create_genesis(&db)?;
    std::fs::rename(&tmp, path).map_err(|e| io("cannot move the new store into place", e))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("cannot sync the directory", e))?;
    Ok(db)
}

fn open_error(path: &Path, e: DatabaseError) -> Error {
    match e {
        DatabaseError::DatabaseAlreadyOpen => Error::Store(format!(
            "{} is already open in another process or handle",
            path.display()
        )),
        DatabaseError::Storage(StorageError::Io(io))
            if !matches!(io.kind(), ErrorKind::UnexpectedEof | ErrorKind::InvalidData) =>
        {
            Error::Store(format!("cannot open {}: {io}", path.display()))
        }
        other => Error::Corrupt {
            path: path.display().to_string(),
            reason: format!("redb refused the file: {other}"),
        },
    }
}

/// The genesis accounts' leaves, sorted by key: funded accounts with no code or storage.
fn genesis_leaves(config: &ChainConfig) -> Vec<(B256, Vec<u8>)> {
    let mut leaves: Vec<(B256, Vec<u8>)> = config
        .genesis_alloc
        .iter()
        .map(|(address, balance)| {
            let leaf = account_leaf(0, *balance, EMPTY_ROOT_HASH, KECCAK_EMPTY);
            (keccak256(address), leaf)
        })
        .collect();
    leaves.sort_unstable_by_key(|a| a.0);
    leaves
}

/// The standard state root of the genesis allocation (as any Ethereum client computes it).
pub(crate) fn genesis_state_root(config: &ChainConfig) -> B256 {
    let mut hb = HashBuilder::default();
    for (key, leaf) in genesis_leaves(config) {
        hb.add_leaf(Nibbles::unpack(key), &leaf);
    }
    hb.root()
}

fn funded(balance: alloy_primitives::U256) -> AccountInfo {
    AccountInfo {
        balance,
        ..Default::default()
    }
}

struct Verifier<'a> {
    path: &'a Path,
    config: &'a ChainConfig,
}

impl Verifier<'_> {
    fn corrupt(&self, reason: impl Into<String>) -> Error {
        Error::Corrupt {
            path: self.path.display().to_string(),
            reason: reason.into(),
        }
    }

    fn mismatch(&self, reason: impl Into<String>) -> Error {
        Error::ChainMismatch {
            path: self.path.display().to_string(),
            reason: reason.into(),
        }
    }

    /// Whether the chain metadata exists. A file with no tables at all (created, then the
    /// process died before the genesis commit) counts as new; one with tables but no metadata
    /// is refused.
    fn initialized(&self, db: &Database) -> Result<bool> {
        let rtx = db.begin_read().map_err(store_err)?;
        match rtx.open_table(META) {
            Ok(meta) => Ok(meta.get(META_FORMAT).map_err(store_err)?.is_some()),
            Err(TableError::TableDoesNotExist(_)) => {
                if rtx.list_tables().map_err(store_err)?.next().is_some() {
                    Err(self.corrupt("the chain metadata table is missing"))
                } else {
                    Ok(false)
                }
            }
            Err(e) => Err(store_err(e)),
        }
    }

    /// Writes metadata, the genesis allocation, its state trie and block 0 in one durable
    /// commit.
    fn create_genesis(&self, db: &Database) -> Result<()> {
        let config = self.config;
        let sealer = config.sealer.address();
        let mut wtx = db.begin_write().map_err(store_err)?;
        wtx.set_durability(Durability::Immediate)
            .map_err(store_err)?;
        wtx.set_two_phase_commit(true);
        {
            let state_root = {
                let mut nodes = wtx.open_table(NODES).map_err(store_err)?;
                let mut writer = TrieWriter::new(&mut nodes, 0, self.path);
                let leaves = genesis_leaves(config)
                    .into_iter()
                    .map(|(k, v)| (k, Some((v, None))))
                    .collect();
                let (root, born) = writer.update(Owner::State, EMPTY_ROOT_HASH, 0, leaves)?;
                writer.finish()?;
                let mut roots = wtx.open_table(ROOTS).map_err(store_err)?;
                if root != EMPTY_ROOT_HASH {
                    roots.insert(0, born).map_err(store_err)?;
                }
                root
            };
            let row = seal(
                &config.sealer,
                Header {
                    state_root,
                    ..base_header(sealer, config.block_gas_limit)
                },
            )?;
            let hash = row.hash;
            let mut meta = wtx.open_table(META).map_err(store_err)?;
            meta.insert(META_FORMAT, FORMAT).map_err(store_err)?;
            meta.insert(META_CHAIN_ID, config.chain_id.to_be_bytes().as_slice())
                .map_err(store_err)?;
            meta.insert(META_SEALER, sealer.as_slice())
                .map_err(store_err)?;
            meta.insert(META_GENESIS, hash.as_slice())
                .map_err(store_err)?;
            let mut accounts = wtx.open_table(ACCOUNTS).map_err(store_err)?;
            for (address, balance) in &config.genesis_alloc {
                accounts
                    .insert(&address.0.0, &encode_account(&funded(*balance)))
                    .map_err(store_err)?;
            }
            wtx.open_table(BLOCKS)
                .map_err(store_err)?
                .insert(0, row.encode().as_slice())
                .map_err(store_err)?;
            wtx.open_table(BLOCK_NUMBERS)
                .map_err(store_err)?
                .insert(&hash.0, 0)
                .map_err(store_err)?;
            // Create the remaining tables so that readers never meet a missing one.
            wtx.open_table(BLOCK_TXS).map_err(store_err)?;
            wtx.open_table(TXS).map_err(store_err)?;
            wtx.open_table(RECEIPTS).map_err(store_err)?;
            wtx.open_table(LOGS).map_err(store_err)?;
            wtx.open_table(LOG_INDEX).map_err(store_err)?;
            wtx.open_table(CODE).map_err(store_err)?;
            wtx.open_table(STORAGE).map_err(store_err)?;
            wtx.open_table(STORAGE_ROOTS).map_err(store_err)?;
            wtx.open_table(DEATHS).map_err(store_err)?;
            wtx.open_table(ROOTS).map_err(store_err)?;
        }
        wtx.commit().map_err(store_err)
    }

    fn meta(
        &self,
        meta: &redb::ReadOnlyTable<&'static str, &'static [u8]>,
        key: &str,
    ) -> Result<Vec<u8>> {
        meta.get(key)
            .map_err(store_err)?
            .map(|g| g.value().to_vec())
            .ok_or_else(|| self.corrupt(format!("chain metadata `{key}` is missing")))
    }

    /// Checks metadata and the header chain; returns the tip.
    fn verify(&self, db: &Database) -> Result<Tip> {
        let rtx = db.begin_read().map_err(store_err)?;
        let meta = rtx
            .open_table(META)
            .map_err(|e| self.corrupt(format!("metadata: {e}")))?;
        let format = self.meta(&meta, META_FORMAT)?;
        if format != FORMAT {
            let found = String::from_utf8_lossy(&format);
            let reason = if format.starts_with(b"medshare-embedded-chain/") {
                format!(
                    "it has store format `{found}`, which this node no longer reads (it reads `{}`, \
                     whose headers carry their seal and a Merkle-Patricia state root); start a new \
                     chain in an empty directory",
                    String::from_utf8_lossy(FORMAT)
                )
            } else {
                format!("unknown store format `{found}`")
            };
            return Err(self.corrupt(reason));
        }
        let chain_id = <[u8; 8]>::try_from(self.meta(&meta, META_CHAIN_ID)?.as_slice())
            .map(u64::from_be_bytes)
            .map_err(|_| self.corrupt("stored chain id is not 8 bytes"))?;
        if chain_id != self.config.chain_id {
            return Err(self.mismatch(format!(
                "it holds chain id {chain_id}, but chain id {} was asked for",
                self.config.chain_id
            )));
        }
        let sealer_bytes = self.meta(&meta, META_SEALER)?;
        if sealer_bytes.len() != 20 {
            return Err(self.corrupt("stored sealer address is not 20 bytes"));
        }
        let sealer = Address::from_slice(&sealer_bytes);
        if sealer != self.config.sealer.address() {
            return Err(self.mismatch(format!(
                "it is sealed by {sealer}, but this node's sealing key is {}",
                self.config.sealer.address()
            )));
        }
        let genesis_bytes = self.meta(&meta, META_GENESIS)?;
        if genesis_bytes.len() != 32 {
            return Err(self.corrupt("stored genesis hash is not 32 bytes"));
        }
        let genesis = B256::from_slice(&genesis_bytes);

        let blocks = rtx
            .open_table(BLOCKS)
            .map_err(|e| self.corrupt(format!("blocks: {e}")))?;
        let numbers = rtx
            .open_table(BLOCK_NUMBERS)
            .map_err(|e| self.corrupt(format!("block index: {e}")))?;
        let total = blocks.len().map_err(store_err)?;
        let report = |step| {
            if let Some(p) = &self.config.on_open {
                (p.0)(step);
            }
        };
        let mut prev: Option<Tip> = None;
        let mut seals: Vec<(u64, Header)> = Vec::new();
        for entry in blocks.iter().map_err(store_err)? {
            let (key, value) = entry.map_err(store_err)?;
            let n = key.value();
            let expected = prev.map_or(0, |p| p.number + 1);
            if n != expected {
                return Err(self.corrupt(format!(
                    "block {expected} is missing (found block {n} next)"
                )));
            }
            let row = BlockRow::decode(value.value())
                .map_err(|e| self.corrupt(format!("block {n}: {}", e.0)))?;
            let h = &row.header;
            if h.hash_slow() != row.hash {
                return Err(self.corrupt(format!(
                    "block {n}: the stored hash is not its header's hash"
                )));
            }
            if h.number != n {
                return Err(self.corrupt(format!("block {n}: its header says number {}", h.number)));
            }
            match prev {
                None => {
                    if h.parent_hash != B256::ZERO || row.hash != genesis {
                        return Err(self.corrupt("block 0 is not the recorded genesis"));
                    }
                    if !self.config.genesis_alloc.is_empty()
                        && h.state_root != genesis_state_root(self.config)
                    {
                        return Err(
                            self.mismatch("its genesis allocation differs from the configured one")
                        );
                    }
                }
                Some(p) => {
                    if h.parent_hash != p.hash {
                        return Err(self.corrupt(format!(
                            "block {n}: parent hash {} is not block {}'s hash {}",
                            h.parent_hash, p.number, p.hash
                        )));
                    }
                    if h.timestamp < p.timestamp {
                        return Err(self.corrupt(format!("block {n}: timestamp goes backwards")));
                    }
                }
            }
            match numbers.get(&row.hash.0).map_err(store_err)? {
                Some(g) if g.value() == n => {}
                _ => {
                    return Err(
                        self.corrupt(format!("block {n}: the hash index does not point to it"))
                    );
                }
            }
            prev = Some(Tip {
                number: n,
                hash: row.hash,
                state_root: h.state_root,
                timestamp: h.timestamp,
            });
            seals.push((n, row.header));
            if seals.len() >= SEAL_CHUNK {
                self.check_seals(&seals, sealer)?;
                seals.clear();
                report(super::OpenStep::Headers { done: n + 1, total });
            }
        }
        self.check_seals(&seals, sealer)?;
        report(super::OpenStep::Headers { done: total, total });
        let tip = prev.ok_or_else(|| self.corrupt("there is no genesis block"))?;
        self.check_state(&rtx, &tip)?;
        Ok(tip)
    }

    /// Checks the tip's state root against the stored trie: its root node is there and hashes to
    /// it. With [`ChainConfig::verify_state`], also recomputes the root from the flat state.
    fn check_state(&self, rtx: &redb::ReadTransaction, tip: &Tip) -> Result<()> {
        if tip.state_root != EMPTY_ROOT_HASH {
            let nodes = rtx
                .open_table(NODES)
                .map_err(|e| self.corrupt(format!("trie nodes: {e}")))?;
            let roots = rtx
                .open_table(ROOTS)
                .map_err(|e| self.corrupt(format!("trie roots: {e}")))?;
            let born = trie::root_born(&roots, tip.number, tip.state_root, self.path)?;
            let key = trie::node_key(born, Owner::State, &Nibbles::new(), &tip.state_root);
            let root_node = nodes.get(key.as_slice()).map_err(store_err)?;
            let hashes = root_node
                .as_ref()
                .and_then(|row| trie::node_rlp(born, row.value()).map(keccak256))
                == Some(tip.state_root);
            if !hashes {
                return Err(self.corrupt(format!(
                    "block {}: the stored state trie has no root node for its state root {}",
                    tip.number, tip.state_root
                )));
            }
        }
        if self.config.verify_state {
            let progress = |done, total| {
                if let Some(p) = &self.config.on_open {
                    (p.0)(super::OpenStep::State { done, total });
                }
            };
            let root = trie::recompute_state_root(rtx, self.path, &progress)?;
            if root != tip.state_root {
                return Err(self.corrupt(format!(
                    "the stored state (accounts and storage) has root {root}, but block {} \
                     commits to {}",
                    tip.number, tip.state_root
                )));
            }
        }
        Ok(())
    }

    /// Recovers every header's seal in `seals` (in parallel) and checks it is the sealer's.
    fn check_seals(&self, seals: &[(u64, Header)], sealer: Address) -> Result<()> {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .max(1);
        let chunk = seals.len().div_ceil(threads).max(1);
        let bad: Option<u64> = std::thread::scope(|s| {
            let handles: Vec<_> = seals
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        part.iter()
                            .find(|(_, header)| {
                                medshare_light::header::sealer_of(header).ok() != Some(sealer)
                            })
                            .map(|(n, _)| *n)
                    })
                })
                .collect();
            // A panicked worker counts as a failed check of its first block.
            handles
                .into_iter()
                .zip(seals.chunks(chunk))
                .filter_map(|(h, part)| h.join().unwrap_or(part.first().map(|p| p.0)))
                .min()
        });
        match bad {
            Some(n) => Err(self.corrupt(format!(
                "block {n}: its seal is not a signature by the sealer {sealer}"
            ))),
            None => Ok(()),
        }
    }
}
