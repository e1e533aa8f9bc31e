// ISO/IEC 7816-4 §5.2 BER-TLV (encoding rules of ISO/IEC 8825-1): 1–3 byte tags, lengths up to 83 xxxxxx.
import { abytes, concat, fromHex, toHex } from '../bytes/index.js';
import { checkInt, copyBytes, hex2 } from './internal.js';
import { Iso7816Error } from './errors.js';

/**
 * One data object. `tag` is the tag bytes read as a big-endian number (9F02 → 0x9f02), the
 * way EMV and GlobalPlatform documents write tags. `offset` is where the tag starts in the
 * buffer given to parseTlv, also for nested objects.
 */
export interface TlvNode {
  tag: number;
  tagBytes: Uint8Array;
  constructed: boolean;
  length: number;
  value: Uint8Array;
  /** Present for constructed objects (b6 of the first tag byte = 1). */
  children?: TlvNode[];
  offset: number;
}

/** A tag as a number (0x9f02) or as hex ('9F02'). */
export type Tag = number | string;

export interface ParseTlvOptions {
  /**
   * Skip 00 and FF bytes before, between and after data objects (ISO 7816-4 §5.2 and EMV
   * allow them where objects were erased). Off by default: then 00 or FF where a tag should
   * start is an error, because in a fresh encoding it means a length went wrong.
   */
  padding?: boolean | undefined;
}

/** Constructed objects nest at most this deep; deeper input is refused rather than overflowing the stack. */
export const MAX_TLV_DEPTH = 32;

export function parseTlv(bytes: Uint8Array, options: ParseTlvOptions = {}): TlvNode[] {
  abytes(bytes, 'parseTlv');
  return parseLevel(bytes, 0, bytes.length, 0, options.padding === true, 'the end');
}

function parseLevel(bytes: Uint8Array, start: number, end: number, depth: number, padding: boolean, endName: string): TlvNode[] {
  const nodes: TlvNode[] = [];
  let i = start;
  while (i < end) {
    const b = bytes[i]!;
    if (b === 0x00 || b === 0xff) {
      if (padding) {
        i++;
        continue;
      }
      throw new Iso7816Error(
        `tlv: byte ${hex2(b)} at offset ${i} cannot start a tag (00 and FF are padding; parse with { padding: true } to skip them)`,
        i,
      );
    }
    const { node, valueOffset } = readObject(bytes, i, end, endName);
    if (node.constructed) {
      if (depth + 1 >= MAX_TLV_DEPTH) {
        throw new Iso7816Error(`tlv: constructed tag ${formatTag(node.tag)} at offset ${i} nests deeper than ${MAX_TLV_DEPTH} levels`, i);
      }
      const inner = `the end of tag ${formatTag(node.tag)} (offset ${i})`;
      node.children = parseLevel(bytes, valueOffset, valueOffset + node.length, depth + 1, padding, inner);
    }
    nodes.push(node);
    i = valueOffset + node.length;
  }
  return nodes;
}

function readObject(bytes: Uint8Array, offset: number, end: number, endName: string): { node: TlvNode; valueOffset: number } {
  const tagSize = readTagSize(bytes, offset, end, endName);
  const tagBytes = copyBytes(bytes, offset, offset + tagSize);
  const tag = toNumber(tagBytes);
  const lengthAt = offset + tagSize;
  const { length, size } = readLength(bytes, lengthAt, end, endName);
  const valueOffset = lengthAt + size;
  if (valueOffset + length > end) {
    throw new Iso7816Error(
      `tlv: value of tag ${formatTag(tag)} at offset ${valueOffset} runs past ${endName} (needs ${length} bytes, ${end - valueOffset} left)`,
      valueOffset,
    );
  }
  const constructed = (tagBytes[0]! & 0x20) !== 0;
  const value = copyBytes(bytes, valueOffset, valueOffset + length);
  return { node: { tag, tagBytes, constructed, length, value, offset }, valueOffset };
}

/** Tag size from its bytes: low 5 bits 11111 → more bytes follow, each with b8 = 1 except the last. */
function readTagSize(bytes: Uint8Array, offset: number, end: number, endName: string): number {
  if ((bytes[offset]! & 0x1f) !== 0x1f) return 1;
  for (let size = 2; size <= 3; size++) {
    const at = offset + size - 1;
    if (at >= end) {
      throw new Iso7816Error(`tlv: tag at offset ${offset} runs past ${endName} (needs ${size} bytes, ${end - offset} left)`, offset);
    }
    const b = bytes[at]!;
    if (size === 2 && b === 0x80) {
      // ISO 8825-1 §8.1.2.4.2 c): the first subsequent byte may not encode leading zero bits.
      throw new Iso7816Error(`tlv: tag at offset ${offset} has a second byte 80, which BER forbids (leading zero)`, offset);
    }
    if ((b & 0x80) === 0) return size;
  }
  throw new Iso7816Error(`tlv: tag at offset ${offset} is longer than 3 bytes (ISO 7816-4 tags have 1 to 3)`, offset);
}

function readLength(bytes: Uint8Array, offset: number, end: number, endName: string): { length: number; size: number } {
  if (offset >= end) {
    throw new Iso7816Error(`tlv: length field at offset ${offset} runs past ${endName} (needs 1 byte, 0 left)`, offset);
  }
  const first = bytes[offset]!;
  if (first < 0x80) return { length: first, size: 1 };
  if (first === 0x80) {
    throw new Iso7816Error(`tlv: length field at offset ${offset} is 80 (indefinite form), which ISO 7816-4 does not allow`, offset);
  }
  const count = first & 0x7f;
  if (count > 3) {
    throw new Iso7816Error(`tlv: length field at offset ${offset} starts with ${hex2(first)} (${count} length bytes); at most 3 (83 xxxxxx) are supported`, offset);
  }
  if (offset + 1 + count > end) {
    throw new Iso7816Error(`tlv: length field at offset ${offset} runs past ${endName} (needs ${count + 1} bytes, ${end - offset} left)`, offset);
  }
  let length = 0;
  for (let k = 1; k <= count; k++) length = length * 256 + bytes[offset + k]!;
  return { length, size: 1 + count };
}

