//! Fig. 9 (§7.3): per-operation costs on 3 kB of data (key pair, hash, sign, verify), and the
//! whole system's extra cost of the enclave boundary, beside the paper's SGX overheads.

use super::{
    figures::{FIG9_SGX_EXTRA, Fig9Paper, TABLE3_SIZES_KB, table3_nosgx, table3_sgx},
    round3,
    table3::Table3Row,
};
use anyhow::{Context, Result};
use medshare_crypto::{Identity, ciphertext_hash, eip712};
use serde::Serialize;
use std::time::Instant;

#[derive(Serialize)]
pub(super) struct Fig9 {
    /// secp256k1 key pair generation, µs.
    pub(super) keygen_us: f64,
    /// SHA-256 of 3 kB, µs.
    pub(super) sha256_3kb_us: f64,
    /// An EIP-712 signature (the paper's Sig_RSA), µs.
    pub(super) sign_us: f64,
    /// Recovering and checking an EIP-712 signature (Verify_RSA), µs.
    pub(super) verify_us: f64,
    /// Iterations each figure is the mean of (ten times as many for the hash).
    pub(super) iterations: u32,
    /// The whole flow at 3 kB with the enclave in its own process minus in this process
    /// (Table 3's averages), µs: medshare's analogue of the paper's whole-system SGX overhead.
    /// The four operations above run as the same native code in either process, so they have
    /// no separate boundary overhead to measure.
    pub(super) whole_system_extra_us: f64,
    /// The paper's §7.3 figures: what SGX added over its non-SGX run (it prints no absolute
    /// per-operation figures).
    pub(super) paper_sgx_extra: Fig9Paper,
    /// The same difference taken from the paper's Table 3 at 3 kB (SGX average minus non-SGX
    /// average), µs, for comparison with its §7.3 whole-system figure.
    pub(super) paper_table3_3kb_sgx_extra_us: f64,
}

/// Mean µs of `f` over `iterations` calls.
pub(super) fn time_per<F: FnMut()>(iterations: u32, mut f: F) -> f64 {
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(iterations)
}

/// The four operations, `iterations` times each; the whole-system figure from `table3`.
pub(super) fn fig9(iterations: u32, table3: &[Table3Row]) -> Result<Fig9> {
    let data = vec![0x5au8; 3 * 1024];
    let id = Identity::random();
    let domain = eip712::Domain::new(1337, alloy_primitives::Address::repeat_byte(1));
    let statement = eip712::TrainingResult {
        jobId: alloy_primitives::B256::repeat_byte(2),
        resultHash: alloy_primitives::B256::repeat_byte(3),
        viewBlock: 7,
        viewHash: alloy_primitives::B256::repeat_byte(4),
        headersVerified: true,
    };
    let signature = id.sign_typed(&domain, &statement)?;
    let three_kb = table3
        .iter()
        .find(|r| r.size_kb == 3)
        .context("Table 3 has no 3 kB row")?;
    let column = TABLE3_SIZES_KB
        .iter()
        .position(|&k| k == 3)
        .context("the paper's Table 3 has no 3 kB column")?;
    Ok(Fig9 {
        keygen_us: round3(time_per(iterations, || {
            std::hint::black_box(Identity::random());
        })),
        sha256_3kb_us: round3(time_per(iterations * 10, || {
            std::hint::black_box(ciphertext_hash(std::hint::black_box(&data)));
        })),
        sign_us: round3(time_per(iterations, || {
            std::hint::black_box(id.sign_typed(&domain, &statement).ok());
        })),
        verify_us: round3(time_per(iterations, || {
            std::hint::black_box(eip712::recover(&domain, &statement, &signature).ok());
        })),
        iterations,
        whole_system_extra_us: three_kb.process_avg_us - three_kb.avg_us,
        paper_sgx_extra: FIG9_SGX_EXTRA,
        paper_table3_3kb_sgx_extra_us: table3_sgx(column).avg_us - table3_nosgx(column).avg_us,
    })
}
