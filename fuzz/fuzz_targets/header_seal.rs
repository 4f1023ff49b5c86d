//! Header decoding and seal recovery (how the enclave authenticates a chain view): any bytes are
//! decoded as an RLP header or refused, and a decoded header's sealer is recovered or refused.
#![no_main]
use alloy_consensus::Header;
use alloy_rlp::Decodable;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = data;
    let Ok(header) = Header::decode(&mut buf) else {
        return;
    };
    if let Ok(sealer) = medshare_light::header::sealer_of(&header) {
        medshare_light::header::verify_seal(&header, sealer).expect("a recovered sealer verifies");
    }
});
