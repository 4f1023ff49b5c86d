//! Collateral is only good inside its validity window, and its dates cannot be edited.
//!
//! Sample windows (from the collateral files):
//! - SGX: TCB info 2025-06-19T10:56:11Z..2025-07-19T10:56:11Z, QE identity
//!   2025-06-19T10:01:18Z..2025-07-19T10:01:18Z, PCK CRL nextUpdate 2025-07-19T10:23:18Z.
//! - TDX: TCB info 2025-06-19T10:16:03Z..2025-07-19T10:16:03Z, QE identity
//!   2025-06-19T10:32:27Z..2025-07-19T10:32:27Z, PCK CRL nextUpdate 2025-07-19T10:00:35Z.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use medshare_attestation::{Collateral, Error, Policy, verify_quote};

fn tdx_policy() -> Policy {
    // The TDX sample is UpToDate; its PCK flags are the only thing the default refuses.
    Policy::strict()
        .allow_smt(true)
        .allow_dynamic_platform(true)
        .allow_cached_keys(true)
}

#[test]
fn sgx_collateral_expires_with_its_qe_identity() {
    let collateral = sgx_collateral();
    let policy = Policy::danger_accept_any_tcb();
    let last = unix("2025-07-19T10:01:18Z");
    verify_quote(SGX_QUOTE, &collateral, last, &policy).unwrap();

    let err = verify_quote(SGX_QUOTE, &collateral, last + 1, &policy).unwrap_err();
    assert_eq!(
        err,
        Error::CollateralExpired {
            item: "QE identity".into(),
            last_valid: last,
            now: last + 1,
        }
    );
    let shown = err.to_string();
    assert!(
        shown.contains("expired") && shown.contains("QE identity"),
        "{shown}"
    );
}

#[test]
fn tdx_collateral_expires_with_its_pck_crl_at_next_update() {
    let collateral = tdx_collateral();
    let next_update = unix("2025-07-19T10:00:35Z");
    // A CRL is expired from its nextUpdate on (webpki's rule, which dcap-qvl applies):
    // one second before, the quote still verifies through dcap-qvl.
    verify_quote(TDX_QUOTE, &collateral, next_update - 1, &tdx_policy()).unwrap();
    let err = verify_quote(TDX_QUOTE, &collateral, next_update, &tdx_policy()).unwrap_err();
    assert_eq!(
        err,
        Error::CollateralExpired {
            item: "PCK CRL".into(),
            last_valid: next_update - 1,
            now: next_update,
        }
    );
}

#[test]
fn collateral_years_old_is_expired() {
    let now = unix("2030-01-01T00:00:00Z");
    for (quote, collateral) in [(SGX_QUOTE, sgx_collateral()), (TDX_QUOTE, tdx_collateral())] {
        let err =
            verify_quote(quote, &collateral, now, &Policy::danger_accept_any_tcb()).unwrap_err();
        assert!(matches!(err, Error::CollateralExpired { .. }), "{err}");
    }
}

#[test]
fn collateral_is_not_valid_before_its_issue_date() {
    let tdx = tdx_collateral();
    let issued = unix("2025-06-19T10:32:27Z");
    verify_quote(TDX_QUOTE, &tdx, issued, &tdx_policy()).unwrap();
    let err = verify_quote(TDX_QUOTE, &tdx, issued - 1, &tdx_policy()).unwrap_err();
    assert_eq!(
        err,
        Error::CollateralNotYetValid {
            item: "QE identity".into(),
            not_before: issued,
            now: issued - 1,
        }
    );
    assert!(err.to_string().contains("not yet valid"), "{err}");

    let sgx = sgx_collateral();
    let issued = unix("2025-06-19T10:56:11Z");
    let err = verify_quote(
        SGX_QUOTE,
        &sgx,
        issued - 1,
        &Policy::danger_accept_any_tcb(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::CollateralNotYetValid { item, .. } if item == "TCB info"),
        "{err}"
    );
}

/// dcap-qvl checks the dates too (this crate checks first only to name the item): without
/// this crate's check the same collateral is still refused.
#[test]
fn dcap_qvl_itself_refuses_expired_and_not_yet_valid_collateral() {
    let collateral: dcap_qvl::QuoteCollateralV3 = serde_json::from_slice(SGX_COLLATERAL).unwrap();
    let verify = |now| dcap_qvl::verify::verify(SGX_QUOTE, &collateral, now);
    verify(NOW_2025_07_01).unwrap();
    let expired = verify(unix("2025-07-19T10:56:12Z")).unwrap_err();
    assert!(format!("{expired:#}").contains("expired"), "{expired:#}");
    let early = verify(unix("2025-06-19T10:56:10Z")).unwrap_err();
    assert!(format!("{early:#}").contains("in the future"), "{early:#}");
}

/// Editing a date in the collateral to stretch its validity breaks Intel's signature on it.
#[test]
fn extending_the_tcb_info_validity_breaks_its_signature() {
    let mut json: serde_json::Value = serde_json::from_slice(SGX_COLLATERAL).unwrap();
    let tcb_info = json["tcb_info"].as_str().unwrap().to_owned();
    let stretched = tcb_info.replace(
        "\"nextUpdate\":\"2025-07-19T10:56:11Z\"",
        "\"nextUpdate\":\"2035-07-19T10:56:11Z\"",
    );
    assert_ne!(stretched, tcb_info);
    json["tcb_info"] = stretched.into();
    let collateral = Collateral::from_json(&serde_json::to_vec(&json).unwrap()).unwrap();

    let err = verify_quote(
        SGX_QUOTE,
        &collateral,
        NOW_2025_07_01,
        &Policy::danger_accept_any_tcb(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidSignature(why) if why.contains("tcb_info")),
        "{err}"
    );
}

/// The same for the QE identity, and for a flipped bit in the TCB info signature.
#[test]
fn tampered_qe_identity_or_signature_is_refused() {
    let edit = |field: &str, f: &dyn Fn(&str) -> String| {
        let mut json: serde_json::Value = serde_json::from_slice(TDX_COLLATERAL).unwrap();
        let edited = f(json[field].as_str().unwrap());
        json[field] = edited.into();
        Collateral::from_json(&serde_json::to_vec(&json).unwrap()).unwrap()
    };
    let qe = edit("qe_identity", &|s| {
        s.replace("2025-07-19T10:32:27Z", "2026-07-19T10:32:27Z")
    });
    let sig = edit("tcb_info_signature", &|hex| {
        let mut bytes = hex::decode(hex).unwrap();
        bytes[7] ^= 0x10;
        hex::encode(bytes)
    });
    for collateral in [qe, sig] {
        let err = verify_quote(TDX_QUOTE, &collateral, NOW_2025_07_01, &tdx_policy()).unwrap_err();
        assert!(matches!(err, Error::InvalidSignature(_)), "{err}");
    }
}
