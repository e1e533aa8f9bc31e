// A seeded generator for fuzz tests: the same sequence on every machine, so a failure replays.

/** xorshift32: unsigned 32-bit values. */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}
