// What GET DATA and SELECT tell about a GP card (GP Card Specification 2.3.1 §H.2 card recognition
// data, §11.3.3.1 key information template, §11.9.3 FCI of a security domain; the CPLC layout is
// the one of the Visa GlobalPlatform Card Implementation Requirements that all GP tools decode).
import { toHex } from '../bytes/index.js';
import { buildTlv, findTlv, parseTlv, type TlvNode } from '../iso7816/index.js';
import { GpDataError } from './errors.js';

export interface CplcDate {
  /** The 2 bytes as sent, YDDD in BCD: last digit of the year, day of the year. */
  raw: string;
  /** The calendar date, taking the latest year ending in Y that is not after the reference year. */
  date: string | undefined;
}

export interface Cplc {
  icFabricator: string;
  icType: string;
  operatingSystemId: string;
  operatingSystemReleaseDate: CplcDate;
  operatingSystemReleaseLevel: string;
  icFabricationDate: CplcDate;
  icSerialNumber: string;
  icBatchIdentifier: string;
  icModuleFabricator: string;
  icModulePackagingDate: CplcDate;
  iccManufacturer: string;
  icEmbeddingDate: CplcDate;
  icPrePersonalizer: string;
  icPrePersonalizationDate: CplcDate;
  icPrePersonalizationEquipmentId: string;
  icPersonalizer: string;
  icPersonalizationDate: CplcDate;
  icPersonalizationEquipmentId: string;
}

// Field name, length, date?
const CPLC_FIELDS: readonly [keyof Cplc, number, boolean][] = [
  ['icFabricator', 2, false],
  ['icType', 2, false],
  ['operatingSystemId', 2, false],
  ['operatingSystemReleaseDate', 2, true],
  ['operatingSystemReleaseLevel', 2, false],
  ['icFabricationDate', 2, true],
  ['icSerialNumber', 4, false],
  ['icBatchIdentifier', 2, false],
  ['icModuleFabricator', 2, false],
  ['icModulePackagingDate', 2, true],
  ['iccManufacturer', 2, false],
  ['icEmbeddingDate', 2, true],
  ['icPrePersonalizer', 2, false],
  ['icPrePersonalizationDate', 2, true],
  ['icPrePersonalizationEquipmentId', 4, false],
  ['icPersonalizer', 2, false],
  ['icPersonalizationDate', 2, true],
  ['icPersonalizationEquipmentId', 4, false],
];

export const CPLC_LENGTH = 42;

export function decodeCplcDate(bytes: Uint8Array, referenceYear: number): CplcDate {
  const raw = toHex(bytes);
  if (!/^\d{4}$/.test(raw)) return { raw, date: undefined };
  const y = Number(raw[0]);
  const day = Number(raw.slice(1));
  if (day < 1 || day > 366) return { raw, date: undefined };
  let year = referenceYear - ((referenceYear - y) % 10 + 10) % 10;
  const leap = (n: number) => (n % 4 === 0 && n % 100 !== 0) || n % 400 === 0;
  if (day === 366 && !leap(year)) year -= 10;
  if (day === 366 && !leap(year)) return { raw, date: undefined };
  const d = new Date(Date.UTC(year, 0, day));
  return { raw, date: d.toISOString().slice(0, 10) };
}

/** GET DATA 9F7F answer: with or without its 9F7F 2A wrapper. */
export function decodeCplc(data: Uint8Array, referenceYear = new Date().getUTCFullYear()): Cplc {
  let body = data;
  if (data.length >= 3 && data[0] === 0x9f && data[1] === 0x7f) body = data.subarray(3, 3 + data[2]!);
  if (body.length < CPLC_LENGTH) throw new GpDataError(`cplc: ${body.length} bytes, the CPLC has ${CPLC_LENGTH}`);
  const out: Record<string, string | CplcDate> = {};
  let i = 0;
  for (const [name, n, isDate] of CPLC_FIELDS) {
    const v = body.subarray(i, i + n);
    out[name] = isDate ? decodeCplcDate(v, referenceYear) : toHex(v);
    i += n;
  }
  return out as unknown as Cplc;
}

export interface CardRecognitionData {
  /** From OID 1.2.840.114283.2.v.v.v, e.g. "2.1.1". */
  gpVersion?: string;
  /** Each 1.2.840.114283.4.scp.i entry. */
  scps: { scp: number; i: number }[];
  cardIdentificationScheme?: string;
  configurationDetails?: string;
  chipDetails?: string;
}

const GP_OID = '2A864886FC6B';

function oidTail(node: TlvNode | undefined, arc: number): Uint8Array | undefined {
  const oid = node?.children?.find((c) => c.tag === 0x06)?.value;
  if (!oid) return undefined;
  const hex = toHex(oid);
  const prefix = GP_OID + arc.toString(16).toUpperCase().padStart(2, '0');
  return hex.startsWith(prefix) ? oid.subarray(prefix.length / 2) : undefined;
}

