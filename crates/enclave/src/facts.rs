//! The chain facts a job rests on, checked in a verified [`View`].
//!
//! Every request of a job re-checks these at its view, so a job stops as soon as the enclave
//! sees any of them fail: the job was submitted and approved (and not finished or invalid), the
//! reviewer who approved it is still appointed, the demander is registered with the key the
//! result will be encrypted to, and this TEE itself is admitted, unrevoked, running the
//! measurement governance admitted and allowlists, and accepted in its evidence kind and header
//! mode.

use crate::{Error, Result, view::View};
use alloy_primitives::{Address, B256, U256};
use medshare_contracts::{
    EvidenceKind, JobStatus,
    layout::{
        model::{self, DataTypeRules},
        registration,
    },
};
use medshare_enclave_api::TrustAnchors;

/// Role numbers of Registration.
const ROLE_DEMANDER: u8 = 2;
const ROLE_TEE: u8 = 3;
const ROLE_REVIEWER: u8 = 4;

/// Who the enclave is, for the checks of its own admission.
pub(crate) struct SelfFacts<'a> {
    pub(crate) anchors: &'a TrustAnchors,
    pub(crate) address: Address,
    pub(crate) measurement: B256,
    pub(crate) kind: EvidenceKind,
}

/// The job being checked.
pub(crate) struct JobFacts<'a> {
    pub(crate) job: B256,
    pub(crate) demander: Address,
    /// PK_j, 64 bytes.
    pub(crate) demander_public_key: &'a [u8],
}

fn refuse(view: &View, why: String) -> Error {
    Error::Refused(format!("at block {} ({}): {why}", view.number, view.hash))
}

/// Checks that this TEE is admitted and active in `view`.
pub(crate) fn check_self(view: &View, me: &SelfFacts<'_>) -> Result<()> {
    let reg = me.anchors.registration;
    let party = registration::Party::decode(view.slot(reg, registration::party(me.address))?);
    if party.role != ROLE_TEE {
        return Err(refuse(
            view,
            format!("this TEE ({}) is not registered as a TEE", me.address),
        ));
    }
    if !party.admitted {
        return Err(refuse(
            view,
            "this TEE was never admitted by governance".to_owned(),
        ));
    }
    if !party.active {
        return Err(refuse(
            view,
            "this TEE was revoked by governance".to_owned(),
        ));
    }
    if party.evidence_kind != me.kind as u8 {
        return Err(refuse(
            view,
            "this TEE was admitted with another kind of evidence".to_owned(),
        ));
    }
    let admitted = view.slot(reg, registration::measurement(party.measurement_id))?;
    if admitted != U256::from_be_bytes(me.measurement.0) {
        return Err(refuse(
            view,
            format!(
                "this TEE was admitted with measurement {}, but this enclave program is {}",
                B256::from(admitted),
                me.measurement
            ),
        ));
    }
    if view.slot(reg, registration::measurement_allowed(party.measurement_id))? == U256::ZERO {
        return Err(refuse(
            view,
            format!(
                "governance no longer allowlists this enclave's measurement {}",
                me.measurement
            ),
        ));
    }
    let flags = registration::Flags::decode(view.slot(reg, registration::flags())?);
    if me.kind == EvidenceKind::Simulated && !flags.accept_simulated {
        return Err(refuse(
            view,
            "governance does not accept simulated evidence on this deployment".to_owned(),
        ));
    }
    let unsigned_headers_accepted = flags.accept_unverified_headers && party.unverified_headers;
    if !(me.anchors.headersVerified || unsigned_headers_accepted) {
        return Err(refuse(
            view,
            "governance does not accept TEEs whose view rests on unsigned headers".to_owned(),
        ));
    }
    Ok(())
}

/// Checks the job's facts in `view`: approved (or deployed) by a reviewer who is still
/// appointed, submitted by `demander`, whose registered key is `demander_public_key`.
pub(crate) fn check_job(view: &View, anchors: &TrustAnchors, job: &JobFacts<'_>) -> Result<()> {
    let word = view.slot(anchors.model, model::job(job.job))?;
    let on_chain = model::Job::decode(word);
    let status = JobStatus::try_from(on_chain.status).unwrap_or(JobStatus::Unknown);
    if !matches!(status, JobStatus::Approved | JobStatus::Deployed) {
        return Err(refuse(
            view,
            format!(
                "job {} is {status:?} on chain, not approved by a reviewer",
                job.job
            ),
        ));
    }
    if on_chain.demander != job.demander {
        return Err(refuse(
            view,
            format!("job {} was submitted by another demander", job.job),
        ));
    }
    let approver = model::address(view.slot(anchors.model, model::approver(job.job))?);
    let reviewer = registration::Party::decode(
        view.slot(anchors.registration, registration::party(approver))?,
    );
    if reviewer.role != ROLE_REVIEWER || !reviewer.active {
        return Err(refuse(
            view,
            format!(
                "the reviewer who approved job {} ({approver}) is no longer appointed",
                job.job
            ),
        ));
    }
    let demander = registration::Party::decode(
        view.slot(anchors.registration, registration::party(job.demander))?,
    );
    if demander.role != ROLE_DEMANDER || !demander.active {
        return Err(refuse(
            view,
            format!("{} is not a registered demander", job.demander),
        ));
    }
    let [x, y] = registration::public_key(job.demander);
    let mut key = [0u8; 64];
    key[..32].copy_from_slice(&view.slot(anchors.registration, x)?.to_be_bytes::<32>());
    key[32..].copy_from_slice(&view.slot(anchors.registration, y)?.to_be_bytes::<32>());
    if key.as_slice() != job.demander_public_key {
        return Err(refuse(
            view,
            format!(
                "the public key given for demander {} is not the one it registered",
                job.demander
            ),
        ));
    }
    Ok(())
}

/// What the chain says of a job's data type and of the job itself, beyond its approval.
pub(crate) struct JobTerms {
    /// The data type's rules (cohort floor, ε cap, non-private allowed).
    pub(crate) rules: DataTypeRules,
    /// keccak256 of the data type's schema; zero: built-in schemas only.
    pub(crate) schema_hash: B256,
    /// The job's ε in thousandths.
    pub(crate) epsilon_milli: u32,
    /// How many budget batches the job debited.
    pub(crate) debit_batches: u32,
    /// The training those debits pay for (zero before the first).
    pub(crate) training: B256,
}

/// Reads the job's terms from `view` (the job's facts must have been checked in it).
pub(crate) fn terms(
    view: &View,
    anchors: &TrustAnchors,
    job: B256,
    data_type: B256,
) -> Result<JobTerms> {
    let model_at = anchors.model;
    let job_word = model::Job::decode(view.slot(model_at, model::job(job))?);
    let batches = view.slot(model_at, model::debit_batches(job))?;
    Ok(JobTerms {
        rules: DataTypeRules::decode(view.slot(model_at, model::rules(data_type))?),
        schema_hash: B256::from(view.slot(model_at, model::schema_hash(data_type))?),
        epsilon_milli: job_word.epsilon_milli,
        debit_batches: (batches & U256::from(u32::MAX)).to::<u32>(),
        training: B256::from(view.slot(model_at, model::training(job))?),
    })
}
