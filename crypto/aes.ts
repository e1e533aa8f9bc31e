// AES-128/192/256 (FIPS 197): ECB and CBC, no padding, on @noble/ciphers. bench/crypto.ts measures
// it against node:crypto with interleaved rounds for the one- and two-block calls card protocols
// make; noble wins there (no native-call overhead per call), so noble it is.
import { cbc, ecb } from '@noble/ciphers/aes.js';
import { abytes } from '../bytes/index.js';

export const AES_BLOCK = 16;

function check(key: Uint8Array, data: Uint8Array, iv?: Uint8Array): void {
  abytes(key, 'aes: key', 16, 24, 32);
  abytes(data, 'aes: data');
  if (data.length % AES_BLOCK !== 0) throw new RangeError(`aes: data length ${data.length} is not a multiple of 16`);
  if (iv !== undefined) abytes(iv, 'aes: iv', 16);
}

const NO_PADDING = { disablePadding: true } as const;

export function aesEncryptEcb(key: Uint8Array, data: Uint8Array): Uint8Array {
  check(key, data);
  return ecb(key, NO_PADDING).encrypt(data);
}

export function aesDecryptEcb(key: Uint8Array, data: Uint8Array): Uint8Array {
  check(key, data);
  return ecb(key, NO_PADDING).decrypt(data);
}

export function aesEncryptCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  check(key, data, iv);
  return cbc(key, iv, NO_PADDING).encrypt(data);
}

export function aesDecryptCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  check(key, data, iv);
  return cbc(key, iv, NO_PADDING).decrypt(data);
}
