//! EIP-712 typed data: the five signed structs of the protocol, the medshare domain, and
//! canonical 65-byte signatures.
//!
//! Every signature is over `keccak256(0x1901 || domainSeparator || hashStruct(value))` with the
//! domain `EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)`,
//! `name = "medshare"`, `version = "1"`. The struct declarations below are the Solidity ones
//! verbatim (through [`alloy_sol_types::sol!`]), so type hashes match the contracts'.
//!
//! Signatures are `r || s || v` with `v ∈ {27, 28}` and low `s` (`s ≤ n/2`), as OpenZeppelin's
//! `ECDSA.recover` demands; [`Signature::from_slice`] rejects anything else, so a [`Signature`]
//! value is always canonical and a malleated copy can never verify.

use std::fmt;

use alloy_primitives::{Address, B256, Bytes, U256, uint};
use alloy_sol_types::{Eip712Domain, SolStruct, sol};
use medshare_primitives::JobId;
use serde::{Deserialize, Serialize};

use crate::{Error, Identity, Result};

sol! {
    /// The paper's `TD_i`: one record registered by its owner (the signature is `US_i`).
    /// Verifying contract: Data.
    #[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
    struct Record {
        /// The owner (`PK_i` as an address).
        address owner;
        /// The owner's random record id, bound into the record ciphertext.
        bytes32 recordId;
        /// The data type id (`UDT`), `DataType::id()`.
        bytes32 dataType;
        /// Off-chain storage index `DA_i`.
        bytes32 storageIndex;
        /// `HDS_i`: SHA-256 of the ciphertext; the record's key on chain.
        bytes32 ciphertextHash;
        /// `DT_i`: seconds since the Unix epoch.
        uint64 timestamp;
        /// `CM_i`, 33-byte compressed point.
        bytes cm;
        /// `r_U·g`, 33-byte compressed point.
        bytes rUg;
        /// `keccak256(r_C·PK_C)`.
        bytes32 padCommitment;
        /// Address of the TEE whose `PK_T` the key is shared to.
        address tee;
    }

    /// An owner's consent to release one record to one job. Verifying contract: Authorization.
    #[derive(Debug, PartialEq, Eq)]
    struct Consent {
        /// The record, by ciphertext hash.
        bytes32 ciphertextHash;
        /// The job the record is released to.
        bytes32 jobId;
        /// `r_C·PK_C`, 33-byte compressed point; its keccak256 is the record's pad commitment.
        bytes rCPkC;
        /// The record's privacy budget the owner sets with the consent (total ε in thousandths;
        /// 0 keeps the current one; `u32::MAX` unlimited).
        uint32 budgetMilli;
        /// Replay protection, consumed on chain.
        uint256 nonce;
        /// Last valid block timestamp.
        uint256 deadline;
    }

    /// The demander's model submission `SM_j`; its struct hash is the job id.
    /// Verifying contract: Model.
    #[derive(Debug, PartialEq, Eq)]
    struct ModelSubmission {
        /// The demander's address.
        address demander;
        /// Hash of the model specification.
        bytes32 modelHash;
        /// Hash of the data requirements.
        bytes32 requirementHash;
        /// The data type id the model trains on.
        bytes32 dataType;
        /// Seconds since the Unix epoch.
        uint64 timestamp;
        /// The requirement's minimum cohort (refused on chain below the data type's floor).
        uint32 minCohort;
        /// The spec's ε in thousandths (`u32::MAX`: no differential privacy).
        uint32 epsilonMilli;
    }

    /// The TEE's verification statement `ST_j` (subject = model hash) or `ST_i`
    /// (subject = ciphertext hash), naming the block its view of the chain came from.
    /// Verifying contract: Model.
    #[derive(Debug, PartialEq, Eq)]
    struct Verification {
        /// The job.
        bytes32 jobId;
        /// What was verified: a model hash or a record's ciphertext hash.
        bytes32 subject;
        /// Whether the recomputed hash matched.
        bool hashOk;
        /// Whether the submitter's signature verified.
        bool signatureOk;
        /// The block whose state the enclave verified (by proofs) when it made the statement.
        uint64 viewBlock;
        /// That block's hash.
        bytes32 viewHash;
        /// Whether the enclave authenticated that block's header (its sealer's signature);
        /// false only in the unverified-header mode governance must allow explicitly.
        bool headersVerified;
    }

    /// The TEE's signature `SMRT_j` over an encrypted training result, naming the block its
    /// view of the chain came from. Verifying contract: Model.
    #[derive(Debug, PartialEq, Eq)]
    struct TrainingResult {
        /// The job.
        bytes32 jobId;
        /// `HCMRT_j`: hash of the result ciphertext.
        bytes32 resultHash;
        /// The block whose state the enclave verified (by proofs) for the job.
        uint64 viewBlock;
        /// That block's hash.
        bytes32 viewHash;
        /// Whether the enclave authenticated that block's header.
        bool headersVerified;
    }
}

