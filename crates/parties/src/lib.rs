//! The parties' workflows (paper §5.2–§5.5, the 11 steps of §5.6).
//!
//! Each party has its own key and talks to the others only through the ledger
//! ([`medshare_chain::ContractClient`]) and the off-chain store ([`medshare_storage::Store`]):
//!
//! * [`user`]: the patient (Algorithm 1): encrypt each record under a fresh key, share the key
//!   to an attested TEE, store ciphertext and TD_i, register by hash; consent per job or by
//!   policy; read the audit trail.
//! * [`demander`]: submit a model spec and data requirement (Algorithm 2), and fetch, verify and
//!   decrypt the result (Algorithm 7), reporting a result that fails verification on chain.
//! * [`reviewer`]: list pending models, approve or reject them.
//! * [`governance`]: admit a TEE after verifying its attestation evidence (hardware quotes
//!   through `medshare-attestation`), with the measurement the evidence attests.
//! * [`tee`]: the TEE's untrusted host runtime: it reads the chain and the store, feeds the
//!   enclave through its ecall boundary, stores the encrypted result, and sends the transactions
//!   the enclave wrote and signed (Algorithms 3–6).
//! * [`setup`]: one process setting up a deployment with every party, for demos, benchmarks and
//!   tests (the admission it runs is governance's real one).
//!
//! # Invariants
//!
//! * Plaintext exists here only in [`user::seal_records`], the patient's own upload step; the
//!   TEE runtime moves ciphertexts and never receives plaintext from the enclave.
//! * A patient shares a data key only to a TEE the chain reports active (admitted by
//!   governance, allowlisted measurement, not revoked), and only to the public key that hashes
//!   to that TEE's address.
//! * The TEE runtime passes the enclave proofs, never flags: every chain fact the enclave acts
//!   on is verified inside it.
//! * The demander accepts a result only if its hash matches the chain and the TEE's signature
//!   verifies; otherwise it reports the failure on chain.

#![forbid(unsafe_code)]

pub mod demander;
mod error;
pub mod governance;
pub mod meta;
pub mod reviewer;
pub mod setup;
pub mod tee;
pub mod user;

pub use error::{Error, Result, ResultFault};

/// Seconds since the Unix epoch by this machine's clock (0 if the clock is before 1970): the
/// time parties stamp records and submissions with and check attestation collateral at.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
