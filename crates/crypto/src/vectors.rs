//! Known-answer tests against `testdata/keyshare.json`, generated independently by
//! `testdata/gen_vectors.py` (textbook curve arithmetic in Python, OpenSSL's HKDF and AES-GCM).
//! They pin the key-sharing arithmetic, the HKDF inputs, and both AEAD wire formats.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use alloy_primitives::{Address, B256};
use k256::NonZeroScalar;
use medshare_primitives::{JobId, RecordId};
use serde_json::Value;

use crate::identity::compress;
use crate::{Identity, keyshare, open_record, open_result, pk_c, record, result, tee};

fn vector() -> Value {
    serde_json::from_str(include_str!("../testdata/keyshare.json")).unwrap()
}

fn bytes(v: &Value, key: &str) -> Vec<u8> {
    let s = v[key].as_str().unwrap_or_else(|| panic!("missing {key}"));
    hex::decode(s.trim_start_matches("0x")).unwrap()
}

fn arr32(v: &Value, key: &str) -> [u8; 32] {
    bytes(v, key).try_into().unwrap()
}

fn scalar(v: &Value, key: &str) -> NonZeroScalar {
    Option::from(NonZeroScalar::from_repr(arr32(v, key).into())).unwrap()
}

#[test]
fn pk_c_matches_vector() {
    let v = vector();
    let auth: Address = v["authorization"].as_str().unwrap().parse().unwrap();
    let got = pk_c(v["chain_id"].as_u64().unwrap(), auth);
    assert_eq!(compress(&got).to_vec(), bytes(&v, "pk_c"));
}

#[test]
fn owner_side_key_share_matches_vector() {
    let v = vector();
    let tee_id = Identity::from_secret_bytes(&arr32(&v, "sk_tee")).unwrap();
    assert_eq!(tee_id.public_key_compressed().to_vec(), bytes(&v, "pk_tee"));
    let pk_c = crate::public_key_from_bytes(&bytes(&v, "pk_c")).unwrap();
    let record_id = RecordId(B256::from(arr32(&v, "record_id")));
    let (key, m) = keyshare::share_with_scalars(
        &scalar(&v, "k"),
        &scalar(&v, "r_u"),
        &scalar(&v, "r_c"),
        record_id,
        &tee_id.public_key(),
        &pk_c,
    )
    .unwrap();
    assert_eq!(m.cm.to_vec(), bytes(&v, "cm"));
    assert_eq!(m.r_u_g.to_vec(), bytes(&v, "r_u_g"));
    assert_eq!(m.r_c_pk_c.to_vec(), bytes(&v, "r_c_pk_c"));
    assert_eq!(m.pad_commitment().to_vec(), bytes(&v, "pad_commitment"));
    assert_eq!(key.as_bytes().to_vec(), bytes(&v, "data_key"));
    assert_eq!(key.record_id(), record_id);
}

#[test]
fn tee_recovery_matches_vector() {
    let v = vector();
    let tee_id = Identity::from_secret_bytes(&arr32(&v, "sk_tee")).unwrap();
    let record_id = RecordId(B256::from(arr32(&v, "record_id")));
    let key = tee::recover_data_key(
        &tee_id,
        record_id,
        &bytes(&v, "cm"),
        &bytes(&v, "r_c_pk_c"),
        &bytes(&v, "r_u_g"),
    )
    .unwrap();
    assert_eq!(key.as_bytes().to_vec(), bytes(&v, "data_key"));
    tee::check_pad_commitment(
        &bytes(&v, "r_c_pk_c"),
        B256::from(arr32(&v, "pad_commitment")),
    )
    .unwrap();

    // The record ciphertext from the vector opens with the recovered key, and our sealing with
    // the same nonce reproduces it byte for byte.
    let r = &v["record"];
    let owner = Address::from_slice(&bytes(r, "owner"));
    let opened = open_record(&key, owner, &bytes(r, "ciphertext")).unwrap();
    assert_eq!(&opened[..], &bytes(r, "plaintext")[..]);
    let nonce: [u8; 12] = bytes(r, "nonce").try_into().unwrap();
    let sealed =
        record::seal_record_with_nonce(&key, owner, &bytes(r, "plaintext"), &nonce).unwrap();
    assert_eq!(sealed, bytes(r, "ciphertext"));
}

#[test]
fn result_ecies_matches_vector() {
    let v = vector();
    let r = &v["result"];
    let recipient = Identity::from_secret_bytes(&arr32(r, "recipient_sk")).unwrap();
    assert_eq!(
        recipient.public_key_compressed().to_vec(),
        bytes(r, "recipient_pk")
    );
    let job = JobId(B256::from(arr32(r, "job_id")));
    let nonce: [u8; 12] = bytes(r, "nonce").try_into().unwrap();
    let sealed = result::seal_result_with(
        &scalar(r, "ephemeral_sk"),
        &nonce,
        &recipient.public_key(),
        job,
        &bytes(r, "plaintext"),
    )
    .unwrap();
    assert_eq!(sealed, bytes(r, "ciphertext"));
    let opened = open_result(&recipient, job, &bytes(r, "ciphertext")).unwrap();
    assert_eq!(&opened[..], &bytes(r, "plaintext")[..]);
}
