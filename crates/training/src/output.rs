//! MRT_j: what the demander receives from a training job.

use serde::{Deserialize, Serialize};

use crate::{Error, FeatureRange, Metrics, ModelKind, Result};

/// The result of one training job: the model, its fitted parameters, its held-out metrics, the
/// privacy guarantee it was released under, and how many records it used.
///
/// The enclave encrypts this for the demander. Nothing in it is a record or a plain statistic of
/// the records: no means or deviations (features are scaled by the schema's public ranges), no
/// per-leaf counts (leaves carry a class and a noisy probability), no thresholds between two
/// patients' values (tree thresholds are a public grid on the ranges). Under differential
/// privacy (`privacy.epsilon` finite) the parameters and the metrics are outputs of OpenDP
/// mechanisms; the three counts are exact (the audit trail publishes them anyway).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingOutput {
    /// The algorithm and hyperparameters that were trained.
    pub model: ModelKind,
    /// The fitted model, complete enough to make predictions with.
    pub parameters: Parameters,
    /// Metrics on the held-out split, computed from `parameters` exactly as a user would; noisy
    /// under differential privacy (see [`Metrics`]). `None` when no record was held out: under
    /// differential privacy each record is held out on its own coin (probability
    /// `test_fraction`), so a small cohort can hold out none.
    pub metrics: Option<Metrics>,
    /// The guarantee the parameters and metrics were released under.
    pub privacy: PrivacyReport,
    /// Records used: `train_size + test_size`.
    pub records_used: u64,
    /// Records the model was fitted on.
    pub train_size: u64,
    /// Records held out for `metrics`.
    pub test_size: u64,
}

/// The differential privacy of a released model.
///
/// `epsilon` and `delta` bound what the whole output (parameters and metrics) reveals about any
/// one record, against adding or removing that record; they are what was *spent*, never more
/// than the spec asked for. For ε = ∞ (`"inf"` in JSON), `delta` is 0 and nothing is protected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyReport {
    /// ε spent, `f64::INFINITY` without differential privacy.
    #[serde(with = "crate::spec::epsilon_json")]
    pub epsilon: f64,
    /// δ spent; 0 without differential privacy.
    pub delta: f64,
    /// How the model was made private, in words (algorithm, noise, accountant).
    pub mechanism: String,
}

/// A fitted model.
///
/// Apply it to a record's raw features with [`score`](Self::score) or
/// [`classify`](Self::classify): each value is clipped into its feature's public range, and for
/// linear models scaled to `[−1, 1]`, `s(x) = 2·(clip(x) − min)/(max − min) − 1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Parameters {
    /// Logistic regression: [`score`](Self::score) is `σ(intercept + Σ w·s(x))`, the
    /// probability of class 1.
    LogisticRegression(LinearParameters),
    /// Ridge regression: [`score`](Self::score) is `intercept + Σ w·s(x)`, the predicted label.
    RidgeRegression(LinearParameters),
    /// Decision tree: [`score`](Self::score) is the leaf's probability of class 1.
    DecisionTree(TreeParameters),
}

impl Parameters {
    /// The feature names, in the order [`score`](Self::score) takes the values.
    pub fn features(&self) -> &[String] {
        match self {
            Self::LogisticRegression(p) | Self::RidgeRegression(p) => &p.features,
            Self::DecisionTree(p) => &p.features,
        }
    }

    /// The model's output for one record's raw features (clipped and scaled here): a
    /// probability of class 1 for classifiers, the predicted value for regression.
    pub fn score(&self, features: &[f64]) -> Result<f64> {
        match self {
            Self::LogisticRegression(p) => Ok(sigmoid(p.linear_predictor(features)?)),
            Self::RidgeRegression(p) => p.linear_predictor(features),
            Self::DecisionTree(p) => p.leaf(features).map(|(_, probability)| probability),
        }
    }

