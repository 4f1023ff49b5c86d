//! Evaluation metrics on the held-out split.

use serde::{Deserialize, Serialize};

/// How well the model did on the held-out records.
///
/// These are computed on patients' records, so they are data too. Without differential privacy
/// (ε = ∞) they are exact. Under differential privacy they are released through the privacy
/// mechanism, on the held-out records only (disjoint from the training records, so the two
/// sides compose in parallel and the job's `(ε, δ)` covers both): `accuracy` from a
/// Gaussian-noised count of correct predictions and `roc_curve` from a Gaussian-noised histogram
/// of the scores per class (the two share the held-out side's budget, half each, composed in
/// zCDP), `rmse` and `r2` from Gaussian-noised sums of squares, each clamped to its possible
/// range; `roc_auc` is `None` (one record can move the rank statistic by the size of the test
/// set, so a private AUC would be noise; the area under the noisy `roc_curve` is an
/// approximation anyone can compute). Expect an error of a few hundredths in accuracy on a
/// test set of ~150 records at ε = 1.
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
        /// The ROC curve at the [`ROC_BINS`]` + 1` thresholds `k / ROC_BINS` (see
        /// [`roc_curve`]), from threshold 1 (the point (0, 0)) down to threshold 0 (the point
        /// (1, 1)). Exact without differential privacy; under it, a post-processing of noisy
        /// per-bin counts (see [`roc_curve_from_counts`]). `None` when the held-out split holds
        /// only one class (or, under differential privacy, when a class's noisy count is not
        /// positive), and in results made before the curve was released (absent in JSON).
        #[serde(default)]
        roc_curve: Option<Vec<RocPoint>>,
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

/// The number of equal-width bins of the predicted probability that the ROC curve is read at:
/// thresholds `0, 1/20, …, 1`. Fixed and public (never chosen from the data), so that under
/// differential privacy the histogram's bins reveal nothing by themselves.
pub const ROC_BINS: usize = 20;

/// One point of a ROC curve: at scores of at least `threshold` a record is predicted positive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RocPoint {
    /// The threshold on the predicted probability of class 1, `k / ROC_BINS`.
    pub threshold: f64,
    /// Fraction of the negatives scored at or above the threshold, in `[0, 1]`.
    pub false_positive_rate: f64,
    /// Fraction of the positives scored at or above the threshold, in `[0, 1]`.
    pub true_positive_rate: f64,
}

/// The bin of a predicted probability among [`ROC_BINS`] equal-width bins of `[0, 1]`:
/// `⌊score · ROC_BINS⌋`, a score of exactly 1 (or above) in the top bin, below 0 or NaN in the
/// bottom one.
pub fn roc_bin(score: f64) -> usize {
    let bin = (score * ROC_BINS as f64).floor();
    if bin >= (ROC_BINS - 1) as f64 {
        ROC_BINS - 1
    } else if bin >= 0.0 {
        bin as usize
    } else {
        0
    }
}

/// The histogram a ROC curve is read from: per [`roc_bin`], how many positives and how many
/// negatives scored in it, `(positives, negatives)`, each of [`ROC_BINS`] counts. Each record
/// adds 1 to exactly one of the `2 · ROC_BINS` counts, so adding or removing one record moves the
/// histogram by 1 in L2 norm. `None` when the lengths differ.
pub fn score_histogram(scores: &[f64], positive: &[bool]) -> Option<(Vec<f64>, Vec<f64>)> {
    if scores.len() != positive.len() {
        return None;
    }
    let mut positives = vec![0.0; ROC_BINS];
    let mut negatives = vec![0.0; ROC_BINS];
    for (&score, &p) in scores.iter().zip(positive) {
        let counts = if p { &mut positives } else { &mut negatives };
        counts[roc_bin(score)] += 1.0;
    }
    Some((positives, negatives))
}

/// The exact ROC curve at the thresholds `k / ROC_BINS`: [`roc_curve_from_counts`] of
/// [`score_histogram`]. `None` when the lengths differ or either class is absent.
pub fn roc_curve(scores: &[f64], positive: &[bool]) -> Option<Vec<RocPoint>> {
    let (positives, negatives) = score_histogram(scores, positive)?;
    roc_curve_from_counts(&positives, &negatives)
}

