// Scripts use the fewest APDUs the card allows. A 5000-byte photo (and an
// 8192-byte one, the whole EF08) prepared with the built-in sscard-gen3 (card.maxCommandData
// 1024, maxResponseLength 65536: extended-length APDUs) and with the same profile held to the
// short defaults (255 / 256): the scripts' UPDATE BINARY and READ BINARY counts, their exact
// encoding (the short one byte for byte as prep wrote it before the limits existed), then every
// script run on a blank simulated card by the runner's executor, counting what reached the card,
// and the photo and certificate read back from the card with plain APDUs. The photo is not in the
// scripts: each write is a run-apdu naming a slice of the batch's blobs.pack, so its APDU is the
// step's header and that slice put together by the encoder the runner uses (commandApdu is
// iso7816's encodeCommand), and the same bytes are checked on what the runner sent. The card's own limits
// are checked too: one byte more than its I/O buffer, or a T=0 card, and it refuses with 6700.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { concat, equal, fromHex, toHex } from '../../bytes/index.js';
import { encodeCommand, parseCommand, parseResponse } from '../../iso7816/index.js';
import { parseCertificate, verifyCertificate } from '../../keys/ca.js';
import type { FileKeyStore } from '../../keys/file-store.js';
import { loadBlockSize } from '../../personalization/prep/gp.js';
import { prepBatch } from '../../personalization/prep/index.js';
import type { BlobPack, BlobSlice } from '../../personalization/blobs.js';
import { executeScript, StepError } from '../../personalization/runner/executor.js';
import { loadBatch } from '../../personalization/runner/run.js';
import { parseCardScript, type CardScript, type CheckStep, type KeygenCertStep, type RunApduStep, type SealedApduStep, type Step } from '../../personalization/script.js';
import { loadProfile } from '../../profiles/index.js';
import { SimulatorTransport } from '../../transport/simulator.js';
import { createSsCard, MAX_COMMAND_DATA } from '../../simulator/index.js';
import { bigJpeg, bigPhotoBatch, jpegSegments } from './fixtures/big-photo.js';
import { Recorder } from './fixtures/recorder.js';
import { makeStore } from './fixtures/store.js';

const CREATED = '2026-01-15T09:00:00.000Z';
const TODAY = '20260115';
const SIZES = [5000, 8192];
const PHOTOS = SIZES.map((n) => bigJpeg(n));

/** A batch of two records from the examples, their photos replaced by the big ones. */
const writeBatch = (dir: string): string => bigPhotoBatch(dir, SIZES);

/** The built-in profile with other limits (a child profile; `extends` is merged key by key). */
function variant(dir: string, name: string, card: Record<string, unknown>): string {
  const path = join(dir, `${name}.yaml`);
  const lines = Object.entries(card).map(([k, v]) => `  ${k}: ${Array.isArray(v) ? `[${v.join(', ')}]` : String(v)}`);
  writeFileSync(path, ['extends: builtin:sscard-gen3', `profile: ${name}`, 'card:', ...lines, ''].join('\n'));
  return path;
}

const packs: BlobPack[] = [];
t.teardown(() => packs.forEach((p) => p.close()));

