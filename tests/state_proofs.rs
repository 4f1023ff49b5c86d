//! The embedded chain's state commitments are Ethereum's: the same contract, deployed from the
//! same key and nonce and sent the same transactions, has byte-for-byte the same storage trie
//! (root and proofs) on the embedded chain as on anvil; `medshare node` serves `eth_getProof`
//! to alloy and to `cast proof`; and every proof from either node verifies with
//! `medshare-light` against its own block header (on the embedded chain, a header whose seal
//! recovers to the sealer).
//!
//! One difference is pinned down rather than hidden: a slot set to zero is deleted from the
//! storage trie by Ethereum clients (and by the embedded chain), while anvil 1.7 keeps it as a
//! leaf holding zero (its storage root is built from its in-memory storage map). After a
//! deletion the two roots therefore differ, each exactly as predicted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::Path, process::Command, sync::Arc};

use alloy_network::{EthereumWallet, TransactionBuilder};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_provider::{Provider, ProviderBuilder};
use alloy_rpc_types_eth::{BlockNumberOrTag, EIP1186AccountProofResponse, TransactionRequest};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolValue};
use medshare_contracts::{Contract, Deployment, Registration};
use medshare_crypto::Identity;
use medshare_ledger::{
    Ledger,
    rpc::RpcLedger,
    wallet::{Call, Wallet},
};
use medshare_light::{VerifiedAccount, header::sealer_of, verify_account};
use medshare_node::embedded::{ChainConfig, EmbeddedChain};
use medshare_testkit::process::{ANVIL_DEV_KEY, Anvil, Node};

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_medshare"))
}

/// Runtime of the "writer": calldata = (slot ‖ value)*, each stored (a zero value deletes).
const WRITER_RUNTIME: [u8; 26] = [
    0x60, 0x00, 0x5b, 0x36, 0x81, 0x10, 0x15, 0x60, 0x18, 0x57, 0x80, 0x60, 0x20, 0x01, 0x35, 0x81,
    0x35, 0x55, 0x60, 0x40, 0x01, 0x60, 0x02, 0x56, 0x5b, 0x00,
];

/// Initcode deploying the writer.
fn writer_initcode() -> Bytes {
    let mut code = vec![
        0x60,
        WRITER_RUNTIME.len() as u8,
        0x80,
        0x60,
        11,
        0x60,
        0x00,
        0x39,
        0x60,
        0x00,
        0xf3,
    ];
    code.extend_from_slice(&WRITER_RUNTIME);
    code.into()
}

fn word(n: u64) -> B256 {
    B256::from(U256::from(n))
}

fn writes(pairs: &[(u64, B256)]) -> Bytes {
    let mut data = Vec::new();
    for (slot, value) in pairs {
        data.extend_from_slice(word(*slot).as_slice());
        data.extend_from_slice(value.as_slice());
    }
    data.into()
}

/// The writer's first 30 slots: `keccak(i)`, or (`deleted`) zero for the first ten, as after the
/// deletion step; slots 20..25 overwritten with `7 i`.
fn writer_slots(deleted: bool) -> Vec<(u64, B256)> {
    (0..30u64)
        .map(|i| match i {
            0..10 if deleted => (i, B256::ZERO),
            20..25 if deleted => (i, word(i * 7)),
            _ => (i, keccak256(i.to_be_bytes())),
        })
        .collect()
}

/// What the comparison deploys and which slots it asks proofs of.
struct Deployed {
    registration: Address,
    writer: Address,
    slots: Vec<B256>,
}

/// The same transactions, in the same order, from the same keys, on `ledger`: Registration and
/// the writer deployed by `dev` (nonces 0 and 1), users funded and registered, an admin added, a
/// flag set, and the writer's slots written and overwritten (no slot goes back to zero).
async fn same_history(
    ledger: Arc<dyn Ledger>,
    dev: &PrivateKeySigner,
    users: &[Identity],
) -> Deployed {
    let wallet = Wallet::new(ledger.clone(), dev.clone()).await.unwrap();
    let creation = Deployment::predict(dev.address(), 0).creation_code(Contract::Registration);
    let (registration, _) = wallet.deploy(creation).await.unwrap();
    let (writer, _) = wallet.deploy(writer_initcode()).await.unwrap();
    for u in users {
        wallet
            .transfer(u.signer().address(), U256::from(10u128.pow(18)))
            .await
            .unwrap();
    }
    for u in users {
        let call = Registration::registerCall {
            role: 1,
            publicKey: u.public_key_uncompressed().into(),
        };
        let w = Wallet::new(ledger.clone(), u.signer().clone())
            .await
            .unwrap();
        assert!(
            w.send(Call::new(registration, call.abi_encode()))
                .await
                .unwrap()
                .status()
        );
    }
    let admin = users[0].signer().address();
    let governance = [
        Registration::addAdminCall { account: admin }.abi_encode(),
        Registration::setAcceptSimulatedCall { accepted: true }.abi_encode(),
    ];
    for input in governance {
        assert!(
            wallet
                .send(Call::new(registration, input))
                .await
                .unwrap()
                .status()
        );
    }
    wallet
        .send(Call::new(writer, writes(&writer_slots(false))))
        .await
        .unwrap();
    let overwrite: Vec<(u64, B256)> = (20..25).map(|i| (i, word(i * 7))).collect();
    wallet
        .send(Call::new(writer, writes(&overwrite)))
        .await
        .unwrap();

    // Slots 0..40 and, for every user and the dev, the mapping slots keccak(key ‖ p) of the
    // first storage positions: present and absent ones.
    let mut slots: Vec<B256> = (0..40).map(word).collect();
    let keys = users
        .iter()
        .map(|u| u.signer().address())
        .chain([dev.address()]);
    for key in keys {
        for p in 0..8u64 {
            slots.push(keccak256((key, U256::from(p)).abi_encode()));
        }
    }
    Deployed {
        registration,
        writer,
        slots,
    }
}

