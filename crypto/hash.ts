// The hashes card work needs: SM3 for the Chinese PKI application, SHA-1 and SHA-256 for GP
// load-file hashes and DAP. All three come from Node's OpenSSL.
import { createHash } from 'node:crypto';
import { abytes } from '../bytes/index.js';

export type HashAlg = 'sm3' | 'sha1' | 'sha256';
export const HASH_ALGS: readonly HashAlg[] = ['sm3', 'sha1', 'sha256'];

export function hash(alg: HashAlg, data: Uint8Array): Uint8Array {
  if (!HASH_ALGS.includes(alg)) throw new RangeError(`hash: unknown algorithm '${String(alg)}' (expected ${HASH_ALGS.join(', ')})`);
  const d = createHash(alg).update(abytes(data, 'hash: data')).digest();
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}
