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
///
/// `min` and `max` are the feature's **public clipping range**, in `unit`: a property of the data
/// type, fixed when the schema is written and never computed from the records a job trains on.
/// Training clips every value into `[min, max]` (a value outside is not refused, it is moved to
/// the nearer end) and scales features by this range, so that how much one record can move a
/// model is bounded by public numbers alone (what differential privacy calibrates its noise to).
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
    /// Lower end of the clipping range, in `unit`; finite and below `max`.
    pub min: f64,
    /// Upper end of the clipping range, in `unit`; finite and above `min`.
    pub max: f64,
}

impl Feature {
    /// `value` moved into `[min, max]` (NaN is left as it is; records never hold NaN).
    pub fn clip(&self, value: f64) -> f64 {
        value.max(self.min).min(self.max)
    }
}

/// The label of a schema: either categorical (`classes`) or numeric (`min`, `max`).
///
/// A categorical label's value is the index of its class: with
/// `"classes": ["benign", "malignant"]`, 0 is benign and 1 malignant. A numeric label states a
/// public clipping range like a [`Feature`]'s, which regression clips and scales by.
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
    /// Class names of a categorical label, value `i` naming `classes[i]`; at least two, distinct.
    /// Empty for a numeric label.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
    /// Lower end of a numeric label's clipping range; `None` for a categorical label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Upper end of a numeric label's clipping range; `None` for a categorical label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

impl Label {
    /// The clipping range of a numeric label, `None` for a categorical one.
    pub fn range(&self) -> Option<(f64, f64)> {
        self.min.zip(self.max)
    }

    /// Whether the label names classes (and a classifier may be trained on it).
    pub fn is_categorical(&self) -> bool {
        !self.classes.is_empty()
    }

    /// The classes with their values, `0 = benign, 1 = malignant` (empty for a numeric label).
    pub fn classes_text(&self) -> String {
        let classes: Vec<String> = self
            .classes
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{i} = {c}"))
            .collect();
        classes.join(", ")
    }

    /// Checks a record's label value: for a categorical label the index of one of its classes
    /// (`0` to `classes − 1`), for a numeric one any finite number (training clips it to the
    /// range). `Err` says why, naming the classes but never the value (it is patient data).
    pub fn check_value(&self, value: f64) -> std::result::Result<(), String> {
        if !value.is_finite() {
            return Err("not a finite number".into());
        }
        if self.is_categorical()
            && (value.fract() != 0.0 || value < 0.0 || value >= self.classes.len() as f64)
        {
            return Err(format!(
                "not one of the classes of {:?} ({})",
                self.name,
                self.classes_text()
            ));
        }
        Ok(())
    }

    fn validate(&self) -> Result<()> {
        match (self.classes.is_empty(), self.min, self.max) {
            (false, None, None) => {
                if self.classes.len() < 2 {
                    return Err(Error::Schema(format!(
                        "label {:?} names {} class; a categorical label has at least two",
                        self.name,
                        self.classes.len()
                    )));
                }
                let mut seen = HashSet::new();
                for class in &self.classes {
                    if class.trim().is_empty() || class.len() > 64 {
                        return Err(Error::Schema(format!(
                            "class names of label {:?} are 1 to 64 bytes",
                            self.name
                        )));
                    }
                    if !seen.insert(class) {
                        return Err(Error::Schema(format!(
                            "class {class:?} of label {:?} appears twice",
                            self.name
                        )));
                    }
                }
                Ok(())
            }
            (true, Some(min), Some(max)) => check_range(&self.name, min, max),
            _ => Err(Error::Schema(format!(
                "label {:?} must declare either `classes` (categorical) or both `min` and `max` \
                 (numeric), not both and not neither",
                self.name
            ))),
        }
    }
}

