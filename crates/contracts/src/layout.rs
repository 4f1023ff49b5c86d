//! Where the contracts keep the facts the enclave checks, and how to read them.
//!
//! The enclave does not take its host's word for any chain fact: it reads the contracts'
//! storage through EIP-1186 state proofs (`eth_getProof`) verified against a block header it
//! authenticates itself. For that it must know, for each fact, which storage slot of which
//! contract holds it and how the value is packed — the Solidity storage layout, which is
//! therefore part of the protocol. The constants here are the layout solc reports for
//! `contracts/src` (`storageLayout` in `contracts/out/*.json`); a test checks every one against
//! the artifacts, so a contract change that moves a variable fails the build's tests instead of
//! silently making the enclave read the wrong slot.
//!
//! Slot rules (Solidity): a `mapping(K => V)` declared at slot `p` keeps key `k`'s value at
//! `keccak256(pad32(k) ‖ pad32(p))`; a nested mapping applies the rule twice; a struct value
//! starts at that slot, its members packed from the low-order bytes of each word.

use alloy_primitives::{Address, B256, U256, keccak256};

/// The slot of `mapping[key]` for a mapping declared at `slot`.
pub fn mapping_slot(key: B256, slot: U256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(key.as_slice());
    buf[32..].copy_from_slice(&slot.to_be_bytes::<32>());
    keccak256(buf)
}

fn slot_of(key: B256, declared: u64) -> B256 {
    mapping_slot(key, U256::from(declared))
}

fn u32_key(v: u32) -> B256 {
    B256::from(U256::from(v))
}

/// The byte at `offset` (0 = least significant) of a storage word.
fn byte_at(word: U256, offset: usize) -> u8 {
    word.byte(offset)
}

/// Registration: parties, public keys, measurements, governance flags.
pub mod registration {
    use super::*;

    /// `mapping(address => Party) _parties`.
    pub const PARTIES: u64 = 0;
    /// `mapping(address => PublicKey) _publicKeys` (x at the base slot, y at base + 1).
    pub const PUBLIC_KEYS: u64 = 1;
    /// `mapping(uint32 => bytes32) _measurements`.
    pub const MEASUREMENTS: u64 = 3;
    /// `mapping(uint32 => bool) _measurementAllowed`.
    pub const MEASUREMENT_ALLOWED: u64 = 4;
    /// `uint64 _adminCount; bool _acceptSimulated; bool _acceptUnverifiedHeaders;
    /// uint32 _measurementCount` packed in one slot.
    pub const FLAGS: u64 = 6;
    /// `mapping(address => bytes32) _teeEvidence`.
    pub const TEE_EVIDENCE: u64 = 7;

    /// The slot of `account`'s [`Party`].
    pub fn party(account: Address) -> B256 {
        slot_of(account.into_word(), PARTIES)
    }

    /// The two slots (x, y) of `account`'s 64-byte public key.
    pub fn public_key(account: Address) -> [B256; 2] {
        let base = slot_of(account.into_word(), PUBLIC_KEYS);
        let next = B256::from(U256::from_be_bytes(base.0).wrapping_add(U256::from(1)));
        [base, next]
    }

    /// The slot of the measurement interned as `id`.
    pub fn measurement(id: u32) -> B256 {
        slot_of(u32_key(id), MEASUREMENTS)
    }

    /// The slot of whether the measurement interned as `id` is allowlisted.
    pub fn measurement_allowed(id: u32) -> B256 {
        slot_of(u32_key(id), MEASUREMENT_ALLOWED)
    }

    /// The slot of the governance flags ([`Flags`]).
    pub fn flags() -> B256 {
        B256::from(U256::from(FLAGS))
    }

    /// The slot of the hash of the evidence `tee` submitted.
    pub fn tee_evidence(tee: Address) -> B256 {
        slot_of(tee.into_word(), TEE_EVIDENCE)
    }

