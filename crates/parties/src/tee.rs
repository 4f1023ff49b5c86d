//! The TEE's untrusted host runtime (paper §5.3.2–§5.5.2, Algorithms 3–6).
//!
//! It runs in the same process as the enclave (as an SGX host application does) and is the
//! enclave's only window on the world: it finds the job and the records consented to it on the
//! chain, fetches TD_i and ciphertexts from storage, and asks the node for **proofs** of every
//! chain fact the enclave will check (a block header and `eth_getProof` answers for the slots
//! [`medshare_enclave_api::facts`] lists), which it passes in through the ecall boundary with
//! the data; it stores the encrypted result and sends the transactions the enclave wrote. Those
//! are signed inside the enclave (the TEE's account is PK_T), through [`EnclaveSigner`].
//!
//! Nothing the runtime says is taken on trust: the enclave authenticates the header and
//! verifies the proofs itself. A runtime that lies can only make a job fail or leave records
//! out; it cannot make the enclave decrypt a record without consent or run an unapproved job.

use crate::{
    Error, Result,
    meta::{self, RecordMeta, ResultMeta},
};
use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, B256, Bytes, Signature};
use medshare_chain::{Call, ContractClient, Deployment, JobStatus, Wallet};
use medshare_contracts::layout::registration;
use medshare_enclave_api::{
    AuthoredTx, BatchMembership, ChainView, EnclaveApi, Evidence, JobContext, RecordInput,
    RecordOutcome, Request, Response, TrustAnchors, UnsignedTx, call,
    facts::{self, SlotRequest},
};
use medshare_ledger::{Ledger, wallet::TxSigner};
use medshare_primitives::JobId;
use medshare_storage::{Key, Store};
use std::sync::{Arc, Mutex};

/// The largest record ciphertext the host fetches: the largest record plaintext the enclave reads
/// ([`medshare_records::MAX_RECORD_BYTES`]), sealed. A larger object is refused by its size,
/// unread, and its record excluded, rather than up to [`medshare_storage::MAX_OBJECT_BYTES`]
/// held in memory and copied into the enclave.
pub const MAX_CIPHERTEXT_BYTES: usize =
    medshare_records::MAX_RECORD_BYTES + medshare_crypto::RECORD_SEAL_OVERHEAD;

/// The largest training checkpoint the host passes back to the enclave: the store's object
/// limit (a job's checkpoint takes some 300 bytes per record it used).
pub const MAX_CHECKPOINT_BYTES: u64 = medshare_storage::MAX_OBJECT_BYTES;

/// Records passed to the enclave per ecall (bounds the memory of a job: the enclave keeps only
/// the features it loaded).
pub const RECORD_BATCH: usize = 64;

/// The enclave behind its ecall boundary, shared by the runtime and the signer.
pub type SharedEnclave = Arc<Mutex<Box<dyn EnclaveApi>>>;

fn ecall(enclave: &SharedEnclave, request: &Request) -> Result<Response> {
    let mut guard = enclave.lock().map_err(|_| Error::EnclavePoisoned)?;
    Ok(call(guard.as_mut(), request)?)
}

/// Signs the TEE's transactions inside the enclave, which refuses any it did not write.
pub struct EnclaveSigner {
    enclave: SharedEnclave,
    address: Address,
}

impl TxSigner for EnclaveSigner {
    fn address(&self) -> Address {
        self.address
    }

    fn sign_transaction(&self, tx: &TxEip1559) -> medshare_ledger::Result<Signature> {
        let to = tx.to.to().copied().ok_or_else(|| {
            medshare_ledger::Error::Rejected("the enclave does not deploy contracts".into())
        })?;
        let request = Request::SignTransaction(UnsignedTx {
            chain_id: tx.chain_id,
            nonce: tx.nonce,
            gas_limit: tx.gas_limit,
            max_fee_per_gas: tx.max_fee_per_gas,
            max_priority_fee_per_gas: tx.max_priority_fee_per_gas,
            to,
            input: tx.input.clone(),
        });
        match ecall(&self.enclave, &request) {
            Ok(Response::Signed { signature }) => Signature::from_raw(&signature).map_err(|e| {
                medshare_ledger::Error::Rejected(format!(
                    "the enclave's signature is malformed: {e}"
                ))
            }),
            Ok(_) => Err(medshare_ledger::Error::Rejected(
                "unexpected enclave response".into(),
            )),
            Err(e) => Err(medshare_ledger::Error::Rejected(e.to_string())),
        }
    }
}

