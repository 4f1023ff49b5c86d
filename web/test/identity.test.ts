// The identity kept in the browser: encrypted keystores, unlocked per session; the patient's own
// record copies encrypted under a key derived from the secret key.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  type KeyValue,
  createIdentity,
  forgetIdentity,
  importIdentity,
  loadOwned,
  saveOwned,
  storedIdentities,
  unlockIdentity,
} from '../src/app/identity.ts';
import { parseBudget } from '../src/app/patient.ts';
import { EPSILON_INFINITE } from '../src/app/audit.ts';

const memory = (): KeyValue & { all: Map<string, string> } => {
  const all = new Map<string, string>();
  return { all, getItem: (k) => all.get(k) ?? null, setItem: (k, v) => void all.set(k, v), removeItem: (k) => void all.delete(k) };
};

describe('an identity in the browser', () => {
  it('is kept only as an encrypted keystore and opens with its password', async () => {
    const store = memory();
    const u = await createIdentity(store, 'correct horse', 'light');
    const kept = [...store.all.values()].join('');
    expect(kept).not.toContain(u.sk.slice(2));
    expect(storedIdentities(store).map((i) => i.address)).toEqual([u.address]);
    expect((await unlockIdentity(store, u.address, 'correct horse')).sk).toBe(u.sk);
    await expect(unlockIdentity(store, u.address, 'wrong password')).rejects.toThrow();
    await expect(createIdentity(store, 'short')).rejects.toThrow(/8 characters/);
    forgetIdentity(store, u.address);
    expect(storedIdentities(store)).toEqual([]);
  });

  it('imports a keystore written by `medshare key new`', async () => {
    const text = readFileSync(new URL('../../crates/crypto/testdata/keystore-rust-light.json', import.meta.url), 'utf8');
    const store = memory();
    await expect(importIdentity(store, text, 'not the password')).rejects.toThrow();
    expect(storedIdentities(store)).toEqual([]);
    const u = await importIdentity(store, text, 'correct horse battery staple');
    expect(u.address.toLowerCase()).toBe('0xa327ad4281c5e0ecd1f54292e647954a6f1cd877');
    expect(storedIdentities(store)[0]!.keystore).toBe(text);
  });

  it("keeps the patient's record copies encrypted, readable only with the key", async () => {
    const store = memory();
    const u = await createIdentity(store, 'correct horse', 'light');
    const other = await createIdentity(store, 'correct horse', 'light');
    const owned = [{ pad: '0x02abcdef', signature: '0x01', dataTypeName: 'x', record: { ciphertextHash: '0x33' } }] as never;
    await saveOwned(store, u, owned);
    expect([...store.all.values()].join('')).not.toContain('02abcdef');
    expect(await loadOwned(store, u)).toEqual(owned);
    expect(await loadOwned(store, other)).toEqual([]);
  });

  it('reads a privacy budget as `--epsilon-budget` does', () => {
    expect(parseBudget('3')).toBe(3000);
    expect(parseBudget('0.5')).toBe(500);
    expect(parseBudget('inf')).toBe(EPSILON_INFINITE);
    expect(() => parseBudget('-1')).toThrow(/positive multiple/);
    expect(() => parseBudget('0.0001')).toThrow(/positive multiple/);
    expect(() => parseBudget('three')).toThrow(/positive multiple/);
  });
});
