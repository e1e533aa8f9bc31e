// ISO/IEC 9797-1 padding methods 1 and 2 (method 2 is the ISO/IEC 7816-4 "80 00…" padding).
// The cipher layer never pads (crypto/block.ts), so every MAC and secure channel pads here, on purpose.
import { abytes } from '../bytes/index.js';
import { CardsmithError, type ErrorKind } from '../errors/index.js';

export type PaddingMethod = 1 | 2;

/** Raised when method-2 padding is missing or malformed; carries no data bytes (they may be secret). */
export class PaddingError extends CardsmithError {
  readonly kind: ErrorKind = 'operation';
  constructor(message: string) {
    super(message);
    this.name = 'PaddingError';
  }
}

function checkBlockSize(blockSize: number, what: string): void {
  if (typeof blockSize !== 'number' || !Number.isInteger(blockSize) || blockSize < 1 || blockSize > 255) {
    throw new RangeError(`${what}: block size must be an integer from 1 to 255, got ${String(blockSize)}`);
  }
}

/**
 * Method 1: zeros up to the next block boundary; nothing when the data is already aligned, but an
 * empty message still becomes one zero block (ISO 9797-1 §6.1.1), so that a MAC is over something.
 * Method 1 is ambiguous (trailing zeros of the data are indistinguishable from padding); protocols
 * that use it fix the data length elsewhere. Method 2: 0x80 then zeros, always added.
 */
export function pad(data: Uint8Array, method: PaddingMethod, blockSize: number): Uint8Array {
  abytes(data, 'padding: data');
  checkBlockSize(blockSize, 'padding');
  if (method === 1) {
    const n = data.length === 0 ? blockSize : Math.ceil(data.length / blockSize) * blockSize;
    const out = new Uint8Array(n);
    out.set(data);
    return out;
  }
  if (method === 2) {
    const out = new Uint8Array((Math.floor(data.length / blockSize) + 1) * blockSize);
    out.set(data);
    out[data.length] = 0x80;
    return out;
  }
  throw new RangeError(`padding: method must be 1 or 2, got ${String(method)}`);
}

/**
 * Strips method-2 padding: trailing zeros, then a mandatory 0x80. With `blockSize` it also checks
 * that the data is whole blocks and the padding is no longer than one block, as a receiver must.
 * Callers decrypting card data should check the MAC first: answering "bad padding" differently
 * from "bad MAC" to a peer is a padding oracle.
 */
export function unpadMethod2(data: Uint8Array, blockSize?: number): Uint8Array {
  abytes(data, 'padding: data');
  if (blockSize !== undefined) {
    checkBlockSize(blockSize, 'padding');
    if (data.length === 0 || data.length % blockSize !== 0) {
      throw new PaddingError(`padding: method-2 padded data must be a non-zero multiple of ${blockSize} bytes, got ${data.length}`);
    }
  }
  let i = data.length - 1;
  while (i >= 0 && data[i] === 0x00) i--;
  if (i < 0 || data[i] !== 0x80) {
    throw new PaddingError('padding: bad method-2 padding (no 0x80 marker before the trailing zeros)');
  }
  if (blockSize !== undefined && data.length - i > blockSize) {
    throw new PaddingError(`padding: bad method-2 padding (${data.length - i} bytes of padding exceed the ${blockSize}-byte block)`);
  }
  return data.slice(0, i);
}
