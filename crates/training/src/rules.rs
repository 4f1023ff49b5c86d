//! What the caller (the enclave, from governance on chain) allows a job to do.

use crate::{Error, ModelSpec, Result};

/// Limits set by whoever runs training, not by the demander's spec.
///
/// The enclave fills these from the on-chain governance rules: the spec says what the demander
/// asks for, the rules say what patients' data may be used for.
/// [`train_with_rules`](crate::train_with_rules) refuses a spec that asks for more.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainingRules {
    /// Training is refused on fewer records than this.
    pub min_cohort: usize,
    /// Whether a spec may ask for ε = ∞ (a model without differential privacy).
    pub allow_non_private: bool,
    /// The largest ε a spec may ask for; `None` for no cap below ∞.
    pub max_epsilon: Option<f64>,
    /// The fewest training records a decision tree leaf may describe (judged on noisy counts
    /// under differential privacy); `None` derives it from the minimum cohort, see
    /// [`min_leaf`](Self::min_leaf).
    pub min_leaf: Option<usize>,
}

impl TrainingRules {
    /// The minimum cohort when governance sets none.
    pub const DEFAULT_MIN_COHORT: usize = 50;

    /// Private training only, on at least `min_cohort` records, with the derived minimum leaf.
    pub fn new(min_cohort: usize) -> Self {
        Self {
            min_cohort,
            allow_non_private: false,
            max_epsilon: None,
            min_leaf: None,
        }
    }

    /// Whether these rules admit `spec`, before any record is seen: the spec is valid, asks for
    /// ε = ∞ only if allowed and for no more than `max_epsilon`. (The cohort checks need the
    /// records and happen in [`train_with_rules`](crate::train_with_rules).) A reviewer or the
    /// enclave can call this when a job is submitted, rather than when it is trained.
    pub fn check_spec(&self, spec: &ModelSpec) -> Result<()> {
        spec.validate()?;
        let epsilon = spec.privacy.epsilon;
        if !spec.privacy.is_private() && !self.allow_non_private {
            return Err(Error::NonPrivateRefused);
        }
        if let Some(max) = self.max_epsilon
            && epsilon > max
        {
            return Err(Error::EpsilonTooLarge { epsilon, max });
        }
        Ok(())
    }

    /// The smallest leaf of a decision tree: the rules' `min_leaf` if set, else
    /// `max(5, min_cohort / 10)` — a leaf never speaks for fewer than five patients, nor for
    /// less than a tenth of the smallest cohort governance lets a job train on.
    pub fn min_leaf(&self) -> usize {
        self.min_leaf
            .unwrap_or_else(|| (self.min_cohort / 10).max(5))
            .max(1)
    }
}

impl Default for TrainingRules {
    /// [`DEFAULT_MIN_COHORT`](Self::DEFAULT_MIN_COHORT) records, private training only.
    fn default() -> Self {
        Self::new(Self::DEFAULT_MIN_COHORT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_private_with_a_floor() {
        let r = TrainingRules::default();
        assert_eq!(r.min_cohort, 50);
        assert!(!r.allow_non_private);
        assert_eq!(r.min_leaf(), 5);
        assert_eq!(TrainingRules::new(400).min_leaf(), 40);
        let explicit = TrainingRules {
            min_leaf: Some(12),
            ..TrainingRules::new(400)
        };
        assert_eq!(explicit.min_leaf(), 12);
    }
}
