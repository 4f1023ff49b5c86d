//! The canary: a distinctive value in one patient's record is decrypted and trained on inside
//! the enclave process, and appears nowhere else: not in the chain's store, not in any stored
//! object, not in any file of the demo's state, not in the host process's output or logs (which
//! include the enclave process's, whose stderr it inherits).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use medshare_testkit::process::ready_line;
use std::{path::Path, process::Command};

const WDBC: &str = include_str!("../data/wdbc/wdbc.csv");
/// The password of the demo chain's kept sealing key.
const PASSWORD: &str = "demo sealer";
/// Not a value of the data set; written as the first patient's radius_mean.
const CANARY: &str = "7331.0421";

fn needles() -> Vec<Vec<u8>> {
    let v: f64 = CANARY.parse().unwrap();
    vec![
        CANARY.as_bytes().to_vec(),
        v.to_le_bytes().to_vec(),
        v.to_be_bytes().to_vec(),
        (v as f32).to_le_bytes().to_vec(),
    ]
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn a_patients_value_leaves_no_trace_outside_the_enclave() {
    let work = tempfile::tempdir().unwrap();
    let mut lines: Vec<String> = WDBC.lines().map(str::to_owned).collect();
    let mut first: Vec<String> = lines[1].split(',').map(str::to_owned).collect();
    assert_eq!(lines[0].split(',').nth(1), Some("radius_mean"));
    first[1] = CANARY.to_owned();
    lines[1] = first.join(",");
    let csv = work.path().join("patients.csv");
    std::fs::write(&csv, lines.join("\n") + "\n").unwrap();
    // The scan finds the canary where it is (the patient's own input).
    assert!(contains(&std::fs::read(&csv).unwrap(), CANARY.as_bytes()));

    let state = work.path().join("state");
    let out = Command::new(env!("CARGO_BIN_EXE_medshare"))
        .args(["demo", "--patients", "40", "--json", "--csv"])
        .arg(&csv)
        .arg("--data-dir")
        .arg(&state)
        .env("MEDSHARE_PASSWORD", PASSWORD)
        .env("RUST_LOG", "debug")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let (stdout, stderr) = (out.stdout, out.stderr);
    assert!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
    // The canary's record was decrypted and used, in another process than the host's.
    assert_eq!(summary["records_used"], 40);
    assert_ne!(summary["enclave_pid"], summary["host_pid"]);
    assert!(!stderr.is_empty(), "debug logging produced output to scan");

    for needle in needles() {
        assert!(!contains(&stdout, &needle), "canary in the host's stdout");
        assert!(
            !contains(&stderr, &needle),
            "canary in the host's (and enclave's) logs"
        );
    }
    let mut all = Vec::new();
    files(&state, &mut all);
    assert!(
        all.iter().any(|p| p.ends_with("chain.redb")),
        "the chain is among the scanned files"
    );
    assert!(
        all.iter()
            .filter(|p| p.to_string_lossy().contains("/store/records/"))
            .count()
            >= 80
    );
    for path in all {
        let bytes = std::fs::read(&path).unwrap();
        for needle in needles() {
            assert!(!contains(&bytes, &needle), "canary in {}", path.display());
        }
    }

    // The kept state reopens: `medshare node --data-dir` serves the demo's chain with its
    // sealing key, every header and the state root verified, at the block the demo left.
    let mut node = Command::new(env!("CARGO_BIN_EXE_medshare"))
        .args(["node", "--addr", "127.0.0.1:0", "--json", "--data-dir"])
        .arg(&state)
        .env("MEDSHARE_PASSWORD", PASSWORD)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let ready = ready_line(&mut node);
    let _ = node.kill();
    let output = node.wait_with_output().unwrap();
    let serving = ready
        .unwrap_or_else(|e| panic!("{e}; stderr: {}", String::from_utf8_lossy(&output.stderr)));
    assert_eq!(
        serving["block_number"], summary["block_number"],
        "{serving}"
    );
    assert_eq!(serving["chain_id"], summary["chain_id"], "{serving}");

    // `medshare serve --data-dir` opens the same kept state itself and serves the web app's
    // API over it: the first patient's audit trail as the demo left it.
    let mut serve = Command::new(env!("CARGO_BIN_EXE_medshare"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--rpc-addr",
            "127.0.0.1:0",
            "--json",
            "--data-dir",
        ])
        .arg(&state)
        .env("MEDSHARE_PASSWORD", PASSWORD)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let answer = ready_line(&mut serve).map(|serving| {
        let addr = serving["url"]
            .as_str()
            .unwrap()
            .strip_prefix("http://")
            .unwrap()
            .to_owned();
        let patient = summary["patient"].as_str().unwrap();
        (
            serving,
            http_get(&addr, &format!("/api/owners/{patient}/audit")),
        )
    });
    let _ = serve.kill();
    let output = serve.wait_with_output().unwrap();
    let (serving, trail) = answer
        .unwrap_or_else(|e| panic!("{e}; stderr: {}", String::from_utf8_lossy(&output.stderr)));
    assert_eq!(
        serving["block_number"], summary["block_number"],
        "{serving}"
    );
    assert_eq!(trail["total"], summary["audit_entries"], "{trail}");
    assert!(trail["total"].as_u64().unwrap() >= 1, "{trail}");
}

/// `GET path` from `addr`; its JSON body (the status must be 200).
fn http_get(addr: &str, path: &str) -> serde_json::Value {
    let (status, body) = medshare_testkit::process::http_get(addr, path).unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}
