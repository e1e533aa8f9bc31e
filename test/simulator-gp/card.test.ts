// The card as a whole: ATR, GET DATA objects (CPLC, card recognition data, key information, IIN,
// CIN, sequence counter, KDD, extended card resources), malformed APDUs answered with the ISO/IEC
// 7816-4 status word that fits, determinism with a seed, and the JSON card image.
import t from 'tap';
import { toHex } from '../../bytes/index.js';
import { parseTlv } from '../../iso7816/index.js';
import { ATR_CONTACT, ATR_CONTACTLESS, createGpCard, gpCardImageJson, GpImageError, saveGpCardImage, type GpCard, type GpCardImage } from '../../simulator/gp/index.js';
import { capDataBlock, getStatus, h, installForInstall, installForLoad, KEY40, loadCommands, loadFileOf, openSession, putKeySet, Scp03Host, sameKeys, send, swHex } from './fixtures/host.js';

t.test('ATR', async (t) => {
  const card = createGpCard();
  for (const [iface, atr] of [
    ['contact', ATR_CONTACT],
    ['contactless', ATR_CONTACTLESS],
  ] as const) {
    const got = card.powerOn(iface);
    t.same(got, atr, iface);
    t.equal(got[0], 0x3b, `${iface}: direct convention`);
    t.equal(
      got.subarray(1).reduce((x, b) => x ^ b, 0),
      0,
      `${iface}: TCK makes T0..TCK xor to 0`,
    );
    t.ok(new TextDecoder().decode(got).includes('cardsmith-GP'), `${iface}: historical bytes`);
  }
  card.powerOff();
  t.equal(swHex(send(card, '00A4040000').sw), '6F00', 'no power, no answer (6F00 in the simulator)');
});

t.test('GET DATA', async (t) => {
  const card = createGpCard({ seed: 7 });
  card.powerOn('contact');
  const cplc = send(card, '80CA9F7F00');
  t.equal(swHex(cplc.sw), '9000');
  t.equal(toHex(cplc.data.subarray(0, 3)), '9F7F2A', 'CPLC: 42 bytes');
  t.equal(toHex(cplc.data.subarray(3, 7)), '43534750', 'IC fabricator, IC type');
  const kdd = send(card, '80CA00CF00').data;
  t.equal(toHex(kdd.subarray(2)), toHex(cplc.data.subarray(3, 7)) + toHex(cplc.data.subarray(15, 21)), 'KDD = fabricator ‖ type ‖ serial ‖ batch');
  const cd = send(card, '80CA006600');
  t.equal(
    toHex(cd.data),
    '663F733D06072A864886FC6B01600C060A2A864886FC6B02020301630906072A864886FC6B03640B06092A864886FC6B040370660C060A2B060104012A026E0103',
    'card recognition data: GP 2.3.1, SCP03 i=70, Java Card 3',
  );
  t.equal(toHex(send(card, '80CA00E000').data), 'E012C00401FF8810C00402FF8810C00403FF8810', 'key information: three AES-128 keys, version FF');
  t.equal(toHex(send(card, '80CA004200').data), '4203999999', 'IIN');
  t.equal(toHex(send(card, '80CA004500').data).slice(0, 4), '4508', 'CIN');
  t.equal(toHex(send(card, '80CA00C100').data), 'C103000000', 'sequence counter');
  // FF21 is GP's tag; BER (ISO/IEC 7816-4) would not allow FF as a first tag byte, so parse by hand.
  const ecr = send(card, '80CAFF2100').data;
  t.equal(toHex(ecr.subarray(0, 3)), 'FF210E', 'extended card resources');
  t.same(
    parseTlv(ecr.subarray(3)).map((n) => n.tag),
    [0x81, 0x82, 0x83],
    'applications, free non-volatile memory, free volatile memory',
  );
  t.equal(swHex(send(card, '80CA9F6E00').sw), '6A88', 'unknown tag');
  t.equal(swHex(send(card, '84CA00CF08' + '00'.repeat(8)).sw), '6982', 'secure messaging without a session');
  const fci = parseTlv(send(card, '00A4040008A00000015100000000').data);
  t.equal(toHex(fci[0]!.children![0]!.value), 'A000000151000000', 'FCI: 84 ISD AID');
  t.equal(toHex(fci[0]!.children![1]!.children![0]!.tagBytes), '73', 'FCI: A5 { 73 … }');
  t.equal(swHex(send(card, '00A4040008A000000151000000').sw), '9000', 'SELECT without Le');
  t.equal(swHex(send(card, '00A40400').sw), '9000', 'SELECT without data and Le selects the ISD');
  t.equal(swHex(send(card, '00A4040005A000000151').sw), '9000', 'partial AID');
  t.equal(swHex(send(card, '00A4040200').sw), '6A82', 'next occurrence of nothing');
  t.equal(card.internalErrors, 0);
});

