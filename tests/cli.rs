//! The command line explains itself: `medshare schema` shows the data types, and output into a
//! closed pipe ends quietly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};

fn medshare() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_medshare"));
    command
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    command
}

#[test]
fn schema_list_and_show_describe_the_built_in_data_types() {
    let out = medshare()
        .args(["schema", "list", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed[0]["name"], "breast-cancer-wdbc");
    assert_eq!(listed[0]["features"], 30);

    let out = medshare()
        .args(["schema", "show", "breast-cancer-wdbc"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("radius_mean"), "{text}");
    assert!(
        text.contains("[0, 40]"),
        "the public clipping range: {text}"
    );
    assert!(text.contains("0 = benign, 1 = malignant"), "{text}");

    // `--json` prints a schema file that `schema show` (and governance) read back.
    let out = medshare()
        .args(["schema", "show", "breast-cancer-wdbc", "--json"])
        .output()
        .unwrap();
    let schema = medshare_records::Schema::from_json(&out.stdout).unwrap();
    assert_eq!(schema, medshare_records::Schema::wdbc());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.json");
    std::fs::write(&file, &out.stdout).unwrap();
    let out = medshare()
        .args(["schema", "show", "--json"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        medshare_records::Schema::from_json(&out.stdout).unwrap(),
        schema
    );

    let out = medshare()
        .args(["schema", "show", "no-such-type"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "neither a built-in data type (breast-cancer-wdbc, cardiometabolic) nor a schema file"
        ),
        "{err}"
    );
}

/// `medshare … | head`: when the reader closes the pipe, the command stops without an error
/// message or a panic, and with success.
#[test]
fn a_closed_pipe_ends_output_quietly() {
    let mut child = medshare()
        .args(["schema", "show", "breast-cancer-wdbc"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Closed before the command writes its first line.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.is_empty(), "{err}");
}

/// A failure under `--json` is one JSON object on stdout, `error` and `hint`, and a non-zero
/// exit; without `--json` the hint follows the error on stderr.
#[test]
fn a_failure_says_what_and_what_next_in_json_too() {
    let dir = tempfile::tempdir().unwrap();
    let keystore = dir.path().join("k.json");
    let made = medshare()
        .args(["key", "new", "--light-kdf"])
        .arg(&keystore)
        .env("MEDSHARE_PASSWORD", "a password for a test")
        .output()
        .unwrap();
    assert!(made.status.success());
    // Port 1 on loopback: nothing listens there.
    let closed = [
        "reviewer",
        "list",
        "--rpc",
        "http://127.0.0.1:1",
        "--keystore",
    ];
    let out = medshare()
        .args(closed)
        .arg(&keystore)
        .arg("--json")
        .env("MEDSHARE_PASSWORD", "a password for a test")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let error: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        error["error"].as_str().unwrap().contains("127.0.0.1:1"),
        "{error}"
    );
    assert!(
        error["hint"].as_str().unwrap().contains("medshare node"),
        "{error}"
    );

    let out = medshare()
        .args(closed)
        .arg(&keystore)
        .env("MEDSHARE_PASSWORD", "a password for a test")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("hint: nothing answers at the JSON-RPC endpoint"),
        "{err}"
    );
}

/// `demander spec --example KIND` prints a spec and a requirement that parse, fit each other and
/// the built-in data type they name; `--json-schema` describes both formats.
#[test]
fn spec_examples_are_valid_and_the_formats_have_json_schemas() {
    for kind in ["logistic_regression", "decision_tree", "ridge_regression"] {
        let spec = medshare()
            .args(["demander", "spec", "--example", kind])
            .output()
            .unwrap();
        assert!(spec.status.success(), "{kind}");
        let spec = medshare_training::ModelSpec::from_json(&spec.stdout).unwrap();
        let requirement = medshare()
            .args(["demander", "spec", "--example", kind, "--requirement"])
            .output()
            .unwrap();
        let requirement =
            medshare_records::DataRequirement::from_json(&requirement.stdout).unwrap();
        let schema = medshare_records::Schema::builtin(&requirement.data_type).unwrap();
        requirement.check_against(&schema).unwrap();
        assert!(
            spec.features
                .iter()
                .all(|f| requirement.features.contains(f))
        );
        assert_eq!(spec.label, requirement.label);
        assert_eq!(
            spec.kind.is_classifier(),
            schema.label.is_categorical(),
            "{kind}: a classifier on a categorical label, a regression on a numeric one"
        );
    }
    let out = medshare()
        .args(["demander", "spec", "--json-schema"])
        .output()
        .unwrap();
    let schemas: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for field in ["kind", "features", "label", "seed", "privacy"] {
        assert!(
            schemas["model"]["properties"].get(field).is_some(),
            "{field}"
        );
    }
    for field in ["data_type", "features", "label", "min_cohort"] {
        assert!(
            schemas["requirement"]["properties"].get(field).is_some(),
            "{field}"
        );
    }
    assert!(schemas.to_string().contains(r#"{"const":"inf"}"#));
}

/// The leaf commands `medshare` lists in its help, through `enclave` and `bench` (programs of
/// their own): each as its words, e.g. `["user", "grant"]`, with its `--help`.
fn leaf_commands() -> Vec<(Vec<String>, String)> {
    fn commands_in(help: &str) -> Vec<String> {
        help.lines()
            .skip_while(|l| !l.starts_with("Commands:"))
            .skip(1)
            .take_while(|l| !l.trim().is_empty())
            // A command's line is indented by two spaces; its wrapped description, by more.
            .filter(|l| !l.starts_with("   "))
            .filter_map(|l| l.split_whitespace().next())
            .filter(|c| *c != "help")
            .map(str::to_owned)
            .collect()
    }
    let help = |words: &[String]| {
        let out = medshare().args(words).arg("--help").output().unwrap();
        assert!(out.status.success(), "{words:?} --help");
        String::from_utf8(out.stdout).unwrap()
    };
    let mut leaves = Vec::new();
    let mut pending: Vec<Vec<String>> = vec![vec![]];
    while let Some(words) = pending.pop() {
        let text = help(&words);
        let subs = commands_in(&text);
        if subs.is_empty() {
            leaves.push((words, text));
            continue;
        }
        for s in subs {
            let mut next = words.clone();
            next.push(s);
            pending.push(next);
        }
    }
    leaves.sort();
    leaves
}

/// Every command honours `--json`: run with it, each prints one JSON value on stdout, and a
/// failure (a node that does not answer, a missing file, a malformed address, an out-of-range
/// flag: a mistyped number, so that no benchmark runs) is a JSON object with `error` and `hint`
/// and a non-zero exit. The table must name every
/// command the help lists, so a new command without JSON output fails here.
#[test]
fn every_command_answers_in_json_its_failures_included() {
    let dir = tempfile::tempdir().unwrap();
    let keystore = dir.path().join("k.json");
    let made = medshare()
        .args(["key", "new", "--light-kdf", "--json"])
        .arg(&keystore)
        .env("MEDSHARE_PASSWORD", "a password for a test")
        .output()
        .unwrap();
    assert!(made.status.success());
    let made: serde_json::Value = serde_json::from_slice(&made.stdout).unwrap();
    assert!(
        made["address"].as_str().unwrap().starts_with("0x"),
        "{made}"
    );

    let job = format!("0x{}", "11".repeat(32));
    let address = format!("0x{}", "22".repeat(20));
    // What each command is given ({ks}: a real keystore; {job}, {address}: well formed), and
    // whether it succeeds. The node at --rpc (MEDSHARE_RPC) never answers: port 1 on loopback.
    let cases: &[(&str, &str, bool)] = &[
        ("bench crash", "--kills x", false),
        ("bench faults", "--records x", false),
        ("bench gas", "--batch x", false),
        ("bench job-start", "--sizes x", false),
        ("bench ledger", "--patients x", false),
        ("bench load", "--clients x", false),
        ("bench paper", "--out", false),
        ("bench privacy", "--splits x", false),
        ("demander register", "--keystore {ks}", false),
        ("demander result", "--keystore {ks} --job {job}", false),
        ("demander spec", "--example decision_tree", true),
        (
            "demander submit",
            "--keystore {ks} --model {dir}/none.json --requirement {dir}/none.json",
            false,
        ),
        ("demo", "--csv {dir}/none.csv", false),
        ("deploy", "--keystore {ks}", false),
        ("enclave measurement", "", true),
        ("enclave register", "--enclave-dir {dir}/enclave", false),
        (
            "enclave run",
            "--job {job} --enclave-dir {dir}/enclave",
            false,
        ),
        ("enclave worker", "--enclave-dir {dir}/enclave", false),
        (
            "governance accept-simulated",
            "--keystore {ks} --accept true",
            false,
        ),
        (
            "governance accept-unverified-headers",
            "--keystore {ks} --accept true",
            false,
        ),
        (
            "governance add-admin",
            "--keystore {ks} --address {address}",
            false,
        ),
        (
            "governance admit-tee",
            "--keystore {ks} --tee {address}",
            false,
        ),
        (
            "governance appoint-reviewer",
            "--keystore {ks} --public-key 0x04",
            false,
        ),
        (
            "governance data-type",
            "--keystore {ks} --data-type breast-cancer-wdbc",
            false,
        ),
        ("governance measurement", "--keystore {ks}", false),
        (
            "governance remove-reviewer",
            "--keystore {ks} --address not-an-address",
            false,
        ),
        (
            "governance revoke-tee",
            "--keystore {ks} --address {address}",
            false,
        ),
        ("key new", "{ks}", false),
        ("key show", "{ks}", true),
        ("node", "--data-dir {ks}", false),
        ("reviewer approve", "--keystore {ks} --job {job}", false),
        ("reviewer list", "--keystore {ks}", false),
        (
            "reviewer reject",
            "--keystore {ks} --job {job} --reason r",
            false,
        ),
        ("schema list", "", true),
        ("schema show", "cardiometabolic", true),
        ("serve", "", false),
        ("user audit", "--keystore {ks}", false),
        ("user grant", "--keystore {ks} --job {job} --all", false),
        (
            "user policy",
            "--keystore {ks} --data-type breast-cancer-wdbc --allow",
            false,
        ),
        ("user register", "--keystore {ks}", false),
        ("user revoke", "--keystore {ks} --job {job} --all", false),
        (
            "user upload",
            "--keystore {ks} --input {dir}/none.csv --tee {address}",
            false,
        ),
    ];
    let listed: Vec<String> = leaf_commands().iter().map(|(w, _)| w.join(" ")).collect();
    let named: Vec<String> = cases.iter().map(|(c, _, _)| (*c).to_owned()).collect();
    assert_eq!(listed, named, "every command the help lists, and no other");

    let d = dir.path().display().to_string();
    for (command, args, succeeds) in cases {
        let args = args
            .replace("{ks}", keystore.to_str().unwrap())
            .replace("{dir}", &d)
            .replace("{job}", &job)
            .replace("{address}", &address);
        let out = medshare()
            .args(command.split(' '))
            .args(args.split_whitespace())
            .arg("--json")
            .current_dir(dir.path())
            .env("MEDSHARE_PASSWORD", "a password for a test")
            .env("MEDSHARE_RPC", "http://127.0.0.1:1")
            .env("MEDSHARE_STORE", dir.path().join("store"))
            .env("MEDSHARE_DEPLOYMENT", dir.path().join("deployment.json"))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let value: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "`{command} {args} --json` printed no JSON ({e}): {stdout}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert_eq!(
            out.status.success(),
            *succeeds,
            "`{command} {args}`: {value}"
        );
        if !succeeds {
            assert!(
                value["error"].as_str().is_some_and(|e| !e.is_empty()),
                "`{command} {args}`: {value}"
            );
            assert!(value.get("hint").is_some(), "`{command} {args}`: {value}");
        }
    }
}

/// Every command's `--help` shows how it is used: at least one example command line.
#[test]
fn every_command_shows_an_example() {
    for (words, help) in leaf_commands() {
        let examples = help
            .lines()
            .skip_while(|l| !l.trim_start().starts_with("Example"))
            .skip(1)
            .filter(|l| l.trim_start().starts_with("medshare ") || l.contains("| medshare "))
            .count();
        assert!(
            examples > 0,
            "`medshare {} --help` shows no example:\n{help}",
            words.join(" ")
        );
    }
}
