//! `medshare demander …`: submit a model (Algorithm 2), fetch and check its result
//! (Algorithm 7).

use super::{Party, print_json};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use medshare_parties::demander::Demander;
use medshare_primitives::JobId;
use medshare_records::DataRequirement;
use medshare_training::{Metrics, ModelSpec};
use std::path::PathBuf;

#[derive(Subcommand)]
pub(crate) enum DemanderCommand {
    /// Register as a demander (research institute).
    #[command(after_help = "Examples:\n  medshare demander register --keystore lab.json")]
    Register(Party),
    /// Sign and submit a model spec and its data requirement (Algorithm 2); prints the job id.
    #[command(
        after_help = "Examples:\n  medshare demander spec --example logistic_regression > model.json\n  medshare demander spec --example logistic_regression --requirement > requirement.json\n  medshare demander submit --keystore lab.json --model model.json --requirement requirement.json"
    )]
    Submit(SubmitArgs),
    /// Download a job's result, check its hash and the TEE's signature, decrypt it (Algorithm 7).
    /// A result that fails the checks is reported on chain.
    #[command(
        after_help = "Examples:\n  medshare demander result --keystore lab.json --job 0x…\n  medshare demander result --keystore lab.json --job 0x… --json | jq .metrics"
    )]
    Result(ResultArgs),
    /// Print a valid example model spec (or its data requirement) to start from, or the JSON
    /// Schemas of both formats. Nothing is sent.
    ///
    /// Examples:
    ///   medshare demander spec --example logistic_regression > model.json
    ///   medshare demander spec --example logistic_regression --requirement > requirement.json
    ///   medshare demander submit --keystore lab.json --model model.json --requirement requirement.json
    ///   medshare demander spec --json-schema
    #[command(verbatim_doc_comment)]
    Spec(SpecArgs),
}

/// The model kinds `demander spec --example` shows.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum ExampleKind {
    /// Binary logistic regression (a classifier), on `breast-cancer-wdbc`.
    #[value(name = "logistic_regression", alias = "logistic-regression")]
    LogisticRegression,
    /// A decision tree on a public threshold grid (a classifier), on `breast-cancer-wdbc`.
    #[value(name = "decision_tree", alias = "decision-tree")]
    DecisionTree,
    /// Ridge regression (a numeric label), on `cardiometabolic` (predicting the HbA1c).
    #[value(name = "ridge_regression", alias = "ridge-regression")]
    RidgeRegression,
}

#[derive(Args)]
pub(crate) struct SpecArgs {
    /// Print an example of this model kind: a spec `demander submit --model` takes.
    #[arg(long, value_enum, required_unless_present = "json_schema")]
    example: Option<ExampleKind>,
    /// Print the example's data requirement (`demander submit --requirement`) instead.
    #[arg(long, requires = "example")]
    requirement: bool,
    /// Print the JSON Schemas of the spec and requirement formats:
    /// `{"model": …, "requirement": …}`.
    #[arg(long, conflicts_with = "example")]
    json_schema: bool,
    /// One line of JSON (without it: indented, for people and files).
    #[arg(long)]
    json: bool,
}

/// A valid spec of `kind` and its requirement, on a built-in data type.
pub(crate) fn example(kind: ExampleKind) -> (ModelSpec, DataRequirement) {
    use medshare_training::{ModelKind, Privacy, SplitCriterion};
    let (kind, data_type, features, label, epsilon): (_, _, &[&str], _, _) = match kind {
        ExampleKind::LogisticRegression => (
            ModelKind::LogisticRegression {
                l2: 1.0,
                max_iterations: 200,
                tolerance: 1e-4,
            },
            "breast-cancer-wdbc",
            &["radius_mean", "texture_mean", "concave_points_worst"],
            "diagnosis",
            1.0,
        ),
        ExampleKind::DecisionTree => (
            ModelKind::DecisionTree {
                max_depth: 4,
                min_samples_split: 10,
                criterion: SplitCriterion::Gini,
                bins: 8,
            },
            "breast-cancer-wdbc",
            &["radius_worst", "concave_points_worst", "texture_mean"],
            "diagnosis",
            2.0,
        ),
        ExampleKind::RidgeRegression => (
            ModelKind::RidgeRegression { alpha: 0.01 },
            "cardiometabolic",
            &["age", "body_weight", "glucose_fasting", "cholesterol_total"],
            "hba1c",
            1.0,
        ),
    };
    let features: Vec<String> = features.iter().map(|f| (*f).to_owned()).collect();
    let spec = ModelSpec {
        kind,
        features: features.clone(),
        label: label.to_owned(),
        test_fraction: 0.25,
        seed: 7,
        privacy: Privacy::new(epsilon, 1e-5),
    };
    let requirement = DataRequirement {
        data_type: data_type.to_owned(),
        features,
        label: label.to_owned(),
        min_cohort: 100,
    };
    (spec, requirement)
}

