//! Table 3: the whole flow for one record of 1–6 kB (encrypt, store, register, consent; the
//! TEE's verification, key recovery, decryption and training; the result on chain; the
//! demander's check and decryption), with the enclave in this process and in its own process,
//! beside the paper's non-SGX and SGX rows. [`Rig`] is the deployment every flow runs on (the
//! memory and proof benchmarks use it too).

use super::{
    UNLIMITED,
    data::{ciphertext_len, record, sized_schema},
    figures::{MinAvgMax, TABLE3_SIZES_KB, table3_nosgx, table3_sgx},
    round3,
};
use anyhow::{Context, Result, bail};
use medshare_chain::{ContractClient, Wallet};
use medshare_crypto::Identity;
use medshare_enclave::{Enclave, SimulatedPlatform};
use medshare_enclave_api::TrustAnchors;
use medshare_ledger::Ledger;
use medshare_node::{
    embedded::{ChainConfig, EmbeddedChain},
    server::RpcServer,
};
use medshare_parties::{demander::Demander, reviewer::Reviewer, tee::TeeHost, user::Patient};
use medshare_primitives::{DataType, JobId};
use medshare_records::{DataRequirement, Schema};
use medshare_storage::{LocalStore, Store};
use medshare_training::{ModelKind, ModelSpec};
use serde::Serialize;
use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

/// Records already consented (standing policy) in every job of Table 3, beside the measured one.
pub(super) const BASE_COHORT: usize = 9;

/// Features every Table 3 job trains on, whatever the record's size.
const FEATURES_TRAINED: usize = 8;

#[derive(Serialize)]
pub(super) struct Table3Row {
    pub(super) size_kb: u32,
    /// Bytes of the record's plaintext.
    record_bytes: usize,
    pub(super) runs: usize,
    /// The enclave in this process (beside the paper's non-SGX row).
    pub(super) min_us: f64,
    pub(super) avg_us: f64,
    pub(super) max_us: f64,
    /// The enclave in its own process (`medshare-enclave worker`, kept running between jobs and
    /// reaching the node over WebSocket; beside the paper's SGX row).
    pub(super) process_min_us: f64,
    pub(super) process_avg_us: f64,
    pub(super) process_max_us: f64,
    /// Starting that worker (once per size, not in the figures above): unsealing its key,
    /// hashing its program (the simulated measurement), reaching the node; µs.
    pub(super) process_start_us: f64,
    /// The paper's non-SGX average (Table 3).
    pub(super) paper_avg_us: f64,
    /// paper_avg_us / avg_us.
    pub(super) speedup_vs_paper: f64,
    /// The paper's non-SGX row (Table 3), beside `min_us`/`avg_us`/`max_us`.
    pub(super) paper_nosgx: MinAvgMax,
    /// The paper's SGX row (Table 3), beside the `process_*` figures.
    pub(super) paper_sgx: MinAvgMax,
    /// paper_sgx.avg_us / process_avg_us.
    pub(super) process_speedup_vs_paper_sgx: f64,
    /// What this size adds to each flow's work.
    pub(super) work: Work,
}

/// What one flow handles at a size: the model trains on the same 8 features at every size, so
/// a larger record adds bytes to encrypt, hash and store, and features for the TEE to decrypt
/// and parse, not training work.
#[derive(Serialize)]
pub(super) struct Work {
    /// Features in every record (the TEE parses them all).
    pub(super) features_per_record: usize,
    /// Features the model trains on (the same at every size).
    pub(super) features_trained: usize,
    /// The measured record's ciphertext: encrypted (AES-256-GCM), hashed (SHA-256) and stored
    /// by the patient once per flow.
    pub(super) ciphertext_bytes: usize,
    /// Records the TEE fetches, hashes, decrypts and parses per flow (the base cohort and the
    /// measured record).
    pub(super) records_decrypted_per_flow: usize,
    /// Ciphertext bytes the TEE hashes and decrypts per flow.
    pub(super) bytes_decrypted_per_flow: usize,
    /// Feature values the TEE parses per flow.
    pub(super) features_parsed_per_flow: usize,
}

