//! World state for revm, read from (and, while sealing, written into) the redb tables.
//!
//! Reads go straight to redb: a B-tree lookup costs microseconds and redb keeps hot pages in its
//! own cache, so the only in-memory cache kept here is for contract code (immutable per hash and
//! expensive to re-analyse). While a block is sealed, [`StateDb`] wraps the tables of the block's
//! write transaction: each transaction's changes are applied with [`StateDb::apply`] before the
//! next one executes, and everything lands in the same commit as the block itself. Each change is
//! also recorded in the block's [`BlockDiff`], from which the sealer updates the Merkle-Patricia
//! tries once per block.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, RwLock},
};

use alloy_primitives::{Address, B256, U256};
use redb::{ReadableTable, Table};
use revm::{
    Database,
    bytecode::Bytecode,
    database_interface::DBErrorMarker,
    primitives::{KECCAK_EMPTY, StorageKey, StorageValue},
    state::{Account, AccountInfo},
};

use super::{
    store_err,
    tables::{BlockRow, decode_account, encode_account, storage_key},
};
use crate::{Error, Result};

/// A chain-store error met while revm reads the state; [`super::exec::evm_error`] unwraps it.
/// revm requires its database error type to carry [`DBErrorMarker`], which the ledger's [`Error`]
/// (defined in `medshare-ledger`) cannot implement in this crate. Every store error is fatal to
/// the block being executed.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub(crate) struct StateError(pub(crate) Error);

impl DBErrorMarker for StateError {}

/// Bytecode already loaded, by code hash. Shared by the sealer and all readers.
pub(crate) type CodeCache = Arc<RwLock<HashMap<B256, Bytecode>>>;

type AccountsTable = &'static [u8; 20];
type AccountRow = &'static [u8; 72];
type CodeKey = &'static [u8; 32];
type CodeRow = &'static [u8];
type StorageKeyT = &'static [u8; 52];
type StorageRow = &'static [u8; 32];

/// revm's view of the chain state: three redb tables (read-only or from a write transaction) and
/// the shared code cache. Also answers `BLOCKHASH` from the block table.
pub(crate) struct StateDb<A, C, S, B> {
    pub(crate) accounts: A,
    pub(crate) code: C,
    pub(crate) storage: S,
    pub(crate) blocks: B,
    pub(crate) code_cache: CodeCache,
}

impl<A, C, S, B> StateDb<A, C, S, B>
where
    A: ReadableTable<AccountsTable, AccountRow>,
    C: ReadableTable<CodeKey, CodeRow>,
    S: ReadableTable<StorageKeyT, StorageRow>,
    B: ReadableTable<u64, &'static [u8]>,
{
    /// The account at `address`, if it exists.
    pub(crate) fn account(&self, address: &Address) -> Result<Option<AccountInfo>> {
        let row = self.accounts.get(&address.0.0).map_err(store_err)?;
        Ok(row.map(|r| decode_account(r.value())))
    }

    /// The bytecode with hash `hash` (empty for [`KECCAK_EMPTY`]).
    pub(crate) fn bytecode(&self, hash: B256) -> Result<Bytecode> {
        if hash == KECCAK_EMPTY || hash == B256::ZERO {
            return Ok(Bytecode::default());
        }
        if let Some(code) = self.code_cache.read().map_err(poisoned)?.get(&hash) {
            return Ok(code.clone());
        }
        let row = self.code.get(&hash.0).map_err(store_err)?.ok_or_else(|| {
            Error::Store(format!("code {hash} referenced by an account is missing"))
        })?;
        let code = Bytecode::new_raw(row.value().to_vec().into());
        self.code_cache
            .write()
            .map_err(poisoned)?
            .insert(hash, code.clone());
        Ok(code)
    }

    /// The value of storage slot `slot` of `address` (zero when absent).
    pub(crate) fn slot(&self, address: &Address, slot: &U256) -> Result<U256> {
        let row = self
            .storage
            .get(&storage_key(address, slot))
            .map_err(store_err)?;
        Ok(row
            .map(|r| U256::from_be_bytes(*r.value()))
            .unwrap_or_default())
    }
}

fn poisoned<T>(_: T) -> Error {
    Error::Store("code cache lock poisoned".into())
}

