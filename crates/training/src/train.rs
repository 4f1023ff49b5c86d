//! Splitting, standardizing, fitting (through linfa) and evaluating.

use std::collections::VecDeque;
use std::ops::Range;

use linfa::DatasetBase;
use linfa::traits::Fit;
use linfa_elasticnet::ElasticNet;
use linfa_trees::{DecisionTree, SplitQuality};
use ndarray::{Array1, ArrayView2};

use crate::metrics::{accuracy, r2, rmse, roc_auc};
use crate::{
    Dataset, Error, LinearParameters, Metrics, ModelKind, ModelSpec, Parameters, Result,
    SplitCriterion, TrainingOutput, TreeNode, TreeParameters,
};

/// Trains `spec` on `data` and evaluates it on a held-out split.
///
/// Steps: validate the spec; refuse fewer than `min_cohort` records; check the labels are 0/1 for
/// classifiers; shuffle the records with `spec.seed` and hold out the first
/// `ceil(n · test_fraction)`; for the linear models, standardize the features with the
/// training records' means and deviations; fit; compute the metrics by applying the returned
/// [`Parameters`] to the raw held-out records.
///
/// Deterministic: the same spec and records in the same order give the same output.
/// `data` is consumed and reordered in place, so training needs little memory beyond the
/// dataset itself.
pub fn train(spec: &ModelSpec, mut data: Dataset, min_cohort: usize) -> Result<TrainingOutput> {
    spec.validate()?;
    if data.n_features() != spec.features.len() {
        return Err(Error::FeatureCountMismatch {
            spec: spec.features.len(),
            data: data.n_features(),
        });
    }
    let n = data.n_records();
    if n < min_cohort {
        return Err(Error::CohortTooSmall {
            records: n,
            required: min_cohort,
        });
    }
    // test_fraction is validated to be in (0, 0.5], so this is in 1..=ceil(n / 2).
    let n_test = (n as f64 * spec.test_fraction).ceil() as usize;
    if n_test == 0 || n_test >= n {
        return Err(Error::TooFewRecords { records: n });
    }
    if spec.kind.is_classifier() {
        let count = data
            .labels()
            .iter()
            .filter(|&&l| l != 0.0 && l != 1.0)
            .count();
        if count > 0 {
            return Err(Error::NonBinaryLabels { count });
        }
    }
    data.shuffle(spec.seed);
    let split = Split {
        test: 0..n_test,
        train: n_test..n,
    };

    let parameters = match spec.kind {
        ModelKind::LogisticRegression {
            l2,
            max_iterations,
            tolerance,
        } => fit_logistic(spec, &mut data, &split, l2, max_iterations, tolerance)?,
        ModelKind::RidgeRegression { alpha } => fit_ridge(spec, &mut data, &split, alpha)?,
        ModelKind::DecisionTree {
            max_depth,
            min_samples_split,
            criterion,
        } => fit_tree(spec, &data, &split, max_depth, min_samples_split, criterion)?,
    };
    let metrics = evaluate(&parameters, &data, split.test.clone())?;
    Ok(TrainingOutput {
        model: spec.kind.clone(),
        parameters,
        metrics,
        records_used: n as u64,
        train_size: split.train.len() as u64,
        test_size: split.test.len() as u64,
    })
}

/// Which records (after shuffling) are held out and which are trained on.
struct Split {
    test: Range<usize>,
    train: Range<usize>,
}

fn fit_error(model: &'static str, error: impl std::fmt::Display) -> Error {
    Error::Fit {
        model,
        reason: error.to_string(),
    }
}

/// The training records' features as a matrix view, without copying.
fn features<'a>(data: &'a Dataset, rows: &Range<usize>) -> Result<ArrayView2<'a, f64>> {
    let d = data.n_features();
    ArrayView2::from_shape(
        (rows.len(), d),
        &data.values()[rows.start * d..rows.end * d],
    )
    .map_err(|e| fit_error("model", e))
}

