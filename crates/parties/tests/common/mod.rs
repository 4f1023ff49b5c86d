//! A deployment on the embedded chain, set up with `medshare_parties::setup`, whose TEE is a
//! stub behind the real ecall boundary: it answers as an enclave does (its own key, simulated
//! evidence, a signed model verification) but trains nothing, and it keeps every record input
//! the host runtime hands it, so tests see exactly what the host gathered.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use alloy_consensus::SignableTransaction;
use alloy_primitives::{Address, B256, Bytes, keccak256};
use alloy_signer::SignerSync;
use alloy_sol_types::SolCall;
use medshare_chain::{ContractClient, DataTypeRules, Model, Registration, Wallet};
use medshare_crypto::{
    Identity,
    eip712::{Domain, Verification},
};
use medshare_enclave_api::{
    AuthoredTx, EnclaveApi, Evidence, RecordInput, Request, Response, TrustAnchors,
};
use medshare_ledger::Ledger;
use medshare_node::embedded::{ChainConfig, EmbeddedChain};
use medshare_parties::{
    demander::Demander,
    reviewer::Reviewer,
    setup::{self, Parties},
    tee::TeeHost,
};
use medshare_records::{DataRequirement, Schema};
use medshare_storage::{LocalStore, Store};
use medshare_training::{ModelKind, ModelSpec, Privacy};
use std::sync::{Arc, Mutex};

pub(crate) const WDBC: &str = include_str!("../../../../data/wdbc/wdbc.csv");

/// The stub enclave program's measurement.
pub(crate) fn measurement() -> B256 {
    keccak256("medshare parties tests: a stub enclave")
}

/// What the stub was handed, for the test to read.
pub(crate) type Seen = Arc<Mutex<Vec<RecordInput>>>;

/// An "enclave" that verifies nothing and trains nothing: it signs what a real enclave would
/// post for a model it accepts, keeps the records it is given, and fails every training.
pub(crate) struct Stub {
    identity: Identity,
    evidence: Evidence,
    seen: Seen,
}

impl Stub {
    pub(crate) fn new(anchors: TrustAnchors, seen: Seen) -> Self {
        Self {
            identity: Identity::random(),
            evidence: Evidence::simulated(measurement(), anchors),
            seen,
        }
    }

    fn handle(&mut self, request: Request) -> Response {
        let anchors = &self.evidence.anchors;
        match request {
            Request::Identity => Response::Identity {
                address: self.identity.address(),
                public_key: self.public_key(),
                evidence: self.evidence.clone(),
            },
            Request::AuthorRegistration => Response::Authored(AuthoredTx {
                to: anchors.registration,
                input: Registration::submitTeeCall {
                    publicKey: self.public_key(),
                    evidence: self.evidence.encode(),
                }
                .abi_encode()
                .into(),
                what: "Registration.submitTee".into(),
            }),
            Request::BeginJob { job, view } => {
                use alloy_rlp::Decodable;
                let header = alloy_consensus::Header::decode(&mut view.header.as_ref()).unwrap();
                let statement = Verification {
                    jobId: job.job.0,
                    subject: job.model_hash,
                    hashOk: true,
                    signatureOk: true,
                    viewBlock: header.number,
                    viewHash: keccak256(&view.header),
                    headersVerified: true,
                };
                let signature = self
                    .identity
                    .sign_typed(&Domain::new(anchors.chainId, anchors.model), &statement)
                    .unwrap();
                let call = Model::postModelVerificationCall {
                    jobId: job.job.0,
                    hashOk: true,
                    signatureOk: true,
                    viewBlock: header.number,
                    viewHash: statement.viewHash,
                    teeSignature: signature.to_bytes(),
                };
                Response::ModelVerified {
                    hash_ok: true,
                    signature_ok: true,
                    reason: None,
                    tx: AuthoredTx {
                        to: anchors.model,
                        input: call.abi_encode().into(),
                        what: "Model.postModelVerification".into(),
                    },
                }
            }
            Request::AddRecords { records, .. } => {
                self.seen.lock().unwrap().extend(records);
                Response::RecordsChecked {
                    outcomes: Vec::new(),
                    tx: None,
                }
            }
            Request::FinishJob { .. } => Response::JobFailed {
                reason: "the stub trains nothing".into(),
                txs: Vec::new(),
            },
            Request::ReleaseResult { .. } | Request::ResumeJob { .. } => Response::Error {
                message: "nothing to release".into(),
            },
            Request::SignTransaction(tx) => {
                let unsigned = tx.into_transaction();
                let signature = self
                    .identity
                    .signer()
                    .sign_hash_sync(&unsigned.signature_hash())
                    .unwrap();
                Response::Signed {
                    signature: Bytes::from(signature.as_bytes().to_vec()),
                }
            }
        }
    }

