// GlobalPlatform card content management commands as plain APDUs (GP Card Specification 2.3.1
// chapter 11; Amendment D §7.2 for AES keys in PUT KEY; EMV CPS v1.1 §4 for STORE DATA). Each
// function only encodes: no card, no channel. CLA 80 throughout; a secure channel sets b3 when it
// wraps. Commands that may answer with data (receipts, confirmations) carry Le 00.
import { abytes, concat, uintBE } from '../bytes/index.js';
import { apdu, buildTlv, encodeLength, type CommandApdu } from '../iso7816/index.js';
import { checkAid, lv } from './aid.js';

const EMPTY = new Uint8Array(0);
const LE = 256;

/** SELECT by DF name, first occurrence, FCI wanted (ISO 7816-4 §11.2.2). An empty AID selects the default application. */
export function selectCommand(aid: Uint8Array): CommandApdu {
  abytes(aid, 'select: AID');
  return apdu(0x00, 0xa4, 0x04, 0x00, aid, LE);
}

/** GET DATA (GP 2.3.1 §11.3): 9F7F CPLC, 0066 card data, 00E0 key information, 0042 IIN, 0045 CIN, … */
export function getDataCommand(tag: number): CommandApdu {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xffff) throw new RangeError(`get data: tag must be 0000..FFFF, got ${String(tag)}`);
  return apdu(0x80, 0xca, tag >> 8, tag & 0xff, EMPTY, LE);
}

/**
 * GET STATUS (GP 2.3.1 §11.4): P1 80 ISD, 40 applications and SDs, 20 load files, 10 load files and
 * modules; P2 b2 = 1 asks for the tag format, P2 b1 = 1 for the next occurrences after 6310.
 * The search criterion `4F 00` matches every AID.
 */
export function getStatusCommand(p1: number, options: { next?: boolean; tagFormat?: boolean; aid?: Uint8Array } = {}): CommandApdu {
  if (![0x80, 0x40, 0x20, 0x10].includes(p1)) throw new RangeError(`get status: P1 must be 80, 40, 20 or 10, got ${String(p1)}`);
  const p2 = (options.tagFormat === false ? 0x00 : 0x02) | (options.next ? 0x01 : 0x00);
  return apdu(0x80, 0xf2, p1, p2, buildTlv(0x4f, options.aid ?? EMPTY), LE);
}

/** Load parameters of INSTALL [for load] (GP 2.3.1 Table 11-49): EF { C6 code, C7 volatile data, C8 non-volatile data }. */
export interface LoadParameters {
  nonVolatileCode?: number;
  volatileData?: number;
  nonVolatileData?: number;
}

export function encodeSystemParameters(p: LoadParameters): Uint8Array {
  const parts: Uint8Array[] = [];
  if (p.nonVolatileCode !== undefined) parts.push(buildTlv(0xc6, uintBE(p.nonVolatileCode, 2)));
  if (p.volatileData !== undefined) parts.push(buildTlv(0xc7, uintBE(p.volatileData, 2)));
  if (p.nonVolatileData !== undefined) parts.push(buildTlv(0xc8, uintBE(p.nonVolatileData, 2)));
  return parts.length ? buildTlv(0xef, parts) : EMPTY;
}

export interface InstallForLoadOptions {
  loadFileAid: Uint8Array;
  /** The SD to associate the load file with; empty (default) means the ISD. */
  sdAid?: Uint8Array;
  /** Load File Data Block hash (SHA-1 or SHA-256), required when DAP or a token is used. */
  hash?: Uint8Array;
  /** Encoded load parameters, or the memory figures to encode. */
  parameters?: Uint8Array | LoadParameters;
  token?: Uint8Array;
}

/** INSTALL [for load]: P1 02. */
export function installForLoadCommand(o: InstallForLoadOptions): CommandApdu {
  checkAid(o.loadFileAid, 'install for load: load file AID');
  const params = o.parameters instanceof Uint8Array ? o.parameters : encodeSystemParameters(o.parameters ?? {});
  const data = concat(lv(o.loadFileAid), lv(o.sdAid ?? EMPTY), lv(o.hash ?? EMPTY), lv(params), lv(o.token ?? EMPTY));
  return apdu(0x80, 0xe6, 0x02, 0x00, data, LE);
}

