// The HTTP API of `medshare serve`, as the pages call it. Every error the server returns is a
// JSON object {"error", "hint"}; it becomes an ApiError whose message is the server's words.

/** An error from the API (or from reaching it), in words a person can act on. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/** GETs `path` and parses its JSON; any failure is an ApiError. */
export async function getJson<T>(path: string, fetchFn: Fetch = fetch): Promise<T> {
  let res: Response;
  try {
    res = await fetchFn(path, { headers: { accept: 'application/json' } });
  } catch (e) {
    throw new ApiError(0, `medshare serve cannot be reached (${String(e)})`, 'is `medshare serve` still running?');
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(res.status, `the server answered ${res.status} with something that is not JSON`);
  }
  if (!res.ok) {
    const b = (body ?? {}) as { error?: unknown; hint?: unknown };
    throw new ApiError(
      res.status,
      typeof b.error === 'string' ? b.error : `the server answered ${res.status}`,
      typeof b.hint === 'string' ? b.hint : undefined,
    );
  }
  return body as T;
}

/** A page of a paged list (`?offset&limit`). */
export interface Page<T> {
  items: T[];
  total: number;
  offset: number;
}

/** The API's largest page. */
export const PAGE_LIMIT = 500;

/** Every item of a paged list, page by page. */
export async function getAll<T>(path: string, fetchFn: Fetch = fetch): Promise<T[]> {
  const out: T[] = [];
  for (;;) {
    const page = await getJson<Page<T>>(`${path}?offset=${out.length}&limit=${PAGE_LIMIT}`, fetchFn);
    out.push(...page.items);
    if (page.items.length === 0 || out.length >= page.total) return out;
  }
}

async function parsed<T>(res: Response): Promise<T> {
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(res.status, `the server answered ${res.status} with something that is not JSON`);
  }
  if (!res.ok) {
    const b = (body ?? {}) as { error?: unknown; hint?: unknown };
    throw new ApiError(
      res.status,
      typeof b.error === 'string' ? b.error : `the server answered ${res.status}`,
      typeof b.hint === 'string' ? b.hint : undefined,
    );
  }
  return body as T;
}

async function reach(path: string, init: RequestInit, fetchFn: Fetch): Promise<Response> {
  try {
    return await fetchFn(path, init);
  } catch (e) {
    throw new ApiError(0, `medshare serve cannot be reached (${String(e)})`, 'is `medshare serve` still running?');
  }
}

/** POSTs `body` as JSON and parses the JSON answer; any failure is an ApiError. */
export async function postJson<T>(path: string, body: unknown, fetchFn: Fetch = fetch): Promise<T> {
  const res = await reach(
    path,
    { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) },
    fetchFn,
  );
  return parsed<T>(res);
}

/** PUTs bytes (`content-type` as given) and parses the JSON answer. */
export async function putBytes<T>(path: string, bytes: Uint8Array, contentType: string, fetchFn: Fetch = fetch): Promise<T> {
  const res = await reach(path, { method: 'PUT', headers: { 'content-type': contentType, accept: 'application/json' }, body: new Uint8Array(bytes) }, fetchFn);
  return parsed<T>(res);
}

/** GETs bytes; an error answer is an ApiError in the server's words. */
export async function getBytes(path: string, fetchFn: Fetch = fetch): Promise<Uint8Array> {
  const res = await reach(path, {}, fetchFn);
  if (!res.ok) return parsed<never>(res);
  return new Uint8Array(await res.arrayBuffer());
}