    /// `Registration.Party`, decoded from its storage word.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Party {
        /// `Role` as a number (0 none, 1 user, 2 demander, 3 TEE, 4 reviewer).
        pub role: u8,
        /// Cleared when governance removes a reviewer or revokes a TEE.
        pub active: bool,
        /// TEE: governance verified its evidence and admitted it.
        pub admitted: bool,
        /// TEE: `EvidenceKind` as a number (0 simulated, 1 SGX DCAP, 2 TDX).
        pub evidence_kind: u8,
        /// TEE: its view of the chain rests on unsigned headers.
        pub unverified_headers: bool,
        /// TEE: the interned id of its admitted measurement.
        pub measurement_id: u32,
    }

    impl Party {
        /// Decodes the packed word (role at byte 0, then active, admitted, evidenceKind,
        /// unverifiedHeaders, and measurementId in bytes 5..9).
        pub fn decode(word: U256) -> Self {
            let id = (word >> 40usize) & U256::from(u32::MAX);
            Self {
                role: byte_at(word, 0),
                active: byte_at(word, 1) != 0,
                admitted: byte_at(word, 2) != 0,
                evidence_kind: byte_at(word, 3),
                unverified_headers: byte_at(word, 4) != 0,
                measurement_id: id.to::<u32>(),
            }
        }
    }

    /// The governance flags slot, decoded.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Flags {
        /// Number of admins.
        pub admin_count: u64,
        /// Simulated evidence is accepted.
        pub accept_simulated: bool,
        /// Views resting on unsigned headers are accepted.
        pub accept_unverified_headers: bool,
        /// Measurements interned so far.
        pub measurement_count: u32,
    }

    impl Flags {
        /// Decodes the packed word.
        pub fn decode(word: U256) -> Self {
            Self {
                admin_count: (word & U256::from(u64::MAX)).to::<u64>(),
                accept_simulated: byte_at(word, 8) != 0,
                accept_unverified_headers: byte_at(word, 9) != 0,
                measurement_count: ((word >> 80usize) & U256::from(u32::MAX)).to::<u32>(),
            }
        }
    }
}

/// Model: jobs and their approvers.
pub mod model {
    use super::*;

    /// `mapping(bytes32 => Job) _jobs`.
    pub const JOBS: u64 = 2;
    /// `mapping(bytes32 => address) _approvers`.
    pub const APPROVERS: u64 = 6;
    /// `mapping(bytes32 dataType => DataTypeRules) _rules`.
    pub const RULES: u64 = 7;
    /// `mapping(bytes32 dataType => bytes32) _schemaHashes`.
    pub const SCHEMA_HASHES: u64 = 8;
    /// `mapping(bytes32 jobId => uint32) _debitBatches`.
    pub const DEBIT_BATCHES: u64 = 9;
    /// `mapping(bytes32 jobId => bytes32) _trainings`.
    pub const TRAININGS: u64 = 10;
    /// The cohort floor of a data type whose rules governance did not set
    /// (`Model.DEFAULT_MIN_COHORT`).
    pub const DEFAULT_MIN_COHORT: u32 = 50;

    /// The slot of job `job`'s [`Job`].
    pub fn job(job: B256) -> B256 {
        slot_of(job, JOBS)
    }

    /// The slot of the reviewer who approved `job`.
    pub fn approver(job: B256) -> B256 {
        slot_of(job, APPROVERS)
    }

    /// The slot of `data_type`'s [`DataTypeRules`].
    pub fn rules(data_type: B256) -> B256 {
        slot_of(data_type, RULES)
    }

    /// The slot of `data_type`'s schema hash.
    pub fn schema_hash(data_type: B256) -> B256 {
        slot_of(data_type, SCHEMA_HASHES)
    }

    /// The slot of how many budget batches `job` debited.
    pub fn debit_batches(job: B256) -> B256 {
        slot_of(job, DEBIT_BATCHES)
    }

    /// The slot of the training `job`'s debits pay for.
    pub fn training(job: B256) -> B256 {
        slot_of(job, TRAININGS)
    }

    /// `Model.DataTypeRules`, decoded (the defaults when governance set none).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct DataTypeRules {
        /// The smallest cohort a job may train on.
        pub min_cohort: u32,
        /// The largest ε in thousandths; 0: no cap below ∞.
        pub max_epsilon_milli: u32,
        /// Whether a job may train without differential privacy.
        pub allow_non_private: bool,
        /// Whether governance set the rules.
        pub set: bool,
    }

    impl DataTypeRules {
        /// Decodes the packed word (minCohort 0..4, maxEpsilonMilli 4..8, allowNonPrivate at 8,
        /// set at 9), applying the defaults when `set` is false.
        pub fn decode(word: U256) -> Self {
            let set = byte_at(word, 9) != 0;
            if !set {
                return Self {
                    min_cohort: DEFAULT_MIN_COHORT,
                    max_epsilon_milli: 0,
                    allow_non_private: false,
                    set: false,
                };
            }
            Self {
                min_cohort: (word & U256::from(u32::MAX)).to::<u32>(),
                max_epsilon_milli: ((word >> 32usize) & U256::from(u32::MAX)).to::<u32>(),
                allow_non_private: byte_at(word, 8) != 0,
                set,
            }
        }
    }

    /// `Model.Job`, decoded from its storage word.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Job {
        /// The demander who submitted it (zero: no such job).
        pub demander: Address,
        /// `JobStatus` as a number.
        pub status: u8,
        /// The interned id of its data type.
        pub data_type_id: u32,
        /// Its ε in thousandths ([`crate::EPSILON_INFINITE`]: no differential privacy).
        pub epsilon_milli: u32,
    }

    impl Job {
        /// Decodes the packed word (demander in bytes 0..20, status at 20, data type id 21..25,
        /// ε 25..29).
        pub fn decode(word: U256) -> Self {
            let bytes = word.to_be_bytes::<32>();
            Self {
                demander: Address::from_slice(&bytes[12..32]),
                status: byte_at(word, 20),
                data_type_id: ((word >> 168usize) & U256::from(u32::MAX)).to::<u32>(),
                epsilon_milli: ((word >> 200usize) & U256::from(u32::MAX)).to::<u32>(),
            }
        }
    }

    /// An address stored in the low 20 bytes of a word.
    pub fn address(word: U256) -> Address {
        let bytes = word.to_be_bytes::<32>();
        Address::from_slice(&bytes[12..32])
    }
}

