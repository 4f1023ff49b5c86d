//! FHIR R4 import: a Bundle of Patient and Observation resources.
//!
//! Each Patient becomes one record. An Observation belongs to the Patient its `subject`
//! references (`Patient/<id>`, or the `fullUrl` of the Patient's entry), and fills the feature
//! (or the label) whose LOINC code is among its `code.coding` (system `http://loinc.org`). Its
//! value is `valueQuantity.value`, `valueInteger`, or `valueBoolean` (1 or 0). A quantity that
//! names its unit (its UCUM `code`, else its `unit` text) must name the feature's unit in the
//! schema: a glucose in mmol/L where the schema says mg/dL is refused, not read 18 times too
//! small. Observations with
//! status `entered-in-error` or `cancelled`, and codes the schema does not map, are skipped; when
//! one code was observed several times, the latest `effectiveDateTime` wins. A Patient without a
//! value for every feature is refused, naming the feature.
//!
//! Written against `serde_json::Value` rather than a FHIR model crate: only these few paths of
//! two resource types are read, and a full R4 model would add a large dependency for nothing.

use crate::{Error, Imported, MAX_IMPORT_RECORDS, PatientRecord, Result, Schema};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// The largest bundle accepted.
pub const MAX_BUNDLE_BYTES: usize = 256 * 1024 * 1024;
const LOINC: &str = "http://loinc.org";

fn err(where_: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Fhir {
        where_: where_.into(),
        reason: reason.into(),
    }
}

/// One observed value and when.
struct Observed {
    value: f64,
    when: String,
}

/// Reads a Bundle (JSON text) as records of `schema`, one per Patient, in bundle order: at most
/// [`MAX_BUNDLE_BYTES`] of text ([`Error::TooLarge`]) and [`MAX_IMPORT_RECORDS`] Patients
/// ([`Error::TooManyRecords`]).
pub fn read_bundle(schema: &Schema, json: &str) -> Result<Vec<Imported>> {
    read_bundle_at_most(schema, json, MAX_IMPORT_RECORDS)
}

