// bench/prep: `prep` of builtin:sscard-gen3 against the floor of all the crypto prep does per
// card, at the sizes a province sees.
//
// - Floor: per card, what prep computes with keys and hashes, taken with the fastest correct
//   implementation on this machine: the seals of a real card script (AES-256-GCM through OpenSSL,
//   node:crypto), each with its CMAC nonce (AES-CMAC: @noble/ciphers or the node:crypto CBC path,
//   whichever is faster here — both are timed and printed), the record id's and the random PINs'
//   HMAC-SHA256 blocks, the SHA-256 of the line (cards.sha256) and of the photo (the pack's
//   content address). Run on one thread; the parallel floor is that over the cores.
// - Subject: prepBatch with its default card builder threads (one per core), a real batch of
//   generated records, each with its own photo file (distinct bytes: a JPEG comment with the
//   record number; at most 100,000 files, reused in turn beyond), the file key store.
// - Rounds: floor and prep of 10,000 records alternate (order swapped each round) after a warm-up
//   pair, each in its own child process; medians and the per-round ratios are printed.
// - Sizes: 10,000, 100,000 and 1,000,000 records really prepared (no extrapolation, no heap cap),
//   each in its own child; peak RSS is the kernel's high-water mark (VmHWM) of that process.
// - Issuance registry: 10,000 records without and with the registry, interleaved.
// Every measure ends with PASS or FAIL against its goal.
// Run: npm run bench:prep   [-- --sizes 10000,100000,1000000] [--rounds 5] [--registry-rounds 3] [--keep]
import { spawnSync } from 'node:child_process';
import { createHash, createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { cmac as nobleCmac } from '@noble/ciphers/aes.js';
import { availableParallelism } from 'node:os';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cmacOverBlockCalls } from '../crypto/cmac.js';
import { FileKeyStore } from '../keys/file-store.js';
import { prepBatch } from '../personalization/prep/index.js';
import { IssuanceRegistry } from '../personalization/registry/index.js';
import { BLOBS_FILE } from '../personalization/blobs.js';
import { gb11643Check, loadProfile } from '../profiles/index.js';
import { median, verdictLine } from './measure.js';

const SELF = fileURLToPath(import.meta.url);
// examples/ is one level up from bench/ in the source tree and two from dist/bench/.
const EXAMPLES = [new URL('../examples/', import.meta.url).pathname, new URL('../../examples/', import.meta.url).pathname].find((d) => existsSync(d))!;
const NAMES = ['张伟', '王芳', '李娜', '刘洋', '陈静', '欧阳明远', '赵敏', '黄磊'];
const PASSPHRASE = new TextEncoder().encode('bench passphrase');
const MAX_PHOTO_FILES = 100_000;
const CORES = availableParallelism();

/** `n` distinct JPEGs: an example photo with a comment segment (FF FE) holding the number after SOI. */
function writePhotos(dir: string, n: number): void {
  mkdirSync(join(dir, 'photos'), { recursive: true });
  const base = readFileSync(join(EXAMPLES, 'photos', '0001.jpg'));
  for (let i = 0; i < n; i++) {
    const text = Buffer.from(String(i).padStart(8, '0'));
    const com = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, text.length + 2]), text]);
    writeFileSync(join(dir, 'photos', `${i}.jpg`), Buffer.concat([base.subarray(0, 2), com, base.subarray(2)]));
  }
}

async function writeBatch(dir: string, n: number, photos: number): Promise<string> {
  const path = join(dir, `batch-${n}.csv`);
  const out = createWriteStream(path);
  const write = (s: string) => (out.write(s) ? Promise.resolve() : new Promise<void>((ok) => out.once('drain', () => ok())));
  await write('ssn,name,nameExtension,sex,ethnicity,birthplace,birthDate,photo\n');
  for (let i = 0; i < n; i++) {
    const d = new Date(Date.UTC(1950, 0, 1) + (i % 20000) * 86400000);
    const birth = d.toISOString().slice(0, 10).replaceAll('-', '');
    const body = `110105${birth}${String(Math.floor(i / 20000)).padStart(3, '0')}`;
    const sex = Number(body[16]) % 2 === 1 ? '1' : '2';
    await write(`${body}${gb11643Check(body)},${NAMES[i % NAMES.length]},,${sex},01,110105,${birth},photos/${i % photos}.jpg\n`);
  }
  await new Promise<void>((ok) => out.end(() => ok()));
  return path;
}

