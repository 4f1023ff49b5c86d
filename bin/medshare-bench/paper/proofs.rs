//! What the enclave's own checks of chain facts cost: verifying a view's header seal and its
//! account and storage proofs, per record and per view, and fetching them from the node.

use super::{
    UNLIMITED,
    data::{record, sized_schema},
    fig9::time_per,
    round3,
    table3::{BASE_COHORT, Rig},
};
use anyhow::Result;
use serde::Serialize;
use std::time::Instant;

/// The cost of the enclave's own checks of chain facts.
#[derive(Serialize)]
pub(super) struct ProofCost {
    /// Records in the measured view (the host's batch).
    pub(super) records: usize,
    /// Storage proofs in that view (job facts and three per record).
    pub(super) storage_proofs: usize,
    /// Verifying one record's facts: its three storage proofs (and its share of the account
    /// proofs), in µs — what the enclave adds per record.
    pub(super) verify_us_per_record: f64,
    /// Checking the header's seal (once per view), µs.
    pub(super) seal_us: f64,
    /// Verifying the job's facts alone (a view without records), µs.
    pub(super) job_facts_us: f64,
    /// Fetching a record batch's view from the node (header and eth_getProof calls), ms.
    pub(super) fetch_ms: f64,
    /// Proof bytes per record in the view.
    pub(super) proof_bytes_per_record: f64,
}

/// Verifies a view as the enclave does (seal, then every account and storage proof), `times`
/// times; µs per verification.
fn time_view(view: &medshare_enclave_api::ChainView, times: u32) -> Result<(f64, f64)> {
    use alloy_rlp::Decodable;
    let header = alloy_consensus::Header::decode(&mut view.header.as_ref())?;
    let seal = time_per(times, || {
        std::hint::black_box(medshare_light::header::sealer_of(&header).ok());
    });
    // One real run first: a proof that does not verify is a bug of the benchmark.
    for p in &view.proofs {
        medshare_light::proof::verify_account(header.state_root, p)?;
    }
    let all = time_per(times, || {
        for p in &view.proofs {
            std::hint::black_box(medshare_light::proof::verify_account(header.state_root, p).ok());
        }
    });
    Ok((seal, all + seal))
}

pub(super) async fn proof_cost(records: usize) -> Result<ProofCost> {
    use medshare_enclave_api::facts;
    let (schema, _) = sized_schema(1)?;
    let data_type = schema.data_type()?;
    let rig = Rig::new(schema).await?;
    // `records` more patients under a standing policy (the rig's base cohort is small).
    for i in 0..records.saturating_sub(BASE_COHORT) {
        let patient = rig.patient().await?;
        let owned = patient
            .upload(
                &data_type,
                &[record(&rig.schema, 1000 + i)],
                rig.tee.address(),
                &|_| {},
            )
            .await?;
        patient
            .set_policy(&data_type, &owned, true, UNLIMITED)
            .await?;
    }
    let job = rig.job(7).await?;
    let ctx = rig.tee.job_context(job).await?;
    let job_slots = rig.tee.job_request(&ctx).await?;
    let registered = rig.admin.records_of_type(data_type.id()).await?;
    let batch: Vec<_> = registered
        .iter()
        .take(medshare_parties::tee::RECORD_BATCH.min(records))
        .collect();
    let mut requests = vec![job_slots.clone()];
    for r in &batch {
        requests.push(facts::record_slots(
            rig.admin.deployment(),
            job.0,
            r.event.ciphertextHash,
            r.event.owner,
            r.event.commitment,
            data_type.id(),
            None,
        ));
    }
    let request = facts::merge(requests);
    let start = Instant::now();
    let view = rig.tee.view(&request).await?;
    let fetch_ms = start.elapsed().as_secs_f64() * 1e3;
    let job_view = rig.tee.view(&job_slots).await?;
    let (seal_us, job_facts_us) = time_view(&job_view, 200)?;
    let (_, all_us) = time_view(&view, 50)?;
    let n = batch.len().max(1) as f64;
    let bytes = |v: &medshare_enclave_api::ChainView| -> usize {
        v.proofs
            .iter()
            .map(|p| {
                p.account_proof.iter().map(|b| b.len()).sum::<usize>()
                    + p.storage_proof
                        .iter()
                        .flat_map(|s| s.proof.iter())
                        .map(|b| b.len())
                        .sum::<usize>()
            })
            .sum()
    };
    rig.stop().await;
    Ok(ProofCost {
        records: batch.len(),
        storage_proofs: view.proofs.iter().map(|p| p.storage_proof.len()).sum(),
        verify_us_per_record: round3((all_us - job_facts_us) / n),
        seal_us: round3(seal_us),
        job_facts_us: round3(job_facts_us),
        fetch_ms: round3(fetch_ms),
        proof_bytes_per_record: round3((bytes(&view).saturating_sub(bytes(&job_view))) as f64 / n),
    })
}