    /// The predicted class (0 or 1) of one record; an error for regression models.
    pub fn classify(&self, features: &[f64]) -> Result<u8> {
        match self {
            Self::LogisticRegression(_) => Ok(u8::from(self.score(features)? >= 0.5)),
            Self::DecisionTree(p) => Ok(p.leaf(features)?.0),
            Self::RidgeRegression(_) => Err(Error::NotAClassifier),
        }
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// A linear model on scaled features: `z = intercept + Σⱼ coefficients[j] · s_j(x[j])` with
/// `s_j(x) = 2·(clip_j(x) − ranges[j].min) / (ranges[j].max − ranges[j].min) − 1`.
///
/// The ranges are the schema's public clipping ranges, not statistics of the training records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearParameters {
    /// Feature names.
    pub features: Vec<String>,
    /// Each feature's public clipping range (from the data type's schema).
    pub ranges: Vec<FeatureRange>,
    /// Coefficient of each scaled feature.
    pub coefficients: Vec<f64>,
    /// The intercept.
    pub intercept: f64,
}

impl LinearParameters {
    /// The linear predictor `z` for one record's raw features.
    pub fn linear_predictor(&self, features: &[f64]) -> Result<f64> {
        let d = self.coefficients.len();
        if self.ranges.len() != d || self.features.len() != d {
            return Err(Error::MalformedParameters("vectors of different lengths"));
        }
        if !self.ranges.iter().all(FeatureRange::is_valid) {
            return Err(Error::MalformedParameters(
                "a range is not finite with min < max",
            ));
        }
        if features.len() != d {
            return Err(Error::WrongFeatureCount {
                expected: d,
                found: features.len(),
            });
        }
        let mut z = self.intercept;
        for ((x, r), w) in features.iter().zip(&self.ranges).zip(&self.coefficients) {
            z += w * r.scale(*x);
        }
        Ok(z)
    }
}

/// A binary decision tree, stored flat: `nodes[0]` is the root and splits refer to their
/// children by index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeParameters {
    /// Feature names; a split's `feature` indexes this list.
    pub features: Vec<String>,
    /// The nodes, root first, in breadth-first order.
    pub nodes: Vec<TreeNode>,
}

/// One node of a [`TreeParameters`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "node", rename_all = "snake_case", deny_unknown_fields)]
pub enum TreeNode {
    /// Records with `x[feature] < threshold` go to `left`, the others to `right`.
    Split {
        /// Index of the feature tested.
        feature: usize,
        /// The threshold, in the feature's unit: a point of the public grid
        /// `min + k·(max − min)/bins` on the feature's schema range.
        threshold: f64,
        /// Index of the left child in `nodes`.
        left: usize,
        /// Index of the right child in `nodes`.
        right: usize,
    },
    /// A leaf.
    Leaf {
        /// The class predicted here.
        prediction: u8,
        /// The probability of class 1 here: the class-1 share of the leaf's training records,
        /// from noisy counts under differential privacy.
        probability: f64,
    },
}

impl TreeParameters {
    /// Index in `nodes` of the leaf that `features` reaches.
    pub(crate) fn leaf_index(&self, features: &[f64]) -> Result<usize> {
        if features.len() != self.features.len() {
            return Err(Error::WrongFeatureCount {
                expected: self.features.len(),
                found: features.len(),
            });
        }
        let mut index = 0;
        // A path longer than the node count would revisit a node: the "tree" has a cycle.
        for _ in 0..=self.nodes.len() {
            match self.nodes.get(index) {
                None => return Err(Error::MalformedParameters("node index out of range")),
                Some(TreeNode::Leaf { .. }) => return Ok(index),
                Some(&TreeNode::Split {
                    feature,
                    threshold,
                    left,
                    right,
                }) => {
                    let value = features.get(feature).ok_or(Error::MalformedParameters(
                        "split on a feature that does not exist",
                    ))?;
                    index = if *value < threshold { left } else { right };
                }
            }
        }
        Err(Error::MalformedParameters("cycle in the tree"))
    }

