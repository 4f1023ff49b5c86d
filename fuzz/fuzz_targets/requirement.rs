//! `DataRequirement` and data type `Schema` parsing (the demander's and governance's inputs): an
//! accepted requirement is checked against the schema and re-encodes to an accepted one.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medshare_records::{DataRequirement, Schema};

fuzz_target!(|data: &[u8]| {
    if let Ok(schema) = Schema::from_json(data) {
        let _ = schema.validate();
    }
    let Ok(requirement) = DataRequirement::from_json(data) else {
        return;
    };
    let _ = requirement.check_against(&Schema::wdbc());
    DataRequirement::from_json(&requirement.to_json())
        .expect("an accepted requirement's own JSON is accepted");
});