async function makeStore(dir: string): Promise<void> {
  const store = await FileKeyStore.create(join(dir, 'keys.store'), PASSPHRASE, { scryptLog2N: 14 });
  const p = loadProfile('builtin:sscard-gen3');
  for (const ref of Object.values(p.keyStore)) {
    if (ref.alg === 'sm2') await store.generate({ label: ref.label, alg: 'sm2', usage: ['sign'] });
    else await store.generate({ label: ref.label, alg: ref.alg, length: 16, usage: ['derive', 'encrypt'] });
  }
  await store.generate({ label: 'batch-transport', alg: 'aes', length: 32, usage: ['seal', 'mac'] });
  await store.generate({ label: 'issuance-registry', alg: 'aes', length: 32, usage: ['mac'] });
  await store.close();
}

/** The peak resident set of this process (threads included), from the kernel: VmHWM. */
function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.memoryUsage().rss / 2 ** 20;
}

interface PrepRun {
  cards: number;
  seconds: number;
  peakRssMb: number;
  cardsBytes: number;
  packBytes: number;
}

async function prepChild(dir: string, input: string, out: string, registryFile?: string): Promise<void> {
  const store = await FileKeyStore.open(join(dir, 'keys.store'), PASSPHRASE);
  const profile = loadProfile('builtin:sscard-gen3');
  const registry = registryFile ? IssuanceRegistry.open(registryFile) : undefined;
  const t0 = performance.now();
  const r = await prepBatch({ ...(registry ? { registry } : {}), profile, profileFile: 'builtin:sscard-gen3', input, store, out, createdAt: '2026-01-15T00:00:00.000Z', today: '20260115' });
  const seconds = (performance.now() - t0) / 1000;
  registry?.close();
  await store.close();
  const size = (f: string) => (existsSync(join(out, f)) ? statSync(join(out, f)).size : 0);
  const res: PrepRun = { cards: r.manifest?.cards ?? 0, seconds, peakRssMb: peakRssMb(), cardsBytes: size('cards.jsonl'), packBytes: size(BLOBS_FILE) };
  process.stdout.write(JSON.stringify(res) + '\n');
}

interface FloorRun {
  seconds: number;
  cmac: string;
  seals: number[];
  hmacs: number;
  lineBytes: number;
  photoBytes: number;
}

