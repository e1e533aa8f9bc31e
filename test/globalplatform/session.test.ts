// The GP session against a small in-test card (fixtures/fake-gp-card.ts, card side written from
// crypto/ primitives only) through the real SimulatorTransport: every security level, the whole
// card content management cycle, key rotation, and the failure cases with their card state.
import t from 'tap';
import { fromHex, toHex } from '../../bytes/index.js';
import { aesDecryptEcb, diversifyEmv, kcv } from '../../crypto/index.js';
import { AuthenticationError, CardCryptogramError, GP_TEST_KEY, masterKeySource, openSecureChannel } from '../../channels/index.js';
import { CapFile, GpCommandError, GpSession, KcvMismatchError, writeCap } from '../../globalplatform/index.js';
import { SimulatorTransport } from '../../transport/simulator.js';
import { FakeGpCard } from './fixtures/fake-gp-card.js';

const PKG = fromHex('A0000001515350AA');
const APPLET = fromHex('A0000001515350AA01');
const INSTANCE = fromHex('A0000001515350AA0101');

function connect(card: FakeGpCard, onProgress?: (e: { block: number }) => void): GpSession {
  return new GpSession(new SimulatorTransport(card), onProgress ? { onProgress } : {});
}

const LEVELS: Record<2 | 3, number[]> = { 2: [0x00, 0x01, 0x03], 3: [0x00, 0x01, 0x03, 0x11, 0x13, 0x33] };

for (const scp of [2, 3] as const) {
  t.test(`SCP0${scp}: authenticate at each security level, list, load, install, personalize, delete`, async (t) => {
    for (const level of LEVELS[scp]) {
      const card = new FakeGpCard({ scp });
      const session = connect(card);
      const sd = await session.selectSd();
      t.equal(sd.how, 'default-selected', 'the FCI of the default-selected application names the ISD');
      const channel = await session.authenticate({ keys: GP_TEST_KEY, securityLevel: level });
      t.equal(channel.securityLevel, level);
      if (scp === 3) t.equal(channel.session.cardChallengeVerified, true, 'pseudo-random card challenge checked against the ISD AID');
      if (level === 0) {
        // Level 00: authenticated, commands go out in clear (CLA 80, no MAC).
        t.equal((await session.getStatus('isd'))[0]!.aid, 'A000000151000000');
        t.match(card.log[card.log.length - 1], /^80F28002/);
        continue;
      }
      const isd = await session.getStatus('isd');
      t.equal(isd[0]!.lifeCycleName, 'SECURED', `level ${level.toString(16)}: GET STATUS through the channel`);
      const cap = CapFile.parse(writeCap({ packageAid: PKG, applets: [{ aid: APPLET }], methodPadding: 600 }));
      const load = await session.loadCap(cap, { hash: 'sha256' });
      t.equal(load.blockSize, session.maxBlockSize());
      t.ok(load.blocks >= 3, `${load.blocks} LOAD blocks of ${load.blockSize}`);
      await session.install({ loadFileAid: PKG, moduleAid: APPLET, instanceAid: INSTANCE, privileges: Uint8Array.of(0x00), parameters: fromHex('C0FFEE') });
      const reg = await session.registry();
      t.same(reg.loadFiles.map((l) => [l.aid, l.modules]), [[toHex(PKG), [toHex(APPLET)]]]);
      t.same(reg.applications.map((a) => [a.aid, a.lifeCycleName]), [[toHex(INSTANCE), 'SELECTABLE']]);
      // Personalization: one plain DGI, one sensitive DGI (encrypted under the DEK), one plain again.
      const secret = new Uint8Array(16).fill(0x5a);
      const r = await session.personalize(INSTANCE, [
        { dgi: 0x0101, data: fromHex('5A0841111111111111115F24032512319F0702FF00') },
        { dgi: 0x8000, data: secret },
        { dgi: 0x0202, data: new Uint8Array(300).fill(0x11) },
      ]);
      t.ok(r.commands >= 4, 'the 300-byte DGI continues over two commands');
      const stored = card.storeData;
      t.same(stored.map((s) => s.p2), stored.map((_, k) => k), 'P2 counts the blocks from 00');
      t.same(stored.map((s) => s.p1 & 0x60), [0x00, 0x60, ...stored.slice(2).map(() => 0x00)], 'P1 b7–b6 = 11 only on the block with the sensitive DGI');
      t.equal(stored[stored.length - 1]!.p1 & 0x80, 0x80, 'last block: P1 b8');
      t.ok(stored.slice(0, -1).every((s) => (s.p1 & 0x80) === 0));
      const enc = fromHex(stored[1]!.data);
      t.equal(toHex(enc.subarray(0, 3)), '800010', 'DGI 8000, length 16 (ECB, no padding)');
      if (scp === 3) t.equal(toHex(aesDecryptEcb(GP_TEST_KEY, enc.subarray(3))), toHex(secret), 'SCP03: AES-ECB under the DEK');
      else t.not(toHex(enc.subarray(3)), toHex(secret), 'SCP02: encrypted under S-DEK');
      await session.setApplicationLock(INSTANCE, true);
      t.equal((await session.getStatus('applications'))[0]!.lifeCycleName, 'LOCKED (SELECTABLE)');
      await session.setApplicationLock(INSTANCE, false);
      await session.delete(PKG, { related: true });
      t.same(await session.getStatus('applications'), []);
      t.same(await session.getStatus('loadFiles'), []);
      t.equal(card.authentications, 1);
    }
  });
}

