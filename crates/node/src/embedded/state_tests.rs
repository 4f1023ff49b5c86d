//! Tests of the embedded chain's state commitments: Merkle-Patricia roots maintained block by
//! block (against a recomputation from scratch), sealed headers and `eth_getProof` checked with
//! `medshare-light`, history, and tampered state.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::BTreeMap, path::Path};

use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy_rpc_types_eth::TransactionReceipt;
use alloy_signer_local::PrivateKeySigner;
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, TrieAccount};
use medshare_light::{VerifiedAccount, header::verify_seal, verify_account};
use redb::{ReadableDatabase, ReadableTable};
use tempfile::TempDir;

use super::{
    ChainConfig, EmbeddedChain, STATE_HISTORY,
    state::read_state,
    tables::{ACCOUNTS, META, META_FORMAT, STORAGE, decode_account, encode_account, storage_key},
    tests::{expect_corrupt, sign, tx},
    trie::{self, NODES, Owner},
    verify::DB_FILE,
};
use crate::{Error, Ledger};

/// A genesis account with nothing in it: EIP-161 deletes it the first time it is touched.
const EMPTY_AT_GENESIS: Address = Address::repeat_byte(0xe0);

/// Runtime of the "writer": calldata = (slot ‖ value)*, each stored (a zero value deletes).
fn writer_runtime() -> Vec<u8> {
    vec![
        0x60, 0x00, // 00 PUSH1 0 (i)
        0x5b, // 02 JUMPDEST loop
        0x36, // 03 CALLDATASIZE
        0x81, // 04 DUP2
        0x10, // 05 LT (i < size)
        0x15, // 06 ISZERO
        0x60, 0x18, // 07 PUSH1 end
        0x57, // 09 JUMPI
        0x80, // 0a DUP1
        0x60, 0x20, // 0b PUSH1 32
        0x01, // 0d ADD
        0x35, // 0e CALLDATALOAD (value)
        0x81, // 0f DUP2
        0x35, // 10 CALLDATALOAD (slot)
        0x55, // 11 SSTORE
        0x60, 0x40, // 12 PUSH1 64
        0x01, // 14 ADD
        0x60, 0x02, // 15 PUSH1 loop
        0x56, // 17 JUMP
        0x5b, // 18 JUMPDEST end
        0x00, // 19 STOP
    ]
}

/// Constructor code that stores `slots`, then either deploys `runtime` or self-destructs.
fn constructor(slots: &[(B256, B256)], runtime: &[u8], self_destruct: bool) -> Bytes {
    let mut code = Vec::new();
    for (slot, value) in slots {
        code.push(0x7f);
        code.extend_from_slice(value.as_slice());
        code.push(0x7f);
        code.extend_from_slice(slot.as_slice());
        code.push(0x55);
    }
    if self_destruct {
        code.extend_from_slice(&[0x33, 0xff]); // CALLER SELFDESTRUCT
        return code.into();
    }
    let offset = u8::try_from(code.len() + 11).unwrap();
    let len = u8::try_from(runtime.len()).unwrap();
    code.extend_from_slice(&[
        0x60, len, 0x80, 0x60, offset, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3,
    ]);
    code.extend_from_slice(runtime);
    code.into()
}

fn slot(n: u64) -> B256 {
    B256::from(U256::from(n))
}

fn pairs(writes: &[(B256, B256)]) -> Bytes {
    writes
        .iter()
        .flat_map(|(s, v)| [s.0, v.0])
        .flatten()
        .collect::<Vec<u8>>()
        .into()
}

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

    fn address(&mut self) -> Address {
        Address::from_word(keccak256(self.next().to_be_bytes()))
    }

    /// Zero a third of the time (a deletion), else a small or a full-width value.
    fn value(&mut self) -> B256 {
        match self.below(3) {
            0 => B256::ZERO,
            1 => slot(self.below(1000) + 1),
            _ => keccak256(self.next().to_be_bytes()),
        }
    }
}

struct Harness {
    dir: TempDir,
    sealer: PrivateKeySigner,
    users: Vec<PrivateKeySigner>,
    nonces: Vec<u64>,
    chain: EmbeddedChain,
}

impl Harness {
    fn config(sealer: &PrivateKeySigner, users: &[PrivateKeySigner]) -> ChainConfig {
        let mut config =
            ChainConfig::new(sealer.clone()).with_balance(EMPTY_AT_GENESIS, U256::ZERO);
        for u in users {
            config = config.with_balance(u.address(), U256::from(10u64).pow(U256::from(21)));
        }
        config
    }