#[derive(Args)]
pub(crate) struct SubmitArgs {
    #[command(flatten)]
    party: Party,
    /// The model spec (JSON; see `medshare_training::ModelSpec`).
    #[arg(long)]
    model: PathBuf,
    /// The data requirement RM_j (JSON: data_type, features, label, min_cohort).
    #[arg(long)]
    requirement: PathBuf,
}

#[derive(Args)]
pub(crate) struct ResultArgs {
    #[command(flatten)]
    party: Party,
    /// The job id.
    #[arg(long)]
    job: JobId,
    /// Also write the decrypted result MRT_j (JSON) here.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub(crate) async fn demander(command: DemanderCommand) -> Result<()> {
    match command {
        DemanderCommand::Spec(args) => {
            let json = if args.json_schema {
                serde_json::json!({
                    "model": schemars::schema_for!(ModelSpec),
                    "requirement": schemars::schema_for!(DataRequirement),
                })
            } else {
                let kind = args.example.context("--example KIND or --json-schema")?;
                let (spec, requirement) = example(kind);
                if args.requirement {
                    serde_json::to_value(requirement)?
                } else {
                    serde_json::to_value(spec)?
                }
            };
            if args.json {
                out!("{json}");
            } else {
                out!("{}", serde_json::to_string_pretty(&json)?);
            }
        }
        DemanderCommand::Register(party) => {
            let (identity, chain) = party.open().await?;
            Demander::new(identity, chain.clone(), party.connect.store()?)
                .register()
                .await?;
            out!("registered {} as a demander", chain.address());
        }
        DemanderCommand::Submit(args) => {
            let spec = ModelSpec::from_json(
                &std::fs::read(&args.model)
                    .with_context(|| format!("reading {}", args.model.display()))?,
            )?;
            let requirement = DataRequirement::from_json(
                &std::fs::read(&args.requirement)
                    .with_context(|| format!("reading {}", args.requirement.display()))?,
            )?;
            let (identity, chain) = args.party.open().await?;
            let job = Demander::new(identity, chain, args.party.connect.store()?)
                .submit(&spec, &requirement)
                .await?;
            if args.party.json {
                print_json(&serde_json::json!({ "job": job.0 }))?;
            } else {
                out!("submitted job {} (pending review)", job.0);
            }
        }
        DemanderCommand::Result(args) => {
            let (identity, chain) = args.party.open().await?;
            let output = Demander::new(identity, chain, args.party.connect.store()?)
                .fetch_result(args.job)
                .await?;
            if let Some(out) = &args.out {
                std::fs::write(out, serde_json::to_vec_pretty(&output)?)
                    .with_context(|| format!("writing {}", out.display()))?;
            }
            if args.party.json {
                print_json(&output)?;
            } else {
                out!(
                    "job {}: {} trained on {} records",
                    args.job.0,
                    output.model.name(),
                    output.records_used
                );
                match output.metrics {
                    None => out!(
                        "no held-out metrics: no record was held out (each is held out on its own \
                         coin under differential privacy; a small cohort can hold out none)"
                    ),
                    Some(Metrics::Classification {
                        accuracy, roc_auc, ..
                    }) => out!(
                        "held-out accuracy {accuracy:.4}, ROC AUC {}",
                        roc_auc.map_or("n/a".into(), |a| format!("{a:.4}"))
                    ),
                    Some(Metrics::Regression { rmse, r2 }) => {
                        out!(
                            "held-out RMSE {rmse:.4}, R² {}",
                            r2.map_or("n/a".into(), |a| format!("{a:.4}"))
                        )
                    }
                }
                if output.metrics.is_some() {
                    let e = output.privacy.epsilon;
                    out!(
                        "({} records trained on, {} held out{})",
                        output.train_size,
                        output.test_size,
                        if e.is_finite() {
                            format!(
                                "; the metrics are released under ε = {e} differential privacy, \
                                 so on a few held-out records they are mostly noise"
                            )
                        } else {
                            "; exact: no differential privacy".to_owned()
                        }
                    );
                }
            }
        }
    }
    Ok(())
}
