//! Registration: who is who (users, demanders, reviewers, admins) and which TEEs governance
//! admitted, with which measurement and evidence kind.

use crate::{ContractClient, Error, Logged, Result};
use alloy_primitives::{Address, B256, B512, Bytes};
use medshare_contracts::{Contract, EvidenceKind, Registration};
use medshare_ledger::TransactionReceipt;
use medshare_primitives::Role;

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

impl ContractClient {
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
            .first_event::<Registration::TeeSubmitted>(Contract::Registration, filter)
            .await?
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
}
