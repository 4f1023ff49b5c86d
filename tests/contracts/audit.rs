//! Audit: the trail of Fig. 4, written by active TEEs only, read by owners and per job.

use crate::support::{refused, world};
use alloy_primitives::B256;
use medshare_primitives::Role;
use medshare_testkit::Backend;

pub(crate) async fn only_active_tees_write_the_audit_trail(b: &Backend) {
    let w = world(b).await;
    let records = w.registered_records(2).await.unwrap();
    let job = w.deployed_job("audit").await.unwrap();
    let entries = w.audit_entries(job, b"m", b"r", &records);
    let view = w.view_block().await.unwrap();
    // Nobody else can write (or forge) the patient's audit trail.
    for party in [&w.user, &w.demander, &w.reviewer, &w.admin] {
        refused(
            party.chain.record_use(view, entries.clone()).await,
            "NotActiveTee",
        );
    }
    refused(w.tee.chain.record_use(view, vec![]).await, "EmptyBatch");
    w.tee.chain.record_use(view, entries.clone()).await.unwrap();
    // A revoked TEE cannot write any more.
    w.admin.chain.revoke_tee(w.tee.address()).await.unwrap();
    let view = w.view_block().await.unwrap();
    refused(w.tee.chain.record_use(view, entries).await, "NotActiveTee");
}

/// An audit entry says what the enclave did with the record: used, decrypted for a training
/// that failed, or refused (and why), with the block its view came from.
pub(crate) async fn audit_entries_carry_their_outcome_and_view(b: &Backend) {
    use medshare_chain::UseOutcome;
    let w = world(b).await;
    let records = w.registered_records(3).await.unwrap();
    let job = w.deployed_job("outcomes").await.unwrap();
    let mut entries = w.audit_entries(job, b"m", b"r", &records);
    entries[1].outcome = UseOutcome::TrainingFailed as u8;
    entries[2].outcome = UseOutcome::RefusedIntegrity as u8;
    entries[2].recordHashOk = false;
    let view = w.view_block().await.unwrap();
    w.tee.chain.record_use(view, entries).await.unwrap();
    let trail = w.user.chain.audit_of_owner(w.user.address()).await.unwrap();
    let outcomes: Vec<u8> = trail.iter().map(|e| e.event.outcome).collect();
    assert_eq!(
        outcomes,
        [
            UseOutcome::Used as u8,
            UseOutcome::TrainingFailed as u8,
            UseOutcome::RefusedIntegrity as u8
        ]
    );
    assert!(trail.iter().all(|e| e.event.viewBlock == view.number));
    // An outcome outside the enum is refused by the ABI decoder of the contract.
    let mut bad = w.audit_entries(job, b"m", b"r", &records[..1]);
    bad[0].outcome = 9;
    assert!(w.tee.chain.record_use(view, bad).await.is_err());
}

pub(crate) async fn the_audit_trail_is_listed_by_owner_and_by_job(b: &Backend) {
    let w = world(b).await;
    let other = w.new_party(b).await.unwrap();
    other
        .chain
        .register(Role::User, other.identity.public_key_uncompressed())
        .await
        .unwrap();
    let mine = w.registered_records(3).await.unwrap();
    let theirs = w
        .make_records_for(&other, &w.tee, &[b"t".to_vec()])
        .unwrap();
    let batch: Vec<_> = theirs.iter().map(|r| r.record.clone()).collect();
    other
        .chain
        .register_records(w.data_type.id(), &batch)
        .await
        .unwrap();

    let job1 = w.deployed_job("one").await.unwrap();
    let job2 = w.deployed_job("two").await.unwrap();
    w.audit(job1, b"model one", b"req", &mine[..2])
        .await
        .unwrap();
    w.audit(job2, b"model two", b"req", &mine[2..])
        .await
        .unwrap();
    w.audit(job2, b"model two", b"req", &theirs).await.unwrap();

    let trail = w.user.chain.audit_of_owner(w.user.address()).await.unwrap();
    assert_eq!(trail.len(), 3);
    assert!(trail.iter().all(|e| e.event.owner == w.user.address()));
    let used: Vec<B256> = trail.iter().map(|e| e.event.ciphertextHash).collect();
    let expected: Vec<B256> = mine.iter().map(|r| r.record.ciphertextHash).collect();
    assert_eq!(used, expected);
    // Fig. 4: which demander, which model, the checks, which TEE, when.
    let e = &trail[0].event;
    assert_eq!(e.jobId, job1.0);
    assert_eq!(e.demander, w.demander.address());
    assert_eq!(e.modelHash, alloy_primitives::keccak256(b"model one"));
    assert!(e.modelHashOk && e.recordHashOk);
    assert_eq!(e.tee, w.tee.address());
    assert!(e.timestamp > 0);

    assert_eq!(
        other
            .chain
            .audit_of_owner(other.address())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(w.user.chain.audit_of_job(job1).await.unwrap().len(), 2);
    assert_eq!(w.user.chain.audit_of_job(job2).await.unwrap().len(), 2);
}
