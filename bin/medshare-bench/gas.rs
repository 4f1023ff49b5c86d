//! `medshare bench gas`: one of each transaction type on a fresh embedded chain, and the gas
//! each used beside the paper's §7.4 figures.

use crate::scenario::{gas_of, sample_model, sample_record, sample_requirement};
use alloy_primitives::keccak256;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use medshare_testkit::{Backend, World};
use serde::Serialize;

/// The privacy budget the measured records get (ε = 3).
const BUDGET_MILLI: u32 = 3_000;

use crate::paper::{
    self,
    figures::{BLOCK_GAS, GAS_DATA, GAS_MODEL, GAS_REQUEST, GAS_RESULT, PaperGas},
};

#[derive(Subcommand)]
pub(crate) enum BenchCommand {
    /// The paper's §7 evaluation on this machine: Table 3 (the whole flow for one record of
    /// 1–6 kB, enclave in process and in its own process), Fig. 9, §7.4 gas, crypto beside
    /// openssl. Results go to bench/results/ (JSON and markdown).
    #[command(
        after_help = "Examples:\n  medshare bench paper --quick   # under two minutes, writes nothing\n  medshare bench paper            # the full run, written to bench/results"
    )]
    Paper(paper::PaperArgs),
    /// Gas per transaction type on the embedded chain, beside the paper's §7.4 figures, and the
    /// transactions per second a 12,000,000-gas, one-second block holds.
    #[command(after_help = "Examples:\n  medshare bench gas --batch 100 --json")]
    Gas(GasArgs),
    /// Differential privacy on the breast cancer data: held-out accuracy at ε from 0.1 to ∞
    /// beside IBM diffprivlib on the same splits, and a membership-inference attack's AUC.
    /// Results go to bench/results/privacy.{json,md,png}.
    #[command(after_help = "Examples:\n  medshare bench privacy --splits 20")]
    Privacy(crate::privacy::PrivacyArgs),
    /// Many clients at once against `medshare node` (default 64, a mix of registrations,
    /// grants, revocations, audit reads and log queries): throughput, p50/p99 latency, errors,
    /// every acknowledged transaction looked for on the chain afterwards (lost, duplicated),
    /// and the node's memory at start and end. Results go to bench/results/load.{json,md}.
    #[command(
        after_help = "Examples:\n  medshare bench load --quick\n  medshare bench load --clients 64 --operations 80000"
    )]
    Load(crate::load::LoadArgs),
    /// Crash consistency: `medshare node` killed with SIGKILL at random points (default 200)
    /// of 10,000 registrations from several clients; after every restart each acknowledged
    /// receipt, the header chain and the state (EIP-1186 proofs against the verified tip) are
    /// checked. Results go to bench/results/crash.{json,md}.
    #[command(
        after_help = "Examples:\n  medshare bench crash --quick\n  medshare bench crash --registrations 10000 --kills 200"
    )]
    Crash(crate::crash::CrashArgs),
    /// Ledger throughput alone (the rows of `bench paper`): patients registering records at
    /// once against `medshare node`, anvil in memory, anvil with `--state`, and the embedded
    /// chain in process, with the same client and workload. Prints the rows (`--out` writes
    /// ledger.{json,md}).
    #[command(
        after_help = "Examples:\n  medshare bench ledger --patients 16 --per-patient 2000 --out /tmp/ledger"
    )]
    Ledger(paper::ledger::LedgerArgs),
    /// Job start at scale: the time a job takes to start training (its consented records
    /// found, checked against state proofs and decrypted) as its data type fills with records
    /// nobody consented to, 10⁴ to 10⁷ by default. Results go to bench/results/job-start.{json,md}
    /// after every size.
    #[command(
        after_help = "Examples:\n  medshare bench job-start --sizes 10000,100000 --out /tmp/job-start\n  medshare bench job-start   # 10⁴ to 10⁷ records, written to bench/results"
    )]
    JobStart(paper::job_start::JobStartArgs),
    /// Storage faults: a record whose objects are missing, truncated or replaced is excluded
    /// and audited while its job completes; a store that cannot be reached (a directory moved
    /// away, Garage killed mid-job) stops the job, which runs again and completes once. On a
    /// directory and on S3 (a Garage this command starts itself). Results go to
    /// bench/results/faults.{json,md}.
    #[command(
        after_help = "Examples:\n  medshare bench faults --quick   # CI's smoke pass, nothing written\n  medshare bench faults           # 40 records a job, written to bench/results"
    )]
    Faults(paper::faults::FaultsArgs),
}

