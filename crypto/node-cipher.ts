// Raw block-mode calls into Node's OpenSSL (node:crypto), without padding: card protocols pad
// explicitly (ISO 9797-1 method 1 or 2), so the cipher layer must never add or strip bytes.
import { createCipheriv, createDecipheriv } from 'node:crypto';

export function opensslCrypt(name: string, key: Uint8Array, iv: Uint8Array | null, data: Uint8Array, encrypt: boolean): Uint8Array {
  const c = encrypt ? createCipheriv(name, key, iv) : createDecipheriv(name, key, iv);
  c.setAutoPadding(false);
  const out = c.update(data);
  // final() is empty without padding when the length is a whole number of blocks (checked by callers).
  c.final();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
