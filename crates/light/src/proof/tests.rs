//! Tests of the proof verifier: tries built with alloy's hash builder, proofs checked against
//! alloy's own verifier, and every hostile shape refused without a panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::{test_support::trie as build, *};
use alloy_rpc_types_eth::EIP1186StorageProof;
use alloy_trie::{
    TrieAccount,
    nodes::{BranchNode, ExtensionNode, LeafNode, RlpNode},
    proof::verify_proof,
};

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
        let storage: Vec<(B256, U256)> = (0..slots).map(|i| (slot(i), U256::from(i + 1))).collect();
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
