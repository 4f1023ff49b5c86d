// DOM helpers of the pages: everything from the API goes in as text (textContent), never as
// HTML; every control has a label; every error is shown in words in a role="alert" box.

import { ApiError } from './api.ts';

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

export function byId<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page lacks #${id}`);
  return e as T;
}

let ids = 0;
/** A fresh element id. */
export const freshId = (prefix: string): string => `${prefix}-${++ids}`;

/** A labelled control: a wrapper with the label, the control and an optional help text. */
export function field<T extends HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(
  label: string,
  control: T,
  help?: string,
): { wrap: HTMLDivElement; control: T } {
  const wrap = el('div', undefined, 'field');
  control.id ||= freshId('f');
  const l = el('label', label);
  l.htmlFor = control.id;
  wrap.append(l, control);
  if (help) {
    const h = el('span', help, 'help');
    h.id = freshId('help');
    control.setAttribute('aria-describedby', h.id);
    wrap.append(h);
  }
  return { wrap, control };
}

export function input(type: string, value = '', attrs: Record<string, string> = {}): HTMLInputElement {
  const i = el('input');
  i.type = type;
  i.value = value;
  i.spellcheck = false;
  i.autocomplete = 'off';
  for (const [k, v] of Object.entries(attrs)) i.setAttribute(k, v);
  return i;
}

export function select(options: [string, string][], value?: string): HTMLSelectElement {
  const s = el('select');
  for (const [v, text] of options) {
    const o = el('option', text);
    o.value = v;
    s.append(o);
  }
  if (value !== undefined) s.value = value;
  return s;
}

export function button(text: string, onClick: () => void | Promise<void>, type: 'button' | 'submit' = 'button'): HTMLButtonElement {
  const b = el('button', text);
  b.type = type;
  if (type === 'button') b.addEventListener('click', () => void onClick());
  return b;
}

/** An error in words: the server's message and its hint. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return `${e.message}${e.hint ? ` — ${e.hint}` : ''}`;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** A status line and an alert box, for one part of a page. */
export class Feedback {
  readonly status = el('p', undefined, 'status');
  readonly alert = el('p', undefined, 'error');
  constructor() {
    this.status.setAttribute('role', 'status');
    this.status.setAttribute('aria-live', 'polite');
    this.alert.setAttribute('role', 'alert');
    this.alert.hidden = true;
  }
  nodes(): HTMLElement[] {
    return [this.status, this.alert];
  }
  say(text: string): void {
    this.status.textContent = text;
  }
  fail(e: unknown): void {
    this.alert.textContent = errorText(e);
    this.alert.hidden = false;
  }
  clear(): void {
    this.status.textContent = '';
    this.alert.textContent = '';
    this.alert.hidden = true;
  }
  /** Runs `work` with the buttons of `form` disabled, showing any error in words. */
  async run(form: HTMLElement | null, work: () => Promise<void>): Promise<void> {
    this.clear();
    const buttons = form ? [...form.querySelectorAll('button')] : [];
    for (const b of buttons) b.disabled = true;
    try {
      await work();
    } catch (e) {
      this.fail(e);
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  }
}

/** A definition list of facts, as text. */
export function facts(rows: [string, string][]): HTMLDListElement {
  const dl = el('dl');
  for (const [k, v] of rows) dl.append(el('dt', k), el('dd', v));
  return dl;
}

/** A form with a legend-like heading. */
export function form(title: string, level: 'h3' | 'h4' = 'h3'): { form: HTMLFormElement; heading: HTMLElement } {
  const f = el('form', undefined, 'panel');
  f.noValidate = true;
  const h = el(level, title);
  h.id = freshId('form-title');
  f.setAttribute('aria-labelledby', h.id);
  f.append(h);
  return { form: f, heading: h };
}
