// The card image: everything a real card keeps in non-volatile memory, as JSON (hex for bytes), so
// `sim serve --card gp --state FILE` can keep a card between runs. The format is cardsmith's own
// (docs/simulator-gp.md). An image holds the card's keys in clear, like the EEPROM it stands for:
// it is a test card's memory, never a place for production keys.
import { fromHex, toHex } from '../../bytes/index.js';
import type { KeyAlg, KeySet } from './keys.js';
import { keyLengthsFor } from './keys.js';
import { SeededRandom } from './random.js';
import { CARD_LIFE_CYCLE } from './registry.js';
import type { CardConfig, PersistentState } from './state.js';
import { isAidLength } from './util.js';
import { checkScp02I } from './scp02.js';
import { checkScp03I } from './scp03.js';
import { CardsmithError, type ErrorKind } from '../../errors/index.js';

export const IMAGE_FORMAT = 'cardsmith-gp-card';
export const IMAGE_VERSION = 1;

export interface GpCardImage {
  format: typeof IMAGE_FORMAT;
  version: typeof IMAGE_VERSION;
  scp: '02' | '03';
  i: number;
  isdAid: string;
  cplc: string;
  memory: number;
  authTryLimit: number;
  authFailures: number;
  lifeCycle: number;
  kdd: string;
  iin: string | null;
  cin: string | null;
  random: { seed: string; position: number };
  keySets: { version: number; counter: number; keys: { id: number; alg: KeyAlg; value: string }[] }[];
  loadFiles: { aid: string; version: string | null; sd: string; modules: string[]; size: number; builtin: boolean }[];
  applications: { aid: string; loadFile: string; module: string; lifeCycle: number; privileges: string; sd: string }[];
  storage: Record<string, Record<string, string>>;
}

/** A card image that cannot be read; `path` names the offending field (e.g. `keySets[0].keys[1].value`). */
export class GpImageError extends CardsmithError {
  override readonly name = 'GpImageError';
  readonly kind: ErrorKind = 'input';
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`gp card image: ${path}: ${problem}`);
  }
}

export function toImage(s: PersistentState): GpCardImage {
  const c = s.config;
  const storage: Record<string, Record<string, string>> = {};
  for (const [aid, fields] of [...s.storage.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const out: Record<string, string> = {};
    for (const [name, value] of [...fields.entries()].sort(([a], [b]) => a.localeCompare(b))) out[name] = toHex(value);
    storage[aid] = out;
  }
  return {
    format: IMAGE_FORMAT,
    version: IMAGE_VERSION,
    scp: c.scp,
    i: c.i,
    isdAid: toHex(c.isdAid),
    cplc: toHex(c.cplc),
    memory: c.memory,
    authTryLimit: c.authTryLimit,
    authFailures: s.authFailures,
    lifeCycle: s.lifeCycle,
    kdd: toHex(s.kdd),
    iin: s.iin ? toHex(s.iin) : null,
    cin: s.cin ? toHex(s.cin) : null,
    random: { seed: s.rng.seedText, position: s.rng.position },
    keySets: s.keySets.map((set) => ({ version: set.version, counter: set.counter, keys: set.keys.map((k) => ({ id: k.id, alg: k.alg, value: toHex(k.value) })) })),
    loadFiles: s.registry.loadFiles.map((lf) => ({
      aid: toHex(lf.aid),
      version: lf.version ? `${lf.version.major}.${lf.version.minor}` : null,
      sd: toHex(lf.sd),
      modules: lf.modules.map((m) => toHex(m)),
      size: lf.size,
      builtin: lf.builtin,
    })),
    applications: s.registry.apps.map((a) => ({
      aid: toHex(a.aid),
      loadFile: toHex(a.loadFile),
      module: toHex(a.module),
      lifeCycle: a.lifeCycle,
      privileges: toHex(a.privileges),
      sd: toHex(a.sd),
    })),
    storage,
  };
}

// --- reading, with a path for every complaint ---------------------------------------------

function obj(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new GpImageError(path, 'expected an object');
  return v as Record<string, unknown>;
}

function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new GpImageError(path, 'expected an array');
  return v;
}

function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new GpImageError(path, `expected an integer ${min}..${max}`);
  return v;
}

function str(v: unknown, path: string): string {
  if (typeof v !== 'string') throw new GpImageError(path, 'expected a string');
  return v;
}

function hex(v: unknown, path: string, check?: (n: number) => boolean, what = 'length'): Uint8Array {
  let b: Uint8Array;
  try {
    b = fromHex(str(v, path), path);
  } catch (e) {
    if (e instanceof GpImageError) throw e;
    throw new GpImageError(path, 'not valid hex');
  }
  if (check && !check(b.length)) throw new GpImageError(path, `bad ${what} (${b.length} bytes)`);
  return b;
}

const aid = (v: unknown, path: string): Uint8Array => hex(v, path, isAidLength, 'AID length');

const LIFE_CYCLES: readonly number[] = Object.values(CARD_LIFE_CYCLE);