/** GET DATA 66 (or the 73 template of an ISD's FCI). */
export function decodeCardRecognitionData(data: Uint8Array): CardRecognitionData {
  let nodes: TlvNode[];
  try {
    nodes = parseTlv(data);
  } catch (e) {
    throw new GpDataError(`card recognition data: not valid TLV (${(e as Error).message})`);
  }
  const t73 = findTlv(nodes, [0x66, 0x73]) ?? findTlv(nodes, [0x73]);
  if (!t73?.children) throw new GpDataError('card recognition data: no 73 template');
  const out: CardRecognitionData = { scps: [] };
  for (const c of t73.children) {
    if (c.tag === 0x60) {
      const v = oidTail(c, 2);
      if (v) out.gpVersion = [...v].join('.');
    } else if (c.tag === 0x63) {
      const oid = c.children?.find((x) => x.tag === 0x06)?.value;
      if (oid) out.cardIdentificationScheme = toHex(oid);
    } else if (c.tag === 0x64) {
      const v = oidTail(c, 4);
      if (v && v.length >= 2) out.scps.push({ scp: v[0]!, i: v[1]! });
    } else if (c.tag === 0x65) out.configurationDetails = toHex(c.value);
    else if (c.tag === 0x66) out.chipDetails = toHex(c.value);
  }
  return out;
}

export const KEY_TYPE_NAMES: Readonly<Record<number, string>> = Object.freeze({
  0x80: 'DES',
  0x81: 'reserved (Triple DES)',
  0x82: 'Triple DES in CBC mode',
  0x83: 'DES in ECB mode',
  0x84: 'DES in CBC mode',
  0x85: 'TLS pre-shared key',
  0x88: 'AES',
  0x90: 'HMAC-SHA1',
  0x91: 'HMAC-SHA1-160',
  0xa0: 'RSA public exponent',
  0xa1: 'RSA modulus',
  0xa2: 'RSA private modulus',
  0xa3: 'RSA private exponent',
  0xa4: 'RSA CRT P',
  0xa5: 'RSA CRT Q',
  0xa6: 'RSA CRT PQ',
  0xa7: 'RSA CRT DP1',
  0xa8: 'RSA CRT DQ1',
  0xb0: 'ECC public key',
  0xb1: 'ECC private key',
  0xb2: 'ECC field parameter P',
  0xf0: 'ECC key parameters reference',
});

export interface KeyInfo {
  id: number;
  version: number;
  components: { type: number; typeName: string; length: number }[];
}

/** GET DATA 00E0: E0 { C0 (key id, version, (type, length)*)* }, basic or extended (FF) format. */
export function decodeKeyInformation(data: Uint8Array): KeyInfo[] {
  let nodes: TlvNode[];
  try {
    nodes = parseTlv(data);
  } catch (e) {
    throw new GpDataError(`key information template: not valid TLV (${(e as Error).message})`);
  }
  const e0 = nodes.find((n) => n.tag === 0xe0);
  const list = e0?.children ?? nodes;
  const out: KeyInfo[] = [];
  for (const c of list) {
    if (c.tag !== 0xc0) continue;
    const v = c.value;
    if (v.length < 2) throw new GpDataError(`key information: a C0 entry at offset ${c.offset} has ${v.length} bytes`);
    const info: KeyInfo = { id: v[0]!, version: v[1]!, components: [] };
    let i = 2;
    while (i < v.length) {
      if (v[i] === 0xff) {
        // Extended format: FF type length(2); key usage and access may follow the components.
        if (i + 4 > v.length) break;
        const type = v[i + 1]!;
        info.components.push({ type, typeName: KEY_TYPE_NAMES[type] ?? `type ${toHex(Uint8Array.of(type))}`, length: (v[i + 2]! << 8) | v[i + 3]! });
        i += 4;
        if (i < v.length && v[i] !== 0xff) break;
      } else {
        if (i + 2 > v.length) break;
        const type = v[i]!;
        info.components.push({ type, typeName: KEY_TYPE_NAMES[type] ?? `type ${toHex(Uint8Array.of(type))}`, length: v[i + 1]! });
        i += 2;
      }
    }
    out.push(info);
  }
  return out;
}

export interface SdFci {
  aid?: string;
  /** 9F65: the longest command data field the card accepts. */
  maxCommandDataLength?: number;
  cardRecognitionData?: CardRecognitionData;
  /** 9F6E application production life cycle data. */
  productionLifeCycle?: string;
}

/** The FCI a security domain returns to SELECT (6F { 84, A5 { 73, 9F6E, 9F65 } }); lenient. */
export function decodeSdFci(data: Uint8Array): SdFci {
  const out: SdFci = {};
  let nodes: TlvNode[];
  try {
    nodes = parseTlv(data, { padding: true });
  } catch {
    return out;
  }
  const fci = nodes.find((n) => n.tag === 0x6f);
  const aid = fci?.children?.find((n) => n.tag === 0x84);
  if (aid && aid.value.length > 0) out.aid = toHex(aid.value);
  const a5 = fci?.children?.find((n) => n.tag === 0xa5);
  for (const c of a5?.children ?? []) {
    if (c.tag === 0x9f65) out.maxCommandDataLength = c.value.reduce((a, b) => a * 256 + b, 0);
    else if (c.tag === 0x9f6e) out.productionLifeCycle = toHex(c.value);
    else if (c.tag === 0x73) {
      try {
        out.cardRecognitionData = decodeCardRecognitionData(buildTlv(0x73, c.value));
      } catch {
        // A card whose FCI recognition data is malformed still works; gp info shows GET DATA 66.
      }
    }
  }
  return out;
}
