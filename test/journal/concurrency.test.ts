// claimNext under concurrency: 8 async stations in one process, and 2 processes on one journal
// file. Every record is issued exactly once, no record is handed to two stations.
import t from 'tap';
import { Journal } from '../../personalization/journal/index.js';
import { collect, journalWith, spawnTs, tempDir } from './fixtures/helpers.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

t.test('8 async stations in one process share 200 records without overlap', async (t) => {
  const { journal, ids } = journalWith(t, 200);
  const byStation = new Map<string, string[]>();
  let chip = 0;
  const station = async (name: string, delays: number) => {
    const mine: string[] = [];
    byStation.set(name, mine);
    for (;;) {
      const claim = journal.claimNext(name);
      if (!claim) return;
      mine.push(claim.recordId);
      for (let i = 0; i < delays; i++) await tick(); // card work: other stations run meanwhile
      journal.setChip(claim, (++chip).toString(16).padStart(8, '0'));
      await tick();
      journal.issue(claim, { verification: { ok: true } });
    }
  };
  await Promise.all(Array.from({ length: 8 }, (_, i) => station(`st-${i + 1}`, 1 + (i % 3))));
  const all = [...byStation.values()].flat();
  t.equal(all.length, 200, 'each record claimed once');
  t.same([...all].sort(), ids);
  for (const [name, list] of byStation) t.ok(list.length > 0, `${name} got work`);
  t.match(journal.counts(), { issued: 200, pending: 0, inProgress: 0 });
  t.same(journal.duplicates(), { records: 0, chips: 0, inconsistent: 0 });
});

t.test('2 processes on one journal: SQLite locking keeps claims disjoint', async (t) => {
  const dir = tempDir(t);
  const j = Journal.open(dir, { create: true });
  const ids = Array.from({ length: 300 }, (_, i) => `p-${i}`);
  j.addRecords(ids);
  j.close();
  const a = spawnTs(t, 'test/journal/fixtures/claimer.ts', [dir, 'proc-a', 'A1']);
  const b = spawnTs(t, 'test/journal/fixtures/claimer.ts', [dir, 'proc-b', 'B2']);
  const [ra, rb] = await Promise.all([collect(a), collect(b)]);
  t.equal(ra.code, 0, ra.err);
  t.equal(rb.code, 0, rb.err);
  const la = JSON.parse(ra.out) as string[];
  const lb = JSON.parse(rb.out) as string[];
  t.equal(la.filter((id) => lb.includes(id)).length, 0, 'no record issued by both');
  t.same([...la, ...lb].sort(), [...ids].sort(), 'every record issued by one of them');
  const check = Journal.open(dir);
  t.teardown(() => check.close());
  t.match(check.counts(), { issued: 300, pending: 0, inProgress: 0 });
  t.same(check.duplicates(), { records: 0, chips: 0, inconsistent: 0 });
  const stations = new Set(check.attempts().map((x) => x.station));
  t.same([...stations].sort(), ['proc-a', 'proc-b'].filter((s) => (s === 'proc-a' ? la.length : lb.length) > 0));
});
