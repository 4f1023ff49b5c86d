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
    Register(Party),
    /// Sign and submit a model spec and its data requirement (Algorithm 2); prints the job id.
    Submit(SubmitArgs),
    /// Download a job's result, check its hash and the TEE's signature, decrypt it (Algorithm 7).
    /// A result that fails the checks is reported on chain.
    Result(ResultArgs),
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
                    Some(Metrics::Classification { accuracy, roc_auc }) => out!(
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
            }
        }
    }
    Ok(())
}
