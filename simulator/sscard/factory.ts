// Making social-security cards: a blank card as the chip vendor delivers it (an MF and the
// transport key, nothing else), a card from an image, and image files on disk. Everything else
// — files, keys, PINs, the end of personalization — the host does with APDUs.
import { abytes, fromHex } from '../../bytes/index.js';
import { CellId, MF_NODE, type Cell, type KeyEntry } from '../core/cells.js';
import { deriveFromSeed, seedBytes, type Seed } from '../core/drbg.js';
import { readJsonSync, writeJsonAtomicSync } from '../core/json-file.js';
import type { SimulatedCard } from '../card.js';
import { memoryCost, MF_FID, type DfSpec } from '../fs/spec.js';
import { SsCard } from './card.js';
import { fromImage, type CardImage } from './image.js';
import { KeyType, MASTER_KEY_ID } from './keys.js';

/**
 * The chip vendor's transport key of a blank card unless one is given: the well-known test key
 * 40 41 … 4F (3DES, version 00, 15 tries). Real stock ships with a secret per-batch key.
 */
export const DEFAULT_TRANSPORT_KEY = fromHex('404142434445464748494A4B4C4D4E4F');

/** EEPROM available for files, cardsmith's accounting (fs/spec.ts memoryCost). */
export const DEFAULT_MEMORY = 64 * 1024;

export interface TransportKeyOptions {
  value: Uint8Array;
  alg?: 'des3' | 'sm4';
  version?: number;
  /** Error limit, 1–15. */
  limit?: number;
}

export interface CreateSsCardOptions {
  /** Same seed ⇒ same chip id, challenges, SM2 keys and signatures. Default 0. */
  seed?: Seed;
  /** Answer like a T=0 card (61xx + GET RESPONSE, 6Cxx); the contact ATR then offers T=0. */
  t0?: boolean;
  /** The MF key 00 of a blank card (3DES when given as bytes). */
  transportKey?: Uint8Array | TransportKeyOptions;
  /** Bytes of EEPROM for files. */
  memory?: number;
  /**
   * Start from this image (a saved card's parsed JSON, e.g. from loadCardImage) instead of a
   * blank card; seed, transportKey and memory are then ignored (the image has its own).
   */
  image?: CardImage | unknown;
}

function transportEntry(opt: Uint8Array | TransportKeyOptions | undefined): KeyEntry {
  const o: TransportKeyOptions = opt instanceof Uint8Array ? { value: opt } : (opt ?? { value: DEFAULT_TRANSPORT_KEY });
  if (typeof o !== 'object' || o === null) throw new TypeError('simulator: transportKey must be a Uint8Array or { value, alg?, version?, limit? }');
  abytes(o.value, 'simulator: transportKey.value', 16);
  const alg = o.alg ?? 'des3';
  if (alg !== 'des3' && alg !== 'sm4') throw new RangeError(`simulator: transportKey.alg must be 'des3' or 'sm4', got ${String(alg)}`);
  const version = o.version ?? 0;
  const limit = o.limit ?? 15;
  if (!Number.isInteger(version) || version < 0 || version > 255) throw new RangeError('simulator: transportKey.version must be 0..255');
  if (!Number.isInteger(limit) || limit < 1 || limit > 15) throw new RangeError('simulator: transportKey.limit must be 1..15');
  return { type: KeyType.MASTER, id: MASTER_KEY_ID, version, alg, limit, value: new Uint8Array(o.value) };
}

/** The MF of a blank card: CREATE FILE and plain WRITE KEY under it need key 00 (2x = 20). */
const MF_SPEC: DfSpec = {
  type: 'df',
  fid: MF_FID,
  access: { create: { kind: 'key', id: MASTER_KEY_ID }, keyWrite: { kind: 'key', id: MASTER_KEY_ID } },
};

export function createSsCard(options: CreateSsCardOptions = {}): SsCard {
  if (typeof options !== 'object' || options === null) throw new TypeError('simulator: createSsCard expects an options object');
  if (options.t0 !== undefined && typeof options.t0 !== 'boolean') throw new TypeError('simulator: t0 must be a boolean');
  if (options.image !== undefined) {
    // The image carries its own seed position, keys and memory: those options do not apply.
    const content = fromImage(options.image);
    return new SsCard({ snapshot: content.snapshot, seed: content.seed, position: content.position, options: { t0: options.t0 ?? content.t0 } });
  }
  const seed = seedBytes(options.seed ?? 0);
  const memory = options.memory ?? DEFAULT_MEMORY;
  if (!Number.isInteger(memory) || memory < 1024 || memory > 16 * 1024 * 1024) throw new RangeError('simulator: memory must be 1 KiB..16 MiB');
  const key = transportEntry(options.transportKey);
  const cells = new Map<string, Cell>([
    [CellId.card, { t: 'card', lifecycle: 'blank', nextNode: 1, memoryUsed: memoryCost(MF_SPEC), memoryTotal: memory, chipId: deriveFromSeed(seed, 'chip-id', 8) }],
    [CellId.node(MF_NODE), { t: 'node', parent: null, spec: MF_SPEC }],
    [CellId.children(MF_NODE), { t: 'children', ids: [] }],
    [CellId.key(MF_NODE, key.type, key.id), { t: 'key', key }],
    [CellId.tries(MF_NODE, key.type, key.id), { t: 'tries', left: key.limit }],
  ]);
  return new SsCard({ snapshot: { cells, journal: [], committed: false }, seed, position: 0, options: { t0: options.t0 ?? false } });
}

/**
 * Reads and checks an image file; pass the result to createSsCard({ image }). Throws
 * CardImageError (naming the file and the bad field) for an unreadable or invalid file.
 */
export function loadCardImage(path: string): CardImage {
  const value = readJsonSync(path);
  fromImage(value, path);
  return value as CardImage;
}

function asSsCard(card: unknown): SsCard {
  if (!(card instanceof SsCard)) throw new TypeError('simulator: saveCardImage needs a card made by createSsCard');
  return card;
}

/**
 * Saves the card's image atomically (temporary file + fsync + rename + directory fsync), mode
 * 0600, synchronously so that an exit handler can call it. The (path, card) order is accepted too.
 */
export function saveCardImage(card: SimulatedCard, path: string): void;
export function saveCardImage(path: string, card: SimulatedCard): void;
export function saveCardImage(a: SimulatedCard | string, b: string | SimulatedCard): void {
  const [card, path] = typeof a === 'string' ? [b, a] : [a, b];
  if (typeof path !== 'string' || path === '') throw new TypeError('simulator: saveCardImage needs a file path');
  writeJsonAtomicSync(path, asSsCard(card).toImage());
}