t.test('a wrong key stops at the card cryptogram: no EXTERNAL AUTHENTICATE, no retry, both cryptograms shown', async (t) => {
  for (const scp of [2, 3] as const) {
    const card = new FakeGpCard({ scp });
    const session = connect(card);
    await session.selectSd();
    const before = card.log.length;
    const wrong = fromHex('00112233445566778899AABBCCDDEEFF');
    const err = await session.authenticate({ keys: wrong }).catch((e: unknown) => e);
    t.ok(err instanceof CardCryptogramError);
    t.match(
      (err as Error).message,
      new RegExp(`^scp0${scp}: card cryptogram mismatch \\(card sent [0-9A-F]{16}, expected [0-9A-F]{16}\\) — check the keys; do not retry: repeated failed authentications can lock the card$`),
    );
    t.equal((err as CardCryptogramError).kcvs.enc, toHex(kcv(scp === 2 ? 'des3' : 'aes', wrong)), 'the keys tried are named by KCV');
    t.notMatch((err as Error).message, /00112233/, 'no key bytes in the message');
    t.same(card.log.slice(before).map((c) => c.slice(0, 4)), ['8050'], 'only INITIALIZE UPDATE went out');
    t.equal(card.failedAuthentications, 0, 'the card counted no failed authentication');
    t.equal(session.channel, undefined);
  }
});

t.test('an unknown key version is refused by INITIALIZE UPDATE with advice', async (t) => {
  const session = connect(new FakeGpCard({ scp: 3 }));
  await session.selectSd();
  const err = await session.authenticate({ keys: GP_TEST_KEY, keyVersion: 0x05 }).catch((e: unknown) => e);
  t.ok(err instanceof AuthenticationError);
  t.match((err as Error).message, /initialize update: card answered 6A88 .*no key set version 5/);
});

