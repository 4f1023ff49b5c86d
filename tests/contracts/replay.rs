//! Replay: a signature made once is good once, on one chain, for one contract.

use crate::support::{BUDGET, refused, world};
use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, TxKind, U256};
use alloy_signer::SignerSync;
use medshare_crypto::eip712::{Consent, Domain, Signature};
use medshare_ledger::Error as LedgerError;
use medshare_parties::{now, user::OwnedRecord};
use medshare_primitives::JobId;
use medshare_testkit::{Backend, Party, World};

/// `signer`'s consent to release `record` to `job`, in `domain`, with the owner's current nonce.
async fn consent(
    w: &World,
    signer: &Party,
    domain: &Domain,
    record: &OwnedRecord,
    job: JobId,
    deadline: u64,
) -> Signature {
    let nonce = w
        .user
        .chain
        .consent_nonce(record.record.owner)
        .await
        .unwrap();
    let consent = Consent {
        ciphertextHash: record.record.ciphertextHash,
        jobId: job.0,
        rCPkC: record.pad.clone(),
        budgetMilli: BUDGET,
        nonce,
        deadline: U256::from(deadline),
    };
    signer.identity.sign_typed(domain, &consent).unwrap()
}

fn authorization_domain(w: &World) -> Domain {
    Domain::new(
        w.user.chain.chain_id(),
        w.user.chain.deployment().authorization,
    )
}

pub(crate) async fn a_consent_signature_is_used_once(b: &Backend) {
    let w = world(b).await;
    let records = w.registered_records(1).await.unwrap();
    let job = w.approved_job("relay").await.unwrap();
    let deadline = now() + 3600;
    let sig = consent(
        &w,
        &w.user,
        &authorization_domain(&w),
        &records[0],
        job,
        deadline,
    )
    .await;
    let (r, pad) = (&records[0].record, records[0].pad.clone());
    // Anyone may relay it (here the demander, who pays the gas).
    w.demander
        .chain
        .grant_with_signature(r, job, pad.clone(), BUDGET, U256::from(deadline), &sig)
        .await
        .unwrap();
    assert!(w.user.chain.is_authorized(r, job).await.unwrap());
    assert_eq!(
        w.user.chain.consent_nonce(w.user.address()).await.unwrap(),
        U256::from(1)
    );
    // The owner withdraws consent; replaying the old signature must not bring it back.
    w.user.chain.revoke(r, job).await.unwrap();
    refused(
        w.demander
            .chain
            .grant_with_signature(r, job, pad, BUDGET, U256::from(deadline), &sig)
            .await,
        "BadConsentSignature",
    );
    assert!(!w.user.chain.is_authorized(r, job).await.unwrap());
}

pub(crate) async fn a_consent_signed_for_another_chain_is_refused(b: &Backend) {
    let w = world(b).await;
    let records = w.registered_records(1).await.unwrap();
    let job = w.approved_job("chain").await.unwrap();
    let deadline = now() + 3600;
    let d = w.user.chain.deployment();
    let other_chain = Domain::new(w.user.chain.chain_id() + 1, d.authorization);
    let sig = consent(&w, &w.user, &other_chain, &records[0], job, deadline).await;
    let (r, pad) = (&records[0].record, records[0].pad.clone());
    refused(
        w.demander
            .chain
            .grant_with_signature(r, job, pad.clone(), BUDGET, U256::from(deadline), &sig)
            .await,
        "BadConsentSignature",
    );
    // The same consent signed for this chain goes through.
    let sig = consent(
        &w,
        &w.user,
        &authorization_domain(&w),
        &records[0],
        job,
        deadline,
    )
    .await;
    w.demander
        .chain
        .grant_with_signature(r, job, pad, BUDGET, U256::from(deadline), &sig)
        .await
        .unwrap();
}

