import t from 'tap';
import { toHex } from '../../bytes/index.js';
import {
  apdu,
  describeSw,
  formatSw,
  insName,
  isSuccess,
  requireSw,
  STATUS_WORDS,
  StatusWordError,
  swClass,
  swMeaning,
} from '../../iso7816/index.js';
import { h } from './fixtures/helpers.js';

t.test('describeSw: table entries and computed families', async (t) => {
  const cases: [number, string][] = [
    [0x9000, '9000 success'],
    [0x6a82, '6A82 file or application not found'],
    [0x63c2, '63C2 verification failed, 2 tries left'],
    [0x63c1, '63C1 verification failed, 1 try left'],
    [0x63c0, '63C0 verification failed, 0 tries left'],
    [0x6110, '6110 16 more bytes available (GET RESPONSE)'],
    [0x6100, '6100 more data available (GET RESPONSE with Le 00)'],
    [0x6c08, '6C08 wrong Le, 8 bytes available (repeat with Le 08)'],
    [0x6c00, '6C00 wrong Le, 256 bytes available (repeat with Le 00)'],
    [0x6310, '6310 more data available'],
    [0x6982, '6982 security status not satisfied'],
    [0x6983, '6983 authentication method blocked'],
    [0x6a86, '6A86 incorrect parameters P1-P2'],
    [0x6a88, '6A88 referenced data not found'],
    [0x6700, '6700 wrong length'],
    [0x6d00, '6D00 instruction code not supported or invalid'],
    [0x6e00, '6E00 class not supported'],
    [0x6f00, '6F00 no precise diagnosis'],
    [0x6581, '6581 memory failure'],
    [0x6410, '6410 triggering by the card'],
    [0x6a99, '6A99 unlisted status word (group 6A: wrong parameters P1-P2)'],
    [0x9123, '9123 proprietary status word'],
    [0x1234, '1234 invalid status word (SW1 must be 61-6F or 9X)'],
    [0x6000, '6000 invalid status word (SW1 must be 61-6F or 9X)'],
  ];
  for (const [sw, text] of cases) t.equal(describeSw(sw), text);
  t.equal(swMeaning(0x6a82), 'file or application not found');
  t.equal(formatSw(0x9000), '9000');
  t.equal(formatSw(0x0001), '0001');
});

t.test('the table: unique, described, every listed SW from the brief present', async (t) => {
  const sws = STATUS_WORDS.map((e) => e.sw);
  t.equal(new Set(sws).size, sws.length, 'no duplicate status words');
  for (const e of STATUS_WORDS) {
    t.ok(e.meaning.length > 0 && e.source.length > 0, `${formatSw(e.sw)} has a meaning and a source`);
    t.equal(describeSw(e.sw), `${formatSw(e.sw)} ${e.meaning}`);
  }
  for (const sw of [0x9000, 0x6581, 0x6700, 0x6881, 0x6882, 0x6982, 0x6983, 0x6984, 0x6985, 0x6986, 0x6987, 0x6988,
    0x6a80, 0x6a81, 0x6a82, 0x6a83, 0x6a84, 0x6a86, 0x6a88, 0x6b00, 0x6d00, 0x6e00, 0x6f00, 0x6310]) {
    t.ok(sws.includes(sw), `${formatSw(sw)} is in the table`);
  }
  t.ok(Object.isFrozen(STATUS_WORDS), 'table is frozen');
});

t.test('classes', async (t) => {
  t.equal(swClass(0x9000), 'ok');
  t.equal(swClass(0x6110), 'ok', '61xx is normal processing');
  t.equal(swClass(0x6282), 'warning');
  t.equal(swClass(0x63c2), 'warning');
  t.equal(swClass(0x6310), 'warning');
  t.equal(swClass(0x6a82), 'error');
  t.equal(swClass(0x6c10), 'error');
  t.equal(swClass(0x6581), 'error');
  t.equal(swClass(0x9100), 'error', 'proprietary 9Xxx is not taken as success');
  t.equal(isSuccess(0x9000), true);
  t.equal(isSuccess(0x6110), false);
  t.equal(isSuccess(0x6282), false);
  t.throws(() => swClass(0x10000), RangeError);
  t.throws(() => describeSw(-1), RangeError);
  t.throws(() => isSuccess('9000' as unknown as number), TypeError);
});

