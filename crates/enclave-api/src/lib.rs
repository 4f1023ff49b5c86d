//! The boundary between the untrusted host runtime and the trusted enclave.
//!
//! Like an SGX application's ECALL table, the enclave is reached through one entry point,
//! [`EnclaveApi::ecall`], which takes a serialized [`Request`] and returns a serialized
//! [`Response`]: nothing but bytes crosses, never a reference, so the host cannot reach into the
//! enclave's memory and the enclave cannot hand the host a pointer to plaintext. [`call`] does
//! the encoding for the host.
//!
//! ```text
//!  host runtime (chain, storage)            │ enclave (SK_T, data keys, plaintext)
//!  Request::BeginJob / AddRecords / … ──────▶ ecall(bytes) ──▶ verify, decrypt, train
//!  Response::Authored txs, outcomes   ◀───── bytes ◀────────── sign, seal result
//! ```
//!
//! What may cross, by construction of the types: public chain data with its proofs
//! ([`ChainView`]: a header and EIP-1186 proofs), ciphertexts, released pads in; verification
//! outcomes (no values), transactions the enclave wrote, signatures, the encrypted result out.
//! No variant carries plaintext or a data key. No variant carries a chain fact as a flag: the
//! host passes proofs, and a boolean from the host decides nothing ([`facts`] lists the storage
//! slots each request must prove).
//!
//! [`Evidence`] is the attestation evidence a TEE submits with PK_T: for the simulation backend
//! the measurement of the enclave program; for SGX DCAP and TDX a quote ([`EvidenceKind`]). Its
//! report data binds PK_T and the enclave's [`TrustAnchors`] (chain id, deployment, sealers).

#![forbid(unsafe_code)]

mod evidence;
pub mod facts;
mod messages;

pub use evidence::{
    DEFAULT_MAX_FEE_PER_GAS, Evidence, MAX_GAS_LIMIT, REPORT_DATA_TAG, TeeEvidence, TrustAnchors,
    report_data,
};
pub use medshare_contracts::{EvidenceKind, UseOutcome};
pub use messages::*;

/// What went wrong across the boundary.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A message could not be encoded or decoded.
    #[error("enclave message: {0}")]
    Codec(String),
    /// The enclave refused the request.
    #[error("enclave refused: {0}")]
    Refused(String),
    /// Trust anchors or evidence that do not decode or do not make sense.
    #[error("{0}")]
    Anchors(String),
    /// The enclave answered with another response than the request calls for.
    #[error("unexpected enclave response to {0}")]
    Unexpected(&'static str),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// The enclave's one entry point.
pub trait EnclaveApi: Send {
    /// Handles one serialized [`Request`] and returns a serialized [`Response`].
    fn ecall(&mut self, request: &[u8]) -> Vec<u8>;
}

/// Sends `request` across the boundary and decodes the answer; a [`Response::Error`] becomes
/// [`Error::Refused`].
pub fn call(enclave: &mut dyn EnclaveApi, request: &Request) -> Result<Response> {
    let bytes = serde_json::to_vec(request).map_err(|e| Error::Codec(e.to_string()))?;
    let answer = enclave.ecall(&bytes);
    match serde_json::from_slice::<Response>(&answer).map_err(|e| Error::Codec(e.to_string()))? {
        Response::Error { message } => Err(Error::Refused(message)),
        other => Ok(other),
    }
}