pub(crate) async fn a_consent_signed_for_another_contract_is_refused(b: &Backend) {
    let w = world(b).await;
    let records = w.registered_records(1).await.unwrap();
    let job = w.approved_job("contract").await.unwrap();
    let deadline = now() + 3600;
    let d = *w.user.chain.deployment();
    let (r, pad) = (&records[0].record, records[0].pad.clone());
    for contract in [d.data, d.model, d.registration, Address::repeat_byte(0x42)] {
        let domain = Domain::new(w.user.chain.chain_id(), contract);
        let sig = consent(&w, &w.user, &domain, &records[0], job, deadline).await;
        refused(
            w.demander
                .chain
                .grant_with_signature(r, job, pad.clone(), BUDGET, U256::from(deadline), &sig)
                .await,
            "BadConsentSignature",
        );
    }
    assert!(!w.user.chain.is_authorized(r, job).await.unwrap());
}

pub(crate) async fn a_consent_signed_by_someone_else_or_expired_is_refused(b: &Backend) {
    let w = world(b).await;
    let records = w.registered_records(1).await.unwrap();
    let job = w.approved_job("forged").await.unwrap();
    let deadline = now() + 3600;
    let (r, pad) = (&records[0].record, records[0].pad.clone());
    // The demander signs the owner's consent itself.
    let forged = consent(
        &w,
        &w.demander,
        &authorization_domain(&w),
        &records[0],
        job,
        deadline,
    )
    .await;
    refused(
        w.demander
            .chain
            .grant_with_signature(r, job, pad.clone(), BUDGET, U256::from(deadline), &forged)
            .await,
        "BadConsentSignature",
    );
    // A genuine consent relayed with another deadline than signed.
    let genuine = consent(
        &w,
        &w.user,
        &authorization_domain(&w),
        &records[0],
        job,
        deadline,
    )
    .await;
    refused(
        w.demander
            .chain
            .grant_with_signature(
                r,
                job,
                pad.clone(),
                BUDGET,
                U256::from(deadline + 1),
                &genuine,
            )
            .await,
        "BadConsentSignature",
    );
    // An expired consent.
    let past = now().saturating_sub(3600);
    let expired = consent(
        &w,
        &w.user,
        &authorization_domain(&w),
        &records[0],
        job,
        past,
    )
    .await;
    refused(
        w.demander
            .chain
            .grant_with_signature(r, job, pad, BUDGET, U256::from(past), &expired)
            .await,
        "ConsentExpired",
    );
    assert!(!w.user.chain.is_authorized(r, job).await.unwrap());
}

/// A signed zero-value transfer from `party`, for `chain_id`, with `nonce`.
async fn raw_transfer(party: &Party, chain_id: u64, nonce: u64) -> Bytes {
    let gas_price = party.chain.ledger().gas_price().await.unwrap();
    let tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: gas_price.saturating_mul(4),
        max_priority_fee_per_gas: 0,
        to: TxKind::Call(Address::repeat_byte(0x77)),
        value: U256::ZERO,
        access_list: Default::default(),
        input: Bytes::new(),
    };
    let signature = party
        .identity
        .signer()
        .sign_hash_sync(&tx.signature_hash())
        .unwrap();
    let envelope: TxEnvelope = tx.into_signed(signature).into();
    envelope.encoded_2718().into()
}

pub(crate) async fn a_signed_transaction_is_accepted_once_and_on_its_chain_only(b: &Backend) {
    let w = world(b).await;
    let ledger = w.user.chain.ledger().clone();
    let chain_id = ledger.chain_id().await.unwrap();
    let nonce = ledger.nonce(w.user.address()).await.unwrap();

    // Signed for another chain: refused before it lands.
    let foreign = raw_transfer(&w.user, chain_id + 1, nonce).await;
    let err = ledger.send_raw_transaction(foreign).await.unwrap_err();
    assert!(
        matches!(err, LedgerError::Rejected(_)),
        "expected a rejection, got {err}"
    );

    let raw = raw_transfer(&w.user, chain_id, nonce).await;
    let hash = ledger.send_raw_transaction(raw.clone()).await.unwrap();
    let receipt = ledger
        .wait_for_receipt(
            hash,
            std::time::Duration::from_millis(20),
            std::time::Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert!(receipt.status());
    // The very same signed bytes again: the nonce is spent.
    let err = ledger.send_raw_transaction(raw).await.unwrap_err();
    assert!(
        matches!(err, LedgerError::Rejected(_)),
        "expected a rejection, got {err}"
    );
    assert_eq!(ledger.nonce(w.user.address()).await.unwrap(), nonce + 1);
}
