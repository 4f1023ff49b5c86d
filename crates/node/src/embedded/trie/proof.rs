//! Proofs (`eth_getProof`): the nodes on a key's path, and the leaves they end at.

use std::path::Path;

use alloy_primitives::{B256, Bytes, U256};
use alloy_rlp::Decodable;
use alloy_trie::{EMPTY_ROOT_HASH, Nibbles, TrieAccount, nodes::TrieNode};
use redb::ReadableTable;

use super::{
    LeafValue, Owner, corrupt,
    node::{decode_node, fetch, nibble},
};
use crate::Result;

/// What a proof found at the end of a key's path: the leaf's value and, for an account with
/// storage, the block that wrote its storage root.
pub(crate) type Proven = Option<LeafValue>;

/// What the trie holds at `key` (a keccak256 hash) of `owner`'s trie with root `root` (written
/// by block `born`), with the proof: the nodes on the key's path, root first, embedded nodes
/// inside their parents (as `eth_getProof` returns them). An absent key gets the nodes that show
/// it is absent.
pub(crate) fn prove<T>(
    nodes: &T,
    owner: Owner,
    root: B256,
    born: u64,
    key: B256,
    db: &Path,
) -> Result<(Vec<Bytes>, Proven)>
where
    T: ReadableTable<&'static [u8], &'static [u8]>,
{
    if root == EMPTY_ROOT_HASH {
        return Ok((Vec::new(), None));
    }
    let key = Nibbles::unpack(key);
    let mut proof = Vec::new();
    let mut depth = 0;
    let row = fetch(nodes, born, owner, &Nibbles::new(), &root, db)?;
    proof.push(Bytes::copy_from_slice(&row.rlp));
    let (mut rlp, mut borns) = (row.rlp, row.children);
    loop {
        // The child on the key's path, and how many children before it are hashed (its
        // `born` is at that index of the row).
        let (child, before) = match decode_node(&rlp, db)? {
            TrieNode::EmptyRoot => return Err(corrupt(db, "an empty node inside a trie")),
            TrieNode::Leaf(leaf) => {
                let found = key.slice(depth..) == leaf.key;
                let storage = borns.first().copied();
                return Ok((proof, found.then_some((leaf.value, storage))));
            }
            TrieNode::Extension(ext) => {
                if !key.slice(depth..).starts_with(&ext.key) {
                    return Ok((proof, None));
                }
                depth += ext.key.len();
                (ext.child, 0)
            }
            TrieNode::Branch(branch) => {
                let i = nibble(&key, depth, db)?;
                if !branch.state_mask.is_bit_set(i) {
                    return Ok((proof, None));
                }
                let index = (branch.state_mask.get() & ((1u16 << i) - 1)).count_ones() as usize;
                let hashed_before = branch
                    .stack
                    .iter()
                    .take(index)
                    .filter(|c| c.is_hash())
                    .count();
                depth += 1;
                let child =
                    branch.stack.get(index).cloned().ok_or_else(|| {
                        corrupt(db, "a branch node's children do not match its mask")
                    })?;
                (child, hashed_before)
            }
        };
        match child.as_hash() {
            Some(hash) => {
                let born = *borns
                    .get(before)
                    .ok_or_else(|| corrupt(db, "a trie row lacks a child's block"))?;
                let row = fetch(nodes, born, owner, &key.slice(..depth), &hash, db)?;
                proof.push(Bytes::copy_from_slice(&row.rlp));
                (rlp, borns) = (row.rlp, row.children);
            }
            None => (rlp, borns) = (child.to_vec(), Vec::new()),
        }
    }
}

/// Decodes an account leaf of the state trie.
pub(crate) fn decode_trie_account(leaf: &[u8], db: &Path) -> Result<TrieAccount> {
    let mut buf = leaf;
    let account = TrieAccount::decode(&mut buf)
        .map_err(|e| corrupt(db, format!("undecodable account leaf: {e}")))?;
    if !buf.is_empty() {
        return Err(corrupt(db, "trailing bytes after an account leaf"));
    }
    Ok(account)
}

/// Decodes a storage leaf.
pub(crate) fn decode_storage_leaf(leaf: &[u8], db: &Path) -> Result<U256> {
    let mut buf = leaf;
    let value = U256::decode(&mut buf)
        .map_err(|e| corrupt(db, format!("undecodable storage leaf: {e}")))?;
    if !buf.is_empty() {
        return Err(corrupt(db, "trailing bytes after a storage leaf"));
    }
    Ok(value)
}
