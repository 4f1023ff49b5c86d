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
    /// Keep the demo's state (chain, its sealing key, store, enclave key, deployment.json) in
    /// DIR, so that `medshare node --data-dir DIR` serves the demo's chain again afterwards; an
    /// earlier demo in DIR is reset. The sealing key is kept in DIR/sealer.json under a password
    /// (--password-file, MEDSHARE_PASSWORD or a prompt). Default: a temporary directory,
    /// removed at the end.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// With --data-dir: read the sealing key's password from this file.
    #[arg(long, requires = "data_dir")]
    password_file: Option<PathBuf>,
    /// Read the patients from this CSV file (columns of the breast-cancer-wdbc data type, as
    /// data/wdbc/wdbc.csv) instead of the data set shipped in the binary.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Use N patients of the data set, chosen so that both diagnoses keep their proportions (a
    /// stratified sample, spread evenly through the data set).
    #[arg(long, value_parser = clap::value_parser!(u64).range(20..=569))]
    patients: Option<u64>,
    /// The model's differential privacy: ε (δ = 1e-5), or `inf` for the paper's non-private
    /// run (governance then allows ε = ∞ for the data type, and patients give unlimited
    /// budgets).
    /// Default 2: the held-out accuracy the demander receives is itself noisy (about ±0.03 at
    /// ε = 2, ±0.04 at ε = 1, on 143 held-out patients; half of the held-out side's budget pays
    /// for the ROC curve).
    #[arg(long, default_value_t = crate::job_spec::DEFAULT_EPSILON, value_parser = parse_epsilon)]
    epsilon: f64,
    /// Print one JSON summary instead of the walkthrough.
    #[arg(long)]
    json: bool,
    /// After the demo, keep its chain and store running behind the web app and its API (on
    /// --addr) until Ctrl-C, to look at any patient's audit trail in a browser. The chain's
    /// JSON-RPC stays up too, for the other commands (its address is printed).
    #[arg(long)]
    serve: bool,
    /// With --serve: where the web app listens.
    #[arg(long, default_value = "127.0.0.1:8080", requires = "serve")]
    addr: SocketAddr,
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

/// `n` of `rows` with each label in its proportion of `rows` (largest remainder: the counts add
/// up to `n`), taken evenly spaced within each label, in the order of `rows`.
fn stratified<T>(rows: Vec<T>, n: usize, label: impl Fn(&T) -> Option<f64>) -> Vec<T> {
    if n >= rows.len() {
        return rows;
    }
    let mut classes: std::collections::BTreeMap<Option<u64>, Vec<usize>> = Default::default();
    for (i, row) in rows.iter().enumerate() {
        classes
            .entry(label(row).map(f64::to_bits))
            .or_default()
            .push(i);
    }
    let total = rows.len();
    // Each class's exact share, its whole part, and the remainder that decides the rest.
    let mut quotas: Vec<(usize, usize, usize)> = classes
        .values()
        .enumerate()
        .map(|(c, members)| {
            let exact = n * members.len();
            (c, exact / total, exact % total)
        })
        .collect();
    let mut left = n - quotas.iter().map(|q| q.1).sum::<usize>();
    quotas.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    for q in &mut quotas {
        if left == 0 {
            break;
        }
        q.1 += 1;
        left -= 1;
    }
    quotas.sort_by_key(|q| q.0);
    let mut chosen: Vec<usize> = classes
        .values()
        .zip(&quotas)
        .flat_map(|(members, &(_, take, _))| {
            (0..take).map(move |j| members[j * members.len() / take])
        })
        .collect();
    chosen.sort_unstable();
    let keep: std::collections::HashSet<usize> = chosen.into_iter().collect();
    rows.into_iter()
        .enumerate()
        .filter(|(i, _)| keep.contains(i))
        .map(|(_, r)| r)
        .collect()
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
    /// The chain's last block when the demo ended.
    block_number: u64,
    tee: String,
    result_hash: String,
    data_dir: Option<String>,
    /// The first patient, whose audit trail the walkthrough shows.
    patient: String,
    /// The chain's JSON-RPC endpoint while the demo runs (and after it, with --serve).
    rpc: String,
}