/// The ROC curve from per-bin counts of positives and negatives (exact or noisy), at the
/// thresholds `k / ROC_BINS` for `k = ROC_BINS, …, 0`: at threshold `k / ROC_BINS` the records
/// of bins `k` and above are predicted positive.
///
/// Post-processing only (it reads nothing but the counts, so it costs no privacy): for each
/// class, the counts at or above each threshold (suffix sums `S_k`, `S_{ROC_BINS}` = 0) are made
/// non-increasing in `k` by isotonic regression (pool adjacent violators, least squares; exact
/// counts are already monotone and are left as they are), then clamped at 0; the rate at `k` is
/// `S_k / S_0`. Summing the noisy counts first and fitting the monotone sequence after keeps the
/// sums unbiased, where clamping each noisy count at 0 first would add about 0.4 σ of phantom
/// records for every empty bin. The result runs from (0, 0) to (1, 1), both rates in `[0, 1]`
/// and non-decreasing. `None` when the lengths are not `ROC_BINS` or a class's total is not
/// positive (absent, or noised to nothing).
pub fn roc_curve_from_counts(positives: &[f64], negatives: &[f64]) -> Option<Vec<RocPoint>> {
    let tpr = rates_at_or_above(positives)?;
    let fpr = rates_at_or_above(negatives)?;
    Some(
        (0..=ROC_BINS)
            .rev()
            .map(|k| RocPoint {
                threshold: k as f64 / ROC_BINS as f64,
                false_positive_rate: fpr[k],
                true_positive_rate: tpr[k],
            })
            .collect(),
    )
}

/// For `k = 0..=ROC_BINS`, the fraction of a class's records in bins `k` and above, after the
/// monotone fit of [`roc_curve_from_counts`]; `rates[0] = 1`, `rates[ROC_BINS] = 0`.
fn rates_at_or_above(counts: &[f64]) -> Option<Vec<f64>> {
    if counts.len() != ROC_BINS || !counts.iter().all(|c| c.is_finite()) {
        return None;
    }
    // rising[j] = S_{ROC_BINS − 1 − j}: the counts at or above a falling threshold, which must
    // be non-decreasing in j (S_{ROC_BINS} = 0 comes before them, hence the clamp at 0).
    let mut above = 0.0;
    let rising: Vec<f64> = counts
        .iter()
        .rev()
        .map(|c| {
            above += c;
            above
        })
        .collect();
    let fitted: Vec<f64> = isotonic(&rising).into_iter().map(|x| x.max(0.0)).collect();
    let total = *fitted.last()?;
    if total <= 0.0 {
        return None;
    }
    let mut rates = vec![0.0; ROC_BINS + 1];
    for (j, x) in fitted.iter().enumerate() {
        rates[ROC_BINS - 1 - j] = (x / total).clamp(0.0, 1.0);
    }
    Some(rates)
}

