//! `medshare demo`: the 11 steps of the paper's §5.6 on the Wisconsin Diagnostic Breast Cancer
//! data, every party with its own key, the TEE in its own process.
//!
//! This process plays the node (the embedded chain, served on 127.0.0.1 so that the enclave
//! process can reach it), governance, the demander, the reviewer and the 569 patients, each with
//! its own key; plaintext exists here only in each patient's own upload step. The TEE is
//! `medshare-enclave`, spawned as a child process: it shares no memory with this one and reaches
//! the others only through the chain and the store; its enclave checks every chain fact against
//! state proofs under block headers the embedded chain's sealer signed.

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use medshare_chain::Wallet;
use medshare_crypto::Identity;
use medshare_ledger::Ledger;
use medshare_node::{
    embedded::{ChainConfig, EmbeddedChain},
    server::RpcServer,
};
use medshare_parties::{setup, user::Patient};
use medshare_records::Schema;
use medshare_storage::{LocalStore, Store};
use medshare_training::Metrics;
use serde::Serialize;
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
};
use tokio::task::JoinSet;

/// The breast cancer data shipped in the repository (see data/wdbc/README.md).
const WDBC_CSV: &str = include_str!("../../data/wdbc/wdbc.csv");
/// Patients working at once (each sends its own transactions).
const CONCURRENCY: usize = 64;

#[derive(Args)]
pub(crate) struct DemoArgs {
    /// Keep the demo's state (chain, store, enclave key) in DIR; an earlier demo in DIR is reset.
    /// Default: a temporary directory, removed at the end.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Read the patients from this CSV file (columns of the breast-cancer-wdbc data type, as
    /// data/wdbc/wdbc.csv) instead of the data set shipped in the binary.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Use only the first N patients of the data set.
    #[arg(long, value_parser = clap::value_parser!(u64).range(20..=569))]
    patients: Option<u64>,
    /// The model's differential privacy: ε (δ = 1e-5), or `inf` for the paper's non-private
    /// run (governance then allows ε = ∞ for the data type, and patients give unlimited
    /// budgets).
    /// Default 2: the held-out accuracy the demander receives is itself noisy (±0.02 at ε = 2,
    /// ±0.03 at ε = 1, on 143 held-out patients).
    #[arg(long, default_value_t = crate::job_spec::DEFAULT_EPSILON, value_parser = parse_epsilon)]
    epsilon: f64,
    /// Print one JSON summary instead of the walkthrough.
    #[arg(long)]
    json: bool,
}

/// ε: a positive number or `inf`.
fn parse_epsilon(s: &str) -> std::result::Result<f64, String> {
    if s.eq_ignore_ascii_case("inf") {
        return Ok(f64::INFINITY);
    }
    let e: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number or `inf`"))?;
    medshare_contracts::epsilon_milli(e)
        .map(|_| e)
        .ok_or_else(|| format!("ε {s} must be a positive multiple of 0.001, or `inf`"))
}

/// Each patient's privacy budget, as a multiple of the job's ε.
const BUDGET_JOBS: f64 = 3.0;

#[derive(Serialize)]
struct Summary {
    accuracy: f64,
    auc: Option<f64>,
    /// The model's ε, as the job asked and each record paid (`null`: no differential privacy).
    epsilon: Option<f64>,
    /// The ε the privacy accountant reports for the released model (at most `epsilon`).
    epsilon_accounted: Option<f64>,
    /// Its δ.
    delta: f64,
    /// The smallest cohort the job could train on.
    min_cohort: u64,
    /// What each used record paid, and its budget left (ε; `null`: unlimited).
    epsilon_left_per_record: Option<f64>,
    records_registered: usize,
    records_used: u64,
    audit_entries: usize,
    enclave_pid: u32,
    /// The enclave process's peak resident memory (KiB), where the OS reports it.
    enclave_peak_memory_kib: Option<u64>,
    host_pid: u32,
    job: String,
    chain_id: u64,
    tee: String,
    result_hash: String,
    data_dir: Option<String>,
}

