//! Model: jobs (a demander's submission IM_j, the reviewer's decision, the TEE's verifications
//! and result), the data types' rules and the records' budget debits.

use crate::{ContractClient, Error, Logged, Result};
use alloy_primitives::{Address, B256, Bytes};
use medshare_contracts::{Contract, JobStatus, Model};
use medshare_crypto::eip712::{ModelSubmission, Signature, job_id};
use medshare_ledger::TransactionReceipt;
use medshare_primitives::JobId;

/// One record's verification by a TEE for a job: {ST_i, HRT_i, VT_i} of §5.4.2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordVerification {
    /// The record (HDS_i).
    pub ciphertext_hash: B256,
    /// HRT_i: the stored ciphertext hashes to HDS_i.
    pub hash_ok: bool,
    /// VT_i: the owner's signature US_i over TD_i verifies.
    pub signature_ok: bool,
    /// ST_i: the TEE's EIP-712 signature over the Verification.
    pub tee_signature: Signature,
}

/// The block a TEE's view of the chain came from, as its statements name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ViewBlock {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
}

/// A data type's rules as Model keeps them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DataTypeRules {
    /// The smallest cohort a job may train on.
    pub min_cohort: u32,
    /// The largest ε in thousandths; 0: no cap below ∞.
    pub max_epsilon_milli: u32,
    /// Whether a job may train without differential privacy.
    pub allow_non_private: bool,
    /// keccak256 of the data type's schema JSON; zero: built-in schemas only.
    pub schema_hash: B256,
}

impl ContractClient {
    /// Submits a model IM_j (registered demanders only) and returns its job id.
    pub async fn submit_model(
        &self,
        submission: &ModelSubmission,
        model: Bytes,
        requirement: Bytes,
        signature: &Signature,
    ) -> Result<JobId> {
        self.send(
            Contract::Model,
            Self::submit_model_call(submission, model, requirement, signature),
        )
        .await?;
        Ok(job_id(submission))
    }

    /// The `submitModel` call, for [`ContractClient::send_many`].
    pub fn submit_model_call(
        submission: &ModelSubmission,
        model: Bytes,
        requirement: Bytes,
        signature: &Signature,
    ) -> Model::submitModelCall {
        Model::submitModelCall {
            modelHash: submission.modelHash,
            requirementHash: submission.requirementHash,
            dataType: submission.dataType,
            timestamp: submission.timestamp,
            minCohort: submission.minCohort,
            epsilonMilli: submission.epsilonMilli,
            model,
            requirement,
            signature: signature.to_bytes(),
        }
    }

    /// Approves a pending job (reviewers only).
    pub async fn approve_model(&self, job: JobId) -> Result<TransactionReceipt> {
        self.send(Contract::Model, Model::approveModelCall { jobId: job.0 })
            .await
    }

    /// Rejects a pending job with a reason (reviewers only).
    pub async fn reject_model(&self, job: JobId, reason: &str) -> Result<TransactionReceipt> {
        let call = Model::rejectModelCall {
            jobId: job.0,
            reason: reason.to_owned(),
        };
        self.send(Contract::Model, call).await
    }

    /// Posts the TEE's verification {ST_j, HRT_j, VT_j} of an approved job (active TEEs only),
    /// naming the block its view came from.
    pub async fn post_model_verification(
        &self,
        job: JobId,
        hash_ok: bool,
        signature_ok: bool,
        view: ViewBlock,
        tee_signature: &Signature,
    ) -> Result<TransactionReceipt> {
        let call = Model::postModelVerificationCall {
            jobId: job.0,
            hashOk: hash_ok,
            signatureOk: signature_ok,
            viewBlock: view.number,
            viewHash: view.hash,
            teeSignature: tee_signature.to_bytes(),
        };
        self.send(Contract::Model, call).await
    }

    /// Posts the TEE's verification of a batch of records for a deployed job (active TEEs only).
    pub async fn post_record_verifications(
        &self,
        job: JobId,
        view: ViewBlock,
        verifications: &[RecordVerification],
    ) -> Result<TransactionReceipt> {
        let call = Model::postRecordVerificationsCall {
            jobId: job.0,
            viewBlock: view.number,
            viewHash: view.hash,
            ciphertextHashes: verifications.iter().map(|v| v.ciphertext_hash).collect(),
            hashOk: verifications.iter().map(|v| v.hash_ok).collect(),
            signatureOk: verifications.iter().map(|v| v.signature_ok).collect(),
            teeSignatures: verifications
                .iter()
                .map(|v| v.tee_signature.to_bytes())
                .collect(),
        };
        self.send(Contract::Model, call).await
    }

    /// Posts the result of a deployed job, once (active TEEs only): HCMRT_j, the hash of the
    /// encrypted result CMRT_j that the TEE put in off-chain storage together with its EIP-712
    /// signature SMRT_j.
    pub async fn post_result(
        &self,
        job: JobId,
        result_hash: B256,
        view: ViewBlock,
        debit_batches: u32,
    ) -> Result<TransactionReceipt> {
        let call = Model::postResultCall {
            jobId: job.0,
            resultHash: result_hash,
            viewBlock: view.number,
            viewHash: view.hash,
            debitBatches: debit_batches,
        };
        self.send(Contract::Model, call).await
    }

