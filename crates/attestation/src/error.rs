//! The one error type of this crate, and how dcap-qvl's failures map onto it.

use crate::TcbStatus;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Why a quote was not accepted, or why collateral could not be loaded.
///
/// Every variant is a refusal: there is no variant that means "verified, with a warning".
/// The variants say which stage failed; the `String`s carry the detail (dcap-qvl's message
/// chain where the failure came from it), meant for an administrator's eyes, not for parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The quote bytes are not a well-formed DCAP quote (too short, bad lengths, bad body type).
    #[error("malformed quote: {0}")]
    MalformedQuote(String),

    /// The quote header names a TEE type other than SGX (`0x00000000`) or TDX (`0x00000081`).
    #[error("unknown quote type: TEE type {tee_type:#010x} is neither SGX nor TDX")]
    UnknownTeeType {
        /// The `tee_type` field of the quote header.
        tee_type: u32,
    },

    /// A well-formed quote of a kind this verifier does not accept: a quote version other
    /// than 3 (SGX) or 4/5 (TDX), an attestation key other than ECDSA-256 on P-256, a
    /// quoting enclave not from Intel, or certification data without a PCK chain.
    #[error("unsupported quote: {0}")]
    UnsupportedQuote(String),

    /// The collateral could not be loaded: not the expected JSON, a missing field, a TCB info
    /// or QE identity that does not parse, a CRL or certificate that is not valid DER/PEM.
    #[error("malformed collateral: {0}")]
    MalformedCollateral(String),

    /// `now` is before the issue date of a collateral item (TCB info, QE identity, a CRL's
    /// thisUpdate, or a signing certificate's notBefore): the caller's clock or the
    /// collateral is wrong.
    #[error(
        "collateral not yet valid: {item} is valid from {} but now is {}",
        rfc3339(.not_before),
        rfc3339(.now)
    )]
    CollateralNotYetValid {
        /// Which collateral item, e.g. `"TCB info"`.
        item: String,
        /// First second the item is valid (unix seconds).
        not_before: u64,
        /// The verification time that was passed in (unix seconds).
        now: u64,
    },

    /// `now` is after a collateral item's last valid second (TCB info or QE identity
    /// nextUpdate, a CRL's nextUpdate, a signing certificate's notAfter): fetch fresh
    /// collateral from Intel PCS or a PCCS.
    #[error(
        "collateral expired: {item} was valid until {} but now is {}",
        rfc3339(.last_valid),
        rfc3339(.now)
    )]
    CollateralExpired {
        /// Which collateral item, e.g. `"PCK CRL"`.
        item: String,
        /// Last second the item is valid (unix seconds).
        last_valid: u64,
        /// The verification time that was passed in (unix seconds).
        now: u64,
    },

    /// The collateral is genuine but is not the collateral for this quote: TCB info of the
    /// other TEE type or of another platform family (FMSPC), or a TDX module the TCB info
    /// does not list.
    #[error("collateral does not match the quote: {0}")]
    CollateralMismatch(String),

    /// The platform's TCB (CPUSVN, PCESVN, TDX module SVNs) is below every level the TCB info
    /// lists: Intel no longer evaluates such a platform (Intel QVL's "TCB not supported").
    #[error("platform TCB is below every level in the TCB info: {0}")]
    TcbLevelNotFound(String),

    /// A signature or certificate chain did not verify: the quote's signature by the
    /// attestation key, the QE report's signature by the PCK certificate, the binding of the
    /// attestation key into the QE report, the PCK chain up to Intel's SGX root CA (including
    /// revocation), or the signatures on the TCB info, QE identity and CRLs. The quote or the
    /// collateral was altered, or was not produced by genuine Intel hardware.
    #[error("signature or certificate chain invalid: {0}")]
    InvalidSignature(String),

    /// The quoting enclave that signed the report is not the one Intel's QE identity
    /// describes (MRSIGNER, ISVPRODID, attributes), or its ISVSVN is below every listed level.
    #[error("quoting enclave not accepted: {0}")]
    QuotingEnclaveRejected(String),

    /// The enclave or TD runs in a mode that lets the host read its memory or change it
    /// unobserved: debug, TD profiling, migratable TD, TD without SEPT_VE_DISABLE, bound
    /// service TDs. Never acceptable for admission.
    #[error("enclave attributes not acceptable: {0}")]
    InsecureAttributes(String),

    /// The platform's TCB status is one the [`Policy`](crate::Policy) does not accept.
    /// `Revoked` always ends here.
    #[error(
        "TCB status {status} is not accepted by the policy{}",
        advisories(.advisory_ids)
    )]
    TcbStatusNotAccepted {
        /// The platform's TCB status, converged over platform, QE and (TDX) module.
        status: TcbStatus,
        /// Intel security advisories that apply to the platform.
        advisory_ids: Vec<String>,
    },

    /// The platform is affected by an advisory the [`Policy`](crate::Policy) rejects.
    #[error("advisory {advisory_id} applies to the platform and is rejected by the policy")]
    AdvisoryRejected {
        /// The advisory, e.g. `"INTEL-SA-00615"`.
        advisory_id: String,
    },

    /// A platform property from the PCK certificate (SMT, dynamic platform, cached keys) is
    /// not allowed by the [`Policy`](crate::Policy).
    #[error("platform not accepted by the policy: {0}")]
    PlatformRejected(String),

    /// dcap-qvl refused the quote for a reason this crate does not classify more precisely.
    #[error("quote verification failed: {0}")]
    Verification(String),
}

