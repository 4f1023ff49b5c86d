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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use alloy_rpc_types_eth::EIP1186StorageProof;
    use alloy_trie::{
        HashBuilder, TrieAccount,
        nodes::{BranchNode, ExtensionNode, LeafNode, RlpNode},
        proof::{ProofRetainer, verify_proof},
    };

    /// A trie built with alloy's hash builder; proofs for `targets` (hashed keys).
    fn build(leaves: &[(B256, Vec<u8>)], targets: &[B256]) -> (B256, Vec<Vec<Bytes>>) {
        let mut sorted = leaves.to_vec();
        sorted.sort();
        let retainer = ProofRetainer::from_iter(targets.iter().map(|t| Nibbles::unpack(t)));
        let mut hb = HashBuilder::default().with_proof_retainer(retainer);
        for (k, v) in &sorted {
            hb.add_leaf(Nibbles::unpack(k), v);
        }
        let root = hb.root();
        let nodes = hb.take_proof_nodes();
        let proofs = targets
            .iter()
            .map(|t| {
                nodes
                    .matching_nodes_sorted(&Nibbles::unpack(t))
                    .into_iter()
                    .map(|(_, n)| n)
                    .collect()
            })
            .collect();
        (root, proofs)
    }

    fn slot(n: u64) -> B256 {
        B256::from(U256::from(n))
    }

    fn account_rlp(a: &TrieAccount) -> Vec<u8> {
        alloy_rlp::encode(a)
    }

    /// A state with `n` accounts, the first of which has storage slots 0..slots with value
    /// slot + 1; a proof response for `address` with the given slots.
    struct World {
        root: B256,
        accounts: Vec<(Address, TrieAccount)>,
        storage: Vec<(B256, U256)>,
    }

    impl World {
        fn new(n: u64, slots: u64) -> Self {
            let storage: Vec<(B256, U256)> =
                (0..slots).map(|i| (slot(i), U256::from(i + 1))).collect();
            let storage_root = alloy_trie::root::storage_root_unhashed(storage.clone());
            let accounts: Vec<(Address, TrieAccount)> = (0..n)
                .map(|i| {
                    let a = Address::from_word(keccak256(i.to_be_bytes()));
                    let acc = TrieAccount {
                        nonce: i,
                        balance: U256::from(1000 * i),
                        storage_root: if i == 0 {
                            storage_root
                        } else {
                            EMPTY_ROOT_HASH
                        },
                        code_hash: if i == 0 {
                            keccak256(b"code")
                        } else {
                            KECCAK_EMPTY
                        },
                    };
                    (a, acc)
                })
                .collect();
            let leaves: Vec<(B256, Vec<u8>)> = accounts
                .iter()
                .map(|(a, acc)| (keccak256(a), account_rlp(acc)))
                .collect();
            let (root, _) = build(&leaves, &[]);
            Self {
                root,
                accounts,
                storage,
            }
        }

        fn address(&self, i: usize) -> Address {
            self.accounts[i].0
        }

        fn response(&self, address: Address, slots: &[B256]) -> EIP1186AccountProofResponse {
            let leaves: Vec<(B256, Vec<u8>)> = self
                .accounts
                .iter()
                .map(|(a, acc)| (keccak256(a), account_rlp(acc)))
                .collect();
            let (root, proofs) = build(&leaves, &[keccak256(address)]);
            assert_eq!(root, self.root);
            let acc = self
                .accounts
                .iter()
                .find(|(a, _)| *a == address)
                .map(|(_, acc)| *acc)
                .unwrap_or_default();
            let storage = if acc.storage_root == EMPTY_ROOT_HASH {
                Vec::new()
            } else {
                self.storage.clone()
            };
            let sleaves: Vec<(B256, Vec<u8>)> = storage
                .iter()
                .map(|(k, v)| (keccak256(k), alloy_rlp::encode(v)))
                .collect();
            let hashed: Vec<B256> = slots.iter().map(keccak256).collect();
            let (sroot, sproofs) = build(&sleaves, &hashed);
            assert_eq!(sroot, acc.storage_root);
            let storage_proof = slots
                .iter()
                .zip(sproofs)
                .map(|(s, proof)| EIP1186StorageProof {
                    key: (*s).into(),
                    value: storage
                        .iter()
                        .find(|(k, _)| k == s)
                        .map(|(_, v)| *v)
                        .unwrap_or_default(),
                    proof,
                })
                .collect();
            EIP1186AccountProofResponse {
                address,
                balance: acc.balance,
                code_hash: acc.code_hash,
                nonce: acc.nonce,
                storage_hash: acc.storage_root,
                account_proof: proofs.into_iter().next().unwrap(),
                storage_proof,
            }
        }
    }

    #[test]
    fn present_and_absent_accounts_and_slots_verify() {
        let world = World::new(50, 300);
        let owner = world.address(0);
        let slots = [slot(0), slot(7), slot(299), slot(300), slot(1 << 40)];
        let v = verify_account(world.root, &world.response(owner, &slots)).unwrap();
        assert!(v.exists);
        assert_eq!(v.nonce, 0);
        assert_eq!(v.code_hash, keccak256(b"code"));
        assert_eq!(v.slot(slot(7)), Some(U256::from(8)));
        assert_eq!(v.slot(slot(299)), Some(U256::from(300)));
        assert_eq!(v.slot(slot(300)), Some(U256::ZERO));
        assert_eq!(v.slot(slot(1 << 40)), Some(U256::ZERO));
        assert_eq!(v.slot(slot(5)), None);

        let other = world.address(19);
        let v = verify_account(world.root, &world.response(other, &[slot(0)])).unwrap();
        assert!(v.exists);
        assert_eq!((v.nonce, v.balance), (19, U256::from(19_000)));
        assert_eq!(v.slot(slot(0)), Some(U256::ZERO));

        let absent = Address::repeat_byte(0xee);
        let r = world.response(absent, &[slot(0)]);
        assert!(r.storage_proof[0].proof.len() <= 1);
        let v = verify_account(world.root, &r).unwrap();
        assert!(!v.exists);
        assert_eq!(v.storage_root, EMPTY_ROOT_HASH);
        assert_eq!(v.slot(slot(0)), Some(U256::ZERO));
    }

    #[test]
    fn agrees_with_alloy_verify_proof() {
        let world = World::new(100, 0);
        for i in 0..60usize {
            let address = if i < 40 {
                world.address(i * 2)
            } else {
                Address::with_last_byte(i as u8)
            };
            let r = world.response(address, &[]);
            let key = keccak256(address);
            let got = value_at(world.root, key, &r.account_proof, Proved::Account).unwrap();
            assert_eq!(
                verify_proof(
                    world.root,
                    Nibbles::unpack(key),
                    got.clone(),
                    &r.account_proof
                ),
                Ok(())
            );
        }
    }

    #[test]
    fn a_proof_for_another_state_root_is_refused() {
        let world = World::new(20, 10);
        let other = World::new(21, 10);
        let owner = world.address(0);
        let r = world.response(owner, &[slot(1)]);
        assert_eq!(
            verify_account(other.root, &r),
            Err(Error::RootMismatch(Proved::Account))
        );
        assert_eq!(
            verify_account(EMPTY_ROOT_HASH, &r),
            Err(Error::RootMismatch(Proved::Account))
        );
        // The storage proof of a different storage trie.
        let mut r2 = r.clone();
        r2.storage_proof[0].proof = World::new(20, 11).response(owner, &[slot(1)]).storage_proof[0]
            .proof
            .clone();
        assert!(matches!(
            verify_account(world.root, &r2),
            Err(Error::RootMismatch(Proved::Slot(_)))
        ));
    }

    #[test]
    fn a_flipped_byte_in_any_proof_node_is_refused() {
        let world = World::new(300, 500);
        let owner = world.address(0);
        let r = world.response(owner, &[slot(3), slot(10_000)]);
        verify_account(world.root, &r).unwrap();
        let mut cases = 0;
        for n in 0..r.account_proof.len() {
            for i in 0..r.account_proof[n].len() {
                let mut bad = r.clone();
                let mut node = bad.account_proof[n].to_vec();
                node[i] ^= 0x01;
                bad.account_proof[n] = node.into();
                assert!(
                    verify_account(world.root, &bad).is_err(),
                    "node {n} byte {i}"
                );
                cases += 1;
            }
        }
        for p in 0..r.storage_proof.len() {
            for n in 0..r.storage_proof[p].proof.len() {
                for i in 0..r.storage_proof[p].proof[n].len() {
                    let mut bad = r.clone();
                    let mut node = bad.storage_proof[p].proof[n].to_vec();
                    node[i] ^= 0x80;
                    bad.storage_proof[p].proof[n] = node.into();
                    assert!(
                        verify_account(world.root, &bad).is_err(),
                        "slot {p} node {n} byte {i}"
                    );
                    cases += 1;
                }
            }
        }
        assert!(cases > 1000, "{cases}");
    }

    #[test]
    fn claims_the_trie_does_not_hold_are_refused() {
        let world = World::new(30, 20);
        let owner = world.address(0);
        let r = world.response(owner, &[slot(2), slot(50)]);
        let mut bad = r.clone();
        bad.balance += U256::from(1);
        assert_eq!(
            verify_account(world.root, &bad),
            Err(Error::AccountMismatch { field: "balance" })
        );
        let mut bad = r.clone();
        bad.nonce += 1;
        assert_eq!(
            verify_account(world.root, &bad),
            Err(Error::AccountMismatch { field: "nonce" })
        );
        let mut bad = r.clone();
        bad.storage_hash = EMPTY_ROOT_HASH;
        assert_eq!(
            verify_account(world.root, &bad),
            Err(Error::AccountMismatch {
                field: "storage_hash"
            })
        );
        // A changed value of a present slot, a value claimed for an absent one.
        let mut bad = r.clone();
        bad.storage_proof[0].value = U256::from(4);
        assert_eq!(
            verify_account(world.root, &bad),
            Err(Error::StorageMismatch {
                slot: slot(2),
                claimed: U256::from(4),
                proven: U256::from(3)
            })
        );
        let mut bad = r.clone();
        bad.storage_proof[1].value = U256::from(1);
        assert_eq!(
            verify_account(world.root, &bad),
            Err(Error::StorageMismatch {
                slot: slot(50),
                claimed: U256::from(1),
                proven: U256::ZERO
            })
        );
        // The proof of slot 2 presented for slot 3.
        let mut bad = r.clone();
        bad.storage_proof[0].key = slot(3).into();
        assert!(verify_account(world.root, &bad).is_err());
        // An absent account claimed to have a balance.
        let mut bad = world.response(Address::repeat_byte(0xee), &[]);
        bad.balance = U256::from(1);
        assert_eq!(
            verify_account(world.root, &bad),
            Err(Error::AccountMismatch { field: "balance" })
        );
        // Truncated and extended proofs.
        let mut bad = r.clone();
        bad.account_proof.pop();
        assert_eq!(
            verify_account(world.root, &bad),
            Err(Error::Incomplete(Proved::Account))
        );
        let mut bad = r.clone();
        bad.account_proof.push(bad.account_proof[0].clone());
        assert_eq!(
            verify_account(world.root, &bad),
            Err(Error::TrailingNodes {
                proved: Proved::Account,
                extra: 1
            })
        );
        let mut bad = r;
        bad.account_proof.clear();
        assert_eq!(
            verify_account(world.root, &bad),
            Err(Error::Incomplete(Proved::Account))
        );
    }

    proptest::proptest! {
        /// Arbitrary bytes as proof nodes, under a root that is either random or the hash of
        /// the first node (so that the walk gets past the root): an answer or an error, never a
        /// panic.
        #[test]
        fn arbitrary_proofs_never_panic(
            nodes in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..300), 0..5),
            key in proptest::array::uniform32(proptest::num::u8::ANY),
            random_root in proptest::array::uniform32(proptest::num::u8::ANY),
            hashed_root in proptest::bool::ANY,
        ) {
            let proof: Vec<Bytes> = nodes.into_iter().map(Bytes::from).collect();
            let root = match (hashed_root, proof.first()) {
                (true, Some(first)) => keccak256(first),
                _ => B256::from(random_root),
            };
            let _ = value_at(root, B256::from(key), &proof, Proved::Account);
            let response = EIP1186AccountProofResponse {
                address: Address::from_word(B256::from(key)),
                account_proof: proof.clone(),
                storage_proof: vec![EIP1186StorageProof {
                    key: B256::from(key).into(),
                    value: U256::from(1),
                    proof,
                }],
                ..Default::default()
            };
            let _ = verify_account(root, &response);
        }

        /// Valid proofs with one byte changed anywhere (any node, any position, any value):
        /// refused, or (if the change hit nothing that is checked) the same answer.
        #[test]
        fn mutated_valid_proofs_are_refused(node in 0usize..8, at in 0usize..600, byte in proptest::num::u8::ANY) {
            let world = World::new(40, 30);
            let owner = world.address(0);
            let good = world.response(owner, &[slot(4), slot(99)]);
            let expected = verify_account(world.root, &good).unwrap();
            let mut bad = good.clone();
            let proofs = bad.account_proof.len() + bad.storage_proof.iter().map(|p| p.proof.len()).sum::<usize>();
            let mut n = node % proofs.max(1);
            let target = if n < bad.account_proof.len() {
                &mut bad.account_proof[n]
            } else {
                n -= bad.account_proof.len();
                let mut found = None;
                for p in &mut bad.storage_proof {
                    if n < p.proof.len() {
                        found = Some(&mut p.proof[n]);
                        break;
                    }
                    n -= p.proof.len();
                }
                found.unwrap()
            };
            let mut bytes = target.to_vec();
            let i = at % bytes.len();
            bytes[i] = byte;
            *target = bytes.into();
            if let Ok(v) = verify_account(world.root, &bad) {
                proptest::prop_assert_eq!(v, expected);
            }
        }
    }

    /// Hand-made hostile tries whose root the attacker also chose: paths longer than a key,
    /// nodes of the wrong shape. Errors, not panics (alloy's `verify_proof` panics on the first).
    #[test]
    fn hostile_shapes_are_errors_not_panics() {
        let key = keccak256(b"k");
        let nib = Nibbles::unpack(key);
        let hashed = |node: &TrieNode| -> (B256, Bytes) {
            let rlp = alloy_rlp::encode(node);
            (keccak256(&rlp), rlp.into())
        };
        // leaf(60 nibbles) under extension(40 nibbles): 100 nibbles of path.
        let leaf = TrieNode::Leaf(LeafNode::new(nib.slice(4..), vec![1; 40]));
        let (leaf_hash, leaf_rlp) = hashed(&leaf);
        let ext = TrieNode::Extension(ExtensionNode::new(
            nib.slice(..40),
            RlpNode::word_rlp(&leaf_hash),
        ));
        let (root, ext_rlp) = hashed(&ext);
        assert!(matches!(
            value_at(
                root,
                key,
                &[ext_rlp.clone(), leaf_rlp.clone()],
                Proved::Account
            ),
            Err(Error::MalformedNode { .. })
        ));
        // The reason this walker exists: alloy-trie's verifier panics on this very proof. If
        // this starts to fail, alloy-trie no longer panics and could be used instead.
        let alloy = std::panic::catch_unwind(|| {
            verify_proof(root, nib, None, &[ext_rlp.clone(), leaf_rlp.clone()])
        });
        assert!(
            alloy.is_err(),
            "alloy_trie::proof::verify_proof no longer panics"
        );
        // A leaf whose path is too short.
        let short = TrieNode::Leaf(LeafNode::new(nib.slice(..10), vec![7; 40]));
        let (root, short_rlp) = hashed(&short);
        assert!(matches!(
            value_at(root, key, &[short_rlp], Proved::Account),
            Err(Error::MalformedNode { .. })
        ));
        // A branch whose every child is the branch itself would recurse forever by hash; a
        // chain of 65 branches runs out of key.
        let mut child_hash = keccak256(b"bottom");
        let mut chain = Vec::new();
        for depth in (0..65).rev() {
            let nibble = nib.get(depth).unwrap_or(0);
            let mut stack = vec![RlpNode::word_rlp(&child_hash)];
            let mut mask = alloy_trie::TrieMask::default();
            mask.set_bit(nibble);
            let other = (nibble + 1) % 16;
            mask.set_bit(other);
            stack.push(RlpNode::word_rlp(&keccak256(b"x")));
            if other < nibble {
                stack.swap(0, 1);
            }
            let node = TrieNode::Branch(BranchNode::new(stack, mask));
            let (h, rlp) = hashed(&node);
            chain.push(rlp);
            child_hash = h;
        }
        chain.reverse();
        assert!(matches!(
            value_at(child_hash, key, &chain, Proved::Account),
            Err(Error::MalformedNode { .. })
        ));
        // Garbage of every length as a one-node proof whose hash is the root.
        for len in 0..80usize {
            let junk: Vec<u8> = (0..len)
                .map(|i| keccak256([i as u8, len as u8]).0[0])
                .collect();
            let root = keccak256(&junk);
            let _ = value_at(root, key, &[junk.clone().into()], Proved::Account);
            let mut list = vec![0xf8, len as u8];
            list.extend(&junk);
            let _ = value_at(keccak256(&list), key, &[list.into()], Proved::Account);
        }
        // Account leaves that are not accounts.
        for leaf in [
            vec![0xc0],
            vec![0xc1, 0x80],
            vec![0x80],
            alloy_rlp::encode(U256::from(5)),
        ] {
            assert!(decode_account(&leaf).is_err());
        }
        let mut five = alloy_rlp::encode(TrieAccount::default());
        five.push(0x80);
        assert!(decode_account(&five).is_err());
        assert_eq!(decode_storage_value(&[0x80]), Some(U256::ZERO));
        assert_eq!(decode_storage_value(&[0x00]), None);
        assert_eq!(decode_storage_value(&[0x80, 0x80]), None);
        assert_eq!(decode_storage_value(&[0x05]), Some(U256::from(5)));
        assert_eq!(decode_storage_value(&[0x81, 0x05]), None);
    }
}
