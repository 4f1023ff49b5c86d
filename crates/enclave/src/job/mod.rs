//! One job inside the enclave: its chain facts, model verification, record checks, training.

use crate::{
    Error, Result,
    authored::{self, Checked, MAX_BATCH},
    facts::{self, JobFacts, JobTerms, SelfFacts},
    view::View,
};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use medshare_contracts::{
    Audit, EPSILON_INFINITE, UseOutcome, epsilon_milli,
    layout::{authorization, data},
};
use medshare_crypto::{
    Identity, ciphertext_hash,
    eip712::{
        self, Domain, ModelSubmission, Signature, TrainingResult, Verification, record_commitment,
    },
    open_record, public_key_from_bytes, seal_result, tee,
};
use medshare_enclave_api::{AuthoredTx, JobContext, JobResult, RecordInput, RecordOutcome};
use medshare_primitives::{DataType, JobId, RecordId};
use medshare_records::{DataRequirement, PatientRecord, Schema};
use medshare_training::{DatasetBuilder, ModelSpec, TrainingOutput, TrainingRules};
use std::collections::HashSet;

/// Most blocks between the oldest and the newest view of one job: with the contracts' rule that
/// a result names a block among the 256 most recent, no fact a job rests on is older than 512
/// blocks when its result lands.
pub(crate) const MAX_VIEW_SPAN: u64 = 256;

/// Most records per `debitBudgets` transaction (about 5,500 gas each).
pub(crate) const DEBIT_BATCH: usize = 500;

/// A job whose model verified: everything needed to check, load and train.
pub(crate) struct Job {
    ctx: JobContext,
    spec: ModelSpec,
    requirement: DataRequirement,
    schema: Schema,
    rules: TrainingRules,
    dataset: DatasetBuilder,
    seen: HashSet<B256>,
    /// The records loaded for training (each pays the job's ε before the result is released).
    used: Vec<B256>,
    /// One entry per consented record; `outcome` of loaded records is settled at the end.
    audit: Vec<Audit::AuditEntry>,
    oldest_view: u64,
    newest_view: u64,
}

/// A trained job whose result waits for its debits to be on chain.
pub(crate) struct Trained {
    ctx: JobContext,
    output: TrainingOutput,
    min_cohort: u64,
    batches: u32,
    audit: Vec<Audit::AuditEntry>,
    oldest_view: u64,
    newest_view: u64,
}

/// The outcome of verifying a job's model.
pub(crate) struct ModelCheck {
    pub(crate) hash_ok: bool,
    pub(crate) signature_ok: bool,
    pub(crate) reason: Option<String>,
    pub(crate) tx: AuthoredTx,
    pub(crate) job: Option<Job>,
}

/// How a finished job ended.
pub(crate) enum Finished {
    /// Trained; the result waits inside for the debits (`txs`) to land.
    Trained {
        trained: Box<Trained>,
        txs: Vec<AuthoredTx>,
        records_used: u64,
    },
    /// Training failed after records were decrypted: why, and the audit entries.
    Failed {
        reason: String,
        txs: Vec<AuthoredTx>,
    },
}

/// The enclave's fixed context: its key, anchors and who it is.
pub(crate) struct Me<'a> {
    pub(crate) identity: &'a Identity,
    pub(crate) facts: SelfFacts<'a>,
}

impl Me<'_> {
    fn model_domain(&self) -> Domain {
        Domain::new(self.facts.anchors.chainId, self.facts.anchors.model)
    }

    /// Signs a verification statement ST (subject = model hash or ciphertext hash) naming the
    /// view it rests on.
    fn statement(
        &self,
        job: B256,
        view: &View,
        subject: B256,
        hash_ok: bool,
        signature_ok: bool,
    ) -> Result<Bytes> {
        let v = Verification {
            jobId: job,
            subject,
            hashOk: hash_ok,
            signatureOk: signature_ok,
            viewBlock: view.number,
            viewHash: view.hash,
            headersVerified: view.headers_verified,
        };
        Ok(self
            .identity
            .sign_typed(&self.model_domain(), &v)?
            .to_bytes())
    }
}

fn job_facts(ctx: &JobContext) -> JobFacts<'_> {
    JobFacts {
        job: ctx.job.0,
        demander: ctx.demander,
        demander_public_key: ctx.demander_public_key.as_ref(),
    }
}

