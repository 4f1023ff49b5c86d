//! Records sealed and signed by the browser's code (web/src/crypto, TypeScript: the key share of
//! eq. (4), AES-256-GCM through WebCrypto, the owner's EIP-712 signature through viem) are
//! verified, decrypted and trained on by the Rust enclave, on the same chain in memory as
//! `job.rs`. The TypeScript runs in Node.js from the built library (`web/dist`, which
//! `scripts/test` builds with `npm run build:lib` before the Rust tests).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use alloy_primitives::{Address, B256, Bytes, hex};
use common::{CHAIN_ID, Patient, Tee, Terms};
use medshare_contracts::{Audit, UseOutcome};
use medshare_crypto::{
    Identity, PublicKey,
    eip712::{Record, Signature},
    open_result,
};
use medshare_enclave::Response;
use medshare_enclave_api::RecordOutcome;
use medshare_training::TrainingOutput;
use std::{
    io::Write,
    path::Path,
    process::{Command, Stdio},
};

/// `n` WDBC patients' records, each made by `web/scripts/seal-records.ts` under a fresh owner
/// key generated there.
fn browser_patients(
    n: usize,
    tee_key: &PublicKey,
    tee: Address,
    deployment: &medshare_contracts::Deployment,
    data_type: B256,
) -> Vec<Patient> {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/dist/scripts/seal-records.js");
    assert!(
        script.exists(),
        "{} is missing: build the web library (cd web && npm ci && npm run build:lib; scripts/test does)",
        script.display()
    );
    let plaintexts: Vec<String> = common::wdbc_plaintexts(n).iter().map(hex::encode).collect();
    let input = serde_json::json!({
        "chain_id": CHAIN_ID,
        "data": deployment.data,
        "authorization": deployment.authorization,
        "tee": tee,
        "pk_tee": hex::encode(tee_key.to_sec1_bytes()),
        "data_type": data_type,
        "timestamp": 1_700_000_000u64,
        "plaintexts": plaintexts,
    });
    let mut child = Command::new("node")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("Node.js runs the browser code: install it (scripts/test needs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "seal-records failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sealed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let bytes = |v: &serde_json::Value| hex::decode(v.as_str().unwrap()).unwrap();
    let word = |v: &serde_json::Value| B256::from_slice(&bytes(v));
    sealed
        .iter()
        .map(|s| {
            let r = &s["record"];
            let owner_sk: [u8; 32] = bytes(&s["owner_sk"]).try_into().unwrap();
            let owner = Identity::from_secret_bytes(&owner_sk).unwrap();
            let record = Record {
                owner: r["owner"].as_str().unwrap().parse().unwrap(),
                recordId: word(&r["recordId"]),
                dataType: word(&r["dataType"]),
                storageIndex: word(&r["storageIndex"]),
                ciphertextHash: word(&r["ciphertextHash"]),
                timestamp: r["timestamp"].as_u64().unwrap(),
                cm: Bytes::from(bytes(&r["cm"])),
                rUg: Bytes::from(bytes(&r["rUg"])),
                padCommitment: word(&r["padCommitment"]),
                tee: r["tee"].as_str().unwrap().parse().unwrap(),
            };
            // What the browser produced is what the chain will hold: its owner, this TEE, this
            // data type; nothing here is re-derived in Rust.
            assert_eq!(record.owner, owner.address());
            assert_eq!((record.tee, record.dataType), (tee, data_type));
            Patient {
                owner,
                record,
                signature: Signature::from_slice(&bytes(&s["signature"])).unwrap(),
                pad: Bytes::from(bytes(&s["pad"])),
                ciphertext: bytes(&s["ciphertext"]),
            }
        })
        .collect()
}

fn outcomes(answer: medshare_enclave_api::Result<Response>) -> Vec<RecordOutcome> {
    match answer.unwrap() {
        Response::RecordsChecked { outcomes, .. } => outcomes,
        other => panic!("not RecordsChecked: {other:?}"),
    }
}

#[test]
fn records_sealed_and_signed_by_the_browser_code_are_verified_decrypted_and_trained_on() {
    let n = 10;
    let mut tee = Tee::with_patients(n, Terms::default(), browser_patients);
    let Response::ModelVerified { hash_ok: true, .. } = tee.begin().unwrap() else {
        panic!("the model verifies");
    };
    let checked = outcomes(tee.add(&(0..n).collect::<Vec<_>>()));
    assert!(checked.iter().all(|o| o.used), "{checked:?}");

    tee.chain.mine(1);
    let Response::DebitsPending { records_used, .. } = tee.finish().unwrap() else {
        panic!("DebitsPending");
    };
    assert_eq!(records_used, n as u64);
    tee.set_debits(1);
    tee.chain.mine(1);
    let Response::JobFinished(result) = tee.release().unwrap() else {
        panic!("JobFinished");
    };
    let entries: Vec<Audit::AuditEntry> = result
        .txs
        .iter()
        .filter(|tx| tx.what == "Audit.recordUse")
        .flat_map(|tx| {
            <Audit::recordUseCall as alloy_sol_types::SolCall>::abi_decode(&tx.input)
                .unwrap()
                .entries
        })
        .collect();
    assert_eq!(entries.len(), n);
    assert!(entries.iter().all(|e| e.outcome == UseOutcome::Used as u8));
    let plain = open_result(&tee.demander, tee.ctx.job, &result.result).unwrap();
    let output: TrainingOutput = serde_json::from_slice(&plain).unwrap();
    assert_eq!(output.records_used, n as u64);
}

#[test]
fn a_browser_record_altered_after_signing_is_refused() {
    let mut tee = Tee::with_patients(6, Terms::default(), browser_patients);
    // The store (or anyone on the way) flips one bit of patient 0's ciphertext: its hash no longer
    // matches the Record the owner signed and registered.
    tee.patients[0].ciphertext[20] ^= 1;
    let Response::ModelVerified { .. } = tee.begin().unwrap() else {
        panic!("ModelVerified");
    };
    let checked = outcomes(tee.add(&[0, 1]));
    assert!(!checked[0].used, "{checked:?}");
    assert!(checked[1].used, "{checked:?}");
}
