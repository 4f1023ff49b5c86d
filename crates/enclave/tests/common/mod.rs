//! The enclave behind its ecall boundary, on a chain in memory whose state the test writes
//! slot by slot: a TEE admitted, a demander, an approving reviewer, a job, and patients whose
//! records are registered and granted to it. Every fact reaches the enclave as the real thing —
//! a sealed header and state proofs — so each test changes one fact and sees the enclave's
//! answer.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub(crate) mod chain;

pub(crate) use chain::Chain;

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_sol_types::SolCall;
use medshare_contracts::{
    EPSILON_INFINITE, JobStatus, Model,
    layout::{authorization, data, model, registration},
};
use medshare_crypto::{
    Identity, KeyShare, PublicKey, ciphertext_hash,
    eip712::{Domain, ModelSubmission, Record, Signature, job_id, record_commitment},
    pk_c, public_key_from_bytes, seal_record,
};
use medshare_enclave::{Enclave, SimulatedPlatform};
use medshare_enclave_api::{
    JobContext, RecordInput, Request, Response, TrustAnchors, call,
    facts::{self, SlotRequest},
};
use medshare_primitives::{DataType, RecordId};
use medshare_records::{DataRequirement, Schema};
use medshare_training::{ModelKind, ModelSpec, Privacy};

const WDBC: &str = include_str!("../../../../data/wdbc/wdbc.csv");

/// The chain id of the tests' chain.
pub(crate) const CHAIN_ID: u64 = 31337;

/// The enclave program's measurement (what governance admitted).
pub(crate) fn measurement() -> B256 {
    keccak256("medshare enclave tests")
}

/// The measurement id Registration interned for it.
const MEASUREMENT_ID: u32 = 1;
/// The data type's interned id in Model.
const DATA_TYPE_ID: u32 = 1;

/// Registration's roles.
const ROLE_DEMANDER: u64 = 2;
const ROLE_TEE: u64 = 3;
const ROLE_REVIEWER: u64 = 4;

fn word_of(address: Address) -> U256 {
    U256::from_be_bytes(address.into_word().0)
}

/// `Registration.Party`, packed as solc packs it.
fn party(role: u64, active: bool, admitted: bool, measurement_id: u32) -> U256 {
    U256::from(role)
        | (U256::from(u8::from(active)) << 8)
        | (U256::from(u8::from(admitted)) << 16)
        | (U256::from(measurement_id) << 40)
}

/// A patient and its record as the owner made it.
pub(crate) struct Patient {
    pub(crate) owner: Identity,
    pub(crate) record: Record,
    pub(crate) signature: Signature,
    pub(crate) pad: Bytes,
    pub(crate) ciphertext: Vec<u8>,
}

/// The terms of the test's job.
#[derive(Clone, Copy)]
pub(crate) struct Terms {
    /// The spec's privacy.
    pub(crate) privacy: Privacy,
    /// The requirement's (and submission's) minimum cohort.
    pub(crate) min_cohort: u32,
    /// The data type's floor on chain.
    pub(crate) floor: u32,
}

impl Default for Terms {
    /// No differential privacy (the rules allow it), a cohort of at least 5 over a floor of 5.
    fn default() -> Self {
        Self {
            privacy: Privacy::non_private(),
            min_cohort: 5,
            floor: 5,
        }
    }
}

/// A TEE with a job to run.
pub(crate) struct Tee {
    pub(crate) chain: Chain,
    pub(crate) enclave: Enclave,
    pub(crate) address: Address,
    pub(crate) demander: Identity,
    pub(crate) reviewer: Address,
    pub(crate) ctx: JobContext,
    pub(crate) patients: Vec<Patient>,
    /// The training the enclave's last debits named (what `set_debits` puts on chain).
    pub(crate) training: B256,
    dir: tempfile::TempDir,
}

impl Tee {
    /// An admitted TEE, a job of `terms` approved on chain, and `n` patients (both diagnoses)
    /// whose records are registered and granted to the job, each with an unlimited budget.
    pub(crate) fn new(n: usize, terms: Terms) -> Self {
        Self::with_patients(n, terms, patients)
    }

