//! `medshare serve` as a user runs it: over `medshare node` and a deployment made by `medshare
//! deploy`, reached over HTTP. (The API's routes are tested in `crates/api/tests/api.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use medshare_testkit::{
    TEST_PASSWORD,
    process::{DemoServe, Node, http_get},
};
use std::{
    io::{BufRead, BufReader, Read, Write},
    path::Path,
    process::{Child, Command, Stdio},
};

fn medshare(dir: &Path, rpc: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_medshare"));
    command
        .env("MEDSHARE_PASSWORD", TEST_PASSWORD)
        .env("MEDSHARE_RPC", rpc)
        .env("MEDSHARE_DEPLOYMENT", dir.join("deployment.json"))
        .env("MEDSHARE_STORE", dir.join("store"))
        .env("RUST_BACKTRACE", "0");
    command
}

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET path`: the status code (as text) and the body.
fn get(addr: &str, path: &str) -> (String, String) {
    let (status, body) = http_get(addr, path).unwrap();
    (status.to_string(), body)
}

/// `medshare node` with the contracts deployed by `medshare deploy`: the directory (with
/// deployment.json), the node, its endpoint.
fn deployed() -> (tempfile::TempDir, Node, String) {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::spawn(
        Path::new(env!("CARGO_BIN_EXE_medshare")),
        &dir.path().join("node"),
        &[],
    )
    .unwrap();
    let rpc = node.endpoint();
    let admin = dir.path().join("admin.json");
    let made = medshare(dir.path(), &rpc)
        .args(["key", "new", "--light-kdf"])
        .arg(&admin)
        .output()
        .unwrap();
    assert!(made.status.success());
    let deployed = medshare(dir.path(), &rpc)
        .args(["deploy", "--keystore"])
        .arg(&admin)
        .arg("--out")
        .arg(dir.path().join("deployment.json"))
        .output()
        .unwrap();
    assert!(
        deployed.status.success(),
        "{}",
        String::from_utf8_lossy(&deployed.stderr)
    );
    (dir, node, rpc)
}

#[test]
fn serve_answers_on_loopback_for_a_deployment() {
    let (dir, _node, rpc) = deployed();
    // Loopback unless told otherwise.
    let help = medshare(dir.path(), &rpc)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&help.stdout).contains("[default: 127.0.0.1:8080]"),
        "{}",
        String::from_utf8_lossy(&help.stdout)
    );

    let mut child = medshare(dir.path(), &rpc)
        .args(["serve", "--addr", "127.0.0.1:0", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let serving: serde_json::Value = serde_json::from_str(&line).unwrap();
    let url = serving["url"].as_str().unwrap();
    let addr = url.strip_prefix("http://").unwrap();
    assert!(addr.starts_with("127.0.0.1:"), "{serving}");

    let (status, body) = get(addr, "/api/info");
    assert!(status.contains("200"), "{status}: {body}");
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(info["chain_id"], serving["chain_id"]);
    let deployment: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("deployment.json")).unwrap())
            .unwrap();
    assert_eq!(
        info["contracts"]["registration"]
            .as_str()
            .unwrap()
            .to_lowercase(),
        deployment["contracts"]["registration"]
            .as_str()
            .unwrap()
            .to_lowercase(),
        "{info}\n{deployment}"
    );
    let (status, body) = get(addr, "/api/jobs/0x12");
    assert!(status.contains("400"), "{status}: {body}");
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(error["error"].as_str().unwrap().contains("job"), "{error}");
}

#[test]
fn serve_warns_when_other_machines_can_reach_it() {
    let (dir, _node, rpc) = deployed();
    let mut child = medshare(dir.path(), &rpc)
        .args(["serve", "--addr", "0.0.0.0:0", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The warning comes before the ready line; once ready, stop it and read what it said.
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("\"url\""), "{line}");
    child.kill().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    child.wait().unwrap();
    assert!(
        stderr.contains("which other machines can reach"),
        "{stderr}"
    );
}

#[test]
fn serve_without_a_node_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let out = medshare(dir.path(), "http://127.0.0.1:1")
        .args(["serve", "--addr", "127.0.0.1:0", "--json"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let error: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        error["error"].as_str().unwrap().contains("127.0.0.1:1"),
        "{error}"
    );
}

/// A JSON-RPC call over plain HTTP/1.1 to `endpoint` (`http://ADDR`); the `result`.
fn rpc_call(endpoint: &str, method: &str) -> serde_json::Value {
    let addr = endpoint
        .strip_prefix("http://")
        .unwrap()
        .trim_end_matches('/');
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":[]}}"#);
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    let answer: serde_json::Value = serde_json::from_str(body).unwrap();
    answer["result"].clone()
}

#[test]
fn demo_serve_leaves_its_chain_and_store_behind_the_web_app() {
    let demo = DemoServe::spawn(
        Path::new(env!("CARGO_BIN_EXE_medshare")),
        &["--patients", "20"],
    )
    .unwrap();
    let (summary, addr) = (&demo.summary, demo.addr());
    assert_eq!(summary["records_used"], 20, "{summary}");
    assert!(addr.starts_with("127.0.0.1:"), "{}", demo.serving);
    assert_eq!(demo.serving["chain_id"], summary["chain_id"]);

    // The page, and the first patient's audit trail as the demo printed it.
    let (status, page) = get(addr, "/");
    assert_eq!(status, "200");
    assert!(page.contains("<html"), "{page}");
    let patient = summary["patient"].as_str().unwrap();
    let (status, body) = get(addr, &format!("/api/owners/{patient}/audit"));
    assert_eq!(status, "200", "{body}");
    let trail: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(trail["total"], summary["audit_entries"], "{trail}");
    assert!(trail["total"].as_u64().unwrap() >= 1, "{trail}");
    let (_, body) = get(
        addr,
        &format!("/api/jobs/{}", summary["job"].as_str().unwrap()),
    );
    let job: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(job["result"].is_object(), "{job}");
    // The chain's JSON-RPC is still up, at the block the demo ended on or later.
    let block = rpc_call(summary["rpc"].as_str().unwrap(), "eth_blockNumber");
    let block = u64::from_str_radix(block.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert!(block >= summary["block_number"].as_u64().unwrap());

    // Ctrl-C (SIGTERM here) stops it cleanly.
    let status = demo.terminate().unwrap();
    assert!(status.success(), "{status:?}");
}
