// What card faces cost the runner: one simulated printer at zero delay, a batch whose cards carry
// a face like the built-in profile's (a photo and five lines of Chinese and digits), the faces
// drawn on the runner's thread (faceWorkers 0) or by 1 or 2 worker threads, and the same batch
// without faces as the floor. The sides run in interleaved rounds (the order turns each round,
// round 0 warms up, each round its own batch folder and cards); the figures are the medians of
// the per-card times. Simulated printers keep no output here (faces only).
// Run: npm run bench:runner (part 4), or alone: tsc -p tsconfig.json && node dist/bench/runner-faces.js
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadBatch, runBatch } from '../personalization/runner/run.js';
import { INPUT_FILES_DIR, type CardScript } from '../personalization/script.js';
import { openStations, simulatedStations } from '../stations/index.js';
import type { FileKeyStore } from '../keys/index.js';
import { simCards, ssCardStock } from '../simulator/index.js';
import { makeKeyStore, makeScripts, writeBatch } from '../test/runner/helpers.js';
import { median } from './measure.js';

const SIM = { simCards, simulated: { stock: ssCardStock } };
// The example photos, from dist/bench/ (npm run) or bench/ (tsx).
const PHOTOS = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../examples/photos/' : '../examples/photos/', import.meta.url));

/** A face laid out like profiles/sscard-gen3.yaml's front and back at 300 dpi. */
function faceOf(i: number): NonNullable<CardScript['face']> {
  const n = String(i).padStart(4, '0');
  return {
    width: 1011,
    height: 638,
    fields: [
      { kind: 'photo', x: 59, y: 165, size: 331, value: `photos/${String((i % 24) + 1).padStart(4, '0')}.jpg` },
      { kind: 'text', x: 366, y: 189, size: 38, value: `姓名 张伟${n}` },
      { kind: 'text', x: 366, y: 283, size: 34, value: `社会保障号码 11010519491231${n}` },
      { kind: 'text', x: 366, y: 366, size: 34, value: `社会保障卡号 A0000${n}` },
      { kind: 'text', x: 366, y: 449, size: 34, value: '发卡日期 2026年12月' },
      { kind: 'text', x: 71, y: 543, size: 25, value: '北京市人力资源和社会保障局' },
    ],
  };
}

type Side = 'no faces' | 'inline' | '1 worker' | '2 workers';
const WORKERS: Record<Exclude<Side, 'no faces'>, number> = { inline: 0, '1 worker': 1, '2 workers': 2 };

export async function benchFaces(store: FileKeyStore, root: string, o: { cards?: number; rounds?: number } = {}): Promise<void> {
  const cards = o.cards ?? 40;
  const rounds = o.rounds ?? 5;
  const plain = await makeScripts(store, cards, 'face');
  const withFaces = plain.map((s, i) => ({ ...s, face: faceOf(i + 1) }));
  const sides: Side[] = ['no faces', 'inline', '1 worker', '2 workers'];
  const msPerCard: Record<Side, number[]> = { 'no faces': [], inline: [], '1 worker': [], '2 workers': [] };
  /** Time per card the runner's thread was busy (event loop utilization): what the stations wait for. */
  const busyPerCard: Record<Side, number[]> = { 'no faces': [], inline: [], '1 worker': [], '2 workers': [] };
  const load0 = loadavg()[0]!;
  for (let round = 0; round <= rounds; round++) {
    const order = sides.map((_, i) => sides[(i + round) % sides.length]!);
    for (const side of order) {
      const dir = join(root, `faces-${round}-${side.replace(' ', '-')}`);
      mkdirSync(join(dir, INPUT_FILES_DIR), { recursive: true });
      cpSync(PHOTOS, join(dir, INPUT_FILES_DIR, 'photos'), { recursive: true });
      await writeBatch(dir, side === 'no faces' ? plain : withFaces, store, { seed: round + 1 });
      const opened = openStations(simulatedStations(1, { seed: 100 * round + sides.indexOf(side) }), SIM);
      const t0 = performance.now();
      const elu0 = performance.eventLoopUtilization();
      const res = await runBatch(loadBatch(dir), { provider: store, stations: opened.stations, keepSimOutput: false, ...(side === 'no faces' ? {} : { faceWorkers: WORKERS[side] }) });
      const ms = performance.now() - t0;
      const busy = performance.eventLoopUtilization(elu0).active;
      await opened.close();
      if (res.counts.issued !== cards) throw new Error(`faces bench: ${side} round ${round} issued ${res.counts.issued} of ${cards}: ${res.message}`);
      if (round > 0) {
        msPerCard[side].push(ms / cards);
        busyPerCard[side].push(busy / cards);
      }
    }
  }
  const m = Object.fromEntries(sides.map((s) => [s, median(msPerCard[s])])) as Record<Side, number>;
  const perHour = (ms: number) => Math.round(3_600_000 / ms);
  console.log(`card faces, 1 simulated printer at zero delay, ${cards} cards, ${rounds} interleaved rounds (${availableParallelism()} cores, load ${load0.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end):`);
  for (const s of sides) {
    const r = msPerCard[s];
    console.log(
      `  ${s.padEnd(9)} median ${m[s].toFixed(1)} ms/card = ${perHour(m[s])} cards/h (rounds ${Math.min(...r).toFixed(1)}–${Math.max(...r).toFixed(1)} ms)` +
        (s === 'no faces' ? ' — the floor' : `, ${(m[s] / m['no faces']).toFixed(2)}× the floor${s === 'inline' ? '' : `, ${(m.inline / m[s]).toFixed(2)}× the rate of inline`}`) +
        `; the runner's thread busy ${median(busyPerCard[s]).toFixed(1)} ms/card`,
    );
  }
  // The goal: faces drawn off the stations' thread. What is left on it per face (handing the face
  // over, taking the PNG back, writing the kept copy) as a share of drawing it there.
  const busy = (s: Side) => median(busyPerCard[s]);
  const left = (busy('2 workers') - busy('no faces')) / (busy('inline') - busy('no faces'));
  console.log(`  faces off the stations' thread: with 2 workers ${(left * 100).toFixed(0)}% of the inline face work is left on it; goal ≤ 20%: ${left <= 0.2 ? 'PASS' : 'FAIL'}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = mkdtempSync(join(tmpdir(), 'cardsmith-bench-faces-'));
  const { store } = await makeKeyStore(root);
  try {
    await benchFaces(store, root);
  } finally {
    await store.close();
    rmSync(root, { recursive: true, force: true });
  }
}
