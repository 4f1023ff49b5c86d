//! [`Enclave`]: the ecall dispatcher and the enclave's long-lived state.

use crate::{Error, Result, authored, job::Job, seal};
use alloy_consensus::{SignableTransaction, TxEip1559};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy_signer::SignerSync;
use medshare_crypto::Identity;
use medshare_enclave_api::{
    EnclaveApi, Evidence, EvidenceKind, Request, Response, UnsignedTx, simulated_measurement,
};
use std::{collections::HashSet, path::Path};

/// The enclave: SK_T, its evidence, the current job, and the transactions it wrote for it (its
/// registration, or the current job's), the only ones it signs.
pub struct Enclave {
    identity: Identity,
    evidence: Evidence,
    job: Option<Job>,
    authored: HashSet<(Address, B256)>,
}

impl std::fmt::Debug for Enclave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enclave")
            .field("address", &self.identity.address())
            .field("kind", &self.evidence.kind)
            .finish_non_exhaustive()
    }
}

impl Enclave {
    /// Starts the simulation backend: unseals SK_T from `sealed_key` (or creates and seals a new
    /// one) with the platform secret the host provides, and produces simulated evidence.
    pub fn simulated(sealed_key: &Path, platform_secret: &[u8; 32]) -> Result<Self> {
        let measurement = simulated_measurement();
        let (identity, _) = seal::unseal_or_create(sealed_key, platform_secret, measurement)?;
        let evidence = Evidence::simulated(identity.public_key_uncompressed().as_slice());
        Ok(Self {
            identity,
            evidence,
            job: None,
            authored: HashSet::new(),
        })
    }

    /// The enclave's address (PK_T's).
    pub fn address(&self) -> Address {
        self.identity.address()
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
            Request::AuthorRegistration { registration } => {
                let tx = authored::register_tee(
                    registration,
                    Bytes::copy_from_slice(self.identity.public_key_uncompressed().as_slice()),
                    self.evidence.measurement,
                    self.evidence.hash(),
                    self.evidence.kind == EvidenceKind::Simulated,
                );
                Ok(Response::Authored(self.author(tx)))
            }
            Request::BeginJob(ctx) => {
                if let Some(job) = &self.job {
                    return Err(Error::State(format!(
                        "a job of demander {} is running; finish it first",
                        job.demander()
                    )));
                }
                // What the enclave wrote for an earlier job is no longer signed.
                self.authored.clear();
                let check = crate::job::begin(&self.identity, *ctx)?;
                self.job = check.job;
                let tx = self.author(check.tx);
                Ok(Response::ModelVerified {
                    hash_ok: check.hash_ok,
                    signature_ok: check.signature_ok,
                    reason: check.reason,
                    tx,
                })
            }
            Request::AddRecords { records } => {
                let job = self
                    .job
                    .as_mut()
                    .ok_or_else(|| Error::State("no job is running".into()))?;
                let (outcomes, tx) = job.add(&self.identity, records)?;
                let tx = tx.map(|tx| self.author(tx));
                Ok(Response::RecordsChecked { outcomes, tx })
            }
            Request::FinishJob => {
                let job = self
                    .job
                    .take()
                    .ok_or_else(|| Error::State("no job is running".into()))?;
                let mut result = job.finish(&self.identity)?;
                result.txs = result.txs.into_iter().map(|tx| self.author(tx)).collect();
                Ok(Response::JobFinished(Box::new(result)))
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
        let unsigned = TxEip1559 {
            chain_id: tx.chain_id,
            nonce: tx.nonce,
            gas_limit: tx.gas_limit,
            max_fee_per_gas: tx.max_fee_per_gas,
            max_priority_fee_per_gas: tx.max_priority_fee_per_gas,
            to: TxKind::Call(tx.to),
            value: U256::ZERO,
            access_list: Default::default(),
            input: tx.input,
        };
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
