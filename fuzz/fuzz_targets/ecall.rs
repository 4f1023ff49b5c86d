//! The enclave's one entry point, `ecall`, with any bytes a hostile host could send: the
//! request must be decoded or refused, and every answer must be a well-formed `Response`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medshare_enclave_api::{EnclaveApi, Response};

fuzz_target!(|data: &[u8]| {
    let mut enclave = medshare_fuzz::enclave();
    let answer = enclave.ecall(data);
    serde_json::from_slice::<Response>(&answer).expect("the enclave answers a decodable Response");
});
