// The runner killed with SIGKILL at 20 seeded random points of one batch (inside APDU exchanges,
// card moves and everything between them), resumed each time, on stations whose cards survive the
// process. At the end: every record issued exactly once or rejected, 0 duplicates, 0 lost records,
// and every card in the output hoppers passes its record's verification (0 reported-good cards
// half-personalized); no issued record lacks its card.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../../personalization/journal/index.js';
import { verifyAuditLog } from '../../keys/audit.js';
import { readFileSync } from 'node:fs';
import { verifyCard } from '../../personalization/runner/executor.js';
import { loadBatch } from '../../personalization/runner/run.js';
import { SimulatorTransport } from '../../transport/simulator.js';
import { createSsCard } from '../../simulator/index.js';
import { chipSerialFromAtr } from '../../stations/index.js';
import { PersistentPrinter } from './fixtures/persistent-station.js';
import { killRepeatedly, makeKeyStore, makeScripts, prng, runnerChild, TRANSPORT_KEY, writeBatch } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'cardsmith-crash-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const { store, path: keystore } = await makeKeyStore(root);
t.teardown(() => store.close());



declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Tap {
    type Test = { teardown(fn: () => void): void };
  }
}

t.test('SIGKILL at 20 seeded points, resume each time', async (t) => {
  const dir = join(root, 'batch');
  const stateDir = join(root, 'printers');
  await writeBatch(dir, await makeScripts(store, 50, 'c'), store);
  const rnd = prng(20240607);
  const kills = await killRepeatedly(t, 'test/runner/fixtures/crash-child.ts', (first) => [dir, stateDir, keystore, first ? '0' : '1'], 20, () => 5 + Math.floor(rnd() * 40));
  t.equal(kills.length, 20, `killed at event ${kills.join(', ')}`);
  const last = await runnerChild(t, 'test/runner/fixtures/crash-child.ts', [dir, stateDir, keystore, '1'], 0);
  t.equal(last.code, 0, last.err);
  const summary = JSON.parse(last.out.trim().split('\n').pop()!) as { counts: { total: number; issued: number; rejected: number; pending: number; inProgress: number; review: number } };
  t.match(summary.counts, { total: 50, pending: 0, inProgress: 0, review: 0 });
  t.equal(summary.counts.issued + summary.counts.rejected, 50, '0 lost records');

  const again = await runnerChild(t, 'test/runner/fixtures/crash-child.ts', [dir, stateDir, keystore, '1'], 0);
  t.match(again.out, /"kind":"nothing-to-do"/, 'a finished batch: nothing to do');

  const journal = Journal.open(dir);
  t.teardown(() => journal.close());
  t.same(journal.duplicates(), { records: 0, chips: 0, inconsistent: 0 }, '0 duplicates');
  const issued = journal.issuedCards();
  const byChip = new Map(issued.map((c) => [c.chipSerial.toUpperCase(), c.recordId]));
  const batch = loadBatch(dir);
  const seen = new Set<string>();
  let outputCards = 0;
  for (let i = 1; i <= 4; i++) {
    const p = new PersistentPrinter(join(stateDir, `p${i}`), `ps-${i}`);
    const s = p.state();
    t.equal(s.current, null, `${p.name}: no card left in the encoder`);
    for (const index of s.output) {
      outputCards++;
      const card = createSsCard({ image: p.image(index) });
      const tr = new SimulatorTransport(card);
      const chip = chipSerialFromAtr(tr.atr()) ?? '';
      const rec = byChip.get(chip);
      t.ok(rec, `${p.name} card ${index}: its chip is an issued record's`);
      if (!rec) continue;
      t.notOk(seen.has(rec), `${rec} has one card only`);
      seen.add(rec);
      await verifyCard(tr, batch.scripts.get(rec)!, { provider: store, transportKey: TRANSPORT_KEY }).then(
        () => t.pass(`${rec}: the card passes verification`),
        (e: Error) => t.fail(`${rec}: reported good but fails verification: ${e.message}`),
      );
    }
  }
  t.equal(outputCards, issued.length, 'as many good cards in the hoppers as issued records');
  t.equal(seen.size, issued.length, 'every issued record has its card');

  // The audit log, appended to by 21 processes (20 of them killed mid-batch): one valid chain.
  const auditPath = join(dir, 'audit.log');
  const v = verifyAuditLog(auditPath);
  const entries = readFileSync(auditPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { op: string; label?: string });
  t.equal(v.entries, entries.length, `the audit chain across all runs is intact (${v.entries} entries)`);
  t.equal(entries.filter((e) => e.op === 'run-start').length, kills.length + 1, 'every run that had work is in the log (the killed ones and the last)');
  t.ok(entries.some((e) => e.op === 'card-recovered'), 'recoveries are logged');
  const issuedInLog = new Set(entries.filter((e) => e.op === 'card-issued').map((e) => e.label));
  // A kill between journal.issue and the audit append can lose that one entry (the journal decides); all others are there.
  t.ok(issuedInLog.size >= issued.length - kills.length, `issued records in the log: ${issuedInLog.size} of ${issued.length}`);
});
