//! `medshare bench paper`: the paper's §7 evaluation, measured on this machine.
//!
//! One file per benchmark: [`table3`] (the whole flow for one record of 1–6 kB, with the
//! enclave in this process and in its own process, and the [`table3::Rig`] deployment the
//! others reuse), [`fig9`] (per-operation costs), §7.4 gas ([`crate::gas`]), [`ledger`]
//! (throughput beside anvil, like for like), [`crypto`] (beside `openssl speed`), [`training`]
//! (beside scikit-learn, controlled), [`scale`] (a million records and an owner's audit query;
//! the enclave process's peak memory), [`proofs`] (the enclave's checks of chain facts). The
//! paper's own figures are quoted once, in [`figures`]; [`markdown`] writes the report. Every
//! comparison runs both sides in this run, because shared machines drift. Results: paper.json,
//! paper.md and table3.png (bench/plot_table3.py) under `--out`.

mod crypto;
mod data;
pub(crate) mod faults;
mod fig9;
pub(crate) mod figures;
pub(crate) mod job_start;
pub(crate) mod ledger;
mod markdown;
mod proofs;
mod scale;
mod table3;
mod training;

use crate::{
    REPO,
    gas::{GasReport, measure_gas},
    round3,
};
use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The paper's flows train without differential privacy (as the paper does): every record's
/// budget is unlimited, and governance allows ε = ∞ for the benchmark's data types.
const UNLIMITED: u32 = medshare_contracts::EPSILON_INFINITE;

#[derive(Args)]
pub(crate) struct PaperArgs {
    /// A reduced run for CI (2 runs per size, smaller loops and cohorts): under two minutes.
    #[arg(long)]
    quick: bool,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
    /// Write paper.json and paper.md here (default: bench/results for a full run, nothing for
    /// --quick).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Serialize)]
struct Report {
    quick: bool,
    table3: Vec<table3::Table3Row>,
    fig9: fig9::Fig9,
    gas: GasReport,
    crypto: crypto::Crypto,
    aead_ratio_vs_openssl: f64,
    sha256_ratio_vs_openssl: f64,
    /// Records registered per second on `medshare node` (the embedded chain over JSON-RPC).
    ledger_tps: f64,
    /// The same workload, through the same client, on anvil in memory.
    anvil_tps: f64,
    /// `medshare node`: the embedded chain served by RpcServer in its own process.
    ledger: ledger::Throughput,
    /// anvil in memory.
    anvil: ledger::Throughput,
    /// anvil with `--state FILE --state-interval 1`.
    anvil_state: ledger::Throughput,
    /// The embedded chain called in this process (not like for like with the rows above).
    ledger_in_process: ledger::Throughput,
    /// medshare's training time / scikit-learn's, one thread each, same data and split.
    train_time_ratio_vs_sklearn: f64,
    accuracy: f64,
    sklearn_accuracy: f64,
    training: training::Training,
    scale: scale::Scale,
    /// Peak resident memory of the enclave process over a job of `enclave_memory_records`.
    enclave_peak_memory_mib: f64,
    enclave_memory_records: u64,
    /// What the enclave's own checks of chain facts cost (header seal and state proofs).
    proofs: proofs::ProofCost,
}

pub(crate) async fn run(args: PaperArgs) -> Result<()> {
    // Before anything is measured: a missing peer fails now, not after minutes of Table 3.
    crate::anvil::binary()?;
    crate::python::python()?;
    let runs = if args.quick { 2 } else { 30 };
    let table3 = table3::table3(runs, args.json).await?;
    let fig9 = fig9::fig9(if args.quick { 200 } else { 2_000 }, &table3)?;
    let gas = measure_gas(100).await?;
    let crypto = crypto::crypto(if args.quick { 0.3 } else { 2.0 })?;
    let (patients, per_patient) = if args.quick { (2, 200) } else { (16, 2_000) };
    let ledger = ledger::ledger(patients, per_patient).await?;
    let training = training::training(if args.quick { 10_000 } else { 100_000 })?;
    let scale = if args.quick {
        scale::scale(5_000, 10, args.json).await?
    } else {
        scale::scale(1_000_000, 1_000, args.json).await?
    };
    let (peak_kib, memory_records) =
        scale::enclave_memory(if args.quick { 300 } else { 100_000 }, args.json).await?;
    let proofs = proofs::proof_cost(if args.quick { 20 } else { 500 }).await?;
    let report = Report {
        proofs,
        scale,
        enclave_peak_memory_mib: round3(peak_kib as f64 / 1024.0),
        enclave_memory_records: memory_records,
        train_time_ratio_vs_sklearn: round3(training.seconds / training.sklearn_seconds),
        accuracy: training.accuracy,
        sklearn_accuracy: training.sklearn_accuracy,
        training,
        ledger_tps: ledger.node.records_per_s,
        anvil_tps: ledger.anvil.records_per_s,
        ledger: ledger.node,
        anvil: ledger.anvil,
        anvil_state: ledger.anvil_state,
        ledger_in_process: ledger.in_process,
        quick: args.quick,
        aead_ratio_vs_openssl: round3(crypto.aead_mb_s / crypto.openssl_aead_mb_s),
        sha256_ratio_vs_openssl: round3(crypto.sha256_mb_s / crypto.openssl_sha256_mb_s),
        table3,
        fig9,
        gas,
        crypto,
    };
    let out = args
        .out
        .clone()
        .or_else(|| (!args.quick).then(|| PathBuf::from("bench/results")));
    if let Some(dir) = &out {
        write_results(dir, &report)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", markdown::markdown(&report));
        if let Some(dir) = &out {
            println!("written to {}", dir.display());
        }
    }
    Ok(())
}

fn write_results(dir: &Path, report: &Report) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = dir.join("paper.json");
    std::fs::write(&json, serde_json::to_vec_pretty(report)?)?;
    std::fs::write(dir.join("paper.md"), markdown::markdown(report))?;
    let script = Path::new(REPO).join("bench/plot_table3.py");
    let status = std::process::Command::new(crate::python::python()?)
        .arg(&script)
        .arg(&json)
        .arg(dir.join("table3.png"))
        .status()
        .context("running python3 for the Table 3 plot")?;
    if !status.success() {
        bail!("the Table 3 plot failed ({status})");
    }
    Ok(())
}
