//! The parties' workflows against the embedded chain, with a stub enclave behind the ecall
//! boundary: the one-process set-up, the records the TEE's host gathers for a job, and the
//! typed errors each refusal comes back as.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use alloy_primitives::{Address, B256};
use common::{RULES, Seen, Stub, World};
use medshare_chain::JobStatus;
use medshare_parties::{Error, setup, tee::TeeHost, user::OwnedRecord};
use medshare_primitives::{JobId, Role};
use medshare_storage::Key;
use std::collections::BTreeSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_admits_the_tee_and_registers_every_party() {
    let w = World::new().await;
    assert!(w.admin.is_active_tee(w.tee_address()).await.unwrap());
    let info = w.admin.tee_info(w.tee_address()).await.unwrap();
    assert_eq!(info.measurement, common::measurement());
    assert!(!info.unverified_headers);
    let dt = w.schema.data_type().unwrap().id();
    assert_eq!(w.admin.data_type_rules(dt).await.unwrap(), RULES);
    assert_eq!(
        w.admin.role_of(w.demander.address()).await.unwrap(),
        Some(Role::Demander)
    );
    let patient = setup::patient(&w.admin, w.store.clone()).await.unwrap();
    assert_eq!(
        w.admin.role_of(patient.address()).await.unwrap(),
        Some(Role::User)
    );
    // The reviewer is appointed: its approval goes through.
    let (spec, requirement) = w.job(1);
    let job = w.demander.submit(&spec, &requirement).await.unwrap();
    w.reviewer.approve(job).await.unwrap();
    assert_eq!(w.admin.job_status(job).await.unwrap(), JobStatus::Approved);
}

