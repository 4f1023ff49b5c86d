// The demander's checks of a result (Algorithm 7): hash, the TEE's signature, decryption.
import { sha256 } from '@noble/hashes/sha2';
import { secp256k1 } from '@noble/curves/secp256k1';
import { describe, expect, it } from 'vitest';
import type { Address, Hex } from 'viem';
import { fromHex, to0x } from '../src/crypto/bytes.ts';
import { sign } from '../src/crypto/eip712.ts';
import { sealResult } from '../src/crypto/result.ts';
import { unlockedOf } from '../src/app/identity.ts';
import { type TrainingOutput, checkResult, openTrainingOutput, outputFacts } from '../src/app/result.ts';
import { stage } from '../src/app/demander.ts';

const teeSk = fromHex('44'.repeat(32));
const demanderSk = fromHex('55'.repeat(32));
const tee = unlockedOf(teeSk);
const model = '0x00000000000000000000000000000000000000aa' as Address;
const chainId = 31337n;
const job = to0x(new Uint8Array(32).fill(7));
const viewHash = to0x(new Uint8Array(32).fill(9));
const output: TrainingOutput = {
  model: { type: 'logistic_regression', l2: 1, max_iterations: 200, tolerance: 0.0001 },
  parameters: { type: 'logistic_regression', features: ['radius_mean'], coefficients: [1.5], intercept: -0.2 },
  metrics: { type: 'classification', accuracy: 0.95, roc_auc: null },
  privacy: { epsilon: 2, delta: 1e-5, mechanism: 'noisy gradient descent' },
  records_used: 569,
  train_size: 426,
  test_size: 143,
};

async function posted(headersVerified = true, signerSk = teeSk) {
  const ciphertext = await sealResult(
    secp256k1.getPublicKey(demanderSk, true),
    fromHex(job),
    fromHex('66'.repeat(32)),
    new Uint8Array(12).fill(1),
    new TextEncoder().encode(JSON.stringify(output)),
  );
  const resultHash = to0x(sha256(ciphertext));
  const signature = await sign(to0x(signerSk), chainId, model, 'TrainingResult', {
    jobId: job,
    resultHash,
    viewBlock: 12n,
    viewHash,
    headersVerified,
  });
  return {
    ciphertext,
    p: { job, resultHash, tee: tee.address, viewBlock: 12, viewHash },
    meta: { job, tee: tee.address, signature: signature as Hex },
  };
}
const admitted = { admitted: true, unverified_headers: false };

describe("a job's result", () => {
  it('is accepted when it hashes to the chain’s hash and the admitted TEE signed it, then decrypts', async () => {
    const { ciphertext, p, meta } = await posted();
    await checkResult(chainId, model, p, ciphertext, meta, admitted);
    const out = await openTrainingOutput(to0x(demanderSk), job, ciphertext);
    expect(out).toEqual(output);
    expect(Object.fromEntries(outputFacts(out))).toMatchObject({
      'Accuracy (held out)': '0.950',
      'Records used': '569 (426 to train, 143 held out)',
    });
  });

  it('is refused when altered, signed by another key, for unsigned headers, or by a TEE not admitted', async () => {
    const { ciphertext, p, meta } = await posted();
    const altered = ciphertext.slice();
    altered[40] = altered[40]! ^ 1;
    await expect(checkResult(chainId, model, p, altered, meta, admitted)).rejects.toThrow(/does not hash/);
    const other = await posted(true, fromHex('77'.repeat(32)));
    await expect(checkResult(chainId, model, other.p, other.ciphertext, other.meta, admitted)).rejects.toThrow(/signed by/);
    await expect(checkResult(chainId, model, p, ciphertext, meta, { admitted: true, unverified_headers: true })).rejects.toThrow(/signed by/);
    await expect(checkResult(chainId, model, p, ciphertext, meta, { admitted: false, unverified_headers: false })).rejects.toThrow(/never admitted/);
    await expect(checkResult(chainId, model, p, ciphertext, meta, undefined)).rejects.toThrow(/not a TEE/);
    await expect(checkResult(chainId, model, p, ciphertext, { ...meta, job: viewHash }, admitted)).rejects.toThrow(/for this job/);
    await expect(openTrainingOutput(to0x(fromHex('88'.repeat(32))), job, ciphertext)).rejects.toThrow(/does not decrypt/);
  });

  it('names each stage of a job in words', () => {
    expect(stage({ status: 'pending', result: null })).toMatch(/submitted/);
    expect(stage({ status: 'deployed', result: null })).toMatch(/verified/);
    expect(stage({ status: 'completed', result: null })).toMatch(/result/);
  });
});
