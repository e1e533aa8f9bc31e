// prep streams: a batch of 1,000,000 records is prepared with about the memory of one of 20,000.
// Each size runs in its own process (its card builder threads included) and reports the kernel's
// high-water mark of its resident set (VmHWM); no heap cap, no timing. The profile is the smallest
// useful one (fixtures/streaming.yaml: one record file, the sealed transport key) so that a million
// cards take little more than the crypto of a million seals.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const CHILD = fileURLToPath(new URL('./fixtures/memory-child.ts', import.meta.url));
const PASS = 'memory test passphrase';

t.test('prep of 1,000,000 records peaks at about the resident memory of 20,000', { skip: process.platform !== 'linux' ? 'needs /proc/self/status (Linux)' : false }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'prep-memory-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { FileKeyStore } = await import('../../keys/file-store.js');
  const store = await FileKeyStore.create(join(dir, 'keys.store'), new TextEncoder().encode(PASS), { scryptLog2N: 14 });
  await store.generate({ label: 't-transport', alg: 'des3', length: 16, usage: ['derive', 'encrypt'] });
  await store.generate({ label: 'batch-transport', alg: 'aes', length: 32, usage: ['seal', 'mac'] });
  await store.close();
  const run = (n: number): { cards: number; peakMb: number } => {
    const r = spawnSync(process.execPath, ['--import=tsx', CHILD, dir, String(n)], { encoding: 'utf8', maxBuffer: 1 << 20, env: { ...process.env, MEMORY_TEST_PASSPHRASE: PASS } });
    if (r.status !== 0) throw new Error(`prep of ${n} records: ${r.stderr}`);
    rmSync(join(dir, `out-${n}`), { recursive: true, force: true });
    rmSync(join(dir, `batch-${n}.csv`), { force: true });
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { cards: number; peakMb: number };
  };
  const small = run(20_000);
  const big = run(1_000_000);
  t.equal(small.cards, 20_000, 'the small batch: every card prepared');
  t.equal(big.cards, 1_000_000, 'the big batch: every card prepared');
  // Flat: 50 times the cards, at most a quarter more memory (and 64 MB for the allocator's slack).
  const bound = small.peakMb * 1.25 + 64;
  t.ok(big.peakMb <= bound, `peak RSS ${big.peakMb.toFixed(0)} MB for 1,000,000 records, ${small.peakMb.toFixed(0)} MB for 20,000 (bound ${bound.toFixed(0)} MB)`);
});