    /// The prediction and probability of the leaf `features` reaches.
    fn leaf(&self, features: &[f64]) -> Result<(u8, f64)> {
        match self.nodes.get(self.leaf_index(features)?) {
            Some(&TreeNode::Leaf {
                prediction,
                probability,
            }) => Ok((prediction, probability)),
            _ => Err(Error::MalformedParameters("path does not end in a leaf")),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn stump() -> Parameters {
        Parameters::DecisionTree(TreeParameters {
            features: vec!["a".into()],
            nodes: vec![
                TreeNode::Split {
                    feature: 0,
                    threshold: 0.5,
                    left: 1,
                    right: 2,
                },
                TreeNode::Leaf {
                    prediction: 0,
                    probability: 0.25,
                },
                TreeNode::Leaf {
                    prediction: 1,
                    probability: 1.0,
                },
            ],
        })
    }

    #[test]
    fn tree_scores_and_classifies() {
        let p = stump();
        assert_eq!(p.score(&[0.0]).unwrap(), 0.25);
        assert_eq!(p.classify(&[0.0]).unwrap(), 0);
        assert_eq!(p.score(&[0.5]).unwrap(), 1.0);
        assert_eq!(p.classify(&[7.0]).unwrap(), 1);
        assert!(matches!(
            p.score(&[0.0, 1.0]),
            Err(Error::WrongFeatureCount { .. })
        ));
    }

    #[test]
    fn malformed_trees_are_errors_not_panics_or_loops() {
        let cyclic = Parameters::DecisionTree(TreeParameters {
            features: vec!["a".into()],
            nodes: vec![TreeNode::Split {
                feature: 0,
                threshold: 0.5,
                left: 0,
                right: 0,
            }],
        });
        assert!(matches!(
            cyclic.score(&[0.0]),
            Err(Error::MalformedParameters(_))
        ));
        let dangling = Parameters::DecisionTree(TreeParameters {
            features: vec!["a".into()],
            nodes: vec![TreeNode::Split {
                feature: 3,
                threshold: 0.5,
                left: 9,
                right: 9,
            }],
        });
        assert!(matches!(
            dangling.score(&[0.0]),
            Err(Error::MalformedParameters(_))
        ));
        let empty = Parameters::DecisionTree(TreeParameters {
            features: vec![],
            nodes: vec![],
        });
        assert!(matches!(
            empty.score(&[]),
            Err(Error::MalformedParameters(_))
        ));
    }

    #[test]
    fn linear_parameters_clip_and_scale_by_the_ranges() {
        let p = LinearParameters {
            features: vec!["a".into(), "b".into()],
            ranges: vec![
                FeatureRange {
                    min: 0.0,
                    max: 20.0,
                },
                FeatureRange {
                    min: -1.0,
                    max: 1.0,
                },
            ],
            coefficients: vec![1.0, -1.0],
            intercept: 0.5,
        };
        // s(15) = 0.5, s(3) = s(1) = 1 after clipping.
        assert_eq!(p.linear_predictor(&[15.0, 3.0]).unwrap(), 0.5 + 0.5 - 1.0);
        assert_eq!(p.linear_predictor(&[-5.0, 0.0]).unwrap(), 0.5 - 1.0);
        let logistic = Parameters::LogisticRegression(p.clone());
        assert_eq!(logistic.score(&[10.0, 0.5]).unwrap(), 0.5);
        assert_eq!(logistic.classify(&[10.0, 0.5]).unwrap(), 1);
        let mut bad = p.clone();
        bad.ranges[1] = FeatureRange { min: 1.0, max: 1.0 };
        assert!(matches!(
            bad.linear_predictor(&[0.0, 0.0]),
            Err(Error::MalformedParameters(_))
        ));
        let ridge = Parameters::RidgeRegression(p);
        assert!(matches!(
            ridge.classify(&[0.0, 0.0]),
            Err(Error::NotAClassifier)
        ));
    }

    #[test]
    fn parameters_json_round_trip_and_strictness() {
        let p = stump();
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.starts_with(r#"{"type":"decision_tree""#), "{json}");
        assert_eq!(serde_json::from_str::<Parameters>(&json).unwrap(), p);
        let extra = json.replacen(r#""features""#, r#""extra":1,"features""#, 1);
        assert!(serde_json::from_str::<Parameters>(&extra).is_err());
    }
}
