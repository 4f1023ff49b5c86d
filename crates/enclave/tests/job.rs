//! A job inside the enclave, request by request (BeginJob → AddRecords → FinishJob →
//! ReleaseResult), on a chain whose every fact reaches the enclave as a sealed header and state
//! proofs. Each test changes one fact or one step and checks the enclave's answer: each fails if
//! the rule it names is removed from `job` or from the dispatcher.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use alloy_sol_types::SolCall;
use common::{Tee, Terms, refusal};
use medshare_contracts::{Audit, EPSILON_INFINITE, JobStatus, Model, UseOutcome};
use medshare_crypto::open_result;
use medshare_enclave::{Request, Response};
use medshare_enclave_api::{AuthoredTx, RecordOutcome, UnsignedTx};
use medshare_training::{Privacy, TrainingOutput};

/// The outcomes of an `AddRecords` the enclave accepted, and its transaction.
fn checked(
    answer: medshare_enclave_api::Result<Response>,
) -> (Vec<RecordOutcome>, Option<AuthoredTx>) {
    match answer.unwrap() {
        Response::RecordsChecked { outcomes, tx } => (outcomes, tx),
        other => panic!("not RecordsChecked: {other:?}"),
    }
}

/// The audit entries of `recordUse` transactions.
fn audit_entries(txs: &[AuthoredTx]) -> Vec<Audit::AuditEntry> {
    txs.iter()
        .filter(|tx| tx.what == "Audit.recordUse")
        .flat_map(|tx| Audit::recordUseCall::abi_decode(&tx.input).unwrap().entries)
        .collect()
}

fn begun(tee: &mut Tee) {
    let Response::ModelVerified {
        hash_ok: true,
        signature_ok: true,
        ..
    } = tee.begin().unwrap()
    else {
        panic!("the model verifies");
    };
}

#[test]
fn a_job_runs_through_its_four_steps_and_only_the_demander_can_read_the_result() {
    let mut tee = Tee::new(10, Terms::default());
    let Response::ModelVerified {
        hash_ok,
        signature_ok,
        reason,
        tx,
    } = tee.begin().unwrap()
    else {
        panic!("ModelVerified");
    };
    assert!(hash_ok && signature_ok, "{reason:?}");
    let posted = Model::postModelVerificationCall::abi_decode(&tx.input).unwrap();
    assert_eq!(posted.jobId, tee.job());
    assert_eq!(posted.viewBlock, tee.chain.number());

    let (outcomes, tx) = checked(tee.add(&(0..10).collect::<Vec<_>>()));
    assert!(outcomes.iter().all(|o| o.used), "{outcomes:?}");
    let verified = Model::postRecordVerificationsCall::abi_decode(&tx.unwrap().input).unwrap();
    assert_eq!(verified.ciphertextHashes.len(), 10);

    tee.chain.mine(1);
    let Response::DebitsPending {
        txs, records_used, ..
    } = tee.finish().unwrap()
    else {
        panic!("DebitsPending");
    };
    assert_eq!(records_used, 10);
    assert_eq!(txs.len(), 1, "one debit batch");
    let debit = Model::debitBudgetsCall::abi_decode(&txs[0].input).unwrap();
    assert_eq!(debit.ciphertextHashes.len(), 10);

    tee.set_debits(1);
    tee.chain.mine(1);
    let Response::JobFinished(result) = tee.release().unwrap() else {
        panic!("JobFinished");
    };
    assert_eq!(result.records_used, 10);
    assert_eq!(result.view_block, tee.chain.number());
    let entries = audit_entries(&result.txs);
    assert_eq!(entries.len(), 10);
    assert!(entries.iter().all(|e| e.outcome == UseOutcome::Used as u8));
    let plain = open_result(&tee.demander, tee.ctx.job, &result.result).unwrap();
    let output: TrainingOutput = serde_json::from_slice(&plain).unwrap();
    assert_eq!(output.records_used, 10);
    // Sealed to the demander: no one else opens it.
    assert!(
        open_result(
            &medshare_crypto::Identity::random(),
            tee.ctx.job,
            &result.result
        )
        .is_err()
    );
}

