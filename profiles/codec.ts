// Data element codecs: how a value becomes the bytes of a record or a file region, and back.
// Built on iso7816/ (an, cn, BCD, GBK, dates — LD/T 32 conventions): 'an' and
// GBK right-padded (00 unless the element says FF), 'cn' left-aligned with F nibbles, 'bcd'
// right-aligned with 0 nibbles, dates as 4 BCD bytes YYYYMMDD, binary as given. A record of a
// SIMPLE-TLV record file is tag ‖ length ‖ value (ISO/IEC 7816-4 §5.2.1).
import { clip, concat, toHex } from '../bytes/index.js';
import { decodeBcd, decodeCn, decodeDateCn, decodeGbk, encodeBcd, encodeCn, encodeDateCn, encodeGbk, Iso7816Error } from '../iso7816/index.js';

export type Encoding = 'an' | 'cn' | 'bcd' | 'gbk' | 'binary' | 'date';
export const ENCODINGS: readonly Encoding[] = ['an', 'cn', 'bcd', 'gbk', 'binary', 'date'];

/** How one value is laid out: its encoding, its size, and what fills the rest. */
export interface FieldCodec {
  encoding: Encoding;
  /** Bytes the value occupies (fixed) or may occupy at most (variable). */
  length: number;
  /** True: always exactly `length` bytes (padded); false: as many bytes as the value needs, up to `length`. */
  fixed: boolean;
  /** Padding byte for an, gbk and binary (default 00); cn pads with F nibbles and bcd with 0 nibbles. */
  pad?: number | undefined;
}

/** A value as codecs see it: text for an/cn/bcd/gbk/date (dates as YYYYMMDD), bytes for binary. */
export type FieldValue = string | Uint8Array;

/** Which pad bytes each encoding allows (cn and bcd pad with nibbles, dates are never padded). */
export const ALLOWED_PADS: Readonly<Record<Encoding, readonly number[] | 'any'>> = {
  an: [0x00, 0x20, 0xff],
  gbk: [0x00, 0xff],
  binary: 'any',
  cn: [],
  bcd: [],
  date: [],
};

export function encodeField(codec: FieldCodec, value: FieldValue): Uint8Array {
  const { encoding, length, fixed } = codec;
  const pad = codec.pad ?? 0x00;
  switch (encoding) {
    case 'an': {
      const text = needText(value, 'an');
      const chars = Array.from(text);
      const bad = chars.findIndex((c) => c.codePointAt(0)! < 0x20 || c.codePointAt(0)! > 0x7e);
      if (bad >= 0) throw new Iso7816Error(`an: the character at position ${bad} is not printable ASCII`, bad);
      if (chars.length > length) throw new Iso7816Error(`an: text of ${chars.length} characters does not fit in ${length} bytes`, length);
      const body = new TextEncoder().encode(text);
      return fixed ? padRight(body, length, pad) : body;
    }
    case 'gbk': {
      const text = needText(value, 'gbk');
      if (fixed && pad !== 0x00 && pad !== 0xff) throw new RangeError('gbk: pad must be 00 or FF');
      if (fixed) return encodeGbk(text, length, pad);
      const body = encodeGbk(text);
      if (body.length > length) encodeGbk(text, length); // throws, naming the first character that does not fit
      return body;
    }
    case 'cn': {
      const digits = needText(value, 'cn');
      if (fixed) return encodeCn(digits, length);
      const n = Math.ceil(digits.length / 2);
      if (n > length) throw new Iso7816Error(`cn: ${digits.length} digits do not fit in ${length} bytes`, length * 2);
      return encodeCn(digits, n);
    }
    case 'bcd': {
      const digits = needText(value, 'bcd');
      if (!fixed) {
        const out = encodeBcd(digits);
        if (out.length > length) throw new Iso7816Error(`bcd: ${digits.length} digits do not fit in ${length} bytes`, length * 2);
        return out;
      }
      return encodeBcd(digits, { length });
    }
    case 'date': {
      const text = needText(value, 'date');
      if (length !== 4) throw new RangeError(`date: a date element is 4 bytes, not ${length}`);
      return encodeDateCn(text);
    }
    case 'binary': {
      if (!(value instanceof Uint8Array)) throw new TypeError('binary: the value must be bytes');
      if (value.length > length) throw new Iso7816Error(`binary: ${value.length} bytes do not fit in ${length}`, length);
      if (!fixed || value.length === length) return value;
      if (codec.pad === undefined) throw new Iso7816Error(`binary: ${value.length} bytes for a ${length}-byte element that has no pad byte`, value.length);
      return padRight(value, length, pad);
    }
  }
}