    fn new(users: usize) -> Self {
        let dir = TempDir::new().unwrap();
        let sealer = PrivateKeySigner::random();
        let users: Vec<PrivateKeySigner> = (0..users).map(|_| PrivateKeySigner::random()).collect();
        let chain = EmbeddedChain::open(dir.path(), Self::config(&sealer, &users)).unwrap();
        Self {
            dir,
            sealer,
            nonces: vec![0; users.len()],
            users,
            chain,
        }
    }

    /// Closes the chain and returns what reopens it.
    fn close(self) -> (TempDir, ChainConfig) {
        let config = Self::config(&self.sealer, &self.users);
        drop(self.chain);
        (self.dir, config)
    }

    fn signed(&mut self, u: usize, to: TxKind, value: U256, input: Bytes, gas: u64) -> Bytes {
        let nonce = self.nonces[u];
        self.nonces[u] += 1;
        sign(
            &self.users[u],
            TxEip1559 {
                value,
                ..tx(nonce, to, input, gas)
            },
        )
    }

    /// Lands `raws` in one block and returns their receipts.
    async fn block(&self, raws: Vec<Bytes>) -> Vec<TransactionReceipt> {
        let hashes = self.chain.send_raw_transactions(raws).await.unwrap();
        let mut receipts = Vec::new();
        for h in hashes {
            receipts.push(self.chain.wait_for_receipt(h).await.unwrap());
        }
        receipts
    }

    async fn tip(&self) -> u64 {
        self.chain.block_number().await.unwrap()
    }

    /// The state root recomputed from scratch from the flat tables.
    fn recomputed_root(&self) -> B256 {
        let rtx = self.chain.shared().db.begin_read().unwrap();
        trie::recompute_state_root(&rtx, Path::new("test"), &|_, _| {}).unwrap()
    }

    /// `address` and `slots` at block `number`, proven: the header's seal checked against the
    /// sealer's address, the proof against the header's state root.
    async fn proven(&self, address: Address, slots: &[B256], number: u64) -> VerifiedAccount {
        let header = self.chain.header(number).await.unwrap().unwrap();
        let hash = verify_seal(&header, self.sealer.address()).unwrap();
        let block = self.chain.block(number).await.unwrap().unwrap();
        assert_eq!(block.header.hash, hash);
        let proof = self
            .chain
            .proof(address, slots.to_vec(), number)
            .await
            .unwrap();
        verify_account(header.state_root, &proof).unwrap()
    }

    /// Checks a proven account against the flat state revm runs on.
    fn matches_flat_state(&self, v: &VerifiedAccount) {
        let shared = self.chain.shared();
        let rtx = shared.db.begin_read().unwrap();
        let state = read_state(&rtx, &shared.code_cache).unwrap();
        let flat = state.account(&v.address).unwrap();
        assert_eq!(v.exists, flat.is_some(), "{}", v.address);
        let flat = flat.unwrap_or_default();
        assert_eq!(
            (v.nonce, v.balance, v.code_hash),
            (flat.nonce, flat.balance, flat.code_hash),
            "{}",
            v.address
        );
        for (s, value) in &v.storage {
            let flat = state.slot(&v.address, &U256::from_be_bytes(s.0)).unwrap();
            assert_eq!(*value, flat, "{} slot {s}", v.address);
        }
    }
}

#[tokio::test]
async fn genesis_root_is_the_standard_root_of_the_allocation() {
    let h = Harness::new(5);
    let header = h.chain.header(0).await.unwrap().unwrap();
    let mut alloc: BTreeMap<Address, TrieAccount> = BTreeMap::new();
    for u in &h.users {
        alloc.insert(
            u.address(),
            TrieAccount {
                balance: U256::from(10u64).pow(U256::from(21)),
                ..Default::default()
            },
        );
    }
    alloc.insert(EMPTY_AT_GENESIS, TrieAccount::default());
    assert_eq!(
        header.state_root,
        alloy_trie::root::state_root_ref_unhashed(&alloc)
    );
    assert_eq!(header.state_root, h.recomputed_root());
    // A chain with no allocation has the empty root.
    let dir = TempDir::new().unwrap();
    let empty =
        EmbeddedChain::open(dir.path(), ChainConfig::new(PrivateKeySigner::random())).unwrap();
    let header = empty.header(0).await.unwrap().unwrap();
    assert_eq!(header.state_root, EMPTY_ROOT_HASH);
    let absent = empty
        .proof(Address::ZERO, vec![B256::ZERO], 0)
        .await
        .unwrap();
    assert!(absent.account_proof.is_empty());
    assert!(!verify_account(header.state_root, &absent).unwrap().exists);
}

