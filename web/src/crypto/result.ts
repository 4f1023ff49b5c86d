// The demander's result decryption as crates/crypto/src/result.rs (the paper's Decrypt_ECC):
// ECIES on secp256k1 — E (33) || nonce (12) || ciphertext || tag (16); AES key =
// HKDF-SHA256(ikm = x(sk·E), salt = E || PK_j (33), info = "medshare/v1/result"); associated data
// "medshare/v1/result" || jobId (32), so a result cannot be replayed under another job.

import { secp256k1 } from '@noble/curves/secp256k1';
import { hkdf } from '@noble/hashes/hkdf';
import { sha256 } from '@noble/hashes/sha2';
import { concat, exact, utf8 } from './bytes.ts';
import { open, seal } from './aead.ts';
import { point } from './keyshare.ts';

const RESULT_LABEL = utf8('medshare/v1/result');
const EPHEMERAL_LEN = 33;

function resultKey(sharedX: Uint8Array, ephemeral: Uint8Array, recipient: Uint8Array): Uint8Array {
  return hkdf(sha256, sharedX, concat(ephemeral, recipient), RESULT_LABEL, 32);
}

const aad = (jobId: Uint8Array): Uint8Array => concat(RESULT_LABEL, exact(jobId, 32, 'the job id'));

/** MRT_j from CMRT_j, with the demander's secret key `sk` (32 bytes) for job `jobId`. */
export async function openResult(sk: Uint8Array, jobId: Uint8Array, sealed: Uint8Array): Promise<Uint8Array> {
  if (sealed.length < EPHEMERAL_LEN) throw new Error('the result is shorter than its ephemeral key');
  const ephemeral = sealed.subarray(0, EPHEMERAL_LEN);
  point(ephemeral, 'the ephemeral key');
  const shared = secp256k1.getSharedSecret(exact(sk, 32, 'the secret key'), ephemeral, true);
  const recipient = secp256k1.getPublicKey(sk, true);
  const key = resultKey(shared.subarray(1), ephemeral, recipient);
  return open(key, aad(jobId), sealed.subarray(EPHEMERAL_LEN));
}

/** CMRT_j: `plaintext` sealed to `recipient` (33 bytes) with the given ephemeral key and nonce
 * (for tests: the TEE seals results in Rust). */
export async function sealResult(
  recipient: Uint8Array,
  jobId: Uint8Array,
  ephemeralSk: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
): Promise<Uint8Array> {
  const ephemeral = secp256k1.getPublicKey(ephemeralSk, true);
  const shared = secp256k1.getSharedSecret(ephemeralSk, recipient, true);
  const key = resultKey(shared.subarray(1), ephemeral, exact(recipient, 33, 'the recipient key'));
  return concat(ephemeral, await seal(key, nonce, aad(jobId), plaintext));
}
