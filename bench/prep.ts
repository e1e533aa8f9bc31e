// bench/prep: cards per second and peak RSS of `prep` for sscard-gen3 batches of 10,000 and
// 100,000 generated records, each size in its own child process (so one run's heap cannot
// inflate the other's peak), next to the raw crypto floor per card: the same seal calls alone
// (sscard-gen3 derives every card key at run time, from the ATR, so prep's crypto is sealing).
// Then the cost of the issuance registry (a keyed hash of every cardholder's ID and a look-up of
// their live cards): 10,000 records without and with a registry, in interleaved rounds.
// Run: node --import=tsx bench/prep.ts   [--sizes 10000,100000] [--budget-s 150] [--registry-rounds 3]
import { spawnSync } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileKeyStore } from '../keys/file-store.js';
import { prepBatch } from '../personalization/prep/index.js';
import { IssuanceRegistry } from '../personalization/registry/index.js';
import { parseCardScript } from '../personalization/script.js';
import { gb11643Check, loadProfile } from '../profiles/index.js';
import { median } from './measure.js';

const SELF = fileURLToPath(import.meta.url);
// examples/ is one level up from bench/ in the source tree and two from dist/bench/.
const EXAMPLES = [new URL('../examples/', import.meta.url).pathname, new URL('../../examples/', import.meta.url).pathname].find((d) => existsSync(d))!;
const NAMES = ['张伟', '王芳', '李娜', '刘洋', '陈静', '欧阳明远', '赵敏', '黄磊'];

async function writeBatch(dir: string, n: number): Promise<string> {
  mkdirSync(join(dir, 'photos'), { recursive: true });
  copyFileSync(join(EXAMPLES, 'photos', '0001.jpg'), join(dir, 'photos', 'p.jpg'));
  const path = join(dir, `batch-${n}.csv`);
  const out = createWriteStream(path);
  const write = (s: string) => (out.write(s) ? Promise.resolve() : new Promise<void>((ok) => out.once('drain', () => ok())));
  await write('ssn,name,nameExtension,sex,ethnicity,birthplace,birthDate,photo\n');
  for (let i = 0; i < n; i++) {
    const d = new Date(Date.UTC(1950, 0, 1) + (i % 20000) * 86400000);
    const birth = d.toISOString().slice(0, 10).replaceAll('-', '');
    const body = `110105${birth}${String(Math.floor(i / 20000)).padStart(3, '0')}`;
    const sex = Number(body[16]) % 2 === 1 ? '1' : '2';
    await write(`${body}${gb11643Check(body)},${NAMES[i % NAMES.length]},,${sex},01,110105,${birth},photos/p.jpg\n`);
  }
  await new Promise<void>((ok) => out.end(() => ok()));
  return path;
}

async function makeStore(dir: string): Promise<string> {
  const path = join(dir, 'keys.store');
  const store = await FileKeyStore.create(path, new TextEncoder().encode('bench passphrase'), { scryptLog2N: 14 });
  const p = loadProfile('builtin:sscard-gen3');
  for (const ref of Object.values(p.keyStore)) {
    if (ref.alg === 'sm2') await store.generate({ label: ref.label, alg: 'sm2', usage: ['sign'] });
    else await store.generate({ label: ref.label, alg: ref.alg, length: 16, usage: ['derive', 'encrypt'] });
  }
  await store.generate({ label: 'batch-transport', alg: 'aes', length: 32, usage: ['seal', 'mac'] });
  await store.generate({ label: 'issuance-registry', alg: 'aes', length: 32, usage: ['mac'] });
  await store.close();
  return path;
}

interface ChildResult {
  n: number;
  seconds: number;
  cardsPerSecond: number;
  peakRssMb: number;
  sealsPerCard: number;
  sealBytes: number[];
  floorMsPerCard: number;
}

/** `registryFile`: prep with the issuance registry (a new file per run). */
async function child(dir: string, n: number, maxSeconds: number, registryFile?: string): Promise<void> {
  const store = await FileKeyStore.open(join(dir, 'keys.store'), new TextEncoder().encode('bench passphrase'), { write: true });
  const profile = loadProfile('builtin:sscard-gen3');
  const input = await writeBatch(dir, n);
  // One card first, for the crypto floor: the seal calls of a real card script.
  // A folder per size: prep never writes over a batch, and the children share `dir`.
  const one = await writeBatch(join(dir, `one-${n}`), 1);
  await prepBatch({ profile, profileFile: 'builtin:sscard-gen3', input: one, store, out: join(dir, `one-${n}`, 'out'), createdAt: '2026-01-15T00:00:00.000Z', today: '20260115' });
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25);
  const abort = new AbortController();
  const t0 = performance.now();
  let cards = 0;
  const registry = registryFile ? IssuanceRegistry.open(registryFile) : undefined;
  try {
    await prepBatch({
      ...(registry ? { registry } : {}),
      profile,
      profileFile: 'builtin:sscard-gen3',
      input,
      store,
      out: join(dir, `out-${n}`),
      createdAt: '2026-01-15T00:00:00.000Z',
      today: '20260115',
      onProgress: (p) => {
        cards = p.cards;
        if ((performance.now() - t0) / 1000 > maxSeconds) throw new Error('budget');
      },
    });
  } catch (e) {
    if ((e as Error).message !== 'budget') throw e;
  } finally {
    registry?.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(timer);
  void abort;
  // The crypto floor: the seal calls of one real card script, alone, repeated.
  const first = parseCardScript(readFileSync(join(dir, `one-${n}`, 'out', 'cards.jsonl'), 'utf8').split('\n')[0] ?? '', 'x');
  const sizes: number[] = [];
  const seen = new Set<string>(); // the sealed transport key is one seal, referred to by each open step
  JSON.stringify(first, (k, v: unknown) => {
    if (k === 'sealed' && typeof v === 'string' && !seen.has(v) && seen.add(v)) sizes.push(Buffer.from(v, 'base64').length - 29); // 01 ‖ IV(12) ‖ … ‖ tag(16)
    return v;
  });
  const ctx = new TextEncoder().encode(first.recordId);
  const rounds = 2000;
  const f0 = performance.now();
  for (let i = 0; i < rounds; i++) for (const s of sizes) await store.seal({ label: 'batch-transport' }, new Uint8Array(s), ctx);
  const floorMsPerCard = (performance.now() - f0) / rounds;
  const r: ChildResult = { n: cards, seconds, cardsPerSecond: cards / seconds, peakRssMb: peak / 2 ** 20, sealsPerCard: sizes.length, sealBytes: sizes, floorMsPerCard };
  process.stdout.write(JSON.stringify(r) + '\n');
  await store.close();
}

