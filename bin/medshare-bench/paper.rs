//! `medshare bench paper`: the paper's §7 evaluation, measured on this machine.
//!
//! Table 3 (the whole flow for one record of 1–6 kB, with the enclave in this process and in
//! its own process), Fig. 9 (per-operation costs), §7.4 (gas), ledger throughput beside anvil,
//! crypto beside `openssl speed`, training beside scikit-learn, and scale (a million records and
//! an owner's audit query; the enclave process's peak memory over 100,000 records). Every
//! comparison runs both sides in this run, because shared machines drift. Results: paper.json,
//! paper.md and table3.png (bench/plot_table3.py) under `--out`.

use crate::gas::{GasReport, measure_gas};
use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use medshare_chain::{Medshare, Wallet};
use medshare_crypto::{Identity, ciphertext_hash, eip712};
use medshare_enclave::{Enclave, SimulatedPlatform};
use medshare_enclave_api::TrustAnchors;
use medshare_ledger::Ledger;
use medshare_node::{
    embedded::{ChainConfig, EmbeddedChain},
    server::RpcServer,
};
use medshare_parties::{demander::Demander, reviewer::Reviewer, tee::TeeHost, user::Patient};
use medshare_primitives::{DataType, JobId};
use medshare_records::{DataRequirement, Feature, Label, PatientRecord, Schema};
use medshare_storage::{LocalStore, ObjectStore};
use medshare_training::{ModelKind, ModelSpec};
use serde::Serialize;
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

/// The paper's Table 3, non-SGX average (µs) for 1..6 kB.
const PAPER_TABLE3_AVG_US: [f64; 6] = [
    67_868.0, 164_532.0, 274_185.0, 404_716.0, 554_137.0, 725_899.0,
];
/// Records already consented (standing policy) in every job of Table 3, beside the measured one.
const BASE_COHORT: usize = 9;

use crate::REPO;

/// The paper's flows train without differential privacy (as the paper does): every record's
/// budget is unlimited, and governance allows ε = ∞ for the benchmark's data types.
const UNLIMITED: u32 = medshare_contracts::EPSILON_INFINITE;