#[test]
fn requests_out_of_order_are_refused() {
    let mut tee = Tee::new(6, Terms::default());
    assert!(refusal(tee.add(&[0])).contains("no job is running"));
    assert!(refusal(tee.finish()).contains("no job is running"));
    assert!(refusal(tee.release()).contains("no trained job"));
    begun(&mut tee);
    assert!(refusal(tee.begin()).contains("finish it first"));
    assert!(refusal(tee.release()).contains("no trained job"));
    // The job still runs after the refusals.
    let (outcomes, _) = checked(tee.add(&[0, 1, 2, 3, 4, 5]));
    assert!(outcomes.iter().all(|o| o.used));
    let Response::DebitsPending { .. } = tee.finish().unwrap() else {
        panic!("DebitsPending");
    };
    assert!(refusal(tee.finish()).contains("no job is running"));
}

#[test]
fn a_job_not_approved_on_chain_is_refused() {
    for status in [JobStatus::Unknown, JobStatus::Pending, JobStatus::Rejected] {
        let mut tee = Tee::new(0, Terms::default());
        tee.set_job_status(status);
        let why = refusal(tee.begin());
        assert!(why.contains(&format!("{status:?}")), "{why}");
    }
}

#[test]
fn a_submission_its_job_id_does_not_commit_to_is_refused() {
    let mut tee = Tee::new(0, Terms::default());
    tee.ctx.timestamp += 1;
    assert!(refusal(tee.begin()).contains("not the one its id commits to"));
}

#[test]
fn a_model_that_does_not_hash_to_the_submission_is_reported_and_never_runs() {
    let mut tee = Tee::new(6, Terms::default());
    let mut model = tee.ctx.model.to_vec();
    model.push(b' ');
    tee.ctx.model = model.into();
    let Response::ModelVerified {
        hash_ok,
        reason,
        tx,
        ..
    } = tee.begin().unwrap()
    else {
        panic!("ModelVerified");
    };
    assert!(!hash_ok);
    assert!(reason.unwrap().contains("does not hash"));
    let posted = Model::postModelVerificationCall::abi_decode(&tx.input).unwrap();
    assert!(!posted.hashOk, "the failure is what goes on chain");
    assert!(refusal(tee.add(&[0])).contains("no job is running"));
}

#[test]
fn a_requirement_below_the_data_types_floor_is_reported_invalid() {
    let mut tee = Tee::new(
        0,
        Terms {
            min_cohort: 5,
            floor: 6,
            ..Terms::default()
        },
    );
    let Response::ModelVerified {
        hash_ok,
        signature_ok,
        reason,
        ..
    } = tee.begin().unwrap()
    else {
        panic!("ModelVerified");
    };
    assert!(hash_ok && !signature_ok);
    assert!(reason.unwrap().contains("below the data type's floor"));
    assert!(refusal(tee.finish()).contains("no job is running"));
}

#[test]
fn a_view_older_than_one_the_job_has_seen_stops_the_job() {
    let mut tee = Tee::new(6, Terms::default());
    tee.chain.mine(5);
    begun(&mut tee);
    tee.chain.mine(1);
    checked(tee.add(&[0]));
    // The host replays an older block (where, say, a revoked grant still stood).
    let older = tee.chain.view_at(tee.chain.number() - 1, &tee.job_slots());
    let why = refusal(tee.call(&Request::FinishJob { view: older }));
    assert!(why.contains("older than block"), "{why}");
    assert!(refusal(tee.finish()).contains("no job is running"));
}

/// A job's views may cover many blocks (the host posts a transaction per batch of records) but
/// not more than an hour of chain time: a host cannot keep a job's records loaded while their
/// owners withdraw consent, and release the model later.
#[test]
fn views_spanning_more_than_an_hour_of_chain_time_stop_the_job() {
    let mut tee = Tee::new(6, Terms::default());
    begun(&mut tee);
    tee.chain.mine(2_000);
    checked(tee.add(&[0]));
    // The first view was at 1_700_000_100; 2,000 blocks later plus this wait is 3,600 s.
    tee.chain.wait(1_599);
    checked(tee.add(&[1]));
    tee.chain.wait(1);
    let why = refusal(tee.add(&[2]));
    assert!(why.contains("span more than 3600 s of chain time"), "{why}");
    assert!(refusal(tee.add(&[2])).contains("no job is running"));
}

