//! [`World`]: a deployment with one party of each role, and the owner-side record helpers.

use crate::{Backend, Result};
use alloy_primitives::{B256, Bytes, keccak256};
use medshare_chain::{
    Audit, ContractClient, EvidenceKind, RecordVerification, UseOutcome, ViewBlock,
};
use medshare_crypto::{
    Identity, ciphertext_hash,
    eip712::{Domain, ModelSubmission, Signature, TrainingResult, Verification, job_id},
    seal_result,
};
use medshare_ledger::TransactionReceipt;
use medshare_parties::{now, user::OwnedRecord};
use medshare_primitives::{DataType, JobId, Role};

/// A `Data.registerRecords` call registering records `range` of data type `data_type` by hash
/// alone (no ciphertext, no key share: records nobody can consent to), numbered under `tag` so
/// that hashes never repeat: ciphertext hash `keccak256("{tag}/{i}")`, commitment its keccak.
/// For flooding a data type and filling a chain at scale.
pub fn registration_by_hash(
    chain: &medshare_chain::ContractClient,
    data_type: B256,
    tag: &str,
    range: std::ops::Range<usize>,
) -> medshare_chain::Call {
    let hashes: Vec<B256> = range.map(|i| keccak256(format!("{tag}/{i}"))).collect();
    let commitments = hashes.iter().map(keccak256).collect();
    let call = medshare_chain::Data::registerRecordsCall {
        dataType: data_type,
        ciphertextHashes: hashes,
        commitments,
    };
    chain.call(medshare_chain::Contract::Data, &call)
}

/// The measurement the tests' simulated TEEs are admitted with: the contract suite's (a bare
/// key, not an enclave program) and the flow tests' enclave in process. Governance allowlists it
/// in [`World::new`].
pub fn simulated_measurement() -> B256 {
    keccak256("medshare.testkit.simulated-tee")
}

/// A party: its key and its handle on the deployment.
pub struct Party {
    /// The party's key (its Ethereum account).
    pub identity: Identity,
    /// Its handle on the deployment.
    pub chain: ContractClient,
}

impl Party {
    /// The party's address.
    pub fn address(&self) -> alloy_primitives::Address {
        self.identity.address()
    }
}

/// Five contracts deployed and one party of each role registered.
pub struct World {
    /// The deployer: first admin of Registration (governance).
    pub admin: Party,
    /// A patient.
    pub user: Party,
    /// A research institute.
    pub demander: Party,
    /// A reviewer appointed by governance.
    pub reviewer: Party,
    /// A TEE admitted by governance with the allowlisted simulated measurement.
    pub tee: Party,
    /// The data type the records and jobs use.
    pub data_type: DataType,
}

impl World {
    /// Deploys the contracts from a fresh admin key, accepting simulated evidence and
    /// allowlisting [`simulated_measurement`] (`medshare_parties::setup::deploy_for_simulation`);
    /// registers a user and a demander; appoints a reviewer; and has a TEE submit its key and
    /// evidence and governance admit it (directly: the contracts do not parse evidence, so the
    /// contract suite's TEE is a bare key).
    pub async fn new(backend: &Backend) -> Result<Self> {
        let admin_id = Identity::random();
        let admin = medshare_parties::setup::deploy_for_simulation(
            backend.wallet(admin_id.signer().clone()).await?,
            simulated_measurement(),
        )
        .await?;
        let admin = Party {
            identity: admin_id,
            chain: admin,
        };
        let world_admin = admin;
        let user = Self::party_of(&world_admin, backend).await?;
        let demander = Self::party_of(&world_admin, backend).await?;
        let reviewer = Self::party_of(&world_admin, backend).await?;
        let tee = Self::party_of(&world_admin, backend).await?;

        user.chain
            .register(Role::User, user.identity.public_key_uncompressed())
            .await?;
        demander
            .chain
            .register(Role::Demander, demander.identity.public_key_uncompressed())
            .await?;
        world_admin
            .chain
            .appoint_reviewer(reviewer.identity.public_key_uncompressed())
            .await?;
        let evidence = Self::tee_evidence_bytes();
        tee.chain
            .submit_tee(tee.identity.public_key_uncompressed(), evidence.clone())
            .await?;
        world_admin
            .chain
            .admit_tee(
                tee.identity.address(),
                keccak256(&evidence),
                simulated_measurement(),
                EvidenceKind::Simulated,
                false,
            )
            .await?;
        Ok(Self {
            admin: world_admin,
            user,
            demander,
            reviewer,
            tee,
            data_type: DataType::new("breast-cancer-wdbc")?,
        })
    }