#[derive(Args)]
pub(crate) struct PaperArgs {
    /// A reduced run for CI (2 runs per size, smaller loops and cohorts): under two minutes.
    #[arg(long)]
    quick: bool,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
    /// Write paper.json and paper.md here (default: bench/results for a full run, nothing for
    /// --quick).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Serialize)]
struct Table3Row {
    size_kb: u32,
    /// Bytes of the record's plaintext.
    record_bytes: usize,
    runs: usize,
    /// The enclave in this process (the analogue of the paper's non-SGX column).
    min_us: f64,
    avg_us: f64,
    max_us: f64,
    /// The enclave in its own process (`medshare-enclave worker`, kept running between jobs and
    /// reaching the node over WebSocket; the analogue of SGX).
    process_min_us: f64,
    process_avg_us: f64,
    process_max_us: f64,
    /// Starting that worker (once per size, not in the figures above): unsealing its key,
    /// hashing its program (the simulated measurement), reaching the node; µs.
    process_start_us: f64,
    paper_avg_us: f64,
    /// paper_avg_us / avg_us.
    speedup_vs_paper: f64,
}

#[derive(Serialize)]
struct Fig9 {
    /// secp256k1 key pair generation.
    keygen_us: f64,
    /// SHA-256 of 3 kB.
    sha256_3kb_us: f64,
    /// An EIP-712 signature (the paper's Sig_RSA).
    sign_us: f64,
    /// Recovering and checking an EIP-712 signature (Verify_RSA).
    verify_us: f64,
    /// The paper's Fig. 9 values are read off a bar chart; see docs.
    iterations: u32,
}

#[derive(Serialize)]
struct Crypto {
    /// AES-256-GCM record encryption (seal_record) of 16 KiB buffers, MB/s.
    aead_mb_s: f64,
    /// `openssl speed -evp aes-256-gcm` at 16 KiB, MB/s.
    openssl_aead_mb_s: f64,
    /// SHA-256 of 16 KiB buffers, MB/s.
    sha256_mb_s: f64,
    /// `openssl speed -evp sha256` at 16 KiB, MB/s.
    openssl_sha256_mb_s: f64,
}

#[derive(Serialize)]
struct Report {
    quick: bool,
    table3: Vec<Table3Row>,
    fig9: Fig9,
    gas: GasReport,
    crypto: Crypto,
    aead_ratio_vs_openssl: f64,
    sha256_ratio_vs_openssl: f64,
    /// Records registered per second on the embedded chain (durable).
    ledger_tps: f64,
    /// The same workload on anvil.
    anvil_tps: f64,
    ledger: Throughput,
    anvil: Throughput,
    /// medshare's training time / scikit-learn's, same data.
    train_time_ratio_vs_sklearn: f64,
    accuracy: f64,
    sklearn_accuracy: f64,
    training: Training,
    scale: Scale,
    /// Peak resident memory of the enclave process over a job of `enclave_memory_records`.
    enclave_peak_memory_mib: f64,
    enclave_memory_records: u64,
    /// What the enclave's own checks of chain facts cost (header seal and state proofs).
    proofs: ProofCost,
}

pub(crate) async fn run(args: PaperArgs) -> Result<()> {
    let runs = if args.quick { 2 } else { 30 };
    let table3 = table3(runs, args.json).await?;
    let fig9 = fig9(if args.quick { 200 } else { 2_000 })?;
    let gas = measure_gas(100).await?;
    let crypto = crypto(if args.quick { 0.3 } else { 2.0 })?;
    let (patients, per_patient) = if args.quick { (2, 200) } else { (16, 2_000) };
    let embedded = medshare_testkit::Backend::embedded().await?;
    let ledger = ledger_throughput(&embedded, patients, per_patient).await?;
    drop(embedded);
    let anvil_backend = medshare_testkit::Backend::anvil()
        .await
        .context("starting anvil (scripts/test installs it)")?;
    let anvil = ledger_throughput(&anvil_backend, patients, per_patient).await?;
    drop(anvil_backend);
    let training = training(if args.quick { 10_000 } else { 100_000 })?;
    let scale = if args.quick {
        scale(5_000, 10, args.json).await?
    } else {
        scale(1_000_000, 1_000, args.json).await?
    };
    let (peak_kib, memory_records) =
        enclave_memory(if args.quick { 300 } else { 100_000 }, args.json).await?;
    let proofs = proof_cost(if args.quick { 20 } else { 500 }).await?;
    let report = Report {
        proofs,
        scale,
        enclave_peak_memory_mib: round3(peak_kib as f64 / 1024.0),
        enclave_memory_records: memory_records,
        train_time_ratio_vs_sklearn: round3(training.seconds / training.sklearn_seconds),
        accuracy: training.accuracy,
        sklearn_accuracy: training.sklearn_accuracy,
        training,
        ledger_tps: ledger.records_per_s,
        anvil_tps: anvil.records_per_s,
        ledger,
        anvil,
        quick: args.quick,
        aead_ratio_vs_openssl: round3(crypto.aead_mb_s / crypto.openssl_aead_mb_s),
        sha256_ratio_vs_openssl: round3(crypto.sha256_mb_s / crypto.openssl_sha256_mb_s),
        table3,
        fig9,
        gas,
        crypto,
    };
    let out = args
        .out
        .clone()
        .or_else(|| (!args.quick).then(|| PathBuf::from("bench/results")));
    if let Some(dir) = &out {
        write_results(dir, &report)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", markdown(&report));
        if let Some(dir) = &out {
            println!("written to {}", dir.display());
        }
    }
    Ok(())
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn write_results(dir: &Path, report: &Report) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = dir.join("paper.json");
    std::fs::write(&json, serde_json::to_vec_pretty(report)?)?;
    std::fs::write(dir.join("paper.md"), markdown(report))?;
    let script = Path::new(REPO).join("bench/plot_table3.py");
    let status = std::process::Command::new(crate::python::python()?)
        .arg(&script)
        .arg(&json)
        .arg(dir.join("table3.png"))
        .status()
        .context("running python3 for the Table 3 plot")?;
    if !status.success() {
        bail!("the Table 3 plot failed ({status})");
    }
    Ok(())
}

fn markdown(r: &Report) -> String {
    let mut s = String::from("## Table 3: the whole flow for one record (µs)\n\n");
    s += "| size | runs | in-process min / avg / max | own process min / avg / max | paper avg (non-SGX) | paper / medshare |\n";
    s += "|---:|---:|---|---|---:|---:|\n";
    for t in &r.table3 {
        s += &format!(
            "| {} kB | {} | {:.0} / {:.0} / {:.0} | {:.0} / {:.0} / {:.0} | {:.0} | {:.1}× |\n",
            t.size_kb,
            t.runs,
            t.min_us,
            t.avg_us,
            t.max_us,
            t.process_min_us,
            t.process_avg_us,
            t.process_max_us,
            t.paper_avg_us,
            t.speedup_vs_paper
        );
    }
    let starts: Vec<String> = r
        .table3
        .iter()
        .map(|t| format!("{:.0}", t.process_start_us / 1e3))
        .collect();
    s += &format!(
        "\nOwn process: one `medshare-enclave worker` per size, kept running between jobs and reaching the node over WebSocket (receipts awaited through a `newHeads` subscription). Starting it (unsealing the key, hashing the program for its simulated measurement, reaching the node) took {} ms per size and is not in the figures.\n",
        starts.join(" / ")
    );
    s += &format!(
        "\n## Fig. 9: per operation (µs)\n\nkey pair {:.1}, SHA-256 of 3 kB {:.1}, sign {:.1}, verify {:.1}\n",
        r.fig9.keygen_us, r.fig9.sha256_3kb_us, r.fig9.sign_us, r.fig9.verify_us
    );
    s += "\n## §7.4: gas per transaction type\n\n| type | gas | paper | ratio | TPS (12M gas/s) | paper TPS |\n|---|---:|---:|---:|---:|---:|\n";
    for (name, t) in [
        ("data", &r.gas.data),
        ("request", &r.gas.request),
        ("model", &r.gas.model),
        ("result", &r.gas.result),
    ] {
        s += &format!(
            "| {name} | {} | {} | {:.3} | {} | {} |\n",
            t.gas, t.paper_gas, t.ratio_to_paper, t.tps, t.paper_tps
        );
    }
    s += &format!(
        "\n## Ledger throughput (records registered per second, durable)\n\nembedded chain {:.0} records/s ({:.1} tx/s), anvil {:.0} records/s ({:.1} tx/s): {:.2}× anvil\n",
        r.ledger.records_per_s,
        r.ledger.tx_per_s,
        r.anvil.records_per_s,
        r.anvil.tx_per_s,
        r.ledger.records_per_s / r.anvil.records_per_s.max(1e-9)
    );
    s += &format!(
        "\n## Training: logistic regression, {} records × {} features\n\nmedshare {:.3} s (accuracy {:.4}), scikit-learn {:.3} s (accuracy {:.4}): time ratio {:.2}\n",
        r.training.records,
        r.training.features,
        r.training.seconds,
        r.training.accuracy,
        r.training.sklearn_seconds,
        r.training.sklearn_accuracy,
        r.train_time_ratio_vs_sklearn
    );
    s += &format!(
        "\n## Scale\n\n{} records of {} owners registered in {:.1} s, {} audit entries; one owner's audit trail ({} entries) in {:.2} ms (median of 21). The enclave process's peak memory over a job of {} records: {:.1} MiB.\n",
        r.scale.records,
        r.scale.owners,
        r.scale.register_seconds,
        r.scale.audit_entries,
        r.scale.audit_query_entries,
        r.scale.audit_query_ms,
        r.enclave_memory_records,
        r.enclave_peak_memory_mib
    );
    s += &format!(
        "\n## The enclave's checks of chain facts\n\nper record (its Data commitment, the grant and the owner's policy: {} storage proofs for {} records and the job's facts, one view): verifying {:.1} µs per record (header seal once per view: {:.1} µs; the job's own facts: {:.1} µs per view); fetching the proofs from the node (eth_getProof over the in-process chain) {:.2} ms per view; {:.0} proof bytes per record\n",
        r.proofs.storage_proofs,
        r.proofs.records,
        r.proofs.verify_us_per_record,
        r.proofs.seal_us,
        r.proofs.job_facts_us,
        r.proofs.fetch_ms,
        r.proofs.proof_bytes_per_record
    );
    s += &format!(
        "\n## Crypto beside openssl (16 KiB buffers)\n\nAES-256-GCM {:.0} MB/s vs openssl {:.0} MB/s ({:.2}); SHA-256 {:.0} MB/s vs openssl {:.0} MB/s ({:.2})\n",
        r.crypto.aead_mb_s,
        r.crypto.openssl_aead_mb_s,
        r.aead_ratio_vs_openssl,
        r.crypto.sha256_mb_s,
        r.crypto.openssl_sha256_mb_s,
        r.sha256_ratio_vs_openssl
    );
    s
}

// ---------------------------------------------------------------------------------- Table 3

/// A schema of `n` features `f000…` and a binary label `y`.
fn schema(size_kb: u32, n: usize) -> Schema {
    Schema {
        name: format!("bench-{size_kb}kb"),
        description: String::new(),
        features: (0..n)
            .map(|i| Feature {
                name: format!("f{i:04}"),
                unit: None,
                loinc: None,
                // The generated values lie in [0, 1.25).
                min: 0.0,
                max: 1.25,
            })
            .collect(),
        label: Label {
            name: "y".into(),
            description: String::new(),
            loinc: None,
            classes: vec!["negative".into(), "positive".into()],
            min: None,
            max: None,
        },
    }
}

/// A record of `schema` with pseudo-random values; label alternates with `i`.
fn record(schema: &Schema, i: usize) -> PatientRecord {
    let mut x = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let values = schema
        .feature_names()
        .map(|n| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = (x % 1_000_000_000) as f64 / 1e9 + if i.is_multiple_of(2) { 0.25 } else { 0.0 };
            (n.to_owned(), v)
        })
        .collect();
    PatientRecord {
        data_type: schema.name.clone(),
        values,
        label: Some((i % 2) as f64),
    }
}