    /// Debits the job's ε from the budgets of records it used, as batch `batch` of training
    /// `training` (the first batch fixes it; active TEEs only; job Deployed);
    /// `granted_totals[i]` is the budget a record with none of its own takes from its bulk
    /// consent (0: none).
    pub async fn debit_budgets(
        &self,
        job: JobId,
        batch: u32,
        training: B256,
        view: ViewBlock,
        ciphertext_hashes: Vec<B256>,
        granted_totals: Vec<u32>,
    ) -> Result<TransactionReceipt> {
        let call = Model::debitBudgetsCall {
            jobId: job.0,
            batch,
            trainingId: training,
            viewBlock: view.number,
            viewHash: view.hash,
            ciphertextHashes: ciphertext_hashes,
            grantedTotals: granted_totals,
        };
        self.send(Contract::Model, call).await
    }

    /// Sets a data type's rules (admins only): the cohort floor, the largest ε (thousandths; 0
    /// no cap), whether training without differential privacy is allowed, and the schema hash
    /// (zero: built-in schemas only).
    pub async fn set_data_type_rules(
        &self,
        data_type: B256,
        rules: &DataTypeRules,
    ) -> Result<TransactionReceipt> {
        let call = Model::setDataTypeRulesCall {
            dataType: data_type,
            minCohort: rules.min_cohort,
            maxEpsilonMilli: rules.max_epsilon_milli,
            allowNonPrivate: rules.allow_non_private,
            schemaHash: rules.schema_hash,
        };
        self.send(Contract::Model, call).await
    }

    /// A data type's rules (the defaults when governance set none).
    pub async fn data_type_rules(&self, data_type: B256) -> Result<DataTypeRules> {
        let r = self
            .view(
                Contract::Model,
                Model::dataTypeRulesCall {
                    dataType: data_type,
                },
            )
            .await?;
        Ok(DataTypeRules {
            min_cohort: r.minCohort,
            max_epsilon_milli: r.maxEpsilonMilli,
            allow_non_private: r.allowNonPrivate,
            schema_hash: r.schemaHash,
        })
    }

    /// A job's ε in thousandths ([`medshare_contracts::EPSILON_INFINITE`]: none).
    pub async fn epsilon_of(&self, job: JobId) -> Result<u32> {
        self.view(Contract::Model, Model::epsilonOfCall { jobId: job.0 })
            .await
    }

    /// How many budget batches a job debited.
    pub async fn debit_batches_of(&self, job: JobId) -> Result<u32> {
        self.view(Contract::Model, Model::debitBatchesOfCall { jobId: job.0 })
            .await
    }

    /// The training a job's budget debits pay for (zero before its first batch).
    pub async fn training_of(&self, job: JobId) -> Result<B256> {
        self.view(Contract::Model, Model::trainingOfCall { jobId: job.0 })
            .await
    }

    /// Reports that a completed job's result failed the demander's checks (its demander only).
    pub async fn report_result_failure(
        &self,
        job: JobId,
        reason: &str,
    ) -> Result<TransactionReceipt> {
        let call = Model::reportResultFailureCall {
            jobId: job.0,
            reason: reason.to_owned(),
        };
        self.send(Contract::Model, call).await
    }

    /// A job's status.
    pub async fn job_status(&self, job: JobId) -> Result<JobStatus> {
        let status = self
            .view(Contract::Model, Model::jobStatusCall { jobId: job.0 })
            .await?;
        JobStatus::try_from(status).map_err(|e| Error::Invalid(e.to_string()))
    }

    /// The reviewer who approved a job (zero if not approved).
    pub async fn approver_of(&self, job: JobId) -> Result<Address> {
        self.view(Contract::Model, Model::approverOfCall { jobId: job.0 })
            .await
    }

    /// The demander of a job (zero if unknown).
    pub async fn demander_of(&self, job: JobId) -> Result<Address> {
        self.view(Contract::Model, Model::demanderOfCall { jobId: job.0 })
            .await
    }

    /// The job's submission event IM_j (model, requirement, signature), if the job exists.
    pub async fn submission_of(&self, job: JobId) -> Result<Option<Logged<Model::ModelSubmitted>>> {
        let filter = self
            .filter::<Model::ModelSubmitted>(Contract::Model)
            .topic1(job.0);
        self.first_event(Contract::Model, filter).await
    }

    /// Every model submission IM_j, oldest first.
    pub async fn submissions(&self) -> Result<Vec<Logged<Model::ModelSubmitted>>> {
        let filter = self.filter::<Model::ModelSubmitted>(Contract::Model);
        self.events(Contract::Model, filter).await
    }

    /// The result posted for a job, if any.
    pub async fn result_of(&self, job: JobId) -> Result<Option<Logged<Model::ResultPosted>>> {
        let filter = self
            .filter::<Model::ResultPosted>(Contract::Model)
            .topic1(job.0);
        self.first_event(Contract::Model, filter).await
    }
}