#[tokio::test]
async fn headers_carry_their_seal_and_hash_like_any_ethereum_header() {
    let mut h = Harness::new(1);
    let writer = h.users[0].address().create(0);
    let raw = h.signed(
        0,
        TxKind::Create,
        U256::ZERO,
        constructor(&[], &writer_runtime(), false),
        200_000,
    );
    h.block(vec![raw]).await;
    for _ in 0..3 {
        let raw = h.signed(
            0,
            TxKind::Call(writer),
            U256::ZERO,
            pairs(&[(slot(1), slot(2))]),
            100_000,
        );
        h.block(vec![raw]).await;
    }
    let mut parent = B256::ZERO;
    for n in 0..=h.tip().await {
        let header = h.chain.header(n).await.unwrap().unwrap();
        assert_eq!(header.extra_data.len(), 97);
        assert_eq!(&header.extra_data[..32], &medshare_light::header::VANITY);
        let hash = verify_seal(&header, h.sealer.address()).unwrap();
        let block = h.chain.block(n).await.unwrap().unwrap();
        // eth_getBlockByNumber returns this very header: its hash is the block hash.
        assert_eq!(block.header.inner, header);
        assert_eq!(block.header.hash, hash);
        assert_eq!(header.parent_hash, parent);
        parent = hash;
        // Another key's seal is refused.
        assert!(verify_seal(&header, h.users[0].address()).is_err());
    }
}