/// The schema whose records are about `size_kb` kB of plaintext.
fn sized_schema(size_kb: u32) -> Result<(Schema, usize)> {
    let target = size_kb as usize * 1024;
    let mut n = target / 24;
    loop {
        let s = schema(size_kb, n);
        let len = record(&s, 0).to_bytes()?.len();
        if len >= target || n > 100_000 {
            return Ok((s, len));
        }
        n += 1 + (target - len) / 24;
    }
}

/// One deployment with a TEE, a demander, a reviewer and the base cohort, for one size.
struct Rig {
    ledger: Arc<dyn Ledger>,
    server: RpcServer,
    admin: Medshare,
    store: Arc<dyn ObjectStore>,
    tee: TeeHost,
    demander: Demander,
    reviewer: Reviewer,
    schema: Schema,
    /// `medshare-enclave worker` over this rig's node (WebSocket) and store: the TEE's own
    /// process, started once and kept between jobs.
    worker: tokio::sync::Mutex<crate::spawn::Worker>,
    /// How long the worker took to start (unseal its key, reach the node), ms.
    worker_start_ms: f64,
    _dir: tempfile::TempDir,
}

impl Rig {
    async fn new(schema: Schema) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let chain = EmbeddedChain::open(
            &dir.path().join("chain"),
            ChainConfig::new(Identity::random().signer().clone()),
        )?;
        let ledger: Arc<dyn Ledger> = Arc::new(chain);
        let server =
            RpcServer::start(ledger.clone(), SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(dir.path().join("store"))?);
        let wallet = |id: &Identity| Wallet::new(ledger.clone(), id.signer().clone());
        // The in-process enclave plays the same program as `medshare-enclave` (same measurement
        // and platform secret), so both runs use one sealed key and one admitted TEE.
        let measurement = crate::spawn::Spawn::measurement()?;
        let admin = medshare_parties::setup::deploy_for_simulation(
            wallet(&Identity::random()).await?,
            measurement,
        )
        .await?;
        admin.save_deployment(&dir.path().join("deployment.json"))?;
        let enclave_dir = dir.path().join("enclave");
        std::fs::create_dir_all(&enclave_dir)?;
        let secret: [u8; 32] = rand::random();
        std::fs::write(enclave_dir.join("platform.secret"), secret)?;
        let anchors = TrustAnchors::sealed(
            admin.chain_id(),
            admin.deployment(),
            medshare_parties::tee::sealers_of(ledger.as_ref()).await?,
        );
        let enclave = Enclave::simulated(
            &enclave_dir.join("tee.sealed"),
            &SimulatedPlatform::new(secret, measurement),
            Some(&anchors),
        )?;
        let tee = TeeHost::new(
            Box::new(enclave),
            ledger.clone(),
            Some(*admin.deployment()),
            store.clone(),
        )
        .await?;
        tee.register().await?;
        medshare_parties::setup::admit(&admin, tee.address()).await?;
        // The paper's flow: small cohorts, no differential privacy; the data type's schema
        // (public ranges) registered for the enclave.
        let schema_json = serde_json::to_vec(&schema)?;
        let data_type = schema.data_type()?;
        store
            .put(
                &medshare_storage::Key::schema(&data_type.id().0),
                schema_json.clone(),
            )
            .await?;
        admin
            .set_data_type_rules(
                data_type.id(),
                &medshare_chain::DataTypeRules {
                    min_cohort: 2,
                    max_epsilon_milli: 0,
                    allow_non_private: true,
                    schema_hash: alloy_primitives::keccak256(&schema_json),
                },
            )
            .await?;
        let demander_id = Identity::random();
        let demander_chain = admin.as_party(wallet(&demander_id).await?);
        let demander = Demander::new(demander_id, demander_chain, store.clone());
        demander.register().await?;
        let reviewer_id = Identity::random();
        admin
            .appoint_reviewer(reviewer_id.public_key_uncompressed())
            .await?;
        let reviewer = Reviewer::new(admin.as_party(wallet(&reviewer_id).await?));
        let started = Instant::now();
        let worker = Self::start_worker(dir.path(), &server).await?;
        let worker_start_ms = started.elapsed().as_secs_f64() * 1e3;
        let rig = Self {
            ledger,
            server,
            admin,
            store,
            tee,
            demander,
            reviewer,
            schema,
            worker: tokio::sync::Mutex::new(worker),
            worker_start_ms,
            _dir: dir,
        };
        // The base cohort: consented by standing policy.
        let data_type = rig.schema.data_type()?;
        for i in 0..BASE_COHORT {
            let patient = rig.patient().await?;
            let owned = patient
                .upload(
                    &data_type,
                    &[record(&rig.schema, i)],
                    rig.tee.address(),
                    &|_| {},
                )
                .await?;
            patient
                .set_policy(&data_type, &owned, true, UNLIMITED)
                .await?;
        }
        Ok(rig)
    }

    async fn patient(&self) -> Result<Patient> {
        let id = Identity::random();
        let chain = self
            .admin
            .as_party(Wallet::new(self.ledger.clone(), id.signer().clone()).await?);
        let patient = Patient::new(id, chain, self.store.clone());
        patient.register().await?;
        Ok(patient)
    }

    async fn job(&self, seed: u64) -> Result<JobId> {
        let features = self
            .schema
            .feature_names()
            .take(8)
            .map(str::to_owned)
            .collect();
        let (spec, requirement) =
            logistic_job(&self.schema, features, seed, (BASE_COHORT + 1) as u64);
        let job = self.demander.submit(&spec, &requirement).await?;
        self.reviewer.approve(job).await?;
        Ok(job)
    }

    /// The timed flow: encrypt, store, register, consent; the TEE's run; the demander's check
    /// and decryption.
    async fn share_one(
        &self,
        patient: &Patient,
        data_type: &DataType,
        job: JobId,
        i: usize,
        own_process: bool,
    ) -> Result<Duration> {
        let rec = record(&self.schema, i);
        let start = Instant::now();
        let owned = patient
            .upload(
                data_type,
                std::slice::from_ref(&rec),
                self.tee.address(),
                &|_| {},
            )
            .await?;
        patient.grant(&owned[0], job, UNLIMITED).await?;
        let used = if own_process {
            self.run_in_process_of_its_own(job).await?
        } else {
            self.tee.run_job(job, &|_, _| {}).await?.records_used
        };
        let output = self.demander.fetch_result(job).await?;
        let elapsed = start.elapsed();
        if used != (BASE_COHORT + 1) as u64 || output.records_used != used {
            bail!(
                "job {} used {used} records, expected {}",
                job.0,
                BASE_COHORT + 1
            );
        }
        Ok(elapsed)
    }

    async fn run_in_process_of_its_own(&self, job: JobId) -> Result<u64> {
        self.run_report_in_own_process(job).await?["records_used"]
            .as_u64()
            .context("records_used")
    }

    /// The report of `job` run by this rig's enclave worker (its own process).
    async fn run_report_in_own_process(&self, job: JobId) -> Result<serde_json::Value> {
        self.worker.lock().await.run(job).await
    }

    /// Starts `medshare-enclave worker` for the rig in `dir`: it reaches the node over
    /// WebSocket (receipts awaited through a `newHeads` subscription), the store and its key.
    async fn start_worker(dir: &Path, server: &RpcServer) -> Result<crate::spawn::Worker> {
        let rpc = server.ws_endpoint();
        let (deployment, store) = (dir.join("deployment.json"), dir.join("store"));
        let enclave_dir = dir.join("enclave");
        crate::spawn::Spawn {
            rpc: &rpc,
            deployment: &deployment,
            store: &store,
            enclave_dir: &enclave_dir,
        }
        .worker()
        .await
    }
}

