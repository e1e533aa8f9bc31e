// SimulatorTransport and the shared T=0 helper: 61xx and 6Cxx never reach the caller, the card sees
// exactly the commands ISO 7816-4 prescribes, and the transport's life cycle errors are typed.
import t from 'tap';
import { concat, fromHex, toHex } from '../../bytes/index.js';
import { encodeCommand } from '../../iso7816/index.js';
import { CardProtocolError, getResponseCommand, SimulatorTransport, transmitResolvingT0, TransportClosedError } from '../../transport/index.js';
import { ATR_CONTACTLESS, ATR_T0, ATR_T1, FAKE_AID, FakeCard } from '../helpers/fake-card.js';

const SELECT = encodeCommand({ cla: 0, ins: 0xa4, p1: 4, p2: 0, data: FAKE_AID, le: 256 });
const FCI = concat(Uint8Array.of(0x6f, FAKE_AID.length + 4, 0x84, FAKE_AID.length), FAKE_AID, Uint8Array.of(0xa5, 0x00));
const hexLog = (card: FakeCard) => card.log.map((c) => toHex(c));

t.test('without T=0 the response comes straight through, one command on the card', async (t) => {
  const card = new FakeCard();
  const tr = new SimulatorTransport(card);
  t.equal(tr.name, 'sim:fake');
  t.same(tr.atr(), ATR_T1);
  t.equal(toHex(await tr.transmit(SELECT)), toHex(FCI) + '9000');
  t.same(hexLog(card), [toHex(SELECT)]);
  t.equal(tr.apduCount, 1);
});

t.test('T=0: a case-4 answer of 61xx is fetched with GET RESPONSE 00 C0 00 00 xx', async (t) => {
  const card = new FakeCard({ t0: true });
  const tr = new SimulatorTransport(card);
  t.same(tr.atr(), ATR_T0);
  t.equal(toHex(await tr.transmit(SELECT)), toHex(FCI) + '9000', 'caller sees the whole FCI and 9000');
  t.same(hexLog(card), [toHex(SELECT), '00C000000D'], 'card saw the SELECT, then GET RESPONSE with Le = 0D (13 FCI bytes)');
});

t.test('T=0: 6Cxx is answered by repeating the command with Le = xx', async (t) => {
  const card = new FakeCard({ t0: true });
  const tr = new SimulatorTransport(card);
  t.equal(toHex(await tr.transmit(fromHex('00B2010400'))), '010203049000', 'READ RECORD with Le 00 (256)');
  t.same(hexLog(card), ['00B2010400', '00B2010404']);
  card.log = [];
  const challenge = await tr.transmit(fromHex('0084000001'));
  t.equal(challenge.length, 10, 'GET CHALLENGE Le 1 → 6C08 → 8 bytes + 9000');
  t.equal(toHex(challenge.subarray(8)), '9000');
  t.same(hexLog(card), ['0084000001', '0084000008']);
});

t.test('T=0: a long response is collected over several GET RESPONSEs (61 00 = 256 more)', async (t) => {
  const card = new FakeCard({ t0: true });
  const tr = new SimulatorTransport(card);
  const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
  const cmd = encodeCommand({ cla: 0, ins: 0xca, p1: 0x01, p2: 0x02, data, le: 65536 });
  const r = await tr.transmit(cmd);
  t.equal(r.length, 3 + 300 + 2);
  t.equal(toHex(r.subarray(0, 3)), '010200');
  t.same(r.subarray(3, 303), data);
  t.equal(toHex(r.subarray(303)), '9000');
  t.same(hexLog(card).slice(1), ['00C0000000', '00C000002F'], '256 bytes (61 00), then 47 (61 2F)');
});

t.test('status words that are not 61xx/6Cxx pass through untouched', async (t) => {
  const tr = new SimulatorTransport(new FakeCard({ t0: true }));
  t.equal(toHex(await tr.transmit(fromHex('00A4040002AABB00'))), '6A82');
  t.equal(toHex(await tr.transmit(fromHex('0020000103123457'))), '63C2', 'a wrong PIN: 63C2');
  t.equal(toHex(await tr.transmit(fromHex('FFA40000'))), '6E00');
  t.equal(toHex(await tr.transmit(fromHex('00A404'))), '6700', 'a malformed (3-byte) command reaches the card, which answers 6700');
});

t.test('transmitResolvingT0: data sent along with 61xx is kept (T=1 style chaining)', async (t) => {
  const answers = [fromHex('0102036103'), fromHex('0405066102'), fromHex('07089000')];
  const sent: string[] = [];
  const r = await transmitResolvingT0(async (c) => {
    sent.push(toHex(c));
    return answers.shift()!;
  }, fromHex('00CA000000'));
  t.equal(toHex(r), '01020304050607089000');
  t.same(sent, ['00CA000000', '00C0000003', '00C0000002']);
});

t.test('transmitResolvingT0: 6Cxx answering a GET RESPONSE is retried with that Le', async (t) => {
  const answers = [fromHex('6110'), fromHex('6C04'), fromHex('AABBCCDD9000')];
  const sent: string[] = [];
  const r = await transmitResolvingT0(async (c) => {
    sent.push(toHex(c));
    return answers.shift()!;
  }, fromHex('00A4040002AABB00'));
  t.equal(toHex(r), 'AABBCCDD9000');
  t.same(sent, ['00A4040002AABB00', '00C0000010', '00C0000004']);
});

