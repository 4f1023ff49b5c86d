//! Sample inputs of the size `medshare demo` and `medshare bench gas` submit: a model
//! specification, a data requirement and one patient row. The parties themselves come from
//! [`medshare_testkit::World`].

use anyhow::{Result, bail};
use medshare_ledger::TransactionReceipt;

/// A logistic-regression model specification of the size `medshare demo` submits.
pub(crate) fn sample_model() -> Vec<u8> {
    br#"{"kind":"logistic_regression","features":["radius_mean","texture_mean","perimeter_mean","area_mean","smoothness_mean","compactness_mean","concavity_mean","concave_points_mean","symmetry_mean","fractal_dimension_mean"],"label":"diagnosis","hyperparameters":{"l2":0.01,"max_iterations":200,"tolerance":1e-6},"test_fraction":0.25,"seed":7}"#.to_vec()
}

/// A data requirement RM_j of the size `medshare demo` submits.
pub(crate) fn sample_requirement() -> Vec<u8> {
    br#"{"data_type":"breast-cancer-wdbc","features":["radius_mean","texture_mean","perimeter_mean","area_mean","smoothness_mean","compactness_mean","concavity_mean","concave_points_mean","symmetry_mean","fractal_dimension_mean"],"label":"diagnosis","min_cohort":100}"#.to_vec()
}

/// A record plaintext of about the size of one breast-cancer patient row.
pub(crate) fn sample_record(i: usize) -> Vec<u8> {
    format!(
        "{{\"patient\":{i},\"radius_mean\":17.99,\"texture_mean\":10.38,\"perimeter_mean\":122.8,\"area_mean\":1001.0,\"smoothness_mean\":0.1184,\"compactness_mean\":0.2776,\"concavity_mean\":0.3001,\"concave_points_mean\":0.1471,\"symmetry_mean\":0.2419,\"fractal_dimension_mean\":0.07871,\"diagnosis\":1}}"
    )
    .into_bytes()
}

/// Checks a receipt succeeded (the wallet already refuses failures; this guards the figures).
pub(crate) fn gas_of(receipt: &TransactionReceipt) -> Result<u64> {
    if !receipt.status() {
        bail!("transaction {} failed", receipt.transaction_hash);
    }
    Ok(receipt.gas_used)
}
