//! EIP-1186 proof verification (what the enclave trusts chain facts on): any proof is verified
//! or refused against the state root, never accepted for a value it does not prove.
#![no_main]
use alloy_primitives::B256;
use alloy_rpc_types_eth::EIP1186AccountProofResponse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // 32 bytes of state root, then an `eth_getProof` answer as JSON.
    if data.len() < 32 {
        return;
    }
    let root = B256::from_slice(&data[..32]);
    let Ok(proof) = serde_json::from_slice::<EIP1186AccountProofResponse>(&data[32..]) else {
        return;
    };
    if let Ok(account) = medshare_light::verify_account(root, &proof) {
        for slot in &proof.storage_proof {
            let _ = account.slot(slot.key.as_b256());
        }
    }
});
