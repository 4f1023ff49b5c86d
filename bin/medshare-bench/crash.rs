//! `medshare bench crash`: crash consistency of `medshare node` at scale.
//!
//! Several clients (patients, each its own account and HTTP connection) register records,
//! one per transaction, while the node is killed with SIGKILL at random points of the run (after
//! a random count of acknowledged registrations) and restarted on the same data directory. After
//! every restart, before the clients go on:
//!
//! * every receipt the node returned before any kill is still served, in the same block, with
//!   status success;
//! * the header chain verifies from the last verified block to the new tip: each header sealed
//!   by the node's sealer (its key is in the data directory) and linked to its parent, and the
//!   last verified block unchanged;
//! * the state of the new tip agrees with what was acknowledged: the `Data` commitment of every
//!   record acknowledged since the last restart (and 64 older ones at random) is proven by an
//!   EIP-1186 proof against the verified tip's state root, with the value the owner sent.
//!
//! At the end, on a last restart: every acknowledged record is proven in the state; every
//! `RecordRegistered` event (acknowledged or not: a transaction may land after its client lost
//! the node) has its state write, each record exactly once; and each client's account nonce is
//! its registration plus its registered records: no transaction half-applied.

use crate::round3;
use alloy_primitives::{Address, B256};
use alloy_sol_types::SolEvent;
use anyhow::{Context, Result, bail, ensure};
use clap::Args;
use medshare_chain::ContractClient;
use medshare_contracts::{Data, Deployment, layout};
use medshare_crypto::{Identity, eip712::record_commitment};
use medshare_ledger::{Filter, Ledger, logs_paged, rpc::RpcLedger, wallet::Wallet};
use medshare_parties::user::seal_records;
use medshare_primitives::{DataType, Role};
use medshare_testkit::process::Node;
use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};
use serde::Serialize;
use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// How long a client waits for a receipt before it counts the node as gone.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Older acknowledged records proven again after each restart, besides the new ones.
const OLD_SAMPLE: usize = 64;

#[derive(Args)]
pub(crate) struct CrashArgs {
    /// Registrations in all (one record per transaction), acknowledged by the node.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    registrations: u64,
    /// Times the node is killed with SIGKILL, at random points of the registrations.
    #[arg(long, default_value_t = 200)]
    kills: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=256))]
    clients: u64,
    /// The seed of the kill points.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// A reduced run for CI (300 registrations, 5 kills, 4 clients); writes nothing unless --out
    /// is given.
    #[arg(long)]
    quick: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Write crash.json and crash.md here (default: bench/results for a full run).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Serialize, Default)]
pub(crate) struct CrashReport {
    quick: bool,
    clients: u64,
    kills: u64,
    seed: u64,
    /// Registrations acknowledged (receipt returned).
    acknowledged: u64,
    /// Registrations on the chain at the end that no client was told of (sent before a kill,
    /// committed, receipt never returned).
    landed_unacknowledged: u64,
    /// Acknowledged registrations missing after a restart (must be 0).
    lost: u64,
    /// Records registered more than once (must be 0).
    duplicated: u64,
    /// Receipts served in another block or with another status than when acknowledged (must be 0).
    receipts_changed: u64,
    /// State proofs checked against a verified header's state root over the run.
    state_proofs_verified: u64,
    /// Headers whose seal and parent link were checked over the run.
    headers_verified: u64,
    /// Blocks at the end.
    blocks: u64,
    /// Seconds from the kill to the restarted node serving JSON-RPC: median and max.
    restart_p50_s: f64,
    restart_max_s: f64,
    seconds: f64,
    includes: String,
}

/// An acknowledged registration.
#[derive(Clone, Copy)]
struct Acked {
    tx: B256,
    block: u64,
    block_hash: B256,
    ciphertext_hash: B256,
    /// The value `Data` must store for it.
    owned_commitment: B256,
}