/** The batch's scripts in cards.jsonl order, and its blobs.pack (as the runner loads it: loadBatch, with the folder's checks). */
async function prep(store: FileKeyStore, profileFile: string, input: string, out: string): Promise<CardScript[] & { pack: BlobPack }> {
  const res = await prepBatch({ profile: loadProfile(profileFile), profileFile, input, store, out, seed: 3, createdAt: CREATED, today: TODAY });
  if (!res.ok) throw new Error(`prep ${profileFile} failed: ${res.rejects.map((r) => `${r.line}:${r.column} ${r.field} ${r.code} ${r.problem}`).join("; ")}`);
  const pack = loadBatch(out).blobs;
  if (!pack) throw new Error(`prep ${profileFile}: no blobs.pack in ${out}`);
  packs.push(pack);
  const scripts = readFileSync(join(out, 'cards.jsonl'), 'utf8').trimEnd().split('\n').map((l, i) => parseCardScript(l, `cards.jsonl:${i + 1}`));
  return Object.assign(scripts, { pack });
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** The one blobs.pack slice a photo write's data is (anything else in it fails the test). */
const slice = (s: RunApduStep): BlobSlice => {
  if (s.data.length !== 1 || !('blob' in s.data[0]!)) throw new Error(`${s.note}: data is not one blob slice: ${JSON.stringify(s.data)}`);
  return s.data[0];
};
/** The APDU of a photo write: its header and its slice of the pack, by the runner's encoder. */
const writeApdu = (pack: BlobPack, s: RunApduStep): string => {
  const h = fromHex(s.header);
  return toHex(encodeCommand({ cla: h[0]!, ins: h[1]!, p1: h[2]!, p2: h[3]!, data: pack.read(slice(s)), le: s.le }));
};

const isPhotoStep = (x: Step): boolean => (x.op === 'check' ? x.what : 'note' in x ? (x.note ?? '') : '').startsWith('SSSE/EF08/photo');
const isPhotoWrite = (x: Step): x is RunApduStep => x.op === 'run-apdu' && isPhotoStep(x);
const isPhotoRead = (x: Step): x is CheckStep => x.op === 'check' && x.what.startsWith('SSSE/EF08/photo');
const photoWrites = (s: CardScript) => s.steps.filter(isPhotoWrite);
const photoReads = (s: CardScript) => s.verify.filter(isPhotoRead);
const keygens = (s: CardScript) => s.steps.filter((x): x is KeygenCertStep => x.op === 'keygen-cert');

type Card = ReturnType<typeof createSsCard>;
const send = (card: Card, c: Uint8Array) => parseResponse(card.process(c));

/** Reads EF `fid` of the DF selected by `aid` with ONE extended READ BINARY (after the PIN when given). */
function readBack(card: Card, aid: string, fid: string, length: number, pin?: Uint8Array): { data: Uint8Array; sw: number } {
  card.powerOn('contact');
  try {
    if (send(card, encodeCommand({ cla: 0, ins: 0xa4, p1: 0x04, p2: 0x0c, data: fromHex(aid) })).sw !== 0x9000) throw new Error(`select ${aid}`);
    if (pin && send(card, encodeCommand({ cla: 0, ins: 0x20, p1: 0x00, p2: 0x80, data: pin })).sw !== 0x9000) throw new Error('PIN refused');
    if (send(card, encodeCommand({ cla: 0, ins: 0xa4, p1: 0x02, p2: 0x0c, data: fromHex(fid) })).sw !== 0x9000) throw new Error(`select ${fid}`);
    return send(card, encodeCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 0, data: new Uint8Array(0), le: length }));
  } finally {
    card.powerOff();
  }
}

const SSSE = '7378312E73682EC9E7BBE1B1A3D5CF';
const PKI_ADF = '53532E434552542E41444631';

t.test('the test photos are well-formed JPEGs of the sizes asked for', async (t) => {
  for (const [i, p] of PHOTOS.entries()) {
    t.equal(p.length, SIZES[i]);
    const segs = jpegSegments(p);
    t.same(segs.slice(0, 2).map((s) => s.marker), [0xfe, 0xe0], 'COM filler, then the JFIF APP0');
    t.equal(segs.at(-1)!.marker, 0xda, 'through to the scan (SOS), ending in EOI');
  }
});

