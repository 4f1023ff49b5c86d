//! The public metadata stored beside ciphertexts in off-chain storage.

use alloy_primitives::{Address, B256, Bytes};
use medshare_crypto::eip712::Record;
use serde::{Deserialize, Serialize};

/// Beside a record's ciphertext (`records/<HDS_i>.td.json`): TD_i and the owner's US_i. The chain
/// holds hashStruct(TD_i), bound to the owner, to check it against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordMeta {
    /// TD_i.
    pub record: Record,
    /// US_i (65 bytes).
    pub signature: Bytes,
}

/// Beside an encrypted result (`results/<HCMRT_j>.sig.json`): the TEE's SMRT_j.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultMeta {
    /// The job.
    pub job: B256,
    /// The TEE that signed.
    pub tee: Address,
    /// SMRT_j: EIP-712 TrainingResult {job, HCMRT_j, the view block and hash (from the
    /// `ResultPosted` event), whether the TEE verifies headers} (65 bytes).
    pub signature: Bytes,
}

/// A bulk consent's list (`consents/<SHA-256>.json`): the record versions its owner consents
/// to one job with, and their pads r_C·PK_C. On chain, `Authorization.grantBatch` stores the
/// root of their [`medshare_contracts::consent::ConsentTree`] and this object's SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentList {
    /// The owner.
    pub owner: Address,
    /// The job.
    pub job: B256,
    /// The record versions, in the tree's leaf order.
    pub entries: Vec<ConsentEntry>,
}

/// One record version of a [`ConsentList`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentEntry {
    /// HDS_i.
    pub ciphertext_hash: B256,
    /// hashStruct(TD_i): the leaf's value.
    pub commitment: B256,
    /// r_C·PK_C (33 bytes; public once consented, as a `PadReleased` pad is).
    pub pad: Bytes,
}

impl ConsentList {
    /// The Merkle tree over the entries' commitments (`None` when empty).
    pub fn tree(&self) -> Option<medshare_contracts::consent::ConsentTree> {
        let commitments: Vec<B256> = self.entries.iter().map(|e| e.commitment).collect();
        medshare_contracts::consent::ConsentTree::new(&commitments)
    }
}

/// Largest bulk consent list read: [`crate::user::GRANT_BATCH`] entries take about 1.2 MB.
pub(crate) const MAX_CONSENT_LIST_BYTES: usize = 4 * 1024 * 1024;

/// Largest metadata object read.
pub(crate) const MAX_META_BYTES: usize = 64 * 1024;

/// Parses metadata JSON, refusing oversized input.
pub(crate) fn parse<T: for<'de> Deserialize<'de>>(
    bytes: &[u8],
    what: &'static str,
) -> crate::Result<T> {
    if bytes.len() > MAX_META_BYTES {
        return Err(crate::Error::MalformedMetadata {
            what,
            reason: format!("{} bytes: not metadata", bytes.len()),
        });
    }
    serde_json::from_slice(bytes).map_err(|e| crate::Error::MalformedMetadata {
        what,
        reason: e.to_string(),
    })
}

/// The bulk consent list stored under `list_hash`, if storage has it intact (its SHA-256 is
/// `list_hash` and it parses). Storage is not trusted: anything else is `None`. A store that
/// cannot be reached at all is an error.
pub(crate) async fn read_consent_list(
    store: &dyn medshare_storage::Store,
    list_hash: B256,
) -> crate::Result<Option<ConsentList>> {
    let key = medshare_storage::Key::consent(&list_hash.0);
    let bytes = match store.get_at_most(&key, MAX_CONSENT_LIST_BYTES as u64).await {
        Ok(bytes) => bytes,
        Err(e) if e.is_unavailable() => return Err(e.into()),
        Err(e) => {
            tracing::warn!("{e}: the bulk consent it lists is skipped");
            return Ok(None);
        }
    };
    if medshare_crypto::sha256(&bytes) != list_hash {
        tracing::warn!("{key} does not hash to its name: the bulk consent it lists is skipped");
        return Ok(None);
    }
    Ok(serde_json::from_slice(&bytes).ok())
}
