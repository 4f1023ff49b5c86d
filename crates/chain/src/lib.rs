//! A typed client of medshare's five contracts, for one party, over any [`Ledger`].
//!
//! # What this crate owns
//!
//! [`Medshare`] joins a party's [`Wallet`] to one [`Deployment`] of Registration, Data, Model,
//! Authorization and Audit (paper §5.1(3)) and offers one method per contract function:
//! it encodes the call, sends it (or `eth_call`s a view), and turns a revert into
//! [`Error::Reverted`] carrying the contract's named custom error, e.g. `NotRecordOwner`.
//! [`Medshare::deploy`] deploys the five contracts in order with one batch; event queries list
//! records by owner or data type and audit entries by owner or job, from logs, so nothing on chain
//! loops over unbounded state.
//!
//! ```text
//!   party (user, demander, reviewer, TEE host)
//!        │  Medshare::grant(&record, job, pad)
//!        ▼
//!   medshare-chain ── ABI encode (medshare-contracts) ──▶ Wallet (medshare-ledger) ──▶ Ledger
//! ```
//!
//! # What it does not do
//!
//! It signs only transactions (through the wallet); EIP-712 signatures over records, consents,
//! models and results are made by `medshare-crypto` and passed in. It never sees plaintext
//! records or data keys: everything it moves is already public on the ledger.

#![forbid(unsafe_code)]

mod error;
mod record;

pub use error::Error;
pub use medshare_contracts::{
    Audit, Authorization, Contract, Data, Deployment, EvidenceKind, JobStatus, Model, Registration,
    UseOutcome,
};
pub use medshare_ledger::wallet::{Call, Wallet};
pub use record::{to_authorization_record, to_data_record};

use alloy_primitives::{Address, B256, B512, Bytes, U256};
use alloy_sol_types::{SolCall, SolEvent};
use medshare_crypto::eip712::{ModelSubmission, Record, Signature, job_id, record_commitment};
use medshare_ledger::{Filter, Ledger, TransactionReceipt};
use medshare_primitives::{JobId, Role};
use std::path::Path;

/// Result alias for this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// The name of a contract, for messages.
const fn name(contract: Contract) -> &'static str {
    match contract {
        Contract::Registration => "Registration",
        Contract::Data => "Data",
        Contract::Model => "Model",
        Contract::Authorization => "Authorization",
        Contract::Audit => "Audit",
    }
}

/// The function name of a call type (`registerRecords` of `registerRecords((…)[],bytes[])`).
fn function<C: SolCall>() -> &'static str {
    C::SIGNATURE.split('(').next().unwrap_or(C::SIGNATURE)
}

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

/// A TEE's registration as Registration keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeeInfo {
    /// The measurement governance admitted it with (zero before admission).
    pub measurement: B256,
    /// What produced its evidence (meaningful once admitted).
    pub evidence_kind: EvidenceKind,
    /// Governance admitted it.
    pub admitted: bool,
    /// Not revoked.
    pub unrevoked: bool,
    /// Its view of the chain rests on unsigned headers.
    pub unverified_headers: bool,
    /// keccak256 of the evidence it submitted.
    pub evidence_hash: B256,
}

/// An event read from the chain, with where it was logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged<E> {
    /// The decoded event.
    pub event: E,
    /// The block it is in.
    pub block_number: Option<u64>,
    /// The transaction that emitted it.
    pub transaction_hash: Option<B256>,
}

/// One party's handle on one medshare deployment.
#[derive(Clone, Debug)]
pub struct Medshare {
    wallet: Wallet,
    deployment: Deployment,
}

