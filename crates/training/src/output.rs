//! MRT_j: what the demander receives from a training job.

use serde::{Deserialize, Serialize};

use crate::{Error, Metrics, ModelKind, Result};

/// The result of one training job: the model, its fitted parameters, its held-out metrics and
/// how many records it used.
///
/// The enclave encrypts this for the demander; nothing in it is a record, only aggregates and
/// fitted parameters (a tree's thresholds are midpoints between two training values, as in any
/// CART implementation; the minimum cohort is what keeps such parameters from being about one
/// patient).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingOutput {
    /// The algorithm and hyperparameters that were trained.
    pub model: ModelKind,
    /// The fitted model, complete enough to make predictions with.
    pub parameters: Parameters,
    /// Metrics on the held-out split, computed from `parameters` exactly as a user would.
    pub metrics: Metrics,
    /// Records used: `train_size + test_size`.
    pub records_used: u64,
    /// Records the model was fitted on.
    pub train_size: u64,
    /// Records held out for `metrics`.
    pub test_size: u64,
}

/// A fitted model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Parameters {
    /// Logistic regression: [`score`](Self::score) is the probability of class 1.
    LogisticRegression(LinearParameters),
    /// Ridge regression: [`score`](Self::score) is the predicted value.
    RidgeRegression(LinearParameters),
    /// Decision tree: [`score`](Self::score) is the fraction of class 1 among the training
    /// records in the leaf reached.
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

    /// The model's output for one record's features (raw, not standardized): a probability of
    /// class 1 for classifiers, the predicted value for regression.
    pub fn score(&self, features: &[f64]) -> Result<f64> {
        match self {
            Self::LogisticRegression(p) => Ok(sigmoid(p.linear_predictor(features)?)),
            Self::RidgeRegression(p) => p.linear_predictor(features),
            Self::DecisionTree(p) => p.leaf(features).map(Leaf::score),
        }
    }

    /// The predicted class (0 or 1) of one record; an error for regression models.
    pub fn classify(&self, features: &[f64]) -> Result<u8> {
        match self {
            Self::LogisticRegression(_) => Ok(u8::from(self.score(features)? >= 0.5)),
            Self::DecisionTree(p) => Ok(p.leaf(features)?.prediction),
            Self::RidgeRegression(_) => Err(Error::NotAClassifier),
        }
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// A linear model on standardized features: `z = intercept + Σⱼ coefficients[j] · (x[j] −
/// means[j]) / stds[j]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearParameters {
    /// Feature names.
    pub features: Vec<String>,
    /// Training-set mean of each feature.
    pub means: Vec<f64>,
    /// Training-set (population) standard deviation of each feature; 1 for a constant feature.
    pub stds: Vec<f64>,
    /// Coefficient of each standardized feature.
    pub coefficients: Vec<f64>,
    /// The intercept.
    pub intercept: f64,
}

impl LinearParameters {
    /// The linear predictor `z` for one record's raw features.
    pub fn linear_predictor(&self, features: &[f64]) -> Result<f64> {
        let d = self.coefficients.len();
        if self.means.len() != d || self.stds.len() != d || self.features.len() != d {
            return Err(Error::MalformedParameters("vectors of different lengths"));
        }
        if features.len() != d {
            return Err(Error::WrongFeatureCount {
                expected: d,
                found: features.len(),
            });
        }
        let mut z = self.intercept;
        for (((x, m), s), w) in features
            .iter()
            .zip(&self.means)
            .zip(&self.stds)
            .zip(&self.coefficients)
        {
            z += w * (x - m) / s;
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
        /// The threshold.
        threshold: f64,
        /// Index of the left child in `nodes`.
        left: usize,
        /// Index of the right child in `nodes`.
        right: usize,
    },
    /// A leaf.
    Leaf {
        /// The class predicted here: 1 when at least half of `samples` are positive.
        prediction: u8,
        /// Training records that reach this leaf.
        samples: u64,
        /// How many of them have label 1.
        positives: u64,
    },
}

/// The fields of a leaf, borrowed out of [`TreeNode::Leaf`].
#[derive(Debug, Clone, Copy)]
struct Leaf {
    prediction: u8,
    samples: u64,
    positives: u64,
}

impl Leaf {
    fn score(self) -> f64 {
        if self.samples == 0 {
            f64::from(self.prediction)
        } else {
            self.positives as f64 / self.samples as f64
        }
    }
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

    fn leaf(&self, features: &[f64]) -> Result<Leaf> {
        match self.nodes.get(self.leaf_index(features)?) {
            Some(&TreeNode::Leaf {
                prediction,
                samples,
                positives,
            }) => Ok(Leaf {
                prediction,
                samples,
                positives,
            }),
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
                    samples: 4,
                    positives: 1,
                },
                TreeNode::Leaf {
                    prediction: 1,
                    samples: 2,
                    positives: 2,
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
    fn linear_parameters_standardize() {
        let p = LinearParameters {
            features: vec!["a".into(), "b".into()],
            means: vec![10.0, 0.0],
            stds: vec![2.0, 1.0],
            coefficients: vec![1.0, -1.0],
            intercept: 0.5,
        };
        assert_eq!(p.linear_predictor(&[12.0, 3.0]).unwrap(), 0.5 + 1.0 - 3.0);
        let logistic = Parameters::LogisticRegression(p.clone());
        assert_eq!(logistic.score(&[10.0, 0.5]).unwrap(), 0.5);
        assert_eq!(logistic.classify(&[10.0, 0.5]).unwrap(), 1);
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
