//! `medshare bench load`: many clients at once against `medshare node`, and an account of every
//! transaction afterwards.
//!
//! Each client is a patient with its own account and its own WebSocket connection (receipts
//! awaited through `newHeads`, as the ledger benchmark does). Together they run a fixed count of
//! operations drawn from a fixed mix: registering a record (one `registerRecords` transaction),
//! granting a job the use of one of its records, revoking a grant, reading its audit trail
//! (`eth_getLogs` on Audit by owner) and querying another client's records (`eth_getLogs` on
//! Data by owner). Each operation is timed from call to answer (receipt read, for the
//! transactions).
//!
//! Afterwards every acknowledged transaction is looked for on the chain: each registration's
//! `RecordRegistered` event exactly once, each grant's `Granted` event, each revocation's
//! `Revoked` event, and every record's final state (`isAuthorized`) as the clients' last
//! acknowledged operation left it. An acknowledged transaction missing is *lost*; one found
//! twice, *duplicated*; an event no client was told of, *unacknowledged*. The node's resident
//! memory (VmRSS) is read before the first operation and after the last.

use crate::round3;
use alloy_primitives::{Address, B256};
use alloy_sol_types::SolEvent;
use anyhow::{Context, Result, bail};
use clap::Args;
use medshare_chain::ContractClient;
use medshare_contracts::{Authorization, Contract};
use medshare_crypto::{Identity, eip712::Record};
use medshare_ledger::{Filter, Ledger, logs_paged, rpc::RpcLedger, wallet::Wallet};
use medshare_parties::user::{OwnedRecord, seal_records};
use medshare_primitives::{JobId, Role};
use medshare_testkit::{Backend, World};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::Serialize;
use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// The privacy budget a grant sets (ε = 3).
const BUDGET_MILLI: u32 = 3_000;

#[derive(Args)]
pub(crate) struct LoadArgs {
    /// Concurrent clients, each a patient with its own account and connection.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1024))]
    clients: u64,
    /// Operations in all, spread evenly over the clients.
    #[arg(long, default_value_t = 80_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    operations: u64,
    /// The node's page cache, MiB (`medshare node --cache-mib`; its default is 1024). The
    /// default here is small enough that the first half of the default run fills it, so that
    /// the second half shows whether memory keeps growing once every cache is full.
    #[arg(long, default_value_t = 32)]
    node_cache_mib: u64,
    /// A reduced run for CI (8 clients, 400 operations); writes nothing unless --out is given.
    #[arg(long)]
    quick: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Write load.json and load.md here (default: bench/results for a full run).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// One kind of operation of the mix, with its share in percent.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
enum Op {
    Register,
    Grant,
    Revoke,
    AuditRead,
    LogQuery,
}

impl Op {
    const MIX: [(Op, u32); 5] = [
        (Op::Register, 30),
        (Op::Grant, 25),
        (Op::Revoke, 10),
        (Op::AuditRead, 20),
        (Op::LogQuery, 15),
    ];

    fn draw(rng: &mut StdRng) -> Op {
        let mut roll = rng.gen_range(0..100);
        for (op, share) in Self::MIX {
            if roll < share {
                return op;
            }
            roll -= share;
        }
        Op::LogQuery
    }

    fn name(self) -> &'static str {
        match self {
            Op::Register => "register a record",
            Op::Grant => "grant",
            Op::Revoke => "revoke",
            Op::AuditRead => "audit trail read",
            Op::LogQuery => "log query",
        }
    }
}

