//! Storage faults: what a job does when the off-chain store fails it, on a directory store and
//! on S3 (a Garage server this benchmark starts, stops and restarts itself).
//!
//! Two kinds of failure, each a job of one patient's records (plus the rig's base cohort):
//! - **one record's objects are bad** (missing, truncated, a directory or a FIFO in place of the
//!   ciphertext, a directory in place of TD_i; on S3 truncated, empty or replaced objects): that
//!   record is excluded, its owner's audit trail says it was refused, and the job completes
//!   with the others;
//! - **the store cannot be reached** (the directory moved away, or Garage killed with SIGKILL,
//!   before the job's run): the job stops rather than excluding every record; once the store is
//!   back it runs again and completes once, with exactly one audit entry per record.
//!
//! - **the store fails mid-job**: Garage killed once the enclave's first records are checked
//!   (the run stops storing the training's checkpoint, before any budget is debited; the next
//!   run trains again), or when the job stores its result, after the budgets were debited (the
//!   next run releases the same training from its checkpoint: the chain pays for one training
//!   per job).
//!
//! Every row is checked, not only measured: the command fails if a faulted record was used or
//! not audited as refused, a job did not complete, or a record has other than one audit entry.

use super::{
    UNLIMITED,
    data::{record, schema},
    round3,
    table3::{BASE_COHORT, Rig},
};
use anyhow::{Context, Result, bail, ensure};
use medshare_chain::UseOutcome;
use medshare_parties::{Error as PartyError, tee::JobReport, user::OwnedRecord, user::Patient};
use medshare_primitives::JobId;
use medshare_storage::{Key, LocalStore, S3Config, S3Store, Store};
use serde::Serialize;
use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

/// The Garage rows' store.
const GARAGE: &str = "S3 (Garage)";

/// How long a failing S3 request is retried before the store counts as unreachable.
const S3_RETRY: Duration = Duration::from_secs(3);

#[derive(clap::Args)]
pub(crate) struct FaultsArgs {
    /// Records the patient of each job uploads (the faults hit some of them).
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u64).range(8..=10_000))]
    records: u64,
    /// 12 records a job, nothing written (CI's smoke pass).
    #[arg(long)]
    quick: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Write faults.json and faults.md here (default: bench/results, or nowhere with --quick).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Serialize)]
struct Faults {
    /// Records each job's patient uploaded; the base cohort adds its own.
    records_per_job: usize,
    base_cohort: usize,
    /// `release` or `debug` (unoptimized): the seconds depend on it.
    build: &'static str,
    includes: &'static str,
    rows: Vec<Row>,
}

#[derive(Serialize)]
struct Row {
    store: &'static str,
    fault: String,
    /// What became of the faulted record(s).
    records: String,
    /// How the job's runs went, in order.
    runs: Vec<String>,
    records_used: u64,
    /// Every record of the job has exactly one audit entry.
    one_audit_entry_each: bool,
    /// The job completed (after the store came back, where it went away).
    completed: bool,
    /// From the first run's start to the job's completion (restarts included), seconds.
    seconds: f64,
}

const INCLUDES: &str = "the embedded chain, the TEE's host and the enclave in this process; a \
    directory store, or S3 on a single-node Garage started by this benchmark (scripts/garage-up) \
    with requests retried for 3 s; faults injected after the records were consented, before the \
    job's run or, where the row says so, during it; seconds = from the first run to the job's completion, restarts included";

