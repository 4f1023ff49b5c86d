//! Authorization: consent per job, standing policies, and the release of r_C·PK_C.

use crate::support::{BUDGET, refused, world};
use alloy_primitives::{B256, Bytes};
use medshare_primitives::{DataType, Role};
use medshare_testkit::Backend;

pub(crate) async fn only_the_owner_grants_and_revokes(b: &Backend) {
    let w = world(b).await;
    let records = w.registered_records(1).await.unwrap();
    let (r, pad) = (&records[0].record, records[0].pad.clone());
    let job = w.approved_job("grant").await.unwrap();
    let other = w.new_party(b).await.unwrap();
    other
        .chain
        .register(Role::User, other.identity.public_key_uncompressed())
        .await
        .unwrap();
    // Not the demander who wants the data, not the TEE, not another user.
    for party in [&w.demander, &w.tee, &other, &w.admin] {
        refused(
            party.chain.grant(r, job, pad.clone(), BUDGET).await,
            "NotRecordOwner",
        );
    }
    assert!(!w.user.chain.is_authorized(r, job).await.unwrap());
    w.user
        .chain
        .grant(r, job, pad.clone(), BUDGET)
        .await
        .unwrap();
    assert!(w.user.chain.is_authorized(r, job).await.unwrap());
    for party in [&w.demander, &w.tee, &other] {
        refused(party.chain.revoke(r, job).await, "NotRecordOwner");
    }
    assert!(w.user.chain.is_authorized(r, job).await.unwrap());
}

pub(crate) async fn a_grant_needs_an_approved_job_of_the_records_type(b: &Backend) {
    let w = world(b).await;
    let records = w.registered_records(1).await.unwrap();
    let (r, pad) = (&records[0].record, records[0].pad.clone());
    let pending = w.job("pending").await.unwrap();
    refused(
        w.user.chain.grant(r, pending, pad.clone(), BUDGET).await,
        "JobNotApproved",
    );
    refused(
        w.user
            .chain
            .grant(r, B256::repeat_byte(3).into(), pad.clone(), BUDGET)
            .await,
        "JobNotApproved",
    );
    // A job for another data type.
    let other_type = DataType::new("diabetes-pima").unwrap();
    let (mut submission, _) = w.submission(b"m", b"r").unwrap();
    submission.dataType = other_type.id();
    let signature = w
        .demander
        .identity
        .sign_typed(
            &medshare_crypto::eip712::Domain::new(
                w.demander.chain.chain_id(),
                w.demander.chain.deployment().model,
            ),
            &submission,
        )
        .unwrap();
    let other_job = w
        .demander
        .chain
        .submit_model(
            &submission,
            Bytes::from_static(b"m"),
            Bytes::from_static(b"r"),
            &signature,
        )
        .await
        .unwrap();
    w.reviewer.chain.approve_model(other_job).await.unwrap();
    refused(
        w.user.chain.grant(r, other_job, pad.clone(), BUDGET).await,
        "DataTypeMismatch",
    );
    // A record that is not registered.
    let unregistered = w.make_records(&[b"u".to_vec()]).unwrap().remove(0);
    let approved = w.approved_job("approved").await.unwrap();
    refused(
        w.user
            .chain
            .grant(&unregistered.record, approved, unregistered.pad, BUDGET)
            .await,
        "UnknownRecord",
    );
    // A finished job takes no new grants, and a grant stops authorizing once its job is done.
    let done = w.deployed_job("done").await.unwrap();
    w.user
        .chain
        .grant(&records[0].record, done, pad.clone(), BUDGET)
        .await
        .unwrap();
    assert!(w.user.chain.is_authorized(r, done).await.unwrap());
    w.post_result(done, b"r").await.unwrap();
    assert!(!w.user.chain.is_authorized(r, done).await.unwrap());
    w.user.chain.revoke(r, done).await.unwrap();
    refused(
        w.user.chain.grant(r, done, pad.clone(), BUDGET).await,
        "JobNotApproved",
    );
    w.user.chain.grant(r, approved, pad, BUDGET).await.unwrap();
}

