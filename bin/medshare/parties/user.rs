//! `medshare user …`: the patient — upload, consent, policy, audit trail.

use super::{JobArgs, Party, epsilon_text, parse_budget, print_json};
use crate::input::read_text_at_most;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use medshare_parties::user::{OwnedRecord, Patient, UPLOAD_BATCH};
use medshare_primitives::DataType;
use medshare_records::Schema;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub(crate) enum UserCommand {
    /// Register as a user (patient).
    #[command(after_help = "Examples:\n  medshare user register --keystore alice.json")]
    Register(Party),
    /// Split a CSV or FHIR R4 bundle into records of a data type, encrypt each under a fresh key
    /// shared to a TEE, store them and register them by hash (Algorithm 1).
    #[command(
        after_help = "Examples:\n  medshare user upload --keystore alice.json --input alice.csv --tee 0x…\n  medshare user upload --keystore alice.json --input bundle.json --schema cardiometabolic --tee 0x…\n  medshare user upload --keystore alice.json --input alice.csv --tee 0x… --resume   # after Ctrl-C"
    )]
    Upload(UploadArgs),
    /// Consent to a job: your records of its data type (`--all`, or the ones named with
    /// `--record`) in bulk consents of 5,000 records, each one transaction whatever its size:
    /// the list of record versions and their pads is stored, its Merkle root registered on
    /// chain. A record without a privacy budget of its own gets `--epsilon-budget` when a job
    /// first uses it.
    #[command(
        after_help = "Examples:\n  medshare user grant --keystore alice.json --job 0x… --all --epsilon-budget 3\n  medshare user grant --keystore alice.json --job 0x… --record 0x… --record 0x…"
    )]
    Grant(ConsentArgs),
    /// Withdraw the consent to a job (`--all` of your records it was granted, or `--record`).
    #[command(
        after_help = "Examples:\n  medshare user revoke --keystore alice.json --job 0x… --all"
    )]
    Revoke(ConsentArgs),
    /// Set (or clear) a standing consent: any reviewed model for a data type.
    #[command(
        after_help = "Examples:\n  medshare user policy --keystore alice.json --data-type breast-cancer-wdbc --allow --epsilon-budget 5\n  medshare user policy --keystore alice.json --data-type breast-cancer-wdbc --deny"
    )]
    Policy(PolicyArgs),
    /// List every use of your records: which demander, which model, the checks, which TEE, when.
    #[command(
        after_help = "Examples:\n  medshare user audit --keystore alice.json\n  medshare user audit --keystore alice.json --json | jq '.[] | {job, outcome, time}'"
    )]
    Audit(Party),
}

/// Which of the patient's records a consent covers.
#[derive(Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["all", "record"]))]
pub(crate) struct ConsentArgs {
    #[command(flatten)]
    job: JobArgs,
    /// Every record of the job's data type in your state file.
    #[arg(long)]
    all: bool,
    /// One record by its ciphertext hash (0x…, as `upload --json` prints it); repeat for more.
    #[arg(long)]
    record: Vec<alloy_primitives::B256>,
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
    /// The data type: a built-in one (`medshare schema list`: `breast-cancer-wdbc`,
    /// `cardiometabolic`) or a schema JSON file.
    #[arg(long, default_value = "breast-cancer-wdbc")]
    schema: String,
    /// The TEE to share the data keys with (must be active on chain).
    #[arg(long)]
    tee: alloy_primitives::Address,
    /// Where your record copies (with the pads you release on consent) are kept; default
    /// KEYSTORE.records.json (0600). Keep it: without it you cannot consent. It is written as
    /// each batch of 100 lands; the batch in flight is kept in STATE.upload.json first.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Finish an upload that was interrupted (Ctrl-C, a crash, a lost node): the records that
    /// landed are kept, the rest are sealed and registered. Give the same --input, --schema
    /// and --tee.
    #[arg(long)]
    resume: bool,
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
    if let Some(builtin) = Schema::builtin(name) {
        return Ok(builtin);
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
    write_private(path, &serde_json::to_vec_pretty(records)?)
}

/// Writes `bytes` to `path` atomically and durably (a flushed temporary file renamed over it,
/// then the directory flushed), readable by the owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("flushing {}", dir.display()))?;
    }
    Ok(())
}

/// An upload in progress, next to the state file (`STATE.upload.json`, 0600). The batch being
/// stored and registered is written here, pads included, *before* anything of it leaves the
/// machine, so a crash or Ctrl-C at any point never leaves a registered record whose pad the
/// owner does not have; `--resume` keeps what landed and carries on.
#[derive(serde::Serialize, serde::Deserialize)]
struct Journal {
    /// keccak256 of the input file's text: a resume reads the same records.
    input: alloy_primitives::B256,
    data_type: alloy_primitives::B256,
    tee: alloy_primitives::Address,
    /// Records in the input.
    total: usize,
    /// Records registered and in the state file (the input's first `done`).
    done: usize,
    /// The batch being stored and registered: sealed, perhaps registered (all or none: one
    /// transaction).
    pending: Vec<OwnedRecord>,
}