pub(crate) async fn run(args: CrashArgs) -> Result<()> {
    let (registrations, kills, clients) = if args.quick {
        (300, 5, 4)
    } else {
        (args.registrations, args.kills, args.clients)
    };
    ensure!(
        kills < registrations,
        "--kills must be fewer than --registrations"
    );
    let mut report = crash(registrations, kills, clients, args.seed, args.json).await?;
    report.quick = args.quick;
    crate::publish(
        "crash",
        &report,
        &markdown(&report),
        args.out.clone(),
        args.quick,
        args.json,
    )?;
    if report.lost + report.duplicated + report.receipts_changed > 0 {
        bail!(
            "the node lost or changed acknowledged transactions: {} lost, {} duplicated, {} \
             receipts changed",
            report.lost,
            report.duplicated,
            report.receipts_changed
        );
    }
    Ok(())
}

/// The run's fixed parts: the node's data directory, the deployment, the clients' keys.
struct Rig {
    deployment: Deployment,
    data_type: DataType,
    sealer: Address,
    clients: Vec<Arc<Identity>>,
    /// A key the records are shared to (registration does not check it).
    tee: Arc<Identity>,
}

/// What verification has established so far.
#[derive(Default)]
struct Verified {
    acked: Vec<Acked>,
    /// Acknowledged records proven since they were acknowledged.
    proven_upto: usize,
    /// The last verified header: number and hash.
    tip: Option<(u64, B256)>,
}

async fn crash(
    registrations: u64,
    kills: u64,
    clients: u64,
    seed: u64,
    quiet: bool,
) -> Result<CrashReport> {
    let medshare = crate::sibling::Sibling {
        program: "medshare",
        package: "medshare",
        env: "MEDSHARE_BIN",
    }
    .locate()?;
    let temp = tempfile::tempdir()?;
    let dir = temp.path().join("node");
    let mut node = Node::spawn(&medshare, &dir, &[])?;
    let rig = setup(&node, clients).await?;

    let mut rng = StdRng::seed_from_u64(seed);
    let mut points: Vec<u64> = (1..registrations).collect();
    points.shuffle(&mut rng);
    points.truncate(usize::try_from(kills)?);
    points.sort_unstable();

    let mut report = CrashReport {
        clients,
        kills,
        seed,
        ..CrashReport::default()
    };
    let mut verified = Verified::default();
    let acked = Arc::new(Mutex::new(Vec::<Acked>::new()));
    let count = Arc::new(AtomicU64::new(0));
    let mut restarts = Vec::new();
    let progress = crate::progress(
        registrations,
        "crash   {bar:40} {pos}/{len} registrations acknowledged, {msg} {elapsed}",
        quiet,
    )?;
    let start = Instant::now();
    for stop_at in points.iter().copied().chain([registrations]) {
        let last = stop_at == registrations;
        let writers: Vec<_> = rig
            .clients
            .iter()
            .enumerate()
            .map(|(k, id)| {
                let (endpoint, acked, count) = (node.endpoint(), acked.clone(), count.clone());
                let (identity, rig_data) = (id.clone(), rig.writer_data());
                tokio::spawn(async move {
                    writer(endpoint, identity, rig_data, k, acked, count, registrations).await
                })
            })
            .collect();
        while count.load(Ordering::SeqCst) < stop_at {
            tokio::time::sleep(Duration::from_micros(200)).await;
            progress.set_position(count.load(Ordering::SeqCst));
            if writers.iter().all(|w| w.is_finished()) {
                break;
            }
        }
        if last {
            for w in writers {
                w.await??;
            }
            break;
        }
        let killed = Instant::now();
        tracing::info!(
            acknowledged = count.load(Ordering::SeqCst),
            "killing the node"
        );
        node.kill9();
        for w in writers {
            // A writer ends with an error once its node is gone: that is the point.
            w.await??;
        }
        tracing::info!("writers stopped; restarting");
        node = Node::spawn(&medshare, &dir, &[])?;
        let ledger = Arc::new(RpcLedger::connect(&node.endpoint())?);
        ledger.block_number().await?;
        progress.set_message(format!("{} kills", restarts.len() + 1));
        restarts.push(killed.elapsed().as_secs_f64());
        verified.acked = acked
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .clone();
        verify(&rig, &ledger, &mut verified, &mut report, &mut rng).await?;
        tracing::info!(blocks = report.headers_verified, "verified");
    }
    progress.finish_and_clear();
    report.seconds = round3(start.elapsed().as_secs_f64());

    // The end: one more kill and restart, then everything.
    node.kill9();
    let node = Node::spawn(&medshare, &dir, &[])?;
    let ledger = Arc::new(RpcLedger::connect(&node.endpoint())?);
    verified.acked = acked
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    verify(&rig, &ledger, &mut verified, &mut report, &mut rng).await?;
    finish(&rig, &ledger, &verified, &mut report).await?;

    restarts.sort_by(f64::total_cmp);
    report.restart_p50_s = round3(restarts.get(restarts.len() / 2).copied().unwrap_or(0.0));
    report.restart_max_s = round3(restarts.last().copied().unwrap_or(0.0));
    report.acknowledged = verified.acked.len() as u64;
    report.includes = format!(
        "{clients} clients at once, each registering one record per transaction (Data.\
         registerRecords: encryption of a 64-byte record, a key share and the owner's \
         signature, then gas estimation, signing, eth_sendRawTransaction and the receipt polled \
         over http://, from 1 ms doubling to 20 ms); medshare node {} with --light-kdf (its own process, every \
         block committed to redb with fsync before its receipt is served) killed with SIGKILL \
         after {kills} random counts of acknowledged registrations (seed {seed}) and restarted on \
         its data directory; `seconds` is the whole run with the restarts and the checks between \
         them, not a throughput figure",
        env!("CARGO_PKG_VERSION")
    );
    Ok(report)
}