#[derive(Args)]
pub(crate) struct GasArgs {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Records per registration batch for the amortized per-record figure.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=500))]
    batch: u64,
}

pub(crate) async fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Gas(args) => gas(args).await,
        BenchCommand::Paper(args) => paper::run(args).await,
        BenchCommand::Privacy(args) => crate::privacy::run(args).await,
        BenchCommand::Load(args) => crate::load::run(args).await,
        BenchCommand::Crash(args) => crate::crash::run(args).await,
        BenchCommand::Ledger(args) => paper::ledger::run(args).await,
        BenchCommand::JobStart(args) => paper::job_start::run(args).await,
        BenchCommand::Faults(args) => paper::faults::run(args).await,
    }
}

/// One transaction type's figure.
#[derive(Serialize)]
pub(crate) struct TypeGas {
    /// Gas used (per record for `data`).
    pub(crate) gas: u64,
    /// The paper's figure.
    pub(crate) paper_gas: u64,
    /// Transactions (records for `data`) per 12M-gas block.
    pub(crate) tps: u64,
    /// The paper's TPS, where its text states one (it gives none for the data request).
    pub(crate) paper_tps: Option<u64>,
    /// gas / paper_gas.
    pub(crate) ratio_to_paper: f64,
    /// What was measured.
    pub(crate) measured: String,
    /// What the figure includes.
    pub(crate) includes: String,
}

impl TypeGas {
    fn new(gas: u64, paper: PaperGas, measured: impl Into<String>, includes: &str) -> Self {
        Self {
            gas,
            paper_gas: paper.gas,
            tps: BLOCK_GAS / gas.max(1),
            paper_tps: paper.tps,
            ratio_to_paper: (gas as f64 / paper.gas as f64 * 1000.0).round() / 1000.0,
            measured: measured.into(),
            includes: includes.to_owned(),
        }
    }
}

/// A figure reported beside the headline ones.
#[derive(Serialize)]
pub(crate) struct Figure {
    pub(crate) gas: u64,
    /// What the figure includes.
    pub(crate) includes: String,
}

#[derive(Serialize)]
pub(crate) struct GasReport {
    pub(crate) data: TypeGas,
    pub(crate) request: TypeGas,
    pub(crate) model: TypeGas,
    pub(crate) result: TypeGas,
    /// Registering one record alone (not amortized over a batch).
    pub(crate) data_single_record_gas: u64,
    /// The first job submitted for a data type (stores the type's id as well).
    pub(crate) request_first_of_data_type_gas: u64,
    /// `data_single_record_gas` with what it includes.
    pub(crate) data_single_record: Figure,
    /// `request_first_of_data_type_gas` with what it includes.
    pub(crate) request_first_of_data_type: Figure,
    /// Records in the batch `data` is amortized over.
    pub(crate) data_batch_size: u64,
    /// Other transactions of one round, for reference.
    other: OtherGas,
    block_gas_limit: u64,
    block_time_seconds: u64,
}

#[derive(Serialize)]
struct OtherGas {
    approve_model: u64,
    /// A grant with the record's privacy budget set (a new storage slot).
    grant_consent: u64,
    /// Releasing a record's pad and setting its budget, per record in a batch (standing policy).
    release_pad_with_budget_per_record: u64,
    record_verification_per_record: u64,
    audit_entry_per_record: u64,
    /// Debiting a job's ε from a record's privacy budget (one storage write), per record in a
    /// batch of the job's `debitBudgets`.
    budget_debit_per_record: u64,
}

