// Packed BCD as in EMV Book 3 Annex B: format 'n' (right-aligned, 0 on the left) and 'cn'
// (left-aligned, F on the right), which LD/T 32 social security cards use as well.
import { abytes } from '../bytes/index.js';
import { checkInt, checkString, hex2 } from './internal.js';
import { Iso7816Error } from './errors.js';

export interface BcdOptions {
  /** Output size in bytes. Default: just enough bytes for the digits. */
  length?: number | undefined;
  /**
   * Where padding nibbles go: 'left' puts 0s before the digits (format 'n', numbers and
   * amounts; the default), 'right' puts Fs after them (format 'cn').
   */
  pad?: 'left' | 'right' | undefined;
}

/** `encodeBcd('123456')` → 12 34 56; `encodeBcd('123')` → 01 23. */
export function encodeBcd(digits: string, options: BcdOptions = {}): Uint8Array {
  const values = digitValues(checkString(digits, 'encodeBcd'), 'bcd');
  const pad = options.pad ?? 'left';
  if (pad !== 'left' && pad !== 'right') throw new RangeError(`encodeBcd: pad must be 'left' or 'right', got ${String(pad)}`);
  const size = options.length === undefined ? Math.ceil(values.length / 2) : checkInt(options.length, 'encodeBcd: length', 0, 0xffff);
  if (values.length > size * 2) {
    throw new Iso7816Error(`bcd: ${values.length} digits do not fit in ${size} bytes; the digit at position ${size * 2} is the first that does not`, size * 2);
  }
  const fill = new Array<number>(size * 2 - values.length).fill(pad === 'left' ? 0 : 0xf);
  return packNibbles(pad === 'left' ? [...fill, ...values] : [...values, ...fill]);
}

/** Every nibble must be a decimal digit; leading zeros are kept (`00 12` → '0012'). */
export function decodeBcd(bytes: Uint8Array): string {
  abytes(bytes, 'decodeBcd');
  return bcdDigits(bytes, 'bcd');
}

/** Format 'cn': digits, right-padded with F nibbles to `length` bytes. */
export function encodeCn(digits: string, length: number): Uint8Array {
  checkInt(length, 'encodeCn: length', 0, 0xffff);
  return encodeBcd(digits, { length, pad: 'right' });
}

/**
 * Digits up to the first F nibble. Everything after that F must be F too: a digit after the
 * padding means the field was mis-written, and silently dropping it would hide that.
 */
export function decodeCn(bytes: Uint8Array): string {
  abytes(bytes, 'decodeCn');
  let out = '';
  let padded = false;
  for (let k = 0; k < bytes.length * 2; k++) {
    const nibble = k % 2 === 0 ? bytes[k >> 1]! >> 4 : bytes[k >> 1]! & 0xf;
    if (padded) {
      if (nibble !== 0xf) throw nibbleError('cn', bytes, k, 'follows the F padding');
    } else if (nibble === 0xf) {
      padded = true;
    } else if (nibble > 9) {
      throw nibbleError('cn', bytes, k, 'is neither a digit nor F padding');
    } else {
      out += String(nibble);
    }
  }
  return out;
}

/** Digits of packed BCD bytes, for the date codec too (`what` names the caller in messages). */
export function bcdDigits(bytes: Uint8Array, what: string): string {
  let out = '';
  for (let k = 0; k < bytes.length * 2; k++) {
    const nibble = k % 2 === 0 ? bytes[k >> 1]! >> 4 : bytes[k >> 1]! & 0xf;
    if (nibble > 9) throw nibbleError(what, bytes, k, 'is not a decimal digit');
    out += String(nibble);
  }
  return out;
}

/** Values of a digit string; a non-digit is reported with its character position. */
function digitValues(text: string, what: string): number[] {
  const chars = Array.from(text);
  return chars.map((ch, k) => {
    const v = ch.charCodeAt(0) - 0x30;
    if (ch.length !== 1 || v < 0 || v > 9) throw new Iso7816Error(`${what}: '${ch}' at position ${k} is not a digit`, k);
    return v;
  });
}

function packNibbles(nibbles: number[]): Uint8Array {
  const out = new Uint8Array(nibbles.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (nibbles[2 * i]! << 4) | nibbles[2 * i + 1]!;
  return out;
}

function nibbleError(what: string, bytes: Uint8Array, nibbleIndex: number, problem: string): Iso7816Error {
  const offset = nibbleIndex >> 1;
  const half = nibbleIndex % 2 === 0 ? 'high' : 'low';
  const nibble = half === 'high' ? bytes[offset]! >> 4 : bytes[offset]! & 0xf;
  return new Iso7816Error(
    `${what}: ${half} nibble ${nibble.toString(16).toUpperCase()} of byte ${hex2(bytes[offset]!)} at offset ${offset} ${problem}`,
    offset,
  );
}