/**
 * One data object: tag ‖ minimal length ‖ value. Pass an array of already built objects to
 * make a constructed one: `buildTlv(0x6f, [buildTlv(0x84, aid), buildTlv(0xa5, [...])])`.
 */
export function buildTlv(tag: Tag, content: Uint8Array | readonly Uint8Array[]): Uint8Array {
  const tagBytes = encodeTag(tag);
  let value: Uint8Array;
  if (Array.isArray(content)) {
    if ((tagBytes[0]! & 0x20) === 0) {
      throw new RangeError(`buildTlv: tag ${toHex(tagBytes)} is primitive (b6 of its first byte is 0), so it cannot hold child objects`);
    }
    value = concat(...content.map((c, k) => abytes(c, `buildTlv: child ${k}`)));
  } else {
    value = abytes(content, 'buildTlv: value');
  }
  return concat(tagBytes, encodeLength(value.length), value);
}

/** Tag bytes for a tag given as number or hex, checked against the BER tag rules. */
export function encodeTag(tag: Tag): Uint8Array {
  let bytes: Uint8Array;
  if (typeof tag === 'string') {
    bytes = fromHex(tag, 'tag');
  } else {
    checkInt(tag, 'tag', 1, 0xffffff);
    bytes = tag > 0xffff ? new Uint8Array([tag >> 16, (tag >> 8) & 0xff, tag & 0xff]) : tag > 0xff ? new Uint8Array([tag >> 8, tag & 0xff]) : new Uint8Array([tag]);
  }
  const problem = tagProblem(bytes);
  if (problem) throw new RangeError(`tag: ${toHex(bytes) || '(empty)'} ${problem}`);
  return bytes;
}

function tagProblem(bytes: Uint8Array): string | undefined {
  if (bytes.length < 1 || bytes.length > 3) return 'must be 1 to 3 bytes';
  const first = bytes[0]!;
  if (first === 0x00 || first === 0xff) return 'is invalid: 00 and FF are padding bytes';
  const multi = (first & 0x1f) === 0x1f;
  if (!multi) return bytes.length === 1 ? undefined : 'has more bytes than its first byte announces (low 5 bits are not 11111)';
  if (bytes.length === 1) return 'is incomplete: low 5 bits 11111 announce more tag bytes';
  if (bytes[1] === 0x80) return 'has a second byte 80, which BER forbids (leading zero)';
  for (let k = 1; k < bytes.length; k++) {
    const last = k === bytes.length - 1;
    if (((bytes[k]! & 0x80) !== 0) === last) return last ? 'is incomplete: its last byte has b8 = 1' : 'ends early: a middle byte has b8 = 0';
  }
  return undefined;
}

/** Normalises a tag to its number form (0x9f02), checking it. */
export function tagNumber(tag: Tag): number {
  return toNumber(encodeTag(tag));
}

/** Minimal BER length: 00–7F, 81 xx, 82 xxxx, 83 xxxxxx. */
export function encodeLength(length: number): Uint8Array {
  checkInt(length, 'encodeLength', 0, 0xffffff);
  if (length < 0x80) return new Uint8Array([length]);
  if (length <= 0xff) return new Uint8Array([0x81, length]);
  if (length <= 0xffff) return new Uint8Array([0x82, length >> 8, length & 0xff]);
  return new Uint8Array([0x83, length >> 16, (length >> 8) & 0xff, length & 0xff]);
}

/** Hex of a tag number: 0x50 → '50', 0x9f02 → '9F02', 0xbf0c → 'BF0C'. */
export function formatTag(tag: number): string {
  checkInt(tag, 'formatTag', 0, 0xffffff);
  const hex = tag.toString(16).toUpperCase();
  return hex.length % 2 === 0 ? hex : `0${hex}`;
}

/**
 * First object reached by following `path` from the top level, e.g. [0x6f, 0xa5, 0x50]
 * (label in an FCI). Tries every branch in document order, so the first A5 without a 50
 * does not hide a later one.
 */
export function findTlv(nodes: readonly TlvNode[], path: readonly Tag[]): TlvNode | undefined {
  const wanted = checkPath(path, 'findTlv');
  for (const node of walk(nodes, wanted, 0)) return node;
  return undefined;
}

/** Every object at the end of `path`, in document order. */
export function findAllTlv(nodes: readonly TlvNode[], path: readonly Tag[]): TlvNode[] {
  return [...walk(nodes, checkPath(path, 'findAllTlv'), 0)];
}

function* walk(nodes: readonly TlvNode[], path: readonly number[], level: number): Generator<TlvNode> {
  for (const node of nodes) {
    if (node.tag !== path[level]) continue;
    if (level === path.length - 1) yield node;
    else if (node.children) yield* walk(node.children, path, level + 1);
  }
}

function checkPath(path: readonly Tag[], what: string): number[] {
  if (!Array.isArray(path) || path.length === 0) throw new RangeError(`${what}: path must be a non-empty list of tags`);
  return path.map(tagNumber);
}

function toNumber(bytes: Uint8Array): number {
  let n = 0;
  for (const b of bytes) n = n * 256 + b;
  return n;
}
