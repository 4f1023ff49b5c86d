//! The JSON-RPC server's request handling (`medshare node`'s methods over the embedded chain):
//! any request is answered with a JSON-RPC response (a result or an error), never a panic.
#![no_main]
use std::sync::{Arc, OnceLock};

use jsonrpsee::RpcModule;
use libfuzzer_sys::fuzz_target;

fn module() -> &'static RpcModule<()> {
    static MODULE: OnceLock<RpcModule<()>> = OnceLock::new();
    MODULE
        .get_or_init(|| medshare_node::server::rpc_module(Arc::new(medshare_fuzz::chain().clone())))
}

fuzz_target!(|text: &str| {
    // Text that is not a JSON-RPC request at all is refused here (the server's transport answers
    // it with a parse error, -32700); any request is answered with JSON.
    if let Ok((answer, _)) = medshare_fuzz::runtime().block_on(module().raw_json_request(text, 1)) {
        serde_json::from_str::<serde_json::Value>(answer.get()).expect("the answer is JSON");
    }
});
