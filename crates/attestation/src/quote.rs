//! Quote kinds, the header check, and what a verified quote tells.

use std::fmt;

use alloy_primitives::{B256, B512, FixedBytes};
use dcap_qvl::quote::{EnclaveReport, Report, TDReport10};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result, TcbStatus};

/// A 384-bit TDX measurement register (MRTD, RTMR*, MRCONFIGID, …).
pub type Mr384 = FixedBytes<48>;

/// The TEE that produced a quote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuoteKind {
    /// An Intel SGX enclave, quote version 3 (TEE type `0x00000000`).
    Sgx,
    /// An Intel TDX trust domain, quote version 4 or 5 (TEE type `0x00000081`).
    Tdx,
}

impl fmt::Display for QuoteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QuoteKind::Sgx => "SGX",
            QuoteKind::Tdx => "TDX",
        })
    }
}

/// TEE type of SGX in the quote header.
const TEE_TYPE_SGX: u32 = 0x0000_0000;
/// TEE type of TDX in the quote header.
const TEE_TYPE_TDX: u32 = 0x0000_0081;
/// Attestation key type ECDSA-256-with-P-256.
const ECDSA_P256: u16 = 2;
/// Length of the quote header.
const HEADER_LEN: usize = 48;

impl QuoteKind {
    /// Reads the quote header (48 bytes: version u16, attestation key type u16, TEE type
    /// u32, …, QE vendor ID at 12..28) and checks it is a quote this crate verifies.
    pub fn detect(quote: &[u8]) -> Result<Self> {
        let header = quote.get(..HEADER_LEN).ok_or_else(|| {
            Error::MalformedQuote(format!(
                "{} bytes is shorter than the {HEADER_LEN}-byte quote header",
                quote.len()
            ))
        })?;
        let version = u16::from_le_bytes(field(header, 0)?);
        let key_type = u16::from_le_bytes(field(header, 2)?);
        let tee_type = u32::from_le_bytes(field(header, 4)?);
        let qe_vendor: [u8; 16] = field(header, 12)?;
        let kind = match tee_type {
            TEE_TYPE_SGX => QuoteKind::Sgx,
            TEE_TYPE_TDX => QuoteKind::Tdx,
            _ => return Err(Error::UnknownTeeType { tee_type }),
        };
        let version_ok = match kind {
            QuoteKind::Sgx => version == 3,
            QuoteKind::Tdx => version == 4 || version == 5,
        };
        if !version_ok {
            return Err(Error::UnsupportedQuote(format!(
                "{kind} quote version {version} (expected {})",
                match kind {
                    QuoteKind::Sgx => "3",
                    QuoteKind::Tdx => "4 or 5",
                }
            )));
        }
        if key_type != ECDSA_P256 {
            return Err(Error::UnsupportedQuote(format!(
                "attestation key type {key_type} (expected 2, ECDSA-256 with P-256)"
            )));
        }
        if qe_vendor != dcap_qvl::INTEL_QE_VENDOR_ID {
            return Err(Error::UnsupportedQuote(format!(
                "QE vendor ID {} is not Intel's",
                alloy_primitives::hex::encode(qe_vendor)
            )));
        }
        Ok(kind)
    }
}

/// `N` bytes of `bytes` at `offset`, or a malformed-quote error (never a panic).
fn field<const N: usize>(bytes: &[u8], offset: usize) -> Result<[u8; N]> {
    offset
        .checked_add(N)
        .and_then(|end| bytes.get(offset..end))
        .and_then(|slice| <[u8; N]>::try_from(slice).ok())
        .ok_or_else(|| Error::MalformedQuote(format!("quote too short for offset {offset}")))
}

/// A quote that verified and passed the policy, with what it attests.
///
/// Only [`verify_quote`](crate::verify_quote) makes one (the struct is `#[non_exhaustive]`),
/// so holding a `VerifiedQuote` means the checks ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VerifiedQuote {
    /// SGX or TDX.
    pub kind: QuoteKind,
    /// The code identity to admit: MRENCLAVE for SGX, [`tdx_measurement`] for TDX.
    pub measurement: B256,
    /// The 64 bytes the enclave or TD chose to have signed (REPORTDATA); binds e.g. PK_T.
    pub report_data: B512,
    /// The platform's TCB status (accepted by the policy).
    pub tcb_status: TcbStatus,
    /// Intel security advisories that apply to the platform (platform, QE and, for TDX, the
    /// module), even when the status was accepted.
    pub advisory_ids: Vec<String>,
    /// The platform family (FMSPC) from the PCK certificate.
    pub fmspc: FixedBytes<6>,
    /// The last second (unix) at which all collateral used is valid; the verdict should not
    /// be relied on after it without fetching fresh collateral.
    pub collateral_last_valid: u64,
    /// The raw identity fields of the enclave or TD.
    pub identity: Identity,
}

