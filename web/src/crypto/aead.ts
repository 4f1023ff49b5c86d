// AES-256-GCM through WebCrypto, in crates/crypto's wire format: nonce (12) || ciphertext || tag (16).

import { concat, exact } from './bytes.ts';

export const NONCE_LEN = 12;
export const TAG_LEN = 16;

/** A copy in a fresh ArrayBuffer (WebCrypto's BufferSource, without shared-buffer surprises). */
const own = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b);

async function aesKey(key: Uint8Array, usage: KeyUsage): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', own(exact(key, 32, 'the AES-256 key')), 'AES-GCM', false, [usage]);
}

/** Seals `plaintext` under `key` with associated data `aad` and the given 12-byte nonce. */
export async function seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
  const sealed = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv: own(exact(nonce, NONCE_LEN, 'the nonce')), additionalData: own(aad), tagLength: 128 },
    await aesKey(key, 'encrypt'),
    own(plaintext),
  );
  return concat(nonce, new Uint8Array(sealed));
}

/** Opens `nonce || ciphertext || tag`; throws if it was altered or the key or `aad` differ. */
export async function open(key: Uint8Array, aad: Uint8Array, wire: Uint8Array): Promise<Uint8Array> {
  if (wire.length < NONCE_LEN + TAG_LEN) throw new Error(`a sealed object is at least ${NONCE_LEN + TAG_LEN} bytes`);
  try {
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: own(wire.subarray(0, NONCE_LEN)), additionalData: own(aad), tagLength: 128 },
      await aesKey(key, 'decrypt'),
      own(wire.subarray(NONCE_LEN)),
    );
    return new Uint8Array(plain);
  } catch {
    throw new Error('decryption failed: the object was altered, or this is not its key');
  }
}

/** 12 random bytes. */
export const randomNonce = (): Uint8Array => crypto.getRandomValues(new Uint8Array(NONCE_LEN));
