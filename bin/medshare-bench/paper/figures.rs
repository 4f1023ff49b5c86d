//! The paper's own figures, quoted once: Table 3 (all six rows), Fig. 9's SGX overheads (§7.3)
//! and the gas and TPS of §7.4. The tests check every number against the paper's text
//! (`../shared/paper/…` beside the repository), so a misquote fails the build's tests.

use serde::Serialize;

/// The record sizes of Table 3's columns, kB.
pub(crate) const TABLE3_SIZES_KB: [u32; 6] = [1, 2, 3, 4, 5, 6];

/// One row of the paper's Table 3: its label as the paper prints it and its six values (µs).
pub(crate) struct Table3Row {
    /// The tests find the row in the paper's text by it.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) label: &'static str,
    pub(crate) us: [u64; 6],
}

/// Table 3, "System time overhead for different file sizes": the non-SGX rows, then SGX.
pub(crate) const TABLE3: [Table3Row; 6] = [
    Table3Row {
        label: "Minimum of NOSGX (us)",
        us: [58_216, 170_421, 276_373, 460_588, 544_606, 705_014],
    },
    Table3Row {
        label: "Average of NOSGX (us)",
        us: [67_868, 179_441, 307_853, 524_873, 600_304, 725_899],
    },
    Table3Row {
        label: "Maximum of NOSGX (us)",
        us: [78_341, 194_061, 357_842, 625_825, 672_885, 795_646],
    },
    Table3Row {
        label: "Minimum of SGX (us)",
        us: [230_948, 416_418, 474_531, 858_997, 1_028_615, 1_238_720],
    },
    Table3Row {
        label: "Average of SGX (us)",
        us: [278_031, 441_992, 507_291, 887_812, 1_181_386, 1_366_159],
    },
    Table3Row {
        label: "Maximum of SGX (us)",
        us: [315_733, 478_269, 548_383, 932_949, 1_235_315, 1_456_512],
    },
];

/// Minimum, average and maximum of one column, µs.
#[derive(Clone, Copy, Serialize)]
pub(crate) struct MinAvgMax {
    pub(crate) min_us: f64,
    pub(crate) avg_us: f64,
    pub(crate) max_us: f64,
}

impl MinAvgMax {
    /// Of measured durations (µs), rounded to the µs.
    pub(crate) fn of(us: &[f64]) -> Self {
        let min = us.iter().copied().fold(f64::INFINITY, f64::min);
        let max = us.iter().copied().fold(0.0, f64::max);
        let avg = us.iter().sum::<f64>() / us.len().max(1) as f64;
        Self {
            min_us: min.round(),
            avg_us: avg.round(),
            max_us: max.round(),
        }
    }

    fn paper(first_row: usize, column: usize) -> Self {
        Self {
            min_us: TABLE3[first_row].us[column] as f64,
            avg_us: TABLE3[first_row + 1].us[column] as f64,
            max_us: TABLE3[first_row + 2].us[column] as f64,
        }
    }
}

/// The paper's non-SGX column for Table 3's `column` (0 = 1 kB).
pub(crate) fn table3_nosgx(column: usize) -> MinAvgMax {
    MinAvgMax::paper(0, column)
}

/// The paper's SGX column for Table 3's `column` (0 = 1 kB).
pub(crate) fn table3_sgx(column: usize) -> MinAvgMax {
    MinAvgMax::paper(3, column)
}

/// §7.3 (Fig. 9): what SGX added over the non-SGX run, on average, for 3 kB of data. The paper
/// gives only these differences in its text; its bars' absolute values are not printed.
#[derive(Clone, Copy, Serialize)]
pub(crate) struct Fig9Paper {
    /// ECC key pair generation, µs.
    pub(crate) keygen_us: f64,
    /// Hashing the data (SHA-256), µs.
    pub(crate) sha256_3kb_us: f64,
    /// Signing (the paper's RSA signature), µs.
    pub(crate) sign_us: f64,
    /// Verifying a signature, µs.
    pub(crate) verify_us: f64,
    /// The whole sharing system, ms.
    pub(crate) whole_system_ms: f64,
}

/// The paper's §7.3 SGX overheads.
pub(crate) const FIG9_SGX_EXTRA: Fig9Paper = Fig9Paper {
    keygen_us: 757.307,
    sha256_3kb_us: 16.566,
    sign_us: 12.464,
    verify_us: 6.916,
    whole_system_ms: 19.9443,
};

/// §7.4: the block the paper's TPS figures assume, 12,000,000 gas, one block a second.
pub(crate) const BLOCK_GAS: u64 = 12_000_000;

/// One transaction type's figures in §7.4.
#[derive(Clone, Copy)]
pub(crate) struct PaperGas {
    pub(crate) gas: u64,
    /// The TPS the paper states; `None` where its text gives none (the data request's sentence
    /// runs into the model deployment's).
    pub(crate) tps: Option<u64>,
}

