//! Registration: governance, self-registration, reviewers and TEEs.

use crate::support::{BUDGET, refused, world};
use alloy_primitives::{B256, keccak256};
use medshare_chain::EvidenceKind;
use medshare_primitives::Role;
use medshare_testkit::{Backend, World};

pub(crate) async fn governance_is_for_admins_only(b: &Backend) {
    let w = world(b).await;
    let outsider = &w.user.chain;
    let someone = w.demander.address();
    let measurement = keccak256("another enclave");
    refused(outsider.add_admin(someone).await, "NotAdmin");
    refused(outsider.remove_admin(w.admin.address()).await, "NotAdmin");
    refused(
        outsider
            .appoint_reviewer(w.demander.identity.public_key_uncompressed())
            .await,
        "NotAdmin",
    );
    refused(
        outsider.remove_reviewer(w.reviewer.address()).await,
        "NotAdmin",
    );
    refused(outsider.revoke_tee(w.tee.address()).await, "NotAdmin");
    refused(
        outsider.set_measurement_allowed(measurement, true).await,
        "NotAdmin",
    );
    refused(outsider.set_accept_simulated(false).await, "NotAdmin");
    refused(
        outsider.set_accept_unverified_headers(true).await,
        "NotAdmin",
    );
    refused(
        outsider
            .admit_tee(
                w.tee.address(),
                B256::ZERO,
                measurement,
                EvidenceKind::SgxDcap,
                false,
            )
            .await,
        "NotAdmin",
    );
    // A reviewer or a TEE is no admin either.
    refused(
        w.reviewer
            .chain
            .set_measurement_allowed(measurement, true)
            .await,
        "NotAdmin",
    );
    refused(
        w.tee.chain.set_measurement_allowed(measurement, true).await,
        "NotAdmin",
    );

    // An admin may do each; a new admin gains the power.
    let admin = &w.admin.chain;
    admin.add_admin(someone).await.unwrap();
    assert!(admin.is_admin(someone).await.unwrap());
    refused(admin.add_admin(someone).await, "AlreadyAdmin");
    w.demander
        .chain
        .set_measurement_allowed(measurement, true)
        .await
        .unwrap();
    admin.revoke_tee(w.tee.address()).await.unwrap();
    assert!(!admin.is_active_tee(w.tee.address()).await.unwrap());
    refused(admin.revoke_tee(w.tee.address()).await, "NotATee");
    refused(admin.remove_admin(w.user.address()).await, "NotAnAdmin");
}

pub(crate) async fn the_last_admin_cannot_leave(b: &Backend) {
    let w = world(b).await;
    let admin = &w.admin.chain;
    refused(admin.remove_admin(w.admin.address()).await, "LastAdmin");
    admin.add_admin(w.demander.address()).await.unwrap();
    admin.remove_admin(w.admin.address()).await.unwrap();
    assert!(!admin.is_admin(w.admin.address()).await.unwrap());
    // The removed admin has no power left; the remaining one is the last.
    refused(admin.set_accept_simulated(false).await, "NotAdmin");
    refused(
        w.demander.chain.remove_admin(w.demander.address()).await,
        "LastAdmin",
    );
}