    /// The minimum cohort of the world's jobs (the default floor).
    pub const JOB_MIN_COHORT: u32 = 50;

    /// The ε of the world's jobs, in thousandths (ε = 1).
    pub const JOB_EPSILON_MILLI: u32 = 1000;

    /// The evidence bytes the contract suite's TEE submits (the contracts do not parse them;
    /// governance's verifier does, in the flow tests).
    pub fn tee_evidence_bytes() -> Bytes {
        Bytes::from_static(b"testkit: simulated evidence")
    }

    /// The latest block, as a TEE's view names it (recent for the next transaction).
    pub async fn view_block(&self) -> Result<ViewBlock> {
        view_block(self.admin.chain.ledger().as_ref()).await
    }

    async fn party_of(admin: &Party, backend: &Backend) -> Result<Party> {
        let identity = Identity::random();
        let wallet = backend.wallet(identity.signer().clone()).await?;
        Ok(Party {
            chain: admin.chain.as_party(wallet),
            identity,
        })
    }

    /// A new party with a fresh key on the same deployment, registered with nothing.
    pub async fn new_party(&self, backend: &Backend) -> Result<Party> {
        Self::party_of(&self.admin, backend).await
    }

    /// `owner` encrypts `plaintexts` (one record each) under fresh keys, shares each key to
    /// `tee`, and signs TD_i: the owner's copies. Nothing is sent or stored (the contracts see
    /// hashes only).
    pub fn make_records_for(
        &self,
        owner: &Party,
        tee: &Party,
        plaintexts: &[Vec<u8>],
    ) -> Result<Vec<OwnedRecord>> {
        let refs: Vec<&[u8]> = plaintexts.iter().map(Vec::as_slice).collect();
        let sealed = medshare_parties::user::seal_records(
            &owner.identity,
            &owner.chain,
            self.data_type.id(),
            tee.identity.address(),
            &tee.identity.public_key(),
            &refs,
        )?;
        Ok(sealed.into_iter().map(|s| s.owned).collect())
    }

    /// The user makes records shared to the world's TEE.
    pub fn make_records(&self, plaintexts: &[Vec<u8>]) -> Result<Vec<OwnedRecord>> {
        self.make_records_for(&self.user, &self.tee, plaintexts)
    }

    /// The user makes and registers `n` small records.
    pub async fn registered_records(&self, n: usize) -> Result<Vec<OwnedRecord>> {
        let plaintexts: Vec<Vec<u8>> = (0..n).map(|i| format!("record {i}").into_bytes()).collect();
        let records = self.make_records(&plaintexts)?;
        self.register(&records).await?;
        Ok(records)
    }

    /// The user registers records in one transaction.
    pub async fn register(&self, records: &[OwnedRecord]) -> Result<TransactionReceipt> {
        let batch: Vec<_> = records.iter().map(|r| r.record.clone()).collect();
        Ok(self
            .user
            .chain
            .register_records(self.data_type.id(), &batch)
            .await?)
    }

    /// The demander's signed submission IM_j for `model` and `requirement` (not sent).
    pub fn submission(
        &self,
        model: &[u8],
        requirement: &[u8],
    ) -> Result<(ModelSubmission, Signature)> {
        self.submission_with(
            model,
            requirement,
            Self::JOB_MIN_COHORT,
            Self::JOB_EPSILON_MILLI,
        )
    }

