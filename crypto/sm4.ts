// SM4 block cipher (GB/T 32907-2016): ECB and CBC, no padding, through Node's OpenSSL.
// Measured against the alternatives in bench/crypto.ts; noble has no SM4.
import { abytes } from '../bytes/index.js';
import { opensslCrypt } from './node-cipher.js';

export const SM4_BLOCK = 16;

function check(key: Uint8Array, data: Uint8Array, iv?: Uint8Array): void {
  abytes(key, 'sm4: key', 16);
  abytes(data, 'sm4: data');
  if (data.length % SM4_BLOCK !== 0) throw new RangeError(`sm4: data length ${data.length} is not a multiple of 16`);
  if (iv !== undefined) abytes(iv, 'sm4: iv', 16);
}

export function sm4EncryptEcb(key: Uint8Array, data: Uint8Array): Uint8Array {
  check(key, data);
  return opensslCrypt('sm4-ecb', key, null, data, true);
}

export function sm4DecryptEcb(key: Uint8Array, data: Uint8Array): Uint8Array {
  check(key, data);
  return opensslCrypt('sm4-ecb', key, null, data, false);
}

export function sm4EncryptCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  check(key, data, iv);
  return opensslCrypt('sm4-cbc', key, iv, data, true);
}

export function sm4DecryptCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  check(key, data, iv);
  return opensslCrypt('sm4-cbc', key, iv, data, false);
}
