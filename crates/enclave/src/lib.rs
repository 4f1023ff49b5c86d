//! The trusted code of the TEE (paper §5.3.2–§5.5.2, Algorithms 3–6).
//!
//! # What this crate owns
//!
//! * **Its key.** SK_T is generated inside, sealed to one file (AES-256-GCM under a key derived
//!   from the platform's sealing secret and the enclave measurement, [`seal`]) and never leaves
//!   in the clear. The enclave's attestation evidence binds PK_T ([`Evidence`]).
//! * **The job.** [`Enclave`] implements [`EnclaveApi`]: it verifies the model and its
//!   requirement (HRT_j, VT_j), verifies each record (HRT_i, VT_i), recovers the data key of a
//!   record only when the host reports it live and authorized for the job *and* the released pad
//!   matches the commitment its owner signed, decrypts, parses and loads it, trains the reviewed
//!   spec, and encrypts MRT_j to the demander.
//! * **Its transactions.** The enclave's account is PK_T, so every transaction it sends is
//!   signed inside. It signs only transactions it wrote itself ([`Request::SignTransaction`] for
//!   any other calldata is refused): the host cannot make it vouch for anything else.
//!
//! # What it does not do
//!
//! No network and no disk I/O beyond its sealed key file: chain data and ciphertexts come in as
//! messages, and transactions go out as messages. It never returns plaintext, a data key or a
//! record value: responses carry outcomes, signatures, transactions and the encrypted result.
//!
//! # Trust in the host
//!
//! Whether a record is live and authorized is read from the chain by the host and passed in
//! ([`RecordInput::live`], [`RecordInput::authorized`]). The enclave refuses a record when
//! either is false, but it cannot check the answer itself without a light client (signed headers
//! and state proofs), which the embedded chain's state root does not support yet. See
//! `docs/threat-model.md`.
//!
//! [`Evidence`]: medshare_enclave_api::Evidence
//! [`RecordInput::live`]: medshare_enclave_api::RecordInput::live
//! [`RecordInput::authorized`]: medshare_enclave_api::RecordInput::authorized

#![forbid(unsafe_code)]

mod authored;
mod enclave;
mod error;
mod job;
pub mod seal;

pub use enclave::Enclave;
pub use error::{Error, Result};
pub use medshare_enclave_api::{EnclaveApi, Request, Response};