/// Formats unix seconds as RFC 3339 (UTC), with the raw number for exactness.
fn rfc3339(secs: &u64) -> String {
    let formatted = i64::try_from(*secs)
        .ok()
        .and_then(|s| chrono::DateTime::<chrono::Utc>::from_timestamp(s, 0))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    match formatted {
        Some(t) => format!("{t} (unix {secs})"),
        None => format!("unix {secs}"),
    }
}

fn advisories(ids: &[String]) -> String {
    if ids.is_empty() {
        String::new()
    } else {
        format!(" (advisories: {})", ids.join(", "))
    }
}

/// Needles to look for in a dcap-qvl message, and the variant they select.
type Rule = (&'static [&'static str], fn(String) -> Error);

/// Which [`Error`] variant a dcap-qvl message belongs to: the first rule with a needle
/// contained in the message wins, so more specific needles come first.
///
/// dcap-qvl reports failures as `anyhow` message chains, so this is a best-effort mapping
/// pinned by tests against the dcap-qvl version in `Cargo.lock`. An unknown message still
/// refuses the quote, as [`Error::Verification`].
const RULES: &[Rule] = &[
    (&["TCB status is invalid: Revoked"], |_| {
        Error::TcbStatusNotAccepted {
            status: TcbStatus::Revoked,
            advisory_ids: Vec::new(),
        }
    }),
    (
        // Before the attribute rules: a debug QE fails with "QE report validation failed:
        // Debug mode is enabled", which is about the QE, not the attested enclave.
        &[
            "QE MRSIGNER mismatch",
            "QE ISVPRODID mismatch",
            "QE MISCSELECT mismatch",
            "QE ATTRIBUTES mismatch",
            "QE ISVSVN",
            "QE report validation failed",
            "No TCB levels found in QE Identity",
            "Unsupported QE Identity id/version",
        ],
        Error::QuotingEnclaveRejected,
    ),
    (
        &[
            "Debug mode is enabled",
            "TD profiling is enabled",
            "Reserved bits in TD attributes",
            "TD migration is enabled",
            "SERVTD_EXT is enabled",
            "SEPT_VE_DISABLE is not enabled",
            "Invalid MR service TD",
            "Failed to parse TD attributes",
        ],
        Error::InsecureAttributes,
    ),
    (
        &[
            "Signature is invalid",
            "signature is invalid",
            "QE report hash mismatch",
            "Failed to verify certificate chain",
            "Failed to load root ca",
            "must be issued directly by the root CA",
            "Certificate chain is too short",
            "Too many intermediate certificates",
            "Failed to parse PCK certificate",
            "Failed to extract PCK certificates",
            "Failed to parse TCB Info leaf certificate",
            "Failed to parse QE Identity leaf certificate",
            "Failed to parse certs",
            "Failed to parse root CA CRL",
            "Failed to parse PCK CRL",
            "Intel extension",
            "Failed to decode certificate",
            "Invalid key length",
            "ECDSA signature",
        ],
        Error::InvalidSignature,
    ),
    (
        &[
            "No matching TCB level",
            "is below minimum required from TDX module",
        ],
        Error::TcbLevelNotFound,
    ),
    (
        &[
            "Fmspc mismatch",
            "TCB info in the collateral",
            "TDX module",
            "tdxModule",
            "Unrecognized TCB status",
        ],
        Error::CollateralMismatch,
    ),
    (
        // Collateral dates: `verify_quote` checks them first and reports them with the item
        // and the dates, so these only show up if dcap-qvl's checks drift from ours.
        &[
            "issue date is in the future",
            "TCBInfo expired",
            "QE Identity expired",
        ],
        Error::Verification,
    ),
    (
        &[
            "Failed to decode TcbInfo",
            "Failed to decode QeIdentity",
            "issue date",
            "next update",
            "Failed to decode TCB FMSPC",
            "tcbDate",
        ],
        Error::MalformedCollateral,
    ),
    (
        &[
            "Unsupported DCAP",
            "Unknown QE vendor ID",
            "must have version",
            "Unsupported TEE type",
            "Unsupported cert type",
        ],
        Error::UnsupportedQuote,
    ),
    (
        &["Failed to decode quote", "Failed to get signed quote scope"],
        Error::MalformedQuote,
    ),
];