/// Latency of one kind of operation (or all), milliseconds.
#[derive(Serialize)]
struct Latency {
    count: usize,
    errors: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

/// What the chain holds against what the clients were told.
#[derive(Serialize, Default)]
struct Accounting {
    /// Acknowledged transactions (receipt returned, success).
    acknowledged_transactions: usize,
    /// Acknowledged transactions whose effect is not on the chain.
    lost: usize,
    /// Acknowledged transactions whose event is on the chain more than once.
    duplicated: usize,
    /// Events on the chain no client was told of (an operation that failed after sending).
    unacknowledged: usize,
    /// Records whose final grant state differs from the last acknowledged grant or revocation.
    wrong_final_state: usize,
}

#[derive(Serialize)]
pub(crate) struct LoadReport {
    quick: bool,
    clients: u64,
    operations: u64,
    seconds: f64,
    operations_per_s: f64,
    transactions_per_s: f64,
    /// The mix, in percent of draws (a grant with no record to grant registers one; a
    /// revocation with no grant to revoke grants).
    mix_percent: Vec<(Op, u32)>,
    all: Latency,
    by_operation: Vec<(Op, Latency)>,
    /// The first error of each kind, if any.
    error_samples: Vec<String>,
    accounting: Accounting,
    node_rss_start_mib: f64,
    node_rss_end_mib: f64,
    /// (operations done, MiB) at each tenth of the operations.
    node_rss_curve_mib: Vec<(u64, f64)>,
    /// The node's page cache, MiB.
    node_cache_mib: u64,
    /// glibc's malloc settings in the node: as set in this environment, else the ones
    /// `medshare node` sets for itself.
    node_malloc: String,
    /// (end − middle) / middle, percent: growth over the second half of the operations, once
    /// the first half has filled the page cache.
    node_rss_drift_second_half_percent: f64,
    /// (end − start) / start, percent.
    node_rss_drift_percent: f64,
    node: String,
    includes: String,
}

/// What one client was told: its acknowledged operations in order.
#[derive(Default)]
struct Told {
    registered: Vec<B256>,
    /// (record, granted?) for every acknowledged grant and revocation, in order.
    consents: Vec<(Record, bool)>,
    latencies: Vec<(Op, Duration, bool)>,
    errors: Vec<(Op, String)>,
}

pub(crate) async fn run(args: LoadArgs) -> Result<()> {
    let (clients, operations) = if args.quick {
        (8, 400)
    } else {
        (args.clients, args.operations)
    };
    let report = load(clients, operations, args.node_cache_mib, args.quick).await?;
    crate::publish(
        "load",
        &report,
        &markdown(&report),
        args.out.clone(),
        args.quick,
        args.json,
    )?;
    let a = &report.accounting;
    if a.lost + a.duplicated + a.wrong_final_state > 0 {
        bail!(
            "the chain does not hold what the clients were told: {} lost, {} duplicated, {} in \
             a wrong final state",
            a.lost,
            a.duplicated,
            a.wrong_final_state
        );
    }
    // The target (issue 11): memory that levels off. Only a full run is long enough to say.
    if !args.quick && report.node_rss_drift_second_half_percent >= 10.0 {
        bail!(
            "the node's memory grew {} % over the second half of the operations (target: under \
             10 %)",
            report.node_rss_drift_second_half_percent
        );
    }
    Ok(())
}

async fn load(clients: u64, operations: u64, cache_mib: u64, quick: bool) -> Result<LoadReport> {
    let medshare = crate::sibling::Sibling {
        program: "medshare",
        package: "medshare",
        env: "MEDSHARE_BIN",
    }
    .locate()?;
    let cache = cache_mib.to_string();
    let backend = Backend::node_with(&medshare, &["--cache-mib", &cache])
        .await
        .context("starting medshare node")?;
    let pid = backend.pid().context("the node runs in its own process")?;
    let http = backend.endpoint().context("the node has an endpoint")?;
    let ws = format!("ws://{}", http.split_once("://").map_or(http, |(_, a)| a));
    let world = Arc::new(World::new(&backend).await?);
    let job = world.approved_job("bench load").await?;

    let mut parties = Vec::new();
    for _ in 0..clients {
        let identity = Identity::random();
        let ledger: Arc<dyn Ledger> = Arc::new(RpcLedger::connect(&ws)?);
        let wallet = Wallet::new(ledger, identity.signer().clone()).await?;
        let chain = world.admin.chain.as_party(wallet);
        chain
            .register(Role::User, identity.public_key_uncompressed())
            .await?;
        parties.push((identity, chain));
    }
    let addresses: Vec<Address> = parties.iter().map(|(i, _)| i.address()).collect();
    let addresses = Arc::new(addresses);

    let rss_start = rss_kib(pid)?;
    let start = Instant::now();
    // The node's memory as the operations go: one sample per tenth of them.
    let done = Arc::new(AtomicU64::new(0));
    let sampler = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut curve = Vec::new();
            let mut next = 0;
            while next <= 10 {
                let ops = done.load(Ordering::Relaxed);
                if ops >= operations * next / 10 {
                    if let Ok(kib) = rss_kib(pid) {
                        curve.push((ops, round3(kib as f64 / 1024.0)));
                    }
                    next += 1;
                } else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            curve
        })
    };
    let mut set = tokio::task::JoinSet::new();
    for (n, (identity, chain)) in parties.into_iter().enumerate() {
        let count = operations / clients + u64::from((n as u64) < operations % clients);
        let (world, addresses, done) = (world.clone(), addresses.clone(), done.clone());
        set.spawn(async move {
            let client = Client {
                done,
                identity,
                chain,
                world,
                job,
                others: addresses,
                rng: StdRng::seed_from_u64(n as u64),
                records: Vec::new(),
            };
            client.run(count).await
        });
    }
    let mut told = Vec::new();
    while let Some(result) = set.join_next().await {
        told.push(result?);
    }
    let seconds = start.elapsed().as_secs_f64();
    let rss_end = rss_kib(pid)?;
    let node_rss_curve_mib = sampler.await?;
    let rss_half = node_rss_curve_mib
        .get(5)
        .map_or(rss_start as f64 / 1024.0, |(_, mib)| *mib);

    let accounting = account(&world, job, &told).await?;
    let mut all: Vec<(Op, Duration, bool)> = told
        .iter()
        .flat_map(|t| t.latencies.iter().copied())
        .collect();
    all.sort_by_key(|(_, d, _)| *d);
    let by_operation = Op::MIX
        .iter()
        .map(|(op, _)| {
            let of: Vec<_> = all.iter().filter(|(o, ..)| o == op).copied().collect();
            (*op, latency(&of))
        })
        .collect();
    let mut error_samples: Vec<String> = Vec::new();
    for (op, message) in told.iter().flat_map(|t| t.errors.iter()) {
        let sample = format!("{}: {message}", op.name());
        if !error_samples
            .iter()
            .any(|s| s.starts_with(&format!("{}:", op.name())))
        {
            error_samples.push(sample);
        }
    }
    let transactions = all
        .iter()
        .filter(|(op, _, ok)| *ok && matches!(op, Op::Register | Op::Grant | Op::Revoke))
        .count();
    Ok(LoadReport {
        quick,
        clients,
        operations,
        seconds: round3(seconds),
        operations_per_s: round3(all.len() as f64 / seconds),
        transactions_per_s: round3(transactions as f64 / seconds),
        mix_percent: Op::MIX.to_vec(),
        all: latency(&all),
        by_operation,
        error_samples,
        accounting,
        node_rss_start_mib: round3(rss_start as f64 / 1024.0),
        node_rss_end_mib: round3(rss_end as f64 / 1024.0),
        node_rss_drift_second_half_percent: round3(
            (rss_end as f64 / 1024.0 - rss_half) / rss_half * 100.0,
        ),
        node_rss_curve_mib,
        node_cache_mib: cache_mib,
        node_malloc: match (
            std::env::var("MALLOC_ARENA_MAX"),
            std::env::var("MALLOC_MMAP_THRESHOLD_"),
        ) {
            (Err(_), Err(_)) => "one arena, mmap threshold 128 KiB (medshare node's own \
                                 settings)"
                .into(),
            (arenas, threshold) => format!(
                "MALLOC_ARENA_MAX {}, MALLOC_MMAP_THRESHOLD_ {} (set in the environment)",
                arenas.unwrap_or_else(|_| "unset".into()),
                threshold.unwrap_or_else(|_| "unset".into())
            ),
        },
        node_rss_drift_percent: round3(
            (rss_end as f64 - rss_start as f64) / rss_start as f64 * 100.0,
        ),
        node: format!(
            "medshare node {} (the embedded chain served by RpcServer, every block committed to \
             redb with fsync before its receipt is served), its own process",
            env!("CARGO_PKG_VERSION")
        ),
        includes: format!(
            "{clients} clients at once, each a registered patient with its own account and \
             WebSocket connection; per transaction: for a registration, AES-256-GCM encryption of \
             a 64-byte record, a key share for the TEE and the owner's signature (nothing \
             stored off chain: the node is measured); gas estimation, fee lookup, signing, \
             eth_sendRawTransaction and the receipt awaited through eth_subscribe(\"newHeads\"); \
             reads are eth_getLogs over the whole chain filtered by owner; memory is the node's \
             VmRSS after the deployment and the clients' registration, and after the last \
             operation"
        ),
    })
}