/// The sealers of the chain `ledger` serves, read from its latest block's seal: the default
/// trust anchor of a new enclave and what governance checks an enclave's anchors against.
/// Fails for a node whose headers carry no seal (e.g. anvil).
pub async fn sealers_of(ledger: &dyn Ledger) -> Result<Vec<Address>> {
    let number = ledger.block_number().await?;
    let header = ledger.header(number).await?.ok_or(Error::NoBlock(number))?;
    let sealer =
        medshare_light::header::sealer_of(&header).map_err(|source| Error::HeadersNotSealed {
            block: number,
            source,
        })?;
    Ok(vec![sealer])
}

/// What a job run did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JobReport {
    /// The job.
    pub job: JobId,
    /// HRT_j and VT_j.
    pub model_ok: bool,
    /// Why the model was refused, if it was.
    pub model_reason: Option<String>,
    /// Records consented to the job (grants for it, and records under a matching policy) that
    /// were passed to the enclave.
    pub records_seen: usize,
    /// Records decrypted and trained on.
    pub records_used: u64,
    /// Every record's outcome.
    pub outcomes: Vec<RecordOutcome>,
    /// HCMRT_j, if a result was posted.
    pub result_hash: Option<B256>,
    /// Why training failed, if it did (the audit entries were posted all the same).
    pub training_failure: Option<String>,
    /// The block the last view came from.
    pub view_block: Option<u64>,
    /// The ε the result was released under, in thousandths (`u32::MAX`: none).
    pub epsilon_milli: Option<u32>,
    /// Its δ.
    pub delta: Option<f64>,
    /// The cohort floor the training enforced.
    pub min_cohort: Option<u64>,
    /// Whether this run released the training of an earlier run, from its checkpoint, rather
    /// than training.
    pub resumed: bool,
}

impl JobReport {
    /// The report of a run that has done nothing yet but verify the model (or resume).
    fn new(job: JobId, model_ok: bool, model_reason: Option<String>, resumed: bool) -> Self {
        Self {
            job,
            model_ok,
            model_reason,
            records_seen: 0,
            records_used: 0,
            outcomes: Vec::new(),
            result_hash: None,
            training_failure: None,
            view_block: None,
            epsilon_milli: None,
            delta: None,
            min_cohort: None,
            resumed,
        }
    }
}

/// A record consented to a job, as found on chain.
struct Candidate {
    ciphertext_hash: B256,
    owner: Address,
    commitment: B256,
    /// Where it is in a bulk consent, with the pad that consent's list gives.
    batch: Option<(BatchMembership, Bytes)>,
}

/// The TEE host runtime.
pub struct TeeHost {
    enclave: SharedEnclave,
    chain: ContractClient,
    store: Arc<dyn Store>,
    address: Address,
    public_key: Bytes,
    evidence: Evidence,
}

impl TeeHost {
    /// Wraps `enclave`: reads its identity and opens its account (signed inside) on `ledger`,
    /// attached to the deployment its trust anchors name (the deployment file, if given, must
    /// agree).
    pub async fn new(
        enclave: Box<dyn EnclaveApi>,
        ledger: Arc<dyn Ledger>,
        deployment: Option<Deployment>,
        store: Arc<dyn Store>,
    ) -> Result<Self> {
        let enclave: SharedEnclave = Arc::new(Mutex::new(enclave));
        let Response::Identity {
            address,
            public_key,
            evidence,
        } = ecall(&enclave, &Request::Identity)?
        else {
            return Err(medshare_enclave_api::Error::Unexpected("Identity").into());
        };
        let anchored = evidence.anchors.deployment();
        if let Some(d) = deployment
            && d != anchored
        {
            return Err(Error::WrongDeployment {
                sealed_for: anchored.registration,
                given: d.registration,
            });
        }
        let signer = Arc::new(EnclaveSigner {
            enclave: enclave.clone(),
            address,
        });
        let wallet = Wallet::with_signer(ledger, signer).await?;
        if wallet.chain_id() != evidence.anchors.chainId {
            return Err(Error::WrongChain {
                node: wallet.chain_id(),
                sealed_for: evidence.anchors.chainId,
            });
        }
        let chain = ContractClient::attach(wallet, anchored).await?;
        Ok(Self {
            enclave,
            chain,
            store,
            address,
            public_key,
            evidence,
        })
    }

