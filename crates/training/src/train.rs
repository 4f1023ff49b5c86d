//! Checking a job against its rules, splitting, fitting and evaluating.

use std::ops::Range;

use linfa::DatasetBase;
use linfa::traits::Fit;
use linfa_elasticnet::ElasticNet;
use medshare_records::Schema;
use ndarray::{Array1, ArrayView2};

use crate::columns::{Columns, LabelColumn};
use crate::metrics::{
    ROC_BINS, accuracy, r2, rmse, roc_auc, roc_curve, roc_curve_from_counts, score_histogram,
};
use crate::privacy::noise::{GaussianNoise, bernoulli, compose, epsilon_for, rho_for};
use crate::{
    Dataset, Error, LinearParameters, Metrics, ModelKind, ModelSpec, Parameters, PrivacyReport,
    Result, TrainingOutput, TrainingRules, TreeParameters, private_logistic, ridge, tree,
};

/// Trains `spec` on `data` under `rules` and evaluates it on a held-out split.
///
/// Steps:
/// 1. Validate the spec; refuse ε = ∞ unless `rules.allow_non_private`, and ε above
///    `rules.max_epsilon`; look the spec's columns up in `schema` (the public ranges).
/// 2. Refuse fewer than `rules.min_cohort` records, δ ≥ 1/n, and labels other than 0/1 for a
///    classifier.
/// 3. Split. Private: each record is held out with probability `test_fraction`, by an OpenDP
///    coin, independently of the others (so a record influences one side only: the training
///    side and the evaluation side compose in parallel). Non-private: shuffle with `spec.seed`
///    and hold out the first `ceil(n · test_fraction)` records, deterministically.
/// 4. Clip every value into its range, then fit (see the crate documentation for each model's
///    mechanism), spending at most `(ε, δ)` on the training side.
/// 5. Evaluate the returned [`Parameters`] on the held-out records: exactly when non-private;
///    privately a noisy count of correct predictions (accuracy) and a noisy histogram of the
///    scores per class (the ROC curve), half of the held-out side's budget each, or noisy sums
///    of squares (RMSE, R²), at most `(ε, δ)` on the held-out side in all; ROC AUC is not
///    released then.
///
/// The whole output is `(ε, δ)`-differentially private with respect to adding or removing one
/// record (the counts `records_used`, `train_size`, `test_size` excepted: the audit trail
/// publishes them). With fresh noise on every run, the same spec and records give a different
/// output each time, unless ε = ∞. `data` is consumed and reordered in place.
pub fn train_with_rules(
    spec: &ModelSpec,
    schema: &Schema,
    mut data: Dataset,
    rules: &TrainingRules,
) -> Result<TrainingOutput> {
    let columns = check(spec, schema, &data, rules)?;
    let n = data.n_records();
    let n_test = if spec.privacy.is_private() {
        let mut held_out = Vec::with_capacity(n);
        for _ in 0..n {
            held_out.push(bernoulli(spec.test_fraction)?);
        }
        data.partition(&held_out)
    } else {
        // test_fraction is validated to be in (0, 0.5], so this is in 1..=ceil(n / 2).
        data.shuffle_for_holdout(spec.seed, spec.test_fraction)
    };
    // Under differential privacy each record is held out on its own coin, so a small cohort
    // can hold out none: the model is then fitted on every record and released without
    // metrics (redrawing until some record is held out would make one record's side depend
    // on the others', which the guarantee below does not allow).
    if n - n_test < 2 {
        return Err(Error::TooFewRecords { records: n });
    }
    let test = 0..n_test;
    let train = n_test..n;
    let (parameters, mut report, _) = fit_rows(spec, &columns, rules, &mut data, train.clone())?;
    let (metrics, rho_test) = if test.is_empty() {
        (None, None)
    } else {
        let (metrics, rho) = evaluate(spec, &columns, &parameters, &data, test.clone())?;
        (Some(metrics), rho)
    };
    if let (Some(rho), Some(delta)) = (rho_test, spec.privacy.delta) {
        // Training and evaluation see disjoint records: the guarantee is the larger of the two.
        report.epsilon = report.epsilon.max(epsilon_for(rho, delta)?);
        report.mechanism.push_str(match columns.label {
            LabelColumn::Binary => {
                "; held-out metrics: Gaussian noise on the count of correct predictions and on \
                 the per-class histogram of scores the ROC curve is read from (OpenDP, half of \
                 the budget each, zCDP composition), parallel to training"
            }
            LabelColumn::Numeric(_) => {
                "; held-out metrics: Gaussian noise on the sums of squares (OpenDP), parallel to \
                 training"
            }
        });
    }
    Ok(TrainingOutput {
        model: spec.kind.clone(),
        parameters,
        metrics,
        privacy: report,
        records_used: n as u64,
        train_size: train.len() as u64,
        test_size: test.len() as u64,
    })
}

