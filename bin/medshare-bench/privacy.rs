//! `medshare bench privacy`: what differential privacy costs in accuracy and buys against a
//! membership-inference attack, beside IBM diffprivlib.
//!
//! On the breast cancer data (569 patients, 30 features), for ε ∈ {0.1, 0.5, 1, 2, 5, 10, ∞}
//! and δ = 1e-5: the held-out accuracy of medshare's logistic regression over 20 random splits
//! (25 % held out), and that of `diffprivlib.models.LogisticRegression` on the very same splits
//! and the very same scaled inputs (each feature clipped to the data type's public range and
//! scaled to [−1, 1]), with the same clipping bound (`data_norm` = medshare's clipping norm) —
//! and, since diffprivlib does not centre the data and suffers from that bound, also with the
//! bound the ranges alone imply (√d). ε = ∞ is medshare's non-private fit beside scikit-learn's.
//! Then the AUC of a loss-threshold membership-inference attack against medshare's released
//! model at each ε (train on a random half, compare the losses of members and non-members; mean
//! of 10 halvings). Both sides run in this run, on this machine.

use crate::{REPO, python};
use anyhow::{Context, Result, bail};
use clap::Args;
use medshare_records::Schema;
use medshare_training::{
    DatasetBuilder, ModelKind, ModelSpec, Privacy, TrainingRules, fit, privacy::membership_auc,
};
use rand::{SeedableRng, seq::SliceRandom};
use serde::Serialize;
use serde_json::{Value, json};
use std::{collections::BTreeMap, path::PathBuf};

/// The ε of the comparison (∞: no differential privacy).
const EPSILONS: [f64; 7] = [0.1, 0.5, 1.0, 2.0, 5.0, 10.0, f64::INFINITY];
/// δ of every private run.
const DELTA: f64 = 1e-5;
/// The held-out fraction.
const TEST_FRACTION: f64 = 0.25;
/// Halvings the membership AUC is averaged over.
const MIA_HALVINGS: u64 = 10;

#[derive(Args)]
pub(crate) struct PrivacyArgs {
    /// Random splits per ε.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(2..=200))]
    splits: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Where to write privacy.json, privacy.md and privacy.png (default bench/results).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Do not write results.
    #[arg(long, conflicts_with = "out")]
    no_write: bool,
}

/// Accuracy over the splits at one ε.
#[derive(Serialize, Clone, Copy)]
struct Accuracy {
    mean: f64,
    min: f64,
}

#[derive(Serialize)]
struct Report {
    /// The ε compared ("inf" for none).
    epsilons: Vec<Value>,
    /// medshare's held-out accuracy per ε.
    medshare: BTreeMap<String, Accuracy>,
    /// diffprivlib's, with medshare's clipping bound.
    diffprivlib: BTreeMap<String, Accuracy>,
    /// diffprivlib's with the bound the public ranges imply (√d).
    diffprivlib_range_bound: BTreeMap<String, Accuracy>,
    /// The membership-inference attack's AUC against medshare's model per ε (0.5 = guessing).
    mia_auc: BTreeMap<String, f64>,
    delta: f64,
    /// medshare's clipping norm (diffprivlib's `data_norm` in `diffprivlib`).
    clip_norm: f64,
    /// √d, diffprivlib's `data_norm` in `diffprivlib_range_bound`.
    range_norm: f64,
    splits: u64,
    records: usize,
    features: usize,
    /// Versions of the peers.
    versions: BTreeMap<String, String>,
}

fn key(epsilon: f64) -> String {
    if epsilon.is_finite() {
        epsilon.to_string()
    } else {
        "inf".to_owned()
    }
}

fn stats(accuracies: &[f64]) -> Accuracy {
    let mean = accuracies.iter().sum::<f64>() / accuracies.len().max(1) as f64;
    let min = accuracies.iter().copied().fold(f64::INFINITY, f64::min);
    Accuracy {
        mean: (mean * 1e4).round() / 1e4,
        min: (min * 1e4).round() / 1e4,
    }
}

