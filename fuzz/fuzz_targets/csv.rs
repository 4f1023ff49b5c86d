//! CSV import (the patient's upload step) against the WDBC schema.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medshare_records::{Schema, csv};

fuzz_target!(|text: &str| {
    if let Ok(rows) = csv::read(&Schema::wdbc(), text) {
        for row in rows {
            let _ = row;
        }
    }
});