/// A model fitted on every record given, without a held-out split or metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// The model.
    pub parameters: Parameters,
    /// The guarantee it was released under.
    pub privacy: PrivacyReport,
    /// Optimizer iterations run, for the iterative fit (non-private logistic regression's
    /// L-BFGS); `None` for the others.
    pub iterations: Option<u64>,
}

/// Fits `spec` on all of `data` under `rules`, with the same checks and mechanisms as
/// [`train_with_rules`] but no split and no metrics: for callers that hold out records
/// themselves (benchmarks, [`membership_auc`](crate::privacy::membership_auc)).
pub fn fit(
    spec: &ModelSpec,
    schema: &Schema,
    mut data: Dataset,
    rules: &TrainingRules,
) -> Result<Fitted> {
    let columns = check(spec, schema, &data, rules)?;
    let n = data.n_records();
    let (parameters, privacy, iterations) = fit_rows(spec, &columns, rules, &mut data, 0..n)?;
    Ok(Fitted {
        parameters,
        privacy,
        iterations,
    })
}

/// The old entry point: `rules` of [`TrainingRules::new`]`(max(min_cohort, 50))` (private
/// training only) and the built-in schema whose columns the spec names.
#[deprecated(note = "use `train_with_rules` with the data type's schema and the governance rules")]
pub fn train(spec: &ModelSpec, data: Dataset, min_cohort: usize) -> Result<TrainingOutput> {
    let schema = Schema::wdbc();
    let rules = TrainingRules::new(min_cohort.max(TrainingRules::DEFAULT_MIN_COHORT));
    train_with_rules(spec, &schema, data, &rules)
}

/// Everything refused before any record is looked at, then the cohort checks.
fn check(
    spec: &ModelSpec,
    schema: &Schema,
    data: &Dataset,
    rules: &TrainingRules,
) -> Result<Columns> {
    rules.check_spec(spec)?;
    let privacy = spec.privacy;
    let columns = Columns::of(spec, schema)?;
    if data.n_features() != spec.features.len() {
        return Err(Error::FeatureCountMismatch {
            spec: spec.features.len(),
            data: data.n_features(),
        });
    }
    let n = data.n_records();
    if n < rules.min_cohort {
        return Err(Error::CohortTooSmall {
            records: n,
            required: rules.min_cohort,
        });
    }
    if let Some(delta) = privacy.delta
        && delta * n as f64 >= 1.0
    {
        return Err(Error::DeltaTooLarge { delta, records: n });
    }
    if columns.label == LabelColumn::Binary {
        let count = data
            .labels()
            .iter()
            .filter(|&&l| l != 0.0 && l != 1.0)
            .count();
        if count > 0 {
            return Err(Error::NonBinaryLabels { count });
        }
    }
    Ok(columns)
}

