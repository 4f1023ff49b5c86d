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

use std::{collections::HashMap, path::Path};

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_rlp::Decodable;
use alloy_trie::{
    EMPTY_ROOT_HASH, HashBuilder, KECCAK_EMPTY, Nibbles, TrieAccount, TrieMask,
    nodes::{BranchNodeRef, ExtensionNodeRef, LeafNodeRef, RlpNode, TrieNode},
};
use redb::{ReadableTable, Table, TableDefinition};

use super::{state::BlockDiff, store_err, tables::decode_account};
use crate::{Error, Result};

/// How many blocks before the tip keep their state provable: proofs are served for blocks
/// `tip − STATE_HISTORY ..= tip`.
pub const STATE_HISTORY: u64 = 256;

/// Replaced nodes are deleted every this many blocks, all that have left the history at once:
/// a block's nodes die over the next few blocks, and deleting them together touches each of
/// their pages once rather than once per block. Up to this many blocks more than
/// [`STATE_HISTORY`] are kept (but not served).
const PRUNE_EVERY: u64 = 16;

/// Length of a node's position, as kept in memory: owner tag (1) ‖ address (20) ‖ packed path
/// (32) ‖ path length (1) ‖ node hash (32). Stored keys are shorter ([`node_key`]).
const POSITION_LEN: usize = 86;
/// Nibbles in a key of the state and storage tries (keccak256 hashes).
const KEY_NIBBLES: usize = 64;

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

/// A node's place: which trie, where in it, which content.
type Position = [u8; POSITION_LEN];

