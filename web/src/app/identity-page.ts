// The identity panel shared by every party: create a key or import a keystore v3 file, kept in
// this browser only as an encrypted keystore; unlock it with its password for this session;
// export it; lock it. The key is never sent anywhere: transactions and signatures are made here.

import type { Address } from 'viem';
import { getJson } from './api.ts';
import { type Account, send } from './chain.ts';
import {
  type Unlocked,
  createIdentity,
  forgetIdentity,
  importIdentity,
  keystoreFileName,
  storedIdentities,
  unlockIdentity,
} from './identity.ts';
import { Feedback, button, el, facts, field, form, input, select } from './ui.ts';

type Listener = (u: Unlocked | undefined) => void;

let current: Unlocked | undefined;
const listeners: Listener[] = [];

/** The identity unlocked for this session, if any. */
export const session = (): Unlocked | undefined => current;

/** Calls `l` now and whenever the identity is unlocked or locked. */
export function onIdentity(l: Listener): void {
  listeners.push(l);
}

function setCurrent(u: Unlocked | undefined): void {
  current = u;
  for (const l of listeners) l(u);
}

/** The unlocked identity, or an error saying to unlock one. */
export function requireIdentity(): Unlocked {
  if (!current) throw new Error('unlock or create your key first (Identity, at the top of the page)');
  return current;
}

let rerender: () => void = () => {};

/** Reads the unlocked identity's role again (after a registration). */
export function refreshIdentity(): void {
  rerender();
}

/** Who `address` is on chain. */
export const accountOf = (address: Address): Promise<Account> => getJson<Account>(`/api/accounts/${address}`);

export function mountIdentity(root: HTMLElement): void {
  const feedback = new Feedback();
  const body = el('div');
  root.append(body, ...feedback.nodes());

  const render = (): void => {
    body.replaceChildren();
    if (current) {
      const u = current;
      const who = el('div');
      who.append(facts([['Your address', u.address], ['Your public key', u.publicKey]]));
      const roleLine = el('p', 'Reading your role on chain…');
      roleLine.setAttribute('aria-live', 'polite');
      void accountOf(u.address).then(
        (a) => {
          const roles = [a.role ? `registered as ${a.role}` : 'not registered', a.reviewer ? 'reviewer' : '', a.admin ? 'admin (governance)' : ''];
          roleLine.textContent = `On chain: ${roles.filter(Boolean).join(', ')}; next nonce ${a.nonce}.`;
        },
        (e: unknown) => feedback.fail(e),
      );
      const exportButton = button('Export my keystore file', () => {
        const stored = storedIdentities(localStorage).find((i) => i.address === u.address);
        if (!stored) return feedback.fail(new Error('this key is not kept in this browser'));
        const a = el('a');
        a.href = URL.createObjectURL(new Blob([stored.keystore], { type: 'application/json' }));
        a.download = keystoreFileName(u.address);
        a.click();
        URL.revokeObjectURL(a.href);
        feedback.say('The keystore file (encrypted under your password) was downloaded. It opens with `medshare --keystore`.');
      });
      const lock = button('Lock (forget the key until the password is given again)', () => {
        setCurrent(undefined);
        render();
      });
      body.append(who, roleLine, exportButton, lock);
      return;
    }
    const stored = storedIdentities(localStorage);
    if (stored.length > 0) {
      const { form: f } = form('Unlock a key kept in this browser');
      const which = field('Key', select(stored.map((s) => [s.address, s.address])));
      const pw = field('Password', input('password', '', { autocomplete: 'current-password' }));
      const forget = button('Remove this key from this browser', () => {
        if (!confirm(`Remove the key ${which.control.value} from this browser? Without an exported keystore file it is lost.`)) return;
        forgetIdentity(localStorage, which.control.value as Address);
        render();
      });
      f.append(which.wrap, pw.wrap, button('Unlock', () => {}, 'submit'), forget);
      f.addEventListener('submit', (ev) => {
        ev.preventDefault();
        void feedback.run(f, async () => {
          feedback.say('Opening the keystore (this takes a few seconds)…');
          setCurrent(await unlockIdentity(localStorage, which.control.value as Address, pw.control.value));
          pw.control.value = '';
          feedback.say('Unlocked for this session.');
          render();
        });
      });
      body.append(f);
    }
    const { form: c } = form('Create a new key');
    const pw1 = field('Password', input('password', '', { autocomplete: 'new-password' }), 'At least 8 characters. It encrypts the key in this browser; it is never sent.');
    const pw2 = field('Password again', input('password', '', { autocomplete: 'new-password' }));
    const light = field('Faster, weaker encryption (scrypt n = 4096: for tests only)', input('checkbox'));
    c.append(pw1.wrap, pw2.wrap, light.wrap, button('Create my key', () => {}, 'submit'));
    c.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void feedback.run(c, async () => {
        if (pw1.control.value !== pw2.control.value) throw new Error('the two passwords differ');
        feedback.say('Creating and encrypting your key…');
        setCurrent(await createIdentity(localStorage, pw1.control.value, light.control.checked ? 'light' : 'standard'));
        feedback.say('Your key was created and is kept encrypted in this browser. Export it to keep a copy.');
        render();
      });
    });
    const { form: imp } = form('Import a keystore file');
    const file = field('Keystore v3 file (from `medshare key new` or an Ethereum wallet)', input('file', '', { accept: '.json,application/json' }));
    const pw3 = field('Its password', input('password', '', { autocomplete: 'current-password' }));
    imp.append(file.wrap, pw3.wrap, button('Import', () => {}, 'submit'));
    imp.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void feedback.run(imp, async () => {
        const f = file.control.files?.[0];
        if (!f) throw new Error('choose a keystore file');
        if (f.size > 64 * 1024) throw new Error('a keystore file is a few hundred bytes; this one is over 64 KiB');
        feedback.say('Opening the keystore…');
        setCurrent(await importIdentity(localStorage, await f.text(), pw3.control.value));
        feedback.say('Imported: the keystore is kept in this browser, encrypted as it was.');
        render();
      });
    });
    body.append(c, imp);
  };
  rerender = render;
  render();
}

/**
 * The form that registers the unlocked key on chain in a role (Registration.register(role, the
 * 64-byte public key), as the command line's Patient::register and Demander::register do),
 * saying whether it is registered already. `before` ends the sentence "register once before …".
 */
export function registerForm(
  u: Unlocked,
  fb: Feedback,
  role: { code: 1 | 2; name: 'user' | 'demander'; title: string; before: string },
): HTMLElement {
  const { form: f } = form(role.title);
  const state = el('p', 'Reading…');
  const registerButton = button('Register', () => {}, 'submit');
  f.append(state, registerButton);
  void accountOf(u.address).then(
    (a) => {
      registerButton.hidden = !!a.role;
      state.textContent = a.role ? `You are registered as ${a.role}.` : `You are not registered yet: register once before ${role.before}.`;
    },
    (e: unknown) => fb.fail(e),
  );
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void fb.run(f, async () => {
      await send(u.sk, 'registration', 'register', [role.code, u.publicKey], (s) => fb.say(s));
      state.textContent = `You are registered as ${role.name}.`;
      registerButton.hidden = true;
      refreshIdentity();
    });
  });
  return f;
}