/** The crypto of `n` cards like the first card of `sample` (a prepared batch folder), on this thread. */
async function floorChild(sample: string, n: number): Promise<void> {
  const line = readFileSync(join(sample, 'cards.jsonl'), 'utf8').split('\n')[0]!;
  const sealed = new Set<string>();
  JSON.parse(line, (k, v: unknown) => {
    if (k === 'sealed' && typeof v === 'string') sealed.add(v);
    return v;
  });
  const seals = [...sealed].map((v) => Buffer.from(v, 'base64').length - 29); // 01 ‖ IV(12) ‖ … ‖ tag(16)
  const profile = loadProfile('builtin:sscard-gen3');
  // The record id, then one HMAC block per random PIN (rejection sampling rarely needs a second).
  const hmacs = 1 + profile.pins.filter((p) => p.initial.kind === 'random').length;
  const photo = readFileSync(join(sample, '..', 'photos', '0.jpg'));
  const key = randomBytes(32);
  const pinKey = randomBytes(32);
  const context = Buffer.from(createHash('sha256').update('record').digest('hex').slice(0, 32));
  const nonceInput = (secret: Uint8Array) => Buffer.concat([Buffer.alloc(24), context, secret]);
  // The faster correct AES-CMAC here, timed on a nonce input.
  const probe = nonceInput(Buffer.alloc(16));
  const time = (f: () => unknown) => {
    const t0 = performance.now();
    for (let i = 0; i < 20000; i++) f();
    return performance.now() - t0;
  };
  time(() => nobleCmac(probe, key));
  time(() => cmacOverBlockCalls('aes', key, probe));
  const useNoble = time(() => nobleCmac(probe, key)) <= time(() => cmacOverBlockCalls('aes', key, probe));
  const cmac = useNoble ? (m: Uint8Array) => nobleCmac(m, key) : (m: Uint8Array) => cmacOverBlockCalls('aes', key, m);
  const secrets = seals.map((s) => randomBytes(s));
  const lineBytes = Buffer.from(line);
  const card = (): void => {
    for (const s of secrets) {
      const iv = cmac(nonceInput(s)).subarray(0, 12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      c.setAAD(context);
      c.update(s);
      c.final();
      c.getAuthTag();
    }
    for (let i = 0; i < hmacs; i++) createHmac('sha256', pinKey).update(context).digest();
    createHash('sha256').update(lineBytes).digest();
    createHash('sha256').update(photo).digest();
  };
  for (let i = 0; i < 1000; i++) card();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) card();
  const res: FloorRun = { seconds: (performance.now() - t0) / 1000, cmac: useNoble ? '@noble/ciphers' : 'node:crypto CBC', seals, hmacs, lineBytes: lineBytes.length, photoBytes: photo.length };
  process.stdout.write(JSON.stringify(res) + '\n');
}

