// End to end: prep a batch for each built-in profile, run every script on a blank
// simulated card with the runner's executor (personalization/runner/executor.ts), read the cards
// back to the expected records. The photos are in the batch's blobs.pack (the scripts name them);
// the executor reads them from it, as the runner does with the batch it loads.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { concat, equal, fromHex, toHex } from '../../bytes/index.js';
import { decodeAn, decodeGbk, encodeCommand, encodeGbk } from '../../iso7816/index.js';
import { parseCertificate, verifyCertificate } from '../../keys/ca.js';
import { prepBatch } from '../../personalization/prep/index.js';
import { parseCardScript, type CardScript, type SealedApduStep } from '../../personalization/script.js';
import { addYears, cardNumberCheck, loadProfile } from '../../profiles/index.js';
import { createSsCard } from '../../simulator/sscard/factory.js';
import { createGpCard } from '../../simulator/gp/index.js';
import { SimulatorTransport } from '../../transport/simulator.js';
import { GpSession } from '../../globalplatform/session.js';
import { DEFAULT_TEST_KEY } from '../../simulator/gp/keys.js';
import { executeScript, StepError } from '../../personalization/runner/executor.js';
import { loadBatch } from '../../personalization/runner/run.js';
import { makeStore } from './fixtures/store.js';

const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;
const TODAY = '20260115';
const CREATED = '2026-01-15T09:00:00.000Z';

