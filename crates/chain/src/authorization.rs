//! Authorization: consent (grants per job, signed consents relayed by anyone, standing policies),
//! the released pads r_C·PK_C, and each record's privacy budget.

use crate::{ContractClient, Logged, Result, to_authorization_record};
use alloy_primitives::{Address, B256, Bytes, U256};
use medshare_contracts::{Authorization, Contract};
use medshare_crypto::eip712::{Record, Signature};
use medshare_ledger::TransactionReceipt;
use medshare_primitives::JobId;
use std::collections::HashMap;

impl ContractClient {
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

    /// The `grant` call, for [`ContractClient::send_many`].
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

    /// Grants `job` the use of a batch of the caller's records in one transaction (all or
    /// none), releasing each pad and setting each budget (0 keeps the current one).
    pub async fn grant_many(
        &self,
        records: &[(Record, Bytes)],
        job: JobId,
        budget_milli: u32,
    ) -> Result<TransactionReceipt> {
        let call = Authorization::grantManyCall {
            records: records
                .iter()
                .map(|(r, _)| to_authorization_record(r))
                .collect(),
            jobId: job.0,
            pads: records.iter().map(|(_, p)| p.clone()).collect(),
            budgetMilli: budget_milli,
        };
        self.send(Contract::Authorization, call).await
    }

    /// Consents to `job` using the `count` record versions whose Merkle tree has this `root`
    /// ([`medshare_contracts::consent::ConsentTree`]), listed with their pads in the stored
    /// object whose SHA-256 is `list_hash`; each without a budget of its own gets
    /// `budget_milli`. One transaction whatever the count.
    pub async fn grant_batch(
        &self,
        job: JobId,
        root: B256,
        count: u32,
        budget_milli: u32,
        list_hash: B256,
    ) -> Result<TransactionReceipt> {
        let call = Authorization::grantBatchCall {
            jobId: job.0,
            root,
            count,
            budgetMilli: budget_milli,
            listHash: list_hash,
        };
        self.send(Contract::Authorization, call).await
    }

    /// Withdraws the caller's bulk consent `root` to `job` as a whole.
    pub async fn revoke_batch(&self, job: JobId, root: B256) -> Result<TransactionReceipt> {
        let call = Authorization::revokeBatchCall { jobId: job.0, root };
        self.send(Contract::Authorization, call).await
    }

    /// Withdraws one record version from the caller's bulk consent `root` to `job` (`proof`:
    /// its Merkle path).
    pub async fn revoke_from_batch(
        &self,
        record: &Record,
        job: JobId,
        root: B256,
        proof: Vec<B256>,
    ) -> Result<TransactionReceipt> {
        let call = Authorization::revokeFromBatchCall {
            rec: to_authorization_record(record),
            jobId: job.0,
            root,
            proof,
        };
        self.send(Contract::Authorization, call).await
    }

    /// Whether `owner`'s bulk consent `root` to `job` is live.
    pub async fn batch_grant_live(&self, owner: Address, job: JobId, root: B256) -> Result<bool> {
        let call = Authorization::batchGrantOfCall {
            owner,
            jobId: job.0,
            root,
        };
        Ok(self.view(Contract::Authorization, call).await?.live)
    }

    /// Whether the record version `commitment` was withdrawn from `owner`'s bulk consent.
    pub async fn is_revoked_from_batch(
        &self,
        owner: Address,
        job: JobId,
        root: B256,
        commitment: B256,
    ) -> Result<bool> {
        let call = Authorization::isRevokedFromBatchCall {
            owner,
            jobId: job.0,
            root,
            commitment,
        };
        self.view(Contract::Authorization, call).await
    }

    /// Every bulk consent to `job` (of `owner` only, if given), revoked ones included.
    pub async fn batch_grants_of_job(
        &self,
        job: JobId,
        owner: Option<Address>,
    ) -> Result<Vec<Logged<Authorization::BatchGranted>>> {
        let mut filter = self
            .filter::<Authorization::BatchGranted>(Contract::Authorization)
            .topic2(job.0);
        if let Some(owner) = owner {
            filter = filter.topic1(owner.into_word());
        }
        self.events(Contract::Authorization, filter).await
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

    /// True if `record` (this version) is granted to `job`, whatever the job's status.
    pub async fn is_granted(&self, record: &Record, job: JobId) -> Result<bool> {
        let call = Authorization::isGrantedCall {
            commitment: medshare_crypto::eip712::record_commitment(record),
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
            .first_event::<Authorization::PadReleased>(Contract::Authorization, filter)
            .await?
            .map(|l| l.event.rCPkC))
    }

    /// The released pads r_C·PK_C of the records with these ciphertext hashes (one log query).
    pub async fn pads_of(&self, ciphertext_hashes: &[B256]) -> Result<HashMap<B256, Bytes>> {
        if ciphertext_hashes.is_empty() {
            return Ok(Default::default());
        }
        let filter = self
            .filter::<Authorization::PadReleased>(Contract::Authorization)
            .topic1(ciphertext_hashes.to_vec());
        self.pads(filter).await
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
        let mut latest = HashMap::new();
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
    pub async fn released_pads(&self) -> Result<HashMap<B256, Bytes>> {
        let filter = self.filter::<Authorization::PadReleased>(Contract::Authorization);
        self.pads(filter).await
    }

    /// The pads of the `PadReleased` events `filter` selects, by ciphertext hash.
    async fn pads(&self, filter: medshare_ledger::Filter) -> Result<HashMap<B256, Bytes>> {
        Ok(self
            .events::<Authorization::PadReleased>(Contract::Authorization, filter)
            .await?
            .into_iter()
            .map(|l| (l.event.ciphertextHash, l.event.rCPkC))
            .collect())
    }
}
