//! Declarative model specs: what a demander asks the enclave to train.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The largest JSON spec [`ModelSpec::from_json`] parses.
pub const MAX_SPEC_BYTES: usize = 64 * 1024;

/// The most features a spec may select.
pub const MAX_FEATURES: usize = 4096;

/// The longest feature or label name, in bytes.
pub const MAX_NAME_BYTES: usize = 256;

/// Largest `max_iterations` for logistic regression.
pub const MAX_ITERATIONS: u64 = 10_000;

/// Largest `max_depth` for a decision tree.
pub const MAX_TREE_DEPTH: u32 = 64;

/// A model to train: which algorithm with which hyperparameters, on which columns, and how the
/// held-out evaluation split is drawn.
///
/// Specs are data, never code; they are reviewed, hashed and signed before the enclave runs them.
///
/// ```
/// use medshare_training::{ModelKind, ModelSpec};
///
/// let spec = ModelSpec::from_json(br#"{
///     "kind": { "type": "logistic_regression", "l2": 1.0, "max_iterations": 100, "tolerance": 1e-4 },
///     "features": ["radius_mean", "texture_mean"],
///     "label": "malignant",
///     "seed": 7
/// }"#)?;
/// assert!(matches!(spec.kind, ModelKind::LogisticRegression { .. }));
/// assert_eq!(spec.test_fraction, 0.25);
/// # Ok::<(), medshare_training::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The algorithm and its hyperparameters.
    pub kind: ModelKind,
    /// Names of the feature columns, in the order the dataset's columns are pushed; selected from
    /// the data type's schema.
    pub features: Vec<String>,
    /// Name of the label column.
    pub label: String,
    /// Fraction of the records held out for evaluation, in (0, 0.5]; 0.25 when absent.
    #[serde(default = "default_test_fraction")]
    pub test_fraction: f64,
    /// Seed of the train/test shuffle: the same seed on the same records gives the same result.
    pub seed: u64,
}

fn default_test_fraction() -> f64 {
    0.25
}

/// The algorithm of a [`ModelSpec`] and its hyperparameters.
///
/// In JSON the variant is named by a `type` field: `"logistic_regression"`,
/// `"ridge_regression"` or `"decision_tree"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ModelKind {
    /// Binary logistic regression on standardized features, fitted by argmin's L-BFGS.
    ///
    /// Minimizes `Σᵢ log(1 + exp(−yᵢ·(w·xᵢ + b))) + (l2 / 2)·‖w‖²`, so `l2` is scikit-learn's
    /// `1 / C` (scikit-learn's default `C = 1` is `l2 = 1`).
    LogisticRegression {
        /// L2 penalty weight, finite and `>= 0`.
        l2: f64,
        /// Iteration cap of the optimizer, in `1..=10_000`.
        max_iterations: u64,
        /// Stop once the gradient of the per-record loss has an L2 norm below this (scikit-learn's
        /// `tol`); finite and `> 0`.
        tolerance: f64,
    },
    /// Ridge (L2-penalized least squares) regression on standardized features (linfa-elasticnet).
    ///
    /// Minimizes `1/(2n)·‖y − Xw − b‖² + (alpha / 2)·‖w‖²`, so `alpha` is scikit-learn's Ridge
    /// `alpha` divided by the number of training records.
    RidgeRegression {
        /// L2 penalty weight, finite and `>= 0`.
        alpha: f64,
    },
    /// A CART classification tree (linfa-trees) on raw features.
    DecisionTree {
        /// Maximum depth, in `1..=64`.
        max_depth: u32,
        /// A node with fewer training records than this is not split; `>= 2`.
        min_samples_split: usize,
        /// The impurity measure that chooses splits.
        criterion: SplitCriterion,
    },
}

impl ModelKind {
    /// Whether the model predicts a 0/1 class (and labels must be 0 or 1).
    pub fn is_classifier(&self) -> bool {
        !matches!(self, Self::RidgeRegression { .. })
    }

    /// A short human-readable name of the algorithm.
    pub fn name(&self) -> &'static str {
        match self {
            Self::LogisticRegression { .. } => "logistic regression",
            Self::RidgeRegression { .. } => "ridge regression",
            Self::DecisionTree { .. } => "decision tree",
        }
    }
}

/// How a decision tree measures the impurity of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitCriterion {
    /// Gini impurity.
    Gini,
    /// Shannon entropy (information gain).
    Entropy,
}