/// What a writer needs of the rig (cheap to clone).
#[derive(Clone)]
struct WriterData {
    deployment: Deployment,
    data_type: B256,
    tee: Arc<Identity>,
}

impl Rig {
    fn writer_data(&self) -> WriterData {
        WriterData {
            deployment: self.deployment,
            data_type: self.data_type.id(),
            tee: self.tee.clone(),
        }
    }
}

/// Deploys the contracts and registers the clients as users.
async fn setup(node: &Node, clients: u64) -> Result<Rig> {
    let ledger: Arc<dyn Ledger> = Arc::new(RpcLedger::connect(&node.endpoint())?);
    let admin = Identity::random();
    let admin = medshare_parties::setup::deploy_for_simulation(
        Wallet::new(ledger.clone(), admin.signer().clone()).await?,
        alloy_primitives::keccak256("medshare bench crash"),
    )
    .await?;
    let sealer = *medshare_parties::tee::sealers_of(ledger.as_ref())
        .await?
        .first()
        .context("medshare node seals its headers")?;
    let mut ids = Vec::new();
    for _ in 0..clients {
        let id = Identity::random();
        let chain = admin.as_party(Wallet::new(ledger.clone(), id.signer().clone()).await?);
        chain
            .register(Role::User, id.public_key_uncompressed())
            .await?;
        ids.push(Arc::new(id));
    }
    Ok(Rig {
        deployment: *admin.deployment(),
        data_type: DataType::new("bench-crash")?,
        sealer,
        clients: ids,
        tee: Arc::new(Identity::random()),
    })
}

/// Registers records one per transaction until the node goes away or `total` are acknowledged.
async fn writer(
    endpoint: String,
    identity: Arc<Identity>,
    rig: WriterData,
    k: usize,
    acked: Arc<Mutex<Vec<Acked>>>,
    count: Arc<AtomicU64>,
    total: u64,
) -> Result<()> {
    let ledger: Arc<dyn Ledger> = Arc::new(RpcLedger::connect(&endpoint)?);
    let Ok(wallet) = Wallet::new(ledger, identity.signer().clone()).await else {
        return Ok(()); // the node is already gone
    };
    let Ok(chain) =
        ContractClient::attach(wallet.with_receipt_timeout(RECEIPT_TIMEOUT), rig.deployment).await
    else {
        return Ok(());
    };
    let mut i = 0u64;
    while count.load(Ordering::SeqCst) < total {
        i += 1;
        let plaintext = format!("crash test record {i} of client {k}: {}", B256::random());
        let sealed = seal_records(
            &identity,
            &chain,
            rig.data_type,
            rig.tee.address(),
            &rig.tee.public_key(),
            &[plaintext.as_bytes()],
        )?;
        let record = sealed
            .into_iter()
            .next()
            .context("one record sealed")?
            .owned
            .record;
        let receipt = match chain
            .register_records(rig.data_type, std::slice::from_ref(&record))
            .await
        {
            Ok(r) => r,
            Err(_) => return Ok(()), // the node was killed
        };
        let a = Acked {
            tx: receipt.transaction_hash,
            block: receipt
                .block_number
                .context("a mined receipt has a block")?,
            block_hash: receipt
                .block_hash
                .context("a mined receipt has a block hash")?,
            ciphertext_hash: record.ciphertextHash,
            owned_commitment: layout::data::owned_commitment(
                identity.address(),
                record_commitment(&record),
            ),
        };
        acked
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .push(a);
        count.fetch_add(1, Ordering::SeqCst);
    }
    Ok(())
}

