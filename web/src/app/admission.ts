// A TEE's admission, verified by `medshare serve` (GET/POST /api/tees/{address}/admission) with
// governance's own verifier (crates/parties/src/governance.rs::verify_admission) and then signed
// here as `Registration.admitTee(tee, evidenceHash, measurement, evidenceKind, unverifiedHeaders)`.
// The server signs nothing; this module checks that what it answered is an admission of the TEE
// asked about, for the evidence that TEE submitted, before anything is signed.

import type { Address, Hex } from 'viem';
import { type Fetch, getJson, postJson } from './api.ts';

/** What the API answers: the facts governance signs into `admitTee`. */
export interface AdmissionView {
  tee: Address;
  evidence_hash: Hex;
  measurement: Hex;
  evidence_kind: string;
  evidence_kind_code: number;
  unverified_headers: boolean;
  tcb_status?: string | null;
  advisory_ids: string[];
  measurement_allowed: boolean;
  sealers: Address[];
  verified_at: number;
}

/** The contract's `EvidenceKind` values, by the API's names. */
export const EVIDENCE_KINDS: Record<string, number> = { simulated: 0, sgx_dcap: 1, tdx: 2 };

const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/**
 * `raw` as an admission of `tee` for the evidence whose hash is `evidenceHash` (as /api/tees
 * lists it), or an Error saying what does not fit. Pure.
 */
export function checkAdmission(raw: unknown, tee: string, evidenceHash: string): AdmissionView {
  const a = (raw ?? {}) as Partial<AdmissionView>;
  const bad = (why: string): Error => new Error(`the server's admission of TEE ${tee} is unusable: ${why}`);
  if (typeof a.tee !== 'string' || !ADDRESS.test(a.tee) || a.tee.toLowerCase() !== tee.toLowerCase()) {
    throw bad(`it is about ${String(a.tee)}, not this TEE`);
  }
  if (typeof a.evidence_hash !== 'string' || !HEX32.test(a.evidence_hash)) throw bad('the evidence hash is not 32 bytes of hex');
  if (a.evidence_hash.toLowerCase() !== evidenceHash.toLowerCase()) {
    throw bad(`it verified evidence ${a.evidence_hash}, but the TEE submitted ${evidenceHash}`);
  }
  if (typeof a.measurement !== 'string' || !HEX32.test(a.measurement)) throw bad('the measurement is not 32 bytes of hex');
  if (/^0x0{64}$/.test(a.measurement)) throw bad('the measurement is zero');
  const code = typeof a.evidence_kind === 'string' ? EVIDENCE_KINDS[a.evidence_kind] : undefined;
  if (code === undefined || a.evidence_kind_code !== code) {
    throw bad(`the evidence kind ${String(a.evidence_kind)} (${String(a.evidence_kind_code)}) is not one the contract knows`);
  }
  if (typeof a.unverified_headers !== 'boolean' || typeof a.measurement_allowed !== 'boolean') throw bad('a flag is missing');
  if (a.tcb_status != null && typeof a.tcb_status !== 'string') throw bad('the TCB status is not text');
  if (!Array.isArray(a.advisory_ids) || !a.advisory_ids.every((x) => typeof x === 'string')) throw bad('the advisories are not a list of text');
  if (!Array.isArray(a.sealers) || !a.sealers.every((x) => typeof x === 'string' && ADDRESS.test(x))) throw bad('the sealers are not addresses');
  if (typeof a.verified_at !== 'number') throw bad('the verification time is missing');
  return a as AdmissionView;
}

/** The evidence kind in words. */
export function kindText(kind: string): string {
  switch (kind) {
    case 'simulated':
      return 'simulated (no TEE hardware: accepted only because governance enabled simulation)';
    case 'sgx_dcap':
      return 'Intel SGX (DCAP quote)';
    case 'tdx':
      return 'Intel TDX (quote)';
    default:
      return kind;
  }
}

/** The verified facts, as label and text rows for the page. Pure. */
export function admissionFacts(a: AdmissionView): [string, string][] {
  return [
    ['Measurement (from the verified evidence)', a.measurement],
    ['Evidence kind', kindText(a.evidence_kind)],
    [
      'Header mode',
      a.unverified_headers
        ? 'unsigned headers: the enclave does not verify block headers (accepted on this deployment)'
        : `verified headers, sealed by ${a.sealers.length ? a.sealers.join(', ') : 'this chain’s sealer'}`,
    ],
    ['TCB status', a.tcb_status ?? 'none (simulated evidence has no platform TCB)'],
    ['Advisories', a.advisory_ids.length ? a.advisory_ids.join(', ') : 'none'],
    ['Measurement allowlisted', a.measurement_allowed ? 'yes' : 'no: the contract will refuse the admission until governance allowlists it'],
    ['Evidence hash', a.evidence_hash],
  ];
}

/** The arguments of `Registration.admitTee` for a verified admission. Pure. */
export function admitTeeArgs(a: AdmissionView): [Address, Hex, Hex, number, boolean] {
  return [a.tee, a.evidence_hash, a.measurement, a.evidence_kind_code, a.unverified_headers];
}

/**
 * Asks the server to verify `tee`'s submitted evidence (with `collateral`, the parsed JSON of a
 * hardware quote's collateral, when given) and checks its answer against `evidenceHash`.
 */
export async function verifyAdmission(
  tee: string,
  evidenceHash: string,
  collateral?: unknown,
  fetchFn: Fetch = fetch,
): Promise<AdmissionView> {
  if (!ADDRESS.test(tee)) throw new Error(`${tee} is not an address (0x and 40 hexadecimal digits)`);
  const path = `/api/tees/${tee}/admission`;
  const raw = collateral === undefined ? await getJson<unknown>(path, fetchFn) : await postJson<unknown>(path, collateral, fetchFn);
  return checkAdmission(raw, tee, evidenceHash);
}
