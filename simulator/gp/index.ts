// The simulated GlobalPlatform card: an Issuer Security Domain with the card life
// cycle, key sets, SCP02 / SCP03 card side, the GP registry with LOAD / INSTALL / DELETE, PUT KEY,
// SET STATUS, STORE DATA, GET STATUS and GET DATA, and an applet host with a built-in EMV CPS data
// store applet. Specifications: GP Card Specification 2.3.1 (+ Amendment D for SCP03), GP 2.2
// Appendix E for SCP02, EMV CPS 1.1 for STORE DATA; docs/simulator-gp.md lists what the card does
// where they are silent. Written from the specifications, independently of the host side
// (channels/, globalplatform/), so that each catches the other's mistakes.
import { abytes, concat, fromHex } from '../../bytes/index.js';
import { GpCard } from './card.js';
import { CPS_APPLET, CPS_MODULE_AID, CPS_PACKAGE_AID } from './cps-applet.js';
import { fromImage, toImage, type GpCardImage } from './image.js';
import { DEFAULT_TEST_KEY, diversifyKeys, FACTORY_KEY_VERSION, keyLengthsFor, makeKeySet, type DiversificationMethod, type StaticKeys } from './keys.js';
import { SeededRandom, type RandomSource } from './random.js';
import { CARD_LIFE_CYCLE, type CardLifeCycleName } from './registry.js';
import { checkScp02I } from './scp02.js';
import { checkScp03I } from './scp03.js';
import type { PersistentState } from './state.js';
import { SSD_MODEL, SSD_MODULE_AID, SSD_PACKAGE_AID, type AppletModelEntry } from './applet.js';
import { isAidLength } from './util.js';

export { GpCard, ATR_CONTACT, ATR_CONTACTLESS } from './card.js';
export { GpImageError, IMAGE_FORMAT, IMAGE_VERSION } from './image.js';
export type { GpCardImage } from './image.js';
export { AppletException, INERT_APPLET, SSD_MODEL, SSD_MODULE_AID, SSD_PACKAGE_AID } from './applet.js';
export type { Applet, AppletCommand, AppletContext, AppletModel, AppletModelEntry, AppletResponse, AppletStorage, PersonalizationContext } from './applet.js';
export { CPS_APPLET, CPS_MODULE_AID, CPS_PACKAGE_AID } from './cps-applet.js';
export { APP_LIFE_CYCLE, CARD_LIFE_CYCLE, ISD_PRIVILEGES, PRIV } from './registry.js';
export type { CardLifeCycleName } from './registry.js';
export { DEFAULT_TEST_KEY, FACTORY_KEY_VERSION } from './keys.js';
export type { DiversificationMethod, StaticKeys } from './keys.js';
export type { RandomSource } from './random.js';

/** GlobalPlatform's ISD AID (GP 2.3.1, the AID GlobalPlatform reserves for the ISD): A0 00 00 01 51 00 00 00. */
export const GP_ISD_AID = fromHex('A000000151000000');
/** Default i: SCP02 i=55 (3 keys, ICV encryption, pseudo-random challenge); SCP03 i=70 (pseudo-random, R-MAC, R-ENC). */
export const DEFAULT_I = { '02': 0x55, '03': 0x70 } as const;
/** Bytes for load files and applet fields when not configured. */
export const DEFAULT_MEMORY = 256 * 1024;

export interface GpCardOptions {
  /** Seed of the card's random source (card challenges, serial number, CIN). Default 0. */
  seed?: number | string;
  scp?: '02' | '03';
  /** SCP "i" parameter; default DEFAULT_I[scp]. */
  i?: number;
  /** Static keys of the factory key set: one key for ENC, MAC and DEK, or three. Default 40 41 … 4F. */
  keys?: Uint8Array | StaticKeys;
  /** Version of the factory key set; default FF. */
  keyVersion?: number;
  /** Derive the factory keys from a master key (KMC) and the card's KDD instead of `keys`. */
  diversification?: { method: DiversificationMethod; master: Uint8Array };
  isdAid?: Uint8Array;
  /** Key diversification data (10 bytes); default CPLC IC fabricator ‖ IC type ‖ IC serial ‖ IC batch. */
  kdd?: Uint8Array;
  /** Sequence counter the first INITIALIZE UPDATE uses; default 0. */
  sequenceCounter?: number;
  /** Card life cycle at creation; default SECURED. */
  lifeCycle?: CardLifeCycleName;
  iin?: Uint8Array;
  cin?: Uint8Array;
  memory?: number;
  /** Failed EXTERNAL AUTHENTICATEs in a row after which INITIALIZE UPDATE answers 6983; 0 (default) = never. */
  authTryLimit?: number;
  /** Restore a saved card (JSON text or the parsed object); excludes the configuration options above. */
  image?: GpCardImage | string;
  /** Replaces the card's seeded random source for this run (e.g. to replay a published card challenge). */
  random?: RandomSource;
  /** Applet models in addition to the built-in ones (CPS data store, SSD); looked up first. */
  appletModels?: readonly AppletModelEntry[];
}

