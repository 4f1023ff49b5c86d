//! Why a header or a proof was refused.

use alloy_primitives::{Address, B256, U256};
use core::fmt;

/// Which trie a proof walks: the account's leaf in the state trie, or one of its storage slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proved {
    /// The account proof (state trie, key `keccak256(address)`).
    Account,
    /// The storage proof of this slot (the account's storage trie, key `keccak256(slot)`).
    Slot(B256),
}

impl fmt::Display for Proved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Account => f.write_str("account proof"),
            Self::Slot(slot) => write!(f, "storage proof of slot {slot}"),
        }
    }
}

/// What was wrong with a header or a proof. Each variant names one check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    // ------------------------------------------------------------------ sealed headers
    /// The header's `extra_data` is not 32 bytes of vanity followed by a 65-byte seal.
    #[error("header extra data is {len} bytes, not 32 bytes of vanity and a 65-byte seal")]
    SealLength {
        /// Length found.
        len: usize,
    },
    /// The vanity is not [`crate::header::VANITY`]: not a header of this chain format.
    #[error("header extra data does not start with the medshare vanity")]
    WrongVanity,
    /// The seal's last byte is not a y-parity (0 or 1).
    #[error("the seal's recovery byte is {0}, not 0 or 1")]
    SealParity(u8),
    /// The seal's `r` or `s` is zero or out of range, or `s` is in the upper half of the curve
    /// order (a malleated twin of a valid seal).
    #[error("the seal is not a canonical (low-s) secp256k1 signature")]
    NonCanonicalSeal,
    /// No public key recovers from the seal.
    #[error("the seal does not recover to a public key")]
    BadSeal,
    /// The header is validly signed, by someone else (or it was changed after sealing).
    #[error("header sealed by {found}, not by the sealer {expected}")]
    WrongSealer {
        /// The sealer the caller trusts.
        expected: Address,
        /// The address the seal recovers to.
        found: Address,
    },

    // ------------------------------------------------------------------ proofs
    /// The first node of the proof is not the root the header commits to (a proof for another
    /// state, or a forged one). Also: nodes given for an empty trie.
    #[error("{0}: its first node is not the trie root")]
    RootMismatch(Proved),
    /// A node is not the one its parent names (its hash differs): the proof was altered.
    #[error("{proved}: node {index} is not the node its parent names")]
    NodeMismatch {
        /// Which proof.
        proved: Proved,
        /// Index of the node in the proof.
        index: usize,
    },
    /// A node is not a well-formed trie node (bad RLP, impossible shape, a path longer than a
    /// key).
    #[error("{proved}: node {index} is malformed: {reason}")]
    MalformedNode {
        /// Which proof.
        proved: Proved,
        /// Index of the node in the proof (for an embedded node, of the node that embeds it).
        index: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The proof stops before the key's path reaches a leaf or a dead end.
    #[error("{0}: the proof is truncated")]
    Incomplete(Proved),
    /// The proof has nodes after the key's path ended.
    #[error("{proved}: {extra} node(s) after the end of the key's path")]
    TrailingNodes {
        /// Which proof.
        proved: Proved,
        /// How many nodes are left over.
        extra: usize,
    },
    /// The account leaf is not `rlp([nonce, balance, storage_root, code_hash])`.
    #[error("the account leaf is not a valid account: {0}")]
    MalformedAccount(&'static str),
    /// A field of the response differs from what the proven account leaf holds (or, for an
    /// absent account, from an empty account).
    #[error("the response claims a {field} the account trie does not hold")]
    AccountMismatch {
        /// `nonce`, `balance`, `storage_hash` or `code_hash`.
        field: &'static str,
    },
    /// A storage leaf is not the canonical RLP of an integer of at most 32 bytes.
    #[error("storage slot {0}: the leaf is not a canonical value")]
    MalformedStorageValue(B256),
    /// The value claimed for a slot differs from the proven one (for an absent slot: zero).
    #[error("storage slot {slot}: the response claims {claimed}, the trie holds {proven}")]
    StorageMismatch {
        /// The slot.
        slot: B256,
        /// The response's value.
        claimed: U256,
        /// The proven value.
        proven: U256,
    },
}
