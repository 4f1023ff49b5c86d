//! Ledger throughput, like for like: the embedded chain as `medshare node` serves it and anvil,
//! each in its own process, driven by the same client (`RpcLedger` and `Wallet`: the same
//! receipt wait), the same workload and the same concurrency. Each row names what its node
//! persists and when. The embedded chain called in this process is reported too, apart: it is
//! woken on commit instead of polled, so it is not like for like.
//!
//! A node is reached by one endpoint URL and nothing else, so the transport can change (a
//! WebSocket `ws://` endpoint for pushed new heads) without touching the workload.

use super::{data::record, data::sized_schema, round3};
use anyhow::{Context, Result};
use medshare_crypto::Identity;
use medshare_enclave::{Enclave, SimulatedPlatform};
use medshare_enclave_api::TrustAnchors;
use medshare_ledger::{Ledger, rpc::RpcLedger, wallet::Wallet};
use medshare_parties::{tee::TeeHost, user::Patient, user::UPLOAD_BATCH};
use medshare_records::PatientRecord;
use medshare_storage::{LocalStore, Store};
use medshare_testkit::process::{ANVIL_DEV_KEY, Anvil, Node};
use serde::Serialize;
use std::{path::Path, sync::Arc, time::Instant};

/// What a party is given on anvil, which charges for gas: 100 ETH.
const FUNDING_WEI: u128 = 100 * 10u128.pow(18);

/// The JSON-RPC transport of every row. Both nodes print an `http://HOST:PORT` endpoint and
/// answer WebSocket on the same port; over `ws` the client awaits each receipt through a
/// `newHeads` subscription (both nodes serve it), with no polling delay.
const TRANSPORT: &str = "ws";

/// The URL a node is reached at: its printed endpoint's address over [`TRANSPORT`].
fn url(printed: &str) -> String {
    let address = printed.split_once("://").map_or(printed, |(_, a)| a);
    format!("{TRANSPORT}://{address}")
}

/// anvil's `--state-interval` in the persisted row, seconds.
const ANVIL_STATE_INTERVAL_S: u64 = 1;

#[derive(Serialize)]
pub(super) struct Throughput {
    /// Records registered (encrypted, stored, and in a block whose receipt was read) per second.
    pub(super) records_per_s: f64,
    /// Transactions per second of that workload.
    pub(super) tx_per_s: f64,
    pub(super) records: usize,
    pub(super) seconds: f64,
    /// The node, as started.
    pub(super) node: String,
    /// What the node persists, and when.
    pub(super) persists: String,
    /// What the timed window includes.
    pub(super) includes: String,
    /// For anvil with `--state`: seconds from SIGTERM to exit (it writes the state file then),
    /// after the timed window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) exit_dump_seconds: Option<f64>,
    /// For anvil with `--state`: the state file's size after exit, bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) state_file_bytes: Option<u64>,
}

/// The four rows, in order: `medshare node`, anvil in memory, anvil with `--state`, and the
/// embedded chain in this process.
#[derive(Serialize)]
pub(super) struct LedgerRows {
    pub(super) node: Throughput,
    pub(super) anvil: Throughput,
    pub(super) anvil_state: Throughput,
    pub(super) in_process: Throughput,
}

