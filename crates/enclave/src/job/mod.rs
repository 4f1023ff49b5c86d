//! One job inside the enclave: its chain facts, model verification, record checks, training.
//!
//! A job's life inside the enclave, one request at a time:
//!
//! ```text
//!  BeginJob       begin()             job facts, then the model: HRT_j, VT_j ─▶ a Job, or none
//!  AddRecords     Job::add()          per record: consent, HRT_i, VT_i, budget, decrypt, load
//!  FinishJob      Job::finish()       train ─▶ Trained and its debits, or Failed and its audit
//!  ReleaseResult  Trained::release()  debits on chain ─▶ MRT_j sealed, postResult, audit
//! ```
//!
//! Every step re-checks the job's and this TEE's facts at its view; a job's views never go back
//! in time nor span more than [`MAX_VIEW_SECONDS`] of chain time (the sealed headers'
//! timestamps). `submission` parses and checks the spec and requirement; `records` checks and
//! loads the records.

mod checkpoint;
mod records;
mod submission;

use crate::{
    Error, Result,
    authored::{self, MAX_BATCH},
    facts::{self, JobFacts, JobTerms, SelfFacts},
    view::View,
};
use alloy_primitives::{Address, B256, Bytes, keccak256};
use alloy_sol_types::SolValue;
use medshare_contracts::{Audit, UseOutcome};
use medshare_crypto::{
    Identity, ciphertext_hash,
    eip712::{self, Domain, ModelSubmission, Signature, TrainingResult, Verification},
    public_key_from_bytes, seal_result,
};
use medshare_enclave_api::{AuthoredTx, JobContext, JobResult};
use medshare_primitives::JobId;
use medshare_records::{DataRequirement, Schema};
use medshare_training::{DatasetBuilder, ModelSpec, TrainingOutput, TrainingRules};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Most chain time, in seconds of the sealed headers' timestamps, between the first and the
/// newest view of one job: a record's consent is checked when it is loaded, so a job cannot
/// hold a record whose consent was withdrawn more than an hour before its result. Time, not
/// blocks: the host posts a transaction per batch of records, so a job's block count grows
/// with its size (100,000 records take some 1,600 blocks), while its time does not have to.
/// Every step re-proves the job's and this TEE's facts, and every statement names its view's
/// block, which the contracts accept only among the 256 most recent.
pub(crate) const MAX_VIEW_SECONDS: u64 = 3600;

/// Gas units per `debitBudgets` transaction. A record whose budget slot already holds a total
/// costs about 5,500 gas (one unit); one that takes its total from a bulk consent writes a
/// fresh slot, about 27,500 gas ([`FRESH_BUDGET_UNITS`]). 2,000 units are some 11 M gas a
/// batch, under the 2²⁴ gas a transaction may use since EIP-7825. The debits all name the
/// view `FinishJob` was given and land one block each, which the contracts accept only while
/// that block is among the 256 most recent: a job can use at most [`MAX_UNITS`] units
/// (`AddRecords` refuses a batch that could take it past them).
pub(crate) const DEBIT_UNITS: usize = 2_000;

/// The units of a record whose debit writes its budget's total for the first time.
pub(crate) const FRESH_BUDGET_UNITS: usize = 5;

/// Most units one job may use: as many `debitBudgets` batches as can land while
/// `FinishJob`'s view is still among the 256 most recent blocks (255, one block left for the
/// result): 510,000 records with budgets of their own, 102,000 without.
pub(crate) const MAX_UNITS: usize = 255 * DEBIT_UNITS;

/// A record loaded for training: it pays the job's ε before the result is released.
#[derive(Clone, Copy)]
pub(crate) struct Used {
    pub(crate) ciphertext_hash: B256,
    /// The total its budget takes from the bulk consent it was used under, when it has none
    /// of its own (0: it has one, or none applies).
    pub(crate) granted_total: u32,
}

impl Used {
    fn units(&self) -> usize {
        if self.granted_total == 0 {
            1
        } else {
            FRESH_BUDGET_UNITS
        }
    }
}

/// Splits the used records into `debitBudgets` batches of at most [`DEBIT_UNITS`] units.
fn debit_batches(used: &[Used]) -> Vec<&[Used]> {
    let mut batches = Vec::new();
    let (mut start, mut units) = (0, 0);
    for (i, u) in used.iter().enumerate() {
        if units + u.units() > DEBIT_UNITS && i > start {
            batches.push(&used[start..i]);
            (start, units) = (i, 0);
        }
        units += u.units();
    }
    if start < used.len() {
        batches.push(&used[start..]);
    }
    batches
}

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
    used: Vec<Used>,
    /// Their debits' units (see [`DEBIT_UNITS`]).
    used_units: usize,
    /// One entry per consented record; `outcome` of loaded records is settled at the end.
    audit: Vec<Audit::AuditEntry>,
    views: Views,
}