/// Clips `rows` and fits on them; returns the parameters, what the fit spent and the
/// optimizer's iterations (for iterative fits).
fn fit_rows(
    spec: &ModelSpec,
    columns: &Columns,
    rules: &TrainingRules,
    data: &mut Dataset,
    rows: Range<usize>,
) -> Result<(Parameters, PrivacyReport, Option<u64>)> {
    let label_range = match columns.label {
        LabelColumn::Numeric(r) => Some(r),
        LabelColumn::Binary => None,
    };
    data.clip(&columns.features, label_range);
    let privacy = spec.privacy;
    let budget = match privacy.delta {
        Some(delta) if privacy.is_private() => Some((rho_for(privacy.epsilon, delta)?, delta)),
        _ => None,
    };
    let d = data.n_features();
    let ranges = columns.features.clone();
    let linear = |coefficients: Vec<f64>, intercept: f64| LinearParameters {
        features: spec.features.clone(),
        ranges: ranges.clone(),
        coefficients,
        intercept,
    };
    let mut iterations = None;
    let (parameters, rho, mechanism) = match spec.kind {
        ModelKind::LogisticRegression {
            l2,
            max_iterations,
            tolerance,
        } => {
            check_both_classes(&data.labels()[rows.clone()])?;
            data.scale(rows.clone(), &columns.features);
            let labels = data.labels()[rows.clone()].to_vec();
            match budget {
                Some((rho, _)) => {
                    let clip = privacy
                        .clip_norm
                        .unwrap_or_else(|| private_logistic::default_clip_norm(d));
                    let fitted =
                        private_logistic::fit(data.rows_mut(rows), d, &labels, l2, clip, rho)?;
                    let mechanism = format!(
                        "noisy gradient descent: noisy centre, records clipped to L2 norm {clip}, \
                         {} full-batch steps with Gaussian noise sigma {:.4} (OpenDP); \
                         zCDP accounting converted to (epsilon, delta) by OpenDP",
                        fitted.steps, fitted.step_noise
                    );
                    let p = linear(fitted.weights, fitted.intercept);
                    (
                        Parameters::LogisticRegression(p),
                        Some(fitted.rho),
                        mechanism,
                    )
                }
                None => {
                    // The objective is summed over records, so its gradient is `train_size`
                    // times the per-record gradient that `tolerance` is stated for.
                    let model = crate::logistic::fit(
                        data.rows_mut(rows.clone()),
                        d,
                        &labels,
                        l2,
                        max_iterations,
                        tolerance * rows.len() as f64,
                    )
                    .map_err(|e| fit_error("logistic regression", e))?;
                    iterations = Some(model.iterations);
                    let p = linear(model.weights, model.intercept);
                    (Parameters::LogisticRegression(p), None, non_private())
                }
            }
        }
        ModelKind::RidgeRegression { alpha } => {
            let Some(label) = label_range else {
                return Err(fit_error("ridge regression", "the label has no range"));
            };
            data.scale(rows.clone(), &columns.features);
            match budget {
                Some((rho, _)) => {
                    let scaled: Vec<f64> = data.labels()[rows.clone()]
                        .iter()
                        .map(|y| label.scale(*y))
                        .collect();
                    let fitted = ridge::fit(data.rows_mut(rows.clone()), d, &scaled, alpha, rho)?;
                    // Back to the label's unit: y = min + (ŷ + 1)·(max − min)/2.
                    let half = 0.5 * (label.max - label.min);
                    let p = linear(
                        fitted.weights.iter().map(|w| w * half).collect(),
                        label.unscale(fitted.intercept),
                    );
                    let mechanism = format!(
                        "sufficient statistics perturbation: Gaussian noise sigma {:.4} on \
                         X'X and X'y of the scaled records (OpenDP), then the ridge normal \
                         equations; zCDP accounting converted to (epsilon, delta) by OpenDP",
                        fitted.noise.scale()
                    );
                    (
                        Parameters::RidgeRegression(p),
                        Some(fitted.noise.rho()),
                        mechanism,
                    )
                }
                None => {
                    let y: Array1<f64> = data.labels()[rows.clone()].iter().copied().collect();
                    let x = ArrayView2::from_shape((rows.len(), d), data.rows(rows.clone()))
                        .map_err(|e| fit_error("ridge regression", e))?;
                    let model = ElasticNet::<f64>::ridge()
                        .penalty(alpha)
                        .fit(&DatasetBase::new(x, y))
                        .map_err(|e| fit_error("ridge regression", e))?;
                    let p = linear(model.hyperplane().to_vec(), model.intercept());
                    (Parameters::RidgeRegression(p), None, non_private())
                }
            }
        }
        ModelKind::DecisionTree {
            max_depth,
            min_samples_split,
            criterion,
            bins,
        } => {
            check_both_classes(&data.labels()[rows.clone()])?;
            let settings = tree::Settings {
                max_depth,
                min_samples_split,
                min_leaf: rules.min_leaf(),
                criterion,
                bins,
            };
            let tree_budget = match budget {
                Some((rho, _)) => tree::Budget::Private { rho },
                None => tree::Budget::Exact,
            };
            let labels = data.labels()[rows.clone()].to_vec();
            let grown = tree::grow(
                data.rows_mut(rows),
                d,
                &labels,
                &columns.features,
                &settings,
                &tree_budget,
            )?;
            let p = TreeParameters {
                features: spec.features.clone(),
                nodes: grown.nodes,
            };
            let (rho, mechanism) = match budget {
                Some(_) => (
                    Some(grown.rho),
                    "decision tree on a public threshold grid: splits by the exponential \
                     mechanism, node sizes and leaf labels from Gaussian counts (OpenDP); zCDP \
                     accounting converted to (epsilon, delta) by OpenDP"
                        .to_owned(),
                ),
                None => (None, non_private()),
            };
            (Parameters::DecisionTree(p), rho, mechanism)
        }
    };
    let report = match (rho, budget) {
        (Some(rho), Some((_, delta))) => PrivacyReport {
            epsilon: epsilon_for(rho, delta)?,
            delta,
            mechanism,
        },
        _ => PrivacyReport {
            epsilon: f64::INFINITY,
            delta: 0.0,
            mechanism,
        },
    };
    Ok((parameters, report, iterations))
}

