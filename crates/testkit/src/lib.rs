//! Test and benchmark harness: real Ethereum nodes on 127.0.0.1 and a ready deployment.
//!
//! # What this crate owns
//!
//! * [`process`]: starting real node processes and stopping them: [`process::Anvil`] (foundry's
//!   anvil, installed by `scripts/test` from npm) and [`process::Node`] (`medshare node`), each on
//!   a free port, killed when dropped (or with SIGKILL on purpose, for crash tests).
//! * [`Backend`]: one ledger to run a test on — the embedded chain in process, `medshare node`
//!   over JSON-RPC, or anvil — so that the same contract suite runs on each.
//! * [`World`]: the five contracts deployed and one party of each role registered (user,
//!   demander, appointed reviewer, TEE admitted with an allowlisted simulated measurement), with helpers
//!   that make the owner-side records (encrypted, key-shared, EIP-712 signed).
//!
//! # What it does not do
//!
//! It is not part of any party's trust base: it holds every party's key at once, which no real
//! deployment does. It is used by tests and by `medshare bench`/`medshare demo`, which drive all
//! parties from one process on purpose.

#![forbid(unsafe_code)]

mod backend;
mod error;
pub mod process;
mod world;

pub use backend::{Backend, BackendKind};
pub use error::Error;
pub use world::{Party, World, registration_by_hash, simulated_measurement, view_block};

/// Result alias for this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// The keystore password test nodes are started with (`MEDSHARE_PASSWORD`).
pub const TEST_PASSWORD: &str = "medshare-test-password";
