//! `medshare node` speaks standard Ethereum JSON-RPC: alloy's provider, with its recommended
//! fillers (chain id, nonce, gas estimate, EIP-1559 fees from `eth_feeHistory`) and a local
//! wallet, and foundry's `cast` work against it unchanged.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use alloy_network::{EthereumWallet, TransactionBuilder};
use alloy_primitives::{Address, Bytes, U256, hex};
use alloy_provider::{Provider, ProviderBuilder};
use alloy_rpc_types_eth::{BlockNumberOrTag, Filter, TransactionRequest};
use alloy_signer_local::PrivateKeySigner;
use medshare_testkit::process::Node;
use std::{path::Path, process::Command};

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_medshare"))
}

/// Initcode of a contract whose runtime always reverts with `0xdeadbeef`.
const REVERTER_INITCODE: &str = "6f63deadbeef60e01b60005260046000fd60005260106010f3";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alloy_provider_with_fillers_and_a_wallet() {
    let signer = PrivateKeySigner::random();
    let me = signer.address();
    let dir = tempfile::tempdir().unwrap();
    let alloc = format!("{me}=1000000000000000000000");
    let node = Node::spawn(bin(), dir.path(), &["--alloc", &alloc]).unwrap();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(node.endpoint().parse().unwrap());

    assert_eq!(provider.get_chain_id().await.unwrap(), 1337);
    let start = provider.get_block_number().await.unwrap();
    let balance = provider.get_balance(me).await.unwrap();
    assert_eq!(balance, U256::from(10u128.pow(21)));

    // A transfer, every field filled by alloy's fillers.
    let to = Address::repeat_byte(0x11);
    let tx = TransactionRequest::default()
        .with_to(to)
        .with_value(U256::from(12345));
    let receipt = provider
        .send_transaction(tx)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    assert_eq!(provider.get_balance(to).await.unwrap(), U256::from(12345));
    assert_eq!(provider.get_transaction_count(me).await.unwrap(), 1);
    let paid = balance - provider.get_balance(me).await.unwrap() - U256::from(12345);
    assert_eq!(
        paid,
        U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price)
    );

    // The block holding it, with full transactions, and the transaction by hash.
    let number = receipt.block_number.unwrap();
    assert!(number > start);
    let block = provider
        .get_block_by_number(number.into())
        .full()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(block.header.hash, receipt.block_hash.unwrap());
    let txs = block
        .transactions
        .as_transactions()
        .expect("full transactions");
    assert_eq!(txs.len(), 1);
    let tx = provider
        .get_transaction_by_hash(receipt.transaction_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tx.block_number, Some(number));

    // Deploy a contract; calling it reverts with its data, as on any node.
    let create = TransactionRequest::default()
        .with_deploy_code(Bytes::from(hex::decode(REVERTER_INITCODE).unwrap()));
    let deployed = provider
        .send_transaction(create)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let reverter = deployed.contract_address.unwrap();
    assert_eq!(
        provider.get_code_at(reverter).await.unwrap().as_ref(),
        &hex::decode("63deadbeef60e01b60005260046000fd").unwrap()[..]
    );
    let err = provider
        .call(TransactionRequest::default().with_to(reverter))
        .await
        .unwrap_err();
    let revert = err
        .as_error_resp()
        .and_then(|e| e.as_revert_data())
        .expect("revert data");
    assert_eq!(revert.as_ref(), hex::decode("deadbeef").unwrap());
    assert!(
        provider
            .estimate_gas(TransactionRequest::default().with_to(reverter))
            .await
            .is_err()
    );

    // Fee history as EIP-1559 wallets read it; logs; state of an old block is refused, not faked.
    let history = provider
        .get_fee_history(4, BlockNumberOrTag::Latest, &[50.0])
        .await
        .unwrap();
    assert_eq!(
        history.base_fee_per_gas.len(),
        history.gas_used_ratio.len() + 1
    );
    let logs = provider
        .get_logs(&Filter::new().from_block(0))
        .await
        .unwrap();
    assert!(logs.is_empty());
    let old = provider.get_balance(me).number(start).await;
    assert!(
        old.is_err(),
        "historical state must be refused, got {old:?}"
    );
    assert!(
        provider
            .get_block_by_number(10_000.into())
            .await
            .unwrap()
            .is_none()
    );
}

