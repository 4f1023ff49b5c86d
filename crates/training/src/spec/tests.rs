//! Tests of spec parsing and validation: every field refused out of range, unknown fields
//! refused, ε spelled "inf".

#![allow(clippy::unwrap_used)]

use super::*;

fn spec(kind: ModelKind) -> ModelSpec {
    ModelSpec {
        kind,
        features: vec!["a".into(), "b".into()],
        label: "y".into(),
        test_fraction: 0.25,
        seed: 1,
        privacy: Privacy::new(1.0, 1e-5),
    }
}

fn logistic(l2: f64, max_iterations: u64, tolerance: f64) -> ModelSpec {
    spec(ModelKind::LogisticRegression {
        l2,
        max_iterations,
        tolerance,
    })
}

fn tree(max_depth: u32, min_samples_split: usize) -> ModelSpec {
    spec(ModelKind::DecisionTree {
        max_depth,
        min_samples_split,
        criterion: SplitCriterion::Gini,
        bins: 8,
    })
}

fn rejected_field(spec: &ModelSpec) -> &'static str {
    match spec.validate() {
        Err(Error::InvalidHyperparameter { field, .. } | Error::InvalidSpec { field, .. }) => field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn valid_specs_pass() {
    logistic(0.0, 1, 1e-9).validate().unwrap();
    logistic(1.0, MAX_ITERATIONS, 1e-4).validate().unwrap();
    spec(ModelKind::RidgeRegression { alpha: 0.0 })
        .validate()
        .unwrap();
    tree(1, 2).validate().unwrap();
    tree(64, 1000).validate().unwrap();
    let mut s = tree(3, 2);
    s.test_fraction = 0.5;
    s.validate().unwrap();
}

#[test]
fn each_bad_hyperparameter_is_named() {
    assert_eq!(rejected_field(&logistic(-0.1, 100, 1e-4)), "l2");
    assert_eq!(rejected_field(&logistic(f64::NAN, 100, 1e-4)), "l2");
    assert_eq!(rejected_field(&logistic(f64::INFINITY, 100, 1e-4)), "l2");
    assert_eq!(rejected_field(&logistic(1.0, 0, 1e-4)), "max_iterations");
    assert_eq!(
        rejected_field(&logistic(1.0, 10_001, 1e-4)),
        "max_iterations"
    );
    assert_eq!(rejected_field(&logistic(1.0, 100, 0.0)), "tolerance");
    assert_eq!(rejected_field(&logistic(1.0, 100, -1.0)), "tolerance");
    assert_eq!(rejected_field(&logistic(1.0, 100, f64::NAN)), "tolerance");
    assert_eq!(
        rejected_field(&spec(ModelKind::RidgeRegression { alpha: -1.0 })),
        "alpha"
    );
    assert_eq!(
        rejected_field(&spec(ModelKind::RidgeRegression { alpha: f64::NAN })),
        "alpha"
    );
    assert_eq!(rejected_field(&tree(0, 2)), "max_depth");
    assert_eq!(rejected_field(&tree(65, 2)), "max_depth");
    assert_eq!(rejected_field(&tree(3, 1)), "min_samples_split");
    assert_eq!(rejected_field(&tree(3, 0)), "min_samples_split");
    for bins in [0, 1, 65] {
        let s = spec(ModelKind::DecisionTree {
            max_depth: 3,
            min_samples_split: 2,
            criterion: SplitCriterion::Gini,
            bins,
        });
        assert_eq!(rejected_field(&s), "bins");
    }
    for fraction in [0.0, -0.1, 0.51, 1.0, f64::NAN] {
        let mut s = tree(3, 2);
        s.test_fraction = fraction;
        assert_eq!(rejected_field(&s), "test_fraction");
    }
}

#[test]
fn error_message_names_field_and_range() {
    let message = logistic(1.0, 0, 1e-4).validate().unwrap_err().to_string();
    assert!(message.contains("`max_iterations`"), "{message}");
    assert!(message.contains("1..=10000"), "{message}");
    let message = tree(65, 2).validate().unwrap_err().to_string();
    assert!(message.contains("`max_depth` is 65"), "{message}");
    assert!(message.contains("1..=64"), "{message}");
}

#[test]
fn bad_names_are_rejected() {
    let mut s = tree(3, 2);
    s.features.clear();
    assert_eq!(rejected_field(&s), "features");
    let mut s = tree(3, 2);
    s.features.push("a".into());
    assert_eq!(rejected_field(&s), "features");
    let mut s = tree(3, 2);
    s.features.push(" ".into());
    assert_eq!(rejected_field(&s), "features");
    let mut s = tree(3, 2);
    s.label = "a".into();
    assert_eq!(rejected_field(&s), "label");
    let mut s = tree(3, 2);
    s.label = String::new();
    assert_eq!(rejected_field(&s), "label");
    let mut s = tree(3, 2);
    s.features = (0..=MAX_FEATURES).map(|i| format!("f{i}")).collect();
    assert_eq!(rejected_field(&s), "features");
}

#[test]
fn json_round_trip() {
    for s in [
        logistic(0.5, 200, 1e-5),
        spec(ModelKind::RidgeRegression { alpha: 0.1 }),
        spec(ModelKind::DecisionTree {
            max_depth: 5,
            min_samples_split: 4,
            criterion: SplitCriterion::Entropy,
            bins: 16,
        }),
    ] {
        let json = serde_json::to_vec(&s).unwrap();
        assert_eq!(ModelSpec::from_json(&json).unwrap(), s);
    }
}

#[test]
fn json_shape_and_default_test_fraction() {
    let s = ModelSpec::from_json(
        br#"{"kind":{"type":"decision_tree","max_depth":3,"min_samples_split":2,
             "criterion":"entropy"},"features":["a"],"label":"y","seed":9,
             "privacy":{"epsilon":2,"delta":1e-6}}"#,
    )
    .unwrap();
    assert_eq!(s.test_fraction, 0.25);
    assert_eq!(
        s.kind,
        ModelKind::DecisionTree {
            max_depth: 3,
            min_samples_split: 2,
            criterion: SplitCriterion::Entropy,
            bins: 8,
        }
    );
}