    fn public_key(&self) -> Bytes {
        Bytes::copy_from_slice(self.identity.public_key_uncompressed().as_slice())
    }
}

impl EnclaveApi for Stub {
    fn ecall(&mut self, request: &[u8]) -> Vec<u8> {
        let request: Request = serde_json::from_slice(request).unwrap();
        serde_json::to_vec(&self.handle(request)).unwrap()
    }
}

/// The rules of the tests' data type: small cohorts, models without differential privacy.
pub(crate) const RULES: DataTypeRules = DataTypeRules {
    min_cohort: 2,
    max_epsilon_milli: 0,
    allow_non_private: true,
    schema_hash: B256::ZERO,
};

/// A deployment with an admitted stub TEE, a demander and a reviewer.
pub(crate) struct World {
    pub(crate) ledger: Arc<dyn Ledger>,
    pub(crate) admin: ContractClient,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) tee: TeeHost,
    pub(crate) demander: Demander,
    pub(crate) reviewer: Reviewer,
    pub(crate) seen: Seen,
    pub(crate) schema: Schema,
    pub(crate) dir: tempfile::TempDir,
}

impl World {
    pub(crate) async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let chain = EmbeddedChain::open(
            &dir.path().join("chain"),
            ChainConfig::new(Identity::random().signer().clone()),
        )
        .unwrap();
        let ledger: Arc<dyn Ledger> = Arc::new(chain);
        let store: Arc<dyn Store> = Arc::new(LocalStore::open(dir.path().join("store")).unwrap());
        let admin_wallet = Wallet::new(ledger.clone(), Identity::random().signer().clone())
            .await
            .unwrap();
        let admin = setup::deploy_for_simulation(admin_wallet, measurement())
            .await
            .unwrap();
        let seen = Seen::default();
        let anchors = setup::trust_anchors(&admin).await.unwrap();
        let tee = setup::host_tee(
            &admin,
            Box::new(Stub::new(anchors, seen.clone())),
            store.clone(),
        )
        .await
        .unwrap();
        let schema = Schema::wdbc();
        let Parties { demander, reviewer } = setup::admit_and_register(
            &admin,
            tee.address(),
            schema.data_type().unwrap().id(),
            &RULES,
            store.clone(),
        )
        .await
        .unwrap();
        Self {
            ledger,
            admin,
            store,
            tee,
            demander,
            reviewer,
            seen,
            schema,
            dir,
        }
    }

    /// A logistic regression on two features without differential privacy, and its
    /// requirement (distinct per `seed`).
    pub(crate) fn job(&self, seed: u64) -> (ModelSpec, DataRequirement) {
        let features = vec!["radius_mean".to_owned(), "texture_mean".to_owned()];
        let spec = ModelSpec {
            kind: ModelKind::LogisticRegression {
                l2: 1.0,
                max_iterations: 100,
                tolerance: 1e-4,
            },
            features: features.clone(),
            label: "diagnosis".into(),
            test_fraction: 0.25,
            seed,
            privacy: Privacy::non_private(),
        };
        let requirement = DataRequirement {
            data_type: self.schema.name.clone(),
            features,
            label: "diagnosis".into(),
            min_cohort: 2,
        };
        (spec, requirement)
    }

    /// The records of the first `n` patients of the WDBC data.
    pub(crate) fn rows(&self, n: usize) -> Vec<medshare_records::PatientRecord> {
        medshare_records::csv::read(&self.schema, WDBC)
            .unwrap()
            .into_iter()
            .take(n)
            .map(|i| i.record)
            .collect()
    }

    /// A party with a fresh key on the deployment, registered as nothing.
    pub(crate) async fn stranger(&self) -> (Identity, ContractClient) {
        let identity = Identity::random();
        let chain = setup::join(&self.admin, &identity).await.unwrap();
        (identity, chain)
    }

    /// The address of the TEE.
    pub(crate) fn tee_address(&self) -> Address {
        self.tee.address()
    }
}
