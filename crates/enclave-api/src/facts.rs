//! Which storage slots a [`ChainView`](crate::ChainView) must prove for each request.
//!
//! The enclave checks every chain fact it acts on in contract storage, through the proofs of
//! its view; the host must therefore ask the node (`eth_getProof`) for exactly those slots. This
//! module is the one list of them, for the host to request and the enclave to read (both through
//! [`medshare_contracts::layout`]).
//!
//! * **Job facts** (every request): the job's slot, its approver's, its budget-debit count, its
//!   data type's rules and schema hash (Model); the TEE's own party slot, its measurement and
//!   whether that measurement is allowlisted, the governance flags, the approving reviewer's and
//!   the demander's party slots and the demander's public key (Registration).
//! * **Record facts** (per record of a batch): the record's commitment (Data), the grant of
//!   this record version to the job, the owner's standing policy for the data type, and the
//!   record's privacy budget (Authorization).

use alloy_primitives::{Address, B256};
use medshare_contracts::{
    Deployment,
    layout::{authorization, data, model, registration},
};

/// The slots to prove, per contract address.
pub type SlotRequest = Vec<(Address, Vec<B256>)>;

/// The job facts' slots. `approver` and `measurement_id` are read from the chain first (the
/// approver's address from the job's approver slot, the measurement id from the TEE's party
/// slot); if they are wrong, the enclave finds the facts missing and refuses.
#[allow(clippy::too_many_arguments)]
pub fn job_slots(
    deployment: &Deployment,
    tee: Address,
    job: B256,
    data_type: B256,
    demander: Address,
    approver: Address,
    measurement_id: u32,
) -> SlotRequest {
    let [pk_x, pk_y] = registration::public_key(demander);
    vec![
        (
            deployment.model,
            vec![
                model::job(job),
                model::approver(job),
                model::debit_batches(job),
                model::training(job),
                model::rules(data_type),
                model::schema_hash(data_type),
            ],
        ),
        (
            deployment.registration,
            vec![
                registration::party(tee),
                registration::measurement(measurement_id),
                registration::measurement_allowed(measurement_id),
                registration::flags(),
                registration::party(approver),
                registration::party(demander),
                pk_x,
                pk_y,
            ],
        ),
    ]
}

/// One record's facts' slots: its commitment, the grant of this version (commitment
/// `hashStruct(TD_i)`) to `job`, its owner's policy for its data type, its privacy budget, and,
/// when the host found it in the owner's bulk consent `batch_root`, that consent's slot and the
/// record's withdrawal from it.
pub fn record_slots(
    deployment: &Deployment,
    job: B256,
    ciphertext_hash: B256,
    owner: Address,
    commitment: B256,
    data_type: B256,
    batch_root: Option<B256>,
) -> SlotRequest {
    let mut slots = vec![
        authorization::grant(commitment, job),
        authorization::policy(owner, data_type),
        authorization::budget(ciphertext_hash),
    ];
    if let Some(root) = batch_root {
        slots.push(authorization::batch_grant(owner, job, root));
        slots.push(authorization::batch_revocation(
            owner, job, root, commitment,
        ));
    }
    vec![
        (deployment.data, vec![data::commitment(ciphertext_hash)]),
        (deployment.authorization, slots),
    ]
}

/// Merges requests: one entry per address, slots deduplicated, in first-seen order.
pub fn merge(requests: impl IntoIterator<Item = SlotRequest>) -> SlotRequest {
    let mut out: SlotRequest = Vec::new();
    for request in requests {
        for (address, slots) in request {
            let entry = match out.iter_mut().position(|(a, _)| *a == address) {
                Some(i) => &mut out[i].1,
                None => {
                    out.push((address, Vec::new()));
                    let last = out.len() - 1;
                    &mut out[last].1
                }
            };
            for slot in slots {
                if !entry.contains(&slot) {
                    entry.push(slot);
                }
            }
        }
    }
    out
}
