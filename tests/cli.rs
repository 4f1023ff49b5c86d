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
    assert!(text.contains("benign = 0, malignant = 1"), "{text}");

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
        err.contains("neither a built-in data type (breast-cancer-wdbc) nor a schema file"),
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
