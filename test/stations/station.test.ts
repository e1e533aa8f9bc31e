// Stations: the card cycle, pausing after N failed cards in a row (and not before), a station
// fault pausing at once while the other stations carry on, the manual mover driven by scripted
// reader events, the card left in the encoder (for recovery), and stations opened from a file.
import t from 'tap';
import { toHex } from '../../bytes/index.js';
import { CardRemovedError, ReaderError } from '../../transport/index.js';
import {
  CardUnresponsiveError,
  classifyError,
  EncoderTimeoutError,
  ManualMover,
  MoverError,
  openStations,
  parseStationsFile,
  PrinterError,
  PrinterLinkError,
  ScriptedReaderEvents,
  SimCardEncoder,
  SimulatedMover,
  SimulatedPrinter,
  SimulatedPrinterServer,
  Station,
  StationPausedError,
  type StationEvent,
} from '../../stations/index.js';
import { SIM, simCards, ssCardStock } from '../helpers/sim-host.js';

function simStation(printer: SimulatedPrinter, name = 'st-1', events?: StationEvent[], max?: number) {
  return new Station({
    name,
    mover: new SimulatedMover(printer),
    encoder: printer.encoder(),
    ...(max ? { maxConsecutiveFailures: max } : {}),
    ...(events ? { onEvent: (e: StationEvent) => events.push(e) } : {}),
  });
}

t.test('card cycle: load gives a transport and the chip serial; accept prints and ejects', async (t) => {
  const printer = new SimulatedPrinter({ stock: ssCardStock, seed: 3 });
  const st = simStation(printer);
  const card = await st.loadCard();
  t.equal(st.state, 'encoding');
  t.equal(card.chipSerial, printer.current!.chipSerial);
  t.equal(card.interface, 'contact');
  t.equal(toHex((await card.transport.transmit(Uint8Array.of(0, 0xa4, 0, 0, 2, 0x3f, 0))).subarray(-2)), '9000');
  await t.rejects(st.loadCard(), MoverError, 'one card at a time');
  t.same(await st.acceptCard(Uint8Array.of(1, 2, 3)), { printed: true });
  t.same(printer.faces.map((f) => [f.card, f.from, f.png.length]), [[1, 'png', 3]]);
  t.equal(st.state, 'idle');
  t.match(st.stats, { loaded: 1, accepted: 1, rejected: 0 });
  await st.close();
  t.equal(st.state, 'closed');
  await t.rejects(st.loadCard(), /closed/);
});

t.test('3 failed cards in a row pause the station; a good card in between resets the count', async (t) => {
  const printer = new SimulatedPrinter({ stock: ssCardStock, faults: [{ kind: 'dead-chip', card: 1 }, { kind: 'dead-chip', card: 2 }, { kind: 'dead-chip', card: 4 }, { kind: 'dead-chip', card: 5 }, { kind: 'dead-chip', card: 6 }] });
  const events: StationEvent[] = [];
  const st = simStation(printer, 'st-1', events);
  const failOne = async () => {
    const e = await st.loadCard().catch((x: unknown) => x);
    t.ok(e instanceof CardUnresponsiveError, 'dead chip');
    t.equal(classifyError(e), 'card');
    return st.rejectCard('no ATR');
  };
  t.same(await failOne(), { paused: false });
  t.same(await failOne(), { paused: false });
  await st.loadCard();
  await st.acceptCard();
  t.equal(st.consecutiveFailures, 0);
  t.same(await failOne(), { paused: false });
  t.same(await failOne(), { paused: false });
  t.same(await failOne(), { paused: true });
  t.equal(st.state, 'paused');
  t.match(st.pausedReason, /3 cards failed in a row \(last: no ATR\); the station is the likely cause/);
  const e = await st.loadCard().catch((x: unknown) => x);
  t.ok(e instanceof StationPausedError);
  t.match(e, { station: 'st-1', reason: /3 cards failed/ });
  t.equal(printer.rejectBox.length, 5);
  await st.resume();
  t.equal(st.state, 'idle');
  await st.loadCard();
  await st.acceptCard();
  t.match(
    events.filter((x) => x.type === 'card').map((x) => (x.type === 'card' ? `${x.outcome}:${x.consecutiveFailures}` : '')),
    ['rejected:1', 'rejected:2', 'accepted:0', 'rejected:1', 'rejected:2', 'rejected:3', 'accepted:0'],
  );
  t.equal(st.stats.pauses, 1);
});

t.test('maxConsecutiveFailures is configurable', async (t) => {
  const printer = new SimulatedPrinter({ stock: ssCardStock, faults: [{ kind: 'dead-chip', every: 1 }] });
  const st = simStation(printer, 'st-1', undefined, 1);
  await st.loadCard().catch(() => {});
  t.same(await st.rejectCard('dead'), { paused: true });
  t.throws(() => simStation(printer, 'bad', undefined, 0.5), RangeError);
  t.throws(() => new Station({ name: 'no spaces', mover: new SimulatedMover(printer), encoder: printer.encoder() }), RangeError);
});

t.test('a station fault (empty feeder) pauses at once; the other station carries on', async (t) => {
  const empty = new SimulatedPrinter({ stock: ssCardStock, name: 'a', cards: 1 });
  const full = new SimulatedPrinter({ stock: ssCardStock, name: 'b' });
  const a = simStation(empty, 'a');
  const b = simStation(full, 'b');
  await a.loadCard();
  await a.acceptCard();
  const e = await a.loadCard().catch((x: unknown) => x);
  t.ok(e instanceof PrinterError);
  t.equal(classifyError(e), 'station');
  t.equal(a.state, 'paused');
  t.equal(a.consecutiveFailures, 0, 'a station fault is not a card failure');
  for (let i = 0; i < 3; i++) {
    await b.loadCard();
    await b.acceptCard();
  }
  t.equal(full.output.length, 3);
  empty.loadFeeder(2);
  await a.resume();
  await a.loadCard();
  await a.acceptCard();
  t.equal(empty.output.length, 2);
});