/** Reads and checks an image (object or JSON text). Throws GpImageError naming the field. */
export function fromImage(input: GpCardImage | string): PersistentState {
  let raw: unknown = input;
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input);
    } catch {
      throw new GpImageError('(root)', 'not valid JSON');
    }
  }
  const o = obj(raw, '(root)');
  if (o.format !== IMAGE_FORMAT) throw new GpImageError('format', `expected "${IMAGE_FORMAT}"`);
  if (o.version !== IMAGE_VERSION) throw new GpImageError('version', `expected ${IMAGE_VERSION}`);
  const scp = o.scp;
  if (scp !== '02' && scp !== '03') throw new GpImageError('scp', 'expected "02" or "03"');
  const i = int(o.i, 'i', 0, 0xff);
  const iProblem = scp === '02' ? checkScp02I(i) : checkScp03I(i);
  if (iProblem) throw new GpImageError('i', iProblem);
  const config: CardConfig = {
    scp,
    i,
    isdAid: aid(o.isdAid, 'isdAid'),
    cplc: hex(o.cplc, 'cplc', (n) => n === 42),
    memory: int(o.memory, 'memory', 0, 2 ** 31),
    authTryLimit: int(o.authTryLimit, 'authTryLimit', 0, 255),
  };
  const lifeCycle = int(o.lifeCycle, 'lifeCycle', 0, 0xff);
  if (!LIFE_CYCLES.includes(lifeCycle)) throw new GpImageError('lifeCycle', 'not a card life cycle state');
  const rnd = obj(o.random, 'random');
  const keyAlg = scp === '02' ? 'des3' : 'aes';
  const keySets: KeySet[] = arr(o.keySets, 'keySets').map((v, k) => {
    const p = `keySets[${k}]`;
    const set = obj(v, p);
    return {
      version: int(set.version, `${p}.version`, 1, 0xff),
      counter: int(set.counter, `${p}.counter`, 0, 0x1000000),
      keys: arr(set.keys, `${p}.keys`).map((kv, n) => {
        const kp = `${p}.keys[${n}]`;
        const key = obj(kv, kp);
        const alg = key.alg;
        if (alg !== 'des3' && alg !== 'aes') throw new GpImageError(`${kp}.alg`, 'expected "des3" or "aes"');
        if (alg !== keyAlg) throw new GpImageError(`${kp}.alg`, `an SCP${scp} card keeps ${keyAlg} keys`);
        return { id: int(key.id, `${kp}.id`, 1, 0x7f), alg, value: hex(key.value, `${kp}.value`, (len) => keyLengthsFor(alg).includes(len), 'key length') };
      }),
    };
  });
  const loadFiles = arr(o.loadFiles, 'loadFiles').map((v, k) => {
    const p = `loadFiles[${k}]`;
    const lf = obj(v, p);
    let version: { major: number; minor: number } | undefined;
    if (lf.version !== null) {
      const m = /^(\d{1,3})\.(\d{1,3})$/.exec(str(lf.version, `${p}.version`));
      if (!m || Number(m[1]) > 255 || Number(m[2]) > 255) throw new GpImageError(`${p}.version`, 'expected "major.minor" or null');
      version = { major: Number(m[1]), minor: Number(m[2]) };
    }
    if (typeof lf.builtin !== 'boolean') throw new GpImageError(`${p}.builtin`, 'expected true or false');
    return {
      aid: aid(lf.aid, `${p}.aid`),
      version,
      sd: aid(lf.sd, `${p}.sd`),
      modules: arr(lf.modules, `${p}.modules`).map((m, n) => aid(m, `${p}.modules[${n}]`)),
      size: int(lf.size, `${p}.size`, 0, 2 ** 31),
      builtin: lf.builtin,
    };
  });
  const apps = arr(o.applications, 'applications').map((v, k) => {
    const p = `applications[${k}]`;
    const a = obj(v, p);
    return {
      aid: aid(a.aid, `${p}.aid`),
      loadFile: aid(a.loadFile, `${p}.loadFile`),
      module: aid(a.module, `${p}.module`),
      lifeCycle: int(a.lifeCycle, `${p}.lifeCycle`, 0, 0xff),
      privileges: hex(a.privileges, `${p}.privileges`, (n) => n === 3),
      sd: aid(a.sd, `${p}.sd`),
    };
  });
  const storage = new Map<string, Map<string, Uint8Array>>();
  for (const [appAid, fields] of Object.entries(obj(o.storage, 'storage'))) {
    const p = `storage.${appAid}`;
    const map = new Map<string, Uint8Array>();
    for (const [name, value] of Object.entries(obj(fields, p))) map.set(name, hex(value, `${p}.${name}`));
    storage.set(toHex(aid(appAid, p)), map);
  }
  return {
    config,
    lifeCycle,
    kdd: hex(o.kdd, 'kdd', (n) => n === 10),
    iin: o.iin === null ? undefined : hex(o.iin, 'iin', (n) => n >= 1 && n <= 16),
    cin: o.cin === null ? undefined : hex(o.cin, 'cin', (n) => n >= 1 && n <= 16),
    keySets,
    registry: { loadFiles, apps },
    storage,
    authFailures: int(o.authFailures, 'authFailures', 0, 2 ** 31),
    rng: new SeededRandom(str(rnd.seed, 'random.seed'), int(rnd.position, 'random.position', 0, Number.MAX_SAFE_INTEGER)),
  };
}