/// One client's state while it runs.
struct Client {
    identity: Identity,
    chain: ContractClient,
    world: Arc<World>,
    job: JobId,
    others: Arc<Vec<Address>>,
    rng: StdRng,
    /// Operations done by all clients.
    done: Arc<AtomicU64>,
    /// Its registered records and whether each is granted to the job now.
    records: Vec<(OwnedRecord, bool)>,
}

impl Client {
    async fn run(mut self, count: u64) -> Told {
        let mut told = Told::default();
        for i in 0..count {
            let mut op = Op::draw(&mut self.rng);
            if op == Op::Revoke && !self.records.iter().any(|(_, g)| *g) {
                op = Op::Grant;
            }
            if op == Op::Grant && !self.records.iter().any(|(_, g)| !*g) {
                op = Op::Register;
            }
            let start = Instant::now();
            let result = self.once(op, i, &mut told).await;
            told.latencies.push((op, start.elapsed(), result.is_ok()));
            self.done.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = result {
                told.errors.push((op, format!("{e:#}")));
            }
        }
        told
    }

    async fn once(&mut self, op: Op, i: u64, told: &mut Told) -> Result<()> {
        match op {
            Op::Register => {
                let plaintext = format!("load test record {i} of {}", self.identity.address());
                let tee = &self.world.tee.identity;
                let sealed = seal_records(
                    &self.identity,
                    &self.chain,
                    self.world.data_type.id(),
                    tee.address(),
                    &tee.public_key(),
                    &[plaintext.as_bytes()],
                )?;
                let owned: Vec<OwnedRecord> = sealed.into_iter().map(|s| s.owned).collect();
                let batch: Vec<_> = owned.iter().map(|o| o.record.clone()).collect();
                self.chain
                    .register_records(self.world.data_type.id(), &batch)
                    .await?;
                for o in owned {
                    told.registered.push(o.record.ciphertextHash);
                    self.records.push((o, false));
                }
            }
            Op::Grant | Op::Revoke => {
                let grant = op == Op::Grant;
                let candidates: Vec<usize> = (0..self.records.len())
                    .filter(|&k| self.records[k].1 != grant)
                    .collect();
                let k = candidates[self.rng.gen_range(0..candidates.len())];
                let record = &self.records[k].0;
                if grant {
                    self.chain
                        .grant(&record.record, self.job, record.pad.clone(), BUDGET_MILLI)
                        .await?;
                } else {
                    self.chain.revoke(&record.record, self.job).await?;
                }
                told.consents.push((record.record.clone(), grant));
                self.records[k].1 = grant;
            }
            Op::AuditRead => {
                self.chain.audit_of_owner(self.identity.address()).await?;
            }
            Op::LogQuery => {
                let other = self.others[self.rng.gen_range(0..self.others.len())];
                self.chain.records_of_owner(other).await?;
            }
        }
        Ok(())
    }
}

