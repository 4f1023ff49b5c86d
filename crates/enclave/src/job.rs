//! One job inside the enclave: model verification, record checks, training.

use crate::{
    Error, Result,
    authored::{self, Checked, MAX_BATCH},
};
use alloy_primitives::{Address, B256, Bytes, keccak256};
use medshare_contracts::Audit;
use medshare_crypto::{
    Identity, ciphertext_hash,
    eip712::{self, Domain, ModelSubmission, Signature, TrainingResult, Verification},
    open_record, public_key_from_bytes, seal_result, tee,
};
use medshare_enclave_api::{AuthoredTx, JobContext, JobResult, RecordInput, RecordOutcome};
use medshare_primitives::{DataType, JobId, RecordId};
use medshare_records::{DataRequirement, PatientRecord};
use medshare_training::{DatasetBuilder, ModelSpec};
use std::collections::HashSet;

/// A job whose model verified: everything needed to check, load and train.
pub(crate) struct Job {
    ctx: JobContext,
    spec: ModelSpec,
    requirement: DataRequirement,
    dataset: DatasetBuilder,
    seen: HashSet<B256>,
    audit: Vec<Audit::AuditEntry>,
}

/// The outcome of verifying a job's model.
pub(crate) struct ModelCheck {
    pub(crate) hash_ok: bool,
    pub(crate) signature_ok: bool,
    pub(crate) reason: Option<String>,
    pub(crate) tx: AuthoredTx,
    pub(crate) job: Option<Job>,
}

fn model_domain(ctx: &JobContext) -> Domain {
    Domain::new(ctx.chain_id, ctx.deployment.model)
}

/// Signs a verification statement ST (subject = model hash or ciphertext hash).
fn statement(
    identity: &Identity,
    ctx: &JobContext,
    subject: B256,
    hash_ok: bool,
    signature_ok: bool,
) -> Result<Bytes> {
    let v = Verification {
        jobId: ctx.job.0,
        subject,
        hashOk: hash_ok,
        signatureOk: signature_ok,
    };
    Ok(identity.sign_typed(&model_domain(ctx), &v)?.to_bytes())
}

/// Verifies the model (HRT_j: hashes; VT_j: the demander's signature SM_j over the submission,
/// and a valid spec and requirement that agree) and writes `postModelVerification`.
pub(crate) fn begin(identity: &Identity, ctx: JobContext) -> Result<ModelCheck> {
    let hash_ok = keccak256(&ctx.model) == ctx.model_hash
        && keccak256(&ctx.requirement) == ctx.requirement_hash;
    let submission = ModelSubmission {
        demander: ctx.demander,
        modelHash: ctx.model_hash,
        requirementHash: ctx.requirement_hash,
        dataType: ctx.data_type,
        timestamp: ctx.timestamp,
    };
    let mut reason = None;
    if !hash_ok {
        reason = Some(
            "the model or requirement does not hash to what the demander submitted".to_owned(),
        );
    }
    let signed = Signature::from_slice(&ctx.signature)
        .and_then(|sig| eip712::recover(&model_domain(&ctx), &submission, &sig))
        .is_ok_and(|signer| signer == ctx.demander);
    let job_ok = eip712::job_id(&submission) == ctx.job;
    let key_ok = public_key_from_bytes(&ctx.demander_public_key)
        .is_ok_and(|pk| medshare_crypto::address_of(&pk) == ctx.demander);
    let parsed = parse(&ctx);
    let signature_ok = signed && job_ok && key_ok && parsed.is_ok();
    if reason.is_none() {
        reason = if !signed {
            Some("SM_j is not the demander's signature over the submission".into())
        } else if !job_ok {
            Some("the job id is not the submission's".into())
        } else if !key_ok {
            Some("the demander's registered key does not match its address".into())
        } else {
            parsed.as_ref().err().cloned()
        };
    }
    let st = statement(identity, &ctx, ctx.model_hash, hash_ok, signature_ok)?;
    let tx =
        authored::model_verification(ctx.deployment.model, ctx.job.0, hash_ok, signature_ok, st);
    let job = match (hash_ok && signature_ok, parsed) {
        (true, Ok((spec, requirement))) => Some(Job {
            dataset: DatasetBuilder::new(spec.features.len()),
            spec,
            requirement,
            seen: HashSet::new(),
            audit: Vec::new(),
            ctx,
        }),
        _ => None,
    };
    Ok(ModelCheck {
        hash_ok,
        signature_ok,
        reason,
        tx,
        job,
    })
}

