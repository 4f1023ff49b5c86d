//! `medshare reviewer …`: list, approve and reject submitted models.

use super::{JobArgs, Party, print_json};
use anyhow::Result;
use clap::{Args, Subcommand};
use medshare_parties::reviewer::Reviewer;

#[derive(Subcommand)]
pub(crate) enum ReviewerCommand {
    /// List submitted models awaiting review, with their specs and requirements.
    #[command(after_help = "Examples:\n  medshare reviewer list --keystore reviewer.json")]
    List(Party),
    /// Approve a pending model: TEEs may then run it on consented records.
    #[command(
        after_help = "Examples:\n  medshare reviewer approve --keystore reviewer.json --job 0x…"
    )]
    Approve(JobArgs),
    /// Reject a pending model.
    #[command(
        after_help = "Examples:\n  medshare reviewer reject --keystore reviewer.json --job 0x… --reason \"uses a feature the requirement does not grant\""
    )]
    Reject(RejectArgs),
}

#[derive(Args)]
pub(crate) struct RejectArgs {
    #[command(flatten)]
    job: JobArgs,
    /// Why (recorded on chain).
    #[arg(long)]
    reason: String,
}

pub(crate) async fn reviewer(command: ReviewerCommand) -> Result<()> {
    match command {
        ReviewerCommand::List(party) => {
            let (_, chain) = party.open().await?;
            let pending = Reviewer::new(chain).pending().await?;
            let rows: Vec<_> = pending
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "job": s.job.0,
                        "demander": s.demander,
                        "data_type": s.data_type,
                        "spec": s.spec.as_ref().map_or_else(|e| serde_json::json!({ "invalid": e }), |v| serde_json::json!(v)),
                        "requirement": s.requirement.as_ref().map_or_else(|e| serde_json::json!({ "invalid": e }), |v| serde_json::json!(v)),
                    })
                })
                .collect();
            if party.json {
                print_json(&rows)?;
            } else if rows.is_empty() {
                out!("no model awaits review");
            } else {
                for row in rows {
                    out!("{}", serde_json::to_string_pretty(&row)?);
                }
            }
        }
        ReviewerCommand::Approve(args) => {
            let (_, chain) = args.party.open().await?;
            Reviewer::new(chain).approve(args.job).await?;
            out!("approved job {}", args.job.0);
        }
        ReviewerCommand::Reject(args) => {
            let (_, chain) = args.job.party.open().await?;
            Reviewer::new(chain)
                .reject(args.job.job, &args.reason)
                .await?;
            out!("rejected job {}", args.job.job.0);
        }
    }
    Ok(())
}