/// A logistic regression on `features` of `schema` and the requirement that grants them.
fn logistic_job(
    schema: &Schema,
    features: Vec<String>,
    seed: u64,
    min_cohort: u64,
) -> (ModelSpec, DataRequirement) {
    let spec = ModelSpec {
        kind: ModelKind::LogisticRegression {
            l2: 1.0,
            max_iterations: 100,
            tolerance: 1e-4,
        },
        features: features.clone(),
        label: schema.label.name.clone(),
        test_fraction: 0.25,
        seed,
        privacy: medshare_training::Privacy::non_private(),
    };
    let requirement = DataRequirement {
        data_type: schema.name.clone(),
        features,
        label: schema.label.name.clone(),
        min_cohort,
    };
    (spec, requirement)
}

fn stats(us: &[f64]) -> (f64, f64, f64) {
    let min = us.iter().copied().fold(f64::INFINITY, f64::min);
    let max = us.iter().copied().fold(0.0, f64::max);
    (min, us.iter().sum::<f64>() / us.len() as f64, max)
}

async fn table3(runs: usize, quiet: bool) -> Result<Vec<Table3Row>> {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new((runs * 2 * 6) as u64)
    };
    bar.set_style(ProgressStyle::with_template(
        "Table 3 {bar:40} {pos}/{len} flows {elapsed}",
    )?);
    let mut rows = Vec::new();
    for (size_kb, paper) in (1..=6u32).zip(PAPER_TABLE3_AVG_US) {
        let (schema, record_bytes) = sized_schema(size_kb)?;
        let data_type = schema.data_type()?;
        let rig = Rig::new(schema).await?;
        let (mut inproc, mut ownproc) = (Vec::new(), Vec::new());
        for run in 0..runs * 2 {
            let own_process = run % 2 == 1;
            let job = rig.job((size_kb as u64) << 32 | run as u64).await?;
            let patient = rig.patient().await?;
            let t = rig
                .share_one(&patient, &data_type, job, BASE_COHORT + run, own_process)
                .await?;
            let us = t.as_secs_f64() * 1e6;
            if own_process {
                ownproc.push(us)
            } else {
                inproc.push(us)
            }
            bar.inc(1);
        }
        let (min, avg, max) = stats(&inproc);
        let (pmin, pavg, pmax) = stats(&ownproc);
        rows.push(Table3Row {
            size_kb,
            record_bytes,
            runs,
            min_us: min.round(),
            avg_us: avg.round(),
            max_us: max.round(),
            process_min_us: pmin.round(),
            process_avg_us: pavg.round(),
            process_max_us: pmax.round(),
            process_start_us: (rig.worker_start_ms * 1e3).round(),
            paper_avg_us: paper,
            speedup_vs_paper: round3(paper / avg),
        });
        rig.server.stop().await;
    }
    bar.finish_and_clear();
    Ok(rows)
}