t.test('classifyError', async (t) => {
  t.equal(classifyError(new PrinterError('x', 'jam', 'CARD JAM', true)), 'station');
  t.equal(classifyError(new PrinterError('x', 'error', 'ERROR MAG', false)), 'card');
  t.equal(classifyError(new PrinterLinkError('x')), 'station');
  t.equal(classifyError(new MoverError('x')), 'station');
  t.equal(classifyError(new ReaderError('pcscd down')), 'station');
  t.equal(classifyError(new EncoderTimeoutError('x')), 'card');
  t.equal(classifyError(new CardRemovedError('x')), 'card');
  t.equal(classifyError(new Error('6982')), 'card');
});

t.test('the card left in the encoder (for crash recovery)', async (t) => {
  const printer = new SimulatedPrinter({ stock: ssCardStock, seed: 9 });
  const before = simStation(printer);
  const card = await before.loadCard();
  // the runner "crashes": a new Station object on the same printer finds the card still there
  const after = simStation(printer);
  const found = await after.cardInEncoder();
  t.equal(found?.chipSerial, card.chipSerial);
  await after.rejectCard('recovery: partial');
  t.equal(printer.rejectBox.length, 1);
  t.equal(await simStation(printer).cardInEncoder(), undefined, 'no card: undefined');
});

t.test('manual mover: waits for the operator through reader events, prompts, bounded waits', async (t) => {
  const events = new ScriptedReaderEvents('Desk Reader 0');
  const prompts: string[] = [];
  const mover = new ManualMover({ name: 'desk', events, prompt: (m) => prompts.push(m), waitMs: 2000 });
  const st = new Station({ name: 'desk', mover, encoder: new SimCardEncoder('sim:sscard?seed=40', simCards) });
  const loading = st.loadCard();
  await new Promise((r) => setImmediate(r));
  t.equal(st.state, 'loading', 'waiting for a card');
  events.insert();
  const card = await loading;
  t.match(card.chipSerial, /^[0-9A-F]{16}$/);
  const ejecting = st.acceptCard(Uint8Array.of(1));
  await new Promise((r) => setImmediate(r));
  events.remove();
  t.same(await ejecting, { printed: false }, 'a desk reader prints nothing');
  events.insert();
  await st.loadCard(); // the next card
  const rejecting = st.rejectCard('6A82 on SELECT');
  await new Promise((r) => setImmediate(r));
  events.remove();
  await rejecting;
  t.same(prompts, [
    'desk: insert a blank card into Desk Reader 0',
    'desk: card done — take it out of Desk Reader 0 and put it on the ISSUED pile',
    'desk: card failed (6A82 on SELECT) — take it out of Desk Reader 0 and put it on the REJECT pile',
  ]);
  t.match(await mover.status(), { ready: true, card: 'none' });

  // nobody comes: the bounded wait ends, the station pauses (an operator problem, not the card's)
  const lonely = new Station({ name: 'lonely', mover: new ManualMover({ events: new ScriptedReaderEvents('R'), waitMs: 1 }), encoder: new SimCardEncoder('sim', simCards) });
  await t.rejects(lonely.loadCard(), { name: 'MoverError', message: /R: no card was inserted within 1 ms/ });
  t.equal(lonely.state, 'paused');
  // an abort ends the wait at once
  const ac = new AbortController();
  const waiting = new ScriptedReaderEvents('R2').waitFor('present', { timeoutMs: 60_000, signal: ac.signal });
  ac.abort();
  await t.rejects(waiting, /cancelled/);
});

t.test('stations from a file: simulated, evolis over TCP with simulated cards, manual', async (t) => {
  const printer = new SimulatedPrinter({ stock: ssCardStock, name: 'remote', seed: 77 });
  const server = await SimulatedPrinterServer.listen(printer);
  t.teardown(() => server.close());
  const file = parseStationsFile(`stations:
  - name: sim-1
    mover: { type: simulated, seed: 1 }
  - name: ev-1
    mover: { type: evolis, uri: "${server.uri}", timeoutMs: 5000 }
    encoder: sim:sscard?seed=500
  - name: desk
    mover: manual
    encoder: sim
`);
  const desk = new ScriptedReaderEvents('sim');
  desk.insert();
  const events: StationEvent[] = [];
  const opened = openStations(file.stations, { ...SIM, readerEvents: () => desk, onEvent: (e) => events.push(e) });
  t.teardown(() => opened.close());
  t.same(opened.stations.map((s) => [s.name, s.mover.kind, s.encoder.name]), [
    ['sim-1', 'simulated', 'sim-1:encoder'],
    ['ev-1', 'evolis', 'sim:sscard?seed=500'],
    ['desk', 'manual', 'sim'],
  ]);
  t.same([...opened.printers.keys()], ['sim-1']);
  for (const st of opened.stations) {
    const card = await st.loadCard();
    t.match(card.chipSerial, /^[0-9A-F]{16}$/, `${st.name} has a card`);
    if (st.name === 'desk') setImmediate(() => desk.remove());
    await st.acceptCard();
  }
  t.equal(printer.output.length, 1, 'the evolis station drove the remote printer');
  t.equal(opened.printers.get('sim-1')!.output.length, 1);
  t.ok(events.some((e) => e.station === 'ev-1' && e.type === 'card'));
});
