// PcscTransport without pcscd: the error mapper on the exact messages the `smartcard` package
// produces (docs/pcsc.md), the missing-package error, and the transport over a fake package.
import t from 'tap';
import { fromHex, toHex } from '../../bytes/index.js';
import {
  CardRemovedError,
  DEFAULT_MAX_RECV_LENGTH,
  listReaders,
  loadPcsc,
  mapPcscError,
  PCSC_MISSING,
  PcscTransport,
  PcscUnavailableError,
  ReaderError,
  ReaderSpecError,
  resolveReaderName,
  TransportClosedError,
  waitForReader,
} from '../../transport/index.js';
import { ATR_T1, FAKE_AID, FakeCard } from '../helpers/fake-card.js';
import { FakePcsc, K } from '../helpers/fake-pcsc.js';

// Every message of docs/pcsc.md's table, plus the rest of the package's (src/pcsc_errors.h).
const MESSAGES: [string, new (...a: never[]) => Error, RegExp][] = [
  ['No smart card present', CardRemovedError, /no card in the reader; insert one/],
  ['Insufficient buffer', ReaderError, /longer than the receive buffer/],
  ['Transaction failed', CardRemovedError, /card stopped answering \(removed, or the command was longer/],
  ['Card was removed', CardRemovedError, /the card was removed \(transmit\)/],
  ['Card is not connected', TransportClosedError, /connection to the card is closed/],
  ['Context is not valid', TransportClosedError, /connection to the card is closed/],
  ['PC/SC service not running', ReaderError, /PC\/SC service is not running; start pcscd/],
  ['Communication error', ReaderError, /lost the connection to the PC\/SC service/],
  ['PC/SC service stopped', ReaderError, /not running/],
  ['Sharing violation', ReaderError, /holds the card exclusively/],
  ['Reader unavailable', ReaderError, /reader is not available/],
  ['Unknown reader', ReaderError, /reader is not available/],
  ['No readers available', ReaderError, /reader is not available/],
  ['Reader not ready', ReaderError, /reader is not available/],
  ['Card is unpowered', CardRemovedError, /does not answer/],
  ['Card is unresponsive', CardRemovedError, /does not answer/],
  ['Card is not supported', CardRemovedError, /does not answer/],
  ['Card was reset', CardRemovedError, /another program reset the card/],
  ['Protocol mismatch', ReaderError, /requested protocol/],
  ['Operation timed out', ReaderError, /timed out/],
  ['Invalid handle', TransportClosedError, /closed/],
  ['Unknown PC/SC error', ReaderError, /transmit failed/],
];

t.test('mapPcscError: every message of the smartcard package becomes a typed error', async (t) => {
  for (const [message, cls, pattern] of MESSAGES) {
    const original = new Error(message);
    const e = mapPcscError(original, 'Virtual PCD 00 00', 'transmit');
    t.type(e, cls, `"${message}" → ${cls.name}`);
    t.match(e.message, pattern, message);
    t.match(e.message, /^Virtual PCD 00 00: /, 'names the reader');
    t.ok(e.message.endsWith(`(PC/SC: "${message}")`), 'keeps the original text');
    t.equal(e.cause, original, 'keeps the cause');
  }
  const err = mapPcscError(new Error('Card was removed'), 'R', 'transmit');
  t.equal(err.name, 'CardRemovedError');
  t.equal(mapPcscError(new Error('PC/SC service not running'), 'R', 'x').name, 'ReaderError');
});

t.test('mapPcscError: TypeErrors and already-typed errors pass through; non-errors are wrapped', async (t) => {
  const te = new TypeError('Expected command buffer');
  t.equal(mapPcscError(te, 'R', 'transmit'), te);
  const typed = new CardRemovedError('gone');
  t.equal(mapPcscError(typed, 'R', 'transmit'), typed);
  const odd = mapPcscError('weird', 'R', 'connect');
  t.type(odd, ReaderError);
  t.equal(odd.message, 'R: connect failed (PC/SC: "weird")');
});

t.test('without the smartcard package: PcscUnavailableError with the install hint', async (t) => {
  const missing = Object.assign(new Error("Cannot find package 'smartcard' imported from /x/transport/pcsc.js"), { code: 'ERR_MODULE_NOT_FOUND' });
  const e = (await loadPcsc(async () => {
    throw missing;
  }).catch((x: unknown) => x)) as Error;
  t.type(e, PcscUnavailableError);
  t.type(e, ReaderError, 'a ReaderError family member');
  t.ok(e.message.startsWith(PCSC_MISSING), e.message);
  t.equal(
    PCSC_MISSING,
    "PC/SC support needs the optional 'smartcard' package and libpcsclite (apt-get install libpcsclite-dev pcscd; npm install smartcard)",
  );
  t.match(e.message, /loading it failed: Cannot find package 'smartcard'/);
  t.equal(e.cause, missing);
  const noLib = (await loadPcsc(async () => {
    throw new Error('libpcsclite.so.1: cannot open shared object file: No such file or directory\n  at …');
  }).catch((x: unknown) => x)) as Error;
  t.match(noLib.message, /loading it failed: libpcsclite.so.1: cannot open shared object file: No such file or directory$/);
  await t.rejects(loadPcsc(async () => ({ default: {} })), { name: 'PcscUnavailableError', message: /does not look like version 3/ });
  await t.rejects(
    PcscTransport.open('x', {
      load: async () => {
        throw missing;
      },
    }),
    PcscUnavailableError,
  );
});

const installed = await loadPcsc().then(
  (api) => ({ api, skip: false as const }),
  (e: unknown) => ({ api: undefined, skip: `the smartcard package is not installed here: ${(e as Error).message}` }),
);

t.test('the installed smartcard package loads (ESM default or named exports)', { skip: installed.skip }, async (t) => {
  const api = installed.api!;
  t.equal(typeof api.Context, 'function');
  t.equal(api.SCARD_STATE_PRESENT, K.SCARD_STATE_PRESENT, 'constants match pcsc-lite');
  t.equal(await loadPcsc(), api, 'loaded once');
  const fromDefault = await loadPcsc(async () => ({ default: api }));
  t.equal(fromDefault.Context, api.Context);
});

t.test('resolveReaderName: exact name, else a unique case-insensitive part', async (t) => {
  const names = ['Virtual PCD 00 00', 'Virtual PCD 00 01', 'ACS ACR122U PICC Interface 00 00'];
  t.equal(resolveReaderName('Virtual PCD 00 01', names), 'Virtual PCD 00 01');
  t.equal(resolveReaderName('acr122', names), 'ACS ACR122U PICC Interface 00 00');
  t.equal(resolveReaderName('00 01', names), 'Virtual PCD 00 01');
  t.throws(() => resolveReaderName('Virtual', names), { name: 'ReaderSpecError', message: /"Virtual" matches 2 readers/ });
  t.throws(() => resolveReaderName('Gemalto', names), { name: 'ReaderSpecError', message: /no PC\/SC reader matches "Gemalto"; readers: "Virtual PCD 00 00"/ });
  t.throws(() => resolveReaderName('x', []), { name: 'ReaderError', message: /no PC\/SC reader is attached/ });
  t.type(new ReaderSpecError('x'), Error);
});

function fakeStack(): { pcsc: FakePcsc; load: () => Promise<unknown> } {
  const pcsc = new FakePcsc(['Virtual PCD 00 00', 'Virtual PCD 00 01']);
  return { pcsc, load: async () => pcsc.module() };
}

t.test('listReaders: names, card presence and ATR; a mute card counts as absent', async (t) => {
  const { pcsc, load } = fakeStack();
  pcsc.insert('Virtual PCD 00 00', new FakeCard());
  const list = await listReaders({ load });
  t.same(
    list.map((r) => ({ name: r.name, present: r.cardPresent, atr: r.atr && toHex(r.atr) })),
    [
      { name: 'Virtual PCD 00 00', present: true, atr: toHex(ATR_T1) },
      { name: 'Virtual PCD 00 01', present: false, atr: undefined },
    ],
  );
  pcsc.slots.get('Virtual PCD 00 00')!.mute = true;
  t.equal((await listReaders({ load }))[0]!.cardPresent, false);
  t.equal(pcsc.contextsOpen, 0, 'every context closed');
  const empty = new FakePcsc([]);
  t.same(await listReaders({ load: async () => empty.module() }), []);
  pcsc.faults.push({ what: 'context', message: 'PC/SC service not running' });
  await t.rejects(listReaders({ load }), { name: 'ReaderError', message: /^PC\/SC: the PC\/SC service is not running/ });
});

t.test('open + transmit: exact or partial name, 65538-byte receive buffer, T=0 resolved', async (t) => {
  const { pcsc, load } = fakeStack();
  const card = new FakeCard({ t0: true });
  pcsc.insert('Virtual PCD 00 01', card);
  const tr = await PcscTransport.open('00 01', { load });
  t.equal(tr.name, 'Virtual PCD 00 01');
  t.equal(tr.protocol, 't1');
  t.same(tr.atr(), Uint8Array.from(card.powerOn('contact')));
  const r = await tr.transmit(fromHex('00A4040007' + toHex(FAKE_AID) + '00'));
  t.equal(toHex(r.subarray(-2)), '9000');
  t.equal(r.length, 15, 'FCI fetched with GET RESPONSE');
  t.ok(r instanceof Uint8Array && !Buffer.isBuffer(r), 'a plain Uint8Array, not a Buffer');
  const transmits = pcsc.calls.filter((c) => c.what === 'transmit');
  t.same(
    transmits.map((c) => c.args[0]),
    ['00A4040007A000000003101000', '00C000000D'],
  );
  t.same(transmits[0]!.args[1], { maxRecvLength: DEFAULT_MAX_RECV_LENGTH });
  t.equal(DEFAULT_MAX_RECV_LENGTH, 65538);
  t.same(pcsc.calls.find((c) => c.what === 'connect')!.args, ['Virtual PCD 00 01', K.SCARD_SHARE_SHARED, K.SCARD_PROTOCOL_T0 | K.SCARD_PROTOCOL_T1]);
  // A long response fits the extended buffer.
  const big = await tr.transmit(fromHex('00B0000000 0400'.replace(' ', '')));
  t.equal(big.length, 1026);
  await tr.close();
  t.equal(pcsc.contextsOpen, 0);
});

t.test('open: exclusive share and a fixed protocol are passed on', async (t) => {
  const { pcsc, load } = fakeStack();
  pcsc.insert('Virtual PCD 00 00', new FakeCard());
  const tr = await PcscTransport.open('Virtual PCD 00 00', { load, share: 'exclusive', protocol: 't0' });
  t.same(pcsc.calls.find((c) => c.what === 'connect')!.args, ['Virtual PCD 00 00', K.SCARD_SHARE_EXCLUSIVE, K.SCARD_PROTOCOL_T0]);
  await tr.reset(true);
  t.same(pcsc.calls.find((c) => c.what === 'reconnect')!.args, [K.SCARD_SHARE_EXCLUSIVE, K.SCARD_PROTOCOL_T0, K.SCARD_UNPOWER_CARD]);
  await tr.close();
});

t.test('open: an empty reader fails at once, or waits (bounded) for a card', async (t) => {
  const { pcsc, load } = fakeStack();
  await t.rejects(PcscTransport.open('Virtual PCD 00 00', { load }), { name: 'CardRemovedError', message: /no card in the reader/ });
  t.equal(pcsc.contextsOpen, 0, 'context closed after a failed open');
  const started = Date.now();
  await t.rejects(PcscTransport.open('Virtual PCD 00 00', { load, waitMs: 150 }), { name: 'CardRemovedError', message: /no card after 150 ms/ });
  t.ok(Date.now() - started < 1500, 'the wait is bounded');
  setTimeout(() => pcsc.insert('Virtual PCD 00 00', new FakeCard()), 80);
  const tr = await PcscTransport.open('Virtual PCD 00 00', { load, waitMs: 2000 });
  t.equal(toHex(await tr.transmit(fromHex('00B2010404'))), '010203049000');
  const waits = pcsc.calls.filter((c) => c.what === 'waitForChange');
  t.ok(waits.every((w) => (w.args[1] as number) <= 1000), 'each wait slice is at most 1 s');
  await tr.close();
  await t.rejects(PcscTransport.open('nope', { load }), ReaderSpecError);
});

t.test('waitForReader: present and empty, with timeouts and the reader going away', async (t) => {
  const { pcsc, load } = fakeStack();
  const card = new FakeCard();
  pcsc.insert('Virtual PCD 00 00', card);
  const present = await waitForReader('PCD 00 00', 'present', { load, timeoutMs: 500 });
  t.equal(present.cardPresent, true);
  t.same(present.atr, ATR_T1);
  await t.rejects(waitForReader('PCD 00 00', 'empty', { load, timeoutMs: 100 }), { name: 'ReaderError', message: /still in the reader after 100 ms/ });
  setTimeout(() => pcsc.remove('Virtual PCD 00 00'), 50);
  const empty = await waitForReader('PCD 00 00', 'empty', { load, timeoutMs: 2000 });
  t.equal(empty.cardPresent, false);
  setTimeout(() => pcsc.slots.delete('Virtual PCD 00 01'), 50);
  await t.rejects(waitForReader('PCD 00 01', 'present', { load, timeoutMs: 2000 }), { name: 'ReaderError', message: /disappeared/ });
  pcsc.faults.push({ what: 'wait', message: 'Communication error' });
  await t.rejects(waitForReader('PCD 00 00', 'present', { load, timeoutMs: 100 }), { name: 'ReaderError', message: /lost the connection/ });
  t.equal(pcsc.contextsOpen, 0);
});

t.test('transmit errors are typed: removal, service gone, buffer, timeout; the transport stays usable', async (t) => {
  const { pcsc, load } = fakeStack();
  const card = new FakeCard();
  pcsc.insert('Virtual PCD 00 00', card);
  const tr = await PcscTransport.open('Virtual PCD 00 00', { load, transmitTimeoutMs: 100 });
  pcsc.faults.push({ what: 'transmit', message: 'Transaction failed' });
  await t.rejects(tr.transmit(fromHex('00B2010404')), { name: 'CardRemovedError', message: /^Virtual PCD 00 00: transmit failed: the card stopped answering/ });
  pcsc.faults.push({ what: 'transmit', message: 'Communication error' });
  await t.rejects(tr.transmit(fromHex('00B2010404')), ReaderError);
  pcsc.faults.push({ what: 'hang', message: '' });
  await t.rejects(tr.transmit(fromHex('00B2010404')), { name: 'ReaderError', message: /did not answer within 100 ms/ });
  t.equal(toHex(await tr.transmit(fromHex('00B2010404'))), '010203049000', 'next command works');
  const small = await PcscTransport.open('Virtual PCD 00 00', { load, maxRecvLength: 258 });
  await t.rejects(small.transmit(fromHex('00B00000000400')), { name: 'ReaderError', message: /receive buffer/ });
  await small.close();
  pcsc.remove('Virtual PCD 00 00');
  await t.rejects(tr.transmit(fromHex('00B2010404')), { name: 'CardRemovedError', message: /card was removed/ });
  await t.rejects(tr.reset(), CardRemovedError, 'ATR read after reset fails the same way');
  pcsc.faults.push({ what: 'reconnect', message: 'No smart card present' });
  await t.rejects(tr.reset(), { name: 'CardRemovedError', message: /warm reset|no card/ });
  await tr.close();
});

t.test('reset: warm and cold dispositions, new ATR; close releases everything; then TransportClosedError', async (t) => {
  const { pcsc, load } = fakeStack();
  const card = new FakeCard();
  pcsc.insert('Virtual PCD 00 00', card);
  const tr = await PcscTransport.open('Virtual PCD 00 00', { load });
  t.same(await tr.reset(), ATR_T1);
  t.same(await tr.reset(true), ATR_T1);
  t.same(
    pcsc.calls.filter((c) => c.what === 'reconnect').map((c) => c.args[2]),
    [K.SCARD_RESET_CARD, K.SCARD_UNPOWER_CARD],
  );
  await tr.close();
  await tr.close();
  t.same(pcsc.calls.filter((c) => c.what === 'disconnect').map((c) => c.args[0]), [K.SCARD_LEAVE_CARD], 'disconnected once, card left in place');
  t.equal(pcsc.contextsOpen, 0);
  await t.rejects(tr.transmit(fromHex('00B2010404')), TransportClosedError);
  await t.rejects(tr.reset(), TransportClosedError);
  t.throws(() => tr.atr(), TransportClosedError);
});