// ---------------------------------------------------------------------------------- proofs

/// The cost of the enclave's own checks of chain facts.
#[derive(Serialize)]
struct ProofCost {
    /// Records in the measured view (the host's batch).
    records: usize,
    /// Storage proofs in that view (job facts and three per record).
    storage_proofs: usize,
    /// Verifying one record's facts: its three storage proofs (and its share of the account
    /// proofs), in µs — what the enclave adds per record.
    verify_us_per_record: f64,
    /// Checking the header's seal (once per view), µs.
    seal_us: f64,
    /// Verifying the job's facts alone (a view without records), µs.
    job_facts_us: f64,
    /// Fetching a record batch's view from the node (header and eth_getProof calls), ms.
    fetch_ms: f64,
    /// Proof bytes per record in the view.
    proof_bytes_per_record: f64,
}

/// Verifies a view as the enclave does (seal, then every account and storage proof), `times`
/// times; µs per verification.
fn time_view(view: &medshare_enclave_api::ChainView, times: u32) -> Result<(f64, f64)> {
    use alloy_rlp::Decodable;
    let header = alloy_consensus::Header::decode(&mut view.header.as_ref())?;
    let seal = time_per(times, || {
        std::hint::black_box(medshare_light::header::sealer_of(&header).ok());
    });
    // One real run first: a proof that does not verify is a bug of the benchmark.
    for p in &view.proofs {
        medshare_light::proof::verify_account(header.state_root, p)?;
    }
    let all = time_per(times, || {
        for p in &view.proofs {
            std::hint::black_box(medshare_light::proof::verify_account(header.state_root, p).ok());
        }
    });
    Ok((seal, all + seal))
}

async fn proof_cost(records: usize) -> Result<ProofCost> {
    use medshare_enclave_api::facts;
    let (schema, _) = sized_schema(1)?;
    let data_type = schema.data_type()?;
    let rig = Rig::new(schema).await?;
    // `records` more patients under a standing policy (the rig's base cohort is small).
    for i in 0..records.saturating_sub(BASE_COHORT) {
        let patient = rig.patient().await?;
        let owned = patient
            .upload(
                &data_type,
                &[record(&rig.schema, 1000 + i)],
                rig.tee.address(),
                &|_| {},
            )
            .await?;
        patient
            .set_policy(&data_type, &owned, true, UNLIMITED)
            .await?;
    }
    let job = rig.job(7).await?;
    let ctx = rig.tee.job_context(job).await?;
    let job_slots = rig.tee.job_request(&ctx).await?;
    let registered = rig.admin.records_of_type(data_type.id()).await?;
    let batch: Vec<_> = registered
        .iter()
        .take(medshare_parties::tee::RECORD_BATCH.min(records))
        .collect();
    let mut requests = vec![job_slots.clone()];
    for r in &batch {
        requests.push(facts::record_slots(
            rig.admin.deployment(),
            job.0,
            r.event.ciphertextHash,
            r.event.owner,
            r.event.commitment,
            data_type.id(),
        ));
    }
    let request = facts::merge(requests);
    let start = Instant::now();
    let view = rig.tee.view(&request).await?;
    let fetch_ms = start.elapsed().as_secs_f64() * 1e3;
    let job_view = rig.tee.view(&job_slots).await?;
    let (seal_us, job_facts_us) = time_view(&job_view, 200)?;
    let (_, all_us) = time_view(&view, 50)?;
    let n = batch.len().max(1) as f64;
    let bytes = |v: &medshare_enclave_api::ChainView| -> usize {
        v.proofs
            .iter()
            .map(|p| {
                p.account_proof.iter().map(|b| b.len()).sum::<usize>()
                    + p.storage_proof
                        .iter()
                        .flat_map(|s| s.proof.iter())
                        .map(|b| b.len())
                        .sum::<usize>()
            })
            .sum()
    };
    rig.server.stop().await;
    Ok(ProofCost {
        records: batch.len(),
        storage_proofs: view.proofs.iter().map(|p| p.storage_proof.len()).sum(),
        verify_us_per_record: round3((all_us - job_facts_us) / n),
        seal_us: round3(seal_us),
        job_facts_us: round3(job_facts_us),
        fetch_ms: round3(fetch_ms),
        proof_bytes_per_record: round3((bytes(&view).saturating_sub(bytes(&job_view))) as f64 / n),
    })
}

// ---------------------------------------------------------------------------------- ledger

#[derive(Serialize)]
struct Throughput {
    /// Records registered (encrypted, stored, and in a durable block) per second.
    records_per_s: f64,
    /// Transactions per second of that workload.
    tx_per_s: f64,
    records: usize,
    seconds: f64,
}

