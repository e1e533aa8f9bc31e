// Timing helpers for bench/: warm up, then take the median of several timed rounds, so that one
// garbage collection or a busy neighbour does not decide a comparison.
export interface Timing {
  name: string;
  nsPerOp: number;
}

export function measure(name: string, fn: () => unknown, opts: { rounds?: number; minMs?: number } = {}): Timing {
  const rounds = opts.rounds ?? 7;
  const minMs = opts.minMs ?? 60;
  let batch = 1;
  // Grow the batch until one round takes long enough to time reliably.
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (ms >= minMs / 4) break;
    batch *= 2;
  }
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    samples.push(Number(process.hrtime.bigint() - t0) / batch);
  }
  samples.sort((a, b) => a - b);
  return { name, nsPerOp: samples[Math.floor(samples.length / 2)]! };
}

export function fmtNs(ns: number): string {
  return ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(0)} ns`;
}