    /// PK_T's address (the TEE's account).
    pub fn address(&self) -> Address {
        self.address
    }

    /// PK_T (64 bytes).
    pub fn public_key(&self) -> &Bytes {
        &self.public_key
    }

    /// The enclave's attestation evidence.
    pub fn evidence(&self) -> &Evidence {
        &self.evidence
    }

    /// The enclave's trust anchors.
    pub fn anchors(&self) -> &TrustAnchors {
        &self.evidence.anchors
    }

    /// The chain handle (the TEE's account).
    pub fn chain(&self) -> &ContractClient {
        &self.chain
    }

    /// Sends a transaction the enclave wrote (it signs it inside).
    async fn send(&self, tx: AuthoredTx) -> Result<()> {
        self.send_all(vec![tx]).await
    }

    /// Sends transactions the enclave wrote, together, none depending on another's effect.
    async fn send_all(&self, txs: Vec<AuthoredTx>) -> Result<()> {
        if txs.is_empty() {
            return Ok(());
        }
        let what: Vec<String> = txs.iter().map(|tx| tx.what.clone()).collect();
        self.chain
            .send_many(
                txs.into_iter()
                    .map(|tx| Call::new(tx.to, tx.input))
                    .collect(),
            )
            .await
            .map_err(|source| Error::TransactionFailed {
                what: what.join(", "),
                source: Box::new(source),
            })?;
        Ok(())
    }

    /// Submits PK_T with its evidence (`Registration.submitTee`), unless already registered.
    /// The TEE is active only once governance verified the evidence and admitted it.
    pub async fn register(&self) -> Result<()> {
        if self.chain.role_of(self.address).await?.is_some() {
            return Ok(());
        }
        match ecall(&self.enclave, &Request::AuthorRegistration)? {
            Response::Authored(tx) => self.send(tx).await,
            _ => Err(medshare_enclave_api::Error::Unexpected("AuthorRegistration").into()),
        }
    }

    /// A view of the chain at its latest block: the header and proofs of `request`'s slots.
    pub async fn view(&self, request: &SlotRequest) -> Result<ChainView> {
        let ledger = self.chain.ledger();
        let number = ledger.block_number().await?;
        self.view_at(number, request).await
    }

    /// A view of the chain at block `number`.
    pub async fn view_at(&self, number: u64, request: &SlotRequest) -> Result<ChainView> {
        let ledger = self.chain.ledger();
        let header = ledger.header(number).await?.ok_or(Error::NoBlock(number))?;
        let mut proofs = Vec::with_capacity(request.len());
        for (address, slots) in request {
            proofs.push(ledger.proof(*address, slots.clone(), number).await?);
        }
        Ok(ChainView {
            header: Bytes::from(alloy_rlp::encode(&header)),
            proofs,
        })
    }

    /// The slots of the job facts, with the approver and this TEE's measurement id read from
    /// the chain first (if they are wrong, the enclave finds the facts unproven and refuses).
    pub async fn job_request(&self, ctx: &JobContext) -> Result<SlotRequest> {
        let d = self.chain.deployment();
        let approver = self.chain.approver_of(ctx.job).await?;
        let ledger = self.chain.ledger();
        let number = ledger.block_number().await?;
        let own = ledger
            .proof(
                d.registration,
                vec![registration::party(self.address)],
                number,
            )
            .await?;
        let word = own
            .storage_proof
            .first()
            .map(|p| p.value)
            .unwrap_or_default();
        let measurement_id = registration::Party::decode(word).measurement_id;
        Ok(facts::job_slots(
            d,
            self.address,
            ctx.job.0,
            ctx.data_type,
            ctx.demander,
            approver,
            measurement_id,
        ))
    }

