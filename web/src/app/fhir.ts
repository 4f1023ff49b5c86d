// A patient's records from a FHIR R4 Bundle, read in the browser exactly as crates/records reads
// it (fhir.rs `read_bundle`): each Patient becomes one record, in bundle order; an Observation
// belongs to the Patient its `subject.reference` names (`Patient/<id>`, or the Patient entry's
// `fullUrl`) and fills the feature (or the label) whose LOINC code is among its `code.coding`
// (system http://loinc.org). Its value is `valueQuantity.value`, `valueInteger`, or
// `valueBoolean` (1 or 0). A quantity that names its unit (its UCUM `code`, else its `unit` text)
// must name the feature's unit in the schema: another unit is refused, naming both. Observations
// `entered-in-error` or `cancelled`, and codes the schema does not map, are skipped; when one
// code was observed several times, the latest `effectiveDateTime` wins (a tie goes to the later
// entry). A Patient without a value for every feature is refused, naming the feature and its
// code. Errors read as the Rust importer's, word for word, and never quote a value; both sides
// check the cases of crates/records/testdata/fhir-cases.json (test/fhir.test.ts and
// crates/records/tests/fhir_shared.rs).

import { type Imported, type PatientRecord, RecordError, type Schema, checkLabel } from './records.ts';

/** The largest bundle accepted, in UTF-8 bytes (fhir.rs MAX_BUNDLE_BYTES). */
export const MAX_BUNDLE_BYTES = 256 * 1024 * 1024;
/** The most Patients one import reads (lib.rs MAX_IMPORT_RECORDS). */
export const MAX_IMPORT_RECORDS = 1_000_000;
const LOINC = 'http://loinc.org';

export class FhirError extends RecordError {}

/** `FHIR bundle {where}: {reason}`, as Error::Fhir displays. */
const fail = (where: string, reason: string): FhirError => new FhirError(`FHIR bundle ${where}: ${reason}`);

/** A string as Rust's `{:?}` writes it (quotes, and `\t`, `\r`, `\n`, `\0`, `\\`, `\"`, other
 * control characters as `\u{…}`). */
export function rustDebug(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c === 0) out += '\\0';
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) out += `\\u{${c.toString(16)}}`;
    else out += ch;
  }
  return `${out}"`;
}

/** The UTF-8 length of a string (what Rust's `str::len` counts), encoded a chunk at a time
 * (never splitting a surrogate pair) rather than copied whole. */
export function utf8Length(s: string): number {
  const chunk = 1 << 18;
  const encoder = new TextEncoder();
  const buf = new Uint8Array(3 * chunk + 4);
  let n = 0;
  for (let i = 0; i < s.length; ) {
    let end = Math.min(i + chunk, s.length);
    const last = s.charCodeAt(end - 1);
    if (end < s.length && last >= 0xd800 && last <= 0xdbff) end++;
    n += encoder.encodeInto(s.slice(i, end), buf).written;
    i = end;
  }
  return n;
}

/** Rust's string order (UTF-8 bytes, i.e. code points), not JavaScript's UTF-16 order. */
function rustLessOrEqual(a: string, b: string): boolean {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i]!.codePointAt(0)!;
    const q = y[i]!.codePointAt(0)!;
    if (p !== q) return p < q;
  }
  return x.length <= y.length;
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isHex = (c: string | undefined): boolean => c !== undefined && /^[0-9a-fA-F]$/.test(c);

/**
 * Where serde_json stops on text that is not JSON, as `(line, column)` (`e.line()`,
 * `e.column()`: the column counts UTF-8 bytes, up to and including the first byte of the
 * offending character; at the end of the text, the bytes of the last line), or `undefined` for
 * JSON serde_json reads: RFC 8259, nesting below 128, escapes of whole surrogate pairs, numbers
 * within f64's range.
 */
