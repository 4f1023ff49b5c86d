//! The privacy section of a spec: `(ε, δ)` and the clipping norm, with ε = ∞ spelled `"inf"`.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// The differential privacy parameters of a job: `(ε, δ)`, and optionally the clipping norm.
///
/// JSON: `{"epsilon": 1.0, "delta": 1e-5}`; `{"epsilon": "inf"}` asks for no differential
/// privacy at all, which [`train_with_rules`](crate::train_with_rules) refuses unless the
/// [`TrainingRules`](crate::TrainingRules) allow it. Every mechanism of this crate is
/// approximate-DP (Gaussian noise, accounted in zero-concentrated DP and converted to `(ε, δ)`),
/// so a finite ε needs a δ in (0, 1), and training further requires δ < 1/n.
///
/// The guarantee is with respect to adding or removing one record; the number of records
/// (published anyway by the audit trail) is not protected.
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Privacy {
    /// ε > 0, or `f64::INFINITY` (JSON `"inf"`) for no differential privacy.
    #[serde(with = "epsilon_json")]
    #[cfg_attr(feature = "json-schema", schemars(schema_with = "epsilon_schema"))]
    pub epsilon: f64,
    /// δ in (0, 1); required when ε is finite, absent when it is infinite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<f64>,
    /// The L2 norm each record's centred, scaled feature vector is clipped to (features scaled
    /// to `[−1, 1]` by their schema ranges), for logistic regression; finite and `> 0`. Default:
    /// `√d / 4` for `d` features, a quarter of the scaled box's half-diagonal. The other models
    /// need no clipping beyond the schema ranges and refuse it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip_norm: Option<f64>,
}

impl Privacy {
    /// The L2 norm each (scaled, centred) record is clipped to by private logistic regression
    /// over `features` features: `clip_norm` if the spec sets it, else `√d / 4`.
    pub fn clip_norm_for(&self, features: usize) -> f64 {
        self.clip_norm
            .unwrap_or_else(|| crate::private_logistic::default_clip_norm(features))
    }

    /// `(ε, δ)`-differential privacy with the default clipping.
    pub fn new(epsilon: f64, delta: f64) -> Self {
        Self {
            epsilon,
            delta: Some(delta),
            clip_norm: None,
        }
    }

    /// No differential privacy (ε = ∞).
    pub fn non_private() -> Self {
        Self {
            epsilon: f64::INFINITY,
            delta: None,
            clip_norm: None,
        }
    }

    /// Whether ε is finite (the job is differentially private).
    pub fn is_private(&self) -> bool {
        self.epsilon.is_finite()
    }

    /// Checks ε, δ and the clipping norm; the error names the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, reason: String| Err(Error::InvalidPrivacy { field, reason });
        if self.epsilon.is_nan() || self.epsilon <= 0.0 {
            return bad(
                "epsilon",
                format!("is {}, but must be > 0 (or \"inf\")", self.epsilon),
            );
        }
        match (self.is_private(), self.delta) {
            (true, None) => {
                return bad(
                    "delta",
                    "is missing: every mechanism here is (ε, δ)-DP and needs a δ in (0, 1)".into(),
                );
            }
            (true, Some(delta)) if !(delta > 0.0 && delta < 1.0) => {
                return bad("delta", format!("is {delta}, but must be in (0, 1)"));
            }
            (false, Some(_)) => {
                return bad(
                    "delta",
                    "is given with epsilon = inf, which releases without noise".into(),
                );
            }
            _ => {}
        }
        if let Some(c) = self.clip_norm
            && !(c.is_finite() && c > 0.0)
        {
            return bad("clip_norm", format!("is {c}, but must be finite and > 0"));
        }
        Ok(())
    }
}

/// ε in JSON: a number, or the string `"inf"` for `f64::INFINITY` (JSON has no infinity).
pub(crate) mod epsilon_json {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub(crate) fn serialize<S: Serializer>(epsilon: &f64, s: S) -> Result<S::Ok, S::Error> {
        if *epsilon == f64::INFINITY {
            s.serialize_str("inf")
        } else {
            s.serialize_f64(*epsilon)
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Epsilon {
            Number(f64),
            Text(String),
        }
        match Epsilon::deserialize(d)? {
            Epsilon::Number(e) => Ok(e),
            Epsilon::Text(t) if t == "inf" || t == "infinity" => Ok(f64::INFINITY),
            Epsilon::Text(t) => Err(D::Error::custom(format!(
                "epsilon must be a number or \"inf\", not {t:?}"
            ))),
        }
    }
}

/// ε in JSON: a number above 0, or `"inf"`.
#[cfg(feature = "json-schema")]
fn epsilon_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "ε > 0, or \"inf\" for no differential privacy",
        "oneOf": [
            { "type": "number", "exclusiveMinimum": 0 },
            { "const": "inf" }
        ]
    })
}
