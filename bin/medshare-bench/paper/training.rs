//! Training beside scikit-learn, controlled: the same records and the same train/test split
//! (medshare's own, handed to Python), the same scaling (each feature clipped to its public
//! range and mapped to [−1, 1], as medshare does), the same objective (L2 penalty 1, i.e.
//! C = 1), tolerance and iteration cap, and the same thread count: one thread on each side for
//! the headline (a rayon pool of one for medshare; OMP/OpenBLAS/MKL limited to one for
//! scikit-learn), every core on each side reported apart. Versions, thread pools and the
//! iterations each side ran are in the report.

use super::round3;
use crate::REPO;
use anyhow::{Context, Result, bail};
use medshare_records::{Feature, Label, Schema};
use medshare_training::{
    Dataset, DatasetBuilder, ModelKind, ModelSpec, Privacy, TrainingRules, train_with_rules,
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use rand_distr::StandardNormal;
use serde::Serialize;
use std::{io::Write, path::Path, time::Instant};

/// Fits timed on each side; the median is reported.
const REPEATS: usize = 3;
const FEATURES: usize = 30;
const TOLERANCE: f64 = 1e-4;
const MAX_ITERATIONS: u64 = 100;
const L2: f64 = 1.0;
const TEST_FRACTION: f64 = 0.25;
const SEED: u64 = 7;

#[derive(Serialize)]
pub(super) struct Training {
    pub(super) records: usize,
    pub(super) features: usize,
    /// Records fitted on and held out: the same records on both sides.
    pub(super) train_records: usize,
    pub(super) test_records: usize,
    /// Threads on each side for the headline figures below.
    pub(super) threads: usize,
    /// medshare's `train_with_rules` (what the enclave runs: shuffle, clip, scale, fit,
    /// evaluate), median of the repeats, seconds.
    pub(super) seconds: f64,
    pub(super) accuracy: f64,
    /// scikit-learn: scale, `LogisticRegression(solver="lbfgs").fit`, predict; seconds.
    pub(super) sklearn_seconds: f64,
    pub(super) sklearn_accuracy: f64,
    /// L-BFGS iterations each side ran.
    pub(super) iterations: u64,
    pub(super) sklearn_iterations: u64,
    pub(super) tolerance: f64,
    pub(super) max_iterations: u64,
    pub(super) l2: f64,
    pub(super) repeats: usize,
    /// The same comparison with every core on each side.
    pub(super) all_cores: AllCores,
    pub(super) versions: Versions,
    /// scikit-learn's native thread pools (threadpoolctl) in the one-thread and all-core runs.
    pub(super) sklearn_threadpools: serde_json::Value,
    /// What is the same on both sides, and what is not.
    pub(super) controls: String,
}

#[derive(Serialize)]
pub(super) struct AllCores {
    pub(super) threads: usize,
    pub(super) seconds: f64,
    pub(super) sklearn_seconds: f64,
    /// seconds / sklearn_seconds.
    pub(super) time_ratio: f64,
}

#[derive(Serialize)]
pub(super) struct Versions {
    pub(super) medshare: String,
    pub(super) medshare_commit: Option<String>,
    pub(super) python: String,
    pub(super) numpy: String,
    pub(super) scipy: String,
    pub(super) scikit_learn: String,
}

/// A synthetic cohort: `d` normal features (column j: mean 10(j+1), deviation j+1), a label
/// drawn from a logistic model of them.
fn cohort(n: usize, d: usize, seed: u64, mut sink: impl FnMut(&[f64], f64)) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut row = vec![0.0; d];
    for _ in 0..n {
        let mut z = 0.25;
        for (j, x) in row.iter_mut().enumerate() {
            let standard: f64 = rng.sample(StandardNormal);
            z += 3.0 * (((j % 7) as f64 - 3.0) / 3.0) * standard;
            *x = 10.0 * (j as f64 + 1.0) + (j as f64 + 1.0) * standard;
        }
        let label = if rng.gen_bool(1.0 / (1.0 + (-z).exp())) {
            1.0
        } else {
            0.0
        };
        sink(&row, label);
    }
}

/// The cohort's public ranges: feature j is 10(j+1) ± 5 deviations.
fn schema() -> Schema {
    Schema {
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
    }
}