/// Checks the job's and this TEE's facts in `view`, then verifies the model (HRT_j: hashes;
/// VT_j: the demander's signature SM_j over the submission, and a valid spec and requirement
/// that agree) and writes `postModelVerification` naming the view.
pub(crate) fn begin(me: &Me<'_>, ctx: JobContext, view: &View) -> Result<ModelCheck> {
    // The job id binds the submission (demander, hashes, data type, timestamp).
    let submission = ModelSubmission {
        demander: ctx.demander,
        modelHash: ctx.model_hash,
        requirementHash: ctx.requirement_hash,
        dataType: ctx.data_type,
        timestamp: ctx.timestamp,
        minCohort: ctx.min_cohort,
        epsilonMilli: ctx.epsilon_milli,
    };
    if eip712::job_id(&submission) != ctx.job {
        return Err(Error::Refused(format!(
            "the submission given for job {} is not the one its id commits to",
            ctx.job.0
        )));
    }
    facts::check_self(view, &me.facts)?;
    facts::check_job(view, me.facts.anchors, &job_facts(&ctx))?;
    let terms = facts::terms(view, me.facts.anchors, ctx.job.0, ctx.data_type)?;
    if terms.epsilon_milli != ctx.epsilon_milli {
        return Err(Error::Refused(format!(
            "job {} has ε {} on chain, not the submission's",
            ctx.job.0, terms.epsilon_milli
        )));
    }

    let hash_ok = keccak256(&ctx.model) == ctx.model_hash
        && keccak256(&ctx.requirement) == ctx.requirement_hash;
    let mut reason = None;
    if !hash_ok {
        reason = Some(
            "the model or requirement does not hash to what the demander submitted".to_owned(),
        );
    }
    let signed = Signature::from_slice(&ctx.signature)
        .and_then(|sig| eip712::recover(&me.model_domain(), &submission, &sig))
        .is_ok_and(|signer| signer == ctx.demander);
    let key_ok = public_key_from_bytes(&ctx.demander_public_key)
        .is_ok_and(|pk| medshare_crypto::address_of(&pk) == ctx.demander);
    let parsed = parse(&ctx, &terms);
    let signature_ok = signed && key_ok && parsed.is_ok();
    if reason.is_none() {
        reason = if !signed {
            Some("SM_j is not the demander's signature over the submission".into())
        } else if !key_ok {
            Some("the demander's registered key does not match its address".into())
        } else {
            parsed.as_ref().err().cloned()
        };
    }
    let st = me.statement(ctx.job.0, view, ctx.model_hash, hash_ok, signature_ok)?;
    let tx = authored::model_verification(
        me.facts.anchors.model,
        ctx.job.0,
        hash_ok,
        signature_ok,
        view,
        st,
    );
    let job = match (hash_ok && signature_ok, parsed) {
        (true, Ok((spec, requirement, schema, rules))) => Some(Job {
            dataset: DatasetBuilder::new(spec.features.len()),
            spec,
            requirement,
            schema,
            rules,
            used: Vec::new(),
            seen: HashSet::new(),
            audit: Vec::new(),
            oldest_view: view.number,
            newest_view: view.number,
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

/// The spec, the requirement, the data type's schema and the training rules of a job.
type Parsed = (ModelSpec, DataRequirement, Schema, TrainingRules);

/// Parses the spec, the requirement and the data type's schema, and checks they agree with
/// each other, the submission and the data type's rules on chain (`terms`): the schema is the
/// one governance registered (or the built-in one), the cohort is not below the floor, and the
/// privacy the spec asks for is the job's and within the rules.
fn parse(ctx: &JobContext, terms: &JobTerms) -> std::result::Result<Parsed, String> {
    let spec = ModelSpec::from_json(&ctx.model).map_err(|e| format!("model spec: {e}"))?;
    let requirement = DataRequirement::from_json(&ctx.requirement).map_err(|e| e.to_string())?;
    let data_type = DataType::new(requirement.data_type.clone())
        .map_err(|e| format!("data requirement: {e}"))?;
    if data_type.id() != ctx.data_type {
        return Err("the requirement's data type is not the one submitted".into());
    }
    let schema =
        Schema::from_json(&ctx.schema).map_err(|e| format!("the data type's schema: {e}"))?;
    if schema.name != requirement.data_type {
        return Err("the schema given is not the data type's".into());
    }
    if terms.schema_hash == B256::ZERO {
        if Schema::builtin(&schema.name).as_ref() != Some(&schema) {
            return Err(
                "governance registered no schema for this data type, and it is not a built-in one"
                    .into(),
            );
        }
    } else if keccak256(&ctx.schema) != terms.schema_hash {
        return Err("the schema given is not the one governance registered".into());
    }
    let floor = terms.rules.min_cohort;
    if requirement.min_cohort < u64::from(floor)
        || requirement.min_cohort != u64::from(ctx.min_cohort)
    {
        return Err(format!(
            "the requirement's minimum cohort {} is below the data type's floor {floor} or not the one submitted",
            requirement.min_cohort
        ));
    }
    let spec_epsilon = epsilon_milli(spec.privacy.epsilon)
        .ok_or_else(|| "the spec's ε is not a multiple of 0.001".to_owned())?;
    if spec_epsilon != terms.epsilon_milli {
        return Err("the spec's ε is not the one submitted".into());
    }
    let rules = TrainingRules {
        min_cohort: usize::try_from(requirement.min_cohort).unwrap_or(usize::MAX),
        allow_non_private: terms.rules.allow_non_private,
        max_epsilon: (terms.rules.max_epsilon_milli != 0)
            .then(|| f64::from(terms.rules.max_epsilon_milli) / 1000.0),
        min_leaf: None,
    };
    rules
        .check_spec(&spec)
        .map_err(|e| format!("model spec: {e}"))?;
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
    Ok((spec, requirement, schema, rules))
}

/// Why a consented record was not loaded, and the audit outcome that says so.
struct Refusal(UseOutcome, &'static str);

impl Job {
    /// Accepts `view` as the job's next view (never older than one it has seen) and re-checks
    /// the job's and this TEE's facts in it.
    fn advance(&mut self, me: &Me<'_>, view: &View) -> Result<()> {
        if view.number < self.newest_view {
            return Err(Error::Refused(format!(
                "the view of block {} is older than block {}, which this job has already seen",
                view.number, self.newest_view
            )));
        }
        if view.number - self.oldest_view > MAX_VIEW_SPAN {
            return Err(Error::Refused(format!(
                "the job's views span more than {MAX_VIEW_SPAN} blocks (from {} to {}); run it again",
                self.oldest_view, view.number
            )));
        }
        facts::check_self(view, &me.facts)?;
        facts::check_job(view, me.facts.anchors, &job_facts(&self.ctx))?;
        self.newest_view = view.number;
        Ok(())
    }

    /// Checks a batch of records in `view`; loads those that may be used. Returns the outcomes
    /// and the `postRecordVerifications` transaction for the consented records it verified.
    pub(crate) fn add(
        &mut self,
        me: &Me<'_>,
        inputs: Vec<RecordInput>,
        view: &View,
    ) -> Result<(Vec<RecordOutcome>, Option<AuthoredTx>)> {
        self.advance(me, view)?;
        let mut outcomes = Vec::with_capacity(inputs.len());
        let mut checked = Vec::new();
        for input in inputs {
            let outcome = self.check_one(me, input, view, &mut checked)?;
            outcomes.push(outcome);
        }
        let tx = (!checked.is_empty()).then(|| {
            authored::record_verifications(me.facts.anchors.model, self.ctx.job.0, view, &checked)
        });
        Ok((outcomes, tx))
    }

    /// Whether the chain, at `view`, shows the record registered under `input.ciphertext_hash`
    /// with commitment `input.commitment` by `input.owner`, and consented to this job: a grant
    /// of that version (which Authorization gives only for a record of the job's data type), or
    /// the owner's standing policy for the job's data type — for a record whose TD_i, committed
    /// on chain, says it is of that type. `Some(why)` when it does not.
    fn consented(
        &self,
        me: &Me<'_>,
        input: &RecordInput,
        view: &View,
    ) -> Result<Option<&'static str>> {
        let anchors = me.facts.anchors;
        let stored = view.slot(anchors.data, data::commitment(input.ciphertext_hash))?;
        let live = data::owned_commitment(input.owner, input.commitment);
        if stored != U256::from_be_bytes(live.0) {
            return Ok(Some("not live on chain as its owner registered it"));
        }
        let granted = view.slot(
            anchors.authorization,
            authorization::grant(input.commitment, self.ctx.job.0),
        )? != U256::ZERO;
        if granted {
            return Ok(None);
        }
        let policy = view.slot(
            anchors.authorization,
            authorization::policy(input.owner, self.ctx.data_type),
        )? != U256::ZERO;
        let of_the_jobs_type = input.record.as_ref().is_some_and(|r| {
            r.dataType == self.ctx.data_type && record_commitment(r) == input.commitment
        });
        if policy && of_the_jobs_type {
            return Ok(None);
        }
        Ok(Some("no grant or policy for this job on chain"))
    }

    fn check_one(
        &mut self,
        me: &Me<'_>,
        input: RecordInput,
        view: &View,
        checked: &mut Vec<Checked>,
    ) -> Result<RecordOutcome> {
        let mut outcome = RecordOutcome {
            ciphertext_hash: input.ciphertext_hash,
            owner: input.owner,
            hash_ok: None,
            signature_ok: None,
            used: false,
            audit: None,
            excluded: None,
        };
        if !self.seen.insert(input.ciphertext_hash) {
            outcome.excluded = Some("seen before in this job".into());
            return Ok(outcome);
        }
        // No consent on chain, no use: nothing about the record is checked, posted, decrypted
        // or audited. The proofs decide, not the host.
        if let Some(why) = self.consented(me, &input, view)? {
            outcome.excluded = Some(why.into());
            return Ok(outcome);
        }
        // HRT_i: the stored ciphertext hashes to HDS_i, and TD_i is the registered version and
        // names HDS_i.
        let td_ok = input.record.as_ref().is_some_and(|r| {
            record_commitment(r) == input.commitment
                && r.ciphertextHash == input.ciphertext_hash
                && r.owner == input.owner
        });
        let hash_ok = td_ok
            && input
                .ciphertext
                .as_ref()
                .is_some_and(|ct| ciphertext_hash(ct).0 == input.ciphertext_hash);
        // VT_i: US_i is the owner's signature over TD_i.
        let data_domain = Domain::new(me.facts.anchors.chainId, me.facts.anchors.data);
        let signature_ok = match (&input.record, &input.signature) {
            (Some(r), Some(sig)) => Signature::from_slice(sig)
                .and_then(|s| eip712::recover(&data_domain, r, &s))
                .is_ok_and(|signer| signer == r.owner && signer == input.owner),
            _ => false,
        };
        outcome.hash_ok = Some(hash_ok);
        outcome.signature_ok = Some(signature_ok);
        checked.push(Checked {
            ciphertext_hash: input.ciphertext_hash,
            hash_ok,
            signature_ok,
            signature: me.statement(
                self.ctx.job.0,
                view,
                input.ciphertext_hash,
                hash_ok,
                signature_ok,
            )?,
        });
        let result = if !hash_ok {
            Err(Refusal(
                UseOutcome::RefusedIntegrity,
                "the stored ciphertext or TD_i does not match what was registered (tampered or missing)",
            ))
        } else if !signature_ok {
            Err(Refusal(
                UseOutcome::RefusedIntegrity,
                "US_i is not the owner's signature over TD_i",
            ))
        } else if !self.can_pay(me, &input, view)? {
            Err(Refusal(
                UseOutcome::RefusedBudget,
                "its privacy budget cannot pay the job's ε",
            ))
        } else {
            self.load(me.identity, &input)
        };
        let audit = match result {
            Ok(()) => {
                outcome.used = true;
                self.used.push(input.ciphertext_hash);
                UseOutcome::Used
            }
            Err(Refusal(why, text)) => {
                outcome.excluded = Some(text.to_owned());
                why
            }
        };
        outcome.audit = Some(audit);
        // Fig. 4: every consented record the job touched, with what happened to it.
        self.audit.push(Audit::AuditEntry {
            jobId: self.ctx.job.0,
            ciphertextHash: input.ciphertext_hash,
            owner: input.owner,
            demander: self.ctx.demander,
            requirementHash: self.ctx.requirement_hash,
            modelHash: self.ctx.model_hash,
            modelHashOk: true,
            recordHashOk: hash_ok,
            outcome: audit as u8,
            epsilonMilli: if audit.decrypted() {
                self.ctx.epsilon_milli
            } else {
                0
            },
        });
        Ok(outcome)
    }

    /// Whether the record's privacy budget, at `view`, can pay the job's ε: an unlimited budget
    /// always can (the only kind a job without differential privacy may use), a limited one if
    /// what remains covers ε.
    fn can_pay(&self, me: &Me<'_>, input: &RecordInput, view: &View) -> Result<bool> {
        let word = view.slot(
            me.facts.anchors.authorization,
            authorization::budget(input.ciphertext_hash),
        )?;
        let (total, spent) = authorization::decode_budget(word);
        let epsilon = self.ctx.epsilon_milli;
        Ok(if total == EPSILON_INFINITE {
            true
        } else if epsilon == EPSILON_INFINITE {
            false
        } else {
            u64::from(spent) + u64::from(epsilon) <= u64::from(total)
        })
    }

    /// Recovers the key, decrypts, parses and loads one verified, consented record.
    fn load(
        &mut self,
        identity: &Identity,
        input: &RecordInput,
    ) -> std::result::Result<(), Refusal> {
        let (Some(record), Some(ciphertext)) = (&input.record, &input.ciphertext) else {
            return Err(Refusal(
                UseOutcome::RefusedIntegrity,
                "TD_i or the ciphertext is missing",
            ));
        };
        if record.dataType != self.ctx.data_type {
            return Err(Refusal(
                UseOutcome::RefusedContent,
                "the record is of another data type",
            ));
        }
        if record.tee != identity.address() {
            return Err(Refusal(
                UseOutcome::RefusedKey,
                "the record's key is shared to another TEE",
            ));
        }
        let Some(pad) = &input.pad else {
            return Err(Refusal(
                UseOutcome::RefusedKey,
                "the owner's released r_C·PK_C was not given",
            ));
        };
        if tee::check_pad_commitment(pad, record.padCommitment).is_err() {
            return Err(Refusal(
                UseOutcome::RefusedKey,
                "r_C·PK_C does not match the commitment the owner signed",
            ));
        }
        let Ok(key) = tee::recover_data_key(
            identity,
            RecordId(record.recordId),
            &record.cm,
            pad,
            &record.rUg,
        ) else {
            return Err(Refusal(
                UseOutcome::RefusedKey,
                "the key share is malformed",
            ));
        };
        let Ok(plaintext) = open_record(&key, record.owner, ciphertext) else {
            return Err(Refusal(
                UseOutcome::RefusedKey,
                "the ciphertext does not decrypt",
            ));
        };
        let Ok(parsed) = PatientRecord::from_bytes(&plaintext) else {
            return Err(Refusal(
                UseOutcome::RefusedContent,
                "the plaintext is not a record",
            ));
        };
        if parsed.data_type != self.requirement.data_type {
            return Err(Refusal(
                UseOutcome::RefusedContent,
                "the plaintext is of another data type",
            ));
        }
        let (Ok(features), Some(label)) = (parsed.select(&self.spec.features), parsed.label) else {
            return Err(Refusal(
                UseOutcome::RefusedContent,
                "the record lacks a feature or the label the model needs",
            ));
        };
        if self.dataset.push(&features, label).is_err() {
            return Err(Refusal(
                UseOutcome::RefusedContent,
                "the record's values cannot be used",
            ));
        }
        Ok(())
    }

    /// Re-checks the facts at `view` and trains. On success the result stays inside (see
    /// [`Trained::release`]) and the `debitBudgets` transactions of the records it used are
    /// returned; if training fails, the audit entries go out, the loaded records marked as
    /// decrypted for a failed training.
    pub(crate) fn finish(mut self, me: &Me<'_>, view: &View) -> Result<Finished> {
        self.advance(me, view)?;
        let Job {
            ctx,
            spec,
            requirement,
            schema,
            rules,
            dataset,
            used,
            mut audit,
            oldest_view,
            newest_view,
            ..
        } = self;
        let output =
            match medshare_training::train_with_rules(&spec, &schema, dataset.finish(), &rules) {
                Ok(output) => output,
                Err(e) => {
                    for entry in &mut audit {
                        if entry.outcome == UseOutcome::Used as u8 {
                            entry.outcome = UseOutcome::TrainingFailed as u8;
                        }
                    }
                    return Ok(Finished::Failed {
                        reason: format!("training: {e}"),
                        txs: audit_txs(me, view, &audit),
                    });
                }
            };
        let batches: Vec<&[B256]> = used.chunks(DEBIT_BATCH).collect();
        let txs = batches
            .iter()
            .enumerate()
            .map(|(i, chunk)| {
                authored::debit(
                    me.facts.anchors.model,
                    ctx.job.0,
                    u32::try_from(i).unwrap_or(u32::MAX),
                    view,
                    chunk.to_vec(),
                )
            })
            .collect();
        let records_used = output.records_used;
        Ok(Finished::Trained {
            trained: Box::new(Trained {
                batches: u32::try_from(batches.len()).unwrap_or(u32::MAX),
                min_cohort: requirement.min_cohort,
                ctx,
                output,
                audit,
                oldest_view,
                newest_view,
            }),
            txs,
            records_used,
        })
    }

    /// The demander of the job (for messages).
    pub(crate) fn demander(&self) -> Address {
        self.ctx.demander
    }
}

/// The `recordUse` batches of `audit`, naming `view`.
fn audit_txs(me: &Me<'_>, view: &View, audit: &[Audit::AuditEntry]) -> Vec<AuthoredTx> {
    audit
        .chunks(MAX_BATCH)
        .map(|chunk| authored::audit(me.facts.anchors.audit, view, chunk.to_vec()))
        .collect()
}

impl Trained {
    /// Releases the result once `view` shows every debit of the job on chain (and the job's
    /// and this TEE's facts still hold): encrypts MRT_j to the demander, signs it, and writes
    /// `postResult` and the audit entries, all naming `view`. `Err` leaves it waiting.
    pub(crate) fn release(&mut self, me: &Me<'_>, view: &View) -> Result<JobResult> {
        if view.number < self.newest_view {
            return Err(Error::Refused(format!(
                "the view of block {} is older than block {}, which this job has already seen",
                view.number, self.newest_view
            )));
        }
        if view.number - self.oldest_view > MAX_VIEW_SPAN {
            return Err(Error::Refused(format!(
                "the job's views span more than {MAX_VIEW_SPAN} blocks (from {} to {}); run it again",
                self.oldest_view, view.number
            )));
        }
        facts::check_self(view, &me.facts)?;
        facts::check_job(view, me.facts.anchors, &job_facts(&self.ctx))?;
        let terms = facts::terms(view, me.facts.anchors, self.ctx.job.0, self.ctx.data_type)?;
        if terms.debit_batches != self.batches {
            return Err(Error::Refused(format!(
                "the chain shows {} of the job's {} budget debits: post them first",
                terms.debit_batches, self.batches
            )));
        }
        self.newest_view = view.number;
        let ctx = &self.ctx;
        let mrt = serde_json::to_vec(&self.output).map_err(|e| Error::Message(e.to_string()))?;
        let demander_key = public_key_from_bytes(&ctx.demander_public_key)?;
        let sealed = seal_result(&demander_key, JobId(ctx.job.0), &mrt)?;
        let result_hash = ciphertext_hash(&sealed).0;
        let signature = me
            .identity
            .sign_typed(
                &me.model_domain(),
                &TrainingResult {
                    jobId: ctx.job.0,
                    resultHash: result_hash,
                    viewBlock: view.number,
                    viewHash: view.hash,
                    headersVerified: view.headers_verified,
                },
            )?
            .to_bytes();
        let mut txs = vec![authored::result(
            me.facts.anchors.model,
            ctx.job.0,
            result_hash,
            view,
            self.batches,
        )];
        txs.extend(audit_txs(me, view, &self.audit));
        Ok(JobResult {
            result: Bytes::from(sealed),
            result_hash,
            signature,
            view_block: view.number,
            view_hash: view.hash,
            records_used: self.output.records_used,
            epsilon_milli: ctx.epsilon_milli,
            delta: self.output.privacy.delta,
            min_cohort: self.min_cohort,
            txs,
        })
    }
}
