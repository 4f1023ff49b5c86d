//! A dense, row-major matrix of records, filled one record at a time.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use std::ops::Range;

use crate::error::Column;
use crate::{Error, FeatureRange, Result};

/// Collects records one at a time (as they are decrypted) into a [`Dataset`].
///
/// Keeps only the values: `n_records × (n_features + 1)` `f64`s in two flat vectors, with no
/// allocation per record. A record that fails validation is not added and leaves the builder as
/// it was.
pub struct DatasetBuilder {
    n_features: usize,
    values: Vec<f64>,
    labels: Vec<f64>,
}

impl DatasetBuilder {
    /// A builder for records of `n_features` features each.
    pub fn new(n_features: usize) -> Self {
        Self {
            n_features,
            values: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// Like [`new`](Self::new), reserving room for `records` records up front so that the buffer
    /// is never reallocated (and peak memory stays at exactly the final size).
    pub fn with_capacity(n_features: usize, records: usize) -> Self {
        Self {
            n_features,
            values: Vec::with_capacity(n_features.saturating_mul(records)),
            labels: Vec::with_capacity(records),
        }
    }

    /// Appends one record: its features, in the spec's feature order, and its label.
    ///
    /// Fails, adding nothing, when `features` has the wrong length or any value is NaN or infinite.
    pub fn push(&mut self, features: &[f64], label: f64) -> Result<()> {
        if features.len() != self.n_features {
            return Err(Error::DimensionMismatch {
                expected: self.n_features,
                found: features.len(),
            });
        }
        if let Some(i) = features.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFiniteValue(Column::Feature(i)));
        }
        if !label.is_finite() {
            return Err(Error::NonFiniteValue(Column::Label));
        }
        self.values.extend_from_slice(features);
        self.labels.push(label);
        Ok(())
    }

    /// Number of records pushed so far.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether no record has been pushed.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The finished dataset.
    pub fn finish(self) -> Dataset {
        Dataset {
            n_features: self.n_features,
            values: self.values,
            labels: self.labels,
        }
    }
}

impl std::fmt::Debug for DatasetBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatasetBuilder")
            .field("n_records", &self.len())
            .field("n_features", &self.n_features)
            .finish_non_exhaustive()
    }
}

/// Records ready for [`train`](crate::train): a row-major `n_records × n_features` matrix of
/// finite values and one finite label per record.
///
/// Its `Debug` shows the shape only, never a value.
#[derive(Clone)]
pub struct Dataset {
    n_features: usize,
    values: Vec<f64>,
    labels: Vec<f64>,
}

impl Dataset {
    /// Number of records.
    pub fn n_records(&self) -> usize {
        self.labels.len()
    }

    /// Number of features per record.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// The features and label of record `i`, if there is one.
    pub fn record(&self, i: usize) -> Option<(&[f64], f64)> {
        let label = *self.labels.get(i)?;
        Some((self.row(i), label))
    }

    /// The row-major feature values.
    #[cfg(test)]
    pub(crate) fn values(&self) -> &[f64] {
        &self.values
    }

    /// The labels, one per record.
    pub(crate) fn labels(&self) -> &[f64] {
        &self.labels
    }

