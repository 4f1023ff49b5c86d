//! The demander (paper §5.3.1, Algorithm 2; §5.5.3, Algorithm 7).

use crate::{
    Error, Result, ResultFault,
    meta::{self, ResultMeta},
};
use alloy_primitives::{Address, Bytes, keccak256};
use medshare_chain::ContractClient;
use medshare_crypto::{
    Identity, ciphertext_hash,
    eip712::{self, Domain, ModelSubmission, Signature, TrainingResult},
    open_result,
};
use medshare_primitives::{DataType, JobId, Role};
use medshare_records::{DataRequirement, Schema};
use medshare_storage::{Key, Store};
use medshare_training::{ModelSpec, TrainingOutput};
use std::sync::Arc;

/// A research institute.
pub struct Demander {
    identity: Identity,
    chain: ContractClient,
    store: Arc<dyn Store>,
}

impl Demander {
    /// The demander `identity`, whose wallet `chain` holds.
    pub fn new(identity: Identity, chain: ContractClient, store: Arc<dyn Store>) -> Self {
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
        spec.validate().map_err(Error::InvalidSpec)?;
        requirement.validate()?;
        if let Some(f) = spec
            .features
            .iter()
            .find(|f| !requirement.features.contains(f))
        {
            return Err(Error::FeatureNotRequested(f.clone()));
        }
        if spec.label != requirement.label {
            return Err(Error::LabelMismatch {
                spec: spec.label.clone(),
                requirement: requirement.label.clone(),
            });
        }
        let data_type =
            DataType::new(requirement.data_type.clone()).map_err(Error::InvalidDataType)?;
        // Checked here, where the demander can still fix it, rather than by the enclave after a
        // review: the requirement asks only for what the data type has.
        let schema = match Schema::builtin(&requirement.data_type) {
            Some(schema) => schema,
            None => match self.store.get(&Key::schema(&data_type.id().0)).await {
                Ok(bytes) => Schema::from_json(&bytes)?,
                Err(medshare_storage::Error::NotFound { .. }) => {
                    return Err(Error::NoSchema(requirement.data_type.clone()));
                }
                Err(e) => return Err(e.into()),
            },
        };
        requirement.check_against(&schema)?;
        let model = serde_json::to_vec(spec).map_err(|source| Error::Serialization {
            what: "the model spec",
            source,
        })?;
        let requirement_bytes = requirement.to_json();
        let epsilon_milli = medshare_contracts::epsilon_milli(spec.privacy.epsilon)
            .ok_or(Error::UnrepresentableEpsilon(spec.privacy.epsilon))?;
        let min_cohort = u32::try_from(requirement.min_cohort)
            .map_err(|_| Error::CohortTooLarge(requirement.min_cohort))?;
        let submission = ModelSubmission {
            demander: self.address(),
            modelHash: keccak256(&model),
            requirementHash: keccak256(&requirement_bytes),
            dataType: data_type.id(),
            timestamp: crate::now(),
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
            .ok_or(Error::NoResult(job))?;
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
            Err(fault) => {
                self.chain
                    .report_result_failure(job, &fault.to_string())
                    .await?;
                Err(Error::ResultRejected { job, fault })
            }
        }
    }

    /// The checks of Algorithm 7; the error is what is reported on chain.
    async fn check(
        &self,
        job: JobId,
        tee: Address,
        result_hash: alloy_primitives::B256,
        view_block: u64,
        view_hash: alloy_primitives::B256,
    ) -> std::result::Result<TrainingOutput, ResultFault> {
        let ciphertext = self
            .store
            .get(&Key::result(&result_hash.0))
            .await
            .map_err(|e| ResultFault::NotStored(e.to_string()))?;
        if ciphertext_hash(&ciphertext).0 != result_hash {
            return Err(ResultFault::HashMismatch);
        }
        let meta_bytes = self
            .store
            .get(&Key::result_meta(&result_hash.0))
            .await
            .map_err(|e| ResultFault::SignatureNotStored(e.to_string()))?;
        let meta: ResultMeta = meta::parse(&meta_bytes, "the result's signature")
            .map_err(|e| ResultFault::MalformedSignature(e.to_string()))?;
        let info = match self.chain.role_of(tee).await {
            Ok(Some(Role::Tee)) => self
                .chain
                .tee_info(tee)
                .await
                .map_err(|e| ResultFault::TeeUnreadable(e.to_string()))?,
            _ => return Err(ResultFault::NotATee),
        };
        if !info.admitted {
            return Err(ResultFault::TeeNotAdmitted);
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
            .map_err(|e| ResultFault::InvalidSignature(e.to_string()))?;
        if signer != tee || meta.job != job.0 {
            return Err(ResultFault::WrongSigner);
        }
        let plain = open_result(&self.identity, job, &ciphertext)
            .map_err(|e| ResultFault::Undecryptable(e.to_string()))?;
        serde_json::from_slice(&plain).map_err(|e| ResultFault::Unparsable(e.to_string()))
    }
}