/// Runs the workload on each node in turn.
pub(super) async fn ledger(patients: usize, per_patient: usize) -> Result<LedgerRows> {
    let work = Workload {
        patients,
        per_patient,
    };
    let dir = tempfile::tempdir()?;

    let medshare = crate::sibling::Sibling {
        program: "medshare",
        package: "medshare",
        env: "MEDSHARE_BIN",
    }
    .locate()?;
    let node = Node::spawn(&medshare, &dir.path().join("node"), &[])?;
    let endpoint = url(&node.endpoint());
    let mut row = work.run(Client::connect(&endpoint, None).await?).await?;
    drop(node);
    row.node = format!(
        "medshare node {} (the embedded chain served by RpcServer)",
        env!("CARGO_PKG_VERSION")
    );
    row.persists = "every block committed to redb (fsync) before its receipt is served".into();
    row.includes = work.includes(&endpoint);
    let node_row = row;

    let anvil_bin = crate::anvil::binary()?;
    let version = crate::anvil::version(&anvil_bin)?;
    let anvil = Anvil::spawn(&[])?;
    let endpoint = url(&anvil.endpoint());
    let mut row = work
        .run(Client::connect(&endpoint, Some(ANVIL_DEV_KEY)).await?)
        .await?;
    drop(anvil);
    row.node = format!("{version}, in memory (no --state)");
    row.persists = "nothing: the chain is lost when anvil exits".into();
    row.includes = work.includes(&endpoint);
    let anvil_row = row;

    let state = dir.path().join("anvil-state.json");
    let state_arg = state
        .to_str()
        .context("a temporary path that is not UTF-8")?;
    let interval = ANVIL_STATE_INTERVAL_S.to_string();
    let mut anvil = Anvil::spawn(&["--state", state_arg, "--state-interval", &interval])?;
    let endpoint = url(&anvil.endpoint());
    let mut row = work
        .run(Client::connect(&endpoint, Some(ANVIL_DEV_KEY)).await?)
        .await?;
    let stop = Instant::now();
    anvil.terminate()?;
    row.exit_dump_seconds = Some(round3(stop.elapsed().as_secs_f64()));
    row.state_file_bytes = Some(std::fs::metadata(&state).map(|m| m.len())?);
    row.node = format!("{version}, --state FILE --state-interval {interval}");
    row.persists = format!(
        "the whole state written to FILE (JSON) every {interval} s and at exit; receipts are \
         served before their block is written, so a crash loses up to {interval} s of blocks"
    );
    row.includes = work.includes(&endpoint);
    let anvil_state_row = row;

    let backend = medshare_testkit::Backend::embedded().await?;
    let mut row = work
        .run(Client {
            ledger: backend.ledger(),
            funder: None,
        })
        .await?;
    drop(backend);
    row.node = "the embedded chain in this process (not like for like: called directly and \
                woken on commit, no JSON-RPC)"
        .into();
    row.persists = "every block committed to redb (fsync) before its receipt is returned".into();
    row.includes = format!(
        "{}; each receipt returned when its block commits, without polling",
        work.common()
    );
    Ok(LedgerRows {
        node: node_row,
        anvil: anvil_row,
        anvil_state: anvil_state_row,
        in_process: row,
    })
}

/// A ledger and, on chains that charge for gas, a funded account that pays for the parties.
struct Client {
    ledger: Arc<dyn Ledger>,
    funder: Option<Wallet>,
}

impl Client {
    /// The node at `endpoint`, through `RpcLedger`; `funder` is a funded dev account's key.
    async fn connect(endpoint: &str, funder: Option<&str>) -> Result<Self> {
        let ledger: Arc<dyn Ledger> = Arc::new(RpcLedger::connect(endpoint)?);
        let funder = match funder {
            Some(key) => Some(Wallet::new(ledger.clone(), key.parse()?).await?),
            None => None,
        };
        Ok(Self { ledger, funder })
    }

    async fn fund(&self, address: alloy_primitives::Address) -> Result<()> {
        if let Some(funder) = &self.funder {
            funder
                .transfer(address, alloy_primitives::U256::from(FUNDING_WEI))
                .await?;
        }
        Ok(())
    }

    async fn wallet(&self, id: &Identity) -> Result<Wallet> {
        let wallet = Wallet::new(self.ledger.clone(), id.signer().clone()).await?;
        self.fund(wallet.address()).await?;
        Ok(wallet)
    }
}

/// `patients` patients at once, each registering `per_patient` records.
struct Workload {
    patients: usize,
    per_patient: usize,
}

impl Workload {
    fn common(&self) -> String {
        format!(
            "{} patients at once, each uploading {} records of 1 kB in transactions of {UPLOAD_BATCH} \
             records sent one after another: per record AES-256-GCM encryption, a key share for \
             the TEE and a signature, ciphertext and TD_i written to a local directory store; per \
             transaction gas estimation, fee lookup, signing and eth_sendRawTransaction; from the \
             first upload to the last receipt",
            self.patients, self.per_patient
        )
    }

    fn includes(&self, endpoint: &str) -> String {
        let scheme = endpoint.split("://").next().unwrap_or(endpoint);
        let wait = if scheme.starts_with("ws") {
            "through an eth_subscribe(\"newHeads\") subscription, the receipt read as each block arrives"
        } else {
            "by polling eth_getTransactionReceipt from 1 ms, doubling up to 20 ms"
        };
        format!(
            "{}; each receipt awaited {wait}, over {scheme}://",
            self.common()
        )
    }

