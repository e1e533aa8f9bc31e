// bench/batch: records per second of readBatch (the batch check prep runs on its main thread) on
// builtin:sscard-gen3 CSVs, in two cases, each next to its floor in interleaved rounds after a
// warm-up (bench/measure.ts measurePairAsync), medians and the ratio:
//   shared photo    every record names the same JPEG (as bench/prep's batch does); the floor is
//                   reading the file, decoding its UTF-8 and splitting it into lines;
//   distinct photos every record names its own JPEG (as real batches do); the floor adds, per
//                   record, the syscalls no photo check can avoid: one lstat (kind and size) and
//                   one open, 3-byte read and close (the JPEG magic).
// Ends with the verdict against the goal: ≥ 100,000 records/s for the shared-photo batch.
// Run: npm run bench:batch   (node dist/bench/batch.js [--records N] [--rounds N] [--json])
import { closeSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readBatch } from '../personalization/batch/index.js';
import { gb11643Check, loadProfile, type Profile } from '../profiles/index.js';
import { measurePairAsync, verdictLine, type InterleavedPair } from './measure.js';

const GOAL = 100_000;
const EXAMPLES = [new URL('../examples/', import.meta.url).pathname, new URL('../../examples/', import.meta.url).pathname].find((d) => existsSync(d))!;
const NAMES = ['张伟', '王芳', '李娜', '刘洋', '陈静', '欧阳明远', '赵敏', '黄磊'];

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** A valid sscard-gen3 batch of `n` records; `photo(i)` is record i's photo path. */
function writeBatch(path: string, n: number, photo: (i: number) => string): void {
  const lines = ['ssn,name,nameExtension,sex,ethnicity,birthplace,birthDate,photo'];
  for (let i = 0; i < n; i++) {
    const birth = new Date(Date.UTC(1950, 0, 1) + (i % 20000) * 86400000).toISOString().slice(0, 10).replaceAll('-', '');
    const body = `110105${birth}${String(Math.floor(i / 20000)).padStart(3, '0')}`;
    const sex = Number(body[16]) % 2 === 1 ? '1' : '2';
    lines.push(`${body}${gb11643Check(body)},${NAMES[i % NAMES.length]},,${sex},01,110105,${birth},${photo(i)}`);
  }
  writeFileSync(path, lines.join('\n') + '\n');
}

async function drain(profile: Profile, path: string, n: number): Promise<void> {
  let valid = 0;
  for await (const item of readBatch(profile, path, { today: '20260115' })) if (item.ok) valid++;
  if (valid !== n) throw new Error(`bench: ${valid} of ${n} records valid in ${path}`);
}

/** The floor of the shared case: the file read, decoded and split into lines. */
function lines(path: string): string[] {
  const text = new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(path));
  return text.split('\n');
}

/** The floor of the distinct case: the lines, plus one lstat and one 3-byte read per photo. */
function linesAndPhotos(path: string): void {
  const dir = dirname(path);
  const head = Buffer.alloc(3);
  const all = lines(path);
  for (let i = 1; i < all.length; i++) {
    const line = all[i]!;
    if (line === '') continue;
    const photo = join(dir, line.slice(line.lastIndexOf(',') + 1));
    if (!lstatSync(photo).isFile()) throw new Error(photo);
    const fd = openSync(photo, 'r');
    readSync(fd, head, 0, 3, 0);
    closeSync(fd);
  }
}

const n = option('--records', 10_000);
const rounds = option('--rounds', 9);
const json = process.argv.includes('--json');
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const dir = mkdtempSync(join(tmpdir(), 'cardsmith-bench-batch-'));
try {
  const profile = loadProfile('builtin:sscard-gen3');
  mkdirSync(join(dir, 'photos'));
  const jpeg = join(EXAMPLES, 'photos', '0001.jpg');
  copyFileSync(jpeg, join(dir, 'photos', 'shared.jpg'));
  for (let i = 0; i < n; i++) copyFileSync(jpeg, join(dir, 'photos', `${String(i).padStart(7, '0')}.jpg`));
  const shared = join(dir, 'shared.csv');
  const distinct = join(dir, 'distinct.csv');
  writeBatch(shared, n, () => 'photos/shared.jpg');
  writeBatch(distinct, n, (i) => `photos/${String(i).padStart(7, '0')}.jpg`);
  const loadBefore = load();
  const cases: [string, InterleavedPair][] = [
    ['shared photo', await measurePairAsync(['floor: read + split lines', async () => lines(shared)], ['readBatch', () => drain(profile, shared, n)], { ops: n, rounds })],
    ['distinct photos', await measurePairAsync(['floor: read + split lines + lstat + open/read/close per photo', async () => linesAndPhotos(distinct)], ['readBatch', () => drain(profile, distinct, n)], { ops: n, rounds })],
  ];
  const rate = (nsPerRecord: number) => 1e9 / nsPerRecord;
  const sharedRate = rate(cases[0]![1].b.median);
  const verdict = verdictLine('readBatch, shared photo', `${Math.round(sharedRate)} records/s`, { goal: `≥ ${GOAL} records/s`, pass: sharedRate >= GOAL });
  if (json) {
    console.log(JSON.stringify({ records: n, rounds, loadBefore, loadAfter: load(), cases: cases.map(([name, p]) => ({ name, floor: rate(p.a.median), readBatch: rate(p.b.median), ratio: p.ratio })), goal: GOAL, pass: sharedRate >= GOAL }));
  } else {
    console.log(`bench/batch: readBatch on builtin:sscard-gen3 CSVs of ${n} records, ${rounds} interleaved rounds after a warm-up, medians; ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; load ${loadBefore} before`);
    for (const [name, p] of cases) {
      console.log(`  ${name}:`);
      console.log(`    ${p.a.name.padEnd(62)} ${Math.round(rate(p.a.median)).toString().padStart(9)} records/s`);
      console.log(`    ${p.b.name.padEnd(62)} ${Math.round(rate(p.b.median)).toString().padStart(9)} records/s   ${p.ratio.toFixed(2)}× the floor's time (rounds ${p.roundRatios.min.toFixed(2)}–${p.roundRatios.max.toFixed(2)})`);
    }
    console.log(`  load ${load()} after`);
    console.log(verdict);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
