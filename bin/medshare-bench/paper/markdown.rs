//! The report as markdown (paper.md and the terminal).

use super::{Report, figures::MinAvgMax, ledger::Throughput};
use std::fmt::Write;

fn mam(m: &MinAvgMax) -> String {
    format!("{:.0} / {:.0} / {:.0}", m.min_us, m.avg_us, m.max_us)
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or("—".to_owned(), |v| v.to_string())
}

pub(super) fn markdown(r: &Report) -> String {
    let mut s = String::new();
    // `write!` to a String cannot fail.
    let _ = write_report(&mut s, r);
    s
}

fn write_report(s: &mut String, r: &Report) -> std::fmt::Result {
    writeln!(s, "## Table 3: the whole flow for one record (µs)\n")?;
    writeln!(
        s,
        "Enclave in this process beside the paper's non-SGX row; enclave in its own process beside its SGX row.\n"
    )?;
    writeln!(
        s,
        "| size | runs | in process min / avg / max | paper non-SGX min / avg / max | paper / medshare | own process min / avg / max | paper SGX min / avg / max | paper / medshare |"
    )?;
    writeln!(s, "|---:|---:|---|---|---:|---|---|---:|")?;
    for t in &r.table3 {
        let inproc = MinAvgMax {
            min_us: t.min_us,
            avg_us: t.avg_us,
            max_us: t.max_us,
        };
        let ownproc = MinAvgMax {
            min_us: t.process_min_us,
            avg_us: t.process_avg_us,
            max_us: t.process_max_us,
        };
        writeln!(
            s,
            "| {} kB | {} | {} | {} | {:.1}× | {} | {} | {:.1}× |",
            t.size_kb,
            t.runs,
            mam(&inproc),
            mam(&t.paper_nosgx),
            t.speedup_vs_paper,
            mam(&ownproc),
            mam(&t.paper_sgx),
            t.process_speedup_vs_paper_sgx
        )?;
    }
    let starts: Vec<String> = r
        .table3
        .iter()
        .map(|t| format!("{:.0}", t.process_start_us / 1e3))
        .collect();
    let ratios: Vec<String> = r
        .table3
        .iter()
        .map(|t| format!("{:.2}", t.process_avg_us / t.avg_us.max(1e-9)))
        .collect();
    writeln!(
        s,
        "\nOwn process: one `medshare-enclave worker` per size, kept running between jobs and reaching the node over WebSocket (receipts awaited through a `newHeads` subscription); own process / in process (avg): {}. Starting the worker (unsealing its key, hashing its program for the simulated measurement, reaching the node) took {} ms per size and is not in the figures.",
        ratios.join(" / "),
        starts.join(" / ")
    )?;
    writeln!(
        s,
        "\nWhat each size adds: every job trains on the same {} features, so a larger record adds bytes to encrypt, hash and store and features for the TEE to decrypt and parse, not training work.\n",
        r.table3.first().map_or(0, |t| t.work.features_trained)
    )?;
    writeln!(
        s,
        "| size | features per record | ciphertext bytes (encrypted, hashed, stored by the patient) | records the TEE hashes, decrypts and parses | ciphertext bytes it decrypts | feature values it parses |"
    )?;
    writeln!(s, "|---:|---:|---:|---:|---:|---:|")?;
    for t in &r.table3 {
        let w = &t.work;
        writeln!(
            s,
            "| {} kB | {} | {} | {} | {} | {} |",
            t.size_kb,
            w.features_per_record,
            w.ciphertext_bytes,
            w.records_decrypted_per_flow,
            w.bytes_decrypted_per_flow,
            w.features_parsed_per_flow
        )?;
    }

    let f = &r.fig9;
    let p = &f.paper_sgx_extra;
    writeln!(s, "\n## Fig. 9 (§7.3): per operation, 3 kB (µs)\n")?;
    writeln!(
        s,
        "The paper prints only what SGX added over its non-SGX run; medshare's operations run as the same native code in either process, so their cost is given.\n"
    )?;
    writeln!(
        s,
        "| operation | medshare (in process) | paper: SGX extra over non-SGX |"
    )?;
    writeln!(s, "|---|---:|---:|")?;
    for (name, ours, paper) in [
        ("key pair (secp256k1; paper ECC)", f.keygen_us, p.keygen_us),
        ("SHA-256 of 3 kB", f.sha256_3kb_us, p.sha256_3kb_us),
        ("sign (EIP-712 ECDSA; paper RSA)", f.sign_us, p.sign_us),
        ("verify", f.verify_us, p.verify_us),
    ] {
        writeln!(s, "| {name} | {ours:.1} | {paper} |")?;
    }
    writeln!(
        s,
        "| whole system: own process − in process, Table 3 at 3 kB | {:.0} | {:.1} ({} ms; its Table 3 at 3 kB: {:.0}) |",
        f.whole_system_extra_us,
        p.whole_system_ms * 1000.0,
        p.whole_system_ms,
        f.paper_table3_3kb_sgx_extra_us
    )?;

    writeln!(s, "\n## §7.4: gas per transaction type\n")?;
    writeln!(
        s,
        "| type | gas | paper | ratio | TPS (12M gas/s) | paper TPS | includes |"
    )?;
    writeln!(s, "|---|---:|---:|---:|---:|---:|---|")?;
    for (name, t) in r.gas.types() {
        writeln!(
            s,
            "| {name} | {} | {} | {:.3} | {} | {} | {} |",
            t.gas,
            t.paper_gas,
            t.ratio_to_paper,
            t.tps,
            opt(t.paper_tps),
            t.includes
        )?;
    }
    writeln!(
        s,
        "| data, one record alone | {} | | | | | {} |",
        r.gas.data_single_record.gas, r.gas.data_single_record.includes
    )?;
    writeln!(
        s,
        "| request, first of its data type | {} | | | | | {} |",
        r.gas.request_first_of_data_type.gas, r.gas.request_first_of_data_type.includes
    )?;

    write_ledger(
        s,
        [&r.ledger, &r.anvil, &r.anvil_state, &r.ledger_in_process],
    )?;

    let t = &r.training;
    writeln!(
        s,
        "\n## Training: logistic regression, {} records × {} features ({} trained, {} held out)\n",
        t.records, t.features, t.train_records, t.test_records
    )?;
    writeln!(
        s,
        "| threads (each side) | medshare s | scikit-learn s | time ratio | medshare accuracy | scikit-learn accuracy | iterations medshare / scikit-learn |"
    )?;
    writeln!(s, "|---:|---:|---:|---:|---:|---:|---:|")?;
    writeln!(
        s,
        "| {} | {:.3} | {:.3} | {:.2} | {:.4} | {:.4} | {} / {} |",
        t.threads,
        t.seconds,
        t.sklearn_seconds,
        r.train_time_ratio_vs_sklearn,
        t.accuracy,
        t.sklearn_accuracy,
        t.iterations,
        t.sklearn_iterations
    )?;
    writeln!(
        s,
        "| {} (all cores) | {:.3} | {:.3} | {:.2} | | | |",
        t.all_cores.threads,
        t.all_cores.seconds,
        t.all_cores.sklearn_seconds,
        t.all_cores.time_ratio
    )?;
    let v = &t.versions;
    writeln!(
        s,
        "\nMedian of {} fits each. Controls: {}. Versions: medshare {}{}, Python {}, numpy {}, scipy {}, scikit-learn {}.",
        t.repeats,
        t.controls,
        v.medshare,
        v.medshare_commit
            .as_deref()
            .map_or(String::new(), |c| format!(" ({c})")),
        v.python,
        v.numpy,
        v.scipy,
        v.scikit_learn
    )?;

    writeln!(
        s,
        "\n## Scale\n\n{} records of {} owners registered in {:.1} s, {} audit entries; one owner's audit trail ({} entries) in {:.2} ms (median of 21). The enclave process's peak memory over a job of {} records: {:.1} MiB.",
        r.scale.records,
        r.scale.owners,
        r.scale.register_seconds,
        r.scale.audit_entries,
        r.scale.audit_query_entries,
        r.scale.audit_query_ms,
        r.enclave_memory_records,
        r.enclave_peak_memory_mib
    )?;
    writeln!(
        s,
        "\n## The enclave's checks of chain facts\n\nper record (its Data commitment, the grant and the owner's policy: {} storage proofs for {} records and the job's facts, one view): verifying {:.1} µs per record (header seal once per view: {:.1} µs; the job's own facts: {:.1} µs per view); fetching the proofs from the node (eth_getProof over the in-process chain) {:.2} ms per view; {:.0} proof bytes per record",
        r.proofs.storage_proofs,
        r.proofs.records,
        r.proofs.verify_us_per_record,
        r.proofs.seal_us,
        r.proofs.job_facts_us,
        r.proofs.fetch_ms,
        r.proofs.proof_bytes_per_record
    )?;
    writeln!(
        s,
        "\n## Crypto beside openssl (16 KiB buffers)\n\nAES-256-GCM {:.0} MB/s vs openssl {:.0} MB/s ({:.2}); SHA-256 {:.0} MB/s vs openssl {:.0} MB/s ({:.2})",
        r.crypto.aead_mb_s,
        r.crypto.openssl_aead_mb_s,
        r.aead_ratio_vs_openssl,
        r.crypto.sha256_mb_s,
        r.crypto.openssl_sha256_mb_s,
        r.sha256_ratio_vs_openssl
    )
}

