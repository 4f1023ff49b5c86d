// The pages' flows against a live API, with every key in this process (as in the browser):
// patient registers, uploads CSV rows, grants and revokes, sets a policy; demander registers,
// submits, follows the job and checks and decrypts the result; reviewer approves and rejects.
// Runs only against `cargo run -p medshare-api --example dev_world` (its stand-in TEE posts a
// fixed result): MEDSHARE_DEV_URL=http://127.0.0.1:8099 MEDSHARE_DEV_REVIEWER_SK=0x… MEDSHARE_DEV_ADMIN_SK=0x…
// [MEDSHARE_DEV_PENDING_TEE=0x…] npx vitest run test/flow.dev.test.ts (the keys and the TEE are the
// ones dev_world prints).
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Hex } from 'viem';
import { secp256k1 } from '@noble/curves/secp256k1';
import { ApiError, getAll, getJson } from '../src/app/api.ts';
import { admitTeeArgs, verifyAdmission } from '../src/app/admission.ts';
import { send, view } from '../src/app/chain.ts';
import { type KeyValue, loadOwned, unlockedOf } from '../src/app/identity.ts';
import { type JobView, type TeeView, commitmentOf, grantRecords, revokeRecords, uploadRecords } from '../src/app/patient.ts';
import { fetchResult, submitModel } from '../src/app/demander.ts';
import { builtinSchema, dataTypeId, readCsv } from '../src/app/records.ts';
import type { RecordView } from '../src/app/audit.ts';

const base = process.env.MEDSHARE_DEV_URL;
const reviewerSk = process.env.MEDSHARE_DEV_REVIEWER_SK as Hex | undefined;
const adminSk = process.env.MEDSHARE_DEV_ADMIN_SK as Hex | undefined;
const pendingTee = process.env.MEDSHARE_DEV_PENDING_TEE;

const memory = (): KeyValue => {
  const all = new Map<string, string>();
  return { getItem: (k) => all.get(k) ?? null, setItem: (k, v) => void all.set(k, v), removeItem: (k) => void all.delete(k) };
};

