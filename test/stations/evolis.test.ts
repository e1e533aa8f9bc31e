// The evolis driver against the simulated printer over TCP: every command of the card cycle,
// the printer's error answers (unknown command, bad parameter, empty feeder, jam), a jam pausing
// the station while another station carries on, a printer that stops answering (bounded wait),
// a dropped connection and the reconnect, and the protocol framing itself.
import t, { type Test } from 'tap';
import { toHex } from '../../bytes/index.js';
import { encodeCommand, EvolisDriver, EvolisMover, FrameParser, PrinterError, PrinterLinkError, SimulatedMover, SimulatedPrinter, SimulatedPrinterServer, Station, StationPausedError, splitReply } from '../../stations/index.js';
import { decodePng, EVOLIS_PANEL, monoPanel, renderFace } from '../../faces/index.js';
import { ssCardStock } from '../helpers/sim-host.js';

async function serve(t: Test, printer = new SimulatedPrinter({ stock: ssCardStock, seed: 5 })) {
  const server = await SimulatedPrinterServer.listen(printer);
  t.teardown(() => server.close());
  return { printer, server };
}

async function driver(t: Test, uri: string, options = {}) {
  const d = await EvolisDriver.open(uri, { timeoutMs: 5000, ...options });
  t.teardown(() => d.close());
  return d;
}

t.test('framing: ESC cmd;params CR, Db data by length (CR bytes inside), NUL padding skipped', async (t) => {
  t.same(toHex(encodeCommand('Sis')), '1B5369730D');
  t.same(toHex(encodeCommand('Pem', ['2'])), '1B50656D3B320D');
  t.throws(() => encodeCommand('S s'), RangeError);
  t.throws(() => encodeCommand('Pr', ['k;o']), RangeError);
  const data = new Uint8Array(EVOLIS_PANEL.bytes).fill(0x0d);
  const stream = new Uint8Array([0, 0, ...encodeCommand('Ss'), ...encodeCommand('Db', ['k', '2'], data), 0, 0, ...encodeCommand('Se')]);
  const p = new FrameParser();
  const frames = [];
  for (let i = 0; i < stream.length; i += 997) frames.push(...p.push(stream.subarray(i, i + 997)));
  t.same(frames.map((f) => [f.command, f.params, f.data?.length]), [['Ss', [], undefined], ['Db', ['k', '2'], EVOLIS_PANEL.bytes], ['Se', [], undefined]]);
  t.equal(p.skipped, 0, 'NUL padding is not counted as garbage');
  t.same(splitReply(new TextEncoder().encode('OK\r\nrest')), { reply: 'OK', rest: new TextEncoder().encode('rest') });
  t.equal(splitReply(new TextEncoder().encode('OK')), undefined);
});

t.test('every command of the card cycle, answered OK, and the sensors', async (t) => {
  const { printer, server } = await serve(t);
  const d = await driver(t, server.uri);
  t.equal(d.name, server.uri);
  await d.setErrorManagement(2);
  await d.setRibbon('k');
  await d.startSequence();
  await d.insert();
  t.equal(printer.position, 'entry');
  await d.toContactStation();
  t.equal(printer.position, 'contact');
  await d.toContactlessStation();
  t.equal(printer.position, 'contactless');
  const sensors = await d.readSensors();
  t.same(sensors, { raw: 'CARD=CONTACTLESS;FEEDER=OK;STATE=READY', fields: { CARD: 'CONTACTLESS', FEEDER: 'OK', STATE: 'READY' } });
  t.equal(await d.feederEmpty(), false);
  const face = renderFace({ width: 1016, height: 648, fields: [{ kind: 'text', x: 40, y: 40, size: 64, value: 'CARD 0001' }] });
  await d.downloadBlackPanel(monoPanel(face.raster));
  await d.endSequence();
  t.equal(printer.output.length, 1, 'Se ejected the card to the output hopper');
  t.equal(printer.faces.length, 1, 'and printed the downloaded panel');
  t.equal(printer.faces[0]!.from, 'k-panel');
  const kept = decodePng(printer.faces[0]!.png);
  t.same([kept.width, kept.height], [1016, 648]);
  t.same(kept.data.subarray(0, 3), Uint8Array.of(255, 255, 255), 'white where nothing was printed');
  await d.startSequence();
  await d.toContactStation();
  await d.ejectToReject();
  t.equal(printer.rejectBox.length, 1, 'Ser: reject box');
  await d.reset();
  t.same(printer.log, ['Pem;2', 'Pr;k', 'Ss', 'Si', 'Sis', 'Sic', 'Rse', 'Sk;f', 'Db;k;2;<data>', 'Se', 'Ss', 'Sis', 'Ser', 'Srs']);
});