#[test]
fn a_revoked_tee_or_a_removed_reviewer_stops_the_job_at_its_next_step() {
    let mut tee = Tee::new(6, Terms::default());
    begun(&mut tee);
    tee.revoke_tee();
    assert!(refusal(tee.add(&[0])).contains("revoked"));

    let mut tee = Tee::new(6, Terms::default());
    begun(&mut tee);
    checked(tee.add(&[0, 1, 2, 3, 4, 5]));
    tee.remove_reviewer();
    assert!(refusal(tee.finish()).contains("no longer appointed"));
}

#[test]
fn a_record_without_a_grant_is_neither_checked_decrypted_nor_audited() {
    let mut tee = Tee::new(6, Terms::default());
    tee.revoke_grant(0);
    begun(&mut tee);
    let (outcomes, tx) = checked(tee.add(&[0]));
    let o = &outcomes[0];
    assert!(!o.used);
    assert_eq!(o.audit, None);
    assert_eq!(o.hash_ok, None, "not even checked");
    assert!(o.excluded.as_deref().unwrap().contains("no grant"));
    assert!(tx.is_none(), "nothing to post for it");
    // Nor one whose Data entry is not its owner's registration.
    let mut tee = Tee::new(6, Terms::default());
    begun(&mut tee);
    let mut input = tee.input(1);
    input.owner = medshare_crypto::Identity::random().address();
    let (outcomes, _) = checked(tee.add_inputs(vec![input]));
    assert!(!outcomes[0].used);
    assert!(
        outcomes[0]
            .excluded
            .as_deref()
            .unwrap()
            .contains("not live on chain")
    );
}

#[test]
fn a_tampered_ciphertext_or_signature_is_refused_for_integrity_and_audited() {
    let mut tee = Tee::new(6, Terms::default());
    begun(&mut tee);
    let mut tampered = tee.input(0);
    let mut bytes = tampered.ciphertext.unwrap().to_vec();
    bytes[40] ^= 1;
    tampered.ciphertext = Some(bytes.into());
    let mut forged = tee.input(1);
    forged.signature = Some(
        medshare_crypto::Identity::random()
            .sign_typed(
                &medshare_crypto::eip712::Domain::new(common::CHAIN_ID, tee.chain.deployment.data),
                &tee.patients[1].record,
            )
            .unwrap()
            .to_bytes(),
    );
    let (outcomes, tx) = checked(tee.add_inputs(vec![tampered, forged, tee.input(2)]));
    assert_eq!(outcomes[0].hash_ok, Some(false));
    assert_eq!(outcomes[0].audit, Some(UseOutcome::RefusedIntegrity));
    assert_eq!(outcomes[1].hash_ok, Some(true));
    assert_eq!(outcomes[1].signature_ok, Some(false));
    assert_eq!(outcomes[1].audit, Some(UseOutcome::RefusedIntegrity));
    assert!(outcomes[2].used);
    let verified = Model::postRecordVerificationsCall::abi_decode(&tx.unwrap().input).unwrap();
    assert_eq!(verified.hashOk, vec![false, true, true]);
    assert_eq!(verified.signatureOk, vec![true, false, true]);
}

#[test]
fn a_record_handed_in_twice_is_used_once() {
    let mut tee = Tee::new(6, Terms::default());
    begun(&mut tee);
    let (outcomes, _) = checked(tee.add(&[0, 0]));
    assert!(outcomes[0].used);
    assert!(!outcomes[1].used);
    assert!(
        outcomes[1]
            .excluded
            .as_deref()
            .unwrap()
            .contains("seen before")
    );
    let (outcomes, _) = checked(tee.add(&[0]));
    assert!(!outcomes[0].used, "nor in a later batch");
}

