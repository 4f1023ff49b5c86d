//! Decision trees on a public grid of thresholds, with or without differential privacy.
//!
//! Each feature's schema range is cut into `bins` equal parts; the `bins − 1` cut points are the
//! only thresholds a split may use, so no threshold is derived from a patient's value. The tree
//! grows level by level:
//!
//! 1. A node is split while its size (the exact count at the root, whose size is public; a
//!    noisy count below it) is at least `max(min_samples_split, 2·min_leaf)`.
//! 2. Its split is the candidate `(feature, cut)` with the best score, the negated
//!    count-weighted impurity of the two children — chosen by OpenDP's exponential mechanism
//!    under differential privacy. Sensitivity of the score to one record: 2 for Gini (Friedman
//!    & Schuster 2010, *Data mining with differential privacy*), `ln(n + 1) + 1` for entropy in
//!    nats with `n` the (public) number of training records.
//! 3. The children's sizes are counted (Gaussian noise, sensitivity 1: a record is in one node
//!    of a level); a split with a child below `min_leaf` is undone.
//! 4. Each leaf releases its two class counts (Gaussian noise, sensitivity 1 over all leaves):
//!    the prediction is the larger, the probability the class-1 share, clamped to `[0, 1]`.
//!
//! **Budget.** ρ (zCDP) is split as 50% for the split choices and 20% for the node counts,
//! each spread evenly over the `max_depth` levels, and 30% for the leaves. Nodes of one level
//! hold disjoint records, so a level costs one selection and one count release whatever its
//! width (parallel composition); levels and leaves add up (OpenDP's zCDP composition).

use crate::columns::FeatureRange;
use crate::privacy::noise::{GaussianNoise, Selection, compose};
use crate::{Result, SplitCriterion, TreeNode};

/// How a tree is grown.
pub(crate) struct Settings {
    pub(crate) max_depth: u32,
    pub(crate) min_samples_split: usize,
    pub(crate) min_leaf: usize,
    pub(crate) criterion: SplitCriterion,
    pub(crate) bins: u32,
}

/// The budget: exact counts and choices (ε = ∞), or ρ of zCDP.
pub(crate) enum Budget {
    Exact,
    Private { rho: f64 },
}

const SELECT_SHARE: f64 = 0.5;
const COUNT_SHARE: f64 = 0.2;
const LEAF_SHARE: f64 = 0.3;

/// A grown tree and the ρ it spent (0 when exact).
pub(crate) struct Grown {
    pub(crate) nodes: Vec<TreeNode>,
    pub(crate) rho: f64,
}

struct Open {
    /// Index in the output.
    index: usize,
    records: Vec<usize>,
    /// Public (root) or noisy size.
    size: f64,
    /// The bins each feature can still take in this node, `lo..=hi`: fixed by the ancestors'
    /// (public) thresholds, so a cut outside them, which would leave a child empty, is never a
    /// candidate.
    bins: Vec<(usize, usize)>,
}

/// The mechanisms of a private tree, one per kind of release.
struct Mechanisms {
    select: Selection,
    count_rho: f64,
    leaf_rho: f64,
}