    /// Runs `job` end to end: verify the model (Algorithm 3) and post {ST_j, HRT_j, VT_j}; pass
    /// the records consented to the job to the enclave in batches, each with a view proving its
    /// consent, and post {ST_i, HRT_i, VT_i} (Algorithm 4); have the enclave train on what it
    /// decrypted (Algorithm 5); store CMRT_j and SMRT_j, post HCMRT_j and the audit entries
    /// (Algorithm 6) — or, if training fails, the audit entries alone. `progress(done, total)`
    /// follows the records.
    pub async fn run_job(
        &self,
        job: JobId,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<JobReport> {
        let status = self.chain.job_status(job).await?;
        // Approved: first run. Deployed: a run that stopped before its result (e.g. the process
        // died, or training failed); the model is verified again, not re-posted.
        if !matches!(status, JobStatus::Approved | JobStatus::Deployed) {
            return Err(Error::JobNotRunnable { job, status });
        }
        let ctx = self.job_context(job).await?;
        let data_type = ctx.data_type;
        let job_request = self.job_request(&ctx).await?;
        if status == JobStatus::Deployed && self.chain.debit_batches_of(job).await? > 0 {
            return self.resume(job, &job_request).await;
        }
        let view = self.view(&job_request).await?;
        let Response::ModelVerified {
            hash_ok,
            signature_ok,
            reason,
            tx,
        } = ecall(
            &self.enclave,
            &Request::BeginJob {
                job: Box::new(ctx),
                view,
            },
        )?
        else {
            return Err(medshare_enclave_api::Error::Unexpected("BeginJob").into());
        };
        if status == JobStatus::Approved {
            self.send(tx).await?;
        }
        let mut report = JobReport::new(job, hash_ok && signature_ok, reason, false);
        if !report.model_ok {
            return Ok(report);
        }

        let candidates = self.consented_records(job, data_type).await?;
        report.records_seen = candidates.len();
        let d = *self.chain.deployment();
        for (i, chunk) in candidates.chunks(RECORD_BATCH).enumerate() {
            let hashes: Vec<B256> = chunk.iter().map(|c| c.ciphertext_hash).collect();
            let pads = self.chain.pads_of(&hashes).await?;
            let mut inputs = Vec::with_capacity(chunk.len());
            let mut requests = vec![job_request.clone()];
            for c in chunk {
                requests.push(facts::record_slots(
                    &d,
                    job.0,
                    c.ciphertext_hash,
                    c.owner,
                    c.commitment,
                    data_type,
                    c.batch.as_ref().map(|(b, _)| b.root),
                ));
                inputs.push(self.gather(c, &pads).await?);
            }
            let view = self.view(&facts::merge(requests)).await?;
            let Response::RecordsChecked { outcomes, tx } = ecall(
                &self.enclave,
                &Request::AddRecords {
                    records: inputs,
                    view,
                },
            )?
            else {
                return Err(medshare_enclave_api::Error::Unexpected("AddRecords").into());
            };
            if let Some(tx) = tx {
                self.send(tx).await?;
            }
            report.outcomes.extend(outcomes);
            progress(
                (i * RECORD_BATCH + chunk.len()).min(candidates.len()),
                candidates.len(),
            );
        }

        let view = self.view(&job_request).await?;
        let finished = ecall(&self.enclave, &Request::FinishJob { view })?;
        self.settle(job, &job_request, finished, &mut report)
            .await?;
        Ok(report)
    }

    /// Finishes a job whose budgets an earlier run's training paid (the run stopped after its
    /// debits: the store refused the result, the process died): only that training can be
    /// released, from the checkpoint the run stored before its first debit. The enclave checks
    /// the checkpoint is its own and the chain's debits are that training's.
    async fn resume(&self, job: JobId, job_request: &SlotRequest) -> Result<JobReport> {
        let checkpoint = match self
            .store
            .get_at_most(&Key::checkpoint(&job.0), MAX_CHECKPOINT_BYTES)
            .await
        {
            Ok(bytes) => bytes,
            Err(medshare_storage::Error::NotFound { .. }) => {
                return Err(Error::CheckpointLost { job });
            }
            Err(e) => return Err(e.into()),
        };
        let view = self.view(job_request).await?;
        let response = ecall(
            &self.enclave,
            &Request::ResumeJob {
                checkpoint: Bytes::from(checkpoint),
                view,
            },
        )?;
        let mut report = JobReport::new(job, true, None, true);
        self.settle(job, job_request, response, &mut report).await?;
        Ok(report)
    }

    /// Settles a trained or failed job: for a training, stores its checkpoint (before any
    /// debit: once one lands, the job can release that training only), posts its debits batch
    /// by batch, has the enclave release the result, stores CMRT_j and SMRT_j, and posts
    /// HCMRT_j and the audit entries; for a failed training, posts the audit entries.
    async fn settle(
        &self,
        job: JobId,
        job_request: &SlotRequest,
        response: Response,
        report: &mut JobReport,
    ) -> Result<()> {
        match response {
            Response::DebitsPending {
                txs, checkpoint, ..
            } => {
                if !report.resumed {
                    self.store
                        .put(&Key::checkpoint(&job.0), checkpoint.to_vec())
                        .await?;
                }
                // Every record the model used pays the job's ε from its budget, on chain, before
                // the enclave releases the result: batch by batch, in order.
                for tx in txs {
                    self.send(tx).await?;
                }
                let view = self.view(job_request).await?;
                let Response::JobFinished(result) =
                    ecall(&self.enclave, &Request::ReleaseResult { view })?
                else {
                    return Err(medshare_enclave_api::Error::Unexpected("ReleaseResult").into());
                };
                // Storage first: a result whose hash is on chain is always fetchable.
                let meta = ResultMeta {
                    job: job.0,
                    tee: self.address,
                    signature: result.signature.clone(),
                };
                let json = serde_json::to_vec(&meta).map_err(|source| Error::Serialization {
                    what: "SMRT_j",
                    source,
                })?;
                self.store
                    .put_many(vec![
                        (Key::result(&result.result_hash.0), result.result.to_vec()),
                        (Key::result_meta(&result.result_hash.0), json),
                    ])
                    .await?;
                // The result and the audit entries do not depend on one another: one block.
                self.send_all(result.txs).await?;
                report.records_used = result.records_used;
                report.result_hash = Some(result.result_hash);
                report.view_block = Some(result.view_block);
                report.epsilon_milli = Some(result.epsilon_milli);
                report.delta = Some(result.delta);
                report.min_cohort = Some(result.min_cohort);
            }
            Response::JobFailed { reason, txs } => {
                // No result, but every record the enclave touched is audited.
                self.send_all(txs).await?;
                report.training_failure = Some(reason);
            }
            _ => return Err(medshare_enclave_api::Error::Unexpected("FinishJob").into()),
        }
        Ok(())
    }

    /// The records consented to `job`: those granted to it, those listed in live bulk consents
    /// to it, and those of owners whose standing policy covers its data type. The enclave
    /// checks each one's consent itself.
    async fn consented_records(&self, job: JobId, data_type: B256) -> Result<Vec<Candidate>> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for g in self.chain.grants_of_job(job).await? {
            if seen.insert(g.event.ciphertextHash) {
                out.push(Candidate {
                    ciphertext_hash: g.event.ciphertextHash,
                    owner: g.event.owner,
                    commitment: g.event.commitment,
                    batch: None,
                });
            }
        }
        for b in self.chain.batch_grants_of_job(job, None).await? {
            let e = b.event;
            // Revoked consents are skipped here to save the enclave's time; the enclave
            // decides from the chain's state either way.
            if !self.chain.batch_grant_live(e.owner, job, e.root).await? {
                continue;
            }
            let Some(list) = meta::read_consent_list(self.store.as_ref(), e.listHash).await? else {
                continue;
            };
            let Some(tree) = list.tree().filter(|t| t.root() == e.root) else {
                tracing::warn!(
                    "the list of {}'s bulk consent {} is not that consent's: skipped",
                    e.owner,
                    e.root
                );
                continue;
            };
            for (i, entry) in list.entries.into_iter().enumerate() {
                if !seen.insert(entry.ciphertext_hash) {
                    continue;
                }
                out.push(Candidate {
                    ciphertext_hash: entry.ciphertext_hash,
                    owner: e.owner,
                    commitment: entry.commitment,
                    batch: Some((
                        BatchMembership {
                            root: e.root,
                            proof: tree.proof(i).unwrap_or_default(),
                        },
                        entry.pad,
                    )),
                });
            }
        }
        for owner in self.chain.policy_owners(data_type).await? {
            for r in self
                .chain
                .records_of_owner_and_type(owner, data_type)
                .await?
            {
                if seen.insert(r.event.ciphertextHash) {
                    out.push(Candidate {
                        ciphertext_hash: r.event.ciphertextHash,
                        owner: r.event.owner,
                        commitment: r.event.commitment,
                        batch: None,
                    });
                }
            }
        }
        Ok(out)
    }