    /// [`World::submission`] with the cohort and ε named.
    pub fn submission_with(
        &self,
        model: &[u8],
        requirement: &[u8],
        min_cohort: u32,
        epsilon_milli: u32,
    ) -> Result<(ModelSubmission, Signature)> {
        let chain = &self.demander.chain;
        let submission = ModelSubmission {
            demander: self.demander.identity.address(),
            modelHash: keccak256(model),
            requirementHash: keccak256(requirement),
            dataType: self.data_type.id(),
            timestamp: now(),
            minCohort: min_cohort,
            epsilonMilli: epsilon_milli,
        };
        let domain = Domain::new(chain.chain_id(), chain.deployment().model);
        let signature = self.demander.identity.sign_typed(&domain, &submission)?;
        Ok((submission, signature))
    }

    /// The demander signs and submits `model` with its data requirement.
    pub async fn submit_model(
        &self,
        model: &[u8],
        requirement: &[u8],
    ) -> Result<(JobId, TransactionReceipt)> {
        self.submit_model_with(
            model,
            requirement,
            Self::JOB_MIN_COHORT,
            Self::JOB_EPSILON_MILLI,
        )
        .await
    }

    /// [`World::submit_model`] with the cohort and ε named.
    pub async fn submit_model_with(
        &self,
        model: &[u8],
        requirement: &[u8],
        min_cohort: u32,
        epsilon_milli: u32,
    ) -> Result<(JobId, TransactionReceipt)> {
        let (submission, signature) =
            self.submission_with(model, requirement, min_cohort, epsilon_milli)?;
        let call = ContractClient::submit_model_call(
            &submission,
            Bytes::copy_from_slice(model),
            Bytes::copy_from_slice(requirement),
            &signature,
        );
        let chain = &self.demander.chain;
        let mut receipts = chain
            .send_many(vec![chain.call(medshare_chain::Contract::Model, &call)])
            .await?;
        let receipt = receipts
            .pop()
            .ok_or_else(|| medshare_ledger::Error::Rpc("no receipt".into()))?;
        Ok((job_id(&submission), receipt))
    }

    /// A submitted job with a unique model (`tag` distinguishes jobs of one test).
    pub async fn job(&self, tag: &str) -> Result<JobId> {
        let model = format!("{{\"kind\":\"logistic_regression\",\"tag\":\"{tag}\"}}");
        Ok(self
            .submit_model(model.as_bytes(), b"{\"min_cohort\":1}")
            .await?
            .0)
    }

    /// A submitted job the reviewer approved.
    pub async fn approved_job(&self, tag: &str) -> Result<JobId> {
        let job = self.job(tag).await?;
        self.reviewer.chain.approve_model(job).await?;
        Ok(job)
    }

    /// An approved job the TEE verified (status Deployed).
    pub async fn deployed_job(&self, tag: &str) -> Result<JobId> {
        let job = self.approved_job(tag).await?;
        let view = self.view_block().await?;
        let signature = self.tee_verification(job, B256::ZERO, view)?;
        self.tee
            .chain
            .post_model_verification(job, true, true, view, &signature)
            .await?;
        Ok(job)
    }

    /// The TEE's signed verification statement for `subject` (a model or ciphertext hash).
    pub fn tee_verification(
        &self,
        job: JobId,
        subject: B256,
        view: ViewBlock,
    ) -> Result<Signature> {
        let chain = &self.tee.chain;
        let domain = Domain::new(chain.chain_id(), chain.deployment().model);
        let statement = Verification {
            jobId: job.0,
            subject,
            hashOk: true,
            signatureOk: true,
            viewBlock: view.number,
            viewHash: view.hash,
            headersVerified: true,
        };
        Ok(self.tee.identity.sign_typed(&domain, &statement)?)
    }

