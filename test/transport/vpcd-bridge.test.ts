// The vpcd bridge against a fake vpcd on a random loopback port: frames and control bytes as
// vsmartcard's vpcd protocol describes them, one write per frame, malformed frames (connection closed, bridge
// reconnects and keeps serving), reconnection with backoff, both interfaces of one card at once.
import net from 'node:net';
import t, { type Test } from 'tap';
import { fromHex, toHex } from '../../bytes/index.js';
import { type BridgeEvent, frame, MultiInterfaceCard, VpcdBridge, type VpcdBridgeOptions } from '../../transport/index.js';
import type { SimulatedCard } from '../../simulator/card.js';
import { ATR_CONTACTLESS, ATR_T1, FakeCard } from '../helpers/fake-card.js';
import { FakeVpcd, freePort, WAIT_MS, withTimeout } from '../helpers/fake-vpcd.js';

interface Harness {
  vpcd: FakeVpcd;
  bridge: VpcdBridge;
  events: BridgeEvent[];
  card: FakeCard;
}

async function setup(t: Test, options: Partial<VpcdBridgeOptions> = {}): Promise<Harness> {
  const vpcd = await FakeVpcd.listen();
  const card = new FakeCard();
  const events: BridgeEvent[] = [];
  const bridge = new VpcdBridge({ card, port: vpcd.port, retryMs: 20, maxRetryMs: 100, onEvent: (e) => events.push(e), ...options });
  bridge.start();
  t.teardown(async () => {
    await withTimeout(bridge.stop(), WAIT_MS, 'bridge.stop');
    await vpcd.close();
  });
  return { vpcd, bridge, events, card };
}

const types = (events: BridgeEvent[]) => events.map((e) => e.type);

