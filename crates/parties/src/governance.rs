//! Governance: admitting a TEE after verifying its evidence.
//!
//! A TEE never declares itself. It submits PK_T and its attestation evidence
//! (`Registration.submitTee`); an admin then runs [`verify_admission`] (through
//! [`Governance::admit`]) and, only if every check passes, sends `Registration.admitTee` with
//! the measurement **taken from the verified evidence**:
//!
//! 1. PK_T is the TEE account's key, and the evidence is exactly what the TEE submitted
//!    (its keccak256 is on chain);
//! 2. the evidence's trust anchors are this deployment on this chain, and — unless governance
//!    accepts unsigned headers — the sealers the enclave trusts are this chain's sealers, so the
//!    enclave cannot be pointed at a chain of the host's making;
//! 3. hardware evidence (SGX DCAP, TDX): the quote verifies against the collateral at `now`
//!    under the TCB policy (`medshare-attestation`), and its report data is
//!    `report_data(PK_T, anchors)`; the measurement is MRENCLAVE (SGX) or the TD's
//!    (TDX) from the verified quote;
//! 4. simulated evidence: accepted only where governance enabled simulation on this deployment;
//!    the measurement is the SHA-256 of the enclave program the TEE claims to run (which
//!    governance allowlists only for a program it built or checked itself).
//!
//! The contract then refuses the admission unless the measurement is allowlisted, simulation
//! (or unsigned headers) is enabled where used, and the evidence hash matches the submission.

use crate::{Error, Result};
use alloy_primitives::{Address, B256, keccak256};
use medshare_attestation::{Collateral, Policy, QuoteKind, verify_quote};
use medshare_chain::{ContractClient, EvidenceKind};
use medshare_crypto::{address_of, public_key_from_bytes};
use medshare_enclave_api::Evidence;

/// What governance expects of a TEE's evidence on this deployment.
pub struct Expectations<'a> {
    /// The sealers (validator set) of the chain, as governance knows them.
    pub sealers: &'a [Address],
    /// Whether this deployment accepts simulated evidence.
    pub accept_simulated: bool,
    /// Whether this deployment accepts enclaves whose view rests on unsigned headers.
    pub accept_unverified_headers: bool,
    /// Collateral for hardware quotes (from Intel PCS or a PCCS).
    pub collateral: Option<&'a Collateral>,
    /// The verifier's clock (unix seconds), for collateral validity.
    pub now: u64,
    /// Which TCB statuses are accepted.
    pub tcb_policy: &'a Policy,
}

/// A verified admission, ready for `Registration.admitTee`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Admission {
    /// The TEE.
    pub tee: Address,
    /// keccak256 of the evidence it submitted.
    pub evidence_hash: B256,
    /// The measurement the verified evidence attests.
    pub measurement: B256,
    /// What produced the evidence.
    pub kind: EvidenceKind,
    /// The enclave's view rests on unsigned headers.
    pub unverified_headers: bool,
    /// The platform's TCB status (hardware evidence).
    pub tcb_status: Option<String>,
    /// Intel advisories that apply to the platform (hardware evidence).
    pub advisory_ids: Vec<String>,
}

fn refuse(tee: Address, why: impl Into<String>) -> Error {
    Error::AdmissionRefused {
        tee,
        reason: why.into(),
    }
}

