//! The enclave's view of the chain: a header it authenticated and the storage its proofs show.

use crate::{Error, Result};
use alloy_consensus::Header;
use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_rlp::{Decodable, Encodable};
use medshare_enclave_api::{ChainView, TrustAnchors};
use std::collections::HashMap;

/// Most proofs (accounts) and storage proofs one view may carry: bounds the work a host can
/// make the enclave do per request.
const MAX_ACCOUNT_PROOFS: usize = 64;
const MAX_STORAGE_PROOFS: usize = 8192;

/// A verified slice of chain state at one block.
#[derive(Debug)]
pub(crate) struct View {
    /// The block number.
    pub(crate) number: u64,
    /// The block hash (keccak256 of the header's RLP).
    pub(crate) hash: B256,
    /// The header's timestamp, in seconds: the enclave's only clock (authenticated with the
    /// header's seal).
    pub(crate) timestamp: u64,
    /// Whether the header's seal was checked against the anchors' sealers.
    pub(crate) headers_verified: bool,
    slots: HashMap<(Address, B256), U256>,
}

impl View {
    /// Authenticates the header (one of the anchors' sealers signed it, unless the anchors are
    /// in the unverified-header mode) and verifies every proof against its state root.
    pub(crate) fn verify(view: &ChainView, anchors: &TrustAnchors) -> Result<Self> {
        let bytes = view.header.as_ref();
        let header = Header::decode(&mut &bytes[..])
            .map_err(|e| Error::View(format!("undecodable block header: {e}")))?;
        // Canonical encoding only, so that the hash named in statements is the block's.
        let mut again = Vec::with_capacity(bytes.len());
        header.encode(&mut again);
        if again != bytes {
            return Err(Error::View("non-canonical block header encoding".into()));
        }
        if anchors.headersVerified {
            let sealer = medshare_light::header::sealer_of(&header)
                .map_err(|e| Error::View(format!("block {}: {e}", header.number)))?;
            if !anchors.sealers.contains(&sealer) {
                return Err(Error::View(format!(
                    "block {} is sealed by {sealer}, which is not among the sealers this enclave trusts",
                    header.number
                )));
            }
        }
        if view.proofs.len() > MAX_ACCOUNT_PROOFS {
            return Err(Error::View(format!(
                "{} account proofs in one view (at most {MAX_ACCOUNT_PROOFS})",
                view.proofs.len()
            )));
        }
        let storage_proofs: usize = view.proofs.iter().map(|p| p.storage_proof.len()).sum();
        if storage_proofs > MAX_STORAGE_PROOFS {
            return Err(Error::View(format!(
                "{storage_proofs} storage proofs in one view (at most {MAX_STORAGE_PROOFS})"
            )));
        }
        let mut slots = HashMap::with_capacity(storage_proofs);
        for proof in &view.proofs {
            let account =
                medshare_light::proof::verify_account(header.state_root, proof).map_err(|e| {
                    Error::View(format!(
                        "block {}: the proof for {} does not verify: {e}",
                        header.number, proof.address
                    ))
                })?;
            for (slot, value) in account.storage {
                if let Some(old) = slots.insert((proof.address, slot), value)
                    && old != value
                {
                    // Cannot happen with sound proofs of one root; refuse rather than choose.
                    return Err(Error::View(format!(
                        "two proofs disagree on slot {slot} of {}",
                        proof.address
                    )));
                }
            }
        }
        Ok(Self {
            number: header.number,
            hash: keccak256(bytes),
            timestamp: header.timestamp,
            headers_verified: anchors.headersVerified,
            slots,
        })
    }

    /// The value of `slot` of `address` at this block; an error if the view did not prove it.
    pub(crate) fn slot(&self, address: Address, slot: B256) -> Result<U256> {
        self.slots
            .get(&(address, slot))
            .copied()
            .ok_or(Error::Unproven { address, slot })
    }
}
