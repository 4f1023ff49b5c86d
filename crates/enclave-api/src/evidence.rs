//! Attestation evidence.

use alloy_primitives::{B256, Bytes, keccak256};
use serde::{Deserialize, Serialize};

/// The name whose keccak256 is the simulation backend's enclave measurement.
pub const SIMULATED_MEASUREMENT_NAME: &str = "medshare.enclave.simulated.v1";

/// The measurement the simulation backend reports (governance must allowlist it, and accept
/// simulated evidence, before a simulated TEE counts).
pub fn simulated_measurement() -> B256 {
    keccak256(SIMULATED_MEASUREMENT_NAME)
}

/// What produced the evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// No TEE hardware: a statement by the simulation backend. Worth only what governance
    /// decides (`Registration.setAcceptSimulated`).
    Simulated,
    /// An Intel SGX DCAP quote (verified with its collateral, e.g. by the `dcap-qvl` crate).
    SgxDcap,
    /// An Intel TDX quote.
    Tdx,
}

/// Attestation evidence binding an enclave measurement to the TEE's public key PK_T.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Who produced it.
    pub kind: EvidenceKind,
    /// The enclave measurement (MRENCLAVE / MRTD; for the simulation backend
    /// [`simulated_measurement`]).
    pub measurement: B256,
    /// The report data: keccak256 of the 64-byte uncompressed PK_T, so the quote vouches for
    /// this key.
    pub report_data: B256,
    /// The quote itself (empty for simulated evidence).
    pub quote: Bytes,
}

impl Evidence {
    /// Simulated evidence for `public_key` (64 bytes, uncompressed without prefix).
    pub fn simulated(public_key: &[u8]) -> Self {
        Self {
            kind: EvidenceKind::Simulated,
            measurement: simulated_measurement(),
            report_data: keccak256(public_key),
            quote: Bytes::new(),
        }
    }

    /// The hash registered on chain with the TEE (`Registration.registerTee`'s evidenceHash):
    /// keccak256(kind ‖ measurement ‖ report_data ‖ keccak256(quote)).
    pub fn hash(&self) -> B256 {
        let mut buf = Vec::with_capacity(1 + 32 * 3);
        buf.push(match self.kind {
            EvidenceKind::Simulated => 0u8,
            EvidenceKind::SgxDcap => 1,
            EvidenceKind::Tdx => 2,
        });
        buf.extend_from_slice(self.measurement.as_slice());
        buf.extend_from_slice(self.report_data.as_slice());
        buf.extend_from_slice(keccak256(&self.quote).as_slice());
        keccak256(buf)
    }

    /// Whether the evidence vouches for `public_key`.
    pub fn binds(&self, public_key: &[u8]) -> bool {
        self.report_data == keccak256(public_key)
    }
}
