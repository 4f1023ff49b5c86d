//! The public clipping ranges of a spec's columns, taken from the data type's schema.

use medshare_records::Schema;
use serde::{Deserialize, Serialize};

use crate::{Error, ModelSpec, Result};

/// A feature's public clipping range `[min, max]`, copied from its schema.
///
/// A released model carries the ranges of its features so that it can be applied: a value is
/// first clipped into the range, then scaled to `[−1, 1]` ([`scale`](Self::scale)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureRange {
    /// Lower end.
    pub min: f64,
    /// Upper end, above `min`.
    pub max: f64,
}

impl FeatureRange {
    /// `x` moved into `[min, max]`.
    pub fn clip(&self, x: f64) -> f64 {
        x.max(self.min).min(self.max)
    }

    /// `x` clipped, then mapped linearly from `[min, max]` onto `[−1, 1]`.
    pub fn scale(&self, x: f64) -> f64 {
        2.0 * (self.clip(x) - self.min) / (self.max - self.min) - 1.0
    }

    /// The inverse of [`scale`](Self::scale) on `[−1, 1]`.
    pub(crate) fn unscale(&self, s: f64) -> f64 {
        self.min + (s + 1.0) * 0.5 * (self.max - self.min)
    }

    pub(crate) fn is_valid(&self) -> bool {
        self.min.is_finite() && self.max.is_finite() && self.min < self.max
    }
}

/// What the label of a spec is, by its schema.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum LabelColumn {
    /// Two classes, values 0 and 1.
    Binary,
    /// A number in a public range.
    Numeric(FeatureRange),
}

/// The ranges of a spec's features (in the spec's order) and the kind of its label.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Columns {
    pub(crate) features: Vec<FeatureRange>,
    pub(crate) label: LabelColumn,
}

impl Columns {
    /// Looks the spec's columns up in `schema`; refuses features the schema lacks, another
    /// label, a classifier on a label that is not two classes and a regression on classes.
    pub(crate) fn of(spec: &ModelSpec, schema: &Schema) -> Result<Self> {
        let mismatch = |reason: String| Error::SchemaMismatch {
            data_type: schema.name.clone(),
            reason,
        };
        schema.validate().map_err(|e| mismatch(e.to_string()))?;
        let features = spec
            .features
            .iter()
            .map(|name| {
                schema
                    .feature(name)
                    .map(|f| FeatureRange {
                        min: f.min,
                        max: f.max,
                    })
                    .ok_or_else(|| mismatch(format!("it has no feature `{name}`")))
            })
            .collect::<Result<Vec<_>>>()?;
        if spec.label != schema.label.name {
            return Err(mismatch(format!(
                "its label is `{}`, not `{}`",
                schema.label.name, spec.label
            )));
        }
        let label = if spec.kind.is_classifier() {
            if schema.label.classes.len() != 2 {
                return Err(mismatch(format!(
                    "a {} needs a label of exactly two classes",
                    spec.kind.name()
                )));
            }
            LabelColumn::Binary
        } else {
            let (min, max) = schema.label.range().ok_or_else(|| {
                mismatch(format!(
                    "a {} needs a numeric label with a range",
                    spec.kind.name()
                ))
            })?;
            LabelColumn::Numeric(FeatureRange { min, max })
        };
        Ok(Self { features, label })
    }
}
