//! A typed client of medshare's five contracts, for one party, over any [`Ledger`].
//!
//! # What this crate owns
//!
//! [`ContractClient`] joins a party's [`Wallet`] to one [`Deployment`] of Registration, Data,
//! Model, Authorization and Audit (paper §5.1(3)) and offers one method per contract function:
//! it encodes the call, sends it (or `eth_call`s a view), and turns a revert into
//! [`Error::Reverted`] carrying the contract's named custom error, e.g. `NotRecordOwner`.
//! [`ContractClient::deploy`] deploys the five contracts in order with one batch; event queries
//! list records by owner or data type and audit entries by owner or job, from logs, so nothing on
//! chain loops over unbounded state.
//!
//! ```text
//!   party (user, demander, reviewer, TEE host)
//!        │  ContractClient::grant(&record, job, pad)
//!        ▼
//!   medshare-chain ── ABI encode (medshare-contracts) ──▶ Wallet (medshare-ledger) ──▶ Ledger
//! ```
//!
//! The code follows the contracts: `client` (the handle, sending, views, logs, reverts), then one
//! module per contract — `registration`, `data`, `model`, `authorization`, `audit` — each an
//! `impl ContractClient` block with that contract's functions, and `deployment_file` (the JSON
//! file parties attach with).
//!
//! # What it does not do
//!
//! It signs only transactions (through the wallet); EIP-712 signatures over records, consents,
//! models and results are made by `medshare-crypto` and passed in. It never sees plaintext
//! records or data keys: everything it moves is already public on the ledger.
//!
//! [`Ledger`]: medshare_ledger::Ledger

#![forbid(unsafe_code)]

mod audit;
mod authorization;
mod client;
mod data;
mod deployment_file;
mod error;
mod model;
mod record;
mod registration;

pub use client::{ContractClient, Logged};
pub use deployment_file::read_deployment;
pub use error::Error;
pub use medshare_contracts::{
    Audit, Authorization, Contract, Data, Deployment, EvidenceKind, JobStatus, Model, Registration,
    UseOutcome,
};
pub use medshare_ledger::wallet::{Call, Wallet};
pub use model::{DataTypeRules, RecordVerification, ViewBlock};
pub use record::{to_authorization_record, to_data_record};
pub use registration::TeeInfo;

/// Result alias for this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
