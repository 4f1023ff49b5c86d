//! A job's submission as the enclave accepts it: the model spec, the data requirement and the
//! data type's schema, parsed and checked against each other, the submission and the data
//! type's rules on chain.

use crate::facts::JobTerms;
use alloy_primitives::{B256, keccak256};
use medshare_contracts::epsilon_milli;
use medshare_enclave_api::JobContext;
use medshare_primitives::DataType;
use medshare_records::{DataRequirement, Schema};
use medshare_training::{ModelSpec, TrainingRules};

/// The spec, the requirement, the data type's schema and the training rules of a job.
pub(super) type Parsed = (ModelSpec, DataRequirement, Schema, TrainingRules);

/// Parses the spec, the requirement and the data type's schema, and checks they agree with
/// each other, the submission and the data type's rules on chain (`terms`): the schema is the
/// one governance registered (or the built-in one), the cohort is not below the floor, and the
/// privacy the spec asks for is the job's and within the rules.
pub(super) fn parse(ctx: &JobContext, terms: &JobTerms) -> std::result::Result<Parsed, String> {
    let spec = ModelSpec::from_json(&ctx.model).map_err(|e| format!("model spec: {e}"))?;
    let requirement = DataRequirement::from_json(&ctx.requirement).map_err(|e| e.to_string())?;
    let data_type = DataType::new(requirement.data_type.clone())
        .map_err(|e| format!("data requirement: {e}"))?;
    if data_type.id() != ctx.data_type {
        return Err("the requirement's data type is not the one submitted".into());
    }
    let schema =
        Schema::from_json(&ctx.schema).map_err(|e| format!("the data type's schema: {e}"))?;
    if schema.name != requirement.data_type {
        return Err("the schema given is not the data type's".into());
    }
    if terms.schema_hash == B256::ZERO {
        if Schema::builtin(&schema.name).as_ref() != Some(&schema) {
            return Err(
                "governance registered no schema for this data type, and it is not a built-in one"
                    .into(),
            );
        }
    } else if keccak256(&ctx.schema) != terms.schema_hash {
        return Err("the schema given is not the one governance registered".into());
    }
    let floor = terms.rules.min_cohort;
    if requirement.min_cohort < u64::from(floor)
        || requirement.min_cohort != u64::from(ctx.min_cohort)
    {
        return Err(format!(
            "the requirement's minimum cohort {} is below the data type's floor {floor} or not the one submitted",
            requirement.min_cohort
        ));
    }
    let spec_epsilon = epsilon_milli(spec.privacy.epsilon)
        .ok_or_else(|| "the spec's ε is not a multiple of 0.001".to_owned())?;
    if spec_epsilon != terms.epsilon_milli {
        return Err("the spec's ε is not the one submitted".into());
    }
    let rules = TrainingRules {
        min_cohort: usize::try_from(requirement.min_cohort).unwrap_or(usize::MAX),
        allow_non_private: terms.rules.allow_non_private,
        max_epsilon: (terms.rules.max_epsilon_milli != 0)
            .then(|| f64::from(terms.rules.max_epsilon_milli) / 1000.0),
        min_leaf: None,
    };
    rules
        .check_spec(&spec)
        .map_err(|e| format!("model spec: {e}"))?;
    if let Some(f) = spec
        .features
        .iter()
        .find(|f| !requirement.features.contains(f))
    {
        return Err(format!(
            "the model reads {f:?}, which the requirement does not grant"
        ));
    }
    if spec.label != requirement.label {
        return Err("the model's label is not the requirement's".into());
    }
    Ok((spec, requirement, schema, rules))
}

#[cfg(test)]
mod tests {
    use super::*;
    use medshare_contracts::{EPSILON_INFINITE, layout::model::DataTypeRules};
    use medshare_training::{ModelKind, Privacy};

    const FEATURES: [&str; 2] = ["radius_mean", "texture_mean"];

    fn spec(privacy: Privacy) -> ModelSpec {
        ModelSpec {
            kind: ModelKind::LogisticRegression {
                l2: 1.0,
                max_iterations: 100,
                tolerance: 1e-4,
            },
            features: FEATURES.map(str::to_owned).to_vec(),
            label: "diagnosis".into(),
            test_fraction: 0.25,
            seed: 1,
            privacy,
        }
    }

    fn requirement(min_cohort: u64) -> DataRequirement {
        DataRequirement {
            data_type: "breast-cancer-wdbc".into(),
            features: FEATURES.map(str::to_owned).to_vec(),
            label: "diagnosis".into(),
            min_cohort,
        }
    }

