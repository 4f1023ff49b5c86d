//! Declarative model specs: what a demander asks the enclave to train.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

mod dp_params;
#[cfg(test)]
mod tests;

pub use dp_params::Privacy;
pub(crate) use dp_params::epsilon_json;

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

/// Largest `bins` (candidate thresholds + 1 per feature) for a decision tree.
pub const MAX_TREE_BINS: u32 = 64;

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
///     "label": "diagnosis",
///     "seed": 7,
///     "privacy": { "epsilon": 1.0, "delta": 1e-5 }
/// }"#)?;
/// assert!(matches!(spec.kind, ModelKind::LogisticRegression { .. }));
/// assert_eq!(spec.test_fraction, 0.25);
/// assert_eq!(spec.privacy.epsilon, 1.0);
///
/// // ε = ∞ is spelled "inf": no differential privacy, which the training rules must allow.
/// let open = ModelSpec::from_json(br#"{
///     "kind": { "type": "ridge_regression", "alpha": 0.1 },
///     "features": ["radius_mean"], "label": "area_mean", "seed": 7,
///     "privacy": { "epsilon": "inf" }
/// }"#)?;
/// assert!(!open.privacy.is_private());
/// # Ok::<(), medshare_training::Error>(())
/// ```
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
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
    /// Seed of the train/test shuffle when training without differential privacy (the same seed
    /// on the same records then gives the same result). A private job draws its split, like its
    /// noise, from OpenDP's random source instead, and ignores the seed.
    pub seed: u64,
    /// The differential privacy budget, `{"epsilon": 1.0, "delta": 1e-5}`; required.
    pub privacy: Privacy,
}

fn default_test_fraction() -> f64 {
    0.25
}

fn default_bins() -> u32 {
    8
}

/// The algorithm of a [`ModelSpec`] and its hyperparameters.
///
/// In JSON the variant is named by a `type` field: `"logistic_regression"`,
/// `"ridge_regression"` or `"decision_tree"`.
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ModelKind {
    /// Binary logistic regression on features scaled to `[−1, 1]` by their schema ranges.
    ///
    /// Minimizes `Σᵢ log(1 + exp(−yᵢ·(w·xᵢ + b))) + (l2 / 2)·‖w‖²`, so `l2` is scikit-learn's
    /// `1 / C` (scikit-learn's default `C = 1` is `l2 = 1`). Without differential privacy it is
    /// fitted by argmin's L-BFGS; with it, by noisy gradient descent (the penalty still applies,
    /// `max_iterations` and `tolerance` do not).
    LogisticRegression {
        /// L2 penalty weight, finite and `>= 0`.
        l2: f64,
        /// Iteration cap of the optimizer, in `1..=10_000`.
        max_iterations: u64,
        /// Stop once the gradient of the per-record loss has an L2 norm below this (scikit-learn's
        /// `tol`); finite and `> 0`.
        tolerance: f64,
    },
    /// Ridge (L2-penalized least squares) regression on features scaled to `[−1, 1]` by their
    /// schema ranges, predicting the label (clipped to its schema range) in its own unit.
    ///
    /// Minimizes `1/(2n)·‖y − Xw − b‖² + (alpha / 2)·‖w‖²`, so `alpha` is scikit-learn's Ridge
    /// `alpha` divided by the number of training records. Without differential privacy it is
    /// fitted by linfa-elasticnet; with it, from noisy sufficient statistics.
    RidgeRegression {
        /// L2 penalty weight, finite and `>= 0`.
        alpha: f64,
    },
    /// A binary classification tree whose split thresholds come from a public grid: each
    /// feature's schema range cut into `bins` equal parts. With differential privacy, splits are
    /// chosen by OpenDP's exponential mechanism and node sizes and leaf labels come from noisy
    /// counts; see [`train_with_rules`](crate::train_with_rules).
    DecisionTree {
        /// Maximum depth, in `1..=64`; with differential privacy every level costs budget, so
        /// shallow trees (3 to 5) are the useful ones.
        max_depth: u32,
        /// A node with fewer training records (a noisy count, under differential privacy) than
        /// this is not split; `>= 2`.
        min_samples_split: usize,
        /// The impurity measure that chooses splits.
        criterion: SplitCriterion,
        /// Parts each feature's range is cut into (so `bins − 1` candidate thresholds per
        /// feature), in `2..=64`; 8 when absent.
        #[serde(default = "default_bins")]
        bins: u32,
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
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
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
                bins,
            } => {
                if !(1..=MAX_TREE_DEPTH).contains(&max_depth) {
                    return Err(bad("max_depth", max_depth, "in 1..=64"));
                }
                if min_samples_split < 2 {
                    return Err(bad("min_samples_split", min_samples_split, ">= 2"));
                }
                if !(2..=MAX_TREE_BINS).contains(&bins) {
                    return Err(bad("bins", bins, "in 2..=64"));
                }
            }
        }
        self.privacy.validate()?;
        if self.privacy.clip_norm.is_some()
            && !matches!(self.kind, ModelKind::LogisticRegression { .. })
        {
            return Err(Error::InvalidPrivacy {
                field: "clip_norm",
                reason: format!(
                    "applies to logistic regression only; a {} is bounded by the schema ranges",
                    self.kind.name()
                ),
            });
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
