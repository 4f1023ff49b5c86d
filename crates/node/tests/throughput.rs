//! Durable throughput of the embedded chain on medshare's heaviest ledger workload: patients
//! registering records in batches of 100, one new storage slot and one log per record, many
//! patients at once, each through a [`Wallet`] (gas estimate, signing, send, wait for the
//! receipt), as `Data.registerRecords` is driven by `bench paper`.
//!
//! Benchmarks, ignored by default; run in release mode:
//!
//! ```text
//! cargo test --release -p medshare-node --test throughput -- --ignored --nocapture
//! ```
//!
//! `MEDSHARE_BENCH_RECORDS` sets how many records the measured run registers (default 32,000,
//! as `bench paper`: 16 patients x 2,000); `MEDSHARE_BENCH_PREFILL` how many are registered
//! beforehand by `throughput_with_a_million_slots` (default 1,000,000).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use medshare_ledger::{
    Ledger,
    wallet::{Call, Wallet},
};
use medshare_node::embedded::{ChainConfig, EmbeddedChain};
use tempfile::TempDir;

/// Records per transaction (`UPLOAD_BATCH` of the patient).
const BATCH: usize = 100;
/// Concurrent patients.
const PATIENTS: usize = 16;

/// topic0 of the registry's log.
const REGISTERED: [u8; 32] = [0x5e; 32];

/// Runtime of the "registry": calldata = dataType ‖ (hash ‖ commitment)*. For each pair it
/// reverts if `slot[hash]` is set, stores `slot[hash] = commitment` and emits
/// `LOG4(data = commitment; REGISTERED, caller, dataType, hash)`, which is what
/// `Data.registerRecords` does per record (one cold SLOAD, one new slot, one 4-topic log).
fn registry_runtime() -> Vec<u8> {
    let mut code = vec![
        0x60, 0x20, // 00 PUSH1 32 (i: offset of the first pair)
        0x5b, // 02 JUMPDEST loop
        0x36, // 03 CALLDATASIZE
        0x81, // 04 DUP2
        0x10, // 05 LT (i < size)
        0x15, // 06 ISZERO
        0x60, 0x4c, // 07 PUSH1 end
        0x57, // 09 JUMPI
        0x80, // 0a DUP1
        0x35, // 0b CALLDATALOAD (hash)
        0x80, // 0c DUP1
        0x54, // 0d SLOAD
        0x60, 0x4e, // 0e PUSH1 taken
        0x57, // 10 JUMPI
        0x81, // 11 DUP2
        0x60, 0x20, // 12 PUSH1 32
        0x01, // 14 ADD
        0x35, // 15 CALLDATALOAD (commitment)
        0x80, // 16 DUP1
        0x60, 0x00, // 17 PUSH1 0
        0x52, // 19 MSTORE
        0x81, // 1a DUP2
        0x55, // 1b SSTORE slot[hash] = commitment
        0x60, 0x00, // 1c PUSH1 0
        0x35, // 1e CALLDATALOAD (dataType)
        0x33, // 1f CALLER
        0x7f, // 20 PUSH32 REGISTERED
    ];
    code.extend_from_slice(&REGISTERED);
    code.extend_from_slice(&[
        0x60, 0x20, // 41 PUSH1 32
        0x60, 0x00, // 43 PUSH1 0
        0xa4, // 45 LOG4
        0x60, 0x40, // 46 PUSH1 64
        0x01, // 48 ADD
        0x60, 0x02, // 49 PUSH1 loop
        0x56, // 4b JUMP
        0x5b, // 4c JUMPDEST end
        0x00, // 4d STOP
        0x5b, // 4e JUMPDEST taken
        0x60, 0x00, // 4f PUSH1 0
        0x80, // 51 DUP1
        0xfd, // 52 REVERT
    ]);
    code
}

/// Initcode that deploys `runtime` (< 256 bytes).
fn initcode(runtime: &[u8]) -> Bytes {
    let len = u8::try_from(runtime.len()).unwrap();
    let mut code = vec![
        0x60, len, 0x80, 0x60, 11, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3,
    ];
    code.extend_from_slice(runtime);
    code.into()
}