fn latency(sorted: &[(Op, Duration, bool)]) -> Latency {
    let ms = |q: f64| {
        if sorted.is_empty() {
            return 0.0;
        }
        let index = ((sorted.len() - 1) as f64 * q).round() as usize;
        round3(sorted[index].1.as_secs_f64() * 1000.0)
    };
    Latency {
        count: sorted.len(),
        errors: sorted.iter().filter(|(_, _, ok)| !ok).count(),
        p50_ms: ms(0.5),
        p99_ms: ms(0.99),
        max_ms: ms(1.0),
    }
}

/// Looks for every acknowledged transaction on the chain.
async fn account(world: &World, job: JobId, told: &[Told]) -> Result<Accounting> {
    let chain = &world.admin.chain;
    let ledger = chain.ledger().as_ref();
    let mut a = Accounting::default();

    // Registrations: each acknowledged record's event exactly once.
    let mut acknowledged: HashMap<B256, usize> = HashMap::new();
    for t in told {
        for hash in &t.registered {
            *acknowledged.entry(*hash).or_default() += 1;
        }
    }
    let mut on_chain: HashMap<B256, usize> = HashMap::new();
    for l in chain.records_of_type(world.data_type.id()).await? {
        *on_chain.entry(l.event.ciphertextHash).or_default() += 1;
    }
    tally(&mut a, &acknowledged, &on_chain);

    // Grants and revocations: each acknowledged one's event, as many times as acknowledged.
    for (grant, signature) in [
        (true, Authorization::Granted::SIGNATURE_HASH),
        (false, Authorization::Revoked::SIGNATURE_HASH),
    ] {
        let mut acknowledged: HashMap<B256, usize> = HashMap::new();
        for t in told {
            for (record, g) in &t.consents {
                if *g == grant {
                    *acknowledged.entry(record.ciphertextHash).or_default() += 1;
                }
            }
        }
        let filter = Filter::new()
            .address(chain.deployment().address(Contract::Authorization))
            .event_signature(signature)
            .topic2(job.0)
            .from_block(0);
        let mut on_chain: HashMap<B256, usize> = HashMap::new();
        for log in logs_paged(ledger, &filter).await? {
            let hash = log
                .topics()
                .get(3)
                .copied()
                .context("a grant event names its record")?;
            *on_chain.entry(hash).or_default() += 1;
        }
        tally(&mut a, &acknowledged, &on_chain);
    }

    // Final state: what each record's last acknowledged consent left, read from the state.
    let mut last: HashMap<B256, (&Record, bool)> = HashMap::new();
    for t in told {
        for (record, g) in &t.consents {
            last.insert(record.ciphertextHash, (record, *g));
        }
    }
    for (record, granted) in last.into_values() {
        if chain.is_authorized(record, job).await? != granted {
            a.wrong_final_state += 1;
        }
    }
    Ok(a)
}

