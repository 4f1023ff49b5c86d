// The web app's calldata and signed transactions against the Rust parties' (alloy), from the
// fixture crates/api/tests/browser_calldata.rs checks on the Rust side.
import { describe, expect, it } from 'vitest';
import { type Hex, encodeFunctionData } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import fixture from './fixtures/calldata.json';
import { ABI, GAS_MARGIN_PERCENT, fees, transactionOf } from '../src/app/chain.ts';
import { unlockedOf } from '../src/app/identity.ts';
import { commitmentOf, type TeeView, teeKey } from '../src/app/patient.ts';
import { jobIdOf } from '../src/app/demander.ts';
import { dataTypeId } from '../src/app/records.ts';
import { fromHex, to0x } from '../src/crypto/bytes.ts';
import { secp256k1 } from '@noble/curves/secp256k1';

const owned = {
  record: { ...(fixture.record as Record<string, unknown>), timestamp: String(fixture.record.timestamp) },
  signature: '0x' as Hex,
  pad: fixture.pad as Hex,
  dataTypeName: 'breast-cancer-wdbc',
} as never;
const recordArg = { ...(fixture.record as Record<string, unknown>), timestamp: BigInt(fixture.record.timestamp) };

describe('calls as the Rust parties encode them', () => {
  it('names the key and the data type as Rust does', () => {
    const u = unlockedOf(fromHex(fixture.secret_key));
    expect(u.address).toBe(fixture.owner);
    expect(u.publicKey).toBe(fixture.public_key);
    expect(dataTypeId('breast-cancer-wdbc')).toBe(fixture.data_type);
  });

  it('encodes register, registerRecords, grant and submitModel byte for byte', () => {
    const u = unlockedOf(fromHex(fixture.secret_key));
    expect(encodeFunctionData({ abi: ABI.registration, functionName: 'register', args: [1, u.publicKey] })).toBe(fixture.register);
    expect(commitmentOf(owned)).toBe(fixture.record_commitment);
    expect(
      encodeFunctionData({ abi: ABI.data, functionName: 'registerRecords', args: [fixture.data_type, [fixture.record.ciphertextHash], [commitmentOf(owned)]] }),
    ).toBe(fixture.register_records);
    expect(encodeFunctionData({ abi: ABI.authorization, functionName: 'grant', args: [recordArg, fixture.job, fixture.pad, 3000] })).toBe(fixture.grant);
    const s = fixture.submission;
    const submission = { ...s, timestamp: BigInt(s.timestamp) };
    expect(jobIdOf(submission)).toBe(fixture.submission_job_id);
    const utf8hex = (t: string): Hex => to0x(new TextEncoder().encode(t));
    expect(
      encodeFunctionData({
        abi: ABI.model,
        functionName: 'submitModel',
        args: [s.modelHash, s.requirementHash, s.dataType, submission.timestamp, s.minCohort, s.epsilonMilli, utf8hex('{"m":1}'), utf8hex('{"r":2}'), `0x${'1b'.repeat(65)}`],
      }),
    ).toBe(fixture.submit_model);
  });

  it('signs the registration transaction as alloy does (same bytes)', async () => {
    const tx = transactionOf({ chain_id: 31337, gas_price: '0' }, fixture.register_tx_to as Hex, fixture.register as Hex, 0, 100_000n);
    expect(tx.gas).toBe((100_000n * (100n + GAS_MARGIN_PERCENT)) / 100n);
    const raw = await privateKeyToAccount(fixture.secret_key as Hex).signTransaction(tx);
    expect(raw).toBe(fixture.register_tx_raw);
  });

  it('pays the fees the node suggests, nothing on a zero-fee chain', () => {
    expect(fees(0n)).toEqual({ maxFeePerGas: 0n, maxPriorityFeePerGas: 0n });
    expect(fees(7n)).toEqual({ maxFeePerGas: 14n, maxPriorityFeePerGas: 7n });
  });
});

describe("a TEE's key", () => {
  const sk = fromHex('22'.repeat(32));
  const u = unlockedOf(sk);
  const tee = { address: u.address, public_key: u.publicKey } as TeeView;
  it('is used only when it hashes to the TEE’s address', () => {
    expect(teeKey(tee)).toEqual(secp256k1.getPublicKey(sk, true));
    const other = unlockedOf(fromHex('33'.repeat(32)));
    expect(() => teeKey({ ...tee, public_key: other.publicKey })).toThrow(/belongs to/);
    expect(() => teeKey({ ...tee, public_key: '0x' })).toThrow(/no 64-byte key/);
  });
});
