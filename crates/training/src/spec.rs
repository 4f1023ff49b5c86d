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

/// The differential privacy parameters of a job: `(ε, δ)`, and optionally the clipping norm.
///
/// JSON: `{"epsilon": 1.0, "delta": 1e-5}`; `{"epsilon": "inf"}` asks for no differential
/// privacy at all, which [`train_with_rules`](crate::train_with_rules) refuses unless the
/// [`TrainingRules`](crate::TrainingRules) allow it. Every mechanism of this crate is
/// approximate-DP (Gaussian noise, accounted in zero-concentrated DP and converted to `(ε, δ)`),
/// so a finite ε needs a δ in (0, 1), and training further requires δ < 1/n.
///
/// The guarantee is with respect to adding or removing one record; the number of records
/// (published anyway by the audit trail) is not protected.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Privacy {
    /// ε > 0, or `f64::INFINITY` (JSON `"inf"`) for no differential privacy.
    #[serde(with = "epsilon_json")]
    pub epsilon: f64,
    /// δ in (0, 1); required when ε is finite, absent when it is infinite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<f64>,
    /// The L2 norm each record's centred, scaled feature vector is clipped to (features scaled
    /// to `[−1, 1]` by their schema ranges), for logistic regression; finite and `> 0`. Default:
    /// `√d / 4` for `d` features, a quarter of the scaled box's half-diagonal. The other models
    /// need no clipping beyond the schema ranges and refuse it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip_norm: Option<f64>,
}

impl Privacy {
    /// The L2 norm each (scaled, centred) record is clipped to by private logistic regression
    /// over `features` features: `clip_norm` if the spec sets it, else `√d / 4`.
    pub fn clip_norm_for(&self, features: usize) -> f64 {
        self.clip_norm
            .unwrap_or_else(|| crate::private_logistic::default_clip_norm(features))
    }

    /// `(ε, δ)`-differential privacy with the default clipping.
    pub fn new(epsilon: f64, delta: f64) -> Self {
        Self {
            epsilon,
            delta: Some(delta),
            clip_norm: None,
        }
    }

    /// No differential privacy (ε = ∞).
    pub fn non_private() -> Self {
        Self {
            epsilon: f64::INFINITY,
            delta: None,
            clip_norm: None,
        }
    }

    /// Whether ε is finite (the job is differentially private).
    pub fn is_private(&self) -> bool {
        self.epsilon.is_finite()
    }

    /// Checks ε, δ and the clipping norm; the error names the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, reason: String| Err(Error::InvalidPrivacy { field, reason });
        if self.epsilon.is_nan() || self.epsilon <= 0.0 {
            return bad(
                "epsilon",
                format!("is {}, but must be > 0 (or \"inf\")", self.epsilon),
            );
        }
        match (self.is_private(), self.delta) {
            (true, None) => {
                return bad(
                    "delta",
                    "is missing: every mechanism here is (ε, δ)-DP and needs a δ in (0, 1)".into(),
                );
            }
            (true, Some(delta)) if !(delta > 0.0 && delta < 1.0) => {
                return bad("delta", format!("is {delta}, but must be in (0, 1)"));
            }
            (false, Some(_)) => {
                return bad(
                    "delta",
                    "is given with epsilon = inf, which releases without noise".into(),
                );
            }
            _ => {}
        }
        if let Some(c) = self.clip_norm
            && !(c.is_finite() && c > 0.0)
        {
            return bad("clip_norm", format!("is {c}, but must be finite and > 0"));
        }
        Ok(())
    }
}

/// ε in JSON: a number, or the string `"inf"` for `f64::INFINITY` (JSON has no infinity).
pub(crate) mod epsilon_json {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub(crate) fn serialize<S: Serializer>(epsilon: &f64, s: S) -> Result<S::Ok, S::Error> {
        if *epsilon == f64::INFINITY {
            s.serialize_str("inf")
        } else {
            s.serialize_f64(*epsilon)
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Epsilon {
            Number(f64),
            Text(String),
        }
        match Epsilon::deserialize(d)? {
            Epsilon::Number(e) => Ok(e),
            Epsilon::Text(t) if t == "inf" || t == "infinity" => Ok(f64::INFINITY),
            Epsilon::Text(t) => Err(D::Error::custom(format!(
                "epsilon must be a number or \"inf\", not {t:?}"
            ))),
        }
    }
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
}
