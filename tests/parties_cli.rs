//! Every party in its own process, each with its own keystore, talking to the others only
//! through `medshare node` (JSON-RPC) and the store: governance deploys and allowlists the
//! enclave program, the TEE (`medshare-enclave`) submits its key and evidence, governance
//! verifies and admits it, patients upload and consent, the demander submits and decrypts, the
//! reviewer approves, the TEE runs the job, a patient reads its audit trail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use medshare_testkit::{TEST_PASSWORD, process::Node};
use serde_json::Value;
use std::{
    path::{Path, PathBuf},
    process::Command,
};

const WDBC: &str = include_str!("../data/wdbc/wdbc.csv");

struct Env {
    dir: tempfile::TempDir,
    rpc: String,
}

impl Env {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `medshare ARGS` with the connection flags (in the environment).
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_medshare"));
        command
            .args(args)
            .env("MEDSHARE_PASSWORD", TEST_PASSWORD)
            .env("MEDSHARE_RPC", &self.rpc)
            .env("MEDSHARE_DEPLOYMENT", self.path("deployment.json"))
            .env("MEDSHARE_STORE", self.path("store"))
            .env("MEDSHARE_ENCLAVE_DIR", self.path("enclave"))
            .env("RUST_BACKTRACE", "0");
        command
    }

    /// Runs `medshare ARGS` with the connection flags; returns stdout, failing on error.
    fn run(&self, args: &[&str]) -> String {
        let out = self.command(args).output().unwrap();
        assert!(
            out.status.success(),
            "medshare {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs `medshare ARGS --json`, which must fail; returns its JSON error object.
    fn json_error(&self, args: &[&str]) -> Value {
        let out = self.command(args).arg("--json").output().unwrap();
        assert!(!out.status.success(), "medshare {args:?} succeeded");
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        serde_json::from_str(&self.run(&args)).unwrap()
    }

    /// Runs `medshare enclave worker --json` over the node's WebSocket with `jobs` on stdin, one
    /// per line; returns its output lines.
    fn worker(&self, jobs: &[&str]) -> Vec<Value> {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_medshare"))
            .args(["enclave", "worker", "--json"])
            .env("MEDSHARE_RPC", self.rpc.replacen("http://", "ws://", 1))
            .env("MEDSHARE_DEPLOYMENT", self.path("deployment.json"))
            .env("MEDSHARE_STORE", self.path("store"))
            .env("MEDSHARE_ENCLAVE_DIR", self.path("enclave"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        for job in jobs {
            writeln!(stdin, "{job}").unwrap();
        }
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "medshare enclave worker failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn key(&self, name: &str) -> Value {
        let path = self.path(&format!("{name}.json"));
        self.json(&["key", "new", "--light-kdf", path.to_str().unwrap()])
    }
}

fn ks(env: &Env, name: &str) -> String {
    env.path(&format!("{name}.json")).display().to_string()
}

#[test]
fn each_party_in_its_own_process() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::spawn(
        Path::new(env!("CARGO_BIN_EXE_medshare")),
        &dir.path().join("node"),
        &[],
    )
    .unwrap();
    let env = Env {
        dir,
        rpc: node.endpoint(),
    };
    for party in ["admin", "alice", "bob", "carol", "lab", "reviewer"] {
        env.key(party);
    }
    let reviewer_key = env.json(&["key", "show", &ks(&env, "reviewer")])["public_key"]
        .as_str()
        .unwrap()
        .to_owned();

    // Governance.
    let out = env.path("deployment.json").display().to_string();
    env.run(&["deploy", "--keystore", &ks(&env, "admin"), "--out", &out]);
    // A second deploy does not replace the deployment file the parties use, unless forced.
    let again = Command::new(env!("CARGO_BIN_EXE_medshare"))
        .args(["deploy", "--keystore", &ks(&env, "admin"), "--out", &out])
        .env("MEDSHARE_PASSWORD", TEST_PASSWORD)
        .env("MEDSHARE_RPC", &env.rpc)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("--force"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let enclave_program =
        Path::new(env!("CARGO_BIN_EXE_medshare")).with_file_name("medshare-enclave");
    assert!(
        enclave_program.exists(),
        "{} is missing: build the workspace (cargo build --workspace)",
        enclave_program.display()
    );
    env.run(&[
        "governance",
        "measurement",
        "--keystore",
        &ks(&env, "admin"),
        "--enclave-binary",
        enclave_program.to_str().unwrap(),
    ]);
    env.run(&[
        "governance",
        "accept-simulated",
        "--keystore",
        &ks(&env, "admin"),
        "--accept",
        "true",
    ]);
    // The data type's rules: this small test cohort needs a floor of 10 (the default is 50).
    let rules = env.json(&[
        "governance",
        "data-type",
        "--keystore",
        &ks(&env, "admin"),
        "--data-type",
        "breast-cancer-wdbc",
        "--min-cohort",
        "10",
    ]);
    assert_eq!(rules["min_cohort"], 10);
    assert_eq!(rules["allow_non_private"], false);
    env.run(&[
        "governance",
        "appoint-reviewer",
        "--keystore",
        &ks(&env, "admin"),
        "--public-key",
        &reviewer_key,
    ]);

    // The TEE, in its own process, submits its key and evidence; it is not active until
    // governance has verified the evidence and admitted it.
    let tee = env.json(&["enclave", "register"]);
    let tee_address = tee["address"].as_str().unwrap().to_owned();
    assert_eq!(tee["evidence"], "simulated");
    assert_eq!(tee["headers_verified"], true);
    let admitted = env.json(&[
        "governance",
        "admit-tee",
        "--keystore",
        &ks(&env, "admin"),
        "--tee",
        &tee_address,
    ]);
    assert_eq!(admitted["kind"], "simulated");
    assert_eq!(admitted["measurement"], tee["measurement"]);

    // Two patients upload their records (CSV rows of the breast cancer data).
    let rows: Vec<&str> = WDBC.lines().collect();
    for (name, range) in [("alice", 1..8), ("bob", 200..208)] {
        let csv = env.path(&format!("{name}.csv"));
        let mut text = rows[0].to_owned() + "\n";
        for line in &rows[range] {
            text += line;
            text += "\n";
        }
        std::fs::write(&csv, text).unwrap();
        env.run(&["user", "register", "--keystore", &ks(&env, name)]);
        let up = env.json(&[
            "user",
            "upload",
            "--keystore",
            &ks(&env, name),
            "--input",
            csv.to_str().unwrap(),
            "--tee",
            &tee_address,
        ]);
        assert_eq!(
            up["registered"].as_array().unwrap().len(),
            7 + usize::from(name == "bob")
        );
    }

    interrupted_upload_resumes(&env, &tee_address, &rows);

    // The lab submits; the reviewer sees it and approves.
    env.run(&["demander", "register", "--keystore", &ks(&env, "lab")]);
    std::fs::write(
        env.path("model.json"),
        r#"{"kind":{"type":"logistic_regression","l2":1.0,"max_iterations":200,"tolerance":1e-6},
           "features":["radius_mean","texture_mean","concave_points_worst"],"label":"diagnosis","seed":3,
           "privacy":{"epsilon":1.0,"delta":1e-5}}"#,
    )
    .unwrap();
    std::fs::write(
        env.path("requirement.json"),
        r#"{"data_type":"breast-cancer-wdbc","features":["radius_mean","texture_mean","concave_points_worst"],"label":"diagnosis","min_cohort":10}"#,
    )
    .unwrap();
    let job = env.json(&[
        "demander",
        "submit",
        "--keystore",
        &ks(&env, "lab"),
        "--model",
        env.path("model.json").to_str().unwrap(),
        "--requirement",
        env.path("requirement.json").to_str().unwrap(),
    ])["job"]
        .as_str()
        .unwrap()
        .to_owned();
    let pending = env.json(&["reviewer", "list", "--keystore", &ks(&env, "reviewer")]);
    assert_eq!(pending[0]["job"], job.as_str());
    // Consent before the review: the contract's refusal, in plain words with the next command.
    // `medshare user grant --all` of `who`'s records to the job.
    let grant_all = |who: &str| {
        [
            "user".to_owned(),
            "grant".to_owned(),
            "--keystore".to_owned(),
            ks(&env, who),
            "--job".to_owned(),
            job.clone(),
            "--all".to_owned(),
        ]
    };
    let early = env.json_error(&grant_all("alice").each_ref().map(String::as_str));
    assert!(
        early["error"].as_str().unwrap().contains("JobNotApproved"),
        "{early}"
    );
    let hint = early["hint"].as_str().unwrap();
    assert!(hint.contains("has not approved"), "{hint}");
    assert!(
        hint.contains(&format!("medshare reviewer approve --job {job}")),
        "{hint}"
    );
    assert_eq!(pending[0]["requirement"]["min_cohort"], 10);
    env.run(&[
        "reviewer",
        "approve",
        "--keystore",
        &ks(&env, "reviewer"),
        "--job",
        &job,
    ]);

    // Alice and Bob consent.
    for who in ["alice", "bob"] {
        env.run(&grant_all(who).each_ref().map(String::as_str));
    }

    // The TEE runs the job in its own process: a worker that takes job ids on stdin, over the
    // node's WebSocket. A line that is not a job id is refused and the worker goes on.
    let lines = env.worker(&["not-a-job", &job]);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0]["ready"], true, "{lines:?}");
    assert!(
        lines[0]["tee"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case(&tee_address)
    );
    assert!(
        lines[1]["error"].as_str().unwrap().contains("not a job id"),
        "{lines:?}"
    );
    let report = &lines[2];
    assert_eq!(report["records_used"], 15, "{report}");
    assert_eq!(report["model_ok"], true);
    // The job is done: assigned again, it is refused, not run twice.
    let again = env.worker(&[&job]);
    assert!(again[1]["error"].is_string(), "{again:?}");

    // The lab decrypts the result; Alice reads her audit trail.
    let result = env.json(&[
        "demander",
        "result",
        "--keystore",
        &ks(&env, "lab"),
        "--job",
        &job,
    ]);
    assert_eq!(result["records_used"], 15);
    // Under differential privacy each record is held out on its own coin: with 15 records, one
    // run in about 75 holds out none and is released without metrics.
    if result["test_size"] != 0 {
        assert!(result["metrics"]["accuracy"].as_f64().is_some(), "{result}");
    } else {
        assert!(result["metrics"].is_null(), "{result}");
    }
    let trail = env.json(&["user", "audit", "--keystore", &ks(&env, "alice")]);
    let trail = trail.as_array().unwrap();
    assert_eq!(trail.len(), 7);
    assert!(trail.iter().all(|e| {
        e["job"] == job.as_str()
            && e["tee"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case(&tee_address)
    }));
    // Each use shows the ε it cost and the record's budget: 3 (the grant's default), 1 spent.
    assert!(
        trail.iter().all(|e| e["outcome"] == "used"
            && e["epsilon_milli"] == 1000
            && e["budget_milli"] == 3000
            && e["spent_milli"] == 1000),
        "{trail:?}"
    );
    // Each use is dated: the block's time, RFC 3339 in UTC, and in the text a date people read.
    let year = |t: &str| t.get(..4).and_then(|y| y.parse::<u32>().ok());
    assert!(
        trail.iter().all(|e| {
            let t = e["time"].as_str().unwrap();
            t.ends_with('Z') && t.get(10..11) == Some("T") && year(t) >= Some(2024)
        }),
        "{trail:?}"
    );
    let text = env.run(&["user", "audit", "--keystore", &ks(&env, "alice")]);
    assert!(text.contains("ε spent 1 (budget 3, 2 left)"), "{text}");
    assert!(text.contains(" UTC (block "), "{text}");
}

/// A file over the import limit is refused by its size, before it is read (a sparse file: no
/// disk or memory is spent on it) and before any key, node or store is touched.
#[test]
fn an_upload_over_the_size_limit_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.csv");
    let max = medshare_records::csv::MAX_CSV_BYTES as u64;
    std::fs::File::create(&big)
        .unwrap()
        .set_len(max + 1)
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_medshare"))
        .args(["user", "upload", "--keystore"])
        .arg(dir.path().join("absent.json"))
        .arg("--input")
        .arg(&big)
        .args(["--tee", "0x0000000000000000000000000000000000000001"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "is {} bytes; a CSV file is at most {max} bytes",
            max + 1
        )),
        "{stderr}"
    );
}