    /// [`Tee::new`] with the `n` patients' records made by `make` (given `n`, the TEE's public
    /// key and address, the deployment and the data type) rather than by the Rust owner code.
    pub(crate) fn with_patients(
        n: usize,
        terms: Terms,
        make: impl FnOnce(
            usize,
            &PublicKey,
            Address,
            &medshare_contracts::Deployment,
            B256,
        ) -> Vec<Patient>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut chain = Chain::new(CHAIN_ID);
        let anchors = TrustAnchors::sealed(CHAIN_ID, &chain.deployment, vec![chain.sealer()]);
        let platform = SimulatedPlatform::new([3u8; 32], measurement());
        let mut enclave =
            Enclave::simulated(&dir.path().join("tee.sealed"), &platform, Some(&anchors)).unwrap();
        let Response::Identity {
            address,
            public_key,
            ..
        } = call(&mut enclave, &Request::Identity).unwrap()
        else {
            panic!("the enclave answers Identity");
        };
        let tee_key = public_key_from_bytes(&public_key).unwrap();
        let d = chain.deployment;

        // Governance: simulated evidence accepted, the measurement allowlisted, the TEE admitted.
        chain.set(
            d.registration,
            registration::flags(),
            U256::from(1u64) | (U256::from(1u64) << 64) | (U256::from(1u64) << 80),
        );
        chain.set(
            d.registration,
            registration::measurement(MEASUREMENT_ID),
            U256::from_be_bytes(measurement().0),
        );
        chain.set(
            d.registration,
            registration::measurement_allowed(MEASUREMENT_ID),
            U256::from(1u64),
        );
        chain.set(
            d.registration,
            registration::party(address),
            party(ROLE_TEE, true, true, MEASUREMENT_ID),
        );

        // The demander, the reviewer and the job.
        let demander = Identity::random();
        let reviewer = Identity::random().address();
        chain.set(
            d.registration,
            registration::party(demander.address()),
            party(ROLE_DEMANDER, true, false, 0),
        );
        let key = demander.public_key_uncompressed();
        let [x, y] = registration::public_key(demander.address());
        chain.set(
            d.registration,
            x,
            U256::from_be_slice(&key.as_slice()[..32]),
        );
        chain.set(
            d.registration,
            y,
            U256::from_be_slice(&key.as_slice()[32..]),
        );
        chain.set(
            d.registration,
            registration::party(reviewer),
            party(ROLE_REVIEWER, true, false, 0),
        );
        let ctx = job_context(&demander, &d, terms);
        let data_type = ctx.data_type;
        chain.set(
            d.model,
            model::rules(data_type),
            U256::from(terms.floor) | (U256::from(1u64) << 64) | (U256::from(1u64) << 72),
        );
        chain.set(d.model, model::approver(ctx.job.0), word_of(reviewer));

        let mut tee = Self {
            chain,
            enclave,
            address,
            demander,
            reviewer,
            ctx,
            patients: Vec::new(),
            training: B256::ZERO,
            dir,
        };
        tee.set_job_status(JobStatus::Approved);
        tee.patients = make(n, &tee_key, address, &tee.chain.deployment, data_type);
        assert_eq!(tee.patients.len(), n);
        for i in 0..n {
            tee.register(i);
            tee.grant(i);
            tee.set_budget(i, EPSILON_INFINITE, 0);
        }
        tee
    }

    /// The job id.
    pub(crate) fn job(&self) -> B256 {
        self.ctx.job.0
    }

    // ------------------------------------------------------------------ chain facts

    /// Sets the job's status on chain (its demander, data type and ε as submitted).
    pub(crate) fn set_job_status(&mut self, status: JobStatus) {
        let word = word_of(self.ctx.demander)
            | (U256::from(status as u8) << 160)
            | (U256::from(DATA_TYPE_ID) << 168)
            | (U256::from(self.ctx.epsilon_milli) << 200);
        let d = self.chain.deployment;
        self.chain.set(d.model, model::job(self.job()), word);
    }