impl<A, C, S, B> Database for StateDb<A, C, S, B>
where
    A: ReadableTable<AccountsTable, AccountRow>,
    C: ReadableTable<CodeKey, CodeRow>,
    S: ReadableTable<StorageKeyT, StorageRow>,
    B: ReadableTable<u64, &'static [u8]>,
{
    type Error = StateError;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        self.account(&address).map_err(StateError)
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, StateError> {
        self.bytecode(code_hash).map_err(StateError)
    }

    fn storage(&mut self, address: Address, index: StorageKey) -> Result<StorageValue, StateError> {
        self.slot(&address, &index).map_err(StateError)
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, StateError> {
        // revm only asks for the 256 most recent blocks; unknown numbers hash to zero as in geth.
        match self
            .blocks
            .get(number)
            .map_err(|e| StateError(store_err(e)))?
        {
            Some(row) => BlockRow::hash_of(row.value())
                .map_err(|e| StateError(Error::Store(format!("block {number}: {}", e.0)))),
            None => Ok(B256::ZERO),
        }
    }
}

/// What one block changed in the state, by account, for the tries (see `trie`): relative to
/// the state before the block.
#[derive(Debug, Default)]
pub(crate) struct BlockDiff {
    pub(crate) accounts: BTreeMap<Address, AccountChange>,
}

/// One account's change over a block.
#[derive(Debug, Default)]
pub(crate) struct AccountChange {
    /// Nonce, balance and code hash after the block; `None` if the account was deleted.
    pub(crate) info: Option<(u64, U256, B256)>,
    /// Its storage was cleared (self-destruct, EIP-161 deletion, creation) before `slots`.
    pub(crate) wiped: bool,
    /// Slots written (after the clearing, if any) and their final values; zero deletes.
    pub(crate) slots: BTreeMap<U256, U256>,
}

/// The state of a block being sealed: tables of its write transaction.
pub(crate) type WriteState<'t> = StateDb<
    Table<'t, AccountsTable, AccountRow>,
    Table<'t, CodeKey, CodeRow>,
    Table<'t, StorageKeyT, StorageRow>,
    Table<'t, u64, &'static [u8]>,
>;

impl WriteState<'_> {
    /// Writes one transaction's state changes (revm's finalized journal) into the tables and
    /// records them in `diff`.
    ///
    /// Follows Ethereum's rules: untouched accounts are skipped; self-destructed accounts and
    /// touched empty accounts (EIP-161) are deleted with their storage; a created account starts
    /// from empty storage; slots set to zero are deleted.
    pub(crate) fn apply(
        &mut self,
        changes: &revm::state::EvmState,
        diff: &mut BlockDiff,
    ) -> Result<()> {
        let mut addresses: Vec<&Address> = changes.keys().collect();
        addresses.sort_unstable();
        for address in addresses {
            let Some(account) = changes.get(address) else {
                continue;
            };
            self.apply_account(address, account, diff)?;
        }
        Ok(())
    }

    fn apply_account(
        &mut self,
        address: &Address,
        account: &Account,
        diff: &mut BlockDiff,
    ) -> Result<()> {
        if !account.is_touched() {
            return Ok(());
        }
        if account.is_selfdestructed() || account.is_empty() {
            let existed = self
                .accounts
                .remove(&address.0.0)
                .map_err(store_err)?
                .is_some();
            self.clear_storage(address)?;
            // A touched account that never existed (a zero-value call to a fresh address, the
            // fee-less beneficiary) changes nothing, unless this block made it earlier.
            if existed || diff.accounts.contains_key(address) {
                let change = diff.accounts.entry(*address).or_default();
                change.info = None;
                change.wiped = true;
                change.slots.clear();
            }
            return Ok(());
        }
        let change = diff.accounts.entry(*address).or_default();
        if account.is_created() {
            change.wiped = true;
            change.slots.clear();
            self.clear_storage(address)?;
            if let Some(code) = &account.info.code
                && !code.is_empty()
            {
                let bytes = code.original_bytes();
                self.code
                    .insert(&account.info.code_hash.0, bytes.as_ref())
                    .map_err(store_err)?;
                self.code_cache
                    .write()
                    .map_err(poisoned)?
                    .insert(account.info.code_hash, code.clone());
            }
        }
        change.info = Some((
            account.info.nonce,
            account.info.balance,
            account.info.code_hash,
        ));
        self.accounts
            .insert(&address.0.0, &encode_account(&account.info))
            .map_err(store_err)?;
        for (slot, value) in account.storage.iter().filter(|(_, s)| s.is_changed()) {
            let value = value.present_value;
            let key = storage_key(address, slot);
            if value.is_zero() {
                self.storage.remove(&key).map_err(store_err)?;
            } else {
                self.storage
                    .insert(&key, &value.to_be_bytes::<32>())
                    .map_err(store_err)?;
            }
            change.slots.insert(*slot, value);
        }
        Ok(())
    }

    fn clear_storage(&mut self, address: &Address) -> Result<()> {
        let lo = storage_key(address, &U256::ZERO);
        let hi = storage_key(address, &U256::MAX);
        self.storage
            .retain_in::<&[u8; 52], _>(&lo..=&hi, |_, _| false)
            .map_err(store_err)
    }
}

/// The state as of one read snapshot (for `eth_call`, `eth_estimateGas` and account reads).
pub(crate) type ReadState = StateDb<
    redb::ReadOnlyTable<AccountsTable, AccountRow>,
    redb::ReadOnlyTable<CodeKey, CodeRow>,
    redb::ReadOnlyTable<StorageKeyT, StorageRow>,
    redb::ReadOnlyTable<u64, &'static [u8]>,
>;

/// Opens the state tables of a read snapshot.
pub(crate) fn read_state(rtx: &redb::ReadTransaction, code_cache: &CodeCache) -> Result<ReadState> {
    use super::tables::{ACCOUNTS, BLOCKS, CODE, STORAGE};
    Ok(StateDb {
        accounts: rtx.open_table(ACCOUNTS).map_err(store_err)?,
        code: rtx.open_table(CODE).map_err(store_err)?,
        storage: rtx.open_table(STORAGE).map_err(store_err)?,
        blocks: rtx.open_table(BLOCKS).map_err(store_err)?,
        code_cache: Arc::clone(code_cache),
    })
}