    /// The features of record `i`.
    pub(crate) fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.n_features..(i + 1) * self.n_features]
    }

    /// Shuffles the records with `seed` and returns how many come first to be held out,
    /// `ceil(n · test_fraction)`: the split [`train_with_rules`](crate::train_with_rules) makes
    /// without differential privacy (it tests on those first records and trains on the rest).
    /// Public so that a comparison can give another library the very same split.
    pub fn shuffle_for_holdout(&mut self, seed: u64, test_fraction: f64) -> usize {
        self.shuffle(seed);
        (self.n_records() as f64 * test_fraction).ceil() as usize
    }

    /// Puts the records in an order drawn from `seed` (Fisher–Yates, in place, no copy).
    pub(crate) fn shuffle(&mut self, seed: u64) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let d = self.n_features;
        for i in (1..self.labels.len()).rev() {
            // u64 keeps the draw identical on 32- and 64-bit targets; i fits (it indexes a Vec).
            let j = rng.gen_range(0..=i as u64) as usize;
            if i != j {
                self.labels.swap(i, j);
                let (head, tail) = self.values.split_at_mut(i * d);
                head[j * d..(j + 1) * d].swap_with_slice(&mut tail[..d]);
            }
        }
    }

    /// Clips every feature into its range, and the labels into `label` if given (in place).
    pub(crate) fn clip(&mut self, ranges: &[FeatureRange], label: Option<FeatureRange>) {
        for row in self.values.chunks_exact_mut(self.n_features) {
            for (v, r) in row.iter_mut().zip(ranges) {
                *v = r.clip(*v);
            }
        }
        if let Some(r) = label {
            for l in &mut self.labels {
                *l = r.clip(*l);
            }
        }
    }

    /// Scales the features of records `rows` to `[−1, 1]` by their ranges, in place.
    pub(crate) fn scale(&mut self, rows: Range<usize>, ranges: &[FeatureRange]) {
        let d = self.n_features;
        for row in self.values[rows.start * d..rows.end * d].chunks_exact_mut(d) {
            for (v, r) in row.iter_mut().zip(ranges) {
                *v = r.scale(*v);
            }
        }
    }

    /// The features of records `rows`, row-major.
    pub(crate) fn rows(&self, rows: Range<usize>) -> &[f64] {
        let d = self.n_features;
        &self.values[rows.start * d..rows.end * d]
    }

    /// The features of records `rows`, row-major, for reading and writing in place.
    pub(crate) fn rows_mut(&mut self, rows: Range<usize>) -> &mut [f64] {
        let d = self.n_features;
        &mut self.values[rows.start * d..rows.end * d]
    }

    /// Moves the records with `first[i]` set to the front (in place, no copy) and returns how
    /// many there are.
    pub(crate) fn partition(&mut self, first: &[bool]) -> usize {
        let d = self.n_features;
        let mut flags = first.to_vec();
        let mut front = 0;
        for i in 0..flags.len() {
            if flags[i] {
                if i != front {
                    self.labels.swap(i, front);
                    flags.swap(i, front);
                    let (head, tail) = self.values.split_at_mut(i * d);
                    head[front * d..(front + 1) * d].swap_with_slice(&mut tail[..d]);
                }
                front += 1;
            }
        }
        front
    }

    /// A copy of records `rows`.
    pub(crate) fn subset(&self, rows: Range<usize>) -> Dataset {
        let d = self.n_features;
        Dataset {
            n_features: d,
            values: self.values[rows.start * d..rows.end * d].to_vec(),
            labels: self.labels[rows].to_vec(),
        }
    }
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset")
            .field("n_records", &self.n_records())
            .field("n_features", &self.n_features)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn push_validates_and_leaves_builder_unchanged() {
        let mut b = DatasetBuilder::new(2);
        b.push(&[1.0, 2.0], 1.0).unwrap();
        assert!(matches!(
            b.push(&[1.0], 0.0),
            Err(Error::DimensionMismatch {
                expected: 2,
                found: 1
            })
        ));
        assert!(matches!(
            b.push(&[1.0, f64::NAN], 0.0),
            Err(Error::NonFiniteValue(Column::Feature(1)))
        ));
        assert!(matches!(
            b.push(&[1.0, 2.0], f64::INFINITY),
            Err(Error::NonFiniteValue(Column::Label))
        ));
        assert_eq!(b.len(), 1);
        let d = b.finish();
        assert_eq!((d.n_records(), d.n_features()), (1, 2));
        assert_eq!(d.row(0), &[1.0, 2.0]);
    }

    #[test]
    fn debug_shows_shape_only() {
        let mut b = DatasetBuilder::with_capacity(3, 1);
        b.push(&[123.456, 7.5, 99.25], 1.0).unwrap();
        let builder = format!("{b:?}");
        let shown = format!("{builder} {:?}", b.finish());
        assert!(
            shown.contains("n_records: 1") && shown.contains("n_features: 3"),
            "{shown}"
        );
        for value in ["123", "7.5", "99"] {
            assert!(!shown.contains(value), "{shown}");
        }
    }

    #[test]
    fn shuffle_is_a_seeded_permutation_keeping_rows_whole() {
        let mut b = DatasetBuilder::new(2);
        for i in 0..50 {
            b.push(&[i as f64, -(i as f64)], i as f64).unwrap();
        }
        let original = b.finish();
        let mut a = original.clone();
        let mut c = original.clone();
        a.shuffle(3);
        c.shuffle(3);
        assert_eq!(a.values(), c.values());
        assert_ne!(a.labels(), original.labels());
        let mut seen: Vec<f64> = a.labels().to_vec();
        seen.sort_by(f64::total_cmp);
        assert_eq!(seen, original.labels());
        for i in 0..a.n_records() {
            assert_eq!(a.row(i), &[a.labels()[i], -a.labels()[i]]);
        }
        let mut other = original;
        other.shuffle(4);
        assert_ne!(other.labels(), a.labels());
    }

    #[test]
    fn clip_scale_and_partition() {
        let mut b = DatasetBuilder::new(2);
        for row in [[100.0, 5.0], [-1.0, 5.0], [3.0, 7.0], [4.0, 6.0]] {
            b.push(&row, row[0]).unwrap();
        }
        let mut d = b.finish();
        let ranges = [
            FeatureRange {
                min: 0.0,
                max: 10.0,
            },
            FeatureRange { min: 5.0, max: 7.0 },
        ];
        d.clip(&ranges, Some(FeatureRange { min: 0.0, max: 4.0 }));
        assert_eq!(d.row(0), &[10.0, 5.0]);
        assert_eq!(d.row(1), &[0.0, 5.0]);
        assert_eq!(d.labels(), &[4.0, 0.0, 3.0, 4.0]);
        let front = d.partition(&[false, true, false, true]);
        assert_eq!(front, 2);
        assert_eq!(d.row(0), &[0.0, 5.0]);
        assert_eq!(d.row(1), &[4.0, 6.0]);
        let mut rest: Vec<_> = (2..4).map(|i| d.row(i).to_vec()).collect();
        rest.sort_by(|a, b| a[0].total_cmp(&b[0]));
        assert_eq!(rest, vec![vec![3.0, 7.0], vec![10.0, 5.0]]);
        d.scale(0..2, &ranges);
        assert_eq!(d.row(0), &[-1.0, -1.0]);
        assert!((d.row(1)[0] + 0.2).abs() < 1e-12 && d.row(1)[1] == 0.0);
        assert_eq!(d.row(2)[0], 3.0, "rows outside the range are not scaled");
        let sub = d.subset(1..3);
        assert_eq!((sub.n_records(), sub.row(0)), (2, d.row(1)));
    }
}
