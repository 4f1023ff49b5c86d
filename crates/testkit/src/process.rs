//! Real node processes on 127.0.0.1: anvil and `medshare node`.
//!
//! Each is started on a free port (port 0) and its endpoint read from what it prints at start
//! (anvil through alloy's `alloy-node-bindings`). Both are killed when dropped, so a failing
//! test leaves no process behind.

use crate::{Error, Result, TEST_PASSWORD};
use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, ChildStdout, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

/// How long a node may take to print its endpoint.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Where `scripts/install-foundry anvil` installs anvil, relative to the workspace root.
const ANVIL_IN_TOOLS: &str = ".tools/anvil/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";

/// anvil's first dev account (mnemonic "test test … junk"), funded with 10,000 ETH at genesis.
pub const ANVIL_DEV_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// Reads `stdout` line by line on a thread until `find` returns a value, then keeps draining it
/// (so the child never blocks on a full pipe). Gives up after [`STARTUP_TIMEOUT`].
fn wait_for_line<T: Send + 'static>(
    program: &str,
    stdout: ChildStdout,
    find: impl Fn(&str) -> Option<T> + Send + 'static,
) -> Result<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !sent && let Some(found) = find(&line) {
                let _ = tx.send(found);
                sent = true;
            }
        }
    });
    rx.recv_timeout(STARTUP_TIMEOUT)
        .map_err(|_| Error::Process {
            program: program.to_owned(),
            reason: format!("did not print its endpoint within {STARTUP_TIMEOUT:?} (or exited)"),
        })
}

/// Spawns `command` with stdout piped and waits until `find` recognises the endpoint in a line
/// of it. The child is killed if that fails.
fn spawn_until(
    program: &str,
    command: &mut Command,
    find: impl Fn(&str) -> Option<String> + Send + 'static,
) -> Result<(Guarded, String)> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| spawn_error(program, e))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| spawn_error(program, std::io::Error::other("no stdout")))?;
    let child = Guarded(child);
    let endpoint = wait_for_line(program, stdout, find)?;
    Ok((child, endpoint))
}

fn spawn_error(program: &str, e: std::io::Error) -> Error {
    Error::Process {
        program: program.to_owned(),
        reason: format!("cannot start: {e}"),
    }
}

/// A child process killed on drop.
#[derive(Debug)]
struct Guarded(Child);

impl Drop for Guarded {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running `medshare node`.
#[derive(Debug)]
pub struct Node {
    child: Guarded,
    endpoint: String,
}

impl Node {
    /// Starts `bin node` (the `medshare` binary) on `data_dir`, on a free port, with the test
    /// password for its sealing key and `extra` arguments.
    pub fn spawn(bin: &Path, data_dir: &Path, extra: &[&str]) -> Result<Self> {
        let mut command = Command::new(bin);
        command
            .arg("node")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--addr", "127.0.0.1:0", "--json", "--light-kdf"])
            .args(extra)
            .env("MEDSHARE_PASSWORD", TEST_PASSWORD);
        let (child, endpoint) = spawn_until("medshare node", &mut command, |line| {
            serde_json::from_str::<serde_json::Value>(line)
                .ok()?
                .get("endpoint")?
                .as_str()
                .map(str::to_owned)
        })?;
        Ok(Self { child, endpoint })
    }

    /// The node's `http://127.0.0.1:PORT` endpoint.
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// The node's process id.
    pub fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// Kills the node with SIGKILL (no chance to flush anything) and waits for it to be gone.
    pub fn kill9(&mut self) {
        let _ = self.child.0.kill();
        let _ = self.child.0.wait();
    }
}

/// A running anvil, started with alloy's `alloy-node-bindings` (which reads its endpoint and
/// keys from what it prints, and kills it on drop).
#[derive(Debug)]
pub struct Anvil {
    instance: alloy_node_bindings::AnvilInstance,
}

impl Anvil {
    /// The anvil binary: `MEDSHARE_ANVIL`, else the copy `scripts/install-foundry` installs in
    /// `.tools/`, else `anvil` on `PATH`.
    pub fn binary() -> Result<PathBuf> {
        if let Some(path) = std::env::var_os("MEDSHARE_ANVIL").filter(|p| !p.is_empty()) {
            return Ok(PathBuf::from(path));
        }
        let tools = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(ANVIL_IN_TOOLS);
        if tools.is_file() {
            return Ok(tools);
        }
        let on_path = std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .map(|dir| dir.join("anvil"))
            .find(|p| p.is_file());
        on_path.ok_or(Error::NoAnvil)
    }

    /// Starts anvil on a free port of 127.0.0.1 with `extra` arguments (e.g. `--chain-id`).
    pub fn spawn(extra: &[&str]) -> Result<Self> {
        let instance = alloy_node_bindings::Anvil::at(Self::binary()?)
            .host("127.0.0.1")
            .port(0u16)
            .args(extra)
            .timeout(STARTUP_TIMEOUT.as_millis() as u64)
            .try_spawn()
            .map_err(|e| Error::Process {
                program: "anvil".into(),
                reason: e.to_string(),
            })?;
        Ok(Self { instance })
    }