/// [`read_bundle`] with a limit of `max_patients` Patients.
fn read_bundle_at_most(schema: &Schema, json: &str, max_patients: usize) -> Result<Vec<Imported>> {
    if json.len() > MAX_BUNDLE_BYTES {
        return Err(Error::TooLarge {
            what: "FHIR bundle",
            len: json.len(),
            max: MAX_BUNDLE_BYTES,
        });
    }
    let bundle: Value = serde_json::from_str(json).map_err(|e| {
        err(
            "",
            format!("not JSON (line {}, column {})", e.line(), e.column()),
        )
    })?;
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(err("", "resourceType is not \"Bundle\""));
    }
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .ok_or_else(|| err("", "no entry array"))?;

    let column_of: HashMap<&str, &str> = schema
        .features
        .iter()
        .filter_map(|f| f.loinc.as_deref().map(|c| (c, f.name.as_str())))
        .chain(
            schema
                .label
                .loinc
                .as_deref()
                .map(|c| (c, schema.label.name.as_str())),
        )
        .collect();
    // The unit each feature's values are in (UCUM, as the schema states it).
    let unit_of: HashMap<&str, &str> = schema
        .features
        .iter()
        .filter_map(|f| f.unit.as_deref().map(|u| (f.name.as_str(), u)))
        .collect();
    if column_of.is_empty() {
        return Err(err(
            "",
            format!("data type {:?} maps no LOINC code", schema.name),
        ));
    }

    // Patients first (references may point forward), by `Patient/<id>` and by fullUrl; one past
    // the limit refuses the bundle before any record is built.
    let mut patients: Vec<String> = Vec::new();
    let mut by_ref: HashMap<String, usize> = HashMap::new();
    for (i, entry) in entries.iter().enumerate() {
        let Some(resource) = entry.get("resource") else {
            continue;
        };
        if resource.get("resourceType").and_then(Value::as_str) != Some("Patient") {
            continue;
        }
        if patients.len() == max_patients {
            return Err(Error::TooManyRecords {
                what: "FHIR bundle",
                items: "Patients",
                max: max_patients,
            });
        }
        let id = resource
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| err(format!("entry {i} (Patient)"), "no id"))?;
        let n = patients.len();
        if by_ref.insert(format!("Patient/{id}"), n).is_some() {
            return Err(err(
                format!("entry {i} (Patient {id})"),
                "the same Patient twice",
            ));
        }
        if let Some(url) = entry.get("fullUrl").and_then(Value::as_str) {
            by_ref.insert(url.to_owned(), n);
        }
        patients.push(id.to_owned());
    }

    let mut observed: Vec<BTreeMap<&str, Observed>> =
        (0..patients.len()).map(|_| BTreeMap::new()).collect();
    for (i, entry) in entries.iter().enumerate() {
        let Some(resource) = entry.get("resource") else {
            continue;
        };
        if resource.get("resourceType").and_then(Value::as_str) != Some("Observation") {
            continue;
        }
        let where_ = format!("entry {i} (Observation)");
        if matches!(
            resource.get("status").and_then(Value::as_str),
            Some("entered-in-error" | "cancelled")
        ) {
            continue;
        }
        let codes = resource
            .pointer("/code/coding")
            .and_then(Value::as_array)
            .ok_or_else(|| err(&where_, "no code.coding"))?;
        let Some(column) = codes.iter().find_map(|c| {
            (c.get("system").and_then(Value::as_str) == Some(LOINC))
                .then(|| c.get("code").and_then(Value::as_str))
                .flatten()
                .and_then(|code| column_of.get(code).copied())
        }) else {
            continue;
        };
        let reference = resource
            .pointer("/subject/reference")
            .and_then(Value::as_str)
            .ok_or_else(|| err(&where_, "no subject.reference"))?;
        let patient = *by_ref.get(reference).ok_or_else(|| {
            err(
                &where_,
                format!("subject {reference:?} is no Patient of the bundle"),
            )
        })?;
        let value = if let Some(quantity) = resource.get("valueQuantity") {
            let stated = quantity
                .get("code")
                .or_else(|| quantity.get("unit"))
                .and_then(Value::as_str);
            if let (Some(stated), Some(&expected)) = (stated, unit_of.get(column))
                && stated != expected
            {
                return Err(err(
                    &where_,
                    format!(
                        "{column:?} is in {stated:?}, but the data type records it in \
                         {expected:?}: convert it first"
                    ),
                ));
            }
            quantity.get("value").and_then(Value::as_f64)
        } else if let Some(v) = resource.get("valueInteger") {
            v.as_f64()
        } else if let Some(v) = resource.get("valueBoolean") {
            v.as_bool().map(|b| f64::from(u8::from(b)))
        } else {
            return Err(err(
                &where_,
                format!("no valueQuantity, valueInteger or valueBoolean for {column:?}"),
            ));
        };
        let value = value.filter(|v| v.is_finite()).ok_or_else(|| {
            err(
                &where_,
                format!("the value for {column:?} is not a finite number"),
            )
        })?;
        let when = resource
            .get("effectiveDateTime")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let slot = &mut observed[patient];
        if slot.get(column).is_none_or(|o| o.when <= when) {
            slot.insert(column, Observed { value, when });
        }
    }

    patients
        .into_iter()
        .zip(observed)
        .map(|(patient, mut obs)| {
            let mut values = BTreeMap::new();
            for f in &schema.features {
                let o = obs.remove(f.name.as_str()).ok_or_else(|| {
                    err(
                        format!("Patient {patient}"),
                        format!(
                            "no Observation for feature {:?}{}",
                            f.name,
                            f.loinc
                                .as_deref()
                                .map(|c| format!(" (LOINC {c})"))
                                .unwrap_or_default()
                        ),
                    )
                })?;
                values.insert(f.name.clone(), o.value);
            }
            let label = obs.remove(schema.label.name.as_str()).map(|o| o.value);
            if let Some(value) = label {
                schema.label.check_value(value).map_err(|reason| {
                    err(format!("Patient {patient}"), format!("label: {reason}"))
                })?;
            }
            Ok(Imported {
                patient,
                record: PatientRecord {
                    data_type: schema.name.clone(),
                    values,
                    label,
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::from_json(include_bytes!("../testdata/vitals-schema.json")).unwrap()
    }

    #[test]
    fn bundle_maps_observations_by_loinc() {
        let got = read_bundle(&schema(), include_str!("../testdata/vitals-bundle.json")).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].patient, "p1");
        let r = &got[0].record;
        r.check(&schema()).unwrap();
        assert_eq!(r.values["heart_rate"], 72.0);
        // Two systolic readings: the later one wins.
        assert_eq!(r.values["systolic_bp"], 128.0);
        assert_eq!(r.label, Some(1.0));
        // p2's observations reference it by fullUrl; it has no label.
        assert_eq!(got[1].record.values["heart_rate"], 88.0);
        assert_eq!(got[1].record.label, None);
    }

    /// The built-in `cardiometabolic` data type imports from a bundle of LOINC-coded
    /// Observations, label included.
    #[test]
    fn the_builtin_cardiometabolic_type_imports_from_fhir() {
        let schema = Schema::cardiometabolic();
        let mut entries = vec![serde_json::json!({
            "fullUrl": "urn:uuid:p1",
            "resource": { "resourceType": "Patient", "id": "p1" }
        })];
        let codes = schema
            .features
            .iter()
            .map(|f| (f.loinc.clone().unwrap(), f.name.clone()))
            .chain([(schema.label.loinc.clone().unwrap(), "hba1c".to_owned())]);
        let mut expected = Vec::new();
        for (i, (code, name)) in codes.enumerate() {
            let value = 40.0 + i as f64;
            expected.push((name, value));
            entries.push(serde_json::json!({
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": { "coding": [{ "system": "http://loinc.org", "code": code }] },
                    "subject": { "reference": "Patient/p1" },
                    "valueQuantity": { "value": value }
                }
            }));
        }
        let bundle =
            serde_json::json!({ "resourceType": "Bundle", "type": "collection", "entry": entries });
        let got = read_bundle(&schema, &bundle.to_string()).unwrap();
        assert_eq!(got.len(), 1);
        let r = &got[0].record;
        r.check(&schema).unwrap();
        for (name, value) in expected {
            if name == "hba1c" {
                assert_eq!(r.label, Some(value));
            } else {
                assert_eq!(r.values[&name], value, "{name}");
            }
        }
    }

    #[test]
    fn incomplete_or_malformed_bundles_are_refused() {
        let text =
            include_str!("../testdata/vitals-bundle.json").replace("\"8867-4\"", "\"0000-0\"");
        let e = read_bundle(&schema(), &text).unwrap_err().to_string();
        assert!(e.contains("heart_rate") && e.contains("8867-4"), "{e}");
        let e = read_bundle(&schema(), r#"{"resourceType":"Patient"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("Bundle"), "{e}");
        let text =
            include_str!("../testdata/vitals-bundle.json").replace("Patient/p1", "Patient/nobody");
        assert!(
            read_bundle(&schema(), &text)
                .unwrap_err()
                .to_string()
                .contains("no Patient")
        );
        let text = include_str!("../testdata/vitals-bundle.json")
            .replace("\"value\": 72", "\"value\": \"SECRET\"");
        let e = read_bundle(&schema(), &text).unwrap_err().to_string();
        assert!(!e.contains("SECRET") && e.contains("heart_rate"), "{e}");
    }

    /// A quantity in another unit than the schema's is refused, naming both; the UCUM code is
    /// read before the display text.
    #[test]
    fn a_value_in_another_unit_is_refused() {
        let bundle = include_str!("../testdata/vitals-bundle.json");
        let text = bundle.replace("\"mg/dL\"", "\"mmol/L\"");
        let e = read_bundle(&schema(), &text).unwrap_err().to_string();
        assert!(
            e.contains("glucose") && e.contains("mmol/L") && e.contains("mg/dL"),
            "{e}"
        );
        let text = bundle.replace(
            "\"unit\": \"/min\"",
            "\"unit\": \"beats per minute\", \"system\": \"http://unitsofmeasure.org\", \"code\": \"/min\"",
        );
        assert_eq!(read_bundle(&schema(), &text).unwrap().len(), 2);
    }

    #[test]
    fn patients_past_the_limit_are_refused() {
        let bundle = include_str!("../testdata/vitals-bundle.json");
        assert_eq!(read_bundle_at_most(&schema(), bundle, 2).unwrap().len(), 2);
        let e = read_bundle_at_most(&schema(), bundle, 1).unwrap_err();
        assert!(
            matches!(
                e,
                Error::TooManyRecords {
                    what: "FHIR bundle",
                    items: "Patients",
                    max: 1
                }
            ),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "FHIR bundle has more than 1 Patients, the most one import reads (split it)"
        );
    }
}