fn non_private() -> String {
    "none: epsilon = inf, trained and evaluated without noise".to_owned()
}

fn fit_error(model: &'static str, error: impl std::fmt::Display) -> Error {
    Error::Fit {
        model,
        reason: error.to_string(),
    }
}

/// Checks that both classes occur among 0/1 labels.
fn check_both_classes(labels: &[f64]) -> Result<()> {
    let positives = labels.iter().filter(|&&l| l == 1.0).count();
    if positives == 0 {
        return Err(Error::SingleClass { class: 0 });
    }
    if positives == labels.len() {
        return Err(Error::SingleClass { class: 1 });
    }
    Ok(())
}

/// The share of the held-out side's ρ that the noisy count of correct predictions spends; the
/// noisy histogram of the ROC curve spends the rest.
const ACCURACY_SHARE: f64 = 0.5;

/// Private classification metrics, and what releasing them cost.
struct ReleasedClassification {
    metrics: Metrics,
    /// ρ spent: OpenDP's zCDP composition of the two mechanisms, at most the ρ given.
    rho: f64,
    /// The noisy per-bin counts the curve was read from, positives then negatives.
    #[cfg_attr(not(test), allow(dead_code))]
    noisy_counts: Vec<f64>,
    /// σ of the count's and of the histogram's Gaussian noise.
    #[cfg_attr(not(test), allow(dead_code))]
    scales: (f64, f64),
}

/// Releases a classifier's held-out metrics under differential privacy, spending at most `rho`
/// (zCDP) on the `m` held-out records, neighbouring datasets differing by adding or removing
/// one held-out record (as for the training side):
/// - `accuracy`: the count of correct predictions `correct` plus OpenDP Gaussian noise
///   (sensitivity 1: one record changes the count by at most 1) at `ACCURACY_SHARE · rho`,
///   over the public `m`, clamped to `[0, 1]`;
/// - `roc_curve`: the histogram of scores per class (`positives`, `negatives`, [`ROC_BINS`]
///   bins each) plus OpenDP Gaussian noise on all `2 · ROC_BINS` counts (L2 sensitivity 1: one
///   record is in exactly one bin of one class) at the rest of `rho`, then
///   [`roc_curve_from_counts`], a post-processing that costs nothing.
///
/// The two are composed by OpenDP's zCDP composition (ρs add up), so the pair is at most
/// `rho`-zCDP. `roc_auc` is not released.
fn release_classification(
    correct: usize,
    m: usize,
    positives: &[f64],
    negatives: &[f64],
    rho: f64,
) -> Result<ReleasedClassification> {
    let count_noise = GaussianNoise::calibrate(1, 1.0, ACCURACY_SHARE * rho)?;
    let noisy_correct = count_noise.release(&[correct as f64])?;
    let histogram_noise =
        GaussianNoise::calibrate(2 * ROC_BINS, 1.0, (1.0 - ACCURACY_SHARE) * rho)?;
    let counts: Vec<f64> = positives.iter().chain(negatives).copied().collect();
    let noisy_counts = histogram_noise.release(&counts)?;
    let (noisy_positives, noisy_negatives) = noisy_counts.split_at(ROC_BINS);
    let metrics = Metrics::Classification {
        accuracy: (noisy_correct[0] / m as f64).clamp(0.0, 1.0),
        roc_auc: None,
        roc_curve: roc_curve_from_counts(noisy_positives, noisy_negatives),
    };
    Ok(ReleasedClassification {
        metrics,
        rho: compose(vec![count_noise.rho(), histogram_noise.rho()])?,
        noisy_counts,
        scales: (count_noise.scale(), histogram_noise.scale()),
    })
}

