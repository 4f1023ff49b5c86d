//! The demander (paper §5.3.1, Algorithm 2; §5.5.3, Algorithm 7).

use crate::{
    Error, Result,
    meta::{self, ResultMeta},
};
use alloy_primitives::{Address, Bytes, keccak256};
use medshare_chain::Medshare;
use medshare_crypto::{
    Identity, ciphertext_hash,
    eip712::{self, Domain, ModelSubmission, Signature, TrainingResult},
    open_result,
};
use medshare_primitives::{DataType, JobId, Role};
use medshare_records::DataRequirement;
use medshare_storage::{Key, ObjectStore};
use medshare_training::{ModelSpec, TrainingOutput};
use std::{
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

/// A research institute.
pub struct Demander {
    identity: Identity,
    chain: Medshare,
    store: Arc<dyn ObjectStore>,
}

impl Demander {
    /// The demander `identity`, whose wallet `chain` holds.
    pub fn new(identity: Identity, chain: Medshare, store: Arc<dyn ObjectStore>) -> Self {
        Self {
            identity,
            chain,
            store,
        }
    }

    /// The demander's address.
    pub fn address(&self) -> Address {
        self.identity.address()
    }

    /// Registers as a demander (once).
    pub async fn register(&self) -> Result<()> {
        self.chain
            .register(Role::Demander, self.identity.public_key_uncompressed())
            .await?;
        Ok(())
    }

    /// Algorithm 2: validates the spec against the requirement, hashes both, signs the
    /// submission (SM_j, EIP-712) and submits IM_j. Returns the job id.
    pub async fn submit(&self, spec: &ModelSpec, requirement: &DataRequirement) -> Result<JobId> {
        spec.validate()
            .map_err(|e| Error::Missing(format!("model spec: {e}")))?;
        requirement.validate()?;
        if let Some(f) = spec
            .features
            .iter()
            .find(|f| !requirement.features.contains(f))
        {
            return Err(Error::Missing(format!(
                "the model reads {f:?}, which the requirement does not ask for"
            )));
        }
        if spec.label != requirement.label {
            return Err(Error::Missing(
                "the model's label is not the requirement's".into(),
            ));
        }
        let model = serde_json::to_vec(spec).map_err(|e| Error::Missing(e.to_string()))?;
        let requirement_bytes = requirement.to_json();
        let data_type = DataType::new(requirement.data_type.clone())
            .map_err(|e| Error::Missing(e.to_string()))?;
        let epsilon_milli =
            medshare_contracts::epsilon_milli(spec.privacy.epsilon).ok_or_else(|| {
                Error::Missing(format!(
                    "model spec: ε = {} is not a positive multiple of 0.001 (or \"inf\")",
                    spec.privacy.epsilon
                ))
            })?;
        let min_cohort = u32::try_from(requirement.min_cohort).map_err(|_| {
            Error::Missing(format!(
                "data requirement: min_cohort {} is too large",
                requirement.min_cohort
            ))
        })?;
        let submission = ModelSubmission {
            demander: self.address(),
            modelHash: keccak256(&model),
            requirementHash: keccak256(&requirement_bytes),
            dataType: data_type.id(),
            timestamp: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            minCohort: min_cohort,
            epsilonMilli: epsilon_milli,
        };
        let domain = Domain::new(self.chain.chain_id(), self.chain.deployment().model);
        let signature = self.identity.sign_typed(&domain, &submission)?;
        Ok(self
            .chain
            .submit_model(
                &submission,
                Bytes::from(model),
                Bytes::from(requirement_bytes),
                &signature,
            )
            .await?)
    }

    /// Algorithm 7: fetches the result of `job` from storage, checks it against the chain (hash
    /// HCMRT_j; the TEE's signature SMRT_j by the TEE that posted it, a registered TEE), decrypts
    /// it with the demander's key and parses MRT_j. A result that fails any check is reported on
    /// chain (§5.5.3(b)) and refused with [`Error::ResultRejected`].
    pub async fn fetch_result(&self, job: JobId) -> Result<TrainingOutput> {
        let posted = self
            .chain
            .result_of(job)
            .await?
            .ok_or_else(|| Error::Missing(format!("no result posted for job {}", job.0)))?;
        match self
            .check(
                job,
                posted.event.tee,
                posted.event.resultHash,
                posted.event.viewBlock,
                posted.event.viewHash,
            )
            .await
        {
            Ok(output) => Ok(output),
            Err(reason) => {
                self.chain.report_result_failure(job, &reason).await?;
                Err(Error::ResultRejected {
                    job: job.0.to_string(),
                    reason,
                })
            }
        }
    }

    /// The checks of Algorithm 7; the error is the reason reported on chain.
    async fn check(
        &self,
        job: JobId,
        tee: Address,
        result_hash: alloy_primitives::B256,
        view_block: u64,
        view_hash: alloy_primitives::B256,
    ) -> std::result::Result<TrainingOutput, String> {
        let ciphertext = self
            .store
            .get(&Key::result(&result_hash.0))
            .await
            .map_err(|e| format!("the encrypted result is not in storage: {e}"))?;
        if ciphertext_hash(&ciphertext).0 != result_hash {
            return Err("the stored result does not hash to HCMRT_j on chain".into());
        }
        let meta_bytes = self
            .store
            .get(&Key::result_meta(&result_hash.0))
            .await
            .map_err(|e| format!("the result's signature is not in storage: {e}"))?;
        let meta: ResultMeta =
            meta::parse(&meta_bytes, "the result's signature").map_err(|e| e.to_string())?;
        let info = match self.chain.role_of(tee).await {
            Ok(Some(Role::Tee)) => self
                .chain
                .tee_info(tee)
                .await
                .map_err(|e| format!("cannot read the TEE's registration: {e}"))?,
            _ => {
                return Err(
                    "the result was posted by an account that is not a registered TEE".into(),
                );
            }
        };
        if !info.admitted {
            return Err("the result was posted by a TEE governance never admitted".into());
        }
        let domain = Domain::new(self.chain.chain_id(), self.chain.deployment().model);
        let statement = TrainingResult {
            jobId: job.0,
            resultHash: result_hash,
            viewBlock: view_block,
            viewHash: view_hash,
            headersVerified: !info.unverified_headers,
        };
        let signer = Signature::from_slice(&meta.signature)
            .and_then(|sig| eip712::recover(&domain, &statement, &sig))
            .map_err(|e| format!("SMRT_j is not a valid signature: {e}"))?;
        if signer != tee || meta.job != job.0 {
            return Err(
                "SMRT_j is not the posting TEE's signature over this job and result".into(),
            );
        }
        let plain = open_result(&self.identity, job, &ciphertext).map_err(|e| e.to_string())?;
        serde_json::from_slice(&plain).map_err(|e| format!("MRT_j does not parse: {e}"))
    }
}
