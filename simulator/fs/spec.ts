// The file model as a *specification* (ISO/IEC 7816-4 §5.3 "file organisation"), in the manner of
// pySim's filesystem.py: what a file is (type, identifiers, structure, sizes, access conditions),
// apart from what is selected or verified at runtime (fs/runtime.ts) and apart from its content.
// A new file is checked here once, when CREATE FILE defines it: a bad or duplicate FID, SFI or
// DF name is refused at once with the ISO status word that says why.
import { equal } from '../../bytes/index.js';
import { SW } from '../core/sw.js';
import type { AccessCondition } from './access.js';

export type EfStructure = 'transparent' | 'linear-fixed' | 'linear-variable' | 'cyclic';

export interface DfSpec {
  readonly type: 'df';
  readonly fid?: number | undefined;
  /** DF name (AID), 1–16 bytes. */
  readonly name?: Uint8Array | undefined;
  readonly access: {
    /** CREATE FILE in this DF (after personalization). */
    readonly create: AccessCondition;
    /** Plain WRITE KEY (80 D4) in this DF (after personalization). */
    readonly keyWrite: AccessCondition;
  };
  /** Value of the A5 template in this DF's FCI (e.g. the PPSE directory, BF0C …). */
  readonly fciProprietary?: Uint8Array | undefined;
}

export interface EfSpec {
  readonly type: 'ef';
  readonly fid: number;
  readonly sfi?: number | undefined;
  readonly structure: EfStructure;
  /** SIMPLE-TLV records (FDB b3-b1 odd): the first byte of a record is its identifier (tag). */
  readonly tlv: boolean;
  /** Internal EF (FDB b6-b4 = 001), e.g. a private key: READ BINARY is never allowed. */
  readonly internal: boolean;
  /** Transparent EFs: number of bytes. */
  readonly size: number;
  /** Record EFs: the record length (fixed, cyclic) or the maximum record length (variable). */
  readonly recordLength: number;
  /** Record EFs: how many records the file can hold. */
  readonly maxRecords: number;
  readonly access: {
    /** READ BINARY / READ RECORD; for internal EFs: using the key (PSO). */
    readonly read: AccessCondition;
    /** UPDATE BINARY / UPDATE RECORD (and on-card key generation into the EF). */
    readonly update: AccessCondition;
    /** APPEND RECORD. */
    readonly append: AccessCondition;
  };
}

export type FileSpec = DfSpec | EfSpec;

/** ISO 7816-4 Table 12 file descriptor bytes. */
export const FDB = Object.freeze({
  DF: 0x38,
  TRANSPARENT: 0x01,
  LINEAR_FIXED: 0x02,
  LINEAR_FIXED_TLV: 0x03,
  LINEAR_VARIABLE: 0x04,
  LINEAR_VARIABLE_TLV: 0x05,
  CYCLIC: 0x06,
  CYCLIC_TLV: 0x07,
  INTERNAL_TRANSPARENT: 0x09,
} as const);

export const MF_FID = 0x3f00;
/** FIDs ISO 7816-4 §5.3.1.1 reserves: MF, "current DF" and RFU. */
const RESERVED_FIDS = new Set([0x3f00, 0x3fff, 0xffff]);

export function fdbOf(spec: FileSpec): number {
  if (spec.type === 'df') return FDB.DF;
  if (spec.internal) return FDB.INTERNAL_TRANSPARENT;
  const base = { transparent: 0x01, 'linear-fixed': 0x02, 'linear-variable': 0x04, cyclic: 0x06 }[spec.structure];
  return spec.structure !== 'transparent' && spec.tlv ? base | 1 : base;
}

/** Structure and flags an EF FDB stands for, or undefined when the card does not support it. */
export function efKindOf(fdb: number): { structure: EfStructure; tlv: boolean; internal: boolean } | undefined {
  switch (fdb) {
    case FDB.TRANSPARENT:
      return { structure: 'transparent', tlv: false, internal: false };
    case FDB.INTERNAL_TRANSPARENT:
      return { structure: 'transparent', tlv: false, internal: true };
    case FDB.LINEAR_FIXED:
    case FDB.LINEAR_FIXED_TLV:
      return { structure: 'linear-fixed', tlv: fdb === FDB.LINEAR_FIXED_TLV, internal: false };
    case FDB.LINEAR_VARIABLE:
    case FDB.LINEAR_VARIABLE_TLV:
      return { structure: 'linear-variable', tlv: fdb === FDB.LINEAR_VARIABLE_TLV, internal: false };
    case FDB.CYCLIC:
    case FDB.CYCLIC_TLV:
      return { structure: 'cyclic', tlv: fdb === FDB.CYCLIC_TLV, internal: false };
    default:
      return undefined;
  }
}

/** Bytes of data the file holds when full (FCP tag 80). */
export function dataSize(spec: EfSpec): number {
  return spec.structure === 'transparent' ? spec.size : spec.recordLength * spec.maxRecords;
}

/** Memory a file costs, cardsmith's accounting: data + 32 bytes of header per EF, 64 per DF. */
export function memoryCost(spec: FileSpec): number {
  return spec.type === 'df' ? 64 : dataSize(spec) + 32;
}

export const MAX_TRANSPARENT_SIZE = 0x7fff;
export const MAX_RECORD_LENGTH = 255;
export const MAX_RECORDS = 254;

/** Internal consistency of one spec; returns the status word for CREATE FILE, or undefined when sound. */
export function specProblem(spec: FileSpec): number | undefined {
  if (spec.fid !== undefined && (RESERVED_FIDS.has(spec.fid) || spec.fid < 0 || spec.fid > 0xffff)) return SW.INCORRECT_DATA;
  if (spec.type === 'df') {
    if (spec.fid === undefined && spec.name === undefined) return SW.INCORRECT_DATA;
    if (spec.name !== undefined && (spec.name.length < 1 || spec.name.length > 16)) return SW.INCORRECT_DATA;
    return undefined;
  }
  if (spec.sfi !== undefined && (spec.sfi < 1 || spec.sfi > 30)) return SW.INCORRECT_DATA;
  if (spec.structure === 'transparent') {
    if (spec.size < 1 || spec.size > MAX_TRANSPARENT_SIZE) return SW.INCORRECT_DATA;
  } else {
    if (spec.recordLength < 1 || spec.recordLength > MAX_RECORD_LENGTH) return SW.INCORRECT_DATA;
    if (spec.maxRecords < 1 || spec.maxRecords > MAX_RECORDS) return SW.INCORRECT_DATA;
    // A SIMPLE-TLV record is at least tag ‖ length.
    if (spec.tlv && spec.recordLength < 2) return SW.INCORRECT_DATA;
  }
  return undefined;
}

/**
 * Whether `spec` may join a DF that already holds `siblings`, in a card whose DFs carry
 * `names`: FID unique among siblings (6A89), SFI unique in the DF (6A89), DF name unique on
 * the card (6A8A). Returns the status word, or undefined when it may.
 */
export function conflictWith(siblings: readonly FileSpec[], names: readonly Uint8Array[], spec: FileSpec): number | undefined {
  for (const s of siblings) {
    if (spec.fid !== undefined && s.fid === spec.fid) return SW.FILE_EXISTS;
    if (spec.type === 'ef' && spec.sfi !== undefined && s.type === 'ef' && s.sfi === spec.sfi) return SW.FILE_EXISTS;
  }
  if (spec.type === 'df' && spec.name !== undefined) {
    for (const n of names) if (equal(n, spec.name)) return SW.DF_NAME_EXISTS;
  }
  return undefined;
}
