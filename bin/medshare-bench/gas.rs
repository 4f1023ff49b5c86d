//! `medshare bench gas`: one of each transaction type on a fresh embedded chain, and the gas
//! each used beside the paper's §7.4 figures.

use crate::scenario::{gas_of, sample_model, sample_record, sample_requirement};
use alloy_primitives::keccak256;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use medshare_testkit::{Backend, World};
use serde::Serialize;

/// The block the paper's TPS figures assume: 12,000,000 gas every second.
const BLOCK_GAS: u64 = 12_000_000;

/// The privacy budget the measured records get (ε = 3).
const BUDGET_MILLI: u32 = 3_000;

/// Paper §7.4 gas per transaction type.
const PAPER_DATA: u64 = 62_060;
const PAPER_REQUEST: u64 = 82_355;
const PAPER_MODEL: u64 = 38_444;
const PAPER_RESULT: u64 = 79_928;

use crate::paper;

#[derive(Subcommand)]
pub(crate) enum BenchCommand {
    /// The paper's §7 evaluation on this machine: Table 3 (the whole flow for one record of
    /// 1–6 kB, enclave in process and in its own process), Fig. 9, §7.4 gas, crypto beside
    /// openssl. Results go to bench/results/ (JSON and markdown).
    Paper(paper::PaperArgs),
    /// Gas per transaction type on the embedded chain, beside the paper's §7.4 figures, and the
    /// transactions per second a 12,000,000-gas, one-second block holds.
    Gas(GasArgs),
    /// Differential privacy on the breast cancer data: held-out accuracy at ε from 0.1 to ∞
    /// beside IBM diffprivlib on the same splits, and a membership-inference attack's AUC.
    /// Results go to bench/results/privacy.{json,md,png}.
    Privacy(crate::privacy::PrivacyArgs),
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
    /// The paper's TPS.
    pub(crate) paper_tps: u64,
    /// gas / paper_gas.
    pub(crate) ratio_to_paper: f64,
    /// What was measured.
    measured: String,
}

impl TypeGas {
    fn new(gas: u64, paper_gas: u64, measured: impl Into<String>) -> Self {
        Self {
            gas,
            paper_gas,
            tps: BLOCK_GAS / gas.max(1),
            paper_tps: BLOCK_GAS / paper_gas,
            ratio_to_paper: (gas as f64 / paper_gas as f64 * 1000.0).round() / 1000.0,
            measured: measured.into(),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct GasReport {
    pub(crate) data: TypeGas,
    pub(crate) request: TypeGas,
    pub(crate) model: TypeGas,
    pub(crate) result: TypeGas,
    /// Registering one record alone (not amortized over a batch).
    data_single_record_gas: u64,
    /// The first job submitted for a data type (stores the type's id as well).
    request_first_of_data_type_gas: u64,
    /// Records in the batch `data` is amortized over.
    data_batch_size: u64,
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

    let report = GasReport {
        data: TypeGas::new(
            per_record,
            PAPER_DATA,
            "Data.registerRecords (HDS_i + hashStruct(TD_i)), per record in a batch",
        ),
        request: TypeGas::new(
            request,
            PAPER_REQUEST,
            format!(
                "Model.submitModel (IM_j: {}-byte model spec, {}-byte RM_j), data type seen before",
                model.len(),
                requirement.len()
            ),
        ),
        model: TypeGas::new(
            model_gas,
            PAPER_MODEL,
            "Model.postModelVerification ({ST_j, HRT_j, VT_j})",
        ),
        result: TypeGas::new(
            result,
            PAPER_RESULT,
            "Model.postResult (HCMRT_j; the 512-byte CMRT_j and SMRT_j are in storage)",
        ),
        data_single_record_gas: single,
        request_first_of_data_type_gas: request_first,
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

fn print_gas(report: &GasReport) {
    println!("Gas per transaction type (embedded chain, revm), beside the paper's §7.4");
    println!(
        "{:<9} {:>9} {:>10} {:>7} {:>7} {:>11}  measured",
        "type", "gas", "paper gas", "ratio", "tps", "paper tps"
    );
    for (name, t) in [
        ("data", &report.data),
        ("request", &report.request),
        ("model", &report.model),
        ("result", &report.result),
    ] {
        println!(
            "{name:<9} {:>9} {:>10} {:>7.3} {:>7} {:>11}  {}",
            t.gas, t.paper_gas, t.ratio_to_paper, t.tps, t.paper_tps, t.measured
        );
    }
    println!(
        "\nOne record registered alone: {} gas; per record in a batch of {}: {} gas.",
        report.data_single_record_gas, report.data_batch_size, report.data.gas
    );
    println!(
        "The first job of a data type: {} gas (it also stores the type's id).",
        report.request_first_of_data_type_gas
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
