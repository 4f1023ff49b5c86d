import { describe, expect, it } from 'vitest';
import { ApiError, getAll, getJson, type Fetch } from '../src/app/api.ts';
import { EPSILON_INFINITE, type AuditEntry, type RecordView, isAddress, outcomeText, timeline } from '../src/app/audit.ts';

const record = (hash: string, total: number, spent: number): RecordView => ({
  ciphertext_hash: hash,
  data_type: '0x00',
  commitment: '0x00',
  live: true,
  budget: { total_milli: total, spent_milli: spent },
});

const entry = (hash: string, timestamp: number, outcome: string, epsilon: number): AuditEntry => ({
  job: '0xjob',
  record: hash,
  demander: '0xdemander',
  model_hash: '0xmodel',
  requirement_hash: '0xreq',
  model_hash_ok: true,
  record_hash_ok: true,
  outcome,
  epsilon_milli: epsilon,
  tee: '0xtee',
  view_block: 1,
  timestamp,
  block: 2,
});

describe('the audit timeline', () => {
  it('lists every use newest first, with what it cost and what the record has left', () => {
    const rows = timeline(
      [record('0xAA', 3000, 2000), record('0xbb', EPSILON_INFINITE, 0)],
      [entry('0xaa', 100, 'used', 1000), entry('0xbb', 300, 'used', EPSILON_INFINITE), entry('0xaa', 200, 'refused_budget', 0)],
    );
    expect(rows.map((r) => [r.record, r.outcome, r.spent, r.remains])).toEqual([
      ['0xbb', 'used to train the model', 'no differential privacy', 'unlimited budget'],
      ['0xaa', 'excluded: its privacy budget could not pay', 'nothing spent', 'ε 1 of 3 left'],
      ['0xaa', 'used to train the model', 'ε 1 spent', 'ε 1 of 3 left'],
    ]);
    expect(rows[0]?.when).toBe('1970-01-01 00:05:00 UTC');
    expect(rows.map((r) => r.used)).toEqual([true, false, true]);
  });

  it('names an outcome it does not know rather than calling it a use', () => {
    expect(outcomeText('something_new')).toBe('excluded (something_new)');
    expect(timeline([], [entry('0xcc', 1, 'something_new', 0)])[0]?.remains).toBe('budget unknown');
  });

  it('accepts only 0x and 40 hex digits as an address', () => {
    expect(isAddress('0x' + 'aB'.repeat(20))).toBe(true);
    for (const bad of ['', '0x', '0x' + 'a'.repeat(39), '0x' + 'g'.repeat(40), 'a'.repeat(42), '0x' + 'a'.repeat(40) + ' ']) {
      expect(isAddress(bad)).toBe(false);
    }
  });
});

const answer = (status: number, body: string): Fetch => async () => new Response(body, { status });

/** The ApiError `p` fails with (a test failure if it succeeds or fails otherwise). */
async function failure(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('it succeeded');
}

describe('the API client', () => {
  it("shows the server's error and hint", async () => {
    const err = await failure(getJson('/api/x', answer(400, '{"error":"not an address","hint":"0x and 40 hex digits"}')));
        expect([err.status, err.message, err.hint]).toEqual([400, 'not an address', '0x and 40 hex digits']);
  });

  it('says so when the answer is not JSON or the server cannot be reached', async () => {
    const html = await failure(getJson('/api/x', answer(502, '<html>bad gateway</html>')));
    expect(html.message).toBe('the server answered 502 with something that is not JSON');
    const down = await failure(
      getJson('/api/x', async () => {
        throw new TypeError('fetch failed');
      }),
    );
    expect(down.message).toContain('cannot be reached');
  });

  it('reads every page of a paged list', async () => {
    const asked: string[] = [];
    const fetchFn: Fetch = async (path) => {
      asked.push(path);
      const offset = Number(new URL(path, 'http://x').searchParams.get('offset'));
      const items = Array.from({ length: Math.min(500, 1200 - offset) }, (_, i) => offset + i);
      return new Response(JSON.stringify({ items, total: 1200, offset }), { status: 200 });
    };
    const all = await getAll<number>('/api/owners/0x1/audit', fetchFn);
    expect(all.length).toBe(1200);
    expect(all[1199]).toBe(1199);
    expect(asked).toEqual([
      '/api/owners/0x1/audit?offset=0&limit=500',
      '/api/owners/0x1/audit?offset=500&limit=500',
      '/api/owners/0x1/audit?offset=1000&limit=500',
    ]);
  });
});