pub(crate) async fn run(args: FaultsArgs) -> Result<()> {
    let n = if args.quick {
        12
    } else {
        usize::try_from(args.records)?
    };
    let mut report = Faults {
        records_per_job: n,
        base_cohort: BASE_COHORT,
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        includes: INCLUDES,
        rows: Vec::new(),
    };
    let work = tempfile::tempdir()?;

    // A directory store.
    let local = LocalStore::open(work.path().join("store"))?;
    let rig = Rig::with_store(schema(1, 30), Some(Arc::new(local.clone()))).await?;
    let (patient, owned, job) = consented(&rig, n, 1).await?;
    let path = |i: usize, meta: bool| {
        let hash = &owned[i].record.ciphertextHash.0;
        local.path_of(&if meta {
            Key::record_meta(hash)
        } else {
            Key::record(hash)
        })
    };
    std::fs::remove_file(path(0, false))?;
    let bytes = std::fs::read(path(1, false))?;
    std::fs::write(path(1, false), &bytes[..bytes.len() / 2])?;
    std::fs::remove_file(path(2, false))?;
    std::fs::create_dir(path(2, false))?;
    std::fs::remove_file(path(3, false))?;
    let fifo = Command::new("mkfifo").arg(path(3, false)).status()?;
    ensure!(fifo.success(), "mkfifo failed");
    std::fs::remove_file(path(4, true))?;
    std::fs::create_dir(path(4, true))?;
    let faults = [
        "ciphertext missing",
        "ciphertext truncated to half",
        "a directory in place of the ciphertext",
        "a FIFO in place of the ciphertext",
        "a directory in place of TD_i",
    ];
    report
        .rows
        .extend(per_record(&rig, "directory", &patient, &owned, job, &faults).await?);
    expect_used(&report.rows, n - faults.len())?;

    // The directory moved away (as a disk unmounted), then back.
    let (patient, owned, job) = consented(&rig, n, 2).await?;
    let root = local.root().to_path_buf();
    let away = work.path().join("store-away");
    std::fs::rename(&root, &away)?;
    let t = Instant::now();
    let runs = vec![
        outcome(rig.tee.run_job(job, &|_, _| {}).await, &patient, job)
            .await?
            .0,
    ];
    std::fs::rename(&away, &root)?;
    let again = rig.tee.run_job(job, &|_, _| {}).await?;
    let fault = "the store's directory moved away before the job's run, then back";
    let row = completed(
        "directory",
        fault,
        runs,
        &again,
        "",
        (&patient, &owned, job),
        t,
    );
    report.rows.push(row.await?);
    expect_used(&report.rows[report.rows.len() - 1..], n)?;
    rig.stop().await;

    // S3 on a Garage server of this benchmark's own; the rig's store (the parties' and the
    // TEE's) can kill it on cue, and faults are injected through `s3` directly.
    let garage = Garage::up(&work.path().join("garage"))?;
    let s3: Arc<dyn Store> = Arc::new(S3Store::new(garage.config()?)?);
    let tee_store = Arc::new(KillOnResult {
        inner: s3.clone(),
        garage: garage.dir.clone(),
        armed: AtomicBool::new(false),
    });
    let rig = Rig::with_store(schema(1, 30), Some(tee_store.clone())).await?;
    let (patient, owned, job) = consented(&rig, n, 3).await?;
    let key = |i: usize| Key::record(&owned[i].record.ciphertextHash.0);
    let bytes = s3.get(&key(0)).await?;
    s3.put(&key(0), bytes[..bytes.len() / 2].to_vec()).await?;
    s3.put(&key(1), Vec::new()).await?;
    s3.put(
        &Key::record_meta(&owned[2].record.ciphertextHash.0),
        b"{\"not\": \"a record\"}".to_vec(),
    )
    .await?;
    let faults = [
        "ciphertext truncated to half",
        "ciphertext replaced by an empty object",
        "TD_i replaced by another JSON object",
    ];
    report
        .rows
        .extend(per_record(&rig, GARAGE, &patient, &owned, job, &faults).await?);
    expect_used(
        &report.rows[report.rows.len() - faults.len()..],
        n - faults.len(),
    )?;

    // Garage killed (SIGKILL) before the job's run, then restarted: the S3 side of the
    // directory moved away.
    let (patient, owned, job) = consented(&rig, n, 4).await?;
    garage.kill();
    let t = Instant::now();
    let runs = vec![
        outcome(rig.tee.run_job(job, &|_, _| {}).await, &patient, job)
            .await?
            .0,
    ];
    garage.restart()?;
    let again = rig.tee.run_job(job, &|_, _| {}).await?;
    let fault = "Garage killed (SIGKILL) when the job starts, then restarted";
    let row = completed(GARAGE, fault, runs, &again, "", (&patient, &owned, job), t);
    report.rows.push(row.await?);
    expect_used(&report.rows[report.rows.len() - 1..], n)?;

    // Garage killed once the enclave's first records are checked, then restarted: the run
    // stops storing the training's checkpoint, before any debit; the next run trains again.
    let (patient, owned, job) = consented(&rig, n, 5).await?;
    let killed = AtomicBool::new(false);
    let kill = |_: usize, _: usize| {
        if !killed.swap(true, Ordering::SeqCst) {
            garage.kill();
        }
    };
    let t = Instant::now();
    let runs = vec![
        outcome(rig.tee.run_job(job, &kill).await, &patient, job)
            .await?
            .0,
    ];
    ensure!(
        killed.load(Ordering::SeqCst),
        "the job never reported progress"
    );
    garage.restart()?;
    let again = rig.tee.run_job(job, &|_, _| {}).await?;
    ensure!(
        !again.resumed,
        "no budget was debited, so the job trains again"
    );
    let fault = "Garage killed (SIGKILL) once the job's first records were checked, then restarted";
    let row = completed(GARAGE, fault, runs, &again, "", (&patient, &owned, job), t);
    report.rows.push(row.await?);
    expect_used(&report.rows[report.rows.len() - 1..], n)?;

    // Garage killed when the job stores its result, after the budgets were debited, then
    // restarted: the next run releases that training, from its checkpoint.
    let (patient, owned, job) = consented(&rig, n, 6).await?;
    tee_store.armed.store(true, Ordering::SeqCst);
    let t = Instant::now();
    let runs = vec![
        outcome(rig.tee.run_job(job, &|_, _| {}).await, &patient, job)
            .await?
            .0,
    ];
    ensure!(
        !tee_store.armed.load(Ordering::SeqCst),
        "the job never stored a result"
    );
    let debited = rig.tee.chain().debit_batches_of(job).await?;
    ensure!(
        debited > 0,
        "the budgets were not debited before the result"
    );
    garage.restart()?;
    let again = rig.tee.run_job(job, &|_, _| {}).await?;
    ensure!(again.resumed, "the second run trained again");
    let fault = "Garage killed (SIGKILL) when the job stored its result, after its budgets were \
                 debited, then restarted";
    let how = format!(" from the checkpoint ({debited} debit batch(es) already on chain)");
    let row = completed(
        GARAGE,
        fault,
        runs,
        &again,
        &how,
        (&patient, &owned, job),
        t,
    );
    report.rows.push(row.await?);
    expect_used(&report.rows[report.rows.len() - 1..], n)?;
    rig.stop().await;
    drop(garage);

    if let Some(bad) = report
        .rows
        .iter()
        .find(|r| r.completed && !r.one_audit_entry_each)
    {
        bail!(
            "a record of the job \"{}\" has other than one audit entry",
            bad.fault
        );
    }
    crate::publish(
        "faults",
        &report,
        &markdown(&report),
        args.out,
        args.quick,
        args.json,
    )
}