fn check_range(column: &str, min: f64, max: f64) -> Result<()> {
    if !(min.is_finite() && max.is_finite() && min < max) {
        return Err(Error::Schema(format!(
            "the range of {column:?} is [{min}, {max}]; it must be finite with min < max"
        )));
    }
    Ok(())
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
        for f in &self.features {
            check_range(&f.name, f.min, f.max)?;
        }
        self.label.validate()?;
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

    /// The feature called `name`.
    pub fn feature(&self, name: &str) -> Option<&Feature> {
        self.features.iter().find(|f| f.name == name)
    }

    /// The built-in schema of the data type `name` (`breast-cancer-wdbc`), if there is one.
    pub fn builtin(name: &str) -> Option<Self> {
        Self::builtins().into_iter().find(|s| s.name == name)
    }

    /// Every built-in data type's schema.
    pub fn builtins() -> Vec<Self> {
        vec![Self::wdbc(), Self::cardiometabolic()]
    }

    /// The built-in `cardiometabolic` data type: routine measurements a clinic records as FHIR
    /// Observations, each by its LOINC code and in its UCUM unit, and a numeric label, the
    /// HbA1c (a regression target; FHIR import maps every feature and the label).
    ///
    /// The clipping ranges are physiological bounds chosen once, by hand, wide enough for any
    /// living adult's value (a value outside is clipped, not refused): age 18–110 years, weight
    /// 30–300 kg, height 100–230 cm, blood pressure 50–280 / 20–160 mm Hg, heart rate 20–250 per
    /// minute, total cholesterol 50–600 mg/dL, HDL 5–200 mg/dL, fasting glucose 20–600 mg/dL,
    /// HbA1c 3–20 %.
    pub fn cardiometabolic() -> Self {
        /// (name, LOINC, UCUM unit, min, max)
        const FEATURES: [(&str, &str, &str, f64, f64); 9] = [
            ("age", "30525-0", "a", 18.0, 110.0),
            ("body_weight", "29463-7", "kg", 30.0, 300.0),
            ("body_height", "8302-2", "cm", 100.0, 230.0),
            ("systolic_bp", "8480-6", "mm[Hg]", 50.0, 280.0),
            ("diastolic_bp", "8462-4", "mm[Hg]", 20.0, 160.0),
            ("heart_rate", "8867-4", "/min", 20.0, 250.0),
            ("cholesterol_total", "2093-3", "mg/dL", 50.0, 600.0),
            ("cholesterol_hdl", "2085-9", "mg/dL", 5.0, 200.0),
            ("glucose_fasting", "1558-6", "mg/dL", 20.0, 600.0),
        ];
        Self {
            name: "cardiometabolic".into(),
            description:
                "Cardiometabolic measurements (FHIR Observations by LOINC code) and the HbA1c"
                    .into(),
            features: FEATURES
                .iter()
                .map(|(name, loinc, unit, min, max)| Feature {
                    name: (*name).to_owned(),
                    unit: Some((*unit).to_owned()),
                    loinc: Some((*loinc).to_owned()),
                    min: *min,
                    max: *max,
                })
                .collect(),
            label: Label {
                name: "hba1c".into(),
                description: "Hemoglobin A1c of total hemoglobin in blood, % (LOINC 4548-4)".into(),
                loinc: Some("4548-4".into()),
                classes: Vec::new(),
                min: Some(3.0),
                max: Some(20.0),
            },
        }
    }

    /// The built-in `breast-cancer-wdbc` data type: the Wisconsin Diagnostic Breast Cancer
    /// features (ten nucleus measurements, each as mean, standard error and worst) and the
    /// diagnosis (classes `benign` = 0, `malignant` = 1).
    ///
    /// # Clipping ranges
    ///
    /// The features are measured on the digitized image of a fine needle aspirate (Street,
    /// Wolberg & Mangasarian 1993), so lengths are in image pixels, areas in square pixels and
    /// texture in grey levels; the six shape descriptors are ratios without unit. The ranges were
    /// chosen once, by hand, from what the measurements can be, and are generous round numbers
    /// that contain every value of the published data set (UCI, 569 patients); they are never
    /// recomputed from the records a job trains on:
    ///
    /// * Every measurement is non-negative, so every range starts at 0.
    /// * Size (`mean` and `worst`, the largest three nuclei): a radius of at most 40 px, and the
    ///   perimeter and area of a circle of that radius, 2π·40 ≈ 250 px and π·40² ≈ 5000 px²
    ///   (the data set's largest: 28.1, 188.5, 2501; worst 36.0, 251.2, 4254: one worst
    ///   perimeter lies 0.5% above the range and is clipped, as out-of-range values are).
    /// * Texture (standard deviation of 8-bit grey levels): 0 to 50 (largest seen 39.3; 49.5 worst).
    /// * Shape ratios: smoothness 0 to 0.25, compactness and concavity 0 to 1.5, concave points
    ///   0 to 0.5, symmetry 0 to 1, fractal dimension 0 to 0.25 (largest seen, worst:
    ///   0.22, 1.06, 1.25, 0.29, 0.66, 0.21).
    /// * Standard errors (`se`), the spread over one image's nuclei, a fraction of the size
    ///   range: radius 0 to 5, texture 0 to 10, perimeter 0 to 30, area 0 to 1000; smoothness
    ///   0 to 0.05, compactness 0 to 0.25, concavity 0 to 0.5, concave points 0 to 0.1,
    ///   symmetry 0 to 0.1, fractal dimension 0 to 0.05 (largest seen: 2.9, 4.9, 22.0, 542;
    ///   0.031, 0.135, 0.396, 0.053, 0.079, 0.030).
    pub fn wdbc() -> Self {
        /// (measurement, unit, upper end for `mean` and `worst`, upper end for `se`)
        const BASE: [(&str, &str, f64, f64); 10] = [
            ("radius", "{px}", 40.0, 5.0),
            ("texture", "{grey_level}", 50.0, 10.0),
            ("perimeter", "{px}", 250.0, 30.0),
            ("area", "{px2}", 5000.0, 1000.0),
            ("smoothness", "1", 0.25, 0.05),
            ("compactness", "1", 1.5, 0.25),
            ("concavity", "1", 1.5, 0.5),
            ("concave_points", "1", 0.5, 0.1),
            ("symmetry", "1", 1.0, 0.1),
            ("fractal_dimension", "1", 0.25, 0.05),
        ];
        let features = ["mean", "se", "worst"]
            .iter()
            .flat_map(|stat| {
                BASE.iter().map(move |(base, unit, max, se_max)| Feature {
                    name: format!("{base}_{stat}"),
                    unit: Some((*unit).to_owned()),
                    loinc: None,
                    min: 0.0,
                    max: if *stat == "se" { *se_max } else { *max },
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
                classes: vec!["benign".into(), "malignant".into()],
                min: None,
                max: None,
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
    fn every_builtin_is_valid_and_round_trips() {
        for s in Schema::builtins() {
            s.validate().unwrap();
            let json = serde_json::to_vec(&s).unwrap();
            assert_eq!(Schema::from_json(&json).unwrap(), s);
            assert_eq!(Schema::builtin(&s.name), Some(s.clone()));
        }
        let c = Schema::cardiometabolic();
        assert!(c.features.iter().all(|f| f.loinc.is_some()));
        assert_eq!(c.label.range(), Some((3.0, 20.0)));
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

    #[test]
    fn ranges_are_required_finite_and_ordered() {
        for (min, max) in [
            (1.0, 1.0),
            (2.0, 1.0),
            (f64::NAN, 1.0),
            (0.0, f64::INFINITY),
        ] {
            let mut s = Schema::wdbc();
            s.features[3].min = min;
            s.features[3].max = max;
            let e = s.validate().unwrap_err().to_string();
            assert!(e.contains("area_mean") && e.contains("min < max"), "{e}");
        }
        let no_range = br#"{"name":"x","features":[{"name":"a"}],
                            "label":{"name":"y","classes":["no","yes"]}}"#;
        let e = Schema::from_json(no_range).unwrap_err().to_string();
        assert!(e.contains("min"), "{e}");
        let ok = br#"{"name":"x","features":[{"name":"a","unit":"kg","min":0,"max":300}],
                      "label":{"name":"y","min":-1.5,"max":1.5}}"#;
        let s = Schema::from_json(ok).unwrap();
        assert_eq!((s.features[0].min, s.features[0].max), (0.0, 300.0));
        assert_eq!(s.label.range(), Some((-1.5, 1.5)));
        assert!(!s.label.is_categorical());
        assert_eq!(s.features[0].clip(-3.0), 0.0);
        assert_eq!(s.features[0].clip(301.0), 300.0);
        assert_eq!(s.features[0].clip(7.5), 7.5);
    }

    #[test]
    fn a_label_is_categorical_or_numeric() {
        let label = |body: &str| {
            let json = format!(
                r#"{{"name":"x","features":[{{"name":"a","min":0,"max":1}}],"label":{{"name":"y"{body}}}}}"#
            );
            Schema::from_json(json.as_bytes())
        };
        assert!(label("").is_err());
        assert!(label(r#","classes":["only"]"#).is_err());
        assert!(label(r#","classes":["a","a"]"#).is_err());
        assert!(label(r#","classes":["a","b"],"min":0,"max":1"#).is_err());
        assert!(label(r#","min":0"#).is_err());
        assert!(label(r#","min":2,"max":1"#).is_err());
        assert!(
            label(r#","classes":["a","b"]"#)
                .unwrap()
                .label
                .is_categorical()
        );
    }

    #[test]
    fn builtin_finds_wdbc_only() {
        assert_eq!(Schema::builtin("breast-cancer-wdbc"), Some(Schema::wdbc()));
        assert_eq!(Schema::builtin("vitals-diabetes"), None);
        let s = Schema::wdbc();
        assert_eq!(s.feature("area_worst").map(|f| f.max), Some(5000.0));
        assert_eq!(s.feature("area_se").map(|f| f.max), Some(1000.0));
        assert_eq!(s.label.classes, ["benign", "malignant"]);
    }

    /// The ranges contain the published data set, except one worst perimeter 0.5% above its
    /// range (documented on `Schema::wdbc`).
    #[test]
    fn wdbc_ranges_cover_the_published_data() {
        let schema = Schema::wdbc();
        let rows = crate::csv::read(&schema, include_str!("../../../data/wdbc/wdbc.csv")).unwrap();
        assert_eq!(rows.len(), 569);
        for f in &schema.features {
            let largest = rows
                .iter()
                .map(|r| r.record.values[&f.name])
                .fold(f64::NEG_INFINITY, f64::max);
            let smallest = rows
                .iter()
                .map(|r| r.record.values[&f.name])
                .fold(f64::INFINITY, f64::min);
            assert!(smallest >= f.min, "{}", f.name);
            assert!(
                largest <= 1.02 * f.max,
                "{}: {largest} vs {}",
                f.name,
                f.max
            );
        }
    }
}