/// Adds to `a` what `acknowledged` (count per key) and `on_chain` (events per key) disagree on.
fn tally(a: &mut Accounting, acknowledged: &HashMap<B256, usize>, on_chain: &HashMap<B256, usize>) {
    for (key, &told) in acknowledged {
        a.acknowledged_transactions += told;
        let found = on_chain.get(key).copied().unwrap_or(0);
        a.lost += told.saturating_sub(found);
        a.duplicated += found.saturating_sub(told);
    }
    a.unacknowledged += on_chain
        .iter()
        .filter(|(key, _)| !acknowledged.contains_key(*key))
        .map(|(_, n)| n)
        .sum::<usize>();
}

/// The resident memory of process `pid`, KiB.
fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS in /proc/<pid>/status")
}

fn markdown(r: &LoadReport) -> String {
    let mut s = format!(
        "# medshare bench load\n\n{} clients, {} operations in {} s: **{} operations/s**, {} \
         transactions/s.\n\n| operation | count | errors | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|\n",
        r.clients, r.operations, r.seconds, r.operations_per_s, r.transactions_per_s
    );
    let row = |name: &str, l: &Latency| {
        format!(
            "| {name} | {} | {} | {} | {} | {} |\n",
            l.count, l.errors, l.p50_ms, l.p99_ms, l.max_ms
        )
    };
    for (op, l) in &r.by_operation {
        s.push_str(&row(op.name(), l));
    }
    s.push_str(&row("**all**", &r.all));
    let a = &r.accounting;
    s.push_str(&format!(
        "\nAcknowledged transactions: {}; lost: **{}**; duplicated: **{}**; on chain but not \
         acknowledged: {}; records in a wrong final grant state: {}.\n\nNode memory (VmRSS), page \
         cache {} MiB, malloc: {}: over the second half of the operations, once the \
         first half has filled the page cache, **{:+} %**; from {} MiB at start to {} MiB at end \
         {:+} % (the page cache filling, then the allocator's working set). At each tenth of the \
         operations (operations done: MiB): {}.\n\nNode: {}.\n\nIncludes: {}.\n",
        a.acknowledged_transactions,
        a.lost,
        a.duplicated,
        a.unacknowledged,
        a.wrong_final_state,
        r.node_cache_mib,
        r.node_malloc,
        r.node_rss_drift_second_half_percent,
        r.node_rss_start_mib,
        r.node_rss_end_mib,
        r.node_rss_drift_percent,
        r.node_rss_curve_mib
            .iter()
            .map(|(ops, mib)| format!("{ops}: {mib}"))
            .collect::<Vec<_>>()
            .join(", "),
        r.node,
        r.includes
    ));
    if !r.error_samples.is_empty() {
        s.push_str("\nErrors (first of each kind):\n");
        for e in &r.error_samples {
            s.push_str(&format!("- {e}\n"));
        }
    }
    s
}
