//! Model: submission, review, the TEE's verifications and results, disputes.

use crate::support::{refused, world};
use alloy_primitives::{B256, Bytes, keccak256};
use medshare_chain::{JobStatus, RecordVerification};
use medshare_primitives::Role;
use medshare_testkit::Backend;

pub(crate) async fn only_demanders_submit_models(b: &Backend) {
    let w = world(b).await;
    let (submission, signature) = w.submission(b"model", b"requirement").unwrap();
    for party in [&w.user, &w.reviewer, &w.tee, &w.admin] {
        refused(
            party
                .chain
                .submit_model(
                    &submission,
                    Bytes::from_static(b"model"),
                    Bytes::from_static(b"requirement"),
                    &signature,
                )
                .await,
            "NotDemander",
        );
    }
    let job = w
        .demander
        .chain
        .submit_model(
            &submission,
            Bytes::from_static(b"model"),
            Bytes::from_static(b"requirement"),
            &signature,
        )
        .await
        .unwrap();
    assert_eq!(
        w.demander.chain.job_status(job).await.unwrap(),
        JobStatus::Pending
    );
    assert_eq!(
        w.demander.chain.demander_of(job).await.unwrap(),
        w.demander.address()
    );
    let logged = w
        .demander
        .chain
        .submission_of(job)
        .await
        .unwrap()
        .expect("the submission is logged");
    assert_eq!(logged.event.model.as_ref(), b"model");
    assert_eq!(logged.event.signature, signature.to_bytes());
    // The same submission twice is the same job.
    refused(
        w.demander
            .chain
            .submit_model(
                &submission,
                Bytes::from_static(b"model"),
                Bytes::from_static(b"requirement"),
                &signature,
            )
            .await,
        "JobExists",
    );
}

pub(crate) async fn only_reviewers_review(b: &Backend) {
    let w = world(b).await;
    let job = w.job("review").await.unwrap();
    // The demander may not approve its own model; nor may anyone else who is not a reviewer.
    for party in [&w.demander, &w.user, &w.tee, &w.admin] {
        refused(party.chain.approve_model(job).await, "NotReviewer");
        refused(party.chain.reject_model(job, "no").await, "NotReviewer");
    }
    // A user who registered cannot make itself a reviewer either (covered in registration).
    assert_eq!(
        w.user.chain.role_of(w.user.address()).await.unwrap(),
        Some(Role::User)
    );
    w.reviewer
        .chain
        .reject_model(job, "uses identifying features")
        .await
        .unwrap();
    assert_eq!(
        w.reviewer.chain.job_status(job).await.unwrap(),
        JobStatus::Rejected
    );
    // Decisions are final.
    refused(w.reviewer.chain.approve_model(job).await, "WrongJobStatus");
    refused(
        w.reviewer
            .chain
            .approve_model(B256::repeat_byte(9).into())
            .await,
        "WrongJobStatus",
    );
}

pub(crate) async fn an_unapproved_model_is_never_deployed(b: &Backend) {
    let w = world(b).await;
    let pending = w.job("pending").await.unwrap();
    let view = w.view_block().await.unwrap();
    let sig = w.tee_verification(pending, B256::ZERO, view).unwrap();
    refused(
        w.tee
            .chain
            .post_model_verification(pending, true, true, view, &sig)
            .await,
        "WrongJobStatus",
    );
    let rejected = w.job("rejected").await.unwrap();
    w.reviewer.chain.reject_model(rejected, "no").await.unwrap();
    refused(
        w.tee
            .chain
            .post_model_verification(rejected, true, true, view, &sig)
            .await,
        "WrongJobStatus",
    );
    // Nor does it get a result.
    refused(w.post_result(pending, b"result").await, "WrongJobStatus");
    let approved = w.approved_job("approved").await.unwrap();
    w.tee
        .chain
        .post_model_verification(approved, true, true, view, &sig)
        .await
        .unwrap();
    assert_eq!(
        w.tee.chain.job_status(approved).await.unwrap(),
        JobStatus::Deployed
    );
    // Deployed once.
    refused(
        w.tee
            .chain
            .post_model_verification(approved, true, true, view, &sig)
            .await,
        "WrongJobStatus",
    );
}

