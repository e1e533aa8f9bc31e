// NIST SP 800-108 KDF in counter mode with CMAC as the PRF, and its GlobalPlatform SCP03 form
// (GP Card Specification 2.3 Amendment D §6.2.2.2). One counter-mode engine serves both SCP03
// session keys and the `kdf3` card-key diversification (crypto/diversify.ts), which differ only
// in what goes before and after the counter byte.
import { abytes, concat, uintBE } from '../bytes/index.js';
import { blockCipher, isBlockAlg, type BlockAlg } from './block.js';
import { cmac } from './cmac.js';

/**
 * Output = first `bytes` bytes of CMAC(K, prefix ‖ i ‖ suffix) for i = 1, 2, … (1-byte counter,
 * so at most 255 blocks). This is the shape of BouncyCastle's KDFCounterBytesGenerator with
 * r = 8, which GlobalPlatformPro drives in GPCrypto.scp03_kdf(key, a, b, bytes).
 */
export function cmacCounterKdf(alg: BlockAlg, key: Uint8Array, prefix: Uint8Array, suffix: Uint8Array, bytes: number): Uint8Array {
  if (typeof alg !== 'string' || !isBlockAlg(alg)) {
    throw new RangeError(`kdf: unknown cipher '${String(alg)}' (expected des, des3, aes or sm4)`);
  }
  const c = blockCipher(alg);
  abytes(key, 'kdf: key', ...c.keyLengths);
  abytes(prefix, 'kdf: fixed data before the counter');
  abytes(suffix, 'kdf: fixed data after the counter');
  const blocks = Math.ceil(bytes / c.blockSize);
  if (!Number.isInteger(bytes) || bytes < 1 || blocks > 255) {
    throw new RangeError(`kdf: output length must be 1 to ${255 * c.blockSize} bytes (one-byte counter), got ${String(bytes)}`);
  }
  const out = new Uint8Array(blocks * c.blockSize);
  for (let i = 1; i <= blocks; i++) {
    out.set(cmac(alg, key, concat(prefix, Uint8Array.of(i), suffix)), (i - 1) * c.blockSize);
  }
  return out.slice(0, bytes);
}

/**
 * SCP03 KDF: derivation data = label (11 × 00 ‖ constant) ‖ 00 ‖ L (2 bytes, bits) ‖ i ‖ context,
 * PRF = AES-CMAC under `key`. Constants: 00 card cryptogram, 01 host cryptogram, 02 card challenge,
 * 04 S-ENC, 06 S-MAC, 07 S-RMAC. Context = host challenge ‖ card challenge for session keys.
 */
export function scp03Kdf(key: Uint8Array, constant: number, context: Uint8Array, bits: number): Uint8Array {
  abytes(key, 'scp03Kdf: key', 16, 24, 32);
  abytes(context, 'scp03Kdf: context');
  if (typeof constant !== 'number' || !Number.isInteger(constant) || constant < 0 || constant > 0xff) {
    throw new RangeError(`scp03Kdf: derivation constant must be one byte (0-255), got ${String(constant)}`);
  }
  // SCP03 only asks for whole bytes (64-bit cryptograms, 128-256-bit keys); the one-byte counter
  // caps the output at 255 AES blocks, which also keeps L within its two bytes.
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 8 || bits % 8 !== 0 || bits > 255 * 128) {
    throw new RangeError(`scp03Kdf: output length must be a multiple of 8 bits from 8 to ${255 * 128}, got ${String(bits)}`);
  }
  const prefix = concat(new Uint8Array(11), Uint8Array.of(constant, 0x00), uintBE(bits, 2));
  return cmacCounterKdf('aes', key, prefix, context, bits / 8);
}
