//! The TEE's untrusted host runtime (paper §5.3.2–§5.5.2, Algorithms 3–6).
//!
//! It runs in the same process as the enclave (as an SGX host application does) and is the
//! enclave's only window on the world: it reads the job, the records, the pads and the consent
//! state from the chain, fetches ciphertexts and TD_i from storage, passes them in through the
//! ecall boundary, stores the encrypted result, and sends the transactions the enclave wrote.
//! Those are signed inside the enclave (the TEE's account is PK_T), through [`EnclaveSigner`].

use crate::{
    Error, Result,
    meta::{self, RecordMeta, ResultMeta},
};
use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, Bytes, Signature};
use medshare_chain::{Call, Deployment, JobStatus, Medshare, Wallet};
use medshare_enclave_api::{
    AuthoredTx, EnclaveApi, Evidence, JobContext, RecordInput, RecordOutcome, Request, Response,
    UnsignedTx, call,
};
use medshare_ledger::{Ledger, wallet::TxSigner};
use medshare_primitives::JobId;
use medshare_storage::{Key, ObjectStore};
use std::sync::{Arc, Mutex};

/// Records passed to the enclave per ecall (bounds the memory of a job: the enclave keeps only
/// the features it loaded).
pub const RECORD_BATCH: usize = 64;

/// The enclave behind its ecall boundary, shared by the runtime and the signer.
pub type SharedEnclave = Arc<Mutex<Box<dyn EnclaveApi>>>;

fn ecall(enclave: &SharedEnclave, request: &Request) -> Result<Response> {
    let mut guard = enclave
        .lock()
        .map_err(|_| Error::Missing("the enclave lock is poisoned".into()))?;
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

/// What a job run did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JobReport {
    /// The job.
    pub job: JobId,
    /// HRT_j and VT_j.
    pub model_ok: bool,
    /// Why the model was refused, if it was.
    pub model_reason: Option<String>,
    /// Records of the job's data type found on chain.
    pub records_seen: usize,
    /// Records decrypted and trained on.
    pub records_used: u64,
    /// Every record's outcome.
    pub outcomes: Vec<RecordOutcome>,
    /// HCMRT_j, if a result was posted.
    pub result_hash: Option<alloy_primitives::B256>,
}

/// The TEE host runtime.
pub struct TeeHost {
    enclave: SharedEnclave,
    chain: Medshare,
    store: Arc<dyn ObjectStore>,
    address: Address,
    public_key: Bytes,
    evidence: Evidence,
}