/** One prep run of `n` records in a child process with a capped heap (see main). */
function runChild(dir: string, n: number, budget: number, registryFile?: string): ChildResult {
  // A fixed heap cap: without one V8 grows its heap lazily up to whatever the machine offers,
  // and peak RSS says more about the GC than about what prep keeps. With the cap, a batch that
  // held per-card state would run out of heap at the larger size instead of finishing flat.
  const heapCap = process.execArgv.some((a) => a.startsWith('--max-old-space-size')) ? [] : ['--max-old-space-size=96'];
  const r = spawnSync(process.execPath, [...process.execArgv, ...heapCap, SELF, '--child', dir, String(n), String(budget), ...(registryFile ? [registryFile] : [])], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`child ${n}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return child(args[1]!, Number(args[2]), Number(args[3]), args[4]);
  const registryRounds = args.includes('--registry-rounds') ? Number(args[args.indexOf('--registry-rounds') + 1]) : 3;
  const sizes = (args[args.indexOf('--sizes') + 1] && args.includes('--sizes') ? args[args.indexOf('--sizes') + 1]! : '10000,100000').split(',').map(Number);
  const budget = args.includes('--budget-s') ? Number(args[args.indexOf('--budget-s') + 1]) : 75;
  const dir = mkdtempSync(join(tmpdir(), 'bench-prep-'));
  try {
    await makeStore(dir);
    console.log(`bench/prep: sscard-gen3, ${sizes.join(' and ')} generated records, each size in a child process (budget ${budget} s each; V8 old space capped at 96 MB unless --max-old-space-size is given)`);
    const results: ChildResult[] = [];
    for (const n of sizes) {
      const res = runChild(dir, n, budget);
      results.push(res);
      const msPerCard = 1000 / res.cardsPerSecond;
      const done = res.n < n ? ` — stopped at the ${budget} s budget after ${res.n} cards; ${n} cards extrapolated: ${(n / res.cardsPerSecond).toFixed(0)} s` : '';
      console.log(
        `  ${String(n).padStart(7)} records: ${res.cardsPerSecond.toFixed(0)} cards/s (${msPerCard.toFixed(3)} ms/card), peak RSS ${res.peakRssMb.toFixed(0)} MB${done}`,
      );
      console.log(`           crypto floor: ${res.sealsPerCard} seals/card (${res.sealBytes.join('+')} bytes) = ${res.floorMsPerCard.toFixed(3)} ms/card; prep/floor = ${(msPerCard / res.floorMsPerCard).toFixed(1)}×`);
      rmSync(join(dir, `out-${n}`), { recursive: true, force: true });
      rmSync(join(dir, `one-${n}`), { recursive: true, force: true });
    }
    if (results.length >= 2) {
      const [a, b] = [results[0]!, results[results.length - 1]!];
      console.log(`  peak RSS ${a.peakRssMb.toFixed(0)} MB at ${a.n} cards vs ${b.peakRssMb.toFixed(0)} MB at ${b.n} cards: ratio ${(b.peakRssMb / a.peakRssMb).toFixed(2)} (constant memory ⇒ ≈ 1)`);
    }
    // The registry's cost, side by side: without, with, with, without, … (first pair: warm-up).
    const n = 10_000;
    const rates: Record<'without' | 'with', number[]> = { without: [], with: [] };
    for (let round = 0; round <= registryRounds; round++) {
      const order = round % 2 === 0 ? (['without', 'with'] as const) : (['with', 'without'] as const);
      for (const side of order) {
        const res = runChild(dir, n, budget, side === 'with' ? join(dir, `registry-${round}.sqlite`) : undefined);
        rmSync(join(dir, `out-${n}`), { recursive: true, force: true });
        rmSync(join(dir, `one-${n}`), { recursive: true, force: true });
        if (round > 0) rates[side].push(res.cardsPerSecond);
      }
    }
    const [w0, w1] = [median(rates.without), median(rates.with)];
    console.log(
      `  issuance registry, ${n} records, ${registryRounds} interleaved rounds: without ${w0.toFixed(0)} cards/s, with ${w1.toFixed(0)} cards/s (medians); ` +
        `time ratio with/without ${(w0 / w1).toFixed(2)} (rounds ${rates.with.map((r, i) => (rates.without[i]! / r).toFixed(2)).join(', ')})`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
