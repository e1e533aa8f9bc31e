// Byte-array helpers shared by every layer: hex at the edges, checks at public entries,
// and the few operations (concat, xor, compare) that card protocols use everywhere.
// This folder depends on nothing but errors/, so iso7816/ and crypto/ can both build on it.
import { CardsmithError, type ErrorKind } from '../errors/index.js';

/** Raised for a string that is not valid hex; `offset` is the first bad character. */
export class HexError extends CardsmithError {
  readonly kind: ErrorKind = 'input';
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = 'HexError';
  }
}

export { clip, MAX_ECHO } from './clip.js';

const HEX_DIGITS = '0123456789ABCDEF';

/**
 * Parses hex, ignoring spaces, tabs, colons and a leading `0x` (people paste all of these).
 * Throws HexError naming the offending character for anything else or an odd digit count.
 */
export function fromHex(text: string, what = 'hex'): Uint8Array {
  if (typeof text !== 'string') throw new TypeError(`${what}: expected a hex string`);
  const skip = text.startsWith('0x') || text.startsWith('0X') ? 2 : 0;
  // Two passes over the text (count the digits, then fill): no array of digits per call.
  let n = 0;
  for (let i = skip; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isHexSeparator(c)) continue;
    if (hexValue(c) < 0) throw new HexError(`${what}: '${text[i]}' at offset ${i} is not a hex digit`, i);
    n++;
  }
  if (n % 2 !== 0) throw new HexError(`${what}: odd number of hex digits (${n})`, text.length);
  const out = new Uint8Array(n / 2);
  let high = -1;
  let k = 0;
  for (let i = skip; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isHexSeparator(c)) continue;
    const v = hexValue(c);
    if (high < 0) high = v;
    else {
      out[k++] = (high << 4) | v;
      high = -1;
    }
  }
  return out;
}

/** Space, tab, colon, LF, CR: allowed between hex digits. */
function isHexSeparator(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x3a || c === 0x0a || c === 0x0d;
}

function hexValue(c: number): number {
  return c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
}

/** Upper-case hex, the way card engineers write it; `sep` goes between bytes. */
export function toHex(bytes: Uint8Array, sep = ''): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    if (i > 0 && sep) out += sep;
    const b = bytes[i]!;
    out += HEX_DIGITS[b >> 4]! + HEX_DIGITS[b & 15]!;
  }
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== b.length) throw new RangeError(`xor: lengths differ (${a.length} and ${b.length})`);
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** Bitwise complement, as in the PBOC diversification `E(D) ‖ E(~D)`. */
export function not(a: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = ~a[i]! & 0xff;
  return out;
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Comparison whose time does not depend on where the first difference is (MACs, cryptograms). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Type and length check for a public entry point; message starts with the caller's name. */
export function abytes(value: unknown, what: string, ...lengths: number[]): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what}: expected Uint8Array, got ${describe(value)}`);
  if (lengths.length > 0 && !lengths.includes(value.length)) {
    throw new RangeError(`${what}: expected ${lengths.join(' or ')} bytes, got ${value.length}`);
  }
  return value;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Big-endian unsigned integer of `length` bytes. */
export function uintBE(value: number, length: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** (8 * length)) {
    throw new RangeError(`uintBE: ${value} does not fit in ${length} byte(s)`);
  }
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = value & 0xff;
    value = Math.floor(value / 256);
  }
  return out;
}

/** Overwrites a buffer that held a secret, so it does not linger until garbage collection. */
export function wipe(...buffers: Uint8Array[]): void {
  for (const b of buffers) b.fill(0);
}