pub(crate) async fn only_active_tees_post_verifications_and_results(b: &Backend) {
    let w = world(b).await;
    let approved = w.approved_job("a").await.unwrap();
    let deployed = w.deployed_job("d").await.unwrap();
    let view = w.view_block().await.unwrap();
    let sig = w.tee_verification(deployed, B256::ZERO, view).unwrap();
    let verification = RecordVerification {
        ciphertext_hash: B256::repeat_byte(1),
        hash_ok: true,
        signature_ok: true,
        tee_signature: sig,
    };
    for party in [&w.demander, &w.user, &w.reviewer, &w.admin] {
        refused(
            party
                .chain
                .post_model_verification(approved, true, true, view, &sig)
                .await,
            "NotActiveTee",
        );
        refused(
            party
                .chain
                .post_record_verifications(deployed, view, std::slice::from_ref(&verification))
                .await,
            "NotActiveTee",
        );
        refused(
            party
                .chain
                .post_result(deployed, keccak256(b"r"), view, 0)
                .await,
            "NotActiveTee",
        );
    }
    w.tee
        .chain
        .post_record_verifications(deployed, view, &[verification])
        .await
        .unwrap();
    w.post_result(deployed, b"result").await.unwrap();
    assert_eq!(
        w.tee.chain.job_status(deployed).await.unwrap(),
        JobStatus::Completed
    );
}

pub(crate) async fn a_failed_model_check_stops_the_job(b: &Backend) {
    let w = world(b).await;
    let job = w.approved_job("bad hash").await.unwrap();
    let view = w.view_block().await.unwrap();
    let sig = w.tee_verification(job, B256::ZERO, view).unwrap();
    w.tee
        .chain
        .post_model_verification(job, false, true, view, &sig)
        .await
        .unwrap();
    assert_eq!(
        w.tee.chain.job_status(job).await.unwrap(),
        JobStatus::ModelInvalid
    );
    refused(w.post_result(job, b"result").await, "WrongJobStatus");
    let verification = RecordVerification {
        ciphertext_hash: B256::repeat_byte(1),
        hash_ok: true,
        signature_ok: true,
        tee_signature: sig,
    };
    refused(
        w.tee
            .chain
            .post_record_verifications(job, view, std::slice::from_ref(&verification))
            .await,
        "WrongJobStatus",
    );
    // Batches must be consistent.
    let deployed = w.deployed_job("batch").await.unwrap();
    refused(
        w.tee
            .chain
            .post_record_verifications(deployed, view, &[])
            .await,
        "BadBatch",
    );
    let call = medshare_chain::Model::postRecordVerificationsCall {
        jobId: deployed.0,
        viewBlock: view.number,
        viewHash: view.hash,
        ciphertextHashes: vec![B256::repeat_byte(1)],
        hashOk: vec![true, true],
        signatureOk: vec![true],
        teeSignatures: vec![sig.to_bytes()],
    };
    refused(
        w.tee
            .chain
            .send_many(vec![
                w.tee.chain.call(medshare_chain::Contract::Model, &call),
            ])
            .await,
        "BadBatch",
    );
}