/// The files a reset removes (only what an earlier demo made).
const STATE: [&str; 5] = [
    "chain",
    crate::node::SEALER_KEYSTORE,
    "store",
    "enclave",
    "deployment.json",
];

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
        imported = stratified(imported, usize::try_from(n)?, |r| r.record.label);
    }

    // The ledger: the embedded chain, served to the enclave process over JSON-RPC. Its sealing
    // key is kept with a kept state (`medshare node --data-dir DIR` reopens the chain with it).
    let sealer = match &args.data_dir {
        Some(d) => {
            let password = crate::password::read(
                args.password_file.as_deref(),
                "the demo chain's sealing key (kept for `medshare node --data-dir`)",
                true,
            )?;
            medshare_crypto::create_keystore_with(
                d,
                crate::node::SEALER_KEYSTORE,
                password.as_bytes(),
                medshare_crypto::KdfCost::Standard,
            )?
            .0
        }
        None => Identity::random(),
    };
    let chain = EmbeddedChain::open(
        &dir.join("chain"),
        ChainConfig::new(sealer.signer().clone()),
    )
    .context("opening the embedded chain")?;
    let ledger: Arc<dyn Ledger> = Arc::new(chain);
    let server = RpcServer::start(ledger.clone(), SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let store_dir = dir.join("store");
    let store: Arc<dyn Store> = Arc::new(LocalStore::open(&store_dir)?);

    say(
        "1. Governance sets up the ledger: it deploys the five contracts (Registration, Data, Model,",
    );
    say(
        "   Authorization, Audit) on the embedded chain and allowlists the enclave program by its SHA-256.",
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
        "2. The TEE starts in a process of its own (pid {}). Its enclave makes a key pair inside itself,",
        registered["pid"]
    ));
    say("   seals it to this ledger, and submits its public key (PK_T) with attestation evidence;");
    say(&format!(
        "   governance checks the evidence and admits the TEE, whose address is {tee}."
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
        "   Governance's rules for {}: a job trains on at least {min_cohort} patients, {}.",
        schema.name,
        if rules.allow_non_private {
            "models without differential privacy allowed (this run)"
        } else {
            "with differential privacy"
        }
    ));

    say(&format!(
        "3. {} patients each make a key pair, encrypt their record under a fresh key, store the ciphertext",
        imported.len()
    ));
    say(
        "   off the ledger, share the key with the TEE alone, and register the record's hash (paper step 5).",
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
        "4. A research institute (the demander) writes a logistic regression on all 30 features and the",
    );
    say(
        "   data it needs, signs both and submits them (steps 1-2); a reviewer reads the model and approves it.",
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
        "5. Every patient consents to this job: the ledger releases the part of the key share that only a",
    );
    say(
        "   consented job may use (r_C·PK_C), and sets how much privacy budget (ε) the record may spend.",
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
        "6. The TEE runs the job (steps 3-4, 6-10). Its enclave checks on the ledger itself, through signed",
    );
    say(
        "   block headers and state proofs, that a reviewer approved the job, that the TEE is admitted and that",
    );
    say(
        "   each record is consented; it checks the model and each record, recovers each data key inside the",
    );
    say(
        "   enclave, decrypts, trains with differential privacy, encrypts the result for the demander, and",
    );
    say("   posts the result's hash and one audit entry per record.");
    let job_hex = job.0.to_string();
    let report = tee_process.run("run", &["--job", &job_hex]).await?;
    let enclave_pid = report["pid"]
        .as_u64()
        .and_then(|p| u32::try_from(p).ok())
        .context("the enclave's pid")?;

    say(
        "7. The demander downloads the encrypted result, checks its hash and the TEE's signature, and",
    );
    say("   decrypts it (step 11).");
    let output = demander.fetch_result(job).await?;
    let Some(Metrics::Classification {
        accuracy, roc_auc, ..
    }) = output.metrics
    else {
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
        block_number: ledger.block_number().await?,
        tee: tee.to_checksum(None),
        result_hash: report["result_hash"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        data_dir: args.data_dir.as_ref().map(|d| d.display().to_string()),
        patient: first.address().to_checksum(None),
        rpc: endpoint.clone(),
    };
    // With --serve, the web app is bound before the summary is printed (a port in use fails
    // here), and served after it.
    let web = match args.serve {
        true => Some(crate::serve::listen(args.addr).await?),
        false => None,
    };
    if args.json {
        out!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
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
        for row in trail.iter() {
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
            let d = d.display();
            out!(
                "\nState kept in {d} (chain and its sealing key, store, enclave key, deployment.json).\n\
                 To read patient {}'s audit trail in a browser later, run\n   \
                 medshare serve --data-dir {d}       # asks for the sealing key's password\n\
                 and open http://127.0.0.1:8080/#patient/{} (or run the demo with --serve).",
                first.address(),
                first.address()
            );
        }
    }
    if let Some(listener) = web {
        let client = crate::serve::attach(ledger.clone(), &deployment_file).await?;
        let patient = format!("/#patient/{}", summary.patient);
        if !args.json {
            out!(
                "\nThe demo's chain and store stay up behind the web app until Ctrl-C; to read \
                 patient {}'s audit trail, open the last address below in a browser.",
                summary.patient
            );
        }
        crate::serve::serve_until_stopped(
            listener,
            client,
            store.clone(),
            &endpoint,
            &store_dir.display().to_string(),
            args.json,
            Some(&patient),
        )
        .await?;
    }
    server.stop().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_smaller_demo_keeps_both_diagnoses_in_proportion() {
        let all = medshare_records::csv::read(&Schema::wdbc(), WDBC_CSV).unwrap();
        let benign = |rows: &[medshare_records::Imported]| {
            rows.iter().filter(|r| r.record.label == Some(0.0)).count()
        };
        assert_eq!((all.len(), benign(&all)), (569, 357));
        let some = stratified(all, 20, |r| r.record.label);
        // 357/569 of 20 is 12.55, 212/569 is 7.45: 13 benign and 7 malignant.
        assert_eq!((some.len(), benign(&some)), (20, 13));
        let full = medshare_records::csv::read(&Schema::wdbc(), WDBC_CSV).unwrap();
        let order: Vec<usize> = some
            .iter()
            .map(|r| full.iter().position(|f| f.record == r.record).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        // The first rows of the data set are nearly all malignant: taking them would not do.
        assert!(benign(&full[..20]) < 5);
    }
}
