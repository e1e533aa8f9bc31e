// PBOC / JR/T 0025-style line-protection MAC, as the social-security COS uses it for `04 D6`,
// `84 1E`, WRITE KEY … (the PBOC-style COS, JR/T 0025): ISO 9797-1 padding method 2, IV = card challenge ‖ zeros,
// 4-byte result. 16-byte 3DES key → MAC algorithm 3 (single DES CBC, 3DES on the last block);
// 8-byte DES key → algorithm 1 with single DES; SM4 → algorithm 1 (CBC-MAC) with a 16-byte IV.
import { abytes } from '../bytes/index.js';
import { mac9797 } from './mac.js';

export type PbocMacAlg = 'des' | 'des3' | 'sm4';

export interface PbocMacOptions {
  alg: PbocMacAlg;
  /** 'des': 8 bytes; 'des3': 16 bytes (K ‖ K′); 'sm4': 16 bytes. */
  key: Uint8Array;
  /** One block: 8 bytes for des/des3, 16 for sm4; build it with pbocIv(). */
  iv: Uint8Array;
  data: Uint8Array;
}

export const PBOC_MAC_LENGTH = 4;

export function pbocMac(opts: PbocMacOptions): Uint8Array {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('pbocMac: expected an options object');
  const { alg, key, iv, data } = opts;
  abytes(data, 'pbocMac: data');
  let full: Uint8Array;
  switch (alg) {
    case 'des':
      abytes(key, 'pbocMac: des key', 8);
      abytes(iv, 'pbocMac: des iv', 8);
      full = mac9797({ alg: 'des', algorithm: 1, padding: 2, key, data, iv });
      break;
    case 'des3':
      abytes(key, 'pbocMac: des3 key (K ‖ K′)', 16);
      abytes(iv, 'pbocMac: des3 iv', 8);
      full = mac9797({ alg: 'des3', algorithm: 3, padding: 2, key, data, iv });
      break;
    case 'sm4':
      abytes(key, 'pbocMac: sm4 key', 16);
      abytes(iv, 'pbocMac: sm4 iv', 16);
      full = mac9797({ alg: 'sm4', algorithm: 1, padding: 2, key, data, iv });
      break;
    default:
      throw new RangeError(`pbocMac: unknown cipher '${String(alg)}' (expected des, des3 or sm4)`);
  }
  return full.slice(0, PBOC_MAC_LENGTH);
}

/** The card challenge (from GET CHALLENGE, usually 4 or 8 bytes) right-padded with zeros to one block. */
export function pbocIv(challenge: Uint8Array, blockSize: 8 | 16): Uint8Array {
  abytes(challenge, 'pbocIv: challenge');
  if (blockSize !== 8 && blockSize !== 16) throw new RangeError(`pbocIv: block size must be 8 or 16, got ${String(blockSize)}`);
  if (challenge.length > blockSize) {
    throw new RangeError(`pbocIv: a ${challenge.length}-byte challenge does not fit a ${blockSize}-byte block`);
  }
  const iv = new Uint8Array(blockSize);
  iv.set(challenge);
  return iv;
}
