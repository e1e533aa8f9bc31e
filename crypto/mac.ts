// ISO/IEC 9797-1 MAC algorithm 1 (CBC-MAC) and MAC algorithm 3 (the "retail MAC", ANSI X9.19).
// Returns the whole last block; protocols truncate (GP SCP02 keeps 8 bytes, PBOC 4).
// CBC-MAC is only safe for messages whose length is fixed or framed by the protocol; card
// protocols frame it with the APDU header and Lc, which is why they get away with it.
import { abytes, xor } from '../bytes/index.js';
import { blockCipher, isBlockAlg, type BlockAlg } from './block.js';
import { pad, type PaddingMethod } from './padding.js';

export interface Mac9797Options {
  /** Algorithm 1: any block cipher. Algorithm 3: 'des' or 'des3' (both mean single DES with K ‖ K′). */
  alg: BlockAlg;
  algorithm: 1 | 3;
  padding: PaddingMethod;
  /** Algorithm 1: a key for `alg`. Algorithm 3: 16 bytes, K ‖ K′. */
  key: Uint8Array;
  data: Uint8Array;
  /** Initial chaining value, one block; zeros when absent. */
  iv?: Uint8Array;
}

const DES = blockCipher('des');
const DES3 = blockCipher('des3');

export function mac9797(opts: Mac9797Options): Uint8Array {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('mac9797: expected an options object');
  const { alg, algorithm, padding, key, data, iv } = opts;
  if (typeof alg !== 'string' || !isBlockAlg(alg)) {
    throw new RangeError(`mac9797: unknown cipher '${String(alg)}' (expected des, des3, aes or sm4)`);
  }
  if (algorithm !== 1 && algorithm !== 3) throw new RangeError(`mac9797: algorithm must be 1 or 3, got ${String(algorithm)}`);
  if (padding !== 1 && padding !== 2) throw new RangeError(`mac9797: padding must be 1 or 2, got ${String(padding)}`);
  abytes(data, 'mac9797: data');

  if (algorithm === 1) {
    const c = blockCipher(alg);
    abytes(key, 'mac9797: key', ...c.keyLengths);
    const chain = checkIv(iv, c.blockSize);
    const out = c.encryptCbc(key, chain, pad(data, padding, c.blockSize));
    return out.slice(out.length - c.blockSize);
  }

  // Algorithm 3 is defined over a 64-bit cipher with two keys; with AES or SM4 it is not a thing.
  if (alg !== 'des' && alg !== 'des3') {
    throw new RangeError(`mac9797: algorithm 3 is defined for des/des3 (single DES with K ‖ K′), not ${alg}`);
  }
  abytes(key, 'mac9797: algorithm 3 key (K ‖ K′)', 16);
  const chain = checkIv(iv, 8);
  const padded = pad(data, padding, 8);
  const lastStart = padded.length - 8;
  // Single-DES CBC under K over all blocks but the last, then the last CBC step and output
  // transformation 3 (ISO 9797-1 §7.3, G = E_K(D_K′(H))) together: E_K(D_K′(E_K(x))) is two-key
  // 3DES-EDE under K ‖ K′, so the whole MAC costs two cipher calls instead of three.
  const prev = lastStart === 0 ? chain : DES.encryptCbc(key.subarray(0, 8), chain, padded.subarray(0, lastStart)).subarray(lastStart - 8);
  return DES3.encryptEcb(key, xor(padded.subarray(lastStart), prev));
}

function checkIv(iv: Uint8Array | undefined, blockSize: number): Uint8Array {
  if (iv === undefined) return new Uint8Array(blockSize);
  return abytes(iv, 'mac9797: iv', blockSize);
}

/** ISO 9797-1 algorithm 3 with padding method 2 and single DES under K ‖ K′: the MAC most cards call "3DES MAC". */
export function retailMac(key16: Uint8Array, data: Uint8Array, iv?: Uint8Array): Uint8Array {
  return mac9797({ alg: 'des3', algorithm: 3, padding: 2, key: key16, data, iv });
}
