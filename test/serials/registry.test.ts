// The serial registry hands out every counter value once across batches: contiguous ranges,
// nothing consumed by an aborted prep or a prep killed before it committed, a second prep that
// committed first making the slower one fail (never a repeat), the file unlocked while a prep
// runs, and the profile's start value raising (never lowering) a counter.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SerialRegistry, SerialRegistryError } from '../../personalization/serials/registry.js';
import { collect, spawnTs } from '../journal/fixtures/helpers.js';

function registryFile(t: Tap.Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'cardsmith-serials-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'serials.sqlite');
}

t.test('consecutive batches get contiguous ranges; an aborted one consumes nothing', async (t) => {
  const file = registryFile(t);
  const reg = SerialRegistry.open(file, { now: () => new Date('2026-11-27T10:00:00Z') });
  t.teardown(() => reg.close());
  const a = reg.allocate('sscard-gen3', { card: 1, account: 5000 });
  t.same(a.first, { card: 1, account: 5000 });
  a.commit(24, 'batch-001');
  const aborted = reg.allocate('sscard-gen3', { card: 1, account: 5000 });
  t.same(aborted.first, { card: 25, account: 5024 });
  aborted.abort();
  const b = reg.allocate('sscard-gen3', { card: 1, account: 5000 });
  t.same(b.first, { card: 25, account: 5024 }, 'the aborted range is handed out again');
  b.commit(10, 'batch-002');
  const other = reg.allocate('gp-cps', { card: 1 });
  t.same(other.first, { card: 1 }, 'products count separately');
  other.commit(0, 'empty');
  t.same(reg.counters('sscard-gen3'), [
    { product: 'sscard-gen3', counter: 'account', next: 5034 },
    { product: 'sscard-gen3', counter: 'card', next: 35 },
  ]);
  t.same(
    reg.allocations().map((r) => `${r.product} ${r.counter} ${r.first}..${r.last} (${r.count}) ${r.batch}`),
    ['sscard-gen3 card 1..24 (24) batch-001', 'sscard-gen3 account 5000..5023 (24) batch-001', 'sscard-gen3 card 25..34 (10) batch-002', 'sscard-gen3 account 5024..5033 (10) batch-002'],
    'a committed count of 0 records no range',
  );
  t.equal(reg.allocations()[0]!.at, '2026-11-27T10:00:00.000Z');
  t.throws(() => b.commit(1, 'again'), /already ended/);
});

t.test('the state survives reopening; a higher profile start moves the counter up, a lower one does not move it back', async (t) => {
  const file = registryFile(t);
  let reg = SerialRegistry.open(file);
  reg.allocate('p', { card: 1 }).commit(100, 'b1');
  reg.close();
  reg = SerialRegistry.open(file);
  t.teardown(() => reg.close());
  const low = reg.allocate('p', { card: 50 });
  t.equal(low.first['card'], 101);
  low.abort();
  const high = reg.allocate('p', { card: 1000 });
  t.equal(high.first['card'], 1000);
  high.commit(1, 'b2');
  t.same(reg.counters('p'), [{ product: 'p', counter: 'card', next: 1001 }]);
});

t.test('two preps of one product at once: the first to commit wins, the other fails clearly and hands out nothing', async (t) => {
  const file = registryFile(t);
  const one = SerialRegistry.open(file);
  const two = SerialRegistry.open(file, { busyTimeoutMs: 50 });
  t.teardown(() => {
    one.close();
    two.close();
  });
  const slow = one.allocate('p', { card: 1 });
  t.throws(() => one.allocate('p', { card: 1 }), /already open on this registry handle/);
  const fast = two.allocate('p', { card: 1 });
  t.equal(fast.first['card'], 1, 'the registry is not locked while a prep runs');
  fast.commit(3, 'b-fast');
  t.throws(() => slow.commit(5, 'b-slow'), { name: 'SerialRegistryError', message: /another prep of p took numbers .* run it again/ });
  t.same(two.counters('p'), [{ product: 'p', counter: 'card', next: 4 }], 'only the winner recorded its range');
  const other = two.allocate('q', { card: 1 });
  const next = one.allocate('p', { card: 1 });
  other.commit(2, 'b-q');
  t.equal(next.first['card'], 4);
  next.commit(1, 'b-after');
  t.same(one.counters('p'), [{ product: 'p', counter: 'card', next: 5 }], 'a commit of another product does not get in the way');
});

t.test('a prep process killed while it holds an allocation leaves the counters as they were', async (t) => {
  const file = registryFile(t);
  const reg = SerialRegistry.open(file, { busyTimeoutMs: 50 });
  t.teardown(() => reg.close());
  reg.allocate('sscard-gen3', { card: 1 }).commit(7, 'b1');
  const child = spawnTs(t, 'test/serials/fixtures/hold-allocation.ts', [file]);
  const done = collect(child);
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes('holding')) resolve();
    });
    child.on('exit', () => reject(new Error('the child exited before it held the allocation')));
  });
  child.kill('SIGKILL');
  const result = await done;
  t.equal(result.signal, 'SIGKILL');
  t.match(result.out, /holding 8/, 'the child had been given 8');
  const after = reg.allocate('sscard-gen3', { card: 1 });
  t.equal(after.first['card'], 8, 'nothing was consumed by the killed prep');
  after.abort();
  t.equal(reg.allocations().length, 1);
});

t.test('bad input: not a registry, bad start, bad count, missing folder', async (t) => {
  const file = registryFile(t);
  const db = new Database(file);
  db.exec('CREATE TABLE x (a)');
  db.close();
  t.throws(() => SerialRegistry.open(file), /is an SQLite file but not a cardsmith registry/);
  const junk = file + '.txt';
  writeFileSync(junk, 'hello, this is not SQLite at all, just text that is long enough');
  t.throws(() => SerialRegistry.open(junk), SerialRegistryError);
  t.throws(() => SerialRegistry.open('/nonexistent-folder-xyz/serials.sqlite'), /does not exist/);
  const reg = SerialRegistry.open(registryFile(t));
  t.teardown(() => reg.close());
  t.throws(() => reg.allocate('p', { card: -1 }), /non-negative integer/);
  t.throws(() => reg.allocate('', { card: 1 }), /product name is empty/);
  const a = reg.allocate('p', { card: 1 });
  t.throws(() => a.commit(1.5, 'b'), /non-negative integer/);
  a.abort();
  t.same(reg.counters(), [], 'nothing recorded');
});
