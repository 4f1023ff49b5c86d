// Keystore v3 files cross between the browser and medshare: one written by `medshare key new`
// (crates/crypto, Rust) opens here, and one written here opens in Rust
// (crates/crypto/tests/keystore.rs::a_keystore_written_by_the_browser_code_opens).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { addressOf, decryptKeystore, encryptKeystore } from '../src/crypto/index.ts';

const PASSWORD = 'correct horse battery staple';
const fixture = (name: string) => readFileSync(new URL(`../../crates/crypto/testdata/${name}`, import.meta.url), 'utf8');
const fromRust = fixture('keystore-rust-light.json');

describe('keystore v3', () => {
  it('opens the keystore medshare wrote', async () => {
    const sk = await decryptKeystore(fromRust, PASSWORD);
    expect(addressOf(sk)).toBe('a327ad4281c5e0ecd1f54292e647954a6f1cd877');
  });

  it('opens its own fixture, which Rust opens too', async () => {
    const sk = await decryptKeystore(fixture('keystore-browser-light.json'), PASSWORD);
    expect(addressOf(sk)).toBe('8e462b237c288aa7842393b44f2909eabdb84ac6');
  });

  it('writes a keystore that opens with the password only', async () => {
    const sk = crypto.getRandomValues(new Uint8Array(32));
    const text = await encryptKeystore(sk, PASSWORD, 'light');
    expect(JSON.parse(text).crypto.kdfparams).toMatchObject({ n: 4096, r: 8, p: 6, dklen: 32 });
    expect(Array.from(await decryptKeystore(text, PASSWORD))).toEqual(Array.from(sk));
    await expect(decryptKeystore(text, 'not the password')).rejects.toThrow(/wrong password/);
  });

  it('refuses an altered or hostile file, saying why', async () => {
    const json = JSON.parse(fromRust);
    const altered = structuredClone(json);
    altered.crypto.ciphertext = `${altered.crypto.ciphertext.slice(0, -1)}${altered.crypto.ciphertext.endsWith('0') ? '1' : '0'}`;
    await expect(decryptKeystore(JSON.stringify(altered), PASSWORD)).rejects.toThrow(/MAC does not match/);
    const costly = structuredClone(json);
    costly.crypto.kdfparams.n = 2 ** 30;
    await expect(decryptKeystore(JSON.stringify(costly), PASSWORD)).rejects.toThrow(/costs more than/);
    const otherAddress = { ...json, address: '00'.repeat(20) };
    await expect(decryptKeystore(JSON.stringify(otherAddress), PASSWORD)).rejects.toThrow(/another address/);
    await expect(decryptKeystore('{"version":3}', PASSWORD)).rejects.toThrow(/crypto section/);
    await expect(decryptKeystore('not json', PASSWORD)).rejects.toThrow(/not JSON/);
  });
});
