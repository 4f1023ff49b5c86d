//! Job start at scale: how long a job takes to start training when its data type holds many
//! records nobody consented to. A job's host finds its records from the consents (the job's
//! grants and the matching standing policies, through the node's log index), never by reading
//! the whole data type, so the start time should not grow with the records registered.
//!
//! The run grows one chain: flooders register records of the job's data type by hash (batches
//! of [`FLOOD_BATCH`], as a user flooding the type would), and at each size a new job is
//! submitted, approved and consented (one patient's records, granted in bulk) and run by the
//! TEE's host with the enclave in this process. Rows are written after every size, so a long
//! run's early sizes are kept if it is stopped.

use super::{
    UNLIMITED,
    data::{record, schema},
    round3,
    table3::{BASE_COHORT, Rig},
};
use anyhow::{Context, Result, bail};
use medshare_parties::user::Patient;
use serde::Serialize;
use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Instant,
};

/// Records per flood transaction (`Data.registerRecords`).
const FLOOD_BATCH: usize = 500;

/// Flooding accounts, each sending its transactions in order, all at once.
const FLOODERS: usize = 16;

#[derive(clap::Args)]
pub(crate) struct JobStartArgs {
    /// Records of the data type registered before each measurement (cumulative: one chain
    /// grows through them), comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "10000,100000,1000000,10000000",
        value_parser = clap::value_parser!(u64).range(1..=100_000_000)
    )]
    sizes: Vec<u64>,
    /// Records one patient consents to each job (granted in bulk), beside the base cohort of 9
    /// records consented by standing policy.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    consented: u64,
    /// Jobs run at each size (a fresh job each: a completed job does not run again).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=100))]
    runs: u64,
    /// Print the rows as JSON.
    #[arg(long)]
    json: bool,
    /// Write job-start.json and job-start.md here after every size (default: bench/results).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Serialize)]
struct JobStart {
    /// Records each job was consented (granted to it, plus the base cohort's policy).
    consented: usize,
    /// Jobs run per size.
    runs: usize,
    /// What the timed figures include.
    includes: &'static str,
    rows: Vec<Row>,
}

#[derive(Serialize)]
struct Row {
    /// Records of the job's data type registered on the chain (the flood, plus the consented
    /// patient's and the base cohort's).
    registered: usize,
    /// The host's candidates: records it found consented and passed to the enclave.
    candidates: usize,
    /// Records the job trained on.
    records_used: u64,
    /// From `run_job` until the enclave has checked and decrypted the last consented record
    /// (training starts next), seconds: median of the runs.
    start_s: f64,
    start_s_max: f64,
    /// The whole job (model verified, records checked, trained, result stored and posted with
    /// the audit entries), seconds: median of the runs.
    job_s: f64,
    /// Flood registrations per second while reaching this size (durable, receipts read).
    flood_records_per_s: f64,
}

const INCLUDES: &str = "the embedded chain in this process (redb, durable commits, MPT state \
    root); the TEE's host and the enclave in this process; start = from run_job until the last \
    consented record is checked by the enclave against state proofs and decrypted (model \
    verification and its transaction included), job = the whole run_job";

