//! Registration: governance, self-registration, reviewers and TEEs.

use crate::support::{refused, world};
use alloy_primitives::keccak256;
use medshare_primitives::Role;
use medshare_testkit::{Backend, SIMULATED_MEASUREMENT};

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
    // A TEE registers its own key only.
    let tee = w.new_party(b).await.unwrap();
    refused(
        tee.chain
            .register_tee(
                own_key,
                keccak256(SIMULATED_MEASUREMENT),
                keccak256(b"evidence"),
                true,
            )
            .await,
        "PublicKeyMismatch",
    );
}

pub(crate) async fn a_tee_is_active_only_with_allowlisted_measurement_and_evidence(b: &Backend) {
    let w = world(b).await;
    let admin = &w.admin.chain;
    let job = w.approved_job("tee").await.unwrap();
    let sig = w.tee_verification(job, keccak256("model")).unwrap();

    // A TEE whose measurement nobody allowlisted does not count.
    let rogue = w.new_party(b).await.unwrap();
    let rogue_measurement = keccak256("rogue enclave");
    rogue
        .chain
        .register_tee(
            rogue.identity.public_key_uncompressed(),
            rogue_measurement,
            keccak256(b"e"),
            false,
        )
        .await
        .unwrap();
    assert!(!admin.is_active_tee(rogue.address()).await.unwrap());
    refused(
        rogue
            .chain
            .post_model_verification(job, true, true, &sig)
            .await,
        "NotActiveTee",
    );
    admin
        .set_measurement_allowed(rogue_measurement, true)
        .await
        .unwrap();
    assert!(admin.is_active_tee(rogue.address()).await.unwrap());
    admin
        .set_measurement_allowed(rogue_measurement, false)
        .await
        .unwrap();
    assert!(!admin.is_active_tee(rogue.address()).await.unwrap());

    // Simulated evidence counts only while governance accepts it.
    assert!(admin.is_active_tee(w.tee.address()).await.unwrap());
    admin.set_accept_simulated(false).await.unwrap();
    assert!(!admin.is_active_tee(w.tee.address()).await.unwrap());
    refused(
        w.tee
            .chain
            .post_model_verification(job, true, true, &sig)
            .await,
        "NotActiveTee",
    );
    admin.set_accept_simulated(true).await.unwrap();

    // A revoked TEE is out for good, whatever its measurement.
    admin.revoke_tee(w.tee.address()).await.unwrap();
    assert!(!admin.is_active_tee(w.tee.address()).await.unwrap());
    refused(
        w.tee
            .chain
            .post_model_verification(job, true, true, &sig)
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