#[test]
fn unknown_fields_are_refused() {
    let top = br#"{"kind":{"type":"ridge_regression","alpha":1.0},"features":["a"],
                   "label":"y","seed":1,"code":"import os",
                   "privacy":{"epsilon":1,"delta":1e-5}}"#;
    assert!(matches!(ModelSpec::from_json(top), Err(Error::SpecJson(_))));
    let inner = br#"{"kind":{"type":"ridge_regression","alpha":1.0,"solver":"x"},
                     "features":["a"],"label":"y","seed":1,"privacy":{"epsilon":"inf"}}"#;
    assert!(matches!(
        ModelSpec::from_json(inner),
        Err(Error::SpecJson(_))
    ));
    let kind = br#"{"kind":{"type":"neural_network"},"features":["a"],"label":"y","seed":1}"#;
    assert!(matches!(
        ModelSpec::from_json(kind),
        Err(Error::SpecJson(_))
    ));
    let missing = br#"{"kind":{"type":"ridge_regression"},"features":["a"],"label":"y","seed":1}"#;
    assert!(matches!(
        ModelSpec::from_json(missing),
        Err(Error::SpecJson(_))
    ));
}

#[test]
fn from_json_validates() {
    let json = br#"{"kind":{"type":"ridge_regression","alpha":-1.0},"features":["a"],
                    "label":"y","seed":1,"privacy":{"epsilon":1,"delta":1e-5}}"#;
    assert!(matches!(
        ModelSpec::from_json(json),
        Err(Error::InvalidHyperparameter { field: "alpha", .. })
    ));
}

