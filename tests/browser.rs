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
const PAGE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a step of the flow (a key made, 40 records sealed and registered, a job's result
/// followed) may take on a loaded machine: the whole suite runs beside it.
const STEP_TIMEOUT: Duration = Duration::from_secs(300);

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
    // Only this run's pages.
    let _ = std::fs::remove_dir_all(&dir);
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
    browser
        .execute(
            "document.getElementById('lookup').scrollIntoView({ block: 'start' })",
            vec![],
        )
        .await
        .unwrap();
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

// ---- the whole flow, every party in its own browser ----

/// The keystore password every browser party uses.
const BROWSER_PASSWORD: &str = "browser party password";
/// Not a value of the data set: the first uploaded record's radius_mean.
const CANARY: &str = "7331.0421";
/// The records the patient uploads: the header and 40 rows, 20 of each diagnosis (half of them
/// held out: enough for a differentially private ROC curve to show its shape).
fn patient_csv() -> String {
    let wdbc = include_str!("../data/wdbc/wdbc.csv");
    let mut lines = wdbc.lines();
    let header = lines.next().unwrap();
    let (mut benign, mut malignant) = (Vec::new(), Vec::new());
    for line in lines {
        let list = if line.ends_with(",0") {
            &mut benign
        } else {
            &mut malignant
        };
        if list.len() < 20 {
            list.push(line.to_owned());
        }
    }
    let mut first: Vec<&str> = malignant[0].split(',').collect();
    first[1] = CANARY;
    malignant[0] = first.join(",");
    let mut rows = vec![header.to_owned()];
    rows.extend(malignant.into_iter().zip(benign).flat_map(|(m, b)| [m, b]));
    rows.join("\n")
}

/// Runs `medshare ARGS` with the deployment's environment; its stdout (it must succeed).
fn cli(env: &[(&str, &Path)], rpc: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_medshare"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
        .env("MEDSHARE_RPC", rpc)
        .env("MEDSHARE_PASSWORD", medshare_testkit::TEST_PASSWORD)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "medshare {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// One party's browser on one page of the app.
struct Party {
    browser: Client,
    page: &'static str,
    shots: PathBuf,
}

impl Party {
    async fn open(
        driver: &Driver,
        profiles: &Path,
        shots: &Path,
        base: &str,
        page: &'static str,
    ) -> Self {
        let browser = driver.browser(&profiles.join(page)).await;
        browser.goto(&format!("{base}/#{page}")).await.unwrap();
        Self {
            browser,
            page,
            shots: shots.to_owned(),
        }
    }

    async fn shot(&self, name: &str) {
        screenshot(&self.browser, &self.shots, &format!("{}-{name}", self.page)).await;
    }

    /// A screenshot with the (last) element matching `css` scrolled into view.
    async fn shot_at(&self, name: &str, css: &str) {
        self.browser
            .execute(
                "const all = document.querySelectorAll(arguments[0]);
                 all[all.length - 1]?.scrollIntoView({ block: 'start' });",
                vec![serde_json::json!(css)],
            )
            .await
            .unwrap();
        self.shot(name).await;
    }

    /// The control labelled `label` in `section` (its label's text, exactly).
    async fn control(&self, section: &str, label: &str) -> fantoccini::elements::Element {
        let xpath = format!("//section[@id='{section}']//label[normalize-space()=\"{label}\"]");
        let started = Instant::now();
        loop {
            if let Ok(l) = self.browser.find(Locator::XPath(&xpath)).await
                && let Ok(Some(id)) = l.attr("for").await
                && let Ok(c) = self.browser.find(Locator::Id(&id)).await
            {
                return c;
            }
            assert!(
                started.elapsed() < PAGE_TIMEOUT,
                "no control labelled {label:?} in #{section}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types `value` into the control labelled `label`, as a person would.
    async fn fill(&self, section: &str, label: &str, value: &str) {
        let c = self.control(section, label).await;
        if c.attr("type").await.unwrap().as_deref() != Some("file") {
            c.clear().await.unwrap();
        }
        c.send_keys(value).await.unwrap();
    }

    /// Picks the option whose value is `value` in the select labelled `label`.
    async fn choose(&self, section: &str, label: &str, value: &str) {
        let c = self.control(section, label).await;
        let started = Instant::now();
        while c
            .find(Locator::Css(&format!("option[value='{value}']")))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < PAGE_TIMEOUT,
                "{label:?} never offered {value}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        c.select_by_value(value).await.unwrap();
    }

    /// Clicks the (first shown) button reading `text` in `section`.
    async fn click(&self, section: &str, text: &str) {
        let xpath = format!("//section[@id='{section}']//button[normalize-space()=\"{text}\"]");
        let started = Instant::now();
        loop {
            for b in self
                .browser
                .find_all(Locator::XPath(&xpath))
                .await
                .unwrap_or_default()
            {
                if b.is_displayed().await.unwrap_or(false) && b.is_enabled().await.unwrap_or(false)
                {
                    b.click().await.unwrap();
                    return;
                }
            }
            assert!(
                started.elapsed() < PAGE_TIMEOUT,
                "no button {text:?} in #{section}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The text of `section` once it contains `wanted` (fails on an alert shown meanwhile).
    async fn wait_for(&self, section: &str, wanted: &str) -> String {
        let started = Instant::now();
        loop {
            let text = self
                .browser
                .find(Locator::Id(section))
                .await
                .unwrap()
                .text()
                .await
                .unwrap_or_default();
            if text.contains(wanted) {
                return text;
            }
            let alerts: Vec<String> = {
                let mut out = Vec::new();
                for a in self
                    .browser
                    .find_all(Locator::Css("[role=alert]"))
                    .await
                    .unwrap_or_default()
                {
                    if a.is_displayed().await.unwrap_or(false) {
                        out.push(a.text().await.unwrap_or_default());
                    }
                }
                out.retain(|t| !t.trim().is_empty());
                out
            };
            if started.elapsed() > STEP_TIMEOUT || !alerts.is_empty() {
                self.shot("failed").await;
                panic!("#{section} never said {wanted:?}; alerts: {alerts:?}; it says: {text}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Makes a new key in this browser (the fast test KDF) and returns its address and public
    /// key as the Identity panel shows them.
    async fn create_key(&self) -> (String, String) {
        self.fill("identity", "Password", BROWSER_PASSWORD).await;
        self.fill("identity", "Password again", BROWSER_PASSWORD)
            .await;
        self.control(
            "identity",
            "Faster, weaker encryption (scrypt n = 4096: for tests only)",
        )
        .await
        .click()
        .await
        .unwrap();
        self.click("identity", "Create my key").await;
        self.identity().await
    }

    /// Imports the keystore file at `path` (its password `password`) and unlocks it.
    async fn import_key(&self, path: &Path, password: &str) -> (String, String) {
        self.fill(
            "identity",
            "Keystore v3 file (from `medshare key new` or an Ethereum wallet)",
            &path.display().to_string(),
        )
        .await;
        self.fill("identity", "Its password", password).await;
        self.click("identity", "Import").await;
        let text = self.wait_for("identity", "Imported").await;
        if !text.contains("Your address") {
            self.fill("identity", "Password", password).await;
            self.click("identity", "Unlock").await;
        }
        self.identity().await
    }

    /// The unlocked identity's address and public key.
    async fn identity(&self) -> (String, String) {
        self.wait_for("identity", "Your public key").await;
        let facts = self
            .browser
            .execute(
                "const dts = [...document.querySelectorAll('#identity dt')];
                 const of = (k) => dts.find((d) => d.textContent.trim() === k)?.nextElementSibling?.textContent.trim();
                 return [of('Your address'), of('Your public key')];",
                vec![],
            )
            .await
            .unwrap();
        (
            facts[0].as_str().unwrap().to_owned(),
            facts[1].as_str().unwrap().to_owned(),
        )
    }
}

/// A TCP relay in front of `upstream` that keeps every byte the browsers sent: what the
/// server received, request by request.
async fn recording_proxy(upstream: String) -> (String, std::sync::Arc<std::sync::Mutex<Vec<u8>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = seen.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                continue;
            };
            let (mut client_read, mut client_write) = client.into_split();
            let (mut server_read, mut server_write) = server.into_split();
            let kept = kept.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = client_read.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    kept.lock().unwrap().extend_from_slice(&buf[..n]);
                    if server_write.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                let _ = server_write.shutdown().await;
            });
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
            });
        }
    });
    (addr, seen)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_party_in_its_own_browser_and_no_secret_reaches_the_server() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let out = shots("every_party_in_its_own_browser_and_no_secret_reaches_the_server");
    let bin = Path::new(env!("CARGO_BIN_EXE_medshare"));

    // Governance deploys, allowlists the enclave program and sets the data type's rules from the
    // command line (docs/operating.md's steps); the TEE submits its key and evidence.
    let node = medshare_testkit::process::Node::spawn(bin, &dir.join("node"), &[]).unwrap();
    let rpc = node.endpoint();
    let (store, deployment) = (dir.join("store"), dir.join("deployment.json"));
    let enclave_dir = dir.join("enclave");
    let env: Vec<(&str, &Path)> = vec![
        ("MEDSHARE_DEPLOYMENT", &deployment),
        ("MEDSHARE_STORE", &store),
        ("MEDSHARE_ENCLAVE_DIR", &enclave_dir),
    ];
    let admin = dir.join("admin.json");
    let admin_s = admin.display().to_string();
    cli(&env, &rpc, &["key", "new", "--light-kdf", &admin_s]);
    cli(
        &env,
        &rpc,
        &[
            "deploy",
            "--keystore",
            &admin_s,
            "--out",
            &deployment.display().to_string(),
        ],
    );
    let enclave = bin.with_file_name("medshare-enclave");
    cli(
        &env,
        &rpc,
        &[
            "governance",
            "measurement",
            "--keystore",
            &admin_s,
            "--enclave-binary",
            &enclave.display().to_string(),
        ],
    );
    cli(
        &env,
        &rpc,
        &[
            "governance",
            "accept-simulated",
            "--keystore",
            &admin_s,
            "--accept",
            "true",
        ],
    );
    cli(
        &env,
        &rpc,
        &[
            "governance",
            "data-type",
            "--keystore",
            &admin_s,
            "--data-type",
            "breast-cancer-wdbc",
            "--min-cohort",
            "10",
        ],
    );
    let registered: serde_json::Value =
        serde_json::from_str(&cli(&env, &rpc, &["enclave", "register", "--json"])).unwrap();
    let tee = registered["address"].as_str().unwrap().to_owned();

    // The patient's key, known to the test (to look for it later), in a keystore file.
    let (patient_key, patient_keystore) = medshare_crypto::create_keystore_with(
        dir,
        "patient.json",
        BROWSER_PASSWORD,
        medshare_crypto::KdfCost::Light,
    )
    .unwrap();
    let secret = patient_key.signer().to_bytes();

    // `medshare serve`, its logs kept, behind a relay that records what the browsers send.
    let log = std::fs::File::create(dir.join("serve.log")).unwrap();
    let mut serve = Command::new(bin)
        .args(["serve", "--addr", "127.0.0.1:0", "--json"])
        .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
        .env("MEDSHARE_RPC", &rpc)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let serving = medshare_testkit::process::ready_line(&mut serve).unwrap();
    let api = serving["url"]
        .as_str()
        .unwrap()
        .strip_prefix("http://")
        .unwrap()
        .to_owned();
    let (proxy, seen) = recording_proxy(api.clone()).await;
    let base = format!("http://{proxy}");

    let profiles = tempfile::tempdir().unwrap();
    let driver = Driver::start();
    let governance = Party::open(&driver, profiles.path(), &out, &base, "governance").await;
    let reviewer = Party::open(&driver, profiles.path(), &out, &base, "reviewer").await;
    let patient = Party::open(&driver, profiles.path(), &out, &base, "patient").await;
    let demander = Party::open(&driver, profiles.path(), &out, &base, "demander").await;

    // The reviewer makes a key in its browser; governance, with its keystore imported into
    // its own browser, appoints it.
    let (_, reviewer_public) = reviewer.create_key().await;
    governance
        .import_key(&admin, medshare_testkit::TEST_PASSWORD)
        .await;
    // Governance admits the TEE from its page: the server verifies the evidence the TEE
    // submitted, the page shows what it attests and asks, and the browser signs the admission.
    governance
        .click("governance", &format!("Verify and admit TEE {tee}"))
        .await;
    let asked = Instant::now();
    while governance.browser.accept_alert().await.is_err() {
        assert!(
            asked.elapsed() < STEP_TIMEOUT,
            "the page never asked to admit"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    governance
        .wait_for(
            "governance",
            &format!("TEE {tee} admitted with measurement"),
        )
        .await;
    governance
        .shot_at("tee-admitted", "#governance article")
        .await;
    governance
        .fill(
            "governance",
            "The reviewer’s 64-byte public key (0x…, as `medshare key show` or the Identity panel prints it)",
            &reviewer_public,
        )
        .await;
    governance.click("governance", "Appoint").await;
    governance
        .wait_for("governance", "Reviewer appointed.")
        .await;
    governance.shot("reviewer-appointed").await;

    // The patient imports its key, registers, and uploads 40 records typed as CSV rows: parsed,
    // checked, sealed and signed in the browser.
    let (patient_address, _) = patient
        .import_key(&patient_keystore, BROWSER_PASSWORD)
        .await;
    patient.click("patient", "Register").await;
    patient
        .wait_for("patient", "You are registered as user.")
        .await;
    patient
        .choose("patient", "Data type", "breast-cancer-wdbc")
        .await;
    patient
        .choose("patient", "Share each record’s key with the TEE", &tee)
        .await;
    patient.fill("patient", "CSV rows", &patient_csv()).await;
    patient
        .click("patient", "Encrypt, store and register")
        .await;
    patient
        .wait_for("patient", "40 records encrypted, stored and registered.")
        .await;
    patient.shot_at("uploaded", "#patient table").await;

    // The demander registers and asks for a logistic regression on 10 records or more, half
    // held out, at ε = 8.
    let _ = demander.create_key().await;
    demander.click("demander", "Register").await;
    demander
        .wait_for("identity", "registered as demander")
        .await;
    demander
        .choose("demander", "Data type", "breast-cancer-wdbc")
        .await;
    demander
        .fill("demander", "Smallest cohort to train on", "10")
        .await;
    demander
        .fill("demander", "Held out for evaluation (0–0.5]", "0.5")
        .await;
    demander
        .fill("demander", "ε (privacy loss per record; inf for none)", "8")
        .await;
    demander.shot("spec").await;
    demander.click("demander", "Sign and submit").await;
    let said = demander.wait_for("demander", "Submitted: job 0x").await;
    let job = said.split("Submitted: job ").nth(1).unwrap()[..66].to_owned();

    // The reviewer approves it from its queue.
    reviewer.click("reviewer", "Reload the queue").await;
    reviewer.wait_for("reviewer", &job).await;
    reviewer.shot("queue").await;
    reviewer.click("reviewer", "Approve").await;
    let approved = Instant::now();
    loop {
        let (_, body) =
            medshare_testkit::process::http_get(&api, &format!("/api/jobs/{job}")).unwrap();
        let view: serde_json::Value = serde_json::from_str(&body).unwrap();
        if view["status"] == "approved" {
            break;
        }
        assert!(approved.elapsed() < PAGE_TIMEOUT, "never approved: {view}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The patient sees the request and grants all 40 records, each with a budget of ε 10.
    patient
        .click("patient", "Reload my records and requests")
        .await;
    patient.wait_for("patient", &format!("Job {job}")).await;
    patient
        .fill(
            "patient",
            "Privacy budget of each record (total ε; inf for unlimited; 0 keeps the current one)",
            "10",
        )
        .await;
    patient.click("patient", "Grant all 40").await;
    // (the request is drawn again from the chain once granted)
    patient
        .wait_for(
            "patient",
            "40 of your 40 records of this type are granted to this job.",
        )
        .await;
    patient.shot_at("granted", "#patient article.request").await;

    // The TEE runs the job (medshare-enclave, checking every fact against state proofs).
    let report: serde_json::Value = serde_json::from_str(&cli(
        &env,
        &rpc,
        &["enclave", "run", "--job", &job, "--json"],
    ))
    .unwrap();
    assert_eq!(report["records_used"], 40, "{report}");

    // The demander's page follows the job to its result, checks and decrypts it.
    demander
        .wait_for("demander", "Fetch, check and decrypt the result")
        .await;
    demander
        .click("demander", "Fetch, check and decrypt the result")
        .await;
    let result = demander
        .wait_for("demander", "Result checked and decrypted.")
        .await;
    assert!(result.to_lowercase().contains("accuracy"), "{result}");
    // …and its ROC curve, drawn from the result's (differentially private) points.
    assert!(
        result.contains("ROC curve on the held-out records: approximate (differential privacy)"),
        "{result}"
    );
    let drawn = demander
        .browser
        .execute(
            "const svg = document.querySelector('#demander figure svg[role=img]');
             return svg ? svg.querySelectorAll('polyline, path').length : 0;",
            vec![],
        )
        .await
        .unwrap();
    assert!(drawn.as_u64().unwrap() >= 1, "no curve drawn: {drawn}");
    demander.shot_at("result", "#demander article.job").await;

    // The patient's audit trail shows the use and the ε each record paid (8 of its 10).
    patient
        .fill("patient", "Your address", &patient_address)
        .await;
    patient.click("patient", "Show my audit trail").await;
    let trail = patient.wait_for("timeline", &job).await;
    assert!(trail.contains("ε 8 spent"), "{trail}");
    assert!(trail.contains("ε 2 of 10 left"), "{trail}");
    patient.shot_at("audit", "#timeline-title").await;

    for party in [governance, reviewer, patient, demander] {
        party.browser.close().await.unwrap();
    }
    drop(driver);
    let _ = serve.kill();
    let _ = serve.wait();
    drop(node);

    // No secret reached the server: not the canary value, not the patient's private key, in no
    // byte a browser sent, no line the server logged, no object stored, no chain file.
    let value: f64 = CANARY.parse().unwrap();
    let needles: Vec<(&str, Vec<u8>)> = vec![
        ("the canary as text", CANARY.as_bytes().to_vec()),
        ("the canary as f64 (LE)", value.to_le_bytes().to_vec()),
        ("the canary as f64 (BE)", value.to_be_bytes().to_vec()),
        ("the canary as f32", (value as f32).to_le_bytes().to_vec()),
        ("the private key", secret.to_vec()),
        (
            "the private key in hex",
            alloy_primitives::hex::encode(secret).into_bytes(),
        ),
    ];
    let sent = seen.lock().unwrap().clone();
    assert!(
        sent.len() > 10_000,
        "the relay saw the browsers' requests ({} bytes)",
        sent.len()
    );
    assert!(
        contains(&sent, b"PUT /api/objects/records/"),
        "ciphertext went through the relay"
    );
    let mut scanned: Vec<(String, Vec<u8>)> = vec![("requests the server received".into(), sent)];
    scanned.push((
        "the server's log".into(),
        std::fs::read(dir.join("serve.log")).unwrap(),
    ));
    let mut all = Vec::new();
    files(&store, &mut all);
    files(&dir.join("node"), &mut all);
    assert!(all.len() > 24, "the store and the chain are scanned");
    for path in all {
        scanned.push((path.display().to_string(), std::fs::read(&path).unwrap()));
    }
    for (what, bytes) in &scanned {
        for (needle, value) in &needles {
            assert!(!contains(bytes, value), "{needle} found in {what}");
        }
    }
}