    /// Deploys the contracts and a TEE on `client`'s chain, registers the patients, then times
    /// the uploads.
    async fn run(&self, client: Client) -> Result<Throughput> {
        let dir = tempfile::tempdir()?;
        let store: Arc<dyn Store> = Arc::new(LocalStore::open(dir.path().join("store"))?);
        let (tee, admin) = deploy_with_tee(&client, dir.path(), store.clone()).await?;
        let (schema, _) = sized_schema(1)?;
        let data_type = schema.data_type()?;
        let mut all = Vec::new();
        for _ in 0..self.patients {
            let id = Identity::random();
            let chain = admin.as_party(client.wallet(&id).await?);
            let patient = Patient::new(id, chain, store.clone());
            patient.register().await?;
            all.push(Arc::new(patient));
        }
        let records: Vec<PatientRecord> =
            (0..self.per_patient).map(|i| record(&schema, i)).collect();
        let records = Arc::new(records);
        let start = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for patient in all {
            let (records, data_type, tee) = (records.clone(), data_type.clone(), tee.address());
            set.spawn(async move {
                patient
                    .upload(&data_type, &records, tee, &|_| {})
                    .await
                    .map(|o| o.len())
            });
        }
        let mut done = 0;
        while let Some(r) = set.join_next().await {
            done += r??;
        }
        let seconds = start.elapsed().as_secs_f64();
        let txs = self.patients * self.per_patient.div_ceil(UPLOAD_BATCH);
        Ok(Throughput {
            records_per_s: (done as f64 / seconds).round(),
            tx_per_s: round3(txs as f64 / seconds),
            records: done,
            seconds: round3(seconds),
            node: String::new(),
            persists: String::new(),
            includes: String::new(),
            exit_dump_seconds: None,
            state_file_bytes: None,
        })
    }
}

/// The contracts and a registered, admitted TEE (simulated) on `client`'s chain.
async fn deploy_with_tee(
    client: &Client,
    dir: &Path,
    store: Arc<dyn Store>,
) -> Result<(TeeHost, medshare_chain::ContractClient)> {
    let measurement = alloy_primitives::keccak256("medshare bench: ledger throughput");
    let admin = medshare_parties::setup::deploy_for_simulation(
        client.wallet(&Identity::random()).await?,
        measurement,
    )
    .await?;
    // anvil signs no headers: its TEE runs in the unverified-header mode governance must allow.
    let sealers = medshare_parties::tee::sealers_of(client.ledger.as_ref())
        .await
        .unwrap_or_default();
    let anchors = if sealers.is_empty() {
        admin.set_accept_unverified_headers(true).await?;
        TrustAnchors::unverified(admin.chain_id(), admin.deployment())
    } else {
        TrustAnchors::sealed(admin.chain_id(), admin.deployment(), sealers.clone())
    };
    let enclave = Enclave::simulated(
        &dir.join("tee.sealed"),
        &SimulatedPlatform::new(rand::random(), measurement),
        Some(&anchors),
    )?;
    let tee = TeeHost::new(
        Box::new(enclave),
        client.ledger.clone(),
        Some(*admin.deployment()),
        store,
    )
    .await?;
    client.fund(tee.address()).await?;
    tee.register().await?;
    medshare_parties::setup::admit_with(&admin, tee.address(), &sealers).await?;
    Ok((tee, admin))
}

/// `medshare bench ledger`: the ledger rows of `bench paper` alone.
#[derive(clap::Args)]
pub(crate) struct LedgerArgs {
    /// Patients uploading at once, each its own account and connection.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1024))]
    patients: u64,
    /// Records each patient uploads (in transactions of 100 records).
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    per_patient: u64,
    /// Print the rows as JSON.
    #[arg(long)]
    json: bool,
    /// Write ledger.json and ledger.md here (default: nowhere; `bench paper` keeps the figure
    /// of record).
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

pub(crate) async fn run(args: LedgerArgs) -> Result<()> {
    let rows = ledger(
        usize::try_from(args.patients)?,
        usize::try_from(args.per_patient)?,
    )
    .await?;
    let mut markdown = String::from("# medshare bench ledger\n");
    super::markdown::write_ledger(
        &mut markdown,
        [&rows.node, &rows.anvil, &rows.anvil_state, &rows.in_process],
    )?;
    // Quick in the sense of `publish`: written only where --out says.
    crate::publish("ledger", &rows, &markdown, args.out, true, args.json)
}
