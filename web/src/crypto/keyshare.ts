// The owner's side of the paper's key sharing (§5.2(c), eq. (4)), as crates/crypto/src/keyshare.rs:
//
//   k, r_U, r_C random;  KEY = k·G
//   CM  = KEY + r_C·PK_C + r_U·PK_T        (published in the Record, with r_U·G)
//   pad = keccak256(r_C·PK_C)               (published in the Record as padCommitment)
//   data key = HKDF-SHA256(KEY compressed, salt "medshare/v1/keyshare", info recordId)
//
// PK_C is RFC 9380 hash_to_curve (secp256k1_XMD:SHA-256_SSWU_RO_) of chainId (32 bytes, big
// endian) || Authorization's address, with DST "medshare/v1/PK_C": nobody knows its discrete log.

import { hashToCurve, secp256k1 } from '@noble/curves/secp256k1';
import { hkdf } from '@noble/hashes/hkdf';
import { sha256 } from '@noble/hashes/sha2';
import { keccak_256 } from '@noble/hashes/sha3';
import { bytesToNumberBE } from '@noble/curves/abstract/utils';
import { exact, utf8 } from './bytes.ts';

const Point = secp256k1.ProjectivePoint;
type Point = InstanceType<typeof Point>;

const PK_C_DST = 'medshare/v1/PK_C';
const KEYSHARE_SALT = utf8('medshare/v1/keyshare');

/** PK_C of the Authorization contract at `authorization` (20 bytes) on chain `chainId`. */
export function pkC(chainId: bigint, authorization: Uint8Array): Uint8Array {
  exact(authorization, 20, 'the Authorization address');
  const msg = new Uint8Array(52);
  new DataView(msg.buffer).setBigUint64(24, chainId);
  msg.set(authorization, 32);
  const h = hashToCurve(msg, { DST: PK_C_DST }).toAffine();
  return Point.fromAffine(h).toRawBytes(true);
}

/** What the owner publishes for one record, and the record's data key (kept secret). */
export interface KeyShare {
  /** CM_i, 33-byte compressed point. */
  cm: Uint8Array;
  /** r_U·G, 33 bytes. */
  rUg: Uint8Array;
  /** r_C·PK_C, 33 bytes: released with the owner's consent. */
  rCPkC: Uint8Array;
  /** keccak256(r_C·PK_C). */
  padCommitment: Uint8Array;
  /** The AES-256-GCM key of the record: never leaves the owner's browser. */
  dataKey: Uint8Array;
}

/** A non-zero scalar from 32 bytes; throws on zero or ≥ n. */
function scalar(bytes: Uint8Array, what: string): bigint {
  const s = bytesToNumberBE(exact(bytes, 32, what));
  if (s === 0n || s >= secp256k1.CURVE.n) throw new Error(`${what} is not a valid scalar`);
  return s;
}

/** A point from its SEC1 encoding; throws on anything not on the curve or the identity. */
export function point(bytes: Uint8Array, what: string): Point {
  try {
    const p = Point.fromHex(bytes);
    p.assertValidity();
    return p;
  } catch (e) {
    throw new Error(`${what} is not a point on secp256k1: ${(e as Error).message}`);
  }
}

/** The data key of record `recordId` (32 bytes) from KEY_i's compressed encoding. */
export function dataKeyOf(keyPointCompressed: Uint8Array, recordId: Uint8Array): Uint8Array {
  return hkdf(sha256, exact(keyPointCompressed, 33, 'KEY_i'), KEYSHARE_SALT, exact(recordId, 32, 'the record id'), 32);
}

/** Eq. (4) with given scalars (for the known-answer tests; `share` draws them). */
export function shareWithScalars(
  k: Uint8Array,
  rU: Uint8Array,
  rC: Uint8Array,
  recordId: Uint8Array,
  pkTee: Uint8Array,
  pkCBytes: Uint8Array,
): KeyShare & { keyPoint: Uint8Array } {
  const [kS, rUS, rCS] = [scalar(k, 'k'), scalar(rU, 'r_U'), scalar(rC, 'r_C')];
  const tee = point(pkTee, 'PK_T');
  const c = point(pkCBytes, 'PK_C');
  const key = Point.BASE.multiply(kS);
  const pad = c.multiply(rCS);
  const cm = key.add(pad).add(tee.multiply(rUS));
  const keyPoint = key.toRawBytes(true);
  const rCPkC = pad.toRawBytes(true);
  return {
    cm: cm.toRawBytes(true),
    rUg: Point.BASE.multiply(rUS).toRawBytes(true),
    rCPkC,
    padCommitment: keccak_256(rCPkC),
    dataKey: dataKeyOf(keyPoint, recordId),
    keyPoint,
  };
}

/**
 * Eq. (4) for one record, with fresh scalars from the platform's CSPRNG: the key is shared to
 * the TEE whose public key is `pkTee` (check it hashes to the TEE's admitted address first).
 */
export function share(recordId: Uint8Array, pkTee: Uint8Array, pkCBytes: Uint8Array): KeyShare {
  const r = () => secp256k1.utils.randomPrivateKey();
  const { keyPoint: _, ...published } = shareWithScalars(r(), r(), r(), recordId, pkTee, pkCBytes);
  return published;
}

/** The TEE's recovery, eq. (13): KEY = CM − r_C·PK_C − SK_T·(r_U·G). For tests only: the
 * browser never holds SK_T. */
export function recoverKeyPoint(cm: Uint8Array, rCPkC: Uint8Array, rUg: Uint8Array, skTee: Uint8Array): Uint8Array {
  const key = point(cm, 'CM')
    .subtract(point(rCPkC, 'r_C·PK_C'))
    .subtract(point(rUg, 'r_U·G').multiply(scalar(skTee, 'SK_T')));
  return key.toRawBytes(true);
}
