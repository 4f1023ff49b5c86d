//! EIP-1186 proofs (`eth_getProof`) checked against a state root.
//!
//! The state trie maps `keccak256(address)` to `rlp([nonce, balance, storage_root, code_hash])`;
//! each account's storage trie maps `keccak256(slot)` to `rlp(value)`, zero values absent. A proof
//! is the list of RLP-encoded trie nodes on the key's path, root first; nodes shorter than 32
//! bytes are embedded in their parent rather than listed. [`value_at`] walks such a list from a
//! root and returns what it proves is at the key: a value (inclusion) or nothing (exclusion: the
//! path ends in an empty branch slot or diverges from an extension or leaf).
//!
//! Why not `alloy_trie::proof::verify_proof`: it checks a claimed value rather than returning the
//! proven one, and a hostile proof whose nodes add up to a path longer than 64 nibbles makes it
//! panic (`Nibbles::extend` asserts); this walker bounds every path and returns errors instead.
//! It decodes nodes with `alloy_trie`'s [`TrieNode`], and the tests check that it agrees with
//! `verify_proof` on valid proofs.

use std::collections::BTreeMap;

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_rlp::{Decodable, EMPTY_STRING_CODE, Header};
use alloy_rpc_types_eth::EIP1186AccountProofResponse;
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, Nibbles, nodes::TrieNode};

use crate::{Error, Proved, Result};

/// Nibbles in a key of the state and storage tries (32-byte keccak256 hashes).
const KEY_NIBBLES: usize = 64;

/// An account as proven by an [`EIP1186AccountProofResponse`]: nothing here is taken from the
/// response without a proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAccount {
    /// The account's address.
    pub address: Address,
    /// Whether the account is in the state trie (an absent account is proven empty).
    pub exists: bool,
    /// Its nonce.
    pub nonce: u64,
    /// Its balance (wei).
    pub balance: U256,
    /// The root of its storage trie ([`EMPTY_ROOT_HASH`] for none).
    pub storage_root: B256,
    /// The hash of its code ([`KECCAK_EMPTY`] for none).
    pub code_hash: B256,
    /// Every slot of the response, with its proven value (zero for an absent slot).
    pub storage: BTreeMap<B256, U256>,
}

impl VerifiedAccount {
    /// The proven value of `slot`, if the response carried a proof for it.
    pub fn slot(&self, slot: B256) -> Option<U256> {
        self.storage.get(&slot).copied()
    }
}

/// Checks `proof` against `state_root` (taken from a header the caller verified): the account
/// proof against the state root, then every storage proof against the account's proven storage
/// root. Inclusion and exclusion proofs are both checked; every field of the response must be
/// the proven one (an absent account must be claimed empty, an absent slot zero).
pub fn verify_account(
    state_root: B256,
    proof: &EIP1186AccountProofResponse,
) -> Result<VerifiedAccount> {
    let leaf = value_at(
        state_root,
        keccak256(proof.address),
        &proof.account_proof,
        Proved::Account,
    )?;
    let exists = leaf.is_some();
    let account = match leaf {
        Some(bytes) => {
            let account = decode_account(&bytes)?;
            let claims = [
                ("nonce", proof.nonce == account.nonce),
                ("balance", proof.balance == account.balance),
                ("storage_hash", proof.storage_hash == account.storage_root),
                ("code_hash", proof.code_hash == account.code_hash),
            ];
            if let Some((field, _)) = claims.iter().find(|(_, ok)| !ok) {
                return Err(Error::AccountMismatch { field });
            }
            account
        }
        None => {
            // Nodes answer for an absent account with an empty one; some with zero hashes.
            let claims = [
                ("nonce", proof.nonce == 0),
                ("balance", proof.balance.is_zero()),
                (
                    "storage_hash",
                    proof.storage_hash == EMPTY_ROOT_HASH || proof.storage_hash.is_zero(),
                ),
                (
                    "code_hash",
                    proof.code_hash == KECCAK_EMPTY || proof.code_hash.is_zero(),
                ),
            ];
            if let Some((field, _)) = claims.iter().find(|(_, ok)| !ok) {
                return Err(Error::AccountMismatch { field });
            }
            Account {
                nonce: 0,
                balance: U256::ZERO,
                storage_root: EMPTY_ROOT_HASH,
                code_hash: KECCAK_EMPTY,
            }
        }
    };
    let mut storage = BTreeMap::new();
    for entry in &proof.storage_proof {
        let slot = entry.key.as_b256();
        let proved = Proved::Slot(slot);
        let proven = match value_at(account.storage_root, keccak256(slot), &entry.proof, proved)? {
            Some(bytes) => {
                decode_storage_value(&bytes).ok_or(Error::MalformedStorageValue(slot))?
            }
            None => U256::ZERO,
        };
        if entry.value != proven {
            return Err(Error::StorageMismatch {
                slot,
                claimed: entry.value,
                proven,
            });
        }
        storage.insert(slot, proven);
    }
    Ok(VerifiedAccount {
        address: proof.address,
        exists,
        nonce: account.nonce,
        balance: account.balance,
        storage_root: account.storage_root,
        code_hash: account.code_hash,
        storage,
    })
}

