//! Account leaves, and a whole state root recomputed from the flat tables.

use std::{collections::HashMap, path::Path};

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, HashBuilder, KECCAK_EMPTY, Nibbles, TrieAccount};
use redb::ReadableTable;

use super::{STORAGE_ROOTS, corrupt, split_storage_root};
use crate::{
    Result,
    embedded::{store_err, tables::decode_account},
};

/// The account leaf for an account with `storage_root`.
pub(crate) fn account_leaf(
    nonce: u64,
    balance: U256,
    storage_root: B256,
    code_hash: B256,
) -> Vec<u8> {
    let code_hash = if code_hash == B256::ZERO {
        KECCAK_EMPTY
    } else {
        code_hash
    };
    alloy_rlp::encode(TrieAccount {
        nonce,
        balance,
        storage_root,
        code_hash,
    })
}

/// The state root of the flat account and storage tables, computed from scratch with
/// `alloy_trie`'s hash builder (reads the whole state). Also checks that every account's stored
/// storage root is its storage's root and that no storage belongs to a missing account.
pub(crate) fn recompute_state_root(
    rtx: &redb::ReadTransaction,
    db: &Path,
    progress: &dyn Fn(u64, u64),
) -> Result<B256> {
    use crate::embedded::tables::{ACCOUNTS, STORAGE};
    use redb::ReadableTableMetadata as _;
    /// Slots between two progress reports.
    const EVERY: u64 = 1 << 16;
    let accounts = rtx.open_table(ACCOUNTS).map_err(store_err)?;
    let storage = rtx.open_table(STORAGE).map_err(store_err)?;
    let total = storage.len().map_err(store_err)?;
    let mut read = 0u64;
    let roots = rtx.open_table(STORAGE_ROOTS).map_err(store_err)?;

    // Storage roots, one account at a time (the table is sorted by address, then slot).
    let mut storage_roots: HashMap<Address, B256> = HashMap::new();
    let mut current: Option<Address> = None;
    let mut slots: Vec<(B256, U256)> = Vec::new();
    let mut finish = |address: Address, slots: &mut Vec<(B256, U256)>| {
        slots.sort_unstable_by_key(|a| a.0);
        let mut hb = HashBuilder::default();
        for (k, v) in slots.drain(..) {
            hb.add_leaf(Nibbles::unpack(k), &alloy_rlp::encode(v));
        }
        storage_roots.insert(address, hb.root());
    };
    for entry in storage.iter().map_err(store_err)? {
        let (k, v) = entry.map_err(store_err)?;
        let k = k.value();
        let address = Address::from_slice(&k[..20]);
        if current != Some(address) {
            if let Some(done) = current {
                finish(done, &mut slots);
            }
            current = Some(address);
        }
        let value = U256::from_be_bytes(*v.value());
        if value.is_zero() {
            return Err(corrupt(db, format!("a zero value is stored for {address}")));
        }
        slots.push((keccak256(&k[20..]), value));
        read += 1;
        if read.is_multiple_of(EVERY) {
            progress(read, total);
        }
    }
    if let Some(done) = current {
        finish(done, &mut slots);
    }
    progress(total, total);

    let mut leaves: Vec<(B256, Vec<u8>)> = Vec::new();
    for entry in accounts.iter().map_err(store_err)? {
        let (k, v) = entry.map_err(store_err)?;
        let address = Address::from(*k.value());
        let info = decode_account(v.value());
        let root = storage_roots.remove(&address).unwrap_or(EMPTY_ROOT_HASH);
        let stored = roots
            .get(&address.0.0)
            .map_err(store_err)?
            .map_or(EMPTY_ROOT_HASH, |r| split_storage_root(r.value()).0);
        if stored != root {
            return Err(corrupt(
                db,
                format!("the storage of {address} does not match its storage root"),
            ));
        }
        leaves.push((
            keccak256(address),
            account_leaf(info.nonce, info.balance, root, info.code_hash),
        ));
    }
    if let Some(address) = storage_roots.keys().next() {
        return Err(corrupt(
            db,
            format!("storage is stored for {address}, which has no account"),
        ));
    }
    leaves.sort_unstable_by_key(|a| a.0);
    let mut hb = HashBuilder::default();
    for (k, v) in leaves {
        hb.add_leaf(Nibbles::unpack(k), &v);
    }
    Ok(hb.root())
}
