//! Property tests through the public API: round trips, and that every kind of mismatch or
//! modification gives an error, never garbage.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use alloy_primitives::{Address, B256};
use medshare_crypto::{
    DataKey, Error, Identity, KeyShare, KeyShareMaterial, open_record, open_result, pk_c,
    seal_record, seal_result, tee,
};
use medshare_primitives::{JobId, RecordId};
use proptest::prelude::*;
use rand::rngs::OsRng;

/// A TEE, an Authorization contract, and one fresh key share for `record_id`.
fn share(tee_id: &Identity, record_id: RecordId) -> (DataKey, KeyShareMaterial) {
    let pk_c = pk_c(1337, Address::repeat_byte(0xa1));
    KeyShare::generate(&mut OsRng, record_id, &tee_id.public_key(), &pk_c)
}

fn recover(tee_id: &Identity, record_id: RecordId, m: &KeyShareMaterial) -> DataKey {
    tee::recover_data_key(tee_id, record_id, &m.cm[..], &m.r_c_pk_c[..], &m.r_u_g[..]).unwrap()
}

fn record_id() -> impl Strategy<Value = RecordId> {
    any::<[u8; 32]>().prop_map(|b| RecordId(B256::from(b)))
}
fn address() -> impl Strategy<Value = Address> {
    any::<[u8; 20]>().prop_map(Address::from)
}
fn plaintext() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..4096)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn record_round_trip_and_tamper(
        id in record_id(), other_id in record_id(), owner in address(), other_owner in address(),
        pt in plaintext(), flip in any::<prop::sample::Index>(), bit in 0u8..8,
    ) {
        let tee_id = Identity::random();
        let (key, m) = share(&tee_id, id);
        let ct = seal_record(&key, owner, &pt).unwrap();
        prop_assert_eq!(ct.len(), 12 + pt.len() + 16);
        prop_assert_eq!(&open_record(&key, owner, &ct).unwrap()[..], &pt[..]);

        // Any single flipped bit.
        let mut bad = ct.clone();
        bad[flip.index(ct.len())] ^= 1 << bit;
        prop_assert!(matches!(open_record(&key, owner, &bad), Err(Error::RecordDecrypt)));
        // Truncated.
        prop_assert!(open_record(&key, owner, &ct[..ct.len() - 1]).is_err());
        // Wrong owner.
        if other_owner != owner {
            prop_assert!(matches!(open_record(&key, other_owner, &ct), Err(Error::RecordDecrypt)));
        }
        // Wrong record id: the TEE recovering for another record gets another key (and AAD).
        if other_id != id {
            let wrong = recover(&tee_id, other_id, &m);
            prop_assert_eq!(wrong.record_id(), other_id);
            prop_assert!(matches!(open_record(&wrong, owner, &ct), Err(Error::RecordDecrypt)));
        }
        // Wrong key: a fresh share for the same record.
        let (fresh, _) = share(&tee_id, id);
        prop_assert!(matches!(open_record(&fresh, owner, &ct), Err(Error::RecordDecrypt)));
    }

    #[test]
    fn tee_recovers_the_owners_key(id in record_id(), owner in address(), pt in plaintext()) {
        let tee_id = Identity::random();
        let (key, m) = share(&tee_id, id);
        let ct = seal_record(&key, owner, &pt).unwrap();
        tee::check_pad_commitment(&m.r_c_pk_c[..], m.pad_commitment()).unwrap();

        let recovered = recover(&tee_id, id, &m);
        prop_assert_eq!(&open_record(&recovered, owner, &ct).unwrap()[..], &pt[..]);

        // A wrong SK_T gives a key that does not open the record.
        let other_tee = Identity::random();
        let wrong = recover(&other_tee, id, &m);
        prop_assert!(matches!(open_record(&wrong, owner, &ct), Err(Error::RecordDecrypt)));

        // A wrong r_C·PK_C (another share's pad) gives a key that does not open the record,
        // and is caught earlier by the pad commitment.
        let (_, other) = share(&tee_id, id);
        let wrong = tee::recover_data_key(&tee_id, id, &m.cm[..], &other.r_c_pk_c[..], &m.r_u_g[..]).unwrap();
        prop_assert!(matches!(open_record(&wrong, owner, &ct), Err(Error::RecordDecrypt)));
        prop_assert!(tee::check_pad_commitment(&other.r_c_pk_c[..], m.pad_commitment()).is_err());
    }

    #[test]
    fn result_round_trip_and_tamper(
        job in any::<[u8; 32]>(), other_job in any::<[u8; 32]>(), pt in plaintext(),
        flip in any::<prop::sample::Index>(), bit in 0u8..8,
    ) {
        let demander = Identity::random();
        let (job, other_job) = (JobId(B256::from(job)), JobId(B256::from(other_job)));
        let ct = seal_result(&demander.public_key(), job, &pt).unwrap();
        prop_assert_eq!(ct.len(), 33 + 12 + pt.len() + 16);
        prop_assert_eq!(&open_result(&demander, job, &ct).unwrap()[..], &pt[..]);

        let mut bad = ct.clone();
        bad[flip.index(ct.len())] ^= 1 << bit;
        prop_assert!(matches!(open_result(&demander, job, &bad), Err(Error::ResultDecrypt)));
        if other_job != job {
            prop_assert!(matches!(open_result(&demander, other_job, &ct), Err(Error::ResultDecrypt)));
        }
        prop_assert!(matches!(open_result(&Identity::random(), job, &ct), Err(Error::ResultDecrypt)));
    }
}

#[test]
fn large_record_and_result_round_trip() {
    let pt: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let tee_id = Identity::random();
    let id = RecordId::random();
    let (key, _) = share(&tee_id, id);
    let owner = Address::repeat_byte(7);
    let ct = seal_record(&key, owner, &pt).unwrap();
    assert_eq!(&open_record(&key, owner, &ct).unwrap()[..], &pt[..]);

    let demander = Identity::random();
    let job = JobId::random();
    let ct = seal_result(&demander.public_key(), job, &pt).unwrap();
    assert_eq!(&open_result(&demander, job, &ct).unwrap()[..], &pt[..]);
}

#[test]
fn sealing_twice_uses_fresh_nonces() {
    let tee_id = Identity::random();
    let (key, _) = share(&tee_id, RecordId::random());
    let a = seal_record(&key, Address::ZERO, b"same").unwrap();
    let b = seal_record(&key, Address::ZERO, b"same").unwrap();
    assert_ne!(a[..12], b[..12]);
    let demander = Identity::random();
    let a = seal_result(&demander.public_key(), JobId::default(), b"same").unwrap();
    let b = seal_result(&demander.public_key(), JobId::default(), b"same").unwrap();
    assert_ne!(a[..33], b[..33], "fresh ephemeral key per result");
}

#[test]
fn key_shares_are_fresh_per_record() {
    let tee_id = Identity::random();
    let id = RecordId::random();
    let (k1, m1) = share(&tee_id, id);
    let (_, m2) = share(&tee_id, id);
    assert_ne!(m1.cm, m2.cm);
    assert_ne!(m1.r_u_g, m2.r_u_g);
    assert_ne!(m1.r_c_pk_c, m2.r_c_pk_c);
    assert_eq!(k1.record_id(), id);
    assert_eq!(format!("{k1:?}"), "DataKey(..)");
}