pub(crate) async fn the_released_pad_must_match_the_signed_commitment(b: &Backend) {
    let w = world(b).await;
    let records = w.registered_records(2).await.unwrap();
    let job = w.approved_job("pad").await.unwrap();
    // Another record's pad is a valid point but not this record's.
    refused(
        w.user
            .chain
            .grant(&records[0].record, job, records[1].pad.clone(), BUDGET)
            .await,
        "PadMismatch",
    );
    refused(
        w.user
            .chain
            .grant(&records[0].record, job, Bytes::new(), BUDGET)
            .await,
        "PadMismatch",
    );
    assert_eq!(
        w.user
            .chain
            .pad_of(records[0].record.ciphertextHash)
            .await
            .unwrap(),
        None
    );
    w.user
        .chain
        .grant(&records[0].record, job, records[0].pad.clone(), BUDGET)
        .await
        .unwrap();
    assert_eq!(
        w.user
            .chain
            .pad_of(records[0].record.ciphertextHash)
            .await
            .unwrap(),
        Some(records[0].pad.clone())
    );
    // Before any consent, the pad of the other record was never published.
    assert_eq!(
        w.user
            .chain
            .pad_of(records[1].record.ciphertextHash)
            .await
            .unwrap(),
        None
    );
}

pub(crate) async fn a_grant_covers_one_record_version_until_revoked(b: &Backend) {
    let w = world(b).await;
    let records = w.registered_records(2).await.unwrap();
    let (r, pad) = (&records[0].record, records[0].pad.clone());
    let job = w.approved_job("v").await.unwrap();
    let other_job = w.approved_job("other").await.unwrap();
    w.user
        .chain
        .grant(r, job, pad.clone(), BUDGET)
        .await
        .unwrap();
    refused(
        w.user.chain.grant(r, job, pad.clone(), BUDGET).await,
        "AlreadyGranted",
    );
    // A grant is for one job and one record.
    assert!(!w.user.chain.is_authorized(r, other_job).await.unwrap());
    assert!(
        !w.user
            .chain
            .is_authorized(&records[1].record, job)
            .await
            .unwrap()
    );

    w.user.chain.revoke(r, job).await.unwrap();
    assert!(!w.user.chain.is_authorized(r, job).await.unwrap());
    refused(w.user.chain.revoke(r, job).await, "NotGranted");

    // Granted again, then the record is replaced: the grant does not follow to the new version.
    w.user.chain.grant(r, job, pad, BUDGET).await.unwrap();
    let new = w.make_records(&[b"v2".to_vec()]).unwrap().remove(0);
    w.user.chain.update_record(r, &new.record).await.unwrap();
    assert!(!w.user.chain.is_authorized(r, job).await.unwrap());
    assert!(!w.user.chain.is_authorized(&new.record, job).await.unwrap());
    // A deleted record is authorized for nothing.
    let (r1, pad1) = (&records[1].record, records[1].pad.clone());
    w.user.chain.grant(r1, job, pad1, BUDGET).await.unwrap();
    w.user.chain.delete_record(r1).await.unwrap();
    assert!(!w.user.chain.is_authorized(r1, job).await.unwrap());
}