const CONFIG_OPTIONS = [
  'seed',
  'scp',
  'i',
  'keys',
  'keyVersion',
  'diversification',
  'isdAid',
  'kdd',
  'sequenceCounter',
  'lifeCycle',
  'iin',
  'cin',
  'memory',
  'authTryLimit',
] as const;

/** The built-in applet models: the CPS data store under its test package, and the SSD module. */
export function builtInAppletModels(): AppletModelEntry[] {
  return [
    { moduleAid: CPS_MODULE_AID, packageAid: CPS_PACKAGE_AID, model: CPS_APPLET },
    { moduleAid: SSD_MODULE_AID, packageAid: SSD_PACKAGE_AID, model: SSD_MODEL },
  ];
}

function bad(message: string): never {
  throw new RangeError(`createGpCard: ${message}`);
}

function checkInt(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(`${what} must be an integer ${min}..${max}`);
  return v;
}

/**
 * CPLC (GET DATA 9F7F: the 42-byte Card Production Life Cycle data, fields as GP 2.3.1 lists them): cardsmith values, with the IC
 * serial number and batch from the seed. Dates are YDDD in BCD.
 */
function makeCplc(serial: Uint8Array, batch: Uint8Array): Uint8Array {
  const cs = Uint8Array.of(0x43, 0x53); // "CS" for cardsmith as fabricator, OS and personalizer ids
  return concat(
    cs, // IC fabricator
    Uint8Array.of(0x47, 0x50), // IC type "GP"
    cs, // operating system identifier
    Uint8Array.of(0x50, 0x01), // OS release date 2025-001
    Uint8Array.of(0x01, 0x00), // OS release level
    Uint8Array.of(0x50, 0x10), // IC fabrication date
    serial, // IC serial number (4)
    batch, // IC batch identifier (2)
    cs, // IC module fabricator
    Uint8Array.of(0x50, 0x20), // IC module packaging date
    cs, // ICC manufacturer
    Uint8Array.of(0x50, 0x30), // IC embedding date
    cs, // IC pre-personalizer
    Uint8Array.of(0x50, 0x40), // IC pre-perso equipment date
    Uint8Array.of(0x00, 0x00, 0x00, 0x01), // IC pre-perso equipment id
    Uint8Array.of(0x00, 0x00), // IC personalizer
    Uint8Array.of(0x00, 0x00), // IC personalization date
    Uint8Array.of(0x00, 0x00, 0x00, 0x00), // IC perso equipment id
  );
}

