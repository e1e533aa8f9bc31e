// The GlobalPlatform Registry of the simulated card (GP Card Specification 2.3.1 chapter 5 life
// cycles, the privileges table, §11.4 GET STATUS): Executable Load Files with their Executable Modules,
// Applications and Security Domains, and the encodings GET STATUS returns for them.
import { concat } from '../../bytes/index.js';
import { buildTlv } from '../../iso7816/index.js';
import { sameAid, startsWith } from './util.js';

/** Card life cycle states (GP 2.3.1 §5.1). */
export const CARD_LIFE_CYCLE = {
  OP_READY: 0x01,
  INITIALIZED: 0x07,
  SECURED: 0x0f,
  CARD_LOCKED: 0x7f,
  TERMINATED: 0xff,
} as const;
export type CardLifeCycleName = keyof typeof CARD_LIFE_CYCLE;

/** Executable Load File: LOADED (GP 2.3.1 chapter 5). */
export const ELF_LOADED = 0x01;

/** Application and Security Domain life cycle states (GP 2.3.1 chapter 5). LOCKED sets b8 and keeps the rest. */
export const APP_LIFE_CYCLE = {
  INSTALLED: 0x03,
  SELECTABLE: 0x07,
  SD_PERSONALIZED: 0x0f,
  LOCKED_BIT: 0x80,
} as const;

/** Privilege bits, byte 1 (GP 2.3.1 privileges coding). */
export const PRIV = {
  SECURITY_DOMAIN: 0x80,
  DAP_VERIFICATION: 0x40,
  DELEGATED_MANAGEMENT: 0x20,
  CARD_LOCK: 0x10,
  CARD_TERMINATE: 0x08,
  CARD_RESET: 0x04,
  CVM_MANAGEMENT: 0x02,
  MANDATED_DAP: 0x01,
} as const;

/**
 * ISD privileges: Security Domain, Card Lock, Card Terminate, Card Reset, CVM Management; byte 2:
 * Trusted Path, Authorized Management, Token Verification, Global Delete, Global Lock, Global
 * Registry, Final Application; byte 3: Receipt Generation.
 */
export const ISD_PRIVILEGES = Uint8Array.of(0x9e, 0xfe, 0x80);

export interface LoadFileEntry {
  aid: Uint8Array;
  /** Package version from the CAP Header component; undefined for built-in files. */
  version: { major: number; minor: number } | undefined;
  /** Associated Security Domain. */
  sd: Uint8Array;
  modules: Uint8Array[];
  /** Bytes of the Load File Data Block (counted against the card's memory). */
  size: number;
  /** Built in at the factory (like ROM packages): never deleted. */
  builtin: boolean;
}

export interface AppEntry {
  aid: Uint8Array;
  loadFile: Uint8Array;
  module: Uint8Array;
  lifeCycle: number;
  privileges: Uint8Array;
  /** Associated Security Domain. */
  sd: Uint8Array;
}

export function isSd(app: AppEntry): boolean {
  return (app.privileges[0]! & PRIV.SECURITY_DOMAIN) !== 0;
}

export function isLocked(app: AppEntry): boolean {
  return (app.lifeCycle & APP_LIFE_CYCLE.LOCKED_BIT) !== 0;
}

/** Selectable: reached SELECTABLE (b3 set, i.e. 07 or an application-specific state) and not locked. */
export function isSelectable(app: AppEntry): boolean {
  return !isLocked(app) && (app.lifeCycle & 0x07) === 0x07;
}

export interface Registry {
  loadFiles: LoadFileEntry[];
  apps: AppEntry[];
}

export function findLoadFile(r: Registry, aid: Uint8Array): LoadFileEntry | undefined {
  return r.loadFiles.find((e) => sameAid(e.aid, aid));
}

export function findApp(r: Registry, aid: Uint8Array): AppEntry | undefined {
  return r.apps.find((e) => sameAid(e.aid, aid));
}

/** One GET STATUS entry, already encoded in the requested format. */
export type StatusEntry = Uint8Array;

export interface IsdStatus {
  aid: Uint8Array;
  lifeCycle: number;
}

/**
 * Entries for GET STATUS P1 (80 ISD, 40 applications and SDs, 20 load files, 10 load files and
 * modules) whose AID starts with `prefix`, in the tag format (P2 b2 = 1, GP 2.3.1 GET STATUS response:
 * E3 { 4F, 9F70, C5, C4, CE, 84…, CC }) or the legacy format (AID length ‖ AID ‖ life cycle ‖
 * privileges (1 byte) [‖ module count ‖ (length ‖ AID)…]).
 */
export function statusEntries(r: Registry, isd: IsdStatus, p1: number, prefix: Uint8Array, tagFormat: boolean): StatusEntry[] {
  const out: StatusEntry[] = [];
  if (p1 === 0x80) {
    if (startsWith(isd.aid, prefix)) {
      out.push(
        tagFormat
          ? buildTlv(0xe3, [buildTlv(0x4f, isd.aid), buildTlv(0x9f70, Uint8Array.of(isd.lifeCycle)), buildTlv(0xc5, ISD_PRIVILEGES)])
          : concat(Uint8Array.of(isd.aid.length), isd.aid, Uint8Array.of(isd.lifeCycle, ISD_PRIVILEGES[0]!)),
      );
    }
  } else if (p1 === 0x40) {
    for (const app of r.apps) {
      if (!startsWith(app.aid, prefix)) continue;
      out.push(
        tagFormat
          ? buildTlv(0xe3, [
              buildTlv(0x4f, app.aid),
              buildTlv(0x9f70, Uint8Array.of(app.lifeCycle)),
              buildTlv(0xc5, app.privileges),
              buildTlv(0xc4, app.loadFile),
              buildTlv(0xcc, app.sd),
            ])
          : concat(Uint8Array.of(app.aid.length), app.aid, Uint8Array.of(app.lifeCycle, app.privileges[0]!)),
      );
    }
  } else {
    const withModules = p1 === 0x10;
    for (const lf of r.loadFiles) {
      if (!startsWith(lf.aid, prefix)) continue;
      if (tagFormat) {
        const parts = [buildTlv(0x4f, lf.aid), buildTlv(0x9f70, Uint8Array.of(ELF_LOADED))];
        if (lf.version) parts.push(buildTlv(0xce, Uint8Array.of(lf.version.major, lf.version.minor)));
        if (withModules) for (const m of lf.modules) parts.push(buildTlv(0x84, m));
        parts.push(buildTlv(0xcc, lf.sd));
        out.push(buildTlv(0xe3, parts));
      } else {
        const head = concat(Uint8Array.of(lf.aid.length), lf.aid, Uint8Array.of(ELF_LOADED, 0x00));
        out.push(withModules ? concat(head, Uint8Array.of(lf.modules.length), ...lf.modules.map((m) => concat(Uint8Array.of(m.length), m))) : head);
      }
    }
  }
  return out;
}