/// Grows a tree on `rows` (row-major, `d` raw features clipped to `ranges`) and 0/1 `labels`.
pub(crate) fn grow(
    rows: &[f64],
    d: usize,
    labels: &[f64],
    ranges: &[FeatureRange],
    settings: &Settings,
    budget: &Budget,
) -> Result<Grown> {
    let n = labels.len();
    let bins = settings.bins as usize;
    let cuts: Vec<Vec<f64>> = ranges
        .iter()
        .map(|r| {
            (1..bins)
                .map(|k| r.min + (r.max - r.min) * k as f64 / bins as f64)
                .collect()
        })
        .collect();
    // Bin of every value: how many cuts lie at or below it (so `x < cut[k] ⇔ bin ≤ k`).
    let bin_of: Vec<u8> = rows
        .chunks_exact(d)
        .flat_map(|row| {
            row.iter()
                .zip(&cuts)
                .map(|(x, c)| c.iter().filter(|&&t| *x >= t).count() as u8)
        })
        .collect();
    let levels = settings.max_depth as usize;
    let mechanisms = match budget {
        Budget::Exact => None,
        Budget::Private { rho } => {
            let sensitivity = match settings.criterion {
                SplitCriterion::Gini => 2.0,
                SplitCriterion::Entropy => ((n + 1) as f64).ln() + 1.0,
            };
            Some(Mechanisms {
                select: Selection::calibrate(sensitivity, SELECT_SHARE * rho / levels as f64)?,
                count_rho: COUNT_SHARE * rho / levels as f64,
                leaf_rho: LEAF_SHARE * rho,
            })
        }
    };
    let mut spent = Vec::new();
    let split_floor = settings.min_samples_split.max(2 * settings.min_leaf).max(2) as f64;
    let mut nodes = vec![TreeNode::Leaf {
        prediction: 0,
        probability: 0.5,
    }];
    let mut leaves: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut frontier = vec![Open {
        index: 0,
        records: (0..n).collect(),
        size: n as f64,
        bins: vec![(0, bins - 1); d],
    }];
    for _ in 0..levels {
        let (splitting, stopping): (Vec<Open>, Vec<Open>) = frontier
            .into_iter()
            .partition(|o| o.size >= split_floor && o.bins.iter().any(|(lo, hi)| lo < hi));
        leaves.extend(stopping.into_iter().map(|o| (o.index, o.records)));
        if splitting.is_empty() {
            frontier = Vec::new();
            break;
        }
        // Choose each node's split.
        let mut chosen = Vec::with_capacity(splitting.len());
        for open in &splitting {
            let all = scores(&open.records, &bin_of, labels, d, bins, settings.criterion);
            // Only cuts inside the node's bins: `cut` sends bins `..=cut` left.
            let candidates: Vec<(usize, usize)> = (0..d)
                .flat_map(|j| {
                    let (lo, hi) = open.bins[j];
                    (lo..hi).map(move |cut| (j, cut))
                })
                .collect();
            let scores: Vec<f64> = candidates
                .iter()
                .map(|&(j, cut)| all[j * (bins - 1) + cut])
                .collect();
            let pick = match &mechanisms {
                Some(m) => m.select.select(&scores)?,
                None => argmax(&scores),
            };
            let (feature, cut) = candidates[pick];
            let (left, right): (Vec<usize>, Vec<usize>) = open
                .records
                .iter()
                .partition(|&&i| (bin_of[i * d + feature] as usize) <= cut);
            chosen.push((feature, cut, left, right));
        }
        // Count the children.
        let counts: Vec<f64> = chosen
            .iter()
            .flat_map(|(_, _, l, r)| [l.len() as f64, r.len() as f64])
            .collect();
        let sizes = match &mechanisms {
            Some(m) => {
                spent.push(m.select.rho());
                let noise = GaussianNoise::calibrate(counts.len(), 1.0, m.count_rho)?;
                spent.push(noise.rho());
                noise.release(&counts)?
            }
            None => counts,
        };
        let mut next = Vec::new();
        for ((open, (feature, cut, left, right)), size) in
            splitting.into_iter().zip(chosen).zip(sizes.chunks_exact(2))
        {
            if size[0] < settings.min_leaf as f64 || size[1] < settings.min_leaf as f64 {
                leaves.push((open.index, open.records));
                continue;
            }
            let (l, r) = (nodes.len(), nodes.len() + 1);
            nodes[open.index] = TreeNode::Split {
                feature,
                threshold: cuts[feature][cut],
                left: l,
                right: r,
            };
            let (mut left_bins, mut right_bins) = (open.bins.clone(), open.bins);
            left_bins[feature].1 = cut;
            right_bins[feature].0 = cut + 1;
            for _ in 0..2 {
                nodes.push(TreeNode::Leaf {
                    prediction: 0,
                    probability: 0.5,
                });
            }
            next.push(Open {
                index: l,
                records: left,
                size: size[0],
                bins: left_bins,
            });
            next.push(Open {
                index: r,
                records: right,
                size: size[1],
                bins: right_bins,
            });
        }
        frontier = next;
    }
    leaves.extend(frontier.into_iter().map(|o| (o.index, o.records)));
    // Label the leaves from (noisy) class counts.
    let counts: Vec<f64> = leaves
        .iter()
        .flat_map(|(_, records)| {
            let positives = records.iter().filter(|&&i| labels[i] == 1.0).count();
            [(records.len() - positives) as f64, positives as f64]
        })
        .collect();
    let counts = match &mechanisms {
        Some(m) => {
            let noise = GaussianNoise::calibrate(counts.len(), 1.0, m.leaf_rho)?;
            spent.push(noise.rho());
            noise.release(&counts)?
        }
        None => counts,
    };
    for ((index, _), c) in leaves.iter().zip(counts.chunks_exact(2)) {
        let (negatives, positives) = (c[0].max(0.0), c[1].max(0.0));
        let total = negatives + positives;
        nodes[*index] = TreeNode::Leaf {
            prediction: u8::from(positives >= negatives),
            probability: if total > 0.0 {
                (positives / total).clamp(0.0, 1.0)
            } else {
                0.5
            },
        };
    }
    let rho = if spent.is_empty() {
        0.0
    } else {
        compose(spent)?
    };
    Ok(Grown { nodes, rho })
}

