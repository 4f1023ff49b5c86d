//! Data types as schemas.

use crate::{Error, Result};
use medshare_primitives::DataType;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The most features a schema may have.
pub const MAX_SCHEMA_FEATURES: usize = 1024;
/// The largest schema file accepted.
const MAX_SCHEMA_BYTES: usize = 256 * 1024;

/// A data type (the paper's UDT): its name, its features and its label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// The data type's name (`DataType`): lower-case letters, digits, `-`, `_` and `.`.
    pub name: String,
    /// What the data is.
    #[serde(default)]
    pub description: String,
    /// The features, in order.
    pub features: Vec<Feature>,
    /// The label a supervised model learns.
    pub label: Label,
}

/// One feature of a schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feature {
    /// Column name: lower-case letters, digits and `_`.
    pub name: String,
    /// Unit of measure (UCUM), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// LOINC code of the FHIR Observation that carries it, for FHIR import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loinc: Option<String>,
}

/// The label of a schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    /// Column name.
    pub name: String,
    /// What the values mean (e.g. `1 = malignant, 0 = benign`).
    #[serde(default)]
    pub description: String,
    /// LOINC code of the FHIR Observation that carries it, for FHIR import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loinc: Option<String>,
}

fn valid_column(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Schema {
    /// Parses and validates a schema from JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_SCHEMA_BYTES {
            return Err(Error::TooLarge {
                what: "schema",
                len: bytes.len(),
                max: MAX_SCHEMA_BYTES,
            });
        }
        let schema: Self =
            serde_json::from_slice(bytes).map_err(|e| Error::Schema(e.to_string()))?;
        schema.validate()?;
        Ok(schema)
    }

    /// Checks names (valid, unique, label distinct from features) and sizes.
    pub fn validate(&self) -> Result<()> {
        DataType::new(self.name.clone()).map_err(|e| Error::Schema(e.to_string()))?;
        if self.features.is_empty() || self.features.len() > MAX_SCHEMA_FEATURES {
            return Err(Error::Schema(format!(
                "a schema has 1 to {MAX_SCHEMA_FEATURES} features, {} given",
                self.features.len()
            )));
        }
        let mut seen = HashSet::new();
        for name in self
            .features
            .iter()
            .map(|f| &f.name)
            .chain([&self.label.name])
        {
            if !valid_column(name) {
                return Err(Error::Schema(format!(
                    "column name {name:?} must be 1 to 64 lower-case letters, digits or '_'"
                )));
            }
            if !seen.insert(name) {
                return Err(Error::Schema(format!("column {name:?} appears twice")));
            }
        }
        let mut codes = HashSet::new();
        for code in self
            .features
            .iter()
            .filter_map(|f| f.loinc.as_ref())
            .chain(self.label.loinc.as_ref())
        {
            if !codes.insert(code) {
                return Err(Error::Schema(format!(
                    "LOINC code {code:?} is mapped twice"
                )));
            }
        }
        Ok(())
    }

    /// The data type id this schema's records are registered under.
    pub fn data_type(&self) -> Result<DataType> {
        DataType::new(self.name.clone()).map_err(|e| Error::Schema(e.to_string()))
    }

    /// The feature names, in order.
    pub fn feature_names(&self) -> impl Iterator<Item = &str> {
        self.features.iter().map(|f| f.name.as_str())
    }

    /// Whether `name` is a feature of this schema.
    pub fn has_feature(&self, name: &str) -> bool {
        self.features.iter().any(|f| f.name == name)
    }

    /// The built-in `breast-cancer-wdbc` data type: the Wisconsin Diagnostic Breast Cancer
    /// features (ten nucleus measurements, each as mean, standard error and worst) and the
    /// diagnosis (1 = malignant, 0 = benign).
    pub fn wdbc() -> Self {
        const BASE: [&str; 10] = [
            "radius",
            "texture",
            "perimeter",
            "area",
            "smoothness",
            "compactness",
            "concavity",
            "concave_points",
            "symmetry",
            "fractal_dimension",
        ];
        let features = ["mean", "se", "worst"]
            .iter()
            .flat_map(|stat| {
                BASE.iter().map(move |base| Feature {
                    name: format!("{base}_{stat}"),
                    unit: None,
                    loinc: None,
                })
            })
            .collect();
        Self {
            name: "breast-cancer-wdbc".into(),
            description: "Wisconsin Diagnostic Breast Cancer: nucleus features of a fine needle aspirate image".into(),
            features,
            label: Label {
                name: "diagnosis".into(),
                description: "1 = malignant, 0 = benign".into(),
                loinc: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wdbc_is_valid_and_has_thirty_features() {
        let s = Schema::wdbc();
        s.validate().unwrap();
        assert_eq!(s.features.len(), 30);
        assert_eq!(s.features[0].name, "radius_mean");
        assert_eq!(s.features[29].name, "fractal_dimension_worst");
        let json = serde_json::to_vec(&s).unwrap();
        assert_eq!(Schema::from_json(&json).unwrap(), s);
    }

    #[test]
    fn bad_schemas_are_refused_with_the_reason() {
        let mut s = Schema::wdbc();
        s.features[1].name = "radius_mean".into();
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("appears twice")
        );
        let mut s = Schema::wdbc();
        s.label.name = "Diagnosis".into();
        assert!(s.validate().unwrap_err().to_string().contains("lower-case"));
        let mut s = Schema::wdbc();
        s.features.clear();
        assert!(s.validate().is_err());
        let mut s = Schema::wdbc();
        s.features[0].loinc = Some("1-1".into());
        s.label.loinc = Some("1-1".into());
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("mapped twice")
        );
        assert!(
            Schema::from_json(br#"{"name":"x","features":[],"label":{"name":"y"},"extra":1}"#)
                .is_err()
        );
    }
}
