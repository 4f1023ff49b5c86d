//! [`Enclave`]: the ecall dispatcher and the enclave's long-lived state.

use crate::{
    Error, Result, authored,
    facts::SelfFacts,
    job::{Finished, Job, Me, Trained},
    seal,
    view::View,
};
use alloy_consensus::SignableTransaction;
use alloy_primitives::{Address, B256, Bytes, keccak256};
use alloy_signer::SignerSync;
use medshare_crypto::Identity;
use medshare_enclave_api::{
    EnclaveApi, Evidence, MAX_GAS_LIMIT, Request, Response, TrustAnchors, UnsignedTx,
};
use std::{collections::HashSet, path::Path};

/// What the simulation backend's platform provides: a sealing secret and the measurement of
/// the enclave program that runs. On SGX the CPU provides both (`EGETKEY`, MRENCLAVE) and the
/// host cannot choose them; in simulation the host does, which is what simulation cannot
/// protect against (see `docs/threat-model.md`).
#[derive(Clone)]
pub struct SimulatedPlatform {
    secret: [u8; 32],
    measurement: B256,
}

impl std::fmt::Debug for SimulatedPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedPlatform")
            .field("measurement", &self.measurement)
            .finish_non_exhaustive()
    }
}

impl SimulatedPlatform {
    /// A platform with this sealing secret, running a program whose measurement (SHA-256 of the
    /// enclave program) is `measurement`.
    pub fn new(secret: [u8; 32], measurement: B256) -> Self {
        Self {
            secret,
            measurement,
        }
    }

    /// The measurement of the running enclave program.
    pub fn measurement(&self) -> B256 {
        self.measurement
    }
}

/// The enclave: SK_T, its evidence and trust anchors, the current job, and the transactions it
/// wrote (its registration, or the current job's), the only ones it signs.
pub struct Enclave {
    identity: Identity,
    evidence: Evidence,
    job: Option<Job>,
    /// A trained job whose result waits for its budget debits to be on chain.
    trained: Option<Box<Trained>>,
    authored: HashSet<(Address, B256)>,
}

impl std::fmt::Debug for Enclave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enclave")
            .field("address", &self.identity.address())
            .field("kind", &self.evidence.kind)
            .field("chain_id", &self.evidence.anchors.chainId)
            .finish_non_exhaustive()
    }
}

impl Enclave {
    /// Starts the simulation backend: unseals SK_T and its trust anchors from `sealed_key`, or,
    /// if there is none, creates a key, seals it with `anchors` and writes it. An existing key
    /// sealed for other anchors is refused (a key serves one chain and deployment for life).
    pub fn simulated(
        sealed_key: &Path,
        platform: &SimulatedPlatform,
        anchors: Option<&TrustAnchors>,
    ) -> Result<Self> {
        let (identity, anchors, _) =
            seal::unseal_or_create(sealed_key, &platform.secret, platform.measurement, anchors)?;
        let evidence = Evidence::simulated(platform.measurement, anchors);
        Ok(Self {
            identity,
            evidence,
            job: None,
            trained: None,
            authored: HashSet::new(),
        })
    }

    /// The enclave's address (PK_T's).
    pub fn address(&self) -> Address {
        self.identity.address()
    }

    /// The trust anchors the key was sealed with.
    pub fn anchors(&self) -> &TrustAnchors {
        &self.evidence.anchors
    }