async function until(cond: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

t.test('defaults: vpcd 127.0.0.1, port 35963 for contact and 35964 for contactless', async (t) => {
  const card = new FakeCard();
  t.equal(new VpcdBridge({ card }).port, 35963);
  t.equal(new VpcdBridge({ card, interface: 'contactless' }).port, 35964);
  t.equal(new VpcdBridge({ card }).host, '127.0.0.1');
  t.equal(toHex(frame(fromHex('0102'))), '00020102');
  t.throws(() => frame(new Uint8Array(65536)), RangeError);
});

t.test('control bytes and APDUs: 04 is answered with the ATR, 00/01/02 are not answered', async (t) => {
  const { vpcd, bridge, events, card } = await setup(t);
  const c = await vpcd.accept();
  t.same(await c.exchange([0x04]), ATR_T1, '04 → ATR');
  c.send([0x01]);
  t.ok(await c.silentFor(100), 'power on is not answered');
  t.equal(card.powered, 'contact');
  t.equal(toHex(await c.exchange(fromHex('00B2010404'))), '010203049000', 'APDU → response');
  c.send([0x02]);
  t.ok(await c.silentFor(50), 'reset is not answered');
  c.send([0x00]);
  t.ok(await c.silentFor(50), 'power off is not answered');
  t.equal(card.powered, undefined);
  t.same(types(events), ['connected', 'power-on', 'apdu', 'reset', 'power-off']);
  const apdu = events.find((e) => e.type === 'apdu') as Extract<BridgeEvent, { type: 'apdu' }>;
  t.equal(toHex(apdu.command), '00B2010404');
  t.equal(toHex(apdu.response), '010203049000');
  t.equal(bridge.stats.apdus, 1);
  t.equal(bridge.stats.connections, 1);
  t.ok(bridge.connected);
});

t.test('an APDU without a power-on powers the card; the ATR poll does not touch the session', async (t) => {
  const { vpcd, card } = await setup(t);
  const c = await vpcd.accept();
  t.equal(toHex(await c.exchange(fromHex('0020000103123456'))), '9000', 'PIN verified');
  const before = card.powerOns;
  t.same(await c.exchange([0x04]), ATR_T1);
  t.equal(card.powerOns, before, 'ATR request did not power-cycle the card');
  t.equal(toHex(await c.exchange(fromHex('00DC0304020A0B'))), '9000', 'security state kept');
});

t.test('every frame leaves the bridge in one write, several frames in one read are all answered', async (t) => {
  const { vpcd } = await setup(t);
  const c = await vpcd.accept();
  const writes: Buffer[] = [];
  const original = net.Socket.prototype.write;
  const serverSockets = new Set(vpcd.connections.map((x) => x.socket));
  net.Socket.prototype.write = function (this: net.Socket, chunk: unknown, ...rest: unknown[]) {
    if (!serverSockets.has(this) && Buffer.isBuffer(chunk)) writes.push(Buffer.from(chunk));
    return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof original;
  t.teardown(() => void (net.Socket.prototype.write = original));
  // Two frames in one TCP write, then one frame split over three writes.
  c.sendRaw([0x00, 0x01, 0x04, 0x00, 0x05, ...fromHex('00B2020402')]);
  t.same(await c.next(), ATR_T1);
  t.equal(toHex(await c.next()), '05069000');
  const split = [0x00, 0x05, ...fromHex('00B2010404')];
  c.sendRaw(split.slice(0, 1));
  await new Promise((r) => setTimeout(r, 30));
  c.sendRaw(split.slice(1, 4));
  await new Promise((r) => setTimeout(r, 30));
  c.sendRaw(split.slice(4));
  t.equal(toHex(await c.next()), '010203049000');
  net.Socket.prototype.write = original;
  t.equal(writes.length, 3, 'three frames, three writes');
  for (const w of writes) t.equal(w.readUInt16BE(0), w.length - 2, `write ${toHex(w)} is one whole frame`);
});

for (const [what, bytes, reason] of [
  ['length 0', [0x00, 0x00], /length 0/],
  ['a 2-byte payload', [0x00, 0x02, 0x00, 0xa4], /2-byte payload/],
  ['a 3-byte payload', [0x00, 0x03, 0x00, 0xa4, 0x04], /3-byte payload/],
  ['an unknown control byte', [0x00, 0x01, 0x03], /unknown control byte 03/],
] as const) {
  t.test(`malformed frame (${what}): the connection is closed, logged, and the bridge reconnects and serves`, async (t) => {
    const { vpcd, bridge, events } = await setup(t);
    const first = await vpcd.accept();
    t.equal(toHex(await first.exchange(fromHex('00B2010404'))), '010203049000');
    first.sendRaw([...bytes]);
    await first.waitClosed();
    const second = await vpcd.accept();
    t.equal(toHex(await second.exchange(fromHex('00B2020402'))), '05069000', 'served on the new connection');
    const malformed = events.find((e) => e.type === 'malformed') as Extract<BridgeEvent, { type: 'malformed' }>;
    t.match(malformed.reason, reason);
    const disc = events.find((e) => e.type === 'disconnected') as Extract<BridgeEvent, { type: 'disconnected' }>;
    t.match(disc.reason, /malformed frame/);
    t.equal(bridge.stats.malformed, 1);
    t.equal(bridge.stats.connections, 2);
  });
}

t.test('malformed frame: a frame that never completes is dropped after frameTimeoutMs', async (t) => {
  const { vpcd, events } = await setup(t, { frameTimeoutMs: 150 });
  const first = await vpcd.accept();
  first.sendRaw([0x00, 0x10, 0x00, 0xa4]); // says 16 bytes, sends 2
  const started = Date.now();
  await first.waitClosed();
  t.ok(Date.now() - started >= 100, 'waited for the rest first');
  const m = events.find((e) => e.type === 'malformed') as Extract<BridgeEvent, { type: 'malformed' }>;
  t.match(m.reason, /incomplete frame: 16-byte payload not complete after 150 ms \(4 byte\(s\) received\)/);
  const second = await vpcd.accept();
  t.same(await second.exchange([0x04]), ATR_T1);
});

t.test('vpcd not there yet: retries with exponential backoff, then connects', async (t) => {
  const port = await freePort();
  const card = new FakeCard();
  const events: BridgeEvent[] = [];
  const bridge = new VpcdBridge({ card, port, retryMs: 10, maxRetryMs: 80, onEvent: (e) => events.push(e) });
  bridge.start();
  let vpcd: FakeVpcd | undefined;
  t.teardown(async () => {
    await withTimeout(bridge.stop(), WAIT_MS, 'bridge.stop');
    await vpcd?.close();
  });
  await until(() => events.filter((e) => e.type === 'unreachable').length >= 5, '5 failed attempts');
  const retries = events.filter((e) => e.type === 'unreachable') as Extract<BridgeEvent, { type: 'unreachable' }>[];
  t.same(
    retries.slice(0, 5).map((e) => e.retryMs),
    [10, 20, 40, 80, 80],
    'backoff doubles up to maxRetryMs',
  );
  t.same(retries.slice(0, 3).map((e) => e.attempt), [1, 2, 3]);
  t.equal(retries[0]!.error, 'ECONNREFUSED');
  vpcd = await FakeVpcd.listen(port);
  const c = await vpcd.accept();
  t.same(await c.exchange([0x04]), ATR_T1);
  t.ok(events.some((e) => e.type === 'connected'));
});

t.test('vpcd goes away: the session ends and the bridge connects again', async (t) => {
  const { vpcd, events, card } = await setup(t);
  const first = await vpcd.accept();
  first.send([0x01]);
  await until(() => card.powered === 'contact', 'power on');
  first.socket.destroy();
  const second = await vpcd.accept();
  t.equal(card.powered, undefined, 'card powered off when the connection dropped');
  t.same(await second.exchange([0x04]), ATR_T1);
  t.same(types(events).slice(0, 4), ['connected', 'power-on', 'power-off', 'disconnected']);
  const d = events.find((e) => e.type === 'disconnected') as Extract<BridgeEvent, { type: 'disconnected' }>;
  t.equal(d.retryMs, 20, 'reconnects after the first delay');
});

t.test('stop(): the connection closes (card removed), no reconnection follows', async (t) => {
  const vpcd = await FakeVpcd.listen();
  t.teardown(() => vpcd.close());
  const bridge = new VpcdBridge({ card: new FakeCard(), port: vpcd.port, retryMs: 10 });
  bridge.start();
  bridge.start(); // idempotent
  const c = await vpcd.accept();
  await withTimeout(bridge.stop(), WAIT_MS, 'stop');
  await c.waitClosed();
  await new Promise((r) => setTimeout(r, 80));
  t.equal(vpcd.connections.length, 1, 'no reconnect after stop');
  t.notOk(bridge.connected);
});

t.test('both interfaces of one card on two vpcd ports', async (t) => {
  const contactVpcd = await FakeVpcd.listen();
  const clVpcd = await FakeVpcd.listen();
  const card = new FakeCard();
  const shared = new MultiInterfaceCard(card, ['contact', 'contactless']);
  t.equal(card.powered, undefined, 'reading the ATRs left the card off');
  const events: BridgeEvent[] = [];
  const contact = new VpcdBridge({ card: shared, interface: 'contact', port: contactVpcd.port, onEvent: (e) => events.push(e) });
  const cl = new VpcdBridge({ card: shared, interface: 'contactless', port: clVpcd.port, onEvent: (e) => events.push(e) });
  contact.start();
  cl.start();
  t.teardown(async () => {
    await Promise.all([contact.stop(), cl.stop()]);
    await Promise.all([contactVpcd.close(), clVpcd.close()]);
  });
  const a = await contactVpcd.accept();
  const b = await clVpcd.accept();
  t.same(await a.exchange([0x04]), ATR_T1, 'contact ATR on the contact port');
  t.same(await b.exchange([0x04]), ATR_CONTACTLESS, 'contactless ATR on the other');
  a.send([0x01]);
  t.equal(toHex(await a.exchange(fromHex('0020000103123456'))), '9000');
  t.equal(shared.owner, 'contact');
  b.send([0x00]);
  t.ok(await b.silentFor(50));
  t.equal(shared.owner, 'contact', 'power off on the idle interface leaves the contact session alone');
  t.equal(toHex(await b.exchange(fromHex('00B2010404'))), '010203049000', 'a command on contactless is served');
  t.equal(shared.owner, 'contactless', 'the card moved to the contactless interface');
  t.equal(card.powered, 'contactless');
  const apdus = events.filter((e) => e.type === 'apdu') as Extract<BridgeEvent, { type: 'apdu' }>[];
  t.same(apdus.map((e) => [e.interface, e.switched]), [['contact', false], ['contactless', true]]);
  t.equal(toHex(await a.exchange(fromHex('00DC0304020A0B'))), '6982', 'back on contact: a fresh session (PIN state gone)');
  t.equal(contact.stats.apdus + cl.stats.apdus, 3);
});

t.test('a response too long for a frame becomes 6700; a card that throws gets 6F00; a mute card an empty frame; all logged', async (t) => {
  let mode: 'big' | 'throw' | 'mute' = 'big';
  const card: SimulatedCard = {
    kind: 'odd',
    powerOn: () => ATR_T1,
    powerOff: () => undefined,
    process: () => {
      if (mode === 'throw') throw new Error('bug in the card');
      if (mode === 'mute') return new Uint8Array(0);
      return new Uint8Array(70000);
    },
  };
  const { vpcd, events } = await setup(t, { card });
  const c = await vpcd.accept();
  t.equal(toHex(await c.exchange(fromHex('00B0000000FFFF'))), '6700');
  mode = 'throw';
  t.equal(toHex(await c.exchange(fromHex('00B0000000'))), '6F00');
  mode = 'mute';
  t.equal((await c.exchange(fromHex('00B0000000'))).length, 0, 'a mute card: an empty frame (the reader reports a failed transaction)');
  const warnings = events.filter((e) => e.type === 'warning') as Extract<BridgeEvent, { type: 'warning' }>[];
  t.match(warnings[0]!.message, /70000-byte response does not fit a vpcd frame/);
  t.match(warnings[1]!.message, /card threw.*bug in the card.*6F00/);
  t.match(warnings[2]!.message, /answered nothing/);
  t.notOk(c.isClosed, 'the connection stays up');
});

t.test('a logger that throws does not stop the card', async (t) => {
  const { vpcd } = await setup(t, {
    onEvent: () => {
      throw new Error('logger broke');
    },
  });
  const c = await vpcd.accept();
  t.equal(toHex(await c.exchange(fromHex('00B2010404'))), '010203049000');
});
