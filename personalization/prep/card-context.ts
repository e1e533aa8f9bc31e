// What a script template (./template.ts) builds one card's steps from, for every card kind.
import type { CardEvaluator } from '../../profiles/index.js';
import type { BlobRef } from '../blobs.js';
import type { Sealed } from '../script.js';

/** Takes big data (a photo) into the batch's pack; the script names it by the returned ref. */
export interface BlobSink {
  add(bytes: Uint8Array): BlobRef;
}

export interface CardInputs {
  ev: CardEvaluator;
  /** Seals a secret for this card (bound to its record id). */
  seal(secret: Uint8Array, kcv?: string): Promise<Sealed>;
  /** Prep-phase card keys, already derived (by name). */
  prepKeys: ReadonlyMap<string, { value: Uint8Array; kcv: string }>;
  blobs: BlobSink;
  /** Results both the steps and the verify template use (an element's bytes), computed once per card. */
  memo: Map<unknown, unknown>;
}

/** `make()` once per card: the value is kept in the card's memo under `key`. */
export function once<T>(card: CardInputs, key: unknown, make: () => T): T {
  if (card.memo.has(key)) return card.memo.get(key) as T;
  const v = make();
  card.memo.set(key, v);
  return v;
}