/// Runs `job`, whose records `owned[i]` had the fault `faults[i]` injected: a row per fault.
async fn per_record(
    rig: &Rig,
    store: &'static str,
    patient: &Patient,
    owned: &[OwnedRecord],
    job: JobId,
    faults: &[&str],
) -> Result<Vec<Row>> {
    let t = Instant::now();
    let run = rig.tee.run_job(job, &|_, _| {}).await?;
    let seconds = round3(t.elapsed().as_secs_f64());
    let runs = vec![format!("completed, {} records used", run.records_used)];
    let once = checked_once(patient, owned, job).await?;
    let mut rows = Vec::new();
    for (i, fault) in faults.iter().enumerate() {
        rows.push(Row {
            store,
            fault: (*fault).to_owned(),
            records: refused(patient, &owned[i], job).await?,
            runs: runs.clone(),
            records_used: run.records_used,
            one_audit_entry_each: once,
            completed: true,
            seconds,
        });
    }
    Ok(rows)
}

/// A new patient's `n` records, uploaded and consented to a new job (seeded by `seed`).
async fn consented(rig: &Rig, n: usize, seed: u64) -> Result<(Patient, Vec<OwnedRecord>, JobId)> {
    let patient = rig.patient().await?;
    let records: Vec<_> = (0..n).map(|i| record(&rig.schema, i)).collect();
    let data_type = rig.schema.data_type()?;
    let owned = patient
        .upload(&data_type, &records, rig.tee.address(), &|_| {})
        .await?;
    let job = rig.job(seed).await?;
    patient.grant_all(&owned, job, UNLIMITED, &|_| {}).await?;
    Ok((patient, owned, job))
}

