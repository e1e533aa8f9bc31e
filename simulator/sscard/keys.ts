// The key file of each DF (LD/T 32 and the PBOC-style COS: MK, IRK, external-auth keys, PUK, reload key,
// line-protection keys, block keys; 1–3 versions) in cardsmith's format: a key is addressed by
// (type, id) within its DF, has its own algorithm (3DES or SM4), version and error counter. A PIN
// is a key of type PIN whose value is the BCD PIN. The key block WRITE KEY carries is
//   type(1) ‖ id(1) ‖ version(1) ‖ algorithm(1) ‖ error limit(1) ‖ value
// (cardsmith choice; docs/simulator.md "WRITE KEY").
import { CellId, expectCell, type Cell, type KeyAlg, type KeyEntry } from '../core/cells.js';
import type { Store } from '../core/store.js';
import { SW, fail } from '../core/sw.js';
import type { FileTree } from '../fs/tree.js';

export const KeyType = Object.freeze({
  /** DF master key: protects WRITE KEY (84 D4) in its DF; the MF's is the transport key when blank. */
  MASTER: 0x01,
  EXTERNAL_AUTH: 0x02,
  INTERNAL_AUTH: 0x03,
  /** PUK: MAC key of PIN UNBLOCK (84 24) for the PIN with the same id. */
  PIN_UNBLOCK: 0x04,
  /** MAC key of RELOAD PIN (80 5E 00) for the PIN with the same id. */
  PIN_RELOAD: 0x05,
  /** MAC key of commands whose access condition is 3x (UPDATE with MAC, 04 D6 / 04 DC …). */
  LINE_PROTECTION: 0x06,
  /** MAC key of APPLICATION BLOCK / UNBLOCK (84 1E / 84 18). */
  APP_BLOCK: 0x07,
  /** MAC key of CARD BLOCK (84 16). */
  CARD_BLOCK: 0x08,
  PIN: 0x0a,
} as const);

const KEY_TYPES = new Set<number>(Object.values(KeyType));

export const MASTER_KEY_ID = 0x00;

export interface KeyRef {
  /** The DF whose key file holds the key. */
  df: number;
  entry: KeyEntry;
}

/** Reads a key block; anything malformed → 6A80, a short block → 6700. */
export function parseKeyBlock(block: Uint8Array): KeyEntry {
  if (block.length < 6) return fail(SW.WRONG_LENGTH);
  const [type, id, version, algCode, limit] = block as unknown as [number, number, number, number, number];
  const value = block.slice(5);
  if (!KEY_TYPES.has(type) || limit < 1 || limit > 15) return fail(SW.INCORRECT_DATA);
  if (type === KeyType.PIN) {
    if (algCode !== 0x00 || !isBcdPin(value)) return fail(SW.INCORRECT_DATA);
    return { type, id, version, alg: 'pin', limit, value };
  }
  const alg: KeyAlg | undefined = algCode === 0x01 ? 'des3' : algCode === 0x02 ? 'sm4' : undefined;
  if (!alg || value.length !== 16) return fail(SW.INCORRECT_DATA);
  return { type, id, version, alg, limit, value };
}

/** 1–8 bytes of BCD digits, at least 2 digits; F nibbles only as trailing padding. */
export function isBcdPin(value: Uint8Array): boolean {
  if (value.length < 1 || value.length > 8) return false;
  let digits = 0;
  let padded = false;
  for (const b of value) {
    for (const nibble of [b >> 4, b & 0x0f]) {
      if (nibble === 0x0f) padded = true;
      else if (padded || nibble > 9) return false;
      else digits++;
    }
  }
  return digits >= 2;
}

export function blockSize(alg: KeyAlg): 8 | 16 {
  return alg === 'sm4' ? 16 : 8;
}

type Reader = Pick<Store<Cell>, 'get'>;

/** The key (type, id) in `df` itself, if any. */
export function keyIn(store: Reader, df: number, type: number, id: number): KeyRef | undefined {
  const c = store.get(CellId.key(df, type, id));
  return c === undefined ? undefined : { df, entry: expectCell(c, 'key', CellId.key(df, type, id)).key };
}

/**
 * Key lookup rule (cardsmith choice): the current DF first, then its parent, … up to the MF; at
 * each level the types are tried in the order given. The first match wins.
 */
export function findKey(tree: FileTree, store: Reader, from: number, types: readonly number[], id: number): KeyRef | undefined {
  for (const df of tree.chain(from)) {
    if (tree.spec(df).type !== 'df') continue;
    for (const type of types) {
      const k = keyIn(store, df, type, id);
      if (k) return k;
    }
  }
  return undefined;
}

export function triesLeftOf(store: Reader, ref: KeyRef): number {
  const id = CellId.tries(ref.df, ref.entry.type, ref.entry.id);
  return expectCell(store.get(id), 'tries', id).left;
}

/** The persistent writes of installing or replacing a key: the key cell and its error counter. */
export function putKey(tx: { put(id: string, v: Cell): void }, df: number, key: KeyEntry): void {
  tx.put(CellId.key(df, key.type, key.id), { t: 'key', key });
  tx.put(CellId.tries(df, key.type, key.id), { t: 'tries', left: key.limit });
}
