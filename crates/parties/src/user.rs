//! The patient (paper §5.2, Algorithm 1; consent §5.2.3(e); audit §5.5.2).

use crate::{
    Error, Result,
    meta::{self, ConsentEntry, ConsentList, RecordMeta},
};
use alloy_primitives::{Address, B256, Bytes, U256};
use medshare_chain::{Audit, ContractClient, Logged};
use medshare_crypto::{
    Identity, KeyShare, PublicKey, ciphertext_hash,
    eip712::{Consent, Domain, Record, Signature, record_commitment},
    pk_c, public_key_from_bytes, seal_record, sha256,
};
use medshare_primitives::{DataType, JobId, RecordId, Role};
use medshare_records::PatientRecord;
use medshare_storage::{Key, Store};
use std::sync::Arc;

/// Records registered per transaction.
pub const UPLOAD_BATCH: usize = 100;

/// Records per bulk consent (`Authorization.grantBatch`: one transaction and one stored list
/// of about 1.2 MB each).
pub const GRANT_BATCH: usize = 5_000;

/// A record as its owner keeps it: the signed TD_i, and the pad r_C·PK_C it releases with
/// consent. `Debug` does not print the pad (before consent, it is what stands between the TEE's
/// key and the data key).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OwnedRecord {
    /// TD_i.
    pub record: Record,
    /// US_i.
    pub signature: Signature,
    /// r_C·PK_C (33 bytes).
    pub pad: Bytes,
}

impl std::fmt::Debug for OwnedRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedRecord")
            .field("ciphertext_hash", &self.record.ciphertextHash)
            .finish_non_exhaustive()
    }
}

/// One of the owner's live bulk consents to a job.
struct OwnBatch {
    root: B256,
    count: u32,
    list: Option<ConsentList>,
}

/// A sealed record ready to store and register.
pub struct Sealed {
    /// The owner's copy.
    pub owned: OwnedRecord,
    /// DS_i.
    pub ciphertext: Vec<u8>,
}

/// A batch being sealed on a blocking thread ([`Patient::start_sealing`]).
pub struct Sealing(tokio::task::JoinHandle<Result<Vec<Sealed>>>);

impl std::fmt::Debug for Sealing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealing").finish_non_exhaustive()
    }
}

impl Sealing {
    /// The sealed batch. A panic while sealing (a bug) is resumed here.
    pub async fn finish(self) -> Result<Vec<Sealed>> {
        match self.0.await {
            Ok(sealed) => sealed,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(Error::SealingCancelled),
        }
    }
}

/// The plaintext encoding of each record (UDATA_i), in order, erased when dropped.
fn plaintexts(records: &[PatientRecord]) -> Result<Vec<zeroize::Zeroizing<Vec<u8>>>> {
    Ok(records
        .iter()
        .map(PatientRecord::to_bytes)
        .collect::<medshare_records::Result<Vec<_>>>()?)
}

/// Algorithm 1, stage 1 and the key sharing of eq. (4): for each plaintext a fresh record id and
/// data key, `DS_i = AES-256-GCM(KEY_i, UDATA_i)` bound to the record id and owner, `HDS_i`,
/// `CM_i = KEY_i + r_C·PK_C + r_U·PK_T`, and TD_i signed by the owner (US_i, EIP-712, verifying
/// contract Data). Nothing is sent. The plaintexts are the caller's; this is the only function
/// of the host-side crates that sees them.
pub fn seal_records(
    owner: &Identity,
    chain: &ContractClient,
    data_type: B256,
    tee: Address,
    tee_key: &PublicKey,
    plaintexts: &[&[u8]],
) -> Result<Vec<Sealed>> {
    let d = chain.deployment();
    let pk_c = pk_c(chain.chain_id(), d.authorization);
    let domain = Domain::new(chain.chain_id(), d.data);
    let mut rng = rand::rngs::OsRng;
    plaintexts
        .iter()
        .map(|pt| {
            let record_id = RecordId::random();
            let (key, material) = KeyShare::generate(&mut rng, record_id, tee_key, &pk_c);
            let ciphertext = seal_record(&key, owner.address(), pt)?;
            let hash = ciphertext_hash(&ciphertext).0;
            let record = Record {
                owner: owner.address(),
                recordId: record_id.0,
                dataType: data_type,
                storageIndex: hash,
                ciphertextHash: hash,
                timestamp: crate::now(),
                cm: Bytes::copy_from_slice(material.cm.as_slice()),
                rUg: Bytes::copy_from_slice(material.r_u_g.as_slice()),
                padCommitment: material.pad_commitment(),
                tee,
            };
            let signature = owner.sign_typed(&domain, &record)?;
            Ok(Sealed {
                owned: OwnedRecord {
                    record,
                    signature,
                    pad: Bytes::copy_from_slice(material.r_c_pk_c.as_slice()),
                },
                ciphertext,
            })
        })
        .collect()
}