/// Held-out metrics through the public [`Parameters`] on the raw test records; noisy (and the
/// ρ spent) when the spec is private.
fn evaluate(
    spec: &ModelSpec,
    columns: &Columns,
    parameters: &Parameters,
    data: &Dataset,
    test: Range<usize>,
) -> Result<(Metrics, Option<f64>)> {
    let undefined = || Error::TooFewRecords {
        records: test.len(),
    };
    let m = test.len() as f64;
    let actual: Vec<f64> = data.labels()[test.clone()].to_vec();
    let scores = test
        .clone()
        .map(|i| parameters.score(data.row(i)))
        .collect::<Result<Vec<_>>>()?;
    let private = match spec.privacy.delta {
        Some(delta) if spec.privacy.is_private() => Some(rho_for(spec.privacy.epsilon, delta)?),
        _ => None,
    };
    match (columns.label, private) {
        (LabelColumn::Binary, None) => {
            let predicted = test
                .clone()
                .map(|i| parameters.classify(data.row(i)).map(|c| c == 1))
                .collect::<Result<Vec<_>>>()?;
            let positive: Vec<bool> = actual.iter().map(|&l| l == 1.0).collect();
            let metrics = Metrics::Classification {
                accuracy: accuracy(&predicted, &positive).ok_or_else(undefined)?,
                roc_auc: roc_auc(&scores, &positive),
                roc_curve: roc_curve(&scores, &positive),
            };
            Ok((metrics, None))
        }
        (LabelColumn::Binary, Some(rho)) => {
            let mut correct = 0usize;
            for (i, &label) in test.clone().zip(&actual) {
                correct += usize::from(f64::from(parameters.classify(data.row(i))?) == label);
            }
            let positive: Vec<bool> = actual.iter().map(|&l| l == 1.0).collect();
            let (positives, negatives) =
                score_histogram(&scores, &positive).ok_or_else(undefined)?;
            let released =
                release_classification(correct, test.len(), &positives, &negatives, rho)?;
            Ok((released.metrics, Some(released.rho)))
        }
        (LabelColumn::Numeric(_), None) => {
            let metrics = Metrics::Regression {
                rmse: rmse(&scores, &actual).ok_or_else(undefined)?,
                r2: r2(&scores, &actual),
            };
            Ok((metrics, None))
        }
        (LabelColumn::Numeric(range), Some(rho)) => {
            // Per record, each of these is at most 1 in absolute value: the squared error of a
            // prediction clipped to the range over the squared width, and the label scaled to
            // [−1, 1] and its square. So one record moves the vector by at most √3.
            let width = range.max - range.min;
            let half = 0.5 * width;
            let mut sums = [0.0; 3];
            for (s, y) in scores.iter().zip(&actual) {
                let e = (range.clip(*s) - y) / width;
                let t = range.scale(*y);
                sums[0] += e * e;
                sums[1] += t;
                sums[2] += t * t;
            }
            let noise = GaussianNoise::calibrate(3, 3f64.sqrt(), rho)?;
            let noisy = noise.release(&sums)?;
            let sse = noisy[0].max(0.0) * width * width;
            let sst = (noisy[2] - noisy[1] * noisy[1] / m).max(0.0) * half * half;
            let metrics = Metrics::Regression {
                rmse: (sse / m).sqrt(),
                r2: (sst > 0.0).then(|| 1.0 - sse / sst),
            };
            Ok((metrics, Some(noise.rho())))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A held-out set of 150: 60 positives scored high, 90 negatives scored low.
    fn histogram() -> (Vec<f64>, Vec<f64>) {
        let mut positives = vec![0.0; ROC_BINS];
        let mut negatives = vec![0.0; ROC_BINS];
        positives[19] = 40.0;
        positives[15] = 15.0;
        positives[6] = 5.0;
        negatives[0] = 70.0;
        negatives[3] = 12.0;
        negatives[12] = 8.0;
        (positives, negatives)
    }

    /// What the held-out side spends stays within its ρ and the job's ε, and the histogram is
    /// noised (the test fails if it were released as it is): σ = 1/√(2·ρ/2) on every count.
    #[test]
    fn private_classification_metrics_are_noisy_and_within_budget() {
        let (epsilon, delta) = (1.0, 1e-5);
        let rho = rho_for(epsilon, delta).unwrap();
        let (positives, negatives) = histogram();
        let exact: Vec<f64> = positives.iter().chain(&negatives).copied().collect();
        let exact_curve = roc_curve_from_counts(&positives, &negatives).unwrap();
        for _ in 0..20 {
            let released = release_classification(128, 150, &positives, &negatives, rho).unwrap();
            assert!(
                released.rho <= rho * (1.0 + 1e-12),
                "{} > {rho}",
                released.rho
            );
            assert!(released.rho > 0.999 * rho, "{}", released.rho);
            assert!(epsilon_for(released.rho, delta).unwrap() <= epsilon);
            let (count_scale, histogram_scale) = released.scales;
            let formula = 1.0 / (2.0 * 0.5 * rho).sqrt();
            assert!((count_scale / formula - 1.0).abs() < 1e-6, "{count_scale}");
            assert!(
                (histogram_scale / formula - 1.0).abs() < 1e-6,
                "{histogram_scale}"
            );
            // Every released count differs from the true one (noise on a 2^−40 grid).
            assert_eq!(released.noisy_counts.len(), 2 * ROC_BINS);
            for (noisy, truth) in released.noisy_counts.iter().zip(&exact) {
                assert_ne!(noisy, truth);
            }
            let Metrics::Classification {
                accuracy,
                roc_auc,
                roc_curve: Some(curve),
            } = released.metrics
            else {
                panic!("{:?}", released.metrics)
            };
            assert!((0.0..=1.0).contains(&accuracy));
            assert_eq!(roc_auc, None);
            assert_ne!(curve, exact_curve);
            assert_eq!(curve.len(), ROC_BINS + 1);
            assert_eq!(
                (curve[0].false_positive_rate, curve[0].true_positive_rate),
                (0.0, 0.0)
            );
            let last = curve[ROC_BINS];
            assert_eq!(
                (last.false_positive_rate, last.true_positive_rate),
                (1.0, 1.0)
            );
            for w in curve.windows(2) {
                assert!(w[1].false_positive_rate >= w[0].false_positive_rate);
                assert!(w[1].true_positive_rate >= w[0].true_positive_rate);
            }
        }
    }

    /// The noisy curve stays near the exact one: at ε = 1 on 150 records, the mean absolute
    /// error of the rates over the thresholds is a few hundredths to a tenth or so.
    #[test]
    fn private_curve_is_close_to_the_exact_one() {
        let rho = rho_for(1.0, 1e-5).unwrap();
        let (positives, negatives) = histogram();
        let exact = roc_curve_from_counts(&positives, &negatives).unwrap();
        let (mut error, mut n) = (0.0, 0.0);
        for _ in 0..200 {
            let released = release_classification(128, 150, &positives, &negatives, rho).unwrap();
            if let Metrics::Classification {
                roc_curve: Some(curve),
                ..
            } = released.metrics
            {
                for (p, e) in curve.iter().zip(&exact) {
                    error += (p.false_positive_rate - e.false_positive_rate).abs()
                        + (p.true_positive_rate - e.true_positive_rate).abs();
                    n += 2.0;
                }
            }
        }
        let mean = error / n;
        assert!(mean < 0.15, "{mean}");
        eprintln!("mean absolute error of the private ROC rates: {mean:.4}");
    }
}
