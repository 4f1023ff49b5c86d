//! FHIR R4 bundle import (the patient's upload step) against the WDBC schema.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medshare_records::{Schema, fhir};

fuzz_target!(|text: &str| {
    let _ = fhir::read_bundle(&Schema::wdbc(), text);
});