/// One use of one of the patient's records (Fig. 4).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AuditRow {
    /// The job (MID_j's submission).
    pub job: B256,
    /// The record (HDS_i).
    pub record: B256,
    /// The demander (PK_j).
    pub demander: Address,
    /// model_j: the model's hash.
    pub model_hash: B256,
    /// RM_j's hash.
    pub requirement_hash: B256,
    /// HRT_j.
    pub model_hash_ok: bool,
    /// HRT_i.
    pub record_hash_ok: bool,
    /// What the enclave did with the record (used, decrypted for a failed training, or
    /// excluded and why).
    pub outcome: medshare_chain::UseOutcome,
    /// The ε the use cost the record's budget, in thousandths (0 when nothing was spent;
    /// `u32::MAX`: a model without differential privacy).
    pub epsilon_milli: u32,
    /// PK_T's address.
    pub tee: Address,
    /// The block the TEE's view of the chain came from.
    pub view_block: u64,
    /// Block time of the entry.
    pub timestamp: u64,
    /// The block.
    pub block: Option<u64>,
}

impl From<Logged<Audit::AuditRecorded>> for AuditRow {
    fn from(l: Logged<Audit::AuditRecorded>) -> Self {
        let e = l.event;
        Self {
            job: e.jobId,
            record: e.ciphertextHash,
            demander: e.demander,
            model_hash: e.modelHash,
            requirement_hash: e.requirementHash,
            model_hash_ok: e.modelHashOk,
            record_hash_ok: e.recordHashOk,
            // An outcome the contract's enum cannot hold never reaches a log; read it safely.
            outcome: medshare_chain::UseOutcome::try_from(e.outcome)
                .unwrap_or(medshare_chain::UseOutcome::RefusedContent),
            epsilon_milli: e.epsilonMilli,
            tee: e.tee,
            view_block: e.viewBlock,
            timestamp: e.timestamp,
            block: l.block_number,
        }
    }
}

/// A patient: its key, its handle on the chain, and the store its ciphertexts go to.
pub struct Patient {
    /// Shared with the blocking threads that seal batches ([`Patient::start_sealing`]).
    identity: Arc<Identity>,
    chain: ContractClient,
    store: Arc<dyn Store>,
}

impl Patient {
    /// The patient `identity`, whose wallet `chain` holds.
    pub fn new(identity: Identity, chain: ContractClient, store: Arc<dyn Store>) -> Self {
        Self {
            identity: Arc::new(identity),
            chain,
            store,
        }
    }

    /// The patient's address (PK_i).
    pub fn address(&self) -> Address {
        self.identity.address()
    }

    /// The patient's chain handle.
    pub fn chain(&self) -> &ContractClient {
        &self.chain
    }

    /// Registers as a user (once).
    pub async fn register(&self) -> Result<()> {
        self.chain
            .register(Role::User, self.identity.public_key_uncompressed())
            .await?;
        Ok(())
    }

    /// PK_T of `tee`, after checking on chain that it is an active TEE: a key is never shared
    /// with a TEE whose attestation governance has not accepted. The key the node returns must
    /// hash to `tee`'s address: a lying RPC endpoint cannot substitute a key of its own.
    pub async fn tee_key(&self, tee: Address) -> Result<PublicKey> {
        if !self.chain.is_active_tee(tee).await? {
            return Err(Error::TeeNotActive(tee));
        }
        let bytes = self.chain.public_key_of(tee).await?;
        let key =
            public_key_from_bytes(&bytes).map_err(|_| Error::TeeKeyMismatch { tee, got: None })?;
        let owner = medshare_crypto::address_of(&key);
        if owner != tee {
            return Err(Error::TeeKeyMismatch {
                tee,
                got: Some(owner),
            });
        }
        Ok(key)
    }

