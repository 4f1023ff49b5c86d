// Bytes and hex, as crates/crypto writes them: lowercase hex, with or without 0x.

/** Bytes from hex (with or without a 0x prefix); throws on odd length or a non-hex digit. */
export function fromHex(hex: string): Uint8Array {
  const s = hex.startsWith('0x') ? hex.slice(2) : hex;
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new Error(`not hex: ${hex.length > 20 ? `${hex.slice(0, 20)}…` : hex}`);
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Lowercase hex without a prefix. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** `0x`-prefixed lowercase hex. */
export function to0x(bytes: Uint8Array): `0x${string}` {
  return `0x${toHex(bytes)}`;
}

/** The concatenation of `parts`. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Checks that `bytes` is exactly `len` bytes long. */
export function exact(bytes: Uint8Array, len: number, what: string): Uint8Array {
  if (bytes.length !== len) throw new Error(`${what} is ${bytes.length} bytes, not ${len}`);
  return bytes;
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