t.test('prep: ceil(size/maxCommandData) writes and ceil(size/maxResponseLength) reads; short output as before', async (t) => {
  const { store, dir } = await makeStore();
  t.teardown(() => store.close());
  const input = writeBatch(dir);
  const ext = await prep(store, 'builtin:sscard-gen3', input, join(dir, 'out-ext'));
  const short = await prep(store, variant(dir, 'short', { maxCommandData: 255, maxResponseLength: 256 }), input, join(dir, 'out-short'));
  const mid = await prep(store, variant(dir, 'mid', { maxCommandData: 600, maxResponseLength: 700 }), input, join(dir, 'out-mid'));
  const counts: Record<string, number[]> = {};
  for (const [set, scripts] of Object.entries({ ext, short, mid })) {
    t.equal(scripts.pack.size, SIZES[0]! + SIZES[1]!, `${set}: blobs.pack holds each photo once`);
    for (const [i, s] of scripts.entries()) {
      t.ok([...s.steps, ...s.verify].filter(isPhotoStep).every((x) => x.op === 'run-apdu' || (x.op === 'check' && x.expect === undefined)), `${set} card ${i + 1}: no photo step carries bytes in hex`);
      t.notOk(JSON.stringify(s).includes(toHex(PHOTOS[i]!).slice(0, 512)), `${set} card ${i + 1}: the photo is not in the script`);
    }
  }
  for (const [i, photo] of PHOTOS.entries()) {
    const n = photo.length;
    // Extended: 1024-byte writes, one read of the whole photo.
    const w = photoWrites(ext[i]!);
    const r = photoReads(ext[i]!);
    t.equal(w.length, Math.ceil(n / 1024), `${n} bytes, extended: ${Math.ceil(n / 1024)} UPDATE BINARY`);
    t.equal(r.length, Math.ceil(n / 65536), `${n} bytes, extended: ${Math.ceil(n / 65536)} READ BINARY`);
    t.same([...new Set(w.map((s) => slice(s).blob))], [sha256(photo)], 'every write names the one blob of this photo');
    t.same(w.map((s) => [slice(s).from, slice(s).length]), w.map((_, k) => [k * 1024, Math.min(1024, n - k * 1024)]), 'in 1024-byte slices, in order');
    const built = w.map((s) => writeApdu(ext.pack, s));
    const parsed = built.map((a) => parseCommand(fromHex(a)));
    parsed.forEach((p, k) => {
      t.equal((p.p1 << 8) | p.p2, k * 1024, `write ${k}: offset ${k * 1024} in P1-P2 (15 bits)`);
      t.equal(p.data.length, Math.min(1024, n - k * 1024));
      t.equal(p.extended, true, `write ${k}: extended (Lc 00 hh ll)`);
      t.equal(built[k]!.slice(8, 14), toHex(Uint8Array.of(0, p.data.length >> 8, p.data.length & 0xff)), 'Lc field as ISO 7816-4 says');
    });
    t.ok(equal(concat(...parsed.map((p) => p.data)), photo), 'the writes carry the photo, in order (their slices of blobs.pack)');
    const read = parseCommand(fromHex(r[0]!.apdu));
    t.same([read.le, read.extended, read.data.length], [n, true, 0], 'the read asks for Ne = the photo size in an extended Le (00 hh ll)');
    t.equal(r[0]!.expect, undefined);
    t.ok(equal(ext.pack.read(r[0]!.expectBlob!), photo), 'and expects the photo (expectBlob, read from blobs.pack)');

    // Short (the defaults): 255-byte writes and 256-byte reads, byte for byte what prep wrote
    // before card.maxCommandData existed (header ‖ one Lc byte ‖ data; header ‖ one Le byte).
    const ws = photoWrites(short[i]!);
    const rs = photoReads(short[i]!);
    t.equal(ws.length, Math.ceil(n / 255), `${n} bytes, short: ${Math.ceil(n / 255)} UPDATE BINARY`);
    t.equal(rs.length, Math.ceil(n / 256), `${n} bytes, short: ${Math.ceil(n / 256)} READ BINARY`);
    const oldWrites = Array.from({ length: Math.ceil(n / 255) }, (_, k) => {
      const part = photo.subarray(k * 255, k * 255 + 255);
      return toHex(concat(Uint8Array.of(0x00, 0xd6, (k * 255) >> 8, (k * 255) & 0xff, part.length), part));
    });
    const oldReads = Array.from({ length: Math.ceil(n / 256) }, (_, k) => toHex(Uint8Array.of(0x00, 0xb0, (k * 256) >> 8, (k * 256) & 0xff, Math.min(256, n - k * 256) & 0xff)));
    t.same(ws.map((s) => writeApdu(short.pack, s)), oldWrites, 'short writes: the pre-limit encoding (header and blob slice, encoded as the runner does)');
    t.same(rs.map((s) => s.apdu), oldReads, 'short reads: the pre-limit encoding');
    t.same(rs.map((s) => toHex(short.pack.read(s.expectBlob!))), oldReads.map((_, k) => toHex(photo.subarray(k * 256, k * 256 + 256))), 'short reads expect the photo, 256 bytes each');

    // A card in between: 600-byte writes (extended), 700-byte reads.
    t.equal(photoWrites(mid[i]!).length, Math.ceil(n / 600));
    t.equal(photoReads(mid[i]!).length, Math.ceil(n / 700));
    counts[n] = [w.length, ws.length, r.length, rs.length];
  }
  t.comment(`photo APDUs (writes ext/short, reads ext/short): ${JSON.stringify(counts)}`);
  // Everything but the photo chunks and the keygen-cert limits is the same in both scripts.
  // Everything but the photo chunks and the keygen-cert limits is the same in both scripts
  // (sealed blobs and record ids aside: the profile name differs).
  const rest = (s: CardScript) =>
    JSON.stringify(
      {
        steps: s.steps.filter((x) => !isPhotoWrite(x)).map((x) => (x.op === 'keygen-cert' ? { ...x, chunk: undefined, readChunk: undefined } : x)),
        verify: s.verify.filter((x) => !isPhotoRead(x)),
      },
      (k, v: unknown) => (k === 'sealed' ? '' : v),
    );
  for (const i of SIZES.keys()) t.equal(rest(ext[i]!), rest(short[i]!), `card ${i + 1}: the rest of the script does not depend on the limits`);
  // keygen-cert: the certificate in chunks of the card's limits; the short profile keeps the
  // step as before (chunk 255, no readChunk: read back in 255-byte pieces).
  t.same(keygens(ext[0]!).map((k) => [k.chunk, k.readChunk]), [[1024, 65536], [1024, 65536]]);
  t.same(keygens(short[0]!).map((k) => [k.chunk, 'readChunk' in k]), [[255, false], [255, false]]);
  t.same(keygens(ext[0]!).map((k) => k.generate), ['8040000008C0020012C202001300', '8040000008C0020014C202001500'], 'generate: built by the encoder, the same bytes as before (Le 00)');
});

