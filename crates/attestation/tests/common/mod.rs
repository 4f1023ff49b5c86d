//! Fixtures shared by the integration tests: dcap-qvl's sample quotes and collateral
//! (see `testdata/README.md`) and times inside their validity windows.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use medshare_attestation::Collateral;

/// 2025-07-01T00:00:00Z: inside the SGX and TDX sample collateral windows
/// (2025-06-19T10:56:11Z..2025-07-19T10:01:18Z and 2025-06-19T10:32:27Z..2025-07-19T10:00:34Z).
pub(crate) const NOW_2025_07_01: u64 = 1_751_328_000;
/// 2026-03-01T00:00:00Z: inside the outdated TDX sample's window
/// (2026-02-18T10:58:51Z..2026-03-20T10:41:14Z).
pub(crate) const NOW_2026_03_01: u64 = 1_772_323_200;

pub(crate) const SGX_QUOTE: &[u8] = include_bytes!("../../testdata/sgx_quote");
pub(crate) const SGX_COLLATERAL: &[u8] = include_bytes!("../../testdata/sgx_quote_collateral.json");
pub(crate) const TDX_QUOTE: &[u8] = include_bytes!("../../testdata/tdx_quote");
pub(crate) const TDX_COLLATERAL: &[u8] = include_bytes!("../../testdata/tdx_quote_collateral.json");
pub(crate) const TDX_OUTDATED_QUOTE: &[u8] = include_bytes!("../../testdata/tdx_quote_outdated");
pub(crate) const TDX_OUTDATED_COLLATERAL: &[u8] =
    include_bytes!("../../testdata/tdx_quote_outdated_collateral.json");

pub(crate) fn sgx_collateral() -> Collateral {
    Collateral::from_json(SGX_COLLATERAL).unwrap()
}

pub(crate) fn tdx_collateral() -> Collateral {
    Collateral::from_json(TDX_COLLATERAL).unwrap()
}

pub(crate) fn tdx_outdated_collateral() -> Collateral {
    Collateral::from_json(TDX_OUTDATED_COLLATERAL).unwrap()
}

/// Unix seconds of an RFC 3339 UTC time such as `2025-07-19T10:01:18Z`.
pub(crate) fn unix(rfc3339: &str) -> u64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp()
        .try_into()
        .unwrap()
}

/// `bytes[range]` of a fixture, as a fixed array.
pub(crate) fn at<const N: usize>(bytes: &[u8], offset: usize) -> [u8; N] {
    bytes[offset..offset + N].try_into().unwrap()
}
