//! Errors of the harness.

/// What went wrong setting up a test ledger or world.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A node process could not be started or did not come up.
    #[error("{program}: {reason}")]
    Process {
        /// The program (anvil, medshare node).
        program: String,
        /// What failed.
        reason: String,
    },
    /// anvil is not installed where the harness looks.
    #[error(
        "anvil not found: run scripts/install-foundry anvil (it installs anvil from npm into .tools/), put anvil on PATH, or set MEDSHARE_ANVIL"
    )]
    NoAnvil,
    /// The embedded chain or a remote node failed.
    #[error(transparent)]
    Ledger(#[from] medshare_ledger::Error),
    /// A contract call failed.
    #[error(transparent)]
    Chain(#[from] medshare_chain::Error),
    /// A party's workflow failed.
    #[error(transparent)]
    Party(#[from] medshare_parties::Error),
    /// A cryptographic operation failed.
    #[error(transparent)]
    Crypto(#[from] medshare_crypto::Error),
    /// A primitive value was invalid.
    #[error(transparent)]
    Primitives(#[from] medshare_primitives::Error),
    /// File system error (temporary directories).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}
