//! Verifies TEE attestation evidence from real hardware — Intel SGX DCAP quotes and Intel TDX
//! quotes — so that governance admits a TEE with the measurement its hardware vouched for,
//! never with one the TEE's operator claims.
//!
//! ```text
//!  quote (untrusted host) ─┐
//!  Collateral (caller,     ├─▶ verify_quote ──▶ VerifiedQuote { kind, measurement,
//!   from Intel PCS/PCCS) ──┤      │               report_data, tcb_status, identity, … }
//!  now, Policy (governance)┘      └─▶ Error (which check failed)
//! ```
//!
//! ```
//! use medshare_attestation::{Collateral, Error, Policy, TcbStatus, verify_quote};
//!
//! let quote = include_bytes!("../testdata/sgx_quote");
//! let json = include_bytes!("../testdata/sgx_quote_collateral.json");
//! let collateral = Collateral::from_json(json)?;
//! let now = 1_751_328_000; // 2025-07-01, inside this collateral's validity
//!
//! // The default policy wants an UpToDate platform; this 2024 sample is not.
//! let refused = verify_quote(quote, &collateral, now, &Policy::default()).unwrap_err();
//! assert!(matches!(refused, Error::TcbStatusNotAccepted { .. }));
//!
//! let policy = Policy::strict().accept(TcbStatus::ConfigurationAndSWHardeningNeeded);
//! let verified = verify_quote(quote, &collateral, now, &policy)?;
//! assert_eq!(&verified.report_data[..13], b"Hello, world!");
//! println!("admit MRENCLAVE {}", verified.measurement);
//! # Ok::<(), Error>(())
//! ```
//!
//! # What it verifies
//!
//! [`verify_quote`] runs, through the [`dcap_qvl`] crate (Phala, pure Rust, `ring` backend),
//! the checks of Intel's quote verification library, then this crate's [`Policy`]:
//!
//! 1. the header is an SGX v3 or TDX v4/v5 quote with an ECDSA-P256 attestation key from
//!    Intel's quoting enclave ([`QuoteKind::detect`]); the body parses;
//! 2. every collateral item is valid at `now` (TCB info and QE identity issueDate..nextUpdate,
//!    both CRLs thisUpdate..nextUpdate, the signing certificates' validity), checked here
//!    first so the error names the item ([`Collateral::check_time`]);
//! 3. the TCB info and QE identity are signed by Intel's TCB signing certificate, which
//!    chains to the Intel SGX Root CA compiled into dcap-qvl; the root CA CRL is signed by
//!    the root; no certificate on any path is revoked;
//! 4. the PCK certificate (from the quote's certification data, or from the collateral if it
//!    carries one) chains to the same root; it signs the quoting enclave's (QE) report; the
//!    QE report binds the attestation key; the attestation key signs the quote header and
//!    body — so MRENCLAVE / MRTD / RTMRs / REPORTDATA are what the hardware measured;
//! 5. the QE is Intel's (QE identity: MRSIGNER, ISVPRODID, attributes, ISVSVN level);
//!    for TDX, the TDX module is one the TCB info lists;
//! 6. the enclave is not a debug enclave; a TD is not debug, not migratable, has
//!    SEPT_VE_DISABLE and no service TDs (these are never acceptable and not configurable);
//! 7. the platform's TCB level is looked up in the TCB info (by FMSPC, CPUSVN, PCESVN and,
//!    for TDX, TEE_TCB_SVN) and converged with the QE's; `Revoked` is always refused; other
//!    statuses, advisories and PCK flags go to the [`Policy`] (default: `UpToDate` only).
//!
//! # What it does not do
//!
//! - It does not fetch collateral: the caller supplies a [`Collateral`] (JSON, e.g. fetched
//!   from Intel PCS or a PCCS by dcap-qvl's client) and the time `now`. No network, no disk.
//! - It does not decide which measurements are allowed, nor what the report data must be:
//!   governance compares [`VerifiedQuote::measurement`] with its allowlist and
//!   [`VerifiedQuote::report_data`] with the key the TEE registers (PK_T).
//! - It does not trust any root but Intel's production SGX root CA, and has no switch to
//!   skip a check; [`Policy::danger_accept_any_tcb`] relaxes only the TCB policy, for tests.
//! - It does not verify AMD SEV-SNP, Arm CCA, Nitro or simulated evidence.
//! - It does not make quotes canonical: bytes after the authentication data (padding some
//!   quote generators add), the PEM chain's line breaks and the chain's copy of the root CA
//!   are covered by no check (the root is taken from dcap-qvl, never from the quote), so
//!   different byte strings can verify to the same [`VerifiedQuote`]. Identify evidence by
//!   the verified fields, not by a hash of the quote bytes.
//!
//! # Measurements
//!
//! - **SGX**: MRENCLAVE, the 32-byte hash the CPU computes over the enclave's initial pages
//!   and layout. MRSIGNER, ISVPRODID and ISVSVN are in [`SgxIdentity`]; an allowlist of
//!   MRENCLAVEs pins exact builds, which is what admission wants.
//! - **TDX**: [`tdx_measurement`] = SHA-256(MRTD ‖ RTMR0 ‖ RTMR1 ‖ RTMR2 ‖ RTMR3). MRTD alone
//!   covers only the virtual firmware; the kernel, its command line, the initrd and the
//!   application are measured into the RTMRs by the firmware and the TD's own boot chain, so a
//!   TD's code identity needs all five. RTMR3 is included although the TD may extend it at
//!   run time: leaving it out would admit any application on an admitted base image. The TD
//!   must therefore extend RTMR3 deterministically (or not at all) before it is quoted.
//!   MRCONFIGID, MROWNER and MROWNERCONFIG are left out: the host chooses them at TD
//!   creation and they measure nothing the TD runs; they are in [`TdxIdentity`] for a
//!   governance that gives them meaning. (An image that acts on them, e.g. loads the
//!   application MRCONFIGID names, must measure what it loads into an RTMR.) Hashing keeps
//!   the measurement one `B256`, like SGX's, so the on-chain registry stores both alike.
//!
//! # Invariants
//!
//! - Hostile quote and collateral bytes yield an [`Error`], never a panic (tested by
//!   truncating and corrupting the samples).
//! - A [`VerifiedQuote`] exists only for a quote that passed every check at the given `now`
//!   and the given [`Policy`].
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::panic,
        clippy::arithmetic_side_effects
    )
)]

