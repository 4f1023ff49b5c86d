//! The contract suite: every access rule and replay protection of the five contracts, run on
//! each ledger backend — the embedded chain in process (`embedded::…`), `medshare node` over
//! JSON-RPC (`node::…`) and anvil (`anvil::…`). Each test starts from a fresh chain and
//! deployment, and each rule's test fails if the rule is removed from the contract: it checks
//! that the forbidden call is refused with the contract's named error, and that the allowed
//! call goes through.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod audit;
mod authorization;
mod data;
mod model;
mod registration;
mod replay;

/// Instantiates the suite's tests on one backend (`support::<backend>()`).
macro_rules! on_backend {
    ($backend:ident: $($module:ident { $($test:ident),* $(,)? })*) => {
        $(mod $module {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let backend = crate::support::$backend().await;
                crate::$module::$test(&backend).await;
            })*
        })*
    };
}

/// Instantiates the suite on every backend.
macro_rules! suite {
    ($($body:tt)*) => {
        mod embedded { on_backend!(embedded: $($body)*); }
        mod node { on_backend!(node: $($body)*); }
        mod anvil { on_backend!(anvil: $($body)*); }
    };
}

suite! {
    registration {
        governance_is_for_admins_only,
        the_last_admin_cannot_leave,
        self_registration_binds_key_and_role,
        a_self_submitted_tee_is_never_active_until_governance_admits_it,
        an_admitted_tee_stays_active_only_while_governance_allows_it,
        a_removed_reviewer_cannot_review,
    }
    data {
        only_registered_users_register_records,
        a_record_is_registered_by_its_owner_only,
        a_ciphertext_hash_is_registered_once,
        malformed_records_are_refused,
        update_and_delete_are_for_the_owner_only,
        records_are_listed_by_owner_and_data_type,
    }
    model {
        only_demanders_submit_models,
        only_reviewers_review,
        an_unapproved_model_is_never_deployed,
        only_active_tees_post_verifications_and_results,
        a_failed_model_check_stops_the_job,
        a_result_is_posted_once_and_reported_only_by_its_demander,
        a_statement_on_a_stale_or_forged_view_is_refused,
        the_approving_reviewer_is_recorded,
        a_submission_below_the_floor_or_beyond_the_rules_is_refused,
        budgets_are_debited_once_per_batch_and_never_overdrawn,
    }
    authorization {
        only_the_owner_grants_and_revokes,
        a_grant_needs_an_approved_job_of_the_records_type,
        the_released_pad_must_match_the_signed_commitment,
        a_grant_covers_one_record_version_until_revoked,
        a_standing_policy_authorizes_approved_jobs_of_its_type,
        nothing_is_released_to_a_revoked_tee,
        a_batch_grant_is_the_owners_and_all_or_nothing,
        a_bulk_consent_is_its_owners_and_withdrawn_by_merkle_path,
    }
    audit {
        only_active_tees_write_the_audit_trail,
        the_audit_trail_is_listed_by_owner_and_by_job,
        audit_entries_carry_their_outcome_and_view,
    }
    replay {
        a_consent_signature_is_used_once,
        a_consent_signed_for_another_chain_is_refused,
        a_consent_signed_for_another_contract_is_refused,
        a_consent_signed_by_someone_else_or_expired_is_refused,
        a_signed_transaction_is_accepted_once_and_on_its_chain_only,
    }
}