/// Random blocks of every kind of state change revm reports: slots written and deleted,
/// contracts created (some with storage from their constructor, some at an address that already
/// held ether), created and self-destructed in one transaction, value sent to new accounts,
/// empty accounts touched (EIP-161). After every block the root the sealer computed
/// incrementally is the root recomputed from scratch, and every account and slot involved
/// proves, with `medshare-light`, to what revm reads. Older blocks prove their own state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_state_roots_match_a_recomputation_after_random_blocks() {
    let mut h = Harness::new(3);
    let mut rng = Rng(2024);
    let mut writers: Vec<Address> = Vec::new();
    let mut watched: Vec<Address> = h.users.iter().map(|u| u.address()).collect();
    watched.push(EMPTY_AT_GENESIS);
    watched.push(Address::with_last_byte(4)); // a precompile, touched by calls
    let all_slots: Vec<B256> = (0..12).map(slot).collect();
    let mut history: Vec<(u64, VerifiedAccount)> = Vec::new();
    let mut kinds = [0usize; 8];
    for _ in 0..50 {
        let mut raws = Vec::new();
        for _ in 0..rng.below(6) + 1 {
            let u = rng.below(h.users.len() as u64) as usize;
            let me = h.users[u].address();
            let kind = rng.below(8) as usize;
            kinds[kind] += 1;
            match kind {
                0..=2 if !writers.is_empty() => {
                    let to = writers[rng.below(writers.len() as u64) as usize];
                    let writes: Vec<(B256, B256)> = (0..rng.below(5) + 1)
                        .map(|_| (slot(rng.below(12)), rng.value()))
                        .collect();
                    raws.push(h.signed(u, TxKind::Call(to), U256::ZERO, pairs(&writes), 300_000));
                }
                0..=3 => {
                    let writes: Vec<(B256, B256)> = (0..rng.below(3))
                        .map(|_| (slot(rng.below(12)), rng.value()))
                        .collect();
                    writers.push(me.create(h.nonces[u]));
                    let code = constructor(&writes, &writer_runtime(), false);
                    raws.push(h.signed(u, TxKind::Create, U256::ZERO, code, 400_000));
                }
                4 => {
                    let to = rng.address();
                    watched.push(to);
                    let value = U256::from(rng.below(1000) + 1);
                    raws.push(h.signed(u, TxKind::Call(to), value, Bytes::new(), 21_000));
                }
                5 => {
                    let to = match rng.below(3) {
                        0 => EMPTY_AT_GENESIS,
                        1 => Address::with_last_byte(4),
                        _ => rng.address(),
                    };
                    raws.push(h.signed(u, TxKind::Call(to), U256::ZERO, Bytes::new(), 30_000));
                }
                6 => {
                    // Created with storage and self-destructed in its constructor: never exists.
                    watched.push(me.create(h.nonces[u]));
                    let writes = [(slot(1), slot(5)), (slot(2), slot(6))];
                    let code = constructor(&writes, &[], true);
                    raws.push(h.signed(u, TxKind::Create, U256::from(3), code, 200_000));
                }
                _ => {
                    // Ether sent to an address, then a contract created there.
                    let at = me.create(h.nonces[u] + 1);
                    raws.push(h.signed(u, TxKind::Call(at), U256::from(77), Bytes::new(), 21_000));
                    writers.push(at);
                    let code = constructor(&[(slot(3), slot(9))], &writer_runtime(), false);
                    raws.push(h.signed(u, TxKind::Create, U256::ZERO, code, 400_000));
                }
            }
        }
        for r in h.block(raws).await {
            assert!(r.status(), "{r:?}");
        }
        let tip = h.tip().await;
        let header = h.chain.header(tip).await.unwrap().unwrap();
        assert_eq!(header.state_root, h.recomputed_root(), "block {tip}");
        for address in watched.iter().chain(&writers) {
            let slots: &[B256] = if writers.contains(address) {
                &all_slots
            } else {
                &all_slots[..1]
            };
            let v = h.proven(*address, slots, tip).await;
            h.matches_flat_state(&v);
            if writers.contains(address) {
                let stored = v.storage.values().filter(|x| !x.is_zero()).count();
                assert_eq!(v.storage_root == EMPTY_ROOT_HASH, stored == 0);
            }
            if rng.below(8) == 0 {
                history.push((tip, v));
            }
        }
    }
    assert!(kinds.iter().all(|k| *k > 0), "{kinds:?}");
    // The genesis empty account was deleted when first touched.
    let gone = h.proven(EMPTY_AT_GENESIS, &[], h.tip().await).await;
    assert!(!gone.exists);
    // Older blocks prove what they held then.
    for (number, then) in &history {
        let slots: Vec<B256> = then.storage.keys().copied().collect();
        assert_eq!(&h.proven(then.address, &slots, *number).await, then);
    }
    // The store reopens (with the full state check) at the same root.
    let tip = h.tip().await;
    let root = h.chain.header(tip).await.unwrap().unwrap().state_root;
    let (dir, config) = h.close();
    let chain = EmbeddedChain::open(dir.path(), config).unwrap();
    assert_eq!(chain.header(tip).await.unwrap().unwrap().state_root, root);
}

#[tokio::test]
async fn proofs_cover_the_kept_history_and_refuse_the_rest() {
    let mut h = Harness::new(1);
    let writer = h.users[0].address().create(0);
    let raw = h.signed(
        0,
        TxKind::Create,
        U256::ZERO,
        constructor(&[], &writer_runtime(), false),
        200_000,
    );
    h.block(vec![raw]).await;
    // One block per value of slot 0: slot 0 holds n + 1 after block `first + n`.
    let first = h.tip().await + 1;
    let blocks = STATE_HISTORY + 20;
    for n in 0..blocks {
        let raw = h.signed(
            0,
            TxKind::Call(writer),
            U256::ZERO,
            pairs(&[(slot(0), slot(n + 1)), (slot(1 + n % 3), slot(n % 2))]),
            200_000,
        );
        h.block(vec![raw]).await;
    }
    let tip = h.tip().await;
    assert_eq!(tip, first + blocks - 1);
    for number in [tip, tip - 1, tip - 100, tip - STATE_HISTORY] {
        let v = h.proven(writer, &[slot(0), slot(5)], number).await;
        assert_eq!(v.slot(slot(0)), Some(U256::from(number - first + 1)));
        assert_eq!(v.slot(slot(5)), Some(U256::ZERO));
    }
    let too_old = h
        .chain
        .proof(writer, vec![slot(0)], tip - STATE_HISTORY - 1)
        .await;
    assert!(
        matches!(&too_old, Err(Error::InvalidRequest(m)) if m.contains("no longer kept")),
        "{too_old:?}"
    );
    let future = h.chain.proof(writer, vec![], tip + 1).await;
    assert!(
        matches!(future, Err(Error::InvalidRequest(_))),
        "{future:?}"
    );
    let too_many = h.chain.proof(writer, vec![B256::ZERO; 1025], tip).await;
    assert!(
        matches!(&too_many, Err(Error::InvalidRequest(m)) if m.contains("at most 1024")),
        "{too_many:?}"
    );
    // Absent account, absent slot of a present account.
    let nobody = h.proven(Address::repeat_byte(0x77), &[slot(0)], tip).await;
    assert!(!nobody.exists);
    assert_eq!(nobody.code_hash, KECCAK_EMPTY);
    // The pruned store is still whole: it reopens with the full state check.
    let (dir, config) = h.close();
    let chain = EmbeddedChain::open(dir.path(), config).unwrap();
    assert_eq!(chain.block_number().await.unwrap(), tip);
}

