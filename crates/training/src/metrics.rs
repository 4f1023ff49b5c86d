//! Evaluation metrics on the held-out split.

use serde::{Deserialize, Serialize};

/// How well the model did on the held-out records.
///
/// These are computed on patients' records, so they are data too. Without differential privacy
/// (ε = ∞) they are exact. Under differential privacy they are released through the privacy
/// mechanism, on the held-out records only (disjoint from the training records, so the two
/// sides compose in parallel and the job's `(ε, δ)` covers both): `accuracy` from a
/// Gaussian-noised count of correct predictions, `rmse` and `r2` from Gaussian-noised sums of
/// squares, each clamped to its possible range; `roc_auc` is `None` (one record can move the
/// rank statistic by the size of the test set, so a private AUC would be noise). Expect an
/// error of a few hundredths in accuracy on a test set of ~150 records at ε = 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Metrics {
    /// For classifiers.
    Classification {
        /// Fraction of held-out records classified correctly.
        accuracy: f64,
        /// Area under the ROC curve of the model's scores; `None` when the held-out split holds
        /// only one class, where it is undefined, and under differential privacy.
        roc_auc: Option<f64>,
    },
    /// For regressors.
    Regression {
        /// Root mean squared error.
        rmse: f64,
        /// Coefficient of determination; `None` when the held-out labels are (noisily) all equal,
        /// where it is undefined.
        r2: Option<f64>,
    },
}

/// Fraction of positions where `predicted` equals `actual`; `None` for empty or mismatched input.
pub fn accuracy(predicted: &[bool], actual: &[bool]) -> Option<f64> {
    if predicted.is_empty() || predicted.len() != actual.len() {
        return None;
    }
    let correct = predicted.iter().zip(actual).filter(|(p, a)| p == a).count();
    Some(correct as f64 / actual.len() as f64)
}

/// Area under the ROC curve: the probability that a random positive scores above a random
/// negative, ties counting one half (the Mann–Whitney U statistic with average ranks).
///
/// `None` when the lengths differ or either class is absent.
pub fn roc_auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    if scores.len() != positive.len() {
        return None;
    }
    let n_pos = positive.iter().filter(|p| **p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the (1-based, tie-averaged) ranks of the positives.
    let mut positive_rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let score = scores[order[start]];
        let end = start
            + order[start..]
                .iter()
                .take_while(|&&i| scores[i].total_cmp(&score).is_eq())
                .count();
        let average_rank = (start + 1 + end) as f64 / 2.0;
        let positives_in_tie = order[start..end].iter().filter(|&&i| positive[i]).count();
        positive_rank_sum += average_rank * positives_in_tie as f64;
        start = end;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Some((positive_rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Root mean squared error; `None` for empty or mismatched input.
pub fn rmse(predicted: &[f64], actual: &[f64]) -> Option<f64> {
    if predicted.is_empty() || predicted.len() != actual.len() {
        return None;
    }
    let sse: f64 = predicted
        .iter()
        .zip(actual)
        .map(|(p, a)| (p - a) * (p - a))
        .sum();
    Some((sse / actual.len() as f64).sqrt())
}

/// Coefficient of determination `1 − SS_res / SS_tot`; `None` for empty or mismatched input or
/// when `actual` is constant.
pub fn r2(predicted: &[f64], actual: &[f64]) -> Option<f64> {
    if predicted.is_empty() || predicted.len() != actual.len() {
        return None;
    }
    let mean = actual.iter().sum::<f64>() / actual.len() as f64;
    let ss_tot: f64 = actual.iter().map(|a| (a - mean) * (a - mean)).sum();
    let ss_res: f64 = predicted
        .iter()
        .zip(actual)
        .map(|(p, a)| (p - a) * (p - a))
        .sum();
    (ss_tot > 0.0).then(|| 1.0 - ss_res / ss_tot)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// AUC by its definition: over all (positive, negative) pairs, 1 if the positive scores
    /// higher, 1/2 on a tie.
    fn auc_by_pairs(scores: &[f64], positive: &[bool]) -> f64 {
        let (mut sum, mut pairs) = (0.0, 0.0);
        for (_, &si) in scores.iter().enumerate().filter(|(i, _)| positive[*i]) {
            for (_, &sj) in scores.iter().enumerate().filter(|(j, _)| !positive[*j]) {
                sum += if si > sj {
                    1.0
                } else if si == sj {
                    0.5
                } else {
                    0.0
                };
                pairs += 1.0;
            }
        }
        sum / pairs
    }

    #[test]
    fn auc_hand_computed() {
        // Perfect and perfectly wrong separation.
        assert_eq!(
            roc_auc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]),
            Some(1.0)
        );
        assert_eq!(
            roc_auc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]),
            Some(0.0)
        );
        // The classic example: scores 0.1 0.4 0.35 0.8 with labels 0 0 1 1 → 3 of 4 pairs.
        assert!(close(
            roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]).unwrap(),
            0.75
        ));
        // All scores tied: every pair counts one half.
        assert_eq!(roc_auc(&[0.5; 4], &[true, false, true, false]), Some(0.5));
        // Ties across classes: positives {0.5, 0.7}, negatives {0.5, 0.2}.
        // Pairs: (0.5,0.5)=½, (0.5,0.2)=1, (0.7,0.5)=1, (0.7,0.2)=1 → 3.5/4.
        assert!(close(
            roc_auc(&[0.5, 0.7, 0.5, 0.2], &[true, true, false, false]).unwrap(),
            0.875
        ));
        // Ties within one class do not matter: positives {0.6, 0.6}, negatives {0.6, 0.1, 0.1}.
        // (0.6,0.6)=½ twice, (0.6,0.1)=1 four times → 5/6.
        assert!(close(
            roc_auc(
                &[0.6, 0.6, 0.6, 0.1, 0.1],
                &[true, true, false, false, false]
            )
            .unwrap(),
            5.0 / 6.0
        ));
    }

    #[test]
    fn auc_matches_pair_counting_with_many_ties() {
        let scores: Vec<f64> = (0..200).map(|i| ((i * 37) % 11) as f64 / 10.0).collect();
        let positive: Vec<bool> = (0..200).map(|i| (i * 13) % 7 < 3).collect();
        let fast = roc_auc(&scores, &positive).unwrap();
        assert!(close(fast, auc_by_pairs(&scores, &positive)), "{fast}");
    }

    #[test]
    fn auc_undefined_cases() {
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
        assert_eq!(roc_auc(&[0.1, 0.2], &[false, false]), None);
        assert_eq!(roc_auc(&[0.1], &[true, false]), None);
        assert_eq!(roc_auc(&[], &[]), None);
    }

    #[test]
    fn accuracy_rmse_r2() {
        assert_eq!(
            accuracy(&[true, false, true, true], &[true, true, true, false]),
            Some(0.5)
        );
        assert_eq!(accuracy(&[], &[]), None);
        assert_eq!(rmse(&[1.0, 2.0], &[1.0, 4.0]), Some(2.0f64.sqrt()));
        assert_eq!(r2(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]), Some(1.0));
        // Predicting the mean gives R² = 0.
        assert_eq!(r2(&[2.0, 2.0, 2.0], &[1.0, 2.0, 3.0]), Some(0.0));
        assert_eq!(r2(&[1.0, 2.0], &[5.0, 5.0]), None);
    }
}
