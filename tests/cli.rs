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
