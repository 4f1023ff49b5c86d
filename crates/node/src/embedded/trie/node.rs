//! Nodes as stored: their keys ([`NODES`](super::NODES) rows by block, owner, path and hash), their rows
//! (the blocks that wrote their hashed children, then their RLP), and checked reads.

use std::path::Path;

use alloy_primitives::{B256, keccak256};
use alloy_rlp::Decodable;
use alloy_trie::{Nibbles, nodes::TrieNode};
use redb::ReadableTable;

use super::{Owner, corrupt};
use crate::{Result, embedded::store_err};

/// Length of a node's position, as kept in memory: owner tag (1) ‖ address (20) ‖ packed path
/// (32) ‖ path length (1) ‖ node hash (32). Stored keys are shorter ([`node_key`]).
const POSITION_LEN: usize = 86;
/// Nibbles in a key of the state and storage tries (keccak256 hashes).
const KEY_NIBBLES: usize = 64;

/// A node's place: which trie, where in it, which content.
pub(super) type Position = [u8; POSITION_LEN];

pub(super) fn position(owner: Owner, path: &Nibbles, hash: &B256) -> Position {
    let mut p = [0u8; POSITION_LEN];
    if let Owner::Storage(address) = owner {
        p[0] = 1;
        p[1..21].copy_from_slice(address.as_slice());
    }
    path.pack_to(&mut p[21..53]);
    p[53] = path.len() as u8;
    p[54..].copy_from_slice(hash.as_slice());
    p
}

/// The [`NODES`](super::NODES) key of the version of the node with `hash` at `path` of `owner`'s trie that
/// block `born` wrote: `born` (8, big-endian, so that a block's writes are adjacent) ‖ tag (0:
/// account trie, 1: storage trie) ‖ the address (20, storage tries only) ‖ path length (1) ‖
/// packed path ‖ hash (32). At most 94 bytes; 42 for the root of the account trie.
pub(crate) fn node_key(born: u64, owner: Owner, path: &Nibbles, hash: &B256) -> Vec<u8> {
    key_of(born, &position(owner, path, hash))
}

pub(super) fn key_of(born: u64, p: &Position) -> Vec<u8> {
    let packed = usize::from(p[53]).div_ceil(2).min(32);
    let mut k = Vec::with_capacity(8 + 1 + 20 + 1 + packed + 32);
    k.extend_from_slice(&born.to_be_bytes());
    k.push(p[0]);
    if p[0] == 1 {
        k.extend_from_slice(&p[1..21]);
    }
    k.push(p[53]);
    k.extend_from_slice(&p[21..21 + packed]);
    k.extend_from_slice(&p[54..]);
    k
}

/// A stored node: the `born` of the children it references by hash, and its RLP.
pub(super) struct Row {
    pub(super) children: Vec<u64>,
    pub(super) rlp: Vec<u8>,
}

/// The row of a node written by block `born`: its hashed children's blocks, as distances back
/// from `born` (a child is never younger than its parent), then its RLP.
pub(super) fn encode_row(born: u64, children: &[u64], rlp: &[u8]) -> Vec<u8> {
    let mut row = Vec::with_capacity(1 + 2 * children.len() + rlp.len());
    row.push(children.len() as u8);
    for child in children {
        let mut back = born.saturating_sub(*child);
        loop {
            let low = (back & 0x7f) as u8;
            back >>= 7;
            if back == 0 {
                row.push(low);
                break;
            }
            row.push(low | 0x80);
        }
    }
    row.extend_from_slice(rlp);
    row
}

/// Decodes the row of a node written by block `born`.
pub(super) fn decode_row(born: u64, value: &[u8]) -> Option<Row> {
    let (count, mut rest) = value.split_first()?;
    let mut children = Vec::with_capacity(usize::from(*count));
    for _ in 0..*count {
        let mut back = 0u64;
        let mut shift = 0u32;
        loop {
            let (byte, tail) = rest.split_first()?;
            rest = tail;
            back |= u64::from(byte & 0x7f).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 63 {
                return None;
            }
        }
        children.push(born.checked_sub(back)?);
    }
    Some(Row {
        children,
        rlp: rest.to_vec(),
    })
}

/// The RLP of the node in a [`NODES`](super::NODES) row written by block `born` (for the cheap check on
/// open).
pub(crate) fn node_rlp(born: u64, value: &[u8]) -> Option<Vec<u8>> {
    decode_row(born, value).map(|row| row.rlp)
}

/// Reads the version `born` of the node `hash` at `node_path` of `owner`'s trie and checks that
/// it hashes to its key.
pub(super) fn fetch<T>(
    nodes: &T,
    born: u64,
    owner: Owner,
    node_path: &Nibbles,
    hash: &B256,
    db: &Path,
) -> Result<Row>
where
    T: ReadableTable<&'static [u8], &'static [u8]>,
{
    let missing = || {
        corrupt(
            db,
            format!("{owner:?} trie node {hash} (block {born}) is missing"),
        )
    };
    let guard = nodes
        .get(node_key(born, owner, node_path, hash).as_slice())
        .map_err(store_err)?
        .ok_or_else(missing)?;
    let row = decode_row(born, guard.value())
        .ok_or_else(|| corrupt(db, format!("{owner:?} trie node {hash}: damaged row")))?;
    if keccak256(&row.rlp) != *hash {
        return Err(corrupt(
            db,
            format!("{owner:?} trie node {hash} does not hash to its key"),
        ));
    }
    Ok(row)
}

pub(super) fn decode_node(rlp: &[u8], db: &Path) -> Result<TrieNode> {
    let mut buf = rlp;
    let node = TrieNode::decode(&mut buf)
        .map_err(|e| corrupt(db, format!("undecodable trie node: {e}")))?;
    if !buf.is_empty() {
        return Err(corrupt(db, "trailing bytes after a trie node"));
    }
    Ok(node)
}

/// `a ‖ b`, refusing a path longer than a key (only a damaged store has one).
pub(super) fn join(a: &Nibbles, b: &Nibbles, db: &Path) -> Result<Nibbles> {
    if a.len() + b.len() > KEY_NIBBLES {
        return Err(corrupt(db, "a trie path is longer than a key"));
    }
    Ok(a.join(b))
}

/// `path ‖ i`, refusing a path longer than a key.
pub(super) fn child_path(path: &Nibbles, i: u8, db: &Path) -> Result<Nibbles> {
    if path.len() >= KEY_NIBBLES {
        return Err(corrupt(db, "a trie path is longer than a key"));
    }
    let mut p = *path;
    p.push(i);
    Ok(p)
}

pub(super) fn nibble(n: &Nibbles, i: usize, db: &Path) -> Result<u8> {
    n.get(i)
        .ok_or_else(|| corrupt(db, "a trie path is shorter than its keys"))
}