#[test]
fn a_record_whose_budget_cannot_pay_the_jobs_epsilon_is_excluded_and_audited() {
    let mut tee = Tee::new(
        6,
        Terms {
            privacy: Privacy::new(1.0, 1e-5),
            ..Terms::default()
        },
    );
    tee.set_budget(0, 3_000, 2_500); // 0.5 left: cannot pay ε = 1
    tee.set_budget(1, 3_000, 2_000); // exactly 1 left: can
    tee.set_budget(2, 3_000, 0);
    begun(&mut tee);
    let (outcomes, _) = checked(tee.add(&[0, 1, 2]));
    assert_eq!(outcomes[0].audit, Some(UseOutcome::RefusedBudget));
    assert!(!outcomes[0].used);
    assert!(outcomes[1].used && outcomes[2].used);

    // A job without differential privacy draws only on unlimited budgets.
    let mut tee = Tee::new(6, Terms::default());
    tee.set_budget(0, 1_000_000, 0);
    tee.set_budget(1, EPSILON_INFINITE, 0);
    begun(&mut tee);
    let (outcomes, _) = checked(tee.add(&[0, 1]));
    assert_eq!(outcomes[0].audit, Some(UseOutcome::RefusedBudget));
    assert!(outcomes[1].used);
}

#[test]
fn a_cohort_below_the_minimum_fails_training_and_every_decrypted_record_is_audited() {
    let mut tee = Tee::new(
        8,
        Terms {
            min_cohort: 8,
            ..Terms::default()
        },
    );
    begun(&mut tee);
    tee.revoke_grant(7);
    let (outcomes, _) = checked(tee.add(&(0..8).collect::<Vec<_>>()));
    assert_eq!(outcomes.iter().filter(|o| o.used).count(), 7);
    let Response::JobFailed { reason, txs } = tee.finish().unwrap() else {
        panic!("JobFailed");
    };
    assert!(reason.contains("minimum cohort"), "{reason}");
    let entries = audit_entries(&txs);
    assert_eq!(
        entries.len(),
        7,
        "every decrypted record, not the unconsented one"
    );
    assert!(
        entries
            .iter()
            .all(|e| e.outcome == UseOutcome::TrainingFailed as u8 && e.epsilonMilli != 0)
    );
    assert!(
        txs.iter().all(|tx| tx.what == "Audit.recordUse"),
        "no debit, no result"
    );
    assert!(refusal(tee.release()).contains("no trained job"));
}

#[test]
fn the_result_waits_inside_until_every_debit_is_on_chain() {
    let mut tee = Tee::new(6, Terms::default());
    begun(&mut tee);
    checked(tee.add(&[0, 1, 2, 3, 4, 5]));
    let Response::DebitsPending { txs, .. } = tee.finish().unwrap() else {
        panic!("DebitsPending");
    };
    assert_eq!(txs.len(), 1);
    let why = refusal(tee.release());
    assert!(why.contains("0 of the job's 1 budget debits"), "{why}");
    // Still waiting, not dropped: once the debit lands it is released.
    tee.set_debits(1);
    tee.chain.mine(1);
    let Response::JobFinished(result) = tee.release().unwrap() else {
        panic!("JobFinished");
    };
    let posted = result
        .txs
        .iter()
        .find(|tx| tx.what == "Model.postResult")
        .unwrap();
    let call = Model::postResultCall::abi_decode(&posted.input).unwrap();
    assert_eq!(call.resultHash, result.result_hash);
    assert_eq!(call.debitBatches, 1);
    assert!(
        refusal(tee.release()).contains("no trained job"),
        "released once"
    );
}

