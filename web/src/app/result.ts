// The demander's checks of a job's result, in the order of Algorithm 7 (Demander::check in
// crates/parties/src/demander.rs): the stored object hashes to HCMRT_j; the TEE's EIP-712
// TrainingResult signature SMRT_j recovers to the TEE that posted it, an admitted TEE, for this
// job; then it is decrypted with the demander's key and parsed. Pure where it can be: tested in
// test/result.test.ts.

import { sha256 } from '@noble/hashes/sha2';
import { type Address, type Hex, getAddress } from 'viem';
import { fromHex, to0x } from '../crypto/bytes.ts';
import { signer } from '../crypto/eip712.ts';
import { openResult } from '../crypto/result.ts';
import type { RocPoint } from './roc.ts';

export interface ResultMeta {
  job: Hex;
  tee: Address;
  signature: Hex;
}

export interface Posted {
  job: Hex;
  resultHash: Hex;
  tee: Address;
  viewBlock: number;
  viewHash: Hex;
}

/** Why a result was refused (ResultFault's cases, in words). */
export class ResultFault extends Error {}

/** Checks hash and signature; returns nothing or throws a ResultFault. */
export async function checkResult(
  chainId: bigint,
  model: Address,
  posted: Posted,
  ciphertext: Uint8Array,
  meta: ResultMeta,
  tee: { admitted: boolean; unverified_headers: boolean } | undefined,
): Promise<void> {
  if (to0x(sha256(ciphertext)) !== posted.resultHash.toLowerCase()) {
    throw new ResultFault('the stored result does not hash to the hash on chain (HCMRT_j)');
  }
  if (!tee) throw new ResultFault(`${posted.tee}, which posted the result, is not a TEE`);
  if (!tee.admitted) throw new ResultFault(`the TEE ${posted.tee} was never admitted by governance`);
  let who: Address;
  try {
    who = await signer(
      chainId,
      model,
      'TrainingResult',
      {
        jobId: posted.job,
        resultHash: posted.resultHash,
        viewBlock: BigInt(posted.viewBlock),
        viewHash: posted.viewHash,
        headersVerified: !tee.unverified_headers,
      },
      meta.signature,
    );
  } catch (e) {
    throw new ResultFault(`the TEE's signature is invalid: ${(e as Error).message}`);
  }
  if (getAddress(who) !== getAddress(posted.tee) || meta.job.toLowerCase() !== posted.job.toLowerCase()) {
    throw new ResultFault(`the result is signed by ${who}, not by the TEE ${posted.tee} for this job`);
  }
}

/** MRT_j, decrypted with the demander's key and parsed. */
export async function openTrainingOutput(sk: Hex, job: Hex, ciphertext: Uint8Array): Promise<TrainingOutput> {
  let plain: Uint8Array;
  try {
    plain = await openResult(fromHex(sk), fromHex(job), ciphertext);
  } catch (e) {
    throw new ResultFault(`the result does not decrypt with your key: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(new TextDecoder().decode(plain)) as TrainingOutput;
  } catch (e) {
    throw new ResultFault(`the decrypted result is not JSON: ${(e as Error).message}`);
  }
}

/** TrainingOutput of crates/training/src/output.rs. */
export interface TrainingOutput {
  model: { type: string } & Record<string, unknown>;
  parameters: { type: string; features?: string[]; coefficients?: number[]; intercept?: number; nodes?: unknown[] };
  metrics:
    | {
        type: 'classification';
        accuracy: number;
        roc_auc: number | null;
        /** The ROC curve (absent in results made before it was released; null for one class). */
        roc_curve?: RocPoint[] | null;
      }
    | { type: 'regression'; rmse: number; r2: number | null }
    | null;
  privacy: { epsilon: number | 'inf'; delta: number; mechanism: string };
  records_used: number;
  train_size: number;
  test_size: number;
}

/** The result's facts, as a person reads them. */
export function outputFacts(o: TrainingOutput): [string, string][] {
  const rows: [string, string][] = [['Model', o.model.type.replace(/_/g, ' ')]];
  const m = o.metrics;
  if (!m) rows.push(['Metrics', 'none: no record was held out']);
  else if (m.type === 'classification') {
    rows.push(['Accuracy (held out)', m.accuracy.toFixed(3)]);
    rows.push(['ROC AUC', m.roc_auc === null ? 'not released (undefined for one class, or withheld under differential privacy)' : m.roc_auc.toFixed(3)]);
    rows.push([
      'ROC curve',
      Array.isArray(m.roc_curve)
        ? `${m.roc_curve.length} points${o.privacy.epsilon === 'inf' ? '' : ', from noisy counts (approximate)'}, drawn below`
        : 'not released (the held-out records were of one class, or a class was noised to nothing under differential privacy, or the result predates curves)',
    ]);
  } else {
    rows.push(['RMSE (held out)', m.rmse.toPrecision(4)]);
    rows.push(['R²', m.r2 === null ? 'undefined' : m.r2.toFixed(3)]);
  }
  rows.push(['Records used', `${o.records_used} (${o.train_size} to train, ${o.test_size} held out)`]);
  rows.push([
    'Privacy',
    o.privacy.epsilon === 'inf' ? 'none (ε = ∞)' : `ε = ${o.privacy.epsilon}, δ = ${o.privacy.delta}: ${o.privacy.mechanism}`,
  ]);
  return rows;
}