/// Patients 0 and 1 grant the job, patient 2 consents by standing policy (and also grants:
/// its record is passed once), patient 3 does not consent, and patient 4 consented to another
/// job only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_hands_the_enclave_every_consented_record_once_and_no_other() {
    let w = World::new().await;
    let dt = w.schema.data_type().unwrap();
    let rows = w.rows(5);
    let mut patients = Vec::new();
    for row in &rows {
        let patient = setup::patient(&w.admin, w.store.clone()).await.unwrap();
        let owned = patient
            .upload(&dt, std::slice::from_ref(row), w.tee_address(), &|_| {})
            .await
            .unwrap()
            .remove(0);
        patients.push((patient, owned));
    }
    let (spec, requirement) = w.job(2);
    let job = w.demander.submit(&spec, &requirement).await.unwrap();
    w.reviewer.approve(job).await.unwrap();
    let (spec, requirement) = w.job(3);
    let other = w.demander.submit(&spec, &requirement).await.unwrap();
    w.reviewer.approve(other).await.unwrap();
    let budget = medshare_contracts::EPSILON_INFINITE;
    for (p, r) in &patients[..3] {
        p.grant(r, job, budget).await.unwrap();
    }
    let (p2, r2) = &patients[2];
    p2.set_policy(&dt, std::slice::from_ref(r2), true, budget)
        .await
        .unwrap();
    let (p4, r4) = &patients[4];
    p4.grant(r4, other, budget).await.unwrap();
    // Patient 1's TD_i in storage is damaged: it is handed over as absent, not dropped.
    let damaged = patients[1].1.record.ciphertextHash;
    w.store
        .put(&Key::record_meta(&damaged.0), b"not json".to_vec())
        .await
        .unwrap();
    // Patient 0's ciphertext is replaced by an object one byte larger than a sealed record can
    // be: the host refuses it by its size and hands the record over without it.
    let oversized = patients[0].1.record.ciphertextHash;
    w.store
        .put(
            &Key::record(&oversized.0),
            vec![0; medshare_parties::tee::MAX_CIPHERTEXT_BYTES + 1],
        )
        .await
        .unwrap();

    let report = w.tee.run_job(job, &|_, _| {}).await.unwrap();
    assert!(report.model_ok);
    assert_eq!(report.records_seen, 3);
    assert_eq!(
        report.training_failure.as_deref(),
        Some("the stub trains nothing")
    );
    assert_eq!(w.admin.job_status(job).await.unwrap(), JobStatus::Deployed);

    let seen = w.seen.lock().unwrap().clone();
    let hashes: Vec<B256> = seen.iter().map(|i| i.ciphertext_hash).collect();
    let expected: BTreeSet<B256> = patients[..3]
        .iter()
        .map(|(_, r)| r.record.ciphertextHash)
        .collect();
    assert_eq!(hashes.len(), 3, "each once: {hashes:?}");
    assert_eq!(hashes.iter().copied().collect::<BTreeSet<_>>(), expected);
    for input in &seen {
        let (_, owned): &(_, OwnedRecord) = patients
            .iter()
            .find(|(_, r)| r.record.ciphertextHash == input.ciphertext_hash)
            .unwrap();
        assert_eq!(input.owner, owned.record.owner);
        assert_eq!(
            input.commitment,
            medshare_crypto::eip712::record_commitment(&owned.record)
        );
        assert_eq!(input.pad.as_ref(), Some(&owned.pad), "the released pad");
        assert_eq!(
            input.ciphertext.is_none(),
            input.ciphertext_hash == oversized
        );
        if input.ciphertext_hash == damaged {
            assert!(input.record.is_none() && input.signature.is_none());
        } else {
            assert_eq!(input.record.as_ref(), Some(&owned.record));
            assert_eq!(input.signature.as_ref(), Some(&owned.signature.to_bytes()));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_runs_only_approved_jobs_and_says_why() {
    let w = World::new().await;
    let (spec, requirement) = w.job(4);
    let pending = w.demander.submit(&spec, &requirement).await.unwrap();
    let err = w.tee.run_job(pending, &|_, _| {}).await.unwrap_err();
    assert!(
        matches!(err, Error::JobNotRunnable { job, status: JobStatus::Pending } if job == pending),
        "{err}"
    );
    let unknown = JobId(B256::repeat_byte(7));
    let err = w.tee.run_job(unknown, &|_, _| {}).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::JobNotRunnable {
                status: JobStatus::Unknown,
                ..
            }
        ),
        "{err}"
    );
    let err = w.tee.job_context(unknown).await.unwrap_err();
    assert!(
        matches!(err, Error::NoSubmission(j) if j == unknown),
        "{err}"
    );
    assert!(w.seen.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demander_submission_that_does_not_fit_is_refused_with_its_reason() {
    let w = World::new().await;
    let (mut spec, requirement) = w.job(5);
    spec.test_fraction = 0.9;
    let err = w.demander.submit(&spec, &requirement).await.unwrap_err();
    assert!(matches!(err, Error::InvalidSpec(_)), "{err}");

    let (mut spec, requirement) = w.job(6);
    spec.features.push("area_worst".into());
    let err = w.demander.submit(&spec, &requirement).await.unwrap_err();
    assert!(
        matches!(&err, Error::FeatureNotRequested(f) if f == "area_worst"),
        "{err}"
    );

    let (spec, mut requirement) = w.job(7);
    requirement.label = "radius_worst".into();
    let err = w.demander.submit(&spec, &requirement).await.unwrap_err();
    assert!(matches!(err, Error::LabelMismatch { .. }), "{err}");

    let (mut spec, requirement) = w.job(8);
    spec.privacy = medshare_training::Privacy::new(0.0005, 1e-5);
    let err = w.demander.submit(&spec, &requirement).await.unwrap_err();
    assert!(
        matches!(err, Error::UnrepresentableEpsilon(e) if e == 0.0005),
        "{err}"
    );

    // The requirement is checked against the data type's schema: a feature it does not have
    // (the spec asks for it too, so only the schema can refuse it), and a data type with no
    // schema at all.
    let (mut spec, mut requirement) = w.job(10);
    spec.features.push("height_cm".into());
    requirement.features.push("height_cm".into());
    let err = w.demander.submit(&spec, &requirement).await.unwrap_err();
    assert!(
        matches!(&err, Error::Records(e) if e.to_string().contains("\"height_cm\" is not in")),
        "{err}"
    );
    let (spec, mut requirement) = w.job(11);
    requirement.data_type = "no-such-type".into();
    let err = w.demander.submit(&spec, &requirement).await.unwrap_err();
    assert!(
        matches!(&err, Error::NoSchema(t) if t == "no-such-type"),
        "{err}"
    );

    // Nothing was submitted.
    assert!(w.admin.submissions().await.unwrap().is_empty());
    // And there is no result to fetch for a job that never ran.
    let (spec, requirement) = w.job(9);
    let job = w.demander.submit(&spec, &requirement).await.unwrap();
    let err = w.demander.fetch_result(job).await.unwrap_err();
    assert!(matches!(err, Error::NoResult(j) if j == job), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_refuses_an_enclave_sealed_for_another_deployment_or_chain() {
    let w = World::new().await;
    let anchors = setup::trust_anchors(&w.admin).await.unwrap();
    let mut elsewhere = *w.admin.deployment();
    elsewhere.registration = Address::repeat_byte(5);
    let err = TeeHost::new(
        Box::new(Stub::new(anchors.clone(), Seen::default())),
        w.ledger.clone(),
        Some(elsewhere),
        w.store.clone(),
    )
    .await
    .err()
    .expect("refused");
    assert!(
        matches!(err, Error::WrongDeployment { given, .. } if given == elsewhere.registration),
        "{err}"
    );

    let mut other_chain = anchors;
    other_chain.chainId += 1;
    let err = TeeHost::new(
        Box::new(Stub::new(other_chain, Seen::default())),
        w.ledger.clone(),
        None,
        w.store.clone(),
    )
    .await
    .err()
    .expect("refused");
    assert!(matches!(err, Error::WrongChain { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patient_shares_no_key_with_a_tee_that_is_not_active() {
    let w = World::new().await;
    w.admin.revoke_tee(w.tee_address()).await.unwrap();
    let patient = setup::patient(&w.admin, w.store.clone()).await.unwrap();
    let dt = w.schema.data_type().unwrap();
    let err = patient
        .upload(&dt, &w.rows(1), w.tee_address(), &|_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::TeeNotActive(a) if a == w.tee_address()),
        "{err}"
    );
    let (stranger, _) = w.stranger().await;
    let err = patient
        .upload(&dt, &w.rows(1), stranger.address(), &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TeeNotActive(_)), "{err}");
}

/// A store that takes `good` batches, then refuses every write, counting the batches offered.
#[derive(Debug)]
struct FailsAfter {
    inner: std::sync::Arc<dyn medshare_storage::Store>,
    good: usize,
    offered: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl medshare_storage::Store for FailsAfter {
    async fn put(&self, key: &Key, bytes: Vec<u8>) -> medshare_storage::Result<()> {
        self.put_many(vec![(key.clone(), bytes)]).await
    }

    async fn put_many(&self, objects: Vec<(Key, Vec<u8>)>) -> medshare_storage::Result<()> {
        let n = self
            .offered
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n >= self.good {
            return Err(medshare_storage::Error::Unavailable {
                store: self.describe(),
                reason: "refused by the test".into(),
            });
        }
        self.inner.put_many(objects).await
    }

    async fn get_at_most(&self, key: &Key, max: u64) -> medshare_storage::Result<Vec<u8>> {
        self.inner.get_at_most(key, max).await
    }

    fn describe(&self) -> String {
        format!("failing after {} batches", self.good)
    }
}

/// The upload seals the next batch while one is stored and registered: when a batch fails,
/// the upload stops there, and the batch sealed meanwhile is neither stored nor registered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_stops_at_the_batch_that_fails_and_sends_nothing_after_it() {
    use medshare_parties::user::UPLOAD_BATCH;
    let w = World::new().await;
    let store = std::sync::Arc::new(FailsAfter {
        inner: w.store.clone(),
        good: 1,
        offered: Default::default(),
    });
    let patient = setup::patient(&w.admin, store.clone()).await.unwrap();
    let dt = w.schema.data_type().unwrap();
    let rows = w.rows(3 * UPLOAD_BATCH + 7);
    let done = std::sync::Mutex::new(Vec::new());
    let err = patient
        .upload(&dt, &rows, w.tee_address(), &|n| {
            done.lock().unwrap().push(n)
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Storage(_)), "{err}");
    // The first batch was stored and registered; the second failed; none after it was offered.
    assert_eq!(*done.lock().unwrap(), vec![UPLOAD_BATCH]);
    assert_eq!(store.offered.load(std::sync::atomic::Ordering::SeqCst), 2);
    // Every record the patient registered is the first batch's, each stored before it was.
    let registered = w.admin.records_of_owner(patient.address()).await.unwrap();
    assert_eq!(registered.len(), UPLOAD_BATCH);
}