    /// Algorithm 1: encrypts each record under a fresh key shared to `tee`, stores ciphertext
    /// and TD_i, and registers them by hash, `UPLOAD_BATCH` per transaction. `progress` is told
    /// how many records are done. Returns the owner's copies (keep them: the pads are needed to
    /// consent).
    ///
    /// Pipelined: the next batch is sealed on a blocking thread while this one is stored and
    /// registered, so the owner's cryptography overlaps the store's flush and the wait for the
    /// block. Batches are still stored, then registered, one after another; when one fails, the
    /// batch sealed meanwhile is dropped unsent.
    pub async fn upload(
        &self,
        data_type: &DataType,
        records: &[PatientRecord],
        tee: Address,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Vec<OwnedRecord>> {
        let tee_key = self.tee_key(tee).await?;
        let mut owned = Vec::with_capacity(records.len());
        let mut chunks = records.chunks(UPLOAD_BATCH);
        let mut next = chunks
            .next()
            .map(|c| self.start_sealing(data_type, c, tee, &tee_key))
            .transpose()?;
        while let Some(sealing) = next.take() {
            let sealed = sealing.finish().await?;
            next = chunks
                .next()
                .map(|c| self.start_sealing(data_type, c, tee, &tee_key))
                .transpose()?;
            owned.extend(self.store_and_register(sealed).await?);
            progress(owned.len());
        }
        Ok(owned)
    }

    /// Algorithm 1's first stage for `records` ([`seal_records`]), on a blocking thread: the
    /// records encrypted, their keys shared to `tee` (whose key `tee_key` is, checked by
    /// [`Patient::tee_key`]) and TD_i signed; they are serialized here, on the caller's thread.
    /// Await [`Sealing::finish`] for the batch. Nothing is sent: a caller that must never lose a
    /// record's pad keeps the owner's copies before it calls [`Patient::store_and_register`],
    /// and may store and register one batch while the next is sealed. Dropping the [`Sealing`]
    /// discards its batch.
    pub fn start_sealing(
        &self,
        data_type: &DataType,
        records: &[PatientRecord],
        tee: Address,
        tee_key: &PublicKey,
    ) -> Result<Sealing> {
        let plaintexts = plaintexts(records)?;
        let (identity, chain, data_type, tee_key) = (
            Arc::clone(&self.identity),
            self.chain.clone(),
            data_type.id(),
            *tee_key,
        );
        Ok(Sealing(tokio::task::spawn_blocking(move || {
            let refs: Vec<&[u8]> = plaintexts.iter().map(|p| p.as_slice()).collect();
            seal_records(&identity, &chain, data_type, tee, &tee_key, &refs)
        })))
    }

    /// Which of `records` are registered on chain now (their commitment is stored and live).
    pub async fn registered(&self, records: &[OwnedRecord]) -> Result<Vec<bool>> {
        let mut out = Vec::with_capacity(records.len());
        for r in records {
            out.push(
                !self
                    .chain
                    .commitment_of(r.record.ciphertextHash)
                    .await?
                    .is_zero(),
            );
        }
        Ok(out)
    }

    /// Stores sealed records (ciphertext, then TD_i and US_i) and registers them in one
    /// transaction. Storage first: a registered record is always fetchable.
    pub async fn store_and_register(&self, sealed: Vec<Sealed>) -> Result<Vec<OwnedRecord>> {
        let mut owned = Vec::with_capacity(sealed.len());
        let mut objects = Vec::with_capacity(2 * sealed.len());
        for s in sealed {
            let hash = s.owned.record.ciphertextHash;
            objects.push((Key::record(&hash.0), s.ciphertext));
            let meta = RecordMeta {
                record: s.owned.record.clone(),
                signature: s.owned.signature.to_bytes(),
            };
            let json = serde_json::to_vec(&meta).map_err(|source| Error::Serialization {
                what: "TD_i and US_i",
                source,
            })?;
            objects.push((Key::record_meta(&hash.0), json));
            owned.push(s.owned);
        }
        self.store.put_many(objects).await?;
        if let Some(first) = owned.first() {
            let data_type = first.record.dataType;
            let records: Vec<Record> = owned.iter().map(|o| o.record.clone()).collect();
            self.chain.register_records(data_type, &records).await?;
        }
        Ok(owned)
    }

    /// Consents to `job` using `record`: releases its pad with the grant and sets the record's
    /// privacy budget to `budget_milli` (total ε in thousandths; 0 keeps the current one).
    pub async fn grant(&self, record: &OwnedRecord, job: JobId, budget_milli: u32) -> Result<()> {
        self.chain
            .grant(&record.record, job, record.pad.clone(), budget_milli)
            .await?;
        Ok(())
    }

    /// Consents to `job` for each of `records` in bulk consents of [`GRANT_BATCH`] records:
    /// each batch's list (record versions and pads) is stored, then its Merkle root registered
    /// with one `grantBatch` transaction; a record without a budget of its own gets
    /// `budget_milli` when a job first uses it. `progress` is told how many are done. Records
    /// already in a live bulk consent of the owner to the job (and not withdrawn from it) are
    /// skipped. Returns how many were granted.
    pub async fn grant_all(
        &self,
        records: &[OwnedRecord],
        job: JobId,
        budget_milli: u32,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<usize> {
        let wanted: std::collections::HashSet<B256> = records
            .iter()
            .map(|r| record_commitment(&r.record))
            .collect();
        let mut consented = std::collections::HashSet::new();
        for batch in self.own_batches(job).await? {
            let Some(list) = batch.list else { continue };
            for e in list.entries {
                if wanted.contains(&e.commitment)
                    && !self
                        .chain
                        .is_revoked_from_batch(self.address(), job, batch.root, e.commitment)
                        .await?
                {
                    consented.insert(e.commitment);
                }
            }
        }
        let pending: Vec<&OwnedRecord> = records
            .iter()
            .filter(|r| !consented.contains(&record_commitment(&r.record)))
            .collect();
        let mut done = records.len() - pending.len();
        progress(done);
        for chunk in pending.chunks(GRANT_BATCH) {
            let list = ConsentList {
                owner: self.address(),
                job: job.0,
                entries: chunk
                    .iter()
                    .map(|r| ConsentEntry {
                        ciphertext_hash: r.record.ciphertextHash,
                        commitment: record_commitment(&r.record),
                        pad: r.pad.clone(),
                    })
                    .collect(),
            };
            let Some(tree) = list.tree() else { continue };
            let json = serde_json::to_vec(&list).map_err(|source| Error::Serialization {
                what: "a bulk consent's list",
                source,
            })?;
            let list_hash = sha256(&json);
            // The list is stored before the chain names it.
            self.store.put(&Key::consent(&list_hash.0), json).await?;
            let count = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
            self.chain
                .grant_batch(job, tree.root(), count, budget_milli, list_hash)
                .await?;
            done += chunk.len();
            progress(done);
        }
        Ok(pending.len())
    }

    /// Withdraws the consent to `job` for each of `records` that has one: per-record grants one
    /// by one; from a bulk consent, the whole consent at once when every record it lists is
    /// withdrawn (or its list cannot be read), else record by record with its Merkle path.
    /// `progress` is told how many records were looked at. Returns how many consents were
    /// withdrawn.
    pub async fn revoke_all(
        &self,
        records: &[OwnedRecord],
        job: JobId,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<usize> {
        let mut revoked = 0;
        for (i, r) in records.iter().enumerate() {
            if self.chain.is_granted(&r.record, job).await? {
                self.chain.revoke(&r.record, job).await?;
                revoked += 1;
            }
            progress(i + 1);
        }
        let wanted: std::collections::HashMap<B256, &OwnedRecord> = records
            .iter()
            .map(|r| (record_commitment(&r.record), r))
            .collect();
        for batch in self.own_batches(job).await? {
            let Some(list) = batch.list else {
                tracing::warn!(
                    "the list of bulk consent {} is not in storage: withdrawing the whole consent",
                    batch.root
                );
                self.chain.revoke_batch(job, batch.root).await?;
                revoked += batch.count as usize;
                continue;
            };
            let members: Vec<(usize, &OwnedRecord)> = list
                .entries
                .iter()
                .enumerate()
                .filter_map(|(i, e)| wanted.get(&e.commitment).map(|r| (i, *r)))
                .collect();
            if members.is_empty() {
                continue;
            }
            let mut live = Vec::with_capacity(members.len());
            for (i, r) in members.iter().copied() {
                let commitment = record_commitment(&r.record);
                if !self
                    .chain
                    .is_revoked_from_batch(self.address(), job, batch.root, commitment)
                    .await?
                {
                    live.push((i, r));
                }
            }
            if members.len() == list.entries.len() {
                self.chain.revoke_batch(job, batch.root).await?;
                revoked += live.len();
                continue;
            }
            let Some(tree) = list.tree() else { continue };
            for (i, r) in live {
                let proof = tree.proof(i).unwrap_or_default();
                self.chain
                    .revoke_from_batch(&r.record, job, batch.root, proof)
                    .await?;
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    /// The owner's live bulk consents to `job`, each with its list when storage has it intact.
    async fn own_batches(&self, job: JobId) -> Result<Vec<OwnBatch>> {
        let mut out = Vec::new();
        for l in self
            .chain
            .batch_grants_of_job(job, Some(self.address()))
            .await?
        {
            let e = l.event;
            if !self
                .chain
                .batch_grant_live(self.address(), job, e.root)
                .await?
            {
                continue;
            }
            let list = meta::read_consent_list(self.store.as_ref(), e.listHash)
                .await?
                .filter(|list| list.tree().map(|t| t.root()) == Some(e.root));
            out.push(OwnBatch {
                root: e.root,
                count: e.count,
                list,
            });
        }
        Ok(out)
    }

    /// A record's privacy budget: (total, spent) in thousandths of ε.
    pub async fn budget(&self, record: B256) -> Result<(u32, u32)> {
        Ok(self.chain.budget_of(record).await?)
    }

    /// A consent to `job` for `record`, signed off chain (EIP-712 `Consent`, verifying contract
    /// Authorization, the owner's current nonce, valid until `deadline`), for anyone to relay
    /// with `Authorization.grantWithSignature`. It is good once, on this chain, for this contract.
    pub async fn signed_consent(
        &self,
        record: &OwnedRecord,
        job: JobId,
        budget_milli: u32,
        deadline: u64,
    ) -> Result<Signature> {
        let consent = Consent {
            ciphertextHash: record.record.ciphertextHash,
            jobId: job.0,
            rCPkC: record.pad.clone(),
            budgetMilli: budget_milli,
            nonce: self.chain.consent_nonce(self.address()).await?,
            deadline: U256::from(deadline),
        };
        let domain = Domain::new(self.chain.chain_id(), self.chain.deployment().authorization);
        Ok(self.identity.sign_typed(&domain, &consent)?)
    }

    /// Withdraws the consent to `job`.
    pub async fn revoke(&self, record: &OwnedRecord, job: JobId) -> Result<()> {
        self.chain.revoke(&record.record, job).await?;
        Ok(())
    }

    /// Sets a standing policy for the data type of `records` (any approved job of that type)
    /// and releases their pads with a privacy budget of `budget_milli` each (total ε in
    /// thousandths; 0 keeps the current one); or clears it (`allow = false`; released pads stay
    /// public, and the enclave checks the policy before every use).
    pub async fn set_policy(
        &self,
        data_type: &DataType,
        records: &[OwnedRecord],
        allow: bool,
        budget_milli: u32,
    ) -> Result<()> {
        self.chain.set_policy(data_type.id(), allow).await?;
        if allow && !records.is_empty() {
            let batch: Vec<(Record, Bytes)> = records
                .iter()
                .map(|r| (r.record.clone(), r.pad.clone()))
                .collect();
            for chunk in batch.chunks(UPLOAD_BATCH) {
                self.chain.release_pads(chunk, budget_milli).await?;
            }
        }
        Ok(())
    }

    /// Every use of the patient's records, oldest first.
    pub async fn audit_trail(&self) -> Result<Vec<AuditRow>> {
        Ok(self
            .chain
            .audit_of_owner(self.address())
            .await?
            .into_iter()
            .map(AuditRow::from)
            .collect())
    }
}
