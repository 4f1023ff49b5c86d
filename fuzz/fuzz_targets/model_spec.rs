//! `ModelSpec` parsing and validation (the demander's submission, read by the enclave): a spec
//! that is accepted re-encodes to JSON that is accepted again.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medshare_training::ModelSpec;

fuzz_target!(|data: &[u8]| {
    let Ok(spec) = ModelSpec::from_json(data) else {
        return;
    };
    let json = serde_json::to_vec(&spec).expect("a spec encodes");
    ModelSpec::from_json(&json).expect("an accepted spec's own JSON is accepted");
});