/** The value `encodeField` wrote; an, gbk and binary lose the trailing pad bytes (binary: only when variable). */
export function decodeField(codec: FieldCodec, bytes: Uint8Array): FieldValue {
  const pad = codec.pad ?? 0x00;
  if (codec.fixed && bytes.length !== codec.length && codec.encoding !== 'binary') {
    throw new Iso7816Error(`${codec.encoding}: expected ${codec.length} bytes, got ${bytes.length}`, Math.min(bytes.length, codec.length));
  }
  switch (codec.encoding) {
    case 'an': {
      let end = bytes.length;
      while (end > 0 && bytes[end - 1] === pad) end--;
      let out = '';
      for (let i = 0; i < end; i++) {
        const b = bytes[i]!;
        if (b < 0x20 || b > 0x7e) throw new Iso7816Error(`an: byte ${toHex(Uint8Array.of(b))} at offset ${i} is not printable ASCII`, i);
        out += String.fromCharCode(b);
      }
      return out;
    }
    case 'gbk':
      return decodeGbk(bytes, pad === 0xff ? 0xff : 0x00);
    case 'cn':
      return decodeCn(bytes);
    case 'bcd':
      return decodeBcd(bytes);
    case 'date':
      return decodeDateCn(bytes).replaceAll('-', '');
    case 'binary':
      return Uint8Array.from(bytes);
  }
}

/** One part of a composite element (e.g. the card identification code's city code, RID, serial, MAC). */
export interface PartCodec extends FieldCodec {
  name: string;
}

/** A composite element: its parts side by side, each with its own fixed length. */
export function encodeParts(parts: readonly PartCodec[], values: Readonly<Record<string, FieldValue>>): Uint8Array {
  return concat(
    ...parts.map((p) => {
      const v = values[p.name];
      if (v === undefined) throw new RangeError(`parts: no value for part '${clip(p.name)}'`);
      return encodeField(p, v);
    }),
  );
}

export function decodeParts(parts: readonly PartCodec[], bytes: Uint8Array): Record<string, FieldValue> {
  const total = parts.reduce((n, p) => n + p.length, 0);
  if (bytes.length !== total) throw new Iso7816Error(`parts: expected ${total} bytes, got ${bytes.length}`, Math.min(bytes.length, total));
  const out: Record<string, FieldValue> = {};
  let at = 0;
  for (const p of parts) {
    out[p.name] = decodeField(p, bytes.subarray(at, at + p.length));
    at += p.length;
  }
  return out;
}

/** A SIMPLE-TLV record: tag (01–FE) ‖ length (00–FE) ‖ value. */
export function encodeTlvRecord(tag: number, value: Uint8Array): Uint8Array {
  if (!Number.isInteger(tag) || tag < 0x01 || tag > 0xfe) throw new RangeError(`record: tag must be 01-FE, got ${tag}`);
  if (value.length > 0xfe) throw new RangeError(`record: a SIMPLE-TLV value holds at most 254 bytes, got ${value.length}`);
  return concat(Uint8Array.of(tag, value.length), value);
}

/**
 * Reads a SIMPLE-TLV record; bytes after the value are allowed only as FF or 00 padding (what a
 * linear-fixed file returns after a short record).
 */
export function decodeTlvRecord(record: Uint8Array): { tag: number; value: Uint8Array } {
  if (record.length < 2) throw new Iso7816Error(`record: ${record.length} bytes is too short for tag and length`, record.length);
  const tag = record[0]!;
  const len = record[1]!;
  if (tag === 0x00 || tag === 0xff) throw new Iso7816Error(`record: ${toHex(Uint8Array.of(tag))} is not a SIMPLE-TLV tag`, 0);
  if (2 + len > record.length) throw new Iso7816Error(`record: the value of tag ${toHex(Uint8Array.of(tag))} needs ${len} bytes, ${record.length - 2} present`, 2);
  for (let i = 2 + len; i < record.length; i++) {
    const b = record[i]!;
    if (b !== 0xff && b !== 0x00) throw new Iso7816Error(`record: byte ${toHex(Uint8Array.of(b))} at offset ${i} follows the value and is not padding`, i);
  }
  return { tag, value: record.slice(2, 2 + len) };
}

function needText(value: FieldValue, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`${what}: the value must be text`);
  return value;
}

function padRight(body: Uint8Array, length: number, pad: number): Uint8Array {
  const out = new Uint8Array(length).fill(pad);
  out.set(body);
  return out;
}