/// The raw identity fields of the attested enclave or TD.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    /// From the SGX enclave report.
    Sgx(SgxIdentity),
    /// From the TD report (boxed: it is four times the size of the SGX identity).
    Tdx(Box<TdxIdentity>),
}

/// SGX enclave report fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SgxIdentity {
    /// MRENCLAVE: SHA-256 over the enclave's initial pages and layout.
    pub mr_enclave: B256,
    /// MRSIGNER: SHA-256 of the enclave signing key's modulus.
    pub mr_signer: B256,
    /// ISVPRODID, set by the signer.
    pub isv_prod_id: u16,
    /// ISVSVN, the enclave's security version, set by the signer.
    pub isv_svn: u16,
    /// ATTRIBUTES (flags ‖ XFRM); debug enclaves are refused before this is returned.
    pub attributes: FixedBytes<16>,
    /// MISCSELECT.
    pub misc_select: u32,
    /// CPUSVN of the platform at report time.
    pub cpu_svn: FixedBytes<16>,
}

/// TD report fields (TDX 1.0 layout; TDX 1.5 reports carry these too).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TdxIdentity {
    /// MRTD: the TD's initial contents (the virtual firmware), measured by the TDX module.
    pub mr_td: Mr384,
    /// RTMR0..RTMR3: runtime registers the TD extends as it boots (by convention firmware
    /// configuration, kernel, kernel command line and initrd, then the application).
    pub rtmr: [Mr384; 4],
    /// MRCONFIGID: chosen by the host when it creates the TD; not measured by the TD.
    pub mr_config_id: Mr384,
    /// MROWNER: chosen by the host when it creates the TD.
    pub mr_owner: Mr384,
    /// MROWNERCONFIG: chosen by the host when it creates the TD.
    pub mr_owner_config: Mr384,
    /// MRSEAM: the TDX module's measurement.
    pub mr_seam: Mr384,
    /// TDATTRIBUTES; debug, migratable and similar TDs are refused before this is returned.
    pub td_attributes: FixedBytes<8>,
    /// XFAM: the extended CPU features enabled for the TD.
    pub xfam: FixedBytes<8>,
    /// TEE_TCB_SVN: the TDX module's security versions.
    pub tee_tcb_svn: FixedBytes<16>,
}

impl TdxIdentity {
    /// This TD's measurement, [`tdx_measurement`] of MRTD and the RTMRs.
    pub fn measurement(&self) -> B256 {
        tdx_measurement(&self.mr_td, &self.rtmr)
    }
}

/// The measurement of a TD: SHA-256(MRTD ‖ RTMR0 ‖ RTMR1 ‖ RTMR2 ‖ RTMR3), 240 bytes in.
///
/// Reproducible with `cat mrtd rtmr0 rtmr1 rtmr2 rtmr3 | sha256sum` on the raw 48-byte values,
/// so governance can compute the value to allowlist from a reproducible image build.
pub fn tdx_measurement(mr_td: &Mr384, rtmr: &[Mr384; 4]) -> B256 {
    let mut hasher = Sha256::new();
    hasher.update(mr_td);
    for register in rtmr {
        hasher.update(register);
    }
    B256::from(<[u8; 32]>::from(hasher.finalize()))
}

impl Identity {
    /// Extracts the identity from an authenticated report body.
    pub(crate) fn from_report(report: &Report) -> Result<Self> {
        if let Some(sgx) = report.as_sgx() {
            return Ok(Identity::Sgx(SgxIdentity::from_report(sgx)));
        }
        report
            .as_td10()
            .map(|td| Identity::Tdx(Box::new(TdxIdentity::from_report(td))))
            .ok_or_else(|| Error::MalformedQuote("report body is neither SGX nor TDX".into()))
    }

    /// MRENCLAVE for SGX, [`tdx_measurement`] for TDX.
    pub fn measurement(&self) -> B256 {
        match self {
            Identity::Sgx(sgx) => sgx.mr_enclave,
            Identity::Tdx(tdx) => tdx.measurement(),
        }
    }

