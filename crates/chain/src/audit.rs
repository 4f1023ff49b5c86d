//! Audit: the TEE's entry for every consented record a job touched, and the listings a patient
//! (by owner) or anyone (by job) reads them with.

use crate::{ContractClient, Logged, Result, ViewBlock};
use alloy_primitives::Address;
use medshare_contracts::{Audit, Contract};
use medshare_ledger::TransactionReceipt;
use medshare_primitives::JobId;

impl ContractClient {
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
}
