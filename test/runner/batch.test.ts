// A batch on several simulated printer stations with injected faults (dead chip, card removed
// mid-script, feed jam), plus records no card can take: every record ends issued or rejected as
// the faults dictate, the journal, the report and the printers' output hoppers agree, and a second
// run does nothing and says so.
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../../personalization/journal/index.js';
import { buildReport } from '../../personalization/report/index.js';
import { verifyCard } from '../../personalization/runner/executor.js';
import { loadBatch, runBatch } from '../../personalization/runner/run.js';
import { openStations, simulatedStations } from '../../readers/stations/index.js';
import { SimulatorTransport } from '../../readers/simulator.js';
import type { StationConfig } from '../../readers/stations/index.js';
import { makeKeyStore, makeScripts, seal, TRANSPORT_KEY, writeBatch } from './helpers.js';

const { store } = await makeKeyStore();
t.teardown(() => store.close());

t.test('60 records on 6 faulty stations', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cardsmith-batch-'));
  const scripts = await makeScripts(store, 60);
  // r0010: every card answers 6A82 to one of its commands (a card fault, retried until its cards are used up).
  scripts[9]!.steps.splice(1, 0, { op: 'apdu', apdu: '00A4000002EF99', note: 'select a file no card has' });
  // r0020: a secret sealed for another record: not the card's fault, rejected at once.
  scripts[19]!.steps.splice(1, 0, { op: 'sealed-apdu', header: '00200001', data: { sealed: await seal(store, 'someone-else', Uint8Array.of(0x12, 0x34)) }, note: 'PIN' });
  writeBatch(dir, scripts);
  const configs: StationConfig[] = simulatedStations(6, { maxConsecutiveFailures: 4 });
  configs[0]!.mover = { ...configs[0]!.mover, faults: [{ kind: 'dead-chip', card: 2 }] } as StationConfig['mover'];
  configs[1]!.mover = { ...configs[1]!.mover, faults: [{ kind: 'removed', every: 4, afterApdus: 6 }] } as StationConfig['mover'];
  configs[2]!.mover = { ...configs[2]!.mover, faults: [{ kind: 'jam', card: 3 }] } as StationConfig['mover'];
  configs[3]!.mover = { ...configs[3]!.mover, faults: [{ kind: 'encoder-timeout', card: 2, afterApdus: 4 }] } as StationConfig['mover'];
  const opened = openStations(configs);
  t.teardown(() => opened.close());
  const events: string[] = [];
  const res = await runBatch(loadBatch(dir), { provider: store, stations: opened.stations, onEvent: (e) => events.push(e.type) });
  t.equal(res.kind, 'done');
  t.same(res.counts, { total: 60, pending: 0, inProgress: 0, issued: 58, rejected: 2, review: 0 }, res.message);
  t.same(res.paused.map((p) => p.station), ['sim-3'], 'the jammed station paused, the others carried on');
  t.match(res.paused[0]!.reason, /CARD JAM/);

  const journal = Journal.open(dir);
  t.teardown(() => journal.close());
  t.match(journal.get('r0010'), { state: 'rejected', cardRejects: 3 });
  t.match(journal.get('r0010')!.reason, /steps\[1\] apdu "select a file no card has".*6A82/);
  t.match(journal.get('r0020'), { state: 'rejected', cardRejects: 1 });
  t.match(journal.get('r0020')!.reason, /cannot unseal/);
  t.same(journal.duplicates(), { records: 0, chips: 0, inconsistent: 0 });
  const report = buildReport(journal);
  t.equal(report.counts.issued, 58);
  t.equal(report.counts.rejected, 2);

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
  t.equal(good, 58, 'every issued record has one card in an output hopper');
  const faulty = [...opened.printers.values()].flatMap((p) => p.rejectBox.filter((c) => c.faults.length > 0));
  t.ok(faulty.some((c) => c.faults.includes('dead-chip')) && faulty.some((c) => c.faults.includes('encoder-timeout')), 'the dead chip and the timed-out card went to the reject box');
  const removed = opened.printers.get('sim-2')!.lost.filter((c) => c.faults.includes('removed'));
  t.ok(removed.length >= 1, `cards pulled out mid-script are lost, their records retried (${removed.length})`);
  t.notOk([...opened.printers.values()].some((p) => p.output.some((c) => c.faults.length > 0)), 'no faulty card in an output hopper');
  t.ok(events.includes('start') && events.includes('end'));

  // A second run does nothing and says so.
  const again = await runBatch(loadBatch(dir), { provider: store, stations: openStations(simulatedStations(2)).stations });
  t.equal(again.kind, 'nothing-to-do');
  t.match(again.message, /nothing to do/);
});