pub(crate) async fn a_standing_policy_authorizes_approved_jobs_of_its_type(b: &Backend) {
    let w = world(b).await;
    let records = w.registered_records(2).await.unwrap();
    let r = &records[0].record;
    let ty = w.data_type.id();
    refused(w.demander.chain.set_policy(ty, true).await, "NotUser");
    refused(w.tee.chain.set_policy(ty, true).await, "NotUser");

    let approved = w.approved_job("policy").await.unwrap();
    let pending = w.job("pending").await.unwrap();
    assert!(!w.user.chain.is_authorized(r, approved).await.unwrap());
    w.user.chain.set_policy(ty, true).await.unwrap();
    assert!(w.user.chain.policy_of(w.user.address(), ty).await.unwrap());
    assert!(w.user.chain.is_authorized(r, approved).await.unwrap());
    // Never an unreviewed job.
    assert!(!w.user.chain.is_authorized(r, pending).await.unwrap());
    // Pads for policy use are released by the owner only, and must match.
    let batch = vec![(r.clone(), records[0].pad.clone())];
    refused(
        w.demander.chain.release_pads(&batch, BUDGET).await,
        "NotRecordOwner",
    );
    let wrong = vec![(r.clone(), records[1].pad.clone())];
    refused(
        w.user.chain.release_pads(&wrong, BUDGET).await,
        "PadMismatch",
    );
    refused(w.user.chain.release_pads(&[], BUDGET).await, "BadBatch");
    w.user.chain.release_pads(&batch, BUDGET).await.unwrap();
    assert_eq!(
        w.user.chain.pad_of(r.ciphertextHash).await.unwrap(),
        Some(records[0].pad.clone())
    );

    w.user.chain.set_policy(ty, false).await.unwrap();
    assert!(!w.user.chain.is_authorized(r, approved).await.unwrap());
}

/// A pad is never released to a TEE that is not active: a revoked TEE gets nothing new, by a
/// grant, a signed consent or a policy's release.
pub(crate) async fn nothing_is_released_to_a_revoked_tee(b: &Backend) {
    let w = world(b).await;
    let records = w.registered_records(2).await.unwrap();
    let job = w.approved_job("revoked tee").await.unwrap();
    w.user
        .chain
        .grant(&records[0].record, job, records[0].pad.clone(), BUDGET)
        .await
        .unwrap();
    w.admin.chain.revoke_tee(w.tee.address()).await.unwrap();
    refused(
        w.user
            .chain
            .grant(&records[1].record, job, records[1].pad.clone(), BUDGET)
            .await,
        "TeeNotActive",
    );
    refused(
        w.user
            .chain
            .release_pads(
                &[(records[1].record.clone(), records[1].pad.clone())],
                BUDGET,
            )
            .await,
        "TeeNotActive",
    );
}

/// `grantMany`: the caller's own records only, each with its own pad, all to one approved job of
/// their type; one bad record refuses the whole batch, and a good batch grants each record.
pub(crate) async fn a_batch_grant_is_the_owners_and_all_or_nothing(b: &Backend) {
    let w = world(b).await;
    let records = w.registered_records(3).await.unwrap();
    let job = w.approved_job("grant many").await.unwrap();
    let batch: Vec<(_, Bytes)> = records
        .iter()
        .map(|r| (r.record.clone(), r.pad.clone()))
        .collect();
    for party in [&w.demander, &w.tee, &w.admin] {
        refused(
            party.chain.grant_many(&batch, job, BUDGET).await,
            "NotRecordOwner",
        );
    }
    refused(w.user.chain.grant_many(&[], job, BUDGET).await, "BadBatch");
    // One wrong pad: nothing of the batch is granted.
    let mut wrong = batch.clone();
    wrong[2].1 = records[0].pad.clone();
    refused(
        w.user.chain.grant_many(&wrong, job, BUDGET).await,
        "PadMismatch",
    );
    // An unapproved job: nothing.
    let pending = w.job("grant many, pending").await.unwrap();
    refused(
        w.user.chain.grant_many(&batch, pending, BUDGET).await,
        "JobNotApproved",
    );
    for r in &records {
        assert!(!w.user.chain.is_authorized(&r.record, job).await.unwrap());
    }
    w.user.chain.grant_many(&batch, job, BUDGET).await.unwrap();
    for r in &records {
        assert!(w.user.chain.is_authorized(&r.record, job).await.unwrap());
        assert_eq!(
            w.user
                .chain
                .budget_of(r.record.ciphertextHash)
                .await
                .unwrap()
                .0,
            BUDGET
        );
    }
    assert_eq!(w.user.chain.grants_of_job(job).await.unwrap().len(), 3);
    // Granted already: a second batch with any of them is refused whole.
    refused(
        w.user.chain.grant_many(&batch[1..], job, BUDGET).await,
        "AlreadyGranted",
    );
}