t.test('instruction names', async (t) => {
  t.equal(insName(0xa4), 'SELECT');
  t.equal(insName(0xb2, 0x00), 'READ RECORD');
  t.equal(insName(0xe2, 0x00), 'APPEND RECORD');
  t.equal(insName(0xe2, 0x80), 'STORE DATA', 'proprietary class: GlobalPlatform name');
  t.equal(insName(0x50, 0x80), 'INITIALIZE UPDATE');
  t.equal(insName(0x82, 0x84), 'EXTERNAL AUTHENTICATE');
  t.equal(insName(0x24, 0x84), 'PIN UNBLOCK', 'PBOC COS');
  t.equal(insName(0x24, 0x00), 'CHANGE REFERENCE DATA');
  t.equal(insName(0xd6, 0x04), 'UPDATE BINARY', 'CLA 04 (secure messaging) is interindustry');
  t.equal(insName(0xca, 0xff), 'GET DATA');
  t.equal(insName(0x4a), 'INS 4A');
  t.throws(() => insName(0x100), RangeError);
});

t.test('StatusWordError', async (t) => {
  const select = apdu(0x00, 0xa4, 0x04, 0x00, h('A0000000031010'), 256);
  const e = new StatusWordError(0x6a82, select);
  t.ok(e instanceof Error);
  t.equal(e.name, 'StatusWordError');
  t.equal(e.message, 'card answered 6A82 (file or application not found) to SELECT');
  t.equal(e.sw, 0x6a82);
  t.equal(e.ins, 0xa4);
  t.equal(e.cla, 0x00);
  t.equal(new StatusWordError(0x63c1, { ins: 0x20 }).message, 'card answered 63C1 (verification failed, 1 try left) to VERIFY');
  t.equal(new StatusWordError(0x6985, { cla: 0x80, ins: 0xe6 }).message, 'card answered 6985 (conditions of use not satisfied) to INSTALL');
  t.throws(() => new StatusWordError(0x1ffff, { ins: 0xa4 }), RangeError);

  // A PUT KEY carries key bytes: they must reach neither the message nor the error object.
  const key = h('404142434445464748494A4B4C4D4E4F');
  const putKey = apdu(0x80, 0xd8, 0x01, 0x81, key);
  const err = new StatusWordError(0x6982, putKey);
  const everything = JSON.stringify({ ...err, message: err.message, stack: err.stack });
  t.notOk(everything.includes(toHex(key)), 'no key hex anywhere in the error');
  t.notOk(everything.includes('4041'), 'not even a fragment of it');
  t.notOk(Object.values(err).some((v) => v instanceof Uint8Array), 'no byte arrays kept');
  t.equal(err.message, 'card answered 6982 (security status not satisfied) to PUT KEY');
});

t.test('requireSw', async (t) => {
  const cmd = apdu(0x80, 0xf2, 0x40, 0x00, h('4F00'), 256);
  const ok = { data: h('E3'), sw: 0x9000 };
  t.equal(requireSw(ok, cmd), ok, 'returns the response on 9000');
  const more = { data: h('E3'), sw: 0x6310 };
  t.equal(requireSw(more, cmd, 0x9000, 0x6310), more, 'accepts a listed alternative');
  t.throws(() => requireSw(more, cmd), { name: 'StatusWordError', sw: 0x6310, message: 'card answered 6310 (more data available) to GET STATUS' });
  t.throws(() => requireSw({ data: new Uint8Array(0), sw: 0x6a88 }, { cla: 0x80, ins: 0xe4 }), /6A88 \(referenced data not found\) to DELETE/);
});
