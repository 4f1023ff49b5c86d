//! End to end: the sharing flow of §5.6 with every party, the enclave behind its ecall
//! boundary, the embedded chain and a real store. Each test fails if the rule it names is
//! removed from the code (the enclave's, the runtime's, the contracts' or the demander's).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use alloy_primitives::{Address, U256};
use medshare_chain::{JobStatus, Medshare, Wallet};
use medshare_crypto::{Identity, eip712::Domain};
use medshare_enclave::Enclave;
use medshare_enclave_api::simulated_measurement;
use medshare_parties::{
    Error as PartyError,
    demander::Demander,
    meta::ResultMeta,
    reviewer::Reviewer,
    tee::{JobReport, TeeHost},
    user::{OwnedRecord, Patient},
};
use medshare_primitives::JobId;
use medshare_records::{DataRequirement, Schema};
use medshare_storage::{Key, LocalStore, ObjectStore, S3Config, S3Store};
use medshare_testkit::Backend;
use medshare_training::{ModelKind, ModelSpec};
use std::sync::Arc;

const WDBC: &str = include_str!("../data/wdbc/wdbc.csv");

/// Every party of one deployment, with `n` patients of mixed diagnoses, each one record.
struct Flow {
    backend: Backend,
    admin: Medshare,
    store: Arc<dyn ObjectStore>,
    tee: TeeHost,
    demander: Demander,
    reviewer: Reviewer,
    patients: Vec<(Patient, OwnedRecord)>,
    schema: Schema,
    dir: tempfile::TempDir,
}

async fn wallet(b: &Backend, id: &Identity) -> Wallet {
    b.wallet(id.signer().clone()).await.unwrap()
}

impl Flow {
    async fn new(n: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn ObjectStore> =
            Arc::new(LocalStore::open(dir.path().join("store")).unwrap());
        Self::with_store(n, store, dir).await
    }

    async fn with_store(n: usize, store: Arc<dyn ObjectStore>, dir: tempfile::TempDir) -> Self {
        let backend = Backend::embedded().await.unwrap();
        let admin = Medshare::deploy(wallet(&backend, &Identity::random()).await)
            .await
            .unwrap();
        admin
            .set_measurement_allowed(simulated_measurement(), true)
            .await
            .unwrap();
        admin.set_accept_simulated(true).await.unwrap();
        let enclave = Enclave::simulated(&dir.path().join("tee.sealed"), &[7u8; 32]).unwrap();
        let tee = TeeHost::new(
            Box::new(enclave),
            backend.ledger(),
            *admin.deployment(),
            store.clone(),
        )
        .await
        .unwrap();
        tee.register().await.unwrap();

        let demander_id = Identity::random();
        let demander_chain = admin.as_party(wallet(&backend, &demander_id).await);
        let demander = Demander::new(demander_id, demander_chain, store.clone());
        demander.register().await.unwrap();
        let reviewer_id = Identity::random();
        admin
            .appoint_reviewer(reviewer_id.public_key_uncompressed())
            .await
            .unwrap();
        let reviewer = Reviewer::new(admin.as_party(wallet(&backend, &reviewer_id).await));

        let schema = Schema::wdbc();
        let all = medshare_records::csv::read(&schema, WDBC).unwrap();
        // Every 11th patient: both diagnoses, in the data set's proportions.
        let rows: Vec<_> = all.into_iter().step_by(11).take(n).collect();
        let mut patients = Vec::new();
        for row in rows {
            let id = Identity::random();
            let chain = admin.as_party(wallet(&backend, &id).await);
            let patient = Patient::new(id, chain, store.clone());
            patient.register().await.unwrap();
            let data_type = schema.data_type().unwrap();
            let mut owned = patient
                .upload(
                    &data_type,
                    std::slice::from_ref(&row.record),
                    tee.address(),
                    &|_| {},
                )
                .await
                .unwrap();
            patients.push((patient, owned.pop().unwrap()));
        }
        Self {
            backend,
            admin,
            store,
            tee,
            demander,
            reviewer,
            patients,
            schema,
            dir,
        }
    }