    /// A job of `spec` and `requirement` on the built-in WDBC schema, as submitted.
    fn ctx(spec: &ModelSpec, requirement: &DataRequirement) -> JobContext {
        JobContext {
            job: medshare_primitives::JobId(B256::repeat_byte(1)),
            demander: alloy_primitives::Address::repeat_byte(2),
            demander_public_key: Default::default(),
            model_hash: B256::ZERO,
            requirement_hash: B256::ZERO,
            data_type: DataType::new("breast-cancer-wdbc").unwrap().id(),
            timestamp: 1,
            min_cohort: u32::try_from(requirement.min_cohort).unwrap(),
            epsilon_milli: epsilon_milli(spec.privacy.epsilon).unwrap(),
            model: serde_json::to_vec(spec).unwrap().into(),
            requirement: requirement.to_json().into(),
            signature: Default::default(),
            schema: serde_json::to_vec(&Schema::wdbc()).unwrap().into(),
        }
    }

    /// The chain's terms: a floor of 10, ε = ∞ allowed, built-in schemas, the job's ε.
    fn terms(ctx: &JobContext) -> JobTerms {
        JobTerms {
            rules: DataTypeRules {
                min_cohort: 10,
                max_epsilon_milli: 0,
                allow_non_private: true,
                set: true,
            },
            schema_hash: B256::ZERO,
            epsilon_milli: ctx.epsilon_milli,
            debit_batches: 0,
            training: B256::ZERO,
        }
    }

    fn refusal(ctx: &JobContext, terms: &JobTerms) -> String {
        match parse(ctx, terms) {
            Ok(_) => panic!("accepted"),
            Err(why) => why,
        }
    }

    #[test]
    fn a_consistent_submission_is_accepted_with_the_rules_it_trains_under() {
        let ctx = ctx(&spec(Privacy::new(1.0, 1e-5)), &requirement(12));
        let (spec, requirement, schema, rules) = parse(&ctx, &terms(&ctx)).unwrap();
        assert_eq!(spec.features, requirement.features);
        assert_eq!(schema, Schema::wdbc());
        assert_eq!(
            rules.min_cohort, 12,
            "the requirement's cohort, not the floor"
        );
        assert!(rules.allow_non_private);
        assert_eq!(rules.max_epsilon, None);
    }

    #[test]
    fn a_cohort_below_the_floor_or_not_the_submitted_one_is_refused() {
        let below = ctx(&spec(Privacy::non_private()), &requirement(9));
        assert!(refusal(&below, &terms(&below)).contains("below the data type's floor"));
        let mut other = ctx(&spec(Privacy::non_private()), &requirement(12));
        other.min_cohort = 13;
        assert!(refusal(&other, &terms(&other)).contains("not the one submitted"));
    }

    #[test]
    fn privacy_other_than_the_jobs_or_beyond_the_rules_is_refused() {
        let private = ctx(&spec(Privacy::new(1.0, 1e-5)), &requirement(12));
        let mut t = terms(&private);
        t.epsilon_milli = 2_000;
        assert!(refusal(&private, &t).contains("not the one submitted"));
        let mut t = terms(&private);
        t.rules.max_epsilon_milli = 500;
        assert!(refusal(&private, &t).starts_with("model spec"));

        let open = ctx(&spec(Privacy::non_private()), &requirement(12));
        assert_eq!(open.epsilon_milli, EPSILON_INFINITE);
        let mut t = terms(&open);
        t.rules.allow_non_private = false;
        assert!(refusal(&open, &t).starts_with("model spec"));
    }

    #[test]
    fn a_schema_governance_did_not_register_is_refused() {
        let mut edited = ctx(&spec(Privacy::non_private()), &requirement(12));
        let mut schema = Schema::wdbc();
        schema.description.push_str(" (edited)");
        edited.schema = serde_json::to_vec(&schema).unwrap().into();
        assert!(refusal(&edited, &terms(&edited)).contains("not a built-in one"));
        let mut t = terms(&edited);
        t.schema_hash = keccak256(b"another schema");
        assert!(refusal(&edited, &t).contains("not the one governance registered"));
        t.schema_hash = keccak256(&edited.schema);
        parse(&edited, &t).unwrap();
    }

    #[test]
    fn a_model_reading_beyond_its_requirement_is_refused() {
        let mut wide = spec(Privacy::non_private());
        wide.features.push("area_worst".into());
        let ctx1 = ctx(&wide, &requirement(12));
        assert!(refusal(&ctx1, &terms(&ctx1)).contains("does not grant"));
        let mut relabelled = requirement(12);
        relabelled.label = "radius_worst".into();
        let ctx2 = ctx(&spec(Privacy::non_private()), &relabelled);
        assert!(refusal(&ctx2, &terms(&ctx2)).contains("label"));
        let mut elsewhere = ctx(&spec(Privacy::non_private()), &requirement(12));
        elsewhere.data_type = B256::repeat_byte(9);
        assert!(refusal(&elsewhere, &terms(&elsewhere)).contains("data type"));
    }
}
