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
  return { name, nsPerOp: median(samples) };
}

export function fmtNs(ns: number): string {
  return ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(0)} ns`;
}

/**
 * Times two implementations with their rounds interleaved (A, B, A, B, …), so that load from
 * other processes falls on both alike; returns the median of each.
 */
export function measurePair(a: [string, () => unknown], b: [string, () => unknown], opts: { rounds?: number; minMs?: number } = {}): [Timing, Timing] {
  const rounds = opts.rounds ?? 15;
  const minMs = opts.minMs ?? 20;
  const batchFor = (fn: () => unknown): number => {
    let batch = 1;
    for (;;) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < batch; i++) fn();
      if (Number(process.hrtime.bigint() - t0) / 1e6 >= minMs / 4) return batch;
      batch *= 2;
    }
  };
  const sizes = [batchFor(a[1]), batchFor(b[1])];
  const samples: number[][] = [[], []];
  for (let r = 0; r < rounds; r++) {
    [a, b].forEach(([, fn], k) => {
      const n = sizes[k]!;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) fn();
      samples[k]!.push(Number(process.hrtime.bigint() - t0) / n);
    });
  }
  return [
    { name: a[0], nsPerOp: median(samples[0]!) },
    { name: b[0], nsPerOp: median(samples[1]!) },
  ];
}

/** The middle value (the upper one of an even count, as measure and measurePair take it). */
export function median(xs: readonly number[]): number {
  return [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
}

export interface RoundStats {
  name: string;
  /** One value per round (the unit is the caller's: ns per operation from measureRoundsAsync). */
  samples: number[];
  median: number;
  min: number;
  max: number;
}

function stats(name: string, samples: number[]): RoundStats {
  return { name, samples, median: median(samples), min: Math.min(...samples), max: Math.max(...samples) };
}

export interface InterleavedPair {
  a: RoundStats;
  b: RoundStats;
  /** b's median / a's median. */
  ratio: number;
  /** b / a within each round: the spread of the comparison itself. */
  roundRatios: RoundStats;
}

/**
 * Times two asynchronous jobs of `ops` operations each with their rounds interleaved, the order
 * swapped every round (A B, B A, A B …) so that drift and load from other processes fall on
 * both alike, after one untimed warm-up of each. Returns ns per operation per round, the
 * medians, their ratio (b / a) and the spread of the per-round ratios.
 */
export async function measurePairAsync(a: [string, () => Promise<unknown>], b: [string, () => Promise<unknown>], opts: { ops: number; rounds?: number }): Promise<InterleavedPair> {
  const rounds = opts.rounds ?? 9;
  await a[1]();
  await b[1]();
  const samples: [number[], number[]] = [[], []];
  const time = async (fn: () => Promise<unknown>): Promise<number> => {
    const t0 = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - t0) / opts.ops;
  };
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      samples[0].push(await time(a[1]));
      samples[1].push(await time(b[1]));
    } else {
      samples[1].push(await time(b[1]));
      samples[0].push(await time(a[1]));
    }
  }
  const sa = stats(a[0], samples[0]);
  const sb = stats(b[0], samples[1]);
  return { a: sa, b: sb, ratio: sb.median / sa.median, roundRatios: stats(`${b[0]} / ${a[0]}`, samples[1].map((x, i) => x / samples[0][i]!)) };
}

/**
 * How a bench's figure compares with its goal: met or not, no goal set for it, or no way to judge
 * (the peer it is measured against is missing).
 */
export type Verdict = { goal: string; pass: boolean } | { noGoal: true } | { goal: string; cannotJudge: string };

/** The verdict line every bench ends with: `verdict: <what>: <measured>; goal <goal>: PASS|FAIL`. */
export function verdictLine(what: string, measured: string, v: Verdict): string {
  if ('noGoal' in v) return `verdict: ${what}: ${measured}; no goal`;
  if ('cannotJudge' in v) return `verdict: ${what}: cannot judge against goal ${v.goal} (${v.cannotJudge})`;
  return `verdict: ${what}: ${measured}; goal ${v.goal}: ${v.pass ? 'PASS' : 'FAIL'}`;
}