/// `grantBatch`: registered users only, for an approved job, one live consent per root; the
/// slot is keyed by its owner. `revokeBatch` and `revokeFromBatch` are the owner's, the latter
/// with a Merkle path the contract checks (OpenZeppelin's MerkleProof over the tree the owner
/// built in Rust), once per record version.
pub(crate) async fn a_bulk_consent_is_its_owners_and_withdrawn_by_merkle_path(b: &Backend) {
    use medshare_contracts::consent::ConsentTree;
    use medshare_crypto::eip712::record_commitment;
    let w = world(b).await;
    let records = w.registered_records(5).await.unwrap();
    let job = w.approved_job("bulk").await.unwrap();
    let commitments: Vec<B256> = records
        .iter()
        .map(|r| record_commitment(&r.record))
        .collect();
    let tree = ConsentTree::new(&commitments).unwrap();
    let root = tree.root();
    let list = B256::repeat_byte(0x11);
    let owner = w.user.identity.address();
    let live = || async {
        w.user
            .chain
            .batch_grant_live(owner, job, root)
            .await
            .unwrap()
    };
    for party in [&w.demander, &w.tee, &w.admin] {
        refused(
            party.chain.grant_batch(job, root, 5, BUDGET, list).await,
            "NotUser",
        );
    }
    let pending = w.job("bulk, pending").await.unwrap();
    refused(
        w.user
            .chain
            .grant_batch(pending, root, 5, BUDGET, list)
            .await,
        "JobNotApproved",
    );
    refused(
        w.user.chain.grant_batch(job, root, 0, BUDGET, list).await,
        "BadBatch",
    );
    assert!(!live().await);
    w.user
        .chain
        .grant_batch(job, root, 5, BUDGET, list)
        .await
        .unwrap();
    assert!(live().await);
    refused(
        w.user.chain.grant_batch(job, root, 5, BUDGET, list).await,
        "BatchAlreadyGranted",
    );
    let logged = w
        .user
        .chain
        .batch_grants_of_job(job, Some(owner))
        .await
        .unwrap();
    assert_eq!(logged.len(), 1);
    assert_eq!(
        (
            logged[0].event.root,
            logged[0].event.count,
            logged[0].event.listHash
        ),
        (root, 5, list)
    );
    // Withdrawing one record: its owner only, with a path to this root.
    let proof = tree.proof(3).unwrap();
    refused(
        w.demander
            .chain
            .revoke_from_batch(&records[3].record, job, root, proof.clone())
            .await,
        "NotRecordOwner",
    );
    refused(
        w.user
            .chain
            .revoke_from_batch(&records[3].record, job, root, tree.proof(2).unwrap())
            .await,
        "NotInBatch",
    );
    for (i, c) in commitments.iter().enumerate() {
        assert!(
            !w.user
                .chain
                .is_revoked_from_batch(owner, job, root, *c)
                .await
                .unwrap(),
            "record {i}"
        );
    }
    w.user
        .chain
        .revoke_from_batch(&records[3].record, job, root, proof.clone())
        .await
        .unwrap();
    assert!(
        w.user
            .chain
            .is_revoked_from_batch(owner, job, root, commitments[3])
            .await
            .unwrap()
    );
    refused(
        w.user
            .chain
            .revoke_from_batch(&records[3].record, job, root, proof)
            .await,
        "NotGranted",
    );
    // The whole consent: its owner's only (another account has no consent under this root).
    refused(
        w.demander.chain.revoke_batch(job, root).await,
        "NoBatchGrant",
    );
    w.user.chain.revoke_batch(job, root).await.unwrap();
    assert!(!live().await);
    refused(w.user.chain.revoke_batch(job, root).await, "NoBatchGrant");
    refused(
        w.user
            .chain
            .revoke_from_batch(&records[0].record, job, root, tree.proof(0).unwrap())
            .await,
        "NoBatchGrant",
    );
}
