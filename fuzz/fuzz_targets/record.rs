//! The record plaintext format (what the enclave decrypts): parse, check against the data type's
//! schema, and a record that parses writes canonical bytes that parse back to the same record.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medshare_records::{PatientRecord, Schema};

fuzz_target!(|data: &[u8]| {
    let Ok(record) = PatientRecord::from_bytes(data) else {
        return;
    };
    let _ = record.check(&Schema::wdbc());
    let bytes = record.to_bytes().expect("a parsed record encodes");
    let again = PatientRecord::from_bytes(&bytes).expect("canonical bytes parse");
    assert!(again == record, "a record survives its canonical encoding");
});
