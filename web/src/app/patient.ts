// The patient's page: register as a user, upload records from CSV rows or a FHIR R4 bundle (parsed,
// checked, sealed and signed here; ciphertext and TD_i stored by hash; registered by a transaction signed here),
// the records and their status, the requests (jobs) for the patient's data types with grant and
// revoke per record, a standing policy with its ε budget. Mirrors crates/parties/src/user.rs.

import { secp256k1 } from '@noble/curves/secp256k1';
import { keccak_256 } from '@noble/hashes/sha3';
import { type Address, type Hex, getAddress } from 'viem';
import { fromHex, to0x, toHex } from '../crypto/bytes.ts';
import { structHash } from '../crypto/eip712.ts';
import { pkC } from '../crypto/keyshare.ts';
import { sealForUpload } from '../crypto/upload.ts';
import { getAll, putBytes } from './api.ts';
import { EPSILON_INFINITE, type RecordView, epsilonText } from './audit.ts';
import { info, send, view } from './chain.ts';
import { type KeyValue, type OwnedRecord, type Unlocked, loadOwned, saveOwned } from './identity.ts';
import { onIdentity, registerForm, session } from './identity-page.ts';
import { FhirError, MAX_BUNDLE_BYTES, readBundle } from './fhir.ts';
import { BUILTIN_SCHEMAS, type Imported, MAX_BROWSER_ROWS, type PatientRecord, type Schema, builtinSchema, canonicalBytes, checkRecord, dataTypeId, readCsv, unitText } from './records.ts';
import { describeSpec } from './spec.ts';
import { Feedback, button, el, facts, field, form, freshId, input, select } from './ui.ts';

/** Records registered per transaction (user.rs UPLOAD_BATCH). */
const UPLOAD_BATCH = 100;

export interface TeeView {
  address: Address;
  public_key: Hex;
  admitted: boolean;
  active: boolean;
  unrevoked: boolean;
  unverified_headers: boolean;
  measurement: Hex;
  evidence_kind: string;
  evidence_hash: Hex;
  block: number | null;
}

export interface JobView {
  job: Hex;
  demander: Address;
  data_type: Hex;
  status: string;
  model: string;
  requirement: string;
  model_hash: Hex;
  min_cohort: number;
  epsilon_milli: number;
  submitted_at: number;
  block: number | null;
  result: { result_hash: Hex; tee: Address; view_block: number; view_hash: Hex; block: number | null } | null;
}

/** A TEE's compressed key, after checking that its registered key hashes to its address (as
 * `Patient::tee_key` checks: a lying server cannot substitute a key of its own). */
export function teeKey(tee: TeeView): Uint8Array {
  const raw = fromHex(tee.public_key);
  if (raw.length !== 64) throw new Error(`TEE ${tee.address} has no 64-byte key registered`);
  const address = getAddress(to0x(keccak_256(raw).subarray(12)));
  if (address !== getAddress(tee.address)) throw new Error(`the key served for TEE ${tee.address} belongs to ${address}`);
  return secp256k1.ProjectivePoint.fromHex(`04${toHex(raw)}`).toRawBytes(true);
}

/** ε text to thousandths, as `--epsilon-budget` reads it ("inf" for unlimited). */
export function parseBudget(text: string): number {
  const s = text.trim();
  const epsilon = s.toLowerCase() === 'inf' ? Infinity : /^\d*\.?\d+$/.test(s) ? Number(s) : NaN;
  if (epsilon === Infinity) return EPSILON_INFINITE;
  const milli = epsilon * 1000;
  const rounded = Math.round(milli);
  if (!(rounded >= 1 && rounded < EPSILON_INFINITE) || Math.abs(milli - rounded) > 1e-6) {
    throw new Error(`ε budget "${s}" must be a positive multiple of 0.001, or inf`);
  }
  return rounded;
}

