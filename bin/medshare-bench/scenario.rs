//! What `medshare bench gas` submits: the demo's model specification and data requirement,
//! and a patient row of the demo's size. The parties themselves come from
//! [`medshare_testkit::World`].

use anyhow::{Result, bail};
use medshare_ledger::TransactionReceipt;

/// The model spec `medshare demo` submits (at its default ε), as JSON.
pub(crate) fn sample_model() -> Result<Vec<u8>> {
    Ok(serde_json::to_vec(&crate::job_spec::demo_spec(
        &medshare_records::Schema::wdbc(),
        crate::job_spec::DEFAULT_EPSILON,
    ))?)
}

/// The data requirement `medshare demo` submits (at least 50 patients), as JSON.
pub(crate) fn sample_requirement() -> Vec<u8> {
    crate::job_spec::demo_requirement(&medshare_records::Schema::wdbc(), 50).to_json()
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
