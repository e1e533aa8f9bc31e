// A runner killed with SIGKILL in the middle of a journal transaction (after its first write,
// before its commit) leaves the journal as it was before that transition: consistent, no half
// transition, no duplicate; the next open works and recovery settles the record.
import t, { type Test } from 'tap';
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Journal, JOURNAL_FILE } from '../../personalization/journal/index.js';
import { collect, spawnTs, tempDir } from './fixtures/helpers.js';

async function killInside(t: Test, op: string): Promise<string> {
  const dir = tempDir(t);
  const j = Journal.open(dir, { create: true });
  j.addRecords(['rec-0001', 'rec-0002']);
  j.close();
  const marker = join(dir, 'marker');
  const child = spawnTs(t, 'test/journal/fixtures/crash-child.ts', [dir, op, marker]);
  const done = collect(child, 120_000);
  const deadline = Date.now() + 90_000;
  while (!existsSync(marker)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      const r = await done;
      throw new Error(`the child never reached the ${op} transaction (exit ${r.code}): ${r.err}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  const r = await done;
  t.equal(r.signal, 'SIGKILL', `killed inside ${op}`);
  return dir;
}

function integrity(t: Test, dir: string): void {
  const raw = new Database(join(dir, JOURNAL_FILE));
  t.equal(raw.pragma('integrity_check', { simple: true }), 'ok', 'SQLite integrity check');
  t.same(raw.pragma('foreign_key_check'), [], 'foreign keys hold');
  raw.close();
}

t.test('killed inside claimNext: the record is still pending, no attempt row', async (t) => {
  const dir = await killInside(t, 'claim');
  integrity(t, dir);
  const j = Journal.open(dir);
  t.teardown(() => j.close());
  t.match(j.get('rec-0001'), { state: 'pending', attempt: 0, station: null });
  t.same(j.attempts(), []);
  t.equal(j.plan().kind, 'work');
});

t.test('killed inside setChip: in progress without a chip, recovery returns it to pending', async (t) => {
  const dir = await killInside(t, 'setChip');
  integrity(t, dir);
  const j = Journal.open(dir);
  t.teardown(() => j.close());
  t.match(j.get('rec-0001'), { state: 'in-progress', chipSerial: null, attempt: 1 });
  t.equal(j.plan().kind, 'recover-first');
  const out = await j.recover(() => 'empty');
  t.match(out, [{ recordId: 'rec-0001', decision: 'pending', cardAction: 'none' }]);
});

t.test('killed inside issue: not issued (no issued row), recovery from the card finishes it once', async (t) => {
  const dir = await killInside(t, 'issue');
  integrity(t, dir);
  const j = Journal.open(dir);
  t.teardown(() => j.close());
  t.match(j.get('rec-0001'), { state: 'in-progress', chipSerial: 'C0FFEE01' });
  t.same(j.issuedCards(), []);
  t.match(j.attempts(), [{ outcome: 'running', chipSerial: 'C0FFEE01' }]);
  const out = await j.recover(() => ({ state: 'issued', chipSerial: 'c0ffee01', verification: { ok: true } }));
  t.match(out, [{ decision: 'issued', state: 'issued' }]);
  t.same(j.issuedCards().map((c) => c.chipSerial), ['C0FFEE01']);
  t.same(j.duplicates(), { records: 0, chips: 0, inconsistent: 0 });
});

for (const op of ['rejectCard', 'release', 'markReview']) {
  t.test(`killed inside ${op}: the record stays in progress with its chip`, async (t) => {
    const dir = await killInside(t, op);
    integrity(t, dir);
    const j = Journal.open(dir);
    t.teardown(() => j.close());
    t.match(j.get('rec-0001'), { state: 'in-progress', chipSerial: 'C0FFEE01', cardRejects: 0, reason: null });
    t.match(j.attempts(), [{ outcome: 'running' }]);
    t.same(j.duplicates(), { records: 0, chips: 0, inconsistent: 0 });
  });
}