function newState(o: GpCardOptions): PersistentState {
  const scp = o.scp ?? '03';
  if (scp !== '02' && scp !== '03') bad(`scp must be '02' or '03'`);
  const i = o.i === undefined ? DEFAULT_I[scp] : checkInt(o.i, 'i', 0, 0xff);
  const iProblem = scp === '02' ? checkScp02I(i) : checkScp03I(i);
  if (iProblem) bad(`SCP${scp} ${iProblem}`);
  const alg = scp === '02' ? 'des3' : 'aes';
  const seed = o.seed === undefined ? '0' : typeof o.seed === 'number' || typeof o.seed === 'string' ? String(o.seed) : bad('seed must be a number or a string');
  const rng = new SeededRandom(seed);
  const drawn = rng.bytes(6);
  const serial = drawn.slice(0, 4);
  const batch = drawn.slice(4, 6);
  const cplc = makeCplc(serial, batch);
  const kdd = o.kdd !== undefined ? Uint8Array.from(abytes(o.kdd, 'createGpCard: kdd', 10)) : concat(cplc.subarray(0, 4), serial, batch);
  const cin = o.cin !== undefined ? Uint8Array.from(abytes(o.cin, 'createGpCard: cin')) : rng.bytes(8);
  const iin = o.iin !== undefined ? Uint8Array.from(abytes(o.iin, 'createGpCard: iin')) : Uint8Array.of(0x99, 0x99, 0x99);
  const isdAid = o.isdAid !== undefined ? Uint8Array.from(abytes(o.isdAid, 'createGpCard: isdAid')) : Uint8Array.from(GP_ISD_AID);
  if (!isAidLength(isdAid.length)) bad('isdAid must be 5 to 16 bytes');

  let keys: StaticKeys;
  if (o.diversification !== undefined) {
    if (o.keys !== undefined) bad('give keys or diversification, not both');
    const { method, master } = o.diversification;
    if (method !== 'emv' && method !== 'visa2' && method !== 'kdf3') bad(`diversification method must be emv, visa2 or kdf3`);
    if ((method === 'kdf3') !== (alg === 'aes')) bad(`${method} derives ${method === 'kdf3' ? 'AES' : '3DES'} keys, an SCP${scp} card needs ${alg === 'aes' ? 'AES' : '3DES'}`);
    keys = diversifyKeys(method, abytes(master, 'createGpCard: diversification.master'), kdd);
  } else if (o.keys === undefined || o.keys instanceof Uint8Array) {
    const k = o.keys ?? DEFAULT_TEST_KEY;
    keys = { enc: k, mac: k, dek: k };
  } else {
    keys = o.keys;
  }
  for (const [name, k] of Object.entries(keys)) {
    abytes(k, `createGpCard: keys.${name}`);
    if (!keyLengthsFor(alg).includes((k as Uint8Array).length)) bad(`keys.${name}: an SCP${scp} card needs ${alg} keys of ${keyLengthsFor(alg).join(', ')} bytes`);
  }
  const version = o.keyVersion === undefined ? FACTORY_KEY_VERSION : checkInt(o.keyVersion, 'keyVersion', 1, 0xff);
  const counter = o.sequenceCounter === undefined ? 0 : checkInt(o.sequenceCounter, 'sequenceCounter', 0, scp === '02' ? 0xffff : 0xffffff);
  const lifeCycleName = o.lifeCycle ?? 'SECURED';
  if (!Object.hasOwn(CARD_LIFE_CYCLE, lifeCycleName)) bad(`lifeCycle must be one of ${Object.keys(CARD_LIFE_CYCLE).join(', ')}`);

  return {
    config: {
      scp,
      i,
      isdAid,
      cplc,
      memory: o.memory === undefined ? DEFAULT_MEMORY : checkInt(o.memory, 'memory', 0, 2 ** 31),
      authTryLimit: o.authTryLimit === undefined ? 0 : checkInt(o.authTryLimit, 'authTryLimit', 0, 255),
    },
    lifeCycle: CARD_LIFE_CYCLE[lifeCycleName],
    kdd,
    iin,
    cin,
    keySets: [makeKeySet(version, alg, keys, counter)],
    registry: {
      loadFiles: [{ aid: Uint8Array.from(SSD_PACKAGE_AID), version: undefined, sd: isdAid, modules: [Uint8Array.from(SSD_MODULE_AID)], size: 0, builtin: true }],
      apps: [],
    },
    storage: new Map(),
    authFailures: 0,
    rng,
  };
}

/**
 * A simulated GlobalPlatform card. Powered off until powerOn(); process() never throws. Throws
 * RangeError / TypeError for bad options and GpImageError for an unreadable image.
 */
export function createGpCard(options: GpCardOptions = {}): GpCard {
  if (typeof options !== 'object' || options === null) throw new TypeError('createGpCard: expected an options object');
  let state: PersistentState;
  if (options.image !== undefined) {
    const extra = CONFIG_OPTIONS.filter((k) => options[k] !== undefined);
    if (extra.length > 0) throw new TypeError(`createGpCard: an image already holds the configuration; drop ${extra.join(', ')}`);
    state = fromImage(options.image);
  } else {
    state = newState(options);
  }
  if (options.random !== undefined && typeof options.random !== 'function') throw new TypeError('createGpCard: random must be a function (length) => Uint8Array');
  const models = [...(options.appletModels ?? []), ...builtInAppletModels()];
  return new GpCard(state, models, options.random);
}

/** The card's non-volatile memory as a JSON-ready image. */
export function saveGpCardImage(card: GpCard): GpCardImage {
  return toImage(card.state);
}

/** JSON text of the image, stable (sorted storage) so identical cards give identical files. */
export function gpCardImageJson(card: GpCard): string {
  return `${JSON.stringify(saveGpCardImage(card), null, 2)}\n`;
}