pub(crate) async fn a_result_is_posted_once_and_reported_only_by_its_demander(b: &Backend) {
    let w = world(b).await;
    let job = w.deployed_job("result").await.unwrap();
    refused(
        w.demander
            .chain
            .report_result_failure(job, "too early")
            .await,
        "WrongJobStatus",
    );
    let (sealed, _, _) = w.post_result(job, b"first").await.unwrap();
    refused(w.post_result(job, b"second").await, "WrongJobStatus");
    let posted = w
        .demander
        .chain
        .result_of(job)
        .await
        .unwrap()
        .expect("a result");
    assert_eq!(
        posted.event.resultHash,
        medshare_crypto::ciphertext_hash(&sealed).0
    );
    assert_eq!(posted.event.tee, w.tee.address());

    // Another demander, the TEE or the reviewer may not dispute someone else's job.
    let other = w.new_party(b).await.unwrap();
    other
        .chain
        .register(Role::Demander, other.identity.public_key_uncompressed())
        .await
        .unwrap();
    for party in [&other, &w.tee, &w.reviewer, &w.user] {
        refused(
            party.chain.report_result_failure(job, "bad").await,
            "NotJobDemander",
        );
    }
    w.demander
        .chain
        .report_result_failure(job, "signature does not verify")
        .await
        .unwrap();
    assert_eq!(
        w.demander.chain.job_status(job).await.unwrap(),
        JobStatus::ResultDisputed
    );
    refused(
        w.demander.chain.report_result_failure(job, "again").await,
        "WrongJobStatus",
    );
}

/// Every TEE statement names the block its view came from; the contracts accept it only while
/// that block is one of the 256 most recent, with its true hash.
pub(crate) async fn a_statement_on_a_stale_or_forged_view_is_refused(b: &Backend) {
    let w = world(b).await;
    let job = w.approved_job("stale").await.unwrap();
    let view = w.view_block().await.unwrap();
    let forged = medshare_chain::ViewBlock {
        number: view.number,
        hash: keccak256("another chain's block"),
    };
    let sig = w.tee_verification(job, B256::ZERO, forged).unwrap();
    refused(
        w.tee
            .chain
            .post_model_verification(job, true, true, forged, &sig)
            .await,
        "StaleView",
    );
    // The current block's hash is not known yet (and a future one never is).
    let future = medshare_chain::ViewBlock {
        number: view.number + 5,
        hash: view.hash,
    };
    refused(
        w.tee
            .chain
            .post_model_verification(job, true, true, future, &sig)
            .await,
        "StaleView",
    );
    // A zero hash never matches, even where BLOCKHASH answers zero.
    let zero = medshare_chain::ViewBlock {
        number: view.number + 1000,
        hash: B256::ZERO,
    };
    refused(
        w.tee
            .chain
            .post_model_verification(job, true, true, zero, &sig)
            .await,
        "StaleView",
    );
    // The genuine recent block goes through.
    let sig = w.tee_verification(job, B256::ZERO, view).unwrap();
    w.tee
        .chain
        .post_model_verification(job, true, true, view, &sig)
        .await
        .unwrap();
    refused(
        w.tee
            .chain
            .post_result(job, keccak256("r"), forged, 0)
            .await,
        "StaleView",
    );
    refused(
        w.tee
            .chain
            .record_use(forged, w.audit_entries(job, b"m", b"r", &[]))
            .await,
        "StaleView",
    );
}

/// The approving reviewer is kept on chain (the enclave checks it is still appointed).
pub(crate) async fn the_approving_reviewer_is_recorded(b: &Backend) {
    let w = world(b).await;
    let job = w.job("who").await.unwrap();
    assert_eq!(
        w.admin.chain.approver_of(job).await.unwrap(),
        alloy_primitives::Address::ZERO
    );
    w.reviewer.chain.approve_model(job).await.unwrap();
    assert_eq!(
        w.admin.chain.approver_of(job).await.unwrap(),
        w.reviewer.address()
    );
}

