//! Each import limit, hit through the public API at its public value: the oversized input is
//! refused with the named error before it is parsed into records.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use medshare_records::{
    Error, MAX_IMPORT_RECORDS, Schema,
    csv::{self, MAX_CSV_BYTES},
    fhir::{self, MAX_BUNDLE_BYTES},
};

fn schema() -> Schema {
    Schema::from_json(include_bytes!("../testdata/vitals-schema.json")).unwrap()
}

/// `len` bytes of text. NULs, so that the allocation is zeroed pages the kernel maps lazily: a
/// 256 MiB input costs neither the time to fill it nor resident memory.
fn text_of(len: usize) -> String {
    String::from_utf8(vec![0; len]).unwrap()
}

#[test]
fn a_csv_file_over_max_csv_bytes_is_too_large() {
    let e = csv::read(&schema(), &text_of(MAX_CSV_BYTES + 1)).unwrap_err();
    assert!(
        matches!(e, Error::TooLarge { what: "CSV file", len, max }
            if len == MAX_CSV_BYTES + 1 && max == MAX_CSV_BYTES),
        "{e}"
    );
}

#[test]
fn a_csv_file_with_a_row_past_max_import_records_is_refused() {
    // The shortest rows the schema allows (two bytes a value): about 9 MB for a million rows.
    let header = "heart_rate,systolic_bp,bmi,glucose\n";
    let mut text = String::with_capacity(header.len() + 8 * (MAX_IMPORT_RECORDS + 1));
    text.push_str(header);
    for _ in 0..=MAX_IMPORT_RECORDS {
        text.push_str("1,1,1,1\n");
    }
    let e = csv::read(&schema(), &text).unwrap_err();
    assert!(
        matches!(e, Error::TooManyRecords { what: "CSV file", items: "rows", max }
            if max == MAX_IMPORT_RECORDS),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "CSV file has more than {MAX_IMPORT_RECORDS} rows, the most one import reads (split it)"
        )
    );
}

#[test]
fn a_fhir_bundle_over_max_bundle_bytes_is_too_large() {
    let e = fhir::read_bundle(&schema(), &text_of(MAX_BUNDLE_BYTES + 1)).unwrap_err();
    assert!(
        matches!(e, Error::TooLarge { what: "FHIR bundle", len, max }
            if len == MAX_BUNDLE_BYTES + 1 && max == MAX_BUNDLE_BYTES),
        "{e}"
    );
}

/// The bundle is parsed whole into `serde_json` values before its Patients are counted: about
/// 15 s and 1.7 GB unoptimized for these 56 MB, too much for every test run. The same check at a
/// small limit is `fhir::tests::patients_past_the_limit_are_refused`.
#[test]
#[ignore = "15 s and 1.7 GB unoptimized; run with --ignored"]
fn a_fhir_bundle_with_a_patient_past_max_import_records_is_refused() {
    use std::fmt::Write;
    let mut json = String::from(r#"{"resourceType":"Bundle","entry":["#);
    for i in 0..=MAX_IMPORT_RECORDS {
        let comma = if i == 0 { "" } else { "," };
        write!(
            json,
            r#"{comma}{{"resource":{{"resourceType":"Patient","id":"p{i}"}}}}"#
        )
        .unwrap();
    }
    json.push_str("]}");
    let e = fhir::read_bundle(&schema(), &json).unwrap_err();
    assert!(
        matches!(e, Error::TooManyRecords { what: "FHIR bundle", items: "Patients", max }
            if max == MAX_IMPORT_RECORDS),
        "{e}"
    );
}
