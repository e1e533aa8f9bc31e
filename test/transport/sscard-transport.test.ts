// The in-process transport over the real social-security card simulator: the personalization-like
// flow, T=0 behaviour (the card's 61xx/6Cxx never reach the caller), reader specs through
// openTransport, state files (save on close, load on open, a corrupt file named in the error).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { fromHex, toHex } from '../../bytes/index.js';
import { openTransport, SimulatorTransport } from '../../transport/index.js';
import { SimStateError } from '../../simulator/index.js';
import type { CardInterface, SimulatedCard } from '../../simulator/card.js';
import { createSsCard } from '../../simulator/index.js';
import { BINARY_DATA, personalizationFlow } from '../helpers/sscard-flow.js';
import { simCards } from '../helpers/sim-host.js';

/** Wraps a card and records what reaches it. */
function recording(card: SimulatedCard): SimulatedCard & { log: string[] } {
  const log: string[] = [];
  return {
    kind: card.kind,
    log,
    powerOn: (i: CardInterface) => card.powerOn(i),
    powerOff: () => card.powerOff(),
    process: (c: Uint8Array) => {
      const r = card.process(c);
      log.push(`${toHex(c)} ${toHex(r)}`);
      return r;
    },
  };
}

const dir = mkdtempSync(join(tmpdir(), 'cardsmith-sscard-'));

for (const t0 of [false, true]) {
  t.test(`personalization-like flow in-process (${t0 ? 'T=0' : 'plain'} card)`, async (t) => {
    const tr = new SimulatorTransport(createSsCard({ seed: 1, t0 }));
    const results = await personalizationFlow(tr);
    for (const r of results) t.ok(r.ok, `${r.what}: ${r.command} → ${r.response}`);
    await tr.close();
  });
}

t.test('T=0 sscard: 61xx is fetched with GET RESPONSE and 6Cxx repeated; the caller sees neither', async (t) => {
  const card = recording(createSsCard({ seed: 1, t0: true }));
  const tr = new SimulatorTransport(card);
  const fcp = toHex(await tr.transmit(fromHex('00A40000023F00')));
  t.match(fcp, /^6F[0-9A-F]+9000$/);
  t.match(card.log[0]!, /^00A40000023F00 61[0-9A-F]{2}$/, 'the card answered 61xx');
  t.match(card.log[1]!, /^00C00000[0-9A-F]{2} 6F[0-9A-F]+9000$/, 'GET RESPONSE fetched the FCP');
  card.log.length = 0;
  t.equal(toHex(await tr.transmit(fromHex('00A4000000'))), fcp, 'SELECT with Le 00 (256)');
  t.match(card.log[0]!, /^00A4000000 6C([0-9A-F]{2})$/, 'the card answered 6Cxx');
  const xx = /6C([0-9A-F]{2})$/.exec(card.log[0]!)![1];
  t.match(card.log[1]!, new RegExp(`^00A40000${xx} 6F`), 'repeated with Le = xx');
  const plain = new SimulatorTransport(createSsCard({ seed: 1 }));
  t.equal(toHex(await plain.transmit(fromHex('00A40000023F00'))), fcp, 'same answer as the plain card');
});

t.test('same seed, same challenges; another seed, others', async (t) => {
  const challenge = async (spec: string) => toHex(await (await openTransport(spec, { simCards })).transmit(fromHex('0084000008')));
  t.equal(await challenge('sim?seed=5'), await challenge('sim:sscard?seed=5'));
  t.not(await challenge('sim?seed=5'), await challenge('sim?seed=6'));
  t.equal(await challenge('sim'), await challenge('sim?seed=0'), 'default seed 0');
});

t.test('openTransport: spec parameters reach the card', async (t) => {
  const t0 = await openTransport('sim:sscard?seed=1&t0', { simCards });
  const plain = await openTransport('sim', { simCards });
  t.equal(t0.name, 'sim:sscard?seed=1&t0');
  t.not(toHex(t0.atr()), toHex(plain.atr()), 'the T=0 card has another ATR');
  const cl = await openTransport('sim?interface=contactless', { simCards });
  t.type(cl, SimulatorTransport);
  t.equal((cl as SimulatorTransport).iface, 'contactless');
  await Promise.all([t0.close(), plain.close(), cl.close()]);
});

t.test('state=FILE: a new card is saved on close and loaded on the next open', async (t) => {
  const file = join(dir, 'card.json');
  const first = await openTransport(`sim?seed=3&state=${encodeURIComponent(file)}`, { simCards });
  for (const r of await personalizationFlow(first)) t.ok(r.ok, r.what);
  await first.close();
  t.match(JSON.parse(readFileSync(file, 'utf8')), { format: 'cardsmith-card-image', kind: 'sscard' });
  const again = await openTransport(`sim?state=${file}`, { simCards });
  t.equal(toHex(await again.transmit(fromHex('00B081000C'))), `${BINARY_DATA}9000`, 'the file written before is there');
  await again.close();
});

t.test('state=FILE that is not a card image: SimStateError naming the file', async (t) => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"format":"something else"}');
  await t.rejects(openTransport(`sim?state=${bad}`, { simCards }), { name: 'SimStateError', message: new RegExp(`card state file ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a usable card image`) });
  writeFileSync(bad, 'not json');
  await t.rejects(openTransport(`sim?state=${bad}`, { simCards }), SimStateError);
  await t.rejects(openTransport('sim:gp?t0', { simCards }), { name: 'ReaderSpecError', message: /T=1 only/ });
});

t.test('sim specs need the simulated-card factory: without one openTransport names the option to pass', async (t) => {
  await t.rejects(openTransport('sim'), { name: 'TypeError', message: /openTransport\("sim"\): simulated cards need a factory: pass the simCards option \(the simulator's simCards/ });
  const made: string[] = [];
  const sim = await openTransport('sim:sscard?seed=5', { simCards: { create: (spec) => (made.push(`${spec.kind}/${spec.seed}`), simCards.create(spec)), save: simCards.save } });
  t.teardown(() => sim.close());
  t.same(made, ['sscard/5'], 'the injected factory made the card');
});

t.test('sim:gp opens the GlobalPlatform card: its ISD answers SELECT with an FCI', async (t) => {
  const gp = await openTransport('sim:gp?seed=3', { simCards });
  t.teardown(() => gp.close());
  const r = await gp.transmit(Uint8Array.from([0x00, 0xa4, 0x04, 0x00, 0x08, 0xa0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00, 0x00]));
  t.same([...r.subarray(r.length - 2)], [0x90, 0x00], 'SW 9000');
  t.equal(r[0], 0x6f, 'an FCI template');
});