/// Calldata registering `n` fresh records (random hashes and commitments).
fn registration(n: usize) -> Bytes {
    let mut data = Vec::with_capacity(32 + 64 * n);
    data.extend_from_slice(&[0x11; 32]);
    for _ in 0..n {
        data.extend_from_slice(B256::random().as_slice());
        data.extend_from_slice(B256::random().as_slice());
    }
    data.into()
}

struct Bench {
    dir: TempDir,
    sealer: PrivateKeySigner,
    funder: PrivateKeySigner,
}

impl Bench {
    fn new() -> Self {
        Self {
            dir: TempDir::new().unwrap(),
            sealer: PrivateKeySigner::random(),
            funder: PrivateKeySigner::random(),
        }
    }

    fn config(&self, gas_limit: u64) -> ChainConfig {
        ChainConfig::new(self.sealer.clone())
            .with_balance(self.funder.address(), U256::from(10u64).pow(U256::from(24)))
            .with_block_gas_limit(gas_limit)
    }

    fn open(&self, gas_limit: u64) -> EmbeddedChain {
        EmbeddedChain::open(&self.dir.path().join("chain"), self.config(gas_limit)).unwrap()
    }
}

/// `PATIENTS` patients registering `records` records in all, concurrently, each through its
/// own wallet; returns records per second.
async fn measure(chain: &EmbeddedChain, registry: Address, records: usize) -> f64 {
    let ledger: Arc<dyn Ledger> = Arc::new(chain.clone());
    let per_patient = records / PATIENTS;
    let mut wallets = Vec::new();
    for _ in 0..PATIENTS {
        wallets.push(
            Wallet::new(ledger.clone(), PrivateKeySigner::random())
                .await
                .unwrap()
                .with_receipt_timeout(Duration::from_secs(600)),
        );
    }
    let blocks_before = chain.block_number().await.unwrap();
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for wallet in wallets {
        set.spawn(async move {
            let mut done = 0;
            while done < per_patient {
                let n = BATCH.min(per_patient - done);
                let r = wallet
                    .send(Call::new(registry, registration(n)))
                    .await
                    .unwrap();
                assert!(r.status());
                done += n;
            }
            done
        });
    }
    let mut done = 0;
    while let Some(n) = set.join_next().await {
        done += n.unwrap();
    }
    let seconds = start.elapsed().as_secs_f64();
    let blocks = chain.block_number().await.unwrap() - blocks_before;
    let rate = done as f64 / seconds;
    println!(
        "{done} records by {PATIENTS} patients in batches of {BATCH}: {rate:.0} durable \
         records/s ({seconds:.2} s, {blocks} blocks, {:.0} records/block)",
        done as f64 / blocks.max(1) as f64,
    );
    rate
}

/// Closes `chain` and returns the size of its file (redb trims free space at the end of the
/// file when it closes, so this is what the store holds).
fn close(chain: EmbeddedChain) -> (std::path::PathBuf, u64) {
    let path = chain.path().to_owned();
    drop(chain);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap();
    (path, size)
}

/// Prints the growth of the closed store per record registered.
fn growth(before: u64, after: u64, records: usize) {
    let growth = after.saturating_sub(before);
    println!(
        "redb file {before} -> {after} bytes: +{growth} bytes, {:.0} bytes per record",
        growth as f64 / records as f64
    );
}