t.test('transmitResolvingT0: a card that never stops is cut off with CardProtocolError', async (t) => {
  let n = 0;
  await t.rejects(
    transmitResolvingT0(async () => (n++, fromHex('AA6101')), fromHex('00B0000001'), { maxGetResponses: 5 }),
    { name: 'CardProtocolError', message: /61xx \(more data\) after 5 GET RESPONSE/ },
  );
  t.equal(n, 6);
  n = 0;
  await t.rejects(transmitResolvingT0(async () => (n++, fromHex('6C10')), fromHex('00B0000001')), CardProtocolError);
  t.equal(n, 4, 'the command, then 3 repeats');
  await t.rejects(transmitResolvingT0(async () => fromHex('90'), fromHex('00B0000001')), { name: 'CardProtocolError', message: /1 byte/ });
  // 6Cxx for a command that does not parse cannot be repeated: it comes back as is.
  t.equal(toHex(await transmitResolvingT0(async () => fromHex('6C02'), fromHex('00B000'))), '6C02');
});

t.test('transmitResolvingT0: a 6Cxx repeat keeps the extended form, and adds Le to a case-1 command', async (t) => {
  const sent: string[] = [];
  const answers = [fromHex('6C08'), fromHex('11223344556677889000')];
  await transmitResolvingT0(async (c) => (sent.push(toHex(c)), answers.shift()!), fromHex('00B00000000100'));
  t.same(sent, ['00B00000000100', '00B00000000008']);
  const sent1: string[] = [];
  const answers1 = [fromHex('6C02'), fromHex('01029000')];
  await transmitResolvingT0(async (c) => (sent1.push(toHex(c)), answers1.shift()!), fromHex('00CA9F7F'));
  t.same(sent1, ['00CA9F7F', '00CA9F7F02']);
});

t.test('GET RESPONSE goes out on the logical channel of the command', async (t) => {
  t.equal(toHex(getResponseCommand(0x00, 256)), '00C0000000');
  t.equal(toHex(getResponseCommand(0x03, 0x10)), '03C0000010', 'channel 3');
  t.equal(toHex(getResponseCommand(0x0c, 0x10)), '00C0000010', 'secure messaging bits dropped');
  t.equal(toHex(getResponseCommand(0x80, 0x10)), '00C0000010', 'proprietary class, channel 0');
  t.equal(toHex(getResponseCommand(0x81, 0x10)), '01C0000010');
  t.equal(toHex(getResponseCommand(0x45, 0x10)), '45C0000010', 'further class: channel 9');
});

t.test('reset starts a fresh session; contactless has its own ATR', async (t) => {
  const card = new FakeCard();
  const tr = new SimulatorTransport(card);
  t.equal(toHex(await tr.transmit(fromHex('0020000103123456'))), '9000', 'PIN verified');
  t.equal(toHex(await tr.transmit(fromHex('00DC0304020A0B'))), '9000', 'record update allowed after the PIN');
  t.same(await tr.reset(), ATR_T1);
  t.equal(toHex(await tr.transmit(fromHex('00DC0304020A0B'))), '6982', 'security state is gone after a warm reset');
  await tr.reset(true);
  t.equal(card.powerOns, 3);
  const cl = new SimulatorTransport(new FakeCard(), { interface: 'contactless', name: 'sim:test' });
  t.equal(cl.name, 'sim:test');
  t.equal(cl.iface, 'contactless');
  t.same(cl.atr(), ATR_CONTACTLESS);
});

t.test('after close every call fails with TransportClosedError; close is idempotent and calls onClose once', async (t) => {
  const card = new FakeCard();
  let closes = 0;
  const tr = new SimulatorTransport(card, { onClose: () => void closes++ });
  await tr.close();
  await tr.close();
  t.equal(closes, 1);
  t.equal(card.powered, undefined, 'card powered off');
  await t.rejects(tr.transmit(SELECT), TransportClosedError);
  await t.rejects(tr.reset(), TransportClosedError);
  t.throws(() => tr.atr(), TransportClosedError);
});

t.test('concurrent transmits are serialised (GET RESPONSE never interleaves)', async (t) => {
  const card = new FakeCard({ t0: true });
  const tr = new SimulatorTransport(card);
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => tr.transmit(i % 2 ? SELECT : fromHex('00B2010400'))));
  for (let i = 0; i < 20; i++) t.equal(toHex(results[i]!), i % 2 ? toHex(FCI) + '9000' : '010203049000');
  t.equal(card.log.length, 40, 'each command took exactly two exchanges');
});

t.test('bytes are copied both ways, and a non-Uint8Array is a TypeError', async (t) => {
  const card = new FakeCard();
  const tr = new SimulatorTransport(card);
  const cmd = fromHex('00B0000004');
  const r = await tr.transmit(cmd);
  cmd[4] = 0x99;
  t.equal(toHex(card.log[0]!), '00B0000004', 'the card keeps what was sent');
  r[0] = 0xff;
  t.equal(card.binary[0], 0, 'the caller cannot write into the card');
  const atr = tr.atr();
  atr[0] = 0;
  t.same(tr.atr(), ATR_T1);
  await t.rejects(tr.transmit('00A40400' as unknown as Uint8Array), TypeError);
});

t.test('a card that answers nothing (no power) is a CardRemovedError; a reset brings it back', async (t) => {
  const card = new FakeCard();
  let mute = false;
  const wrapped = {
    kind: 'mute',
    powerOn: (i: 'contact' | 'contactless') => ((mute = false), card.powerOn(i)),
    powerOff: () => card.powerOff(),
    process: (c: Uint8Array) => (mute ? new Uint8Array(0) : card.process(c)),
  };
  const tr = new SimulatorTransport(wrapped);
  mute = true;
  await t.rejects(tr.transmit(fromHex('00B2010404')), { name: 'CardRemovedError', message: /sim:mute: the card did not answer \(no power/ });
  await tr.reset(true);
  t.equal(toHex(await tr.transmit(fromHex('00B2010404'))), '010203049000');
});
