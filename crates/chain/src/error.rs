//! Errors of the chain client.

use alloy_primitives::{Address, Bytes};

/// What went wrong calling a medshare contract.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The contract refused the call with one of its custom errors (or a panic / plain revert).
    /// `reason` is the decoded error, e.g. `NotRecordOwner(0x…, 0x…)`.
    #[error("{contract}.{function} refused: {reason}")]
    Reverted {
        /// The contract called.
        contract: &'static str,
        /// The function called.
        function: &'static str,
        /// The custom error's name, when the revert data is one of medshare's errors.
        name: Option<&'static str>,
        /// The decoded revert.
        reason: String,
        /// The raw revert data.
        data: Bytes,
    },
    /// The ledger failed (transport, rejected transaction, store).
    #[error(transparent)]
    Ledger(#[from] medshare_ledger::Error),
    /// A contract answered with data that does not decode as its ABI says.
    #[error("cannot decode the answer of {contract}.{function}: {reason}")]
    Decode {
        /// The contract called.
        contract: &'static str,
        /// The function called.
        function: &'static str,
        /// What failed.
        reason: String,
    },
    /// There is no medshare contract at an address of the deployment.
    #[error("no {contract} contract at {address} on this chain: wrong deployment file or chain?")]
    NotDeployed {
        /// The contract expected.
        contract: &'static str,
        /// Where it was expected.
        address: Address,
    },
    /// The code at an address of the deployment is not what the checked-in contract sources
    /// compile to for this deployment (another contract, or a modified one).
    #[error(
        "the {contract} contract at {address} is not medshare's: its code does not match the checked-in artifact (wrong deployment file, wrong chain, or a modified contract)"
    )]
    UnexpectedCode {
        /// The contract expected.
        contract: &'static str,
        /// Where it was expected.
        address: Address,
    },
    /// A deployment produced an address other than predicted (the deployer sent another
    /// transaction meanwhile).
    #[error("{contract} was deployed at {actual}, expected {expected}")]
    DeployedElsewhere {
        /// The contract.
        contract: &'static str,
        /// Predicted address.
        expected: Address,
        /// Actual address.
        actual: Address,
    },
    /// A deployment file could not be read or written.
    #[error("deployment file {path}: {reason}")]
    DeploymentFile {
        /// The file.
        path: String,
        /// What failed.
        reason: String,
    },
    /// A value read from the chain is not valid in medshare's terms (an unknown role or status).
    #[error("invalid value from the chain: {0}")]
    Invalid(String),
}

impl Error {
    /// The name of the contract's custom error if the call reverted with one, e.g.
    /// `Some("NotRecordOwner")`.
    pub fn revert_name(&self) -> Option<&'static str> {
        match self {
            Self::Reverted { name, .. } => *name,
            _ => None,
        }
    }
}