t.test('malformed APDUs: the right status word, never an exception', async (t) => {
  const card = createGpCard();
  card.powerOn('contact');
  const cases: [string, string, string][] = [
    ['3 bytes', '00A404', '6700'],
    ['empty', '', '6700'],
    ['Lc longer than the data', '00A4040008A0000001', '6700'],
    ['trailing bytes after Le', '00A4040001A00000', '6700'],
    ['extended Lc 0000 followed by data', '80E2000000000001', '6700'],
    ['CLA FF', 'FFA4040000', '6E00'],
    ['CLA A0 (RFU)', 'A0A4040000', '6E00'],
    ['CLA 20 (RFU)', '20A4040000', '6E00'],
    ['logical channel 1', '01A4040000', '6881'],
    ['further interindustry class (channel 4+)', '40A4040000', '6881'],
    ['command chaining', '10A4040000', '6884'],
    ['ISO secure messaging', '0CA4040000', '6882'],
    ['SELECT with CLA 80', '80A4040000', '6E00'],
    ['INS 6X', '00600000', '6D00'],
    ['INS 9X', '00920000', '6D00'],
    ['MANAGE CHANNEL', '0070000001', '6881'],
    ['unknown INS', '00100000', '6D00'],
    ['GET RESPONSE', '00C0000000', '6D00'],
    ['SELECT by FID', '00A40000023F00', '6A86'],
    ['SELECT P2 last occurrence', '00A4040100', '6A86'],
    ['SELECT P2 FCP', '00A4040400', '6A86'],
    ['SELECT AID of 17 bytes', '00A4040011' + '00'.repeat(17), '6700'],
    ['SELECT absent AID', '00A4040007A0000000FFFFFF', '6A82'],
    ['GP command in the ISO class', '00F28002024F00', '6E00'],
    ['EXTERNAL AUTHENTICATE with CLA 80', '8082000010' + '00'.repeat(16), '6E00'],
    ['EXTERNAL AUTHENTICATE without INITIALIZE UPDATE', '8482000010' + '00'.repeat(16), '6985'],
    ['INITIALIZE UPDATE P2 01', '8050000108010203040506070800', '6A86'],
    ['GET DATA with CLA 84 and no MAC', '84CA00CF00', '6982'],
  ];
  for (const [what, apdu, sw] of cases) t.equal(swHex(send(card, apdu).sw), sw, what);
  t.equal(card.internalErrors, 0);
});

/** A fixed script of host work; returns every response as hex. */
function script(card: GpCard, host: Scp03Host): string[] {
  const out: string[] = [];
  out.push(toHex(card.powerOn('contact')));
  const s = openSession(card, host, 0x33);
  const PKG = h('A0000000FF0401');
  const MOD = h('A0000000FF040101');
  out.push(swHex(s.send(installForLoad(PKG)).sw));
  for (const c of loadCommands(loadFileOf(capDataBlock({ packageAid: PKG, applets: [MOD] })))) out.push(swHex(s.send(c).sw));
  out.push(swHex(s.send(installForInstall(PKG, MOD, h('A0000000FF04010101'))).sw));
  const gs = s.send(getStatus(0x40));
  out.push(toHex(gs.data) + swHex(gs.sw));
  for (let k = 0; k < 3; k++) out.push(toHex(send(card, new Scp03Host(sameKeys(KEY40), 0x60).initializeUpdate()).data));
  return out;
}

t.test('determinism: same seed, same bytes; another seed, other challenges', async (t) => {
  const mk = (seed: number) => createGpCard({ scp: '03', i: 0x60, seed });
  const a = mk(42);
  const b = mk(42);
  const c = mk(43);
  const ra = script(a, new Scp03Host(sameKeys(KEY40), 0x60));
  const rb = script(b, new Scp03Host(sameKeys(KEY40), 0x60));
  const rc = script(c, new Scp03Host(sameKeys(KEY40), 0x60));
  t.same(ra, rb, 'every response identical');
  t.equal(gpCardImageJson(a), gpCardImageJson(b), 'identical images');
  t.not(ra.at(-1), rc.at(-1), 'random card challenges differ with the seed');
  t.not(toHex(send(a, '80CA9F7F00').data), toHex(send(c, '80CA9F7F00').data), 'so does the CPLC serial number');
});