/// Verifies a TEE's submission for admission to `chain_id`'s deployment `deployment` (see the
/// module doc). `public_key` and `evidence` are what the TEE submitted; `submitted_hash` is the
/// evidence hash Registration recorded for it.
#[allow(clippy::too_many_arguments)]
pub fn verify_admission(
    tee: Address,
    public_key: &[u8],
    evidence: &[u8],
    submitted_hash: B256,
    chain_id: u64,
    deployment: &medshare_chain::Deployment,
    expect: &Expectations<'_>,
) -> Result<Admission> {
    let key = public_key_from_bytes(public_key).map_err(|_| {
        refuse(
            tee,
            "its registered public key is not a valid secp256k1 key",
        )
    })?;
    if address_of(&key) != tee {
        return Err(refuse(
            tee,
            "its registered public key is not its account's",
        ));
    }
    if keccak256(evidence) != submitted_hash {
        return Err(refuse(tee, "the evidence is not the one it submitted"));
    }
    let evidence = Evidence::decode(evidence).map_err(|e| refuse(tee, e.to_string()))?;
    let anchors = &evidence.anchors;
    anchors
        .validate()
        .map_err(|e| refuse(tee, format!("its trust anchors are unusable: {e}")))?;
    if anchors.chainId != chain_id {
        return Err(refuse(
            tee,
            format!(
                "its enclave serves chain id {}, not this chain ({chain_id})",
                anchors.chainId
            ),
        ));
    }
    if anchors.deployment() != *deployment {
        return Err(refuse(
            tee,
            format!(
                "its enclave serves the deployment at Registration {}, not this one ({})",
                anchors.registration, deployment.registration
            ),
        ));
    }
    let unverified_headers = !anchors.headersVerified;
    if unverified_headers {
        if !expect.accept_unverified_headers {
            return Err(refuse(
                tee,
                "its enclave does not verify block headers, and this deployment does not accept that",
            ));
        }
    } else {
        let mut theirs = anchors.sealers.clone();
        let mut ours = expect.sealers.to_vec();
        theirs.sort();
        theirs.dedup();
        ours.sort();
        ours.dedup();
        if theirs != ours {
            return Err(refuse(
                tee,
                format!(
                    "its enclave trusts sealers {theirs:?}, but this chain's are {ours:?}: it could be fed a chain of the host's making"
                ),
            ));
        }
    }
    let expected_report = evidence.expected_report_data(public_key);
    let (measurement, tcb_status, advisory_ids) = match evidence.kind {
        EvidenceKind::Simulated => {
            if !expect.accept_simulated {
                return Err(refuse(
                    tee,
                    "its evidence is simulated (no TEE hardware), and this deployment does not accept simulation",
                ));
            }
            if !evidence.quote.is_empty() {
                return Err(refuse(tee, "simulated evidence carries a quote"));
            }
            (evidence.measurement, None, Vec::new())
        }
        EvidenceKind::SgxDcap | EvidenceKind::Tdx => {
            let collateral = expect.collateral.ok_or_else(|| {
                refuse(
                    tee,
                    "its evidence is a hardware quote: give the quote's collateral (from Intel PCS or a PCCS) to verify it",
                )
            })?;
            let verified = verify_quote(&evidence.quote, collateral, expect.now, expect.tcb_policy)
                .map_err(|e| refuse(tee, format!("its quote does not verify: {e}")))?;
            let kind_ok = matches!(
                (evidence.kind, verified.kind),
                (EvidenceKind::SgxDcap, QuoteKind::Sgx) | (EvidenceKind::Tdx, QuoteKind::Tdx)
            );
            if !kind_ok {
                return Err(refuse(
                    tee,
                    "the quote is not of the kind the evidence says",
                ));
            }
            if verified.report_data.0 != expected_report {
                return Err(refuse(
                    tee,
                    "the quote's report data does not bind its PK_T and trust anchors",
                ));
            }
            (
                verified.measurement,
                Some(verified.tcb_status.as_str().to_owned()),
                verified.advisory_ids.clone(),
            )
        }
    };
    Ok(Admission {
        tee,
        evidence_hash: submitted_hash,
        measurement,
        kind: evidence.kind,
        unverified_headers,
        tcb_status,
        advisory_ids,
    })
}

/// An admin's handle for admitting TEEs.
pub struct Governance {
    chain: ContractClient,
}

impl Governance {
    /// Governance acting through `chain` (an admin's account).
    pub fn new(chain: ContractClient) -> Self {
        Self { chain }
    }

    /// Reads `tee`'s submission from the chain, verifies it ([`verify_admission`]; the chain's
    /// simulation and unsigned-header settings are read from Registration), and admits it.
    pub async fn admit(
        &self,
        tee: Address,
        sealers: &[Address],
        collateral: Option<&Collateral>,
        now: u64,
        tcb_policy: &Policy,
    ) -> Result<Admission> {
        let info = self.chain.tee_info(tee).await?;
        if info.admitted {
            return Err(refuse(tee, "it was admitted already"));
        }
        let evidence = self.chain.tee_evidence(tee).await?.ok_or_else(|| {
            refuse(
                tee,
                "it never submitted evidence (`medshare enclave register` submits it)",
            )
        })?;
        let public_key = self.chain.public_key_of(tee).await?;
        let expect = Expectations {
            sealers,
            accept_simulated: self.chain.accept_simulated().await?,
            accept_unverified_headers: self.chain.accept_unverified_headers().await?,
            collateral,
            now,
            tcb_policy,
        };
        let admission = verify_admission(
            tee,
            &public_key,
            &evidence,
            info.evidence_hash,
            self.chain.chain_id(),
            self.chain.deployment(),
            &expect,
        )?;
        self.chain
            .admit_tee(
                tee,
                admission.evidence_hash,
                admission.measurement,
                admission.kind,
                admission.unverified_headers,
            )
            .await?;
        Ok(admission)
    }
}
