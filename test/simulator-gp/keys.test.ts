// Key sets: PUT KEY add and replace (GP Card Specification 2.3.1 §11.8; 3DES under the SCP02
// session DEK, AES under the SCP03 Key-DEK), the KCVs the card returns, authentication with the
// new keys and refusal of the old ones, key information template (GET DATA 00E0), DELETE of keys,
// and factory keys diversified per card with the GP templates emv / visa2 / kdf3 (GlobalPlatform 2.3.1).
import t from 'tap';
import { concat, toHex } from '../../bytes/index.js';
import { diversifyEmv, diversifyKdf3, diversifyVisa2, kcv } from '../../crypto/index.js';
import { buildTlv } from '../../iso7816/index.js';
import { createGpCard, saveGpCardImage } from '../../simulator/gp/index.js';
import { ChannelError, cmd, h, KEY40, openSession, putKeySet, Scp02Host, Scp03Host, sameKeys, send, swHex, type Keys } from './fixtures/host.js';

const NEW3DES: Keys = { enc: h('00112233445566778899AABBCCDDEEFF'), mac: h('102132435465768798A9BACBDCEDFE0F'), dek: h('0F1E2D3C4B5A69788796A5B4C3D2E1F0') };

t.test('factory key set: version FF, 40..4F', async (t) => {
  const card = createGpCard({ scp: '02' });
  card.powerOn('contact');
  const kit = send(card, '80CA00E000');
  t.equal(toHex(kit.data), 'E012' + 'C00401FF8010' + 'C00402FF8010' + 'C00403FF8010', 'key information template');
  const host = new Scp02Host(sameKeys(KEY40), 0x55);
  const iu = send(card, host.initializeUpdate(0xff));
  t.equal(toHex(iu.data.subarray(10, 12)), 'FF02', 'key version FF, SCP02');
  t.doesNotThrow(() => openSession(card, new Scp02Host(sameKeys(KEY40), 0x55), 0x01, 0xff), 'explicit version FF');
});

t.test('SCP02 PUT KEY: replace the factory set, KCVs, new keys work, old refused', async (t) => {
  const card = createGpCard({ scp: '02', i: 0x55 });
  card.powerOn('contact');
  const host = new Scp02Host(sameKeys(KEY40), 0x55);
  const s = openSession(card, host, 0x03);
  const r = s.send(putKeySet(host, 0xff, 0x20, NEW3DES, 'des3'));
  t.equal(swHex(r.sw), '9000');
  t.equal(toHex(r.data), '20' + [NEW3DES.enc, NEW3DES.mac, NEW3DES.dek].map((k) => toHex(kcv('des3', k))).join(''), 'version ‖ KCVs');
  t.equal(toHex(send(card, '00CA00E000').data), 'E012' + 'C004012080' + '10' + 'C004022080' + '10' + 'C004032080' + '10');

  t.doesNotThrow(() => openSession(card, new Scp02Host(NEW3DES, 0x55), 0x01, 0x20), 'the new keys authenticate');
  t.throws(() => openSession(card, new Scp02Host(sameKeys(KEY40), 0x55), 0x01, 0x20), new ChannelError('card cryptogram mismatch'), 'the old keys do not');
  t.throws(() => openSession(card, new Scp02Host(sameKeys(KEY40), 0x55), 0x01, 0xff), new ChannelError('INITIALIZE UPDATE answered 6A88'), 'version FF is gone');

  // Add a second set, then delete it by version.
  const h2 = new Scp02Host(NEW3DES, 0x55);
  const s2 = openSession(card, h2, 0x03, 0x20);
  t.equal(swHex(s2.send(putKeySet(h2, 0x00, 0x21, sameKeys(KEY40), 'des3')).sw), '9000', 'add version 21');
  t.equal(swHex(s2.send(putKeySet(h2, 0x00, 0x21, sameKeys(KEY40), 'des3')).sw), '6A80', 'adding an existing version');
  t.equal(swHex(s2.send(putKeySet(h2, 0x33, 0x22, sameKeys(KEY40), 'des3')).sw), '6A88', 'replacing a version that does not exist');
  t.doesNotThrow(() => openSession(card, new Scp02Host(sameKeys(KEY40), 0x55), 0x01, 0x21), 'version 21 works');
  const s3 = openSession(card, new Scp02Host(NEW3DES, 0x55), 0x01, 0x20);
  t.equal(toHex(s3.send(cmd(0x80, 0xe4, 0x00, 0x00, buildTlv(0xd2, Uint8Array.of(0x21)), 256)).data), '00', 'DELETE key version 21');
  t.throws(() => openSession(card, new Scp02Host(sameKeys(KEY40), 0x55), 0x01, 0x21), new ChannelError('INITIALIZE UPDATE answered 6A88'));
  t.equal(card.internalErrors, 0);
});