/// The checks after a restart (module docs).
async fn verify(
    rig: &Rig,
    ledger: &Arc<RpcLedger>,
    v: &mut Verified,
    report: &mut CrashReport,
    rng: &mut StdRng,
) -> Result<()> {
    // Receipts, in parallel.
    let mut set = tokio::task::JoinSet::new();
    for chunk in v.acked.chunks(v.acked.len().div_ceil(16).max(1)) {
        let (chunk, ledger) = (chunk.to_vec(), ledger.clone());
        set.spawn(async move {
            let (mut lost, mut changed) = (0u64, 0u64);
            for a in chunk {
                match ledger.receipt(a.tx).await? {
                    None => lost += 1,
                    Some(r) if r.block_hash != Some(a.block_hash) || !r.status() => changed += 1,
                    Some(_) => {}
                }
            }
            anyhow::Ok((lost, changed))
        });
    }
    while let Some(r) = set.join_next().await {
        let (lost, changed) = r??;
        report.lost += lost;
        report.receipts_changed += changed;
    }

    // Headers from the last verified one to the tip.
    let latest = ledger.block_number().await?;
    let (from, mut parent) = match v.tip {
        Some((number, hash)) => {
            let header = ledger
                .header(number)
                .await?
                .context("a verified block is gone")?;
            ensure!(
                header.hash_slow() == hash,
                "verified block {number} changed"
            );
            (number + 1, Some(hash))
        }
        None => (0, None),
    };
    for number in from..=latest {
        let header = ledger
            .header(number)
            .await?
            .with_context(|| format!("block {number} below the tip is missing"))?;
        if number > 0 {
            medshare_light::header::verify_seal(&header, rig.sealer)
                .with_context(|| format!("the seal of block {number}"))?;
        }
        if let Some(parent) = parent {
            ensure!(
                header.parent_hash == parent,
                "block {number} does not link to its parent"
            );
        }
        parent = Some(header.hash_slow());
        report.headers_verified += 1;
    }
    let tip = ledger.header(latest).await?.context("the tip")?;
    v.tip = Some((latest, tip.hash_slow()));

    // State: the new acknowledgements and a sample of older ones, proven against the tip.
    let mut check: Vec<Acked> = v.acked[v.proven_upto..].to_vec();
    if v.proven_upto > 0 {
        for _ in 0..OLD_SAMPLE {
            check.push(v.acked[rng.gen_range(0..v.proven_upto)]);
        }
    }
    prove(rig, ledger, latest, tip.state_root, &check, report).await?;
    for a in &v.acked {
        ensure!(
            a.block <= latest,
            "a receipt names block {} above the tip",
            a.block
        );
    }
    v.proven_upto = v.acked.len();
    Ok(())
}

/// Proves the `Data` commitment of each of `records` at block `number` against `state_root`.
async fn prove(
    rig: &Rig,
    ledger: &RpcLedger,
    number: u64,
    state_root: B256,
    records: &[Acked],
    report: &mut CrashReport,
) -> Result<()> {
    for chunk in records.chunks(medshare_ledger::MAX_PROOF_SLOTS) {
        let slots: Vec<B256> = chunk
            .iter()
            .map(|a| layout::data::commitment(a.ciphertext_hash))
            .collect();
        let proof = ledger
            .proof(rig.deployment.data, slots.clone(), number)
            .await?;
        let account = medshare_light::verify_account(state_root, &proof)
            .context("a state proof against the verified tip")?;
        for (a, slot) in chunk.iter().zip(slots) {
            let value = account.slot(slot).context("a proof for every slot asked")?;
            if B256::from(value) != a.owned_commitment {
                report.lost += 1;
            }
            report.state_proofs_verified += 1;
        }
    }
    Ok(())
}