/// foundry's `cast`: `MEDSHARE_CAST`, the copy `scripts/test` installs in `.tools/`, or on PATH.
fn cast() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("MEDSHARE_CAST") {
        return p.into();
    }
    let tools = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".tools/cast/node_modules/@foundry-rs/cast-linux-amd64/bin/cast");
    if tools.is_file() {
        return tools;
    }
    panic!(
        "cast not found: run scripts/test (it installs cast from npm into .tools/) or set MEDSHARE_CAST"
    );
}

fn run_cast(args: &[&str]) -> String {
    let out = Command::new(cast()).args(args).output().expect("cast runs");
    assert!(
        out.status.success(),
        "cast {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cast_reads_and_sends() {
    let signer = PrivateKeySigner::random();
    let key = hex::encode(signer.to_bytes());
    let me = signer.address().to_string();
    let dir = tempfile::tempdir().unwrap();
    let alloc = format!("{me}=1000000000000000000000");
    let node = Node::spawn(bin(), dir.path(), &["--alloc", &alloc]).unwrap();
    let rpc = node.endpoint();

    assert_eq!(run_cast(&["chain-id", "--rpc-url", &rpc]), "1337");
    assert_eq!(
        run_cast(&["balance", &me, "--rpc-url", &rpc]),
        "1000000000000000000000"
    );
    let to = "0x2222222222222222222222222222222222222222";
    let sent = run_cast(&[
        "send",
        "--rpc-url",
        &rpc,
        "--private-key",
        &key,
        "--value",
        "777",
        to,
        "--json",
    ]);
    let receipt: serde_json::Value = serde_json::from_str(&sent).unwrap();
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(run_cast(&["balance", to, "--rpc-url", &rpc]), "777");
    assert_eq!(run_cast(&["nonce", &me, "--rpc-url", &rpc]), "1");
    let number = run_cast(&["block-number", "--rpc-url", &rpc]);
    let block = run_cast(&["block", &number, "--rpc-url", &rpc, "--json"]);
    let block: serde_json::Value = serde_json::from_str(&block).unwrap();
    assert_eq!(block["hash"], receipt["blockHash"]);
}

/// `medshare node` runs itself with glibc's malloc held to one arena and a fixed mmap threshold
/// (what keeps its memory level under `medshare bench load`), and leaves an operator's own
/// settings alone.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn node_runs_with_bounded_malloc_unless_the_operator_chose() {
    use std::io::{BufRead, BufReader};
    let environ_of = |preset: Option<(&str, &str)>| -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new(bin());
        command
            .args(["node", "--addr", "127.0.0.1:0", "--light-kdf", "--json"])
            .arg("--data-dir")
            .arg(dir.path())
            .env("MEDSHARE_PASSWORD", "a password for a test")
            .env_remove("MALLOC_ARENA_MAX")
            .env_remove("MALLOC_MMAP_THRESHOLD_")
            .stdout(std::process::Stdio::piped());
        if let Some((name, value)) = preset {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let serving: serde_json::Value = serde_json::from_str(&line).unwrap();
        // The process that serves is the one that was started: exec keeps the pid.
        assert_eq!(serving["pid"].as_u64().unwrap(), u64::from(child.id()));
        let environ = std::fs::read(format!("/proc/{}/environ", child.id())).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        environ
            .split(|b| *b == 0)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .filter(|v| v.starts_with("MALLOC_"))
            .collect()
    };
    let mut own = environ_of(None);
    own.sort();
    assert_eq!(
        own,
        ["MALLOC_ARENA_MAX=1", "MALLOC_MMAP_THRESHOLD_=131072"],
        "the node's own malloc settings"
    );
    assert_eq!(
        environ_of(Some(("MALLOC_ARENA_MAX", "4"))),
        ["MALLOC_ARENA_MAX=4"],
        "an operator's setting stands, and the node adds none"
    );
}