impl Medshare {
    /// Deploys the five contracts from `wallet` (which becomes Registration's first admin) in
    /// the order Registration → Data → Model → Authorization → Audit, all in one batch.
    pub async fn deploy(wallet: Wallet) -> Result<Self> {
        let nonce = wallet.ledger().pending_nonce(wallet.address()).await?;
        let deployment = Deployment::predict(wallet.address(), nonce);
        let calls = Contract::DEPLOY_ORDER
            .iter()
            .map(|&c| Call::create(deployment.creation_code(c)))
            .collect();
        let receipts = wallet.send_many(calls).await?;
        for (&contract, receipt) in Contract::DEPLOY_ORDER.iter().zip(&receipts) {
            let expected = deployment.address(contract);
            let actual = receipt.contract_address.unwrap_or_default();
            if actual != expected {
                return Err(Error::DeployedElsewhere {
                    contract: name(contract),
                    expected,
                    actual,
                });
            }
        }
        Ok(Self { wallet, deployment })
    }

    /// Attaches to an existing deployment, checking that each address holds exactly the code
    /// the checked-in contract sources compile to for this deployment on this chain (immutables
    /// included), so a wrong deployment file or a look-alike contract is refused before it is
    /// asked anything.
    pub async fn attach(wallet: Wallet, deployment: Deployment) -> Result<Self> {
        let chain_id = wallet.chain_id();
        for contract in Contract::DEPLOY_ORDER {
            let address = deployment.address(contract);
            let code = wallet.ledger().code(address).await?;
            if code.is_empty() {
                return Err(Error::NotDeployed {
                    contract: name(contract),
                    address,
                });
            }
            let expected = medshare_contracts::expected_runtime(contract, &deployment, chain_id)
                .map_err(|e| Error::Invalid(e.to_string()))?;
            if code != expected {
                return Err(Error::UnexpectedCode {
                    contract: name(contract),
                    address,
                });
            }
        }
        Ok(Self { wallet, deployment })
    }

    /// The same deployment, used by another party.
    pub fn as_party(&self, wallet: Wallet) -> Self {
        Self {
            wallet,
            deployment: self.deployment,
        }
    }

    /// The contracts' addresses.
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// This party's wallet.
    pub fn wallet(&self) -> &Wallet {
        &self.wallet
    }

    /// This party's address.
    pub fn address(&self) -> Address {
        self.wallet.address()
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.wallet.chain_id()
    }

    /// The ledger.
    pub fn ledger(&self) -> &std::sync::Arc<dyn Ledger> {
        self.wallet.ledger()
    }

    /// Encodes a call of `contract` for [`Medshare::send_many`].
    pub fn call<C: SolCall>(&self, contract: Contract, call: &C) -> Call {
        Call::new(self.deployment.address(contract), call.abi_encode())
    }

    /// Sends several encoded calls in one batch (one block on the embedded chain). A revert of
    /// any refuses the whole batch before anything is sent.
    pub async fn send_many(&self, calls: Vec<Call>) -> Result<Vec<TransactionReceipt>> {
        let to: Vec<Address> = calls.iter().filter_map(|c| c.to.to().copied()).collect();
        self.wallet
            .send_many(calls)
            .await
            .map_err(|e| self.revert_of_batch(&to, e))
    }

    fn revert_of_batch(&self, to: &[Address], e: medshare_ledger::Error) -> Error {
        let contract = Contract::DEPLOY_ORDER
            .into_iter()
            .find(|&c| to.first() == Some(&self.deployment.address(c)))
            .map_or("(batch)", name);
        revert(contract, "(batch)", e)
    }

    async fn send<C: SolCall>(&self, contract: Contract, call: C) -> Result<TransactionReceipt> {
        self.wallet
            .send(self.call(contract, &call))
            .await
            .map_err(|e| revert(name(contract), function::<C>(), e))
    }

    async fn view<C: SolCall>(&self, contract: Contract, call: C) -> Result<C::Return> {
        let out = self
            .wallet
            .call(self.deployment.address(contract), call.abi_encode())
            .await
            .map_err(|e| revert(name(contract), function::<C>(), e))?;
        C::abi_decode_returns(&out).map_err(|e| Error::Decode {
            contract: name(contract),
            function: function::<C>(),
            reason: e.to_string(),
        })
    }