/// A trained job whose result waits for its debits to be on chain. It leaves the enclave
/// only sealed, as a checkpoint ([`Trained::checkpoint`]), so that a job whose host stopped
/// after its debits landed can still release this model, and no other.
pub(crate) struct Trained {
    ctx: JobContext,
    output: TrainingOutput,
    min_cohort: u64,
    /// The id its debits name, drawn when it trained: the first debit fixes it on chain, and
    /// only the training it names is released.
    training: B256,
    /// The records it used, in the order of their debits.
    used: Vec<Used>,
    audit: Vec<Audit::AuditEntry>,
    views: Views,
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

/// Refuses to train a job whose budgets an earlier training already debited: the chain pays
/// for one training per job, so a second one would be a model released for budgets paid once.
/// That training resumes from its checkpoint ([`Trained::resume`]).
fn refuse_a_second_training(job: B256, terms: &JobTerms) -> Result<()> {
    if terms.debit_batches == 0 {
        return Ok(());
    }
    Err(Error::Refused(format!(
        "job {job} paid its budgets for training {} ({} debit batches on chain): only that \
         training can be released, from its checkpoint",
        terms.training, terms.debit_batches
    )))
}

/// The views a job has accepted: the time of its first, the block of its newest.
#[derive(Clone, Copy, Serialize, Deserialize)]
struct Views {
    first_time: u64,
    newest: u64,
}

impl Views {
    fn starting_at(view: &View) -> Self {
        Self {
            first_time: view.timestamp,
            newest: view.number,
        }
    }