export interface InstallOptions {
  loadFileAid: Uint8Array;
  moduleAid: Uint8Array;
  /** The new instance's AID; default the module AID. */
  instanceAid?: Uint8Array;
  /** 1 or 3 privilege bytes (GP 2.3.1 Table 6-1); default 00. */
  privileges?: Uint8Array;
  /** Application specific parameters, sent as C9 (always present, C9 00 when empty). */
  parameters?: Uint8Array;
  /** System parameters after C9, e.g. EF { C8 non-volatile data }. */
  systemParameters?: LoadParameters;
  token?: Uint8Array;
  /** Also make the instance selectable (P1 0C); default true. */
  makeSelectable?: boolean;
}

function privilegeBytes(p: Uint8Array | undefined): Uint8Array {
  const v = p ?? Uint8Array.of(0x00);
  if (v.length !== 1 && v.length !== 3) throw new RangeError(`install: privileges are 1 or 3 bytes, got ${v.length}`);
  return v;
}

/** INSTALL [for install] (P1 04) or [for install and make selectable] (P1 0C). */
export function installCommand(o: InstallOptions): CommandApdu {
  checkAid(o.loadFileAid, 'install: load file AID');
  checkAid(o.moduleAid, 'install: module AID');
  const instance = o.instanceAid ?? o.moduleAid;
  checkAid(instance, 'install: instance AID');
  const installParams = concat(buildTlv(0xc9, o.parameters ?? EMPTY), encodeSystemParameters(o.systemParameters ?? {}));
  const data = concat(lv(o.loadFileAid), lv(o.moduleAid), lv(instance), lv(privilegeBytes(o.privileges)), lv(installParams), lv(o.token ?? EMPTY));
  return apdu(0x80, 0xe6, o.makeSelectable === false ? 0x04 : 0x0c, 0x00, data, LE);
}

/** INSTALL [for make selectable] (P1 08). */
export function makeSelectableCommand(aid: Uint8Array, privileges?: Uint8Array): CommandApdu {
  checkAid(aid, 'make selectable: AID');
  return apdu(0x80, 0xe6, 0x08, 0x00, concat(lv(EMPTY), lv(EMPTY), lv(aid), lv(privilegeBytes(privileges)), lv(EMPTY), lv(EMPTY)), LE);
}

/** INSTALL [for personalization] (P1 20): the STORE DATA commands that follow go to `aid`. */
export function installForPersonalizationCommand(aid: Uint8Array): CommandApdu {
  checkAid(aid, 'install for personalization: AID');
  return apdu(0x80, 0xe6, 0x20, 0x00, concat(lv(EMPTY), lv(EMPTY), lv(aid), lv(EMPTY), lv(EMPTY), lv(EMPTY)), LE);
}

/** The LOAD stream: optional DAP blocks (E2), then C4 ‖ BER length ‖ load file data block (GP 2.3.1 §11.6.2.3). */
export function loadStream(loadFileDataBlock: Uint8Array, dapBlocks: readonly Uint8Array[] = []): Uint8Array {
  abytes(loadFileDataBlock, 'load: load file data block');
  return concat(...dapBlocks, Uint8Array.of(0xc4), encodeLength(loadFileDataBlock.length), loadFileDataBlock);
}

/**
 * LOAD commands: the stream cut into blocks of at most `blockSize` bytes, P2 = block number, P1 80 on
 * the last. Only the last asks for response data (Le 00), where a load receipt may come back.
 */
export function loadCommands(stream: Uint8Array, blockSize: number): CommandApdu[] {
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > 255) throw new RangeError(`load: block size must be 1..255, got ${String(blockSize)}`);
  const count = Math.max(1, Math.ceil(stream.length / blockSize));
  if (count > 256) throw new RangeError(`load: ${stream.length} bytes need ${count} blocks of ${blockSize}; LOAD numbers blocks 00..FF (at most 256)`);
  const out: CommandApdu[] = [];
  for (let k = 0; k < count; k++) {
    const last = k === count - 1;
    const block = stream.slice(k * blockSize, (k + 1) * blockSize);
    out.push(last ? apdu(0x80, 0xe8, 0x80, k, block, LE) : apdu(0x80, 0xe8, 0x00, k, block));
  }
  return out;
}

