// Key check values: 3DES and AES as GlobalPlatform Card Specification 2.3 (and Amendment D §6.2.2.x)
// define them; SM4 has no published convention, so cardsmith chooses SM4-ECB(key, 16 × 00) —
// the 3DES rule carried over to a 16-byte block — and documents it as our choice, not a standard's.
// KCVs are what logs, journals and ceremonies show instead of keys.
import { abytes, toHex } from '../bytes/index.js';
import { blockCipher } from './block.js';

export type KcvAlg = 'des3' | 'aes' | 'sm4';

export function kcv(alg: KcvAlg, key: Uint8Array, length = 3): Uint8Array {
  let check: Uint8Array;
  switch (alg) {
    case 'des3':
      // An 8-byte key is single DES; 16/24-byte keys are 3DES. All encrypt 8 × 00.
      abytes(key, 'kcv: des3 key', 8, 16, 24);
      check = blockCipher(key.length === 8 ? 'des' : 'des3').encryptEcb(key, new Uint8Array(8));
      break;
    case 'aes':
      // GP Amendment D: AES KCV is over 16 × 01, not zeros.
      abytes(key, 'kcv: aes key', 16, 24, 32);
      check = blockCipher('aes').encryptEcb(key, new Uint8Array(16).fill(0x01));
      break;
    case 'sm4':
      abytes(key, 'kcv: sm4 key', 16);
      check = blockCipher('sm4').encryptEcb(key, new Uint8Array(16));
      break;
    default:
      throw new RangeError(`kcv: unknown algorithm '${String(alg)}' (expected des3, aes or sm4)`);
  }
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 1 || length > check.length) {
    throw new RangeError(`kcv: length must be 1 to ${check.length} bytes for ${alg}, got ${String(length)}`);
  }
  return check.slice(0, length);
}

/** Upper-case hex KCV, the form people compare on ceremony sheets. */
export function kcvHex(alg: KcvAlg, key: Uint8Array, length = 3): string {
  return toHex(kcv(alg, key, length));
}
