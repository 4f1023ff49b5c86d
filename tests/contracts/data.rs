//! Data: registering, updating, deleting and listing records (TD_i) by hash.

use crate::support::{BUDGET, refused, world};
use alloy_primitives::B256;
use medshare_chain::{Contract, Data};
use medshare_crypto::eip712::{Record, record_commitment};
use medshare_parties::user::OwnedRecord;
use medshare_primitives::Role;
use medshare_testkit::{Backend, Party, World};

fn batch(records: &[OwnedRecord]) -> Vec<Record> {
    records.iter().map(|r| r.record.clone()).collect()
}

/// A second registered user.
async fn second_user(w: &World, b: &Backend) -> Party {
    let p = w.new_party(b).await.unwrap();
    p.chain
        .register(Role::User, p.identity.public_key_uncompressed())
        .await
        .unwrap();
    p
}

pub(crate) async fn only_registered_users_register_records(b: &Backend) {
    let w = world(b).await;
    let ty = w.data_type.id();
    // The demander's own records (owner = demander) are still refused: it is not a user.
    let records = w
        .make_records_for(&w.demander, &w.tee, &[b"x".to_vec()])
        .unwrap();
    refused(
        w.demander
            .chain
            .register_records(ty, &batch(&records))
            .await,
        "NotUser",
    );
    let stranger = w.new_party(b).await.unwrap();
    let records = w
        .make_records_for(&stranger, &w.tee, &[b"x".to_vec()])
        .unwrap();
    refused(
        stranger.chain.register_records(ty, &batch(&records)).await,
        "NotUser",
    );
    refused(
        w.tee.chain.register_records(ty, &batch(&records)).await,
        "NotUser",
    );
    // A user may.
    let records = w.make_records(&[b"x".to_vec()]).unwrap();
    w.register(&records).await.unwrap();
    assert!(
        w.user
            .chain
            .verify_record(&records[0].record)
            .await
            .unwrap()
    );
}

pub(crate) async fn a_record_is_registered_by_its_owner_only(b: &Backend) {
    let w = world(b).await;
    let ty = w.data_type.id();
    let other = second_user(&w, b).await;
    let theirs = w
        .make_records_for(&other, &w.tee, &[b"theirs".to_vec(), b"also".to_vec()])
        .unwrap();
    let (r, pad) = (&theirs[0].record, theirs[0].pad.clone());
    // The user registers the other user's record under its own account: the chain binds the
    // commitment to the account that registered it, so the record never becomes live.
    w.user
        .chain
        .register_records(ty, std::slice::from_ref(r))
        .await
        .unwrap();
    assert!(!w.user.chain.verify_record(r).await.unwrap());
    let job = w.approved_job("owner").await.unwrap();
    refused(
        other.chain.grant(r, job, pad.clone(), BUDGET).await,
        "UnknownRecord",
    );
    other.chain.set_policy(ty, true).await.unwrap();
    assert!(!w.user.chain.is_authorized(r, job).await.unwrap());
    // Nor can the registering account use or remove it: the record names another owner.
    refused(
        w.user.chain.grant(r, job, pad, BUDGET).await,
        "NotRecordOwner",
    );
    refused(w.user.chain.delete_record(r).await, "NotRecordOwner");
    // Registered by its owner, a record is live.
    let own = &theirs[1].record;
    other
        .chain
        .register_records(ty, std::slice::from_ref(own))
        .await
        .unwrap();
    assert!(other.chain.verify_record(own).await.unwrap());
    assert!(other.chain.is_authorized(own, job).await.unwrap());
}

pub(crate) async fn a_ciphertext_hash_is_registered_once(b: &Backend) {
    let w = world(b).await;
    let records = w.registered_records(2).await.unwrap();
    refused(w.register(&records[..1]).await, "AlreadyRegistered");
    // The same ciphertext hash under other fields is the same record key.
    let mut copy = records[1].clone();
    copy.record.recordId = B256::repeat_byte(7);
    refused(w.register(&[copy]).await, "AlreadyRegistered");
    // Deleted records leave a tombstone: the old record cannot be registered again.
    w.user
        .chain
        .delete_record(&records[0].record)
        .await
        .unwrap();
    assert!(
        w.user
            .chain
            .is_deleted(records[0].record.ciphertextHash)
            .await
            .unwrap()
    );
    refused(w.register(&records[..1]).await, "AlreadyRegistered");
}

