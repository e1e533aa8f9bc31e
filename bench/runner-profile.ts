// The runner on the real built-in profile: a batch of builtin:sscard-gen3 prepared as `cardsmith
// demo` prepares one (demo key store, the example records and photos), run as `cardsmith run --sim`
// runs it: card faces drawn by the face workers, the simulated printers keeping their output in
// DIR/sim-output, an issuance registry (a new file per run, as every run needs new cardholders).
//
// (a) Per card, one zero-delay station, against two floors in interleaved rounds: the same cards'
//     command APDUs sent straight to the same blank simulated cards (recorded once from the
//     executor, checked to get the same status words), and the executor alone on fresh cards (its
//     crypto: unsealing, key derivation, MACs, the SM2 certificate). The fsyncs an issued card
//     costs are counted (the ones made from JavaScript in this run; the SQLite ones as
//     docs/runner.md lists them) and one fsync is timed in the same rounds (a small append to a
//     file of the batch folder, then fsync), so the goal reads: runner ≤ 1.5 × floor + fsyncs.
// (b) Scaling: N = 1, 2, 4, 8, 16 stations in interleaved rounds (order turned every round, round 0
//     warms up), medians of cards/h, ratio to N × one station; at zero delay (goal ≥ 0.9·N up to
//     the cores) and at a printer's timing (goal ≥ 0.9·N up to 16).
//
// Printer timing: an Evolis Primacy 2 prints 225 cards/h single-sided in colour (YMCKO), per its
// datasheet (evolis.com, Primacy 2, technical specifications): 16 s a card. The datasheet gives
// the total only; the split is an assumption: feed 1 s, to the encoder 0.5 s, each command APDU
// 20 ms (a contact encoder at T=0), print 11.3 s, eject 1 s. Scaled down 8× to keep the run short
// (a card ≈ 2 s); the ratio to N × one station is what counts. Not more: the host's work per card
// (its face, its script) stays what it is, so a bigger factor would ask 16 stations for more CPU
// than a real printer's pace does, and measure this machine's cores instead of the runner.
import { closeSync, cpSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createDemoKeyStore, DEMO_SEAL_KEY } from '../personalization/demo.js';
import { prepBatch } from '../personalization/prep/index.js';
import { IssuanceRegistry } from '../personalization/registry/index.js';
import { executeScript } from '../personalization/runner/executor.js';
import { loadBatch, runBatch } from '../personalization/runner/run.js';
import { gb11643Check, loadProfile } from '../profiles/index.js';
import { DEFAULT_TEST_KEY, DEFAULT_TRANSPORT_KEY, simCards, ssCardStock } from '../simulator/index.js';
import { openStations, simulatedStations, type PrinterLatency } from '../stations/index.js';
import { SimulatorTransport } from '../transport/simulator.js';
import type { Transport } from '../transport/transport.js';
import type { FileKeyStore } from '../keys/index.js';
import { median } from './measure.js';

const SIM = { simCards, simulated: { stock: ssCardStock } };
const PROFILE = 'builtin:sscard-gen3';
const EXAMPLES = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../examples/' : '../examples/', import.meta.url));

/** Evolis Primacy 2, 225 cards/h YMCKO single-sided (16 s a card), split as the header says, scaled down PRINTER_SCALE×. */
export const PRINTER_SCALE = 8;
export const PRINTER: PrinterLatency = { feedMs: 1000 / PRINTER_SCALE, moveMs: 500 / PRINTER_SCALE, apduMs: 20 / PRINTER_SCALE, printMs: 11_300 / PRINTER_SCALE, ejectMs: 1000 / PRINTER_SCALE };

/** fsyncs an issued card costs in SQLite (journal 3, registry 2; docs/runner.md): made in native code, not counted here. */
const SQLITE_FSYNCS = 5;

const pass = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

/**
 * The example records, `copies` times, each copy with other sequence digits in the citizen number
 * (same sex digit, a new check character) so every record is a cardholder of its own.
 */
function exampleRecords(dir: string, copies: number): string {
  const [head, ...rows] = readFileSync(join(EXAMPLES, 'sscard-gen3-batch.csv'), 'utf8').trimEnd().split(/\r?\n/);
  const out: string[] = [head!];
  for (let c = 0; c < copies; c++) {
    for (const row of rows) {
      const [ssn, ...rest] = row.split(',');
      const body = `${ssn!.slice(0, 14)}${String(c).padStart(2, '0')}${ssn![16]}`;
      out.push([`${body}${gb11643Check(body)}`, ...rest].join(','));
    }
  }
  cpSync(join(EXAMPLES, 'photos'), join(dir, 'photos'), { recursive: true });
  writeFileSync(join(dir, 'batch.csv'), `${out.join('\n')}\n`);
  return join(dir, 'batch.csv');
}

