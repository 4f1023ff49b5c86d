//! CSV import: one row per patient, a header naming the schema's columns.
//!
//! The header must name every feature of the schema; the label column is optional (records
//! without a label cannot be used for supervised training, but can be registered). A `patient`
//! column, if present, gives each row's pseudonym; otherwise rows are numbered. Other columns are
//! refused, so a file that carries more than the data type does not leak it into records.

use crate::{Error, Imported, MAX_IMPORT_RECORDS, PatientRecord, Result, Schema};
use std::collections::BTreeMap;

/// The largest CSV text accepted (about 1.2 million rows of WDBC's 30 features, ~220 bytes a
/// row; at most [`MAX_IMPORT_RECORDS`] rows are read whatever their size).
pub const MAX_CSV_BYTES: usize = 256 * 1024 * 1024;

/// Reads `text` as records of `schema`: at most [`MAX_CSV_BYTES`] of text
/// ([`Error::TooLarge`]) and [`MAX_IMPORT_RECORDS`] rows ([`Error::TooManyRecords`]).
pub fn read(schema: &Schema, text: &str) -> Result<Vec<Imported>> {
    read_at_most(schema, text, MAX_IMPORT_RECORDS)
}

/// [`read`] with a limit of `max_rows` rows.
fn read_at_most(schema: &Schema, text: &str, max_rows: usize) -> Result<Vec<Imported>> {
    if text.len() > MAX_CSV_BYTES {
        return Err(Error::TooLarge {
            what: "CSV file",
            len: text.len(),
            max: MAX_CSV_BYTES,
        });
    }
    // Count the rows first, into one reused buffer, stopping at the first past the limit: a file
    // with too many is refused before any record is built. (A row the counter cannot read ends
    // the count; the reading below reports it with its line.)
    let mut counter = ::csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let mut buffer = ::csv::ByteRecord::new();
    let mut rows = 0usize;
    while rows <= max_rows && matches!(counter.read_byte_record(&mut buffer), Ok(true)) {
        rows += 1;
    }
    if rows > max_rows {
        return Err(Error::TooManyRecords {
            what: "CSV file",
            items: "rows",
            max: max_rows,
        });
    }
    let mut reader = ::csv::ReaderBuilder::new()
        .trim(::csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| Error::Csv {
            where_: "header".into(),
            reason: e.to_string(),
        })?
        .clone();
    let mut feature_at = Vec::new();
    let (mut label_at, mut patient_at) = (None, None);
    for (i, name) in header.iter().enumerate() {
        if name == "patient" {
            patient_at = Some(i);
        } else if name == schema.label.name {
            label_at = Some(i);
        } else if schema.has_feature(name) {
            feature_at.push((i, name.to_owned()));
        } else {
            return Err(Error::Csv {
                where_: format!("header, column {}", i + 1),
                reason: format!("{name:?} is not a column of data type {:?}", schema.name),
            });
        }
    }
    if let Some(missing) = schema
        .feature_names()
        .find(|f| !feature_at.iter().any(|(_, n)| n == f))
    {
        return Err(Error::Csv {
            where_: "header".into(),
            reason: format!("feature {missing:?} of {:?} has no column", schema.name),
        });
    }
    let mut out = Vec::with_capacity(rows);
    for (row, result) in reader.records().enumerate() {
        let line = row + 2;
        let fields = result.map_err(|e| Error::Csv {
            where_: format!("line {line}"),
            reason: match e.kind() {
                ::csv::ErrorKind::UnequalLengths { .. } => "wrong number of fields".into(),
                _ => "unreadable row".into(),
            },
        })?;
        let number = |i: usize, column: &str| -> Result<f64> {
            let text = fields.get(i).unwrap_or_default();
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => Err(Error::Csv {
                    where_: format!("line {line}, column {column:?}"),
                    reason: if text.is_empty() {
                        "empty (missing values are not imported)".into()
                    } else {
                        "not a finite number".into()
                    },
                }),
            }
        };
        let mut values = BTreeMap::new();
        for (i, name) in &feature_at {
            values.insert(name.clone(), number(*i, name)?);
        }
        let label = label_at
            .map(|i| number(i, &schema.label.name))
            .transpose()?;
        if let Some(value) = label {
            schema
                .label
                .check_value(value)
                .map_err(|reason| Error::Csv {
                    where_: format!("line {line}, column {:?}", schema.label.name),
                    reason,
                })?;
        }
        let patient = match patient_at {
            Some(i) => fields.get(i).unwrap_or_default().to_owned(),
            None => format!("row-{}", row + 1),
        };
        if patient.is_empty() {
            return Err(Error::Csv {
                where_: format!("line {line}, column \"patient\""),
                reason: "empty patient identifier".into(),
            });
        }
        out.push(Imported {
            patient,
            record: PatientRecord {
                data_type: schema.name.clone(),
                values,
                label,
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Feature, Label};

    fn schema() -> Schema {
        Schema {
            name: "toy".into(),
            description: String::new(),
            features: ["a", "b"]
                .iter()
                .map(|n| Feature {
                    name: (*n).into(),
                    unit: None,
                    loinc: None,
                    min: 0.0,
                    max: 10.0,
                })
                .collect(),
            label: Label {
                name: "y".into(),
                description: String::new(),
                loinc: None,
                classes: vec!["no".into(), "yes".into()],
                min: None,
                max: None,
            },
        }
    }

    #[test]
    fn rows_become_records() {
        let got = read(&schema(), "patient,b,a,y\np1, 2.5,1,1\np2,4,3,0\n").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].patient, "p1");
        assert_eq!(got[0].record.values["a"], 1.0);
        assert_eq!(got[0].record.values["b"], 2.5);
        assert_eq!(got[1].record.label, Some(0.0));
        got[1].record.check(&schema()).unwrap();
        let unlabelled = read(&schema(), "a,b\n1,2\n").unwrap();
        assert_eq!(unlabelled[0].record.label, None);
        assert_eq!(unlabelled[0].patient, "row-1");
    }

    /// A label that is not a class of the data type is refused at import, naming the line and
    /// the classes, not the value.
    #[test]
    fn a_label_outside_the_classes_is_refused() {
        let e = read(&schema(), "a,b,y\n1,2,0\n1,2,2\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 3") && e.contains("not one of the classes of \"y\" (0 = no, 1 = yes)"),
            "{e}"
        );
        assert!(!e.contains(" 2 "), "{e}");
        let e = read(&schema(), "a,b,y\n1,2,0.5\n").unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn bad_files_name_the_place_not_the_value() {
        let e = read(&schema(), "a,b,y\n1,SECRET77,0\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2") && e.contains("\"b\"") && !e.contains("SECRET77"),
            "{e}"
        );
        let e = read(&schema(), "a,y\n1,0\n").unwrap_err().to_string();
        assert!(e.contains("\"b\""), "{e}");
        let e = read(&schema(), "a,b,ssn\n1,2,3\n").unwrap_err().to_string();
        assert!(e.contains("ssn"), "{e}");
        assert!(
            read(&schema(), "a,b\n1\n")
                .unwrap_err()
                .to_string()
                .contains("wrong number")
        );
        assert!(
            read(&schema(), "a,b\n1,\n")
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        assert!(read(&schema(), "a,b\n1,inf\n").is_err());
    }

    #[test]
    fn rows_past_the_limit_are_refused_before_any_record_is_built() {
        let rows = |n: usize| format!("a,b\n{}", "1,2\n".repeat(n));
        assert_eq!(read_at_most(&schema(), &rows(3), 3).unwrap().len(), 3);
        let e = read_at_most(&schema(), &rows(4), 3).unwrap_err();
        assert!(
            matches!(
                e,
                Error::TooManyRecords {
                    what: "CSV file",
                    items: "rows",
                    max: 3
                }
            ),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "CSV file has more than 3 rows, the most one import reads (split it)"
        );
        // Refused by count even if a later row is malformed; a malformed row within the limit
        // is reported with its line.
        let e = read_at_most(&schema(), &format!("{}1\n", rows(4)), 3).unwrap_err();
        assert!(matches!(e, Error::TooManyRecords { .. }), "{e}");
        let e = read_at_most(&schema(), "a,b\n1,2\n1\n1,2\n1,2\n1,2\n", 3)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("wrong number"), "{e}");
    }
}