pub(crate) async fn malformed_records_are_refused(b: &Backend) {
    let w = world(b).await;
    let good = w.make_records(&[b"a".to_vec()]).unwrap().remove(0);
    let mut zero_hash = good.clone();
    zero_hash.record.ciphertextHash = B256::ZERO;
    refused(w.register(&[zero_hash]).await, "MalformedRecord");
    refused(w.register(&[]).await, "BadBatch");
    let raw = |hashes: Vec<B256>, commitments: Vec<B256>| Data::registerRecordsCall {
        dataType: w.data_type.id(),
        ciphertextHashes: hashes,
        commitments,
    };
    let send = |call: Data::registerRecordsCall| {
        let chain = w.user.chain.clone();
        async move {
            chain
                .send_many(vec![chain.call(Contract::Data, &call)])
                .await
        }
    };
    let h = good.record.ciphertextHash;
    refused(send(raw(vec![h], vec![])).await, "BadBatch");
    refused(
        send(raw(vec![h], vec![B256::repeat_byte(1); 2])).await,
        "BadBatch",
    );
    refused(
        send(raw(vec![h], vec![B256::ZERO])).await,
        "MalformedRecord",
    );
    w.register(&[good]).await.unwrap();
}

pub(crate) async fn update_and_delete_are_for_the_owner_only(b: &Backend) {
    let w = world(b).await;
    let other = second_user(&w, b).await;
    let old = w.registered_records(2).await.unwrap();
    let new = w
        .make_records(&[b"new version".to_vec()])
        .unwrap()
        .remove(0);
    let (o, n) = (&old[0].record, &new.record);

    refused(other.chain.update_record(o, n).await, "NotRecordOwner");
    refused(other.chain.delete_record(o).await, "NotRecordOwner");
    refused(w.demander.chain.delete_record(o).await, "NotRecordOwner");
    // A record that is not the live one (a field changed) is refused.
    let mut forged = o.clone();
    forged.timestamp += 1;
    refused(w.user.chain.delete_record(&forged).await, "RecordMismatch");
    refused(
        w.user.chain.update_record(&forged, n).await,
        "RecordMismatch",
    );

    w.user.chain.update_record(o, n).await.unwrap();
    assert!(!w.user.chain.verify_record(o).await.unwrap());
    assert!(w.user.chain.is_deleted(o.ciphertextHash).await.unwrap());
    assert!(w.user.chain.verify_record(n).await.unwrap());
    // The replaced version is gone for good.
    refused(w.user.chain.delete_record(o).await, "RecordMismatch");
    w.user.chain.delete_record(n).await.unwrap();
    assert_eq!(
        w.user.chain.commitment_of(n.ciphertextHash).await.unwrap(),
        B256::ZERO
    );
    // A new version is bound to the account that updated: one naming another owner never
    // verifies.
    let foreign = w
        .make_records_for(&other, &w.tee, &[b"x".to_vec()])
        .unwrap()
        .remove(0);
    w.user
        .chain
        .update_record(&old[1].record, &foreign.record)
        .await
        .unwrap();
    assert!(!w.user.chain.verify_record(&foreign.record).await.unwrap());
}

pub(crate) async fn records_are_listed_by_owner_and_data_type(b: &Backend) {
    let w = world(b).await;
    let other = second_user(&w, b).await;
    let mine = w.registered_records(3).await.unwrap();
    let theirs = w
        .make_records_for(&other, &w.tee, &[b"t".to_vec()])
        .unwrap();
    other
        .chain
        .register_records(w.data_type.id(), &batch(&theirs))
        .await
        .unwrap();

    let listed = w
        .user
        .chain
        .records_of_owner(w.user.address())
        .await
        .unwrap();
    let hashes: Vec<B256> = listed.iter().map(|l| l.event.ciphertextHash).collect();
    let expected: Vec<B256> = mine.iter().map(|r| r.record.ciphertextHash).collect();
    assert_eq!(hashes, expected);
    // The log carries the commitment hashStruct(TD_i) that the full record is checked against.
    for (logged, owned) in listed.iter().zip(&mine) {
        assert_eq!(logged.event.commitment, record_commitment(&owned.record));
        assert_eq!(logged.event.dataType, w.data_type.id());
        assert_eq!(logged.event.owner, w.user.address());
    }
    assert_eq!(
        w.user
            .chain
            .records_of_type(w.data_type.id())
            .await
            .unwrap()
            .len(),
        4
    );
    assert!(
        w.user
            .chain
            .records_of_type(B256::repeat_byte(1))
            .await
            .unwrap()
            .is_empty()
    );
}