    /// Sets how many budget batches the chain shows the job debited.
    /// The training they pay for is the one the enclave's last debits named.
    pub(crate) fn set_debits(&mut self, batches: u32) {
        let d = self.chain.deployment;
        self.chain.set(
            d.model,
            model::debit_batches(self.job()),
            U256::from(batches),
        );
        let training = if batches == 0 {
            B256::ZERO
        } else {
            self.training
        };
        self.chain
            .set(d.model, model::training(self.job()), training.into());
    }

    /// Governance revokes the TEE.
    pub(crate) fn revoke_tee(&mut self) {
        let d = self.chain.deployment;
        self.chain.set(
            d.registration,
            registration::party(self.address),
            party(ROLE_TEE, false, true, MEASUREMENT_ID),
        );
    }

    /// Governance removes the reviewer who approved the job.
    pub(crate) fn remove_reviewer(&mut self) {
        let d = self.chain.deployment;
        self.chain.set(
            d.registration,
            registration::party(self.reviewer),
            party(ROLE_REVIEWER, false, false, 0),
        );
    }

    /// Patient `i`'s record is live in Data as its owner registered it.
    pub(crate) fn register(&mut self, i: usize) {
        let p = &self.patients[i];
        let live = data::owned_commitment(p.owner.address(), record_commitment(&p.record));
        let d = self.chain.deployment;
        self.chain.set(
            d.data,
            data::commitment(p.record.ciphertextHash),
            U256::from_be_bytes(live.0),
        );
    }

    /// Patient `i` grants the job its record.
    pub(crate) fn grant(&mut self, i: usize) {
        self.set_grant(i, true);
    }

    /// Patient `i` withdraws its grant.
    pub(crate) fn revoke_grant(&mut self, i: usize) {
        self.set_grant(i, false);
    }

    fn set_grant(&mut self, i: usize, granted: bool) {
        let slot = authorization::grant(record_commitment(&self.patients[i].record), self.job());
        let d = self.chain.deployment;
        self.chain
            .set(d.authorization, slot, U256::from(u8::from(granted)));
    }

    /// The owner of patient `i`'s record consents in bulk, with `budget_milli`, to the job
    /// using the record versions of patients `listed` (one Merkle tree over their
    /// commitments, in that order); returns the consent's tree.
    pub(crate) fn bulk_grant(
        &mut self,
        i: usize,
        listed: &[usize],
        budget_milli: u32,
    ) -> medshare_contracts::consent::ConsentTree {
        let commitments: Vec<B256> = listed
            .iter()
            .map(|&k| record_commitment(&self.patients[k].record))
            .collect();
        let tree = medshare_contracts::consent::ConsentTree::new(&commitments).unwrap();
        let slot =
            authorization::batch_grant(self.patients[i].owner.address(), self.job(), tree.root());
        let word = U256::from(budget_milli)
            | (U256::from(listed.len() as u32) << 32)
            | (U256::from(1u8) << 64);
        let d = self.chain.deployment;
        self.chain.set(d.authorization, slot, word);
        tree
    }

    /// The owner of patient `i`'s record withdraws it from its bulk consent `root`.
    pub(crate) fn withdraw_from_batch(&mut self, i: usize, root: B256) {
        let slot = authorization::batch_revocation(
            self.patients[i].owner.address(),
            self.job(),
            root,
            record_commitment(&self.patients[i].record),
        );
        let d = self.chain.deployment;
        self.chain.set(d.authorization, slot, U256::from(1u8));
    }

    /// Patient `i`'s record's privacy budget: `total` and `spent`, in thousandths of ε.
    pub(crate) fn set_budget(&mut self, i: usize, total: u32, spent: u32) {
        let slot = authorization::budget(self.patients[i].record.ciphertextHash);
        let d = self.chain.deployment;
        self.chain.set(
            d.authorization,
            slot,
            U256::from(total) | (U256::from(spent) << 32),
        );
    }

    // ------------------------------------------------------------------ requests

    /// The job facts' slots.
    pub(crate) fn job_slots(&self) -> SlotRequest {
        facts::job_slots(
            &self.chain.deployment,
            self.address,
            self.job(),
            self.ctx.data_type,
            self.ctx.demander,
            self.reviewer,
            MEASUREMENT_ID,
        )
    }

