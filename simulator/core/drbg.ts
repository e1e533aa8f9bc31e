// The card's random source: a small deterministic generator over a seed, so that the same seed
// gives the same challenges, the same on-card SM2 keys and the same signatures.
// Construction (cardsmith choice, documented in docs/simulator.md):
//   block_i = SM3("cardsmith/sim/drbg" ‖ 00 ‖ seed ‖ i as 8 bytes big-endian), i = 0, 1, 2 …
// and the output stream is block_0 ‖ block_1 ‖ … . The state is (seed, position in the stream),
// so a saved card image continues the stream where it stopped. SM3 in counter mode is a fine
// generator for a simulator; it is NOT a certified DRBG (no reseeding, no prediction resistance).
import { concat, uintBE } from '../../bytes/index.js';
import { sm3 } from '../../crypto/sm3.js';

/** What createSsCard accepts as a seed: an integer, a string (UTF-8) or raw bytes. */
export type Seed = number | string | Uint8Array;

const LABEL = concat(new TextEncoder().encode('cardsmith/sim/drbg'), Uint8Array.of(0));
const BLOCK = 32;

/** Seed bytes: an integer as 8 bytes big-endian, a string as UTF-8, bytes as they are. */
export function seedBytes(seed: Seed): Uint8Array {
  if (typeof seed === 'number') {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`simulator: seed must be a non-negative safe integer, got ${seed}`);
    return uintBE(seed, 8);
  }
  if (typeof seed === 'string') return new TextEncoder().encode(seed);
  if (seed instanceof Uint8Array) return new Uint8Array(seed);
  throw new TypeError(`simulator: seed must be a number, string or Uint8Array, got ${typeof seed}`);
}

export class Drbg {
  private readonly seed: Uint8Array;
  private pos: number;
  private cacheIndex = -1;
  private cache: Uint8Array = new Uint8Array(0);

  constructor(seed: Uint8Array, position = 0) {
    if (!Number.isSafeInteger(position) || position < 0) throw new RangeError(`simulator: drbg position must be a non-negative integer, got ${position}`);
    this.seed = new Uint8Array(seed);
    this.pos = position;
  }

  /** Bytes consumed so far: with the seed, everything needed to continue the stream. */
  get position(): number {
    return this.pos;
  }

  get seedCopy(): Uint8Array {
    return new Uint8Array(this.seed);
  }

  /** The next `n` bytes of the stream. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let k = 0; k < n; k++) {
      const p = this.pos + k;
      const index = Math.floor(p / BLOCK);
      if (index !== this.cacheIndex) {
        this.cache = sm3(LABEL, this.seed, uintBE(index, 8));
        this.cacheIndex = index;
      }
      out[k] = this.cache[p % BLOCK]!;
    }
    this.pos += n;
    return out;
  }
}

/** A one-off value derived from the seed and a label, outside the stream (e.g. the chip serial). */
export function deriveFromSeed(seed: Uint8Array, label: string, length: number): Uint8Array {
  const d = sm3(new TextEncoder().encode(`cardsmith/sim/${label}`), Uint8Array.of(0), seed);
  return d.slice(0, length);
}
