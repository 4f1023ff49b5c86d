//! `medshare user …`: the patient — upload, consent, policy, audit trail.

use super::{JobArgs, Party, epsilon_text, parse_budget, print_json};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use medshare_parties::user::{OwnedRecord, Patient};
use medshare_primitives::DataType;
use medshare_records::Schema;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub(crate) enum UserCommand {
    /// Register as a user (patient).
    Register(Party),
    /// Split a CSV or FHIR R4 bundle into records of a data type, encrypt each under a fresh key
    /// shared to a TEE, store them and register them by hash (Algorithm 1).
    Upload(UploadArgs),
    /// Consent to a job for every record of its data type in the state file.
    Grant(JobArgs),
    /// Withdraw the consent to a job.
    Revoke(JobArgs),
    /// Set (or clear) a standing consent: any reviewed model for a data type.
    Policy(PolicyArgs),
    /// List every use of your records: which demander, which model, the checks, which TEE, when.
    Audit(Party),
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Csv,
    Fhir,
}

#[derive(Args)]
pub(crate) struct UploadArgs {
    #[command(flatten)]
    party: Party,
    /// The records: CSV (one row per patient) or a FHIR R4 Bundle (JSON).
    #[arg(long)]
    input: PathBuf,
    /// The input format (default: from the file extension, .json = FHIR).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// The data type: `breast-cancer-wdbc` (built in) or a schema JSON file.
    #[arg(long, default_value = "breast-cancer-wdbc")]
    schema: String,
    /// The TEE to share the data keys with (must be active on chain).
    #[arg(long)]
    tee: alloy_primitives::Address,
    /// Where your record copies (with the pads you release on consent) are kept; default
    /// KEYSTORE.records.json (0600). Keep it: without it you cannot consent.
    #[arg(long)]
    state: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct PolicyArgs {
    #[command(flatten)]
    party: Party,
    /// The data type name.
    #[arg(long)]
    data_type: String,
    /// Allow any reviewed model (releases the pads of your records of this type).
    #[arg(long, conflicts_with = "deny", required_unless_present = "deny")]
    allow: bool,
    /// Clear the policy.
    #[arg(long)]
    deny: bool,
    /// The state file written by `upload` (default KEYSTORE.records.json).
    #[arg(long)]
    state: Option<PathBuf>,
    /// With --allow: each record's privacy budget, the total ε all jobs together may spend on
    /// it (a multiple of 0.001, or `inf`).
    #[arg(long, default_value = "3", value_parser = parse_budget)]
    epsilon_budget: u32,
}

fn schema(name: &str) -> Result<Schema> {
    if name == "breast-cancer-wdbc" {
        return Ok(Schema::wdbc());
    }
    let bytes = std::fs::read(name).with_context(|| format!("reading the schema {name}"))?;
    Ok(Schema::from_json(&bytes)?)
}

fn state_path(party: &Party, state: &Option<PathBuf>) -> PathBuf {
    state
        .clone()
        .unwrap_or_else(|| party.keystore.with_extension("records.json"))
}

fn load_state(path: &Path) -> Result<Vec<OwnedRecord>> {
    match std::fs::read(path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Writes the state atomically, 0600 (it holds the pads).
fn save_state(path: &Path, records: &[OwnedRecord]) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    file.write_all(&serde_json::to_vec_pretty(records)?)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

pub(crate) async fn user(command: UserCommand) -> Result<()> {
    match command {
        UserCommand::Register(party) => {
            let (identity, chain) = party.open().await?;
            let store = party.connect.store()?;
            Patient::new(identity, chain.clone(), store)
                .register()
                .await?;
            println!("registered {} as a user", chain.address());
        }
        UserCommand::Upload(args) => {
            let schema = schema(&args.schema)?;
            let text = std::fs::read_to_string(&args.input)
                .with_context(|| format!("reading {}", args.input.display()))?;
            let format =
                args.format
                    .unwrap_or(if args.input.extension().is_some_and(|e| e == "json") {
                        Format::Fhir
                    } else {
                        Format::Csv
                    });
            let imported = match format {
                Format::Csv => medshare_records::csv::read(&schema, &text)?,
                Format::Fhir => medshare_records::fhir::read_bundle(&schema, &text)?,
            };
            drop(text);
            let records: Vec<_> = imported.into_iter().map(|i| i.record).collect();
            let (identity, chain) = args.party.open().await?;
            let patient = Patient::new(identity, chain, args.party.connect.store()?);
            let bar = if args.party.json {
                ProgressBar::hidden()
            } else {
                ProgressBar::new(records.len() as u64)
            };
            bar.set_style(ProgressStyle::with_template(
                "{bar:40} {pos}/{len} records {elapsed}",
            )?);
            let owned = patient
                .upload(&schema.data_type()?, &records, args.tee, &|n| {
                    bar.set_position(n as u64)
                })
                .await?;
            bar.finish_and_clear();
            let path = state_path(&args.party, &args.state);
            let mut all = load_state(&path)?;
            all.extend(owned.iter().cloned());
            save_state(&path, &all)?;
            let hashes: Vec<String> = owned
                .iter()
                .map(|o| o.record.ciphertextHash.to_string())
                .collect();
            if args.party.json {
                print_json(&serde_json::json!({ "registered": hashes, "state": path }))?;
            } else {
                println!(
                    "{} records encrypted, stored and registered; your copies are in {}",
                    owned.len(),
                    path.display()
                );
            }
        }
        UserCommand::Grant(args) => consent(args, true).await?,
        UserCommand::Revoke(args) => consent(args, false).await?,
        UserCommand::Policy(args) => {
            let (identity, chain) = args.party.open().await?;
            let data_type = DataType::new(args.data_type.clone())?;
            let records: Vec<OwnedRecord> = load_state(&state_path(&args.party, &args.state))?
                .into_iter()
                .filter(|r| r.record.dataType == data_type.id())
                .collect();
            let patient = Patient::new(identity, chain, args.party.connect.store()?);
            patient
                .set_policy(&data_type, &records, args.allow, args.epsilon_budget)
                .await?;
            println!(
                "standing policy for {}: {}",
                args.data_type,
                if args.allow {
                    format!(
                        "any reviewed model, ε budget {} per record",
                        epsilon_text(args.epsilon_budget)
                    )
                } else {
                    "none".to_owned()
                }
            );
        }
        UserCommand::Audit(party) => {
            let (identity, chain) = party.open().await?;
            let patient = Patient::new(identity, chain, party.connect.store()?);
            let trail = patient.audit_trail().await?;
            // Each record's budget now: what jobs spent and what remains.
            let mut budgets = std::collections::BTreeMap::new();
            for r in &trail {
                if let std::collections::btree_map::Entry::Vacant(e) = budgets.entry(r.record) {
                    e.insert(patient.budget(r.record).await?);
                }
            }
            if party.json {
                #[derive(serde::Serialize)]
                struct Row<'a> {
                    #[serde(flatten)]
                    row: &'a medshare_parties::user::AuditRow,
                    budget_milli: u32,
                    spent_milli: u32,
                }
                let rows: Vec<Row<'_>> = trail
                    .iter()
                    .map(|row| {
                        let (budget_milli, spent_milli) =
                            budgets.get(&row.record).copied().unwrap_or_default();
                        Row {
                            row,
                            budget_milli,
                            spent_milli,
                        }
                    })
                    .collect();
                print_json(&rows)?;
            } else if trail.is_empty() {
                println!("no use of your records yet");
            } else {
                for r in &trail {
                    let (total, spent) = budgets.get(&r.record).copied().unwrap_or_default();
                    let remaining = if total == medshare_contracts::EPSILON_INFINITE {
                        "∞".to_owned()
                    } else {
                        epsilon_text(total.saturating_sub(spent))
                    };
                    println!(
                        "block {} (t={}): record {} {} in job {} by demander {} on TEE {} (its view: block {}); ε spent {} (budget {}, {} left); model {} (hash ok: {}), record hash ok: {}",
                        r.block.unwrap_or_default(),
                        r.timestamp,
                        r.record,
                        r.outcome.describe(),
                        r.job,
                        r.demander,
                        r.tee,
                        r.view_block,
                        epsilon_text(r.epsilon_milli),
                        epsilon_text(total),
                        remaining,
                        r.model_hash,
                        r.model_hash_ok,
                        r.record_hash_ok
                    );
                }
            }
        }
    }
    Ok(())
}

async fn consent(args: JobArgs, grant: bool) -> Result<()> {
    let (identity, chain) = args.party.open().await?;
    let data_type = chain
        .submission_of(args.job)
        .await?
        .with_context(|| format!("no job {} on chain", args.job.0))?
        .event
        .dataType;
    let records: Vec<OwnedRecord> = load_state(&state_path(&args.party, &args.state))?
        .into_iter()
        .filter(|r| r.record.dataType == data_type)
        .collect();
    if records.is_empty() {
        bail!("none of your records is of the job's data type");
    }
    let patient = Patient::new(identity, chain, args.party.connect.store()?);
    for r in &records {
        if grant {
            patient.grant(r, args.job, args.epsilon_budget).await?;
        } else {
            patient.revoke(r, args.job).await?;
        }
    }
    println!(
        "{} {} records for job {}",
        if grant { "granted" } else { "revoked" },
        records.len(),
        args.job.0
    );
    Ok(())
}