export interface ProfileBatch {
  store: FileKeyStore;
  dir: string;
  cards: number;
}

/** A demo key store and a prepared batch of `copies` × 24 records of builtin:sscard-gen3. */
export async function prepProfileBatch(root: string, copies: number): Promise<ProfileBatch> {
  mkdirSync(root, { recursive: true });
  const { store } = await createDemoKeyStore(join(root, 'keys.store'), new TextEncoder().encode('runner bench passphrase (not secret)'), {
    blankCardKeys: { sscard: DEFAULT_TRANSPORT_KEY, gp: DEFAULT_TEST_KEY },
    scryptLog2N: 14,
  });
  mkdirSync(join(root, 'input'), { recursive: true });
  const input = exampleRecords(join(root, 'input'), copies);
  const dir = join(root, 'prepared');
  // With a registry, as `cardsmith demo`: the scripts carry their holders' keyed hashes for the runner's checks.
  const registry = IssuanceRegistry.open(join(root, 'prep-registry.sqlite'));
  let prep;
  try {
    prep = await prepBatch({ profile: loadProfile(PROFILE), profileFile: PROFILE, input, store, out: dir, sealKey: DEMO_SEAL_KEY, seed: 1, registry });
  } finally {
    registry.close();
  }
  if (!prep.ok || !prep.manifest) throw new Error(`runner bench: prep rejected ${prep.rejects.length} records (${JSON.stringify(prep.rejects[0])})`);
  return { store, dir, cards: prep.manifest.cards };
}

/** fsyncs made from JavaScript (fs.fsyncSync / fdatasyncSync, FileHandle sync / datasync) counted while `fn` runs. */
async function countingFsyncs<T>(fn: () => Promise<T>): Promise<{ value: T; fsyncs: number }> {
  // The CommonJS object: its methods are what the ES named exports are synced from.
  const f = createRequire(import.meta.url)('node:fs') as Record<'fsyncSync' | 'fdatasyncSync', (fd: number) => void>;
  const probe = await open(fileURLToPath(import.meta.url), 'r');
  const handle = Object.getPrototypeOf(probe) as Record<'sync' | 'datasync', () => Promise<void>>;
  await probe.close();
  const saved = { fsyncSync: f.fsyncSync, fdatasyncSync: f.fdatasyncSync };
  const savedHandle = { sync: handle.sync, datasync: handle.datasync };
  let n = 0;
  for (const k of ['fsyncSync', 'fdatasyncSync'] as const) {
    f[k] = (fd: number) => {
      n++;
      saved[k](fd);
    };
  }
  for (const k of ['sync', 'datasync'] as const) {
    handle[k] = function (this: unknown) {
      n++;
      return savedHandle[k].call(this);
    };
  }
  syncBuiltinESMExports();
  try {
    return { value: await fn(), fsyncs: n };
  } finally {
    Object.assign(f, saved);
    Object.assign(handle, savedHandle);
    syncBuiltinESMExports();
  }
}

let runs = 0;

/** One run of `cards` records of the prepared batch on `n` simulated stations (a fresh copy of the batch, a new registry). */
async function runOnce(b: ProfileBatch, root: string, n: number, cards: number, latency: PrinterLatency = {}): Promise<{ ms: number; busyMs: number; cores: number }> {
  const id = ++runs;
  const dir = join(root, `run-${id}`);
  cpSync(b.dir, dir, { recursive: true });
  const batch = loadBatch(dir);
  // Only the first `cards` records: the rest are left out of this run's batch map.
  for (const [i, rid] of [...batch.scripts.keys()].entries()) if (i >= cards) batch.scripts.delete(rid);
  const registry = IssuanceRegistry.open(join(root, `registry-${id}.sqlite`));
  const opened = openStations(simulatedStations(n, { latency, seed: 1000 * id }), SIM);
  try {
    const elu0 = performance.eventLoopUtilization();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const res = await runBatch(batch, { provider: b.store, stations: opened.stations, registry });
    const ms = performance.now() - t0;
    const busyMs = performance.eventLoopUtilization(elu0).active;
    // CPU of the whole process (the face workers too) per wall-clock time: how many cores the run kept busy.
    const cpu = process.cpuUsage(cpu0);
    const cores = (cpu.user + cpu.system) / 1000 / ms;
    if (res.counts.issued !== cards) throw new Error(`runner bench: ${n} station(s) issued ${res.counts.issued} of ${cards}: ${res.message}`);
    return { ms, busyMs, cores };
  } finally {
    await opened.close();
    registry.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(join(root, `registry-${id}.sqlite`), { force: true });
  }
}

