// The provider operations on key values held in this process's memory: the file store's, and the
// lent keys' of prep's worker threads (./lent.ts), so both give the same bytes for the same key.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { cmac } from '../crypto/cmac.js';
import { diversify } from '../crypto/diversify.js';
import { KeyUsageError } from './errors.js';
import { keyKcv } from './material.js';
import type { CardKey, DeriveRequest, KeyInfo } from './types.js';

export function softwareDerive(info: KeyInfo, master: Uint8Array, requests: readonly DeriveRequest[], alg: CardKey['alg']): CardKey[] {
  return requests.map((r) => {
    const value = diversify({ method: r.method, master, data: r.data, ...(r.keyType ? { keyType: r.keyType } : {}), ...(r.method === 'pboc' ? { alg: info.alg as 'des3' | 'sm4' } : {}) });
    return { alg, value, kcv: keyKcv(alg, value) };
  });
}

export function softwareMac(info: KeyInfo, key: Uint8Array, data: Uint8Array): Uint8Array {
  if (info.alg === 'sm2') throw new KeyUsageError('keys: SM2 keys do not MAC');
  return cmac(info.alg, key, data);
}

/** AES-256-GCM through OpenSSL: ciphertext ‖ 16-byte tag out, the same in for decryption. */
export function softwareGcm(key: Uint8Array, direction: 'encrypt' | 'decrypt', iv: Uint8Array, data: Uint8Array, aad: Uint8Array): Uint8Array {
  if (direction === 'encrypt') {
    const c = createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(aad);
    return new Uint8Array(Buffer.concat([c.update(data), c.final(), c.getAuthTag()]));
  }
  const d = createDecipheriv('aes-256-gcm', key, iv);
  d.setAAD(aad);
  d.setAuthTag(data.subarray(data.length - 16));
  return new Uint8Array(Buffer.concat([d.update(data.subarray(0, data.length - 16)), d.final()]));
}
