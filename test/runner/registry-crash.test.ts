// Two batches that share 15 cardholders and one issuance registry, their runners SIGKILLed at 24
// seeded points (inside APDU exchanges, card moves and between the registry's and the journal's
// writes), resumed each time, and batch A's journal deleted after the 12th kill. At the end: no
// cardholder and no record has two cards, no record is lost, every card in the output hoppers is
// an issued record's and passes its verify steps, and both journals agree with the registry.
import t from 'tap';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../../personalization/journal/index.js';
import { IssuanceRegistry } from '../../personalization/registry/index.js';
import { compare } from '../../personalization/registry/reconcile.js';
import { verifyCard } from '../../personalization/runner/executor.js';
import { loadBatch } from '../../personalization/runner/run.js';
import type { CardScript } from '../../personalization/script.js';
import { SimulatorTransport } from '../../transport/simulator.js';
import { chipSerialFromAtr } from '../../stations/index.js';
import { createSsCard } from '../../simulator/index.js';
import { PersistentPrinter } from './fixtures/persistent-station.js';
import { makeKeyStore, makeScripts, prng, runnerChild, TRANSPORT_KEY, writeBatch } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'cardsmith-registry-crash-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const { store, path: keystore } = await makeKeyStore(root);
t.teardown(() => store.close());
const registryPath = join(root, 'registry.sqlite');
const CHILD = 'test/runner/fixtures/registry-crash-child.ts';

/** Batch `name`: 30 records whose holders (keyed hashes in a real batch) are <from>…<from+29>, four digits. */
async function batch(name: string, from: number, seed: number): Promise<{ name: string; dir: string; state: string; scripts: CardScript[] }> {
  const scripts = (await makeScripts(store, 30, `${name}-`)).map((s, i) => ({ ...s, issuance: { holder: String(from + i).padStart(4, '0') } }));
  const dir = join(root, name);
  await writeBatch(dir, scripts, store, { seed });
  return { name, dir, state: join(root, `${name}-printers`), scripts };
}

t.test('SIGKILL at 24 points across two batches sharing cardholders, one journal deleted midway', async (t) => {
  const a = await batch('a', 1, 1);
  const b = await batch('b', 16, 2);
  const started = new Set<string>();
  const args = (x: typeof a): string[] => [x.dir, x.state, keystore, registryPath, started.has(x.name) ? '1' : '0', x.name];
  const rnd = prng(20261207);
  const kills: string[] = [];
  while (kills.length < 24) {
    const x = rnd() < 0.5 ? a : b;
    const at = 5 + Math.floor(rnd() * 60);
    const r = await runnerChild(t, CHILD, args(x), at);
    started.add(x.name);
    if (r.signal !== 'SIGKILL') {
      t.fail(`batch ${x.name} finished before 24 kills (after ${kills.length}): ${r.out} ${r.err}`);
      break;
    }
    kills.push(`${x.name}@${at}`);
    if (kills.length === 12) for (const f of readdirSync(a.dir)) if (f.startsWith('journal.sqlite')) rmSync(join(a.dir, f));
  }
  t.equal(kills.length, 24, `killed at ${kills.join(', ')}`);

  // Resume both until neither has work (a record held back for the other batch's card in the making waits for it).
  const done = new Map<string, { counts: Record<string, number> }>();
  for (let round = 0; round < 4 && !(done.size === 2 && [...done.values()].every((d) => d.counts['pending'] === 0)); round++) {
    for (const x of [a, b]) {
      const r = await runnerChild(t, CHILD, args(x), 0);
      t.ok(r.code === 0 || r.code === null, `${x.name} round ${round}: ${r.err.slice(-300)}`);
      done.set(x.name, JSON.parse(r.out.trim().split('\n').pop()!) as { counts: Record<string, number> });
    }
  }
  for (const x of [a, b]) {
    const c = done.get(x.name)!.counts;
    t.match(c, { total: 30, pending: 0, inProgress: 0, review: 0 }, `${x.name}: every record finished`);
    t.equal(c['issued']! + c['rejected']!, 30, `${x.name}: 0 lost records`);
  }

  const registry = IssuanceRegistry.open(registryPath);
  t.teardown(() => registry.close());
  t.equal(registry.counts().reserved, 0, 'no card left half-recorded in the registry');
  const issued = registry.cards({ state: 'issued' });
  const holders = issued.map((c) => c.holder);
  t.equal(new Set(holders).size, holders.length, `no cardholder has two cards (${holders.length} cards)`);
  t.equal(new Set(issued.map((c) => `${c.batch} ${c.record}`)).size, issued.length, 'no record has two cards');

  let journalIssued = 0;
  let hopperCards = 0;
  for (const x of [a, b]) {
    const loaded = loadBatch(x.dir);
    const journal = Journal.open(x.dir);
    t.same(journal.duplicates(), { records: 0, chips: 0, inconsistent: 0 }, `${x.name}: 0 duplicates in the journal`);
    t.same(compare(journal, registry, loaded.id), [], `${x.name}: the journal agrees with the registry`);
    const byChip = new Map(journal.issuedCards().map((c) => [c.chipSerial, c.recordId]));
    journalIssued += byChip.size;
    journal.close();
    for (let i = 1; i <= 4; i++) {
      const p = new PersistentPrinter(join(x.state, `p${i}`), `${x.name}-${i}`);
      t.equal(p.state().current, null, `${p.name}: no card left in the encoder`);
      for (const index of p.state().output) {
        hopperCards++;
        const tr = new SimulatorTransport(createSsCard({ image: p.image(index) }));
        const rec = byChip.get(chipSerialFromAtr(tr.atr()) ?? '');
        if (!rec) {
          t.fail(`${p.name} card ${index}: in the hopper but not an issued record's`);
          continue;
        }
        await verifyCard(tr, loaded.scripts.get(rec)!, { provider: store, transportKey: TRANSPORT_KEY }).then(
          () => t.pass(`${x.name} ${rec}: its card passes verification`),
          (e: Error) => t.fail(`${x.name} ${rec}: reported good but fails verification: ${e.message}`),
        );
      }
    }
  }
  t.equal(journalIssued, issued.length, 'the journals issued as many cards as the registry holds');
  t.equal(hopperCards, issued.length, 'as many cards in the hoppers as issued');
});
