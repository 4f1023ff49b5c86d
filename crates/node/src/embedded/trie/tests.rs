//! The tries against `alloy_trie`'s hash builder over many blocks, proofs against
//! `medshare_light`, and the stored format.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::{BTreeMap, HashSet},
    path::Path,
};

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, HashBuilder, Nibbles, nodes::TrieNode};
use medshare_light::{Proved, proof::value_at};
use redb::{Database, ReadableDatabase, ReadableTable, backends::InMemoryBackend};

use super::{
    DEATHS, LeafValue, NODES, Owner, PRUNE_EVERY, STATE_HISTORY, TrieWriter,
    block::{death_row_keys, prune},
    node::{child_path, decode_node, decode_row, encode_row, fetch, node_key},
    prove,
};

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
            let (proof, found) = prove(&nodes, Owner::State, state.0, state.1, k, path).unwrap();
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
        let (proof, found) = prove(&nodes, Owner::State, root, born, k1, Path::new("m")).unwrap();
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
