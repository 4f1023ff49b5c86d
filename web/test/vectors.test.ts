// The known-answer vectors of crates/crypto (generated independently by
// crates/crypto/testdata/gen_vectors.py, and passed by the Rust code) pass in the browser code.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sha256 } from '@noble/hashes/sha2';
import { keccak_256 } from '@noble/hashes/sha3';
import { secp256k1 } from '@noble/curves/secp256k1';
import type { Address, Hex } from 'viem';
import {
  ciphertextHash,
  dataKeyOf,
  eip712,
  fromHex,
  openRecord,
  openResult,
  pkC,
  recoverKeyPoint,
  sealRecord,
  sealResult,
  share,
  shareWithScalars,
  toHex,
} from '../src/crypto/index.ts';

const testdata = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../crates/crypto/testdata/${name}`, import.meta.url), 'utf8'));
const ks = testdata('keyshare.json');
const typed = testdata('eip712.json');
const hex = (s: string) => fromHex(s);

describe('key sharing, eq. (4)', () => {
  it('PK_C is the hash-to-curve point of the chain and the Authorization address', () => {
    expect(toHex(pkC(BigInt(ks.chain_id), hex(ks.authorization)))).toBe(ks.pk_c);
  });

  it("the owner's side matches the vector", () => {
    const tee = secp256k1.getPublicKey(hex(ks.sk_tee), true);
    expect(toHex(tee)).toBe(ks.pk_tee);
    const s = shareWithScalars(hex(ks.k), hex(ks.r_u), hex(ks.r_c), hex(ks.record_id), tee, hex(ks.pk_c));
    expect(toHex(s.cm)).toBe(ks.cm);
    expect(toHex(s.rUg)).toBe(ks.r_u_g);
    expect(toHex(s.rCPkC)).toBe(ks.r_c_pk_c);
    expect(`0x${toHex(s.padCommitment)}`).toBe(ks.pad_commitment);
    expect(toHex(s.keyPoint)).toBe(ks.key_point);
    expect(toHex(s.dataKey)).toBe(ks.data_key);
  });

  it('the TEE recovers the key of a fresh share, and only with the released pad', () => {
    const tee = secp256k1.getPublicKey(hex(ks.sk_tee), true);
    const recordId = crypto.getRandomValues(new Uint8Array(32));
    const s = share(recordId, tee, hex(ks.pk_c));
    const key = recoverKeyPoint(s.cm, s.rCPkC, s.rUg, hex(ks.sk_tee));
    expect(toHex(dataKeyOf(key, recordId))).toBe(toHex(s.dataKey));
    expect(toHex(keccak_256(s.rCPkC))).toBe(toHex(s.padCommitment));
    // Another record's pad does not remove this one's.
    const other = share(recordId, tee, hex(ks.pk_c));
    const wrong = recoverKeyPoint(s.cm, other.rCPkC, s.rUg, hex(ks.sk_tee));
    expect(toHex(dataKeyOf(wrong, recordId))).not.toBe(toHex(s.dataKey));
  });

  it('refuses a TEE key that is not a point', () => {
    const notAPoint = new Uint8Array(33).fill(7);
    expect(() => share(new Uint8Array(32), notAPoint, hex(ks.pk_c))).toThrow(/PK_T is not a point/);
  });
});

describe('record AEAD', () => {
  it('seals to the vector and opens it', async () => {
    const r = ks.record;
    const sealed = await sealRecord(hex(ks.data_key), hex(ks.record_id), hex(r.owner), hex(r.plaintext), hex(r.nonce));
    expect(toHex(sealed)).toBe(r.ciphertext);
    expect(toHex(ciphertextHash(sealed))).toBe(toHex(sha256(hex(r.ciphertext))));
    const opened = await openRecord(hex(ks.data_key), hex(ks.record_id), hex(r.owner), hex(r.ciphertext));
    expect(toHex(opened)).toBe(r.plaintext);
  });

  it('does not open for another owner, another record or one flipped bit', async () => {
    const r = ks.record;
    const wire = hex(r.ciphertext);
    const otherOwner = hex(r.owner).map((b, i) => (i === 0 ? b ^ 1 : b));
    await expect(openRecord(hex(ks.data_key), hex(ks.record_id), otherOwner, wire)).rejects.toThrow(/decryption failed/);
    const otherRecord = hex(ks.record_id).map((b, i) => (i === 31 ? b ^ 1 : b));
    await expect(openRecord(hex(ks.data_key), otherRecord, hex(r.owner), wire)).rejects.toThrow(/decryption failed/);
    for (const at of [0, 12, wire.length - 1]) {
      const flipped = wire.map((b, i) => (i === at ? b ^ 0x80 : b));
      await expect(openRecord(hex(ks.data_key), hex(ks.record_id), hex(r.owner), flipped)).rejects.toThrow();
    }
  });
});

describe('result ECIES', () => {
  const r = ks.result;
  it('seals to the vector, and the demander opens it', async () => {
    const sealed = await sealResult(hex(r.recipient_pk), hex(r.job_id), hex(r.ephemeral_sk), hex(r.nonce), hex(r.plaintext));
    expect(toHex(sealed)).toBe(r.ciphertext);
    expect(toHex(await openResult(hex(r.recipient_sk), hex(r.job_id), hex(r.ciphertext)))).toBe(r.plaintext);
  });

  it('does not open under another job or another key', async () => {
    const otherJob = hex(r.job_id).map((b, i) => (i === 0 ? b ^ 1 : b));
    await expect(openResult(hex(r.recipient_sk), otherJob, hex(r.ciphertext))).rejects.toThrow(/decryption failed/);
    await expect(openResult(hex(ks.sk_tee), hex(r.job_id), hex(r.ciphertext))).rejects.toThrow(/decryption failed/);
  });
});

describe('EIP-712', () => {
  const chainId = BigInt(typed.chain_id);
  const contract = typed.verifying_contract as Address;
  const uintFields = new Set<string>(
    Object.values(eip712.TYPES)
      .flat()
      .filter((f) => f.type.startsWith('uint'))
      .map((f) => f.name),
  );
  const message = (m: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(m).map(([k, v]) => [k, uintFields.has(k) ? BigInt(v as string) : v]));

  for (const name of Object.keys(eip712.TYPES) as eip712.PrimaryType[]) {
    it(`${name}: hashStruct, the signing hash and the signature match the vector`, async () => {
      const v = typed.structs[name];
      const m = message(v.message);
      expect(eip712.domainSeparatorOf(chainId, contract)).toBe(v.domain_separator);
      expect(eip712.structHash(name, m)).toBe(v.hash_struct);
      expect(eip712.signingHash(chainId, contract, name, m)).toBe(v.signing_hash);
      const signature = await eip712.sign(`0x${typed.signer_sk}` as Hex, chainId, contract, name, m);
      expect(signature).toBe(v.signature);
      expect((await eip712.signer(chainId, contract, name, m, signature)).toLowerCase()).toBe(
        typed.signer_address.toLowerCase(),
      );
      // Another chain (a replay elsewhere) recovers someone else.
      expect((await eip712.signer(chainId + 1n, contract, name, m, signature)).toLowerCase()).not.toBe(
        typed.signer_address.toLowerCase(),
      );
    });
  }
});
