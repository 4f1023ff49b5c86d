//! Building tries and their proofs the way a node does, for tests of code that verifies them
//! (this crate's, and the enclave's, whose tests answer with a chain kept in memory). Compiled
//! for this crate's tests and with the `test-support` feature only: never part of the enclave.

use alloy_primitives::{B256, Bytes};
use alloy_trie::{HashBuilder, Nibbles, proof::ProofRetainer};

/// The root of the trie of `leaves` (keys already hashed, values RLP-encoded) built with
/// alloy's hash builder, and for each of `targets` (hashed keys) its proof: the nodes on its
/// path, root first.
pub fn trie(leaves: &[(B256, Vec<u8>)], targets: &[B256]) -> (B256, Vec<Vec<Bytes>>) {
    let mut sorted = leaves.to_vec();
    sorted.sort();
    let retainer = ProofRetainer::from_iter(targets.iter().map(|t| Nibbles::unpack(t)));
    let mut builder = HashBuilder::default().with_proof_retainer(retainer);
    for (key, value) in &sorted {
        builder.add_leaf(Nibbles::unpack(key), value);
    }
    let root = builder.root();
    let nodes = builder.take_proof_nodes();
    let proofs = targets
        .iter()
        .map(|t| {
            nodes
                .matching_nodes_sorted(&Nibbles::unpack(t))
                .into_iter()
                .map(|(_, node)| node)
                .collect()
        })
        .collect();
    (root, proofs)
}