    // ------------------------------------------------------------------ Registration

    /// Registers the caller as a user or demander with its 64-byte public key (the key must
    /// hash to the caller's address).
    pub async fn register(&self, role: Role, public_key: B512) -> Result<TransactionReceipt> {
        let call = Registration::registerCall {
            role: role as u8,
            publicKey: public_key.into(),
        };
        self.send(Contract::Registration, call).await
    }

    /// Submits the caller as a TEE with its public key and attestation evidence (inactive until
    /// governance admits it).
    pub async fn submit_tee(
        &self,
        public_key: B512,
        evidence: Bytes,
    ) -> Result<TransactionReceipt> {
        let call = Registration::submitTeeCall {
            publicKey: public_key.into(),
            evidence,
        };
        self.send(Contract::Registration, call).await
    }

    /// Admits a TEE whose evidence governance verified (admins only): the measurement, kind and
    /// header mode are what the verified evidence attests.
    pub async fn admit_tee(
        &self,
        tee: Address,
        evidence_hash: B256,
        measurement: B256,
        kind: EvidenceKind,
        unverified_headers: bool,
    ) -> Result<TransactionReceipt> {
        let call = Registration::admitTeeCall {
            tee,
            evidenceHash: evidence_hash,
            measurement,
            evidenceKind: kind as u8,
            unverifiedHeaders: unverified_headers,
        };
        self.send(Contract::Registration, call).await
    }

    /// Accepts or refuses TEEs whose view of the chain rests on unsigned headers (admins only).
    pub async fn set_accept_unverified_headers(
        &self,
        accepted: bool,
    ) -> Result<TransactionReceipt> {
        self.send(
            Contract::Registration,
            Registration::setAcceptUnverifiedHeadersCall { accepted },
        )
        .await
    }

    /// A TEE's registration.
    pub async fn tee_info(&self, tee: Address) -> Result<TeeInfo> {
        let r = self
            .view(Contract::Registration, Registration::teeInfoCall { tee })
            .await?;
        Ok(TeeInfo {
            measurement: r.measurement,
            evidence_kind: EvidenceKind::try_from(r.evidenceKind)
                .map_err(|e| Error::Invalid(e.to_string()))?,
            admitted: r.admitted,
            unrevoked: r.unrevoked,
            unverified_headers: r.unverifiedHeaders,
            evidence_hash: r.evidenceHash,
        })
    }

    /// The evidence a TEE submitted (from its `TeeSubmitted` event), if it submitted any.
    pub async fn tee_evidence(&self, tee: Address) -> Result<Option<Bytes>> {
        let filter = self
            .filter::<Registration::TeeSubmitted>(Contract::Registration)
            .topic1(tee.into_word());
        Ok(self
            .events::<Registration::TeeSubmitted>(Contract::Registration, filter)
            .await?
            .into_iter()
            .next()
            .map(|l| l.event.evidence))
    }

    /// Every TEE submission, oldest first (address and evidence hash).
    pub async fn tee_submissions(&self) -> Result<Vec<Logged<Registration::TeeSubmitted>>> {
        let filter = self.filter::<Registration::TeeSubmitted>(Contract::Registration);
        self.events(Contract::Registration, filter).await
    }

    /// Adds an admin (admins only).
    pub async fn add_admin(&self, account: Address) -> Result<TransactionReceipt> {
        self.send(
            Contract::Registration,
            Registration::addAdminCall { account },
        )
        .await
    }

    /// Removes an admin (admins only; never the last).
    pub async fn remove_admin(&self, account: Address) -> Result<TransactionReceipt> {
        self.send(
            Contract::Registration,
            Registration::removeAdminCall { account },
        )
        .await
    }

    /// Appoints the holder of `public_key` as a reviewer (admins only).
    pub async fn appoint_reviewer(&self, public_key: B512) -> Result<TransactionReceipt> {
        let call = Registration::appointReviewerCall {
            publicKey: public_key.into(),
        };
        self.send(Contract::Registration, call).await
    }

