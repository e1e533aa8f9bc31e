// Text fields of LD/T 32 social security cards: 'an' (ASCII, 00-padded) and GBK (GB 2312
// extended, CP936 as implemented by iconv-lite), padded with 00 or FF.
import iconv from 'iconv-lite';
import { abytes, concat } from '../bytes/index.js';
import { checkInt, checkString, hex2 } from './internal.js';
import { Iso7816Error } from './errors.js';

/**
 * Printable ASCII (20–7E), right-padded with 00 to `length` bytes (default: no padding).
 * Cards label these fields 'an' although they hold '.', '-' and spaces too (spec version "3.00").
 */
export function encodeAn(text: string, length?: number): Uint8Array {
  const chars = Array.from(checkString(text, 'encodeAn'));
  const size = length === undefined ? chars.length : checkInt(length, 'encodeAn: length', 0, 0xffff);
  const out = new Uint8Array(size);
  chars.forEach((ch, k) => {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || c > 0x7e) throw new Iso7816Error(`an: character ${quote(ch)} at position ${k} is not printable ASCII`, k);
    if (k >= size) {
      throw new Iso7816Error(`an: text of ${chars.length} characters does not fit in ${size} bytes; the character at position ${k} is the first that does not`, k);
    }
    out[k] = c;
  });
  return out;
}

/** Strips trailing 00 padding; what is left must be printable ASCII. */
export function decodeAn(bytes: Uint8Array): string {
  abytes(bytes, 'decodeAn');
  const end = unpaddedEnd(bytes, 0x00);
  let out = '';
  for (let i = 0; i < end; i++) {
    const b = bytes[i]!;
    if (b < 0x20 || b > 0x7e) throw new Iso7816Error(`an: byte ${hex2(b)} at offset ${i} is not printable ASCII${insidePadding(b, 0x00)}`, i);
    out += String.fromCharCode(b);
  }
  return out;
}

/**
 * GBK bytes of `text`, right-padded with `pad` (00 or FF) to `length` bytes (default: no
 * padding). Refuses, naming the character position: characters GBK has no code for (iconv-lite
 * would silently write '?'), control characters, and text longer than the field.
 */
export function encodeGbk(text: string, length?: number, pad = 0x00): Uint8Array {
  const chars = Array.from(checkString(text, 'encodeGbk'));
  checkPad(pad, 'encodeGbk');
  if (length !== undefined) checkInt(length, 'encodeGbk: length', 0, 0xffff);
  const parts: Uint8Array[] = [];
  let used = 0;
  chars.forEach((ch, k) => {
    const code = gbkChar(ch, k);
    if (length !== undefined && used + code.length > length) {
      throw new Iso7816Error(
        `gbk: text does not fit in ${length} bytes; ${quote(ch)} at position ${k} is the first character that does not (${used} bytes used)`,
        k,
      );
    }
    parts.push(code);
    used += code.length;
  });
  const body = concat(...parts);
  if (length === undefined) return body;
  const out = new Uint8Array(length).fill(pad);
  out.set(body);
  return out;
}

/** Strips trailing `pad` bytes (00 or FF) and decodes GBK; anything undecodable names its offset. */
export function decodeGbk(bytes: Uint8Array, pad = 0x00): string {
  abytes(bytes, 'decodeGbk');
  checkPad(pad, 'decodeGbk');
  const end = unpaddedEnd(bytes, pad);
  let out = '';
  let i = 0;
  while (i < end) {
    const b = bytes[i]!;
    if (b < 0x20 || b === 0x7f) {
      throw new Iso7816Error(`gbk: byte ${hex2(b)} at offset ${i} is a control character${insidePadding(b, pad)}`, i);
    }
    // GBK: 00–7F ASCII, 80 the euro sign (CP936), 81–FE lead byte of a 2-byte character.
    const size = b >= 0x81 && b <= 0xfe ? 2 : 1;
    if (i + size > end) throw new Iso7816Error(`gbk: lead byte ${hex2(b)} at offset ${i} has no second byte`, i);
    const ch = iconv.decode(Buffer.from(bytes.subarray(i, i + size)), 'gbk');
    if (ch.length === 0 || ch.includes('\uFFFD')) {
      const shown = Array.from(bytes.subarray(i, i + size), hex2).join(' ');
      throw new Iso7816Error(`gbk: bytes ${shown} at offset ${i} are not a GBK character${insidePadding(b, pad)}`, i);
    }
    out += ch;
    i += size;
  }
  return out;
}

/** GBK code of one character, checked by a round trip because iconv-lite writes '?' for the unencodable. */
function gbkChar(ch: string, position: number): Uint8Array {
  const cp = ch.codePointAt(0)!;
  if (cp < 0x20 || cp === 0x7f) throw new Iso7816Error(`gbk: control character ${quote(ch)} at position ${position} cannot go in a text field`, position);
  const code = iconv.encode(ch, 'gbk');
  if (iconv.decode(code, 'gbk') !== ch) {
    throw new Iso7816Error(`gbk: character ${quote(ch)} at position ${position} has no GBK code`, position);
  }
  return new Uint8Array(code);
}

function checkPad(pad: number, what: string): void {
  checkInt(pad, `${what}: pad`, 0, 0xff);
  if (pad !== 0x00 && pad !== 0xff) throw new RangeError(`${what}: pad must be 0x00 or 0xFF, got 0x${hex2(pad)}`);
}

function unpaddedEnd(bytes: Uint8Array, pad: number): number {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === pad) end--;
  return end;
}

function insidePadding(b: number, pad: number): string {
  return b === pad ? ` (${hex2(pad)} padding may only come at the end)` : '';
}

/** 'x' (U+0078): shows the character and its code point, so invisible ones are visible. */
function quote(ch: string): string {
  const cp = ch.codePointAt(0)!;
  const u = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  return cp < 0x20 || cp === 0x7f ? u : `'${ch}' (${u})`;
}