pub(crate) async fn run(args: JobStartArgs) -> Result<()> {
    let mut sizes = args.sizes.clone();
    sizes.sort_unstable();
    sizes.dedup();
    let consented = usize::try_from(args.consented)?;
    let runs = usize::try_from(args.runs)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("bench/results"));

    let schema = schema(1, 30);
    let data_type = schema.data_type()?;
    let ty = data_type.id();
    let rig = Rig::new(schema.clone()).await?;
    // The consented patient: real records, encrypted, stored and registered.
    let patient = rig.patient().await?;
    let records: Vec<_> = (0..consented).map(|i| record(&schema, i)).collect();
    let owned = patient
        .upload(&data_type, &records, rig.tee.address(), &|_| {})
        .await?;
    let mut flooders: Vec<Arc<Patient>> = Vec::with_capacity(FLOODERS);
    for _ in 0..FLOODERS {
        flooders.push(Arc::new(rig.patient().await?));
    }
    let mut registered = consented + BASE_COHORT;
    let mut flooded = 0usize;
    let mut report = JobStart {
        consented: consented + BASE_COHORT,
        runs,
        includes: INCLUDES,
        rows: Vec::new(),
    };
    let mut seed = 0u64;
    for &size in &sizes {
        let size = usize::try_from(size)?;
        let need = size.saturating_sub(registered);
        let started = Instant::now();
        flood(&flooders, ty, flooded, need, args.json).await?;
        let flood_s = started.elapsed().as_secs_f64();
        flooded += need;
        registered += need;
        let (mut starts, mut jobs) = (Vec::new(), Vec::new());
        let (mut candidates, mut used) = (0, 0);
        for _ in 0..runs {
            seed += 1;
            let job = rig.job(seed).await?;
            patient.grant_all(&owned, job, UNLIMITED, &|_| {}).await?;
            let t = Instant::now();
            let checked_at: Mutex<Option<f64>> = Mutex::new(None);
            let progress = |done: usize, total: usize| {
                if done == total
                    && let Ok(mut at) = checked_at.lock()
                {
                    *at = Some(t.elapsed().as_secs_f64());
                }
            };
            let job_report = rig.tee.run_job(job, &progress).await?;
            jobs.push(t.elapsed().as_secs_f64());
            let start = checked_at
                .lock()
                .ok()
                .and_then(|at| *at)
                .context("the host reported no records checked")?;
            starts.push(start);
            candidates = job_report.records_seen;
            used = job_report.records_used;
            if used != (consented + BASE_COHORT) as u64 || job_report.result_hash.is_none() {
                bail!(
                    "job {} used {used} records (expected {}), result {:?}, failure {:?}",
                    job.0,
                    consented + BASE_COHORT,
                    job_report.result_hash,
                    job_report.training_failure
                );
            }
        }
        starts.sort_by(f64::total_cmp);
        jobs.sort_by(f64::total_cmp);
        report.rows.push(Row {
            registered,
            candidates,
            records_used: used,
            start_s: round3(starts[starts.len() / 2]),
            start_s_max: round3(starts[starts.len() - 1]),
            job_s: round3(jobs[jobs.len() / 2]),
            flood_records_per_s: if need == 0 {
                0.0
            } else {
                round3(need as f64 / flood_s)
            },
        });
        write(&out, &report)?;
        if !args.json {
            let r = &report.rows[report.rows.len() - 1];
            eprintln!(
                "{} registered: job starts in {} s (max {}), whole job {} s",
                r.registered, r.start_s, r.start_s_max, r.job_s
            );
        }
    }
    rig.stop().await;
    crate::publish(
        "job-start",
        &report,
        &markdown(&report),
        Some(out),
        false,
        args.json,
    )
}

/// Registers `count` records of data type `ty` by hash (no ciphertext: nobody will consent to
/// them), spread over the flooders, numbered from `from` so that no hash repeats.
async fn flood(
    flooders: &[Arc<Patient>],
    ty: alloy_primitives::B256,
    from: usize,
    count: usize,
    quiet: bool,
) -> Result<()> {
    if count == 0 {
        return Ok(());
    }
    let bar = crate::progress(
        count as u64,
        "flood   {bar:40} {pos}/{len} records registered {elapsed} (eta {eta})",
        quiet,
    )?;
    let per = count.div_ceil(flooders.len());
    let mut set = tokio::task::JoinSet::new();
    for (f, flooder) in flooders.iter().enumerate() {
        let lo = from + f * per;
        let hi = (lo + per).min(from + count);
        if lo >= hi {
            continue;
        }
        let (flooder, bar) = (flooder.clone(), bar.clone());
        set.spawn(async move {
            let chain = flooder.chain();
            let mut i = lo;
            while i < hi {
                let n = FLOOD_BATCH.min(hi - i);
                let call = medshare_testkit::registration_by_hash(chain, ty, "flood", i..i + n);
                chain.send_many(vec![call]).await?;
                bar.inc(n as u64);
                i += n;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = set.join_next().await {
        done??;
    }
    bar.finish_and_clear();
    Ok(())
}

fn write(out: &std::path::Path, report: &JobStart) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    std::fs::write(
        out.join("job-start.json"),
        serde_json::to_vec_pretty(report)?,
    )?;
    std::fs::write(out.join("job-start.md"), markdown(report))?;
    Ok(())
}

fn markdown(report: &JobStart) -> String {
    use std::fmt::Write as _;
    let mut s = String::from("# medshare bench job-start\n\n");
    let _ = writeln!(
        s,
        "A job consented by {} records (one patient's {} granted in bulk, and the base cohort's \
         9 by standing policy), run as its data type fills with records nobody consented to \
         (registered by hash, {FLOOD_BATCH} per transaction, by {FLOODERS} accounts at once). \
         Median of {} jobs per size.\n\nIncludes: {}.\n",
        report.consented,
        report.consented - BASE_COHORT,
        report.runs,
        report.includes
    );
    s.push_str(
        "| records of the type | candidates | used | start (s) | start max (s) | whole job (s) | flood registrations/s |\n\
         |---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in &report.rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.registered,
            r.candidates,
            r.records_used,
            r.start_s,
            r.start_s_max,
            r.job_s,
            r.flood_records_per_s
        );
    }
    s
}