/// `patients` patients, each registering `per_patient` records in batches of 100, all at once,
/// on `backend`; the time from the first upload to the last receipt.
async fn ledger_throughput(
    backend: &medshare_testkit::Backend,
    patients: usize,
    per_patient: usize,
) -> Result<Throughput> {
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(dir.path().join("store"))?);
    let measurement = alloy_primitives::keccak256("medshare bench: ledger throughput");
    let admin = medshare_parties::setup::deploy_for_simulation(
        backend.wallet(Identity::random().signer().clone()).await?,
        measurement,
    )
    .await?;
    // anvil signs no headers: its TEE runs in the unverified-header mode governance must allow.
    let sealers = medshare_parties::tee::sealers_of(backend.ledger().as_ref())
        .await
        .unwrap_or_default();
    let anchors = if sealers.is_empty() {
        admin.set_accept_unverified_headers(true).await?;
        TrustAnchors::unverified(admin.chain_id(), admin.deployment())
    } else {
        TrustAnchors::sealed(admin.chain_id(), admin.deployment(), sealers.clone())
    };
    let enclave = Enclave::simulated(
        &dir.path().join("tee.sealed"),
        &SimulatedPlatform::new(rand::random(), measurement),
        Some(&anchors),
    )?;
    let tee = TeeHost::new(
        Box::new(enclave),
        backend.ledger(),
        Some(*admin.deployment()),
        store.clone(),
    )
    .await?;
    backend.fund(tee.address()).await?;
    tee.register().await?;
    medshare_parties::setup::admit_with(&admin, tee.address(), &sealers).await?;
    let (schema, _) = sized_schema(1)?;
    let data_type = schema.data_type()?;
    let mut all = Vec::new();
    for _ in 0..patients {
        let id = Identity::random();
        let chain = admin.as_party(backend.wallet(id.signer().clone()).await?);
        let patient = Patient::new(id, chain, store.clone());
        patient.register().await?;
        all.push(Arc::new(patient));
    }
    let records: Vec<PatientRecord> = (0..per_patient).map(|i| record(&schema, i)).collect();
    let records = Arc::new(records);
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for patient in all {
        let (records, data_type, tee) = (records.clone(), data_type.clone(), tee.address());
        set.spawn(async move {
            patient
                .upload(&data_type, &records, tee, &|_| {})
                .await
                .map(|o| o.len())
        });
    }
    let mut done = 0;
    while let Some(r) = set.join_next().await {
        done += r??;
    }
    let seconds = start.elapsed().as_secs_f64();
    let txs = patients * per_patient.div_ceil(medshare_parties::user::UPLOAD_BATCH);
    Ok(Throughput {
        records_per_s: (done as f64 / seconds).round(),
        tx_per_s: round3(txs as f64 / seconds),
        records: done,
        seconds: round3(seconds),
    })
}

// ---------------------------------------------------------------------------------- scale

#[derive(Serialize)]
struct Scale {
    /// Records registered on the embedded chain (by hash, batches of 500).
    records: usize,
    /// Owners they belong to (each with `records / owners`).
    owners: usize,
    /// Audit entries written by the TEE (one per record).
    audit_entries: usize,
    /// Seconds to register them all (durable).
    register_seconds: f64,
    /// One owner's audit trail (`eth_getLogs` by owner topic), median of 21 queries, ms.
    audit_query_ms: f64,
    /// Entries that query returned.
    audit_query_entries: usize,
}

/// Registers `records` records of `owners` owners by hash and one audit entry each, then times
/// one owner's audit query. Ledger-level: the records are random hashes and commitments (no
/// encryption or storage), so that the run measures the chain and its log index at that size.
async fn scale(records: usize, owners: usize, quiet: bool) -> Result<Scale> {
    const BATCH: usize = 500;
    let backend = medshare_testkit::Backend::embedded().await?;
    let world = medshare_testkit::World::new(&backend).await?;
    let per_owner = records / owners;
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new((records * 2) as u64)
    };
    bar.set_style(ProgressStyle::with_template(
        "scale   {bar:40} {pos}/{len} records and audit entries {elapsed}",
    )?);
    let job = world.deployed_job("scale").await?;
    let mut owner_handles = Vec::with_capacity(owners);
    for _ in 0..owners {
        let p = world.new_party(&backend).await?;
        p.chain
            .register(
                medshare_primitives::Role::User,
                p.identity.public_key_uncompressed(),
            )
            .await?;
        owner_handles.push(p);
    }
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for (o, owner) in owner_handles.iter().enumerate() {
        let chain = owner.chain.clone();
        let ty = world.data_type.id();
        set.spawn(async move {
            let mut calls = Vec::new();
            for chunk in (0..per_owner).collect::<Vec<_>>().chunks(BATCH) {
                let hashes: Vec<alloy_primitives::B256> = chunk
                    .iter()
                    .map(|i| alloy_primitives::keccak256(format!("scale/{o}/{i}")))
                    .collect();
                let commitments = hashes.iter().map(alloy_primitives::keccak256).collect();
                let call = medshare_chain::Data::registerRecordsCall {
                    dataType: ty,
                    ciphertextHashes: hashes,
                    commitments,
                };
                calls.push(chain.call(medshare_chain::Contract::Data, &call));
            }
            let n = calls.len();
            for call in calls {
                chain.send_many(vec![call]).await?;
            }
            anyhow::Ok(n)
        });
        if set.len() >= 16 {
            set.join_next().await.context("a registration task")???;
            bar.inc(per_owner as u64);
        }
    }
    while let Some(done) = set.join_next().await {
        done??;
        bar.inc(per_owner as u64);
    }
    let register_seconds = start.elapsed().as_secs_f64();
    // One audit entry per record, written by the TEE in batches.
    let mut entries = Vec::with_capacity(BATCH);
    for (o, owner) in owner_handles.iter().enumerate() {
        for i in 0..per_owner {
            entries.push(medshare_chain::Audit::AuditEntry {
                jobId: job.0,
                ciphertextHash: alloy_primitives::keccak256(format!("scale/{o}/{i}")),
                owner: owner.address(),
                demander: world.demander.address(),
                requirementHash: alloy_primitives::B256::ZERO,
                modelHash: alloy_primitives::B256::ZERO,
                modelHashOk: true,
                recordHashOk: true,
                outcome: medshare_chain::UseOutcome::Used as u8,
                epsilonMilli: 1_000,
            });
            if entries.len() == BATCH {
                let view = world.view_block().await?;
                world
                    .tee
                    .chain
                    .record_use(view, std::mem::take(&mut entries))
                    .await?;
                bar.inc(BATCH as u64);
            }
        }
    }
    if !entries.is_empty() {
        let view = world.view_block().await?;
        world.tee.chain.record_use(view, entries).await?;
    }
    bar.finish_and_clear();
    let probe = &owner_handles[owners / 2];
    let mut times = Vec::new();
    let mut found = 0;
    for _ in 0..21 {
        let t = Instant::now();
        found = world
            .user
            .chain
            .audit_of_owner(probe.address())
            .await?
            .len();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(Scale {
        records: per_owner * owners,
        owners,
        audit_entries: per_owner * owners,
        register_seconds: round3(register_seconds),
        audit_query_ms: round3(times[times.len() / 2]),
        audit_query_entries: found,
    })
}