function child<T>(args: string[]): T {
  const r = spawnSync(process.execPath, [...process.execArgv, SELF, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`child ${args[0]}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};

async function main(): Promise<void> {
  const a = process.argv.slice(2);
  if (a[0] === '--prep-child') return prepChild(a[1]!, a[2]!, a[3]!, a[4]);
  if (a[0] === '--floor-child') return floorChild(a[1]!, Number(a[2]));
  const sizes = arg('--sizes', '10000,100000,1000000').split(',').map(Number);
  const rounds = Number(arg('--rounds', '5'));
  const registryRounds = Number(arg('--registry-rounds', '3'));
  const dir = mkdtempSync(join(tmpdir(), 'bench-prep-'));
  let out = 0;
  const prep = (input: string, registry?: string): PrepRun => {
    const folder = join(dir, `out-${out++}`);
    try {
      return child<PrepRun>(['--prep-child', dir, input, folder, ...(registry ? [registry] : [])]);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  };
  try {
    await makeStore(dir);
    const photos = Math.min(MAX_PHOTO_FILES, Math.max(...sizes, 10_000));
    writePhotos(dir, photos);
    console.log(`bench/prep: builtin:sscard-gen3, ${CORES} cores, load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}; ${photos} distinct photo files`);

    // 1. Floor and prep side by side, 10,000 records.
    const n = 10_000;
    const input = await writeBatch(dir, n, photos);
    const sample = join(dir, 'sample');
    const one = await writeBatch(dir, 1, photos);
    child<PrepRun>(['--prep-child', dir, one, sample]);
    const side: { floor: number[]; prep: number[] } = { floor: [], prep: [] };
    let floorInfo: FloorRun | undefined;
    const rss: number[] = [];
    for (let r = 0; r <= rounds; r++) {
      const order = r % 2 === 0 ? (['floor', 'prep'] as const) : (['prep', 'floor'] as const);
      for (const s of order) {
        if (s === 'floor') {
          const f = child<FloorRun>(['--floor-child', sample, String(n)]);
          floorInfo = f;
          if (r > 0) side.floor.push((f.seconds / n) * 1e6);
        } else {
          const p = prep(input);
          if (p.cards !== n) throw new Error(`prep wrote ${p.cards} cards of ${n}`);
          if (r > 0) {
            side.prep.push((p.seconds / n) * 1e6);
            rss.push(p.peakRssMb);
          }
        }
      }
    }
    const floorUs = median(side.floor);
    const prepUs = median(side.prep);
    const parallelFloor = floorUs / CORES;
    const f = floorInfo!;
    console.log(`  floor, one thread: ${floorUs.toFixed(1)} µs/card = ${(1e6 / floorUs).toFixed(0)} cards/s (${f.seals.length} seals of ${f.seals.join('+')} bytes with CMAC nonces by ${f.cmac}, ${f.hmacs} HMAC-SHA256, SHA-256 of the ${f.lineBytes}-byte line and the ${f.photoBytes}-byte photo)`);
    console.log(`  prep, ${n} records: ${prepUs.toFixed(1)} µs/card = ${(1e6 / prepUs).toFixed(0)} cards/s (medians of ${rounds} interleaved rounds; per-round prep/floor ${side.prep.map((p, i) => (p / side.floor[i]!).toFixed(1)).join(', ')})`);
    const ratio = prepUs / parallelFloor;
    console.log(`  prep / floor: ${(prepUs / floorUs).toFixed(2)}× the one-thread floor, ${ratio.toFixed(2)}× the floor over ${CORES} cores`);
    console.log(verdictLine('prep / crypto floor over the cores', `${ratio.toFixed(2)}×`, { goal: '≤ 2×', pass: ratio <= 2 }));
    console.log(verdictLine(`prep throughput on ${CORES} cores`, `${(1e6 / prepUs).toFixed(0)} cards/s`, { goal: '≥ 20,000 cards/s', pass: 1e6 / prepUs >= 20_000 }));

    // 2. The sizes, each prepared for real.
    const runs: { n: number; run: PrepRun }[] = [];
    for (const size of sizes) {
      const run = prep(size === n ? input : await writeBatch(dir, size, photos));
      runs.push({ n: size, run });
      const perCard = (run.cardsBytes + run.packBytes) / run.cards;
      console.log(
        `  ${String(size).padStart(9)} records: ${run.cards} cards in ${run.seconds.toFixed(1)} s = ${(run.cards / run.seconds).toFixed(0)} cards/s, peak RSS ${run.peakRssMb.toFixed(0)} MB, ` +
          `output ${(perCard / 1024).toFixed(1)} KB/card (cards.jsonl ${(run.cardsBytes / run.cards / 1024).toFixed(1)} KB + pack ${(run.packBytes / run.cards / 1024).toFixed(1)} KB)`,
      );
      rmSync(join(dir, `batch-${size}.csv`), { force: true });
    }
    if (runs.length >= 2) {
      const [lo, hi] = [runs[0]!, runs[runs.length - 1]!];
      const grow = hi.run.peakRssMb / lo.run.peakRssMb;
      console.log(`  peak RSS ${lo.run.peakRssMb.toFixed(0)} MB at ${lo.n} vs ${hi.run.peakRssMb.toFixed(0)} MB at ${hi.n} records: ×${grow.toFixed(2)}`);
      console.log(verdictLine(`peak RSS from ${lo.n} to ${hi.n} records`, `×${grow.toFixed(2)}`, { goal: 'flat (≤ ×1.25)', pass: grow <= 1.25 }));
    }

    // 3. The issuance registry's cost: without, with, with, without, … (first pair: warm-up).
    const rates: Record<'without' | 'with', number[]> = { without: [], with: [] };
    const input2 = await writeBatch(dir, n, photos);
    for (let round = 0; round <= registryRounds; round++) {
      const order = round % 2 === 0 ? (['without', 'with'] as const) : (['with', 'without'] as const);
      for (const s of order) {
        const res = prep(input2, s === 'with' ? join(dir, `registry-${round}.sqlite`) : undefined);
        if (round > 0) rates[s].push(res.cards / res.seconds);
      }
    }
    if (registryRounds > 0) {
      const [w0, w1] = [median(rates.without), median(rates.with)];
      console.log(`  issuance registry, ${n} records, ${registryRounds} interleaved rounds: without ${w0.toFixed(0)} cards/s, with ${w1.toFixed(0)} cards/s (medians)`);
      console.log(verdictLine('issuance registry, time with / without', `${(w0 / w1).toFixed(2)}×`, { noGoal: true }));
    }
  } finally {
    if (process.argv.includes('--keep')) console.log(`  kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
