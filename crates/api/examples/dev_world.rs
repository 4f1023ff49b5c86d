//! A development world for trying the web app by hand or from a script, without `medshare`:
//! a fresh deployment on the embedded chain (an admin, a reviewer, an admitted TEE and one that
//! submitted its evidence but is not admitted (`pending_tee`); simulated evidence), `medshare serve`'s API and pages on `MEDSHARE_DEV_ADDR` (127.0.0.1:8099 by default),
//! and a stand-in TEE that verifies every approved job and, `MEDSHARE_DEV_RESULT_AFTER` seconds
//! later (10 by default: time for patients to grant), posts a result for it: a fixed
//! TrainingOutput (no record is decrypted, nothing is trained; its mechanism says so), sealed to
//! the job's demander and signed as the real TEE signs. It prints one JSON line with the URL and
//! the admin's and reviewer's secret keys (throwaway keys of this world only).
//!
//! `cargo run -p medshare-api --example dev_world`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use alloy_primitives::B256;
use alloy_signer_local::PrivateKeySigner;
use medshare_api::Api;
use medshare_chain::{ContractClient, JobStatus};
use medshare_crypto::{
    ciphertext_hash,
    eip712::{Domain, TrainingResult},
    public_key_from_bytes, seal_result,
};
use medshare_parties::meta::ResultMeta;
use medshare_primitives::JobId;
use medshare_storage::{Key, LocalStore, Store};
use medshare_testkit::{Backend, World};
use std::sync::Arc;

#[tokio::main]
async fn main() {
    let addr = std::env::var("MEDSHARE_DEV_ADDR").unwrap_or_else(|_| "127.0.0.1:8099".into());
    let backend = Backend::embedded().await.unwrap();
    let world = World::new(&backend).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(LocalStore::open(dir.path().join("store")).unwrap());
    let reader = ContractClient::attach(
        backend.wallet(PrivateKeySigner::random()).await.unwrap(),
        *world.admin.chain.deployment(),
    )
    .await
    .unwrap();
    // A second TEE that submitted simulated evidence bound to this deployment, not admitted: for
    // governance's "Verify and admit".
    let pending = world.new_party(&backend).await.unwrap();
    let anchors = medshare_parties::setup::trust_anchors(&world.admin.chain)
        .await
        .unwrap();
    pending
        .chain
        .submit_tee(
            pending.identity.public_key_uncompressed(),
            medshare_enclave_api::Evidence::simulated(
                medshare_testkit::simulated_measurement(),
                anchors,
            )
            .encode(),
        )
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(medshare_api::serve(
        listener,
        Api::new(reader, store.clone()),
        std::future::pending(),
    ));
    println!(
        "{}",
        serde_json::json!({
            "url": url,
            "admin_sk": format!("0x{}", hex::encode(world.admin.identity.signer().to_bytes())),
            "reviewer_sk": format!("0x{}", hex::encode(world.reviewer.identity.signer().to_bytes())),
            "tee": world.tee.identity.address().to_string(),
            "pending_tee": pending.address().to_string(),
        })
    );
    let chain = &world.tee.chain;
    let after = std::time::Duration::from_secs(
        std::env::var("MEDSHARE_DEV_RESULT_AFTER")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10),
    );
    let mut deployed = std::collections::HashMap::new();
    loop {
        for logged in chain.submissions().await.unwrap() {
            let job = JobId(logged.event.jobId);
            match chain.job_status(job).await.unwrap() {
                JobStatus::Approved => {
                    let view = world.view_block().await.unwrap();
                    let signature = world.tee_verification(job, B256::ZERO, view).unwrap();
                    chain
                        .post_model_verification(job, true, true, view, &signature)
                        .await
                        .unwrap();
                    deployed.insert(job.0, std::time::Instant::now());
                }
                JobStatus::Deployed
                    if deployed.get(&job.0).is_none_or(|at| at.elapsed() >= after) =>
                {
                    post_result(&world, store.as_ref(), job).await;
                }
                _ => {}
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

async fn post_result(world: &World, store: &dyn Store, job: JobId) {
    let chain = &world.tee.chain;
    let demander = chain.demander_of(job).await.unwrap();
    let key = public_key_from_bytes(&chain.public_key_of(demander).await.unwrap()).unwrap();
    let output = serde_json::json!({
        "model": {"type": "logistic_regression", "l2": 1.0, "max_iterations": 200, "tolerance": 0.0001},
        "parameters": {"type": "logistic_regression", "features": ["radius_mean"],
            "ranges": [{"min": 0.0, "max": 40.0}], "coefficients": [1.0], "intercept": 0.0},
        "metrics": {"type": "classification", "accuracy": 0.5, "roc_auc": null},
        "privacy": {"epsilon": "inf", "delta": 0.0,
            "mechanism": "dev world: a fixed result, nothing was trained"},
        "records_used": 0, "train_size": 0, "test_size": 0,
    });
    let sealed = seal_result(&key, job, &serde_json::to_vec(&output).unwrap()).unwrap();
    let hash = ciphertext_hash(&sealed).0;
    let view = world.view_block().await.unwrap();
    let domain = Domain::new(chain.chain_id(), chain.deployment().model);
    let signature = world
        .tee
        .identity
        .sign_typed(
            &domain,
            &TrainingResult {
                jobId: job.0,
                resultHash: hash,
                viewBlock: view.number,
                viewHash: view.hash,
                headersVerified: true,
            },
        )
        .unwrap();
    let meta = ResultMeta {
        job: job.0,
        tee: world.tee.identity.address(),
        signature: signature.to_bytes(),
    };
    store.put(&Key::result(&hash.0), sealed).await.unwrap();
    store
        .put(
            &Key::result_meta(&hash.0),
            serde_json::to_vec(&meta).unwrap(),
        )
        .await
        .unwrap();
    let batches = chain.debit_batches_of(job).await.unwrap();
    chain.post_result(job, hash, view, batches).await.unwrap();
}