    /// What the enclave needs to verify `job`'s model: the submission IM_j as logged on chain
    /// and the demander's registered public key (both checked by the enclave).
    pub async fn job_context(&self, job: JobId) -> Result<JobContext> {
        let submitted = self
            .chain
            .submission_of(job)
            .await?
            .ok_or(Error::NoSubmission(job))?
            .event;
        let schema = self
            .schema_of(&submitted.requirement, submitted.dataType)
            .await?;
        Ok(JobContext {
            schema,
            job,
            demander: submitted.demander,
            demander_public_key: self.chain.public_key_of(submitted.demander).await?,
            model_hash: submitted.modelHash,
            requirement_hash: submitted.requirementHash,
            data_type: submitted.dataType,
            timestamp: submitted.timestamp,
            min_cohort: submitted.minCohort,
            epsilon_milli: submitted.epsilonMilli,
            model: submitted.model,
            requirement: submitted.requirement,
            signature: submitted.signature,
        })
    }

    /// The schema of the data type a requirement names: built in, or published in storage
    /// (`schemas/<id>.json`). The enclave checks it is the data type's.
    async fn schema_of(&self, requirement: &[u8], data_type: B256) -> Result<Bytes> {
        let name = medshare_records::DataRequirement::from_json(requirement)
            .map(|r| r.data_type)
            .ok();
        if let Some(schema) = name.as_deref().and_then(medshare_records::Schema::builtin) {
            let json = serde_json::to_vec(&schema).map_err(|source| Error::Serialization {
                what: "the data type's schema",
                source,
            })?;
            return Ok(json.into());
        }
        match self.store.get(&Key::schema(&data_type.0)).await {
            Ok(bytes) => Ok(bytes.into()),
            // The enclave refuses the model as invalid (VT_j false), which lands on chain.
            Err(medshare_storage::Error::NotFound { .. }) => Ok(Bytes::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// One object of a record, of at most `max` bytes. An error about that object (missing,
    /// unreadable, not a file, larger than `max`, refused by the service) is `None`: the enclave
    /// then refuses the record and the refusal lands in its owner's audit trail, and the job goes
    /// on with the others. A store that cannot be reached at all stops the job (it can be run
    /// again).
    async fn fetch(&self, key: &Key, max: usize) -> Result<Option<Vec<u8>>> {
        match self.store.get_at_most(key, max as u64).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.is_unavailable() => Err(e.into()),
            Err(medshare_storage::Error::NotFound { .. }) => Ok(None),
            Err(e) => {
                tracing::warn!("{e}: the record is excluded from the job");
                Ok(None)
            }
        }
    }

    /// Collects what the enclave needs about one consented record. Missing or malformed
    /// storage objects are passed as absent: the enclave then reports the record as failing
    /// verification (and audits it).
    async fn gather(
        &self,
        c: &Candidate,
        pads: &std::collections::HashMap<B256, Bytes>,
    ) -> Result<RecordInput> {
        let hash = c.ciphertext_hash;
        let meta: Option<RecordMeta> = self
            .fetch(&Key::record_meta(&hash.0), meta::MAX_META_BYTES)
            .await?
            .and_then(|bytes| meta::parse(&bytes, "TD_i").ok());
        let ciphertext = self
            .fetch(&Key::record(&hash.0), MAX_CIPHERTEXT_BYTES)
            .await?
            .map(Bytes::from);
        Ok(RecordInput {
            ciphertext_hash: hash,
            owner: c.owner,
            commitment: c.commitment,
            record: meta.as_ref().map(|m| m.record.clone()),
            signature: meta.map(|m| m.signature),
            ciphertext,
            pad: match &c.batch {
                Some((_, pad)) => Some(pad.clone()),
                None => pads.get(&hash).cloned(),
            },
            batch: c.batch.as_ref().map(|(b, _)| b.clone()),
        })
    }
}