/// Checks that both classes occur among the training records' 0/1 labels.
fn check_both_classes(data: &Dataset, rows: &Range<usize>) -> Result<()> {
    let labels = &data.labels()[rows.clone()];
    let positives = labels.iter().filter(|&&l| l == 1.0).count();
    if positives == 0 {
        return Err(Error::SingleClass { class: 0 });
    }
    if positives == labels.len() {
        return Err(Error::SingleClass { class: 1 });
    }
    Ok(())
}

/// The training records' 0/1 labels, checking that both classes occur.
fn class_labels(data: &Dataset, rows: &Range<usize>) -> Result<Array1<usize>> {
    check_both_classes(data, rows)?;
    Ok(data.labels()[rows.clone()]
        .iter()
        .map(|&l| usize::from(l == 1.0))
        .collect())
}

fn fit_logistic(
    spec: &ModelSpec,
    data: &mut Dataset,
    split: &Split,
    l2: f64,
    max_iterations: u64,
    tolerance: f64,
) -> Result<Parameters> {
    const MODEL: &str = "logistic regression";
    let (means, stds) = data.standardize(split.train.clone());
    check_both_classes(data, &split.train)?;
    let d = data.n_features();
    let train = split.train.clone();
    // The objective is summed (not averaged) over records, so its gradient is `train_size`
    // times the per-record gradient that `tolerance` is stated for.
    let model = crate::logistic::fit(
        &data.values()[train.start * d..train.end * d],
        d,
        &data.labels()[train.clone()],
        l2,
        max_iterations,
        tolerance * train.len() as f64,
    )
    .map_err(|e| fit_error(MODEL, e))?;
    Ok(Parameters::LogisticRegression(LinearParameters {
        features: spec.features.clone(),
        means,
        stds,
        coefficients: model.weights,
        intercept: model.intercept,
    }))
}

fn fit_ridge(
    spec: &ModelSpec,
    data: &mut Dataset,
    split: &Split,
    alpha: f64,
) -> Result<Parameters> {
    const MODEL: &str = "ridge regression";
    let (means, stds) = data.standardize(split.train.clone());
    let y: Array1<f64> = data.labels()[split.train.clone()].iter().copied().collect();
    let x = features(data, &split.train)?;
    let model = ElasticNet::<f64>::ridge()
        .penalty(alpha)
        .fit(&DatasetBase::new(x, y))
        .map_err(|e| fit_error(MODEL, e))?;
    Ok(Parameters::RidgeRegression(LinearParameters {
        features: spec.features.clone(),
        means,
        stds,
        coefficients: model.hyperplane().to_vec(),
        intercept: model.intercept(),
    }))
}

/// Weight of a class-0 record relative to a class-1 record when fitting a tree.
///
/// linfa-trees counts classes in a `HashMap` and breaks an exact tie between them in the map's
/// (randomly seeded) iteration order, which also decides which sibling leaves its pruning
/// merges. Weighing class 0 a hair below 1 (exactly representable, and the per-class sums are
/// exact below 4096 class-0 records per node) makes exact ties impossible there and resolves a
/// count tie as class 1, so the same data always gives the same tree.
const CLASS0_WEIGHT: f32 = 1.0 - 1.0 / 4096.0;

