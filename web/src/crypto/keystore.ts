// Ethereum keystore v3 files (scrypt or PBKDF2-SHA256, AES-128-CTR, keccak256 MAC), as
// crates/crypto/src/keystore.rs reads and writes them: a key made in the browser opens in
// `medshare`, and one made by `medshare key new` opens here. The key is kept in the browser,
// encrypted with the user's password; it is never sent anywhere.

import { scryptAsync } from '@noble/hashes/scrypt';
import { pbkdf2Async } from '@noble/hashes/pbkdf2';
import { sha256 } from '@noble/hashes/sha2';
import { keccak_256 } from '@noble/hashes/sha3';
import { equalBytes } from '@noble/curves/abstract/utils';
import { secp256k1 } from '@noble/curves/secp256k1';
import { concat, exact, fromHex, toHex, utf8 } from './bytes.ts';

/** The largest scrypt memory accepted, 128·r·n bytes (geth's standard n = 2^18, r = 8). */
const MAX_SCRYPT_MEMORY = 256 * 1024 * 1024;
/** The most PBKDF2 rounds accepted. */
const MAX_PBKDF2_ROUNDS = 10_000_000;
/** The largest keystore text accepted. */
const MAX_TEXT = 64 * 1024;

/** scrypt's cost: geth's standard (n = 2^18, r = 8, p = 1) or `--lightkdf` (n = 2^12, p = 6). */
export type KdfCost = 'standard' | 'light';
const COST = { standard: { N: 1 << 18, r: 8, p: 1 }, light: { N: 1 << 12, r: 8, p: 6 } } as const;

const own = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b);

async function aes128Ctr(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey('raw', own(key), 'AES-CTR', false, ['encrypt']);
  return new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-CTR', counter: own(iv), length: 128 }, k, own(data)));
}

/** The address (lowercase hex, no prefix) of secret key `sk`. */
export function addressOf(sk: Uint8Array): string {
  const pub = secp256k1.getPublicKey(sk, false);
  return toHex(keccak_256(pub.subarray(1)).subarray(12));
}

/** A v3 keystore of `sk` under `password` (fresh salt, IV and id). */
export async function encryptKeystore(sk: Uint8Array, password: string, cost: KdfCost = 'standard'): Promise<string> {
  exact(sk, 32, 'the secret key');
  const { N, r, p } = COST[cost];
  const salt = crypto.getRandomValues(new Uint8Array(32));
  const iv = crypto.getRandomValues(new Uint8Array(16));
  const derived = await scryptAsync(utf8(password), salt, { N, r, p, dkLen: 32, maxmem: 2 * MAX_SCRYPT_MEMORY });
  const ciphertext = await aes128Ctr(derived.subarray(0, 16), iv, sk);
  const mac = keccak_256(concat(derived.subarray(16, 32), ciphertext));
  const id = crypto.getRandomValues(new Uint8Array(16));
  id[6] = (id[6]! & 0x0f) | 0x40;
  id[8] = (id[8]! & 0x3f) | 0x80;
  const h = toHex(id);
  return JSON.stringify({
    address: addressOf(sk),
    crypto: {
      cipher: 'aes-128-ctr',
      cipherparams: { iv: toHex(iv) },
      ciphertext: toHex(ciphertext),
      kdf: 'scrypt',
      kdfparams: { dklen: 32, n: N, p, r, salt: toHex(salt) },
      mac: toHex(mac),
    },
    id: `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`,
    version: 3,
  });
}

/** Why a keystore does not open. */
export class KeystoreError extends Error {}

function field<T>(v: unknown, what: string, check: (x: unknown) => x is T): T {
  if (!check(v)) throw new KeystoreError(`the keystore's ${what} is missing or malformed`);
  return v;
}
const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isStr = (x: unknown): x is string => typeof x === 'string';
const isInt = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) > 0;

function hexField(obj: Record<string, unknown>, key: string, len: number | undefined, what: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = fromHex(field(obj[key], what, isStr));
  } catch (e) {
    throw e instanceof KeystoreError ? e : new KeystoreError(`the keystore's ${what} is not hex`);
  }
  if (len !== undefined && bytes.length !== len) throw new KeystoreError(`the keystore's ${what} is ${bytes.length} bytes, not ${len}`);
  return bytes;
}

/** The secret key in a v3 keystore; throws a `KeystoreError` that says what is wrong (the
 * password included) and never the key. */
export async function decryptKeystore(text: string, password: string): Promise<Uint8Array> {
  if (text.length > MAX_TEXT) throw new KeystoreError(`a keystore is at most ${MAX_TEXT} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new KeystoreError('the keystore is not JSON');
  }
  const top = field(json, 'top level', isObj);
  if (top.version !== 3) throw new KeystoreError(`only version 3 keystores are read, not ${String(top.version)}`);
  const c = field(top.crypto ?? top.Crypto, 'crypto section', isObj);
  if (c.cipher !== 'aes-128-ctr') throw new KeystoreError(`the cipher ${String(c.cipher)} is not aes-128-ctr`);
  const iv = hexField(field(c.cipherparams, 'cipherparams', isObj), 'iv', 16, 'IV');
  const ciphertext = hexField(c, 'ciphertext', 32, 'ciphertext');
  const mac = hexField(c, 'mac', 32, 'MAC');
  const kp = field(c.kdfparams, 'kdfparams', isObj);
  if (kp.dklen !== 32) throw new KeystoreError('the derived key length (dklen) is not 32');
  const salt = hexField(kp, 'salt', undefined, 'salt');
  let derived: Uint8Array;
  if (c.kdf === 'scrypt') {
    const [N, r, p] = [field(kp.n, 'scrypt n', isInt), field(kp.r, 'scrypt r', isInt), field(kp.p, 'scrypt p', isInt)];
    if ((N & (N - 1)) !== 0 || N < 2) throw new KeystoreError(`scrypt n = ${N} is not a power of two`);
    if (128 * r * N > MAX_SCRYPT_MEMORY || p > 16) {
      throw new KeystoreError(`scrypt n = ${N}, r = ${r}, p = ${p} costs more than the ${MAX_SCRYPT_MEMORY >> 20} MiB accepted`);
    }
    derived = await scryptAsync(utf8(password), salt, { N, r, p, dkLen: 32, maxmem: 2 * MAX_SCRYPT_MEMORY });
  } else if (c.kdf === 'pbkdf2') {
    if (kp.prf !== 'hmac-sha256') throw new KeystoreError(`the PBKDF2 PRF ${String(kp.prf)} is not hmac-sha256`);
    const rounds = field(kp.c, 'PBKDF2 round count', isInt);
    if (rounds > MAX_PBKDF2_ROUNDS) throw new KeystoreError(`${rounds} PBKDF2 rounds are more than the ${MAX_PBKDF2_ROUNDS} accepted`);
    derived = await pbkdf2Async(sha256, utf8(password), salt, { c: rounds, dkLen: 32 });
  } else {
    throw new KeystoreError(`the KDF ${String(c.kdf)} is neither scrypt nor pbkdf2`);
  }
  if (!equalBytes(keccak_256(concat(derived.subarray(16, 32), ciphertext)), mac)) {
    throw new KeystoreError('wrong password (or the keystore was altered): its MAC does not match');
  }
  const sk = await aes128Ctr(derived.subarray(0, 16), iv, ciphertext);
  if (isStr(top.address) && top.address.replace(/^0x/, '').toLowerCase() !== addressOf(sk)) {
    throw new KeystoreError('the keystore holds a key for another address than it names');
  }
  return sk;
}
