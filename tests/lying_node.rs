//! A node that lies to a patient: the JSON-RPC endpoint the patient's `medshare user upload`
//! talks to answers `Registration.publicKeyOf(tee)` with a key of its own. The patient checks
//! that the key hashes to the TEE's address before sharing any data key, so the upload fails
//! with a clear error and nothing is stored or registered. The same upload through an honest
//! endpoint to the same chain succeeds (the control).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::SolCall;
use medshare_chain::Registration;
use medshare_crypto::{Identity, KdfCost, create_keystore_with};
use medshare_ledger::{
    Block, Filter, Ledger, Log, Result, Transaction, TransactionReceipt, TransactionRequest,
};
use medshare_node::server::RpcServer;
use medshare_primitives::Role;
use medshare_testkit::{Backend, TEST_PASSWORD, World};
use std::{net::SocketAddr, path::Path, process::Command, sync::Arc};

const WDBC: &str = include_str!("../data/wdbc/wdbc.csv");

/// Answers everything truthfully except `publicKeyOf(victim)`, for which it returns `fake`.
struct LyingNode {
    inner: Arc<dyn Ledger>,
    registration: Address,
    victim: Address,
    fake: Bytes,
}

#[async_trait::async_trait]
impl Ledger for LyingNode {
    async fn chain_id(&self) -> Result<u64> {
        self.inner.chain_id().await
    }
    async fn block_number(&self) -> Result<u64> {
        self.inner.block_number().await
    }
    async fn nonce(&self, address: Address) -> Result<u64> {
        self.inner.nonce(address).await
    }
    async fn balance(&self, address: Address) -> Result<U256> {
        self.inner.balance(address).await
    }
    async fn code(&self, address: Address) -> Result<Bytes> {
        self.inner.code(address).await
    }
    async fn gas_price(&self) -> Result<u128> {
        self.inner.gas_price().await
    }
    async fn estimate_gas(&self, tx: &TransactionRequest) -> Result<u64> {
        self.inner.estimate_gas(tx).await
    }
    async fn call(&self, tx: &TransactionRequest) -> Result<Bytes> {
        let input = tx.input.input().cloned().unwrap_or_default();
        if tx.to.and_then(|t| t.to().copied()) == Some(self.registration)
            && input.starts_with(&Registration::publicKeyOfCall::SELECTOR)
            && Registration::publicKeyOfCall::abi_decode(&input)
                .is_ok_and(|c| c.account == self.victim)
        {
            return Ok(Registration::publicKeyOfCall::abi_encode_returns(&self.fake).into());
        }
        self.inner.call(tx).await
    }
    async fn send_raw_transaction(&self, raw: Bytes) -> Result<B256> {
        self.inner.send_raw_transaction(raw).await
    }
    async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>> {
        self.inner.receipt(hash).await
    }
    async fn logs(&self, filter: &Filter) -> Result<Vec<Log>> {
        self.inner.logs(filter).await
    }
    async fn block(&self, number: u64) -> Result<Option<Block>> {
        self.inner.block(number).await
    }
    async fn block_by_hash(&self, hash: B256) -> Result<Option<Block>> {
        self.inner.block_by_hash(hash).await
    }
    async fn transaction(&self, hash: B256) -> Result<Option<Transaction>> {
        self.inner.transaction(hash).await
    }
    async fn proof(
        &self,
        address: Address,
        slots: Vec<B256>,
        block: u64,
    ) -> Result<alloy_rpc_types_eth::EIP1186AccountProofResponse> {
        self.inner.proof(address, slots, block).await
    }
}

fn upload(dir: &Path, rpc: &str, keystore: &Path, tee: Address) -> std::process::Output {
    let csv = dir.join("rows.csv");
    let rows: Vec<&str> = WDBC.lines().take(4).collect();
    std::fs::write(&csv, rows.join("\n") + "\n").unwrap();
    Command::new(env!("CARGO_BIN_EXE_medshare"))
        .args(["user", "upload", "--input"])
        .arg(&csv)
        .args(["--tee", &tee.to_string(), "--rpc", rpc])
        .arg("--keystore")
        .arg(keystore)
        .arg("--deployment")
        .arg(dir.join("deployment.json"))
        .arg("--store")
        .arg(dir.join("store"))
        .arg("--state")
        .arg(dir.join("state.json"))
        .env("MEDSHARE_PASSWORD", TEST_PASSWORD)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_substituted_tee_key_makes_the_upload_fail_and_shares_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::embedded().await.unwrap();
    let w = World::new(&backend).await.unwrap();
    w.admin
        .chain
        .save_deployment(&dir.path().join("deployment.json"))
        .unwrap();
    // A patient with a keystore, registered on the world's deployment.
    let (patient, keystore) =
        create_keystore_with(dir.path(), "patient.json", TEST_PASSWORD, KdfCost::Light).unwrap();
    let chain = w
        .admin
        .chain
        .as_party(backend.wallet(patient.signer().clone()).await.unwrap());
    chain
        .register(Role::User, patient.public_key_uncompressed())
        .await
        .unwrap();

    // The lying endpoint answers the TEE's key with one its operator holds.
    let attacker = Identity::random();
    let lying = Arc::new(LyingNode {
        inner: backend.ledger(),
        registration: w.admin.chain.deployment().registration,
        victim: w.tee.address(),
        fake: Bytes::copy_from_slice(attacker.public_key_uncompressed().as_slice()),
    });
    let server = RpcServer::start(lying, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let endpoint = server.endpoint();
    let keystore_path = keystore.clone();
    let tee = w.tee.address();
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || upload(&d, &endpoint, &keystore_path, tee))
        .await
        .unwrap();
    assert!(!out.status.success(), "the upload must fail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is not that TEE's") && stderr.contains(&attacker.address().to_string()),
        "{stderr}"
    );
    assert!(
        w.admin
            .chain
            .records_of_owner(patient.address())
            .await
            .unwrap()
            .is_empty(),
        "nothing registered"
    );
    let stored = std::fs::read_dir(dir.path().join("store"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(stored, 0, "nothing stored");
    server.stop().await;

    // Control: the same upload through an honest endpoint to the same chain works.
    let honest = RpcServer::start(backend.ledger(), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let endpoint = honest.endpoint();
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || upload(&d, &endpoint, &keystore, tee))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        w.admin
            .chain
            .records_of_owner(patient.address())
            .await
            .unwrap()
            .len(),
        3
    );
    honest.stop().await;
}