    /// What the host hands the enclave about patient `i`'s record.
    pub(crate) fn input(&self, i: usize) -> RecordInput {
        let p = &self.patients[i];
        RecordInput {
            ciphertext_hash: p.record.ciphertextHash,
            owner: p.owner.address(),
            commitment: record_commitment(&p.record),
            record: Some(p.record.clone()),
            signature: Some(p.signature.to_bytes()),
            ciphertext: Some(p.ciphertext.clone().into()),
            pad: Some(p.pad.clone()),
            batch: None,
        }
    }

    /// Sends one request.
    pub(crate) fn call(&mut self, request: &Request) -> medshare_enclave_api::Result<Response> {
        call(&mut self.enclave, request)
    }

    /// `BeginJob` with a view of the current block.
    pub(crate) fn begin(&mut self) -> medshare_enclave_api::Result<Response> {
        let view = self.chain.view(&self.job_slots());
        let job = Box::new(self.ctx.clone());
        self.call(&Request::BeginJob { job, view })
    }

    /// `AddRecords` of `inputs`, with a view of the current block proving their facts.
    pub(crate) fn add_inputs(
        &mut self,
        inputs: Vec<RecordInput>,
    ) -> medshare_enclave_api::Result<Response> {
        let mut requests = vec![self.job_slots()];
        for input in &inputs {
            requests.push(facts::record_slots(
                &self.chain.deployment,
                self.job(),
                input.ciphertext_hash,
                input.owner,
                input.commitment,
                self.ctx.data_type,
                input.batch.as_ref().map(|b| b.root),
            ));
        }
        let view = self.chain.view(&facts::merge(requests));
        self.call(&Request::AddRecords {
            records: inputs,
            view,
        })
    }

    /// `AddRecords` of patients `which`.
    pub(crate) fn add(&mut self, which: &[usize]) -> medshare_enclave_api::Result<Response> {
        let inputs = which.iter().map(|&i| self.input(i)).collect();
        self.add_inputs(inputs)
    }

    /// `FinishJob` with a view of the current block.
    pub(crate) fn finish(&mut self) -> medshare_enclave_api::Result<Response> {
        let view = self.chain.view(&self.job_slots());
        let answer = self.call(&Request::FinishJob { view });
        self.note_training(&answer);
        answer
    }

    /// `ResumeJob` of `checkpoint` with a view of the current block.
    pub(crate) fn resume(&mut self, checkpoint: Bytes) -> medshare_enclave_api::Result<Response> {
        let view = self.chain.view(&self.job_slots());
        let answer = self.call(&Request::ResumeJob { checkpoint, view });
        self.note_training(&answer);
        answer
    }

    fn note_training(&mut self, answer: &medshare_enclave_api::Result<Response>) {
        if let Ok(Response::DebitsPending { txs, .. }) = answer
            && let Some(tx) = txs.first()
        {
            self.training = Model::debitBudgetsCall::abi_decode(&tx.input)
                .unwrap()
                .trainingId;
        }
    }

    /// The enclave process restarts: the same program unseals the same key, and remembers
    /// nothing else.
    pub(crate) fn restart(&mut self) {
        let platform = SimulatedPlatform::new([3u8; 32], measurement());
        self.enclave =
            Enclave::simulated(&self.dir.path().join("tee.sealed"), &platform, None).unwrap();
    }

    /// `ReleaseResult` with a view of the current block.
    pub(crate) fn release(&mut self) -> medshare_enclave_api::Result<Response> {
        let view = self.chain.view(&self.job_slots());
        self.call(&Request::ReleaseResult { view })
    }
}

