//! The transactions the enclave writes: calldata for the contracts, from the enclave's own
//! results only.

use crate::view::View;
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

pub(crate) fn submit_tee(registration: Address, public_key: Bytes, evidence: Bytes) -> AuthoredTx {
    let call = Registration::submitTeeCall {
        publicKey: public_key,
        evidence,
    };
    tx(registration, &call, "Registration.submitTee")
}

pub(crate) fn model_verification(
    model: Address,
    job: B256,
    hash_ok: bool,
    signature_ok: bool,
    view: &View,
    signature: Bytes,
) -> AuthoredTx {
    let call = Model::postModelVerificationCall {
        jobId: job,
        hashOk: hash_ok,
        signatureOk: signature_ok,
        viewBlock: view.number,
        viewHash: view.hash,
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

pub(crate) fn record_verifications(
    model: Address,
    job: B256,
    view: &View,
    checked: &[Checked],
) -> AuthoredTx {
    let call = Model::postRecordVerificationsCall {
        jobId: job,
        viewBlock: view.number,
        viewHash: view.hash,
        ciphertextHashes: checked.iter().map(|c| c.ciphertext_hash).collect(),
        hashOk: checked.iter().map(|c| c.hash_ok).collect(),
        signatureOk: checked.iter().map(|c| c.signature_ok).collect(),
        teeSignatures: checked.iter().map(|c| c.signature.clone()).collect(),
    };
    tx(model, &call, "Model.postRecordVerifications")
}

pub(crate) fn result(
    model: Address,
    job: B256,
    result_hash: B256,
    view: &View,
    debit_batches: u32,
) -> AuthoredTx {
    let call = Model::postResultCall {
        jobId: job,
        resultHash: result_hash,
        viewBlock: view.number,
        viewHash: view.hash,
        debitBatches: debit_batches,
    };
    tx(model, &call, "Model.postResult")
}

pub(crate) fn debit(
    model: Address,
    job: B256,
    batch: u32,
    training: B256,
    view: &View,
    records: &[crate::job::Used],
) -> AuthoredTx {
    let call = Model::debitBudgetsCall {
        jobId: job,
        batch,
        trainingId: training,
        viewBlock: view.number,
        viewHash: view.hash,
        ciphertextHashes: records.iter().map(|r| r.ciphertext_hash).collect(),
        grantedTotals: records.iter().map(|r| r.granted_total).collect(),
    };
    tx(model, &call, "Model.debitBudgets")
}

pub(crate) fn audit(audit: Address, view: &View, entries: Vec<Audit::AuditEntry>) -> AuthoredTx {
    let call = Audit::recordUseCall {
        viewBlock: view.number,
        viewHash: view.hash,
        entries,
    };
    tx(audit, &call, "Audit.recordUse")
}
