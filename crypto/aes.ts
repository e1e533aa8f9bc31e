// AES-128/192/256 (FIPS 197): ECB and CBC, no padding, through Node's OpenSSL. bench/crypto.ts
// measured it against @noble/ciphers for the one- and two-block calls card protocols make:
// equal for AES-128 ECB, node ahead for AES-256 and CBC, so node it is (noble still does CMAC).
import { abytes } from '../bytes/index.js';
import { opensslCrypt } from './node-cipher.js';

export const AES_BLOCK = 16;

function name(key: Uint8Array, mode: 'ecb' | 'cbc'): string {
  abytes(key, 'aes: key', 16, 24, 32);
  return `aes-${key.length * 8}-${mode}`;
}

function check(data: Uint8Array, iv?: Uint8Array): void {
  abytes(data, 'aes: data');
  if (data.length % AES_BLOCK !== 0) throw new RangeError(`aes: data length ${data.length} is not a multiple of 16`);
  if (iv !== undefined) abytes(iv, 'aes: iv', 16);
}

export function aesEncryptEcb(key: Uint8Array, data: Uint8Array): Uint8Array {
  check(data);
  return opensslCrypt(name(key, 'ecb'), key, null, data, true);
}

export function aesDecryptEcb(key: Uint8Array, data: Uint8Array): Uint8Array {
  check(data);
  return opensslCrypt(name(key, 'ecb'), key, null, data, false);
}

export function aesEncryptCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  check(data, iv);
  return opensslCrypt(name(key, 'cbc'), key, iv, data, true);
}

export function aesDecryptCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  check(data, iv);
  return opensslCrypt(name(key, 'cbc'), key, iv, data, false);
}