/// Data: record commitments.
pub mod data {
    use super::*;

    /// `mapping(bytes32 ciphertextHash => bytes32 ownedCommitment) _commitments`.
    pub const COMMITMENTS: u64 = 2;

    /// The slot of the owned commitment stored for ciphertext hash `ciphertext_hash`.
    pub fn commitment(ciphertext_hash: B256) -> B256 {
        slot_of(ciphertext_hash, COMMITMENTS)
    }

    /// What Data stores for a live record: `keccak256(abi.encode(owner, hashStruct(Record)))`
    /// (`MedshareHashing.ownedCommitment`).
    pub fn owned_commitment(owner: Address, commitment: B256) -> B256 {
        let mut buf = [0u8; 64];
        buf[..32].copy_from_slice(owner.into_word().as_slice());
        buf[32..].copy_from_slice(commitment.as_slice());
        keccak256(buf)
    }
}

/// Authorization: grants and standing policies.
pub mod authorization {
    use super::*;

    /// `mapping(bytes32 grantKey => bool) _grants`.
    pub const GRANTS: u64 = 3;
    /// `mapping(address owner => mapping(bytes32 dataType => bool)) _policies`.
    pub const POLICIES: u64 = 4;
    /// `mapping(bytes32 ciphertextHash => Budget) _budgets`.
    pub const BUDGETS: u64 = 5;
    /// `mapping(bytes32 batchKey => BatchGrant) _batchGrants`.
    pub const BATCH_GRANTS: u64 = 6;
    /// `mapping(bytes32 revocationKey => bool) _batchRevocations`.
    pub const BATCH_REVOCATIONS: u64 = 7;