pub(crate) async fn run(args: PrivacyArgs) -> Result<()> {
    let schema = Schema::wdbc();
    let csv = format!("{REPO}/data/wdbc/wdbc.csv");
    let text = std::fs::read_to_string(&csv).with_context(|| format!("reading {csv}"))?;
    let rows = medshare_records::csv::read(&schema, &text)?;
    let names: Vec<String> = schema.feature_names().map(str::to_owned).collect();
    let mut records = Vec::with_capacity(rows.len());
    for r in &rows {
        let label = r.record.label.context("a row without its label")?;
        records.push((r.record.select(&names)?, label));
    }
    let n = records.len();
    let n_test = (n as f64 * TEST_FRACTION).ceil() as usize;
    let splits: Vec<Vec<usize>> = (0..args.splits)
        .map(|k| {
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(1000 + k));
            let mut test = order[..n_test].to_vec();
            test.sort_unstable();
            test
        })
        .collect();
    let rules = TrainingRules {
        allow_non_private: true,
        ..TrainingRules::default()
    };
    let spec = |epsilon: f64| ModelSpec {
        kind: ModelKind::LogisticRegression {
            l2: 1.0,
            max_iterations: 500,
            tolerance: 1e-6,
        },
        features: names.clone(),
        label: schema.label.name.clone(),
        test_fraction: TEST_FRACTION,
        seed: 7,
        privacy: if epsilon.is_finite() {
            Privacy::new(epsilon, DELTA)
        } else {
            Privacy::non_private()
        },
    };
    let clip_norm = spec(1.0).privacy.clip_norm_for(names.len());

    let mut medshare = BTreeMap::new();
    let mut mia = BTreeMap::new();
    for &epsilon in &EPSILONS {
        let spec = spec(epsilon);
        let mut accuracies = Vec::with_capacity(splits.len());
        for test in &splits {
            let mut held_out = vec![false; n];
            test.iter().for_each(|&i| held_out[i] = true);
            let mut train = DatasetBuilder::with_capacity(names.len(), n - test.len());
            for (i, (x, y)) in records.iter().enumerate() {
                if !held_out[i] {
                    train.push(x, *y)?;
                }
            }
            let fitted = fit(&spec, &schema, train.finish(), &rules)?;
            let mut correct = 0usize;
            for &i in test {
                let (x, y) = &records[i];
                if f64::from(fitted.parameters.classify(x)?) == *y {
                    correct += 1;
                }
            }
            accuracies.push(correct as f64 / test.len() as f64);
        }
        medshare.insert(key(epsilon), stats(&accuracies));
        let mut all = DatasetBuilder::with_capacity(names.len(), n);
        for (x, y) in &records {
            all.push(x, *y)?;
        }
        let all = all.finish();
        let mut auc = 0.0;
        for seed in 0..MIA_HALVINGS {
            auc += membership_auc(&spec, &schema, all.clone(), &rules, seed)?;
        }
        mia.insert(
            key(epsilon),
            (auc / MIA_HALVINGS as f64 * 1e4).round() / 1e4,
        );
    }

    // diffprivlib on the same splits and inputs.
    let epsilons: Vec<Value> = EPSILONS
        .iter()
        .map(|&e| {
            if e.is_finite() {
                json!(e)
            } else {
                json!("inf")
            }
        })
        .collect();
    let ranges: Vec<[f64; 2]> = schema.features.iter().map(|f| [f.min, f.max]).collect();
    let dir = tempfile::tempdir()?;
    let splits_file = dir.path().join("splits.json");
    std::fs::write(
        &splits_file,
        serde_json::to_vec(&json!({
            "csv": csv, "features": names, "label": schema.label.name, "ranges": ranges,
            "data_norm": clip_norm, "delta": DELTA, "epsilons": epsilons, "test": splits,
        }))?,
    )?;
    let range_norm = (names.len() as f64).sqrt();
    let peer = |data_norm: f64| -> Result<BTreeMap<String, Accuracy>> {
        let out = std::process::Command::new(python::python()?)
            .arg(format!("{REPO}/bench/diffprivlib_logreg.py"))
            .arg(&splits_file)
            .arg(data_norm.to_string())
            .output()
            .context("running python3 for diffprivlib")?;
        if !out.status.success() {
            bail!(
                "the diffprivlib script failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let v: BTreeMap<String, Value> =
            serde_json::from_slice(&out.stdout).context("reading diffprivlib's figures")?;
        v.into_iter()
            .map(|(k, v)| {
                let mean = v["mean"].as_f64().context("mean")?;
                let min = v["min"].as_f64().context("min")?;
                Ok((
                    if k == "inf" {
                        k
                    } else {
                        key(k.parse::<f64>()?)
                    },
                    Accuracy {
                        mean: (mean * 1e4).round() / 1e4,
                        min: (min * 1e4).round() / 1e4,
                    },
                ))
            })
            .collect()
    };
    let diffprivlib = peer(clip_norm)?;
    let diffprivlib_range_bound = peer(range_norm)?;
    let mut versions = BTreeMap::new();
    for p in ["diffprivlib", "scikit-learn", "numpy"] {
        versions.insert(p.to_owned(), python::version(p)?);
    }
    versions.insert("medshare".to_owned(), env!("CARGO_PKG_VERSION").to_owned());
    let report = Report {
        epsilons,
        medshare,
        diffprivlib,
        diffprivlib_range_bound,
        mia_auc: mia,
        delta: DELTA,
        clip_norm: (clip_norm * 1e4).round() / 1e4,
        range_norm: (range_norm * 1e4).round() / 1e4,
        splits: args.splits,
        records: n,
        features: names.len(),
        versions,
    };
    let out = if args.no_write {
        None
    } else {
        Some(
            args.out
                .clone()
                .unwrap_or_else(|| PathBuf::from(format!("{REPO}/bench/results"))),
        )
    };
    if let Some(dir) = &out {
        std::fs::create_dir_all(dir)?;
        let json_path = dir.join("privacy.json");
        std::fs::write(&json_path, serde_json::to_vec_pretty(&report)?)?;
        std::fs::write(dir.join("privacy.md"), markdown(&report))?;
        let status = std::process::Command::new(python::python()?)
            .arg(format!("{REPO}/bench/plot_privacy.py"))
            .arg(&json_path)
            .arg(dir.join("privacy.png"))
            .status()
            .context("running python3 for the privacy plot")?;
        if !status.success() {
            bail!("the privacy plot failed ({status})");
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", markdown(&report));
    }
    Ok(())
}

fn markdown(r: &Report) -> String {
    let mut s = format!(
        "## Differential privacy: logistic regression on the breast cancer data\n\n{} patients, {} features, {} random splits (25 % held out), δ = {}. Accuracy mean / min over the splits; diffprivlib {} on the same splits and scaled inputs with medshare's clipping bound ({}) and with the ranges' bound √d ({}). Membership-inference AUC against medshare's model (0.5 = no better than guessing).\n\n| ε | medshare | diffprivlib (same bound) | diffprivlib (√d) | membership AUC |\n|---:|---|---|---|---:|\n",
        r.records,
        r.features,
        r.splits,
        r.delta,
        r.versions.get("diffprivlib").map_or("", String::as_str),
        r.clip_norm,
        r.range_norm
    );
    for e in &r.epsilons {
        let k = match e {
            Value::String(s) => s.clone(),
            v => key(v.as_f64().unwrap_or(f64::INFINITY)),
        };
        let cell = |m: &BTreeMap<String, Accuracy>| {
            m.get(&k).map_or("—".to_owned(), |a| {
                format!("{:.3} / {:.3}", a.mean, a.min)
            })
        };
        s += &format!(
            "| {k} | {} | {} | {} | {} |\n",
            cell(&r.medshare),
            cell(&r.diffprivlib),
            cell(&r.diffprivlib_range_bound),
            r.mia_auc
                .get(&k)
                .map_or("—".to_owned(), |a| format!("{a:.3}"))
        );
    }
    s += "\nAt ε = inf both sides train without differential privacy (medshare's exact fit, scikit-learn's LogisticRegression).\n";
    s
}