/// The row of a job whose first run stopped as `runs` says and whose run `again` completed
/// (`how`: in what way), timed from `t`; `c` is the job's patient, records and id.
async fn completed(
    store: &'static str,
    fault: &str,
    mut runs: Vec<String>,
    again: &JobReport,
    how: &str,
    c: (&Patient, &[OwnedRecord], JobId),
    t: Instant,
) -> Result<Row> {
    runs.push(format!(
        "completed{how}, {} records used",
        again.records_used
    ));
    Ok(Row {
        store,
        fault: fault.into(),
        records: "none excluded".into(),
        runs,
        records_used: again.records_used,
        one_audit_entry_each: checked_once(c.0, c.1, c.2).await?,
        completed: true,
        seconds: round3(t.elapsed().as_secs_f64()),
    })
}

/// A run's outcome in words, and the records it used if it completed; a stop must be the
/// store's unavailability.
async fn outcome(
    run: Result<medshare_parties::tee::JobReport, PartyError>,
    patient: &Patient,
    job: JobId,
) -> Result<(String, Option<u64>)> {
    match run {
        Ok(r) => Ok((
            format!("completed, {} records used", r.records_used),
            Some(r.records_used),
        )),
        Err(PartyError::Storage(e)) if e.is_unavailable() => {
            let audited = patient
                .audit_trail()
                .await?
                .iter()
                .filter(|r| r.job == job.0)
                .count();
            Ok((
                format!(
                    "stopped, the store unavailable ({e}); {audited} of the patient's records \
                     audited"
                ),
                None,
            ))
        }
        Err(e) => bail!("the run failed otherwise than by the store's unavailability: {e}"),
    }
}

/// The faulted record's fate: it must be excluded and audited as refused.
async fn refused(patient: &Patient, owned: &OwnedRecord, job: JobId) -> Result<String> {
    let trail = patient.audit_trail().await?;
    let entries: Vec<_> = trail
        .iter()
        .filter(|r| r.job == job.0 && r.record == owned.record.ciphertextHash)
        .collect();
    match entries.as_slice() {
        [entry] if entry.outcome == UseOutcome::RefusedIntegrity => {
            Ok("excluded; audited as refused (integrity)".into())
        }
        other => bail!(
            "record {} of job {}: audit entries {:?}, not one refusal",
            owned.record.ciphertextHash,
            job.0,
            other.iter().map(|r| r.outcome).collect::<Vec<_>>()
        ),
    }
}

/// Whether each of `owned` has exactly one audit entry for `job`.
async fn checked_once(patient: &Patient, owned: &[OwnedRecord], job: JobId) -> Result<bool> {
    let trail = patient.audit_trail().await?;
    Ok(owned.iter().all(|o| {
        trail
            .iter()
            .filter(|r| r.job == job.0 && r.record == o.record.ciphertextHash)
            .count()
            == 1
    }))
}

/// The job of `rows` used the patient's `n` good records and the base cohort.
fn expect_used(rows: &[Row], n: usize) -> Result<()> {
    let want = (n + BASE_COHORT) as u64;
    for row in rows {
        ensure!(
            row.records_used == want,
            "\"{}\": {} records used, expected {want}",
            row.fault,
            row.records_used
        );
    }
    Ok(())
}

/// A single-node Garage of this benchmark's own (scripts/garage-up), stopped when dropped.
struct Garage {
    dir: PathBuf,
    binary: String,
}

impl Garage {
    fn up(dir: &Path) -> Result<Self> {
        let binary = std::env::var("MEDSHARE_GARAGE").unwrap_or_else(|_| "garage".into());
        let script = Path::new(crate::REPO).join("scripts/garage-up");
        let status = Command::new(&script)
            .arg(dir)
            .env("MEDSHARE_GARAGE", &binary)
            .stdout(Stdio::null())
            .status()
            .with_context(|| format!("running {}", script.display()))?;
        ensure!(
            status.success(),
            "scripts/garage-up failed (is Garage installed? scripts/test installs it)"
        );
        Ok(Self {
            dir: dir.to_owned(),
            binary,
        })
    }