fn position(owner: Owner, path: &Nibbles, hash: &B256) -> Position {
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

/// The [`NODES`] key of the version of the node with `hash` at `path` of `owner`'s trie that
/// block `born` wrote: `born` (8, big-endian, so that a block's writes are adjacent) ‖ tag (0:
/// account trie, 1: storage trie) ‖ the address (20, storage tries only) ‖ path length (1) ‖
/// packed path ‖ hash (32). At most 94 bytes; 42 for the root of the account trie.
pub(crate) fn node_key(born: u64, owner: Owner, path: &Nibbles, hash: &B256) -> Vec<u8> {
    key_of(born, &position(owner, path, hash))
}

fn key_of(born: u64, p: &Position) -> Vec<u8> {
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

fn corrupt(path: &Path, reason: impl Into<String>) -> Error {
    Error::Corrupt {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// A stored node: the `born` of the children it references by hash, and its RLP.
struct Row {
    children: Vec<u64>,
    rlp: Vec<u8>,
}

/// The row of a node written by block `born`: its hashed children's blocks, as distances back
/// from `born` (a child is never younger than its parent), then its RLP.
fn encode_row(born: u64, children: &[u64], rlp: &[u8]) -> Vec<u8> {
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
fn decode_row(born: u64, value: &[u8]) -> Option<Row> {
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

/// The RLP of the node in a [`NODES`] row written by block `born` (for the cheap check on
/// open).
pub(crate) fn node_rlp(born: u64, value: &[u8]) -> Option<Vec<u8>> {
    decode_row(born, value).map(|row| row.rlp)
}

/// Reads the version `born` of the node `hash` at `node_path` of `owner`'s trie and checks that
/// it hashes to its key.
fn fetch<T>(
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

fn decode_node(rlp: &[u8], db: &Path) -> Result<TrieNode> {
    let mut buf = rlp;
    let node = TrieNode::decode(&mut buf)
        .map_err(|e| corrupt(db, format!("undecodable trie node: {e}")))?;
    if !buf.is_empty() {
        return Err(corrupt(db, "trailing bytes after a trie node"));
    }
    Ok(node)
}

/// `a ‖ b`, refusing a path longer than a key (only a damaged store has one).
fn join(a: &Nibbles, b: &Nibbles, db: &Path) -> Result<Nibbles> {
    if a.len() + b.len() > KEY_NIBBLES {
        return Err(corrupt(db, "a trie path is longer than a key"));
    }
    Ok(a.join(b))
}

/// `path ‖ i`, refusing a path longer than a key.
fn child_path(path: &Nibbles, i: u8, db: &Path) -> Result<Nibbles> {
    if path.len() >= KEY_NIBBLES {
        return Err(corrupt(db, "a trie path is longer than a key"));
    }
    let mut p = *path;
    p.push(i);
    Ok(p)
}

fn nibble(n: &Nibbles, i: usize, db: &Path) -> Result<u8> {
    n.get(i)
        .ok_or_else(|| corrupt(db, "a trie path is shorter than its keys"))
}

/// A leaf's value: the RLP it holds and, for an account with storage, the `born` of its storage
/// root node.
pub(crate) type LeafValue = (Vec<u8>, Option<u64>);

/// A trie node being updated: loaded from the store, built in memory, or a child not loaded
/// (unchanged).
enum Node {
    Empty,
    /// Not loaded: the reference its parent holds (`rlp(hash)` or an embedded node) and, for a
    /// hash, the block that wrote that version.
    Ref(RlpNode, u64),
    Leaf(Nibbles, LeafValue),
    Extension(Nibbles, Box<Node>),
    Branch(Box<[Node; 16]>),
}

fn no_children() -> Box<[Node; 16]> {
    Box::new(std::array::from_fn(|_| Node::Empty))
}

impl Node {
    /// The in-memory node for a decoded one whose hashed children were written by `children`
    /// (in order).
    fn from_trie_node(node: TrieNode, children: &[u64], db: &Path) -> Result<Self> {
        let mut borns = children.iter().copied();
        let mut child = |r: RlpNode| -> Result<Node> {
            let born = if r.is_hash() {
                borns
                    .next()
                    .ok_or_else(|| corrupt(db, "a trie row lacks a child's block"))?
            } else {
                0
            };
            Ok(Node::Ref(r, born))
        };
        let node = match node {
            TrieNode::EmptyRoot => Self::Empty,
            TrieNode::Leaf(leaf) => return Ok(Self::Leaf(leaf.key, (leaf.value, borns.next()))),
            TrieNode::Extension(ext) => Self::Extension(ext.key, Box::new(child(ext.child)?)),
            TrieNode::Branch(branch) => {
                let mut children = no_children();
                let mut stack = branch.stack.into_iter();
                for i in 0u8..16 {
                    if branch.state_mask.is_bit_set(i)
                        && let Some(r) = stack.next()
                    {
                        children[usize::from(i)] = child(r)?;
                    }
                }
                Self::Branch(children)
            }
        };
        if borns.next().is_some() {
            return Err(corrupt(db, "a trie row names more children than its node"));
        }
        Ok(node)
    }
}

/// Applies one block's changes to the tries, inside the block's write transaction.
pub(crate) struct TrieWriter<'a, 't> {
    nodes: &'a mut Table<'t, &'static [u8], &'static [u8]>,
    block: u64,
    db: &'a Path,
    /// Stored nodes loaded to be rewritten, by position, with the block that wrote them. Those
    /// not written back unchanged go on this block's death row.
    replaced: HashMap<Position, u64>,
    /// Rows this block writes, inserted in key order by [`TrieWriter::finish`].
    written: Vec<(Vec<u8>, Vec<u8>)>,
    buf: Vec<u8>,
}

impl<'a, 't> TrieWriter<'a, 't> {
    pub(crate) fn new(
        nodes: &'a mut Table<'t, &'static [u8], &'static [u8]>,
        block: u64,
        db: &'a Path,
    ) -> Self {
        Self {
            nodes,
            block,
            db,
            replaced: HashMap::new(),
            written: Vec::new(),
            buf: Vec::with_capacity(600),
        }
    }

    /// Sets (`Some`) or deletes (`None`) the given keys (keccak256 hashes) of `owner`'s trie
    /// whose root is `root` (written by block `born`); returns the new root and the block that
    /// wrote it (this one, unless the root is unchanged; 0 for an empty trie).
    pub(crate) fn update(
        &mut self,
        owner: Owner,
        root: B256,
        born: u64,
        mut changes: Vec<(B256, Option<LeafValue>)>,
    ) -> Result<(B256, u64)> {
        if changes.is_empty() {
            return Ok((root, born));
        }
        changes.sort_unstable_by_key(|c| c.0);
        let mut tree = if root == EMPTY_ROOT_HASH {
            Node::Empty
        } else {
            Node::Ref(RlpNode::word_rlp(&root), born)
        };
        for (key, value) in changes {
            let key = Nibbles::unpack(key);
            match value {
                Some(value) => self.insert(owner, &mut tree, &key, 0, value)?,
                None => self.delete(owner, &mut tree, &key, 0)?,
            }
        }
        match self.commit(owner, tree, Nibbles::new(), true)? {
            None => Ok((EMPTY_ROOT_HASH, 0)),
            Some((r, born)) => r
                .as_hash()
                .map(|hash| (hash, born))
                .ok_or_else(|| Error::Store("a trie root was not stored by hash".into())),
        }
    }

    /// Puts every stored node of `owner`'s trie with root `root` (written by block `born`) on
    /// the death row (the account was deleted or re-created).
    pub(crate) fn wipe(&mut self, owner: Owner, root: B256, born: u64) -> Result<()> {
        if root == EMPTY_ROOT_HASH {
            return Ok(());
        }
        let mut pending = vec![(Nibbles::new(), root, born)];
        while let Some((path, hash, born)) = pending.pop() {
            let row = fetch(&*self.nodes, born, owner, &path, &hash, self.db)?;
            self.replaced.insert(position(owner, &path, &hash), born);
            // Embedded children are under 32 bytes and so cannot hold a hash: only children
            // referenced by hash have stored nodes below them.
            let mut borns = row.children.iter().copied();
            match decode_node(&row.rlp, self.db)? {
                TrieNode::Branch(branch) => {
                    let mut stack = branch.stack.iter();
                    for i in 0u8..16 {
                        if branch.state_mask.is_bit_set(i)
                            && let Some(child) = stack.next()
                            && let Some(h) = child.as_hash()
                            && let Some(b) = borns.next()
                        {
                            pending.push((child_path(&path, i, self.db)?, h, b));
                        }
                    }
                }
                TrieNode::Extension(ext) => {
                    if let Some(h) = ext.child.as_hash()
                        && let Some(b) = borns.next()
                    {
                        pending.push((join(&path, &ext.key, self.db)?, h, b));
                    }
                }
                TrieNode::Leaf(_) | TrieNode::EmptyRoot => {}
            }
        }
        Ok(())
    }

    /// Writes this block's new nodes (in key order: they all land at the end of the table) and
    /// returns its death row: the keys of the nodes it replaced, sorted, each after its length.
    pub(crate) fn finish(mut self) -> Result<Vec<u8>> {
        self.written.sort_unstable();
        for (key, row) in &self.written {
            self.nodes
                .insert(key.as_slice(), row.as_slice())
                .map_err(store_err)?;
        }
        let mut dead: Vec<Vec<u8>> = self
            .replaced
            .iter()
            .map(|(position, born)| key_of(*born, position))
            .collect();
        dead.sort_unstable();
        let mut row = Vec::with_capacity(dead.iter().map(|k| 1 + k.len()).sum());
        for key in dead {
            row.push(key.len() as u8);
            row.extend_from_slice(&key);
        }
        Ok(row)
    }

    /// Loads the node `node` refers to (at `path`) in place; a stored node is remembered as
    /// replaced.
    fn resolve(&mut self, owner: Owner, node: &mut Node, path: &Nibbles) -> Result<()> {
        let Node::Ref(r, born) = node else {
            return Ok(());
        };
        let (children, rlp) = match r.as_hash() {
            Some(hash) => {
                let row = fetch(&*self.nodes, *born, owner, path, &hash, self.db)?;
                self.replaced.insert(position(owner, path, &hash), *born);
                (row.children, row.rlp)
            }
            None => (Vec::new(), r.to_vec()),
        };
        *node = Node::from_trie_node(decode_node(&rlp, self.db)?, &children, self.db)?;
        Ok(())
    }

    fn insert(
        &mut self,
        owner: Owner,
        node: &mut Node,
        key: &Nibbles,
        depth: usize,
        value: LeafValue,
    ) -> Result<()> {
        self.resolve(owner, node, &key.slice(..depth))?;
        let rest = key.slice(depth..);
        match node {
            Node::Empty => *node = Node::Leaf(rest, value),
            Node::Leaf(k, v) if *k == rest => *v = value,
            Node::Leaf(k, v) => {
                let common = k.common_prefix_length(&rest);
                let mut children = no_children();
                let old = nibble(k, common, self.db)?;
                let new = nibble(&rest, common, self.db)?;
                children[usize::from(old)] = Node::Leaf(k.slice(common + 1..), std::mem::take(v));
                children[usize::from(new)] = Node::Leaf(rest.slice(common + 1..), value);
                *node = branch_under(rest.slice(..common), children);
            }
            Node::Extension(k, child) => {
                let common = k.common_prefix_length(&rest);
                if common == k.len() {
                    return self.insert(owner, child, key, depth + common, value);
                }
                let mut children = no_children();
                let old = nibble(k, common, self.db)?;
                let new = nibble(&rest, common, self.db)?;
                let below = k.slice(common + 1..);
                let child = std::mem::replace(child.as_mut(), Node::Empty);
                // The old child keeps its absolute path, so it stays as it is (not loaded).
                children[usize::from(old)] = if below.is_empty() {
                    child
                } else {
                    Node::Extension(below, Box::new(child))
                };
                children[usize::from(new)] = Node::Leaf(rest.slice(common + 1..), value);
                *node = branch_under(rest.slice(..common), children);
            }
            Node::Branch(children) => {
                let i = nibble(key, depth, self.db)?;
                return self.insert(owner, &mut children[usize::from(i)], key, depth + 1, value);
            }
            Node::Ref(..) => return Err(Error::Store("unresolved trie node".into())),
        }
        Ok(())
    }

    fn delete(&mut self, owner: Owner, node: &mut Node, key: &Nibbles, depth: usize) -> Result<()> {
        let path = key.slice(..depth);
        self.resolve(owner, node, &path)?;
        match node {
            Node::Empty => {}
            Node::Leaf(k, _) => {
                if *k == key.slice(depth..) {
                    *node = Node::Empty;
                }
            }
            Node::Extension(k, child) => {
                if key.slice(depth..).starts_with(k) {
                    let len = k.len();
                    self.delete(owner, child, key, depth + len)?;
                    // A branch below that lost all but one child became a leaf or an
                    // extension: merge it into this extension.
                    let merged = match std::mem::replace(child.as_mut(), Node::Empty) {
                        Node::Empty => Node::Empty,
                        Node::Leaf(ck, v) => Node::Leaf(join(k, &ck, self.db)?, v),
                        Node::Extension(ck, c) => Node::Extension(join(k, &ck, self.db)?, c),
                        other => Node::Extension(*k, Box::new(other)),
                    };
                    *node = merged;
                }
            }
            Node::Branch(children) => {
                let i = nibble(key, depth, self.db)?;
                self.delete(owner, &mut children[usize::from(i)], key, depth + 1)?;
                let live = children
                    .iter()
                    .filter(|c| !matches!(c, Node::Empty))
                    .count();
                let first = children.iter().position(|c| !matches!(c, Node::Empty));
                match (live, first) {
                    (0, _) | (_, None) => *node = Node::Empty,
                    (1, Some(j)) => {
                        // One child left: the branch goes, its child moves up a nibble.
                        let mut child = std::mem::replace(&mut children[j], Node::Empty);
                        let j = j as u8;
                        self.resolve(owner, &mut child, &child_path(&path, j, self.db)?)?;
                        let lead = Nibbles::from_nibbles_unchecked([j]);
                        *node = match child {
                            Node::Leaf(ck, v) => Node::Leaf(join(&lead, &ck, self.db)?, v),
                            Node::Extension(ck, c) => {
                                Node::Extension(join(&lead, &ck, self.db)?, c)
                            }
                            other => Node::Extension(lead, Box::new(other)),
                        };
                    }
                    _ => {}
                }
            }
            Node::Ref(..) => return Err(Error::Store("unresolved trie node".into())),
        }
        Ok(())
    }

    /// Hashes `node` (at `path`) bottom up, writing every new node; returns the reference its
    /// parent holds with the block that wrote it (`None` for an empty trie). A root is always
    /// stored by hash.
    fn commit(
        &mut self,
        owner: Owner,
        node: Node,
        path: Nibbles,
        root: bool,
    ) -> Result<Option<(RlpNode, u64)>> {
        let mut children = Vec::new();
        match node {
            Node::Empty => return Ok(None),
            Node::Ref(r, born) => return Ok(Some((r, born))),
            Node::Leaf(key, (value, storage)) => {
                children.extend(storage);
                self.buf.clear();
                alloy_rlp::Encodable::encode(&LeafNodeRef::new(&key, &value), &mut self.buf);
            }
            Node::Extension(key, child) => {
                let below = join(&path, &key, self.db)?;
                let (child_ref, born) = self
                    .commit(owner, *child, below, false)?
                    .ok_or_else(|| Error::Store("an extension lost its child".into()))?;
                if child_ref.is_hash() {
                    children.push(born);
                }
                self.buf.clear();
                alloy_rlp::Encodable::encode(
                    &ExtensionNodeRef::new(&key, &child_ref),
                    &mut self.buf,
                );
            }
            Node::Branch(nodes) => {
                let mut stack = Vec::with_capacity(16);
                let mut mask = TrieMask::default();
                for (i, child) in (0u8..).zip(*nodes) {
                    if matches!(child, Node::Empty) {
                        continue;
                    }
                    let below = child_path(&path, i, self.db)?;
                    if let Some((r, born)) = self.commit(owner, child, below, false)? {
                        if r.is_hash() {
                            children.push(born);
                        }
                        stack.push(r);
                        mask.set_bit(i);
                    }
                }
                self.buf.clear();
                alloy_rlp::Encodable::encode(&BranchNodeRef::new(&stack, mask), &mut self.buf);
            }
        }
        self.store(owner, &path, &children, root).map(Some)
    }

    /// Stores the node encoded in `self.buf` (unless it is embedded in its parent, or is the
    /// very node that was there before) and returns its reference and the block that wrote it.
    fn store(
        &mut self,
        owner: Owner,
        path: &Nibbles,
        children: &[u64],
        root: bool,
    ) -> Result<(RlpNode, u64)> {
        if self.buf.len() < 32 && !root {
            // Under 32 bytes a node cannot reference a child by hash.
            let r = RlpNode::from_raw_rlp(&self.buf)
                .map_err(|e| Error::Store(format!("embedded trie node: {e}")))?;
            return Ok((r, 0));
        }
        let hash = keccak256(&self.buf);
        let position = position(owner, path, &hash);
        let born = match self.replaced.remove(&position) {
            // The very node that was there: it stays, with the block that wrote it.
            Some(born) => born,
            None => {
                let key = key_of(self.block, &position);
                let row = encode_row(self.block, children, &self.buf);
                self.written.push((key, row));
                self.block
            }
        };
        Ok((RlpNode::word_rlp(&hash), born))
    }
}

/// A branch with `children`, under an extension of `prefix` if it is not empty.
fn branch_under(prefix: Nibbles, children: Box<[Node; 16]>) -> Node {
    let branch = Node::Branch(children);
    if prefix.is_empty() {
        branch
    } else {
        Node::Extension(prefix, Box::new(branch))
    }
}

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
pub(crate) fn recompute_state_root(rtx: &redb::ReadTransaction, db: &Path) -> Result<B256> {
    use super::tables::{ACCOUNTS, STORAGE};
    let accounts = rtx.open_table(ACCOUNTS).map_err(store_err)?;
    let storage = rtx.open_table(STORAGE).map_err(store_err)?;
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
    }
    if let Some(done) = current {
        finish(done, &mut slots);
    }

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use medshare_light::{Proved, proof::value_at};
    use redb::{Database, ReadableDatabase, backends::InMemoryBackend};

    use super::*;

    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// Keys that make every shape of node: random ones; ones sharing a 4-nibble prefix
    /// (extensions); ones sharing 62 nibbles, whose small leaves are embedded in their parent.
    fn key(rng: &mut Rng) -> B256 {
        let mut k = keccak256(rng.next().to_be_bytes());
        match rng.below(4) {
            0 => {
                k.0[0] = 0xab;
                k.0[1] = 0xcd;
            }
            1 => k.0[..31].fill(0x11),
            _ => {}
        }
        k
    }

    fn value(rng: &mut Rng) -> Vec<u8> {
        if rng.below(2) == 0 {
            alloy_rlp::encode(U256::from(rng.below(100) + 1))
        } else {
            alloy_rlp::encode(U256::from_be_bytes(keccak256(rng.next().to_be_bytes()).0))
        }
    }

    type Model = BTreeMap<B256, Vec<u8>>;

    fn root_of(model: &Model) -> B256 {
        let mut hb = HashBuilder::default();
        for (k, v) in model {
            hb.add_leaf(Nibbles::unpack(k), v);
        }
        hb.root()
    }

    /// One block: `changes` to the state trie, and to storage trie `S` (wiped first if asked).
    struct Block {
        state: Vec<(B256, Option<Vec<u8>>)>,
        storage: Vec<(B256, Option<Vec<u8>>)>,
        wipe: bool,
    }

    const S: Owner = Owner::Storage(Address::repeat_byte(0x5a));

    /// A trie root and the block that wrote it.
    type Root = (B256, u64);

    fn leaves(changes: Vec<(B256, Option<Vec<u8>>)>) -> Vec<(B256, Option<LeafValue>)> {
        changes
            .into_iter()
            .map(|(k, v)| (k, v.map(|v| (v, None))))
            .collect()
    }

    fn apply(db: &Database, number: u64, roots: (Root, Root), block: Block) -> (Root, Root) {
        let path = Path::new("memory");
        let wtx = db.begin_write().unwrap();
        let roots = {
            let mut nodes = wtx.open_table(NODES).unwrap();
            let mut deaths = wtx.open_table(DEATHS).unwrap();
            let mut writer = TrieWriter::new(&mut nodes, number, path);
            let mut storage = roots.1;
            if block.wipe {
                writer.wipe(S, storage.0, storage.1).unwrap();
                storage = (EMPTY_ROOT_HASH, 0);
            }
            let storage = writer
                .update(S, storage.0, storage.1, leaves(block.storage))
                .unwrap();
            let state = writer
                .update(Owner::State, roots.0.0, roots.0.1, leaves(block.state))
                .unwrap();
            let row = writer.finish().unwrap();
            if !row.is_empty() {
                deaths.insert(number, row.as_slice()).unwrap();
            }
            if number.is_multiple_of(PRUNE_EVERY)
                && let Some(upto) = number.checked_sub(STATE_HISTORY)
            {
                prune(&mut nodes, &mut deaths, upto, path).unwrap();
            }
            (state, storage)
        };
        wtx.commit().unwrap();
        roots
    }

    /// Every stored node is reachable from the current roots or on a kept death row, every
    /// reachable node is stored, and no death row is older than the history kept.
    fn check_store(db: &Database, roots: (Root, Root), tip: u64) {
        let path = Path::new("memory");
        let rtx = db.begin_read().unwrap();
        let nodes = rtx.open_table(NODES).unwrap();
        let mut reachable = HashSet::new();
        for (owner, (root, born)) in [(Owner::State, roots.0), (S, roots.1)] {
            if root == EMPTY_ROOT_HASH {
                continue;
            }
            let mut pending = vec![(Nibbles::new(), root, born)];
            while let Some((p, hash, born)) = pending.pop() {
                let row = fetch(&nodes, born, owner, &p, &hash, path).unwrap();
                reachable.insert(node_key(born, owner, &p, &hash));
                let mut borns = row.children.iter().copied();
                match decode_node(&row.rlp, path).unwrap() {
                    TrieNode::Branch(b) => {
                        let mut stack = b.stack.iter();
                        for i in 0u8..16 {
                            if b.state_mask.is_bit_set(i) {
                                let child = stack.next().unwrap();
                                if let Some(h) = child.as_hash() {
                                    let b = borns.next().unwrap();
                                    pending.push((child_path(&p, i, path).unwrap(), h, b));
                                }
                            }
                        }
                    }
                    TrieNode::Extension(e) => {
                        if let Some(h) = e.child.as_hash() {
                            pending.push((p.join(&e.key), h, borns.next().unwrap()));
                        }
                    }
                    _ => {}
                }
                assert!(borns.next().is_none());
            }
        }
        let deaths = rtx.open_table(DEATHS).unwrap();
        let mut dying = HashSet::new();
        for entry in deaths.iter().unwrap() {
            let (block, row) = entry.unwrap();
            assert!(
                block.value() + STATE_HISTORY + PRUNE_EVERY > tip,
                "death row of block {} kept at tip {tip}",
                block.value()
            );
            for k in death_row_keys(row.value()).unwrap() {
                dying.insert(k.to_vec());
            }
        }
        let mut stored = 0;
        for entry in nodes.iter().unwrap() {
            let (k, _) = entry.unwrap();
            let k = k.value().to_vec();
            assert!(
                reachable.contains(&k) || dying.contains(&k),
                "a stored node is neither live nor kept for history"
            );
            stored += 1;
        }
        assert!(stored >= reachable.len());
    }

    #[test]
    fn incremental_roots_and_proofs_match_a_hash_builder_over_many_blocks() {
        let db = Database::builder()
            .create_with_backend(InMemoryBackend::new())
            .unwrap();
        let mut rng = Rng(7);
        let mut model = Model::new();
        let mut storage = Model::new();
        let empty = (EMPTY_ROOT_HASH, 0);
        let mut roots = (empty, empty);
        // Per block: the roots and the model after it.
        let mut history: Vec<((Root, Root), Model)> = vec![(roots, model.clone())];
        let blocks = STATE_HISTORY + 150;
        for number in 1..=blocks {
            let mut block = Block {
                state: Vec::new(),
                storage: Vec::new(),
                wipe: number % 97 == 0,
            };
            if block.wipe {
                storage.clear();
            }
            let mut changed = HashSet::new();
            for _ in 0..rng.below(24) + 1 {
                let existing = model
                    .keys()
                    .nth(rng.below(model.len().max(1) as u64) as usize);
                let k = match (existing.copied(), rng.below(3)) {
                    (Some(k), 0 | 1) => k,
                    _ => key(&mut rng),
                };
                // One change per key per block (a block's diff holds final values).
                if !changed.insert(k) {
                    continue;
                }
                if model.contains_key(&k) && rng.below(2) == 0 {
                    model.remove(&k);
                    block.state.push((k, None));
                } else {
                    let v = value(&mut rng);
                    model.insert(k, v.clone());
                    block.state.push((k, Some(v)));
                }
            }
            // A key that is not there, deleted.
            let absent = key(&mut rng);
            if !model.contains_key(&absent) && changed.insert(absent) {
                block.state.push((absent, None));
            }
            for _ in 0..rng.below(4) {
                let k = key(&mut rng);
                if storage.contains_key(&k) {
                    continue;
                }
                let v = value(&mut rng);
                storage.insert(k, v.clone());
                block.storage.push((k, Some(v)));
            }
            roots = apply(&db, number, roots, block);
            assert_eq!(roots.0.0, root_of(&model), "state root of block {number}");
            assert_eq!(
                roots.1.0,
                root_of(&storage),
                "storage root of block {number}"
            );
            history.push((roots, model.clone()));
            if number % 25 == 0 || number == blocks {
                check_store(&db, roots, number);
            }
        }
        // Every kept block proves its own state, present and absent keys alike.
        let rtx = db.begin_read().unwrap();
        let nodes = rtx.open_table(NODES).unwrap();
        let path = Path::new("memory");
        for number in (blocks - STATE_HISTORY..=blocks).step_by(13) {
            let ((state, _), model) = &history[number as usize];
            let mut keys: Vec<B256> = model.keys().step_by(5).copied().collect();
            keys.extend((0..20).map(|_| key(&mut rng)));
            for k in keys {
                let (proof, found) =
                    prove(&nodes, Owner::State, state.0, state.1, k, path).unwrap();
                assert_eq!(found.map(|f| f.0).as_ref(), model.get(&k));
                let verified = value_at(state.0, k, &proof, Proved::Account).unwrap();
                assert_eq!(verified.as_ref(), model.get(&k), "block {number}");
            }
        }
        // Older blocks' replaced nodes are gone.
        let ((old, _), model) = &history[10];
        let k = *model.keys().next().unwrap();
        assert!(prove(&nodes, Owner::State, old.0, old.1, k, path).is_err());
    }

    #[test]
    fn a_node_written_again_at_its_old_position_outlives_the_old_death_row() {
        // A key set to A, B, A, B, ...: the same nodes come back at the same positions; each
        // comeback must outlive the death-row entry of its earlier version.
        let db = Database::builder()
            .create_with_backend(InMemoryBackend::new())
            .unwrap();
        let k1 = keccak256(b"one");
        let k2 = keccak256(b"two");
        let empty = (EMPTY_ROOT_HASH, 0);
        let mut roots = (empty, empty);
        let mut history = vec![roots];
        for number in 1..=(STATE_HISTORY * 2 + 5) {
            let v = alloy_rlp::encode(U256::from(1 + number % 2));
            let block = Block {
                state: vec![(k1, Some(v)), (k2, Some(alloy_rlp::encode(U256::from(9))))],
                storage: Vec::new(),
                wipe: false,
            };
            roots = apply(&db, number, roots, block);
            history.push(roots);
            check_store(&db, roots, number);
        }
        let tip = history.len() as u64 - 1;
        let rtx = db.begin_read().unwrap();
        let nodes = rtx.open_table(NODES).unwrap();
        for number in tip - STATE_HISTORY..=tip {
            let (root, born) = history[number as usize].0;
            let (proof, found) =
                prove(&nodes, Owner::State, root, born, k1, Path::new("m")).unwrap();
            let expected = alloy_rlp::encode(U256::from(1 + number % 2));
            assert_eq!(found.map(|f| f.0), Some(expected.clone()));
            assert_eq!(
                value_at(root, k1, &proof, Proved::Account).unwrap(),
                Some(expected)
            );
        }
    }

    #[test]
    fn keys_lead_with_the_block_then_name_owner_position_and_hash() {
        let h = B256::repeat_byte(3);
        let a = node_key(5, Owner::State, &Nibbles::from_nibbles([1, 2]), &h);
        let b = node_key(5, Owner::State, &Nibbles::from_nibbles([1, 2, 0]), &h);
        let c = node_key(
            5,
            Owner::Storage(Address::ZERO),
            &Nibbles::from_nibbles([1, 2]),
            &h,
        );
        let d = node_key(6, Owner::State, &Nibbles::from_nibbles([1, 2]), &h);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert!(a < d && b < d && c < d);
        assert_eq!(&a[..8], &5u64.to_be_bytes());
        assert_eq!(&a[a.len() - 32..], h.as_slice());
        assert_eq!(a.len(), 8 + 1 + 1 + 1 + 32);
        assert_eq!(c.len(), 8 + 1 + 20 + 1 + 1 + 32);
        let full = node_key(1, Owner::Storage(Address::ZERO), &Nibbles::unpack(h), &h);
        assert_eq!(full.len(), 94);
    }

    #[test]
    fn rows_round_trip_and_damaged_rows_are_refused() {
        let row = encode_row(100_000, &[7, 99_999, 100_000], b"rlp");
        let back = decode_row(100_000, &row).unwrap();
        assert_eq!(
            (back.children, back.rlp),
            (vec![7, 99_999, 100_000], b"rlp".to_vec())
        );
        assert_eq!(row.len(), 1 + 3 + 1 + 1 + 3);
        assert!(decode_row(5, &[]).is_none());
        assert!(decode_row(5, &[3, 0, 0]).is_none());
        // A child younger than its parent, an endless varint.
        assert!(decode_row(5, &[1, 6]).is_none());
        assert!(decode_row(5, &[1, 0x86, 0x00]).is_none());
        assert!(
            decode_row(
                5,
                &[
                    1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
                ]
            )
            .is_none()
        );
        assert_eq!(
            death_row_keys(&[2, 1, 2, 1, 9]).unwrap(),
            vec![&[1u8, 2][..], &[9u8][..]]
        );
        assert!(death_row_keys(&[3, 1]).is_none());
    }
}
