//! The model the demo submits: a logistic regression on all 30 features of the breast cancer
//! data, with differential privacy (or without, for the paper's run), and its data requirement.
//! `medshare bench gas` measures the gas of exactly this submission.

use medshare_records::{DataRequirement, Schema};
use medshare_training::{ModelKind, ModelSpec, Privacy};

/// δ of the demo's private runs.
pub(crate) const DELTA: f64 = 1e-5;

/// The demo's default ε (`medshare demo --epsilon`).
pub(crate) const DEFAULT_EPSILON: f64 = 2.0;

/// The demo's model spec at `epsilon` (∞: without differential privacy).
pub(crate) fn demo_spec(schema: &Schema, epsilon: f64) -> ModelSpec {
    let private = epsilon.is_finite();
    ModelSpec {
        kind: ModelKind::LogisticRegression {
            // Without differential privacy, features scaled by their public ranges spread less
            // than standardized ones: a lighter penalty suits them.
            l2: if private { 1.0 } else { 0.3 },
            max_iterations: 500,
            tolerance: 1e-6,
        },
        features: schema.feature_names().map(str::to_owned).collect(),
        label: schema.label.name.clone(),
        test_fraction: 0.25,
        seed: 7,
        privacy: if private {
            Privacy::new(epsilon, DELTA)
        } else {
            Privacy::non_private()
        },
    }
}

/// The demo's data requirement: every feature the spec reads, at least `min_cohort` patients.
pub(crate) fn demo_requirement(schema: &Schema, min_cohort: u64) -> DataRequirement {
    DataRequirement {
        data_type: schema.name.clone(),
        features: schema.feature_names().map(str::to_owned).collect(),
        label: schema.label.name.clone(),
        min_cohort,
    }
}
