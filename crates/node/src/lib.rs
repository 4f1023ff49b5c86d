//! The chain medshare runs by default, and the JSON-RPC server that puts any ledger on the
//! network: what `medshare node` is.
//!
//! # What this crate owns
//!
//! * [`embedded::EmbeddedChain`]: an in-process chain that implements `medshare-ledger`'s
//!   [`Ledger`]. revm executes signed Ethereum transactions; every header carries its sealer's
//!   signature (Clique style, in the format `medshare-light` verifies) and the Merkle-Patricia
//!   root of the state; blocks, receipts, logs, state and state tries are persisted in redb, and
//!   a receipt is returned only after the block that holds it is durable.
//! * [`server::RpcServer`]: serves any [`Ledger`] (the embedded chain, in `medshare node`) over
//!   the standard Ethereum JSON-RPC methods, so every party in any process reaches the ledger the
//!   same way, through `medshare_ledger::rpc::RpcLedger`.
//!
//! # Layering
//!
//! This crate sits above `medshare-ledger` (the interface, its types and its [`Error`]) and is
//! the only crate that compiles revm and redb. Parties, the contract client and the enclave
//! never depend on it; the `medshare` binary (for `medshare node` and `medshare demo`), the
//! test kit and the benchmarks do. Its errors are the ledger's [`Error`]: everything it does is
//! reached through the [`Ledger`] trait, whose callers match on that one enum (a damaged store is
//! [`Error::Corrupt`], another chain's store [`Error::ChainMismatch`], a redb failure
//! [`Error::Store`]).
//!
//! It knows nothing about medshare's contracts or records, and never sees plaintext medical data
//! or data keys.

#![forbid(unsafe_code)]

pub mod embedded;
pub mod server;

pub use medshare_ledger::{Error, Result};

// The ledger's vocabulary, for the modules of this crate.
use medshare_ledger::{
    Block, Filter, Ledger, Log, Transaction, TransactionReceipt, TransactionRequest,
};