/// The first index of the largest score.
fn argmax(scores: &[f64]) -> usize {
    let mut best = 0;
    for (i, s) in scores.iter().enumerate() {
        if *s > scores[best] {
            best = i;
        }
    }
    best
}

/// The score of every candidate `(feature, cut)`, feature-major: minus the count-weighted
/// impurity of the two children.
fn scores(
    records: &[usize],
    bin_of: &[u8],
    labels: &[f64],
    d: usize,
    bins: usize,
    criterion: SplitCriterion,
) -> Vec<f64> {
    // counts[feature][bin] = (negatives, positives)
    let mut counts = vec![[0.0f64; 2]; d * bins];
    for &i in records {
        let class = usize::from(labels[i] == 1.0);
        for j in 0..d {
            counts[j * bins + bin_of[i * d + j] as usize][class] += 1.0;
        }
    }
    let mut out = Vec::with_capacity(d * (bins - 1));
    for j in 0..d {
        let total = counts[j * bins..(j + 1) * bins]
            .iter()
            .fold([0.0, 0.0], |a, c| [a[0] + c[0], a[1] + c[1]]);
        let mut left = [0.0, 0.0];
        for cut in 0..bins - 1 {
            let c = counts[j * bins + cut];
            left = [left[0] + c[0], left[1] + c[1]];
            let right = [total[0] - left[0], total[1] - left[1]];
            out.push(-(impurity(left, criterion) + impurity(right, criterion)));
        }
    }
    out
}

/// Count-weighted impurity of a node with class counts `c`: `n·Gini` or `n·entropy` (nats).
fn impurity(c: [f64; 2], criterion: SplitCriterion) -> f64 {
    let n = c[0] + c[1];
    if n == 0.0 {
        return 0.0;
    }
    match criterion {
        SplitCriterion::Gini => n - (c[0] * c[0] + c[1] * c[1]) / n,
        SplitCriterion::Entropy => c
            .iter()
            .filter(|&&k| k > 0.0)
            .map(|&k| -k * (k / n).ln())
            .sum(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Adding one record changes no candidate's score by more than the sensitivity used.
    #[test]
    fn one_record_moves_each_score_within_the_sensitivity() {
        let (d, bins, n) = (2, 4, 60);
        let bin_of: Vec<u8> = (0..n * d).map(|i| ((i * 7) % bins) as u8).collect();
        let labels: Vec<f64> = (0..n).map(|i| f64::from(u8::from(i % 3 == 0))).collect();
        for criterion in [SplitCriterion::Gini, SplitCriterion::Entropy] {
            let bound = match criterion {
                SplitCriterion::Gini => 2.0,
                SplitCriterion::Entropy => ((n + 1) as f64).ln() + 1.0,
            };
            let all: Vec<usize> = (0..n).collect();
            let full = scores(&all, &bin_of, &labels, d, bins, criterion);
            for out in 0..n {
                let rest: Vec<usize> = (0..n).filter(|&i| i != out).collect();
                let without = scores(&rest, &bin_of, &labels, d, bins, criterion);
                for (a, b) in full.iter().zip(&without) {
                    assert!((a - b).abs() <= bound, "{criterion:?}: {a} vs {b}");
                }
            }
        }
    }

    /// The leaf counts' noise has the calibrated deviation `1 / √(2·0.3ρ)`.
    #[test]
    fn leaf_count_noise_matches_its_calibration() {
        let rho = 0.5;
        let noise = GaussianNoise::calibrate(400, 1.0, LEAF_SHARE * rho).unwrap();
        let expected = 1.0 / (2.0 * LEAF_SHARE * rho).sqrt();
        assert!((noise.scale() / expected - 1.0).abs() < 1e-6);
        let zeros = vec![0.0; 400];
        let mut sum_sq = 0.0;
        for _ in 0..25 {
            sum_sq += noise
                .release(&zeros)
                .unwrap()
                .iter()
                .map(|v| v * v)
                .sum::<f64>();
        }
        let std = (sum_sq / 10_000.0).sqrt();
        assert!((std / expected - 1.0).abs() < 0.03, "{std} vs {expected}");
    }

    #[test]
    fn impurities() {
        assert_eq!(impurity([2.0, 2.0], SplitCriterion::Gini), 2.0);
        assert_eq!(impurity([4.0, 0.0], SplitCriterion::Gini), 0.0);
        assert!((impurity([1.0, 1.0], SplitCriterion::Entropy) - 2.0 * 2f64.ln()).abs() < 1e-12);
        assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), 1);
    }
}