    /// anvil's `http://127.0.0.1:PORT` endpoint.
    pub fn endpoint(&self) -> String {
        self.instance.endpoint()
    }

    /// anvil's `ws://127.0.0.1:PORT` endpoint (the same server).
    pub fn ws_endpoint(&self) -> String {
        self.instance.ws_endpoint()
    }

    /// anvil's process id.
    pub fn pid(&self) -> u32 {
        self.instance.child().id()
    }

    /// Asks anvil to exit as Ctrl-C or a service manager would (SIGTERM, sent by `kill`), so
    /// that it writes its `--state` / `--dump-state` file first, and waits until it has exited.
    pub fn terminate(&mut self) -> Result<()> {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .map_err(|e| spawn_error("kill", e))?;
        if !status.success() {
            return Err(Error::Process {
                program: "anvil".into(),
                reason: format!("kill -TERM failed ({status})"),
            });
        }
        self.instance
            .child_mut()
            .wait()
            .map_err(|e| Error::Process {
                program: "anvil".into(),
                reason: format!("waiting for it to exit: {e}"),
            })?;
        Ok(())
    }
}

/// A running `medshare demo --serve`: the demo has finished, and its chain and store stay up
/// behind the web app until the process is stopped.
#[derive(Debug)]
pub struct DemoServe {
    child: Guarded,
    /// The demo's `--json` summary (`patient`, `job`, `rpc`, `audit_entries`, …).
    pub summary: serde_json::Value,
    /// What the web app printed when ready (`url`, `chain_id`, …).
    pub serving: serde_json::Value,
}

impl DemoServe {
    /// Runs `bin demo --serve --addr 127.0.0.1:0 --json` with `extra` arguments (e.g.
    /// `--patients 20`) and waits for the demo's summary and the web app's ready line (the demo
    /// takes seconds to minutes: the startup timeout of the nodes does not apply).
    pub fn spawn(bin: &Path, extra: &[&str]) -> Result<Self> {
        const PROGRAM: &str = "medshare demo --serve";
        let mut child = Command::new(bin)
            .args(["demo", "--serve", "--addr", "127.0.0.1:0", "--json"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| spawn_error(PROGRAM, e))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| spawn_error(PROGRAM, std::io::Error::other("no stdout")))?;
        let child = Guarded(child);
        let mut values = serde_json::Deserializer::from_reader(BufReader::new(stdout))
            .into_iter::<serde_json::Value>();
        let mut next = |what: &str| match values.next() {
            Some(Ok(value)) => Ok(value),
            other => Err(Error::Process {
                program: PROGRAM.to_owned(),
                reason: format!("printed no {what} ({other:?}; its stderr is above)"),
            }),
        };
        let summary = next("summary")?;
        let serving = next("ready line")?;
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in values {});
        Ok(Self {
            child,
            summary,
            serving,
        })
    }

    /// The web app's `127.0.0.1:PORT`.
    pub fn addr(&self) -> &str {
        self.serving["url"]
            .as_str()
            .and_then(|u| u.strip_prefix("http://"))
            .unwrap_or_default()
    }

    /// Stops it as Ctrl-C would (SIGTERM, sent by `kill`) and returns how it exited.
    pub fn terminate(mut self) -> Result<std::process::ExitStatus> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.0.id().to_string()])
            .status()
            .map_err(|e| spawn_error("kill", e))?;
        if !status.success() {
            return Err(Error::Process {
                program: "medshare demo --serve".into(),
                reason: format!("kill -TERM failed ({status})"),
            });
        }
        self.child.0.wait().map_err(|e| Error::Process {
            program: "medshare demo --serve".into(),
            reason: format!("waiting for it to exit: {e}"),
        })
    }
}

/// `GET path` from `addr` (`127.0.0.1:PORT`) over plain HTTP/1.1, one request per connection:
/// the status code and the body.
pub fn http_get(addr: &str, path: &str) -> Result<(u16, String)> {
    use std::io::{Read, Write};
    let failed = |reason: String| Error::Process {
        program: format!("GET http://{addr}{path}"),
        reason,
    };
    let mut stream = std::net::TcpStream::connect(addr).map_err(|e| failed(e.to_string()))?;
    // A server that keeps the connection open despite `Connection: close` fails the read
    // instead of hanging the test.
    stream
        .set_read_timeout(Some(STARTUP_TIMEOUT))
        .map_err(|e| failed(e.to_string()))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| failed(e.to_string()))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| failed(e.to_string()))?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| failed(format!("no end of headers in {response:?}")))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| failed(format!("no status in {head:?}")))?;
    Ok((status, body.to_owned()))
}

/// The first line `child` prints on its (piped) stdout, parsed as JSON: the ready line of a
/// `--json` server (`medshare node`, `medshare serve`). The error carries the line.
pub fn ready_line(child: &mut Child) -> std::result::Result<serde_json::Value, String> {
    let stdout = child.stdout.take().ok_or("its stdout is not piped")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| format!("reading its stdout: {e}"))?;
    serde_json::from_str(&line).map_err(|e| format!("{e}: {line:?}"))
}