const typeName = (id: string): string => BUILTIN_SCHEMAS.find((s) => dataTypeId(s.name) === id.toLowerCase())?.name ?? id;

/** The Record struct as viem signs and encodes it. */
export const recordArg = (o: OwnedRecord) => ({ ...o.record, timestamp: BigInt(o.record.timestamp) });
export const commitmentOf = (o: OwnedRecord): Hex => structHash('Record', recordArg(o));

/** Algorithm 1 for `records` (Patient::upload): each sealed to the active TEE `teeAddress` with
 * a fresh key, TD_i and US_i then the ciphertext stored by hash, the owner's copies (with the
 * pads) kept before the batch is registered, UPLOAD_BATCH per transaction. Returns every copy
 * kept, `kept` included. */
export async function uploadRecords(
  u: Unlocked,
  schema: Schema,
  records: PatientRecord[],
  teeAddress: Address,
  kept: OwnedRecord[],
  say: (what: string) => void,
  store: KeyValue = localStorage,
): Promise<OwnedRecord[]> {
  const tees = await getAll<TeeView>('/api/tees');
  const chosen = tees.find((t) => t.address.toLowerCase() === teeAddress.toLowerCase());
  if (!chosen) throw new Error('choose a TEE');
  if (!chosen.active) throw new Error(`TEE ${chosen.address} is not active: a key is never shared with it`);
  for (const r of records) checkRecord(r, schema);
  const i = await info();
  const chainId = BigInt(i.chain_id);
  const target = {
    chainId,
    data: i.contracts.data,
    tee: getAddress(chosen.address),
    pkTee: teeKey(chosen),
    pkC: pkC(chainId, fromHex(i.contracts.authorization)),
    dataType: dataTypeId(schema.name),
  };
  let owned = kept;
  for (let start = 0; start < records.length; start += UPLOAD_BATCH) {
    const chunk = records.slice(start, start + UPLOAD_BATCH);
    const sealed: OwnedRecord[] = [];
    for (const [n, record] of chunk.entries()) {
      say(`Encrypting and storing record ${start + n + 1} of ${records.length}…`);
      const s = await sealForUpload(fromHex(u.sk), target, canonicalBytes(record), BigInt(Math.floor(Date.now() / 1000)));
      const hash = s.record.ciphertextHash.slice(2);
      const meta = { record: { ...s.record, timestamp: Number(s.record.timestamp) }, signature: s.signature };
      // TD_i and US_i first (nobody else knows the hash yet), then the ciphertext.
      await putBytes(`/api/objects/records/${hash}/meta`, new TextEncoder().encode(JSON.stringify(meta)), 'application/json');
      await putBytes(`/api/objects/records/${hash}`, s.ciphertext, 'application/octet-stream');
      sealed.push({
        record: { ...s.record, timestamp: s.record.timestamp.toString() },
        signature: s.signature,
        pad: to0x(s.pad),
        dataTypeName: schema.name,
      });
    }
    // The owner's copies (with the pads) are kept before anything is registered.
    owned = [...owned, ...sealed];
    await saveOwned(store, u, owned);
    await send(u.sk, 'data', 'registerRecords', [target.dataType, sealed.map((o) => o.record.ciphertextHash), sealed.map(commitmentOf)], say);
  }
  return owned;
}

/** Consents to `job` for each record (Authorization.grant with its pad and budget), as
 * Patient::grant does (`user grant --record`). */
export async function grantRecords(u: Unlocked, records: OwnedRecord[], job: Hex, budgetMilli: number, say: (what: string) => void): Promise<void> {
  for (const [k, o] of records.entries()) {
    await send(u.sk, 'authorization', 'grant', [recordArg(o), job, o.pad, budgetMilli], (s) => say(`Record ${k + 1} of ${records.length}: ${s}`));
  }
}

