//! The enclave's trust anchors and its attestation evidence.
//!
//! An enclave's **trust anchors** are what it believes without proof: the chain it serves (chain
//! id), the medshare deployment on it (the five contract addresses), how it authenticates block
//! headers (the set of sealers whose signature makes a header genuine — or, only where governance
//! explicitly accepts it, no authentication at all), and the most it will pay for gas. They are
//! fixed when the enclave creates its key, sealed with the key, and bound into the **report
//! data** of its attestation evidence, so governance sees them when it verifies the evidence and
//! admits the TEE, and a host cannot later start the same key against a chain of its own making.
//!
//! The evidence travels on chain (`Registration.submitTee`) ABI-encoded as [`TeeEvidence`].

use alloy_primitives::{Address, B256, Bytes, keccak256};
use alloy_sol_types::{SolValue, sol};
use medshare_contracts::{Deployment, EvidenceKind};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Domain tag of the report data, so it can never be mistaken for another hash.
pub const REPORT_DATA_TAG: &[u8] = b"medshare.tee.report-data.v1";

/// Largest fee per gas the enclave signs by default (1,000 gwei).
pub const DEFAULT_MAX_FEE_PER_GAS: u128 = 1_000_000_000_000;

/// Largest gas limit the enclave signs (a block of the embedded chain).
pub const MAX_GAS_LIMIT: u64 = 30_000_000;

sol! {
    /// What an enclave believes without proof (see the module doc). ABI-encoded into its sealed
    /// key file and its evidence.
    #[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
    struct TrustAnchors {
        /// The chain id it signs for.
        uint64 chainId;
        /// The deployment: Registration.
        address registration;
        /// Data.
        address data;
        /// Model.
        address model;
        /// Authorization.
        address authorization;
        /// Audit.
        address audit;
        /// True: a header counts only if one of `sealers` signed it. False: headers are taken
        /// as the host gives them (a node such as anvil signs nothing); governance must accept
        /// this mode explicitly, and every statement the enclave signs says so.
        bool headersVerified;
        /// The validator set: addresses whose seal makes a header genuine.
        address[] sealers;
        /// The most per gas the enclave pays in any transaction it signs.
        uint128 maxFeePerGas;
    }

    /// The evidence a TEE submits with PK_T (`Registration.submitTee`).
    #[derive(Debug, PartialEq, Eq)]
    struct TeeEvidence {
        /// `EvidenceKind` as a number: 0 simulated, 1 SGX DCAP quote, 2 TDX quote.
        uint8 kind;
        /// Simulated: the SHA-256 of the enclave program (the simulation backend's measurement).
        /// SGX / TDX: zero; the measurement is read from the verified quote.
        bytes32 measurement;
        /// SGX / TDX: the quote, whose report data is [`report_data`]. Simulated: empty.
        bytes quote;
        /// The enclave's trust anchors, bound by the report data.
        TrustAnchors anchors;
    }
}

impl TrustAnchors {
    /// Anchors for a deployment on chain `chain_id` whose headers the `sealers` sign.
    pub fn sealed(chain_id: u64, deployment: &Deployment, sealers: Vec<Address>) -> Self {
        Self {
            chainId: chain_id,
            registration: deployment.registration,
            data: deployment.data,
            model: deployment.model,
            authorization: deployment.authorization,
            audit: deployment.audit,
            headersVerified: true,
            sealers,
            maxFeePerGas: DEFAULT_MAX_FEE_PER_GAS,
        }
    }

    /// Anchors for a node whose headers nobody signs (e.g. anvil): the enclave's checks then
    /// rest on the host's word for the header, and only deployments whose governance accepts
    /// unverified headers admit it.
    pub fn unverified(chain_id: u64, deployment: &Deployment) -> Self {
        Self {
            headersVerified: false,
            sealers: Vec::new(),
            ..Self::sealed(chain_id, deployment, Vec::new())
        }
    }

    /// The five contract addresses.
    pub fn deployment(&self) -> Deployment {
        Deployment {
            registration: self.registration,
            data: self.data,
            model: self.model,
            authorization: self.authorization,
            audit: self.audit,
        }
    }

    /// Checks the anchors are usable: verified headers need at least one sealer, and no address
    /// is zero.
    pub fn validate(&self) -> Result<()> {
        let d = self.deployment();
        if [d.registration, d.data, d.model, d.authorization, d.audit].contains(&Address::ZERO) {
            return Err(Error::Anchors("a contract address is zero".into()));
        }
        if self.headersVerified && self.sealers.is_empty() {
            return Err(Error::Anchors(
                "headers are to be verified but no sealer is named".into(),
            ));
        }
        if self.sealers.contains(&Address::ZERO) {
            return Err(Error::Anchors("a sealer address is zero".into()));
        }
        Ok(())
    }

