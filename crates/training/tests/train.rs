//! The public API end to end: specs, datasets, training, metrics and the result's parameters.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::*;
use medshare_training::{
    DatasetBuilder, Error, Metrics, ModelKind, ModelSpec, Parameters, SplitCriterion,
    TrainingOutput, train,
};

fn spec(kind: ModelKind, d: usize, seed: u64) -> ModelSpec {
    ModelSpec {
        kind,
        features: (0..d).map(|j| format!("f{j}")).collect(),
        label: "y".into(),
        test_fraction: 0.25,
        seed,
    }
}

fn logistic() -> ModelKind {
    ModelKind::LogisticRegression {
        l2: 1.0,
        max_iterations: 100,
        tolerance: 1e-4,
    }
}

fn tree(max_depth: u32) -> ModelKind {
    ModelKind::DecisionTree {
        max_depth,
        min_samples_split: 2,
        criterion: SplitCriterion::Gini,
    }
}

fn classification(output: &TrainingOutput) -> (f64, f64) {
    match output.metrics {
        Metrics::Classification { accuracy, roc_auc } => (accuracy, roc_auc.unwrap()),
        Metrics::Regression { .. } => panic!("expected classification metrics"),
    }
}

#[test]
fn refuses_below_min_cohort() {
    let data = logistic_cohort(99, 3, 1);
    let err = train(&spec(logistic(), 3, 1), data, 100).unwrap_err();
    assert!(matches!(
        err,
        Error::CohortTooSmall {
            records: 99,
            required: 100
        }
    ));
    let message = err.to_string();
    assert!(
        message.contains("99") && message.contains("100"),
        "{message}"
    );
    // Exactly the minimum is enough.
    train(&spec(logistic(), 3, 1), logistic_cohort(100, 3, 1), 100).unwrap();
}

#[test]
fn logistic_regression_reaches_high_accuracy() {
    let d = 10;
    let out = train(&spec(logistic(), d, 5), logistic_cohort(4000, d, 2), 1000).unwrap();
    let (accuracy, auc) = classification(&out);
    assert!(accuracy > 0.9, "accuracy {accuracy}");
    assert!(auc > 0.95, "auc {auc}");
    assert_eq!(
        (out.records_used, out.train_size, out.test_size),
        (4000, 3000, 1000)
    );
    // The coefficients point the way of the true ones (the features were rescaled per column,
    // which standardization undoes).
    let Parameters::LogisticRegression(p) = &out.parameters else {
        panic!()
    };
    for (w, truth) in p.coefficients.iter().zip(logistic_weights(d)) {
        if truth != 0.0 {
            assert_eq!(w.signum(), truth.signum(), "{:?}", p.coefficients);
        }
    }
    assert_eq!(
        p.features,
        (0..d).map(|j| format!("f{j}")).collect::<Vec<_>>()
    );
}

#[test]
fn logistic_scores_class_one_when_it_is_the_minority() {
    // Shift the labels so that about 15% are positive: linfa models the majority class, and
    // the parameters must still give P(class 1).
    let mut b = DatasetBuilder::new(2);
    logistic_rows(2000, 2, 8, |row, _| {
        let label = f64::from(u8::from(row[0] - 10.0 > 1.0));
        b.push(row, label).unwrap();
    });
    let out = train(&spec(logistic(), 2, 1), b.finish(), 1).unwrap();
    let (accuracy, auc) = classification(&out);
    assert!(accuracy > 0.97 && auc > 0.99, "{accuracy} {auc}");
    assert!(out.parameters.score(&[13.0, 20.0]).unwrap() > 0.9);
    assert!(out.parameters.score(&[9.0, 20.0]).unwrap() < 0.1);
    assert_eq!(out.parameters.classify(&[13.0, 20.0]).unwrap(), 1);
}

#[test]
fn same_seed_same_output_other_seed_other_split() {
    for kind in [
        logistic(),
        ModelKind::RidgeRegression { alpha: 0.01 },
        tree(6),
    ] {
        let data = if kind.is_classifier() {
            logistic_cohort(1500, 4, 3)
        } else {
            ridge_cohort(1500, 3)
        };
        let a = train(&spec(kind.clone(), 4, 11), data.clone(), 10).unwrap();
        let b = train(&spec(kind.clone(), 4, 11), data.clone(), 10).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            serde_json::to_vec(&a).unwrap(),
            serde_json::to_vec(&b).unwrap()
        );
        let c = train(&spec(kind, 4, 12), data, 10).unwrap();
        assert_ne!(a.metrics, c.metrics);
    }
}

