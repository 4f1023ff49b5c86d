//! EIP-712: known answers (the EIP's own "Mail" example and our structs against
//! `testdata/eip712.json`, made by eth-account), and what a signature must not survive.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use alloy_primitives::{Address, B256, Bytes, U256, b256};
use alloy_sol_types::{Eip712Domain, SolStruct, eip712_domain, sol};
use medshare_crypto::eip712::{
    self, Consent, Domain, ModelSubmission, Record, Signature, TrainingResult, Verification,
};
use medshare_crypto::{Error, Identity};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("../testdata/eip712.json")).unwrap()
}

fn b32(v: &Value) -> B256 {
    v.as_str().unwrap().parse().unwrap()
}
fn addr(v: &Value) -> Address {
    v.as_str().unwrap().parse().unwrap()
}
fn bytes(v: &Value) -> Bytes {
    v.as_str().unwrap().parse().unwrap()
}
fn uint(v: &Value) -> U256 {
    v.as_str().unwrap().parse().unwrap()
}
fn u64_(v: &Value) -> u64 {
    v.as_str().unwrap().parse().unwrap()
}

fn record_from(m: &Value) -> Record {
    Record {
        owner: addr(&m["owner"]),
        recordId: b32(&m["recordId"]),
        dataType: b32(&m["dataType"]),
        storageIndex: b32(&m["storageIndex"]),
        ciphertextHash: b32(&m["ciphertextHash"]),
        timestamp: u64_(&m["timestamp"]),
        cm: bytes(&m["cm"]),
        rUg: bytes(&m["rUg"]),
        padCommitment: b32(&m["padCommitment"]),
        tee: addr(&m["tee"]),
    }
}

