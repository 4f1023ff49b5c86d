//! The EIP-712 type strings of the protocol and their type hashes.
//!
//! The contracts hard-code the same strings (contracts/src/MedshareTypes.sol); the tests below
//! check that the generated ABI struct and the deployed bytecode agree with these, so the Rust
//! side and the chain cannot silently disagree on what is signed.

use alloy_primitives::{B256, keccak256};

/// `EIP712Domain` type string. Every medshare signature uses name [`crate::EIP712_NAME`],
/// version [`crate::EIP712_VERSION`], the chain id and the verifying contract.
pub const EIP712_DOMAIN: &str =
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
/// The paper's TD_i, signed by the owner (US_i); verifying contract = Data.
pub const RECORD: &str = "Record(address owner,bytes32 recordId,bytes32 dataType,bytes32 storageIndex,bytes32 ciphertextHash,uint64 timestamp,bytes cm,bytes rUg,bytes32 padCommitment,address tee)";
/// An owner's consent for one record and one job; verifying contract = Authorization.
pub const CONSENT: &str = "Consent(bytes32 ciphertextHash,bytes32 jobId,bytes rCPkC,uint32 budgetMilli,uint256 nonce,uint256 deadline)";
/// The demander's SM_j; its struct hash is the job id; verifying contract = Model.
pub const MODEL_SUBMISSION: &str = "ModelSubmission(address demander,bytes32 modelHash,bytes32 requirementHash,bytes32 dataType,uint64 timestamp,uint32 minCohort,uint32 epsilonMilli)";
/// The TEE's ST_j / ST_i; verifying contract = Model.
pub const VERIFICATION: &str = "Verification(bytes32 jobId,bytes32 subject,bool hashOk,bool signatureOk,uint64 viewBlock,bytes32 viewHash,bool headersVerified)";
/// The TEE's SMRT_j; verifying contract = Model.
pub const TRAINING_RESULT: &str = "TrainingResult(bytes32 jobId,bytes32 resultHash,uint64 viewBlock,bytes32 viewHash,bool headersVerified)";

/// keccak256 of a type string: its EIP-712 type hash.
pub fn of(type_string: &str) -> B256 {
    keccak256(type_string.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Audit, Authorization, Data, Model, Registration};
    use alloy_sol_types::SolStruct;

    /// True if `code` contains `PUSH32 hash`, i.e. the contract uses `hash` as a constant.
    fn pushes(code: &[u8], hash: B256) -> bool {
        let mut needle = Vec::with_capacity(33);
        needle.push(0x7f); // PUSH32
        needle.extend_from_slice(hash.as_slice());
        code.windows(33).any(|w| w == needle.as_slice())
    }

    #[test]
    fn abi_record_struct_has_the_protocol_type() {
        assert_eq!(Data::Record::eip712_encode_type(), RECORD);
        assert_eq!(Authorization::Record::eip712_encode_type(), RECORD);
        assert_eq!(Data::Record::default().eip712_type_hash(), of(RECORD));
    }

    #[test]
    fn contracts_hash_with_the_protocol_types() {
        assert!(pushes(&Data::DEPLOYED_BYTECODE, of(RECORD)));
        assert!(pushes(&Authorization::DEPLOYED_BYTECODE, of(RECORD)));
        assert!(pushes(&Authorization::DEPLOYED_BYTECODE, of(CONSENT)));
        assert!(pushes(&Model::DEPLOYED_BYTECODE, of(MODEL_SUBMISSION)));
        assert!(pushes(&Model::DEPLOYED_BYTECODE, of(VERIFICATION)));
        assert!(pushes(&Model::DEPLOYED_BYTECODE, of(TRAINING_RESULT)));
        // OpenZeppelin's EIP712 builds the domain separator from this type hash.
        for code in [
            &Data::DEPLOYED_BYTECODE,
            &Model::DEPLOYED_BYTECODE,
            &Authorization::DEPLOYED_BYTECODE,
        ] {
            assert!(pushes(code, of(EIP712_DOMAIN)));
        }
        // And no contract hashes with a near miss (e.g. a renamed field).
        let near_miss = of(&RECORD.replace("rUg", "rUG"));
        for code in [
            &Registration::DEPLOYED_BYTECODE,
            &Data::DEPLOYED_BYTECODE,
            &Model::DEPLOYED_BYTECODE,
            &Authorization::DEPLOYED_BYTECODE,
            &Audit::DEPLOYED_BYTECODE,
        ] {
            assert!(!pushes(code, near_miss));
        }
    }

    #[test]
    fn struct_hash_matches_manual_encoding() {
        // hashStruct(Record) as the contract computes it: dynamic `bytes` fields hashed.
        let rec = Data::Record {
            owner: alloy_primitives::Address::repeat_byte(1),
            recordId: B256::repeat_byte(2),
            dataType: B256::repeat_byte(3),
            storageIndex: B256::repeat_byte(4),
            ciphertextHash: B256::repeat_byte(5),
            timestamp: 6,
            cm: vec![7; 33].into(),
            rUg: vec![8; 33].into(),
            padCommitment: B256::repeat_byte(9),
            tee: alloy_primitives::Address::repeat_byte(10),
        };
        let mut enc = Vec::new();
        enc.extend_from_slice(of(RECORD).as_slice());
        enc.extend_from_slice(rec.owner.into_word().as_slice());
        enc.extend_from_slice(rec.recordId.as_slice());
        enc.extend_from_slice(rec.dataType.as_slice());
        enc.extend_from_slice(rec.storageIndex.as_slice());
        enc.extend_from_slice(rec.ciphertextHash.as_slice());
        enc.extend_from_slice(&alloy_primitives::U256::from(rec.timestamp).to_be_bytes::<32>());
        enc.extend_from_slice(keccak256(&rec.cm).as_slice());
        enc.extend_from_slice(keccak256(&rec.rUg).as_slice());
        enc.extend_from_slice(rec.padCommitment.as_slice());
        enc.extend_from_slice(rec.tee.into_word().as_slice());
        assert_eq!(rec.eip712_hash_struct(), keccak256(&enc));
    }
}
