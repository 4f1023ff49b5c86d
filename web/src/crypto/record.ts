// Record encryption as crates/crypto/src/record.rs: AES-256-GCM, associated data
// "medshare/v1/record" || recordId (32) || owner (20), so a ciphertext moved to another record or
// claimed by another owner does not decrypt. HDS_i is the SHA-256 of the wire bytes.

import { sha256 } from '@noble/hashes/sha2';
import { concat, exact, utf8 } from './bytes.ts';
import { open, randomNonce, seal } from './aead.ts';

const RECORD_AAD_PREFIX = utf8('medshare/v1/record');

function aad(recordId: Uint8Array, owner: Uint8Array): Uint8Array {
  return concat(RECORD_AAD_PREFIX, exact(recordId, 32, 'the record id'), exact(owner, 20, 'the owner address'));
}

/** DS_i: `plaintext` sealed for `owner` (20 bytes) under the record's data key. */
export async function sealRecord(
  dataKey: Uint8Array,
  recordId: Uint8Array,
  owner: Uint8Array,
  plaintext: Uint8Array,
  nonce: Uint8Array = randomNonce(),
): Promise<Uint8Array> {
  return seal(dataKey, nonce, aad(recordId, owner), plaintext);
}

/** The plaintext of DS_i (for the owner's own checks; the TEE does this in Rust). */
export async function openRecord(dataKey: Uint8Array, recordId: Uint8Array, owner: Uint8Array, sealed: Uint8Array): Promise<Uint8Array> {
  return open(dataKey, aad(recordId, owner), sealed);
}

/** HDS_i: the SHA-256 of the sealed record, its key on chain and in the store. */
export const ciphertextHash = (sealed: Uint8Array): Uint8Array => sha256(sealed);