/** Withdraws the consent to `job` of each record (Authorization.revoke), as Patient::revoke. */
export async function revokeRecords(u: Unlocked, records: OwnedRecord[], job: Hex, say: (what: string) => void): Promise<void> {
  for (const [k, o] of records.entries()) {
    await send(u.sk, 'authorization', 'revoke', [recordArg(o), job], (s) => say(`Record ${k + 1} of ${records.length}: ${s}`));
  }
}

export function mountPatient(root: HTMLElement, onRecordsChanged: () => void): void {
  const fb = new Feedback();
  const locked = el('p', 'Unlock or create your key (Identity, above) to register, upload records and decide who may use them. Reading an audit trail (below) needs no key.');
  const body = el('div');
  root.append(locked, ...fb.nodes(), body);

  let owned: OwnedRecord[] = [];

  const render = async (u: Unlocked | undefined): Promise<void> => {
    fb.clear();
    body.replaceChildren();
    locked.hidden = !!u;
    if (!u) return;
    try {
      owned = await loadOwned(localStorage, u);
    } catch (e) {
      fb.fail(new Error(`your records kept in this browser could not be opened: ${String(e)}`));
      owned = [];
    }
    body.append(registerForm(u, fb, { code: 1, name: 'user', title: 'Register as a patient', before: 'uploading' }), uploadForm(u), recordsBox, requestsBox, policyForm(u));
    await refresh(u);
  };

  // ---- register ----

  // ---- upload ----
  const uploadForm = (u: Unlocked): HTMLElement => {
    const { form: f } = form('Upload records from CSV rows or a FHIR R4 bundle');
    const dataType = field('Data type', select(BUILTIN_SCHEMAS.map((s) => [s.name, s.name])));
    const tee = field('Share each record’s key with the TEE', select([]), 'Only TEEs governance admitted and that are active are listed.');
    // Where the records come from: CSV rows typed here, or a FHIR R4 bundle (a file or pasted).
    const source = el('fieldset');
    source.append(el('legend', 'Records from'));
    const group = freshId('source');
    const radio = (value: 'csv' | 'fhir', text: string, checked: boolean): HTMLInputElement => {
      const r = input('radio', value);
      r.name = group;
      r.id = freshId('f');
      r.checked = checked;
      const l = el('label', text);
      l.htmlFor = r.id;
      r.style.minWidth = '0';
      const wrap = el('div', undefined, 'field check');
      wrap.append(r, l);
      source.append(wrap);
      return r;
    };
    const fromCsv = radio('csv', 'CSV rows, typed or pasted below', true);
    const fromFhir = radio('fhir', 'A FHIR R4 bundle (JSON), a file or pasted below', false);
    const csv = field(
      'CSV rows',
      el('textarea'),
      'A header line naming every feature (a `patient` column and the label are optional), then one row per record. Nothing leaves the browser unencrypted.',
    );
    csv.control.rows = 6;
    const fhirFile = field(
      'FHIR R4 bundle file (.json)',
      input('file', '', { accept: '.json,application/json,application/fhir+json' }),
      'A Bundle of Patient and Observation resources: one record per Patient, each feature from the Observation carrying its LOINC code (listed above), in the unit the data type records it in. Read here; nothing leaves the browser unencrypted.',
    );
    const fhirText = field('Or the bundle’s JSON, pasted (read when no file is chosen)', el('textarea'));
    fhirText.control.rows = 6;
    // Plain wrappers: `hidden` hides them (the .field rule would override it on the fields).
    const csvPart = el('div');
    csvPart.append(csv.wrap);
    const fhirPart = el('div');
    fhirPart.append(fhirFile.wrap, fhirText.wrap);
    const showSource = (): void => {
      csvPart.hidden = !fromCsv.checked;
      fhirPart.hidden = !fromFhir.checked;
    };
    fromCsv.addEventListener('change', showSource);
    fromFhir.addEventListener('change', showSource);
    showSource();
    const columns = el('p', undefined, 'help');
    const codes = el('p', undefined, 'help');
    const showColumns = (): void => {
      const s = builtinSchema(dataType.control.value);
      columns.textContent = s ? `Columns of ${s.name}: ${s.features.map((x) => x.name).join(', ')}; label ${s.label.name}${s.label.classes ? ` (${s.label.classes.map((c, i) => `${i} = ${c}`).join(', ')})` : ''}.` : '';
      const coded = s ? [...s.features.map((x) => [x.name, x.loinc, unitText(x.unit)] as const), [s.label.name, s.label.loinc, ''] as const].filter(([, c]) => c) : [];
      codes.textContent = !s
        ? ''
        : coded.length === 0
          ? `${s.name} maps no LOINC code: its records are imported from CSV rows only.`
          : `FHIR Observations of ${s.name} by LOINC code: ${coded.map(([n, c, unit]) => `${n} ${c}${unit ? ` (${unit})` : ''}`).join(', ')}.`;
    };
    dataType.control.addEventListener('change', showColumns);
    showColumns();
    /** The records of the chosen source, parsed and checked against `schema` here. */
    const readRecords = async (schema: Schema): Promise<Imported[]> => {
      if (fromCsv.checked) return readCsv(schema, csv.control.value);
      const file = fhirFile.control.files?.[0];
      let text = fhirText.control.value;
      if (file) {
        if (file.size > MAX_BUNDLE_BYTES) throw new FhirError(`FHIR bundle is ${file.size} bytes, more than the ${MAX_BUNDLE_BYTES} accepted`);
        try {
          // As Rust reads a file: UTF-8 or refused, a byte order mark kept (and refused as JSON).
          text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(await file.arrayBuffer());
        } catch {
          throw new FhirError(`FHIR bundle ${file.name}: not UTF-8 text`);
        }
      } else if (text.trim() === '') {
        throw new FhirError('choose a FHIR R4 bundle file, or paste the bundle’s JSON');
      }
      // The browser's cap on one upload, as for CSV rows.
      const imported = readBundle(schema, text, MAX_BROWSER_ROWS);
      if (imported.length === 0) throw new FhirError('the FHIR bundle holds no Patient: no record to upload');
      return imported;
    };
    const checkButton = button('Check the records', () =>
      fb.run(null, async () => {
        const schema = builtinSchema(dataType.control.value);
        if (!schema) throw new Error('choose a data type');
        const rows = await readRecords(schema);
        for (const r of rows) checkRecord(r.record, schema);
        fb.say(`${rows.length} record${rows.length === 1 ? '' : 's'} of ${schema.name} checked against its schema.`);
      }),
    );
    f.append(dataType.wrap, columns, codes, tee.wrap, source, csvPart, fhirPart, checkButton, button('Encrypt, store and register', () => {}, 'submit'));
    void getAll<TeeView>('/api/tees').then(
      (tees) => {
        const active = tees.filter((t) => t.active);
        tee.control.replaceChildren(...active.map((t) => Object.assign(el('option', `${t.address} (${t.evidence_kind})`), { value: t.address })));
        if (active.length === 0) tee.control.append(Object.assign(el('option', 'no active TEE: governance has admitted none'), { value: '' }));
      },
      (e: unknown) => fb.fail(e),
    );
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void fb.run(f, async () => {
        const schema = builtinSchema(dataType.control.value);
        if (!schema) throw new Error('choose a data type');
        const rows = await readRecords(schema);
        try {
          owned = await uploadRecords(u, schema, rows.map((r) => r.record), tee.control.value as Address, owned, (t) => fb.say(t));
        } finally {
          // What was kept before a failure stays kept.
          owned = await loadOwned(localStorage, u);
        }
        csv.control.value = '';
        fhirText.control.value = '';
        fhirFile.control.value = '';
        fb.say(`${rows.length} record${rows.length === 1 ? '' : 's'} encrypted, stored and registered.`);
        await refresh(u);
        onRecordsChanged();
      });
    });
    return f;
  };

  // ---- records ----
  const recordsBox = el('section');
  recordsBox.append(el('h3', 'Your records'));
  const recordsList = el('div');
  recordsBox.append(recordsList);

  // ---- requests ----
  const requestsBox = el('section');
  requestsBox.append(el('h3', 'Requests for your data'));
  const requestsList = el('div');
  requestsList.setAttribute('aria-live', 'polite');
  // New jobs and their reviews land on chain while the page is open: read them again on demand.
  const reload = button('Reload my records and requests', () => {
    const u = session();
    if (u) void refresh(u);
  });
  requestsBox.append(reload, requestsList);

  const refresh = async (u: Unlocked): Promise<void> => {
    try {
      const chainRecords = await getAll<RecordView>(`/api/owners/${u.address}/records`);
      renderRecords(chainRecords);
      const jobs = await getAll<JobView>('/api/jobs');
      await renderRequests(u, chainRecords, jobs);
    } catch (e) {
      fb.fail(e);
    }
  };

  const renderRecords = (chainRecords: RecordView[]): void => {
    recordsList.replaceChildren();
    if (chainRecords.length === 0) {
      recordsList.append(el('p', 'No record registered by this address yet.'));
      return;
    }
    const table = el('table');
    const head = el('tr');
    for (const h of ['Record (HDS_i)', 'Data type', 'Status', 'Privacy budget', 'Block', 'Kept in this browser']) head.append(el('th', h));
    table.append(el('thead'), el('tbody'));
    table.tHead!.append(head);
    for (const r of chainRecords) {
      const tr = el('tr');
      const mine = owned.some((o) => o.record.ciphertextHash.toLowerCase() === r.ciphertext_hash.toLowerCase());
      const budget =
        r.budget.total_milli === EPSILON_INFINITE
          ? `unlimited (ε ${epsilonText(r.budget.spent_milli)} spent)`
          : r.budget.total_milli === 0
            ? `none set (ε ${epsilonText(r.budget.spent_milli)} spent)`
            : `ε ${epsilonText(Math.max(0, r.budget.total_milli - r.budget.spent_milli))} of ${epsilonText(r.budget.total_milli)} left`;
      for (const c of [r.ciphertext_hash, typeName(r.data_type), r.live ? 'live' : 'updated or deleted', budget, String(r.block ?? '—'), mine ? 'yes (can consent)' : 'no (uploaded elsewhere)']) {
        tr.append(el('td', c));
      }
      table.tBodies[0]!.append(tr);
    }
    const caption = el('caption', `${chainRecords.length} record${chainRecords.length === 1 ? '' : 's'} registered by this address`);
    table.prepend(caption);
    recordsList.append(table);
  };

  const renderRequests = async (u: Unlocked, chainRecords: RecordView[], jobs: JobView[]): Promise<void> => {
    requestsList.replaceChildren();
    const live = new Set(chainRecords.filter((r) => r.live).map((r) => r.ciphertext_hash.toLowerCase()));
    const mine = owned.filter((o) => live.has(o.record.ciphertextHash.toLowerCase()));
    const types = new Set(chainRecords.map((r) => r.data_type.toLowerCase()));
    const asking = jobs.filter((j) => types.has(j.data_type.toLowerCase()));
    if (asking.length === 0) {
      requestsList.append(el('p', 'No job asks for the data types of your records.'));
      return;
    }
    for (const j of asking.reverse()) {
      const item = el('article', undefined, 'request');
      item.append(el('h4', `Job ${j.job}`));
      const d = describeSpec(j.model, j.requirement);
      item.append(
        facts([
          ['Status', j.status],
          ['Demander', j.demander],
          ['ε per record', j.epsilon_milli === EPSILON_INFINITE ? '∞ (no differential privacy)' : epsilonText(j.epsilon_milli)],
          ...d.facts,
        ]),
      );
      const ofType = mine.filter((o) => o.record.dataType.toLowerCase() === j.data_type.toLowerCase());
      if (ofType.length === 0) {
        item.append(el('p', 'None of the records kept in this browser is of this data type.'));
        requestsList.append(item);
        continue;
      }
      const granted: boolean[] = [];
      for (const o of ofType) granted.push((await view('authorization', 'isGranted', [commitmentOf(o), j.job])) as boolean);
      const n = granted.filter(Boolean).length;
      item.append(el('p', `${n} of your ${ofType.length} record${ofType.length === 1 ? '' : 's'} of this type ${n === 1 ? 'is' : 'are'} granted to this job.`));
      const { form: f } = form('Your consent', 'h4');
      const budget = field('Privacy budget of each record (total ε; inf for unlimited; 0 keeps the current one)', input('text', '3'));
      const local = new Feedback();
      f.append(budget.wrap);
      f.append(
        button(`Grant all ${ofType.length}`, () =>
          local.run(f, async () => {
            const b = budget.control.value.trim() === '0' ? 0 : parseBudget(budget.control.value);
            await grantRecords(u, ofType.filter((_, k) => !granted[k]), j.job, b, (s) => local.say(s));
            local.say('Granted.');
            await refresh(u);
          }),
        ),
        button('Revoke', () =>
          local.run(f, async () => {
            await revokeRecords(u, ofType.filter((_, k) => granted[k]), j.job, (s) => local.say(s));
            local.say('Revoked.');
            await refresh(u);
          }),
        ),
        ...local.nodes(),
      );
      item.append(f);
      requestsList.append(item);
    }
  };

  // ---- policy ----
  const policyForm = (u: Unlocked): HTMLElement => {
    const { form: f } = form('Standing policy: any approved job of a data type');
    const dataType = field('Data type', select(BUILTIN_SCHEMAS.map((s) => [s.name, s.name])));
    const current = el('p', undefined, 'help');
    current.setAttribute('aria-live', 'polite');
    const allow = field('Let any approved job use my records of this type', input('checkbox'));
    const budget = field('Privacy budget of each record (total ε; inf for unlimited; 0 keeps the current one)', input('text', '3'));
    const readPolicy = (): void => {
      void view('authorization', 'policyOf', [u.address, dataTypeId(dataType.control.value)]).then(
        (on) => {
          current.textContent = on ? 'Your policy for this type is on.' : 'You have no policy for this type.';
          allow.control.checked = on as boolean;
        },
        (e: unknown) => fb.fail(e),
      );
    };
    dataType.control.addEventListener('change', readPolicy);
    readPolicy();
    f.append(dataType.wrap, current, allow.wrap, budget.wrap, button('Save the policy', () => {}, 'submit'));
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void fb.run(f, async () => {
        const id = dataTypeId(dataType.control.value);
        const on = allow.control.checked;
        const b = budget.control.value.trim() === '0' ? 0 : parseBudget(budget.control.value);
        // Authorization.setPolicy, then the pads released in batches (Patient::set_policy).
        await send(u.sk, 'authorization', 'setPolicy', [id, on], (s) => fb.say(s));
        const ofType = owned.filter((o) => o.record.dataType.toLowerCase() === id.toLowerCase());
        if (on) {
          for (let k = 0; k < ofType.length; k += UPLOAD_BATCH) {
            const chunk = ofType.slice(k, k + UPLOAD_BATCH);
            await send(u.sk, 'authorization', 'releasePads', [chunk.map(recordArg), chunk.map((o) => o.pad), b], (s) => fb.say(s));
          }
        }
        fb.say(on ? `Policy on; the pads of ${ofType.length} record${ofType.length === 1 ? '' : 's'} released.` : 'Policy cleared (pads already released stay public; the enclave checks the policy before every use).');
        readPolicy();
        await refresh(u);
      });
    });
    return f;
  };

  onIdentity((u) => void render(u));
  void render(session());
}