/** Milliseconds of one small append + fsync in `dir` (the median of `n`). */
function fsyncMs(dir: string, n = 30): number {
  const fd = openSync(join(dir, 'fsync-probe'), 'a');
  const line = Buffer.alloc(200, 0x61);
  const t: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      writeSync(fd, line);
      fsyncSync(fd);
      t.push(performance.now() - t0);
    }
  } finally {
    closeSync(fd);
    rmSync(join(dir, 'fsync-probe'), { force: true });
  }
  return median(t);
}

interface Recorded {
  index: number;
  seed: number;
  commands: Uint8Array[];
  sws: number[];
}

/** A transport that keeps every command it carries and the status word of its answer. */
function recording(t: Transport, rec: Recorded): Transport {
  return {
    name: t.name,
    atr: () => t.atr(),
    transmit: async (c) => {
      rec.commands.push(c.slice());
      const r = await t.transmit(c);
      rec.sws.push((r[r.length - 2]! << 8) | r[r.length - 1]!);
      return r;
    },
    reset: (cold) => t.reset(cold),
    close: () => t.close(),
  };
}

/** (a) one zero-delay station per card against its floors; prints the figures and PASS/FAIL. */
export async function benchPerCard(b: ProfileBatch, root: string, o: { cards?: number; rounds?: number } = {}): Promise<void> {
  const cards = o.cards ?? 24;
  const rounds = o.rounds ?? 5;
  const batch = loadBatch(b.dir);
  const scripts = [...batch.scripts.values()].slice(0, cards);
  const exec = { provider: b.store, transportKey: { label: batch.manifest.transportKey.label } };
  const SEED = 7;
  // Record each card's commands once, on blank card i of printer SEED.
  const recorded: Recorded[] = [];
  for (const [i, s] of scripts.entries()) {
    const rec: Recorded = { index: i + 1, seed: SEED, commands: [], sws: [] };
    await executeScript(recording(new SimulatorTransport(ssCardStock.blank(i + 1, SEED)), rec), s, exec);
    recorded.push(rec);
  }
  const apdus = recorded.reduce((n, r) => n + r.commands.length, 0) / cards;
  type Side = 'APDUs alone' | 'executor' | 'runner';
  const sides: Side[] = ['APDUs alone', 'executor', 'runner'];
  const ms: Record<Side, number[]> = { 'APDUs alone': [], executor: [], runner: [] };
  const busy: number[] = [];
  const fsync: number[] = [];
  let jsFsyncs = 0;
  const probeDir = join(root, 'probe');
  mkdirSync(probeDir, { recursive: true });
  const load0 = loadavg()[0]!;
  for (let round = 0; round <= rounds; round++) {
    const order = sides.map((_, i) => sides[(i + round) % sides.length]!);
    for (const side of order) {
      let t: number;
      if (side === 'APDUs alone') {
        const t0 = performance.now();
        for (const r of recorded) {
          const tr = new SimulatorTransport(ssCardStock.blank(r.index, r.seed));
          for (let k = 0; k < r.commands.length; k++) {
            const resp = await tr.transmit(r.commands[k]!);
            if (((resp[resp.length - 2]! << 8) | resp[resp.length - 1]!) !== r.sws[k]) throw new Error(`runner bench: the replayed card ${r.index} answered another status word at command ${k}`);
          }
        }
        t = performance.now() - t0;
      } else if (side === 'executor') {
        const t0 = performance.now();
        for (const [i, s] of scripts.entries()) await executeScript(new SimulatorTransport(ssCardStock.blank(i + 1, SEED)), s, exec);
        t = performance.now() - t0;
      } else {
        const r = await countingFsyncs(() => runOnce(b, root, 1, cards));
        t = r.value.ms;
        if (round > 0) {
          busy.push(r.value.busyMs / cards);
          jsFsyncs = r.fsyncs / cards;
        }
      }
      if (round > 0) ms[side].push(t / cards);
    }
    if (round > 0) fsync.push(fsyncMs(probeDir));
  }
  const m = Object.fromEntries(sides.map((s) => [s, median(ms[s])])) as Record<Side, number>;
  const fs1 = median(fsync);
  // Per issued card: the JavaScript-level ones counted above (audit log, sim-output, faces are not fsync'd), the SQLite ones as listed.
  const perCard = Math.round(jsFsyncs) + SQLITE_FSYNCS;
  const allowance = perCard * fs1;
  const busyMs = median(busy);
  const spread = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
  console.log(`(a) ${PROFILE}, one zero-delay station, faces and sim-output on, ${cards} cards, ${rounds} interleaved rounds (${availableParallelism()} cores, load ${load0.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end):`);
  console.log(`  APDUs alone (floor): ${m['APDUs alone'].toFixed(2)} ms/card (rounds ${spread(ms['APDUs alone'])}), ${apdus.toFixed(0)} command APDUs a card on the same blank cards`);
  console.log(`  executor alone: ${m.executor.toFixed(2)} ms/card (rounds ${spread(ms.executor)}), ${(m.executor / m['APDUs alone']).toFixed(2)}× the floor (its crypto: unsealing, key derivation, MACs, the SM2 certificate)`);
  console.log(`  runner: ${m.runner.toFixed(2)} ms/card (rounds ${spread(ms.runner)}), the runner's thread busy ${busyMs.toFixed(2)} ms/card; ${(m.runner / m['APDUs alone']).toFixed(2)}× the floor, ${(m.runner / m.executor).toFixed(2)}× the executor alone`);
  console.log(`  fsyncs per issued card: ${perCard} (${Math.round(jsFsyncs)} counted in this run from JavaScript: audit log and sim-output; ${SQLITE_FSYNCS} in SQLite: journal 3, registry 2), one fsync ${fs1.toFixed(2)} ms here: ${allowance.toFixed(2)} ms/card`);
  const goal = 1.5 * m['APDUs alone'] + allowance;
  const rest = m.runner - allowance;
  console.log(`  runner less its fsyncs: ${rest.toFixed(2)} ms/card = ${(rest / m['APDUs alone']).toFixed(2)}× the floor; goal ≤ 1.5× the floor + the fsyncs = ${goal.toFixed(2)} ms/card: ${pass(m.runner <= goal)}`);
}

