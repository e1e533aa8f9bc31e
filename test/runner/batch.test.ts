// 200 records on 8 simulated printer stations with injected faults (dead chip, card removed
// mid-script, feed jam), plus records no card can take: every record ends issued or rejected as
// the faults dictate, the journal, the report and the printers' output hoppers agree, and a second
// run does nothing and says so.
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../../personalization/journal/index.js';
import { verifyAuditLog } from '../../keys/audit.js';
import { buildReport } from '../../personalization/report/index.js';
import { verifyCard } from '../../personalization/runner/executor.js';
import { loadBatch, runBatch } from '../../personalization/runner/run.js';
import { openStations, simulatedStations } from '../../stations/index.js';
import { SimulatorTransport } from '../../transport/simulator.js';
import type { StationConfig } from '../../stations/index.js';
import { makeKeyStore, makeScripts, seal, TRANSPORT_KEY, writeBatch } from './helpers.js';
import { SIM } from '../helpers/sim-host.js';

const { store } = await makeKeyStore();
t.teardown(() => store.close());

t.test('200 records on 8 faulty stations', async (t) => {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'cardsmith-batch-'));
  const scripts = await makeScripts(store, 200);
  // r0010: every card answers 6A82 to one of its commands (a card fault, retried until its cards are used up).
  scripts[9]!.steps.splice(1, 0, { op: 'apdu', apdu: '00A4000002EF99', note: 'select a file no card has' });
  // r0020: a secret sealed for another record: not the card's fault, rejected at once.
  scripts[19]!.steps.splice(1, 0, { op: 'sealed-apdu', header: '00200001', data: { sealed: await seal(store, 'someone-else', Uint8Array.of(0x12, 0x34)) }, note: 'PIN' });
  // r0120: its verify expects a try counter no card has (a card fault each time, 3 cards to the reject box).
  scripts[119]!.verify.splice(1, 0, { op: 'check', apdu: '00200001', sw: ['63C9'], what: 'PIN 01 tries left 9' });
  // r0180: a secret sealed for another record, as r0020.
  scripts[179]!.steps.splice(1, 0, { op: 'sealed-apdu', header: '00200001', data: { sealed: await seal(store, 'someone-else-2', Uint8Array.of(0x56, 0x78)) }, note: 'PIN' });
  await writeBatch(dir, scripts, store);
  const configs: StationConfig[] = simulatedStations(8, { maxConsecutiveFailures: 4 });
  configs[0]!.mover = { ...configs[0]!.mover, faults: [{ kind: 'dead-chip', card: 2 }] } as StationConfig['mover'];
  configs[1]!.mover = { ...configs[1]!.mover, faults: [{ kind: 'removed', every: 4, afterApdus: 6 }] } as StationConfig['mover'];
  configs[2]!.mover = { ...configs[2]!.mover, faults: [{ kind: 'jam', card: 3 }] } as StationConfig['mover'];
  configs[3]!.mover = { ...configs[3]!.mover, faults: [{ kind: 'encoder-timeout', card: 2, afterApdus: 4 }] } as StationConfig['mover'];
  configs[4]!.mover = { ...configs[4]!.mover, faults: [{ kind: 'dead-chip', every: 9 }] } as StationConfig['mover'];
  configs[5]!.mover = { ...configs[5]!.mover, faults: [{ kind: 'removed', card: 5, afterApdus: 2 }, { kind: 'encoder-timeout', card: 11, afterApdus: 7 }] } as StationConfig['mover'];
  // sim-7: clean. sim-8: a run of dead chips, more than the station's limit in a row: paused as a suspect station.
  configs[7]!.mover = { ...configs[7]!.mover, faults: [6, 7, 8, 9, 10].map((card) => ({ kind: 'dead-chip' as const, card })) } as StationConfig['mover'];
  const opened = openStations(configs, SIM);
  t.teardown(() => opened.close());
  const events: string[] = [];
  const res = await runBatch(loadBatch(dir), { provider: store, stations: opened.stations, onEvent: (e) => events.push(e.type) });
  t.equal(res.kind, 'done');
  t.same(res.counts, { total: 200, pending: 0, inProgress: 0, issued: 196, rejected: 4, review: 0 }, res.message);
  t.same(res.paused.map((p) => p.station), ['sim-3', 'sim-8'], 'the jammed station and the one failing card after card paused, the others carried on');
  t.match(res.paused[0]!.reason, /CARD JAM/);

  const journal = Journal.open(dir);
  t.teardown(() => journal.close());
  t.match(journal.get('r0010'), { state: 'rejected', cardRejects: 3 });
  t.match(journal.get('r0010')!.reason, /steps\[1\] apdu "select a file no card has".*6A82/);
  t.match(journal.get('r0020'), { state: 'rejected', cardRejects: 1 });
  t.match(journal.get('r0020')!.reason, /cannot unseal/);
  t.match(journal.get('r0120'), { state: 'rejected', cardRejects: 3 });
  t.match(journal.get('r0120')!.reason, /verify\[1\] check "PIN 01 tries left 9"/);
  t.match(journal.get('r0180'), { state: 'rejected', cardRejects: 1 });
  t.match(journal.get('r0180')!.reason, /cannot unseal/);
  t.same(journal.duplicates(), { records: 0, chips: 0, inconsistent: 0 });
  const report = buildReport(journal);
  t.equal(report.counts.issued, 196);
  t.equal(report.counts.rejected, 4);
  t.same(report.rejected.map((r) => r.recordId).sort(), ['r0010', 'r0020', 'r0120', 'r0180'], 'only the records the faults doom are rejected');

  // The output hoppers hold exactly the issued cards, each passing its record's verification.
  const issued = new Map(journal.issuedCards().map((c) => [c.chipSerial, c.recordId]));
  const batch = loadBatch(dir);
  let good = 0;
  for (const [name, printer] of opened.printers) {
    for (const fed of printer.output) {
      const rec = issued.get(fed.chipSerial!);
      t.ok(rec, `${name}: output card ${fed.index} is an issued record's chip`);
      await verifyCard(new SimulatorTransport(fed.card), batch.scripts.get(rec!)!, { provider: store, transportKey: TRANSPORT_KEY });
      good++;
    }
  }
  t.equal(good, 196, 'every issued record has one card in an output hopper');
  const faulty = [...opened.printers.values()].flatMap((p) => p.rejectBox.filter((c) => c.faults.length > 0));
  t.ok(faulty.some((c) => c.faults.includes('dead-chip')) && faulty.some((c) => c.faults.includes('encoder-timeout')), 'the dead chip and the timed-out card went to the reject box');
  const removed = opened.printers.get('sim-2')!.lost.filter((c) => c.faults.includes('removed'));
  t.ok(removed.length >= 1, `cards pulled out mid-script are lost, their records retried (${removed.length})`);
  t.notOk([...opened.printers.values()].some((p) => p.output.some((c) => c.faults.length > 0)), 'no faulty card in an output hopper');
  t.ok(events.includes('start') && events.includes('end'));
  const chain = verifyAuditLog(join(dir, 'audit.log'));
  t.ok(chain.entries > 400, `the batch's audit chain verifies (${chain.entries} entries)`);
  t.comment(`200 cards on 8 stations: ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // A second run does nothing and says so.
  const again = await runBatch(loadBatch(dir), { provider: store, stations: openStations(simulatedStations(2), SIM).stations });
  t.equal(again.kind, 'nothing-to-do');
  t.match(again.message, /nothing to do/);
});
