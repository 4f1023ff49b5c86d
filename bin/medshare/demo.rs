//! `medshare demo`: the protocol on the embedded chain, party by party.
//!
//! This is the foundation's walkthrough: the five contracts on the embedded chain, the parties
//! registered, a patient's records encrypted, key-shared to the TEE and registered, a model
//! submitted and reviewed, consent given, and the TEE's verifications on chain. Off-chain
//! storage, the enclave process and training join it with the sharing-flow work.

use crate::scenario::{sample_model, sample_record, sample_requirement};
use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use medshare_testkit::{Backend, World};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct DemoArgs {
    /// Keep the demo's chain here (default: a temporary directory, removed at the end).
    /// An existing demo chain in DIR is reset.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// How many records the patient registers.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    records: u64,
    /// Print a JSON summary instead of the walkthrough.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Summary {
    chain_id: u64,
    records_registered: usize,
    records_granted: usize,
    job_id: String,
    job_status: String,
    audit_entries: usize,
}

pub(crate) async fn run(args: DemoArgs) -> Result<()> {
    let temp;
    let dir = match &args.data_dir {
        Some(d) => {
            let chain_dir = d.join("chain");
            if chain_dir.exists() {
                std::fs::remove_dir_all(&chain_dir)
                    .with_context(|| format!("resetting {}", chain_dir.display()))?;
            }
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            chain_dir
        }
        None => {
            temp = tempfile::tempdir()?;
            temp.path().join("chain")
        }
    };
    let say = |s: &str| {
        if !args.json {
            println!("{s}");
        }
    };
    let backend = Backend::embedded_at(&dir)
        .await
        .context("opening the embedded chain")?;
    say(
        "1. The admin deploys Registration, Data, Model, Authorization and Audit on the embedded chain;",
    );
    say("   a user (patient), a demander, a reviewer and a TEE register their public keys.");
    let world = World::new(&backend).await?;
    say(&format!(
        "   admin {}, Registration at {}",
        world.admin.identity.address(),
        world.admin.chain.deployment().registration
    ));

    say("2. The patient encrypts each record (AES-256-GCM, fresh key), shares its key to the TEE");
    say("   (CM = KEY + r_C·PK_C + r_U·PK_T), signs TD_i (EIP-712) and registers it.");
    let n = usize::try_from(args.records)?;
    let bar = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(args.records)
    };
    bar.set_style(ProgressStyle::with_template(
        "   {bar:40} {pos}/{len} records {elapsed}",
    )?);
    let mut records = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let plaintexts: Vec<Vec<u8>> = chunk.iter().map(|&i| sample_record(i)).collect();
        let made = world.make_records(&plaintexts)?;
        world.register(&made).await?;
        bar.inc(made.len() as u64);
        records.extend(made);
    }
    bar.finish();

    say(
        "3. The demander submits a logistic-regression spec and its data requirement; a reviewer approves.",
    );
    let (model, requirement) = (sample_model(), sample_requirement());
    let (job, _) = world.submit_model(&model, &requirement).await?;
    world.reviewer.chain.approve_model(job).await?;

    say(
        "4. The patient consents to this job for every record, releasing each record's pad r_C·PK_C.",
    );
    for r in &records {
        world
            .user
            .chain
            .grant(&r.record, job, r.pad.clone())
            .await?;
    }

    say(
        "5. The TEE checks the model and each record, posts its verifications and the audit entries.",
    );
    let tee = &world.tee;
    let model_sig = world.tee_verification(job, alloy_primitives::keccak256(&model))?;
    tee.chain
        .post_model_verification(job, true, true, &model_sig)
        .await?;
    world.verify_records(job, &records).await?;
    world.audit(job, &model, &requirement, &records).await?;

    let audit = world
        .user
        .chain
        .audit_of_owner(world.user.identity.address())
        .await?;
    let status = world.user.chain.job_status(job).await?;
    let summary = Summary {
        chain_id: world.user.chain.chain_id(),
        records_registered: records.len(),
        records_granted: records.len(),
        job_id: job.0.to_string(),
        job_status: format!("{status:?}"),
        audit_entries: audit.len(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    println!(
        "\nThe patient's audit trail ({} entries, first 3):",
        audit.len()
    );
    for entry in audit.iter().take(3) {
        let e = &entry.event;
        println!(
            "   record {} used by demander {} in job {} on TEE {} (model hash ok: {}, record hash ok: {}, block {})",
            e.ciphertextHash,
            e.demander,
            e.jobId,
            e.tee,
            e.modelHashOk,
            e.recordHashOk,
            entry.block_number.unwrap_or_default()
        );
    }
    println!(
        "\nJob {} is {:?}. Storage, the enclave process and training come with the sharing flow.",
        job.0, status
    );
    Ok(())
}
