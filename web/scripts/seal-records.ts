// Seals records as the browser does, for the Rust tests that check the enclave verifies,
// decrypts and trains on them (crates/enclave/tests/browser.rs). Reads one JSON object on stdin:
//   {chain_id, data, authorization, tee, pk_tee, data_type, timestamp, plaintexts: [hex]}
// (PK_C is computed here from the chain id and the Authorization address, as the browser does)
// and prints one JSON array, a record per plaintext, each under a fresh owner key:
//   [{owner_sk, record: {…}, signature, ciphertext, pad}]
// Run from the built library: `npm run build:lib && node dist/scripts/seal-records.js`.

import { secp256k1 } from '@noble/curves/secp256k1';
import type { Address, Hex } from 'viem';
import { fromHex, pkC, sealForUpload, toHex } from '../src/crypto/index.ts';

interface Input {
  chain_id: number;
  data: Address;
  tee: Address;
  pk_tee: string;
  authorization: string;
  data_type: Hex;
  timestamp: number;
  plaintexts: string[];
}

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Input;
  const target = {
    chainId: BigInt(input.chain_id),
    data: input.data,
    tee: input.tee,
    pkTee: fromHex(input.pk_tee),
    pkC: pkC(BigInt(input.chain_id), fromHex(input.authorization)),
    dataType: input.data_type,
  };
  const out = [];
  for (const p of input.plaintexts) {
    const ownerSk = secp256k1.utils.randomPrivateKey();
    const s = await sealForUpload(ownerSk, target, fromHex(p), BigInt(input.timestamp));
    out.push({
      owner_sk: toHex(ownerSk),
      record: { ...s.record, timestamp: Number(s.record.timestamp) },
      signature: s.signature,
      ciphertext: toHex(s.ciphertext),
      pad: toHex(s.pad),
    });
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`seal-records: ${(e as Error).message}\n`);
  process.exit(1);
});