/// Governance owns each data type's rules; a submission below the cohort floor, or asking for
/// more privacy loss than the rules allow, is refused at submission.
pub(crate) async fn a_submission_below_the_floor_or_beyond_the_rules_is_refused(b: &Backend) {
    use medshare_chain::DataTypeRules;
    use medshare_contracts::EPSILON_INFINITE;
    let w = world(b).await;
    let dt = w.data_type.id();
    let model = |tag: &str| format!("{{\"tag\":\"{tag}\"}}").into_bytes();
    let req = b"{}";
    // The default floor is 50, and ε = ∞ is not allowed.
    let rules = w.admin.chain.data_type_rules(dt).await.unwrap();
    assert_eq!((rules.min_cohort, rules.allow_non_private), (50, false));
    refused(
        w.submit_model_with(&model("small"), req, 10, 1000).await,
        "CohortBelowFloor",
    );
    refused(
        w.submit_model_with(&model("inf"), req, 50, EPSILON_INFINITE)
            .await,
        "NonPrivateNotAllowed",
    );
    refused(
        w.submit_model_with(&model("zero"), req, 50, 0).await,
        "ZeroEpsilon",
    );
    w.submit_model_with(&model("ok"), req, 50, 1000)
        .await
        .unwrap();
    // Only governance sets the rules.
    let tighter = DataTypeRules {
        min_cohort: 100,
        max_epsilon_milli: 2_000,
        allow_non_private: false,
        schema_hash: B256::ZERO,
    };
    for party in [&w.user, &w.demander, &w.reviewer, &w.tee] {
        refused(
            party.chain.set_data_type_rules(dt, &tighter).await,
            "NotAdmin",
        );
    }
    refused(
        w.admin
            .chain
            .set_data_type_rules(
                dt,
                &DataTypeRules {
                    min_cohort: 1,
                    ..tighter
                },
            )
            .await,
        "BadRules",
    );
    w.admin
        .chain
        .set_data_type_rules(dt, &tighter)
        .await
        .unwrap();
    assert_eq!(w.admin.chain.data_type_rules(dt).await.unwrap(), tighter);
    refused(
        w.submit_model_with(&model("fifty"), req, 50, 1000).await,
        "CohortBelowFloor",
    );
    refused(
        w.submit_model_with(&model("big eps"), req, 100, 2_001)
            .await,
        "EpsilonAboveCap",
    );
    w.submit_model_with(&model("within"), req, 100, 2_000)
        .await
        .unwrap();
    // Allowing ε = ∞ is governance's explicit choice.
    w.admin
        .chain
        .set_data_type_rules(
            dt,
            &DataTypeRules {
                allow_non_private: true,
                ..tighter
            },
        )
        .await
        .unwrap();
    let (job, _) = w
        .submit_model_with(&model("exact"), req, 100, EPSILON_INFINITE)
        .await
        .unwrap();
    assert_eq!(
        w.admin.chain.epsilon_of(job).await.unwrap(),
        EPSILON_INFINITE
    );
}

