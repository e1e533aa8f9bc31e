// The simulated printer's faults and bookkeeping: seeded cards (same seed, same chips), feed jam,
// dead chip, card removed mid-script, encoder timeout, empty feeder, probability faults drawn
// from the seed, the output hopper and reject box holding the real simulated cards; the card
// stock injected, and the kept output reached through the mover interface.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../bytes/index.js';
import { CardRemovedError } from '../../transport/index.js';
import {
  CardUnresponsiveError,
  EncoderTimeoutError,
  openStations,
  SimCardEncoder,
  SimulatedMover,
  SimulatedPrinter,
  simulatedStations,
  type FaultSpec,
} from '../../stations/index.js';
import { ssCardStock } from '../helpers/sim-host.js';

const SELECT_MF = Uint8Array.of(0x00, 0xa4, 0x00, 0x00, 0x02, 0x3f, 0x00);

async function cycle(printer: SimulatedPrinter) {
  const mover = new SimulatedMover(printer);
  await mover.load('contact');
  return { mover, transport: await printer.encoder().connect('contact') };
}

t.test('seeded cards: the same printer seed feeds the same chips, another seed other chips', async (t) => {
  const chips = async (seed: number) => {
    const p = new SimulatedPrinter({ stock: ssCardStock, seed });
    const m = new SimulatedMover(p);
    const out: (string | undefined)[] = [];
    for (let i = 0; i < 3; i++) {
      await m.load('contact');
      out.push(p.current!.chipSerial);
      await m.eject();
    }
    return out;
  };
  const a = await chips(7);
  t.same(await chips(7), a);
  t.not((await chips(8))[0], a[0]);
  t.equal(new Set(a).size, 3);
  for (const c of a) t.match(c, /^[0-9A-F]{16}$/);
});

t.test('output hopper and reject box keep the cards (their state can be re-read)', async (t) => {
  const p = new SimulatedPrinter({ stock: ssCardStock, seed: 1 });
  const { mover, transport } = await cycle(p);
  t.equal(toHex((await transport.transmit(SELECT_MF)).subarray(-2)), '9000');
  await transport.close();
  await mover.eject();
  const { mover: m2 } = await cycle(p);
  await m2.reject('test');
  t.same([p.output.map((c) => c.index), p.rejectBox.map((c) => c.index)], [[1], [2]]);
  t.equal(p.output[0]!.apdus, 1);
  t.equal(p.fed, 2);
});

t.test('feed jam: CARD JAM, error state until Srs, the card is lost', async (t) => {
  const p = new SimulatedPrinter({ stock: ssCardStock, faults: [{ kind: 'jam', card: 1 }] });
  t.equal(await p.execute({ command: 'Sis', params: [] }), 'CARD JAM');
  t.equal(p.error, 'CARD JAM');
  t.equal(await p.execute({ command: 'Se', params: [] }), 'CARD JAM');
  t.equal(await p.execute({ command: 'Srs', params: [] }), 'OK');
  t.equal(await p.execute({ command: 'Sis', params: [] }), 'OK');
  t.same(p.lost.map((c) => c.index), [1]);
  t.equal(p.current!.index, 2);
});

t.test('dead chip: the encoder gets no ATR', async (t) => {
  const p = new SimulatedPrinter({ stock: ssCardStock, faults: [{ kind: 'dead-chip', card: 1 }] });
  await new SimulatedMover(p).load('contact');
  await t.rejects(p.encoder().connect('contact'), CardUnresponsiveError);
});

t.test('card removed mid-script: CardRemovedError after afterApdus commands, the card is gone', async (t) => {
  const p = new SimulatedPrinter({ stock: ssCardStock, faults: [{ kind: 'removed', card: 1, afterApdus: 2 }] });
  const { transport } = await cycle(p);
  await transport.transmit(SELECT_MF);
  await transport.transmit(SELECT_MF);
  await t.rejects(transport.transmit(SELECT_MF), CardRemovedError);
  t.equal(p.position, 'none');
  t.same(p.lost.map((c) => c.index), [1]);
  await t.rejects(p.encoder().connect('contact'), CardRemovedError, 'no card at the encoder any more');
});

t.test('encoder timeout: EncoderTimeoutError (a ReaderError) after afterApdus commands', async (t) => {
  const p = new SimulatedPrinter({ stock: ssCardStock, faults: [{ kind: 'encoder-timeout', card: 1, afterApdus: 1 }], latency: { encoderTimeoutMs: 5 } });
  const { transport } = await cycle(p);
  await transport.transmit(SELECT_MF);
  const e = await transport.transmit(SELECT_MF).catch((x: unknown) => x);
  t.ok(e instanceof EncoderTimeoutError);
  t.equal((e as Error).name, 'EncoderTimeoutError');
});