    /// Removes a reviewer (admins only).
    pub async fn remove_reviewer(&self, reviewer: Address) -> Result<TransactionReceipt> {
        self.send(
            Contract::Registration,
            Registration::removeReviewerCall { reviewer },
        )
        .await
    }

    /// Revokes a TEE (admins only).
    pub async fn revoke_tee(&self, tee: Address) -> Result<TransactionReceipt> {
        self.send(Contract::Registration, Registration::revokeTeeCall { tee })
            .await
    }

    /// Allows or disallows an enclave measurement (admins only).
    pub async fn set_measurement_allowed(
        &self,
        measurement: B256,
        allowed: bool,
    ) -> Result<TransactionReceipt> {
        let call = Registration::setMeasurementAllowedCall {
            measurement,
            allowed,
        };
        self.send(Contract::Registration, call).await
    }

    /// Accepts or refuses simulated attestation evidence (admins only).
    pub async fn set_accept_simulated(&self, accepted: bool) -> Result<TransactionReceipt> {
        self.send(
            Contract::Registration,
            Registration::setAcceptSimulatedCall { accepted },
        )
        .await
    }

    /// The role `account` registered with, `None` if it did not.
    pub async fn role_of(&self, account: Address) -> Result<Option<Role>> {
        let role = self
            .view(Contract::Registration, Registration::roleOfCall { account })
            .await?;
        if role == 0 {
            return Ok(None);
        }
        Role::from_u8(role)
            .map(Some)
            .map_err(|e| Error::Invalid(e.to_string()))
    }

    /// The 64-byte public key `account` registered (empty if none).
    pub async fn public_key_of(&self, account: Address) -> Result<Bytes> {
        self.view(
            Contract::Registration,
            Registration::publicKeyOfCall { account },
        )
        .await
    }

    /// True if `account` is a current reviewer.
    pub async fn is_reviewer(&self, account: Address) -> Result<bool> {
        self.view(
            Contract::Registration,
            Registration::isReviewerCall { account },
        )
        .await
    }

    /// True if `account` is a TEE whose measurement is allowed, whose evidence kind is accepted
    /// and which is not revoked.
    pub async fn is_active_tee(&self, account: Address) -> Result<bool> {
        self.view(
            Contract::Registration,
            Registration::isActiveTeeCall { account },
        )
        .await
    }

    /// True if governance allowlists `measurement`.
    pub async fn is_measurement_allowed(&self, measurement: B256) -> Result<bool> {
        self.view(
            Contract::Registration,
            Registration::isMeasurementAllowedCall { measurement },
        )
        .await
    }

    /// True if this deployment accepts simulated attestation evidence.
    pub async fn accept_simulated(&self) -> Result<bool> {
        self.view(Contract::Registration, Registration::acceptSimulatedCall {})
            .await
    }

    /// True if this deployment accepts TEEs whose view rests on unsigned headers.
    pub async fn accept_unverified_headers(&self) -> Result<bool> {
        self.view(
            Contract::Registration,
            Registration::acceptUnverifiedHeadersCall {},
        )
        .await
    }

    /// True if `account` is an admin.
    pub async fn is_admin(&self, account: Address) -> Result<bool> {
        self.view(
            Contract::Registration,
            Registration::isAdminCall { account },
        )
        .await
    }

    // ------------------------------------------------------------------ Data

    /// Registers a batch of the caller's records of one data type by hash: each record's
    /// ciphertext hash and its commitment hashStruct(TD_i). The records themselves (with the
    /// owner's signatures US_i) go to off-chain storage with the ciphertexts.
    pub async fn register_records(
        &self,
        data_type: B256,
        records: &[Record],
    ) -> Result<TransactionReceipt> {
        self.send(
            Contract::Data,
            Self::register_records_call(data_type, records),
        )
        .await
    }

