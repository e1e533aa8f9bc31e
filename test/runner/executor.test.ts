// The executor, step kind by step kind, on the simulated social-security card and the simulated
// GP card: expected SWs (with X wildcards), sealed data, PBOC MAC'ed commands, external
// authentication, SM2 key generation + certificate, SCP02/SCP03 with PUT KEY and STORE DATA, and
// failures that name the step without showing secrets.
import t from 'tap';
import { fromHex, toHex } from '../../bytes/index.js';
import { GP_TEST_KEY } from '../../channels/index.js';
import { CapFile, GpSession, writeCap } from '../../globalplatform/index.js';
import { apdu, encodeCommand, parseResponse } from '../../iso7816/index.js';
import { parseCertificate } from '../../keys/index.js';
import { executeScript, StepError, swMatches } from '../../personalization/runner/executor.js';
import { SCRIPT_FORMAT, type CardScript, type Step } from '../../personalization/script.js';
import { SimulatorTransport } from '../../transport/simulator.js';
import { createSsCard } from '../../simulator/index.js';
import { createGpCard, CPS_MODULE_AID, CPS_PACKAGE_AID } from '../../simulator/gp/index.js';
import { CARD_TRANSPORT_KEY, makeKeyStore, recordSecrets, seal, sealKey, ssScript, TRANSPORT_KEY } from './helpers.js';

const { store } = await makeKeyStore();
t.teardown(() => store.close());
const opts = { provider: store, transportKey: TRANSPORT_KEY };
const script = (recordId: string, steps: Step[], verify: Step[] = []): CardScript => ({ format: SCRIPT_FORMAT, recordId, line: 1, interface: 'contact', steps, verify });

t.test('expected status words with X wildcards', async (t) => {
  t.ok(swMatches('9000', undefined));
  t.ok(swMatches('63C2', ['63CX']));
  t.ok(swMatches('6A82', ['9000', '6AXX']));
  t.notOk(swMatches('6A82', ['9000']));
  t.notOk(swMatches('63C2', ['63C3']));
});

t.test('a full social-security personalization (every native step kind) and its verification', async (t) => {
  const card = createSsCard({ seed: 'exec-1' });
  const tr = new SimulatorTransport(card);
  const s = await ssScript(store, 'r-0001', 1, { keygen: true });
  const res = await executeScript(tr, s, opts);
  t.equal(res.steps, s.steps.length + s.verify.length, 'every step ran');
  t.equal(res.checks, s.verify.filter((v) => v.op === 'check').length);
  t.equal(res.certificates.length, 1, 'one certificate issued');
  t.equal(card.lifecycle, 'personalized');
  // The certificate on the card is the one the CA issued for the card's key.
  await tr.transmit(fromHex('00A4020C020015'));
  const head = parseResponse(await tr.transmit(fromHex('00B0000004')));
  const len = ((head.data[2]! << 8) | head.data[3]!) + 4;
  const chunks: Uint8Array[] = [];
  for (let off = 0; off < len; off += 200) chunks.push(parseResponse(await tr.transmit(Uint8Array.of(0, 0xb0, off >> 8, off & 0xff, Math.min(200, len - off)))).data);
  const cert = parseCertificate(Buffer.concat(chunks));
  t.match(cert.subject, /Card r-0001/);
  await tr.transmit(fromHex('00A4020C020012'));
  const pub = parseResponse(await tr.transmit(fromHex('00B0000041'))).data;
  t.equal(String(cert.publicKey).toUpperCase(), toHex(pub), 'the certificate carries the card-generated public key');
  t.equal(card.internalErrors, 0);
  // Re-running the verify steps alone passes; on a blank card they fail.
  await executeScript(tr, s, opts, { lists: ['verify'] });
  await t.rejects(executeScript(new SimulatorTransport(createSsCard({ seed: 'blank' })), s, opts, { lists: ['verify'] }), StepError);
});

t.test('a wrong status word fails the card with the step, op, note, SW and meaning', async (t) => {
  const tr = new SimulatorTransport(createSsCard({ seed: 2 }));
  const err = await executeScript(tr, script('r2', [{ op: 'apdu', apdu: '00A40000023F00' }, { op: 'apdu', apdu: '00A4000002EF99', note: 'select EF99' }]), opts).catch((e: unknown) => e);
  t.type(err, StepError);
  const e = err as StepError;
  t.same([e.list, e.index, e.op, e.note, e.sw, e.cardFault], ['steps', 1, 'apdu', 'select EF99', '6A82', true]);
  t.match(e.message, /record r2: steps\[1\] apdu "select EF99": unexpected status word; expected 9000 \(card answered 6A82: .+\)/);
});

