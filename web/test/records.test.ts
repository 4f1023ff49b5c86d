// CSV rows parsed and checked in the browser as crates/records does (csv.rs, record.rs).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { builtinSchema, canonicalBytes, checkRecord, dataTypeId, readCsv, splitCsvLine, unitText } from '../src/app/records.ts';

const wdbc = builtinSchema('breast-cancer-wdbc')!;
const demo = readFileSync(new URL('../../data/wdbc/wdbc.csv', import.meta.url), 'utf8').split('\n');
const header = demo[0]!;
const rows = (n: number): string => [header, ...demo.slice(1, 1 + n)].join('\n');

describe('CSV rows of the demo format', () => {
  it('reads the WDBC demo rows into records of the schema, features in name order', () => {
    const got = readCsv(wdbc, rows(3));
    expect(got).toHaveLength(3);
    expect(got[0]!.patient).toBe('P0001');
    const r = got[0]!.record;
    expect(r.data_type).toBe('breast-cancer-wdbc');
    expect(Object.keys(r.values)).toHaveLength(30);
    expect(Object.keys(r.values)).toEqual([...Object.keys(r.values)].sort());
    expect(r.values.radius_mean).toBe(17.99);
    expect([0, 1]).toContain(r.label);
    checkRecord(r, wdbc);
    const text = new TextDecoder().decode(canonicalBytes(r));
    expect(text.startsWith('{"data_type":"breast-cancer-wdbc","values":{"area_mean":')).toBe(true);
    expect(JSON.parse(text)).toEqual(r);
    expect(text).not.toContain('P0001');
  });

  it('numbers rows without a patient column and reads rows without a label', () => {
    const cols = header.split(',').filter((c) => c !== 'patient' && c !== 'diagnosis');
    const line = demo[1]!.split(',').slice(1, 31).join(',');
    const got = readCsv(wdbc, `${cols.join(',')}\n${line}\n`);
    expect(got[0]!.patient).toBe('row-1');
    expect(got[0]!.record.label).toBeNull();
  });

  it('refuses what crates/records refuses, naming where and never the value', () => {
    expect(() => readCsv(wdbc, `${header},height\n${demo[1]},170`)).toThrow(/column 33: "height" is not a column/);
    expect(() => readCsv(wdbc, header.replace(',radius_mean', '') + '\n1')).toThrow(/feature "radius_mean" of "breast-cancer-wdbc" has no column/);
    expect(() => readCsv(wdbc, header)).toThrow(/no row/);
    expect(() => readCsv(wdbc, '')).toThrow(/empty/);
    const fields = demo[1]!.split(',');
    const withValue = (i: number, v: string): string => `${header}\n${fields.map((f, k) => (k === i ? v : f)).join(',')}`;
    expect(() => readCsv(wdbc, withValue(1, ''))).toThrow(/line 2, column "radius_mean": empty/);
    expect(() => readCsv(wdbc, withValue(1, 'NaN'))).toThrow(/not a finite number/);
    expect(() => readCsv(wdbc, withValue(1, 'inf'))).toThrow(/not a finite number/);
    expect(() => readCsv(wdbc, withValue(1, '17.99abc'))).toThrow(/not a finite number/);
    expect(() => readCsv(wdbc, withValue(31, '2'))).toThrow(/"diagnosis": not one of the classes .*0 = benign, 1 = malignant/);
    expect(() => readCsv(wdbc, withValue(31, '0.5'))).toThrow(/not one of the classes/);
    expect(() => readCsv(wdbc, withValue(0, ''))).toThrow(/empty patient identifier/);
    expect(() => readCsv(wdbc, `${header}\n${demo[1]},1`)).toThrow(/line 2: wrong number of fields/);
    try {
      readCsv(wdbc, withValue(1, '123456789x'));
    } catch (e) {
      expect((e as Error).message).not.toContain('123456789');
    }
  });

  it('reads quoted fields and trims spaces as the csv crate does', () => {
    expect(splitCsvLine(' a , "b,c" ,"d""e"')).toEqual(['a', 'b,c', 'd"e']);
    expect(() => splitCsvLine('"open')).toThrow(/not closed/);
  });

  it('checks a record against its schema', () => {
    const r = readCsv(wdbc, rows(1))[0]!.record;
    expect(() => checkRecord({ ...r, data_type: 'cardiometabolic' }, wdbc)).toThrow(/expected "breast-cancer-wdbc"/);
    const { radius_mean: _, ...rest } = r.values;
    expect(() => checkRecord({ ...r, values: rest }, wdbc)).toThrow(/"radius_mean" is missing/);
    expect(() => checkRecord({ ...r, values: { ...r.values, height: 1 } }, wdbc)).toThrow(/"height" is not in the schema/);
    expect(() => checkRecord({ ...r, label: 3 }, wdbc)).toThrow(/label: not one of the classes/);
  });

  it('names data types as the chain does', () => {
    expect(() => dataTypeId('Breast Cancer')).toThrow(/not a data type name/);
  });
});

describe('units as a person reads them', () => {
  it('drops UCUM braces and the dimensionless 1', () => {
    expect(unitText('{px}')).toBe('px');
    expect(unitText('{grey_level}')).toBe('grey_level');
    expect(unitText('1')).toBe('');
    expect(unitText(undefined)).toBe('');
    expect(unitText('mg/dL')).toBe('mg/dL');
  });
});
