//! The transactions the enclave writes: calldata for the contracts, from the enclave's own
//! results only.

use alloy_primitives::{Address, B256, Bytes};
use alloy_sol_types::SolCall;
use medshare_contracts::{Audit, Model, Registration};
use medshare_enclave_api::AuthoredTx;

/// Most record verifications or audit entries per transaction.
pub(crate) const MAX_BATCH: usize = 200;

fn tx<C: SolCall>(to: Address, call: &C, what: &str) -> AuthoredTx {
    AuthoredTx {
        to,
        input: Bytes::from(call.abi_encode()),
        what: what.to_owned(),
    }
}

pub(crate) fn register_tee(
    registration: Address,
    public_key: Bytes,
    measurement: B256,
    evidence_hash: B256,
    simulated: bool,
) -> AuthoredTx {
    let call = Registration::registerTeeCall {
        publicKey: public_key,
        measurement,
        evidenceHash: evidence_hash,
        simulated,
    };
    tx(registration, &call, "Registration.registerTee")
}

pub(crate) fn model_verification(
    model: Address,
    job: B256,
    hash_ok: bool,
    signature_ok: bool,
    signature: Bytes,
) -> AuthoredTx {
    let call = Model::postModelVerificationCall {
        jobId: job,
        hashOk: hash_ok,
        signatureOk: signature_ok,
        teeSignature: signature,
    };
    tx(model, &call, "Model.postModelVerification")
}

/// One checked record's {HDS_i, HRT_i, VT_i, ST_i}.
pub(crate) struct Checked {
    pub(crate) ciphertext_hash: B256,
    pub(crate) hash_ok: bool,
    pub(crate) signature_ok: bool,
    pub(crate) signature: Bytes,
}

pub(crate) fn record_verifications(model: Address, job: B256, checked: &[Checked]) -> AuthoredTx {
    let call = Model::postRecordVerificationsCall {
        jobId: job,
        ciphertextHashes: checked.iter().map(|c| c.ciphertext_hash).collect(),
        hashOk: checked.iter().map(|c| c.hash_ok).collect(),
        signatureOk: checked.iter().map(|c| c.signature_ok).collect(),
        teeSignatures: checked.iter().map(|c| c.signature.clone()).collect(),
    };
    tx(model, &call, "Model.postRecordVerifications")
}

pub(crate) fn result(model: Address, job: B256, result_hash: B256) -> AuthoredTx {
    let call = Model::postResultCall {
        jobId: job,
        resultHash: result_hash,
    };
    tx(model, &call, "Model.postResult")
}

pub(crate) fn audit(audit: Address, entries: Vec<Audit::AuditEntry>) -> AuthoredTx {
    tx(audit, &Audit::recordUseCall { entries }, "Audit.recordUse")
}
