// Duplicate detection in a streamed batch without keeping the records: an open-addressing hash
// table of 64-bit digests (the first 8 bytes of SHA-256 of the key value) with the line each was
// first seen on, in typed arrays — 12 bytes per record at most twice over, about 5 MB for a
// million cards. Two different keys share a 64-bit digest with probability ~n²/2^65 (5·10^-8 for
// a million records); if that ever happens a record is refused as a duplicate, never let through.
import { hash } from 'node:crypto';

export class KeySet {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private lines: Uint32Array;
  private count = 0;

  constructor(capacity = 1024) {
    let n = 16;
    while (n < capacity * 2) n *= 2;
    this.hi = new Uint32Array(n);
    this.lo = new Uint32Array(n);
    this.lines = new Uint32Array(n);
  }

  get size(): number {
    return this.count;
  }

  /** Adds the key; returns the line it was first seen on when it is already there. */
  add(key: string, line: number): number | undefined {
    const d = hash('sha256', key, 'buffer'); // one call: no Hash object per key
    const hi = d.readUInt32BE(0);
    // 0/0 marks an empty slot; a digest that is all zeros in its first 8 bytes becomes 0/1.
    const lo = d.readUInt32BE(4) || (hi === 0 ? 1 : 0);
    const found = this.find(hi, lo);
    if (found >= 0 && (this.hi[found] !== 0 || this.lo[found] !== 0)) return this.lines[found];
    if ((this.count + 1) * 2 > this.hi.length) this.grow();
    const slot = this.find(hi, lo);
    this.hi[slot] = hi;
    this.lo[slot] = lo;
    this.lines[slot] = line;
    this.count++;
    return undefined;
  }

  /** The slot holding (hi, lo), or the empty slot where it would go. */
  private find(hi: number, lo: number): number {
    const mask = this.hi.length - 1;
    let i = (hi ^ Math.imul(lo, 0x9e3779b1)) & mask;
    for (;;) {
      const h = this.hi[i]!;
      const l = this.lo[i]!;
      if ((h === 0 && l === 0) || (h === hi && l === lo)) return i;
      i = (i + 1) & mask;
    }
  }

  private grow(): void {
    const { hi, lo, lines } = this;
    const n = hi.length * 2;
    this.hi = new Uint32Array(n);
    this.lo = new Uint32Array(n);
    this.lines = new Uint32Array(n);
    for (let i = 0; i < hi.length; i++) {
      if (hi[i] === 0 && lo[i] === 0) continue;
      const slot = this.find(hi[i]!, lo[i]!);
      this.hi[slot] = hi[i]!;
      this.lo[slot] = lo[i]!;
      this.lines[slot] = lines[i]!;
    }
  }
}
