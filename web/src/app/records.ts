// A patient's records from CSV text, parsed and checked in the browser exactly as
// crates/records does it (csv.rs, record.rs, schema.rs): a header naming every feature of the data
// type (the label and a `patient` column optional, any other column refused), one row per record,
// every value a finite number, the label one of the classes' indices. The record's plaintext is
// its canonical JSON: {"data_type", "values" (features in name order), "label"}. Pure functions,
// tested in test/records.test.ts. An error names the line and column, never a value.

import { keccak256, toBytes, type Hex } from 'viem';
import wdbc from './schemas/breast-cancer-wdbc.json';
import cardiometabolic from './schemas/cardiometabolic.json';

export interface Feature {
  name: string;
  unit?: string;
  loinc?: string;
  min: number;
  max: number;
}

export interface Label {
  name: string;
  description?: string;
  loinc?: string;
  classes?: string[];
  min?: number;
  max?: number;
}

/** A data type's schema (`medshare schema show NAME --json`). */
export interface Schema {
  name: string;
  description?: string;
  features: Feature[];
  label: Label;
}

/** The built-in data types (copies of `medshare schema show NAME --json`). */
export const BUILTIN_SCHEMAS: Schema[] = [wdbc as Schema, cardiometabolic as Schema];

/**
 * A feature's unit as a person reads it: UCUM's annotations lose their braces (`{px}` → `px`),
 * and the dimensionless `1` is not shown.
 */
export function unitText(unit: string | undefined): string {
  const u = (unit ?? '').replace(/[{}]/g, '').trim();
  return u === '' || u === '1' ? '' : u;
}

export function builtinSchema(name: string): Schema | undefined {
  return BUILTIN_SCHEMAS.find((s) => s.name === name);
}

/** The on-chain id of a data type: keccak256("medshare.datatype:" || name). */
export function dataTypeId(name: string): Hex {
  if (!/^[a-z0-9._/-]{1,64}$/.test(name)) {
    throw new Error(`"${name.slice(0, 80)}" is not a data type name: 1 to 64 of a-z 0-9 . _ / -`);
  }
  return keccak256(toBytes(`medshare.datatype:${name}`));
}

/** UDATA_i: one record's plaintext. */
export interface PatientRecord {
  data_type: string;
  values: Record<string, number>;
  label: number | null;
}

/** A record as imported, with the patient's pseudonym from the file (never uploaded). */
export interface Imported {
  patient: string;
  record: PatientRecord;
}

/** The most rows one import reads in the browser. */
export const MAX_BROWSER_ROWS = 1000;

export class RecordError extends Error {}

/** Splits one CSV line into fields (RFC 4180 quotes), each trimmed as the Rust reader does. */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field.trim());
      field = '';
    } else field += c;
  }
  if (quoted) throw new RecordError('a quoted field is not closed');
  out.push(field.trim());
  return out;
}

/** Checks a label value: a class index for a categorical label, any finite number otherwise. */
export function checkLabel(label: Label, value: number): string | undefined {
  if (!Number.isFinite(value)) return 'not a finite number';
  const classes = label.classes ?? [];
  if (classes.length > 0 && (!Number.isInteger(value) || value < 0 || value >= classes.length)) {
    return `not one of the classes of "${label.name}" (${classes.map((c, i) => `${i} = ${c}`).join(', ')})`;
  }
  return undefined;
}

/** Reads CSV text (a header and one or more rows) as records of `schema`. */
export function readCsv(schema: Schema, text: string): Imported[] {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  if (lines.length === 0) throw new RecordError('the CSV text is empty: paste a header line and a row');
  const header = splitCsvLine(lines[0]!);
  const featureAt: [number, string][] = [];
  let labelAt: number | undefined;
  let patientAt: number | undefined;
  const names = new Set(schema.features.map((f) => f.name));
  header.forEach((name, i) => {
    if (name === 'patient') patientAt = i;
    else if (name === schema.label.name) labelAt = i;
    else if (names.has(name)) featureAt.push([i, name]);
    else throw new RecordError(`header, column ${i + 1}: "${name}" is not a column of data type "${schema.name}"`);
  });
  const missing = schema.features.find((f) => !featureAt.some(([, n]) => n === f.name));
  if (missing) throw new RecordError(`header: feature "${missing.name}" of "${schema.name}" has no column`);
  const rows = lines.slice(1);
  if (rows.length === 0) throw new RecordError('the CSV text has a header but no row');
  if (rows.length > MAX_BROWSER_ROWS) throw new RecordError(`at most ${MAX_BROWSER_ROWS} rows at a time`);
  return rows.map((line, r) => {
    const at = r + 2;
    const fields = splitCsvLine(line);
    if (fields.length !== header.length) throw new RecordError(`line ${at}: wrong number of fields`);
    const number = (i: number, column: string): number => {
      const text = fields[i] ?? '';
      // Rust's f64 parser: a decimal number, with an optional exponent; inf and NaN are refused.
      const v = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : NaN;
      if (!Number.isFinite(v)) {
        throw new RecordError(
          `line ${at}, column "${column}": ${text === '' ? 'empty (missing values are not imported)' : 'not a finite number'}`,
        );
      }
      return v;
    };
    const values: Record<string, number> = {};
    for (const [i, name] of [...featureAt].sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))) {
      values[name] = number(i, name);
    }
    let label: number | null = null;
    if (labelAt !== undefined) {
      label = number(labelAt, schema.label.name);
      const why = checkLabel(schema.label, label);
      if (why) throw new RecordError(`line ${at}, column "${schema.label.name}": ${why}`);
    }
    const patient = patientAt === undefined ? `row-${r + 1}` : (fields[patientAt] ?? '');
    if (patient === '') throw new RecordError(`line ${at}, column "patient": empty patient identifier`);
    return { patient, record: { data_type: schema.name, values, label } };
  });
}

/** Checks a record against its schema (record.rs `check`). */
export function checkRecord(record: PatientRecord, schema: Schema): void {
  if (record.data_type !== schema.name) {
    throw new RecordError(`data type "${record.data_type}", expected "${schema.name}"`);
  }
  const missing = schema.features.find((f) => !(f.name in record.values));
  if (missing) throw new RecordError(`feature "${missing.name}" is missing`);
  const extra = Object.keys(record.values).find((k) => !schema.features.some((f) => f.name === k));
  if (extra !== undefined) throw new RecordError(`feature "${extra}" is not in the schema`);
  const bad = Object.entries(record.values).find(([, v]) => !Number.isFinite(v));
  if (bad) throw new RecordError(`feature "${bad[0]}" is not a finite number`);
  if (record.label !== null) {
    const why = checkLabel(schema.label, record.label);
    if (why) throw new RecordError(`label: ${why}`);
  }
}

/** The canonical plaintext: compact JSON, features in name order (as serde_json writes the
 * BTreeMap). Numbers are written as JavaScript writes them; the enclave reads any JSON number. */
export function canonicalBytes(record: PatientRecord): Uint8Array {
  const values: Record<string, number> = {};
  for (const k of Object.keys(record.values).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    values[k] = record.values[k]!;
  }
  return new TextEncoder().encode(JSON.stringify({ data_type: record.data_type, values, label: record.label }));
}
