//! The loss-threshold membership-inference attack (Yeom, Giacomelli, Fredrikson & Jha 2018).

use medshare_records::Schema;

use crate::metrics::roc_auc;
use crate::{Dataset, Error, ModelSpec, Parameters, Result, TrainingRules, fit};

/// How well a loss threshold tells training records from others, for the model `spec` releases.
///
/// The records are shuffled with `seed` and halved; the model is [`fit`] on the first half (the
/// members) under `rules`; then every record's loss under the released parameters is computed
/// (log loss for classifiers, squared error for regression), and the attack "a record is a
/// member when its loss is low" is scored by its ROC AUC over members and non-members. 0.5 is
/// no better than a coin; a model that memorises its training records scores near 1.
/// Differential privacy bounds it: an `(ε, δ)` model keeps any attack's AUC at most about
/// `e^ε / (1 + e^ε) + δ` for a single record's membership (a loose, worst-case bound; average
/// cases stay far below it).
///
/// The attack needs the records, so it runs where they are (tests and benchmarks, or inside
/// the enclave); its result is a number about the model, not about a patient.
pub fn membership_auc(
    spec: &ModelSpec,
    schema: &Schema,
    mut data: Dataset,
    rules: &TrainingRules,
    seed: u64,
) -> Result<f64> {
    let n = data.n_records();
    if n < 4 {
        return Err(Error::TooFewRecords { records: n });
    }
    data.shuffle(seed);
    let half = n / 2;
    let members = data.subset(0..half);
    let fitted = fit(spec, schema, members, rules)?;
    let classifier = spec.kind.is_classifier();
    let mut scores = Vec::with_capacity(n);
    let mut member = Vec::with_capacity(n);
    for i in 0..n {
        let loss = loss(
            &fitted.parameters,
            data.row(i),
            data.labels()[i],
            classifier,
        )?;
        scores.push(-loss);
        member.push(i < half);
    }
    roc_auc(&scores, &member).ok_or(Error::TooFewRecords { records: n })
}

fn loss(parameters: &Parameters, x: &[f64], y: f64, classifier: bool) -> Result<f64> {
    let score = parameters.score(x)?;
    Ok(if classifier {
        let p = score.clamp(1e-12, 1.0 - 1e-12);
        if y == 1.0 { -p.ln() } else { -(1.0 - p).ln() }
    } else {
        (score - y) * (score - y)
    })
}
