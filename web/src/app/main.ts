// The patient page: the audit trail of an address. Data from the API is put in the page as text
// (never as HTML), and every error the API returns is shown in words.

import { ApiError, getAll, getJson } from './api.ts';
import { type AuditEntry, type RecordView, isAddress, timeline } from './audit.ts';
import { mountDemander } from './demander.ts';
import { mountGovernance } from './governance.ts';
import { mountIdentity, session } from './identity-page.ts';
import { mountPatient } from './patient.ts';
import { mountReviewer } from './reviewer.ts';
import { byId, el } from './ui.ts';
import './style.css';

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

// One section per party, chosen by the hash: #patient (or #patient/0x… for an audit trail),
// #demander, #reviewer, #governance. The identity panel is shown above every party's section.
const PARTIES = ['patient', 'demander', 'reviewer', 'governance'] as const;

function route(): void {
  const m = /^#(patient|demander|reviewer|governance)(?:\/(0x[0-9a-fA-F]{40}))?$/.exec(location.hash);
  const party = m?.[1] ?? 'patient';
  for (const p of PARTIES) byId(p).hidden = p !== party;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
    if (a.getAttribute('href') === `#${party}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (party === 'patient' && m?.[2]) {
    byId<HTMLInputElement>('address').value = m[2];
    void lookup(m[2]);
  }
}

mountIdentity(byId('identity-body'));
mountPatient(byId('patient-actions'), () => {
  const u = session();
  if (u) {
    byId<HTMLInputElement>('address').value = u.address;
    void lookup(u.address);
  }
});
mountDemander(byId('demander-body'));
mountReviewer(byId('reviewer-body'));
mountGovernance(byId('governance-body'));
window.addEventListener('hashchange', route);
void showChain();
route();
