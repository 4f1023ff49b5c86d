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