#[test]
fn tree_is_deterministic_with_tied_leaves() {
    // Every point appears twice with opposite labels, so most leaves hold a 50/50 tie: linfa's
    // own tie-breaking would follow HashMap order here.
    let mut b = DatasetBuilder::new(2);
    for i in 0..200 {
        let x = [(i % 10) as f64, (i / 10) as f64];
        b.push(&x, 0.0).unwrap();
        b.push(&x, 1.0).unwrap();
        b.push(&x, f64::from(u8::from(i % 3 == 0))).unwrap();
    }
    let data = b.finish();
    let first = train(&spec(tree(5), 2, 1), data.clone(), 1).unwrap();
    for _ in 0..20 {
        assert_eq!(train(&spec(tree(5), 2, 1), data.clone(), 1).unwrap(), first);
    }
}

#[test]
fn ridge_recovers_known_coefficients() {
    let out = train(
        &spec(ModelKind::RidgeRegression { alpha: 0.0 }, 4, 9),
        ridge_cohort(2000, 4),
        1,
    )
    .unwrap();
    let Metrics::Regression { rmse, r2 } = out.metrics else {
        panic!()
    };
    assert!(r2.unwrap() > 0.99, "r2 {r2:?}");
    assert!(rmse < 0.1, "rmse {rmse}");
    let Parameters::RidgeRegression(p) = &out.parameters else {
        panic!()
    };
    // Back to the raw scale: w_raw = w / std, b_raw = b − Σ w·mean / std.
    let raw: Vec<f64> = p
        .coefficients
        .iter()
        .zip(&p.stds)
        .map(|(w, s)| w / s)
        .collect();
    for (w, truth) in raw.iter().zip(RIDGE_TRUTH) {
        assert!((w - truth).abs() < 0.01, "{raw:?}");
    }
    let raw_intercept = p.intercept
        - p.coefficients
            .iter()
            .zip(&p.means)
            .zip(&p.stds)
            .map(|((w, m), s)| w * m / s)
            .sum::<f64>();
    assert!(
        (raw_intercept - RIDGE_INTERCEPT).abs() < 0.01,
        "{raw_intercept}"
    );
    assert!((out.parameters.score(&[1.0, 1.0, 1.0, 1.0]).unwrap() - 4.5).abs() < 0.02);
}

#[test]
fn decision_tree_beats_logistic_on_xor() {
    let data = xor_cohort(2000, 4);
    let tree_out = train(&spec(tree(4), 2, 1), data.clone(), 1).unwrap();
    let linear_out = train(&spec(logistic(), 2, 1), data, 1).unwrap();
    let (tree_accuracy, tree_auc) = classification(&tree_out);
    let (linear_accuracy, _) = classification(&linear_out);
    assert!(tree_accuracy > 0.95, "tree {tree_accuracy}");
    assert!(tree_auc > 0.95, "tree auc {tree_auc}");
    assert!(linear_accuracy < 0.7, "logistic {linear_accuracy}");
    let Parameters::DecisionTree(p) = &tree_out.parameters else {
        panic!()
    };
    assert!(p.nodes.len() >= 7, "{} nodes", p.nodes.len());
    assert_eq!(tree_out.parameters.classify(&[0.5, 0.5]).unwrap(), 0);
    assert_eq!(tree_out.parameters.classify(&[-0.5, 0.5]).unwrap(), 1);
}

#[test]
fn tree_depth_and_criterion_are_honoured() {
    let data = xor_cohort(1000, 5);
    let stump = train(&spec(tree(1), 2, 1), data.clone(), 1).unwrap();
    let Parameters::DecisionTree(p) = &stump.parameters else {
        panic!()
    };
    assert!(p.nodes.len() <= 3);
    let kind = ModelKind::DecisionTree {
        max_depth: 4,
        min_samples_split: 2,
        criterion: SplitCriterion::Entropy,
    };
    let (accuracy, _) = classification(&train(&spec(kind, 2, 1), data, 1).unwrap());
    assert!(accuracy > 0.95, "{accuracy}");
}