/// The demander's submission of a logistic regression on four features, signed.
fn job_context(
    demander: &Identity,
    deployment: &medshare_contracts::Deployment,
    terms: Terms,
) -> JobContext {
    let schema = Schema::wdbc();
    let features: Vec<String> = [
        "radius_mean",
        "texture_mean",
        "concave_points_worst",
        "area_worst",
    ]
    .map(str::to_owned)
    .to_vec();
    let spec = ModelSpec {
        kind: ModelKind::LogisticRegression {
            l2: 1.0,
            max_iterations: 200,
            tolerance: 1e-6,
        },
        features: features.clone(),
        label: "diagnosis".into(),
        test_fraction: 0.25,
        seed: 1,
        privacy: terms.privacy,
    };
    let requirement = DataRequirement {
        data_type: schema.name.clone(),
        features,
        label: "diagnosis".into(),
        min_cohort: u64::from(terms.min_cohort),
    };
    let model = serde_json::to_vec(&spec).unwrap();
    let requirement = requirement.to_json();
    let data_type = DataType::new(schema.name.clone()).unwrap().id();
    let epsilon_milli = medshare_contracts::epsilon_milli(terms.privacy.epsilon).unwrap();
    let submission = ModelSubmission {
        demander: demander.address(),
        modelHash: keccak256(&model),
        requirementHash: keccak256(&requirement),
        dataType: data_type,
        timestamp: 1_700_000_000,
        minCohort: terms.min_cohort,
        epsilonMilli: epsilon_milli,
    };
    let signature = demander
        .sign_typed(&Domain::new(CHAIN_ID, deployment.model), &submission)
        .unwrap();
    JobContext {
        job: job_id(&submission),
        demander: demander.address(),
        demander_public_key: demander.public_key_uncompressed().to_vec().into(),
        model_hash: submission.modelHash,
        requirement_hash: submission.requirementHash,
        data_type,
        timestamp: submission.timestamp,
        min_cohort: terms.min_cohort,
        epsilon_milli,
        model: model.into(),
        requirement: requirement.into(),
        signature: signature.to_bytes(),
        schema: serde_json::to_vec(&schema).unwrap().into(),
    }
}

/// The canonical plaintexts of `n` patients of the WDBC data (every 11th: both diagnoses).
pub(crate) fn wdbc_plaintexts(n: usize) -> Vec<Vec<u8>> {
    medshare_records::csv::read(&Schema::wdbc(), WDBC)
        .unwrap()
        .into_iter()
        .step_by(11)
        .take(n)
        .map(|row| row.record.to_bytes().unwrap().to_vec())
        .collect()
}

/// `n` patients of the WDBC data (every 11th: both diagnoses), each with one record encrypted
/// under a fresh key shared to the TEE.
fn patients(
    n: usize,
    tee_key: &PublicKey,
    tee: Address,
    deployment: &medshare_contracts::Deployment,
    data_type: B256,
) -> Vec<Patient> {
    let pad_key = pk_c(CHAIN_ID, deployment.authorization);
    let domain = Domain::new(CHAIN_ID, deployment.data);
    wdbc_plaintexts(n)
        .into_iter()
        .map(|plaintext| {
            let owner = Identity::random();
            let record_id = RecordId::random();
            let (key, material) =
                KeyShare::generate(&mut rand::rngs::OsRng, record_id, tee_key, &pad_key);
            let ciphertext = seal_record(&key, owner.address(), &plaintext).unwrap();
            let hash = ciphertext_hash(&ciphertext).0;
            let record = Record {
                owner: owner.address(),
                recordId: record_id.0,
                dataType: data_type,
                storageIndex: hash,
                ciphertextHash: hash,
                timestamp: 1_700_000_000,
                cm: Bytes::copy_from_slice(material.cm.as_slice()),
                rUg: Bytes::copy_from_slice(material.r_u_g.as_slice()),
                padCommitment: material.pad_commitment(),
                tee,
            };
            let signature = owner.sign_typed(&domain, &record).unwrap();
            Patient {
                owner,
                record,
                signature,
                pad: Bytes::copy_from_slice(material.r_c_pk_c.as_slice()),
                ciphertext,
            }
        })
        .collect()
}

/// The enclave's refusal message; panics on any other answer.
pub(crate) fn refusal(answer: medshare_enclave_api::Result<Response>) -> String {
    match answer {
        Err(medshare_enclave_api::Error::Refused(why)) => why,
        Err(other) => panic!("not a refusal: {other}"),
        Ok(response) => panic!("accepted: {response:?}"),
    }
}