/// The medshare EIP-712 domain for one chain and one verifying contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain {
    inner: Eip712Domain,
}

impl Domain {
    /// The domain `name`.
    pub const NAME: &'static str = "medshare";
    /// The domain `version`.
    pub const VERSION: &'static str = "1";

    /// `{name: "medshare", version: "1", chainId, verifyingContract}`.
    pub fn new(chain_id: u64, verifying_contract: Address) -> Self {
        Self {
            inner: Eip712Domain::new(
                Some(Self::NAME.into()),
                Some(Self::VERSION.into()),
                Some(U256::from(chain_id)),
                Some(verifying_contract),
                None,
            ),
        }
    }

    /// The alloy domain value.
    pub fn eip712(&self) -> &Eip712Domain {
        &self.inner
    }

    /// The domain separator, `hashStruct(EIP712Domain)`.
    pub fn separator(&self) -> B256 {
        self.inner.separator()
    }
}

/// secp256k1 group order `n`.
const ORDER: U256 = uint!(0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141_U256);

/// A canonical 65-byte Ethereum signature `r || s || v`: `v ∈ {27, 28}`, `0 < r < n`,
/// `0 < s ≤ n/2`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Bytes", into = "Bytes")]
pub struct Signature([u8; 65]);

impl Signature {
    /// Parses and checks a signature from untrusted bytes. Rejects a wrong length, `v` other
    /// than 27/28, `r` or `s` out of range, and high `s` (the malleated twin of a valid signature).
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let bytes: [u8; 65] = bytes.try_into().map_err(|_| Error::BadSignature {
            reason: "expected exactly 65 bytes",
        })?;
        if !matches!(bytes[64], 27 | 28) {
            return Err(Error::BadSignature {
                reason: "v must be 27 or 28",
            });
        }
        let r = U256::from_be_slice(&bytes[..32]);
        let s = U256::from_be_slice(&bytes[32..64]);
        if r.is_zero() || r >= ORDER {
            return Err(Error::BadSignature {
                reason: "r out of range",
            });
        }
        if s.is_zero() {
            return Err(Error::BadSignature {
                reason: "s is zero",
            });
        }
        if s > ORDER >> 1 {
            return Err(Error::BadSignature {
                reason: "high s (malleable signature)",
            });
        }
        Ok(Self(bytes))
    }

    /// The 65 bytes `r || s || v`.
    pub fn as_bytes(&self) -> &[u8; 65] {
        &self.0
    }

    /// The 65 bytes as [`Bytes`], the form contract calls take.
    pub fn to_bytes(&self) -> Bytes {
        Bytes::copy_from_slice(&self.0)
    }
}

impl TryFrom<Bytes> for Signature {
    type Error = Error;
    fn try_from(bytes: Bytes) -> Result<Self> {
        Self::from_slice(&bytes)
    }
}

impl From<Signature> for Bytes {
    fn from(sig: Signature) -> Self {
        sig.to_bytes()
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature(0x{})", alloy_primitives::hex::encode(self.0))
    }
}

/// The digest that is signed: `keccak256(0x1901 || domainSeparator || hashStruct(value))`.
pub fn signing_hash<T: SolStruct>(domain: &Domain, value: &T) -> B256 {
    value.eip712_signing_hash(domain.eip712())
}

/// Signs `value` under `domain` with `identity`'s key (deterministic RFC 6979, low `s`).
///
/// Through libsecp256k1 (each record's owner signs its TD_i: a per-record cost of an upload),
/// byte for byte the signature alloy's k256 signer makes.
pub fn sign<T: SolStruct>(identity: &Identity, domain: &Domain, value: &T) -> Result<Signature> {
    crate::secp::sign_prehash(identity.secret_scalar(), &signing_hash(domain, value))
}

/// The address that signed `value` under `domain`. Any data, domain or struct other than the
/// signed one recovers to an unrelated address (or fails).
pub fn recover<T: SolStruct>(domain: &Domain, value: &T, signature: &Signature) -> Result<Address> {
    let sig = alloy_primitives::Signature::from_raw_array(signature.as_bytes()).map_err(|_| {
        Error::BadSignature {
            reason: "v must be 27 or 28",
        }
    })?;
    sig.recover_address_from_prehash(&signing_hash(domain, value))
        .map_err(|_| Error::BadSignature {
            reason: "no public key recovers from it",
        })
}