/// Runs one job over `records` records of 30 features with the enclave in its own process and
/// returns that process's peak resident memory (KiB) and how many records it used.
async fn enclave_memory(records: usize, quiet: bool) -> Result<(u64, u64)> {
    let schema = schema(30, 30);
    let rig = Rig::new(schema.clone()).await?;
    let data_type = schema.data_type()?;
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(records as u64)
    };
    bar.set_style(ProgressStyle::with_template(
        "memory  {bar:40} {pos}/{len} records uploaded {elapsed}",
    )?);
    let per_patient = 1_000.min(records);
    let patients = records.div_ceil(per_patient);
    let mut set = tokio::task::JoinSet::new();
    for p in 0..patients {
        let patient = Arc::new(rig.patient().await?);
        let batch: Vec<PatientRecord> = (0..per_patient)
            .map(|i| record(&schema, p * per_patient + i))
            .collect();
        let (data_type, tee) = (data_type.clone(), rig.tee.address());
        set.spawn(async move {
            let owned = patient.upload(&data_type, &batch, tee, &|_| {}).await?;
            patient
                .set_policy(&data_type, &owned, true, UNLIMITED)
                .await?;
            anyhow::Ok(owned.len())
        });
        if set.len() >= 8 {
            bar.inc(set.join_next().await.context("an upload")???.try_into()?);
        }
    }
    while let Some(done) = set.join_next().await {
        bar.inc(done??.try_into()?);
    }
    bar.finish_and_clear();
    let features = schema.feature_names().map(str::to_owned).collect();
    let (spec, requirement) = logistic_job(&schema, features, 1, 10);
    let job = rig.demander.submit(&spec, &requirement).await?;
    rig.reviewer.approve(job).await?;
    let report = rig.run_report_in_own_process(job).await?;
    rig.server.stop().await;
    Ok((
        report["peak_memory_kib"]
            .as_u64()
            .context("the enclave process's peak memory")?,
        report["records_used"].as_u64().context("records_used")?,
    ))
}

// ---------------------------------------------------------------------------------- training

#[derive(Serialize)]
struct Training {
    records: usize,
    features: usize,
    /// medshare's `train` (what the enclave runs): split, standardize, fit, evaluate.
    seconds: f64,
    accuracy: f64,
    sklearn_seconds: f64,
    sklearn_accuracy: f64,
}

/// A synthetic cohort: `d` scaled normal features, a label from a logistic model.
fn cohort(n: usize, d: usize, seed: u64, mut sink: impl FnMut(&[f64], f64)) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut normal = move || {
        let u1: f64 = 1.0 - rng.r#gen::<f64>();
        let u2: f64 = rng.r#gen::<f64>();
        (
            (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos(),
            rng.r#gen::<f64>(),
        )
    };
    let mut row = vec![0.0; d];
    for _ in 0..n {
        let mut z = 0.25;
        let mut coin = 0.0;
        for (j, x) in row.iter_mut().enumerate() {
            let (standard, u) = normal();
            coin = u;
            z += 3.0 * (((j % 7) as f64 - 3.0) / 3.0) * standard;
            *x = 10.0 * (j as f64 + 1.0) + (j as f64 + 1.0) * standard;
        }
        let label = if coin < 1.0 / (1.0 + (-z).exp()) {
            1.0
        } else {
            0.0
        };
        sink(&row, label);
    }
}

/// Fits timed on each side of the training comparison; the median is reported.
const TRAINING_REPEATS: usize = 3;

