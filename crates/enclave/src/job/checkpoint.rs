//! A trained job sealed to the enclave's own key, for its host to keep until the result is
//! released.
//!
//! The chain pays for one training per job (the first `debitBudgets` batch fixes its id), so a
//! host that stops after the debits landed (its store failed to take the result, or the process
//! died) must be able to release *that* model: retraining would release a second model for
//! budgets paid once, and the enclave refuses it. The host keeps this checkpoint and passes it
//! back in (`ResumeJob`); it cannot read it (the model, the records used) nor change it.
//!
//! Format: `MSCKPT01 ‖ nonce (12) ‖ AES-256-GCM(key, body)`, the magic as associated data; the
//! key is HKDF-SHA256 of SK_T, salt `medshare/v1/checkpoint`: only this enclave's key opens
//! it. The body is `len (u64 BE) ‖ JSON of the job's context, model output, cohort floor,
//! training id and views ‖ count (u64 BE) ‖ (ciphertext hash ‖ granted total (u32 BE)) per
//! used record ‖ abi.encode(audit entries)`; binary for the per-record parts, which a job of
//! 100,000 records would otherwise double in hex.

use super::Views;
use crate::{Error, Result};
use alloy_primitives::{B256, Bytes};
use hkdf::Hkdf;
use medshare_crypto::Identity;
use medshare_enclave_api::JobContext;
use medshare_training::TrainingOutput;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

const MAGIC: &[u8; 8] = b"MSCKPT01";
const SALT: &[u8] = b"medshare/v1/checkpoint";
const NONCE: usize = 12;
const TAG: usize = 16;
const USED: usize = 32 + 4;

/// What a checkpoint holds.
pub(super) struct Body {
    pub(super) ctx: JobContext,
    pub(super) output: TrainingOutput,
    pub(super) min_cohort: u64,
    pub(super) training: B256,
    pub(super) views: Views,
    /// (ciphertext hash, granted total) of each used record, in debit order.
    pub(super) used: Vec<(B256, u32)>,
    /// `abi.encode(AuditEntry[])`.
    pub(super) audit: Bytes,
}

/// The JSON part of the body.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Head {
    ctx: JobContext,
    output: TrainingOutput,
    min_cohort: u64,
    training: B256,
    views: Views,
}

fn cipher(identity: &Identity) -> Result<LessSafeKey> {
    let secret = Zeroizing::new(identity.signer().to_bytes().0);
    let mut key = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(SALT), secret.as_slice())
        .expand(b"training checkpoint", key.as_mut())
        .map_err(|_| Error::State("HKDF output length".into()))?;
    let key = UnboundKey::new(&AES_256_GCM, key.as_ref())
        .map_err(|_| Error::State("AES key length".into()))?;
    Ok(LessSafeKey::new(key))
}

fn refused(why: impl std::fmt::Display) -> Error {
    Error::Refused(format!("not a training checkpoint of this enclave: {why}"))
}

/// Seals `body` to `identity`.
pub(super) fn seal(identity: &Identity, body: &Body) -> Result<Bytes> {
    let head = serde_json::to_vec(&Head {
        ctx: body.ctx.clone(),
        output: body.output.clone(),
        min_cohort: body.min_cohort,
        training: body.training,
        views: body.views,
    })
    .map_err(|e| Error::Message(format!("encoding the checkpoint: {e}")))?;
    let mut plain = Zeroizing::new(Vec::with_capacity(
        16 + head.len() + body.used.len() * USED + body.audit.len() + TAG,
    ));
    plain.extend_from_slice(&(head.len() as u64).to_be_bytes());
    plain.extend_from_slice(&head);
    plain.extend_from_slice(&(body.used.len() as u64).to_be_bytes());
    for (hash, total) in &body.used {
        plain.extend_from_slice(hash.as_slice());
        plain.extend_from_slice(&total.to_be_bytes());
    }
    plain.extend_from_slice(&body.audit);
    let nonce: [u8; NONCE] = rand::random();
    cipher(identity)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(MAGIC),
            &mut *plain,
        )
        .map_err(|_| Error::State("sealing the checkpoint failed".into()))?;
    let mut out = Vec::with_capacity(MAGIC.len() + NONCE + plain.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&plain);
    Ok(Bytes::from(out))
}

/// Opens a checkpoint `identity` sealed; anything else (another enclave's, a changed byte, a
/// truncation) is refused.
pub(super) fn open(identity: &Identity, sealed: &[u8]) -> Result<Body> {
    let rest = sealed
        .strip_prefix(MAGIC.as_slice())
        .ok_or_else(|| refused("wrong magic"))?;
    let (nonce, ct) = rest
        .split_first_chunk::<NONCE>()
        .ok_or_else(|| refused("truncated"))?;
    let mut plain = Zeroizing::new(ct.to_vec());
    let len = cipher(identity)?
        .open_in_place(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(MAGIC),
            plain.as_mut_slice(),
        )
        .map_err(|_| {
            refused("it does not open with this enclave's key (another enclave's, or modified)")
        })?
        .len();
    // Authenticated from here on: a malformed body is this enclave's own bug, still refused.
    let body = &plain[..len];
    let (head_len, body) = take_u64(body)?;
    let (head, body) = body
        .split_at_checked(head_len)
        .ok_or_else(|| refused("truncated head"))?;
    let head: Head = serde_json::from_slice(head).map_err(refused)?;
    let (count, body) = take_u64(body)?;
    let (used, audit) = body
        .split_at_checked(count.checked_mul(USED).ok_or_else(|| refused("count"))?)
        .ok_or_else(|| refused("truncated records"))?;
    let used = used
        .chunks_exact(USED)
        .map(|c| {
            let (hash, total) = c.split_at(32);
            let total: [u8; 4] = total.try_into().unwrap_or_default();
            (B256::from_slice(hash), u32::from_be_bytes(total))
        })
        .collect();
    Ok(Body {
        ctx: head.ctx,
        output: head.output,
        min_cohort: head.min_cohort,
        training: head.training,
        views: head.views,
        used,
        audit: Bytes::copy_from_slice(audit),
    })
}

fn take_u64(bytes: &[u8]) -> Result<(usize, &[u8])> {
    let (n, rest) = bytes
        .split_first_chunk::<8>()
        .ok_or_else(|| refused("truncated length"))?;
    let n = usize::try_from(u64::from_be_bytes(*n)).map_err(|_| refused("length"))?;
    Ok((n, rest))
}