/// Parses the spec and requirement and checks they agree with each other and the submission.
fn parse(ctx: &JobContext) -> std::result::Result<(ModelSpec, DataRequirement), String> {
    let spec = ModelSpec::from_json(&ctx.model).map_err(|e| format!("model spec: {e}"))?;
    let requirement = DataRequirement::from_json(&ctx.requirement).map_err(|e| e.to_string())?;
    let data_type = DataType::new(requirement.data_type.clone())
        .map_err(|e| format!("data requirement: {e}"))?;
    if data_type.id() != ctx.data_type {
        return Err("the requirement's data type is not the one submitted".into());
    }
    if let Some(f) = spec
        .features
        .iter()
        .find(|f| !requirement.features.contains(f))
    {
        return Err(format!(
            "the model reads {f:?}, which the requirement does not grant"
        ));
    }
    if spec.label != requirement.label {
        return Err("the model's label is not the requirement's".into());
    }
    Ok((spec, requirement))
}

impl Job {
    /// Checks a batch of records; loads those that may be used. Returns the outcomes and the
    /// `postRecordVerifications` transaction for the records it verified.
    pub(crate) fn add(
        &mut self,
        identity: &Identity,
        inputs: Vec<RecordInput>,
    ) -> Result<(Vec<RecordOutcome>, Option<AuthoredTx>)> {
        let mut outcomes = Vec::with_capacity(inputs.len());
        let mut checked = Vec::new();
        for input in inputs {
            let outcome = self.check_one(identity, input, &mut checked)?;
            outcomes.push(outcome);
        }
        let tx = (!checked.is_empty()).then(|| {
            authored::record_verifications(self.ctx.deployment.model, self.ctx.job.0, &checked)
        });
        Ok((outcomes, tx))
    }

    fn check_one(
        &mut self,
        identity: &Identity,
        input: RecordInput,
        checked: &mut Vec<Checked>,
    ) -> Result<RecordOutcome> {
        let mut outcome = RecordOutcome {
            ciphertext_hash: input.ciphertext_hash,
            owner: input.owner,
            hash_ok: None,
            signature_ok: None,
            used: false,
            excluded: None,
        };
        let exclude = |mut o: RecordOutcome, why: &str| {
            o.excluded = Some(why.to_owned());
            o
        };
        if !self.seen.insert(input.ciphertext_hash) {
            return Ok(exclude(outcome, "seen before in this job"));
        }
        // No consent, no use: nothing about the record is checked, posted or decrypted.
        if !input.authorized {
            return Ok(exclude(outcome, "no live grant or policy for this job"));
        }
        // HRT_i: the stored ciphertext hashes to HDS_i, which TD_i names.
        let hash_ok = matches!((&input.ciphertext, &input.record), (Some(ct), Some(r))
            if ciphertext_hash(ct).0 == input.ciphertext_hash && r.ciphertextHash == input.ciphertext_hash);
        // VT_i: US_i is the owner's signature over TD_i, and the owner registered it.
        let data_domain = Domain::new(self.ctx.chain_id, self.ctx.deployment.data);
        let signature_ok = match (&input.record, &input.signature) {
            (Some(r), Some(sig)) => {
                r.owner == input.owner
                    && Signature::from_slice(sig)
                        .and_then(|s| eip712::recover(&data_domain, r, &s))
                        .is_ok_and(|signer| signer == r.owner)
            }
            _ => false,
        };
        outcome.hash_ok = Some(hash_ok);
        outcome.signature_ok = Some(signature_ok);
        checked.push(Checked {
            ciphertext_hash: input.ciphertext_hash,
            hash_ok,
            signature_ok,
            signature: statement(
                identity,
                &self.ctx,
                input.ciphertext_hash,
                hash_ok,
                signature_ok,
            )?,
        });
        let used = hash_ok && signature_ok && self.load(identity, &input, &mut outcome);
        if !hash_ok {
            outcome.excluded =
                Some("the stored ciphertext does not hash to HDS_i (tampered or missing)".into());
        } else if !signature_ok {
            outcome.excluded = Some("US_i is not the owner's signature over TD_i".into());
        }
        outcome.used = used;
        // Fig. 4: every record the job touched, used or refused for failing verification.
        self.audit.push(Audit::AuditEntry {
            jobId: self.ctx.job.0,
            ciphertextHash: input.ciphertext_hash,
            owner: input.owner,
            demander: self.ctx.demander,
            requirementHash: self.ctx.requirement_hash,
            modelHash: self.ctx.model_hash,
            modelHashOk: true,
            recordHashOk: hash_ok,
        });
        Ok(outcome)
    }

