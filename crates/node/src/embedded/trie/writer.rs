//! [`TrieWriter`]: one block's update of a trie, in memory along the changed keys' paths, then
//! written back bottom up.

use std::{collections::HashMap, path::Path};

use alloy_primitives::{B256, keccak256};
use alloy_trie::{
    EMPTY_ROOT_HASH, Nibbles, TrieMask,
    nodes::{BranchNodeRef, ExtensionNodeRef, LeafNodeRef, RlpNode, TrieNode},
};
use redb::Table;

use super::{
    LeafValue, Owner, corrupt,
    node::{Position, child_path, decode_node, encode_row, fetch, join, key_of, nibble, position},
};
use crate::{Error, Result, embedded::store_err};

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
