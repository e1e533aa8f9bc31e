// The card's random source, seeded so that a simulated card is reproducible (DESIGN.md,
// "Determinism"): block n = SHA-256("cardsmith-gp-rng" ‖ 00 ‖ seed ‖ 00 ‖ n as 8 bytes).
// The block counter is part of the card image, so a card restored from its image continues the
// same sequence. Not a cryptographic DRBG for real secrets: it makes test cards repeatable.
import { concat } from '../../bytes/index.js';
import { hash } from '../../crypto/index.js';
import { be } from './util.js';

export type RandomSource = (length: number) => Uint8Array;

const LABEL = new TextEncoder().encode('cardsmith-gp-rng');

export class SeededRandom {
  private readonly seedBytes: Uint8Array;
  private pool: Uint8Array = new Uint8Array(0);

  constructor(
    readonly seed: string,
    /** Blocks drawn so far; persisted in the image. */
    public counter = 0,
  ) {
    this.seedBytes = new TextEncoder().encode(seed);
  }

  bytes(length: number): Uint8Array {
    // Whole blocks only, and no carry-over between calls: the output of call k then depends on
    // the counter alone, which is what the image stores.
    this.pool = new Uint8Array(0);
    while (this.pool.length < length) {
      const block = hash('sha256', concat(LABEL, Uint8Array.of(0), this.seedBytes, Uint8Array.of(0), be(Math.floor(this.counter / 2 ** 32), 4), be(this.counter >>> 0, 4)));
      this.counter++;
      this.pool = concat(this.pool, block);
    }
    return this.pool.slice(0, length);
  }
}