#[test]
fn the_enclave_signs_only_transactions_it_wrote_for_its_chain_within_its_fee_cap() {
    let mut tee = Tee::new(0, Terms::default());
    let Response::ModelVerified { tx, .. } = tee.begin().unwrap() else {
        panic!("ModelVerified");
    };
    let unsigned = |to, input, chain_id, fee| UnsignedTx {
        chain_id,
        nonce: 0,
        gas_limit: 1_000_000,
        max_fee_per_gas: fee,
        max_priority_fee_per_gas: 0,
        to,
        input,
    };
    let sign = |tee: &mut Tee, tx: UnsignedTx| tee.call(&Request::SignTransaction(tx));
    let Response::Signed { .. } = sign(
        &mut tee,
        unsigned(tx.to, tx.input.clone(), common::CHAIN_ID, 1_000_000_000),
    )
    .unwrap() else {
        panic!("signs what it wrote");
    };
    let mut other = tx.input.to_vec();
    other.push(0);
    let why = refusal(sign(
        &mut tee,
        unsigned(tx.to, other.into(), common::CHAIN_ID, 1_000_000_000),
    ));
    assert!(why.contains("did not write"), "{why}");
    let why = refusal(sign(
        &mut tee,
        unsigned(tx.to, tx.input.clone(), common::CHAIN_ID + 1, 1_000_000_000),
    ));
    assert!(why.contains("chain id"), "{why}");
    let why = refusal(sign(
        &mut tee,
        unsigned(tx.to, tx.input, common::CHAIN_ID, u128::MAX),
    ));
    assert!(why.contains("above the cap"), "{why}");
}

/// A record its owner listed in a live bulk consent for the job, whose TD_i the store lost or
/// altered: the enclave cannot read its data type, but its owner consented to this version, so
/// it is checked, refused for integrity and audited — never decrypted. (Before, it was excluded
/// as unconsented and its owner's trail showed nothing.)
#[test]
fn a_bulk_consented_record_whose_td_is_lost_is_refused_and_audited() {
    let mut tee = Tee::new(
        3,
        Terms {
            privacy: Privacy::new(1.0, 1e-5),
            ..Terms::default()
        },
    );
    let list = [0, 1, 2];
    let mut trees = Vec::new();
    for i in 0..3 {
        tee.revoke_grant(i);
        trees.push(tee.bulk_grant(i, &list, 2_000));
        tee.set_budget(i, 3_000, 0);
    }
    begun(&mut tee);
    let inputs: Vec<_> = (0..3)
        .map(|i| {
            let mut input = tee.input(i);
            input.batch = Some(medshare_enclave_api::BatchMembership {
                root: trees[i].root(),
                proof: trees[i].proof(i).unwrap(),
            });
            input
        })
        .collect();
    let mut inputs = inputs;
    // Record 0's TD_i is gone; record 1's names another ciphertext (so its commitment no
    // longer matches the chain's); record 2's is intact.
    inputs[0].record = None;
    inputs[0].signature = None;
    inputs[1].record.as_mut().unwrap().ciphertextHash = alloy_primitives::B256::repeat_byte(7);
    let (outcomes, _) = checked(tee.add_inputs(inputs));
    for o in &outcomes[..2] {
        assert!(!o.used);
        assert_eq!(
            o.excluded.as_deref(),
            Some(
                "the stored ciphertext or TD_i does not match what was registered (tampered or missing)"
            ),
            "consented, checked and refused; not skipped as unconsented"
        );
        assert_eq!(o.audit, Some(UseOutcome::RefusedIntegrity));
        assert_eq!(o.hash_ok, Some(false));
    }
    assert!(outcomes[2].used);
}