    /// A submitted logistic regression (distinct per `seed`), approved when `approve`.
    async fn job(&self, seed: u64, approve: bool) -> JobId {
        let features: Vec<String> = [
            "radius_mean",
            "texture_mean",
            "concave_points_worst",
            "area_worst",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let spec = ModelSpec {
            kind: ModelKind::LogisticRegression {
                l2: 1.0,
                max_iterations: 200,
                tolerance: 1e-6,
            },
            features: features.clone(),
            label: "diagnosis".into(),
            test_fraction: 0.25,
            seed,
        };
        let requirement = DataRequirement {
            data_type: self.schema.name.clone(),
            features,
            label: "diagnosis".into(),
            min_cohort: 8,
        };
        let job = self.demander.submit(&spec, &requirement).await.unwrap();
        if approve {
            self.reviewer.approve(job).await.unwrap();
        }
        job
    }

    /// Every patient but `except` grants `job`.
    async fn grant_all(&self, job: JobId, except: &[usize]) {
        for (i, (p, r)) in self.patients.iter().enumerate() {
            if !except.contains(&i) {
                p.grant(r, job).await.unwrap();
            }
        }
    }

    async fn run(&self, job: JobId) -> JobReport {
        self.tee.run_job(job, &|_, _| {}).await.unwrap()
    }

    fn outcome(report: &JobReport, record: &OwnedRecord) -> medshare_enclave_api::RecordOutcome {
        report
            .outcomes
            .iter()
            .find(|o| o.ciphertext_hash == record.record.ciphertextHash)
            .cloned()
            .expect("every registered record has an outcome")
    }

    /// How many audit entries `patient` has for `job`.
    async fn audited(&self, patient: usize, job: JobId) -> usize {
        let trail = self.patients[patient].0.audit_trail().await.unwrap();
        trail.iter().filter(|r| r.job == job.0).count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flow_trains_on_consented_records_and_the_demander_decrypts_the_result() {
    let f = Flow::new(12).await;
    let job = f.job(1, true).await;
    f.grant_all(job, &[]).await;
    let report = f.run(job).await;
    assert!(report.model_ok);
    assert_eq!(report.records_used, 12);
    assert_eq!(f.admin.job_status(job).await.unwrap(), JobStatus::Completed);
    let output = f.demander.fetch_result(job).await.unwrap();
    assert_eq!(output.records_used, 12);
    assert_eq!(output.train_size + output.test_size, 12);
    // Every patient sees the use of its record.
    for i in 0..12 {
        assert_eq!(f.audited(i, job).await, 1, "patient {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_without_consent_is_never_decrypted() {
    let f = Flow::new(12).await;
    // Patient 0 consented to another job, so its pad r_C·PK_C is public: only the consent check
    // stands between the enclave and its data key for this job.
    let other = f.job(2, true).await;
    f.patients[0]
        .0
        .grant(&f.patients[0].1, other)
        .await
        .unwrap();
    let job = f.job(3, true).await;
    f.grant_all(job, &[0]).await;
    let report = f.run(job).await;
    assert_eq!(report.records_used, 11);
    let o = Flow::outcome(&report, &f.patients[0].1);
    assert!(!o.used);
    assert_eq!(
        o.hash_ok, None,
        "an unconsented record is not even verified"
    );
    assert_eq!(f.audited(0, job).await, 0);
    assert_eq!(f.audited(1, job).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_enclave_itself_refuses_an_unconsented_record_the_host_hands_it() {
    // The runtime does not even fetch an unconsented record; this checks the enclave's own gate,
    // with a host that hands over everything: ciphertext, TD_i, US_i and a released pad.
    let f = Flow::new(10).await;
    let other = f.job(12, true).await;
    let (patient, owned) = &f.patients[0];
    patient.grant(owned, other).await.unwrap();
    let job = f.job(13, true).await;
    let ctx = f.tee.job_context(job).await.unwrap();
    // The same enclave (same sealed key, same platform), outside the runtime.
    let mut enclave = Enclave::simulated(&f.dir.path().join("tee.sealed"), &[7u8; 32]).unwrap();
    use medshare_enclave_api::{Request, Response, call};
    let Response::ModelVerified {
        hash_ok: true,
        signature_ok: true,
        ..
    } = call(&mut enclave, &Request::BeginJob(Box::new(ctx))).unwrap()
    else {
        panic!("the model verifies");
    };
    let input = |record: &OwnedRecord, ciphertext: Vec<u8>, authorized: bool| {
        medshare_enclave_api::RecordInput {
            ciphertext_hash: record.record.ciphertextHash,
            owner: record.record.owner,
            record: Some(record.record.clone()),
            signature: Some(record.signature.to_bytes()),
            ciphertext: Some(ciphertext.into()),
            pad: Some(record.pad.clone()),
            live: true,
            authorized,
        }
    };
    let ciphertext = f
        .store
        .get(&Key::record(&owned.record.ciphertextHash.0))
        .await
        .unwrap();
    let refused = input(owned, ciphertext, false);
    let Response::RecordsChecked { outcomes, tx } = call(
        &mut enclave,
        &Request::AddRecords {
            records: vec![refused],
        },
    )
    .unwrap() else {
        panic!("records checked");
    };
    assert!(!outcomes[0].used);
    assert!(
        outcomes[0].excluded.as_deref().unwrap().contains("grant"),
        "{:?}",
        outcomes[0]
    );
    assert!(
        tx.is_none(),
        "nothing is verified or posted for an unconsented record"
    );
    // Control: a consented record handed over the same way is used.
    let (p1, r1) = &f.patients[1];
    p1.grant(r1, job).await.unwrap();
    let ciphertext = f
        .store
        .get(&Key::record(&r1.record.ciphertextHash.0))
        .await
        .unwrap();
    let Response::RecordsChecked { outcomes, .. } = call(
        &mut enclave,
        &Request::AddRecords {
            records: vec![input(r1, ciphertext, true)],
        },
    )
    .unwrap() else {
        panic!("records checked");
    };
    assert!(outcomes[0].used, "{:?}", outcomes[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_grant_excludes_the_record_from_the_next_job() {
    let f = Flow::new(12).await;
    let first = f.job(4, true).await;
    f.grant_all(first, &[]).await;
    assert_eq!(f.run(first).await.records_used, 12);
    // Patient 3 consents to the next job, then withdraws before it runs.
    let next = f.job(5, true).await;
    f.grant_all(next, &[]).await;
    f.patients[3]
        .0
        .revoke(&f.patients[3].1, next)
        .await
        .unwrap();
    let report = f.run(next).await;
    assert_eq!(report.records_used, 11);
    assert!(!Flow::outcome(&report, &f.patients[3].1).used);
    assert_eq!(f.audited(3, first).await, 1);
    assert_eq!(f.audited(3, next).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_ciphertext_is_detected_excluded_and_audited_and_the_job_completes() {
    let f = Flow::new(12).await;
    let job = f.job(6, true).await;
    f.grant_all(job, &[]).await;
    // The storage operator flips one byte of patient 5's ciphertext.
    let key = Key::record(&f.patients[5].1.record.ciphertextHash.0);
    let mut bytes = f.store.get(&key).await.unwrap();
    bytes[40] ^= 0x01;
    f.store.put(&key, bytes).await.unwrap();
    let report = f.run(job).await;
    assert_eq!(report.records_used, 11);
    let o = Flow::outcome(&report, &f.patients[5].1);
    assert_eq!(o.hash_ok, Some(false));
    assert!(!o.used);
    // The owner sees it in the audit trail, flagged.
    let trail = f.patients[5].0.audit_trail().await.unwrap();
    let entry = trail.iter().find(|r| r.job == job.0).expect("audited");
    assert!(!entry.record_hash_ok);
    assert!(entry.model_hash_ok);
    assert_eq!(f.admin.job_status(job).await.unwrap(), JobStatus::Completed);
    f.demander.fetch_result(job).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_below_its_minimum_cohort_is_refused_and_runs_once_enough_consent() {
    let f = Flow::new(10).await;
    let job = f.job(14, true).await;
    // Five consents; the requirement asks for eight.
    f.grant_all(job, &[5, 6, 7, 8, 9]).await;
    let err = f.tee.run_job(job, &|_, _| {}).await.unwrap_err();
    assert!(err.to_string().contains("minimum cohort"), "{err}");
    assert_eq!(f.admin.job_status(job).await.unwrap(), JobStatus::Deployed);
    assert!(f.admin.result_of(job).await.unwrap().is_none());
    for i in 5..10 {
        f.patients[i].0.grant(&f.patients[i].1, job).await.unwrap();
    }
    let report = f.run(job).await;
    assert_eq!(report.records_used, 10);
    f.demander.fetch_result(job).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unapproved_model_never_runs() {
    let f = Flow::new(10).await;
    let job = f.job(7, false).await;
    let err = f.tee.run_job(job, &|_, _| {}).await.unwrap_err();
    assert!(err.to_string().contains("Pending"), "{err}");
    assert_eq!(f.admin.job_status(job).await.unwrap(), JobStatus::Pending);
    // A rejected one neither.
    f.reviewer.reject(job, "not reviewed").await.unwrap();
    assert!(f.tee.run_job(job, &|_, _| {}).await.is_err());
    for i in 0..10 {
        assert_eq!(f.audited(i, job).await, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tee_without_accepted_evidence_never_receives_key_material() {
    let f = Flow::new(8).await;
    // Governance stops accepting simulated evidence: the TEE is no longer active.
    f.admin.set_accept_simulated(false).await.unwrap();
    let id = Identity::random();
    let chain = f.admin.as_party(wallet(&f.backend, &id).await);
    let newcomer = Patient::new(id, chain, f.store.clone());
    newcomer.register().await.unwrap();
    let row = medshare_records::csv::read(&f.schema, WDBC)
        .unwrap()
        .remove(0);
    let err = newcomer
        .upload(
            &f.schema.data_type().unwrap(),
            &[row.record],
            f.tee.address(),
            &|_| {},
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, PartyError::TeeNotActive(a) if a == f.tee.address()),
        "{err}"
    );
    // Nothing was stored or registered for that patient.
    assert!(
        f.admin
            .records_of_owner(newcomer.address())
            .await
            .unwrap()
            .is_empty()
    );
    // Nor does a TEE that never registered get anything.
    let err = newcomer
        .upload(
            &f.schema.data_type().unwrap(),
            &[],
            Address::repeat_byte(9),
            &|_| {},
        )
        .await
        .unwrap_err();
    assert!(matches!(err, PartyError::TeeNotActive(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demander_rejects_a_result_whose_hash_or_signature_is_wrong() {
    // Hash: the stored result is altered.
    let f = Flow::new(10).await;
    let job = f.job(8, true).await;
    f.grant_all(job, &[]).await;
    let hash = f.run(job).await.result_hash.unwrap();
    let key = Key::result(&hash.0);
    let mut bytes = f.store.get(&key).await.unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x80;
    f.store.put(&key, bytes).await.unwrap();
    let err = f.demander.fetch_result(job).await.unwrap_err();
    assert!(matches!(err, PartyError::ResultRejected { .. }), "{err}");
    assert!(err.to_string().contains("hash"), "{err}");
    assert_eq!(
        f.admin.job_status(job).await.unwrap(),
        JobStatus::ResultDisputed
    );

    // Signature: SMRT_j replaced by someone else's signature over the same statement.
    let job = f.job(9, true).await;
    f.grant_all(job, &[]).await;
    let hash = f.run(job).await.result_hash.unwrap();
    let meta_key = Key::result_meta(&hash.0);
    let mut meta: ResultMeta =
        serde_json::from_slice(&f.store.get(&meta_key).await.unwrap()).unwrap();
    let forger = Identity::random();
    let domain = Domain::new(f.admin.chain_id(), f.admin.deployment().model);
    let statement = medshare_crypto::eip712::TrainingResult {
        jobId: job.0,
        resultHash: hash,
    };
    meta.signature = forger.sign_typed(&domain, &statement).unwrap().to_bytes();
    f.store
        .put(&meta_key, serde_json::to_vec(&meta).unwrap())
        .await
        .unwrap();
    let err = f.demander.fetch_result(job).await.unwrap_err();
    assert!(err.to_string().contains("SMRT_j"), "{err}");
    assert_eq!(
        f.admin.job_status(job).await.unwrap(),
        JobStatus::ResultDisputed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_consent_signature_is_refused() {
    let f = Flow::new(10).await;
    let job = f.job(10, true).await;
    f.grant_all(job, &[2]).await;
    // Patient 2 signs a consent off chain; someone else relays it.
    let (patient, owned) = &f.patients[2];
    let deadline = u64::MAX / 2;
    let signature = patient.signed_consent(owned, job, deadline).await.unwrap();
    let deadline = U256::from(deadline);
    let relayer = &f.admin;
    relayer
        .grant_with_signature(&owned.record, job, owned.pad.clone(), deadline, &signature)
        .await
        .unwrap();
    // The patient withdraws; the relayer replays the signature to restore the grant.
    patient.revoke(owned, job).await.unwrap();
    let err = relayer
        .grant_with_signature(&owned.record, job, owned.pad.clone(), deadline, &signature)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("BadConsentSignature"), "{err}");
    let report = f.run(job).await;
    assert_eq!(report.records_used, 9);
    assert!(!Flow::outcome(&report, owned).used);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flow_runs_on_an_s3_store() {
    let Ok(bucket) = std::env::var("MEDSHARE_TEST_S3_BUCKET") else {
        panic!(
            "MEDSHARE_TEST_S3_BUCKET is not set: run scripts/test, which starts Garage with scripts/garage-up"
        );
    };
    let store: Arc<dyn ObjectStore> =
        Arc::new(S3Store::new(S3Config::from_env(&bucket).unwrap()).unwrap());
    let f = Flow::with_store(10, store, tempfile::tempdir().unwrap()).await;
    let job = f.job(11, true).await;
    f.grant_all(job, &[]).await;
    let report = f.run(job).await;
    assert_eq!(report.records_used, 10);
    let output = f.demander.fetch_result(job).await.unwrap();
    assert_eq!(output.records_used, 10);
}