t.test('a check whose data differs fails; X accepts any try counter', async (t) => {
  const tr = new SimulatorTransport(createSsCard({ seed: 3 }));
  await executeScript(tr, script('r3', [], [{ op: 'check', apdu: '00A40000023F00', sw: ['9000'], what: 'MF' }, { op: 'check', apdu: '0084000004', sw: ['9XXX'], what: 'challenge' }]), opts);
  const e = (await executeScript(tr, script('r3', [], [{ op: 'check', apdu: '0084000004', expect: '00000000', what: 'fixed challenge' }]), opts).catch((x: unknown) => x)) as StepError;
  t.type(e, StepError);
  t.equal(e.list, 'verify');
  t.match(e.message, /check "fixed challenge" failed: the card's data differs/);
});

t.test('a wrong MAC key: 6988, and no key bytes in the message', async (t) => {
  const tr = new SimulatorTransport(createSsCard({ seed: 4 }));
  const wrong = fromHex('00112233445566778899AABBCCDDEEFF');
  const s = script('r4', [
    { op: 'apdu', apdu: '00A40000023F00' },
    { op: 'mac-apdu', header: '84D40000', data: { sealed: await seal(store, 'r4', fromHex('060101010F' + '11'.repeat(16))) }, macKey: await sealKey(store, 'r4', wrong), encryptKey: await sealKey(store, 'r4', wrong), note: 'write STK' },
  ]);
  const e = (await executeScript(tr, s, opts).catch((x: unknown) => x)) as StepError;
  t.type(e, StepError);
  t.equal(e.sw, '6988');
  t.notMatch(e.message, /00112233445566778899AABBCCDDEEFF/i);
  t.notMatch(e.message, /1111111111111111/);
});

t.test('a secret sealed for another record cannot be used', async (t) => {
  const tr = new SimulatorTransport(createSsCard({ seed: 5 }));
  const s = script('r5', [{ op: 'open', protocol: 'ssc-ext-auth', keyId: 0, key: await sealKey(store, 'other-record', CARD_TRANSPORT_KEY) }]);
  const e = (await executeScript(tr, s, opts).catch((x: unknown) => x)) as StepError;
  t.type(e, StepError);
  t.equal(e.cardFault, false, 'not the card: the script');
  t.match(e.message, /cannot unseal the authentication key/);
});

t.test('a card removed mid-script (power cut) fails that card with a clear reason', async (t) => {
  const card = createSsCard({ seed: 6 });
  const tr = new SimulatorTransport(card);
  const s = await ssScript(store, 'r6', 1);
  card.injectPowerLoss({ atWrite: 5, phase: 'during' });
  const e = (await executeScript(tr, s, opts).catch((x: unknown) => x)) as StepError;
  t.type(e, StepError);
  t.match(e.message, /the card went away/);
  t.equal(e.cardFault, true);
});

t.test('the PIN written through sealed-apdu works (VERIFY with it)', async (t) => {
  const card = createSsCard({ seed: 7 });
  const tr = new SimulatorTransport(card);
  await executeScript(tr, await ssScript(store, 'r7', 1), opts);
  const { pin } = recordSecrets('r7');
  const r = parseResponse(await tr.transmit(fromHex(`0020000103${pin}`)));
  t.equal(r.sw, 0x9000);
});

t.test('sealed-apdu and run-apdu go out through the APDU encoder: short Lc, extended Lc past 255 bytes, a bad Le is the script\'s fault', async (t) => {
  const sent: string[] = [];
  const recorder = { name: 'recorder', atr: () => new Uint8Array(8), reset: async () => new Uint8Array(8), close: async () => {}, transmit: async (c: Uint8Array) => (sent.push(toHex(c)), fromHex('9000')) };
  const big = new Uint8Array(300).fill(0xa5);
  await executeScript(recorder, script('r-enc', [
    { op: 'sealed-apdu', header: '00D60000', data: { sealed: await seal(store, 'r-enc', big.subarray(0, 20)) } },
    { op: 'sealed-apdu', header: '00D60000', data: { sealed: await seal(store, 'r-enc', big) } },
    { op: 'run-apdu', header: '00DC0104', data: [{ hex: 'A5'.repeat(300) }], le: 256 },
  ]), opts);
  t.equal(sent[0], `00D6000014${'A5'.repeat(20)}`, '20 bytes: short Lc 14');
  t.equal(sent[1], `00D6000000012C${'A5'.repeat(300)}`, '300 bytes: extended Lc 00 012C');
  t.equal(sent[2], `00DC010400012C${'A5'.repeat(300)}0100`, '300 bytes and Le 256: extended Lc and a two-byte Le');
  const e = (await executeScript(recorder, script('r-enc', [{ op: 'sealed-apdu', header: '00D60000', data: { sealed: await seal(store, 'r-enc', big.subarray(0, 4)) }, le: 0 }]), opts).catch((x: unknown) => x)) as StepError;
  t.type(e, StepError);
  t.equal(e.cardFault, false, 'the script, not the card');
  t.match(e.message, /bad script: .*le 0 is ambiguous/);
});

t.test('store-data: each DGI starts a new STORE DATA command, a long one continues in the next, clear DGIs 8000-8FFF go as they are', async (t) => {
  const sent: string[] = [];
  const recorder = { name: 'recorder', atr: () => new Uint8Array(8), reset: async () => new Uint8Array(8), close: async () => {}, transmit: async (c: Uint8Array) => (sent.push(toHex(c)), fromHex('9000')) };
  const res = await executeScript(recorder, script('r-sd', [
    { op: 'store-data', dgis: [{ dgi: 0x0101, data: 'AA'.repeat(10) }, { dgi: 0x0102, data: 'BB'.repeat(300) }, { dgi: 0x8010, data: 'CC'.repeat(8) }, { dgi: 0x9f36, sealed: { sealed: await seal(store, 'r-sd', fromHex('0001')) } }] },
  ]), opts);
  const dgi0102 = `0102FF012C${'BB'.repeat(300)}`;
  t.same(sent, [
    `80E200000D0101 0A${'AA'.repeat(10)}`.replace(/ /g, ''),
    `80E20001FF${dgi0102.slice(0, 510)}`,
    `80E2000232${dgi0102.slice(510)}`,
    `80E200030B801008${'CC'.repeat(8)}`,
    '80E28004059F36020001',
  ], 'P2 counts the commands, P1 80 on the last; no two DGIs share a command');
  t.equal(res.apdus, 5, 'five command APDUs counted');
  const e = (await executeScript(recorder, script('r-sd', [{ op: 'store-data', dgis: [{ dgi: 0x8000, sealed: { sealed: await seal(store, 'r-sd', fromHex('0001')) } }], note: 'secret' }]), opts).catch((x: unknown) => x)) as StepError;
  t.type(e, StepError);
  t.equal(e.cardFault, false);
  t.match(e.message, /steps\[0\] store-data "secret": bad script: DGI 8000 is sensitive and needs a secure channel \(its DEK\)/);
});

for (const scp of ['02', '03'] as const) {
  t.test(`SCP${scp}: open with sealed keys, PUT KEY (KCVs checked), STORE DATA with a sensitive DGI, re-open with the new keys`, async (t) => {
    const card = createGpCard({ scp, seed: 21 });
    const tr = new SimulatorTransport(card);
    // Setup outside the script: the CPS data store applet installed.
    const session = new GpSession(tr);
    await session.selectSd();
    await session.authenticate({ keys: GP_TEST_KEY, securityLevel: 0x03 });
    const cap = CapFile.parse(writeCap({ packageAid: CPS_PACKAGE_AID, packageName: 'cardsmith.cps', applets: [{ aid: CPS_MODULE_AID }] }));
    await session.loadCap(cap, { hash: 'sha1' });
    await session.install({ loadFileAid: cap.packageAid, moduleAid: CPS_MODULE_AID, instanceAid: fromHex('A0000000041010') });
    const alg = scp === '02' ? 'des3' : 'aes';
    const id = `gp-${scp}`;
    const old = await sealKey(store, id, GP_TEST_KEY, alg);
    const nk = (b: number) => new Uint8Array(16).fill(b);
    const s = script(
      id,
      [
        { op: 'open', protocol: scp === '02' ? 'scp02' : 'scp03', keys: { enc: old, mac: old, dek: old }, securityLevel: 0x03, note: 'factory keys' },
        { op: 'apdu', apdu: toHex(encodeCommand(apdu(0x80, 0xe6, 0x20, 0x00, fromHex('0000 07A0000000041010 000000'.replace(/ /g, '')), 256))), note: 'INSTALL for personalization' },
        { op: 'store-data', dgis: [{ dgi: 0x9f36, data: '0001' }, { dgi: 0x8000, sealed: { sealed: await seal(store, id, nk(0x5a)) } }], note: 'DGIs' },
        { op: 'close' },
        { op: 'open', protocol: scp === '02' ? 'scp02' : 'scp03', keys: { enc: old, mac: old, dek: old }, securityLevel: 0x01 },
        { op: 'put-key', keyVersion: 2, replaceVersion: 0xff, keys: { enc: await sealKey(store, id, nk(0x31), alg), mac: await sealKey(store, id, nk(0x32), alg), dek: await sealKey(store, id, nk(0x33), alg) }, note: 'issuer keys' },
        { op: 'close' },
      ],
      [
        { op: 'open', protocol: scp === '02' ? 'scp02' : 'scp03', keys: { enc: await sealKey(store, id, nk(0x31), alg), mac: await sealKey(store, id, nk(0x32), alg), dek: await sealKey(store, id, nk(0x33), alg) }, keyVersion: 2, securityLevel: 0x01, note: 'new keys' },
        { op: 'close' },
        { op: 'check', apdu: '00A4040007A000000004101000', what: 'instance selectable' },
        { op: 'check', apdu: '80CA9F3600', expect: '9F36020001', what: 'DGI 9F36 stored' },
      ],
    );
    const res = await executeScript(tr, s, opts);
    t.equal(Object.keys(res.kcvs).length, 3, 'three KCVs confirmed by the card');
    // The factory keys no longer work.
    const e = (await executeScript(tr, script(id, [s.steps[0]!]), opts).catch((x: unknown) => x)) as StepError;
    t.type(e, StepError, 'the old key set is gone');
  });
}