t.test('image round trip: the restored card continues where the saved one stopped', async (t) => {
  const card = createGpCard({ scp: '03', i: 0x60, seed: 'image' });
  script(card, new Scp03Host(sameKeys(KEY40), 0x60));
  const s = openSession(card, new Scp03Host(sameKeys(KEY40), 0x60), 0x03);
  const next = new Uint8Array(16).fill(0x5a);
  s.send(putKeySet(s.channel, 0x00, 0x31, sameKeys(next), 'aes'));
  const json = gpCardImageJson(card);
  const restored = createGpCard({ image: json });
  t.equal(gpCardImageJson(restored), json, 'export(import(image)) = image');
  const image = JSON.parse(json) as GpCardImage;
  t.equal(image.keySets.length, 2);
  t.equal(image.applications.length, 1);
  // Both continue identically: same random challenge next, same counters.
  card.powerOn('contact');
  restored.powerOn('contact');
  const iu = new Scp03Host(sameKeys(KEY40), 0x60).initializeUpdate();
  t.equal(toHex(send(restored, iu).data), toHex(send(card, iu).data), 'the random source continues');
  t.doesNotThrow(() => openSession(restored, new Scp03Host(sameKeys(next), 0x60), 0x01, 0x31), 'the added key set works on the restored card');
  t.equal(saveGpCardImage(restored).keySets[0]!.keys[0]!.value, toHex(KEY40), 'the factory set is still there');
});

t.test('bad options and bad images', async (t) => {
  const good = saveGpCardImage(createGpCard());
  const bad = (edit: (o: Record<string, unknown>) => void, path: string) => {
    const o = JSON.parse(JSON.stringify(good)) as Record<string, unknown>;
    edit(o);
    try {
      createGpCard({ image: o as unknown as GpCardImage });
      t.fail(`${path}: accepted`);
    } catch (e) {
      t.ok(e instanceof GpImageError && e.path === path, `${path}: GpImageError naming the field (${(e as Error).message})`);
    }
  };
  bad((o) => (o.format = 'other'), 'format');
  bad((o) => (o.scp = '01'), 'scp');
  bad((o) => (o.i = 0x04), 'i');
  bad((o) => (o.isdAid = 'A000'), 'isdAid');
  bad((o) => ((o.keySets as { keys: { value: string }[] }[])[0]!.keys[1]!.value = 'ZZ'), 'keySets[0].keys[1].value');
  bad((o) => ((o.keySets as { keys: { alg: string }[] }[])[0]!.keys[0]!.alg = 'des3'), 'keySets[0].keys[0].alg');
  bad((o) => (o.lifeCycle = 0x02), 'lifeCycle');
  bad((o) => (o.storage = { ZZ: {} }), 'storage.ZZ');
  t.throws(() => createGpCard({ image: '{' }), GpImageError);
  t.throws(() => createGpCard({ image: good, scp: '02' }), TypeError, 'an image and configuration options');
  t.throws(() => createGpCard({ scp: '02', i: 0x11 }), RangeError, 'SCP02 implicit initiation');
  t.throws(() => createGpCard({ scp: '03', i: 0x02 }), RangeError, 'SCP03 RFU bit');
  t.throws(() => createGpCard({ scp: '03', i: 0x40 }), RangeError, 'R-ENC without R-MAC');
  t.throws(() => createGpCard({ scp: '02', keys: new Uint8Array(32) }), RangeError, 'a 32-byte 3DES key');
  t.throws(() => createGpCard({ sequenceCounter: 0x1000000 }), RangeError);
  t.throws(() => createGpCard({ kdd: new Uint8Array(9) }), RangeError);
});

t.test('sequence counter: persistent, one step per INITIALIZE UPDATE, exhausted at the end of its range', async (t) => {
  const card = createGpCard({ scp: '02', sequenceCounter: 0xfffe });
  card.powerOn('contact');
  const iu = '8050000008010203040506070800';
  t.equal(toHex(send(card, iu).data.subarray(12, 14)), 'FFFE');
  card.powerOff();
  card.powerOn('contact');
  t.equal(toHex(send(card, iu).data.subarray(12, 14)), 'FFFF', 'the counter survived the power cycle');
  t.equal(swHex(send(card, iu).sw), '6985', 'no counter value left');
  t.equal(toHex(send(card, '00CA00C100').data), 'C102FFFF', 'GET DATA C1 stops at the top of the range');
});