    /// `Authorization.BatchGrant`, decoded.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct BatchGrant {
        /// The budget (thousandths of ε) its records take when they have none of their own.
        pub budget_milli: u32,
        /// How many records its owner says it lists.
        pub count: u32,
        /// Granted and not revoked as a whole.
        pub live: bool,
    }

    impl BatchGrant {
        /// Unpacks the storage word (members from the low-order bytes).
        pub fn decode(word: U256) -> Self {
            Self {
                budget_milli: (word & U256::from(u32::MAX)).to::<u32>(),
                count: ((word >> 32usize) & U256::from(u32::MAX)).to::<u32>(),
                live: byte_at(word, 8) != 0,
            }
        }
    }

    fn batch_key(owner: Address, job: B256, root: B256) -> B256 {
        let mut buf = [0u8; 96];
        buf[..32].copy_from_slice(owner.into_word().as_slice());
        buf[32..64].copy_from_slice(job.as_slice());
        buf[64..].copy_from_slice(root.as_slice());
        keccak256(buf)
    }

    /// The slot of `owner`'s bulk consent `root` to `job`:
    /// `_batchGrants[keccak256(abi.encode(owner, job, root))]`.
    pub fn batch_grant(owner: Address, job: B256, root: B256) -> B256 {
        slot_of(batch_key(owner, job, root), BATCH_GRANTS)
    }

    /// The slot saying the record version `commitment` was withdrawn from `owner`'s bulk
    /// consent `root` to `job`: `_batchRevocations[keccak256(abi.encode(batchKey, commitment))]`.
    pub fn batch_revocation(owner: Address, job: B256, root: B256, commitment: B256) -> B256 {
        let mut buf = [0u8; 64];
        buf[..32].copy_from_slice(batch_key(owner, job, root).as_slice());
        buf[32..].copy_from_slice(commitment.as_slice());
        slot_of(keccak256(buf), BATCH_REVOCATIONS)
    }

    /// The slot of the privacy budget of the record with this ciphertext hash.
    pub fn budget(ciphertext_hash: B256) -> B256 {
        slot_of(ciphertext_hash, BUDGETS)
    }

    /// `Authorization.Budget`, decoded: (total, spent) in thousandths of ε.
    pub fn decode_budget(word: U256) -> (u32, u32) {
        (
            (word & U256::from(u32::MAX)).to::<u32>(),
            ((word >> 32usize) & U256::from(u32::MAX)).to::<u32>(),
        )
    }

    /// The slot of the grant of the record version with commitment `commitment`
    /// (hashStruct(Record)) to `job`: `_grants[keccak256(abi.encode(commitment, job))]`.
    pub fn grant(commitment: B256, job: B256) -> B256 {
        let mut buf = [0u8; 64];
        buf[..32].copy_from_slice(commitment.as_slice());
        buf[32..].copy_from_slice(job.as_slice());
        slot_of(keccak256(buf), GRANTS)
    }

    /// The slot of `owner`'s standing policy for `data_type`.
    pub fn policy(owner: Address, data_type: B256) -> B256 {
        let inner = slot_of(owner.into_word(), POLICIES);
        mapping_slot(data_type, U256::from_be_bytes(inner.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(contract: &str) -> serde_json::Value {
        let path = format!(
            "{}/../../contracts/out/{contract}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(path).expect("artifact");
        let json: serde_json::Value = serde_json::from_str(&text).expect("json");
        json["storageLayout"].clone()
    }

    fn slot(contract: &str, label: &str) -> (u64, u64) {
        let l = layout(contract);
        let v = l["variables"]
            .as_array()
            .expect("variables")
            .iter()
            .find(|v| v["label"] == label)
            .unwrap_or_else(|| panic!("{contract}.{label} is not in the storage layout"));
        (
            v["slot"].as_str().expect("slot").parse().expect("number"),
            v["offset"].as_u64().expect("offset"),
        )
    }

    fn members(contract: &str, strukt: &str) -> Vec<(String, u64, u64)> {
        layout(contract)["structs"][strukt]
            .as_array()
            .expect("struct")
            .iter()
            .map(|m| {
                (
                    m["label"].as_str().expect("label").to_owned(),
                    m["slot"].as_str().expect("slot").parse().expect("number"),
                    m["offset"].as_u64().expect("offset"),
                )
            })
            .collect()
    }

    #[test]
    fn slots_are_the_compilers() {
        assert_eq!(slot("Registration", "_parties"), (registration::PARTIES, 0));
        assert_eq!(
            slot("Registration", "_publicKeys"),
            (registration::PUBLIC_KEYS, 0)
        );
        assert_eq!(
            slot("Registration", "_measurements"),
            (registration::MEASUREMENTS, 0)
        );
        assert_eq!(
            slot("Registration", "_measurementAllowed"),
            (registration::MEASUREMENT_ALLOWED, 0)
        );
        assert_eq!(
            slot("Registration", "_adminCount"),
            (registration::FLAGS, 0)
        );
        assert_eq!(
            slot("Registration", "_acceptSimulated"),
            (registration::FLAGS, 8)
        );
        assert_eq!(
            slot("Registration", "_acceptUnverifiedHeaders"),
            (registration::FLAGS, 9)
        );
        assert_eq!(
            slot("Registration", "_measurementCount"),
            (registration::FLAGS, 10)
        );
        assert_eq!(
            slot("Registration", "_teeEvidence"),
            (registration::TEE_EVIDENCE, 0)
        );
        assert_eq!(slot("Model", "_jobs"), (model::JOBS, 0));
        assert_eq!(slot("Model", "_approvers"), (model::APPROVERS, 0));
        assert_eq!(slot("Model", "_rules"), (model::RULES, 0));
        assert_eq!(slot("Model", "_schemaHashes"), (model::SCHEMA_HASHES, 0));
        assert_eq!(slot("Model", "_debitBatches"), (model::DEBIT_BATCHES, 0));
        assert_eq!(slot("Model", "_trainings"), (model::TRAININGS, 0));
        assert_eq!(
            slot("Authorization", "_budgets"),
            (authorization::BUDGETS, 0)
        );
        assert_eq!(slot("Data", "_commitments"), (data::COMMITMENTS, 0));
        assert_eq!(slot("Authorization", "_grants"), (authorization::GRANTS, 0));
        assert_eq!(
            slot("Authorization", "_policies"),
            (authorization::POLICIES, 0)
        );
        assert_eq!(
            slot("Authorization", "_batchGrants"),
            (authorization::BATCH_GRANTS, 0)
        );
        assert_eq!(
            slot("Authorization", "_batchRevocations"),
            (authorization::BATCH_REVOCATIONS, 0)
        );
    }

    #[test]
    fn packed_structs_are_the_compilers() {
        let party: Vec<_> = members("Registration", "struct Registration.Party");
        let expect = |v: &[(&str, u64, u64)]| -> Vec<(String, u64, u64)> {
            v.iter()
                .map(|(l, s, o)| ((*l).to_owned(), *s, *o))
                .collect()
        };
        assert_eq!(
            party,
            expect(&[
                ("role", 0, 0),
                ("active", 0, 1),
                ("admitted", 0, 2),
                ("evidenceKind", 0, 3),
                ("unverifiedHeaders", 0, 4),
                ("measurementId", 0, 5),
            ])
        );
        assert_eq!(
            members("Model", "struct Model.Job"),
            expect(&[
                ("demander", 0, 0),
                ("status", 0, 20),
                ("dataTypeId", 0, 21),
                ("epsilonMilli", 0, 25)
            ])
        );
        assert_eq!(
            members("Model", "struct Model.DataTypeRules"),
            expect(&[
                ("minCohort", 0, 0),
                ("maxEpsilonMilli", 0, 4),
                ("allowNonPrivate", 0, 8),
                ("set", 0, 9)
            ])
        );
        assert_eq!(
            members("Authorization", "struct Authorization.Budget"),
            expect(&[("totalMilli", 0, 0), ("spentMilli", 0, 4)])
        );
        assert_eq!(
            members("Authorization", "struct Authorization.BatchGrant"),
            expect(&[("budgetMilli", 0, 0), ("count", 0, 4), ("live", 0, 8)])
        );
        assert_eq!(
            members("Registration", "struct Registration.PublicKey"),
            expect(&[("x", 0, 0), ("y", 1, 0)])
        );
    }

    #[test]
    fn decoders_unpack_the_words() {
        // role 3, active, admitted, kind 1, unverified, measurement id 0x01020304.
        let word = U256::from(3u8)
            | (U256::from(1u8) << 8usize)
            | (U256::from(1u8) << 16usize)
            | (U256::from(1u8) << 24usize)
            | (U256::from(1u8) << 32usize)
            | (U256::from(0x0102_0304u32) << 40usize);
        let p = registration::Party::decode(word);
        assert_eq!(
            p,
            registration::Party {
                role: 3,
                active: true,
                admitted: true,
                evidence_kind: 1,
                unverified_headers: true,
                measurement_id: 0x0102_0304,
            }
        );
        let demander = Address::repeat_byte(0xab);
        let word = U256::from_be_slice(demander.as_slice())
            | (U256::from(4u8) << 160usize)
            | (U256::from(9u32) << 168usize)
            | (U256::from(1500u32) << 200usize);
        let j = model::Job::decode(word);
        assert_eq!(
            (j.demander, j.status, j.data_type_id, j.epsilon_milli),
            (demander, 4, 9, 1500)
        );
        let r = model::DataTypeRules::decode(
            U256::from(80u32)
                | (U256::from(2000u32) << 32usize)
                | (U256::from(1u8) << 64usize)
                | (U256::from(1u8) << 72usize),
        );
        assert_eq!(
            (
                r.min_cohort,
                r.max_epsilon_milli,
                r.allow_non_private,
                r.set
            ),
            (80, 2000, true, true)
        );
        assert_eq!(
            model::DataTypeRules::decode(U256::ZERO).min_cohort,
            model::DEFAULT_MIN_COHORT
        );
        assert_eq!(
            authorization::decode_budget(U256::from(3000u32) | (U256::from(1000u32) << 32usize)),
            (3000, 1000)
        );
        assert_eq!(
            authorization::BatchGrant::decode(
                U256::from(3000u32)
                    | (U256::from(20_000u32) << 32usize)
                    | (U256::from(1u8) << 64usize)
            ),
            authorization::BatchGrant {
                budget_milli: 3000,
                count: 20_000,
                live: true
            }
        );
        let f = registration::Flags::decode(
            U256::from(2u64) | (U256::from(1u8) << 64usize) | (U256::from(5u32) << 80usize),
        );
        assert_eq!(
            (
                f.admin_count,
                f.accept_simulated,
                f.accept_unverified_headers,
                f.measurement_count
            ),
            (2, true, false, 5)
        );
    }
}