mod collateral;
mod error;
mod policy;
mod quote;

pub use alloy_primitives::{B256, B512};
pub use collateral::Collateral;
pub use error::{Error, Result};
pub use policy::{Policy, TcbStatus, UnknownTcbStatus};
pub use quote::{
    Identity, Mr384, QuoteKind, SgxIdentity, TdxIdentity, VerifiedQuote, tdx_measurement,
};

use alloy_primitives::FixedBytes;
use dcap_qvl::verify::QuoteVerifier;
use dcap_qvl::{PckCertFlag, QuotePolicy};

use policy::PlatformFacts;

/// Verifies `quote` against `collateral` at time `now_unix_secs` (the verifier's clock, in
/// unix seconds), then applies `policy`.
///
/// On success the [`VerifiedQuote`] carries the measurement and report data taken from the
/// authenticated report body. Every failure is an [`Error`] naming the check that failed;
/// the function never panics on any input.
pub fn verify_quote(
    quote: &[u8],
    collateral: &Collateral,
    now_unix_secs: u64,
    policy: &Policy,
) -> Result<VerifiedQuote> {
    let kind = QuoteKind::detect(quote)?;
    dcap_qvl::quote::Quote::parse(quote).map_err(|e| Error::MalformedQuote(format!("{e:#}")))?;
    if collateral.kind() != kind {
        return Err(Error::CollateralMismatch(format!(
            "{kind} quote with {} collateral",
            collateral.kind()
        )));
    }
    collateral.check_time(now_unix_secs)?;

    // dcap-qvl appraises nothing with `claims_only`: this crate's Policy does, below, so that
    // its refusals are typed. Revoked and the attribute checks are enforced inside dcap-qvl.
    let claims = QuoteVerifier::new_prod()
        .verify_with_policy(
            quote,
            collateral.as_dcap(),
            now_unix_secs,
            &QuotePolicy::claims_only(now_unix_secs),
        )
        .map_err(|e| Error::from_dcap(format!("{e:#}")))?;

    let mut advisory_ids = claims.tcb.advisory_ids.clone();
    let platform_levels = std::iter::once(&claims.platform.tcb_level)
        .chain(claims.platform.current_tcb_level.as_ref())
        .flat_map(|level| &level.advisory_ids)
        .chain(&claims.qe.tcb_level.advisory_ids);
    for id in platform_levels {
        if !advisory_ids.contains(id) {
            advisory_ids.push(id.clone());
        }
    }
    let tcb_status = TcbStatus::from(claims.tcb.status);
    let pck = &claims.platform.pck;
    policy.check(&PlatformFacts {
        status: tcb_status,
        advisory_ids: &advisory_ids,
        smt_enabled: pck.smt_enabled == PckCertFlag::True,
        dynamic_platform: pck.dynamic_platform == PckCertFlag::True,
        cached_keys: pck.cached_keys == PckCertFlag::True,
    })?;

    let identity = Identity::from_report(&claims.report)?;
    if identity.kind() != kind {
        return Err(Error::MalformedQuote(format!(
            "{kind} header with a {} report body",
            identity.kind()
        )));
    }
    Ok(VerifiedQuote {
        kind,
        measurement: identity.measurement(),
        report_data: quote::report_data(&claims.report)?,
        tcb_status,
        advisory_ids,
        fmspc: FixedBytes(pck.fmspc),
        // dcap-qvl's window also covers the quote's PCK chain; ours ends CRLs a second early.
        collateral_last_valid: collateral
            .last_valid()
            .map_or(claims.earliest_expiration_date, |last| {
                last.min(claims.earliest_expiration_date)
            }),
        identity,
    })
}
