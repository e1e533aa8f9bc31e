// Tearing: the power is cut inside card writes (the simulator's injectPowerLoss, before / during /
// after a persistent write) on some cards; each such card is rejected and its record is retried
// on a new card, so every record still ends issued and no torn card reaches the output hopper.
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../../personalization/journal/index.js';
import { verifyCard } from '../../personalization/runner/executor.js';
import { loadBatch, runBatch } from '../../personalization/runner/run.js';
import { openStations, simulatedStations, chipSerialFromAtr } from '../../stations/index.js';
import { SimulatorTransport } from '../../transport/simulator.js';
import type { SsCard } from '../../simulator/index.js';
import { makeKeyStore, makeScripts, TRANSPORT_KEY, writeBatch } from './helpers.js';
import { SIM, ssCardStock } from '../helpers/sim-host.js';

const { store } = await makeKeyStore();
t.teardown(() => store.close());

t.test('power cuts inside card writes: card rejected, record retried on a new card', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cardsmith-tearing-'));
  await writeBatch(dir, await makeScripts(store, 12, 't'), store);
  const phases = ['before', 'during', 'after'] as const;
  const torn = new Set<string>();
  const opened = openStations(simulatedStations(2, { maxConsecutiveFailures: 10 }), {
    ...SIM,
    simulated: {
      stock: {
        ...ssCardStock,
        blank: (index, seed) => {
          const card = ssCardStock.blank(index, seed);
          if (index % 3 === 2) {
            card.injectPowerLoss({ atWrite: 3 + ((index * 7) % 20), phase: phases[index % 3]! });
            torn.add(chipSerialFromAtr(card.atr)!);
          }
          return card;
        },
      },
    },
  });
  t.teardown(() => opened.close());
  const res = await runBatch(loadBatch(dir), { provider: store, stations: opened.stations });
  t.match(res.counts, { total: 12, issued: 12, rejected: 0, pending: 0 }, res.message);
  const journal = Journal.open(dir);
  t.teardown(() => journal.close());
  const retried = journal.records().filter((r) => r.cardRejects > 0);
  t.ok(retried.length >= 2, `${retried.length} record(s) needed a second card`);
  for (const r of retried) t.ok(journal.attempts({ recordId: r.id }).some((a) => /went away|did not answer/.test(a.reason ?? '')), `${r.id}: the failed attempt's reason says the card went away`);
  const batch = loadBatch(dir);
  const byChip = new Map(journal.issuedCards().map((c) => [c.chipSerial, c.recordId]));
  let rejectedTorn = 0;
  for (const p of opened.printers.values()) {
    for (const fed of p.output) {
      t.notOk(torn.has(fed.chipSerial!), `output card ${fed.index} was not torn`);
      const card = fed.card as SsCard;
      await verifyCard(new SimulatorTransport(card), batch.scripts.get(byChip.get(fed.chipSerial!)!)!, { provider: store, transportKey: TRANSPORT_KEY });
    }
    for (const fed of p.rejectBox) if (torn.has(fed.chipSerial!)) rejectedTorn++;
  }
  t.ok(rejectedTorn >= 2, `${rejectedTorn} torn card(s) in the reject boxes`);
});