pub(crate) async fn self_registration_binds_key_and_role(b: &Backend) {
    let w = world(b).await;
    let newcomer = w.new_party(b).await.unwrap();
    let own_key = newcomer.identity.public_key_uncompressed();
    // Someone else's key: the contract derives the address from the key.
    refused(
        newcomer
            .chain
            .register(Role::User, w.user.identity.public_key_uncompressed())
            .await,
        "PublicKeyMismatch",
    );
    // Reviewers are appointed and TEEs register with evidence: neither self-registers.
    refused(
        newcomer.chain.register(Role::Reviewer, own_key).await,
        "RoleNotSelfRegistrable",
    );
    refused(
        newcomer.chain.register(Role::Tee, own_key).await,
        "RoleNotSelfRegistrable",
    );
    // A key of the wrong length.
    let call = medshare_chain::Registration::registerCall {
        role: Role::User as u8,
        publicKey: own_key[..63].to_vec().into(),
    };
    refused(
        newcomer
            .chain
            .send_many(vec![
                newcomer
                    .chain
                    .call(medshare_chain::Contract::Registration, &call),
            ])
            .await,
        "BadPublicKeyLength",
    );
    assert_eq!(
        newcomer.chain.role_of(newcomer.address()).await.unwrap(),
        None
    );

    newcomer
        .chain
        .register(Role::Demander, own_key)
        .await
        .unwrap();
    assert_eq!(
        newcomer.chain.role_of(newcomer.address()).await.unwrap(),
        Some(Role::Demander)
    );
    assert_eq!(
        newcomer
            .chain
            .public_key_of(newcomer.address())
            .await
            .unwrap()
            .as_ref(),
        own_key.as_slice()
    );
    // Once: no second role, no re-registration.
    refused(
        newcomer.chain.register(Role::User, own_key).await,
        "AlreadyRegistered",
    );
    // Nor can a registered party be appointed reviewer.
    refused(
        w.admin.chain.appoint_reviewer(own_key).await,
        "AlreadyRegistered",
    );
    // A TEE submits its own key only, with evidence of a sane size.
    let tee = w.new_party(b).await.unwrap();
    refused(
        tee.chain
            .submit_tee(own_key, World::tee_evidence_bytes())
            .await,
        "PublicKeyMismatch",
    );
    refused(
        tee.chain
            .submit_tee(tee.identity.public_key_uncompressed(), Default::default())
            .await,
        "BadEvidenceLength",
    );
    refused(
        tee.chain
            .submit_tee(
                tee.identity.public_key_uncompressed(),
                vec![1u8; 16385].into(),
            )
            .await,
        "BadEvidenceLength",
    );
}

/// The attack of a self-declared TEE: an account submits its own key claiming an allowlisted
/// measurement and (in the evidence) real hardware. Without admission it is never active: no key
/// is shared with it and its statements, results and audit entries revert.
pub(crate) async fn a_self_submitted_tee_is_never_active_until_governance_admits_it(b: &Backend) {
    let w = world(b).await;
    let admin = &w.admin.chain;
    let job = w.approved_job("rogue").await.unwrap();
    let view = w.view_block().await.unwrap();
    let sig = w.tee_verification(job, keccak256("model"), view).unwrap();

    let rogue = w.new_party(b).await.unwrap();
    let evidence =
        alloy_primitives::Bytes::from_static(b"I am real SGX, with the allowlisted measurement");
    rogue
        .chain
        .submit_tee(rogue.identity.public_key_uncompressed(), evidence.clone())
        .await
        .unwrap();
    // The measurement it would claim is allowlisted and simulation is accepted: still nothing.
    assert!(
        admin
            .is_measurement_allowed(medshare_testkit::simulated_measurement())
            .await
            .unwrap()
    );
    assert!(!admin.is_active_tee(rogue.address()).await.unwrap());
    let info = admin.tee_info(rogue.address()).await.unwrap();
    assert!(!info.admitted && info.unrevoked);
    assert_eq!(info.evidence_hash, keccak256(&evidence));
    refused(
        rogue
            .chain
            .post_model_verification(job, true, true, view, &sig)
            .await,
        "NotActiveTee",
    );
    refused(
        rogue
            .chain
            .post_result(job, keccak256("result"), view, 0)
            .await,
        "NotActiveTee",
    );
    refused(rogue.chain.record_use(view, vec![]).await, "NotActiveTee");
    // No patient can release a pad to it.
    let records = w
        .make_records_for(&w.user, &rogue, &[b"r".to_vec()])
        .unwrap();
    w.register(&records).await.unwrap();
    refused(
        w.user
            .chain
            .grant(&records[0].record, job, records[0].pad.clone(), BUDGET)
            .await,
        "TeeNotActive",
    );

    // Admission names exactly the submitted evidence, an allowlisted measurement, and a kind
    // the deployment accepts.
    let m = medshare_testkit::simulated_measurement();
    refused(
        admin
            .admit_tee(
                rogue.address(),
                keccak256(b"other evidence"),
                m,
                EvidenceKind::SgxDcap,
                false,
            )
            .await,
        "EvidenceMismatch",
    );
    refused(
        admin
            .admit_tee(
                rogue.address(),
                keccak256(&evidence),
                keccak256("unlisted"),
                EvidenceKind::SgxDcap,
                false,
            )
            .await,
        "MeasurementNotAllowed",
    );
    admin.set_accept_simulated(false).await.unwrap();
    refused(
        admin
            .admit_tee(
                rogue.address(),
                keccak256(&evidence),
                m,
                EvidenceKind::Simulated,
                false,
            )
            .await,
        "SimulationNotAccepted",
    );
    refused(
        admin
            .admit_tee(
                rogue.address(),
                keccak256(&evidence),
                m,
                EvidenceKind::SgxDcap,
                true,
            )
            .await,
        "UnverifiedHeadersNotAccepted",
    );
    refused(
        admin
            .admit_tee(
                w.user.address(),
                keccak256(&evidence),
                m,
                EvidenceKind::SgxDcap,
                false,
            )
            .await,
        "NotATee",
    );
    admin
        .admit_tee(
            rogue.address(),
            keccak256(&evidence),
            m,
            EvidenceKind::SgxDcap,
            false,
        )
        .await
        .unwrap();
    assert!(admin.is_active_tee(rogue.address()).await.unwrap());
    refused(
        admin
            .admit_tee(
                rogue.address(),
                keccak256(&evidence),
                m,
                EvidenceKind::SgxDcap,
                false,
            )
            .await,
        "AlreadyAdmitted",
    );
    let info = admin.tee_info(rogue.address()).await.unwrap();
    assert_eq!(
        (info.measurement, info.evidence_kind),
        (m, EvidenceKind::SgxDcap)
    );
}

