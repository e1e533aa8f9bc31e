// SM3 hash (GB/T 32905-2016), 32-byte digest, through Node's OpenSSL (noble has no SM3).
import { createHash } from 'node:crypto';
import { abytes } from '../bytes/index.js';

export const SM3_LENGTH = 32;

export function sm3(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sm3');
  for (const p of parts) h.update(abytes(p, 'sm3: data'));
  const d = h.digest();
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}
