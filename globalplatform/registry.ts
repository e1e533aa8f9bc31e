// The GP registry as GET STATUS returns it (GP Card Specification 2.3.1 §11.4): the tag format
// (P2 b2 = 1: E3 templates with 4F AID, 9F70 life cycle, C5 privileges, C4 load file AID,
// CE version, 84 module AIDs, CC associated SD) and the older fixed format (P2 = 00). Life cycle
// states (§5.1, §5.3, Tables 11-5 … 11-7) and privileges (§6.6, Table 6-1) are decoded to names.
import { toHex } from '../bytes/index.js';
import { parseTlv, type TlvNode } from '../iso7816/index.js';
import { GpDataError } from './errors.js';

export type RegistryKind = 'isd' | 'application' | 'load-file';

/** GET STATUS P1 per kind of entry asked for. */
export const GET_STATUS_P1 = Object.freeze({ isd: 0x80, applications: 0x40, loadFiles: 0x20, loadFilesAndModules: 0x10 });

export interface RegistryEntry {
  kind: RegistryKind;
  aid: string;
  lifeCycle: number;
  lifeCycleName: string;
  /** 1 or 3 bytes as the card sent them; empty for load files. */
  privileges: string;
  privilegeNames: string[];
  /** C4: the executable load file an application was installed from. */
  loadFile?: string;
  /** CE: load file version, e.g. "1.0". */
  version?: string;
  /** 84: executable modules (applet classes) of a load file. */
  modules?: string[];
  /** CC: the security domain the entry is associated with. */
  associatedSd?: string;
  /** Data objects this decoder does not know, as hex. */
  other?: Record<string, string>;
}

// Table 6-1; b7/b6/b1 of byte 1 only mean something on a security domain (b8 set).
const PRIVILEGES: readonly [number, number, string][] = [
  [0, 0x80, 'SecurityDomain'],
  [0, 0x40, 'DAPVerification'],
  [0, 0x20, 'DelegatedManagement'],
  [0, 0x10, 'CardLock'],
  [0, 0x08, 'CardTerminate'],
  [0, 0x04, 'CardReset'],
  [0, 0x02, 'CVMManagement'],
  [0, 0x01, 'MandatedDAPVerification'],
  [1, 0x80, 'TrustedPath'],
  [1, 0x40, 'AuthorizedManagement'],
  [1, 0x20, 'TokenVerification'],
  [1, 0x10, 'GlobalDelete'],
  [1, 0x08, 'GlobalLock'],
  [1, 0x04, 'GlobalRegistry'],
  [1, 0x02, 'FinalApplication'],
  [1, 0x01, 'GlobalService'],
  [2, 0x80, 'ReceiptGeneration'],
  [2, 0x40, 'CipheredLoadFileDataBlock'],
  [2, 0x20, 'ContactlessActivation'],
  [2, 0x10, 'ContactlessSelfActivation'],
];

export const PRIVILEGE_NAMES: readonly string[] = PRIVILEGES.map(([, , n]) => n);

export function decodePrivileges(bytes: Uint8Array): string[] {
  return PRIVILEGES.filter(([i, bit]) => ((bytes[i] ?? 0) & bit) !== 0).map(([, , n]) => n);
}

/** Names (any case, with or without separators) → 3 privilege bytes; RangeError lists the names. */
export function encodePrivileges(names: readonly string[]): Uint8Array {
  const out = new Uint8Array(3);
  const norm = (s: string) => s.toLowerCase().replace(/[^a-z]/g, '');
  for (const name of names) {
    const hit = PRIVILEGES.find(([, , n]) => norm(n) === norm(name));
    if (!hit) throw new RangeError(`privileges: unknown privilege '${name}' (known: ${PRIVILEGE_NAMES.join(', ')})`);
    out[hit[0]]! |= hit[1];
  }
  return out;
}

export function cardLifeCycleName(state: number): string {
  switch (state) {
    case 0x01:
      return 'OP_READY';
    case 0x07:
      return 'INITIALIZED';
    case 0x0f:
      return 'SECURED';
    case 0x7f:
      return 'CARD_LOCKED';
    case 0xff:
      return 'TERMINATED';
    default:
      return `unknown card state ${toHex(Uint8Array.of(state))}`;
  }
}

export function applicationLifeCycleName(state: number, securityDomain: boolean): string {
  const locked = (state & 0x80) !== 0;
  const base = state & 0x7f;
  let name: string;
  if (base === 0x03) name = 'INSTALLED';
  else if (base === 0x07) name = 'SELECTABLE';
  else if (securityDomain && base === 0x0f) name = 'PERSONALIZED';
  else if ((base & 0x07) === 0x07) name = `SELECTABLE, application-specific state ${toHex(Uint8Array.of(base))}`;
  else name = `unknown state ${toHex(Uint8Array.of(state))}`;
  return locked ? `LOCKED (${name})` : name;
}