/// A bulk consent is checked inside the enclave: the owner's consent slot (not another
/// owner's, even for the same list), the record's Merkle path to its root, and its withdrawal.
/// A record without a budget of its own takes the consent's, and the debit says so.
#[test]
fn a_bulk_consent_counts_only_for_its_owners_listed_records_not_withdrawn() {
    let mut tee = Tee::new(
        20,
        Terms {
            privacy: Privacy::new(1.0, 1e-5),
            ..Terms::default()
        },
    );
    for i in 0..20 {
        tee.revoke_grant(i);
    }
    let with_batch =
        |tee: &Tee, i: usize, tree: &medshare_contracts::consent::ConsentTree, at: usize| {
            let mut input = tee.input(i);
            input.batch = Some(medshare_enclave_api::BatchMembership {
                root: tree.root(),
                proof: tree.proof(at).unwrap(),
            });
            input
        };
    // Patients 0–3 and 6 consent in bulk, each in a consent of its own listing records 0–3
    // (its own record among them, where it is) ...
    let list = [0, 1, 2, 3];
    let trees: Vec<_> = (0..4).map(|i| tee.bulk_grant(i, &list, 2_000)).collect();
    tee.bulk_grant(6, &list, 2_000);
    // ... patient 2 withdraws its record from it, and patient 0's record has no budget of its
    // own (it takes the consent's 2.0); the others have one.
    tee.withdraw_from_batch(2, trees[2].root());
    tee.set_budget(0, 0, 0);
    for i in 1..20 {
        tee.set_budget(i, 3_000, 0);
    }
    begun(&mut tee);
    let inputs = vec![
        with_batch(&tee, 0, &trees[0], 0),
        with_batch(&tee, 1, &trees[1], 1),
        // Withdrawn from the consent.
        with_batch(&tee, 2, &trees[2], 2),
        with_batch(&tee, 3, &trees[3], 3),
        // Patient 4's owner never consented: patient 0's consent lists record 0's version,
        // a path for it does not make record 4 consented.
        with_batch(&tee, 4, &trees[0], 0),
        // Patient 5 presents the path of a listed record under the consent of patient 0's owner.
        with_batch(&tee, 5, &trees[0], 1),
        // Patient 6's owner has a live consent, but its list does not hold record 6.
        with_batch(&tee, 6, &trees[0], 0),
    ];
    let (outcomes, _) = checked(tee.add_inputs(inputs));
    let used: Vec<bool> = outcomes.iter().map(|o| o.used).collect();
    assert_eq!(used, [true, true, false, true, false, false, false]);
    for o in &outcomes[4..] {
        assert_eq!(
            o.excluded.as_deref(),
            Some("no grant, bulk consent or policy for this job on chain")
        );
        assert_eq!(o.audit, None, "never checked or decrypted");
    }
    assert_eq!(outcomes[2].audit, None);
    // Records under ordinary grants make a cohort of both diagnoses (patients 8–19: eight
    // benign, four malignant; 0, 1 and 3 are malignant), whatever the training split.
    let others: Vec<usize> = (8..20).collect();
    for &i in &others {
        tee.grant(i);
    }
    let (outcomes, _) = checked(tee.add(&others));
    assert!(outcomes.iter().all(|o| o.used));
    let finished = tee.finish().unwrap();
    let Response::DebitsPending { txs, .. } = finished else {
        panic!("DebitsPending, not {finished:?}");
    };
    let debit = Model::debitBudgetsCall::abi_decode(&txs[0].input).unwrap();
    let totals: Vec<(alloy_primitives::B256, u32)> = debit
        .ciphertextHashes
        .iter()
        .copied()
        .zip(debit.grantedTotals.iter().copied())
        .collect();
    let hash = |i: usize| tee.patients[i].record.ciphertextHash;
    let mut expected = vec![(hash(0), 2_000), (hash(1), 0), (hash(3), 0)];
    expected.extend(others.iter().map(|&i| (hash(i), 0)));
    assert_eq!(
        totals, expected,
        "only the record without a budget of its own takes the consent's"
    );
}

/// Trains the whole job of `tee` and returns the checkpoint of the training.
fn trained(tee: &mut Tee, n: usize) -> alloy_primitives::Bytes {
    begun(tee);
    let (outcomes, _) = checked(tee.add(&(0..n).collect::<Vec<_>>()));
    assert!(outcomes.iter().all(|o| o.used), "{outcomes:?}");
    tee.chain.mine(1);
    let Response::DebitsPending { checkpoint, .. } = tee.finish().unwrap() else {
        panic!("DebitsPending");
    };
    checkpoint
}

/// The model a released result carries.
fn released(tee: &mut Tee) -> TrainingOutput {
    let Response::JobFinished(result) = tee.release().unwrap() else {
        panic!("JobFinished");
    };
    assert_eq!(
        audit_entries(&result.txs).len(),
        result.records_used as usize
    );
    let plain = open_result(&tee.demander, tee.ctx.job, &result.result).unwrap();
    serde_json::from_slice(&plain).unwrap()
}