/// A progress bar over `len` records (hidden for `--json`; indicatif draws nothing when stderr
/// is not a terminal).
fn records_bar(len: usize, hidden: bool) -> Result<ProgressBar> {
    let bar = if hidden {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(len as u64)
    };
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} records {elapsed}",
    )?);
    Ok(bar)
}

fn journal_path(state: &Path) -> PathBuf {
    state.with_extension("upload.json")
}

fn load_journal(path: &Path) -> Result<Option<Journal>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(
            serde_json::from_slice(&bytes)
                .with_context(|| format!("parsing {}", path.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// `medshare user upload`: batch by batch, each kept in the journal before it is stored and
/// registered and in the state file once it is (see [`Journal`]).
async fn upload(args: UploadArgs) -> Result<()> {
    let schema = schema(&args.schema)?;
    let data_type = schema.data_type()?;
    let format = args
        .format
        .unwrap_or(if args.input.extension().is_some_and(|e| e == "json") {
            Format::Fhir
        } else {
            Format::Csv
        });
    let text = match format {
        Format::Csv => read_text_at_most(
            &args.input,
            medshare_records::csv::MAX_CSV_BYTES,
            "CSV file",
        )?,
        Format::Fhir => read_text_at_most(
            &args.input,
            medshare_records::fhir::MAX_BUNDLE_BYTES,
            "FHIR bundle",
        )?,
    };
    let input = alloy_primitives::keccak256(text.as_bytes());
    let imported = match format {
        Format::Csv => medshare_records::csv::read(&schema, &text)?,
        Format::Fhir => medshare_records::fhir::read_bundle(&schema, &text)?,
    };
    drop(text);
    let records: Vec<_> = imported.into_iter().map(|i| i.record).collect();
    if records.is_empty() {
        bail!("{} holds no records", args.input.display());
    }

    let path = state_path(&args.party, &args.state);
    let journal_at = journal_path(&path);
    let mut journal = match (load_journal(&journal_at)?, args.resume) {
        (Some(j), true) => {
            if (j.input, j.data_type, j.tee, j.total)
                != (input, data_type.id(), args.tee, records.len())
            {
                bail!(
                    "the interrupted upload in {} was of another input, data type or TEE; \
                     resume it with the same --input, --schema and --tee",
                    journal_at.display()
                );
            }
            j
        }
        (Some(j), false) => bail!(
            "an upload was interrupted after {} of {} records ({}); run the same command with \
                     --resume to finish it",
            j.done,
            j.total,
            journal_at.display()
        ),
        (None, true) => bail!(
            "there is no interrupted upload to resume ({} does not exist)",
            journal_at.display()
        ),
        (None, false) => Journal {
            input,
            data_type: data_type.id(),
            tee: args.tee,
            total: records.len(),
            done: 0,
            pending: Vec::new(),
        },
    };

    let (identity, chain) = args.party.open().await?;
    let patient = Patient::new(identity, chain, args.party.connect.store()?);
    let mut state = load_state(&path)?;
    let mut registered: Vec<String> = Vec::new();
    // The hashes already in the state file: a batch is checked against them, not the whole list.
    let mut kept: std::collections::HashSet<alloy_primitives::B256> =
        state.iter().map(|s| s.record.ciphertextHash).collect();
    let mut keep = |state: &mut Vec<OwnedRecord>, batch: &[OwnedRecord]| {
        for r in batch {
            if kept.insert(r.record.ciphertextHash) {
                state.push(r.clone());
            }
            registered.push(r.record.ciphertextHash.to_string());
        }
    };
    // A batch interrupted between the journal and the state file: one transaction registered
    // all of it or none.
    if !journal.pending.is_empty() {
        let on_chain = patient.registered(&journal.pending).await?;
        if on_chain.iter().all(|r| *r) {
            keep(&mut state, &journal.pending);
            save_state(&path, &state)?;
            journal.done += journal.pending.len();
        } else if on_chain.iter().any(|r| *r) {
            bail!(
                "{} holds a batch only part of which is registered; keep that file and report \
                 this",
                journal_at.display()
            );
        }
        journal.pending.clear();
        write_private(&journal_at, &serde_json::to_vec(&journal)?)?;
    }

    let tee_key = patient.tee_key(args.tee).await?;
    let bar = records_bar(records.len(), args.party.json)?;
    bar.set_position(journal.done as u64);
    // The batch after `from`, sealed on a blocking thread while the one before it is stored
    // and registered; it is journaled only when its turn comes.
    let batch_end = |from: usize| (from + UPLOAD_BATCH).min(records.len());
    let start = |from: usize| {
        (from < records.len())
            .then(|| {
                patient.start_sealing(
                    &data_type,
                    &records[from..batch_end(from)],
                    args.tee,
                    &tee_key,
                )
            })
            .transpose()
    };
    let mut next = start(journal.done)?;
    while let Some(sealing) = next.take() {
        let end = batch_end(journal.done);
        let sealed = sealing.finish().await?;
        journal.pending = sealed.iter().map(|s| s.owned.clone()).collect();
        write_private(&journal_at, &serde_json::to_vec(&journal)?)?;
        next = start(end)?;
        let owned = patient.store_and_register(sealed).await?;
        keep(&mut state, &owned);
        save_state(&path, &state)?;
        journal.done = end;
        journal.pending.clear();
        write_private(&journal_at, &serde_json::to_vec(&journal)?)?;
        bar.set_position(end as u64);
    }
    bar.finish_and_clear();
    std::fs::remove_file(&journal_at)
        .with_context(|| format!("removing {}", journal_at.display()))?;
    if args.party.json {
        print_json(&serde_json::json!({ "registered": registered, "state": path }))?;
    } else {
        out!(
            "{} records encrypted, stored and registered; your copies are in {}",
            registered.len(),
            path.display()
        );
    }
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
            out!("registered {} as a user", chain.address());
        }
        UserCommand::Upload(args) => upload(args).await?,
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
            out!(
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
                    /// The block's time, RFC 3339 in UTC.
                    time: String,
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
                            time: utc(row.timestamp, true),
                            budget_milli,
                            spent_milli,
                        }
                    })
                    .collect();
                print_json(&rows)?;
            } else if trail.is_empty() {
                out!("no use of your records yet");
            } else {
                for r in &trail {
                    let (total, spent) = budgets.get(&r.record).copied().unwrap_or_default();
                    let remaining = if total == medshare_contracts::EPSILON_INFINITE {
                        "∞".to_owned()
                    } else {
                        epsilon_text(total.saturating_sub(spent))
                    };
                    out!(
                        "{} (block {}): record {} {} in job {} by demander {} on TEE {} (its view: block {}); ε spent {} (budget {}, {} left); model {} (hash ok: {}), record hash ok: {}",
                        utc(r.timestamp, false),
                        r.block.unwrap_or_default(),
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

/// A block's time (Unix seconds) in UTC: RFC 3339 for scripts, `2026-11-30 23:57:08 UTC` for
/// people; the seconds themselves if out of range.
fn utc(seconds: u64, rfc3339: bool) -> String {
    let time = i64::try_from(seconds)
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0));
    match time {
        Some(t) if rfc3339 => t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        Some(t) => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        None => format!("t={seconds}"),
    }
}

async fn consent(args: ConsentArgs, grant: bool) -> Result<()> {
    let ConsentArgs {
        job: args,
        all,
        record: named,
    } = args;
    let (identity, chain) = args.party.open().await?;
    let data_type = chain
        .submission_of(args.job)
        .await?
        .with_context(|| format!("no job {} on chain", args.job.0))?
        .event
        .dataType;
    let mine = load_state(&state_path(&args.party, &args.state))?;
    let records: Vec<OwnedRecord> = if all {
        mine.into_iter()
            .filter(|r| r.record.dataType == data_type)
            .collect()
    } else {
        let mut picked = Vec::with_capacity(named.len());
        for hash in &named {
            let r = mine
                .iter()
                .find(|r| r.record.ciphertextHash == *hash)
                .with_context(|| format!("record {hash} is not in your state file"))?;
            if r.record.dataType != data_type {
                bail!("record {hash} is not of the job's data type");
            }
            picked.push(r.clone());
        }
        picked
    };
    if records.is_empty() {
        bail!("none of your records is of the job's data type");
    }
    let patient = Patient::new(identity, chain, args.party.connect.store()?);
    let bar = records_bar(records.len(), args.party.json)?;
    let done = if grant {
        patient
            .grant_all(&records, args.job, args.epsilon_budget, &|n| {
                bar.set_position(n as u64)
            })
            .await?
    } else {
        patient
            .revoke_all(&records, args.job, &|n| bar.set_position(n as u64))
            .await?
    };
    bar.finish_and_clear();
    let verb = if grant { "granted" } else { "revoked" };
    if args.party.json {
        print_json(&serde_json::json!({ verb: done, "job": args.job.0 }))?;
    } else {
        out!("{verb} {done} records for job {}", args.job.0);
    }
    Ok(())
}