describe.skipIf(!base || !reviewerSk || !adminSk)('the pages’ flows against a live API', () => {
  beforeAll(() => {
    const real = globalThis.fetch;
    globalThis.fetch = ((input: string, init?: RequestInit) => real(`${base}${input}`, init)) as typeof fetch;
  });
  const say = (): void => {};
  const wdbc = builtinSchema('breast-cancer-wdbc')!;
  const csv = readFileSync(new URL('../../data/wdbc/wdbc.csv', import.meta.url), 'utf8').split('\n').slice(0, 4).join('\n');
  const patient = unlockedOf(secp256k1.utils.randomPrivateKey());
  const demander = unlockedOf(secp256k1.utils.randomPrivateKey());
  const store = memory();
  const spec = {
    features: ['radius_mean', 'texture_mean', 'concave_points_worst'],
    kind: { l2: 1.0, max_iterations: 200, tolerance: 0.0001, type: 'logistic_regression' as const },
    label: 'diagnosis',
    privacy: { delta: 0.00001, epsilon: 1.0 },
    seed: 7,
    test_fraction: 0.25,
  };
  const req = { data_type: 'breast-cancer-wdbc', features: spec.features, label: 'diagnosis', min_cohort: 100 };

  it('runs register, upload, submit, grant, revoke, approve, policy and the result', { timeout: 120_000 }, async () => {
    await send(patient.sk, 'registration', 'register', [1, patient.publicKey], say);
    // Registering twice: the contract's refusal, in words, and nothing signed.
    const again = await send(patient.sk, 'registration', 'register', [1, patient.publicKey], say).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(ApiError);
    expect((again as ApiError).message).toMatch(/Registration refuses/);

    const tee = (await getAll<TeeView>('/api/tees')).find((t) => t.active)!;
    const owned = await uploadRecords(patient, wdbc, readCsv(wdbc, csv).map((r) => r.record), tee.address, [], say, store);
    expect(owned).toHaveLength(3);
    expect(await loadOwned(store, patient)).toEqual(owned);
    const records = await getAll<RecordView>(`/api/owners/${patient.address}/records`);
    expect(records.map((r) => r.ciphertext_hash.toLowerCase())).toEqual(owned.map((o) => o.record.ciphertextHash.toLowerCase()));
    expect(records.every((r) => r.live)).toBe(true);
    // The stored ciphertext is what was registered; the meta is TD_i.
    const meta = await getJson<{ record: { owner: string } }>(`/api/objects/records/${owned[0]!.record.ciphertextHash.slice(2)}/meta`);
    expect(meta.record.owner.toLowerCase()).toBe(patient.address.toLowerCase());

    await send(demander.sk, 'registration', 'register', [2, demander.publicKey], say);
    const job = await submitModel(demander, spec, req, wdbc, say);
    let j = await getJson<JobView>(`/api/jobs/${job}`);
    expect(j.status).toBe('pending');
    expect(JSON.parse(j.model)).toEqual(spec);
    expect(JSON.parse(j.requirement)).toEqual(req);

    // Consent before approval: refused, in words.
    const early = await grantRecords(patient, owned, job, 3000, say).catch((e: unknown) => e);
    expect((early as ApiError).message).toMatch(/JobNotApproved/);

    await send(reviewerSk!, 'model', 'approveModel', [job], say);
    await grantRecords(patient, owned, job, 3000, say);
    for (const o of owned) expect(await view('authorization', 'isGranted', [commitmentOf(o), job])).toBe(true);
    await revokeRecords(patient, owned.slice(0, 1), job, say);
    expect(await view('authorization', 'isGranted', [commitmentOf(owned[0]!), job])).toBe(false);
    for (let k = 0; k < 120 && j.status !== 'completed'; k++) {
      await new Promise((r) => setTimeout(r, 500));
      j = await getJson<JobView>(`/api/jobs/${job}`);
    }
    expect(j.status).toBe('completed');
    const output = await fetchResult(demander, j);
    expect(output.privacy.mechanism).toMatch(/dev world/);
    // Another key cannot read it.
    await expect(fetchResult(patient, j)).rejects.toThrow(/does not decrypt/);

    // A standing policy with a budget: set, pads released.
    const id = dataTypeId('breast-cancer-wdbc');
    await send(patient.sk, 'authorization', 'setPolicy', [id, true], say);
    await send(patient.sk, 'authorization', 'releasePads', [owned.map((o) => ({ ...o.record, timestamp: BigInt(o.record.timestamp) })), owned.map((o) => o.pad), 2000], say);
    expect(await view('authorization', 'policyOf', [patient.address, id])).toBe(true);
    const budgets = await getAll<RecordView>(`/api/owners/${patient.address}/records`);
    expect(budgets.every((r) => r.budget.total_milli > 0)).toBe(true);

    // A second job, rejected with a reason.
    const second = await submitModel(demander, { ...spec, seed: 8 }, req, wdbc, say);
    await send(reviewerSk!, 'model', 'rejectModel', [second, 'features too revealing'], say);
    expect((await getJson<JobView>(`/api/jobs/${second}`)).status).toBe('rejected');
  });

  it('runs governance: appoint and remove a reviewer, set a data type’s rules', { timeout: 60_000 }, async () => {
    const someone = unlockedOf(secp256k1.utils.randomPrivateKey());
    await send(adminSk!, 'registration', 'appointReviewer', [someone.publicKey], say);
    expect((await getJson<{ reviewer: boolean }>(`/api/accounts/${someone.address}`)).reviewer).toBe(true);
    await send(adminSk!, 'registration', 'removeReviewer', [someone.address], say);
    expect((await getJson<{ reviewer: boolean }>(`/api/accounts/${someone.address}`)).reviewer).toBe(false);
    const id = dataTypeId('cardiometabolic');
    await send(adminSk!, 'model', 'setDataTypeRules', [id, 20, 2500, false, `0x${'0'.repeat(64)}`], say);
    expect(await view('model', 'dataTypeRules', [id])).toEqual([20, 2500, false, `0x${'0'.repeat(64)}`]);
    // Not an admin: refused in words.
    const refused = await send(someone.sk, 'model', 'setDataTypeRules', [id, 2, 0, true, `0x${'0'.repeat(64)}`], say).catch((e: unknown) => e);
    expect((refused as ApiError).message).toMatch(/Model refuses/);
  });

  it.skipIf(!pendingTee)('admits a TEE after the server verified its evidence', { timeout: 60_000 }, async () => {
    const listed = async (): Promise<TeeView> => (await getAll<TeeView>('/api/tees')).find((t) => t.address.toLowerCase() === pendingTee!.toLowerCase())!;
    const before = await listed();
    expect(before.admitted).toBe(false);
    const a = await verifyAdmission(before.address, before.evidence_hash);
    expect([a.evidence_kind, a.unverified_headers, a.measurement_allowed]).toEqual(['simulated', false, true]);
    // Not an admin: the contract refuses, in words, before anything is signed.
    const someone = unlockedOf(secp256k1.utils.randomPrivateKey());
    const refused = await send(someone.sk, 'registration', 'admitTee', admitTeeArgs(a), say).catch((e: unknown) => e);
    expect((refused as ApiError).message).toMatch(/Registration refuses/);
    await send(adminSk!, 'registration', 'admitTee', admitTeeArgs(a), say);
    const after = await listed();
    expect([after.admitted, after.active, after.measurement, after.evidence_kind]).toEqual([true, true, a.measurement, 'simulated']);
    // Admitted already: the server says so.
    const again = await verifyAdmission(before.address, before.evidence_hash).catch((e: unknown) => e);
    expect([(again as ApiError).status, (again as ApiError).message]).toEqual([409, `TEE ${before.address} is admitted already`]);
  });
});