function smallCsvBatch(dir: string, n: number): string {
  const lines = readFileSync(join(EXAMPLES, 'sscard-gen3-batch.csv'), 'utf8').trimEnd().split('\n').slice(0, n + 1);
  mkdirSync(join(dir, 'photos'), { recursive: true });
  for (let i = 1; i <= 24; i++) copyFileSync(join(EXAMPLES, 'photos', `${String(i).padStart(4, '0')}.jpg`), join(dir, 'photos', `${String(i).padStart(4, '0')}.jpg`));
  const path = join(dir, 'batch.csv');
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

function readScripts(out: string): CardScript[] {
  return readFileSync(join(out, 'cards.jsonl'), 'utf8').trimEnd().split('\n').map((l, i) => parseCardScript(l, `cards.jsonl:${i + 1}`));
}

const rsp = (card: { process(b: Uint8Array): Uint8Array }, hex: string) => {
  const r = card.process(fromHex(hex));
  return { data: r.subarray(0, r.length - 2), sw: toHex(r.subarray(r.length - 2)) };
};

t.test('sscard-gen3: prep 5 records, personalize 5 blank cards, read them back', async (t) => {
  const { store, dir } = await makeStore();
  t.teardown(() => store.close());
  const input = smallCsvBatch(dir, 5);
  const profile = loadProfile('builtin:sscard-gen3');
  const out = join(dir, 'out');
  const res = await prepBatch({ profile, profileFile: 'builtin:sscard-gen3', input, store, out, seed: 7, createdAt: CREATED, today: TODAY });
  t.ok(res.ok);
  t.equal(res.manifest?.cards, 5);
  const scripts = readScripts(out);
  t.equal(scripts.length, 5);
  const pack = loadBatch(out).blobs;
  t.ok(pack, 'the photos are in blobs.pack');
  t.teardown(() => pack?.close());
  const records = readFileSync(input, 'utf8').trimEnd().split('\n').slice(1).map((l) => l.split(','));
  const caPub = await store.publicKey({ label: 'ss3-card-ca' });
  const seenNumbers = new Set<string>();
  for (const [i, script] of scripts.entries()) {
    const card = createSsCard({ seed: 100 + i });
    const transport = new SimulatorTransport(card);
    try {
      const r = await executeScript(transport, script, { provider: store, transportKey: { label: 'batch-transport' }, ...(pack ? { blobs: pack } : {}) });
      t.ok(r.checks > 0, 'verify steps ran');
    } catch (e) {
      t.fail(`card ${i + 1}: ${(e as Error).message}${e instanceof StepError ? ` (${e.list}[${e.index}] ${e.op} ${e.note ?? ''})` : ''}`);
      continue;
    } finally {
      await transport.close();
    }
    const [ssn, name, , sex, , , birth] = records[i]!;
    // Read back with plain APDUs.
    card.powerOn('contact');
    t.equal(rsp(card, '00A4040C0F7378312E73682EC9E7BBE1B1A3D5CF').sw, '9000', 'select SSSE');
    const ef05 = (tag: number) => rsp(card, `00B2${toHex(Uint8Array.of(tag))}2C00`);
    const cardNo = decodeAn(ef05(0x07).data.subarray(2));
    t.match(cardNo, /^A\d{7}[0-9A-Z]$/);
    t.equal(cardNo.slice(8), cardNumberCheck(cardNo.slice(0, 8)), 'card number check character');
    t.notOk(seenNumbers.has(cardNo), 'no repeated card number');
    seenNumbers.add(cardNo);
    t.equal(toHex(ef05(0x05).data.subarray(2)), TODAY, 'issue date (cn)');
    t.equal(toHex(ef05(0x06).data.subarray(2)), addYears(TODAY, 10), 'expiry date');
    t.equal(ef05(0x01).data.length, 18, 'card identification code (completed at run time)');
    t.equal(rsp(card, '00B2093400').sw, '6982', 'EF06 needs the PIN');
    const verifyPin = script.verify.find((s): s is SealedApduStep => s.op === 'sealed-apdu' && s.header === '00200080')!;
    const pin = await store.unseal({ label: 'batch-transport' }, Buffer.from(verifyPin.data.sealed, 'base64'), new TextEncoder().encode(script.recordId));
    t.equal(rsp(card, toHex(concat(fromHex('00200080'), Uint8Array.of(pin.length), pin))).sw, '9000', 'PIN verifies');
    const nameRec = rsp(card, '00B2093400');
    t.equal(nameRec.sw, '9000');
    t.equal(nameRec.data.length, 32);
    t.same(toHex(nameRec.data.subarray(2)), toHex(encodeGbk(name!, 30)), 'GBK name, 30 bytes');
    t.equal(decodeGbk(nameRec.data.subarray(2)), name);
    t.equal(decodeAn(rsp(card, '00B2083400').data.subarray(2)), ssn, 'social security number');
    t.equal(toHex(rsp(card, '00B20D3400').data.subarray(2)), birth!.replaceAll('-', ''), 'birth date');
    t.equal(decodeAn(rsp(card, '00B20A3400').data.subarray(2)), sex);
    // The photo (EF08, written from blobs.pack) is the record's photo file, byte for byte.
    const photo = readFileSync(join(dir, records[i]![7]!.trim()));
    t.equal(rsp(card, '00A4020C02EF08').sw, '9000', 'select EF08');
    const ef08 = rsp(card, toHex(encodeCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 0, data: new Uint8Array(0), le: photo.length })));
    t.equal(ef08.sw, '9000');
    t.ok(equal(ef08.data, photo), `EF08 holds the ${photo.length}-byte photo of the record`);
    // Certificate from EF 0018 of the PKI ADF verifies with the CA.
    t.equal(rsp(card, '00A4040C0C53532E434552542E41444631').sw, '9000', 'select PKI ADF');
    t.equal(rsp(card, '00A4020C020018').sw, '9000');
    const head = rsp(card, '00B0000004').data;
    const len = head[1] === 0x82 ? ((head[2]! << 8) | head[3]!) + 4 : head[1] === 0x81 ? head[2]! + 3 : head[1]! + 2;
    const der = concat(...Array.from({ length: Math.ceil(len / 256) }, (_, k) => rsp(card, toHex(concat(Uint8Array.of(0x00, 0xb0, (k * 256) >> 8, (k * 256) & 0xff), Uint8Array.of(Math.min(256, len - k * 256) & 0xff)))).data));
    t.ok(verifyCertificate(der, caPub), 'certificate verifies with the CA');
    const cert = parseCertificate(der);
    t.match(JSON.stringify(cert), name!, 'certificate subject names the holder');
    t.equal(rsp(card, '80EA0000').sw, '6985', 'personalized');
    card.powerOff();
  }
});

