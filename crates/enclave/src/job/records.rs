//! The records of a job: consent and liveness read from the view, HRT_i and VT_i, the budget,
//! then key recovery, decryption, parsing and loading — and an audit entry for every consented
//! record touched.

use super::{FRESH_BUDGET_UNITS, Job, MAX_UNITS, Me, Used};
use crate::{
    Error, Result,
    authored::{self, Checked},
    view::View,
};
use alloy_primitives::U256;
use medshare_contracts::{
    Audit, EPSILON_INFINITE, UseOutcome, consent,
    layout::{authorization, data},
};
use medshare_crypto::{
    Identity, ciphertext_hash,
    eip712::{self, Domain, Signature, record_commitment},
    open_record, tee,
};
use medshare_enclave_api::{AuthoredTx, RecordInput, RecordOutcome};
use medshare_primitives::RecordId;
use medshare_records::PatientRecord;

/// Why a consented record was not loaded, and the audit outcome that says so.
struct Refusal(UseOutcome, &'static str);

/// How the chain shows a record consented to the job.
#[derive(Clone, Copy)]
struct Consent {
    /// The budget a bulk consent gives the record if it has none of its own (0: none, or
    /// another kind of consent).
    granted_total: u32,
}

impl Job {
    /// Checks a batch of records in `view`; loads those that may be used. Returns the outcomes
    /// and the `postRecordVerifications` transaction for the consented records it verified.
    pub(crate) fn add(
        &mut self,
        me: &Me<'_>,
        inputs: Vec<RecordInput>,
        view: &View,
    ) -> Result<(Vec<RecordOutcome>, Option<AuthoredTx>)> {
        if self.used_units + FRESH_BUDGET_UNITS * inputs.len() > MAX_UNITS {
            return Err(Error::Refused(format!(
                "a job can use at most {} records with budgets of their own, {} without (its \
                 budget debits must land while its last view is among the 256 most recent \
                 blocks); this batch could take it past them",
                MAX_UNITS,
                MAX_UNITS / FRESH_BUDGET_UNITS
            )));
        }
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
    /// of that version (which Authorization gives only for a record of the job's data type);
    /// the owner's live bulk consent to this job whose Merkle tree holds that version, not
    /// withdrawn from it; or the owner's standing policy for the job's data type. The last two
    /// only for a record whose TD_i, committed on chain, says it is of the job's type — except
    /// that a bulk-consented record whose TD_i is missing or altered counts as consented, so that
    /// the integrity check refuses and audits it. (Under a policy such a record is excluded
    /// unaudited: without TD_i nothing shows the owner meant it for this data type.) `Err(why)`
    /// when it does not.
    fn consented(
        &self,
        me: &Me<'_>,
        input: &RecordInput,
        view: &View,
    ) -> Result<std::result::Result<Consent, &'static str>> {
        let anchors = me.facts.anchors;
        let job = self.ctx.job.0;
        let stored = view.slot(anchors.data, data::commitment(input.ciphertext_hash))?;
        let live = data::owned_commitment(input.owner, input.commitment);
        if stored != U256::from_be_bytes(live.0) {
            return Ok(Err("not live on chain as its owner registered it"));
        }
        let granted = view.slot(
            anchors.authorization,
            authorization::grant(input.commitment, job),
        )? != U256::ZERO;
        if granted {
            return Ok(Ok(Consent { granted_total: 0 }));
        }
        // TD_i as registered (its commitment on chain), if the host passed it intact.
        let registered_td = input
            .record
            .as_ref()
            .filter(|r| record_commitment(r) == input.commitment);
        let of_the_jobs_type = registered_td.is_some_and(|r| r.dataType == self.ctx.data_type);
        if let Some(batch) = &input.batch {
            let grant = authorization::BatchGrant::decode(view.slot(
                anchors.authorization,
                authorization::batch_grant(input.owner, job, batch.root),
            )?);
            let member = consent::verify(input.commitment, &batch.proof, batch.root);
            let withdrawn = view.slot(
                anchors.authorization,
                authorization::batch_revocation(input.owner, job, batch.root, input.commitment),
            )? != U256::ZERO;
            // A listed record whose TD_i is missing or altered is consented as far as the chain
            // shows (its owner listed this version for this job): it goes on to the integrity
            // check, which refuses it and audits the refusal; nothing of it is decrypted. A
            // record whose intact TD_i names another data type is not consented.
            if grant.live && member && !withdrawn && (of_the_jobs_type || registered_td.is_none()) {
                return Ok(Ok(Consent {
                    granted_total: grant.budget_milli,
                }));
            }
        }
        let policy = view.slot(
            anchors.authorization,
            authorization::policy(input.owner, self.ctx.data_type),
        )? != U256::ZERO;
        if policy && of_the_jobs_type {
            return Ok(Ok(Consent { granted_total: 0 }));
        }
        Ok(Err(
            "no grant, bulk consent or policy for this job on chain",
        ))
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
        let consent = match self.consented(me, &input, view)? {
            Ok(consent) => consent,
            Err(why) => {
                outcome.excluded = Some(why.into());
                return Ok(outcome);
            }
        };
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
        } else if let Some(granted_total) = self.budget_to_take(me, &input, view, consent)? {
            self.load(me.identity, &input).map(|()| granted_total)
        } else {
            Err(Refusal(
                UseOutcome::RefusedBudget,
                "its privacy budget cannot pay the job's ε",
            ))
        };
        let audit = match result {
            Ok(granted_total) => {
                outcome.used = true;
                let used = Used {
                    ciphertext_hash: input.ciphertext_hash,
                    granted_total,
                };
                self.used_units += used.units();
                self.used.push(used);
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
    /// what remains covers ε. A record with no budget of its own takes the one its bulk consent
    /// gives. `Some(total taken from the bulk consent, or 0)` when it can pay.
    fn budget_to_take(
        &self,
        me: &Me<'_>,
        input: &RecordInput,
        view: &View,
        consent: Consent,
    ) -> Result<Option<u32>> {
        let word = view.slot(
            me.facts.anchors.authorization,
            authorization::budget(input.ciphertext_hash),
        )?;
        let (own, spent) = authorization::decode_budget(word);
        let (total, taken) = if own == 0 && consent.granted_total != 0 {
            (consent.granted_total, consent.granted_total)
        } else {
            (own, 0)
        };
        let epsilon = self.ctx.epsilon_milli;
        let pays = if total == EPSILON_INFINITE {
            true
        } else if epsilon == EPSILON_INFINITE {
            false
        } else {
            u64::from(spent) + u64::from(epsilon) <= u64::from(total)
        };
        Ok(pays.then_some(taken))
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
        // One patient's bad label (a class the data type does not have) would fail the whole
        // training; the record is refused instead, and its owner's audit trail says so.
        if parsed
            .label
            .is_some_and(|l| self.schema.label.check_value(l).is_err())
        {
            return Err(Refusal(
                UseOutcome::RefusedContent,
                "the record's label is not one of the data type's",
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
}