/// The files a reset removes (only what an earlier demo made).
const STATE: [&str; 4] = ["chain", "store", "enclave", "deployment.json"];

fn prepare(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for name in STATE {
        let path = dir.join(name);
        if path.is_dir() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("resetting {}", path.display()))?;
        } else if path.exists() {
            std::fs::remove_file(&path).with_context(|| format!("resetting {}", path.display()))?;
        }
    }
    Ok(())
}

fn bar(json: bool, len: usize, what: &str) -> Result<ProgressBar> {
    let bar = if json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(len as u64)
    };
    bar.set_style(ProgressStyle::with_template(&format!(
        "   {{bar:40}} {{pos}}/{{len}} {what} {{elapsed}}"
    ))?);
    Ok(bar)
}

pub(crate) async fn run(args: DemoArgs) -> Result<()> {
    let temp;
    let dir = match &args.data_dir {
        Some(d) => {
            prepare(d)?;
            d.clone()
        }
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    // The story goes on even if its reader has gone (`| head`): the demo's work still completes.
    let say = |s: &str| {
        if !args.json {
            use std::io::Write as _;
            let _ = writeln!(std::io::stdout().lock(), "{s}");
        }
    };
    let schema = Schema::wdbc();
    let data_type = schema.data_type()?;
    let text = match &args.csv {
        Some(path) => {
            crate::input::read_text_at_most(path, medshare_records::csv::MAX_CSV_BYTES, "CSV file")?
        }
        None => WDBC_CSV.to_owned(),
    };
    let mut imported = medshare_records::csv::read(&schema, &text)?;
    drop(text);
    if let Some(n) = args.patients {
        imported.truncate(usize::try_from(n)?);
    }

    // The ledger: the embedded chain, served to the enclave process over JSON-RPC.
    let chain = EmbeddedChain::open(
        &dir.join("chain"),
        ChainConfig::new(Identity::random().signer().clone()),
    )
    .context("opening the embedded chain")?;
    let ledger: Arc<dyn Ledger> = Arc::new(chain);
    let server = RpcServer::start(ledger.clone(), SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let store_dir = dir.join("store");
    let store: Arc<dyn Store> = Arc::new(LocalStore::open(&store_dir)?);

    say(
        "Setup: governance deploys Registration, Data, Model, Authorization and Audit on the embedded chain,",
    );
    say(
        "       accepts simulated attestation evidence and allowlists the medshare-enclave program (its SHA-256).",
    );
    let measurement = crate::spawn::Spawn::measurement()?;
    let admin_wallet = Wallet::new(ledger.clone(), Identity::random().signer().clone()).await?;
    let admin = setup::deploy_for_simulation(admin_wallet, measurement).await?;
    admin.save_deployment(&dir.join("deployment.json"))?;
    let endpoint = server.endpoint();
    let (deployment_file, enclave_dir) = (dir.join("deployment.json"), dir.join("enclave"));
    let tee_process = crate::spawn::Spawn {
        rpc: &endpoint,
        deployment: &deployment_file,
        store: &store_dir,
        enclave_dir: &enclave_dir,
    };
    let registered = tee_process.run("register", &[]).await?;
    let tee: alloy_primitives::Address = registered["address"]
        .as_str()
        .context("the TEE's address")?
        .parse()?;
    say(&format!(
        "       The TEE (process {}) generated its key inside the enclave, sealed it with the chain's id, contracts",
        registered["pid"]
    ));
    say(&format!(
        "       and sealer, and submitted PK_T {tee} with its evidence; governance verified the evidence and admitted it."
    ));
    // The data type's rules: the default cohort floor of 50 (or every patient of a smaller
    // demo), and ε = ∞ only if this run asks for it.
    let min_cohort = u32::try_from(imported.len().min(50))?;
    let rules = medshare_chain::DataTypeRules {
        min_cohort,
        max_epsilon_milli: 0,
        allow_non_private: !args.epsilon.is_finite(),
        schema_hash: alloy_primitives::B256::ZERO,
    };
    let setup::Parties { demander, reviewer } =
        setup::admit_and_register(&admin, tee, data_type.id(), &rules, store.clone()).await?;
    say(&format!(
        "       Governance's rules for {}: a job trains on at least {min_cohort} patients, {}.",
        schema.name,
        if rules.allow_non_private {
            "models without differential privacy allowed (this run)"
        } else {
            "with differential privacy"
        }
    ));

    say(&format!(
        "Step 5: {} patients each make a key pair, encrypt their record (AES-256-GCM, fresh key), store it,",
        imported.len()
    ));
    say(
        "        share its key to the TEE (CM = KEY + r_C·PK_C + r_U·PK_T) and register TD_i by hash.",
    );
    // Patients register (their role) concurrently, then register their records in the data
    // set's order, so that the chain's order, and with it the held-out split, is the same on
    // every run.
    let bar_reg = bar(args.json, imported.len(), "patients registered")?;
    let mut registrations = JoinSet::new();
    let mut registered: Vec<Option<Arc<Patient>>> = (0..imported.len()).map(|_| None).collect();
    for i in 0..imported.len() {
        let (admin, store) = (admin.clone(), store.clone());
        registrations.spawn(async move {
            let patient = setup::patient(&admin, store).await?;
            Ok::<_, medshare_parties::Error>((i, Arc::new(patient)))
        });
        if registrations.len() >= CONCURRENCY {
            let (i, p) = registrations
                .join_next()
                .await
                .context("a registration")???;
            registered[i] = Some(p);
            bar_reg.inc(1);
        }
    }
    while let Some(done) = registrations.join_next().await {
        let (i, p) = done??;
        registered[i] = Some(p);
        bar_reg.inc(1);
    }
    bar_reg.finish();
    let bar_up = bar(
        args.json,
        imported.len(),
        "records encrypted, stored and registered",
    )?;
    let mut patients = Vec::with_capacity(imported.len());
    for (patient, row) in registered.into_iter().flatten().zip(imported) {
        let mut owned = patient
            .upload(&data_type, std::slice::from_ref(&row.record), tee, &|_| {})
            .await?;
        patients.push((patient, owned.pop().context("one record uploaded")?));
        bar_up.inc(1);
    }
    bar_up.finish();

    say(
        "Steps 1-2: the demander writes a logistic regression on all 30 features and its data requirement,",
    );
    say(
        "           hashes and signs them (EIP-712) and submits them; a reviewer approves the model.",
    );
    let spec = crate::job_spec::demo_spec(&schema, args.epsilon);
    let requirement = crate::job_spec::demo_requirement(&schema, u64::from(min_cohort));
    let job = demander.submit(&spec, &requirement).await?;
    let pending = reviewer.pending().await?;
    if !pending
        .iter()
        .any(|s| s.job == job && s.spec.is_ok() && s.requirement.is_ok())
    {
        bail!(
            "the reviewer does not see a valid submission for job {}",
            job.0
        );
    }
    reviewer.approve(job).await?;

    say(
        "Step 5 (consent): every patient grants the job the use of its record, releasing r_C·PK_C.",
    );
    let bar_consent = bar(args.json, patients.len(), "consents")?;
    // Each patient allows this job's ε a few times over (or, for a non-private run, any use).
    let budget = medshare_contracts::epsilon_milli(args.epsilon * BUDGET_JOBS)
        .context("the patients' budget")?;
    let mut grants = JoinSet::new();
    for chunk in patients.chunks(CONCURRENCY) {
        for (patient, record) in chunk {
            let (patient, record) = (patient.clone(), record.clone());
            grants.spawn(async move { patient.grant(&record, job, budget).await });
        }
        while let Some(done) = grants.join_next().await {
            done??;
            bar_consent.inc(1);
        }
    }
    bar_consent.finish();

    say(
        "Steps 3-4, 6-10: the TEE verifies the model (ST_j, HRT_j, VT_j) and deploys it, verifies each record",
    );
    say(
        "                 (ST_i, HRT_i, VT_i), recovers each consented key inside the enclave (KEY = CM - r_C·PK_C - SK_T·r_U·g),",
    );
    say(
        "                 decrypts, trains, encrypts the result to the demander, posts its hash and the audit trail.",
    );
    let job_hex = job.0.to_string();
    let report = tee_process.run("run", &["--job", &job_hex]).await?;
    let enclave_pid = report["pid"]
        .as_u64()
        .and_then(|p| u32::try_from(p).ok())
        .context("the enclave's pid")?;

    say(
        "Step 11: the demander downloads the encrypted result, checks its hash and the TEE's signature, decrypts it.",
    );
    let output = demander.fetch_result(job).await?;
    let Some(Metrics::Classification { accuracy, roc_auc }) = output.metrics else {
        bail!("the logistic regression reported no classification metrics");
    };
    let (first, first_record) = &patients[0];
    let trail = first.audit_trail().await?;
    let (total, spent) = first.budget(first_record.record.ciphertextHash).await?;
    let summary = Summary {
        accuracy,
        auc: roc_auc,
        epsilon: args.epsilon.is_finite().then_some(args.epsilon),
        epsilon_accounted: output
            .privacy
            .epsilon
            .is_finite()
            .then_some(output.privacy.epsilon),
        delta: output.privacy.delta,
        min_cohort: u64::from(min_cohort),
        epsilon_left_per_record: (total != medshare_contracts::EPSILON_INFINITE)
            .then(|| f64::from(total.saturating_sub(spent)) / 1000.0),
        records_registered: patients.len(),
        records_used: output.records_used,
        audit_entries: trail.len(),
        enclave_pid,
        enclave_peak_memory_kib: report["peak_memory_kib"].as_u64(),
        host_pid: std::process::id(),
        job: job.0.to_string(),
        chain_id: ledger.chain_id().await?,
        tee: tee.to_checksum(None),
        result_hash: report["result_hash"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        data_dir: args.data_dir.as_ref().map(|d| d.display().to_string()),
    };
    server.stop().await;
    if args.json {
        out!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    out!(
        "\nResult of job {}: logistic regression trained on {} records inside the enclave (process {}, this is {}).",
        summary.job,
        output.records_used,
        enclave_pid,
        summary.host_pid
    );
    out!(
        "   held-out accuracy {:.4}, ROC AUC {}  ({} train / {} test)",
        accuracy,
        roc_auc.map_or(
            "n/a (not released under differential privacy)".into(),
            |a| format!("{a:.4}")
        ),
        output.train_size,
        output.test_size
    );
    match summary.epsilon {
        Some(e) => out!(
            "   released under ({e}, {})-differential privacy ({}); a job trains on at least {min_cohort} patients; each record paid ε = {e} and has {} left",
            output.privacy.delta,
            output.privacy.mechanism,
            summary
                .epsilon_left_per_record
                .map_or("an unlimited budget".to_owned(), |l| format!("ε = {l}"))
        ),
        None => out!(
            "   trained without differential privacy (--epsilon inf, allowed by governance for this run): the model can reveal records"
        ),
    }
    out!(
        "\nAudit trail of patient {} (record {}):",
        first.address(),
        first_record.record.ciphertextHash
    );
    for row in &trail {
        out!(
            "   block {}: {} (ε {}) in job {} by demander {} on TEE {}; model {} (hash ok: {}), record hash ok: {}",
            row.block.unwrap_or_default(),
            row.outcome.describe(),
            if row.epsilon_milli == medshare_contracts::EPSILON_INFINITE {
                "∞".to_owned()
            } else {
                (f64::from(row.epsilon_milli) / 1000.0).to_string()
            },
            row.job,
            row.demander,
            row.tee,
            row.model_hash,
            row.model_hash_ok,
            row.record_hash_ok
        );
    }
    if let Some(d) = &args.data_dir {
        out!(
            "\nState kept in {} (chain, store, enclave key, deployment.json).",
            d.display()
        );
    }
    Ok(())
}
