//! The reviewer: approves or rejects submitted models before any TEE may run them.

use crate::Result;
use alloy_primitives::{Address, B256};
use medshare_chain::{ContractClient, JobStatus};
use medshare_primitives::JobId;
use medshare_records::DataRequirement;
use medshare_training::ModelSpec;

/// A submitted model as a reviewer sees it.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The job.
    pub job: JobId,
    /// The demander.
    pub demander: Address,
    /// The data type id.
    pub data_type: B256,
    /// The model spec, parsed (or why it does not parse).
    pub spec: std::result::Result<ModelSpec, String>,
    /// The data requirement, parsed (or why it does not parse).
    pub requirement: std::result::Result<DataRequirement, String>,
    /// Its status.
    pub status: JobStatus,
}

/// A reviewer appointed by governance.
pub struct Reviewer {
    chain: ContractClient,
}

impl Reviewer {
    /// The reviewer whose wallet `chain` holds.
    pub fn new(chain: ContractClient) -> Self {
        Self { chain }
    }

    /// Every submission still pending review, oldest first.
    pub async fn pending(&self) -> Result<Vec<Submission>> {
        let mut out = Vec::new();
        for logged in self.chain.submissions().await? {
            let e = logged.event;
            let job = JobId(e.jobId);
            let status = self.chain.job_status(job).await?;
            if status != JobStatus::Pending {
                continue;
            }
            out.push(Submission {
                job,
                demander: e.demander,
                data_type: e.dataType,
                spec: ModelSpec::from_json(&e.model).map_err(|err| err.to_string()),
                requirement: DataRequirement::from_json(&e.requirement)
                    .map_err(|err| err.to_string()),
                status,
            });
        }
        Ok(out)
    }

    /// Approves a pending job.
    pub async fn approve(&self, job: JobId) -> Result<()> {
        self.chain.approve_model(job).await?;
        Ok(())
    }

    /// Rejects a pending job with a reason.
    pub async fn reject(&self, job: JobId, reason: &str) -> Result<()> {
        self.chain.reject_model(job, reason).await?;
        Ok(())
    }
}