impl TeeHost {
    /// Wraps `enclave`: reads its identity and opens its account (signed inside) on `ledger`.
    pub async fn new(
        enclave: Box<dyn EnclaveApi>,
        ledger: Arc<dyn Ledger>,
        deployment: Deployment,
        store: Arc<dyn ObjectStore>,
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
        let signer = Arc::new(EnclaveSigner {
            enclave: enclave.clone(),
            address,
        });
        let wallet = Wallet::with_signer(ledger, signer).await?;
        let chain = Medshare::attach(wallet, deployment).await?;
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

    /// Sends a transaction the enclave wrote (it signs it inside).
    async fn send(&self, tx: AuthoredTx) -> Result<()> {
        self.send_all(vec![tx]).await
    }

    /// Sends transactions the enclave wrote, together, none depending on another's effect.
    async fn send_all(&self, txs: Vec<AuthoredTx>) -> Result<()> {
        let what: Vec<String> = txs.iter().map(|tx| tx.what.clone()).collect();
        self.chain
            .send_many(
                txs.into_iter()
                    .map(|tx| Call::new(tx.to, tx.input))
                    .collect(),
            )
            .await
            .map_err(|e| Error::Missing(format!("{}: {e}", what.join(", "))))?;
        Ok(())
    }

    /// Registers PK_T with its evidence (`Registration.registerTee`), unless already registered.
    pub async fn register(&self) -> Result<()> {
        if self.chain.role_of(self.address).await?.is_some() {
            return Ok(());
        }
        let registration = self.chain.deployment().registration;
        match ecall(&self.enclave, &Request::AuthorRegistration { registration })? {
            Response::Authored(tx) => self.send(tx).await,
            _ => Err(medshare_enclave_api::Error::Unexpected("AuthorRegistration").into()),
        }
    }

    /// Runs `job` end to end: verify the model (Algorithm 3) and post {ST_j, HRT_j, VT_j}; verify
    /// each record of the job's data type and post {ST_i, HRT_i, VT_i} (Algorithm 4); decrypt
    /// the authorized ones and train (Algorithm 5); store CMRT_j and SMRT_j, post HCMRT_j and
    /// the audit entries (Algorithm 6). `progress(done, total)` follows the records.
    pub async fn run_job(
        &self,
        job: JobId,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<JobReport> {
        let status = self.chain.job_status(job).await?;
        // Approved: first run. Deployed: a run that stopped before its result (e.g. the process
        // died, or too few records had consent); the model is verified again, not re-posted.
        if !matches!(status, JobStatus::Approved | JobStatus::Deployed) {
            return Err(Error::Missing(format!(
                "job {} is {status:?}: only an approved job is run",
                job.0
            )));
        }
        let ctx = self.job_context(job).await?;
        let data_type = ctx.data_type;
        let Response::ModelVerified {
            hash_ok,
            signature_ok,
            reason,
            tx,
        } = ecall(&self.enclave, &Request::BeginJob(Box::new(ctx)))?
        else {
            return Err(medshare_enclave_api::Error::Unexpected("BeginJob").into());
        };
        if status == JobStatus::Approved {
            self.send(tx).await?;
        }
        let mut report = JobReport {
            job,
            model_ok: hash_ok && signature_ok,
            model_reason: reason,
            records_seen: 0,
            records_used: 0,
            outcomes: Vec::new(),
            result_hash: None,
        };
        if !report.model_ok {
            return Ok(report);
        }

        let registered = self.chain.records_of_type(data_type).await?;
        let pads = self.chain.released_pads().await?;
        report.records_seen = registered.len();
        for (i, chunk) in registered.chunks(RECORD_BATCH).enumerate() {
            let mut inputs = Vec::with_capacity(chunk.len());
            for logged in chunk {
                inputs.push(self.gather(job, &logged.event, &pads).await?);
            }
            let Response::RecordsChecked { outcomes, tx } =
                ecall(&self.enclave, &Request::AddRecords { records: inputs })?
            else {
                return Err(medshare_enclave_api::Error::Unexpected("AddRecords").into());
            };
            if let Some(tx) = tx {
                self.send(tx).await?;
            }
            report.outcomes.extend(outcomes);
            progress(
                (i * RECORD_BATCH + chunk.len()).min(registered.len()),
                registered.len(),
            );
        }

        let Response::JobFinished(result) = ecall(&self.enclave, &Request::FinishJob)? else {
            return Err(medshare_enclave_api::Error::Unexpected("FinishJob").into());
        };
        // Storage first: a result whose hash is on chain is always fetchable.
        let meta = ResultMeta {
            job: job.0,
            tee: self.address,
            signature: result.signature.clone(),
        };
        let json = serde_json::to_vec(&meta).map_err(|e| Error::Missing(e.to_string()))?;
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
        Ok(report)
    }

    /// What the enclave needs to verify `job`'s model: the submission IM_j as logged on chain
    /// and the demander's registered public key.
    pub async fn job_context(&self, job: JobId) -> Result<JobContext> {
        let submitted = self
            .chain
            .submission_of(job)
            .await?
            .ok_or_else(|| Error::Missing(format!("no submission for job {}", job.0)))?
            .event;
        Ok(JobContext {
            job,
            chain_id: self.chain.chain_id(),
            deployment: *self.chain.deployment(),
            demander: submitted.demander,
            demander_public_key: self.chain.public_key_of(submitted.demander).await?,
            model_hash: submitted.modelHash,
            requirement_hash: submitted.requirementHash,
            data_type: submitted.dataType,
            timestamp: submitted.timestamp,
            model: submitted.model,
            requirement: submitted.requirement,
            signature: submitted.signature,
        })
    }

    /// Collects what the enclave needs about one registered record. Missing or malformed
    /// storage objects are passed as absent: the enclave then reports the record as failing
    /// verification.
    async fn gather(
        &self,
        job: JobId,
        event: &medshare_chain::Data::RecordRegistered,
        pads: &std::collections::HashMap<alloy_primitives::B256, Bytes>,
    ) -> Result<RecordInput> {
        let hash = event.ciphertextHash;
        let meta: Option<RecordMeta> = match self.store.get(&Key::record_meta(&hash.0)).await {
            Ok(bytes) => meta::parse(&bytes, "TD_i").ok(),
            Err(medshare_storage::Error::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        // The enclave reads `live` only for an authorized record: skip the call otherwise.
        let authorized = match &meta {
            Some(m) => self.chain.is_authorized(&m.record, job).await?,
            None => false,
        };
        let live = match &meta {
            Some(m) if authorized => self.chain.verify_record(&m.record).await?,
            _ => false,
        };
        // Only a record the job may use is fetched; the enclave checks the flags itself.
        let ciphertext = if authorized {
            match self.store.get(&Key::record(&hash.0)).await {
                Ok(bytes) => Some(Bytes::from(bytes)),
                Err(medshare_storage::Error::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            }
        } else {
            None
        };
        Ok(RecordInput {
            ciphertext_hash: hash,
            owner: event.owner,
            record: meta.as_ref().map(|m| m.record.clone()),
            signature: meta.map(|m| m.signature),
            ciphertext,
            pad: pads.get(&hash).cloned(),
            live,
            authorized,
        })
    }
}
