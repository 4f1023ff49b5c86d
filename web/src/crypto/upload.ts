// One record as the patient's browser uploads it (the paper's Algorithm 1, as
// crates/parties/src/user.rs does it): a fresh record id and key share to the TEE, the plaintext
// sealed under the data key, the Record (TD_i) and the owner's EIP-712 signature over it (US_i).
// What leaves the browser: the ciphertext, the Record, the signature; the pad r_C·PK_C is kept
// until the owner consents. The data key is dropped here.

import type { Address, Hex } from 'viem';
import { fromHex, to0x } from './bytes.ts';
import { share } from './keyshare.ts';
import { ciphertextHash, sealRecord } from './record.ts';
import { sign } from './eip712.ts';
import { addressOf } from './keystore.ts';

/** Where the record goes: the deployment and the TEE its key is shared to. */
export interface UploadTarget {
  chainId: bigint;
  /** The Data contract (the EIP-712 verifying contract of a Record). */
  data: Address;
  /** The TEE's address, and its public key (33 bytes) — check that it hashes to the address. */
  tee: Address;
  pkTee: Uint8Array;
  /** PK_C of the deployment's Authorization contract (`pkC`). */
  pkC: Uint8Array;
  /** The data type id (32 bytes, 0x hex). */
  dataType: Hex;
}

/** The Record struct of contracts/src/MedshareTypes.sol, as viem encodes it. */
export interface RecordStruct {
  owner: Address;
  recordId: Hex;
  dataType: Hex;
  storageIndex: Hex;
  ciphertextHash: Hex;
  timestamp: bigint;
  cm: Hex;
  rUg: Hex;
  padCommitment: Hex;
  tee: Address;
}

/** A sealed record ready to store and register. */
export interface SealedRecord {
  record: RecordStruct;
  /** US_i: the owner's EIP-712 signature over the Record. */
  signature: Hex;
  /** DS_i, stored under its SHA-256 (HDS_i). */
  ciphertext: Uint8Array;
  /** r_C·PK_C, kept by the owner and released with its consent. */
  pad: Uint8Array;
}

/** Seals `plaintext` (the canonical record JSON) for the owner whose secret key is `ownerSk`. */
export async function sealForUpload(
  ownerSk: Uint8Array,
  target: UploadTarget,
  plaintext: Uint8Array,
  timestamp: bigint,
): Promise<SealedRecord> {
  const owner = to0x(fromHex(addressOf(ownerSk))) as Address;
  const recordId = crypto.getRandomValues(new Uint8Array(32));
  const s = share(recordId, target.pkTee, target.pkC);
  const ciphertext = await sealRecord(s.dataKey, recordId, fromHex(owner), plaintext);
  s.dataKey.fill(0);
  const hash = to0x(ciphertextHash(ciphertext));
  const record: RecordStruct = {
    owner,
    recordId: to0x(recordId),
    dataType: target.dataType,
    storageIndex: hash,
    ciphertextHash: hash,
    timestamp,
    cm: to0x(s.cm),
    rUg: to0x(s.rUg),
    padCommitment: to0x(s.padCommitment),
    tee: target.tee,
  };
  const signature = await sign(to0x(ownerSk), target.chainId, target.data, 'Record', { ...record });
  return { record, signature, ciphertext, pad: s.rCPkC };
}