/// Checks that `signature` is `expected`'s signature over `value` under `domain`.
pub fn verify<T: SolStruct>(
    domain: &Domain,
    value: &T,
    signature: &Signature,
    expected: Address,
) -> Result<()> {
    let recovered = recover(domain, value, signature)?;
    if recovered == expected {
        Ok(())
    } else {
        Err(Error::WrongSigner {
            expected,
            recovered,
        })
    }
}

/// The job id of a model submission: `hashStruct(ModelSubmission)` (no domain).
pub fn job_id(submission: &ModelSubmission) -> JobId {
    JobId(submission.eip712_hash_struct())
}

/// A record's commitment, as its owner registers it in Data: `hashStruct(Record)`.
pub fn record_commitment(record: &Record) -> B256 {
    record.eip712_hash_struct()
}

/// What the Data contract stores for a live record: `keccak256(abi.encode(owner, commitment))`,
/// the commitment bound to the account that registered it.
pub fn owned_commitment(owner: Address, commitment: B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[12..32].copy_from_slice(owner.as_slice());
    buf[32..].copy_from_slice(commitment.as_slice());
    alloy_primitives::keccak256(buf)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn type_strings_match_the_protocol() {
        assert_eq!(
            Record::eip712_encode_type(),
            "Record(address owner,bytes32 recordId,bytes32 dataType,bytes32 storageIndex,bytes32 ciphertextHash,uint64 timestamp,bytes cm,bytes rUg,bytes32 padCommitment,address tee)"
        );
        assert_eq!(
            Consent::eip712_encode_type(),
            "Consent(bytes32 ciphertextHash,bytes32 jobId,bytes rCPkC,uint32 budgetMilli,uint256 nonce,uint256 deadline)"
        );
        assert_eq!(
            ModelSubmission::eip712_encode_type(),
            "ModelSubmission(address demander,bytes32 modelHash,bytes32 requirementHash,bytes32 dataType,uint64 timestamp,uint32 minCohort,uint32 epsilonMilli)"
        );
        assert_eq!(
            Verification::eip712_encode_type(),
            "Verification(bytes32 jobId,bytes32 subject,bool hashOk,bool signatureOk,uint64 viewBlock,bytes32 viewHash,bool headersVerified)"
        );
        assert_eq!(
            TrainingResult::eip712_encode_type(),
            "TrainingResult(bytes32 jobId,bytes32 resultHash,uint64 viewBlock,bytes32 viewHash,bool headersVerified)"
        );
    }

    #[test]
    fn domain_type_has_the_four_fields() {
        let d = Domain::new(1337, Address::ZERO);
        assert_eq!(
            d.eip712().encode_type(),
            "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
        );
    }

    #[test]
    fn signature_parsing_is_strict() {
        let mut ok = [0u8; 65];
        ok[31] = 1;
        ok[63] = 1;
        ok[64] = 27;
        assert!(Signature::from_slice(&ok).is_ok());
        let mut v = ok;
        v[64] = 1;
        assert!(Signature::from_slice(&v).is_err());
        assert!(Signature::from_slice(&ok[..64]).is_err());
        let mut zero_r = ok;
        zero_r[31] = 0;
        assert!(Signature::from_slice(&zero_r).is_err());
        let mut r_n = ok;
        r_n[..32].copy_from_slice(&ORDER.to_be_bytes::<32>());
        assert!(Signature::from_slice(&r_n).is_err());
        let mut half = ok;
        half[32..64].copy_from_slice(&(ORDER >> 1usize).to_be_bytes::<32>());
        assert!(Signature::from_slice(&half).is_ok());
        let mut high = ok;
        high[32..64].copy_from_slice(&((ORDER >> 1usize) + U256::from(1)).to_be_bytes::<32>());
        assert!(matches!(
            Signature::from_slice(&high),
            Err(Error::BadSignature { .. })
        ));
    }

    #[test]
    fn signature_serde_round_trip_validates() {
        let id = Identity::random();
        let d = Domain::new(1, Address::ZERO);
        let sig = id
            .sign_typed(
                &d,
                &TrainingResult {
                    jobId: B256::ZERO,
                    resultHash: B256::ZERO,
                    viewBlock: 0,
                    viewHash: B256::ZERO,
                    headersVerified: true,
                },
            )
            .unwrap();
        let json = serde_json::to_string(&sig).unwrap();
        assert_eq!(serde_json::from_str::<Signature>(&json).unwrap(), sig);
        assert!(serde_json::from_str::<Signature>("\"0x1234\"").is_err());
    }
}