/// One deployment with a TEE, a demander, a reviewer and the base cohort, for one size.
pub(super) struct Rig {
    pub(super) ledger: Arc<dyn Ledger>,
    pub(super) server: RpcServer,
    pub(super) admin: ContractClient,
    pub(super) store: Arc<dyn Store>,
    pub(super) tee: TeeHost,
    pub(super) demander: Demander,
    pub(super) reviewer: Reviewer,
    pub(super) schema: Schema,
    /// `medshare-enclave worker` over this rig's node (WebSocket) and store: the TEE's own
    /// process, started once and kept between jobs.
    worker: tokio::sync::Mutex<crate::spawn::Worker>,
    /// How long the worker took to start (unseal its key, reach the node), ms.
    worker_start_ms: f64,
    _dir: tempfile::TempDir,
}

impl Rig {
    pub(super) async fn new(schema: Schema) -> Result<Self> {
        Self::with_store(schema, None).await
    }

    /// A rig whose off-chain store is `store` (default: a directory of the rig's own, which is
    /// also the store of its enclave worker).
    pub(super) async fn with_store(schema: Schema, store: Option<Arc<dyn Store>>) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let chain = EmbeddedChain::open(
            &dir.path().join("chain"),
            ChainConfig::new(Identity::random().signer().clone()),
        )?;
        let ledger: Arc<dyn Ledger> = Arc::new(chain);
        let server =
            RpcServer::start(ledger.clone(), SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let store: Arc<dyn Store> = match store {
            Some(store) => store,
            None => Arc::new(LocalStore::open(dir.path().join("store"))?),
        };
        let wallet = |id: &Identity| Wallet::new(ledger.clone(), id.signer().clone());
        // The in-process enclave plays the same program as `medshare-enclave` (same measurement
        // and platform secret), so both runs use one sealed key and one admitted TEE.
        let measurement = crate::spawn::Spawn::measurement()?;
        let admin = medshare_parties::setup::deploy_for_simulation(
            wallet(&Identity::random()).await?,
            measurement,
        )
        .await?;
        admin.save_deployment(&dir.path().join("deployment.json"))?;
        let enclave_dir = dir.path().join("enclave");
        std::fs::create_dir_all(&enclave_dir)?;
        let secret: [u8; 32] = rand::random();
        std::fs::write(enclave_dir.join("platform.secret"), secret)?;
        let anchors = TrustAnchors::sealed(
            admin.chain_id(),
            admin.deployment(),
            medshare_parties::tee::sealers_of(ledger.as_ref()).await?,
        );
        let enclave = Enclave::simulated(
            &enclave_dir.join("tee.sealed"),
            &SimulatedPlatform::new(secret, measurement),
            Some(&anchors),
        )?;
        let tee = TeeHost::new(
            Box::new(enclave),
            ledger.clone(),
            Some(*admin.deployment()),
            store.clone(),
        )
        .await?;
        tee.register().await?;
        medshare_parties::setup::admit(&admin, tee.address()).await?;
        // The paper's flow: small cohorts, no differential privacy; the data type's schema
        // (public ranges) registered for the enclave.
        let schema_json = serde_json::to_vec(&schema)?;
        let data_type = schema.data_type()?;
        store
            .put(
                &medshare_storage::Key::schema(&data_type.id().0),
                schema_json.clone(),
            )
            .await?;
        admin
            .set_data_type_rules(
                data_type.id(),
                &medshare_chain::DataTypeRules {
                    min_cohort: 2,
                    max_epsilon_milli: 0,
                    allow_non_private: true,
                    schema_hash: alloy_primitives::keccak256(&schema_json),
                },
            )
            .await?;
        let demander_id = Identity::random();
        let demander_chain = admin.as_party(wallet(&demander_id).await?);
        let demander = Demander::new(demander_id, demander_chain, store.clone());
        demander.register().await?;
        let reviewer_id = Identity::random();
        admin
            .appoint_reviewer(reviewer_id.public_key_uncompressed())
            .await?;
        let reviewer = Reviewer::new(admin.as_party(wallet(&reviewer_id).await?));
        let started = Instant::now();
        let worker = Self::start_worker(dir.path(), &server).await?;
        let worker_start_ms = started.elapsed().as_secs_f64() * 1e3;
        let rig = Self {
            ledger,
            server,
            admin,
            store,
            tee,
            demander,
            reviewer,
            schema,
            worker: tokio::sync::Mutex::new(worker),
            worker_start_ms,
            _dir: dir,
        };
        // The base cohort: consented by standing policy.
        let data_type = rig.schema.data_type()?;
        for i in 0..BASE_COHORT {
            let patient = rig.patient().await?;
            let owned = patient
                .upload(
                    &data_type,
                    &[record(&rig.schema, i)],
                    rig.tee.address(),
                    &|_| {},
                )
                .await?;
            patient
                .set_policy(&data_type, &owned, true, UNLIMITED)
                .await?;
        }
        Ok(rig)
    }

