//! dcap-qvl's real sample quotes verify, and yield the values dcap-qvl's own snapshot tests
//! record (tests/snapshots/verify_quote__could_parse_*_quote.snap) and that an independent
//! parse of the report body at Intel's documented offsets finds.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use medshare_attestation::{
    B256, Error, Identity, Policy, QuoteKind, TcbStatus, tdx_measurement, verify_quote,
};
use sha2::{Digest, Sha256};

/// Start of the report body: after the 48-byte header (quote v3 and v4).
const BODY: usize = 48;

fn hex32(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

// From dcap-qvl tests/snapshots/verify_quote__could_parse_sgx_quote.snap.
const SGX_MR_ENCLAVE: &str = "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb";
const SGX_MR_SIGNER: &str = "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6";

// From dcap-qvl tests/snapshots/verify_quote__could_parse_tdx_quote.snap.
const TDX_MR_TD: &str = "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7";
const TDX_RTMR: [&str; 4] = [
    "44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0",
    "0084452c01668329d4bc06acdf58a7205c26743304509973949e5619bf81a6a7aea8c323c173019b3093d54e579e9378",
    "d833feef2cd945148aa38ead2c53e9b7f138190aaaebfc551dccd829fc207aa3ba80b70870d7330733642e01d48c3132",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
];
const TDX_REPORT_DATA: &str = "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20";

#[test]
fn sgx_sample_verifies_and_yields_mrenclave_and_report_data() {
    let v = verify_quote(
        SGX_QUOTE,
        &sgx_collateral(),
        NOW_2025_07_01,
        &Policy::danger_accept_any_tcb(),
    )
    .unwrap();

    assert_eq!(v.kind, QuoteKind::Sgx);
    // dcap-qvl's snapshot and Intel's SGX report layout (MRENCLAVE at body offset 64).
    assert_eq!(v.measurement, B256::from(hex32(SGX_MR_ENCLAVE)));
    assert_eq!(v.measurement.0, at::<32>(SGX_QUOTE, BODY + 64));
    // REPORTDATA at body offset 320: "Hello, world!" padded with zeros.
    assert_eq!(v.report_data.0, at::<64>(SGX_QUOTE, BODY + 320));
    assert_eq!(&v.report_data[..13], b"Hello, world!");
    assert!(v.report_data[13..].iter().all(|b| *b == 0));

    let Identity::Sgx(sgx) = &v.identity else {
        panic!("not SGX: {:?}", v.identity)
    };
    assert_eq!(sgx.mr_enclave, v.measurement);
    assert_eq!(sgx.mr_signer, B256::from(hex32(SGX_MR_SIGNER)));
    assert_eq!(sgx.mr_signer.0, at::<32>(SGX_QUOTE, BODY + 128));
    assert_eq!(
        sgx.isv_prod_id,
        u16::from_le_bytes(at(SGX_QUOTE, BODY + 256))
    );
    assert_eq!(sgx.isv_svn, u16::from_le_bytes(at(SGX_QUOTE, BODY + 258)));
    assert_eq!((sgx.isv_prod_id, sgx.isv_svn), (0, 0));

    // dcap-qvl's could_parse_sgx_quote expects this status and these advisories.
    assert_eq!(v.tcb_status, TcbStatus::ConfigurationAndSWHardeningNeeded);
    assert_eq!(v.advisory_ids, ["INTEL-SA-00289", "INTEL-SA-00615"]);
    assert!(v.collateral_last_valid >= NOW_2025_07_01);
    assert_eq!(v.collateral_last_valid, unix("2025-07-19T10:01:18Z"));
}

#[test]
fn tdx_sample_verifies_and_yields_mrtd_rtmrs_report_data() {
    // UpToDate, but its PCK certificate sets the SMT, dynamic-platform and cached-keys flags,
    // which the default refuses (see default_policy_refuses_the_tdx_sample_pck_flags).
    let policy = Policy::strict()
        .allow_smt(true)
        .allow_dynamic_platform(true)
        .allow_cached_keys(true);
    let v = verify_quote(TDX_QUOTE, &tdx_collateral(), NOW_2025_07_01, &policy).unwrap();

    assert_eq!(v.kind, QuoteKind::Tdx);
    assert_eq!(v.tcb_status, TcbStatus::UpToDate);
    assert!(v.advisory_ids.is_empty());
    let Identity::Tdx(td) = &v.identity else {
        panic!("not TDX: {:?}", v.identity)
    };
    // dcap-qvl's snapshot, and the TD report layout (MRTD at body offset 136, RTMR0..3 at
    // 328, 376, 424, 472, REPORTDATA at 520).
    assert_eq!(td.mr_td.as_slice(), hex::decode(TDX_MR_TD).unwrap());
    assert_eq!(td.mr_td.0, at::<48>(TDX_QUOTE, BODY + 136));
    for (i, expected) in TDX_RTMR.iter().enumerate() {
        assert_eq!(
            td.rtmr[i].as_slice(),
            hex::decode(expected).unwrap(),
            "RTMR{i}"
        );
        assert_eq!(
            td.rtmr[i].0,
            at::<48>(TDX_QUOTE, BODY + 328 + 48 * i),
            "RTMR{i}"
        );
    }
    assert_eq!(
        v.report_data.as_slice(),
        hex::decode(TDX_REPORT_DATA).unwrap()
    );
    assert_eq!(v.report_data.0, at::<64>(TDX_QUOTE, BODY + 520));

    // The measurement is SHA-256 over the 240 raw bytes MRTD ‖ RTMR0..3 of the quote body.
    let mut raw = TDX_QUOTE[BODY + 136..BODY + 184].to_vec();
    raw.extend_from_slice(&TDX_QUOTE[BODY + 328..BODY + 520]);
    let expected = B256::from(<[u8; 32]>::from(Sha256::digest(&raw)));
    assert_eq!(v.measurement, expected);
    assert_eq!(tdx_measurement(&td.mr_td, &td.rtmr), expected);
    assert_eq!(td.measurement(), expected);
}

#[test]
fn default_policy_refuses_the_sgx_sample_and_names_its_status() {
    let err = verify_quote(
        SGX_QUOTE,
        &sgx_collateral(),
        NOW_2025_07_01,
        &Policy::default(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        Error::TcbStatusNotAccepted {
            status: TcbStatus::ConfigurationAndSWHardeningNeeded,
            advisory_ids: vec!["INTEL-SA-00289".into(), "INTEL-SA-00615".into()],
        }
    );
    let shown = err.to_string();
    assert!(
        shown.contains("ConfigurationAndSWHardeningNeeded") && shown.contains("INTEL-SA-00615"),
        "{shown}"
    );

    // Accepting exactly that status lets it through; rejecting one of its advisories does not.
    let accepting = Policy::strict().accept(TcbStatus::ConfigurationAndSWHardeningNeeded);
    verify_quote(SGX_QUOTE, &sgx_collateral(), NOW_2025_07_01, &accepting).unwrap();
    let err = verify_quote(
        SGX_QUOTE,
        &sgx_collateral(),
        NOW_2025_07_01,
        &accepting.reject_advisory("INTEL-SA-00615"),
    )
    .unwrap_err();
    assert_eq!(
        err,
        Error::AdvisoryRejected {
            advisory_id: "INTEL-SA-00615".into()
        }
    );
}

#[test]
fn default_policy_refuses_the_tdx_sample_pck_flags() {
    let refused = |policy: &Policy| {
        verify_quote(TDX_QUOTE, &tdx_collateral(), NOW_2025_07_01, policy).unwrap_err()
    };
    let err = refused(&Policy::default());
    assert!(
        matches!(&err, Error::PlatformRejected(why) if why.contains("SMT")),
        "{err}"
    );
    let err = refused(&Policy::strict().allow_smt(true));
    assert!(
        matches!(&err, Error::PlatformRejected(why) if why.contains("dynamic")),
        "{err}"
    );
    let err = refused(
        &Policy::strict()
            .allow_smt(true)
            .allow_dynamic_platform(true),
    );
    assert!(
        matches!(&err, Error::PlatformRejected(why) if why.contains("cached")),
        "{err}"
    );
}

#[test]
fn a_platform_below_every_tcb_level_is_refused_even_by_the_permissive_policy() {
    // dcap-qvl keeps this TDX 1.5 sample for its TCB-override tests: with its real collateral
    // the platform matches no TCB level. The quote and collateral are genuine otherwise.
    let err = verify_quote(
        TDX_OUTDATED_QUOTE,
        &tdx_outdated_collateral(),
        NOW_2026_03_01,
        &Policy::danger_accept_any_tcb(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::TcbLevelNotFound(_)), "{err}");
}

#[test]
fn collateral_of_the_other_tee_type_is_refused() {
    let err = verify_quote(
        SGX_QUOTE,
        &tdx_collateral(),
        NOW_2025_07_01,
        &Policy::danger_accept_any_tcb(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::CollateralMismatch(_)), "{err}");
}

#[test]
fn collateral_reports_its_kind_and_window() {
    let sgx = sgx_collateral();
    assert_eq!(sgx.kind(), QuoteKind::Sgx);
    assert_eq!(sgx.not_before(), unix("2025-06-19T10:56:11Z"));
    assert_eq!(sgx.last_valid(), Some(unix("2025-07-19T10:01:18Z")));
    let tdx = tdx_collateral();
    assert_eq!(tdx.kind(), QuoteKind::Tdx);
    assert_eq!(tdx.not_before(), unix("2025-06-19T10:32:27Z"));
    // The PCK CRL's nextUpdate is 10:00:35; a CRL is expired from its nextUpdate on.
    assert_eq!(tdx.last_valid(), Some(unix("2025-07-19T10:00:34Z")));
}
