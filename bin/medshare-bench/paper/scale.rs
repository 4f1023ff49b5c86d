//! Scale: a million records of a thousand owners registered by hash with an audit entry each,
//! then one owner's audit query; and the enclave process's peak memory over a large job.

use super::{
    UNLIMITED,
    data::{record, schema},
    round3,
    table3::{Rig, logistic_job},
};
use anyhow::{Context, Result};
use medshare_records::PatientRecord;
use serde::Serialize;
use std::{sync::Arc, time::Instant};

#[derive(Serialize)]
pub(super) struct Scale {
    /// Records registered on the embedded chain (by hash, batches of 500).
    pub(super) records: usize,
    /// Owners they belong to (each with `records / owners`).
    pub(super) owners: usize,
    /// Audit entries written by the TEE (one per record).
    pub(super) audit_entries: usize,
    /// Seconds to register them all (durable).
    pub(super) register_seconds: f64,
    /// One owner's audit trail (`eth_getLogs` by owner topic), median of 21 queries, ms.
    pub(super) audit_query_ms: f64,
    /// Entries that query returned.
    pub(super) audit_query_entries: usize,
}

/// Registers `records` records of `owners` owners by hash and one audit entry each, then times
/// one owner's audit query. Ledger-level: the records are random hashes and commitments (no
/// encryption or storage), so that the run measures the chain and its log index at that size.
pub(super) async fn scale(records: usize, owners: usize, quiet: bool) -> Result<Scale> {
    const BATCH: usize = 500;
    let backend = medshare_testkit::Backend::embedded().await?;
    let world = medshare_testkit::World::new(&backend).await?;
    let per_owner = records / owners;
    let bar = crate::progress(
        (records * 2) as u64,
        "scale   {bar:40} {pos}/{len} records and audit entries {elapsed}",
        quiet,
    )?;
    let job = world.deployed_job("scale").await?;
    let mut owner_handles = Vec::with_capacity(owners);
    for _ in 0..owners {
        let p = world.new_party(&backend).await?;
        p.chain
            .register(
                medshare_primitives::Role::User,
                p.identity.public_key_uncompressed(),
            )
            .await?;
        owner_handles.push(p);
    }
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for (o, owner) in owner_handles.iter().enumerate() {
        let chain = owner.chain.clone();
        let ty = world.data_type.id();
        set.spawn(async move {
            let mut calls = Vec::new();
            for start in (0..per_owner).step_by(BATCH) {
                let range = start..(start + BATCH).min(per_owner);
                calls.push(medshare_testkit::registration_by_hash(
                    &chain,
                    ty,
                    &format!("scale/{o}"),
                    range,
                ));
            }
            let n = calls.len();
            for call in calls {
                chain.send_many(vec![call]).await?;
            }
            anyhow::Ok(n)
        });
        if set.len() >= 16 {
            set.join_next().await.context("a registration task")???;
            bar.inc(per_owner as u64);
        }
    }
    while let Some(done) = set.join_next().await {
        done??;
        bar.inc(per_owner as u64);
    }
    let register_seconds = start.elapsed().as_secs_f64();
    // One audit entry per record, written by the TEE in batches.
    let mut entries = Vec::with_capacity(BATCH);
    for (o, owner) in owner_handles.iter().enumerate() {
        for i in 0..per_owner {
            entries.push(medshare_chain::Audit::AuditEntry {
                jobId: job.0,
                ciphertextHash: alloy_primitives::keccak256(format!("scale/{o}/{i}")),
                owner: owner.address(),
                demander: world.demander.address(),
                requirementHash: alloy_primitives::B256::ZERO,
                modelHash: alloy_primitives::B256::ZERO,
                modelHashOk: true,
                recordHashOk: true,
                outcome: medshare_chain::UseOutcome::Used as u8,
                epsilonMilli: 1_000,
            });
            if entries.len() == BATCH {
                let view = world.view_block().await?;
                world
                    .tee
                    .chain
                    .record_use(view, std::mem::take(&mut entries))
                    .await?;
                bar.inc(BATCH as u64);
            }
        }
    }
    if !entries.is_empty() {
        let view = world.view_block().await?;
        world.tee.chain.record_use(view, entries).await?;
    }
    bar.finish_and_clear();
    let probe = &owner_handles[owners / 2];
    let mut times = Vec::new();
    let mut found = 0;
    for _ in 0..21 {
        let t = Instant::now();
        found = world
            .user
            .chain
            .audit_of_owner(probe.address())
            .await?
            .len();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(Scale {
        records: per_owner * owners,
        owners,
        audit_entries: per_owner * owners,
        register_seconds: round3(register_seconds),
        audit_query_ms: round3(times[times.len() / 2]),
        audit_query_entries: found,
    })
}

/// Runs one job over `records` records of 30 features with the enclave in its own process and
/// returns that process's peak resident memory (KiB) and how many records it used.
pub(super) async fn enclave_memory(records: usize, quiet: bool) -> Result<(u64, u64)> {
    let schema = schema(30, 30);
    let rig = Rig::new(schema.clone()).await?;
    let data_type = schema.data_type()?;
    let bar = crate::progress(
        records as u64,
        "memory  {bar:40} {pos}/{len} records uploaded {elapsed}",
        quiet,
    )?;
    let per_patient = 1_000.min(records);
    let patients = records.div_ceil(per_patient);
    let mut set = tokio::task::JoinSet::new();
    for p in 0..patients {
        let patient = Arc::new(rig.patient().await?);
        let batch: Vec<PatientRecord> = (0..per_patient)
            .map(|i| record(&schema, p * per_patient + i))
            .collect();
        let (data_type, tee) = (data_type.clone(), rig.tee.address());
        set.spawn(async move {
            let owned = patient.upload(&data_type, &batch, tee, &|_| {}).await?;
            patient
                .set_policy(&data_type, &owned, true, UNLIMITED)
                .await?;
            anyhow::Ok(owned.len())
        });
        if set.len() >= 8 {
            bar.inc(set.join_next().await.context("an upload")???.try_into()?);
        }
    }
    while let Some(done) = set.join_next().await {
        bar.inc(done??.try_into()?);
    }
    bar.finish_and_clear();
    let features = schema.feature_names().map(str::to_owned).collect();
    let (spec, requirement) = logistic_job(&schema, features, 1, 10);
    let job = rig.demander.submit(&spec, &requirement).await?;
    rig.reviewer.approve(job).await?;
    let report = rig.run_report_in_own_process(job).await?;
    rig.stop().await;
    Ok((
        report["peak_memory_kib"]
            .as_u64()
            .context("the enclave process's peak memory")?,
        report["records_used"].as_u64().context("records_used")?,
    ))
}