/** (b) N stations in interleaved rounds, cards/h against N × one station; prints PASS/FAIL per N. */
export async function benchScaling(b: ProfileBatch, root: string, o: { what: string; latency?: PrinterLatency; cardsFor: (n: number) => number; rounds?: number; goalUpTo: number }): Promise<void> {
  const ns = [1, 2, 4, 8, 16];
  const rounds = o.rounds ?? 3;
  const perHour: Record<number, number[]> = Object.fromEntries(ns.map((n) => [n, []]));
  const cores: Record<number, number[]> = Object.fromEntries(ns.map((n) => [n, []]));
  const load0 = loadavg()[0]!;
  for (let round = 0; round <= rounds; round++) {
    const order = ns.map((_, i) => ns[(i + round) % ns.length]!);
    for (const n of order) {
      const cards = o.cardsFor(n);
      const r = await runOnce(b, root, n, cards, o.latency);
      if (round > 0) {
        perHour[n]!.push((cards / r.ms) * 3_600_000);
        cores[n]!.push(r.cores);
      }
    }
  }
  const one = median(perHour[1]!);
  console.log(`(b) scaling, ${o.what}, ${rounds} interleaved rounds (${availableParallelism()} cores, load ${load0.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end):`);
  for (const n of ns) {
    const med = median(perHour[n]!);
    const ratio = med / one;
    const goal = n <= o.goalUpTo ? `goal ≥ ${(0.9 * n).toFixed(1)}: ${pass(ratio >= 0.9 * n)}` : 'no goal beyond the cores';
    console.log(
      `  ${String(n).padStart(2)} station(s), ${o.cardsFor(n)} cards: median ${Math.round(med)} cards/h (rounds ${Math.round(Math.min(...perHour[n]!))}–${Math.round(Math.max(...perHour[n]!))}); ${ratio.toFixed(2)}× one station = ${(ratio / n).toFixed(2)}·N; cores busy ${median(cores[n]!).toFixed(2)}; ${goal}`,
    );
  }
}