/// Carol's upload of 1,000 records is killed (SIGKILL) once its first batch has landed. At that
/// moment every record of hers on chain is in her state file or in the upload's journal (never
/// registered without its pad kept); a plain upload refuses to start over, and `--resume`
/// finishes: each of the 1,000 records registered exactly once, all in the state file.
fn interrupted_upload_resumes(env: &Env, tee: &str, rows: &[&str]) {
    const RECORDS: usize = 1_000;
    let csv = env.path("carol.csv");
    let mut text = rows[0].to_owned() + "\n";
    for i in 0..RECORDS {
        text += rows[1 + i % (rows.len() - 1)];
        text += "\n";
    }
    std::fs::write(&csv, text).unwrap();
    env.run(&["user", "register", "--keystore", &ks(env, "carol")]);
    let upload = |extra: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_medshare"));
        command
            .args([
                "user",
                "upload",
                "--json",
                "--keystore",
                &ks(env, "carol"),
                "--input",
            ])
            .arg(&csv)
            .args(["--tee", tee])
            .args(extra)
            .env("MEDSHARE_PASSWORD", TEST_PASSWORD)
            .env("MEDSHARE_RPC", &env.rpc)
            .env("MEDSHARE_DEPLOYMENT", env.path("deployment.json"))
            .env("MEDSHARE_STORE", env.path("store"));
        command
    };
    let state_path = env.path("carol.records.json");
    let journal_path = env.path("carol.records.upload.json");
    let state = || -> Vec<Value> {
        std::fs::read(&state_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    };
    let hashes = |records: &[Value]| -> std::collections::BTreeSet<String> {
        records
            .iter()
            .map(|r| r["record"]["ciphertextHash"].as_str().unwrap().to_owned())
            .collect()
    };

    let mut child = upload(&[])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while state().is_empty() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(300),
            "no batch landed"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the upload finished before it could be interrupted"
    );
    child.kill().unwrap();
    child.wait().unwrap();

    let on_chain = carol_on_chain(env);
    let kept = state();
    let journal: Value = serde_json::from_slice(&std::fs::read(&journal_path).unwrap()).unwrap();
    let mut known = hashes(&kept);
    known.extend(hashes(journal["pending"].as_array().unwrap()));
    assert!(
        on_chain.len() < RECORDS,
        "the kill came after the last batch"
    );
    let orphans: Vec<_> = on_chain.keys().filter(|h| !known.contains(*h)).collect();
    assert!(
        orphans.is_empty(),
        "registered without a kept pad: {orphans:?}"
    );

    let out = upload(&[]).output().unwrap();
    assert!(!out.status.success());
    // Under --json the error is a JSON object on stdout.
    let refused: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        refused["error"].as_str().unwrap().contains("--resume"),
        "{refused}"
    );

    let out = upload(&["--resume"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!journal_path.exists(), "the journal outlived the upload");
    let kept = state();
    assert_eq!(kept.len(), RECORDS);
    assert_eq!(hashes(&kept).len(), RECORDS);
    let on_chain = carol_on_chain(env);
    assert_eq!(on_chain.len(), RECORDS, "every record registered");
    assert!(
        on_chain.values().all(|n| *n == 1),
        "a record registered twice"
    );
    assert_eq!(
        on_chain
            .keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        hashes(&kept)
    );
}

/// Carol's `RecordRegistered` events: how many times each ciphertext hash was registered.
fn carol_on_chain(env: &Env) -> std::collections::BTreeMap<String, usize> {
    use medshare_ledger::{Filter, Ledger, rpc::RpcLedger};
    let carol: alloy_primitives::Address = env.json(&["key", "show", &ks(env, "carol")])["address"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let (_, deployment) = medshare_chain::read_deployment(&env.path("deployment.json")).unwrap();
    let ledger = RpcLedger::connect(&env.rpc).unwrap();
    let filter = Filter::new()
        .address(deployment.data)
        .event_signature(<medshare_contracts::Data::RecordRegistered as alloy_sol_types::SolEvent>::SIGNATURE_HASH)
        .topic1(carol.into_word())
        .from_block(0);
    let logs = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(medshare_ledger::logs_paged(&ledger as &dyn Ledger, &filter))
        .unwrap();
    let mut out = std::collections::BTreeMap::new();
    for log in logs {
        // RecordRegistered(owner indexed, dataType indexed, ciphertextHash indexed, commitment).
        *out.entry(log.topics()[3].to_string()).or_default() += 1;
    }
    out
}
