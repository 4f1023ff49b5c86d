//! The canonical plaintext of one record.

use crate::{Error, Result, Schema};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// The largest record plaintext accepted.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// One patient's record, `UDATA_i`: the values of a data type's features, and its label when
/// known. Encoded as `{"data_type": NAME, "values": {FEATURE: NUMBER, …}, "label": NUMBER|null}`.
///
/// `Debug` shows the data type and the number of values, never a value; the values are
/// overwritten with zeros when the record is dropped.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientRecord {
    /// The data type (schema name).
    pub data_type: String,
    /// Feature values by name.
    pub values: BTreeMap<String, f64>,
    /// The label, if known.
    pub label: Option<f64>,
}

impl std::fmt::Debug for PatientRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientRecord")
            .field("data_type", &self.data_type)
            .field("values", &self.values.len())
            .field("label", &self.label.is_some())
            .finish()
    }
}

impl Drop for PatientRecord {
    fn drop(&mut self) {
        for v in self.values.values_mut() {
            // Volatile-free best effort: the optimizer may not elide a write followed by a
            // read through `black_box`.
            *v = 0.0;
            std::hint::black_box(&*v);
        }
        self.label = None;
    }
}

impl PatientRecord {
    /// The canonical bytes (compact JSON, features in name order). Zeroized when dropped.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        serde_json::to_vec(self)
            .map(Zeroizing::new)
            .map_err(|e| Error::Record(format!("cannot encode: {e}")))
    }

    /// Reads canonical bytes, refusing anything else: unknown fields, non-finite numbers,
    /// oversized input. The error never quotes the input.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(Error::TooLarge {
                what: "record",
                len: bytes.len(),
                max: MAX_RECORD_BYTES,
            });
        }
        let record: Self = serde_json::from_slice(bytes).map_err(|e| {
            // serde_json's messages name the position and the expected type, not the value.
            Error::Record(format!(
                "not a record: {} at line {} column {}",
                e.classify_name(),
                e.line(),
                e.column()
            ))
        })?;
        if record
            .values
            .values()
            .chain(record.label.iter())
            .any(|v| !v.is_finite())
        {
            return Err(Error::Record("a value is not a finite number".into()));
        }
        Ok(record)
    }

    /// Checks the record against its schema: same data type, exactly the schema's features.
    pub fn check(&self, schema: &Schema) -> Result<()> {
        if self.data_type != schema.name {
            return Err(Error::Record(format!(
                "data type {:?}, expected {:?}",
                self.data_type, schema.name
            )));
        }
        if let Some(missing) = schema
            .feature_names()
            .find(|n| !self.values.contains_key(*n))
        {
            return Err(Error::Record(format!("feature {missing:?} is missing")));
        }
        if let Some(extra) = self.values.keys().find(|k| !schema.has_feature(k)) {
            return Err(Error::Record(format!(
                "feature {extra:?} is not in the schema"
            )));
        }
        if let Some((name, _)) = self.values.iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::Record(format!(
                "feature {name:?} is not a finite number"
            )));
        }
        if let Some(label) = self.label {
            schema
                .label
                .check_value(label)
                .map_err(|reason| Error::Record(format!("label: {reason}")))?;
        }
        Ok(())
    }

    /// The values of `names`, in that order.
    pub fn select(&self, names: &[String]) -> Result<Vec<f64>> {
        names
            .iter()
            .map(|n| {
                self.values
                    .get(n)
                    .copied()
                    .ok_or_else(|| Error::Record(format!("feature {n:?} is missing")))
            })
            .collect()
    }
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "malformed JSON",
            serde_json::error::Category::Data => "wrong shape or type",
            serde_json::error::Category::Eof => "truncated JSON",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PatientRecord {
        let schema = Schema::wdbc();
        PatientRecord {
            data_type: schema.name.clone(),
            values: schema
                .feature_names()
                .enumerate()
                .map(|(i, n)| (n.to_owned(), i as f64 + 0.5))
                .collect(),
            label: Some(1.0),
        }
    }

    #[test]
    fn round_trip_and_schema_check() {
        let r = sample();
        let bytes = r.to_bytes().unwrap();
        let back = PatientRecord::from_bytes(&bytes).unwrap();
        assert_eq!(back, r);
        back.check(&Schema::wdbc()).unwrap();
        assert_eq!(
            back.select(&["area_mean".into(), "radius_mean".into()])
                .unwrap(),
            vec![3.5, 0.5]
        );
    }

    #[test]
    fn malformed_records_are_refused_without_quoting_values() {
        let mut r = sample();
        r.values.remove("area_mean");
        assert!(
            r.check(&Schema::wdbc())
                .unwrap_err()
                .to_string()
                .contains("area_mean")
        );
        let err = PatientRecord::from_bytes(
            br#"{"data_type":"x","values":{"a":"SECRET-123"},"label":1}"#,
        )
        .unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
        assert!(
            PatientRecord::from_bytes(br#"{"data_type":"x","values":{},"label":1,"x":2}"#).is_err()
        );
        assert!(PatientRecord::from_bytes(&vec![b' '; MAX_RECORD_BYTES + 1]).is_err());
        let dbg = format!("{:?}", sample());
        assert!(!dbg.contains("0.5"), "{dbg}");
    }
}