#[test]
fn a_training_whose_host_stopped_after_its_debits_is_released_from_its_checkpoint() {
    let mut tee = Tee::new(10, Terms::default());
    let checkpoint = trained(&mut tee, 10);
    tee.set_job_status(JobStatus::Deployed);
    tee.set_debits(1);
    tee.chain.mine(1);
    // The process dies before the result is stored: the enclave remembers nothing.
    tee.restart();
    assert!(refusal(tee.release()).contains("no trained job"));
    // Training the job again is refused: its budgets paid for the first training.
    let again = refusal(tee.begin());
    assert!(
        again.contains("only that training can be released"),
        "{again}"
    );

    // The checkpoint, changed by one bit, or opened by another enclave, is refused.
    let mut bent = checkpoint.to_vec();
    let last = bent.len() - 1;
    bent[last] ^= 1;
    let why = refusal(tee.resume(bent.into()));
    assert!(
        why.contains("not a training checkpoint of this enclave"),
        "{why}"
    );
    let mut other = Tee::new(5, Terms::default());
    let why = refusal(other.resume(checkpoint.clone()));
    assert!(
        why.contains("not a training checkpoint of this enclave"),
        "{why}"
    );

    // As it is: nothing left to debit, and the model is released.
    let Response::DebitsPending {
        txs, records_used, ..
    } = tee.resume(checkpoint.clone()).unwrap()
    else {
        panic!("DebitsPending");
    };
    assert!(txs.is_empty(), "every debit is on chain");
    assert_eq!(records_used, 10);
    tee.chain.mine(1);
    let first = released(&mut tee);
    assert_eq!(first.records_used, 10);
    // Released again (the result was lost once more): the same model, not a new one.
    tee.restart();
    tee.resume(checkpoint).unwrap();
    tee.chain.mine(1);
    assert_eq!(released(&mut tee), first);
}

#[test]
fn a_checkpoint_taken_before_any_debit_landed_posts_them_all() {
    let mut tee = Tee::new(10, Terms::default());
    let checkpoint = trained(&mut tee, 10);
    tee.set_job_status(JobStatus::Deployed);
    tee.restart();
    let Response::DebitsPending { txs, .. } = tee.resume(checkpoint).unwrap() else {
        panic!("DebitsPending");
    };
    assert_eq!(txs.len(), 1);
    let debit = Model::debitBudgetsCall::abi_decode(&txs[0].input).unwrap();
    assert_eq!((debit.batch, debit.trainingId), (0, tee.training));
    assert_eq!(debit.viewBlock, tee.chain.number(), "it names the new view");
    tee.set_debits(1);
    tee.chain.mine(1);
    assert_eq!(released(&mut tee).records_used, 10);
}

#[test]
fn a_second_training_of_a_job_is_never_released() {
    let dp = Terms {
        privacy: Privacy::new(4.0, 1e-5),
        ..Terms::default()
    };
    let mut tee = Tee::new(10, dp);
    let first_checkpoint = trained(&mut tee, 10);
    let first = tee.training;
    // The host starts the job again before the first training's debits land, and trains a
    // second model of the same records (with fresh noise).
    tee.restart();
    tee.set_job_status(JobStatus::Deployed);
    trained(&mut tee, 10);
    let second = tee.training;
    assert_ne!(first, second);
    // The first training's debits land: the second is never released, whatever the host does.
    tee.training = first;
    tee.set_debits(1);
    tee.chain.mine(1);
    let why = refusal(tee.release());
    assert!(why.contains("it is never released"), "{why}");
    // Nor can a third be trained.
    tee.restart();
    let why = refusal(tee.begin());
    assert!(why.contains("only that training can be released"), "{why}");
    // The first is released, from its checkpoint.
    tee.resume(first_checkpoint).unwrap();
    tee.chain.mine(1);
    assert_eq!(released(&mut tee).records_used, 10);
}