impl Error {
    /// Classifies a dcap-qvl failure given as its full message chain (`{:#}`).
    pub(crate) fn from_dcap(message: String) -> Self {
        for (needles, make) in RULES {
            if needles.iter().any(|needle| message.contains(needle)) {
                return make(message);
            }
        }
        Error::Verification(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dcap_messages_map_to_the_stage_that_failed() {
        let cases = [
            (
                "ISV enclave report signature is invalid",
                "signature or certificate chain invalid",
            ),
            (
                "Failed to verify certificate chain: UnknownIssuer",
                "signature or certificate chain invalid",
            ),
            (
                "QE report validation failed: Debug mode is enabled",
                "quoting enclave not accepted",
            ),
            ("Debug mode is enabled", "enclave attributes not acceptable"),
            ("Fmspc mismatch", "collateral does not match the quote"),
            (
                "No matching TCB level found",
                "platform TCB is below every level",
            ),
            (
                "TDX module TCB level check: TDX module ISVSVN 2 is below minimum required from \
                 TDX module TCB levels",
                "platform TCB is below every level",
            ),
            (
                "TCB status is invalid: Revoked",
                "TCB status Revoked is not accepted",
            ),
            ("Unsupported DCAP attestation key type", "unsupported quote"),
            ("something new", "quote verification failed: something new"),
        ];
        for (message, expected) in cases {
            let shown = Error::from_dcap(message.to_owned()).to_string();
            assert!(shown.starts_with(expected), "{message:?} -> {shown:?}");
        }
    }

    #[test]
    fn times_are_shown_as_rfc3339_with_the_raw_value() {
        let e = Error::CollateralExpired {
            item: "PCK CRL".into(),
            last_valid: 1_752_919_234,
            now: 1_752_919_235,
        };
        assert_eq!(
            e.to_string(),
            "collateral expired: PCK CRL was valid until 2025-07-19T10:00:34Z (unix 1752919234) \
             but now is 2025-07-19T10:00:35Z (unix 1752919235)"
        );
        assert_eq!(rfc3339(&u64::MAX), format!("unix {}", u64::MAX));
    }
}