    pub(super) async fn patient(&self) -> Result<Patient> {
        let id = Identity::random();
        let chain = self
            .admin
            .as_party(Wallet::new(self.ledger.clone(), id.signer().clone()).await?);
        let patient = Patient::new(id, chain, self.store.clone());
        patient.register().await?;
        Ok(patient)
    }

    pub(super) async fn job(&self, seed: u64) -> Result<JobId> {
        let features = self
            .schema
            .feature_names()
            .take(FEATURES_TRAINED)
            .map(str::to_owned)
            .collect();
        let (spec, requirement) =
            logistic_job(&self.schema, features, seed, (BASE_COHORT + 1) as u64);
        let job = self.demander.submit(&spec, &requirement).await?;
        self.reviewer.approve(job).await?;
        Ok(job)
    }

    /// The timed flow: encrypt, store, register, consent; the TEE's run; the demander's check
    /// and decryption.
    async fn share_one(
        &self,
        patient: &Patient,
        data_type: &DataType,
        job: JobId,
        i: usize,
        own_process: bool,
    ) -> Result<Duration> {
        let rec = record(&self.schema, i);
        let start = Instant::now();
        let owned = patient
            .upload(
                data_type,
                std::slice::from_ref(&rec),
                self.tee.address(),
                &|_| {},
            )
            .await?;
        patient.grant(&owned[0], job, UNLIMITED).await?;
        let used = if own_process {
            self.run_in_process_of_its_own(job).await?
        } else {
            self.tee.run_job(job, &|_, _| {}).await?.records_used
        };
        let output = self.demander.fetch_result(job).await?;
        let elapsed = start.elapsed();
        if used != (BASE_COHORT + 1) as u64 || output.records_used != used {
            bail!(
                "job {} used {used} records, expected {}",
                job.0,
                BASE_COHORT + 1
            );
        }
        Ok(elapsed)
    }

    async fn run_in_process_of_its_own(&self, job: JobId) -> Result<u64> {
        self.run_report_in_own_process(job).await?["records_used"]
            .as_u64()
            .context("records_used")
    }

    /// Ends the enclave worker (so that it does not see its node go away), then stops the node.
    pub(super) async fn stop(self) {
        drop(self.worker);
        self.server.stop().await;
    }

    /// The report of `job` run by this rig's enclave worker (its own process).
    pub(super) async fn run_report_in_own_process(&self, job: JobId) -> Result<serde_json::Value> {
        self.worker.lock().await.run(job).await
    }