/// The ledger throughput section: `medshare node`, anvil in memory, anvil with `--state`, and
/// the embedded chain in process, in that order.
pub(crate) fn write_ledger(s: &mut String, rows: [&Throughput; 4]) -> std::fmt::Result {
    let [node, anvil, anvil_state, in_process] = rows;
    writeln!(
        s,
        "\n## Ledger throughput: records registered per second, same client and workload\n"
    )?;
    writeln!(
        s,
        "| node | persists | records/s | tx/s | records | seconds |"
    )?;
    writeln!(s, "|---|---|---:|---:|---:|---:|")?;
    for t in rows {
        writeln!(
            s,
            "| {} | {} | {:.0} | {:.1} | {} | {:.3} |",
            t.node, t.persists, t.records_per_s, t.tx_per_s, t.records, t.seconds
        )?;
    }
    writeln!(
        s,
        "\nmedshare node / anvil in memory: {:.2}×; / anvil with --state: {:.2}×. anvil with --state took {} s to write its state file ({} bytes) on exit, after the timed window.",
        node.records_per_s / anvil.records_per_s.max(1e-9),
        node.records_per_s / anvil_state.records_per_s.max(1e-9),
        opt(anvil_state.exit_dump_seconds),
        opt(anvil_state.state_file_bytes)
    )?;
    writeln!(s, "\nEach JSON-RPC row includes: {}.", node.includes)?;
    writeln!(s, "The in-process row includes: {}.", in_process.includes)?;
    Ok(())
}