t.test('PUT KEY: rotation to a diversified key set, re-authentication, the old keys refused', async (t) => {
  for (const scp of [2, 3] as const) {
    const card = new FakeGpCard({ scp });
    const session = connect(card);
    await session.selectSd();
    const old = await session.authenticate({ keys: GP_TEST_KEY, securityLevel: 0x03 });
    const oldVersion = old.session.keyVersion;
    const master = fromHex('0F0E0D0C0B0A09080706050403020100');
    const source = masterKeySource(master, scp === 2 ? 'emv' : 'kdf3');
    const next = source.keysFor(card.kdd, scp);
    const result = await session.putKeys({ keys: next, newVersion: oldVersion + 1, replaceVersion: oldVersion });
    t.equal(result.version, oldVersion + 1);
    t.same(result.kcvs, [next.enc, next.mac, next.dek].map((k) => toHex(kcv(scp === 2 ? 'des3' : 'aes', k))));
    if (scp === 2) t.equal(toHex(next.enc), toHex(diversifyEmv(master, card.kdd, 'enc')));
    await session.selectSd();
    const fresh = await session.authenticate({ keys: source, keyVersion: oldVersion + 1 });
    t.equal(fresh.session.keyVersion, oldVersion + 1, 'authenticated with the new keys');
    t.match(fresh.session.keySource, /master KCV [0-9A-F]{6}/);
    await session.selectSd();
    const refused = await session.authenticate({ keys: GP_TEST_KEY, keyVersion: oldVersion }).catch((e: unknown) => e);
    t.ok(refused instanceof AuthenticationError, 'the old key version is gone');
    const wrongKeys = await session.authenticate({ keys: GP_TEST_KEY }).catch((e: unknown) => e);
    t.ok(wrongKeys instanceof CardCryptogramError, 'the old keys do not match the new key set');
    t.equal(card.failedAuthentications, 0);
  }
});

t.test('PUT KEY: the card answers other KCVs → KcvMismatchError', async (t) => {
  const card = new FakeGpCard({ scp: 3, faults: { wrongPutKeyKcv: true } });
  const session = connect(card);
  await session.selectSd();
  await session.authenticate({ keys: GP_TEST_KEY, securityLevel: 0x03 });
  const keys = { enc: new Uint8Array(16).fill(1), mac: new Uint8Array(16).fill(2), dek: new Uint8Array(16).fill(3) };
  const err = await session.putKeys({ keys, newVersion: 0x31 }).catch((e: unknown) => e);
  t.ok(err instanceof KcvMismatchError);
  t.match((err as Error).message, /PUT KEY \(adding key set version 49\): the card answered 31[0-9A-F]{18}, expected key version and KCVs 31[0-9A-F]{18} — the card holds other keys than the ones sent/);
  t.notMatch((err as Error).message, /01010101/, 'no key bytes');
});

t.test('useChannel: a channel opened outside the session carries PUT KEY and STORE DATA; pack: false and encrypt: false', async (t) => {
  const card = new FakeGpCard({ scp: 3 });
  const tr = new SimulatorTransport(card);
  const setup = new GpSession(tr);
  await setup.selectSd();
  await setup.authenticate({ keys: GP_TEST_KEY, securityLevel: 0x03 });
  await setup.loadCap(CapFile.parse(writeCap({ packageAid: PKG, applets: [{ aid: APPLET }] })));
  await setup.install({ loadFileAid: PKG, moduleAid: APPLET, instanceAid: INSTANCE });
  // The caller sends SELECT and opens the channel itself; the session takes it over.
  await setup.selectSd();
  const channel = await openSecureChannel(tr, { keys: GP_TEST_KEY, securityLevel: 0x03 });
  const session = new GpSession(tr);
  t.equal(session.channel, undefined);
  session.useChannel(channel);
  t.equal(session.channel, channel, 'the session uses the channel it was given');
  await session.personalize(INSTANCE, [
    { dgi: 0x0101, data: fromHex('0102') },
    { dgi: 0x0102, data: fromHex('0304') },
    { dgi: 0x8000, data: new Uint8Array(16).fill(0x5a), encrypt: false },
    { dgi: 0x8001, data: new Uint8Array(16).fill(0x5b) },
  ], { pack: false });
  t.same(card.storeData.map((s) => [s.p1, s.p2, s.data.slice(0, 6)]), [
    [0x00, 0, '010102'],
    [0x00, 1, '010202'],
    [0x00, 2, '800010'],
    [0xe0, 3, '800110'],
  ], 'one command per DGI; DGI 8000 as it is (encrypt: false), DGI 8001 encrypted');
  t.equal(card.storeData[2]!.data, `800010${'5A'.repeat(16)}`);
  t.not(card.storeData[3]!.data, `800110${'5B'.repeat(16)}`);
  const keys = { enc: new Uint8Array(16).fill(1), mac: new Uint8Array(16).fill(2), dek: new Uint8Array(16).fill(3) };
  const put = await session.putKeys({ keys, newVersion: 0x31 });
  t.same(put.kcvs, [keys.enc, keys.mac, keys.dek].map((k) => toHex(kcv('aes', k))), 'PUT KEY through the channel taken over');
  session.endChannel('test: done');
  t.equal(session.channel, undefined);
  t.equal(channel.active, false, 'endChannel ends it');
});