t.test('run: the executor sends that many APDUs, the card holds the photo and the certificate', async (t) => {
  const { store, dir } = await makeStore();
  t.teardown(() => store.close());
  const input = writeBatch(dir);
  const sets = {
    extended: await prep(store, 'builtin:sscard-gen3', input, join(dir, 'run-ext')),
    short: await prep(store, variant(dir, 'short', { maxCommandData: 255, maxResponseLength: 256 }), input, join(dir, 'run-short')),
  };
  const caPub = await store.publicKey({ label: 'ss3-card-ca' });
  const totals: Record<string, number[]> = { extended: [], short: [] };
  for (const [mode, scripts] of Object.entries(sets)) {
    const w = mode === 'extended' ? 1024 : 255;
    const rd = mode === 'extended' ? 65536 : 256;
    for (const [i, script] of scripts.entries()) {
      const n = PHOTOS[i]!.length;
      const card = createSsCard({ seed: 40 + i });
      const rec = new Recorder(new SimulatorTransport(card));
      let apdus = 0;
      try {
        const last = script.steps.length - 1;
        const onStep = (e: { list: string; index: number }): void => void (e.list === 'steps' && e.index === last && (rec.list = 'verify'));
        apdus = (await executeScript(rec, script, { provider: store, transportKey: { label: 'batch-transport' }, onStep, blobs: scripts.pack })).apdus;
      } catch (e) {
        t.fail(`${mode} card ${i + 1}: ${(e as Error).message}${e instanceof StepError ? ` (${e.list}[${e.index}])` : ''}`);
        continue;
      } finally {
        await rec.close();
      }
      t.equal(card.internalErrors, 0);
      totals[mode]!.push(apdus);
      const upd = rec.on('EF08', 0xd6);
      const rds = rec.on('EF08', 0xb0, 'verify');
      t.equal(upd.length, Math.ceil(n / w), `${mode}, ${n}-byte photo: ${Math.ceil(n / w)} UPDATE BINARY reached the card`);
      t.equal(rds.length, Math.ceil(n / rd), `${mode}: ${Math.ceil(n / rd)} READ BINARY of the photo in verify`);
      t.ok(upd.every((c) => c.extended === c.data.length > 255), 'extended exactly when a chunk needs it');
      t.same(rec.rawOn('EF08', 0xd6), photoWrites(script).map((s) => writeApdu(scripts.pack, s)), 'the writes sent are the step headers with their blobs.pack slices, byte for byte');
      t.ok(equal(concat(...upd.map((c) => c.data)), PHOTOS[i]!), 'and carry the photo, in order');
      t.same(rec.rawOn('EF08', 0xb0, 'verify'), photoReads(script).map((s) => s.apdu), 'the reads sent are the check APDUs');
      t.ok(rec.sent.every((s) => !s.cmd.extended || mode === 'extended'), mode === 'short' ? 'no extended APDU at all' : 'extended APDUs only in this mode');

      // Read the card back with plain APDUs: the photo (after the PIN), the signing certificate.
      const verifyPin = script.verify.find((s): s is SealedApduStep => s.op === 'sealed-apdu' && s.header === '00200080')!;
      const pin = await store.unseal({ label: 'batch-transport' }, Buffer.from(verifyPin.data.sealed, 'base64'), new TextEncoder().encode(script.recordId));
      const photo = readBack(card, SSSE, 'EF08', n, pin);
      pin.fill(0);
      t.equal(photo.sw, 0x9000);
      t.ok(equal(photo.data, PHOTOS[i]!), `${mode}: the card holds the ${n}-byte photo, byte for byte`);
      const head = readBack(card, PKI_ADF, '0018', 4).data;
      const len = head[1] === 0x82 ? ((head[2]! << 8) | head[3]!) + 4 : head[1] === 0x81 ? head[2]! + 3 : head[1]! + 2;
      const der = readBack(card, PKI_ADF, '0018', len).data;
      t.equal(der.length, len);
      t.ok(verifyCertificate(der, caPub), `${mode}: the ${len}-byte certificate verifies with the CA`);
      t.ok(JSON.stringify(parseCertificate(der)).length > 0);
      // keygen-cert (steps): written in chunks of maxCommandData, read back in maxResponseLength
      // (the short step has no readChunk: 255-byte reads, as before).
      const certReads = Math.ceil(len / (mode === 'extended' ? rd : 255));
      t.equal(rec.on('0018', 0xd6, 'steps').length, Math.ceil(len / w), `${mode}: certificate in ${Math.ceil(len / w)} UPDATE BINARY`);
      t.equal(rec.on('0018', 0xb0, 'steps').length, certReads, `${mode}: read back in ${certReads} READ BINARY`);
      t.same(rec.on('0018', 0xb0, 'steps').map((c) => c.extended), Array.from({ length: certReads }, () => mode === 'extended'), 'extended Le exactly in the extended mode');
    }
  }
  t.comment(`APDUs per card (executor count), extended vs short: ${JSON.stringify(totals)}`);
  totals.extended!.forEach((n, i) => t.ok(n < totals.short![i]!, `card ${i + 1}: ${n} APDUs extended < ${totals.short![i]} short`));
});