fn fit_tree(
    spec: &ModelSpec,
    data: &Dataset,
    split: &Split,
    max_depth: u32,
    min_samples_split: usize,
    criterion: SplitCriterion,
) -> Result<Parameters> {
    const MODEL: &str = "decision tree";
    let y = class_labels(data, &split.train)?;
    let weights = y.mapv(|c| if c == 1 { 1.0 } else { CLASS0_WEIGHT });
    let x = features(data, &split.train)?;
    let quality = match criterion {
        SplitCriterion::Gini => SplitQuality::Gini,
        SplitCriterion::Entropy => SplitQuality::Entropy,
    };
    let tree = DecisionTree::<f64, usize>::params()
        .split_quality(quality)
        .max_depth(Some(max_depth as usize))
        // Compared with the record count of a node, not its weight.
        .min_weight_split(min_samples_split as f32)
        // Each side of a split keeps at least one record (whose weight is 1 or CLASS0_WEIGHT).
        .min_weight_leaf(0.5)
        .fit(&DatasetBase::new(x, y).with_weights(weights))
        .map_err(|e| fit_error(MODEL, e))?;

    let mut parameters = TreeParameters {
        features: spec.features.clone(),
        nodes: export(&tree)?,
    };
    // Count the training records reaching each leaf, and predict the majority there.
    let mut counts = vec![(0u64, 0u64); parameters.nodes.len()];
    for i in split.train.clone() {
        let leaf = parameters.leaf_index(data.row(i))?;
        counts[leaf].0 += 1;
        counts[leaf].1 += u64::from(data.labels()[i] == 1.0);
    }
    for (node, (n, pos)) in parameters.nodes.iter_mut().zip(counts) {
        if let TreeNode::Leaf {
            prediction,
            samples,
            positives,
        } = node
        {
            (*samples, *positives) = (n, pos);
            if n > 0 {
                *prediction = u8::from(2 * pos >= n);
            }
        }
    }
    Ok(Parameters::DecisionTree(parameters))
}

/// Copies linfa's tree into our flat, serializable form (breadth-first; leaf counts left at 0).
fn export(tree: &DecisionTree<f64, usize>) -> Result<Vec<TreeNode>> {
    let mut nodes = Vec::new();
    let mut queue = VecDeque::from([(tree.root_node(), 0usize)]);
    nodes.push(TreeNode::Leaf {
        prediction: 0,
        samples: 0,
        positives: 0,
    });
    while let Some((node, index)) = queue.pop_front() {
        nodes[index] = if node.is_leaf() {
            let prediction = node.prediction().map_or(0, |c| u8::from(c == 1));
            TreeNode::Leaf {
                prediction,
                samples: 0,
                positives: 0,
            }
        } else {
            let (feature, threshold, _impurity_decrease) = node.split();
            let children = node.children();
            let (Some(Some(left)), Some(Some(right))) = (children.first(), children.get(1)) else {
                return Err(Error::Fit {
                    model: "decision tree",
                    reason: "an internal node lacks a child".into(),
                });
            };
            let (l, r) = (nodes.len(), nodes.len() + 1);
            nodes.push(TreeNode::Leaf {
                prediction: 0,
                samples: 0,
                positives: 0,
            });
            nodes.push(TreeNode::Leaf {
                prediction: 0,
                samples: 0,
                positives: 0,
            });
            queue.push_back((left, l));
            queue.push_back((right, r));
            TreeNode::Split {
                feature,
                threshold,
                left: l,
                right: r,
            }
        };
    }
    Ok(nodes)
}

/// Held-out metrics, computed through the public [`Parameters`] on the raw test records.
fn evaluate(parameters: &Parameters, data: &Dataset, test: Range<usize>) -> Result<Metrics> {
    let undefined = || Error::TooFewRecords {
        records: test.len(),
    };
    let actual: Vec<f64> = data.labels()[test.clone()].to_vec();
    let scores = test
        .clone()
        .map(|i| parameters.score(data.row(i)))
        .collect::<Result<Vec<_>>>()?;
    Ok(match parameters {
        Parameters::RidgeRegression(_) => Metrics::Regression {
            rmse: rmse(&scores, &actual).ok_or_else(undefined)?,
            r2: r2(&scores, &actual),
        },
        Parameters::LogisticRegression(_) | Parameters::DecisionTree(_) => {
            let predicted = test
                .clone()
                .map(|i| parameters.classify(data.row(i)).map(|c| c == 1))
                .collect::<Result<Vec<_>>>()?;
            let positive: Vec<bool> = actual.iter().map(|&l| l == 1.0).collect();
            Metrics::Classification {
                accuracy: accuracy(&predicted, &positive).ok_or_else(undefined)?,
                roc_auc: roc_auc(&scores, &positive),
            }
        }
    })
}