/// User-submitted medical data (one record).
pub(crate) const GAS_DATA: PaperGas = PaperGas {
    gas: 62_060,
    tps: Some(193),
};
/// The data demander's request.
pub(crate) const GAS_REQUEST: PaperGas = PaperGas {
    gas: 82_355,
    tps: None,
};
/// Model deployment.
pub(crate) const GAS_MODEL: PaperGas = PaperGas {
    gas: 38_444,
    tps: Some(312),
};
/// The training result's ciphertext and hash, uploaded by the TEE.
pub(crate) const GAS_RESULT: PaperGas = PaperGas {
    gas: 79_928,
    tps: Some(150),
};

#[cfg(test)]
mod tests {
    use super::*;

    /// The paper's text, beside the repository as the workplace lays it out.
    const PAPER: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/paper/000_d1c1eb7dfb7a4829.txt"
    );

    fn paper() -> Option<String> {
        match std::fs::read_to_string(PAPER) {
            Ok(text) => Some(text),
            Err(e) => {
                eprintln!("skipped: the paper's text is not at {PAPER} ({e})");
                None
            }
        }
    }

    /// The text between `start` and `end` (both must be there), thousands separators removed.
    fn section(text: &str, start: &str, end: &str) -> String {
        let from = text
            .find(start)
            .unwrap_or_else(|| panic!("{start:?} not in the paper"));
        let len = text[from..]
            .find(end)
            .unwrap_or_else(|| panic!("{end:?} not after {start:?}"));
        text[from..from + len].replace(',', "")
    }

    /// Asserts `numbers` occur in `text` in this order, each as a whole number (not part of a
    /// longer one).
    fn in_order(text: &str, numbers: &[String]) {
        let mut at = 0;
        for n in numbers {
            let found = text[at..]
                .match_indices(n.as_str())
                .map(|(i, _)| at + i)
                .find(|&i| {
                    let before = text[..i].chars().next_back();
                    let after = text[i + n.len()..].chars().next();
                    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
                    let decimal = text[i + n.len()..].starts_with('.')
                        && digit(text[i + n.len() + 1..].chars().next());
                    !digit(before) && before != Some('.') && !digit(after) && !decimal
                })
                .unwrap_or_else(|| panic!("{n} not found after offset {at} of {text:?}"));
            at = found + n.len();
        }
    }

    #[test]
    fn table3_is_the_papers() {
        let Some(text) = paper() else { return };
        let header: Vec<u32> = text
            .lines()
            .find_map(|l| l.strip_prefix("Data size (kB)"))
            .expect("Table 3's header")
            .split_whitespace()
            .map(|v| v.parse().expect("a size"))
            .collect();
        assert_eq!(header, TABLE3_SIZES_KB);
        for row in &TABLE3 {
            let values: Vec<u64> = text
                .lines()
                .find_map(|l| l.strip_prefix(row.label))
                .unwrap_or_else(|| panic!("{:?} not in the paper", row.label))
                .split_whitespace()
                .map(|v| v.parse().expect("a number"))
                .collect();
            assert_eq!(values, row.us, "{}", row.label);
        }
        assert_eq!(table3_nosgx(2).avg_us, 307_853.0);
        assert_eq!(table3_sgx(5).max_us, 1_456_512.0);
    }

    #[test]
    fn fig9_overheads_are_the_papers() {
        let Some(text) = paper() else { return };
        let s = section(&text, "7.3. SGX Performance Evaluation", "7.4. Blockchain");
        let f = FIG9_SGX_EXTRA;
        in_order(
            &s,
            &[
                format!("{} us more", f.keygen_us),
                format!("{} us", f.sha256_3kb_us),
                format!("{} us", f.sign_us),
                format!("{} us", f.verify_us),
                format!("{} ms overhead", f.whole_system_ms),
            ],
        );
        // The order of the four: key pair, then "hashes, signatures, and verifying signatures"
        // (`section` drops the commas).
        assert!(s.contains("generating hashes signatures and verifying signatures"));
    }

    #[test]
    fn gas_and_tps_are_the_papers() {
        let Some(text) = paper() else { return };
        let s = section(&text, "7.4. Blockchain Throughput", "# 8. Conclusions");
        assert!(s.contains(&format!("{BLOCK_GAS} gas")));
        let mut numbers = Vec::new();
        for t in [GAS_DATA, GAS_REQUEST, GAS_MODEL, GAS_RESULT] {
            numbers.push(t.gas.to_string());
            numbers.extend(t.tps.map(|tps| tps.to_string()));
        }
        in_order(&s, &numbers);
        // Every TPS the paper states is its gas into the 12,000,000-gas block, rounded down.
        for t in [GAS_DATA, GAS_MODEL, GAS_RESULT] {
            assert_eq!(t.tps, Some(BLOCK_GAS / t.gas));
        }
    }
}