    /// Recovers the key, decrypts, parses and loads one verified record. On any failure the
    /// outcome says why and nothing is loaded.
    fn load(
        &mut self,
        identity: &Identity,
        input: &RecordInput,
        outcome: &mut RecordOutcome,
    ) -> bool {
        let (Some(record), Some(ciphertext)) = (&input.record, &input.ciphertext) else {
            return false;
        };
        let mut refuse = |why: &str| {
            outcome.excluded = Some(why.to_owned());
            false
        };
        if !input.live {
            return refuse("TD_i is not the live record its owner registered");
        }
        if record.dataType != self.ctx.data_type {
            return refuse("the record is of another data type");
        }
        if record.tee != identity.address() {
            return refuse("the record's key is shared to another TEE");
        }
        let Some(pad) = &input.pad else {
            return refuse("the owner has not released r_C·PK_C");
        };
        if tee::check_pad_commitment(pad, record.padCommitment).is_err() {
            return refuse("r_C·PK_C does not match the commitment the owner signed");
        }
        let Ok(key) = tee::recover_data_key(
            identity,
            RecordId(record.recordId),
            &record.cm,
            pad,
            &record.rUg,
        ) else {
            return refuse("the key share is malformed");
        };
        let Ok(plaintext) = open_record(&key, record.owner, ciphertext) else {
            return refuse("the ciphertext does not decrypt");
        };
        let Ok(parsed) = PatientRecord::from_bytes(&plaintext) else {
            return refuse("the plaintext is not a record");
        };
        if parsed.data_type != self.requirement.data_type {
            return refuse("the plaintext is of another data type");
        }
        let (Ok(features), Some(label)) = (parsed.select(&self.spec.features), parsed.label) else {
            return refuse("the record lacks a feature or the label the model needs");
        };
        if self.dataset.push(&features, label).is_err() {
            return refuse("the record's values cannot be used");
        }
        true
    }

    /// Trains, encrypts MRT_j to the demander, signs it, and writes `postResult` and the audit.
    pub(crate) fn finish(self, identity: &Identity) -> Result<JobResult> {
        let Job {
            ctx,
            spec,
            requirement,
            dataset,
            audit,
            ..
        } = self;
        let min_cohort = usize::try_from(requirement.min_cohort).unwrap_or(usize::MAX);
        let output = medshare_training::train(&spec, dataset.finish(), min_cohort)?;
        let mrt = serde_json::to_vec(&output).map_err(|e| Error::Message(e.to_string()))?;
        let demander_key = public_key_from_bytes(&ctx.demander_public_key)?;
        let sealed = seal_result(&demander_key, JobId(ctx.job.0), &mrt)?;
        let result_hash = ciphertext_hash(&sealed).0;
        let signature = identity
            .sign_typed(
                &model_domain(&ctx),
                &TrainingResult {
                    jobId: ctx.job.0,
                    resultHash: result_hash,
                },
            )?
            .to_bytes();
        let mut txs = vec![authored::result(
            ctx.deployment.model,
            ctx.job.0,
            result_hash,
        )];
        for chunk in audit.chunks(MAX_BATCH) {
            txs.push(authored::audit(ctx.deployment.audit, chunk.to_vec()));
        }
        Ok(JobResult {
            result: Bytes::from(sealed),
            result_hash,
            signature,
            records_used: output.records_used,
            txs,
        })
    }

    /// The demander of the job (for messages).
    pub(crate) fn demander(&self) -> Address {
        self.ctx.demander
    }
}
