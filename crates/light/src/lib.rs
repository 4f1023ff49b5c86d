//! The chain verifier the enclave links: it checks chain facts handed to it by an untrusted host,
//! with no I/O of its own.
//!
//! The enclave must not trust the host that feeds it chain data. Every fact it acts on (a job
//! approved, a record's consent, its own admission) comes with the evidence this crate checks:
//!
//! ```text
//!  header (eth_getBlockByNumber) ──▶ header::verify_seal(header, sealer) ──▶ state_root
//!                                                                            │
//!  proof (eth_getProof) ────────────▶ proof::verify_account(state_root, proof) ──▶ VerifiedAccount
//!                                                                   (nonce, balance, code hash,
//!                                                                    storage root, proven slots)
//! ```
//!
//! * [`header`]: the embedded chain's headers carry their seal Clique-style (EIP-225):
//!   `extra_data` = 32-byte vanity ‖ 65-byte secp256k1 signature of the *seal hash* (the header's
//!   hash with `extra_data` cut to the vanity). [`header::sealer_of`] recovers who sealed a header;
//!   a header whose any field was changed no longer recovers to the sealer. The node uses the same
//!   definitions to seal ([`header::seal_hash`], [`header::sealed_extra_data`]), so there is one
//!   format.
//! * [`proof`]: EIP-1186 account and storage proofs (`eth_getProof`) checked against a state root,
//!   inclusion and exclusion alike: [`proof::verify_account`] returns only what the trie proves.
//!
//! # What it does not do
//!
//! No networking, no disk, no clock: the caller chooses the header (which block, how recent) and
//! the sealer address it trusts. It does not follow a chain of headers or decide finality (the
//! embedded chain has one sealer and instant finality); the caller links headers by their
//! `parent_hash` if it needs to. It verifies the state and storage tries only (keys are keccak256
//! hashes), not transaction or receipt tries.
//!
//! # Invariants
//!
//! Every input is hostile bytes: nothing here panics on any header or proof (no `unwrap`, no
//! indexing that can go out of bounds), and every refusal names the check that failed
//! ([`Error`]).

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod error;
pub mod header;
pub mod proof;

pub use error::{Error, Proved};
pub use proof::{VerifiedAccount, verify_account};

/// Result alias for this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