t.test('PUT KEY refuses a wrong KCV, a bad key length and an SCP-foreign key type', async (t) => {
  const card = createGpCard({ scp: '02', i: 0x55 });
  card.powerOn('contact');
  const host = new Scp02Host(sameKeys(KEY40), 0x55);
  const s = openSession(card, host, 0x01);
  const good = putKeySet(host, 0x00, 0x20, NEW3DES, 'des3');
  const badKcv = { ...good, data: Uint8Array.from(good.data) };
  badKcv.data[1 + 2 + 16 + 1]! ^= 0x01;
  t.equal(swHex(s.send(badKcv).sw), '6A80', 'wrong KCV');
  const aes = cmd(0x80, 0xd8, 0x00, 0x01, concat(Uint8Array.of(0x20, 0x88, 0x10), host.dekEncrypt(new Uint8Array(16)), Uint8Array.of(0x00)), 256);
  t.equal(swHex(s.send(aes).sw), '6A80', 'an AES key on an SCP02 card');
  const short = cmd(0x80, 0xd8, 0x00, 0x01, concat(Uint8Array.of(0x20, 0x80, 0x08), host.dekEncrypt(new Uint8Array(8)), Uint8Array.of(0x00)), 256);
  t.equal(swHex(s.send(short).sw), '6A80', 'single-DES key');
  t.equal(swHex(s.send(cmd(0x80, 0xd8, 0x00, 0x81, Uint8Array.of(0x20, 0x80), 256)).sw), '6A80', 'truncated key data');
  t.equal(saveGpCardImage(card).keySets.length, 1, 'nothing was stored');
  t.equal(card.internalErrors, 0);
});

t.test('SCP03 PUT KEY with AES-128/192/256 keys (length-prefixed key component blocks)', async (t) => {
  for (const length of [16, 24, 32]) {
    const keys: Keys = {
      enc: new Uint8Array(length).map((_, k) => k + 1),
      mac: new Uint8Array(length).map((_, k) => k + 0x21),
      dek: new Uint8Array(length).map((_, k) => k + 0x41),
    };
    const card = createGpCard({ scp: '03', i: 0x70 });
    card.powerOn('contact');
    const host = new Scp03Host(sameKeys(KEY40), 0x70);
    const s = openSession(card, host, 0x33);
    const r = s.send(putKeySet(host, 0xff, 0x30, keys, 'aes'));
    t.equal(toHex(r.data) + swHex(r.sw), '30' + [keys.enc, keys.mac, keys.dek].map((k) => toHex(kcv('aes', k))).join('') + '9000', `AES-${length * 8}: KCVs`);
    t.doesNotThrow(() => openSession(card, new Scp03Host(keys, 0x70), 0x33, 0x30), `AES-${length * 8}: new keys authenticate`);
    t.throws(() => openSession(card, new Scp03Host(sameKeys(KEY40), 0x70), 0x01), new ChannelError('card cryptogram mismatch'), `AES-${length * 8}: old keys refused`);
    t.equal(card.internalErrors, 0);
  }
});

t.test('factory keys diversified per card: emv and visa2 (SCP02), kdf3 (SCP03)', async (t) => {
  const kmc = h('404142434445464748494A4B4C4D4E4F');
  for (const [method, scp, i] of [
    ['emv', '02', 0x55],
    ['visa2', '02', 0x15],
    ['kdf3', '03', 0x70],
  ] as const) {
    for (const seed of [1, 2]) {
      const card = createGpCard({ scp, i, seed, diversification: { method, master: kmc } });
      card.powerOn('contact');
      const kdd = send(card, '00CA00CF00').data.subarray(2);
      const derive = method === 'emv' ? diversifyEmv : method === 'visa2' ? diversifyVisa2 : diversifyKdf3;
      const keys: Keys = { enc: derive(kmc, kdd, 'enc'), mac: derive(kmc, kdd, 'mac'), dek: derive(kmc, kdd, 'dek') };
      const host = scp === '02' ? new Scp02Host(keys, i) : new Scp03Host(keys, i);
      t.doesNotThrow(() => openSession(card, host, 0x01), `${method}, card ${seed}: keys derived from the KDD authenticate`);
      const plain = scp === '02' ? new Scp02Host(sameKeys(kmc), i) : new Scp03Host(sameKeys(kmc), i);
      t.throws(() => openSession(card, plain, 0x01), new ChannelError('card cryptogram mismatch'), `${method}, card ${seed}: the master itself does not`);
    }
  }
  t.throws(() => createGpCard({ scp: '03', diversification: { method: 'emv', master: kmc } }), RangeError, 'emv gives 3DES keys, SCP03 needs AES');
  t.throws(() => createGpCard({ scp: '02', diversification: { method: 'kdf3', master: kmc } }), RangeError);
  t.throws(() => createGpCard({ keys: KEY40, diversification: { method: 'kdf3', master: kmc } }), RangeError, 'not both');
});
