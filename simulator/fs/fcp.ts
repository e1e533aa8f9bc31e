// File control parameters (ISO/IEC 7816-4 §5.3.3, Table 12), read with iso7816/tlv:
//   62 FCP template: 82 file descriptor · 83 FID · 84 DF name · 80 data size (EF) or 81 total size
//   (DF) · 88 SFI · 8A life cycle status · 86 security attributes (proprietary, 3 AC bytes)
//   6F FCI template: the same objects; a DF that carries proprietary FCI data (the PPSE's
//   BF0C directory, EMV Book 1 §12.3) answers 6F { 84 name, A5 { that data } } exactly.
// The CREATE FILE data field is the same 62 template (as ISO/IEC 7816-9 CREATE FILE does), so
// what the host writes and what SELECT returns use one vocabulary (cardsmith choice).
import { parseTlv, type TlvNode } from '../../iso7816/index.js';
import { SW, fail } from '../core/sw.js';
import { decodeAccess, encodeAccess, type AccessCondition } from './access.js';
import { dataSize, efKindOf, fdbOf, FDB, type DfSpec, type EfSpec, type FileSpec } from './spec.js';

/** ISO 7816-4 Table 14 life cycle status bytes the card uses. */
export const LCS = Object.freeze({
  INITIALISATION: 0x03,
  ACTIVATED: 0x05,
  DEACTIVATED: 0x04,
  TERMINATED: 0x0c,
} as const);

/** Data coding byte 21: proprietary write behaviour, data unit = 1 byte (ISO 7816-4 Table 87). */
const DCB = 0x21;

export interface FcpContext {
  lcs: number;
  /** DFs: memory used by the DF and its subtree (tag 81). */
  totalSize?: number;
}

// SELECT answers with these on every call, so they are written byte by byte into one number
// array and turned into bytes once, instead of one array per object and per concatenation.

/** BER-TLV length octets (ISO/IEC 7816-4 §5.2.2.2): short form below 128, else 81 xx or 82 xx xx. */
function pushLength(out: number[], length: number): void {
  if (length < 0x80) out.push(length);
  else if (length <= 0xff) out.push(0x81, length);
  else if (length <= 0xffff) out.push(0x82, length >> 8, length & 0xff);
  else out.push(0x83, length >> 16, (length >> 8) & 0xff, length & 0xff);
}

function pushBytes(out: number[], tag: number, value: Uint8Array): void {
  out.push(tag);
  pushLength(out, value.length);
  for (let i = 0; i < value.length; i++) out.push(value[i]!);
}

/** A one-tag object whose value is a 2-byte big-endian number. */
function pushUint16(out: number[], tag: number, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) throw new RangeError(`fcp: ${value} does not fit in 2 bytes`);
  out.push(tag, 2, value >> 8, value & 0xff);
}

/** The objects shared by FCP and FCI, in the order this card emits them. */
function fcpObjects(spec: FileSpec, ctx: FcpContext): number[] {
  const out: number[] = [];
  if (spec.type === 'df') {
    out.push(0x82, 1, FDB.DF);
    if (spec.fid !== undefined) pushUint16(out, 0x83, spec.fid);
    if (spec.name !== undefined) pushBytes(out, 0x84, spec.name);
    pushUint16(out, 0x81, Math.min(ctx.totalSize ?? 0, 0xffff));
    out.push(0x8a, 1, ctx.lcs);
    out.push(0x86, 3, encodeAccess(spec.access.create), encodeAccess(spec.access.keyWrite), 0x00);
    return out;
  }
  const fdb = fdbOf(spec);
  if (spec.structure === 'transparent') out.push(0x82, 1, fdb);
  else out.push(0x82, 5, fdb, DCB, 0x00, spec.recordLength, spec.maxRecords);
  pushUint16(out, 0x83, spec.fid);
  pushUint16(out, 0x80, dataSize(spec));
  // SFI in b8–b4 of the one value byte, b3–b1 = 000 (ISO 7816-4:2005 Table 12, ETSI TS 102 221 §11.1.1.4.8).
  if (spec.sfi !== undefined) out.push(0x88, 1, spec.sfi << 3);
  out.push(0x8a, 1, ctx.lcs);
  const ac = spec.access;
  out.push(0x86, 3, encodeAccess(ac.read), encodeAccess(ac.update), encodeAccess(ac.append));
  return out;
}

