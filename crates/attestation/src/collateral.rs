//! Quote collateral: what Intel publishes to judge quotes, loaded and dated.

use std::fmt;

use dcap_qvl::{QeIdentity, QuoteCollateralV3, TcbInfo};
use der::Decode;
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;

use crate::{Error, QuoteKind, Result};

/// The collateral a quote is verified against: Intel's TCB info (the TCB levels of one
/// platform family, FMSPC) and QE identity, each with its signature and issuer chain, the
/// root CA CRL and the PCK CRL (dcap-qvl's `QuoteCollateralV3`).
///
/// The caller fetches it (from Intel PCS or a PCCS, e.g. with dcap-qvl's collateral client or
/// its CLI) and stores it as JSON; this crate does no network I/O. Loading checks that every
/// part parses and records each part's validity dates; nothing is trusted until
/// [`verify_quote`](crate::verify_quote) has checked the signatures against Intel's root.
#[derive(Clone)]
pub struct Collateral {
    inner: QuoteCollateralV3,
    kind: QuoteKind,
    dated: Vec<Dated>,
}

/// One collateral item's validity: valid for `not_before <= now <= last_valid`.
#[derive(Clone, Debug)]
struct Dated {
    item: String,
    not_before: u64,
    last_valid: Option<u64>,
}

impl Collateral {
    /// Loads collateral from the JSON object dcap-qvl reads and writes (its
    /// `sample/*_collateral.json`): string fields `tcb_info`, `qe_identity`,
    /// `tcb_info_issuer_chain`, `qe_identity_issuer_chain`, `pck_crl_issuer_chain` (PEM), and
    /// hex fields `root_ca_crl`, `pck_crl` (DER), `tcb_info_signature`,
    /// `qe_identity_signature`; optionally `pck_certificate_chain` (PEM), which then replaces
    /// the chain embedded in the quote.
    pub fn from_json(json: &[u8]) -> Result<Self> {
        let inner: QuoteCollateralV3 = serde_json::from_slice(json)
            .map_err(|e| malformed(format!("not a collateral JSON object: {e}")))?;
        Self::new(inner)
    }

    fn new(inner: QuoteCollateralV3) -> Result<Self> {
        let tcb_info: TcbInfo = serde_json::from_str(&inner.tcb_info)
            .map_err(|e| malformed(format!("tcb_info: {e}")))?;
        let kind = match tcb_info.id.as_str() {
            "SGX" => QuoteKind::Sgx,
            "TDX" => QuoteKind::Tdx,
            other => return Err(malformed(format!("tcb_info: unknown id {other:?}"))),
        };
        let qe_identity: QeIdentity = serde_json::from_str(&inner.qe_identity)
            .map_err(|e| malformed(format!("qe_identity: {e}")))?;

        let mut dated = vec![
            Dated {
                item: "TCB info".into(),
                not_before: rfc3339_secs(&tcb_info.issue_date, "tcb_info issueDate")?,
                last_valid: Some(rfc3339_secs(&tcb_info.next_update, "tcb_info nextUpdate")?),
            },
            Dated {
                item: "QE identity".into(),
                not_before: rfc3339_secs(&qe_identity.issue_date, "qe_identity issueDate")?,
                last_valid: Some(rfc3339_secs(
                    &qe_identity.next_update,
                    "qe_identity nextUpdate",
                )?),
            },
            crl_dates(&inner.root_ca_crl, "root CA CRL")?,
            crl_dates(&inner.pck_crl, "PCK CRL")?,
        ];
        dated.extend(chain_dates(
            &inner.tcb_info_issuer_chain,
            "TCB info issuer chain",
        )?);
        dated.extend(chain_dates(
            &inner.qe_identity_issuer_chain,
            "QE identity issuer chain",
        )?);
        if let Some(chain) = &inner.pck_certificate_chain {
            dated.extend(chain_dates(chain, "PCK certificate chain")?);
        }
        Ok(Self { inner, kind, dated })
    }

    /// The TEE type the TCB info is for.
    pub fn kind(&self) -> QuoteKind {
        self.kind
    }

    /// The first second at which every item is valid (the latest issue date).
    pub fn not_before(&self) -> u64 {
        self.dated.iter().map(|d| d.not_before).max().unwrap_or(0)
    }

    /// The last second at which every item is still valid (the earliest expiry), or `None`
    /// if no item expires (never the case for Intel's collateral).
    pub fn last_valid(&self) -> Option<u64> {
        self.dated.iter().filter_map(|d| d.last_valid).min()
    }

    /// Checks that every item is valid at `now`: the first item not yet valid, or else the
    /// first expired, is named in the error.
    pub fn check_time(&self, now: u64) -> Result<()> {
        if let Some(d) = self.dated.iter().find(|d| now < d.not_before) {
            return Err(Error::CollateralNotYetValid {
                item: d.item.clone(),
                not_before: d.not_before,
                now,
            });
        }
        for d in &self.dated {
            if let Some(last_valid) = d.last_valid.filter(|last| now > *last) {
                return Err(Error::CollateralExpired {
                    item: d.item.clone(),
                    last_valid,
                    now,
                });
            }
        }
        Ok(())
    }

    pub(crate) fn as_dcap(&self) -> &QuoteCollateralV3 {
        &self.inner
    }
}

impl fmt::Debug for Collateral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collateral")
            .field("kind", &self.kind)
            .field("not_before", &self.not_before())
            .field("last_valid", &self.last_valid())
            .finish_non_exhaustive()
    }
}

fn malformed(message: String) -> Error {
    Error::MalformedCollateral(message)
}

fn rfc3339_secs(value: &str, what: &str) -> Result<u64> {
    let time = chrono::DateTime::parse_from_rfc3339(value)
        .map_err(|e| malformed(format!("{what} {value:?}: {e}")))?;
    u64::try_from(time.timestamp())
        .map_err(|_| malformed(format!("{what} {value:?} is before 1970")))
}

/// A CRL is valid from thisUpdate; it is expired from nextUpdate on (webpki's rule), so its
/// last valid second is nextUpdate - 1.
fn crl_dates(der: &[u8], item: &str) -> Result<Dated> {
    let crl: CertificateList =
        CertificateList::from_der(der).map_err(|e| malformed(format!("{item}: {e}")))?;
    let tbs = &crl.tbs_cert_list;
    Ok(Dated {
        item: item.to_owned(),
        not_before: tbs.this_update.to_unix_duration().as_secs(),
        last_valid: tbs
            .next_update
            .map(|t| t.to_unix_duration().as_secs().saturating_sub(1)),
    })
}

/// Each certificate of a PEM chain is valid from notBefore through notAfter.
fn chain_dates(pem_chain: &str, chain: &str) -> Result<Vec<Dated>> {
    let pems = pem::parse_many(pem_chain).map_err(|e| malformed(format!("{chain}: {e}")))?;
    if pems.is_empty() {
        return Err(malformed(format!("{chain}: no certificate")));
    }
    pems.iter()
        .enumerate()
        .map(|(i, pem)| {
            let cert = Certificate::from_der(pem.contents())
                .map_err(|e| malformed(format!("{chain}, certificate {i}: {e}")))?;
            let tbs = cert.tbs_certificate();
            let validity = tbs.validity();
            Ok(Dated {
                item: format!("{chain} certificate {i} ({})", tbs.subject()),
                not_before: validity.not_before.to_unix_duration().as_secs(),
                last_valid: Some(validity.not_after.to_unix_duration().as_secs()),
            })
        })
        .collect()
}