t.test("the card's real limits: one byte over its I/O buffer, or T=0, and it refuses (6700)", async (t) => {
  const { store, dir } = await makeStore();
  t.teardown(() => store.close());
  const input = writeBatch(dir);
  const over = await prep(store, variant(dir, 'over', { maxCommandData: MAX_COMMAND_DATA + 1 }), input, join(dir, 'over'));
  const fail = async (script: CardScript, card: Card, blobs: BlobPack): Promise<StepError | undefined> => {
    const tr = new SimulatorTransport(card);
    try {
      await executeScript(tr, script, { provider: store, transportKey: { label: 'batch-transport' }, blobs });
      return undefined;
    } catch (e) {
      return e instanceof StepError ? e : undefined;
    } finally {
      await tr.close();
    }
  };
  const e1 = await fail(over[0]!, createSsCard({ seed: 50 }), over.pack);
  t.equal(e1?.sw, '6700', `maxCommandData ${MAX_COMMAND_DATA + 1}: the card answers 6700`);
  t.match(e1?.note ?? '', /^SSSE\/EF08\/photo @0$/, 'at the first photo chunk');
  const ext = await prep(store, 'builtin:sscard-gen3', input, join(dir, 't0'));
  const e2 = await fail(ext[0]!, createSsCard({ seed: 51, t0: true }), ext.pack);
  t.equal(e2?.sw, '6700', 'a T=0 card refuses the extended script (why the profile says protocols: [t1])');
  t.match(e2?.note ?? '', /^SSSE\/EF08\/photo @0$/);
  const short = await prep(store, variant(dir, 'short', { maxCommandData: 255, maxResponseLength: 256 }), input, join(dir, 't0-short'));
  t.equal(await fail(short[0]!, createSsCard({ seed: 52, t0: true }), short.pack), undefined, 'the short script personalizes the T=0 card');
  // A keygen-cert chunk outside what an APDU can carry is the script's fault, not the card's.
  const bad = structuredClone(ext[0]!);
  const k = bad.steps.findIndex((s) => s.op === 'keygen-cert');
  (bad.steps[k] as KeygenCertStep).readChunk = 65537;
  const e3 = await fail(bad, createSsCard({ seed: 53 }), ext.pack);
  t.equal(e3?.index, k, 'fails at the keygen-cert step');
  t.equal(e3?.cardFault, false, 'not the card');
  t.match(e3?.message ?? '', /bad script: readChunk 65537 is not 1\.\.65536/);
});

t.test('GP LOAD blocks: the most plain bytes that fit after the channel pads and MACs them, short APDUs only', async (t) => {
  // Level 03 wraps n plain bytes into ⌈(n+1)/b⌉·b + 8 (ISO 9797-1 method 2 padding, 8-byte C-MAC).
  const wrapped = (n: number, b: number) => Math.ceil((n + 1) / b) * b + 8;
  for (const scp of ['scp02', 'scp03'] as const) {
    const b = scp === 'scp02' ? 8 : 16;
    t.equal(loadBlockSize(255, scp), 239, `${scp}: 239 with short APDUs (as before)`);
    t.equal(loadBlockSize(1024, scp), 239, `${scp}: still 239 for a card taking 1024: the channel sends short APDUs`);
    for (const limit of [64, 100, 200, 254, 255, 4096]) {
      const n = loadBlockSize(limit, scp);
      const cap = Math.min(limit, 255);
      t.ok(wrapped(n, b) <= cap && wrapped(n + 1, b) > cap, `${scp}, limit ${limit}: ${n} bytes → ${wrapped(n, b)} ≤ ${cap}, one more would not fit`);
    }
  }
});