t.test('empty feeder: FEEDER EMPTY until the operator loads cards', async (t) => {
  const p = new SimulatedPrinter({ stock: ssCardStock, cards: 1 });
  const m = new SimulatedMover(p);
  await m.load('contact');
  await m.eject();
  await t.rejects(m.load('contact'), { name: 'PrinterError', code: 'feeder-empty' });
  t.equal(p.error, null, 'an empty feeder is not an error state');
  p.loadFeeder(1);
  await m.load('contactless');
  t.equal(p.position, 'contactless');
  await t.rejects(p.encoder().connect('contact'), /at the contactless station, not under the contact encoder/);
  const tr = await p.encoder().connect('contactless');
  t.equal(tr.atr()[1]! & 0xf0, 0x80, 'the contactless ATR');
});

t.test('every and probability faults are deterministic per seed', async (t) => {
  const pattern = async (seed: number, faults: FaultSpec[]) => {
    const p = new SimulatedPrinter({ stock: ssCardStock, seed, faults });
    const out: string[] = [];
    for (let i = 0; i < 40; i++) {
      const m = new SimulatedMover(p);
      try {
        await m.load('contact');
        await p.encoder().connect('contact');
        out.push('.');
        await m.eject();
      } catch (e) {
        out.push((e as Error).name === 'PrinterError' ? 'J' : 'D');
        if (p.error) await p.execute({ command: 'Srs', params: [] });
        else await m.reject('x');
      }
    }
    return out.join('');
  };
  const faults: FaultSpec[] = [{ kind: 'dead-chip', probability: 0.2 }, { kind: 'jam', every: 10 }];
  const a = await pattern(3, faults);
  t.equal(await pattern(3, faults), a, 'same seed, same faults');
  t.not(await pattern(4, faults), a, 'another seed, other faults');
  t.match(a, /^[^J]{9}J[^J]{9}J/, 'every 10th card jams');
  t.ok((a.match(/D/g) ?? []).length > 0, 'some dead chips');
});

t.test('bad fault specs are refused', async (t) => {
  t.throws(() => new SimulatedPrinter({ stock: ssCardStock, faults: [{ kind: 'fire' as never, card: 1 }] }), /kind must be one of/);
  t.throws(() => new SimulatedPrinter({ stock: ssCardStock, faults: [{ kind: 'jam' }] }), /exactly one of card, every, probability/);
  t.throws(() => new SimulatedPrinter({ stock: ssCardStock, faults: [{ kind: 'jam', probability: 2 }] }), /0..1/);
  t.throws(() => new SimulatedPrinter({ stock: ssCardStock, seed: -1 }), /seed/);
});

t.test('unknown commands and bad parameters', async (t) => {
  const p = new SimulatedPrinter({ stock: ssCardStock });
  t.equal(await p.execute({ command: 'Qq', params: [] }), 'ERROR CDE');
  t.equal(await p.execute({ command: 'Db', params: ['k', '2'], data: new Uint8Array(10) }), 'ERROR PARAMETRES');
  t.equal(await p.execute({ command: 'Pr', params: ['zz'] }), 'ERROR PARAMETRES');
  t.equal(await p.execute({ command: 'Sk', params: ['f'] }), '0');
});

t.test('cards come from the injected stock; without one the printer and sim encoders say what to pass', async (t) => {
  t.throws(() => new SimulatedPrinter({ name: 'bare' }), { name: 'TypeError', message: /simulated printer bare: no card stock: pass the stock option \(the simulator's ssCardStock/ });
  t.throws(() => new SimCardEncoder('sim', undefined), { name: 'TypeError', message: /encoder "sim": simulated cards need a factory: pass the simCards option/ });
  t.throws(() => openStations(simulatedStations(1)), /simulated printer sim-1: no card stock/);
  const fed: number[] = [];
  const p = new SimulatedPrinter({ seed: 4, stock: { ...ssCardStock, blank: (index, seed) => (fed.push(index), ssCardStock.blank(index, seed)) } });
  const { mover, transport } = await cycle(p);
  t.same(fed, [1], 'the first card fed came from the stock');
  t.equal(toHex(transport.atr()), toHex(ssCardStock.blank(1, 4).atr), 'the card in the encoder is stock card 1 of seed 4');
  await mover.eject();
  t.equal(p.output.length, 1);
});

t.test('SimulatedMover keeps output through the mover interface: keepOutput, holdsLeftCard', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cardsmith-keep-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const p = new SimulatedPrinter({ stock: ssCardStock, name: 'k', seed: 2 });
  const mover = new SimulatedMover(p);
  t.equal(mover.holdsLeftCard(), false, 'no output kept, nothing held');
  mover.keepOutput(dir);
  t.equal(p.outputDir, dir);
  await mover.load('contact');
  t.equal(mover.holdsLeftCard(), true, 'a card in the encoder of a printer that keeps output');
  // A printer taking over the files finds that card still in the encoder.
  const again = new SimulatedMover(new SimulatedPrinter({ stock: ssCardStock, name: 'k', seed: 2 }));
  again.keepOutput(dir);
  t.equal(again.holdsLeftCard(), true, 'taken over: the card is still there');
  await again.eject();
  t.equal(again.holdsLeftCard(), false);
});