t.test('error answers become typed PrinterErrors', async (t) => {
  const { printer, server } = await serve(t, new SimulatedPrinter({ stock: ssCardStock, cards: 1, faults: [{ kind: 'jam', card: 2 }] }));
  const d = await driver(t, server.uri);
  const e1 = await d.ok('Xyz').catch((e: unknown) => e);
  t.ok(e1 instanceof PrinterError);
  t.match(e1, { code: 'bad-command', reply: 'ERROR CDE', stationFault: true });
  t.match(await d.ok('Pem', ['7']).catch((e: unknown) => e), { code: 'bad-parameter', reply: 'ERROR PARAMETRES' });
  await d.startSequence();
  await d.toContactStation();
  await d.endSequence();
  t.match(await d.toContactStation().catch((e: unknown) => e), { name: 'PrinterError', code: 'feeder-empty', stationFault: true, message: /FEEDER EMPTY.*load blank cards/ });
  t.equal(await d.feederEmpty(), true);
  printer.loadFeeder(5);
  t.match(await d.toContactStation().catch((e: unknown) => e), { code: 'jam', message: /CARD JAM.*remove it, then reset/ });
  t.match(await d.readSensors(), { fields: { STATE: 'CARD JAM' } }, 'the sensors show the error state');
  t.match(await d.startSequence().catch((e: unknown) => e), { code: 'jam' }, 'the printer stays in error until reset');
  await d.reset();
  await d.toContactStation();
  t.equal(printer.position, 'contact');
  t.equal(printer.lost.length, 1, 'the jammed card is lost');
});

t.test('a printer that stops answering: bounded wait, PrinterLinkError', async (t) => {
  const { server } = await serve(t);
  const d = await driver(t, server.uri, { timeoutMs: 200 });
  server.mute = true;
  t.match(await d.startSequence().catch((e: unknown) => e), { name: 'PrinterLinkError', message: /no answer to Ss within 200 ms/ });
  server.mute = false;
  await d.startSequence();
});

t.test('connection refused and connection lost; the mover reconnects after resume', async (t) => {
  await t.rejects(EvolisDriver.open('tcp://127.0.0.1:1', { connectTimeoutMs: 2000 }), PrinterLinkError);
  await t.rejects(EvolisDriver.open('lpt1'), /neither tcp:\/\/HOST:PORT nor a device path/);
  const { printer, server } = await serve(t);
  const mover = new EvolisMover(server.uri, { timeoutMs: 2000 });
  t.teardown(() => mover.close());
  await mover.load('contact');
  server.dropConnections();
  const err = await mover.eject().catch((e: unknown) => e);
  t.ok(err instanceof PrinterLinkError, 'the dropped link is a link error');
  await mover.reset(); // reconnects
  await mover.eject();
  t.equal(printer.output.length, 1);
});

t.test('EvolisMover over TCP as a station: a jam pauses that station, another station carries on', async (t) => {
  const jammy = await serve(t, new SimulatedPrinter({ stock: ssCardStock, name: 'p1', seed: 1, faults: [{ kind: 'jam', card: 2 }] }));
  const fine = new SimulatedPrinter({ stock: ssCardStock, name: 'p2', seed: 2 });
  const events: string[] = [];
  const onEvent = (e: { type: string; station: string; state?: string }) => e.type === 'state' && events.push(`${e.station}:${e.state}`);
  const a = new Station({ name: 'evolis-1', mover: new EvolisMover(jammy.server.uri, { timeoutMs: 5000 }), encoder: jammy.printer.encoder(), onEvent });
  const b = new Station({ name: 'sim-2', mover: new SimulatedMover(fine), encoder: fine.encoder(), onEvent });
  t.teardown(() => a.close());
  t.teardown(() => b.close());

  const c1 = await a.loadCard();
  t.match(c1.chipSerial, /^[0-9A-F]{16}$/);
  t.equal(c1.chipSerial, jammy.printer.current!.chipSerial);
  const sw = await c1.transport.transmit(Uint8Array.of(0x00, 0xa4, 0x00, 0x00, 0x02, 0x3f, 0x00));
  t.equal(toHex(sw.subarray(-2)), '9000', 'the encoder reaches the card the printer fed');
  const face = renderFace({ width: 1016, height: 648, fields: [{ kind: 'text', x: 10, y: 10, size: 40, value: 'OK' }] });
  t.same(await a.acceptCard(face.png), { printed: true });
  t.equal(jammy.printer.faces.length, 1);

  const jam = await a.loadCard().catch((e: unknown) => e);
  t.match(jam, { name: 'PrinterError', code: 'jam' });
  t.equal(a.state, 'paused');
  t.match(a.pausedReason, /CARD JAM/);
  await t.rejects(a.loadCard(), StationPausedError, 'a paused station takes no card');

  const other = await b.loadCard();
  await b.acceptCard();
  t.ok(other.chipSerial, 'the other station carries on');

  await a.resume(); // operator cleared the jam: Srs
  await a.loadCard();
  await a.rejectCard('test reject');
  t.equal(jammy.printer.rejectBox.length, 1);
  t.same(events.filter((e) => e.startsWith('evolis-1')), [
    'evolis-1:loading', 'evolis-1:encoding', 'evolis-1:finishing', 'evolis-1:idle',
    'evolis-1:loading', 'evolis-1:paused',
    'evolis-1:idle', 'evolis-1:loading', 'evolis-1:encoding', 'evolis-1:finishing', 'evolis-1:idle',
  ]);
});

t.test('status over TCP: ready, feeder empty, raw answer', async (t) => {
  const { printer, server } = await serve(t, new SimulatedPrinter({ stock: ssCardStock, cards: 0 }));
  const mover = new EvolisMover(server.uri, { timeoutMs: 5000 });
  t.teardown(() => mover.close());
  t.match(await mover.status(), { ready: false, feederEmpty: true, card: 'none', raw: 'CARD=NONE;FEEDER=EMPTY;STATE=READY' });
  printer.loadFeeder(1);
  t.match(await mover.status(), { ready: true, feederEmpty: false });
});
