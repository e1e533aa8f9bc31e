// The runner's audit log (DIR/audit.log): every card event of a batch run is appended to the hash
// chain of keys/audit.ts, it verifies, it carries no secret, and a second run extends the same chain.
import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyAuditLog } from '../../keys/audit.js';
import { Journal } from '../../personalization/journal/index.js';
import { AUDIT_LOG, loadBatch, runBatch } from '../../personalization/runner/run.js';
import { openStations, simulatedStations, type StationConfig } from '../../stations/index.js';
import { makeKeyStore, makeScripts, recordSecrets, TRANSPORT_KEY, writeBatch } from './helpers.js';
import { SIM } from '../helpers/sim-host.js';

const { store } = await makeKeyStore();
t.teardown(() => store.close());

interface Entry { seq: number; op: string; label?: string; backend: string; detail?: Record<string, string | number | boolean> }
const entries = (p: string): Entry[] => readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Entry);

t.test('a batch run writes a verifiable audit log of every card event', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cardsmith-audit-'));
  const scripts = await makeScripts(store, 12, 'a');
  scripts[4]!.steps.splice(1, 0, { op: 'apdu', apdu: '00A4000002EF99', note: 'select a file no card has' });
  await writeBatch(dir, scripts, store);
  const configs: StationConfig[] = simulatedStations(3, { maxConsecutiveFailures: 5 });
  configs[0]!.mover = { ...configs[0]!.mover, faults: [{ kind: 'dead-chip', card: 2 }] } as StationConfig['mover'];
  configs[1]!.mover = { ...configs[1]!.mover, faults: [{ kind: 'jam', card: 2 }] } as StationConfig['mover'];
  const opened = openStations(configs, SIM);
  t.teardown(() => opened.close());
  const res = await runBatch(loadBatch(dir), { provider: store, stations: opened.stations });
  t.equal(res.counts.issued + res.counts.rejected, 12, res.message);

  const path = join(dir, AUDIT_LOG);
  const v = verifyAuditLog(path);
  const log = entries(path);
  t.equal(v.entries, log.length);
  t.ok(log.every((e) => e.backend === 'runner'));
  t.equal(log[0]!.op, 'run-start');
  t.equal(log.at(-1)!.op, 'run-end');
  const journal = Journal.open(dir);
  t.teardown(() => journal.close());
  const issued = journal.issuedCards();
  const issuedLog = log.filter((e) => e.op === 'card-issued');
  t.equal(issuedLog.length, issued.length, 'one issued entry per issued record');
  for (const c of issued) {
    const e = issuedLog.find((x) => x.label === c.recordId);
    t.equal(e?.detail?.chip, c.chipSerial, `${c.recordId}: the entry names its chip`);
  }
  const ops = new Set(log.map((e) => e.op));
  for (const op of ['card-claimed', 'card-loaded', 'card-issued', 'card-rejected', 'card-released']) t.ok(ops.has(op), `${op} logged`);
  const rejected = log.filter((e) => e.op === 'card-rejected');
  t.ok(rejected.some((e) => e.label === 'a0005' && /6A82/.test(String(e.detail?.reason)) && e.detail?.final === true), 'the reject reason is logged');
  t.ok(log.some((e) => e.op === 'card-released' && /JAM/i.test(String(e.detail?.reason))), 'a jam releases its record, logged');
  t.equal(log.filter((e) => e.op === 'card-claimed').length, log.filter((e) => ['card-issued', 'card-rejected', 'card-released'].includes(e.op)).length, 'every claim ends in an issue, a reject or a release');

  // No secret: no sealed blob, no PIN, no line-protection key of any record.
  const text = readFileSync(path, 'utf8');
  for (const s of scripts) {
    const { stk, pin } = recordSecrets(s.recordId);
    t.notOk(text.includes(Buffer.from(stk).toString('hex').toUpperCase()) || text.includes(Buffer.from(stk).toString('hex')), `${s.recordId}: no key bytes`);
    t.notOk(text.includes(`"${pin}"`) || text.includes(`0${pin}`), `${s.recordId}: no PIN`);
  }
  t.notMatch(text, /sealed|passphrase/i);
  void TRANSPORT_KEY;

  // A second run on a finished batch appends nothing; an edited log stops the next run that would append.
  const again = await runBatch(loadBatch(dir), { provider: store, stations: openStations(simulatedStations(1), SIM).stations });
  t.equal(again.kind, 'nothing-to-do');
  t.equal(entries(path).length, log.length);
});

t.test('a resumed run extends the same chain; a broken chain is never extended', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cardsmith-audit-'));
  await writeBatch(dir, await makeScripts(store, 6, 'b'), store);
  // Station 1 jams at its first card: it pauses and leaves records pending; the second run (another station) finishes.
  const configs = simulatedStations(1);
  configs[0]!.mover = { ...configs[0]!.mover, faults: [{ kind: 'jam', card: 3 }] } as StationConfig['mover'];
  const first = openStations(configs, SIM);
  t.teardown(() => first.close());
  const r1 = await runBatch(loadBatch(dir), { provider: store, stations: first.stations });
  t.ok(r1.counts.pending > 0, r1.message);
  const path = join(dir, AUDIT_LOG);
  const n1 = verifyAuditLog(path).entries;
  const second = openStations(simulatedStations(2).map((c, i) => ({ ...c, name: `other-${i}` })), SIM);
  t.teardown(() => second.close());
  const r2 = await runBatch(loadBatch(dir), { provider: store, stations: second.stations, resume: true });
  t.equal(r2.counts.issued, 6, r2.message);
  const v = verifyAuditLog(path);
  t.ok(v.entries > n1, `the second run appended to the chain (${n1} → ${v.entries})`);
  t.equal(entries(path).filter((e) => e.op === 'run-start').length, 2);

  // Tamper with the log, then make the batch have work again: the runner refuses to extend it.
  const dir2 = mkdtempSync(join(tmpdir(), 'cardsmith-audit-'));
  await writeBatch(dir2, await makeScripts(store, 4, 'c'), store);
  const c2 = simulatedStations(1);
  c2[0]!.mover = { ...c2[0]!.mover, faults: [{ kind: 'jam', card: 2 }] } as StationConfig['mover'];
  const third = openStations(c2, SIM);
  t.teardown(() => third.close());
  await runBatch(loadBatch(dir2), { provider: store, stations: third.stations });
  const p2 = join(dir2, AUDIT_LOG);
  writeFileSync(p2, readFileSync(p2, 'utf8').replace('"card-claimed"', '"card-claimeD"'));
  const fourth = openStations(simulatedStations(1).map((c) => ({ ...c, name: 'x' })), SIM);
  t.teardown(() => fourth.close());
  await t.rejects(runBatch(loadBatch(dir2), { provider: store, stations: fourth.stations, resume: true }), { name: 'AuditError', message: /audit\.log:\d+: the entry was changed/ });
});