/// A store whose chain is otherwise fine but whose state was altered behind the chain's back.
async fn chain_with_state() -> (TempDir, ChainConfig, Address, PrivateKeySigner) {
    let mut h = Harness::new(1);
    let writer = h.users[0].address().create(0);
    let code = constructor(&[(slot(1), slot(11))], &writer_runtime(), false);
    let raw = h.signed(0, TxKind::Create, U256::ZERO, code, 400_000);
    h.block(vec![raw]).await;
    let raw = h.signed(
        0,
        TxKind::Call(writer),
        U256::ZERO,
        pairs(&[(slot(2), slot(22)), (slot(3), slot(33))]),
        200_000,
    );
    h.block(vec![raw]).await;
    let user = h.users[0].clone();
    let (dir, config) = h.close();
    (dir, config, writer, user)
}

fn with_db(dir: &Path, f: impl FnOnce(&redb::WriteTransaction)) {
    let db = redb::Database::open(dir.join(DB_FILE)).unwrap();
    let wtx = db.begin_write().unwrap();
    f(&wtx);
    wtx.commit().unwrap();
}

#[tokio::test]
async fn altered_state_no_longer_matches_the_state_root_and_is_refused() {
    let (dir, config, writer, user) = chain_with_state().await;
    let pristine = std::fs::read(dir.path().join(DB_FILE)).unwrap();
    let restore = || std::fs::write(dir.path().join(DB_FILE), &pristine).unwrap();
    let open = |config: ChainConfig| EmbeddedChain::open(dir.path(), config);

    // A storage value changed: refused on open (full state check, the default).
    with_db(dir.path(), |wtx| {
        let mut t = wtx.open_table(STORAGE).unwrap();
        t.insert(&storage_key(&writer, &U256::from(2)), &[0x99; 32])
            .unwrap();
    });
    expect_corrupt(
        open(config.clone()),
        &format!("the storage of {writer} does not match its storage root"),
    );
    restore();

    // A balance changed: refused on open.
    with_db(dir.path(), |wtx| {
        let mut t = wtx.open_table(ACCOUNTS).unwrap();
        let mut info = decode_account(t.get(&user.address().0.0).unwrap().unwrap().value());
        info.balance += U256::from(1);
        t.insert(&user.address().0.0, &encode_account(&info))
            .unwrap();
    });
    expect_corrupt(
        open(config.clone()),
        "the stored state (accounts and storage) has root",
    );
    // Without the full check only the trie's root node is checked: the store opens, and the
    // proofs still show the committed (unaltered) balance.
    let chain = open(ChainConfig {
        verify_state: false,
        ..config.clone()
    })
    .unwrap();
    let tip = chain.block_number().await.unwrap();
    let header = chain.header(tip).await.unwrap().unwrap();
    let proof = chain.proof(user.address(), vec![], tip).await.unwrap();
    let proven = verify_account(header.state_root, &proof).unwrap();
    assert_eq!(
        proven.balance + U256::from(1),
        chain.balance(user.address()).await.unwrap()
    );
    drop(chain);
    restore();

    // The root node of the tip's state trie removed: refused even without the full check.
    with_db(dir.path(), |wtx| {
        let mut t = wtx.open_table(NODES).unwrap();
        // Roots of the account trie: tag 0, path length 0.
        let keys: Vec<Vec<u8>> = t
            .iter()
            .unwrap()
            .map(|e| e.unwrap().0.value().to_vec())
            .filter(|k| k[8] == 0 && k[9] == 0)
            .collect();
        for k in keys {
            t.remove(k.as_slice()).unwrap();
        }
    });
    expect_corrupt(
        open(ChainConfig {
            verify_state: false,
            ..config.clone()
        }),
        "has no root node for its state root",
    );
    restore();

    // An inner node of the contract's storage trie altered: the chain opens (its root node
    // and flat state are intact), and the proof through that node is refused as corrupt.
    with_db(dir.path(), |wtx| {
        let mut t = wtx.open_table(NODES).unwrap();
        // Nodes of the writer's storage trie below its root: tag 1, its address, path length > 0.
        let inner: Vec<(Vec<u8>, Vec<u8>)> = t
            .iter()
            .unwrap()
            .map(|e| {
                let (k, v) = e.unwrap();
                (k.value().to_vec(), v.value().to_vec())
            })
            .filter(|(k, _)| k[8] == 1 && k[9..29] == writer.0.0 && k[29] > 0)
            .collect();
        assert!(!inner.is_empty());
        for (k, mut v) in inner {
            let last = v.len() - 1;
            v[last] ^= 1;
            t.insert(k.as_slice(), v.as_slice()).unwrap();
        }
    });
    let chain = open(config.clone()).unwrap();
    let tip = chain.block_number().await.unwrap();
    let res = chain.proof(writer, vec![slot(2)], tip).await;
    assert!(
        matches!(&res, Err(Error::Corrupt { reason, .. }) if reason.contains("does not hash to its key")),
        "{res:?}"
    );
    drop(chain);
    restore();

    let chain = open(config).unwrap();
    let tip = chain.block_number().await.unwrap();
    let header = chain.header(tip).await.unwrap().unwrap();
    let proof = chain.proof(writer, vec![slot(2)], tip).await.unwrap();
    let v = verify_account(header.state_root, &proof).unwrap();
    assert_eq!(v.slot(slot(2)), Some(U256::from(22)));
}