    /// The canonical encoding (ABI).
    pub fn encode(&self) -> Vec<u8> {
        self.abi_encode()
    }

    /// Decodes [`TrustAnchors::encode`]'s output, strictly.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let anchors = <Self as SolValue>::abi_decode(bytes)
            .map_err(|e| Error::Anchors(format!("undecodable trust anchors: {e}")))?;
        if anchors.encode() != bytes {
            return Err(Error::Anchors("non-canonical trust anchors".into()));
        }
        Ok(anchors)
    }
}

/// The report data an enclave with public key `public_key` (64 bytes, uncompressed without
/// prefix) and these anchors puts in its quote: `keccak256(REPORT_DATA_TAG ‖ PK_T ‖
/// abi.encode(anchors))` in the first 32 bytes, zeros after (SGX and TDX report data are 64
/// bytes). The chain id and the Registration address are among the anchors.
pub fn report_data(public_key: &[u8], anchors: &TrustAnchors) -> [u8; 64] {
    let mut buf = Vec::with_capacity(REPORT_DATA_TAG.len() + public_key.len() + 512);
    buf.extend_from_slice(REPORT_DATA_TAG);
    buf.extend_from_slice(public_key);
    buf.extend_from_slice(&anchors.encode());
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(keccak256(buf).as_slice());
    out
}

/// Attestation evidence: what produced it, the measurement it claims (simulation) or carries in
/// its quote (hardware), and the anchors its report data binds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// What produced it.
    pub kind: EvidenceKind,
    /// Simulation: the SHA-256 of the enclave program. SGX / TDX: zero (read it from the
    /// verified quote).
    pub measurement: B256,
    /// The quote (empty for simulated evidence).
    pub quote: Bytes,
    /// The trust anchors.
    pub anchors: TrustAnchors,
}

impl Evidence {
    /// Simulated evidence: the enclave program's measurement and the anchors, no quote.
    pub fn simulated(measurement: B256, anchors: TrustAnchors) -> Self {
        Self {
            kind: EvidenceKind::Simulated,
            measurement,
            quote: Bytes::new(),
            anchors,
        }
    }

    /// The bytes submitted on chain (ABI-encoded [`TeeEvidence`]).
    pub fn encode(&self) -> Bytes {
        TeeEvidence {
            kind: self.kind as u8,
            measurement: self.measurement,
            quote: self.quote.clone(),
            anchors: self.anchors.clone(),
        }
        .abi_encode()
        .into()
    }

    /// Decodes evidence read from the chain, strictly (what governance verifies).
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let e = <TeeEvidence as SolValue>::abi_decode(bytes)
            .map_err(|e| Error::Anchors(format!("undecodable evidence: {e}")))?;
        let kind = EvidenceKind::try_from(e.kind).map_err(|e| Error::Anchors(e.to_string()))?;
        let evidence = Self {
            kind,
            measurement: e.measurement,
            quote: e.quote,
            anchors: e.anchors,
        };
        if evidence.encode().as_ref() != bytes {
            return Err(Error::Anchors("non-canonical evidence".into()));
        }
        Ok(evidence)
    }

    /// keccak256 of [`Evidence::encode`]: what Registration records for the TEE and governance
    /// names when it admits it.
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }

    /// The report data a quote of this evidence must carry for `public_key`.
    pub fn expected_report_data(&self, public_key: &[u8]) -> [u8; 64] {
        report_data(public_key, &self.anchors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment() -> Deployment {
        Deployment::predict(Address::repeat_byte(9), 0)
    }

    #[test]
    fn evidence_round_trips_and_binds_every_anchor() {
        let anchors = TrustAnchors::sealed(1337, &deployment(), vec![Address::repeat_byte(5)]);
        anchors.validate().unwrap();
        let e = Evidence::simulated(B256::repeat_byte(1), anchors.clone());
        assert_eq!(Evidence::decode(&e.encode()).unwrap(), e);
        let pk = [7u8; 64];
        let base = report_data(&pk, &anchors);
        let mut other = anchors.clone();
        other.chainId = 1338;
        assert_ne!(report_data(&pk, &other), base);
        let mut other = anchors.clone();
        other.sealers = vec![Address::repeat_byte(6)];
        assert_ne!(report_data(&pk, &other), base);
        let mut other = anchors.clone();
        other.registration = Address::repeat_byte(1);
        assert_ne!(report_data(&pk, &other), base);
        assert_ne!(report_data(&[8u8; 64], &anchors), base);
        assert!(Evidence::decode(&e.encode()[..40]).is_err());
        assert!(
            TrustAnchors::unverified(1, &deployment())
                .validate()
                .is_ok()
        );
        assert!(
            TrustAnchors::sealed(1, &deployment(), vec![])
                .validate()
                .is_err()
        );
    }
}
