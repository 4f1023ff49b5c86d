//! Seeded synthetic cohorts shared by the tests and the benchmark.
#![allow(dead_code, unreachable_pub, missing_docs)]

use medshare_records::{Feature, Label, Schema};
use medshare_training::{Dataset, DatasetBuilder};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rand_distr::StandardNormal;

/// A standard normal draw.
pub fn normal(rng: &mut ChaCha20Rng) -> f64 {
    rng.sample(StandardNormal)
}

/// The true coefficients of [`logistic_cohort`]: between -1 and 1.
pub fn logistic_weights(d: usize) -> Vec<f64> {
    (0..d).map(|j| ((j % 7) as f64 - 3.0) / 3.0).collect()
}

/// `n` records of `d` standard-normal features (scaled and shifted per column, as clinical
/// measurements are) with a label drawn from a logistic model, so classes overlap a little.
/// Calls `sink` per record.
pub fn logistic_rows(n: usize, d: usize, seed: u64, mut sink: impl FnMut(&[f64], f64)) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let w = logistic_weights(d);
    let mut row = vec![0.0; d];
    for _ in 0..n {
        let mut z = 0.25;
        for (j, x) in row.iter_mut().enumerate() {
            let standard = normal(&mut rng);
            z += 3.0 * w[j] * standard;
            *x = 10.0 * (j as f64 + 1.0) + (j as f64 + 1.0) * standard;
        }
        let p = 1.0 / (1.0 + (-z).exp());
        let label = if rng.r#gen::<f64>() < p { 1.0 } else { 0.0 };
        sink(&row, label);
    }
}

pub fn logistic_cohort(n: usize, d: usize, seed: u64) -> Dataset {
    let mut b = DatasetBuilder::with_capacity(d, n);
    logistic_rows(n, d, seed, |row, label| b.push(row, label).unwrap());
    b.finish()
}

/// `y = 3 + 2·x0 − x1 + 0.5·x2 + 0·x3 + ε` with `x ~ N(0, diag(1, 4, 9, 1))` and `ε ~ N(0, 0.05²)`.
pub const RIDGE_TRUTH: [f64; 4] = [2.0, -1.0, 0.5, 0.0];
pub const RIDGE_INTERCEPT: f64 = 3.0;

pub fn ridge_cohort(n: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut b = DatasetBuilder::new(4);
    for _ in 0..n {
        let x = [
            normal(&mut rng),
            2.0 * normal(&mut rng),
            3.0 * normal(&mut rng),
            normal(&mut rng),
        ];
        let y = RIDGE_INTERCEPT
            + x.iter().zip(RIDGE_TRUTH).map(|(x, w)| x * w).sum::<f64>()
            + 0.05 * normal(&mut rng);
        b.push(&x, y).unwrap();
    }
    b.finish()
}

/// Two uniform features in [-1, 1] and the label `(x0 > 0) xor (x1 > 0)`: no line separates it.
pub fn xor_cohort(n: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut b = DatasetBuilder::new(2);
    for _ in 0..n {
        let x = [rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0)];
        let y = f64::from(u8::from((x[0] > 0.0) != (x[1] > 0.0)));
        b.push(&x, y).unwrap();
    }
    b.finish()
}

/// A schema `synthetic` with features `f0…` in the given ranges and either a binary label `y`
/// (`label_range: None`) or a numeric one in `label_range`.
pub fn schema(ranges: &[(f64, f64)], label_range: Option<(f64, f64)>) -> Schema {
    Schema {
        name: "synthetic".into(),
        description: String::new(),
        features: ranges
            .iter()
            .enumerate()
            .map(|(j, &(min, max))| Feature {
                name: format!("f{j}"),
                unit: None,
                loinc: None,
                min,
                max,
            })
            .collect(),
        label: Label {
            name: "y".into(),
            description: String::new(),
            loinc: None,
            classes: if label_range.is_none() {
                vec!["no".into(), "yes".into()]
            } else {
                Vec::new()
            },
            min: label_range.map(|r| r.0),
            max: label_range.map(|r| r.1),
        },
    }
}

/// The public ranges of [`logistic_cohort`]'s features: five deviations either side of the mean.
pub fn logistic_ranges(d: usize) -> Vec<(f64, f64)> {
    (0..d)
        .map(|j| (5.0 * (j as f64 + 1.0), 15.0 * (j as f64 + 1.0)))
        .collect()
}

/// The public ranges of [`ridge_cohort`]: five deviations either side, and a label range.
pub fn ridge_ranges() -> (Vec<(f64, f64)>, (f64, f64)) {
    (
        vec![(-5.0, 5.0), (-10.0, 10.0), (-15.0, 15.0), (-5.0, 5.0)],
        (-40.0, 40.0),
    )
}

/// The breast cancer data set (569 patients, 30 features, label `diagnosis`).
pub fn wdbc() -> (Schema, Dataset) {
    let schema = Schema::wdbc();
    let rows = medshare_records::csv::read(&schema, include_str!("../../../../data/wdbc/wdbc.csv"))
        .unwrap();
    let names: Vec<String> = schema.feature_names().map(str::to_owned).collect();
    let mut b = DatasetBuilder::with_capacity(names.len(), rows.len());
    for r in &rows {
        b.push(&r.record.select(&names).unwrap(), r.record.label.unwrap())
            .unwrap();
    }
    (schema, b.finish())
}