/// Every record a job trained on pays the job's ε from its budget, on chain, before the result
/// is posted: batches land once and in order, a budget is never overdrawn, and only the job's
/// TEE (through Model) debits.
pub(crate) async fn budgets_are_debited_once_per_batch_and_never_overdrawn(b: &Backend) {
    use medshare_contracts::EPSILON_INFINITE;
    let w = world(b).await;
    let records = w.registered_records(3).await.unwrap();
    let job = w.approved_job("debits").await.unwrap();
    // Budgets: 1.5 (one job of ε = 1 fits), 1 (exactly one), unlimited.
    for (r, budget) in records.iter().zip([1_500, 1_000, EPSILON_INFINITE]) {
        w.user
            .chain
            .grant(&r.record, job, r.pad.clone(), budget)
            .await
            .unwrap();
    }
    let hash = |i: usize| records[i].record.ciphertextHash;
    let view = w.view_block().await.unwrap();
    let sig = w.tee_verification(job, B256::ZERO, view).unwrap();
    w.tee
        .chain
        .post_model_verification(job, true, true, view, &sig)
        .await
        .unwrap();
    // Nobody but an active TEE debits, and Authorization takes debits from Model only.
    let training = keccak256("testkit training");
    refused(
        w.user
            .chain
            .debit_budgets(job, 0, training, view, vec![hash(0)], vec![0])
            .await,
        "NotActiveTee",
    );
    let direct = medshare_chain::Authorization::debitCall {
        _0: job.0,
        epsilonMilli: 1,
        ciphertextHashes: vec![hash(0)],
        grantedTotals: vec![0],
    };
    refused(
        w.tee
            .chain
            .send_many(vec![
                w.tee
                    .chain
                    .call(medshare_chain::Contract::Authorization, &direct),
            ])
            .await,
        "NotModel",
    );
    // The result waits for its debits.
    refused(
        w.tee.chain.post_result(job, keccak256("r"), view, 1).await,
        "WrongDebitBatch",
    );
    // A first batch must name its training.
    refused(
        w.tee
            .chain
            .debit_budgets(job, 0, B256::ZERO, view, vec![hash(0)], vec![0])
            .await,
        "WrongTraining",
    );
    w.debit(job, &records).await.unwrap();
    assert_eq!(
        w.user.chain.budget_of(hash(0)).await.unwrap(),
        (1_500, 1_000)
    );
    assert_eq!(
        w.user.chain.budget_of(hash(1)).await.unwrap(),
        (1_000, 1_000)
    );
    assert_eq!(
        w.user.chain.budget_of(hash(2)).await.unwrap(),
        (EPSILON_INFINITE, 0),
        "an unlimited budget is never debited"
    );
    // A batch lands once: the same batch number again is refused.
    let view = w.view_block().await.unwrap();
    refused(
        w.tee
            .chain
            .debit_budgets(job, 0, training, view, vec![hash(2)], vec![0])
            .await,
        "WrongDebitBatch",
    );
    // Every later batch pays for the training the first one named: another training's debits
    // (a second model trained on the same job) are refused.
    assert_eq!(w.user.chain.training_of(job).await.unwrap(), training);
    refused(
        w.tee
            .chain
            .debit_budgets(job, 1, keccak256("another"), view, vec![hash(2)], vec![0])
            .await,
        "WrongTraining",
    );
    // A budget is never overdrawn: the whole batch reverts.
    refused(
        w.tee
            .chain
            .debit_budgets(job, 1, training, view, vec![hash(2), hash(0)], vec![0, 0])
            .await,
        "BudgetExhausted",
    );
    assert_eq!(w.user.chain.debit_batches_of(job).await.unwrap(), 1);
    // A record without a budget of its own takes the one its bulk consent gave (the TEE says
    // which), once: a record with a budget keeps it.
    let extra = w.registered_records(1).await.unwrap().pop().unwrap();
    w.user
        .chain
        .grant(&extra.record, job, extra.pad.clone(), 0)
        .await
        .unwrap();
    let h = extra.record.ciphertextHash;
    assert_eq!(w.user.chain.budget_of(h).await.unwrap(), (0, 0));
    let view = w.view_block().await.unwrap();
    refused(
        w.tee
            .chain
            .debit_budgets(job, 1, training, view, vec![h], vec![])
            .await,
        "BadBatch",
    );
    w.tee
        .chain
        .debit_budgets(job, 1, training, view, vec![h, hash(2)], vec![2_000, 5_000])
        .await
        .unwrap();
    assert_eq!(w.user.chain.budget_of(h).await.unwrap(), (2_000, 1_000));
    assert_eq!(
        w.user.chain.budget_of(hash(2)).await.unwrap(),
        (EPSILON_INFINITE, 0)
    );
    // The owner cannot set a budget below what was spent; it may raise it.
    refused(
        w.user.chain.set_budget(&records[0].record, 900).await,
        "BudgetBelowSpent",
    );
    w.user
        .chain
        .set_budget(&records[0].record, 2_000)
        .await
        .unwrap();
    w.post_result(job, b"result").await.unwrap();
    assert_eq!(
        w.user.chain.job_status(job).await.unwrap(),
        JobStatus::Completed
    );
    // After the result, no more debits for the job.
    let view = w.view_block().await.unwrap();
    refused(
        w.tee
            .chain
            .debit_budgets(job, 2, training, view, vec![hash(0)], vec![0])
            .await,
        "WrongJobStatus",
    );
}