    /// The TEE posts its verification of `records`.
    pub async fn verify_records(
        &self,
        job: JobId,
        records: &[OwnedRecord],
    ) -> Result<TransactionReceipt> {
        let view = self.view_block().await?;
        let verifications = records
            .iter()
            .map(|r| {
                Ok(RecordVerification {
                    ciphertext_hash: r.record.ciphertextHash,
                    hash_ok: true,
                    signature_ok: true,
                    tee_signature: self.tee_verification(job, r.record.ciphertextHash, view)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(self
            .tee
            .chain
            .post_record_verifications(job, view, &verifications)
            .await?)
    }

    /// The TEE encrypts `result` to the demander, signs the ciphertext's hash and posts the
    /// hash. Returns the encrypted result CMRT_j and its signature SMRT_j (which go to off-chain
    /// storage) and the receipt.
    pub async fn post_result(
        &self,
        job: JobId,
        result: &[u8],
    ) -> Result<(Vec<u8>, Signature, TransactionReceipt)> {
        let chain = &self.tee.chain;
        let sealed = seal_result(&self.demander.identity.public_key(), job, result)?;
        let result_hash = ciphertext_hash(&sealed).0;
        let domain = Domain::new(chain.chain_id(), chain.deployment().model);
        let view = self.view_block().await?;
        let signature = self.tee.identity.sign_typed(
            &domain,
            &TrainingResult {
                jobId: job.0,
                resultHash: result_hash,
                viewBlock: view.number,
                viewHash: view.hash,
                headersVerified: true,
            },
        )?;
        let batches = chain.debit_batches_of(job).await?;
        let receipt = chain.post_result(job, result_hash, view, batches).await?;
        Ok((sealed, signature, receipt))
    }

    /// The audit entries of `records` used in `job` with `model` and `requirement`.
    pub fn audit_entries(
        &self,
        job: JobId,
        model: &[u8],
        requirement: &[u8],
        records: &[OwnedRecord],
    ) -> Vec<Audit::AuditEntry> {
        records
            .iter()
            .map(|r| Audit::AuditEntry {
                jobId: job.0,
                ciphertextHash: r.record.ciphertextHash,
                owner: r.record.owner,
                demander: self.demander.identity.address(),
                requirementHash: keccak256(requirement),
                modelHash: keccak256(model),
                modelHashOk: true,
                recordHashOk: true,
                outcome: UseOutcome::Used as u8,
                epsilonMilli: Self::JOB_EPSILON_MILLI,
            })
            .collect()
    }

    /// The TEE debits the job's ε from each record's budget, as the job's next batch.
    pub async fn debit(&self, job: JobId, records: &[OwnedRecord]) -> Result<TransactionReceipt> {
        let chain = &self.tee.chain;
        let batch = chain.debit_batches_of(job).await?;
        // The first batch names the training; every later one the same.
        let training = match batch {
            0 => alloy_primitives::keccak256(b"testkit training"),
            _ => chain.training_of(job).await?,
        };
        let view = self.view_block().await?;
        Ok(chain
            .debit_budgets(
                job,
                batch,
                training,
                view,
                records.iter().map(|r| r.record.ciphertextHash).collect(),
                vec![0; records.len()],
            )
            .await?)
    }

    /// The TEE writes one audit entry per record used.
    pub async fn audit(
        &self,
        job: JobId,
        model: &[u8],
        requirement: &[u8],
        records: &[OwnedRecord],
    ) -> Result<TransactionReceipt> {
        let entries = self.audit_entries(job, model, requirement, records);
        let view = self.view_block().await?;
        Ok(self.tee.chain.record_use(view, entries).await?)
    }
}

/// The latest block of `ledger`, as a TEE's view names it.
pub async fn view_block(ledger: &dyn medshare_ledger::Ledger) -> Result<ViewBlock> {
    let number = ledger.block_number().await?;
    let block = ledger
        .block(number)
        .await?
        .ok_or_else(|| medshare_ledger::Error::Rpc(format!("no block {number}")))?;
    Ok(ViewBlock {
        number,
        hash: block.header.hash,
    })
}