/// Checks one struct against its vector: type hash, struct hash, domain separator, signing hash,
/// and the (deterministic RFC 6979) signature, which must also verify.
fn check<T: SolStruct>(v: &Value, name: &str, value: &T) {
    let s = &v["structs"][name];
    let domain = Domain::new(
        v["chain_id"].as_u64().unwrap(),
        addr(&v["verifying_contract"]),
    );
    assert_eq!(
        value.eip712_type_hash(),
        b32(&s["type_hash"]),
        "{name} type hash"
    );
    assert_eq!(
        value.eip712_hash_struct(),
        b32(&s["hash_struct"]),
        "{name} hashStruct"
    );
    assert_eq!(
        domain.separator(),
        b32(&s["domain_separator"]),
        "{name} domain"
    );
    assert_eq!(
        eip712::signing_hash(&domain, value),
        b32(&s["signing_hash"]),
        "{name} digest"
    );

    let sk: [u8; 32] = hex::decode(v["signer_sk"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let signer = Identity::from_secret_bytes(&sk).unwrap();
    assert_eq!(signer.address(), addr(&v["signer_address"]));
    let sig = signer.sign_typed(&domain, value).unwrap();
    assert_eq!(sig.to_bytes(), bytes(&s["signature"]), "{name} signature");
    let theirs = Signature::from_slice(&bytes(&s["signature"])).unwrap();
    eip712::verify(&domain, value, &theirs, signer.address()).unwrap();
}

#[test]
fn all_five_structs_match_eth_account() {
    let v = vectors();
    let s = &v["structs"];
    let record = record_from(&s["Record"]["message"]);
    check(&v, "Record", &record);
    assert_eq!(
        eip712::record_commitment(&record),
        b32(&s["Record"]["hash_struct"])
    );

    let m = &s["Consent"]["message"];
    check(
        &v,
        "Consent",
        &Consent {
            ciphertextHash: b32(&m["ciphertextHash"]),
            jobId: b32(&m["jobId"]),
            rCPkC: bytes(&m["rCPkC"]),
            budgetMilli: u64_(&m["budgetMilli"]) as u32,
            nonce: uint(&m["nonce"]),
            deadline: uint(&m["deadline"]),
        },
    );

    let m = &s["ModelSubmission"]["message"];
    let sub = ModelSubmission {
        demander: addr(&m["demander"]),
        modelHash: b32(&m["modelHash"]),
        requirementHash: b32(&m["requirementHash"]),
        dataType: b32(&m["dataType"]),
        timestamp: u64_(&m["timestamp"]),
        minCohort: u64_(&m["minCohort"]) as u32,
        epsilonMilli: u64_(&m["epsilonMilli"]) as u32,
    };
    check(&v, "ModelSubmission", &sub);
    assert_eq!(
        eip712::job_id(&sub).0,
        b32(&s["ModelSubmission"]["hash_struct"])
    );

    let m = &s["Verification"]["message"];
    check(
        &v,
        "Verification",
        &Verification {
            jobId: b32(&m["jobId"]),
            subject: b32(&m["subject"]),
            hashOk: m["hashOk"].as_bool().unwrap(),
            signatureOk: m["signatureOk"].as_bool().unwrap(),
            viewBlock: u64_(&m["viewBlock"]),
            viewHash: b32(&m["viewHash"]),
            headersVerified: m["headersVerified"].as_bool().unwrap(),
        },
    );

    let m = &s["TrainingResult"]["message"];
    check(
        &v,
        "TrainingResult",
        &TrainingResult {
            jobId: b32(&m["jobId"]),
            resultHash: b32(&m["resultHash"]),
            viewBlock: u64_(&m["viewBlock"]),
            viewHash: b32(&m["viewHash"]),
            headersVerified: m["headersVerified"].as_bool().unwrap(),
        },
    );
}

sol! {
    struct Person { string name; address wallet; }
    struct Mail { Person from; Person to; string contents; }
}

/// The example of EIP-712 itself; its digest is published in the EIP.
#[test]
fn eip712_mail_example() {
    let domain: Eip712Domain = eip712_domain! {
        name: "Ether Mail",
        version: "1",
        chain_id: 1,
        verifying_contract: Address::repeat_byte(0xcc),
    };
    let mail = Mail {
        from: Person {
            name: "Cow".into(),
            wallet: "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"
                .parse()
                .unwrap(),
        },
        to: Person {
            name: "Bob".into(),
            wallet: "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"
                .parse()
                .unwrap(),
        },
        contents: "Hello, Bob!".into(),
    };
    assert_eq!(
        mail.eip712_signing_hash(&domain),
        b256!("be609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2")
    );
}

fn sample_record(owner: Address) -> Record {
    Record {
        owner,
        recordId: B256::repeat_byte(1),
        dataType: B256::repeat_byte(2),
        storageIndex: B256::repeat_byte(3),
        ciphertextHash: B256::repeat_byte(4),
        timestamp: 1_700_000_000,
        cm: Bytes::from(vec![2u8; 33]),
        rUg: Bytes::from(vec![3u8; 33]),
        padCommitment: B256::repeat_byte(5),
        tee: Address::repeat_byte(6),
    }
}

#[test]
fn signature_binds_domain_and_fields() {
    let owner = Identity::random();
    let data = Address::repeat_byte(0xda);
    let domain = Domain::new(1337, data);
    let record = sample_record(owner.address());
    let sig = owner.sign_typed(&domain, &record).unwrap();
    eip712::verify(&domain, &record, &sig, owner.address()).unwrap();
    assert_eq!(
        eip712::recover(&domain, &record, &sig).unwrap(),
        owner.address()
    );

    let wrong_signer = |r: Result<(), Error>| {
        assert!(
            matches!(r, Err(Error::WrongSigner { expected, recovered }) if expected == owner.address() && recovered != expected)
        );
    };
    // Another chain, another verifying contract.
    wrong_signer(eip712::verify(
        &Domain::new(31337, data),
        &record,
        &sig,
        owner.address(),
    ));
    wrong_signer(eip712::verify(
        &Domain::new(1337, Address::repeat_byte(0xdb)),
        &record,
        &sig,
        owner.address(),
    ));
    // Any field changed.
    let mut changed = sample_record(owner.address());
    changed.timestamp += 1;
    wrong_signer(eip712::verify(&domain, &changed, &sig, owner.address()));
    let mut changed = sample_record(owner.address());
    changed.cm = Bytes::from(vec![3u8; 33]);
    wrong_signer(eip712::verify(&domain, &changed, &sig, owner.address()));
    // The same struct hash under another type name does not verify either.
    let tr = TrainingResult {
        jobId: B256::ZERO,
        resultHash: B256::ZERO,
        viewBlock: 0,
        viewHash: B256::ZERO,
        headersVerified: true,
    };
    let tr_sig = owner.sign_typed(&domain, &tr).unwrap();
    assert!(eip712::verify(&domain, &record, &tr_sig, owner.address()).is_err());
    // Another signer.
    let other = Identity::random();
    assert!(eip712::verify(&domain, &record, &sig, other.address()).is_err());
    assert_eq!(eip712::sign(&owner, &domain, &record).unwrap(), sig);
}

#[test]
fn high_s_twin_is_rejected() {
    let owner = Identity::random();
    let domain = Domain::new(1337, Address::repeat_byte(0xda));
    let record = sample_record(owner.address());
    let sig = owner.sign_typed(&domain, &record).unwrap();
    let n = U256::from_be_slice(
        &hex::decode("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141").unwrap(),
    );
    let b = sig.as_bytes();
    let s = U256::from_be_slice(&b[32..64]);
    let mut twin = *b;
    twin[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
    twin[64] = if b[64] == 27 { 28 } else { 27 };
    // The twin is a valid ECDSA signature by the same key (plain recovery accepts it) ...
    let alloy_sig = alloy_primitives::Signature::from_raw(&twin).unwrap();
    assert_eq!(
        alloy_sig
            .recover_address_from_prehash(&eip712::signing_hash(&domain, &record))
            .unwrap(),
        owner.address()
    );
    // ... but it is not canonical, so it never becomes a `Signature`.
    assert!(matches!(
        Signature::from_slice(&twin),
        Err(Error::BadSignature { .. })
    ));
    let mut v0 = *b;
    v0[64] -= 27;
    assert!(
        Signature::from_slice(&v0).is_err(),
        "v must be 27/28, not 0/1"
    );
}