/// The latest header of `ledger` and the proofs of `addresses` with `slots` at it, each verified
/// against the header's state root.
async fn proven(
    ledger: &dyn Ledger,
    addresses: &[Address],
    slots: &[B256],
) -> (
    alloy_consensus::Header,
    Vec<(EIP1186AccountProofResponse, VerifiedAccount)>,
) {
    let number = ledger.block_number().await.unwrap();
    let header = ledger.header(number).await.unwrap().unwrap();
    let block = ledger.block(number).await.unwrap().unwrap();
    assert_eq!(
        header.hash_slow(),
        block.header.hash,
        "the header is the block's"
    );
    let mut out = Vec::new();
    for a in addresses {
        let proof = ledger.proof(*a, slots.to_vec(), number).await.unwrap();
        let verified = verify_account(header.state_root, &proof).unwrap();
        out.push((proof, verified));
    }
    (header, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_chain_and_anvil_build_identical_storage_tries() {
    let dev: PrivateKeySigner = ANVIL_DEV_KEY.parse().unwrap();
    let users: Vec<Identity> = (0..3).map(|_| Identity::random()).collect();

    let dir = tempfile::tempdir().unwrap();
    let sealer = PrivateKeySigner::random();
    let config =
        ChainConfig::new(sealer.clone()).with_balance(dev.address(), U256::from(10u128.pow(22)));
    let embedded: Arc<dyn Ledger> = Arc::new(EmbeddedChain::open(dir.path(), config).unwrap());
    let anvil = Anvil::spawn(&[]).expect("anvil (scripts/test installs it, or set MEDSHARE_ANVIL)");
    let anvil_ledger: Arc<dyn Ledger> = Arc::new(RpcLedger::connect(&anvil.endpoint()).unwrap());

    let ours = same_history(embedded.clone(), &dev, &users).await;
    let theirs = same_history(anvil_ledger.clone(), &dev, &users).await;
    assert_eq!(ours.registration, theirs.registration);
    assert_eq!(ours.writer, theirs.writer);

    let contracts = [ours.registration, ours.writer];
    let (our_header, our_proofs) = proven(&*embedded, &contracts, &ours.slots).await;
    let (_, their_proofs) = proven(&*anvil_ledger, &contracts, &ours.slots).await;
    assert_eq!(sealer_of(&our_header).unwrap(), sealer.address());

    let mut present = 0;
    for ((mine, my_account), (other, other_account)) in our_proofs.iter().zip(&their_proofs) {
        assert_ne!(
            mine.storage_hash,
            alloy_consensus::constants::EMPTY_ROOT_HASH
        );
        assert_eq!(mine.storage_hash, other.storage_hash, "{}", mine.address);
        assert_eq!(mine.code_hash, other.code_hash);
        assert_eq!(my_account.storage, other_account.storage);
        assert_eq!(mine.storage_proof.len(), other.storage_proof.len());
        for (a, b) in mine.storage_proof.iter().zip(&other.storage_proof) {
            assert_eq!(a.key.as_b256(), b.key.as_b256());
            assert_eq!(a.value, b.value, "slot {}", a.key.as_b256());
            assert_eq!(a.proof, b.proof, "proof of slot {}", a.key.as_b256());
            present += usize::from(!a.value.is_zero());
        }
    }
    // Present and absent slots were both compared (the writer alone holds 30 of its 40).
    assert!(present > 30, "{present}");
    assert!(present < 2 * ours.slots.len());

    // Ten of the writer's slots set to zero, the same transaction on both chains.
    for ledger in [&embedded, &anvil_ledger] {
        let wallet = Wallet::new(ledger.clone(), dev.clone()).await.unwrap();
        let zeros: Vec<(u64, B256)> = (0..10).map(|i| (i, B256::ZERO)).collect();
        let r = wallet
            .send(Call::new(ours.writer, writes(&zeros)))
            .await
            .unwrap();
        assert!(r.status());
    }
    let slots: Vec<B256> = (0..30).map(word).collect();
    let (_, mine) = proven(&*embedded, &[ours.writer], &slots).await;
    let (_, other) = proven(&*anvil_ledger, &[ours.writer], &slots).await;
    let (mine, other) = (&mine[0], &other[0]);
    // Both prove the same values, zeros included...
    assert_eq!(mine.1.storage, other.1.storage);
    assert_eq!(mine.1.slot(word(3)), Some(U256::ZERO));
    // ...but the embedded chain's storage root is Ethereum's (zeroed slots deleted), anvil's
    // keeps the zeroed slots as leaves holding zero.
    let after: Vec<(B256, U256)> = writer_slots(true)
        .into_iter()
        .map(|(i, v)| (word(i), U256::from_be_bytes(v.0)))
        .collect();
    let nonzero = after.iter().copied().filter(|(_, v)| !v.is_zero());
    assert_eq!(
        mine.0.storage_hash,
        alloy_trie::root::storage_root_unhashed(nonzero)
    );
    assert_eq!(other.0.storage_hash, root_keeping_zero_leaves(&after));
    assert_ne!(mine.0.storage_hash, other.0.storage_hash);
}

/// The storage root of `slots` with every slot, zero or not, as a leaf (anvil's).
fn root_keeping_zero_leaves(slots: &[(B256, U256)]) -> B256 {
    let mut leaves: Vec<(B256, Vec<u8>)> = slots
        .iter()
        .map(|(k, v)| (keccak256(k), alloy_rlp::encode(v)))
        .collect();
    leaves.sort();
    let mut hb = alloy_trie::HashBuilder::default();
    for (k, v) in leaves {
        hb.add_leaf(alloy_trie::Nibbles::unpack(k), &v);
    }
    hb.root()
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medshare_node_serves_eth_get_proof_to_alloy_and_cast() {
    let signer = PrivateKeySigner::random();
    let me = signer.address();
    let dir = tempfile::tempdir().unwrap();
    let alloc = format!("{me}=1000000000000000000000");
    let node = Node::spawn(bin(), dir.path(), &["--alloc", &alloc]).unwrap();
    let rpc = node.endpoint();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(rpc.parse().unwrap());

    let deploy = TransactionRequest::default().with_deploy_code(writer_initcode());
    let receipt = provider
        .send_transaction(deploy)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let writer = receipt.contract_address.unwrap();
    let set = |pairs: &[(u64, B256)]| {
        TransactionRequest::default()
            .with_to(writer)
            .with_input(writes(pairs))
    };
    let r1 = provider
        .send_transaction(set(&[(1, word(11)), (2, word(22))]))
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    provider
        .send_transaction(set(&[(1, B256::ZERO), (3, word(33))]))
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();

    // Latest: slot 1 deleted, 2 and 3 set, 4 never set; an account that does not exist.
    let latest = provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap();
    let header = latest.header.inner.clone();
    let sealer = sealer_of(&header).unwrap();
    assert_eq!(sealer, header.beneficiary);
    let slots = vec![word(1), word(2), word(3), word(4)];
    let proof = provider.get_proof(writer, slots.clone()).await.unwrap();
    let v = verify_account(header.state_root, &proof).unwrap();
    assert_eq!(v.slot(word(1)), Some(U256::ZERO));
    assert_eq!(v.slot(word(2)), Some(U256::from(22)));
    assert_eq!(v.slot(word(3)), Some(U256::from(33)));
    assert_eq!(v.slot(word(4)), Some(U256::ZERO));
    assert_eq!(v.nonce, 1);
    let nobody = provider
        .get_proof(Address::repeat_byte(0x42), vec![word(0)])
        .await
        .unwrap();
    assert!(!verify_account(header.state_root, &nobody).unwrap().exists);

    // An older block, by number and by hash: slot 1 still holds 11 there.
    let then = r1.block_number.unwrap();
    let old = provider
        .get_block_by_number(then.into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sealer_of(&old.header.inner).unwrap(), sealer);
    for proof in [
        provider
            .get_proof(writer, slots.clone())
            .number(then)
            .await
            .unwrap(),
        provider
            .get_proof(writer, slots.clone())
            .hash(old.header.hash)
            .await
            .unwrap(),
    ] {
        let v = verify_account(old.header.state_root, &proof).unwrap();
        assert_eq!(v.slot(word(1)), Some(U256::from(11)));
        assert_eq!(v.slot(word(3)), Some(U256::ZERO));
    }

    // More than 1024 keys: refused as invalid parameters.
    let err = provider
        .get_proof(writer, vec![B256::ZERO; 1025])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at most 1024"), "{err}");

    // cast proof, the standard client, against the same block.
    let out = Command::new(cast())
        .args(["proof", &writer.to_string(), "2", "4", "--rpc-url", &rpc])
        .output()
        .expect("cast runs");
    assert!(
        out.status.success(),
        "cast proof failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let from_cast: EIP1186AccountProofResponse = serde_json::from_slice(&out.stdout).unwrap();
    let v = verify_account(header.state_root, &from_cast).unwrap();
    assert_eq!(v.slot(word(2)), Some(U256::from(22)));
    assert_eq!(v.slot(word(4)), Some(U256::ZERO));
    assert_eq!(
        from_cast.account_proof,
        proof_at_latest(&provider, writer).await
    );
}

async fn proof_at_latest(provider: &impl Provider, address: Address) -> Vec<Bytes> {
    provider
        .get_proof(address, vec![])
        .await
        .unwrap()
        .account_proof
}
