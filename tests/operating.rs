//! docs/operating.md cannot go stale: this test runs every `sh` block of it, in order, in one
//! bash shell (`set -euo pipefail`: the first failing command fails the test), with the built
//! `medshare` and `medshare-enclave` first on `PATH` and a fresh home directory. A block after
//! `<!-- walkthrough: keeps running, ready when it prints "TEXT" -->` is started in the
//! background, as in a terminal of its own, and the next block waits until its output shows
//! TEXT; background processes are stopped when the shell exits.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::Path, process::Command};

/// One `sh` block of the page, and the text that says it is ready when it keeps running.
struct Block {
    code: String,
    ready: Option<String>,
}

fn blocks(page: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut ready = None;
    let mut lines = page.lines();
    while let Some(line) = lines.next() {
        if let Some(rest) =
            line.strip_prefix("<!-- walkthrough: keeps running, ready when it prints \"")
        {
            ready = Some(rest.split('"').next().unwrap().to_owned());
            continue;
        }
        if line.trim_end() == "```sh" {
            let mut code = String::new();
            for l in lines.by_ref() {
                if l.trim_end() == "```" {
                    break;
                }
                code.push_str(l);
                code.push('\n');
            }
            out.push(Block {
                code,
                ready: ready.take(),
            });
        } else if !line.trim().is_empty() {
            // A marker applies to the block right after it.
            ready = None;
        }
    }
    out
}

/// The page as one script.
fn script(blocks: &[Block]) -> String {
    let mut s = String::from(
        "set -euo pipefail\n\
         trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true' EXIT\n",
    );
    for (i, b) in blocks.iter().enumerate() {
        s.push_str(&format!("echo '### block {i}'\n"));
        match &b.ready {
            None => s.push_str(&b.code),
            Some(text) => {
                let log = format!("\"$OPERATING_LOGS/block-{i}.log\"");
                s.push_str(&format!("(\n{}) > {log} 2>&1 &\n", b.code));
                // Wait for the ready text (at most 120 s), failing if the process ends first.
                s.push_str(&format!(
                    "for _ in $(seq 1200); do grep -qF '{text}' {log} && break; \
                     kill -0 $! 2>/dev/null || {{ cat {log}; exit 1; }}; sleep 0.1; done\n\
                     grep -qF '{text}' {log} || {{ cat {log}; echo 'never ready'; exit 1; }}\n"
                ));
            }
        }
    }
    s
}

#[test]
fn the_operating_walkthrough_runs_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let page = std::fs::read_to_string(root.join("docs/operating.md")).unwrap();
    let blocks = blocks(&page);
    assert!(blocks.len() >= 10, "the page's sh blocks: {}", blocks.len());
    assert_eq!(
        blocks.iter().filter(|b| b.ready.is_some()).count(),
        1,
        "the node keeps running"
    );
    let medshare = Path::new(env!("CARGO_BIN_EXE_medshare"));
    let bin = medshare.parent().unwrap();
    assert!(
        bin.join("medshare-enclave").exists(),
        "medshare-enclave is missing beside medshare: build the workspace (cargo build --workspace)"
    );
    let probe = std::net::TcpListener::bind("127.0.0.1:8545");
    assert!(
        probe.is_ok(),
        "the walkthrough's node listens on 127.0.0.1:8545, which is taken on this machine"
    );
    drop(probe);

    let home = tempfile::tempdir().unwrap();
    let logs = home.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(script(&blocks))
        .current_dir(home.path())
        .env("HOME", home.path())
        .env("PATH", path)
        .env("OPERATING_LOGS", &logs)
        .env_remove("MEDSHARE_RPC")
        .env_remove("MEDSHARE_STORE")
        .env_remove("MEDSHARE_DEPLOYMENT")
        .env_remove("MEDSHARE_KEYSTORE")
        .env_remove("MEDSHARE_ENCLAVE_DIR")
        .env_remove("MEDSHARE_NODE_DIR")
        .env_remove("MEDSHARE_PASSWORD")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the walkthrough failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    eprintln!("{stdout}");
    // The last block is Alice's audit trail: her six records, each used by the job.
    let audit = stdout.rsplit("### block").next().unwrap();
    assert_eq!(
        audit.matches("used").count(),
        6,
        "Alice's audit trail:\n{audit}"
    );
    assert!(audit.contains("ε spent 1 (budget 3, 2 left)"), "{audit}");
}