impl ModelSpec {
    /// Parses a JSON spec and [validates](Self::validate) it.
    ///
    /// Refuses inputs over [`MAX_SPEC_BYTES`] before parsing, and unknown fields anywhere.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_SPEC_BYTES {
            return Err(Error::SpecTooLarge {
                size: bytes.len(),
                max: MAX_SPEC_BYTES,
            });
        }
        let spec: Self = serde_json::from_slice(bytes)?;
        spec.validate()?;
        Ok(spec)
    }

    /// Checks every hyperparameter and name; the error names the field and its allowed range.
    pub fn validate(&self) -> Result<()> {
        if !(self.test_fraction.is_finite()
            && self.test_fraction > 0.0
            && self.test_fraction <= 0.5)
        {
            return Err(bad("test_fraction", self.test_fraction, "in (0, 0.5]"));
        }
        match self.kind {
            ModelKind::LogisticRegression {
                l2,
                max_iterations,
                tolerance,
            } => {
                if !(l2.is_finite() && l2 >= 0.0) {
                    return Err(bad("l2", l2, "finite and >= 0"));
                }
                if !(1..=MAX_ITERATIONS).contains(&max_iterations) {
                    return Err(bad("max_iterations", max_iterations, "in 1..=10000"));
                }
                if !(tolerance.is_finite() && tolerance > 0.0) {
                    return Err(bad("tolerance", tolerance, "finite and > 0"));
                }
            }
            ModelKind::RidgeRegression { alpha } => {
                if !(alpha.is_finite() && alpha >= 0.0) {
                    return Err(bad("alpha", alpha, "finite and >= 0"));
                }
            }
            ModelKind::DecisionTree {
                max_depth,
                min_samples_split,
                criterion: _,
            } => {
                if !(1..=MAX_TREE_DEPTH).contains(&max_depth) {
                    return Err(bad("max_depth", max_depth, "in 1..=64"));
                }
                if min_samples_split < 2 {
                    return Err(bad("min_samples_split", min_samples_split, ">= 2"));
                }
            }
        }
        self.validate_names()
    }

    fn validate_names(&self) -> Result<()> {
        if self.features.is_empty() {
            return Err(invalid(
                "features",
                "at least one feature must be selected".into(),
            ));
        }
        if self.features.len() > MAX_FEATURES {
            return Err(invalid(
                "features",
                format!(
                    "{} features selected, at most {MAX_FEATURES} allowed",
                    self.features.len()
                ),
            ));
        }
        let mut seen = HashSet::with_capacity(self.features.len());
        for name in &self.features {
            check_name("features", name)?;
            if !seen.insert(name.as_str()) {
                return Err(invalid("features", format!("`{name}` is selected twice")));
            }
        }
        check_name("label", &self.label)?;
        if seen.contains(self.label.as_str()) {
            return Err(invalid(
                "label",
                format!("`{}` is also a feature", self.label),
            ));
        }
        Ok(())
    }
}

fn check_name(field: &'static str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(invalid(field, "names must not be empty".into()));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(invalid(
            field,
            format!("names must be at most {MAX_NAME_BYTES} bytes"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid(
            field,
            "names must not contain control characters".into(),
        ));
    }
    Ok(())
}

fn bad(field: &'static str, value: impl ToString, allowed: &'static str) -> Error {
    Error::InvalidHyperparameter {
        field,
        value: value.to_string(),
        allowed,
    }
}

fn invalid(field: &'static str, reason: String) -> Error {
    Error::InvalidSpec { field, reason }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn spec(kind: ModelKind) -> ModelSpec {
        ModelSpec {
            kind,
            features: vec!["a".into(), "b".into()],
            label: "y".into(),
            test_fraction: 0.25,
            seed: 1,
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
        })
    }

    fn rejected_field(spec: &ModelSpec) -> &'static str {
        match spec.validate() {
            Err(Error::InvalidHyperparameter { field, .. } | Error::InvalidSpec { field, .. }) => {
                field
            }
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
                 "criterion":"entropy"},"features":["a"],"label":"y","seed":9}"#,
        )
        .unwrap();
        assert_eq!(s.test_fraction, 0.25);
        assert_eq!(
            s.kind,
            ModelKind::DecisionTree {
                max_depth: 3,
                min_samples_split: 2,
                criterion: SplitCriterion::Entropy
            }
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let top = br#"{"kind":{"type":"ridge_regression","alpha":1.0},"features":["a"],
                       "label":"y","seed":1,"code":"import os"}"#;
        assert!(matches!(ModelSpec::from_json(top), Err(Error::SpecJson(_))));
        let inner = br#"{"kind":{"type":"ridge_regression","alpha":1.0,"solver":"x"},
                         "features":["a"],"label":"y","seed":1}"#;
        assert!(matches!(
            ModelSpec::from_json(inner),
            Err(Error::SpecJson(_))
        ));
        let kind = br#"{"kind":{"type":"neural_network"},"features":["a"],"label":"y","seed":1}"#;
        assert!(matches!(
            ModelSpec::from_json(kind),
            Err(Error::SpecJson(_))
        ));
        let missing =
            br#"{"kind":{"type":"ridge_regression"},"features":["a"],"label":"y","seed":1}"#;
        assert!(matches!(
            ModelSpec::from_json(missing),
            Err(Error::SpecJson(_))
        ));
    }

    #[test]
    fn from_json_validates() {
        let json = br#"{"kind":{"type":"ridge_regression","alpha":-1.0},"features":["a"],
                        "label":"y","seed":1}"#;
        assert!(matches!(
            ModelSpec::from_json(json),
            Err(Error::InvalidHyperparameter { field: "alpha", .. })
        ));
    }

    #[test]
    fn huge_input_is_refused_before_parsing() {
        let huge = vec![b' '; MAX_SPEC_BYTES + 1];
        assert!(matches!(
            ModelSpec::from_json(&huge),
            Err(Error::SpecTooLarge { .. })
        ));
    }
}
