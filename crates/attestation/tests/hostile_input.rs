//! Hostile quotes and collateral give an error, never a panic: empty input, every
//! truncation of the samples, random bytes, random bytes behind a valid header, random
//! corruptions of real quotes, and collateral with broken fields.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use medshare_attestation::{Collateral, Error, Policy, QuoteKind, verify_quote};

/// xorshift64*: deterministic, dependency-free randomness for the loops below.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn refused(quote: &[u8], collateral: &Collateral, now: u64) -> Error {
    match verify_quote(quote, collateral, now, &Policy::danger_accept_any_tcb()) {
        Ok(v) => panic!("hostile quote of {} bytes verified: {v:?}", quote.len()),
        Err(e) => e,
    }
}

#[test]
fn empty_quote_is_malformed() {
    let err = refused(&[], &sgx_collateral(), NOW_2025_07_01);
    assert!(matches!(err, Error::MalformedQuote(_)), "{err}");
    assert!(matches!(
        QuoteKind::detect(&[]),
        Err(Error::MalformedQuote(_))
    ));
}

#[test]
fn every_truncation_of_the_samples_is_refused() {
    let cases = [
        (SGX_QUOTE, sgx_collateral(), NOW_2025_07_01, SGX_QUOTE.len()),
        // The TDX quote carries 70 bytes of zero padding after its authentication data
        // (which ends at byte 4936); cutting padding does not change the quote.
        (TDX_QUOTE, tdx_collateral(), NOW_2025_07_01, 4936),
        (
            TDX_OUTDATED_QUOTE,
            tdx_outdated_collateral(),
            NOW_2026_03_01,
            TDX_OUTDATED_QUOTE.len(),
        ),
    ];
    for (quote, collateral, now, complete) in cases {
        for len in 0..complete {
            let err = refused(&quote[..len], &collateral, now);
            if len < 48 {
                assert!(matches!(err, Error::MalformedQuote(_)), "len {len}: {err}");
            }
        }
    }
}

#[test]
fn random_bytes_are_refused() {
    let mut rng = Rng(0x5eed_0001);
    let collateral = sgx_collateral();
    for _ in 0..3000 {
        let len = rng.below(6000);
        let quote = rng.bytes(len);
        refused(&quote, &collateral, NOW_2025_07_01);
    }
}

#[test]
fn random_bytes_behind_a_valid_header_are_refused() {
    let mut rng = Rng(0x5eed_0002);
    for (sample, collateral) in [(SGX_QUOTE, sgx_collateral()), (TDX_QUOTE, tdx_collateral())] {
        for _ in 0..1500 {
            let mut quote = sample[..48].to_vec();
            let len = rng.below(6000);
            quote.extend(rng.bytes(len));
            refused(&quote, &collateral, NOW_2025_07_01);
        }
        // A real header and body with random authentication data of the right length.
        let body_end = if sample == SGX_QUOTE { 432 } else { 632 };
        for _ in 0..300 {
            let mut quote = sample[..body_end + 4].to_vec();
            quote.extend(rng.bytes(sample.len() - body_end - 4));
            refused(&quote, &collateral, NOW_2025_07_01);
        }
    }
}

#[test]
fn random_corruptions_of_real_quotes_are_refused() {
    let mut rng = Rng(0x5eed_0003);
    for (sample, collateral) in [(SGX_QUOTE, sgx_collateral()), (TDX_QUOTE, tdx_collateral())] {
        // Corrupt bytes before the PCK chain's PEM (whose line breaks and root CA copy are
        // not relied on; see tamper.rs), so that every corruption must be refused.
        let pem = sample.windows(5).position(|w| w == b"-----").unwrap();
        for _ in 0..400 {
            let mut quote = sample.to_vec();
            for _ in 0..1 + rng.below(8) {
                let mut at = rng.below(pem - 6);
                // The TDX fields tamper.rs shows are harmless to change: the auth data length
                // (into the padding) and the unchecked outer certification data type.
                while sample == TDX_QUOTE && matches!(at, 632 | 764 | 765) {
                    at = rng.below(pem - 6);
                }
                let byte = rng.next() as u8;
                quote[at] = byte;
            }
            if quote != sample {
                refused(&quote, &collateral, NOW_2025_07_01);
            }
        }
        // Anywhere in the quote (including the PEM): no panic; success only if unchanged in
        // what is verified, which these tests do not try to decide.
        for _ in 0..400 {
            let mut quote = sample.to_vec();
            let at = rng.below(quote.len());
            quote[at] = rng.next() as u8;
            let _ = verify_quote(&quote, &collateral, NOW_2025_07_01, &Policy::default());
        }
    }
}

#[test]
fn malformed_collateral_json_is_refused() {
    let malformed = |json: &[u8]| match Collateral::from_json(json) {
        Err(Error::MalformedCollateral(_)) => {}
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(json)),
    };
    malformed(b"");
    malformed(b"{}");
    malformed(b"[]");
    malformed(b"null");
    malformed(&[0xff, 0xfe, 0x00]);
    for len in (0..SGX_COLLATERAL.len()).step_by(3) {
        malformed(&SGX_COLLATERAL[..len]);
    }
    let mut rng = Rng(0x5eed_0004);
    for _ in 0..500 {
        let len = rng.below(2000);
        malformed(&rng.bytes(len));
    }
}

#[test]
fn collateral_with_a_broken_field_is_refused() {
    let fields = [
        "pck_crl_issuer_chain",
        "root_ca_crl",
        "pck_crl",
        "tcb_info_issuer_chain",
        "tcb_info",
        "tcb_info_signature",
        "qe_identity_issuer_chain",
        "qe_identity",
        "qe_identity_signature",
    ];
    let values = [
        serde_json::json!(""),
        serde_json::json!("00"),
        serde_json::json!("zz"),
        serde_json::json!("3082"),
        serde_json::json!(12),
        serde_json::json!(null),
        serde_json::json!("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        serde_json::json!("{\"id\":\"SGX\"}"),
    ];
    let mut loaded_but_refused = 0;
    for (sample, quote) in [(SGX_COLLATERAL, SGX_QUOTE), (TDX_COLLATERAL, TDX_QUOTE)] {
        for field in fields {
            for value in &values {
                let mut json: serde_json::Value = serde_json::from_slice(sample).unwrap();
                json[field] = value.clone();
                let bytes = serde_json::to_vec(&json).unwrap();
                match Collateral::from_json(&bytes) {
                    Err(Error::MalformedCollateral(_)) => {}
                    Err(other) => panic!("{field} = {value}: unexpected {other:?}"),
                    // Only fields this crate does not parse itself get through loading
                    // (the PCK CRL issuer chain, which dcap-qvl does not use either, and
                    // signatures, which are checked during verification).
                    Ok(collateral) => {
                        loaded_but_refused += 1;
                        if field != "pck_crl_issuer_chain" {
                            refused(quote, &collateral, NOW_2025_07_01);
                        }
                    }
                }
            }
        }
    }
    assert!(loaded_but_refused > 0);
}