export function jsonErrorPosition(text: string): [number, number] | undefined {
  const len = text.length;
  let i = 0;
  let depth = 0;
  // The error is at index `k` (the offending character), or at the end (`k === len`).
  class At {
    constructor(readonly k: number) {}
  }
  const at = (k: number): never => {
    throw new At(k);
  };
  const ws = (): void => {
    while (i < len) {
      const c = text[i];
      if (c === ' ' || c === '\n' || c === '\t' || c === '\r') i++;
      else break;
    }
  };
  const hex4 = (): number => {
    if (i + 4 > len) at(len);
    const h = text.slice(i, i + 4);
    i += 4;
    if (![...h].every(isHex)) at(i - 1);
    return parseInt(h, 16);
  };
  const string = (): void => {
    i++; // the opening quote
    for (;;) {
      if (i >= len) at(len);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) at(i);
      if (c !== 0x5c) {
        i++;
        continue;
      }
      i++;
      if (i >= len) at(len);
      const e = text[i]!;
      i++;
      if ('"\\/bfnrt'.includes(e)) continue;
      if (e !== 'u') at(i - 1);
      const n = hex4();
      if (n >= 0xdc00 && n <= 0xdfff) at(i - 1);
      if (n < 0xd800 || n > 0xdbff) continue;
      if (i >= len) at(len);
      if (text[i] !== '\\') at(i);
      i++;
      if (i >= len) at(len);
      if (text[i] !== 'u') at(i);
      i++;
      const n2 = hex4();
      if (n2 < 0xdc00 || n2 > 0xdfff) at(i - 1);
    }
  };
  const number = (): void => {
    const start = i;
    if (text[i] === '-') i++;
    if (i >= len) at(len);
    if (text[i] === '0') {
      i++;
      if (isDigit(text[i])) at(i);
    } else if (isDigit(text[i]) && text[i] !== '0') {
      while (isDigit(text[i])) i++;
    } else at(i);
    if (text[i] === '.') {
      i++;
      if (!isDigit(text[i])) at(i >= len ? len : i);
      while (isDigit(text[i])) i++;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (i >= len) at(len);
      if (!isDigit(text[i])) at(i);
      while (isDigit(text[i])) i++;
    }
    if (!Number.isFinite(Number(text.slice(start, i)))) at(i - 1);
  };
  const literal = (word: string): void => {
    for (const w of word) {
      if (i >= len) at(len);
      if (text[i] !== w) at(i);
      i++;
    }
  };
  const value = (): void => {
    ws();
    if (i >= len) at(len);
    const c = text[i]!;
    if (c === '"') return string();
    if (c === '-' || isDigit(c)) return number();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    if (c !== '[' && c !== '{') at(i);
    if (++depth >= 128) at(i);
    i++;
    ws();
    if (c === '[') {
      if (text[i] === ']') i++;
      else
        for (;;) {
          value();
          ws();
          if (i >= len) at(len);
          if (text[i] === ']') {
            i++;
            break;
          }
          if (text[i] !== ',') at(i);
          i++;
          ws();
          if (text[i] === ']') at(i);
        }
    } else {
      if (text[i] === '}') i++;
      else
        for (;;) {
          if (i >= len) at(len);
          if (text[i] !== '"') at(i);
          string();
          ws();
          if (i >= len) at(len);
          if (text[i] !== ':') at(i);
          i++;
          value();
          ws();
          if (i >= len) at(len);
          if (text[i] === '}') {
            i++;
            break;
          }
          if (text[i] !== ',') at(i);
          i++;
          ws();
        }
    }
    depth--;
  };
  try {
    value();
    ws();
    if (i < len) at(i);
    return undefined;
  } catch (e) {
    if (!(e instanceof At)) throw e;
    // serde_json's position: the bytes before the index just past the offending byte.
    const end = e.k >= len ? len : e.k + 1;
    let line = 1;
    let lineStart = 0;
    for (let j = 0; j < end; j++) {
      if (text.charCodeAt(j) === 0x0a) {
        line++;
        lineStart = j + 1;
      }
    }
    const column = e.k >= len || text.charCodeAt(e.k) === 0x0a ? utf8Length(text.slice(lineStart, end)) : utf8Length(text.slice(lineStart, e.k)) + 1;
    return [line, column];
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** `value.get(key)` of serde_json: a member of an object, never of an array or a scalar. */
function get(v: Json | undefined, key: string): Json | undefined {
  if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v)) return undefined;
  return Object.prototype.hasOwnProperty.call(v, key) ? v[key] : undefined;
}
const asStr = (v: Json | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
const asNum = (v: Json | undefined): number | undefined => (typeof v === 'number' ? v : undefined);

interface Observed {
  value: number;
  when: string;
}

/**
 * Reads a Bundle (JSON text) as records of `schema`, one per Patient, in bundle order: at most
 * MAX_BUNDLE_BYTES of text and `maxPatients` Patients (MAX_IMPORT_RECORDS, as the Rust
 * importer; the page asks for fewer).
 */
export function readBundle(schema: Schema, text: string, maxPatients = MAX_IMPORT_RECORDS): Imported[] {
  const bytes = utf8Length(text);
  if (bytes > MAX_BUNDLE_BYTES) {
    throw new FhirError(`FHIR bundle is ${bytes} bytes, more than the ${MAX_BUNDLE_BYTES} accepted`);
  }
  const bad = jsonErrorPosition(text);
  if (bad) throw fail('', `not JSON (line ${bad[0]}, column ${bad[1]})`);
  let bundle: Json;
  try {
    bundle = JSON.parse(text) as Json;
  } catch {
    throw fail('', 'not JSON');
  }
  if (asStr(get(bundle, 'resourceType')) !== 'Bundle') throw fail('', 'resourceType is not "Bundle"');
  const entries = get(bundle, 'entry');
  if (!Array.isArray(entries)) throw fail('', 'no entry array');

  const columnOf = new Map<string, string>();
  for (const f of schema.features) if (f.loinc !== undefined) columnOf.set(f.loinc, f.name);
  if (schema.label.loinc !== undefined) columnOf.set(schema.label.loinc, schema.label.name);
  const unitOf = new Map<string, string>();
  for (const f of schema.features) if (f.unit !== undefined) unitOf.set(f.name, f.unit);
  if (columnOf.size === 0) throw fail('', `data type ${rustDebug(schema.name)} maps no LOINC code`);

  // Patients first (references may point forward), by `Patient/<id>` and by fullUrl.
  const patients: string[] = [];
  const byRef = new Map<string, number>();
  entries.forEach((entry, i) => {
    const resource = get(entry, 'resource');
    if (resource === undefined || asStr(get(resource, 'resourceType')) !== 'Patient') return;
    if (patients.length === maxPatients) {
      throw new FhirError(`FHIR bundle has more than ${maxPatients} Patients, the most one import reads (split it)`);
    }
    const id = asStr(get(resource, 'id'));
    if (id === undefined || id === '') throw fail(`entry ${i} (Patient)`, 'no id');
    const n = patients.length;
    const key = `Patient/${id}`;
    if (byRef.has(key)) throw fail(`entry ${i} (Patient ${id})`, 'the same Patient twice');
    byRef.set(key, n);
    const url = asStr(get(entry, 'fullUrl'));
    if (url !== undefined) byRef.set(url, n);
    patients.push(id);
  });

  const observed: Map<string, Observed>[] = patients.map(() => new Map());
  entries.forEach((entry, i) => {
    const resource = get(entry, 'resource');
    if (resource === undefined || asStr(get(resource, 'resourceType')) !== 'Observation') return;
    const where = `entry ${i} (Observation)`;
    const status = asStr(get(resource, 'status'));
    if (status === 'entered-in-error' || status === 'cancelled') return;
    const codes = get(get(resource, 'code'), 'coding');
    if (!Array.isArray(codes)) throw fail(where, 'no code.coding');
    let column: string | undefined;
    for (const c of codes) {
      if (asStr(get(c, 'system')) !== LOINC) continue;
      const code = asStr(get(c, 'code'));
      column = code === undefined ? undefined : columnOf.get(code);
      if (column !== undefined) break;
    }
    if (column === undefined) return;
    const reference = asStr(get(get(resource, 'subject'), 'reference'));
    if (reference === undefined) throw fail(where, 'no subject.reference');
    const patient = byRef.get(reference);
    if (patient === undefined) throw fail(where, `subject ${rustDebug(reference)} is no Patient of the bundle`);
    let value: number | undefined;
    const quantity = get(resource, 'valueQuantity');
    if (quantity !== undefined) {
      // The UCUM code when the key is there (whatever it holds), else the unit text.
      const code = get(quantity, 'code');
      const stated = asStr(code !== undefined ? code : get(quantity, 'unit'));
      const expected = unitOf.get(column);
      if (stated !== undefined && expected !== undefined && stated !== expected) {
        throw fail(
          where,
          `${rustDebug(column)} is in ${rustDebug(stated)}, but the data type records it in ${rustDebug(expected)}: convert it first`,
        );
      }
      value = asNum(get(quantity, 'value'));
    } else if (get(resource, 'valueInteger') !== undefined) {
      value = asNum(get(resource, 'valueInteger'));
    } else if (get(resource, 'valueBoolean') !== undefined) {
      const b = get(resource, 'valueBoolean');
      value = typeof b === 'boolean' ? (b ? 1 : 0) : undefined;
    } else {
      throw fail(where, `no valueQuantity, valueInteger or valueBoolean for ${rustDebug(column)}`);
    }
    if (value === undefined || !Number.isFinite(value)) {
      throw fail(where, `the value for ${rustDebug(column)} is not a finite number`);
    }
    const when = asStr(get(resource, 'effectiveDateTime')) ?? '';
    const slot = observed[patient]!;
    const before = slot.get(column);
    if (before === undefined || rustLessOrEqual(before.when, when)) slot.set(column, { value, when });
  });

  const names = schema.features.map((f) => f.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return patients.map((patient, n) => {
    const obs = observed[n]!;
    const found: Record<string, number> = {};
    for (const f of schema.features) {
      const o = obs.get(f.name);
      if (o === undefined) {
        throw fail(`Patient ${patient}`, `no Observation for feature ${rustDebug(f.name)}${f.loinc !== undefined ? ` (LOINC ${f.loinc})` : ''}`);
      }
      found[f.name] = o.value;
    }
    // Features in name order, as the BTreeMap of PatientRecord.
    const values: Record<string, number> = {};
    for (const name of names) values[name] = found[name]!;
    const label = obs.get(schema.label.name)?.value ?? null;
    if (label !== null) {
      const why = checkLabel(schema.label, label);
      if (why) throw fail(`Patient ${patient}`, `label: ${why}`);
    }
    const record: PatientRecord = { data_type: schema.name, values, label };
    return { patient, record };
  });
}