/** DELETE (GP 2.3.1 §11.2): P2 80 also deletes related objects (a load file's applications). */
export function deleteCommand(aid: Uint8Array, related = false): CommandApdu {
  checkAid(aid, 'delete: AID');
  return apdu(0x80, 0xe4, 0x00, related ? 0x80 : 0x00, buildTlv(0x4f, aid), LE);
}

/** One key component of PUT KEY, already encrypted under the DEK. */
export interface PutKeyComponent {
  /** 80 = DES/3DES, 88 = AES (GP 2.3.1 Table 11-16). */
  type: 0x80 | 0x88;
  encrypted: Uint8Array;
  /** Clear key length: the AES format carries it first in the component (Amendment D §7.2.x). */
  keyLength: number;
  kcv: Uint8Array;
}

/**
 * PUT KEY (GP 2.3.1 §11.8): P1 = the key version to replace (00 adds a new key set), P2 = first key
 * identifier with b8 = 1 when several keys follow. Data: new version ‖ components, each
 * type ‖ length ‖ [AES: key length ‖] encrypted key ‖ KCV length ‖ KCV.
 */
export function putKeyCommand(newVersion: number, components: readonly PutKeyComponent[], options: { replaceVersion?: number; keyId?: number } = {}): CommandApdu {
  if (!Number.isInteger(newVersion) || newVersion < 1 || newVersion > 0x7f) throw new RangeError(`put key: new key version must be 01..7F, got ${String(newVersion)}`);
  const replace = options.replaceVersion ?? 0;
  // FF is the initial (factory) key set of many cards; it can be replaced, never created.
  if (!Number.isInteger(replace) || replace < 0 || replace > 0xff) throw new RangeError(`put key: the version to replace must be 00..FF, got ${String(replace)}`);
  const keyId = options.keyId ?? 1;
  if (!Number.isInteger(keyId) || keyId < 0 || keyId > 0x7f) throw new RangeError(`put key: key identifier must be 00..7F, got ${String(keyId)}`);
  if (components.length === 0) throw new RangeError('put key: no key to put');
  const fields = components.map((c) => {
    const body = c.type === 0x88 ? concat(Uint8Array.of(c.keyLength), c.encrypted) : c.encrypted;
    return concat(Uint8Array.of(c.type, body.length), body, Uint8Array.of(c.kcv.length), c.kcv);
  });
  return apdu(0x80, 0xd8, replace, keyId | (components.length > 1 ? 0x80 : 0x00), concat(Uint8Array.of(newVersion), ...fields), LE);
}

/** SET STATUS (GP 2.3.1 §11.10): P1 80 card (ISD) life cycle, 40 an application or SD, 60 an SD and its applications. */
export function setStatusCommand(p1: 0x80 | 0x40 | 0x60, state: number, aid?: Uint8Array): CommandApdu {
  if (!Number.isInteger(state) || state < 0 || state > 0xff) throw new RangeError(`set status: state must be 00..FF, got ${String(state)}`);
  if (aid) checkAid(aid, 'set status: AID');
  return apdu(0x80, 0xf0, p1, state, aid ?? EMPTY);
}

export const CARD_STATES = Object.freeze({ secured: 0x0f, locked: 0x7f, terminated: 0xff });

/** STORE DATA P1 (GP 2.3.1 Table 11-92; EMV CPS v1.1 §4.3): b8 last block, b7–b6 encryption, b5–b4 data structure. */
export const STORE_DATA = Object.freeze({
  last: 0x80,
  noEncryption: 0x00,
  applicationEncryption: 0x20,
  encrypted: 0x60,
  structureNone: 0x00,
  structureDgi: 0x08,
  structureBerTlv: 0x10,
});

export function storeDataCommand(p1: number, blockNumber: number, data: Uint8Array): CommandApdu {
  if (!Number.isInteger(blockNumber) || blockNumber < 0 || blockNumber > 0xff) {
    throw new RangeError(`store data: block number must be 00..FF, got ${String(blockNumber)} (more than 256 STORE DATA commands for one application)`);
  }
  // Case 3: P1 b1 = 0 says no response data is expected (GP 2.3.1 Table 11-92), as CPS cards want.
  return apdu(0x80, 0xe2, p1, blockNumber, data);
}