    /// Checks that `view` may be the job's next one — not older than its newest, at most
    /// [`MAX_VIEW_SECONDS`] after its first — and that the job's and this TEE's facts hold in
    /// it. The caller records it as the newest once its own checks passed.
    fn check_next(&self, me: &Me<'_>, ctx: &JobContext, view: &View) -> Result<()> {
        if view.number < self.newest {
            return Err(Error::Refused(format!(
                "the view of block {} is older than block {}, which this job has already seen",
                view.number, self.newest
            )));
        }
        let elapsed = view.timestamp.saturating_sub(self.first_time);
        if elapsed > MAX_VIEW_SECONDS {
            return Err(Error::Refused(format!(
                "the job's views span more than {MAX_VIEW_SECONDS} s of chain time ({elapsed} s \
                 from its first view to block {}); run it again",
                view.number
            )));
        }
        facts::check_self(view, &me.facts)?;
        facts::check_job(view, me.facts.anchors, &job_facts(ctx))
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
    refuse_a_second_training(ctx.job.0, &terms)?;

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
    let parsed = submission::parse(&ctx, &terms);
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
            used_units: 0,
            seen: HashSet::new(),
            audit: Vec::new(),
            views: Views::starting_at(view),
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

impl Job {
    /// Accepts `view` as the job's next view (never older than one it has seen) and re-checks
    /// the job's and this TEE's facts in it.
    fn advance(&mut self, me: &Me<'_>, view: &View) -> Result<()> {
        self.views.check_next(me, &self.ctx, view)?;
        self.views.newest = view.number;
        Ok(())
    }

    /// Re-checks the facts at `view` and trains. On success the result stays inside (see
    /// [`Trained::release`]) and the `debitBudgets` transactions of the records it used are
    /// returned; if training fails, the audit entries go out, the loaded records marked as
    /// decrypted for a failed training.
    pub(crate) fn finish(mut self, me: &Me<'_>, view: &View) -> Result<Finished> {
        self.advance(me, view)?;
        let terms = facts::terms(view, me.facts.anchors, self.ctx.job.0, self.ctx.data_type)?;
        refuse_a_second_training(self.ctx.job.0, &terms)?;
        let Job {
            ctx,
            spec,
            requirement,
            schema,
            rules,
            dataset,
            used,
            mut audit,
            views,
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
        let records_used = output.records_used;
        let trained = Trained {
            min_cohort: requirement.min_cohort,
            training: B256::from(rand::random::<[u8; 32]>()),
            used,
            ctx,
            output,
            audit,
            views,
        };
        let txs = trained.debits(me, view, 0);
        Ok(Finished::Trained {
            trained: Box::new(trained),
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
    /// How many `debitBudgets` batches the job's records take.
    fn batches(&self) -> u32 {
        u32::try_from(debit_batches(&self.used).len()).unwrap_or(u32::MAX)
    }

    /// The `debitBudgets` transactions from batch `from` on, naming `view`.
    fn debits(&self, me: &Me<'_>, view: &View, from: u32) -> Vec<AuthoredTx> {
        debit_batches(&self.used)
            .iter()
            .enumerate()
            .skip(from as usize)
            .map(|(i, chunk)| {
                authored::debit(
                    me.facts.anchors.model,
                    self.ctx.job.0,
                    u32::try_from(i).unwrap_or(u32::MAX),
                    self.training,
                    view,
                    chunk,
                )
            })
            .collect()
    }

    /// How many records the model used.
    pub(crate) fn records_used(&self) -> u64 {
        self.output.records_used
    }

    /// This training sealed to this enclave's key (see [`checkpoint`]).
    pub(crate) fn checkpoint(&self, me: &Me<'_>) -> Result<Bytes> {
        let body = checkpoint::Body {
            ctx: self.ctx.clone(),
            output: self.output.clone(),
            min_cohort: self.min_cohort,
            training: self.training,
            used: self
                .used
                .iter()
                .map(|u| (u.ciphertext_hash, u.granted_total))
                .collect(),
            audit: Bytes::from(self.audit.abi_encode()),
            views: self.views,
        };
        checkpoint::seal(me.identity, &body)
    }

    /// Opens a checkpoint this enclave's key sealed and checks it against `view`: the job's
    /// and this TEE's facts hold, and the chain shows no debits or only this training's. Returns
    /// the training and its debits not yet on chain (all of them naming `view`).
    pub(crate) fn resume(
        me: &Me<'_>,
        sealed: &[u8],
        view: &View,
    ) -> Result<(Self, Vec<AuthoredTx>)> {
        let body = checkpoint::open(me.identity, sealed)?;
        let audit = <Vec<Audit::AuditEntry>>::abi_decode(&body.audit)
            .map_err(|e| Error::Refused(format!("the checkpoint's audit entries: {e}")))?;
        let mut trained = Trained {
            ctx: body.ctx,
            output: body.output,
            min_cohort: body.min_cohort,
            training: body.training,
            used: body
                .used
                .into_iter()
                .map(|(ciphertext_hash, granted_total)| Used {
                    ciphertext_hash,
                    granted_total,
                })
                .collect(),
            audit,
            views: body.views,
        };
        trained.views.check_next(me, &trained.ctx, view)?;
        let terms = facts::terms(
            view,
            me.facts.anchors,
            trained.ctx.job.0,
            trained.ctx.data_type,
        )?;
        if terms.debit_batches > 0 && terms.training != trained.training {
            return Err(Error::Refused(format!(
                "job {} paid its budgets for training {}, not this checkpoint's {}",
                trained.ctx.job.0, terms.training, trained.training
            )));
        }
        trained.views.newest = view.number;
        let txs = trained.debits(me, view, terms.debit_batches);
        Ok((trained, txs))
    }

    /// Releases the result once `view` shows every debit of this training on chain (and the
    /// job's and this TEE's facts still hold): encrypts MRT_j to the demander, signs it, and
    /// writes `postResult` and the audit entries, all naming `view`. `Err` leaves it waiting.
    pub(crate) fn release(&mut self, me: &Me<'_>, view: &View) -> Result<JobResult> {
        self.views.check_next(me, &self.ctx, view)?;
        let terms = facts::terms(view, me.facts.anchors, self.ctx.job.0, self.ctx.data_type)?;
        let batches = self.batches();
        if terms.debit_batches > 0 && terms.training != self.training {
            return Err(Error::Refused(format!(
                "job {} paid its budgets for training {}, not this one ({}): it is never released",
                self.ctx.job.0, terms.training, self.training
            )));
        }
        if terms.debit_batches != batches {
            return Err(Error::Refused(format!(
                "the chain shows {} of the job's {batches} budget debits: post them first",
                terms.debit_batches
            )));
        }
        self.views.newest = view.number;
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
            batches,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn used(fresh: &[bool]) -> Vec<Used> {
        fresh
            .iter()
            .enumerate()
            .map(|(i, f)| Used {
                ciphertext_hash: B256::with_last_byte(i as u8),
                granted_total: u32::from(*f) * 3_000,
            })
            .collect()
    }

    #[test]
    fn debit_batches_stay_under_their_gas_units_and_keep_every_record_once() {
        let all = used(&[false; 4_001]);
        let sizes: Vec<usize> = debit_batches(&all).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [2_000, 2_000, 1]);
        // Records that write a fresh budget weigh five.
        let all = used(&[true; 1_000]);
        let sizes: Vec<usize> = debit_batches(&all).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [400, 400, 200]);
        let mixed: Vec<bool> = (0..3_000).map(|i| i % 2 == 0).collect();
        let all = used(&mixed);
        let batches = debit_batches(&all);
        assert!(
            batches
                .iter()
                .all(|b| b.iter().map(Used::units).sum::<usize>() <= DEBIT_UNITS)
        );
        assert_eq!(batches.iter().map(|b| b.len()).sum::<usize>(), 3_000);
        assert!(debit_batches(&[]).is_empty());
    }
}
