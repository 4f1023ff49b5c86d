//! A chain in memory that answers views the way a node does: contract storage in a real
//! Merkle-Patricia state trie, EIP-1186 proofs built with alloy's hash builder, and block headers
//! sealed (Clique-style) by a sealer key — so the enclave verifies them exactly as it verifies a
//! node's.

use alloy_consensus::Header;
use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_rpc_types_eth::{EIP1186AccountProofResponse, EIP1186StorageProof};
use alloy_signer::SignerSync;
use alloy_trie::TrieAccount;
use medshare_contracts::Deployment;
use medshare_crypto::Identity;
use medshare_enclave_api::{ChainView, facts::SlotRequest};
use medshare_light::proof::test_support::trie;
use std::collections::BTreeMap;

/// The five contracts' storage at the current block, and the key that seals its headers.
pub(crate) struct Chain {
    pub(crate) chain_id: u64,
    pub(crate) deployment: Deployment,
    sealer: Identity,
    number: u64,
    /// Seconds the chain's clock is ahead of `1_700_000_000 + number`.
    clock: u64,
    storage: BTreeMap<Address, BTreeMap<B256, U256>>,
}

impl Chain {
    /// An empty deployment at block 100.
    pub(crate) fn new(chain_id: u64) -> Self {
        let deployment = Deployment::predict(Address::repeat_byte(0xde), 0);
        let storage = [
            deployment.registration,
            deployment.data,
            deployment.model,
            deployment.authorization,
            deployment.audit,
        ]
        .into_iter()
        .map(|a| (a, BTreeMap::new()))
        .collect();
        Self {
            chain_id,
            deployment,
            sealer: Identity::random(),
            number: 100,
            clock: 0,
            storage,
        }
    }

    /// The address whose signature makes a header genuine.
    pub(crate) fn sealer(&self) -> Address {
        self.sealer.address()
    }

    /// The current block number.
    pub(crate) fn number(&self) -> u64 {
        self.number
    }

    /// Moves the chain on by `blocks`, one second each.
    pub(crate) fn mine(&mut self, blocks: u64) {
        self.number += blocks;
    }

    /// Moves the chain's clock on by `seconds` and mines one block.
    pub(crate) fn wait(&mut self, seconds: u64) {
        self.clock += seconds;
        self.mine(1);
    }

    /// Writes a storage word (zero deletes it, as the EVM does).
    pub(crate) fn set(&mut self, contract: Address, slot: B256, value: U256) {
        let slots = self.storage.entry(contract).or_default();
        if value.is_zero() {
            slots.remove(&slot);
        } else {
            slots.insert(slot, value);
        }
    }

    /// A storage word.
    pub(crate) fn get(&self, contract: Address, slot: B256) -> U256 {
        self.storage
            .get(&contract)
            .and_then(|s| s.get(&slot))
            .copied()
            .unwrap_or_default()
    }

    fn storage_leaves(slots: &BTreeMap<B256, U256>) -> Vec<(B256, Vec<u8>)> {
        slots
            .iter()
            .map(|(k, v)| (keccak256(k), alloy_rlp::encode(v)))
            .collect()
    }

    fn account(&self, address: Address) -> TrieAccount {
        let slots = self.storage.get(&address).cloned().unwrap_or_default();
        TrieAccount {
            nonce: 1,
            balance: U256::ZERO,
            storage_root: trie(&Self::storage_leaves(&slots), &[]).0,
            code_hash: keccak256(address),
        }
    }

    /// A view at the current block: its sealed header and the proofs of `request`'s slots.
    pub(crate) fn view(&self, request: &SlotRequest) -> ChainView {
        self.view_at(self.number, request)
    }

    /// A view of the current state under a header numbered `number` (what a host replaying an
    /// older block would hand in).
    pub(crate) fn view_at(&self, number: u64, request: &SlotRequest) -> ChainView {
        let accounts: Vec<(Address, TrieAccount)> = self
            .storage
            .keys()
            .map(|a| (*a, self.account(*a)))
            .collect();
        let leaves: Vec<(B256, Vec<u8>)> = accounts
            .iter()
            .map(|(a, acc)| (keccak256(a), alloy_rlp::encode(acc)))
            .collect();
        let (state_root, _) = trie(&leaves, &[]);
        let proofs = request
            .iter()
            .map(|(address, slots)| {
                let (_, mut account_proof) = trie(&leaves, &[keccak256(address)]);
                let account = self.account(*address);
                let stored = self.storage.get(address).cloned().unwrap_or_default();
                let hashed: Vec<B256> = slots.iter().map(keccak256).collect();
                let (_, storage_proofs) = trie(&Self::storage_leaves(&stored), &hashed);
                EIP1186AccountProofResponse {
                    address: *address,
                    balance: account.balance,
                    code_hash: account.code_hash,
                    nonce: account.nonce,
                    storage_hash: account.storage_root,
                    account_proof: account_proof.pop().unwrap_or_default(),
                    storage_proof: slots
                        .iter()
                        .zip(storage_proofs)
                        .map(|(slot, proof)| EIP1186StorageProof {
                            key: (*slot).into(),
                            value: stored.get(slot).copied().unwrap_or_default(),
                            proof,
                        })
                        .collect(),
                }
            })
            .collect();
        let mut header = Header {
            number,
            state_root,
            timestamp: 1_700_000_000 + number + self.clock,
            extra_data: medshare_light::header::VANITY.to_vec().into(),
            ..Default::default()
        };
        let seal = self
            .sealer
            .signer()
            .sign_hash_sync(&medshare_light::header::seal_hash(&header))
            .expect("the sealer signs");
        header.extra_data = medshare_light::header::sealed_extra_data(&seal);
        ChainView {
            header: alloy_rlp::encode(&header).into(),
            proofs,
        }
    }
}
