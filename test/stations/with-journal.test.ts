// The parts together, without the executor: 60 records on 4 simulated printer stations with
// faults (dead chips, a card pulled out, a jam, a feeder running empty), a stand-in card step
// (SELECT MF), the journal before and after every card, an "operator" who fixes paused stations.
// Every record ends issued exactly once; the report agrees; faces were printed for issued cards.
import t from 'tap';
import { toHex } from '../../bytes/index.js';
import { Journal } from '../../personalization/journal/index.js';
import { buildReport } from '../../personalization/report/index.js';
import { classifyError, openStations, simulatedStations, type Station } from '../../stations/index.js';
import { renderFace } from '../../faces/index.js';
import { tempDir } from '../journal/fixtures/helpers.js';
import { SIM } from '../helpers/sim-host.js';

const SELECT_MF = Uint8Array.of(0x00, 0xa4, 0x00, 0x00, 0x02, 0x3f, 0x00);

async function work(st: Station, j: Journal): Promise<void> {
  while (!st.paused) {
    const claim = j.claimNext(st.name);
    if (!claim) return;
    let card;
    try {
      card = await st.loadCard();
    } catch (e) {
      const msg = (e as Error).message;
      if (classifyError(e) === 'station') {
        j.release(claim, msg); // nothing was written: the record goes back untouched
        return;
      }
      j.rejectCard(claim, msg);
      await st.rejectCard(msg);
      continue;
    }
    try {
      j.setChip(claim, card.chipSerial!); // before anything is written to the card
      const sw = toHex((await card.transport.transmit(SELECT_MF)).subarray(-2));
      if (sw !== '9000') throw new Error(`SELECT MF ${sw}`);
      j.issue(claim, { verification: { ok: true, checks: 1 } });
      await st.acceptCard(renderFace({ width: 1016, height: 648, fields: [{ kind: 'text', x: 20, y: 20, size: 40, value: claim.recordId }] }).png);
    } catch (e) {
      const msg = (e as Error).message;
      j.rejectCard(claim, msg);
      await st.rejectCard(msg);
    }
  }
}

t.test('60 records, 4 simulated stations with faults: all issued once', async (t) => {
  const dir = tempDir(t, 'cardsmith-run-');
  const j = Journal.open(dir, { create: true, batchId: 'mini' });
  t.teardown(() => j.close());
  const ids = Array.from({ length: 60 }, (_, i) => `rec-${i + 1}`);
  j.addRecords(ids);
  const configs = simulatedStations(4, { seed: 100 });
  configs[1]!.mover = { type: 'simulated', seed: 102, latency: {}, faults: [{ kind: 'dead-chip', card: 2 }, { kind: 'dead-chip', card: 3 }, { kind: 'removed', card: 5, afterApdus: 0 }] };
  configs[2]!.mover = { type: 'simulated', seed: 103, latency: {}, faults: [{ kind: 'jam', card: 4 }] };
  configs[3]!.mover = { type: 'simulated', seed: 104, cards: 5, latency: {}, faults: [] };
  const opened = openStations(configs, SIM);
  t.teardown(() => opened.close());

  const pauses: string[] = [];
  for (let round = 0; round < 10 && j.plan().kind === 'work'; round++) {
    await Promise.all(opened.stations.map((st) => work(st, j)));
    for (const st of opened.stations.filter((s) => s.paused)) {
      pauses.push(`${st.name}: ${st.pausedReason}`);
      opened.printers.get(st.name)!.loadFeeder(10); // the operator refills / clears the jam
      await st.resume();
    }
  }
  t.match(pauses, [/^sim-3: .*CARD JAM/, /^sim-4: .*FEEDER EMPTY/]);
  t.equal(j.plan().kind, 'nothing-to-do');
  t.match(j.counts(), { issued: 60, rejected: 0, pending: 0, inProgress: 0, review: 0 });
  const report = buildReport(j);
  t.same(report.duplicates, { records: 0, chips: 0, inconsistent: 0 });
  t.equal(report.cardRejects.total, 3, 'two dead chips and a card pulled out');
  t.equal(report.stations.reduce((n, s) => n + s.released, 0), 2, 'the jam and the empty feeder gave their records back');
  const printed = [...opened.printers.values()].reduce((n, p) => n + p.faces.length, 0);
  t.equal(printed, 60, 'a face for every issued card');
  const chips = new Set(j.issuedCards().map((c) => c.chipSerial));
  t.equal(chips.size, 60);
  const inHoppers = new Set([...opened.printers.values()].flatMap((p) => p.output.map((c) => c.chipSerial)));
  t.same([...chips].sort(), [...inHoppers].sort(), 'the issued chips are exactly the cards in the output hoppers');
});