pub(super) fn training(records: usize) -> Result<Training> {
    let schema = schema();
    let mut builder = DatasetBuilder::with_capacity(FEATURES, records);
    let mut failed = None;
    cohort(records, FEATURES, 42, |row, label| {
        if let Err(e) = builder.push(row, label) {
            failed = Some(e);
        }
    });
    if let Some(e) = failed {
        return Err(e.into());
    }
    let data = builder.finish();
    let spec = ModelSpec {
        kind: ModelKind::LogisticRegression {
            l2: L2,
            max_iterations: MAX_ITERATIONS,
            tolerance: TOLERANCE,
        },
        features: schema.feature_names().map(str::to_owned).collect(),
        label: "y".into(),
        test_fraction: TEST_FRACTION,
        seed: SEED,
        privacy: Privacy::non_private(),
    };
    let rules = TrainingRules {
        allow_non_private: true,
        ..TrainingRules::new(1000)
    };

    // medshare's split, in the order it tests (first n_test records) and trains on them.
    let mut split = data.clone();
    let n_test = split.shuffle_for_holdout(SEED, TEST_FRACTION);
    let dir = tempfile::tempdir()?;
    let csv = dir.path().join("cohort.csv");
    write_csv(&csv, &split)?;
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        serde_json::to_vec(&serde_json::json!({
            "test_records": n_test,
            "ranges": schema.features.iter().map(|f| [f.min, f.max]).collect::<Vec<_>>(),
            "l2": L2,
            "tolerance": TOLERANCE,
            "max_iterations": MAX_ITERATIONS,
            "repeats": REPEATS,
        }))?,
    )?;
    // The iterations medshare's fit runs on that training split (deterministic: the same fit
    // as inside train_with_rules).
    let mut train_part = DatasetBuilder::with_capacity(FEATURES, records - n_test);
    for i in n_test..records {
        let (row, label) = split.record(i).context("a record of the split")?;
        train_part.push(row, label)?;
    }
    let iterations = medshare_training::fit(&spec, &schema, train_part.finish(), &rules)?
        .iterations
        .context("logistic regression reports its iterations")?;

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (seconds, accuracy) = medshare(1, &spec, &schema, &data, &rules)?;
    let sk = sklearn(&csv, &config, 1)?;
    let (all_seconds, _) = medshare(cores, &spec, &schema, &data, &rules)?;
    let sk_all = sklearn(&csv, &config, cores)?;
    let number = |v: &serde_json::Value, key: &str| {
        v[key]
            .as_f64()
            .with_context(|| format!("scikit-learn's {key}"))
    };
    let text = |key: &str| sk["versions"][key].as_str().unwrap_or("?").to_owned();
    let sklearn_seconds = number(&sk, "seconds")?;
    let sklearn_all = number(&sk_all, "seconds")?;
    Ok(Training {
        records,
        features: FEATURES,
        train_records: records - n_test,
        test_records: n_test,
        threads: 1,
        seconds: round3(seconds),
        accuracy: round3(accuracy),
        sklearn_seconds: round3(sklearn_seconds),
        sklearn_accuracy: round3(number(&sk, "accuracy")?),
        iterations,
        sklearn_iterations: sk["iterations"]
            .as_u64()
            .context("scikit-learn's n_iter_")?,
        tolerance: TOLERANCE,
        max_iterations: MAX_ITERATIONS,
        l2: L2,
        repeats: REPEATS,
        all_cores: AllCores {
            threads: cores,
            seconds: round3(all_seconds),
            sklearn_seconds: round3(sklearn_all),
            time_ratio: round3(all_seconds / sklearn_all),
        },
        versions: Versions {
            medshare: env!("CARGO_PKG_VERSION").to_owned(),
            medshare_commit: commit(),
            python: text("python"),
            numpy: text("numpy"),
            scipy: text("scipy"),
            scikit_learn: text("scikit-learn"),
        },
        sklearn_threadpools: serde_json::json!({
            "one_thread": sk["threadpools"],
            "all_cores": sk_all["threadpools"],
        }),
        controls: format!(
            "same {records} records and the same split ({} trained, {n_test} held out; \
             medshare's seeded shuffle, handed to Python in order); same scaling (clip to the \
             public ranges, map to [-1, 1]); same objective (L2 {L2}, C = 1/L2), tolerance \
             {TOLERANCE} on the per-record gradient and cap of {MAX_ITERATIONS} iterations \
             (scikit-learn stops on the gradient's largest entry, medshare on its norm); \
             L-BFGS on both sides; medshare's time also includes its shuffle and its \
             held-out metrics beyond accuracy",
            records - n_test
        ),
    })
}

fn write_csv(path: &Path, data: &Dataset) -> Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let names: Vec<String> = (0..data.n_features()).map(|j| format!("f{j}")).collect();
    writeln!(file, "{},y", names.join(","))?;
    for i in 0..data.n_records() {
        let (row, label) = data.record(i).context("a record")?;
        let line: Vec<String> = row.iter().map(|v| format!("{v:?}")).collect();
        writeln!(file, "{},{label}", line.join(","))?;
    }
    file.flush()?;
    Ok(())
}

/// medshare's training on a rayon pool of `threads`: median seconds of [`REPEATS`] and the
/// held-out accuracy.
fn medshare(
    threads: usize,
    spec: &ModelSpec,
    schema: &Schema,
    data: &Dataset,
    rules: &TrainingRules,
) -> Result<(f64, f64)> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let mut times = Vec::new();
    let mut accuracy = None;
    for _ in 0..REPEATS {
        let data = data.clone();
        let start = Instant::now();
        let output = pool.install(|| train_with_rules(spec, schema, data, rules))?;
        times.push(start.elapsed().as_secs_f64());
        let Some(medshare_training::Metrics::Classification { accuracy: a, .. }) = output.metrics
        else {
            bail!("logistic regression gave no classification metrics");
        };
        accuracy = Some(a);
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], accuracy.context("no training run")?))
}

/// bench/sklearn_logreg.py on `csv` with `config`, its native thread pools limited to
/// `threads`.
fn sklearn(csv: &Path, config: &Path, threads: usize) -> Result<serde_json::Value> {
    let threads = threads.to_string();
    let script = Path::new(REPO).join("bench/sklearn_logreg.py");
    let out = std::process::Command::new(crate::python::python()?)
        .arg(&script)
        .arg(csv)
        .arg(config)
        .env("OMP_NUM_THREADS", &threads)
        .env("OPENBLAS_NUM_THREADS", &threads)
        .env("MKL_NUM_THREADS", &threads)
        .output()
        .context("running python3 for scikit-learn")?;
    if !out.status.success() {
        bail!(
            "the scikit-learn script failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).context("reading scikit-learn's figures")
}

/// The repository's commit, when it is a git checkout.
fn commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["-C", REPO, "rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
