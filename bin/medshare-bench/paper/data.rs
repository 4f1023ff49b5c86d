//! The synthetic records the benchmarks share: a schema of `n` numeric features and a binary
//! label, records of it with seeded values, and the schema whose records are about `k` kB.

use anyhow::Result;
use medshare_records::{Feature, Label, PatientRecord, Schema};
use rand::{Rng, SeedableRng, rngs::StdRng};

/// A schema of `n` features `f0000…` and a binary label `y`.
pub(super) fn schema(size_kb: u32, n: usize) -> Schema {
    Schema {
        name: format!("bench-{size_kb}kb"),
        description: String::new(),
        features: (0..n)
            .map(|i| Feature {
                name: format!("f{i:04}"),
                unit: None,
                loinc: None,
                // The generated values lie in [0, 1.25).
                min: 0.0,
                max: 1.25,
            })
            .collect(),
        label: Label {
            name: "y".into(),
            description: String::new(),
            loinc: None,
            classes: vec!["negative".into(), "positive".into()],
            min: None,
            max: None,
        },
    }
}

/// Record `i` of `schema`: values uniform in [0, 1) with nine decimals (seeded by `i`), shifted
/// by 0.25 for even `i`, whose label is 0 (odd `i`: 1), so that the classes are separable.
pub(super) fn record(schema: &Schema, i: usize) -> PatientRecord {
    let mut rng = StdRng::seed_from_u64(i as u64);
    let shift = if i.is_multiple_of(2) { 0.25 } else { 0.0 };
    let values = schema
        .feature_names()
        .map(|n| {
            let v = rng.gen_range(0..1_000_000_000u64) as f64 / 1e9 + shift;
            (n.to_owned(), v)
        })
        .collect();
    PatientRecord {
        data_type: schema.name.clone(),
        values,
        label: Some((i % 2) as f64),
    }
}

/// The schema whose records are at least `size_kb` kB of plaintext, and that size in bytes.
pub(super) fn sized_schema(size_kb: u32) -> Result<(Schema, usize)> {
    let target = size_kb as usize * 1024;
    let mut n = target / 24;
    loop {
        let s = schema(size_kb, n);
        let len = record(&s, 0).to_bytes()?.len();
        if len >= target || n > 100_000 {
            return Ok((s, len));
        }
        n += 1 + (target - len) / 24;
    }
}

/// The length of a record's ciphertext for `plaintext` bytes: sealed here with a fresh key, as
/// a patient's upload seals it.
pub(super) fn ciphertext_len(plaintext: usize) -> Result<usize> {
    let owner = alloy_primitives::Address::repeat_byte(9);
    let tee = medshare_crypto::Identity::random();
    let (key, _) = medshare_crypto::KeyShare::generate(
        &mut rand::rngs::OsRng,
        medshare_primitives::RecordId::random(),
        &tee.public_key(),
        &medshare_crypto::pk_c(1, owner),
    );
    Ok(medshare_crypto::seal_record(&key, owner, &vec![0u8; plaintext])?.len())
}
