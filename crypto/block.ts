// One door to every block cipher, so MACs, diversification and secure channels can be written
// once and run over DES/3DES, AES or SM4 as the card in front of them requires.
import { aesDecryptCbc, aesDecryptEcb, aesEncryptCbc, aesEncryptEcb } from './aes.js';
import { des3DecryptCbc, des3DecryptEcb, des3EncryptCbc, des3EncryptEcb } from './des3.js';
import { sm4DecryptCbc, sm4DecryptEcb, sm4EncryptCbc, sm4EncryptEcb } from './sm4.js';

/** `des` is single DES (8-byte key) and exists for ISO 9797-1 MAC algorithm 3 only. */
export type BlockAlg = 'des' | 'des3' | 'aes' | 'sm4';
export const BLOCK_ALGS: readonly BlockAlg[] = ['des', 'des3', 'aes', 'sm4'];
export type BlockMode = 'ecb' | 'cbc';

export interface BlockCipher {
  readonly alg: BlockAlg;
  readonly blockSize: 8 | 16;
  readonly keyLengths: readonly number[];
  encryptEcb(key: Uint8Array, data: Uint8Array): Uint8Array;
  decryptEcb(key: Uint8Array, data: Uint8Array): Uint8Array;
  encryptCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array;
  decryptCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array;
}

function keyCheck(alg: BlockAlg, lengths: readonly number[]) {
  return (key: Uint8Array): void => {
    if (!(key instanceof Uint8Array)) throw new TypeError(`${alg}: key must be a Uint8Array`);
    if (!lengths.includes(key.length)) {
      throw new RangeError(`${alg}: key must be ${lengths.join(', ').replace(/, (\d+)$/, ' or $1')} bytes, got ${key.length}`);
    }
  };
}

function cipher(alg: BlockAlg, blockSize: 8 | 16, keyLengths: number[], f: Omit<BlockCipher, 'alg' | 'blockSize' | 'keyLengths'>): BlockCipher {
  const check = keyCheck(alg, keyLengths);
  return {
    alg,
    blockSize,
    keyLengths,
    encryptEcb: (k, d) => (check(k), f.encryptEcb(k, d)),
    decryptEcb: (k, d) => (check(k), f.decryptEcb(k, d)),
    encryptCbc: (k, iv, d) => (check(k), f.encryptCbc(k, iv, d)),
    decryptCbc: (k, iv, d) => (check(k), f.decryptCbc(k, iv, d)),
  };
}

const des3Ops = { encryptEcb: des3EncryptEcb, decryptEcb: des3DecryptEcb, encryptCbc: des3EncryptCbc, decryptCbc: des3DecryptCbc };

const CIPHERS: Record<BlockAlg, BlockCipher> = {
  des: cipher('des', 8, [8], des3Ops),
  des3: cipher('des3', 8, [16, 24], des3Ops),
  aes: cipher('aes', 16, [16, 24, 32], { encryptEcb: aesEncryptEcb, decryptEcb: aesDecryptEcb, encryptCbc: aesEncryptCbc, decryptCbc: aesDecryptCbc }),
  sm4: cipher('sm4', 16, [16], { encryptEcb: sm4EncryptEcb, decryptEcb: sm4DecryptEcb, encryptCbc: sm4EncryptCbc, decryptCbc: sm4DecryptCbc }),
};

export function blockCipher(alg: BlockAlg): BlockCipher {
  const c = CIPHERS[alg];
  if (!c) throw new RangeError(`crypto: unknown block cipher '${String(alg)}' (expected ${BLOCK_ALGS.join(', ')})`);
  return c;
}

export function isBlockAlg(value: string): value is BlockAlg {
  return (BLOCK_ALGS as readonly string[]).includes(value);
}

/** Encrypts or decrypts whole blocks; CBC needs `iv` (defaults to zeros, as card protocols mostly use). */
export function crypt(alg: BlockAlg, mode: BlockMode, direction: 'encrypt' | 'decrypt', key: Uint8Array, data: Uint8Array, iv?: Uint8Array): Uint8Array {
  const c = blockCipher(alg);
  if (mode === 'ecb') return direction === 'encrypt' ? c.encryptEcb(key, data) : c.decryptEcb(key, data);
  const v = iv ?? new Uint8Array(c.blockSize);
  return direction === 'encrypt' ? c.encryptCbc(key, v, data) : c.decryptCbc(key, v, data);
}