async fn gas(args: GasArgs) -> Result<()> {
    let report = measure_gas(args.batch).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    print_gas(&report);
    Ok(())
}

/// Runs one of each transaction type on a fresh embedded chain; `batch` records per
/// registration for the amortized figure.
pub(crate) async fn measure_gas(batch_size: u64) -> Result<GasReport> {
    let backend = Backend::embedded()
        .await
        .context("opening the embedded chain")?;
    let world = World::new(&backend).await?;

    let n = usize::try_from(batch_size)?;
    let plaintexts: Vec<Vec<u8>> = (0..=n).map(sample_record).collect();
    let mut records = world.make_records(&plaintexts)?;
    let batch = records.split_off(1);
    let single = gas_of(&world.register(&records).await?)?;
    let batch_gas = gas_of(&world.register(&batch).await?)?;
    let per_record = batch_gas.div_ceil(batch_size);

    // The first job of a data type also stores the type's id (one more storage slot); later
    // jobs of that type do not. `request` is the steady state, the first is reported beside it.
    let (model, requirement) = (sample_model()?, sample_requirement());
    // Same size, another hash: a submission with equal fields in the same second is the same job.
    let other_model = String::from_utf8(model.clone())?.replace("\"seed\":7", "\"seed\":8");
    let (_, first) = world
        .submit_model(other_model.as_bytes(), &requirement)
        .await?;
    let request_first = gas_of(&first)?;
    let (job, receipt) = world.submit_model(&model, &requirement).await?;
    let request = gas_of(&receipt)?;
    let approve = gas_of(&world.reviewer.chain.approve_model(job).await?)?;
    let grant = gas_of(
        &world
            .user
            .chain
            .grant(&batch[0].record, job, batch[0].pad.clone(), BUDGET_MILLI)
            .await?,
    )?;
    let release: Vec<_> = batch[1..]
        .iter()
        .map(|r| (r.record.clone(), r.pad.clone()))
        .collect();
    let release_gas = gas_of(
        &world
            .user
            .chain
            .release_pads(&release, BUDGET_MILLI)
            .await?,
    )?;

    let tee = &world.tee;
    let view = world.view_block().await?;
    let signature = world.tee_verification(job, keccak256(&model), view)?;
    let model_gas = gas_of(
        &tee.chain
            .post_model_verification(job, true, true, view, &signature)
            .await?,
    )?;
    let verify = gas_of(&world.verify_records(job, &batch).await?)?;
    let audit = gas_of(&world.audit(job, &model, &requirement, &batch).await?)?;
    let debit = gas_of(&world.debit(job, &batch).await?)?;
    let result = gas_of(&world.post_result(job, &[0u8; 512]).await?.2)?;

    let request_includes = format!(
        "the 21,000 base cost; the {}-byte model spec, {}-byte requirement and the demander's \
         signature as calldata, logged in ModelSubmitted (not stored); the demander's role check, \
         the data type's rules (one slot read), the job id hashed and one new job slot",
        model.len(),
        requirement.len()
    );
    let report = GasReport {
        data: TypeGas::new(
            per_record,
            GAS_DATA,
            "Data.registerRecords (HDS_i + hashStruct(TD_i)), per record in a batch",
            &format!(
                "registerRecords of {batch_size} records divided by {batch_size}: per record one \
                 new storage slot (its owned commitment), 64 bytes of calldata (HDS_i and the \
                 commitment) and a RecordRegistered log; the 21,000 base cost and the sender's \
                 role check shared by the batch"
            ),
        ),
        request: TypeGas::new(
            request,
            GAS_REQUEST,
            format!(
                "Model.submitModel (IM_j: {}-byte model spec, {}-byte RM_j), data type seen before",
                model.len(),
                requirement.len()
            ),
            &format!("{request_includes}; the data type already interned"),
        ),
        model: TypeGas::new(
            model_gas,
            GAS_MODEL,
            "Model.postModelVerification ({ST_j, HRT_j, VT_j})",
            "the 21,000 base cost; Registration's isActiveTee (a cold call and cold slot \
             reads); the view block checked against BLOCKHASH; the job's status write; the \
             TEE's signature ST_j as calldata, logged in ModelVerified",
        ),
        result: TypeGas::new(
            result,
            GAS_RESULT,
            "Model.postResult (HCMRT_j; the 512-byte CMRT_j and SMRT_j are in storage)",
            "the 21,000 base cost; the TEE's active check; the view block checked; a check that \
             the job's privacy-budget debits landed (one slot read); the job's status write; the \
             result's hash HCMRT_j in a ResultPosted log. The 512-byte CMRT_j and the TEE's \
             signature SMRT_j go to off-chain storage, not the chain",
        ),
        data_single_record_gas: single,
        request_first_of_data_type_gas: request_first,
        data_single_record: Figure {
            gas: single,
            includes: "registerRecords of one record: the 21,000 base cost and the sender's \
                       role check (a cold call to Registration) for that record alone, one new \
                       storage slot, 64 bytes of calldata and a RecordRegistered log"
                .into(),
        },
        request_first_of_data_type: Figure {
            gas: request_first,
            includes: format!(
                "{request_includes}; and interning the data type (two new slots, type to id \
                 and id to type, and the type counter)"
            ),
        },
        data_batch_size: batch_size,
        other: OtherGas {
            approve_model: approve,
            grant_consent: grant,
            release_pad_with_budget_per_record: release_gas.div_ceil(batch_size - 1),
            budget_debit_per_record: debit.div_ceil(batch_size),
            record_verification_per_record: verify.div_ceil(batch_size),
            audit_entry_per_record: audit.div_ceil(batch_size),
        },
        block_gas_limit: BLOCK_GAS,
        block_time_seconds: 1,
    };
    Ok(report)
}

