// FHIR R4 bundles read in the browser as crates/records reads them (fhir.rs): the cases of
// crates/records/testdata/fhir-cases.json, whose expectations the Rust importer wrote and
// crates/records/tests/fhir_shared.rs checks, give the same records and the same errors here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAX_BUNDLE_BYTES, jsonErrorPosition, readBundle, rustDebug, utf8Length } from '../src/app/fhir.ts';
import { type Imported, type Schema, builtinSchema, canonicalBytes, checkRecord } from '../src/app/records.ts';

const testdata = (name: string): string => readFileSync(new URL(`../../crates/records/testdata/${name}`, import.meta.url), 'utf8');
const vitals = JSON.parse(testdata('vitals-schema.json')) as Schema;
const schemaOf = (name: string): Schema => (name === 'vitals' ? vitals : builtinSchema(name)!);

interface Case {
  name: string;
  schema: string;
  bundle?: string;
  replace?: [string, string][];
  text?: string;
  expect: { records: Imported[] } | { error: string };
}
const cases = (JSON.parse(testdata('fhir-cases.json')) as { cases: Case[] }).cases;

const bundleOf = (c: Case): string => {
  if (c.text !== undefined) return c.text;
  let text = testdata(c.bundle!);
  for (const [from, to] of c.replace ?? []) {
    expect(text.includes(from), `${c.name}: ${from}`).toBe(true);
    text = text.split(from).join(to);
  }
  return text;
};

describe('the FHIR cases shared with crates/records', () => {
  it('holds cases of both kinds', () => {
    expect(cases.filter((c) => 'records' in c.expect).length).toBeGreaterThan(5);
    expect(cases.filter((c) => 'error' in c.expect).length).toBeGreaterThan(20);
  });
  for (const c of cases) {
    it(c.name, () => {
      const schema = schemaOf(c.schema);
      let got: { records: Imported[] } | { error: string };
      try {
        got = { records: readBundle(schema, bundleOf(c)) };
      } catch (e) {
        got = { error: (e as Error).message };
      }
      // Same records (values as numbers, features in name order, -0 kept) or the same words.
      expect(got).toEqual(c.expect);
      const want = c.expect;
      if ('records' in got && 'records' in want) {
        got.records.forEach((r, k) => {
          checkRecord(r.record, schema);
          expect(Object.keys(r.record.values)).toEqual(Object.keys(want.records[k]!.record.values).sort());
          expect(Object.keys(r.record.values)).toEqual([...Object.keys(r.record.values)].sort());
        });
      }
    });
  }
});

describe('the Rust unit tests of fhir.rs, here', () => {
  const bundle = testdata('vitals-bundle.json');
  it('maps observations by LOINC: the later systolic wins, p2 by fullUrl without a label', () => {
    const got = readBundle(vitals, bundle);
    expect(got.map((r) => r.patient)).toEqual(['p1', 'p2']);
    expect(got[0]!.record.values).toEqual({ bmi: 31.2, glucose: 131, heart_rate: 72, systolic_bp: 128 });
    expect(got[0]!.record.label).toBe(1);
    expect(got[1]!.record.values.heart_rate).toBe(88);
    expect(got[1]!.record.label).toBeNull();
    const text = new TextDecoder().decode(canonicalBytes(got[0]!.record));
    expect(text).toBe('{"data_type":"vitals-diabetes","values":{"bmi":31.2,"glucose":131,"heart_rate":72,"systolic_bp":128},"label":1}');
  });

  it('refuses a value that is not a number without quoting it', () => {
    expect(() => readBundle(vitals, bundle.replace('"value": 72', '"value": "SECRET"'))).toThrow(/^(?!.*SECRET).*heart_rate/);
  });

  it('refuses Patients past the limit, in the Rust words', () => {
    expect(readBundle(vitals, bundle, 2)).toHaveLength(2);
    expect(() => readBundle(vitals, bundle, 1)).toThrow(/^FHIR bundle has more than 1 Patients, the most one import reads \(split it\)$/);
  });

  it('refuses a bundle over MAX_BUNDLE_BYTES, counted in UTF-8 bytes', () => {
    const big = 'x'.repeat(MAX_BUNDLE_BYTES - 1) + 'é';
    expect(utf8Length(big)).toBe(MAX_BUNDLE_BYTES + 1);
    expect(utf8Length('a\u00e9\u20ac\ud83d\ude00')).toBe(10);
    expect(utf8Length('x'.repeat((1 << 18) - 1) + '\ud83d\ude00')).toBe((1 << 18) + 3);
    expect(() => readBundle(vitals, big)).toThrow(`FHIR bundle is ${MAX_BUNDLE_BYTES + 1} bytes, more than the ${MAX_BUNDLE_BYTES} accepted`);
  });

  it('reads the built-in cardiometabolic type: every feature and the label have a LOINC code', () => {
    const c = builtinSchema('cardiometabolic')!;
    expect(c.features.every((f) => f.loinc)).toBe(true);
    expect(c.label.loinc).toBe('4548-4');
  });
});

describe('helpers', () => {
  it('quotes as Rust Debug does', () => {
    expect(rustDebug('a"b\\c\td\n\u0001é')).toBe('"a\\"b\\\\c\\td\\n\\u{1}é"');
  });
  it('accepts JSON that serde_json accepts', () => {
    for (const ok of ['{}', ' [1, -0, 0.5e-3, 1E+2, true, false, null, "\\ud83d\\ude00\\n"] ', '"x"']) {
      expect(jsonErrorPosition(ok), ok).toBeUndefined();
    }
  });
});