fn training(records: usize) -> Result<Training> {
    use std::io::Write;
    const FEATURES: usize = 30;
    let (tol, max_iter, seed) = (1e-4, 100u64, 7u64);
    let dir = tempfile::tempdir()?;
    let csv = dir.path().join("cohort.csv");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&csv)?);
    let names: Vec<String> = (0..FEATURES).map(|j| format!("f{j}")).collect();
    writeln!(file, "{},y", names.join(","))?;
    let mut builder = medshare_training::DatasetBuilder::with_capacity(FEATURES, records);
    let mut failed = None;
    cohort(records, FEATURES, 42, |row, label| {
        let line: Vec<String> = row.iter().map(|v| format!("{v:?}")).collect();
        if let Err(e) = writeln!(file, "{},{label}", line.join(",")) {
            failed = Some(anyhow::Error::from(e));
        }
        if let Err(e) = builder.push(row, label) {
            failed = Some(e.into());
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    file.flush()?;
    drop(file);
    let spec = ModelSpec {
        kind: ModelKind::LogisticRegression {
            l2: 1.0,
            max_iterations: max_iter,
            tolerance: tol,
        },
        features: names,
        label: "y".into(),
        test_fraction: 0.25,
        seed,
        privacy: medshare_training::Privacy::non_private(),
    };
    let data = builder.finish();
    // The cohort's public ranges: feature j is 10(j+1) ± 5 standard deviations of (j+1).
    let schema = Schema {
        name: "bench-training".into(),
        description: String::new(),
        features: (0..FEATURES)
            .map(|j| Feature {
                name: format!("f{j}"),
                unit: None,
                loinc: None,
                min: 5.0 * (j as f64 + 1.0),
                max: 15.0 * (j as f64 + 1.0),
            })
            .collect(),
        label: Label {
            name: "y".into(),
            description: String::new(),
            loinc: None,
            classes: vec!["0".into(), "1".into()],
            min: None,
            max: None,
        },
    };
    let rules = medshare_training::TrainingRules {
        allow_non_private: true,
        ..medshare_training::TrainingRules::new(1000)
    };
    // The median of three fits on each side: one run is at the mercy of a shared machine.
    let mut times = Vec::new();
    let mut output = None;
    for _ in 0..TRAINING_REPEATS {
        let data = data.clone();
        let start = Instant::now();
        output = Some(medshare_training::train_with_rules(
            &spec, &schema, data, &rules,
        )?);
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let seconds = times[times.len() / 2];
    let output = output.context("no training run")?;
    let medshare_training::Metrics::Classification { accuracy, .. } = output.metrics else {
        bail!("logistic regression gave regression metrics");
    };
    let script = Path::new(REPO).join("bench/sklearn_logreg.py");
    let out = std::process::Command::new(crate::python::python()?)
        .arg(&script)
        .arg(&csv)
        .args([
            seed.to_string(),
            tol.to_string(),
            max_iter.to_string(),
            TRAINING_REPEATS.to_string(),
        ])
        .output()
        .context("running python3 for scikit-learn")?;
    if !out.status.success() {
        bail!(
            "the scikit-learn script failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let sk: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("reading scikit-learn's figures")?;
    Ok(Training {
        records,
        features: FEATURES,
        seconds: round3(seconds),
        accuracy: round3(accuracy),
        sklearn_seconds: round3(sk["seconds"].as_f64().context("seconds")?),
        sklearn_accuracy: round3(sk["accuracy"].as_f64().context("accuracy")?),
    })
}

// ---------------------------------------------------------------------------------- Fig. 9

fn time_per<F: FnMut()>(iterations: u32, mut f: F) -> f64 {
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(iterations)
}

fn fig9(iterations: u32) -> Result<Fig9> {
    let data = vec![0x5au8; 3 * 1024];
    let id = Identity::random();
    let domain = eip712::Domain::new(1337, alloy_primitives::Address::repeat_byte(1));
    let statement = eip712::TrainingResult {
        jobId: alloy_primitives::B256::repeat_byte(2),
        resultHash: alloy_primitives::B256::repeat_byte(3),
        viewBlock: 7,
        viewHash: alloy_primitives::B256::repeat_byte(4),
        headersVerified: true,
    };
    let signature = id.sign_typed(&domain, &statement)?;
    Ok(Fig9 {
        keygen_us: time_per(iterations, || {
            std::hint::black_box(Identity::random());
        }),
        sha256_3kb_us: time_per(iterations * 10, || {
            std::hint::black_box(ciphertext_hash(std::hint::black_box(&data)));
        }),
        sign_us: time_per(iterations, || {
            std::hint::black_box(id.sign_typed(&domain, &statement).ok());
        }),
        verify_us: time_per(iterations, || {
            std::hint::black_box(eip712::recover(&domain, &statement, &signature).ok());
        }),
        iterations,
    })
}

// ---------------------------------------------------------------------------------- crypto

/// MB/s of `f` over 16 KiB buffers for about `seconds`.
fn throughput(seconds: f64, mut f: impl FnMut(&[u8])) -> f64 {
    let buf = vec![0x42u8; 16 * 1024];
    let start = Instant::now();
    let mut bytes = 0u64;
    while start.elapsed().as_secs_f64() < seconds {
        for _ in 0..64 {
            f(&buf);
        }
        bytes += 64 * buf.len() as u64;
    }
    bytes as f64 / start.elapsed().as_secs_f64() / 1e6
}

/// `openssl speed -evp ALGO -bytes 16384` in MB/s.
fn openssl_speed(algo: &str, seconds: f64) -> Result<f64> {
    let secs = format!("{}", seconds.ceil().max(1.0) as u64);
    let out = std::process::Command::new("openssl")
        .args(["speed", "-evp", algo, "-bytes", "16384", "-seconds", &secs])
        .output()
        .context("running openssl speed (is openssl installed?)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    // The last line: `AES-256-GCM   123456.78k` (1000s of bytes per second).
    let last = text
        .lines()
        .rev()
        .find(|l| l.trim_end().ends_with('k'))
        .context("openssl speed printed no result")?;
    let kb: f64 = last
        .split_whitespace()
        .last()
        .and_then(|v| v.trim_end_matches('k').parse().ok())
        .context("cannot read openssl's figure")?;
    Ok(kb * 1000.0 / 1e6)
}

fn crypto(seconds: f64) -> Result<Crypto> {
    let key_owner = alloy_primitives::Address::repeat_byte(9);
    let pk_c = medshare_crypto::pk_c(1, key_owner);
    let tee = Identity::random();
    let (key, _) = medshare_crypto::KeyShare::generate(
        &mut rand::rngs::OsRng,
        medshare_primitives::RecordId::random(),
        &tee.public_key(),
        &pk_c,
    );
    let aead_mb_s = throughput(seconds, |b| {
        std::hint::black_box(medshare_crypto::seal_record(&key, key_owner, b).ok());
    });
    let sha256_mb_s = throughput(seconds, |b| {
        std::hint::black_box(ciphertext_hash(b));
    });
    Ok(Crypto {
        aead_mb_s: aead_mb_s.round(),
        openssl_aead_mb_s: openssl_speed("aes-256-gcm", seconds)?.round(),
        sha256_mb_s: sha256_mb_s.round(),
        openssl_sha256_mb_s: openssl_speed("sha256", seconds)?.round(),
    })
}
