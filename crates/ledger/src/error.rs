//! Errors of the ledger crate.

use alloy_primitives::Bytes;

/// What went wrong talking to a ledger.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The call or transaction reverted; `data` is the raw revert data (a custom error selector
    /// and its arguments, when the contract used one).
    #[error("execution reverted{}", if data.is_empty() { String::new() } else { format!(" with data {data}") })]
    Reverted {
        /// Raw revert data.
        data: Bytes,
    },
    /// The node refused the transaction before executing it (bad signature, nonce, chain id, gas).
    #[error("transaction rejected: {0}")]
    Rejected(String),
    /// The JSON-RPC transport or the remote node failed.
    #[error("JSON-RPC error: {0}")]
    Rpc(String),
    /// The embedded chain's store is damaged, truncated or from another chain; it is not served.
    #[error("the chain store at {path} cannot be used: {reason}")]
    Corrupt {
        /// The store's path.
        path: String,
        /// What check failed.
        reason: String,
    },
    /// A storage (redb / file system) error.
    #[error("chain store error: {0}")]
    Store(String),
    /// The transaction was included in a block but failed (reverted or ran out of gas) although
    /// its gas estimate succeeded: the state changed in between.
    #[error("transaction {hash} failed on chain (gas used {gas_used})")]
    Failed {
        /// The transaction hash.
        hash: alloy_primitives::B256,
        /// Gas it used.
        gas_used: u64,
    },
    /// Waiting for a receipt timed out.
    #[error("no receipt for transaction {0} after waiting")]
    Timeout(alloy_primitives::B256),
    /// The chain store is intact but belongs to another chain than the one asked for (different
    /// chain id, sealer or genesis); it is not opened.
    #[error("the chain store at {path} belongs to a different chain: {reason}")]
    ChainMismatch {
        /// The store's path.
        path: String,
        /// What differs.
        reason: String,
    },
    /// A read request was malformed (for example a log filter with an unknown block hash or an
    /// inverted block range).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// An `eth_getLogs` query over a block range matched more logs than the node returns at
    /// once; the same query over a narrower range may not (see [`crate::MAX_LOGS`]).
    #[error(
        "the log query over blocks {from}..={to} matches more than {limit} logs; narrow its block range"
    )]
    TooManyLogs {
        /// First block of the range.
        from: u64,
        /// Last block of the range.
        to: u64,
        /// The node's limit.
        limit: usize,
    },
}