#[tokio::test]
async fn a_store_of_the_previous_format_is_refused_with_a_clear_message() {
    let (dir, config, _, _) = chain_with_state().await;
    with_db(dir.path(), |wtx| {
        let mut meta = wtx.open_table(META).unwrap();
        meta.insert(META_FORMAT, b"medshare-embedded-chain/1".as_slice())
            .unwrap();
    });
    let res = EmbeddedChain::open(dir.path(), config);
    expect_corrupt(
        res,
        "store format `medshare-embedded-chain/1`, which this node no longer reads",
    );
}

#[tokio::test]
async fn storage_roots_follow_the_storage_tries() {
    // A contract whose every slot is deleted again has the empty storage root, and no row.
    let mut h = Harness::new(1);
    let writer = h.users[0].address().create(0);
    let code = constructor(
        &[(slot(1), slot(1)), (slot(2), slot(2))],
        &writer_runtime(),
        false,
    );
    let raw = h.signed(0, TxKind::Create, U256::ZERO, code, 400_000);
    h.block(vec![raw]).await;
    let tip = h.tip().await;
    let v = h.proven(writer, &[slot(1), slot(2)], tip).await;
    assert_eq!(
        v.storage_root,
        alloy_trie::root::storage_root_unhashed([
            (slot(1), U256::from(1)),
            (slot(2), U256::from(2))
        ])
    );
    let raw = h.signed(
        0,
        TxKind::Call(writer),
        U256::ZERO,
        pairs(&[(slot(1), B256::ZERO), (slot(2), B256::ZERO)]),
        100_000,
    );
    h.block(vec![raw]).await;
    let tip = h.tip().await;
    let v = h.proven(writer, &[slot(1), slot(2)], tip).await;
    assert_eq!(v.storage_root, EMPTY_ROOT_HASH);
    assert!(v.storage.values().all(U256::is_zero));
    let rtx = h.chain.shared().db.begin_read().unwrap();
    let roots = rtx.open_table(trie::STORAGE_ROOTS).unwrap();
    assert!(roots.get(&writer.0.0).unwrap().is_none());
    // The empty storage trie proves every slot absent with an empty proof.
    let nodes = rtx.open_table(NODES).unwrap();
    let live = trie::prove(
        &nodes,
        Owner::Storage(writer),
        v.storage_root,
        0,
        keccak256(slot(1)),
        Path::new("t"),
    )
    .unwrap();
    assert!(live.0.is_empty());
}