impl GasReport {
    /// The four headline figures, named as the paper's §7.4 names them.
    pub(crate) fn types(&self) -> [(&'static str, &TypeGas); 4] {
        [
            ("data", &self.data),
            ("request", &self.request),
            ("model", &self.model),
            ("result", &self.result),
        ]
    }
}

fn print_gas(report: &GasReport) {
    println!("Gas per transaction type (embedded chain, revm), beside the paper's §7.4");
    println!(
        "{:<9} {:>9} {:>10} {:>7} {:>7} {:>11}  measured",
        "type", "gas", "paper gas", "ratio", "tps", "paper tps"
    );
    for (name, t) in report.types() {
        let paper_tps = t.paper_tps.map_or("—".to_owned(), |v| v.to_string());
        println!(
            "{name:<9} {:>9} {:>10} {:>7.3} {:>7} {:>11}  {}",
            t.gas, t.paper_gas, t.ratio_to_paper, t.tps, paper_tps, t.measured
        );
    }
    println!("\nWhat each figure includes:");
    for (name, t) in report.types() {
        println!("  {name}: {}", t.includes);
    }
    println!(
        "\nOne record registered alone: {} gas; per record in a batch of {}: {} gas.\n  includes: {}",
        report.data_single_record.gas,
        report.data_batch_size,
        report.data.gas,
        report.data_single_record.includes
    );
    println!(
        "The first job of a data type: {} gas; a later one: {} gas.\n  includes: {}",
        report.request_first_of_data_type.gas,
        report.request.gas,
        report.request_first_of_data_type.includes
    );
    println!(
        "Also: approve {}, grant (with the record's ε budget) {}, pad release with budget {} / record, record verification {} / record, audit {} / record.",
        report.other.approve_model,
        report.other.grant_consent,
        report.other.release_pad_with_budget_per_record,
        report.other.record_verification_per_record,
        report.other.audit_entry_per_record
    );
    println!(
        "Privacy budget debit: {} gas / record (a job's ε taken from each record it trained on, batches of up to 500).",
        report.other.budget_debit_per_record
    );
    println!("TPS assumes a {BLOCK_GAS}-gas block every second, as the paper does.");
}
