// The patient page: the audit trail of an address. Data from the API is put in the page as text
// (never as HTML), and every error the API returns is shown in words.

import { ApiError, getAll, getJson } from './api.ts';
import { type AuditEntry, type RecordView, isAddress, timeline } from './audit.ts';
import './style.css';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function byId<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page lacks #${id}`);
  return e as T;
}

const errorBox = byId<HTMLParagraphElement>('error');

function showError(e: unknown): void {
  const message =
    e instanceof ApiError ? `${e.message}${e.hint ? ` — ${e.hint}` : ''}` : e instanceof Error ? e.message : String(e);
  errorBox.textContent = message;
  errorBox.hidden = false;
}

function clearError(): void {
  errorBox.textContent = '';
  errorBox.hidden = true;
}

async function showChain(): Promise<void> {
  try {
    const info = await getJson<{ chain_id: number; block: number }>('/api/info');
    byId('chain').textContent = `Ledger: chain ${info.chain_id}, block ${info.block}`;
  } catch (e) {
    showError(e);
  }
}

function renderRecords(records: RecordView[]): void {
  const box = byId<HTMLDivElement>('records');
  box.replaceChildren();
  box.append(el('p', `${records.length} record${records.length === 1 ? '' : 's'} registered by this address.`));
}

function renderTimeline(records: RecordView[], entries: AuditEntry[]): void {
  const list = byId<HTMLOListElement>('timeline');
  list.replaceChildren();
  const title = byId<HTMLHeadingElement>('timeline-title');
  title.hidden = false;
  const rows = timeline(records, entries);
  if (rows.length === 0) {
    list.append(el('li', 'No job has used any of your records yet.'));
    return;
  }
  for (const row of rows) {
    const item = el('li', undefined, row.used ? 'use used' : 'use excluded');
    const head = el('p', undefined, 'head');
    head.append(el('time', row.when), el('span', ` — record ${row.record}: ${row.outcome}`));
    const facts = el('dl');
    for (const [k, v] of [
      ['Job', row.job],
      ['Demander', row.demander],
      ['Model hash', row.modelHash],
      ['TEE', row.tee],
      ['Privacy', `${row.spent}; ${row.remains}`],
    ] as const) {
      facts.append(el('dt', k), el('dd', v));
    }
    item.append(head, facts);
    list.append(item);
  }
}

async function lookup(address: string): Promise<void> {
  clearError();
  if (!isAddress(address)) {
    showError(new Error(`"${address}" is not an address: it is 0x followed by 40 hexadecimal digits`));
    byId<HTMLInputElement>('address').focus();
    return;
  }
  try {
    const [records, entries] = await Promise.all([
      getAll<RecordView>(`/api/owners/${address}/records`),
      getAll<AuditEntry>(`/api/owners/${address}/audit`),
    ]);
    renderRecords(records);
    renderTimeline(records, entries);
    history.replaceState(null, '', `#patient/${address}`);
  } catch (e) {
    showError(e);
  }
}

byId<HTMLFormElement>('lookup').addEventListener('submit', (ev) => {
  ev.preventDefault();
  void lookup(byId<HTMLInputElement>('address').value.trim());
});

void showChain();
const linked = /^#patient\/(0x[0-9a-fA-F]{40})$/.exec(location.hash);
if (linked?.[1]) {
  byId<HTMLInputElement>('address').value = linked[1];
  void lookup(linked[1]);
}
