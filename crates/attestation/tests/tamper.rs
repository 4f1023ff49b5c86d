//! A quote with one flipped bit is refused with an error (never a panic), wherever the bit
//! is in what the verifier relies on: the signed header and report body, the quote
//! signature, the attestation key, the QE report and its signature, the PCK certificates.
//!
//! Offsets (Intel's quote layout, as in dcap-qvl's `quote.rs`):
//!
//! ```text
//!        SGX v3                          TDX v4
//!    0   header (48)                 0   header (48)
//!   48   enclave report (384)       48   TD report (584)
//!  432   auth data length u32      632   auth data length u32
//!  436   ECDSA signature (64)      636   ECDSA signature (64)
//!  500   attestation key (64)      700   attestation key (64)
//!  564   QE report (384)           764   cert type 6, size u32
//!  948   QE report signature (64)  770   QE report (384)
//! 1012   QE auth data, then       1154   QE report signature (64)
//!        cert type 5 + PEM chain  1218   QE auth data, then cert type 5 + PEM chain
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use medshare_attestation::{Collateral, Error, Policy, verify_quote};

struct Sample {
    name: &'static str,
    quote: &'static [u8],
    collateral: Collateral,
    /// End of header + report body: the bytes the attestation key signs.
    signed_end: usize,
    report_data: usize,
    measurement: usize,
    signature: usize,
    attestation_key: usize,
    qe_report: usize,
    qe_report_signature: usize,
}

fn samples() -> [Sample; 2] {
    [
        Sample {
            name: "SGX",
            quote: SGX_QUOTE,
            collateral: sgx_collateral(),
            signed_end: 432,
            report_data: 48 + 320,
            measurement: 48 + 64,
            signature: 436,
            attestation_key: 500,
            qe_report: 564,
            qe_report_signature: 948,
        },
        Sample {
            name: "TDX",
            quote: TDX_QUOTE,
            collateral: tdx_collateral(),
            signed_end: 632,
            report_data: 48 + 520,
            measurement: 48 + 136,
            signature: 636,
            attestation_key: 700,
            qe_report: 770,
            qe_report_signature: 1154,
        },
    ]
}

const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----\n";

impl Sample {
    /// Offset of the `n`th `-----BEGIN CERTIFICATE-----` line of the embedded PEM chain.
    fn pem_begin(&self, n: usize) -> usize {
        self.quote
            .windows(BEGIN.len())
            .enumerate()
            .filter(|(_, w)| *w == BEGIN)
            .map(|(i, _)| i)
            .nth(n)
            .unwrap()
    }

    /// Verifies the quote with `bit` of byte `offset` flipped, under a policy that accepts
    /// any TCB status, so that only the tampering can make it fail.
    fn flipped(&self, offset: usize, bit: u8) -> Result<(), Error> {
        let mut quote = self.quote.to_vec();
        quote[offset] ^= 1 << bit;
        verify_quote(
            &quote,
            &self.collateral,
            NOW_2025_07_01,
            &Policy::danger_accept_any_tcb(),
        )
        .map(|_| ())
    }

    fn assert_bad_signature(&self, what: &str, offset: usize, bit: u8) {
        match self.flipped(offset, bit) {
            Err(Error::InvalidSignature(detail)) => {
                println!("{} {what} @{offset}: {detail}", self.name);
            }
            other => panic!(
                "{} {what} @{offset} bit {bit}: expected InvalidSignature, got {other:?}",
                self.name
            ),
        }
    }

    /// Offset of a base64 letter inside the `n`th PEM certificate of the embedded chain
    /// (0 = the PCK leaf). Flipping bit 5 turns `a` into `A` and back: still base64, so the
    /// PEM parses and the certificate's DER changes.
    fn letter_in_certificate(&self, n: usize) -> usize {
        let start = self.pem_begin(n) + BEGIN.len();
        (start + 300..)
            .find(|&i| self.quote[i].is_ascii_alphabetic())
            .unwrap()
    }
}

#[test]
fn the_untampered_samples_verify() {
    for s in samples() {
        verify_quote(
            s.quote,
            &s.collateral,
            NOW_2025_07_01,
            &Policy::danger_accept_any_tcb(),
        )
        .unwrap();
    }
}

#[test]
fn a_flip_in_the_signed_report_body_breaks_the_quote_signature() {
    for s in samples() {
        s.assert_bad_signature("report data", s.report_data + 5, 0);
        s.assert_bad_signature("report data, last byte", s.report_data + 63, 7);
        s.assert_bad_signature("measurement", s.measurement, 3);
        s.assert_bad_signature("header user data", 28 + 7, 1);
    }
}

#[test]
fn a_flip_in_the_quote_signature_is_refused() {
    for s in samples() {
        s.assert_bad_signature("signature r", s.signature + 10, 2);
        s.assert_bad_signature("signature s", s.signature + 40, 6);
    }
}

#[test]
fn a_flip_in_the_certification_data_is_refused() {
    for s in samples() {
        // The attestation key must hash into the QE report's report data.
        s.assert_bad_signature("attestation key", s.attestation_key + 10, 0);
        // The QE report is signed by the PCK certificate.
        s.assert_bad_signature("QE report", s.qe_report + 320, 4);
        s.assert_bad_signature("QE report signature", s.qe_report_signature + 20, 1);
        // The PCK certificate and its issuing CA chain to Intel's root.
        let leaf = s.letter_in_certificate(0);
        s.assert_bad_signature("PCK certificate", leaf, 5);
        let ca = s.letter_in_certificate(1);
        s.assert_bad_signature("PCK CA certificate", ca, 5);
    }
}

/// Every byte of the header and report body, each with one bit flipped (bit = offset mod 8),
/// is refused. These are the bytes that carry the measurement and the report data.
#[test]
fn every_single_bit_flip_in_the_signed_region_is_refused() {
    for s in samples() {
        for offset in 0..s.signed_end {
            let bit = (offset % 8) as u8;
            let result = s.flipped(offset, bit);
            assert!(
                result.is_err(),
                "{}: flip of bit {bit} at {offset} verified",
                s.name
            );
        }
    }
}

/// The same for every byte from the quote signature up to the PCK chain's certification
/// data header (signature, attestation key, QE report, its signature, QE auth data), except
/// two TDX fields whose change is harmless: the auth data length (the sample has zero
/// padding after its auth data, so one more byte still parses) and the outer certification
/// data type, which dcap-qvl does not check (it parses the QE report certification data
/// regardless and verifies everything in it).
///
/// Not covered, because a flip there changes nothing the verifier uses, so some flips
/// verify: the PEM's line breaks and armour, the chain's copy of Intel's root CA (the
/// verifier anchors on the root compiled into dcap-qvl, never on the quote's copy), and
/// padding after the authentication data.
#[test]
fn every_single_bit_flip_in_the_quote_authentication_data_is_refused() {
    for s in samples() {
        // Certification data type (u16) and size (u32) precede the PEM.
        let cert_header = s.pem_begin(0) - 6;
        for offset in s.signed_end..cert_header {
            if s.name == "TDX" && (offset == 632 || offset == 764 || offset == 765) {
                continue;
            }
            let bit = (offset % 8) as u8;
            assert!(
                s.flipped(offset, bit).is_err(),
                "{}: flip of bit {bit} at {offset} verified",
                s.name
            );
        }
    }
}