#[test]
fn classifier_labels_must_be_binary() {
    let mut b = DatasetBuilder::new(1);
    for i in 0..20 {
        b.push(&[i as f64], (i % 3) as f64).unwrap();
    }
    let data = b.finish();
    let err = train(&spec(logistic(), 1, 1), data.clone(), 1).unwrap_err();
    assert!(matches!(err, Error::NonBinaryLabels { count: 6 }), "{err}");
    assert!(matches!(
        train(&spec(tree(3), 1, 1), data.clone(), 1),
        Err(Error::NonBinaryLabels { .. })
    ));
    // Regression takes any finite label.
    train(
        &spec(ModelKind::RidgeRegression { alpha: 1.0 }, 1, 1),
        data,
        1,
    )
    .unwrap();
}

#[test]
fn single_class_and_shape_errors() {
    let mut b = DatasetBuilder::new(1);
    for i in 0..20 {
        b.push(&[i as f64], 1.0).unwrap();
    }
    let data = b.finish();
    assert!(matches!(
        train(&spec(logistic(), 1, 1), data.clone(), 1),
        Err(Error::SingleClass { class: 1 })
    ));
    assert!(matches!(
        train(&spec(logistic(), 2, 1), data, 1),
        Err(Error::FeatureCountMismatch { spec: 2, data: 1 })
    ));
    let mut one = DatasetBuilder::new(1);
    one.push(&[1.0], 1.0).unwrap();
    assert!(matches!(
        train(&spec(logistic(), 1, 1), one.finish(), 0),
        Err(Error::TooFewRecords { records: 1 })
    ));
    let mut bad = spec(logistic(), 1, 1);
    bad.test_fraction = 0.9;
    assert!(matches!(
        train(&bad, logistic_cohort(10, 1, 1), 0),
        Err(Error::InvalidHyperparameter {
            field: "test_fraction",
            ..
        })
    ));
}

#[test]
fn metrics_follow_from_the_returned_parameters() {
    // A held-out record's score through the public parameters equals what training saw: check
    // it by re-scoring the whole cohort and comparing accuracy on it with the held-out figure.
    let data = logistic_cohort(3000, 5, 6);
    let out = train(&spec(logistic(), 5, 2), data, 1).unwrap();
    let mut correct = 0usize;
    logistic_rows(3000, 5, 6, |row, label| {
        correct += usize::from(f64::from(out.parameters.classify(row).unwrap()) == label);
    });
    let (held_out, _) = classification(&out);
    assert!(
        (correct as f64 / 3000.0 - held_out).abs() < 0.03,
        "{correct} vs {held_out}"
    );
}

#[test]
fn output_json_round_trip() {
    for (kind, data) in [
        (logistic(), logistic_cohort(300, 4, 1)),
        (
            ModelKind::RidgeRegression { alpha: 0.5 },
            ridge_cohort(300, 1),
        ),
        (tree(3), logistic_cohort(300, 4, 1)),
    ] {
        let out = train(&spec(kind, 4, 1), data, 1).unwrap();
        let json = serde_json::to_string(&out).unwrap();
        let back: TrainingOutput = serde_json::from_str(&json).unwrap();
        assert_eq!(back, out);
        let spec_json = serde_json::to_vec(&spec(out.model.clone(), 4, 1)).unwrap();
        ModelSpec::from_json(&spec_json).unwrap();
    }
}

#[test]
fn tiny_cohorts_give_errors_or_results_never_panics() {
    for n in 2..8 {
        for kind in [
            logistic(),
            ModelKind::RidgeRegression { alpha: 1.0 },
            tree(3),
        ] {
            let data = if kind.is_classifier() {
                logistic_cohort(n, 3, n as u64)
            } else {
                ridge_cohort(n, 1)
            };
            let d = data.n_features();
            match train(&spec(kind, d, 1), data, 0) {
                Ok(out) => assert_eq!(out.records_used, n as u64),
                Err(Error::SingleClass { .. }) => {}
                Err(other) => panic!("n = {n}: {other}"),
            }
        }
    }
}
