//! The FHIR import cases shared with the browser's importer (`web/src/app/fhir.ts`, tested in
//! `web/test/fhir.test.ts`): `testdata/fhir-cases.json` lists bundles (a testdata file with
//! replacements, or a literal text) and the schema to read them with, and what `read_bundle`
//! returns: the records, or the error's text. Both sides check the same file, so the two
//! importers agree record for record and error for error. `MEDSHARE_BLESS=1` rewrites the
//! expectations from this importer (review the diff).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use medshare_records::{Schema, fhir};
use serde_json::{Value, json};
use std::path::PathBuf;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

fn schema_of(name: &str) -> Schema {
    if name == "vitals" {
        Schema::from_json(&std::fs::read(testdata("vitals-schema.json")).unwrap()).unwrap()
    } else {
        Schema::builtin(name).expect("a built-in data type")
    }
}

fn bundle_of(case: &Value) -> String {
    if let Some(text) = case["text"].as_str() {
        return text.to_owned();
    }
    let mut text = std::fs::read_to_string(testdata(case["bundle"].as_str().unwrap())).unwrap();
    for pair in case["replace"].as_array().into_iter().flatten() {
        let (from, to) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
        assert!(
            text.contains(from),
            "{}: {from:?} is not in the bundle",
            case["name"]
        );
        text = text.replace(from, to);
    }
    text
}

fn outcome(case: &Value) -> Value {
    match fhir::read_bundle(
        &schema_of(case["schema"].as_str().unwrap()),
        &bundle_of(case),
    ) {
        Ok(records) => json!({
            "records": records
                .iter()
                .map(|r| json!({ "patient": r.patient, "record": r.record }))
                .collect::<Vec<_>>()
        }),
        Err(e) => json!({ "error": e.to_string() }),
    }
}

#[test]
fn the_shared_cases_read_as_expected() {
    let path = testdata("fhir-cases.json");
    let mut file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let bless = std::env::var_os("MEDSHARE_BLESS").is_some();
    for case in file["cases"].as_array_mut().unwrap() {
        let got = outcome(case);
        if bless {
            case["expect"] = got;
        } else {
            assert_eq!(got, case["expect"], "case {}", case["name"]);
        }
    }
    if bless {
        std::fs::write(&path, serde_json::to_string_pretty(&file).unwrap() + "\n").unwrap();
    }
}