/// The four fields of an account leaf.
struct Account {
    nonce: u64,
    balance: U256,
    storage_root: B256,
    code_hash: B256,
}

/// Decodes `rlp([nonce, balance, storage_root, code_hash])`, exactly: four canonical items and
/// nothing after them.
fn decode_account(bytes: &[u8]) -> Result<Account> {
    let bad = Error::MalformedAccount;
    let mut buf = bytes;
    let header = Header::decode(&mut buf).map_err(|_| bad("not RLP"))?;
    if !header.list {
        return Err(bad("not a list"));
    }
    if buf.len() != header.payload_length {
        return Err(bad("bytes after the account"));
    }
    let nonce = u64::decode(&mut buf).map_err(|_| bad("nonce"))?;
    let balance = U256::decode(&mut buf).map_err(|_| bad("balance"))?;
    let storage_root = B256::decode(&mut buf).map_err(|_| bad("storage root"))?;
    let code_hash = B256::decode(&mut buf).map_err(|_| bad("code hash"))?;
    if !buf.is_empty() {
        return Err(bad("more than four fields"));
    }
    Ok(Account {
        nonce,
        balance,
        storage_root,
        code_hash,
    })
}

/// Decodes a storage leaf: the canonical RLP of an integer of at most 32 bytes. Ethereum deletes
/// a slot set to zero, but anvil (1.7) keeps it in its storage trie as a leaf holding zero; such
/// a leaf proves the value zero all the same.
fn decode_storage_value(bytes: &[u8]) -> Option<U256> {
    let mut buf = bytes;
    let value = U256::decode(&mut buf).ok()?;
    buf.is_empty().then_some(value)
}

/// Where the walk goes next: a node listed in the proof (by hash) or one embedded in its parent.
enum Next {
    Hash(B256),
    Embedded(Vec<u8>),
}

