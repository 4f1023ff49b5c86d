//! The web app in a real browser: Debian's chromium, headless, driven through chromedriver
//! (WebDriver, with fantoccini), each party in a browser profile of its own. `scripts/test`
//! installs both when they are missing; `MEDSHARE_CHROMEDRIVER` and `MEDSHARE_CHROMIUM` name
//! other binaries. Every page a test looks at is saved as a screenshot under
//! `target/tmp/browser/<test>/` (the test's output directory, `CARGO_TARGET_TMPDIR`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use fantoccini::{Client, ClientBuilder, Locator};
use medshare_testkit::process::DemoServe;
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// How long a page may take to show what a test waits for.
const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// A program: the environment variable's value, else the first of `names` on PATH.
fn program(var: &str, names: &[&str]) -> PathBuf {
    if let Some(path) = std::env::var_os(var).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "{} not found on PATH (scripts/test installs Debian's chromium and chromium-driver; or set {var})",
        names.join(" or ")
    );
}

/// A running chromedriver on a free loopback port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(program("MEDSHARE_CHROMEDRIVER", &["chromedriver"]))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        // Ready once it accepts connections (its HTTP server keeps them open: no GET here).
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < PAGE_TIMEOUT,
                "chromedriver did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        driver
    }

    /// A new headless chromium with its own profile directory (one per party).
    async fn browser(&self, profile: &Path) -> Client {
        let chromium = program("MEDSHARE_CHROMIUM", &["chromium", "chromium-browser"]);
        let capabilities = serde_json::json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-dev-shm-usage",
                    "--disable-gpu",
                    "--no-first-run",
                    "--window-size=1280,1400",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where this test's screenshots go.
fn shots(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("browser")
        .join(test);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Saves the page as `dir/name.png`.
async fn screenshot(client: &Client, dir: &Path, name: &str) {
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// The text of `css` once it is shown and `ready` accepts it.
async fn text_when(client: &Client, css: &str, ready: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        if let Ok(element) = client.find(Locator::Css(css)).await
            && element.is_displayed().await.unwrap_or(false)
        {
            let text = element.text().await.unwrap_or_default();
            if ready(&text) {
                return text;
            }
        }
        assert!(
            started.elapsed() < PAGE_TIMEOUT,
            "{css} never showed what the test waits for; the page: {}",
            client.source().await.unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patient_reads_the_demos_audit_trail_in_chromium() {
    let demo = DemoServe::spawn(
        Path::new(env!("CARGO_BIN_EXE_medshare")),
        &["--patients", "20"],
    )
    .unwrap();
    let summary = demo.summary.clone();
    let (patient, job, tee) = (
        summary["patient"].as_str().unwrap(),
        summary["job"].as_str().unwrap(),
        summary["tee"].as_str().unwrap(),
    );
    let out = shots("a_patient_reads_the_demos_audit_trail_in_chromium");
    let profiles = tempfile::tempdir().unwrap();
    let driver = Driver::start();
    let browser = driver.browser(&profiles.path().join("patient")).await;

    // The link the demo prints opens the patient's trail.
    let url = format!("http://{}/#patient/{patient}", demo.addr());
    browser.goto(&url).await.unwrap();
    let chain = text_when(&browser, "#chain", |t| t.contains("chain")).await;
    assert!(
        chain.contains(&format!("chain {}", summary["chain_id"])),
        "{chain}"
    );
    let timeline = text_when(&browser, "#timeline", |t| t.contains(job)).await;
    // The use: its job, the TEE, and the ε the record paid with what it has left.
    for expected in [job, tee, "used", "ε 2 spent", "ε 4 of 6 left"] {
        assert!(
            timeline.to_lowercase().contains(&expected.to_lowercase()),
            "the trail lacks {expected:?}: {timeline}"
        );
    }
    screenshot(&browser, &out, "patient-audit").await;

    // The form, by keyboard: a malformed address is refused in words, the field focused.
    let field = browser.find(Locator::Id("address")).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys("0x1234\u{e007}").await.unwrap(); // WebDriver's Enter key submits the form
    let error = text_when(&browser, "#error", |t| !t.is_empty()).await;
    assert!(error.contains("is not an address"), "{error}");
    let focused = browser
        .execute("return document.activeElement.id", vec![])
        .await
        .unwrap();
    assert_eq!(focused, "address");
    screenshot(&browser, &out, "patient-bad-address").await;

    browser.close().await.unwrap();
    drop(driver);
    assert!(demo.terminate().unwrap().success());
}
