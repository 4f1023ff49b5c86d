//! `medshare user|demander|reviewer`: each party in its own process, with its own keystore,
//! against `medshare node` or any Ethereum node, and the shared store.

use crate::{common::Connect, password};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use medshare_chain::{Medshare, Wallet};
use medshare_crypto::{Identity, open_keystore};
use medshare_parties::{
    demander::Demander,
    reviewer::Reviewer,
    user::{OwnedRecord, Patient},
};
use medshare_primitives::{DataType, JobId};
use medshare_records::{DataRequirement, Schema};
use medshare_training::{Metrics, ModelSpec};
use std::path::{Path, PathBuf};

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
    async fn open(&self) -> Result<(Identity, Medshare)> {
        let password = password::read(
            self.password_file.as_deref(),
            &self.keystore.display().to_string(),
            false,
        )?;
        let identity = open_keystore(&self.keystore, password.as_bytes())?;
        let wallet = Wallet::new(self.connect.ledger()?, identity.signer().clone())
            .await
            .with_context(|| format!("connecting to the node at {}", self.connect.rpc))?;
        let chain = Medshare::load_deployment(wallet, &self.connect.deployment)
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
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

// ---------------------------------------------------------------------------------- user

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
pub(crate) struct JobArgs {
    #[command(flatten)]
    party: Party,
    /// The job id (0x…).
    #[arg(long)]
    job: JobId,
    /// The state file written by `upload` (default KEYSTORE.records.json).
    #[arg(long)]
    state: Option<PathBuf>,
    /// With a grant: each record's privacy budget, the total ε all jobs together may spend on
    /// it (a multiple of 0.001, or `inf` to allow models without differential privacy too).
    /// A job's ε is taken from the budget of every record it trains on; a record whose budget
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

// ---------------------------------------------------------------------------------- demander

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
            println!("registered {} as a demander", chain.address());
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
                println!("submitted job {} (pending review)", job.0);
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
                println!(
                    "job {}: {} trained on {} records",
                    args.job.0,
                    output.model.name(),
                    output.records_used
                );
                match output.metrics {
                    Metrics::Classification { accuracy, roc_auc } => println!(
                        "held-out accuracy {accuracy:.4}, ROC AUC {}",
                        roc_auc.map_or("n/a".into(), |a| format!("{a:.4}"))
                    ),
                    Metrics::Regression { rmse, r2 } => {
                        println!(
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

// ---------------------------------------------------------------------------------- reviewer

#[derive(Subcommand)]
pub(crate) enum ReviewerCommand {
    /// List submitted models awaiting review, with their specs and requirements.
    List(Party),
    /// Approve a pending model: TEEs may then run it on consented records.
    Approve(JobArgs),
    /// Reject a pending model.
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
                println!("no model awaits review");
            } else {
                for row in rows {
                    println!("{}", serde_json::to_string_pretty(&row)?);
                }
            }
        }
        ReviewerCommand::Approve(args) => {
            let (_, chain) = args.party.open().await?;
            Reviewer::new(chain).approve(args.job).await?;
            println!("approved job {}", args.job.0);
        }
        ReviewerCommand::Reject(args) => {
            let (_, chain) = args.job.party.open().await?;
            Reviewer::new(chain)
                .reject(args.job.job, &args.reason)
                .await?;
            println!("rejected job {}", args.job.job.0);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------- governance

#[derive(Subcommand)]
pub(crate) enum GovernanceCommand {
    /// Allowlist (or delist) an enclave measurement: SGX's MRENCLAVE, the TDX measurement, or
    /// for the simulation backend the SHA-256 of the `medshare-enclave` program.
    Measurement(MeasurementArgs),
    /// Accept (or refuse) simulated attestation evidence: only for tests and demos.
    AcceptSimulated(AcceptArgs),
    /// Accept (or refuse) TEEs whose view of the chain rests on unsigned headers (a node such as
    /// anvil): only for tests.
    AcceptUnverifiedHeaders(AcceptArgs),
    /// Verify a TEE's submitted evidence and admit it with the measurement the evidence
    /// attests. A TEE is active only once admitted.
    AdmitTee(AdmitArgs),
    /// Set a data type's rules: the smallest cohort a job may train on, the largest ε, whether
    /// models without differential privacy are allowed, and its schema (public feature ranges).
    DataType(DataTypeArgs),
    /// Appoint the holder of a public key as a reviewer.
    AppointReviewer(KeyArgs),
    /// Remove a reviewer (jobs it approved stop running).
    RemoveReviewer(AddressArgs),
    /// Add an admin.
    AddAdmin(AddressArgs),
    /// Revoke a TEE (e.g. its key leaked).
    RevokeTee(AddressArgs),
}

#[derive(Args)]
pub(crate) struct MeasurementArgs {
    #[command(flatten)]
    party: Party,
    /// The measurement (0x…, 32 bytes).
    #[arg(
        long,
        required_unless_present = "enclave_binary",
        conflicts_with = "enclave_binary"
    )]
    measurement: Option<alloy_primitives::B256>,
    /// Allowlist the simulation backend's measurement of this `medshare-enclave` program (its
    /// SHA-256): only a program governance built or checked itself.
    #[arg(long)]
    enclave_binary: Option<PathBuf>,
    /// Delist instead of allowlisting.
    #[arg(long)]
    remove: bool,
}

#[derive(Args)]
pub(crate) struct AcceptArgs {
    #[command(flatten)]
    party: Party,
    /// `true` to accept, `false` to refuse.
    #[arg(long, action = clap::ArgAction::Set)]
    accept: bool,
}

#[derive(Args)]
pub(crate) struct AdmitArgs {
    #[command(flatten)]
    party: Party,
    /// The TEE's account (as `medshare-enclave register` printed it).
    #[arg(long)]
    tee: alloy_primitives::Address,
    /// A sealer (validator) of this chain; repeat for a consortium. The TEE's trust anchors must
    /// name exactly these. Default: the sealer of the node's latest block.
    #[arg(long = "sealer")]
    sealers: Vec<alloy_primitives::Address>,
    /// The collateral of a hardware quote (JSON as Intel PCS / a PCCS serves it, in dcap-qvl's
    /// format): needed for SGX and TDX evidence.
    #[arg(long)]
    collateral: Option<PathBuf>,
    /// Also accept this TCB status (default: UpToDate only), e.g. SWHardeningNeeded; repeat.
    #[arg(long = "accept-tcb")]
    accept_tcb: Vec<String>,
    /// Accept a platform with SMT (hyper-threading) enabled.
    #[arg(long)]
    allow_smt: bool,
    /// Verify the collateral's validity at this time (unix seconds) instead of now.
    #[arg(long)]
    now: Option<u64>,
}

#[derive(Args)]
pub(crate) struct DataTypeArgs {
    #[command(flatten)]
    party: Party,
    /// The data type's name (`breast-cancer-wdbc`, or the name in --schema).
    #[arg(long)]
    data_type: String,
    /// The smallest cohort a job may train on (default 50 when never set).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(2..))]
    min_cohort: u32,
    /// The largest ε a job may ask for (default: no cap below ∞).
    #[arg(long, value_parser = parse_budget)]
    max_epsilon: Option<u32>,
    /// Allow models without differential privacy (ε = ∞). Such a model can reveal records.
    #[arg(long)]
    allow_non_private: bool,
    /// The schema (JSON: features with their public ranges, the label) of a data type that is
    /// not built in; published in the store for TEEs, its hash registered on chain.
    #[arg(long)]
    schema: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct KeyArgs {
    #[command(flatten)]
    party: Party,
    /// The 64-byte uncompressed public key (0x…), as `medshare key show` prints it.
    #[arg(long)]
    public_key: alloy_primitives::B512,
}

#[derive(Args)]
pub(crate) struct AddressArgs {
    #[command(flatten)]
    party: Party,
    /// The account.
    #[arg(long)]
    address: alloy_primitives::Address,
}

/// The SHA-256 of an enclave program: the simulation backend's measurement of it.
fn program_measurement(path: &Path) -> Result<alloy_primitives::B256> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(medshare_crypto::sha256(&bytes))
}

pub(crate) async fn governance(command: GovernanceCommand) -> Result<()> {
    match command {
        GovernanceCommand::Measurement(args) => {
            let (_, chain) = args.party.open().await?;
            let m = match (args.measurement, &args.enclave_binary) {
                (Some(m), None) => m,
                (None, Some(path)) => program_measurement(path)?,
                _ => bail!("give either --measurement or --enclave-binary"),
            };
            chain.set_measurement_allowed(m, !args.remove).await?;
            println!(
                "measurement {m} {}",
                if args.remove {
                    "delisted"
                } else {
                    "allowlisted"
                }
            );
        }
        GovernanceCommand::AcceptSimulated(args) => {
            let (_, chain) = args.party.open().await?;
            chain.set_accept_simulated(args.accept).await?;
            println!(
                "simulated evidence {}",
                if args.accept { "accepted" } else { "refused" }
            );
        }
        GovernanceCommand::AcceptUnverifiedHeaders(args) => {
            let (_, chain) = args.party.open().await?;
            chain.set_accept_unverified_headers(args.accept).await?;
            println!(
                "TEEs on unsigned headers {}",
                if args.accept { "accepted" } else { "refused" }
            );
        }
        GovernanceCommand::AdmitTee(args) => {
            let (_, chain) = args.party.open().await?;
            let sealers = if args.sealers.is_empty() {
                medshare_parties::tee::sealers_of(chain.ledger().as_ref())
                    .await
                    .unwrap_or_default()
            } else {
                args.sealers.clone()
            };
            let collateral = match &args.collateral {
                Some(path) => Some(medshare_attestation::Collateral::from_json(
                    &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
                )?),
                None => None,
            };
            let mut policy = medshare_attestation::Policy::strict().allow_smt(args.allow_smt);
            for status in &args.accept_tcb {
                let status: medshare_attestation::TcbStatus = status
                    .parse()
                    .map_err(|e| anyhow::anyhow!("--accept-tcb {status}: {e}"))?;
                policy = policy.accept(status);
            }
            let now = args.now.unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
            });
            let admission = medshare_parties::governance::Governance::new(chain)
                .admit(args.tee, &sealers, collateral.as_ref(), now, &policy)
                .await?;
            if args.party.json {
                print_json(&admission)?;
            } else {
                println!(
                    "admitted TEE {} ({:?} evidence, measurement {}{})",
                    admission.tee,
                    admission.kind,
                    admission.measurement,
                    admission
                        .tcb_status
                        .as_ref()
                        .map_or(String::new(), |s| format!(", TCB {s}"))
                );
            }
        }
        GovernanceCommand::DataType(args) => {
            let (_, chain) = args.party.open().await?;
            let data_type = DataType::new(args.data_type.clone())?;
            let schema_hash = match &args.schema {
                Some(path) => {
                    let bytes = std::fs::read(path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    let schema = Schema::from_json(&bytes)
                        .with_context(|| format!("{} is not a valid schema", path.display()))?;
                    if schema.name != args.data_type {
                        bail!(
                            "the schema in {} is of data type {:?}, not {:?}",
                            path.display(),
                            schema.name,
                            args.data_type
                        );
                    }
                    args.party
                        .connect
                        .store()?
                        .put(
                            &medshare_storage::Key::schema(&data_type.id().0),
                            bytes.clone(),
                        )
                        .await?;
                    alloy_primitives::keccak256(&bytes)
                }
                None => {
                    if Schema::builtin(&args.data_type).is_none() {
                        bail!(
                            "{} is not a built-in data type: give its schema with --schema",
                            args.data_type
                        );
                    }
                    alloy_primitives::B256::ZERO
                }
            };
            let rules = medshare_chain::DataTypeRules {
                min_cohort: args.min_cohort,
                max_epsilon_milli: args.max_epsilon.unwrap_or(0),
                allow_non_private: args.allow_non_private,
                schema_hash,
            };
            chain.set_data_type_rules(data_type.id(), &rules).await?;
            if args.party.json {
                print_json(&rules)?;
            } else {
                println!(
                    "data type {}: minimum cohort {}, ε at most {}, {}",
                    args.data_type,
                    rules.min_cohort,
                    args.max_epsilon
                        .map_or("∞ (no cap)".to_owned(), epsilon_text),
                    if rules.allow_non_private {
                        "models without differential privacy allowed"
                    } else {
                        "differential privacy required"
                    }
                );
            }
        }
        GovernanceCommand::AppointReviewer(args) => {
            let (_, chain) = args.party.open().await?;
            chain.appoint_reviewer(args.public_key).await?;
            println!(
                "appointed reviewer {}",
                medshare_crypto::address_of(&medshare_crypto::public_key_from_bytes(
                    args.public_key.as_slice()
                )?)
            );
        }
        GovernanceCommand::RemoveReviewer(args) => {
            let (_, chain) = args.party.open().await?;
            chain.remove_reviewer(args.address).await?;
            println!("removed reviewer {}", args.address);
        }
        GovernanceCommand::AddAdmin(args) => {
            let (_, chain) = args.party.open().await?;
            chain.add_admin(args.address).await?;
            println!("added admin {}", args.address);
        }
        GovernanceCommand::RevokeTee(args) => {
            let (_, chain) = args.party.open().await?;
            chain.revoke_tee(args.address).await?;
            println!("revoked TEE {}", args.address);
        }
    }
    Ok(())
}
