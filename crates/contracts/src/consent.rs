//! Bulk consents' Merkle trees (`Authorization.grantBatch`).
//!
//! A bulk consent commits, in one storage slot, to a list of record versions: the root of a
//! binary Merkle tree whose leaves are `keccak256(abi.encode(commitment))` (commitment =
//! hashStruct(Record)) and whose inner nodes hash their two children in sorted order, as
//! OpenZeppelin's `MerkleProof` verifies them on chain (`revokeFromBatch`). Leaves stay in the
//! list's order; a level with an odd count carries its last node up unchanged. A leaf hashes 32
//! bytes and an inner node 64, so a leaf never passes for a node.
//!
//! Written here rather than taken from a crate: the maintained Rust Merkle crates (rs_merkle
//! and others) hash by position, not in OpenZeppelin's sorted-pair form the contract checks.

use alloy_primitives::{B256, keccak256};

/// The leaf of a record version.
pub fn leaf(commitment: B256) -> B256 {
    keccak256(commitment)
}

fn node(a: B256, b: B256) -> B256 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(lo.as_slice());
    buf[32..].copy_from_slice(hi.as_slice());
    keccak256(buf)
}

/// The tree of one bulk consent, every level kept so that any member's proof can be read.
#[derive(Debug, Clone)]
pub struct ConsentTree {
    levels: Vec<Vec<B256>>,
}

impl ConsentTree {
    /// The tree over these commitments, in order; `None` for an empty list.
    pub fn new(commitments: &[B256]) -> Option<Self> {
        if commitments.is_empty() {
            return None;
        }
        let mut levels = vec![commitments.iter().copied().map(leaf).collect::<Vec<_>>()];
        while let Some(last) = levels.last().filter(|l| l.len() > 1) {
            let up = last
                .chunks(2)
                .map(|pair| pair.iter().copied().reduce(node).unwrap_or_default())
                .collect();
            levels.push(up);
        }
        Some(Self { levels })
    }

    /// The root `grantBatch` stores.
    pub fn root(&self) -> B256 {
        self.levels
            .last()
            .and_then(|l| l.first())
            .copied()
            .unwrap_or_default()
    }

    /// How many record versions it lists.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// Whether it lists none (never: [`ConsentTree::new`] refuses an empty list).
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The Merkle path of the member at `index` (siblings from the leaf up), or `None` past
    /// the end.
    pub fn proof(&self, index: usize) -> Option<Vec<B256>> {
        if index >= self.len() {
            return None;
        }
        let mut proof = Vec::new();
        let mut i = index;
        for level in &self.levels[..self.levels.len() - 1] {
            if let Some(sibling) = level.get(i ^ 1) {
                proof.push(*sibling);
            }
            i /= 2;
        }
        Some(proof)
    }
}

/// Whether `proof` shows `commitment` in the bulk consent with this root (OpenZeppelin's
/// `MerkleProof.verify` over [`leaf`]).
pub fn verify(commitment: B256, proof: &[B256], root: B256) -> bool {
    proof.iter().fold(leaf(commitment), |acc, s| node(acc, *s)) == root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(n: usize) -> Vec<B256> {
        (0..n)
            .map(|i| keccak256((i as u64).to_be_bytes()))
            .collect()
    }

    #[test]
    fn every_member_proves_and_nothing_else_does() {
        for n in [1, 2, 3, 5, 8, 13, 100] {
            let commitments = list(n);
            let tree = ConsentTree::new(&commitments).unwrap();
            assert_eq!(tree.len(), n);
            for (i, c) in commitments.iter().enumerate() {
                let proof = tree.proof(i).unwrap();
                assert!(verify(*c, &proof, tree.root()), "n {n}, member {i}");
                assert!(
                    !verify(keccak256(c), &proof, tree.root()),
                    "n {n}, outsider"
                );
            }
            assert!(tree.proof(n).is_none());
        }
        assert!(ConsentTree::new(&[]).is_none());
    }

    #[test]
    fn one_member_is_its_own_leaf_and_order_matters_for_the_list_not_the_pairs() {
        let c = list(1)[0];
        let tree = ConsentTree::new(&[c]).unwrap();
        assert_eq!(tree.root(), leaf(c));
        assert_eq!(tree.proof(0).unwrap(), Vec::<B256>::new());
        let two = list(2);
        let swapped = [two[1], two[0]];
        assert_eq!(
            ConsentTree::new(&two).unwrap().root(),
            ConsentTree::new(&swapped).unwrap().root()
        );
    }
}