/// The least-squares non-decreasing fit of `values` (pool adjacent violators).
fn isotonic(values: &[f64]) -> Vec<f64> {
    // Blocks of (mean, size), merged while a block's mean is below its predecessor's.
    let mut blocks: Vec<(f64, usize)> = Vec::with_capacity(values.len());
    for &v in values {
        let (mut mean, mut size) = (v, 1usize);
        while let Some(&(previous, n)) = blocks.last() {
            if previous <= mean {
                break;
            }
            blocks.pop();
            mean = (previous * n as f64 + mean * size as f64) / (n + size) as f64;
            size += n;
        }
        blocks.push((mean, size));
    }
    blocks
        .into_iter()
        .flat_map(|(mean, size)| std::iter::repeat_n(mean, size))
        .collect()
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

    fn point(threshold: f64, fpr: f64, tpr: f64) -> RocPoint {
        RocPoint {
            threshold,
            false_positive_rate: fpr,
            true_positive_rate: tpr,
        }
    }

    #[test]
    fn roc_bins_of_scores() {
        assert_eq!(roc_bin(0.0), 0);
        assert_eq!(roc_bin(0.049), 0);
        assert_eq!(roc_bin(0.05), 1);
        assert_eq!(roc_bin(0.5), 10);
        assert_eq!(roc_bin(0.99), 19);
        assert_eq!(roc_bin(1.0), 19);
        assert_eq!(roc_bin(7.0), 19);
        assert_eq!(roc_bin(-0.5), 0);
        assert_eq!(roc_bin(f64::NAN), 0);
    }

    /// Two positives (0.9, 0.3), two negatives (0.6, 0.1), by hand: at threshold 0.9 one
    /// positive is above; at 0.6 one of each; at 0.3 both positives and one negative; at 0.1
    /// everything.
    #[test]
    fn roc_curve_exact_small_case() {
        let curve = roc_curve(&[0.9, 0.3, 0.6, 0.1], &[true, true, false, false]).unwrap();
        assert_eq!(curve.len(), ROC_BINS + 1);
        let at = |t: f64| {
            *curve
                .iter()
                .find(|p| (p.threshold - t).abs() < 1e-12)
                .unwrap()
        };
        assert_eq!(curve[0], point(1.0, 0.0, 0.0));
        assert_eq!(at(0.95), point(0.95, 0.0, 0.0));
        assert_eq!(at(0.9), point(0.9, 0.0, 0.5));
        assert_eq!(at(0.65), point(0.65, 0.0, 0.5));
        assert_eq!(at(0.6), point(0.6, 0.5, 0.5));
        assert_eq!(at(0.3), point(0.3, 0.5, 1.0));
        assert_eq!(at(0.15), point(0.15, 0.5, 1.0));
        assert_eq!(at(0.1), point(0.1, 1.0, 1.0));
        assert_eq!(curve[ROC_BINS], point(0.0, 1.0, 1.0));
        // One class absent, or lengths that differ: no curve.
        assert_eq!(roc_curve(&[0.2, 0.8], &[true, true]), None);
        assert_eq!(roc_curve(&[0.2], &[true, false]), None);
    }

    /// With a score in every bin, the exact curve's trapezoids give the exact AUC.
    #[test]
    fn roc_curve_area_matches_auc_when_bins_separate_the_scores() {
        let scores: Vec<f64> = (0..ROC_BINS)
            .map(|b| (b as f64 + 0.5) / ROC_BINS as f64)
            .collect();
        let positive: Vec<bool> = (0..ROC_BINS).map(|b| (b * 7) % 3 == 0).collect();
        let curve = roc_curve(&scores, &positive).unwrap();
        let area: f64 = curve
            .windows(2)
            .map(|w| {
                (w[1].false_positive_rate - w[0].false_positive_rate)
                    * (w[1].true_positive_rate + w[0].true_positive_rate)
                    / 2.0
            })
            .sum();
        assert!(close(area, roc_auc(&scores, &positive).unwrap()), "{area}");
    }

    /// Noisy counts (negative ones, a class's mass out of order) still give a curve from (0, 0)
    /// to (1, 1), monotone, within [0, 1].
    #[test]
    fn roc_curve_from_noisy_counts_is_a_curve() {
        let mut positives = vec![-1.5; ROC_BINS];
        positives[19] = 30.0;
        positives[3] = 4.0;
        positives[4] = -6.0;
        let negatives: Vec<f64> = (0..ROC_BINS).map(|b| 5.0 - b as f64 * 0.4).collect();
        let curve = roc_curve_from_counts(&positives, &negatives).unwrap();
        assert_eq!(curve.first().unwrap(), &point(1.0, 0.0, 0.0));
        assert_eq!(curve.last().unwrap(), &point(0.0, 1.0, 1.0));
        for w in curve.windows(2) {
            assert!(w[1].threshold < w[0].threshold);
            assert!(w[1].false_positive_rate >= w[0].false_positive_rate);
            assert!(w[1].true_positive_rate >= w[0].true_positive_rate);
        }
        assert!(
            curve
                .iter()
                .all(|p| (0.0..=1.0).contains(&p.false_positive_rate)
                    && (0.0..=1.0).contains(&p.true_positive_rate))
        );
        // A class noised to nothing: no curve.
        assert_eq!(roc_curve_from_counts(&positives, &[-1.0; ROC_BINS]), None);
        assert_eq!(roc_curve_from_counts(&positives[1..], &negatives), None);
    }

    #[test]
    fn isotonic_fit_pools_violators() {
        assert_eq!(isotonic(&[1.0, 2.0, 3.0]), vec![1.0, 2.0, 3.0]);
        assert_eq!(isotonic(&[3.0, 1.0, 2.0]), vec![2.0, 2.0, 2.0]);
        assert_eq!(isotonic(&[1.0, 4.0, 2.0, 5.0]), vec![1.0, 3.0, 3.0, 5.0]);
    }

    #[test]
    fn metrics_without_a_curve_still_parse() {
        let old = r#"{"type":"classification","accuracy":0.5,"roc_auc":null}"#;
        assert_eq!(
            serde_json::from_str::<Metrics>(old).unwrap(),
            Metrics::Classification {
                accuracy: 0.5,
                roc_auc: None,
                roc_curve: None
            }
        );
        let with = Metrics::Classification {
            accuracy: 0.5,
            roc_auc: Some(0.75),
            roc_curve: roc_curve(&[0.9, 0.1], &[true, false]),
        };
        let json = serde_json::to_string(&with).unwrap();
        assert!(json.contains(r#""roc_curve":[{"threshold":1.0,"false_positive_rate":0.0,"true_positive_rate":0.0}"#), "{json}");
        assert_eq!(serde_json::from_str::<Metrics>(&json).unwrap(), with);
    }
}