t.test('gp-cps: prep 5 records, personalize 5 GP cards, read back, new ISD keys only', async (t) => {
  const { store, dir } = await makeStore();
  t.teardown(() => store.close());
  const profile = loadProfile('builtin:gp-cps');
  const out = join(dir, 'out-gp');
  const input = join(EXAMPLES, 'gp-cps-batch.jsonl');
  const res = await prepBatch({ profile, profileFile: 'builtin:gp-cps', input, store, out, seed: 7, createdAt: CREATED, today: TODAY });
  t.ok(res.ok);
  const scripts = readScripts(out);
  t.equal(scripts.length, 5);
  const records = readFileSync(input, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { pan: string; name: string });
  for (const [i, script] of scripts.entries()) {
    const card = createGpCard({ scp: '03', seed: 200 + i });
    const transport = new SimulatorTransport(card);
    try {
      const r = await executeScript(transport, script, { provider: store, transportKey: { label: 'batch-transport' } });
      t.equal(Object.keys(r.kcvs).length, 3, 'PUT KEY: the card confirmed three KCVs');
    } catch (e) {
      t.fail(`card ${i + 1}: ${(e as Error).message}${e instanceof StepError ? ` (${e.list}[${e.index}] ${e.op} ${e.note ?? ''})` : ''}`);
      continue;
    }
    const session = new GpSession(new SimulatorTransport(card));
    const rec = await session.transmitPlain({ cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00, data: fromHex('F063736D4350530101'), le: 256 });
    t.equal(rec.sw, 0x9000, 'applet selectable');
    const r1 = await session.transmitPlain({ cla: 0x00, ins: 0xb2, p1: 0x01, p2: 0x0c, data: new Uint8Array(0), le: 256 });
    t.ok(toHex(r1.data).includes(records[i]!.pan), 'record 1 holds the PAN');
    t.ok(toHex(r1.data).includes(toHex(new TextEncoder().encode(records[i]!.name))), 'record 1 holds the name');
    // The ISD refuses the transport keys and accepts the issuer keys diversified with the KDD.
    const old = new GpSession(new SimulatorTransport(card));
    await old.selectSd(fromHex('A000000151000000'));
    await t.rejects(old.authenticate({ keys: DEFAULT_TEST_KEY, keyVersion: 0xff, securityLevel: 1 }), 'old keys refused');
    const fresh = new GpSession(new SimulatorTransport(card));
    await fresh.selectSd(fromHex('A000000151000000'));
    const probe = await fresh.authenticate({ keys: DEFAULT_TEST_KEY, keyVersion: 0x01, securityLevel: 1 }).catch((e: Error) => e);
    t.ok(probe instanceof Error, 'version 01 is not the test key');
    const kdd = (await (async () => {
      const s = new GpSession(new SimulatorTransport(card));
      await s.selectSd(fromHex('A000000151000000'));
      const { initializeUpdate } = await import('../../channels/open.js');
      const iu = await initializeUpdate(new SimulatorTransport(card), { keyVersion: 1 });
      return iu.response.kdd;
    })());
    const keys = await store.deriveCardKeys({ label: 'gp-kmc' }, (['enc', 'mac', 'dek'] as const).map((keyType) => ({ method: 'kdf3' as const, data: kdd, keyType })));
    const good = new GpSession(new SimulatorTransport(card));
    await good.selectSd(fromHex('A000000151000000'));
    const ch = await good.authenticate({ keys: { enc: keys[0]!.value, mac: keys[1]!.value, dek: keys[2]!.value }, keyVersion: 0x01, securityLevel: 1 });
    t.ok(ch.active, 'new issuer keys accepted');
  }
});
