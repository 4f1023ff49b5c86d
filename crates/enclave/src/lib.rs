//! The trusted code of the TEE (paper §5.3.2–§5.5.2, Algorithms 3–6).
//!
//! # What this crate owns
//!
//! * **Its key and trust anchors.** SK_T is generated inside and sealed to one file together
//!   with the enclave's trust anchors (chain id, deployment, the sealers whose signatures make a
//!   block header genuine, a fee cap): AES-256-GCM under a key derived from the platform's
//!   sealing secret and the enclave program's measurement ([`seal`]), so a changed program cannot
//!   unseal an old key and a key serves one chain for life. Its attestation evidence binds PK_T
//!   and the anchors (`medshare_enclave_api::report_data`), so governance admits exactly this
//!   key for exactly this chain.
//! * **Every chain fact it acts on.** Each job request carries a [`ChainView`]: a block header
//!   and EIP-1186 state proofs. The enclave authenticates the header itself (one of its sealers
//!   signed it), verifies every proof against the header's state root (`medshare-light`), and
//!   reads the facts from contract storage (`medshare_contracts::layout`): the job exists and is
//!   approved; the reviewer who approved it is still appointed; the demander is registered with
//!   the key the result is encrypted to; this TEE is admitted, unrevoked and allowlisted; each
//!   record is live as its owner registered it and consented to this job (a grant of that
//!   version or a standing policy). No boolean from the host decides anything: a fact without a
//!   proof does not exist. Views of one job never go back in time and span at most an
//!   hour of chain time (the sealed headers' timestamps), and every statement it signs names its view's block, which the contracts accept
//!   only while it is recent.
//! * **The job.** [`Enclave`] implements [`EnclaveApi`]: it verifies the model and its
//!   requirement (HRT_j, VT_j), verifies each consented record (HRT_i, VT_i), recovers the data
//!   key of a record only when the released pad matches the commitment its owner signed,
//!   decrypts, parses and loads it, trains the reviewed spec, and encrypts MRT_j to the
//!   demander. Every consented record it touches gets an audit entry saying what happened to it
//!   (used, decrypted for a training that failed, or refused and why), whether training succeeds
//!   or not.
//! * **Its transactions.** The enclave's account is PK_T, so every transaction it sends is
//!   signed inside. It signs only transactions it wrote itself, only for its own chain id, and
//!   only within its fee cap ([`Request::SignTransaction`] of anything else is refused).
//!
//! # What it does not do
//!
//! No network and no disk I/O beyond its sealed key file: chain data, proofs and ciphertexts
//! come in as messages, and transactions go out as messages. It never returns plaintext, a data
//! key or a record value: responses carry outcomes, signatures, transactions and the encrypted
//! result. It cannot stop a host from withholding data or views (a host can always refuse to
//! run a job); it stops a host from forging them.
//!
//! [`ChainView`]: medshare_enclave_api::ChainView

#![forbid(unsafe_code)]

mod authored;
mod enclave;
mod error;
mod facts;
mod job;
pub mod seal;
mod view;

pub use enclave::{Enclave, SimulatedPlatform};
pub use error::{Error, Result};
pub use medshare_enclave_api::{EnclaveApi, Request, Response};
