// prep streams: over a batch of 1,000,000 records its resident memory stays flat. The prep runs
// in its own process over the built dist/ (its card builder threads included) and samples its
// resident set every 10,000 cards; the largest sample of the second tenth of the batch (warmed up)
// is held against the largest of the last tenth, and the kernel's high-water mark (VmHWM) is
// reported too. No heap cap, no timing. The profile is the smallest useful one
// (fixtures/streaming.yaml: one record file, the sealed transport key), so a million cards take
// about a minute.
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { FileKeyStore } from '../../keys/file-store.js';
import { gb11643Check } from '../../profiles/index.js';
import { BIN, binSkipReason } from '../helpers/pcsc.js';

const DIST = join(BIN, '..', '..');

const PEAK_RSS = fileURLToPath(new URL('./fixtures/peak-rss.mjs', import.meta.url));
const CHILD = fileURLToPath(new URL('./fixtures/memory-child.mjs', import.meta.url));
const PASS = 'memory test passphrase';

async function writeBatch(path: string, n: number): Promise<void> {
  const out = createWriteStream(path);
  const write = (s: string) => (out.write(s) ? undefined : new Promise<void>((ok) => out.once('drain', () => ok())));
  await write('ssn,name,birthDate\n');
  for (let i = 0; i < n; i++) {
    const birth = new Date(Date.UTC(1950, 0, 1) + (i % 20000) * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');
    const body = `110105${birth}${String(Math.floor(i / 20000)).padStart(3, '0')}`;
    await write(`${body}${gb11643Check(body)},张伟,${birth}\n`);
  }
  await new Promise<void>((ok) => out.end(() => ok()));
}

const skip = process.platform !== 'linux' ? 'needs /proc/self/status (Linux)' : binSkipReason();

t.test('prep of 1,000,000 records: the resident set stays flat', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'prep-memory-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = await FileKeyStore.create(join(dir, 'keys.store'), new TextEncoder().encode(PASS), { scryptLog2N: 14 });
  await store.generate({ label: 't-transport', alg: 'des3', length: 16, usage: ['derive', 'encrypt'] });
  await store.generate({ label: 'batch-transport', alg: 'aes', length: 32, usage: ['seal', 'mac'] });
  await store.close();
  const n = 1_000_000;
  const input = join(dir, `batch-${n}.csv`);
  await writeBatch(input, n);
  const peakFile = join(dir, 'peak');
  const r = spawnSync(process.execPath, [`--import=${PEAK_RSS}`, CHILD, DIST, dir, String(n)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    env: { ...process.env, MEMORY_TEST_PASSPHRASE: PASS, PEAK_RSS_FILE: peakFile },
  });
  if (r.status !== 0) throw new Error(`prep of ${n} records: exit ${r.status}: ${r.stderr.split('\n').slice(-3).join(' ')}`);
  const { cards, tenths } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { cards: number; tenths: number[] };
  const peakMb = Number(readFileSync(peakFile, 'utf8')) / 1024;
  t.equal(cards, n, 'every card prepared');
  const [early, late] = [tenths[1]!, tenths[9]!];
  t.comment(`resident set, largest sample per tenth of the batch (MB): ${tenths.map((x) => x.toFixed(0)).join(' ')}; peak ${peakMb.toFixed(0)} MB`);
  // What may grow between the two: the batch reader's duplicate-key table (12 bytes a record, up to
  // three times that while it doubles: about 30 MB from 200,000 to 1,000,000 records) and the
  // allocator's slack. A leak of 100 bytes a card would add 80 MB.
  t.ok(early > 0 && late <= early + 64, `largest resident set ${late.toFixed(0)} MB in the last tenth, ${early.toFixed(0)} MB in the second (bound ${(early + 64).toFixed(0)} MB)`);
});
