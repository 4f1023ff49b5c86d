//! A block's update of every trie it touched, its death row, and the pruning of history.

use std::path::Path;

use alloy_primitives::{B256, keccak256};
use alloy_trie::EMPTY_ROOT_HASH;
use redb::{ReadableTable, Table};

use super::{Owner, PRUNE_EVERY, STATE_HISTORY, account_leaf, corrupt, writer::TrieWriter};
use crate::{
    Result,
    embedded::{state::BlockDiff, store_err},
};

/// The tables a block's trie update writes.
pub(crate) struct TrieTables<'a, 't> {
    pub(crate) nodes: &'a mut Table<'t, &'static [u8], &'static [u8]>,
    pub(crate) roots: &'a mut Table<'t, u64, u64>,
    pub(crate) storage_roots: &'a mut Table<'t, &'static [u8; 20], &'static [u8; 40]>,
    pub(crate) deaths: &'a mut Table<'t, u64, &'static [u8]>,
}

/// Brings the tries from the state before block `block` (root `state_root`) to the state after
/// it, as `diff` records it: every changed account's storage trie, the storage roots, the
/// account trie; writes the block's death row and prunes the one [`STATE_HISTORY`] blocks
/// older. Returns the new state root. All in the block's write transaction.
pub(crate) fn commit_block(
    t: TrieTables<'_, '_>,
    diff: &BlockDiff,
    block: u64,
    state_root: B256,
    db: &Path,
) -> Result<B256> {
    let state_born = match block.checked_sub(1) {
        Some(parent) => t.roots.get(parent).map_err(store_err)?.map(|g| g.value()),
        None => None,
    };
    let state_born = match (state_born, state_root == EMPTY_ROOT_HASH) {
        (Some(born), _) => born,
        (None, true) => 0,
        (None, false) => {
            return Err(corrupt(
                db,
                "the state root of the tip has no recorded block",
            ));
        }
    };
    let mut writer = TrieWriter::new(t.nodes, block, db);
    let mut leaves = Vec::with_capacity(diff.accounts.len());
    for (address, change) in &diff.accounts {
        let old = t
            .storage_roots
            .get(&address.0.0)
            .map_err(store_err)?
            .map(|r| split_storage_root(r.value()));
        let (old_root, old_born) = old.unwrap_or((EMPTY_ROOT_HASH, 0));
        let owner = Owner::Storage(*address);
        let (mut root, mut born) = (old_root, old_born);
        if change.wiped || change.info.is_none() {
            writer.wipe(owner, old_root, old_born)?;
            (root, born) = (EMPTY_ROOT_HASH, 0);
        }
        let leaf = match change.info {
            None => None,
            Some((nonce, balance, code_hash)) => {
                let slots = change
                    .slots
                    .iter()
                    .map(|(slot, value)| {
                        let leaf = (!value.is_zero()).then(|| (alloy_rlp::encode(value), None));
                        (keccak256(slot.to_be_bytes::<32>()), leaf)
                    })
                    .collect();
                (root, born) = writer.update(owner, root, born, slots)?;
                let storage = (root != EMPTY_ROOT_HASH).then_some(born);
                Some((account_leaf(nonce, balance, root, code_hash), storage))
            }
        };
        if (root, born) != (old_root, old_born) {
            if root == EMPTY_ROOT_HASH {
                t.storage_roots.remove(&address.0.0).map_err(store_err)?;
            } else {
                let mut row = [0u8; 40];
                row[..32].copy_from_slice(root.as_slice());
                row[32..].copy_from_slice(&born.to_be_bytes());
                t.storage_roots
                    .insert(&address.0.0, &row)
                    .map_err(store_err)?;
            }
        }
        leaves.push((keccak256(address), leaf));
    }
    let (new_root, new_born) = writer.update(Owner::State, state_root, state_born, leaves)?;
    let row = writer.finish()?;
    if new_root != EMPTY_ROOT_HASH {
        t.roots.insert(block, new_born).map_err(store_err)?;
    }
    if !row.is_empty() {
        t.deaths.insert(block, row.as_slice()).map_err(store_err)?;
    }
    if block.is_multiple_of(PRUNE_EVERY)
        && let Some(upto) = block.checked_sub(STATE_HISTORY)
    {
        prune(t.nodes, t.deaths, upto, db)?;
        // Blocks before `upto` can no longer be proven.
        let gone: Vec<u64> = t
            .roots
            .range(..upto)
            .map_err(store_err)?
            .map(|e| e.map(|(k, _)| k.value()))
            .collect::<Result<_, _>>()
            .map_err(store_err)?;
        for number in gone {
            t.roots.remove(number).map_err(store_err)?;
        }
    }
    Ok(new_root)
}

/// A [`STORAGE_ROOTS`] row: the root and the block that wrote it.
pub(crate) fn split_storage_root(row: &[u8; 40]) -> (B256, u64) {
    let mut born = [0u8; 8];
    born.copy_from_slice(&row[32..]);
    (B256::from_slice(&row[..32]), u64::from_be_bytes(born))
}

/// Deletes the nodes on the death rows of blocks up to `upto` (those they replaced), in key
/// order: nodes written by the same block sit side by side, and are deleted together.
pub(crate) fn prune(
    nodes: &mut Table<'_, &'static [u8], &'static [u8]>,
    deaths: &mut Table<'_, u64, &'static [u8]>,
    upto: u64,
    db: &Path,
) -> Result<()> {
    let mut rows = Vec::new();
    for entry in deaths
        .extract_from_if(..=upto, |_, _| true)
        .map_err(store_err)?
    {
        let (block, row) = entry.map_err(store_err)?;
        rows.push((block.value(), row.value().to_vec()));
    }
    let mut keys = Vec::new();
    for (block, row) in &rows {
        keys.extend(
            death_row_keys(row)
                .ok_or_else(|| corrupt(db, format!("death row of block {block} is damaged")))?,
        );
    }
    keys.sort_unstable();
    for key in keys {
        nodes.remove(key).map_err(store_err)?;
    }
    Ok(())
}

/// The keys of a death row (each after its length byte); `None` if it is damaged.
pub(crate) fn death_row_keys(mut row: &[u8]) -> Option<Vec<&[u8]>> {
    let mut keys = Vec::new();
    while let Some((len, rest)) = row.split_first() {
        let (key, tail) = rest.split_at_checked(usize::from(*len))?;
        keys.push(key);
        row = tail;
    }
    Some(keys)
}

/// The `born` of block `number`'s state root (0 for an empty state).
pub(crate) fn root_born<T>(roots: &T, number: u64, state_root: B256, db: &Path) -> Result<u64>
where
    T: ReadableTable<u64, u64>,
{
    match roots.get(number).map_err(store_err)? {
        Some(g) => Ok(g.value()),
        None if state_root == EMPTY_ROOT_HASH => Ok(0),
        None => Err(corrupt(
            db,
            format!("block {number}: its state root has no recorded block"),
        )),
    }
}
