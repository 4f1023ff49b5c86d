import { describe, expect, it } from 'vitest';
import { ApiError, type Fetch } from '../src/app/api.ts';
import { type AdmissionView, admissionFacts, admitTeeArgs, checkAdmission, verifyAdmission } from '../src/app/admission.ts';

const TEE = '0x1111111111111111111111111111111111111111';
const HASH = `0x${'ab'.repeat(32)}`;
const MEASUREMENT = `0x${'cd'.repeat(32)}`;

const admission = (over: Partial<AdmissionView> = {}): AdmissionView => ({
  tee: TEE,
  evidence_hash: HASH,
  measurement: MEASUREMENT,
  evidence_kind: 'simulated',
  evidence_kind_code: 0,
  unverified_headers: false,
  tcb_status: null,
  advisory_ids: [],
  measurement_allowed: true,
  sealers: ['0x2222222222222222222222222222222222222222'],
  verified_at: 1_700_000_000,
  ...over,
} as AdmissionView);

const answering = (status: number, body: unknown, seen: { path?: string; init?: RequestInit } = {}): Fetch =>
  async (path, init) => {
    seen.path = path;
    seen.init = init;
    return new Response(JSON.stringify(body), { status });
  };

describe('a TEE admission from the server', () => {
  it('is accepted for the TEE asked about and the evidence it submitted, and becomes admitTee’s arguments', () => {
    const a = checkAdmission(admission(), TEE.toUpperCase().replace('0X', '0x'), HASH);
    expect(admitTeeArgs(a)).toEqual([TEE, HASH, MEASUREMENT, 0, false]);
    const tdx = checkAdmission(admission({ evidence_kind: 'tdx', evidence_kind_code: 2, tcb_status: 'UpToDate' }), TEE, HASH);
    expect(admitTeeArgs(tdx)[3]).toBe(2);
  });

  it('is refused when it is about another TEE or other evidence, or its fields do not fit the contract', () => {
    expect(() => checkAdmission(admission({ tee: '0x3333333333333333333333333333333333333333' }), TEE, HASH)).toThrow(/not this TEE/);
    expect(() => checkAdmission(admission(), TEE, `0x${'ef'.repeat(32)}`)).toThrow(/but the TEE submitted/);
    expect(() => checkAdmission(admission({ measurement: `0x${'0'.repeat(64)}` }), TEE, HASH)).toThrow(/zero/);
    expect(() => checkAdmission(admission({ measurement: '0x12' }), TEE, HASH)).toThrow(/measurement/);
    expect(() => checkAdmission(admission({ evidence_kind_code: 1 }), TEE, HASH)).toThrow(/evidence kind/);
    expect(() => checkAdmission(admission({ evidence_kind: 'sev' }), TEE, HASH)).toThrow(/evidence kind/);
    expect(() => checkAdmission(null, TEE, HASH)).toThrow(/not this TEE/);
  });

  it('is shown as text rows: measurement, kind, header mode, TCB status', () => {
    const rows = new Map(admissionFacts(admission({ unverified_headers: true })));
    expect(rows.get('Measurement (from the verified evidence)')).toBe(MEASUREMENT);
    expect(rows.get('Evidence kind')).toMatch(/^simulated/);
    expect(rows.get('Header mode')).toMatch(/unsigned headers/);
    expect(rows.get('TCB status')).toMatch(/none/);
    const sgx = new Map(admissionFacts(admission({ evidence_kind: 'sgx_dcap', evidence_kind_code: 1, tcb_status: 'UpToDate', advisory_ids: ['INTEL-SA-00334'], measurement_allowed: false })));
    expect(sgx.get('Header mode')).toMatch(/verified headers, sealed by 0x2222/);
    expect(sgx.get('TCB status')).toBe('UpToDate');
    expect(sgx.get('Advisories')).toBe('INTEL-SA-00334');
    expect(sgx.get('Measurement allowlisted')).toMatch(/^no/);
  });

  it('is asked for with GET, or POST with the collateral, and a refusal comes back in the server’s words', async () => {
    const seen: { path?: string; init?: RequestInit } = {};
    await verifyAdmission(TEE, HASH, undefined, answering(200, admission(), seen));
    expect(seen.path).toBe(`/api/tees/${TEE}/admission`);
    expect(seen.init?.method).toBeUndefined();
    await verifyAdmission(TEE, HASH, { tcb_info: '{}' }, answering(200, admission(), seen));
    expect(seen.init?.method).toBe('POST');
    expect(seen.init?.body).toBe('{"tcb_info":"{}"}');
    const refusal = verifyAdmission(
      TEE,
      HASH,
      undefined,
      answering(422, { error: 'TEE 0x11… cannot be admitted: its evidence is simulated', hint: 'do not admit this TEE' }),
    );
    await expect(refusal).rejects.toBeInstanceOf(ApiError);
    await expect(refusal).rejects.toThrow(/its evidence is simulated/);
    await expect(verifyAdmission('0x12', HASH, undefined, answering(200, {}))).rejects.toThrow(/not an address/);
  });
});
