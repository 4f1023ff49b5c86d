//! Logistic regression on a synthetic cohort of 100,000 patients × 30 features, the size of
//! issue 4's training comparison with scikit-learn: without privacy (argmin's L-BFGS) and at
//! ε = 1 (noisy gradient descent, OpenDP noise).
//!
//! `cargo bench -p medshare-training --bench train` (add `-- --quick` for one short pass).
#![allow(missing_docs, clippy::unwrap_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use medshare_training::{ModelKind, ModelSpec, Privacy, TrainingRules, train_with_rules};

const RECORDS: usize = 100_000;
const FEATURES: usize = 30;

fn logistic_100k_by_30(c: &mut Criterion) {
    let data = common::logistic_cohort(RECORDS, FEATURES, 42);
    let schema = common::schema(&common::logistic_ranges(FEATURES), None);
    let rules = TrainingRules {
        allow_non_private: true,
        ..TrainingRules::new(1000)
    };
    let mut group = c.benchmark_group("train");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for (name, privacy) in [
        ("logistic_regression_100k_x_30", Privacy::non_private()),
        (
            "private_logistic_regression_100k_x_30",
            Privacy::new(1.0, 1e-7),
        ),
    ] {
        let spec = ModelSpec {
            kind: ModelKind::LogisticRegression {
                l2: 1.0,
                max_iterations: 100,
                tolerance: 1e-4,
            },
            features: (0..FEATURES).map(|j| format!("f{j}")).collect(),
            label: "y".into(),
            test_fraction: 0.25,
            seed: 7,
            privacy,
        };
        group.bench_function(name, |b| {
            b.iter_batched(
                || data.clone(),
                |d| train_with_rules(&spec, &schema, d, &rules).unwrap(),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, logistic_100k_by_30);
criterion_main!(benches);
