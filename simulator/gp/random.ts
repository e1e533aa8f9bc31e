// The GP card's random source: the simulators' one seeded generator (simulator/core/drbg.ts, SM3
// in counter mode) keyed by the card's seed string, so a GP card is as reproducible as an sscard.
// The stream position is part of the card image, so a card restored from its image continues the
// same sequence. Not a cryptographic DRBG for real secrets: it makes test cards repeatable.
import { Drbg, seedBytes } from '../core/drbg.js';

export type RandomSource = (length: number) => Uint8Array;

export class SeededRandom extends Drbg {
  constructor(
    /** The seed as the card was created with it (the image keeps the text). */
    readonly seedText: string,
    /** Bytes drawn so far; persisted in the image. */
    position = 0,
  ) {
    super(seedBytes(seedText), position);
  }
}
