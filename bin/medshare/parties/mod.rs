//! `medshare user|demander|reviewer|governance`: each party in its own process, with its own
//! keystore, against `medshare node` or any Ethereum node, and the shared store. One module per
//! role; this one holds what they share (who is acting, a job argument, ε for people).

mod demander;
mod governance;
mod reviewer;
mod user;

pub(crate) use demander::{DemanderCommand, demander};
pub(crate) use governance::{GovernanceCommand, governance};
pub(crate) use reviewer::{ReviewerCommand, reviewer};
pub(crate) use user::{UserCommand, user};

use crate::{common::Connect, password};
use anyhow::{Context, Result};
use clap::Args;
use medshare_chain::{ContractClient, Wallet};
use medshare_crypto::{Identity, open_keystore};
use medshare_primitives::JobId;
use std::path::PathBuf;

/// Who is acting: a keystore and where the others are.
#[derive(Args)]
pub(crate) struct Party {
    #[command(flatten)]
    connect: Connect,
    /// The party's keystore (`medshare key new`).
    #[arg(long, env = "MEDSHARE_KEYSTORE")]
    keystore: PathBuf,
    /// Read the keystore password from this file (else MEDSHARE_PASSWORD, else a prompt).
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
}

impl Party {
    async fn open(&self) -> Result<(Identity, ContractClient)> {
        let password = password::read(
            self.password_file.as_deref(),
            &self.keystore.display().to_string(),
            false,
        )?;
        let identity = open_keystore(&self.keystore, password.as_bytes())?;
        let wallet = Wallet::new(self.connect.ledger()?, identity.signer().clone())
            .await
            .with_context(|| format!("connecting to the node at {}", self.connect.rpc))?;
        let chain = ContractClient::load_deployment(wallet, &self.connect.deployment)
            .await
            .with_context(|| {
                format!(
                    "attaching to the deployment in {}",
                    self.connect.deployment.display()
                )
            })?;
        Ok((identity, chain))
    }
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    out!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A party acting on one job (a patient's consent, a reviewer's decision).
#[derive(Args)]
pub(crate) struct JobArgs {
    #[command(flatten)]
    party: Party,
    /// The job id (0x…).
    #[arg(long)]
    job: JobId,
    /// The state file written by `upload` (default KEYSTORE.records.json).
    #[arg(long)]
    state: Option<PathBuf>,
    /// With a grant: the privacy budget of each record that has none yet (an earlier grant or
    /// policy may have set one, which it keeps), the total ε all jobs together may spend on it
    /// (a multiple of 0.001, or `inf` to allow models without differential privacy too). A
    /// job's ε is taken from the budget of every record it trains on; a record whose budget
    /// cannot pay is left out.
    #[arg(long, default_value = "3", value_parser = parse_budget)]
    epsilon_budget: u32,
}

/// A privacy budget in thousandths of ε: a positive multiple of 0.001, or `inf`.
fn parse_budget(s: &str) -> std::result::Result<u32, String> {
    let epsilon: f64 = if s.eq_ignore_ascii_case("inf") {
        f64::INFINITY
    } else {
        s.parse()
            .map_err(|_| format!("{s:?} is not a number or `inf`"))?
    };
    medshare_contracts::epsilon_milli(epsilon)
        .ok_or_else(|| format!("ε budget {s} must be a positive multiple of 0.001, or `inf`"))
}

/// ε in thousandths, for people.
fn epsilon_text(milli: u32) -> String {
    if milli == medshare_contracts::EPSILON_INFINITE {
        "∞".to_owned()
    } else {
        format!("{}", f64::from(milli) / 1000.0)
    }
}