    /// SGX or TDX.
    pub fn kind(&self) -> QuoteKind {
        match self {
            Identity::Sgx(_) => QuoteKind::Sgx,
            Identity::Tdx(_) => QuoteKind::Tdx,
        }
    }
}

impl SgxIdentity {
    fn from_report(r: &EnclaveReport) -> Self {
        Self {
            mr_enclave: B256::from(r.mr_enclave),
            mr_signer: B256::from(r.mr_signer),
            isv_prod_id: r.isv_prod_id,
            isv_svn: r.isv_svn,
            attributes: FixedBytes(r.attributes),
            misc_select: r.misc_select,
            cpu_svn: FixedBytes(r.cpu_svn),
        }
    }
}

impl TdxIdentity {
    fn from_report(r: &TDReport10) -> Self {
        Self {
            mr_td: FixedBytes(r.mr_td),
            rtmr: [
                FixedBytes(r.rt_mr0),
                FixedBytes(r.rt_mr1),
                FixedBytes(r.rt_mr2),
                FixedBytes(r.rt_mr3),
            ],
            mr_config_id: FixedBytes(r.mr_config_id),
            mr_owner: FixedBytes(r.mr_owner),
            mr_owner_config: FixedBytes(r.mr_owner_config),
            mr_seam: FixedBytes(r.mr_seam),
            td_attributes: FixedBytes(r.td_attributes),
            xfam: FixedBytes(r.xfam),
            tee_tcb_svn: FixedBytes(r.tee_tcb_svn),
        }
    }
}

/// The REPORTDATA of an authenticated report body.
pub(crate) fn report_data(report: &Report) -> Result<B512> {
    if let Some(sgx) = report.as_sgx() {
        return Ok(B512::from(sgx.report_data));
    }
    report
        .as_td10()
        .map(|td| B512::from(td.report_data))
        .ok_or_else(|| Error::MalformedQuote("report body is neither SGX nor TDX".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(version: u16, key_type: u16, tee_type: u32) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&version.to_le_bytes());
        h.extend_from_slice(&key_type.to_le_bytes());
        h.extend_from_slice(&tee_type.to_le_bytes());
        h.extend_from_slice(&[0; 4]);
        h.extend_from_slice(&dcap_qvl::INTEL_QE_VENDOR_ID);
        h.extend_from_slice(&[0; 20]);
        h
    }

    #[test]
    fn header_detects_the_kind() {
        assert_eq!(QuoteKind::detect(&header(3, 2, 0)), Ok(QuoteKind::Sgx));
        assert_eq!(QuoteKind::detect(&header(4, 2, 0x81)), Ok(QuoteKind::Tdx));
        assert_eq!(QuoteKind::detect(&header(5, 2, 0x81)), Ok(QuoteKind::Tdx));
    }

    #[test]
    fn header_refuses_what_it_does_not_verify() {
        assert_eq!(
            QuoteKind::detect(&header(3, 2, 0x7)),
            Err(Error::UnknownTeeType { tee_type: 7 })
        );
        for bad in [header(4, 2, 0), header(3, 2, 0x81), header(3, 3, 0)] {
            assert!(matches!(
                QuoteKind::detect(&bad),
                Err(Error::UnsupportedQuote(_))
            ));
        }
        let mut other_vendor = header(3, 2, 0);
        other_vendor[12] ^= 1;
        assert!(matches!(
            QuoteKind::detect(&other_vendor),
            Err(Error::UnsupportedQuote(_))
        ));
        assert!(matches!(
            QuoteKind::detect(&header(3, 2, 0)[..47]),
            Err(Error::MalformedQuote(_))
        ));
    }

    #[test]
    fn tdx_measurement_is_sha256_of_the_concatenation() {
        let mr_td = Mr384::repeat_byte(1);
        let rtmr = [2u8, 3, 4, 5].map(Mr384::repeat_byte);
        let mut concatenated = Vec::new();
        concatenated.extend_from_slice(mr_td.as_slice());
        for r in &rtmr {
            concatenated.extend_from_slice(r.as_slice());
        }
        assert_eq!(concatenated.len(), 240);
        let expected = B256::from(<[u8; 32]>::from(Sha256::digest(&concatenated)));
        assert_eq!(tdx_measurement(&mr_td, &rtmr), expected);
    }
}
