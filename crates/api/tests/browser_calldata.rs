//! The calldata and signed transactions the web app builds (viem, web/src/app/chain.ts) are the
//! ones the Rust parties build (alloy, medshare-chain): both sides check the same fixture,
//! web/test/fixtures/calldata.json (`MEDSHARE_WRITE_FIXTURE=1` rewrites it from this side).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_sol_types::SolCall;
use medshare_chain::ContractClient;
use medshare_contracts::Registration;
use medshare_crypto::{
    Identity,
    eip712::{ModelSubmission, Record, job_id},
};
use medshare_primitives::{DataType, JobId, Role};
use serde_json::json;

fn hex0x(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

fn fixture() -> serde_json::Value {
    let identity = Identity::from_secret_bytes(&[0x11; 32]).unwrap();
    let owner = identity.address();
    let data_type = DataType::new("breast-cancer-wdbc").unwrap().id();
    let record = Record {
        owner,
        recordId: B256::repeat_byte(0x22),
        dataType: data_type,
        storageIndex: B256::repeat_byte(0x33),
        ciphertextHash: B256::repeat_byte(0x33),
        timestamp: 1_700_000_000,
        cm: Bytes::from(vec![0x02; 33]),
        rUg: Bytes::from(vec![0x03; 33]),
        padCommitment: B256::repeat_byte(0x44),
        tee: Address::repeat_byte(0x55),
    };
    let job = JobId(B256::repeat_byte(0x66));
    let pad = Bytes::from(vec![0x02; 33]);
    let register = Registration::registerCall {
        role: Role::User as u8,
        publicKey: identity.public_key_uncompressed().into(),
    }
    .abi_encode();
    let register_records =
        ContractClient::register_records_call(data_type, std::slice::from_ref(&record))
            .abi_encode();
    let grant = ContractClient::grant_call(&record, job, pad.clone(), 3000).abi_encode();
    let submission = ModelSubmission {
        demander: owner,
        modelHash: B256::repeat_byte(0x77),
        requirementHash: B256::repeat_byte(0x88),
        dataType: data_type,
        timestamp: 1_700_000_001,
        minCohort: 100,
        epsilonMilli: 1000,
    };
    let signature = medshare_crypto::eip712::Signature::from_slice(&[0x1b; 65]).ok();
    let submit = signature.map(|sig| {
        ContractClient::submit_model_call(
            &submission,
            Bytes::from_static(b"{\"m\":1}"),
            Bytes::from_static(b"{\"r\":2}"),
            &sig,
        )
        .abi_encode()
    });
    // The registration, signed as the browser signs it: EIP-1559, chain 31337, nonce 0, gas
    // 120000, fees 0.
    let tx = TxEip1559 {
        chain_id: 31337,
        nonce: 0,
        gas_limit: 120_000,
        max_fee_per_gas: 0,
        max_priority_fee_per_gas: 0,
        to: TxKind::Call(Address::repeat_byte(0x99)),
        value: U256::ZERO,
        access_list: Default::default(),
        input: register.clone().into(),
    };
    let sig = identity
        .signer()
        .sign_hash_sync(&tx.signature_hash())
        .unwrap();
    let raw = TxEnvelope::from(tx.into_signed(sig)).encoded_2718();
    json!({
        "secret_key": hex0x(&[0x11; 32]),
        "owner": owner.to_string(),
        "public_key": identity.public_key_uncompressed().to_string(),
        "data_type": data_type.to_string(),
        "record": serde_json::to_value(&record).unwrap(),
        "record_commitment": medshare_crypto::eip712::record_commitment(&record).to_string(),
        "job": job.0.to_string(),
        "pad": pad.to_string(),
        "register": hex0x(&register),
        "register_records": hex0x(&register_records),
        "grant": hex0x(&grant),
        "submission": {
            "demander": submission.demander.to_string(),
            "modelHash": submission.modelHash.to_string(),
            "requirementHash": submission.requirementHash.to_string(),
            "dataType": submission.dataType.to_string(),
            "timestamp": submission.timestamp,
            "minCohort": submission.minCohort,
            "epsilonMilli": submission.epsilonMilli,
        },
        "submission_job_id": job_id(&submission).0.to_string(),
        "submit_model": submit.map(|s| hex0x(&s)),
        "register_tx_to": Address::repeat_byte(0x99).to_string(),
        "register_tx_raw": hex0x(&raw),
    })
}

#[test]
fn the_browser_encodes_calls_and_transactions_as_the_rust_parties_do() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../web/test/fixtures/calldata.json");
    let ours = fixture();
    if std::env::var_os("MEDSHARE_WRITE_FIXTURE").is_some() {
        std::fs::write(
            &path,
            format!("{}\n", serde_json::to_string_pretty(&ours).unwrap()),
        )
        .unwrap();
    }
    let theirs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(ours, theirs, "{} is stale", path.display());
}