/// Walks `proof` from `root` along `key` (a keccak256 hash: the state and storage tries) and
/// returns the value the trie holds there, or `None` if the proof shows the key is absent.
///
/// Every listed node must hash to what its parent names (the first one to `root`), the path
/// must end in a leaf or a dead end, and no node may follow that end. For the empty trie
/// ([`EMPTY_ROOT_HASH`]) the proof must be empty (or the single empty node `0x80`).
pub fn value_at(root: B256, key: B256, proof: &[Bytes], proved: Proved) -> Result<Option<Vec<u8>>> {
    if root == EMPTY_ROOT_HASH {
        return match proof {
            [] => Ok(None),
            [only] if only.as_ref() == [EMPTY_STRING_CODE] => Ok(None),
            _ => Err(Error::RootMismatch(proved)),
        };
    }
    let key = Nibbles::unpack(key);
    let mut listed = proof.iter();
    // Index of the last listed node taken (for errors).
    let mut index = 0usize;
    let mut taken = 0usize;
    let mut depth = 0usize;
    let mut next = Next::Hash(root);
    let malformed = |index: usize, reason: &'static str| Error::MalformedNode {
        proved,
        index,
        reason,
    };
    let value = loop {
        let node = match &next {
            Next::Hash(hash) => {
                let bytes = listed.next().ok_or(Error::Incomplete(proved))?;
                index = taken;
                taken += 1;
                if keccak256(bytes) != *hash {
                    return Err(if index == 0 {
                        Error::RootMismatch(proved)
                    } else {
                        Error::NodeMismatch { proved, index }
                    });
                }
                // Only the root may be referenced by hash while shorter than a hash.
                if index > 0 && bytes.len() < 32 {
                    return Err(malformed(
                        index,
                        "a node under 32 bytes listed, not embedded",
                    ));
                }
                decode_node(bytes).ok_or(malformed(index, "not an RLP trie node"))?
            }
            Next::Embedded(bytes) => {
                decode_node(bytes).ok_or(malformed(index, "embedded node is not a trie node"))?
            }
        };
        match node {
            TrieNode::EmptyRoot => return Err(malformed(index, "empty node inside the trie")),
            TrieNode::Branch(branch) => {
                let Some(nibble) = key.get(depth) else {
                    return Err(malformed(index, "branch node below the full key length"));
                };
                if !branch.state_mask.is_bit_set(nibble) {
                    break None;
                }
                let below = branch.state_mask.get() & ((1u16 << nibble) - 1);
                let child = branch
                    .stack
                    .get(below.count_ones() as usize)
                    .ok_or(malformed(index, "branch children do not match its mask"))?;
                depth += 1;
                next = child_ref(child).ok_or(malformed(index, "bad child reference"))?;
            }
            TrieNode::Extension(ext) => {
                let len = ext.key.len();
                // An extension leads to a branch, which needs at least one more nibble.
                if len == 0 || depth + len >= KEY_NIBBLES {
                    return Err(malformed(index, "extension path of impossible length"));
                }
                if !continues(&key, depth, &ext.key) {
                    break None;
                }
                depth += len;
                next = child_ref(&ext.child).ok_or(malformed(index, "bad child reference"))?;
            }
            TrieNode::Leaf(leaf) => {
                if depth + leaf.key.len() != KEY_NIBBLES {
                    return Err(malformed(index, "leaf path does not end at the key length"));
                }
                break continues(&key, depth, &leaf.key).then_some(leaf.value);
            }
        }
    };
    let extra = listed.count();
    if extra > 0 {
        return Err(Error::TrailingNodes { proved, extra });
    }
    Ok(value)
}

/// Decodes one trie node, refusing trailing bytes.
fn decode_node(bytes: &[u8]) -> Option<TrieNode> {
    let mut buf = bytes;
    let node = TrieNode::decode(&mut buf).ok()?;
    buf.is_empty().then_some(node)
}

/// A child reference: `rlp(hash)` (33 bytes) or an embedded node (under 32 bytes).
fn child_ref(child: &[u8]) -> Option<Next> {
    match child {
        [0xa0, hash @ ..] if hash.len() == 32 => Some(Next::Hash(B256::from_slice(hash))),
        embedded if embedded.len() < 32 => Some(Next::Embedded(embedded.to_vec())),
        _ => None,
    }
}

/// Whether `key` continues with `part` from nibble `depth` on.
fn continues(key: &Nibbles, depth: usize, part: &Nibbles) -> bool {
    (0..part.len()).all(|i| key.get(depth + i).is_some() && key.get(depth + i) == part.get(i))
}

#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
#[cfg(test)]
mod tests;