    fn me(&self) -> Me<'_> {
        Me {
            identity: &self.identity,
            facts: SelfFacts {
                anchors: &self.evidence.anchors,
                address: self.identity.address(),
                measurement: self.evidence.measurement,
                kind: self.evidence.kind,
            },
        }
    }

    fn author(&mut self, tx: medshare_enclave_api::AuthoredTx) -> medshare_enclave_api::AuthoredTx {
        self.authored.insert((tx.to, keccak256(&tx.input)));
        tx
    }

    fn handle(&mut self, request: Request) -> Result<Response> {
        match request {
            Request::Identity => Ok(Response::Identity {
                address: self.identity.address(),
                public_key: Bytes::copy_from_slice(
                    self.identity.public_key_uncompressed().as_slice(),
                ),
                evidence: self.evidence.clone(),
            }),
            Request::AuthorRegistration => {
                let tx = authored::submit_tee(
                    self.evidence.anchors.registration,
                    Bytes::copy_from_slice(self.identity.public_key_uncompressed().as_slice()),
                    self.evidence.encode(),
                );
                Ok(Response::Authored(self.author(tx)))
            }
            Request::BeginJob { job: ctx, view } => {
                if let Some(job) = &self.job {
                    return Err(Error::State(format!(
                        "a job of demander {} is running; finish it first",
                        job.demander()
                    )));
                }
                let view = View::verify(&view, &self.evidence.anchors)?;
                // What the enclave wrote for an earlier job is no longer signed, and a result
                // still waiting for its debits is dropped (the job can run again).
                self.authored.clear();
                self.trained = None;
                let check = crate::job::begin(&self.me(), *ctx, &view)?;
                self.job = check.job;
                let tx = self.author(check.tx);
                Ok(Response::ModelVerified {
                    hash_ok: check.hash_ok,
                    signature_ok: check.signature_ok,
                    reason: check.reason,
                    tx,
                })
            }
            Request::AddRecords { records, view } => {
                let view = View::verify(&view, &self.evidence.anchors)?;
                let mut job = self
                    .job
                    .take()
                    .ok_or_else(|| Error::State("no job is running".into()))?;
                let checked = job.add(&self.me(), records, &view);
                // A refused view (a revoked TEE, a removed reviewer) stops the job.
                if checked.is_ok() {
                    self.job = Some(job);
                }
                let (outcomes, tx) = checked?;
                let tx = tx.map(|tx| self.author(tx));
                Ok(Response::RecordsChecked { outcomes, tx })
            }
            Request::FinishJob { view } => {
                let view = View::verify(&view, &self.evidence.anchors)?;
                let job = self
                    .job
                    .take()
                    .ok_or_else(|| Error::State("no job is running".into()))?;
                match job.finish(&self.me(), &view)? {
                    Finished::Trained {
                        trained,
                        txs,
                        records_used,
                    } => {
                        let checkpoint = trained.checkpoint(&self.me())?;
                        self.trained = Some(trained);
                        Ok(Response::DebitsPending {
                            txs: txs.into_iter().map(|tx| self.author(tx)).collect(),
                            records_used,
                            checkpoint,
                        })
                    }
                    Finished::Failed { reason, txs } => Ok(Response::JobFailed {
                        reason,
                        txs: txs.into_iter().map(|tx| self.author(tx)).collect(),
                    }),
                }
            }
            Request::ResumeJob { checkpoint, view } => {
                if let Some(job) = &self.job {
                    return Err(Error::State(format!(
                        "a job of demander {} is running; finish it first",
                        job.demander()
                    )));
                }
                let view = View::verify(&view, &self.evidence.anchors)?;
                let (trained, txs) = Trained::resume(&self.me(), &checkpoint, &view)?;
                // As for a new job: only this job's transactions are signed from now on.
                self.authored.clear();
                let records_used = trained.records_used();
                self.trained = Some(Box::new(trained));
                Ok(Response::DebitsPending {
                    txs: txs.into_iter().map(|tx| self.author(tx)).collect(),
                    records_used,
                    checkpoint,
                })
            }
            Request::ReleaseResult { view } => {
                let view = View::verify(&view, &self.evidence.anchors)?;
                let mut trained = self
                    .trained
                    .take()
                    .ok_or_else(|| Error::State("no trained job waits for release".into()))?;
                let me = self.me();
                match trained.release(&me, &view) {
                    Ok(mut result) => {
                        result.txs = result.txs.into_iter().map(|tx| self.author(tx)).collect();
                        Ok(Response::JobFinished(Box::new(result)))
                    }
                    Err(e) => {
                        // Not released: it waits for the debits (or a later view).
                        self.trained = Some(trained);
                        Err(e)
                    }
                }
            }
            Request::SignTransaction(tx) => self.sign(tx),
        }
    }

    fn sign(&mut self, tx: UnsignedTx) -> Result<Response> {
        // An authored transaction may be signed again (with another nonce, after a refused
        // send): its content is the enclave's own statement either way.
        if !self.authored.contains(&(tx.to, keccak256(&tx.input))) {
            return Err(Error::NotAuthored {
                to: tx.to,
                len: tx.input.len(),
            });
        }
        let anchors = &self.evidence.anchors;
        if tx.chain_id != anchors.chainId {
            return Err(Error::Unsignable(format!(
                "chain id {} is not {}, the chain this enclave serves",
                tx.chain_id, anchors.chainId
            )));
        }
        if tx.max_fee_per_gas > anchors.maxFeePerGas
            || tx.max_priority_fee_per_gas > tx.max_fee_per_gas
        {
            return Err(Error::Unsignable(format!(
                "fees (max {} wei/gas, priority {}) above the cap of {} wei/gas",
                tx.max_fee_per_gas, tx.max_priority_fee_per_gas, anchors.maxFeePerGas
            )));
        }
        if tx.gas_limit > MAX_GAS_LIMIT {
            return Err(Error::Unsignable(format!(
                "gas limit {} above {MAX_GAS_LIMIT}",
                tx.gas_limit
            )));
        }
        let unsigned = tx.into_transaction();
        let signature = self
            .identity
            .signer()
            .sign_hash_sync(&unsigned.signature_hash())
            .map_err(|e| Error::Message(format!("signing: {e}")))?;
        Ok(Response::Signed {
            signature: Bytes::from(signature.as_bytes().to_vec()),
        })
    }
}

impl EnclaveApi for Enclave {
    fn ecall(&mut self, request: &[u8]) -> Vec<u8> {
        let response = match serde_json::from_slice::<Request>(request) {
            Ok(request) => self.handle(request).unwrap_or_else(|e| Response::Error {
                message: e.to_string(),
            }),
            Err(e) => Response::Error {
                message: format!("malformed request: {e}"),
            },
        };
        serde_json::to_vec(&response).unwrap_or_else(|e| {
            // An encoding failure of our own response types; report it as an error response.
            format!("{{\"Error\":{{\"message\":\"cannot encode the response: {e}\"}}}}")
                .into_bytes()
        })
    }
}