export function lifeCycleName(kind: RegistryKind, state: number, securityDomain: boolean): string {
  if (kind === 'isd') return cardLifeCycleName(state);
  if (kind === 'load-file') return state === 0x01 ? 'LOADED' : `unknown load file state ${toHex(Uint8Array.of(state))}`;
  return applicationLifeCycleName(state, securityDomain);
}

/** Tag-format GET STATUS response data (all E3 templates of one or more responses, concatenated). */
export function parseStatusTags(data: Uint8Array, kind: RegistryKind): RegistryEntry[] {
  let nodes: TlvNode[];
  try {
    nodes = parseTlv(data);
  } catch (e) {
    throw new GpDataError(`get status: the card's answer is not valid TLV (${(e as Error).message})`);
  }
  const out: RegistryEntry[] = [];
  for (const node of nodes) {
    if (node.tag !== 0xe3 || !node.children) throw new GpDataError(`get status: expected E3 templates, found tag ${toHex(node.tagBytes)} at offset ${node.offset}`);
    let aid: Uint8Array | undefined;
    let lc = 0;
    let privileges: Uint8Array = new Uint8Array(0);
    const entry: Partial<RegistryEntry> = {};
    const other: Record<string, string> = {};
    const modules: string[] = [];
    for (const c of node.children) {
      switch (c.tag) {
        case 0x4f:
          aid = c.value;
          break;
        case 0x9f70:
          lc = c.value[0] ?? 0;
          break;
        case 0xc5:
          privileges = c.value;
          break;
        case 0xc4:
          entry.loadFile = toHex(c.value);
          break;
        case 0xce:
          entry.version = [...c.value].join('.');
          break;
        case 0x84:
          modules.push(toHex(c.value));
          break;
        case 0xcc:
          entry.associatedSd = toHex(c.value);
          break;
        default:
          other[toHex(c.tagBytes)] = toHex(c.value);
      }
    }
    if (!aid) throw new GpDataError(`get status: an E3 template at offset ${node.offset} has no AID (4F)`);
    const sd = ((privileges[0] ?? 0) & 0x80) !== 0 || kind === 'isd';
    out.push({
      kind,
      aid: toHex(aid),
      lifeCycle: lc,
      lifeCycleName: lifeCycleName(kind, lc, sd),
      privileges: toHex(privileges),
      privilegeNames: decodePrivileges(privileges),
      ...entry,
      ...(modules.length ? { modules } : {}),
      ...(Object.keys(other).length ? { other } : {}),
    });
  }
  return out;
}

/**
 * The fixed format (P2 = 00): AID length ‖ AID ‖ life cycle ‖ privileges, and with P1 = 10 a count
 * of modules ‖ (length ‖ AID)* after each load file.
 */
export function parseStatusLegacy(data: Uint8Array, kind: RegistryKind, withModules: boolean): RegistryEntry[] {
  const out: RegistryEntry[] = [];
  let i = 0;
  const need = (n: number, what: string) => {
    if (i + n > data.length) throw new GpDataError(`get status: ${what} at offset ${i} runs past the end of the answer`);
  };
  while (i < data.length) {
    need(1, 'AID length');
    const n = data[i]!;
    need(1 + n + 2, 'entry');
    const aid = data.slice(i + 1, i + 1 + n);
    const lc = data[i + 1 + n]!;
    // The privileges byte is there for load files too (00); it means nothing for them.
    const privileges = kind === 'load-file' ? new Uint8Array(0) : data.slice(i + 2 + n, i + 3 + n);
    i += 3 + n;
    const entry: RegistryEntry = {
      kind,
      aid: toHex(aid),
      lifeCycle: lc,
      lifeCycleName: lifeCycleName(kind, lc, ((privileges[0] ?? 0) & 0x80) !== 0),
      privileges: toHex(privileges),
      privilegeNames: decodePrivileges(privileges),
    };
    if (withModules) {
      need(1, 'module count');
      const count = data[i++]!;
      const modules: string[] = [];
      for (let k = 0; k < count; k++) {
        need(1, 'module AID length');
        const m = data[i]!;
        need(1 + m, 'module AID');
        modules.push(toHex(data.subarray(i + 1, i + 1 + m)));
        i += 1 + m;
      }
      entry.modules = modules;
    }
    out.push(entry);
  }
  return out;
}
