//! Fixtures the fuzz targets share: an embedded chain in a temporary directory (one per fuzzing
//! process, as a node keeps one chain for all its clients), the runtime that drives it, and a
//! sealed enclave key.
//!
//! The private keys below are fixed so that the seed corpus's signed transactions come from an
//! account the chain funds at genesis; they guard nothing.

use std::path::Path;
use std::sync::OnceLock;

use alloy_primitives::{Address, U256};
use alloy_signer_local::PrivateKeySigner;
use medshare_contracts::Deployment;
use medshare_enclave::{Enclave, SimulatedPlatform};
use medshare_enclave_api::TrustAnchors;
use medshare_node::embedded::{ChainConfig, EmbeddedChain};

/// Chain id of the fuzzing chain (the embedded chain's default).
pub const CHAIN_ID: u64 = 1337;
/// Private key of the account funded at genesis (the seed transactions' sender).
pub const FUNDED_KEY: [u8; 32] = [0x11; 32];
const SEALER_KEY: [u8; 32] = [0x22; 32];

/// The runtime the chain's async API runs on.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temporary directory"))
        .path()
}

/// The funded account's address.
pub fn funded() -> Address {
    signer(FUNDED_KEY).address()
}

fn signer(key: [u8; 32]) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&key.into()).expect("valid key")
}

/// One embedded chain per process, in a temporary directory, with [`funded`] holding 10^24 wei.
pub fn chain() -> &'static EmbeddedChain {
    static CHAIN: OnceLock<EmbeddedChain> = OnceLock::new();
    CHAIN.get_or_init(|| {
        let config = ChainConfig::new(signer(SEALER_KEY))
            .with_chain_id(CHAIN_ID)
            .with_balance(funded(), U256::from(10u64).pow(U256::from(24u64)));
        EmbeddedChain::open(&scratch().join("chain"), config).expect("embedded chain")
    })
}

/// A fresh enclave (unsealed from the same key file every time, so each input starts from the
/// same state), with trust anchors naming a made-up deployment and the fuzzing chain's sealer.
pub fn enclave() -> Enclave {
    let platform = SimulatedPlatform::new([3u8; 32], [7u8; 32].into());
    let deployment = Deployment {
        registration: Address::repeat_byte(1),
        data: Address::repeat_byte(2),
        model: Address::repeat_byte(3),
        authorization: Address::repeat_byte(4),
        audit: Address::repeat_byte(5),
    };
    let anchors = TrustAnchors::sealed(CHAIN_ID, &deployment, vec![signer(SEALER_KEY).address()]);
    Enclave::simulated(&scratch().join("tee.sealed"), &platform, Some(&anchors))
        .expect("simulated enclave")
}