    /// The `registerRecords` call for a batch, for [`Medshare::send_many`].
    pub fn register_records_call(data_type: B256, records: &[Record]) -> Data::registerRecordsCall {
        Data::registerRecordsCall {
            dataType: data_type,
            ciphertextHashes: records.iter().map(|r| r.ciphertextHash).collect(),
            commitments: records.iter().map(record_commitment).collect(),
        }
    }

    /// Replaces a live record of the caller by a new version (the owner only; the new version
    /// keeps the data type).
    pub async fn update_record(&self, old: &Record, new: &Record) -> Result<TransactionReceipt> {
        let call = Data::updateRecordCall {
            oldRecord: to_data_record(old),
            newCiphertextHash: new.ciphertextHash,
            newCommitment: record_commitment(new),
        };
        self.send(Contract::Data, call).await
    }

    /// Deletes a live record (the owner only).
    pub async fn delete_record(&self, record: &Record) -> Result<TransactionReceipt> {
        let call = Data::deleteRecordCall {
            rec: to_data_record(record),
        };
        self.send(Contract::Data, call).await
    }

    /// The commitment hashStruct(TD_i) stored for a ciphertext hash (zero if none or deleted).
    pub async fn commitment_of(&self, ciphertext_hash: B256) -> Result<B256> {
        self.view(
            Contract::Data,
            Data::commitmentOfCall {
                ciphertextHash: ciphertext_hash,
            },
        )
        .await
    }

    /// True if the record with this ciphertext hash was deleted.
    pub async fn is_deleted(&self, ciphertext_hash: B256) -> Result<bool> {
        self.view(
            Contract::Data,
            Data::isDeletedCall {
                ciphertextHash: ciphertext_hash,
            },
        )
        .await
    }

    /// True if `record` is live in Data exactly as given.
    pub async fn verify_record(&self, record: &Record) -> Result<bool> {
        let call = Data::verifyRecordCall {
            rec: to_data_record(record),
        };
        self.view(Contract::Data, call).await
    }

    /// Every record registered by `owner` (including later updated or deleted versions; check
    /// [`Medshare::verify_record`]).
    pub async fn records_of_owner(
        &self,
        owner: Address,
    ) -> Result<Vec<Logged<Data::RecordRegistered>>> {
        let filter = self
            .filter::<Data::RecordRegistered>(Contract::Data)
            .topic1(owner.into_word());
        self.events(Contract::Data, filter).await
    }

    /// Every record registered with data type `data_type`.
    pub async fn records_of_type(
        &self,
        data_type: B256,
    ) -> Result<Vec<Logged<Data::RecordRegistered>>> {
        let filter = self
            .filter::<Data::RecordRegistered>(Contract::Data)
            .topic2(data_type);
        self.events(Contract::Data, filter).await
    }

    /// Every record `owner` registered with data type `data_type` (including later updated or
    /// deleted versions).
    pub async fn records_of_owner_and_type(
        &self,
        owner: Address,
        data_type: B256,
    ) -> Result<Vec<Logged<Data::RecordRegistered>>> {
        let filter = self
            .filter::<Data::RecordRegistered>(Contract::Data)
            .topic1(owner.into_word())
            .topic2(data_type);
        self.events(Contract::Data, filter).await
    }

    // ------------------------------------------------------------------ Model

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

    /// The `submitModel` call, for [`Medshare::send_many`].
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