/** `tag` ‖ length ‖ `content` as one byte array. */
function template(tag: number, content: readonly number[]): Uint8Array {
  const head: number[] = [tag];
  pushLength(head, content.length);
  const out = new Uint8Array(head.length + content.length);
  out.set(head);
  out.set(content, head.length);
  return out;
}

export function encodeFcp(spec: FileSpec, ctx: FcpContext): Uint8Array {
  return template(0x62, fcpObjects(spec, ctx));
}

export function encodeFci(spec: FileSpec, ctx: FcpContext): Uint8Array {
  if (spec.type === 'df' && spec.fciProprietary !== undefined) {
    const parts: number[] = [];
    if (spec.name !== undefined) pushBytes(parts, 0x84, spec.name);
    else if (spec.fid !== undefined) pushUint16(parts, 0x83, spec.fid);
    pushBytes(parts, 0xa5, spec.fciProprietary);
    return template(0x6f, parts);
  }
  return template(0x6f, fcpObjects(spec, ctx));
}

const ALLOWED = new Set([0x80, 0x82, 0x83, 0x84, 0x86, 0x88, 0xa5]);

/**
 * Reads the CREATE FILE data field (one 62 template) into a file spec. Malformed TLV → 6A85;
 * anything well-formed but meaningless (unknown tag, missing 82/86, EF without 83 …) → 6A80.
 */
export function parseCreateFcp(data: Uint8Array): FileSpec {
  let top: TlvNode[];
  try {
    top = parseTlv(data);
  } catch {
    return fail(SW.TLV_INCONSISTENT);
  }
  if (top.length !== 1 || top[0]!.tag !== 0x62 || !top[0]!.children) return fail(SW.INCORRECT_DATA);
  const objects = new Map<number, Uint8Array>();
  for (const node of top[0]!.children) {
    if (!ALLOWED.has(node.tag) || objects.has(node.tag)) return fail(SW.INCORRECT_DATA);
    objects.set(node.tag, node.value);
  }
  const fd = objects.get(0x82);
  const ac = objects.get(0x86);
  if (!fd || fd.length === 0 || !ac || ac.length !== 3) return fail(SW.INCORRECT_DATA);
  const acs = [...ac].map(decodeAccess);
  if (acs.some((a) => a === undefined)) return fail(SW.INCORRECT_DATA);
  const [a0, a1, a2] = acs as [AccessCondition, AccessCondition, AccessCondition];
  const fidBytes = objects.get(0x83);
  if (fidBytes !== undefined && fidBytes.length !== 2) return fail(SW.INCORRECT_DATA);
  const fid = fidBytes ? (fidBytes[0]! << 8) | fidBytes[1]! : undefined;

  if (fd[0] === FDB.DF) {
    if (fd.length !== 1 || objects.has(0x80) || objects.has(0x88)) return fail(SW.INCORRECT_DATA);
    const spec: DfSpec = {
      type: 'df',
      fid,
      name: objects.get(0x84),
      access: { create: a0, keyWrite: a1 },
      fciProprietary: objects.get(0xa5),
    };
    return spec;
  }

  const kind = efKindOf(fd[0]!);
  if (!kind || fid === undefined || objects.has(0x84) || objects.has(0xa5)) return fail(SW.INCORRECT_DATA);
  let sfi: number | undefined;
  const sfiBytes = objects.get(0x88);
  if (sfiBytes !== undefined) {
    if (sfiBytes.length > 1) return fail(SW.INCORRECT_DATA);
    if (sfiBytes.length === 1) {
      if ((sfiBytes[0]! & 0x07) !== 0) return fail(SW.INCORRECT_DATA);
      sfi = sfiBytes[0]! >> 3;
    }
  }
  let size = 0;
  let recordLength = 0;
  let maxRecords = 0;
  if (kind.structure === 'transparent') {
    const sz = objects.get(0x80);
    if (fd.length !== 1 || !sz || sz.length !== 2) return fail(SW.INCORRECT_DATA);
    size = (sz[0]! << 8) | sz[1]!;
  } else {
    // 82 05: FDB, data coding byte, maximum record size (2 bytes), number of records (1 byte).
    if (fd.length !== 5 || objects.has(0x80) || fd[2] !== 0) return fail(SW.INCORRECT_DATA);
    recordLength = fd[3]!;
    maxRecords = fd[4]!;
  }
  const spec: EfSpec = {
    type: 'ef',
    fid,
    sfi,
    structure: kind.structure,
    tlv: kind.tlv,
    internal: kind.internal,
    size,
    recordLength,
    maxRecords,
    access: { read: a0, update: a1, append: a2 },
  };
  return spec;
}