/// The end-of-run checks: every event has its state write, once; nonces match.
async fn finish(
    rig: &Rig,
    ledger: &RpcLedger,
    v: &Verified,
    report: &mut CrashReport,
) -> Result<()> {
    let (latest, tip) = v.tip.context("verified at least once")?;
    let state_root = ledger.header(latest).await?.context("the tip")?.state_root;
    ensure!(
        ledger.header(latest).await?.map(|h| h.hash_slow()) == Some(tip),
        "the tip changed"
    );
    report.blocks = latest + 1;
    prove(rig, ledger, latest, state_root, &v.acked, report).await?;

    let filter = Filter::new()
        .address(rig.deployment.data)
        .event_signature(Data::RecordRegistered::SIGNATURE_HASH)
        .from_block(0)
        .to_block(latest);
    let mut events: HashMap<B256, (Address, u64)> = HashMap::new();
    for log in logs_paged(ledger, &filter).await? {
        let e = Data::RecordRegistered::decode_log_data(log.data())
            .context("a RecordRegistered event")?;
        let entry = events.entry(e.ciphertextHash).or_insert((e.owner, 0));
        entry.1 += 1;
    }
    report.duplicated = events.values().map(|(_, n)| n.saturating_sub(1)).sum();
    let acked: std::collections::HashSet<B256> =
        v.acked.iter().map(|a| a.ciphertext_hash).collect();
    report.lost += acked.iter().filter(|h| !events.contains_key(*h)).count() as u64;
    report.landed_unacknowledged = events.keys().filter(|h| !acked.contains(*h)).count() as u64;

    // Every event's state write is there (acknowledged or not).
    let unacked: Vec<(B256, Address)> = events
        .iter()
        .filter(|(h, _)| !acked.contains(*h))
        .map(|(h, (owner, _))| (*h, *owner))
        .collect();
    for chunk in unacked.chunks(medshare_ledger::MAX_PROOF_SLOTS) {
        let slots: Vec<B256> = chunk
            .iter()
            .map(|(h, _)| layout::data::commitment(*h))
            .collect();
        let proof = ledger
            .proof(rig.deployment.data, slots.clone(), latest)
            .await?;
        let account = medshare_light::verify_account(state_root, &proof)?;
        for slot in slots {
            ensure!(
                account.slot(slot).is_some_and(|v| !v.is_zero()),
                "a RecordRegistered event without its state write: half-applied"
            );
            report.state_proofs_verified += 1;
        }
    }

    // Each client's nonce: its user registration and one transaction per record it registered.
    let mut per_owner: HashMap<Address, u64> = HashMap::new();
    for (owner, n) in events.values() {
        *per_owner.entry(*owner).or_default() += n;
    }
    for id in &rig.clients {
        let nonce = ledger.nonce(id.address()).await?;
        let records = per_owner.get(&id.address()).copied().unwrap_or(0);
        ensure!(
            nonce == records + 1,
            "client {}: nonce {nonce} but {records} records registered: a transaction \
             half-applied",
            id.address()
        );
    }
    Ok(())
}

fn markdown(r: &CrashReport) -> String {
    format!(
        "# medshare bench crash\n\n{} SIGKILLs of `medshare node` during {} acknowledged \
         registrations from {} clients ({} s in all, {} blocks).\n\n| check | result |\n|---|---:|\n\
         | acknowledged registrations lost | **{}** |\n| records registered twice | **{}** |\n\
         | receipts moved or changed | **{}** |\n| landed but never acknowledged | {} |\n\
         | headers verified (seal, parent link) | {} |\n| state proofs verified | {} |\n\
         | restart after SIGKILL, median / max | {} s / {} s |\n\nIncludes: {}.\n",
        r.kills,
        r.acknowledged,
        r.clients,
        r.seconds,
        r.blocks,
        r.lost,
        r.duplicated,
        r.receipts_changed,
        r.landed_unacknowledged,
        r.headers_verified,
        r.state_proofs_verified,
        r.restart_p50_s,
        r.restart_max_s,
        r.includes
    )
}
