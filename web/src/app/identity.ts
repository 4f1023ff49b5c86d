// The user's identity in this browser: Ethereum keystore v3 files (src/crypto/keystore.ts) kept in
// localStorage, encrypted under the user's password; a key is unlocked for this page's session
// only (held in memory, gone on reload) and never sent anywhere. The patient's own copies of its
// records (TD_i, US_i and the pads r_C·PK_C it releases with consent) are kept here too,
// encrypted under a key derived from the secret key.

import { hkdf } from '@noble/hashes/hkdf';
import { sha256 } from '@noble/hashes/sha2';
import { secp256k1 } from '@noble/curves/secp256k1';
import type { Address, Hex } from 'viem';
import { getAddress } from 'viem';
import { fromHex, to0x, toHex, utf8 } from '../crypto/bytes.ts';
import { addressOf, decryptKeystore, encryptKeystore, type KdfCost } from '../crypto/keystore.ts';

/** What localStorage-like storage the module uses (a Map in tests). */
export interface KeyValue {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const IDENTITIES = 'medshare.identities.v1';

export interface StoredIdentity {
  address: Address;
  keystore: string;
}

export function storedIdentities(store: KeyValue): StoredIdentity[] {
  try {
    const parsed = JSON.parse(store.getItem(IDENTITIES) ?? '[]') as StoredIdentity[];
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

function saveIdentity(store: KeyValue, address: Address, keystore: string): void {
  const list = storedIdentities(store).filter((i) => i.address.toLowerCase() !== address.toLowerCase());
  list.push({ address, keystore });
  store.setItem(IDENTITIES, JSON.stringify(list));
}

export function forgetIdentity(store: KeyValue, address: Address): void {
  store.setItem(IDENTITIES, JSON.stringify(storedIdentities(store).filter((i) => i.address.toLowerCase() !== address.toLowerCase())));
}

/** An unlocked identity: the key, for this session only. */
export interface Unlocked {
  address: Address;
  sk: Hex;
  /** The 64-byte uncompressed public key (without the 0x04 prefix), as Registration takes it. */
  publicKey: Hex;
}

export function unlockedOf(sk: Uint8Array): Unlocked {
  return {
    address: getAddress(`0x${addressOf(sk)}`),
    sk: to0x(sk),
    publicKey: to0x(secp256k1.getPublicKey(sk, false).subarray(1)),
  };
}

/** A fresh key, stored encrypted under `password`. */
export async function createIdentity(store: KeyValue, password: string, cost: KdfCost = 'standard'): Promise<Unlocked> {
  if (password.length < 8) throw new Error('choose a password of at least 8 characters');
  const sk = secp256k1.utils.randomPrivateKey();
  const keystore = await encryptKeystore(sk, password, cost);
  const u = unlockedOf(sk);
  saveIdentity(store, u.address, keystore);
  return u;
}

/** A keystore v3 file (from `medshare key new` or another wallet), opened with its password
 * (a wrong password is refused) and stored as it is. */
export async function importIdentity(store: KeyValue, keystore: string, password: string): Promise<Unlocked> {
  const sk = await decryptKeystore(keystore, password);
  const u = unlockedOf(sk);
  saveIdentity(store, u.address, keystore);
  return u;
}

/** Opens a stored identity with its password. */
export async function unlockIdentity(store: KeyValue, address: Address, password: string): Promise<Unlocked> {
  const found = storedIdentities(store).find((i) => i.address.toLowerCase() === address.toLowerCase());
  if (!found) throw new Error(`no key for ${address} is kept in this browser`);
  return unlockedOf(await decryptKeystore(found.keystore, password));
}

// ---- the patient's own copies of its records ----

/** A record as its owner keeps it (OwnedRecord of crates/parties/src/user.rs). */
export interface OwnedRecord {
  /** TD_i, with its timestamp as a decimal string. */
  record: {
    owner: Address;
    recordId: Hex;
    dataType: Hex;
    storageIndex: Hex;
    ciphertextHash: Hex;
    timestamp: string;
    cm: Hex;
    rUg: Hex;
    padCommitment: Hex;
    tee: Address;
  };
  /** US_i. */
  signature: Hex;
  /** r_C·PK_C: released only with consent. */
  pad: Hex;
  /** The data type's name. */
  dataTypeName: string;
}

const ownedKey = (address: Address): string => `medshare.owned.v1.${address.toLowerCase()}`;

async function vaultKey(u: Unlocked, usage: KeyUsage): Promise<CryptoKey> {
  const raw = hkdf(sha256, fromHex(u.sk), utf8(u.address.toLowerCase()), utf8('medshare/v1/browser-vault'), 32);
  return crypto.subtle.importKey('raw', new Uint8Array(raw), 'AES-GCM', false, [usage]);
}

/** The owner's records kept in this browser. */
export async function loadOwned(store: KeyValue, u: Unlocked): Promise<OwnedRecord[]> {
  const text = store.getItem(ownedKey(u.address));
  if (!text) return [];
  const { iv, data } = JSON.parse(text) as { iv: string; data: string };
  const plain = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: new Uint8Array(fromHex(iv)) },
    await vaultKey(u, 'decrypt'),
    new Uint8Array(fromHex(data)),
  );
  return JSON.parse(new TextDecoder().decode(plain)) as OwnedRecord[];
}

/** Keeps `records` (all of them, replacing what was kept). */
export async function saveOwned(store: KeyValue, u: Unlocked, records: OwnedRecord[]): Promise<void> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, await vaultKey(u, 'encrypt'), new Uint8Array(utf8(JSON.stringify(records))));
  store.setItem(ownedKey(u.address), JSON.stringify({ iv: toHex(iv), data: toHex(new Uint8Array(data)) }));
}

/** A downloadable keystore file name, as geth names them. */
export function keystoreFileName(address: Address): string {
  return `medshare-keystore-${address.toLowerCase()}.json`;
}
