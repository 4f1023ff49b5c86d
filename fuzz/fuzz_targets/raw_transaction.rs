//! `eth_sendRawTransaction` on the embedded chain: any bytes are decoded and checked (type,
//! signature, chain id, nonce, gas, balance) or refused; what is accepted is sealed into a block.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medshare_ledger::Ledger;

fuzz_target!(|data: &[u8]| {
    let chain = medshare_fuzz::chain();
    let _ = medshare_fuzz::runtime().block_on(chain.send_raw_transaction(data.to_vec().into()));
});