pub(crate) async fn an_admitted_tee_stays_active_only_while_governance_allows_it(b: &Backend) {
    let w = world(b).await;
    let admin = &w.admin.chain;
    let job = w.approved_job("tee").await.unwrap();
    let view = w.view_block().await.unwrap();
    let sig = w.tee_verification(job, keccak256("model"), view).unwrap();
    let m = medshare_testkit::simulated_measurement();

    // Delisting the measurement deactivates the TEE; relisting reactivates it.
    assert!(admin.is_active_tee(w.tee.address()).await.unwrap());
    admin.set_measurement_allowed(m, false).await.unwrap();
    assert!(!admin.is_active_tee(w.tee.address()).await.unwrap());
    admin.set_measurement_allowed(m, true).await.unwrap();

    // Simulated evidence counts only while governance accepts it.
    admin.set_accept_simulated(false).await.unwrap();
    assert!(!admin.is_active_tee(w.tee.address()).await.unwrap());
    refused(
        w.tee
            .chain
            .post_model_verification(job, true, true, view, &sig)
            .await,
        "NotActiveTee",
    );
    admin.set_accept_simulated(true).await.unwrap();

    // A TEE whose view rests on unsigned headers counts only while governance accepts that.
    let loose = w.new_party(b).await.unwrap();
    let evidence = World::tee_evidence_bytes();
    loose
        .chain
        .submit_tee(loose.identity.public_key_uncompressed(), evidence.clone())
        .await
        .unwrap();
    admin.set_accept_unverified_headers(true).await.unwrap();
    admin
        .admit_tee(
            loose.address(),
            keccak256(&evidence),
            m,
            EvidenceKind::Simulated,
            true,
        )
        .await
        .unwrap();
    assert!(admin.is_active_tee(loose.address()).await.unwrap());
    admin.set_accept_unverified_headers(false).await.unwrap();
    assert!(!admin.is_active_tee(loose.address()).await.unwrap());

    // A revoked TEE is out for good, whatever its measurement.
    admin.revoke_tee(w.tee.address()).await.unwrap();
    assert!(!admin.is_active_tee(w.tee.address()).await.unwrap());
    refused(
        w.tee
            .chain
            .post_model_verification(job, true, true, view, &sig)
            .await,
        "NotActiveTee",
    );
    // Other parties are never TEEs.
    assert!(!admin.is_active_tee(w.user.address()).await.unwrap());
}

pub(crate) async fn a_removed_reviewer_cannot_review(b: &Backend) {
    let w = world(b).await;
    let job = w.job("removed").await.unwrap();
    assert!(
        w.admin
            .chain
            .is_reviewer(w.reviewer.address())
            .await
            .unwrap()
    );
    w.admin
        .chain
        .remove_reviewer(w.reviewer.address())
        .await
        .unwrap();
    assert!(
        !w.admin
            .chain
            .is_reviewer(w.reviewer.address())
            .await
            .unwrap()
    );
    refused(w.reviewer.chain.approve_model(job).await, "NotReviewer");
    refused(
        w.admin.chain.remove_reviewer(w.reviewer.address()).await,
        "NotAReviewer",
    );
    refused(
        w.admin.chain.remove_reviewer(w.user.address()).await,
        "NotAReviewer",
    );
}
