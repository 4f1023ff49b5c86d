//! Data: registering, updating, deleting and listing records (TD_i).

use crate::support::{refused, world};
use alloy_primitives::{B256, Bytes};
use medshare_primitives::Role;
use medshare_testkit::{Backend, OwnedRecord, Party, World};

fn batch(
    records: &[OwnedRecord],
) -> Vec<(
    medshare_crypto::eip712::Record,
    medshare_crypto::eip712::Signature,
)> {
    records
        .iter()
        .map(|r| (r.record.clone(), r.signature))
        .collect()
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
    // The demander's own records (owner = demander) are still refused: it is not a user.
    let records = w
        .make_records_for(&w.demander, &w.tee, &[b"x".to_vec()])
        .unwrap();
    refused(
        w.demander.chain.register_records(&batch(&records)).await,
        "NotUser",
    );
    let stranger = w.new_party(b).await.unwrap();
    let records = w
        .make_records_for(&stranger, &w.tee, &[b"x".to_vec()])
        .unwrap();
    refused(
        stranger.chain.register_records(&batch(&records)).await,
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
    let other = second_user(&w, b).await;
    let theirs = w
        .make_records_for(&other, &w.tee, &[b"theirs".to_vec()])
        .unwrap();
    refused(
        w.user.chain.register_records(&batch(&theirs)).await,
        "NotRecordOwner",
    );
    // One foreign record spoils the whole batch.
    let mut mixed = w.make_records(&[b"mine".to_vec()]).unwrap();
    mixed.extend(theirs.clone());
    refused(
        w.user.chain.register_records(&batch(&mixed)).await,
        "NotRecordOwner",
    );
    assert_eq!(
        w.user
            .chain
            .commitment_of(mixed[0].record.ciphertextHash)
            .await
            .unwrap(),
        B256::ZERO
    );
    other.chain.register_records(&batch(&theirs)).await.unwrap();
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
    let mut short_cm = good.clone();
    short_cm.record.cm = Bytes::copy_from_slice(&good.record.cm[..32]);
    refused(w.register(&[short_cm]).await, "MalformedRecord");
    let mut long_rug = good.clone();
    let mut rug = good.record.rUg.to_vec();
    rug.push(0);
    long_rug.record.rUg = rug.into();
    refused(w.register(&[long_rug]).await, "MalformedRecord");
    let mut zero_hash = good.clone();
    zero_hash.record.ciphertextHash = B256::ZERO;
    refused(w.register(&[zero_hash]).await, "MalformedRecord");
    // An empty batch, and records without signatures.
    refused(w.register(&[]).await, "BadBatch");
    let call = medshare_chain::Data::registerRecordsCall {
        records: vec![medshare_chain::to_data_record(&good.record)],
        signatures: vec![],
    };
    refused(
        w.user
            .chain
            .send_many(vec![
                w.user.chain.call(medshare_chain::Contract::Data, &call),
            ])
            .await,
        "BadBatch",
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

    refused(
        other.chain.update_record(o, n, &new.signature).await,
        "NotRecordOwner",
    );
    refused(other.chain.delete_record(o).await, "NotRecordOwner");
    refused(w.demander.chain.delete_record(o).await, "NotRecordOwner");
    // The new version may not hand the record to someone else.
    let foreign = w
        .make_records_for(&other, &w.tee, &[b"x".to_vec()])
        .unwrap()
        .remove(0);
    refused(
        w.user
            .chain
            .update_record(o, &foreign.record, &foreign.signature)
            .await,
        "OwnerChange",
    );
    // A record that is not the live one (a field changed) is refused.
    let mut forged = o.clone();
    forged.timestamp += 1;
    refused(w.user.chain.delete_record(&forged).await, "RecordMismatch");

    w.user
        .chain
        .update_record(o, n, &new.signature)
        .await
        .unwrap();
    assert!(!w.user.chain.verify_record(o).await.unwrap());
    assert!(w.user.chain.is_deleted(o.ciphertextHash).await.unwrap());
    assert!(w.user.chain.verify_record(n).await.unwrap());
    // The replaced version is gone for good.
    refused(w.user.chain.delete_record(o).await, "RecordMismatch");
    w.user.chain.delete_record(n).await.unwrap();
    w.user.chain.delete_record(&old[1].record).await.unwrap();
    assert_eq!(
        w.user
            .chain
            .commitment_of(old[1].record.ciphertextHash)
            .await
            .unwrap(),
        B256::ZERO
    );
}

pub(crate) async fn records_are_listed_by_owner_and_data_type(b: &Backend) {
    let w = world(b).await;
    let other = second_user(&w, b).await;
    let mine = w.registered_records(3).await.unwrap();
    let theirs = w
        .make_records_for(&other, &w.tee, &[b"t".to_vec()])
        .unwrap();
    other.chain.register_records(&batch(&theirs)).await.unwrap();

    let listed: Vec<B256> = w
        .user
        .chain
        .records_of_owner(w.user.address())
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.event.ciphertextHash)
        .collect();
    let expected: Vec<B256> = mine.iter().map(|r| r.record.ciphertextHash).collect();
    assert_eq!(listed, expected);
    let of_type = w
        .user
        .chain
        .records_of_type(w.data_type.id())
        .await
        .unwrap();
    assert_eq!(of_type.len(), 4);
    // Every field and the owner's signature can be read back from the log.
    let first = &w
        .user
        .chain
        .records_of_owner(w.user.address())
        .await
        .unwrap()[0];
    let record = medshare_chain::record_from_event(&first.event);
    assert_eq!(record, mine[0].record);
    assert_eq!(first.event.signature, mine[0].signature.to_bytes());
    assert!(
        w.user
            .chain
            .records_of_type(B256::repeat_byte(1))
            .await
            .unwrap()
            .is_empty()
    );
}