t.test('LOAD: an unexpected status word mid-LOAD names the block and leaves nothing loaded', async (t) => {
  const card = new FakeGpCard({ scp: 3, faults: { loadBlock: { block: 2, sw: 0x6a84 } } });
  const session = connect(card);
  await session.selectSd();
  await session.authenticate({ keys: GP_TEST_KEY, securityLevel: 0x03 });
  const cap = CapFile.parse(writeCap({ packageAid: PKG, applets: [{ aid: APPLET }], methodPadding: 2000 }));
  const err = await session.loadCap(cap).catch((e: unknown) => e);
  t.ok(err instanceof GpCommandError);
  t.match((err as Error).message, /^LOAD block 3 of \d+ \(P2 02\) of A0000001515350AA: card answered 6A84 \(not enough memory space in the file\) — not enough memory on the card; the load stopped here/);
  t.equal(card.log.filter((c) => c.startsWith('84E8')).length, 3, 'no LOAD after the failing block');
  t.same(await session.getStatus('loadFiles'), [], 'nothing registered');
});

t.test('GET STATUS follows 6310 with P2 b1 set, and without a channel the card says 6982', async (t) => {
  const card = new FakeGpCard({ scp: 3, statusPageSize: 1 });
  card.loadFiles = [1, 2, 3].map((k) => ({ aid: `A00000015153500${k}`, lifeCycle: 1, privileges: '' }));
  const session = connect(card);
  await session.selectSd();
  const plain = await session.getStatus('loadFiles').catch((e: unknown) => e);
  t.match((plain as Error).message, /GET STATUS 20: card answered 6982 .*authenticate first/);
  await session.authenticate({ keys: GP_TEST_KEY });
  const files = await session.getStatus('loadFiles');
  t.same(files.map((f) => f.aid), ['A000000151535001', 'A000000151535002', 'A000000151535003']);
  const p2 = card.log.filter((c) => c.startsWith('84F220')).map((c) => c.slice(6, 8));
  t.same(p2, ['02', '03', '03']);
});

t.test('info: CPLC, card recognition data, key information, IIN/CIN', async (t) => {
  const session = connect(new FakeGpCard({ scp: 2 }));
  await session.selectSd(fromHex('A000000151000000'));
  const cplc = await session.cplc(2025);
  t.equal(cplc?.icFabricator, '4790');
  t.same((await session.cardRecognitionData())?.scps, [{ scp: 2, i: 0x15 }]);
  t.match(await session.keyInformation(), [{ id: 1, version: 0x20, components: [{ typeName: 'DES', length: 16 }] }]);
  t.equal(await session.identifier(0x42), '123456');
  t.equal(await session.identifier(0x45), '0102030405060708');
  t.equal(await session.getData(0x1234), undefined, '6A88: not there');
  const err = await session.selectSd(fromHex('A0000000000001')).catch((e: unknown) => e);
  t.match((err as Error).message, /answered 6A82 to SELECT A0000000000001: no such security domain/);
});
