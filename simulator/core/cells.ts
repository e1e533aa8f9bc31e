// The persistent memory layout of the simulated card: every value the card keeps across power
// cycles is one *cell* in the store (core/store.ts), named by a short id. A transaction writes
// whole cells, so the unit of atomicity is visible here. Values are treated as immutable: a
// change always puts a new object, never edits one in place (the journal keeps the old one).
import type { FileSpec } from '../fs/spec.js';
import { CardsmithError, type ErrorKind } from '../../errors/index.js';

/**
 * blank: as delivered by the chip vendor, MF + transport key; personalization commands allowed.
 * personalized: after END OF PERSONALIZATION; access conditions enforced.
 * blocked: after CARD BLOCK; the card answers 6A81 to everything, for ever.
 */
export type Lifecycle = 'blank' | 'personalized' | 'blocked';

/** A DF's own state: blocked = APPLICATION BLOCK temporary, terminated = permanent. */
export type DfState = 'active' | 'blocked' | 'terminated';

export type KeyAlg = 'des3' | 'sm4' | 'pin';

/** One entry of a DF's key file (a PIN is a key of type PIN whose value is the BCD PIN). */
export interface KeyEntry {
  readonly type: number;
  readonly id: number;
  readonly version: number;
  readonly alg: KeyAlg;
  /** Tries allowed (the error counter's start value), 1–15. */
  readonly limit: number;
  readonly value: Uint8Array;
}

export type Cell =
  | {
      readonly t: 'card';
      readonly lifecycle: Lifecycle;
      readonly nextNode: number;
      readonly memoryUsed: number;
      readonly memoryTotal: number;
      readonly chipId: Uint8Array;
    }
  | { readonly t: 'node'; readonly parent: number | null; readonly spec: FileSpec }
  | { readonly t: 'children'; readonly ids: readonly number[] }
  | { readonly t: 'binary'; readonly data: Uint8Array }
  | { readonly t: 'recmeta'; readonly count: number; readonly head: number }
  | { readonly t: 'record'; readonly data: Uint8Array }
  | { readonly t: 'key'; readonly key: KeyEntry }
  | { readonly t: 'tries'; readonly left: number }
  | { readonly t: 'dfstate'; readonly state: DfState }
  /** A home cell a power cut tore in half; only until the next power-on recovery replaces it. */
  | { readonly t: 'torn' };

export type CellOf<T extends Cell['t']> = Extract<Cell, { t: T }>;

const hex2 = (n: number) => n.toString(16).toUpperCase().padStart(2, '0');

/** `prefix` + n, each string built once: ids are looked up on every command, nodes are few. */
function idsOf(prefix: string): (n: number) => string {
  const made: string[] = [];
  return (n) => made[n] ?? (made[n] = `${prefix}${n}`);
}

const recordIds: ((slot: number) => string)[] = [];

/** Cell ids. Node 0 is the MF. */
export const CellId = Object.freeze({
  card: 'card',
  node: idsOf('node/'),
  children: idsOf('children/'),
  binary: idsOf('bin/'),
  recmeta: idsOf('recmeta/'),
  record: (n: number, slot: number) => (recordIds[n] ?? (recordIds[n] = idsOf(`rec/${n}/`)))(slot),
  dfstate: idsOf('dfstate/'),
  key: (n: number, type: number, id: number) => `key/${n}/${hex2(type)}/${hex2(id)}`,
  tries: (n: number, type: number, id: number) => `tries/${n}/${hex2(type)}/${hex2(id)}`,
});

export const MF_NODE = 0;

/** Internal inconsistency of the card's own memory (a bug, or a torn cell read before recovery). */
export class CardMemoryError extends CardsmithError {
  override readonly name = 'CardMemoryError';
  readonly kind: ErrorKind = 'card';
}

export function expectCell<T extends Cell['t']>(cell: Cell | undefined, t: T, id: string): CellOf<T> {
  if (cell === undefined) throw new CardMemoryError(`simulator: cell ${id} is missing`);
  if (cell.t !== t) throw new CardMemoryError(`simulator: cell ${id} holds ${cell.t}, expected ${t}`);
  return cell as CellOf<T>;
}