/// Prints, per table of the closed store at `path`, its entries and bytes (what the file holds).
fn table_sizes(path: &std::path::Path) {
    use redb::{ReadableDatabase, ReadableTableMetadata, TableHandle};
    let db = redb::Database::open(path).unwrap();
    let rtx = db.begin_read().unwrap();
    let mut rows = Vec::new();
    for handle in rtx.list_tables().unwrap() {
        let name = handle.name().to_owned();
        let table = rtx.open_untyped_table(handle).unwrap();
        let stats = table.stats().unwrap();
        rows.push((
            name,
            table.len().unwrap(),
            stats.stored_bytes(),
            (stats.leaf_pages() + stats.branch_pages()) * 4096,
        ));
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.3));
    drop(rtx);
    let stats = db.begin_write().unwrap().stats().unwrap();
    let file = std::fs::metadata(path).unwrap().len();
    println!(
        "file {file} bytes, {} bytes in allocated pages ({} fragmented); tables (entries, \
         key+value bytes, pages x 4 KiB):",
        stats.allocated_pages() * stats.page_size() as u64,
        stats.fragmented_bytes()
    );
    for (name, len, stored, pages) in rows {
        println!("  {name:16} {len:>10} {stored:>12} {pages:>12}");
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

async fn deploy(chain: &EmbeddedChain, funder: &PrivateKeySigner) -> Address {
    let wallet = Wallet::new(Arc::new(chain.clone()), funder.clone())
        .await
        .unwrap();
    wallet
        .deploy(initcode(&registry_runtime()))
        .await
        .unwrap()
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark; run in release with --ignored --nocapture"]
async fn registration_throughput() {
    let bench = Bench::new();
    let chain = bench.open(ChainConfig::new(bench.sealer.clone()).block_gas_limit);
    let registry = deploy(&chain, &bench.funder).await;
    let (_, before) = close(chain);
    let chain = bench.open(ChainConfig::new(bench.sealer.clone()).block_gas_limit);
    let records = env_usize("MEDSHARE_BENCH_RECORDS", 32_000);
    measure(&chain, registry, records).await;
    let (path, after) = close(chain);
    growth(before, after, records);
    table_sizes(&path);
}

/// Fills the registry with `MEDSHARE_BENCH_PREFILL` records (large blocks, presigned
/// transactions), reopens the chain with the default block gas limit and measures as
/// [`registration_throughput`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark; run in release with --ignored --nocapture"]
async fn throughput_with_a_million_slots() {
    let bench = Bench::new();
    let prefill = env_usize("MEDSHARE_BENCH_PREFILL", 1_000_000);
    let registry;
    let before = {
        let chain = bench.open(1_000_000_000);
        registry = deploy(&chain, &bench.funder).await;
        let start = Instant::now();
        const PER_TX: usize = 1_000;
        let mut nonce = chain.pending_nonce(bench.funder.address()).unwrap();
        let mut done = 0;
        let mut last = None;
        while done < prefill {
            // Up to 30 transactions per submission: one block each.
            let mut raws = Vec::new();
            while raws.len() < 30 && done < prefill {
                let n = PER_TX.min(prefill - done);
                let tx = TxEip1559 {
                    chain_id: 1337,
                    nonce,
                    gas_limit: 40_000 * n as u64,
                    max_fee_per_gas: 0,
                    max_priority_fee_per_gas: 0,
                    to: TxKind::Call(registry),
                    value: U256::ZERO,
                    access_list: Default::default(),
                    input: registration(n),
                };
                let sig = bench.funder.sign_hash_sync(&tx.signature_hash()).unwrap();
                let env: TxEnvelope = tx.into_signed(sig).into();
                raws.push(Bytes::from(env.encoded_2718()));
                nonce += 1;
                done += n;
            }
            // Keep one submission in flight while the next is signed.
            if let Some(h) = last.take() {
                assert!(chain.wait_for_receipt(h).await.unwrap().status());
            }
            last = chain.send_raw_transactions(raws).await.unwrap().pop();
        }
        if let Some(h) = last {
            assert!(chain.wait_for_receipt(h).await.unwrap().status());
        }
        let seconds = start.elapsed().as_secs_f64();
        let (_, size) = close(chain);
        println!(
            "prefill: {done} records in {seconds:.1} s ({:.0} records/s, blocks of up to 30,000); \
             redb file {size} bytes ({:.0} bytes per record)",
            done as f64 / seconds,
            size as f64 / done as f64,
        );
        size
    };
    for (integrity, state) in [(false, false), (true, false), (false, true), (true, true)] {
        let config = ChainConfig {
            verify_store_integrity: integrity,
            verify_state: state,
            ..bench.config(ChainConfig::new(bench.sealer.clone()).block_gas_limit)
        };
        let start = Instant::now();
        let chain = EmbeddedChain::open(&bench.dir.path().join("chain"), config).unwrap();
        println!(
            "reopen: header chain and seals, tip's trie root{}{}: {:.1} s",
            if integrity { ", page checksums" } else { "" },
            if state {
                ", state root recomputed from the flat state"
            } else {
                ""
            },
            start.elapsed().as_secs_f64()
        );
        drop(chain);
    }
    let chain = bench.open(ChainConfig::new(bench.sealer.clone()).block_gas_limit);
    let records = env_usize("MEDSHARE_BENCH_RECORDS", 32_000);
    measure(&chain, registry, records).await;
    let (path, after) = close(chain);
    growth(before, after, records);
    table_sizes(&path);
}