fn privacy_of(json: &str) -> Result<ModelSpec> {
    ModelSpec::from_json(
        format!(
            r#"{{"kind":{{"type":"ridge_regression","alpha":1.0}},"features":["a"],
                 "label":"y","seed":1,"privacy":{json}}}"#
        )
        .as_bytes(),
    )
}

fn refused_privacy_field(result: Result<ModelSpec>) -> &'static str {
    match result {
        Err(Error::InvalidPrivacy { field, .. }) => field,
        other => panic!("expected a privacy error, got {other:?}"),
    }
}

#[test]
fn privacy_parameters_are_validated() {
    assert_eq!(
        privacy_of(r#"{"epsilon":0.5,"delta":1e-6}"#)
            .unwrap()
            .privacy,
        Privacy::new(0.5, 1e-6)
    );
    assert_eq!(
        privacy_of(r#"{"epsilon":"inf"}"#).unwrap().privacy,
        Privacy::non_private()
    );
    for (json, field) in [
        (r#"{"epsilon":0,"delta":1e-5}"#, "epsilon"),
        (r#"{"epsilon":-1,"delta":1e-5}"#, "epsilon"),
        (r#"{"epsilon":1}"#, "delta"),
        (r#"{"epsilon":1,"delta":0}"#, "delta"),
        (r#"{"epsilon":1,"delta":1}"#, "delta"),
        (r#"{"epsilon":1,"delta":-1e-5}"#, "delta"),
        (r#"{"epsilon":"inf","delta":1e-5}"#, "delta"),
    ] {
        assert_eq!(refused_privacy_field(privacy_of(json)), field, "{json}");
    }
    // NaN cannot be written in JSON, but a spec built in code can hold it.
    let mut s = spec(ModelKind::RidgeRegression { alpha: 1.0 });
    s.privacy.epsilon = f64::NAN;
    assert_eq!(
        refused_privacy_field(s.validate().map(|()| s.clone())),
        "epsilon"
    );
    s.privacy = Privacy::new(1.0, f64::NAN);
    assert_eq!(
        refused_privacy_field(s.validate().map(|()| s.clone())),
        "delta"
    );
    // Clipping is a logistic regression setting.
    s.privacy = Privacy {
        clip_norm: Some(1.0),
        ..Privacy::new(1.0, 1e-5)
    };
    assert_eq!(
        refused_privacy_field(s.validate().map(|()| s.clone())),
        "clip_norm"
    );
    let mut l = logistic(1.0, 100, 1e-4);
    l.privacy.clip_norm = Some(0.0);
    assert_eq!(
        refused_privacy_field(l.validate().map(|()| l.clone())),
        "clip_norm"
    );
    l.privacy.clip_norm = Some(2.0);
    l.validate().unwrap();
    // Unknown spellings and a missing section are refused too.
    assert!(matches!(
        privacy_of(r#"{"epsilon":"infinite"}"#),
        Err(Error::SpecJson(_))
    ));
    assert!(matches!(
        privacy_of(r#"{"epsilon":1,"delta":1e-5,"mechanism":"none"}"#),
        Err(Error::SpecJson(_))
    ));
    let missing = br#"{"kind":{"type":"ridge_regression","alpha":1.0},"features":["a"],
                       "label":"y","seed":1}"#;
    assert!(matches!(
        ModelSpec::from_json(missing),
        Err(Error::SpecJson(_))
    ));
}

#[test]
fn epsilon_inf_round_trips_as_a_string() {
    let json = serde_json::to_string(&Privacy::non_private()).unwrap();
    assert_eq!(json, r#"{"epsilon":"inf"}"#);
    let json = serde_json::to_string(&Privacy::new(2.0, 1e-6)).unwrap();
    assert_eq!(json, r#"{"epsilon":2.0,"delta":1e-6}"#);
}

#[test]
fn huge_input_is_refused_before_parsing() {
    let huge = vec![b' '; MAX_SPEC_BYTES + 1];
    assert!(matches!(
        ModelSpec::from_json(&huge),
        Err(Error::SpecTooLarge { .. })
    ));
}