    fn env(&self, name: &str) -> Result<String> {
        let env = std::fs::read_to_string(self.dir.join("env"))?;
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("export {name}=")))
            .map(str::to_owned)
            .with_context(|| format!("{name} not in garage-up's env"))
    }

    fn config(&self) -> Result<S3Config> {
        Ok(S3Config {
            bucket: self.env("MEDSHARE_TEST_S3_BUCKET")?,
            endpoint: Some(self.env("MEDSHARE_S3_ENDPOINT")?),
            region: self.env("AWS_REGION")?,
            access_key_id: self.env("AWS_ACCESS_KEY_ID")?,
            secret_access_key: self.env("AWS_SECRET_ACCESS_KEY")?,
            retry_timeout: S3_RETRY,
        })
    }

    /// SIGKILL, and wait until it is gone (see [`kill_garage`]).
    fn kill(&self) {
        kill_garage(&self.dir);
    }

    /// Starts the server again on the same configuration and data, and waits until it answers.
    fn restart(&self) -> Result<()> {
        let config = self.dir.join("garage.toml");
        let log = std::fs::File::options()
            .append(true)
            .open(self.dir.join("garage.log"))?;
        let child = Command::new(&self.binary)
            .arg("-c")
            .arg(&config)
            .arg("server")
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("restarting Garage")?;
        std::fs::write(self.dir.join("garage.pid"), child.id().to_string())?;
        let started = Instant::now();
        loop {
            let up = Command::new(&self.binary)
                .arg("-c")
                .arg(&config)
                .arg("status")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if up {
                return Ok(());
            }
            ensure!(
                started.elapsed() < Duration::from_secs(30),
                "Garage did not come back"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        self.kill();
    }
}

/// SIGKILL to the Garage whose directory is `dir`, and wait until it is gone (or a zombie: it
/// was started in the background by garage-up, and this process may be the one to reap it).
fn kill_garage(dir: &Path) {
    let pid = std::fs::read_to_string(dir.join("garage.pid"))
        .unwrap_or_default()
        .trim()
        .to_owned();
    if pid.is_empty() {
        return;
    }
    let _ = Command::new("kill").args(["-9", &pid]).status();
    let stat = PathBuf::from(format!("/proc/{pid}/stat"));
    let started = Instant::now();
    while let Ok(s) = std::fs::read_to_string(&stat) {
        // "PID (comm) STATE …"
        let state = s
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next());
        if state == Some("Z") || started.elapsed() > Duration::from_secs(10) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The TEE's store over Garage, which kills Garage (SIGKILL) the first time it is asked, once
/// armed, to store a result, and passes the request on: the store fails at the step after the
/// job's budgets were debited.
#[derive(Debug)]
struct KillOnResult {
    inner: Arc<dyn Store>,
    garage: PathBuf,
    armed: AtomicBool,
}

impl KillOnResult {
    fn trip(&self, key: &Key) {
        if key.as_str().starts_with("results/") && self.armed.swap(false, Ordering::SeqCst) {
            kill_garage(&self.garage);
        }
    }
}

#[async_trait::async_trait]
impl Store for KillOnResult {
    async fn put(&self, key: &Key, bytes: Vec<u8>) -> medshare_storage::Result<()> {
        self.trip(key);
        self.inner.put(key, bytes).await
    }

    async fn put_many(&self, objects: Vec<(Key, Vec<u8>)>) -> medshare_storage::Result<()> {
        if let Some((key, _)) = objects.first() {
            self.trip(key);
        }
        self.inner.put_many(objects).await
    }

    async fn get_at_most(&self, key: &Key, max: u64) -> medshare_storage::Result<Vec<u8>> {
        self.inner.get_at_most(key, max).await
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

fn markdown(report: &Faults) -> String {
    let mut md = format!(
        "# medshare bench faults\n\nEach job: one patient's {} records consented to it, plus the \
         base cohort's {} (standing policy).\n\n| store | fault | the faulted record(s) | the \
         job's runs | completed | records used | one audit entry per record | seconds |\n|---|---|---|---|---|---:|---|---:|\n",
        report.records_per_job, report.base_cohort
    );
    for r in &report.rows {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.store,
            r.fault,
            r.records,
            r.runs.join("; then "),
            if r.completed { "yes" } else { "**no**" },
            r.records_used,
            if r.one_audit_entry_each {
                "yes"
            } else {
                "**no**"
            },
            r.seconds
        ));
    }
    md.push_str(&format!(
        "\nIncludes: {} ({} build).\n",
        report.includes, report.build
    ));
    md
}
