//! Ethereum's Merkle-Patricia state: the account trie and one storage trie per account, kept in
//! redb and updated incrementally, block by block.
//!
//! The tries are exactly Ethereum's, so roots and proofs are the ones any Ethereum tool computes:
//! the account trie maps `keccak256(address)` to `rlp([nonce, balance, storage_root,
//! code_hash])`, a storage trie maps `keccak256(slot)` to `rlp(value)`, zero values absent.
//! Nodes are encoded and decoded with `alloy_trie`'s node types; the root of a whole state
//! (genesis, tests, the full check on open) is computed with its `HashBuilder`.
//!
//! # Why a hand-written update
//!
//! Neither maintained crate updates a persistent trie the way a block needs: `alloy_trie` builds
//! roots from sorted leaves (from scratch, or from reth's stored branch masks, which need reth's
//! trie walker), and `eth_trie` 0.6 deletes, on every commit, each node it walked past, from a
//! store keyed by node hash alone: a node shared by two tries (two contracts with equal storage)
//! or needed by an older block's proof would be deleted under them. So the update here is
//! written by hand, and small: load the nodes on the changed keys' paths, apply the block's
//! changes in memory, re-hash and write only those paths. A block costs what it changed times the
//! trie depth, whatever the size of the state.
//!
//! # Storage and history
//!
//! A node is stored once per *version*: under `born ‖ owner ‖ path ‖ hash` ([`NODES`], see
//! [`node_key`]), where `born` is the block that wrote it, the owner is the account trie or one
//! account's storage trie, and the path the nibbles from the root to the node. Nodes shorter than
//! 32 bytes are embedded in their parent (except a root, always stored by hash). Ethereum's child
//! references are hashes only, so each row also records the `born` of every child it references
//! by hash (and an account leaf the `born` of its storage root), as a small varint: how many
//! blocks before its parent the child was written. [`ROOTS`] records the `born` of each block's
//! state root. A reader thus forms every key exactly, from the root down.
//!
//! Keys lead with `born`, so everything a block writes lands at the end of the table, side by
//! side: a block dirties about as many pages as it writes bytes, not one page per node. A node a
//! block replaces (or deletes) is not deleted at once: it goes on that block's death row
//! ([`DEATHS`]) and is deleted [`STATE_HISTORY`] blocks later (in batches, every
//! [`PRUNE_EVERY`] blocks), so every block from `tip − STATE_HISTORY` to the tip can be proven
//! (`eth_getProof`). Keys name a version at a position,
//! so nothing is shared between positions, tries or versions: no reference counting, and a node
//! written again later (a slot set back to an old value) is a new row that the old death-row
//! entry does not touch.
//!
//! Everything a block changes in the tries is written in the block's own redb transaction, so
//! the tries are exactly as durable and crash-safe as the block.
//!
//! # Modules
//!
//! `node` encodes nodes, their keys and rows and reads them back checked; `writer` applies a
//! block's changes to one trie; `block` updates every trie a block touched, records its death
//! row and prunes history; `proof` walks a key's path for `eth_getProof`; `root` recomputes a
//! whole state root from the flat tables (the full check on open).

mod block;
mod node;
mod proof;
mod root;
mod writer;

#[cfg(test)]
mod tests;

use std::path::Path;

use alloy_primitives::Address;
use redb::TableDefinition;

use crate::Error;

pub(crate) use self::{
    block::{TrieTables, commit_block, root_born, split_storage_root},
    node::{node_key, node_rlp},
    proof::{decode_storage_leaf, decode_trie_account, prove},
    root::{account_leaf, recompute_state_root},
    writer::TrieWriter,
};

/// How many blocks before the tip keep their state provable: proofs are served for blocks
/// `tip − STATE_HISTORY ..= tip`.
pub const STATE_HISTORY: u64 = 256;

/// Replaced nodes are deleted every this many blocks, all that have left the history at once:
/// a block's nodes die over the next few blocks, and deleting them together touches each of
/// their pages once rather than once per block. Up to this many blocks more than
/// [`STATE_HISTORY`] are kept (but not served).
const PRUNE_EVERY: u64 = 16;

/// Trie nodes, one row per version: [`node_key`] → count (1) ‖ for each child referenced by
/// hash, in order, how many blocks before this node it was written (LEB128) ‖ RLP(node). See
/// the module docs.
pub(crate) const NODES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("trie_nodes");
/// Block number → the keys of the nodes that block replaced, each after its length (1), sorted.
pub(crate) const DEATHS: TableDefinition<u64, &[u8]> = TableDefinition::new("trie_deaths");
/// Block number → the `born` of its state root node (no row for an empty state), for the blocks
/// that can still be proven.
pub(crate) const ROOTS: TableDefinition<u64, u64> = TableDefinition::new("trie_roots");
/// Address → the root of its storage trie ‖ that root node's `born`; only accounts with storage
/// have a row.
pub(crate) const STORAGE_ROOTS: TableDefinition<&[u8; 20], &[u8; 40]> =
    TableDefinition::new("storage_roots");

/// Which trie a node belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    /// The account (state) trie.
    State,
    /// The storage trie of an account.
    Storage(Address),
}

/// A leaf's value: the RLP it holds and, for an account with storage, the `born` of its storage
/// root node.
pub(crate) type LeafValue = (Vec<u8>, Option<u64>);

fn corrupt(path: &Path, reason: impl Into<String>) -> Error {
    Error::Corrupt {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}