    /// Debits the job's ε from the budgets of records it used, as batch `batch` (active TEEs
    /// only; job Deployed).
    pub async fn debit_budgets(
        &self,
        job: JobId,
        batch: u32,
        view: ViewBlock,
        ciphertext_hashes: Vec<B256>,
    ) -> Result<TransactionReceipt> {
        let call = Model::debitBudgetsCall {
            jobId: job.0,
            batch,
            viewBlock: view.number,
            viewHash: view.hash,
            ciphertextHashes: ciphertext_hashes,
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
        Ok(self
            .events(Contract::Model, filter)
            .await?
            .into_iter()
            .next())
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
        Ok(self
            .events(Contract::Model, filter)
            .await?
            .into_iter()
            .next())
    }

    // ------------------------------------------------------------------ Authorization

    /// Grants `job` the use of the caller's `record`, releases its pad r_C·PK_C and sets its
    /// privacy budget (total ε in thousandths; 0 keeps the current one).
    pub async fn grant(
        &self,
        record: &Record,
        job: JobId,
        pad: Bytes,
        budget_milli: u32,
    ) -> Result<TransactionReceipt> {
        self.send(
            Contract::Authorization,
            Self::grant_call(record, job, pad, budget_milli),
        )
        .await
    }

    /// The `grant` call, for [`Medshare::send_many`].
    pub fn grant_call(
        record: &Record,
        job: JobId,
        pad: Bytes,
        budget_milli: u32,
    ) -> Authorization::grantCall {
        Authorization::grantCall {
            rec: to_authorization_record(record),
            jobId: job.0,
            rCPkC: pad,
            budgetMilli: budget_milli,
        }
    }

    /// Sets a record's privacy budget (its owner only; not below what jobs spent).
    pub async fn set_budget(
        &self,
        record: &Record,
        budget_milli: u32,
    ) -> Result<TransactionReceipt> {
        let call = Authorization::setBudgetCall {
            rec: to_authorization_record(record),
            budgetMilli: budget_milli,
        };
        self.send(Contract::Authorization, call).await
    }

    /// A record's privacy budget: (total, spent), in thousandths of ε.
    pub async fn budget_of(&self, ciphertext_hash: B256) -> Result<(u32, u32)> {
        let r = self
            .view(
                Contract::Authorization,
                Authorization::budgetOfCall {
                    ciphertextHash: ciphertext_hash,
                },
            )
            .await?;
        Ok((r.totalMilli, r.spentMilli))
    }

    /// Relays an owner's signed Consent (anyone may send it; it is valid once).
    pub async fn grant_with_signature(
        &self,
        record: &Record,
        job: JobId,
        pad: Bytes,
        budget_milli: u32,
        deadline: U256,
        signature: &Signature,
    ) -> Result<TransactionReceipt> {
        let call = Authorization::grantWithSignatureCall {
            rec: to_authorization_record(record),
            jobId: job.0,
            rCPkC: pad,
            budgetMilli: budget_milli,
            deadline,
            signature: signature.to_bytes(),
        };
        self.send(Contract::Authorization, call).await
    }

    /// Withdraws the caller's grant of `record` to `job`.
    pub async fn revoke(&self, record: &Record, job: JobId) -> Result<TransactionReceipt> {
        let call = Authorization::revokeCall {
            rec: to_authorization_record(record),
            jobId: job.0,
        };
        self.send(Contract::Authorization, call).await
    }

    /// Sets or clears the caller's standing policy for a data type (registered users only).
    pub async fn set_policy(
        &self,
        data_type: B256,
        any_approved_model: bool,
    ) -> Result<TransactionReceipt> {
        let call = Authorization::setPolicyCall {
            dataType: data_type,
            anyApprovedModel: any_approved_model,
        };
        self.send(Contract::Authorization, call).await
    }

    /// Releases the pads of a batch of the caller's records (for use under a policy) and sets
    /// each one's privacy budget (0 keeps the current one).
    pub async fn release_pads(
        &self,
        records: &[(Record, Bytes)],
        budget_milli: u32,
    ) -> Result<TransactionReceipt> {
        let call = Authorization::releasePadsCall {
            records: records
                .iter()
                .map(|(r, _)| to_authorization_record(r))
                .collect(),
            pads: records.iter().map(|(_, p)| p.clone()).collect(),
            budgetMilli: budget_milli,
        };
        self.send(Contract::Authorization, call).await
    }

    /// True if `job` may use `record` now (the check the enclave makes before recovering a key).
    pub async fn is_authorized(&self, record: &Record, job: JobId) -> Result<bool> {
        let call = Authorization::isAuthorizedCall {
            rec: to_authorization_record(record),
            jobId: job.0,
        };
        self.view(Contract::Authorization, call).await
    }

    /// The owner's next consent nonce.
    pub async fn consent_nonce(&self, owner: Address) -> Result<U256> {
        self.view(Contract::Authorization, Authorization::noncesCall { owner })
            .await
    }

    /// The owner's standing policy for a data type.
    pub async fn policy_of(&self, owner: Address, data_type: B256) -> Result<bool> {
        let call = Authorization::policyOfCall {
            owner,
            dataType: data_type,
        };
        self.view(Contract::Authorization, call).await
    }

    /// The released pad r_C·PK_C of a record, if its owner released it.
    pub async fn pad_of(&self, ciphertext_hash: B256) -> Result<Option<Bytes>> {
        let filter = self
            .filter::<Authorization::PadReleased>(Contract::Authorization)
            .topic1(ciphertext_hash);
        Ok(self
            .events::<Authorization::PadReleased>(Contract::Authorization, filter)
            .await?
            .into_iter()
            .next()
            .map(|l| l.event.rCPkC))
    }

    /// The released pads r_C·PK_C of the records with these ciphertext hashes (one log query).
    pub async fn pads_of(
        &self,
        ciphertext_hashes: &[B256],
    ) -> Result<std::collections::HashMap<B256, Bytes>> {
        if ciphertext_hashes.is_empty() {
            return Ok(Default::default());
        }
        let filter = self
            .filter::<Authorization::PadReleased>(Contract::Authorization)
            .topic1(ciphertext_hashes.to_vec());
        Ok(self
            .events::<Authorization::PadReleased>(Contract::Authorization, filter)
            .await?
            .into_iter()
            .map(|l| (l.event.ciphertextHash, l.event.rCPkC))
            .collect())
    }

    /// Every grant to `job` (including later revoked ones: the enclave checks the chain's
    /// current state itself).
    pub async fn grants_of_job(&self, job: JobId) -> Result<Vec<Logged<Authorization::Granted>>> {
        let filter = self
            .filter::<Authorization::Granted>(Contract::Authorization)
            .topic2(job.0);
        self.events(Contract::Authorization, filter).await
    }

    /// The owners whose latest standing policy for `data_type` allows any approved job.
    pub async fn policy_owners(&self, data_type: B256) -> Result<Vec<Address>> {
        let filter = self
            .filter::<Authorization::PolicySet>(Contract::Authorization)
            .topic2(data_type);
        let mut order = Vec::new();
        let mut latest = std::collections::HashMap::new();
        for l in self
            .events::<Authorization::PolicySet>(Contract::Authorization, filter)
            .await?
        {
            if latest
                .insert(l.event.owner, l.event.anyApprovedModel)
                .is_none()
            {
                order.push(l.event.owner);
            }
        }
        Ok(order
            .into_iter()
            .filter(|a| latest.get(a).copied().unwrap_or(false))
            .collect())
    }

    /// Every released pad r_C·PK_C, by ciphertext hash (one log query for all records).
    pub async fn released_pads(&self) -> Result<std::collections::HashMap<B256, Bytes>> {
        let filter = self.filter::<Authorization::PadReleased>(Contract::Authorization);
        Ok(self
            .events::<Authorization::PadReleased>(Contract::Authorization, filter)
            .await?
            .into_iter()
            .map(|l| (l.event.ciphertextHash, l.event.rCPkC))
            .collect())
    }

    // ------------------------------------------------------------------ Audit

    /// Records a batch of audit entries (active TEEs only), naming the block the TEE's view
    /// came from.
    pub async fn record_use(
        &self,
        view: ViewBlock,
        entries: Vec<Audit::AuditEntry>,
    ) -> Result<TransactionReceipt> {
        let call = Audit::recordUseCall {
            viewBlock: view.number,
            viewHash: view.hash,
            entries,
        };
        self.send(Contract::Audit, call).await
    }

    /// Every use of `owner`'s records.
    pub async fn audit_of_owner(
        &self,
        owner: Address,
    ) -> Result<Vec<Logged<Audit::AuditRecorded>>> {
        let filter = self
            .filter::<Audit::AuditRecorded>(Contract::Audit)
            .topic1(owner.into_word());
        self.events(Contract::Audit, filter).await
    }

    /// Every record use in `job`.
    pub async fn audit_of_job(&self, job: JobId) -> Result<Vec<Logged<Audit::AuditRecorded>>> {
        let filter = self
            .filter::<Audit::AuditRecorded>(Contract::Audit)
            .topic2(job.0);
        self.events(Contract::Audit, filter).await
    }

    // ------------------------------------------------------------------ logs

    fn filter<E: SolEvent>(&self, contract: Contract) -> Filter {
        Filter::new()
            .address(self.deployment.address(contract))
            .event_signature(E::SIGNATURE_HASH)
            .from_block(0)
    }

    async fn events<E: SolEvent>(
        &self,
        contract: Contract,
        filter: Filter,
    ) -> Result<Vec<Logged<E>>> {
        let logs = self.ledger().logs(&filter).await?;
        logs.into_iter()
            .map(|log| {
                let decoded = log.log_decode::<E>().map_err(|e| Error::Decode {
                    contract: name(contract),
                    function: E::SIGNATURE,
                    reason: e.to_string(),
                })?;
                Ok(Logged {
                    event: decoded.inner.data,
                    block_number: log.block_number,
                    transaction_hash: log.transaction_hash,
                })
            })
            .collect()
    }

    // ------------------------------------------------------------------ deployment files

    /// Writes the deployment (chain id and addresses) as JSON to `path`, atomically.
    pub fn save_deployment(&self, path: &Path) -> Result<()> {
        let file = DeploymentFile {
            chain_id: self.chain_id(),
            contracts: self.deployment,
        };
        let io = |e: std::io::Error| Error::DeploymentFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let json = serde_json::to_vec_pretty(&file).map_err(|e| Error::DeploymentFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Reads a deployment file written by [`Medshare::save_deployment`] and attaches to it,
    /// refusing a file made for another chain.
    pub async fn load_deployment(wallet: Wallet, path: &Path) -> Result<Self> {
        let (chain_id, contracts) = read_deployment(path)?;
        if chain_id != wallet.chain_id() {
            return Err(Error::DeploymentFile {
                path: path.display().to_string(),
                reason: format!(
                    "made for chain id {chain_id}, but the node is chain id {}",
                    wallet.chain_id()
                ),
            });
        }
        Self::attach(wallet, contracts).await
    }
}

/// Reads a deployment file written by [`Medshare::save_deployment`]: its chain id and the
/// contracts' addresses (nothing is checked against a chain).
pub fn read_deployment(path: &Path) -> Result<(u64, Deployment)> {
    let bad = |reason: String| Error::DeploymentFile {
        path: path.display().to_string(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let file: DeploymentFile = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    Ok((file.chain_id, file.contracts))
}

/// The on-disk form of a deployment.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DeploymentFile {
    chain_id: u64,
    contracts: Deployment,
}

/// Turns a ledger error into a named contract error when it is a revert.
fn revert(contract: &'static str, function: &'static str, e: medshare_ledger::Error) -> Error {
    match e {
        medshare_ledger::Error::Reverted { data } => Error::Reverted {
            contract,
            function,
            name: medshare_contracts::revert_name(&data),
            reason: medshare_contracts::decode_revert(&data).unwrap_or_else(|| {
                if data.is_empty() {
                    "reverted without data".to_owned()
                } else {
                    format!("unknown revert data {data}")
                }
            }),
            data,
        },
        other => Error::Ledger(other),
    }
}