    /// Starts `medshare-enclave worker` for the rig in `dir`: it reaches the node over
    /// WebSocket (receipts awaited through a `newHeads` subscription), the store and its key.
    async fn start_worker(
        dir: &std::path::Path,
        server: &RpcServer,
    ) -> Result<crate::spawn::Worker> {
        let rpc = server.ws_endpoint();
        let (deployment, store) = (dir.join("deployment.json"), dir.join("store"));
        let enclave_dir = dir.join("enclave");
        crate::spawn::Spawn {
            rpc: &rpc,
            deployment: &deployment,
            store: &store,
            enclave_dir: &enclave_dir,
        }
        .worker()
        .await
    }
}

/// A logistic regression on `features` of `schema` and the requirement that grants them.
/// A logistic regression on `features` of `schema` and the requirement that grants them.
pub(super) fn logistic_job(
    schema: &Schema,
    features: Vec<String>,
    seed: u64,
    min_cohort: u64,
) -> (ModelSpec, DataRequirement) {
    let spec = ModelSpec {
        kind: ModelKind::LogisticRegression {
            l2: 1.0,
            max_iterations: 100,
            tolerance: 1e-4,
        },
        features: features.clone(),
        label: schema.label.name.clone(),
        test_fraction: 0.25,
        seed,
        privacy: medshare_training::Privacy::non_private(),
    };
    let requirement = DataRequirement {
        data_type: schema.name.clone(),
        features,
        label: schema.label.name.clone(),
        min_cohort,
    };
    (spec, requirement)
}

pub(super) async fn table3(runs: usize, quiet: bool) -> Result<Vec<Table3Row>> {
    let bar = crate::progress(
        (runs * 2 * TABLE3_SIZES_KB.len()) as u64,
        "Table 3 {bar:40} {pos}/{len} flows {elapsed}",
        quiet,
    )?;
    let mut rows = Vec::new();
    for (column, size_kb) in TABLE3_SIZES_KB.into_iter().enumerate() {
        let (schema, record_bytes) = sized_schema(size_kb)?;
        let data_type = schema.data_type()?;
        let features_per_record = schema.features.len();
        let rig = Rig::new(schema).await?;
        let (mut inproc, mut ownproc) = (Vec::new(), Vec::new());
        for run in 0..runs * 2 {
            let own_process = run % 2 == 1;
            let job = rig.job((size_kb as u64) << 32 | run as u64).await?;
            let patient = rig.patient().await?;
            let t = rig
                .share_one(&patient, &data_type, job, BASE_COHORT + run, own_process)
                .await?;
            let us = t.as_secs_f64() * 1e6;
            if own_process {
                ownproc.push(us)
            } else {
                inproc.push(us)
            }
            bar.inc(1);
        }
        let (inproc, ownproc) = (MinAvgMax::of(&inproc), MinAvgMax::of(&ownproc));
        let (paper_nosgx, paper_sgx) = (table3_nosgx(column), table3_sgx(column));
        let ciphertext_bytes = ciphertext_len(record_bytes)?;
        let records = BASE_COHORT + 1;
        rows.push(Table3Row {
            size_kb,
            record_bytes,
            runs,
            min_us: inproc.min_us,
            avg_us: inproc.avg_us,
            max_us: inproc.max_us,
            process_min_us: ownproc.min_us,
            process_avg_us: ownproc.avg_us,
            process_max_us: ownproc.max_us,
            process_start_us: (rig.worker_start_ms * 1e3).round(),
            paper_avg_us: paper_nosgx.avg_us,
            speedup_vs_paper: round3(paper_nosgx.avg_us / inproc.avg_us),
            paper_nosgx,
            paper_sgx,
            process_speedup_vs_paper_sgx: round3(paper_sgx.avg_us / ownproc.avg_us),
            work: Work {
                features_per_record,
                features_trained: FEATURES_TRAINED,
                ciphertext_bytes,
                records_decrypted_per_flow: records,
                bytes_decrypted_per_flow: records * ciphertext_bytes,
                features_parsed_per_flow: records * features_per_record,
            },
        });
        rig.stop().await;
    }
    bar.finish_and_clear();
    Ok(rows)
}
