//! A demander's data requirement RM_j.

use crate::{Error, Result, Schema};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The largest requirement accepted.
pub const MAX_REQUIREMENT_BYTES: usize = 64 * 1024;
/// The largest minimum cohort a requirement may ask for.
const MAX_MIN_COHORT: u64 = 1_000_000_000;

/// RM_j: which records a job may train on and how many it needs.
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataRequirement {
    /// The data type (schema name).
    pub data_type: String,
    /// The features the model may read.
    pub features: Vec<String>,
    /// The label.
    pub label: String,
    /// Training is refused with fewer usable records than this.
    pub min_cohort: u64,
}

impl DataRequirement {
    /// Parses and validates a requirement.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_REQUIREMENT_BYTES {
            return Err(Error::TooLarge {
                what: "data requirement",
                len: bytes.len(),
                max: MAX_REQUIREMENT_BYTES,
            });
        }
        let r: Self =
            serde_json::from_slice(bytes).map_err(|e| Error::Requirement(e.to_string()))?;
        r.validate()?;
        Ok(r)
    }

    /// Checks it is self-consistent.
    pub fn validate(&self) -> Result<()> {
        if self.features.is_empty() {
            return Err(Error::Requirement("it names no feature".into()));
        }
        let mut seen = HashSet::new();
        if let Some(dup) = self.features.iter().find(|f| !seen.insert(*f)) {
            return Err(Error::Requirement(format!("feature {dup:?} appears twice")));
        }
        if !(1..=MAX_MIN_COHORT).contains(&self.min_cohort) {
            return Err(Error::Requirement(format!(
                "min_cohort must be 1 to {MAX_MIN_COHORT}, got {}",
                self.min_cohort
            )));
        }
        Ok(())
    }

    /// Checks it asks only for what `schema` has.
    pub fn check_against(&self, schema: &Schema) -> Result<()> {
        if self.data_type != schema.name {
            return Err(Error::Requirement(format!(
                "asks for data type {:?}, the schema is {:?}",
                self.data_type, schema.name
            )));
        }
        if let Some(f) = self.features.iter().find(|f| !schema.has_feature(f)) {
            return Err(Error::Requirement(format!(
                "feature {f:?} is not in {:?}",
                schema.name
            )));
        }
        if self.label != schema.label.name {
            return Err(Error::Requirement(format!(
                "label {:?} is not the label of {:?} ({:?})",
                self.label, schema.name, schema.label.name
            )));
        }
        Ok(())
    }

    /// Canonical JSON bytes (what is hashed and submitted).
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing a struct of strings and integers cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_validate_against_the_schema() {
        let r = DataRequirement {
            data_type: "breast-cancer-wdbc".into(),
            features: vec!["radius_mean".into(), "area_worst".into()],
            label: "diagnosis".into(),
            min_cohort: 100,
        };
        r.check_against(&Schema::wdbc()).unwrap();
        assert_eq!(DataRequirement::from_json(&r.to_json()).unwrap(), r);
        let mut bad = r.clone();
        bad.features.push("height".into());
        assert!(
            bad.check_against(&Schema::wdbc())
                .unwrap_err()
                .to_string()
                .contains("height")
        );
        let mut bad = r.clone();
        bad.min_cohort = 0;
        assert!(bad.validate().is_err());
        let mut bad = r;
        bad.features.push("radius_mean".into());
        assert!(bad.validate().unwrap_err().to_string().contains("twice"));
    }
}
