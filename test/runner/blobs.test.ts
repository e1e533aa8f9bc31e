// The batch's blob pack (personalization/blobs.ts): the writer keeps one copy of bytes added again
// (within its bounded memory of recent hashes), the reader checks every blob against the SHA-256
// the script names, a card script whose photo goes to the card and is read back through blob parts
// sends the very APDUs of the same script with the photo in hex, a face whose photo is in the pack
// draws the pixels of the same photo from its file, and the sealed check of the batch folder
// refuses a pack of the wrong size, a missing one, and one the manifest does not list.
import t from 'tap';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync, appendFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { toHex } from '../../bytes/index.js';
import { BatchFaces, type ScriptFace } from '../../faces/index.js';
import { encodeCommand } from '../../iso7816/index.js';
import { BLOBS_FILE, BlobPack, BlobPackWriter, scriptBlobs, type BlobRef } from '../../personalization/blobs.js';
import { executeScript, StepError } from '../../personalization/runner/executor.js';
import { Journal } from '../../personalization/journal/index.js';
import { loadBatch, runBatch, withPhotos } from '../../personalization/runner/run.js';
import { cardScriptProblem } from '../../personalization/schemas.js';
import type { BatchManifest, CardScript, Step } from '../../personalization/script.js';
import { BatchInputError } from '../../personalization/sealed.js';
import { createSsCard } from '../../simulator/index.js';
import { openStations, readSimOutput, simulatedStations } from '../../stations/index.js';
import { SimulatorTransport } from '../../transport/simulator.js';
import type { Transport } from '../../transport/transport.js';
import { SIM, ssCardStock } from '../helpers/sim-host.js';
import { cli } from '../helpers/cli.js';
import { createEfHex, makeKeyStore, PASSPHRASE, ssScript, writeBatch } from './helpers.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/photos/', import.meta.url));
const PHOTO = new Uint8Array(readFileSync(join(EXAMPLES, '0001.jpg')));
const root = mkdtempSync(join(tmpdir(), 'cardsmith-blobs-'));
let n = 0;
const fresh = (): string => {
  const dir = join(root, `d${++n}`);
  mkdirSync(dir);
  return dir;
};
const u32 = (i: number) => Uint8Array.of(i >>> 24, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const manifestOf = (size: number, count = 1) => ({ files: { blobs: { file: BLOBS_FILE, size, count } } }) as unknown as BatchManifest;

/** A pack in a new folder holding `blobs`, each once. */
function packWith(...blobs: Uint8Array[]): { dir: string; refs: BlobRef[]; size: number; count: number } {
  const dir = fresh();
  const w = BlobPackWriter.create(join(dir, BLOBS_FILE));
  const refs = blobs.map((b) => w.add(b));
  return { dir, refs, ...w.close() };
}

function flipByte(path: string, at: number): void {
  const bytes = readFileSync(path);
  bytes[at] = bytes[at]! ^ 0x01;
  writeFileSync(path, bytes);
}

t.test('writer: a blob added again is not written again, and gets the same ref', async (t) => {
  const dir = fresh();
  const path = join(dir, BLOBS_FILE);
  const w = BlobPackWriter.create(path);
  t.equal(statSync(path).mode & 0o777, 0o600, 'readable by its owner only');
  t.throws(() => BlobPackWriter.create(path), { code: 'EEXIST' }, 'never over an existing pack');
  const a = w.add(PHOTO);
  t.same(a, { blob: sha(PHOTO), at: 0, size: PHOTO.length }, 'key order blob, at, size');
  t.same(Object.keys(a), ['blob', 'at', 'size']);
  const b = w.add(Uint8Array.of(1, 2, 3));
  t.same(w.add(new Uint8Array(PHOTO)), a, 'the same bytes again: the earlier ref');
  t.same(b, { blob: sha(Uint8Array.of(1, 2, 3)), at: PHOTO.length, size: 3 });
  t.same(w.add(Uint8Array.of(4, 5), sha(Uint8Array.of(4, 5))), { blob: sha(Uint8Array.of(4, 5)), at: PHOTO.length + 3, size: 2 }, 'a hash the caller computed');
  t.throws(() => w.add(Uint8Array.of(6), 'ABC'), RangeError, 'a hash that is not 64 lowercase hex digits');
  t.equal(w.count, 3);
  t.same(w.close(), { size: PHOTO.length + 5, count: 3 });
  t.same(new Uint8Array(readFileSync(path)), new Uint8Array([...PHOTO, 1, 2, 3, 4, 5]), 'the file: each blob once, in order');
  t.throws(() => w.add(PHOTO), /after close/);
});

t.test('writer: its memory of hashes is bounded (4096): a blob older than that is written again', async (t) => {
  const w = BlobPackWriter.create(join(fresh(), BLOBS_FILE));
  const a = w.add(PHOTO);
  const b = w.add(u32(0xffffffff));
  for (let i = 0; i < 4094; i++) w.add(u32(i));
  t.same(w.add(u32(0xffffffff)), b, 'still remembered at the bound');
  // 4096 hashes held (a, b, 4094 others); b was used again: a is now the oldest.
  w.add(u32(5000));
  const again = w.add(PHOTO);
  t.not(again.at, a.at, 'the oldest one was forgotten: written again');
  t.equal(again.blob, a.blob);
  t.same(w.add(u32(0xffffffff)), b, 'one used recently stays');
  t.same(w.close(), { size: PHOTO.length * 2 + 4 * 4096, count: 4098 }, 'a, b, 4095 others, a again');
});

t.test('reader: positional reads, slices, each blob checked against its SHA-256', async (t) => {
  const other = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
  const { dir, refs, size } = packWith(other, PHOTO);
  t.equal(BlobPack.open(dir, { files: {} } as unknown as BatchManifest), undefined, 'no pack listed: none');
  const pack = BlobPack.open(dir, manifestOf(size, 2))!;
  t.teardown(() => pack.close());
  const photo = refs[1]!;
  t.same(pack.read(photo), PHOTO, 'the whole blob');
  t.same(pack.read({ ...photo, from: 1024, length: 1024 }), PHOTO.subarray(1024, 2048), 'a chunk');
  t.same(pack.read({ ...photo, from: 3000 }), PHOTO.subarray(3000), 'from an offset to the end');
  t.same(pack.read(refs[0]!), other);
  const copy = pack.read(photo);
  copy.fill(0);
  t.same(pack.read(photo), PHOTO, 'each read is a copy: wiping it leaves the pack alone');
  t.throws(() => pack.read({ ...photo, from: 3000, length: 1000 }), { name: 'BatchInputError', message: /blobs\.pack: .*bytes 3000\+1000 of the 3388-byte blob .*not inside it/ });
  t.throws(() => pack.read({ ...photo, at: size - 10 }), { name: 'BatchInputError', message: /ends past the pack's/ });
  t.throws(() => pack.read({ ...photo, blob: 'nothex' }), BatchInputError);
  pack.close();
  t.same(pack.read({ ...photo, length: 4 }), PHOTO.subarray(0, 4), 'a read after close opens the file again');
});

t.test('reader: one byte changed in the pack, or a pack cut short, fails the read naming blobs.pack and the offset', async (t) => {
  const { dir, refs, size } = packWith(Uint8Array.of(9, 9, 9), PHOTO);
  flipByte(join(dir, BLOBS_FILE), 3 + 1500);
  const pack = BlobPack.open(dir, manifestOf(size, 2))!;
  t.teardown(() => pack.close());
  t.same(pack.read(refs[0]!), Uint8Array.of(9, 9, 9), 'the other blob still reads');
  t.throws(() => pack.read({ ...refs[1]!, from: 0, length: 10 }), { name: 'BatchInputError', message: new RegExp(`${BLOBS_FILE}: the 3388 bytes at offset 3 have SHA-256 [0-9a-f]{16}…, the script names ${refs[1]!.blob.slice(0, 16)}…`) });
  const cut = packWith(PHOTO);
  truncateSync(join(cut.dir, BLOBS_FILE), 2000);
  const short = BlobPack.open(cut.dir, manifestOf(cut.size))!;
  t.teardown(() => short.close());
  t.throws(() => short.read(cut.refs[0]!), { name: 'BatchInputError', message: /blobs\.pack: short read at offset 2000/ });
  const gone = packWith(PHOTO);
  const lost = BlobPack.open(gone.dir, manifestOf(gone.size))!;
  rmSync(join(gone.dir, BLOBS_FILE));
  t.throws(() => lost.read(gone.refs[0]!), { name: 'BatchInputError', message: /blobs\.pack: ENOENT: it holds the batch's photos/ }, 'opened at the first read: a file gone since names the pack');
});

const { store, path: keystore } = await makeKeyStore(fresh());
const passFile = join(root, 'pass');
writeFileSync(passFile, PASSPHRASE);
t.teardown(() => store.close());

/** Every command a transport sends, in hex. */
function recording(inner: Transport): Transport & { sent: string[] } {
  const sent: string[] = [];
  return { name: inner.name, sent, atr: () => inner.atr(), transmit: (c) => (sent.push(toHex(c)), inner.transmit(c)), reset: (c) => inner.reset(c), close: () => inner.close() };
}

const CHUNK = 1024;
const hex2 = (b: number) => b.toString(16).padStart(2, '0').toUpperCase();

/**
 * A social-security-like script (helpers.ssScript) that also writes the photo to EF08 in 1024-byte
 * UPDATE BINARY chunks (extended Lc) and reads it back whole (extended Le) and in part: with blob
 * parts and expectBlob when `ref` is given, else with the photo in hex as prep writes it today.
 */
async function photoScript(recordId: string, ref?: BlobRef): Promise<CardScript> {
  const s = await ssScript(store, recordId, 1);
  const writes: Step[] = [{ op: 'apdu', apdu: createEfHex(0xef08, PHOTO.length, '000000'), note: 'create EF08' }, { op: 'apdu', apdu: '00A4020C02EF08', note: 'select EF08' }];
  for (let off = 0; off < PHOTO.length; off += CHUNK) {
    const length = Math.min(CHUNK, PHOTO.length - off);
    const note = `EF08/photo @${off}`;
    writes.push(
      ref
        ? { op: 'run-apdu', header: `00D6${hex2(off >> 8)}${hex2(off & 0xff)}`, data: [{ blob: ref.blob, at: ref.at, size: ref.size, from: off, length }], note }
        : { op: 'apdu', apdu: toHex(encodeCommand({ cla: 0, ins: 0xd6, p1: off >> 8, p2: off & 0xff, data: PHOTO.subarray(off, off + length) })), note },
    );
  }
  const readAll = toHex(encodeCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 0, data: new Uint8Array(0), le: PHOTO.length }));
  const reads: Step[] = [
    { op: 'check', apdu: '00A4020C02EF08', what: 'EF08' },
    ref ? { op: 'check', apdu: readAll, expectBlob: ref, what: 'EF08 photo' } : { op: 'check', apdu: readAll, expect: toHex(PHOTO), what: 'EF08 photo' },
    ref ? { op: 'check', apdu: '00B0040064', expectBlob: { ...ref, from: 1024, length: 100 }, what: 'EF08 photo part' } : { op: 'check', apdu: '00B0040064', expect: toHex(PHOTO.subarray(1024, 1124)), what: 'EF08 photo part' },
  ];
  s.steps.splice(s.steps.length - 1, 0, ...writes);
  s.verify.splice(s.verify.length - 1, 0, ...reads);
  return s;
}

const OPTS = { provider: store, transportKey: { label: 'batch-transport' } };

t.test('executor: a photo written and checked through blob parts sends byte for byte the APDUs of the same script in hex', async (t) => {
  const { dir, refs } = packWith(Uint8Array.of(7, 7), PHOTO);
  const pack = BlobPack.open(dir, manifestOf(PHOTO.length + 2, 2))!;
  t.teardown(() => pack.close());
  const ref = refs[1]!;
  const withBlobs = await photoScript('p1', ref);
  const inline = await photoScript('p1');
  t.equal(cardScriptProblem(JSON.parse(JSON.stringify(withBlobs))), undefined, 'the blob script matches the published schema');
  const saved = JSON.stringify(inline).length - JSON.stringify(withBlobs).length;
  t.ok(saved > 2 * 2 * PHOTO.length * 0.95, `the script line is ${saved} characters shorter: the photo is no longer in it, twice in hex`);
  const run = async (script: CardScript, blobs?: BlobPack) => {
    const tr = recording(new SimulatorTransport(createSsCard({ seed: 5 })));
    const r = await executeScript(tr, script, { ...OPTS, ...(blobs ? { blobs } : {}) });
    await tr.close();
    return { r, sent: tr.sent };
  };
  const a = await run(withBlobs, pack);
  const b = await run(inline);
  t.equal(a.r.checks, b.r.checks);
  t.ok(a.sent.some((c) => c.startsWith('00D6040000')), 'an extended UPDATE BINARY chunk went out');
  t.same(a.sent, b.sent, `the same ${b.sent.length} APDUs, byte for byte`);

  // The card holds something else: the expectBlob check fails as a card's check does.
  const other = await photoScript('p1', ref);
  other.steps = other.steps.map((s) => (s.op === 'run-apdu' && s.note === 'EF08/photo @0' ? { ...s, data: [{ ...ref, from: 1, length: 1024 }] } : s));
  const e = (await run(other, pack).catch((x: unknown) => x)) as StepError;
  t.type(e, StepError);
  t.match(e.message, /check "EF08 photo" failed: the card's data differs from the expected 3388 bytes/);
  t.equal(e.cardFault, true);
});

t.test('executor: a blob part without a pack is a bad script; changed pack bytes a bad batch; neither is the card\'s fault', async (t) => {
  const { dir, refs, size } = packWith(PHOTO);
  const script = await photoScript('p2', refs[0]!);
  const e1 = (await executeScript(new SimulatorTransport(createSsCard({ seed: 6 })), script, OPTS).catch((x: unknown) => x)) as StepError;
  t.type(e1, StepError);
  t.match(e1.message, /steps\[\d+\] run-apdu "EF08\/photo @0": bad script: data names a blob of blobs\.pack \(3388 bytes at offset 0\), but the batch has no blobs\.pack/);
  t.equal(e1.cardFault, false);
  flipByte(join(dir, BLOBS_FILE), 100);
  const pack = BlobPack.open(dir, manifestOf(size))!;
  t.teardown(() => pack.close());
  const e2 = (await executeScript(new SimulatorTransport(createSsCard({ seed: 6 })), script, { ...OPTS, blobs: pack }).catch((x: unknown) => x)) as StepError;
  t.type(e2, StepError);
  t.match(e2.message, /bad batch: data: .*blobs\.pack: the 3388 bytes at offset 0 have SHA-256/);
  t.equal(e2.cardFault, false);
  t.type(e2.cause, BatchInputError);
  const verifyOnly = { ...script, steps: [], verify: script.verify.filter((s) => s.op === 'check' && s.what === 'EF08 photo') };
  const e3 = (await executeScript(new SimulatorTransport(createSsCard({ seed: 6 })), verifyOnly, { ...OPTS, blobs: pack }).catch((x: unknown) => x)) as StepError;
  t.match(e3.message, /verify\[0\] check "EF08 photo": bad batch: expectBlob: .*blobs\.pack/, 'expectBlob is checked against its hash too');
  const both = { ...script, steps: [], verify: [{ op: 'check' as const, apdu: '00A40000023F00', expect: '', expectBlob: refs[0]!, what: 'both' }] };
  t.match(cardScriptProblem(both), /verify\/0: must NOT be valid/, 'the schema takes expect or expectBlob, not both');
  t.match(((await executeScript(new SimulatorTransport(createSsCard({ seed: 6 })), both, OPTS).catch((x: unknown) => x)) as StepError).message, /bad script: a check has expect or expectBlob, not both/);
  t.match(cardScriptProblem({ ...script, steps: [{ op: 'run-apdu', header: '00D60000', data: [{ ...refs[0]!, blob: 'AB' }] }] }), /steps\/0\/data\/0/, 'a blob part without a SHA-256 is refused by the schema');
});

const photoFace = (value: string, blob?: BlobRef): NonNullable<CardScript['face']> => ({ width: 600, height: 400, fields: [{ kind: 'photo', x: 20, y: 30, size: 331, value, ...(blob ? { blob } : {}) }] });

t.test('faces: a photo in the pack draws the same pixels as the photo file', async (t) => {
  const { dir, refs, size } = packWith(Uint8Array.of(1), PHOTO);
  const pack = BlobPack.open(dir, manifestOf(size, 2))!;
  t.teardown(() => pack.close());
  const warnings: string[] = [];
  const bf = new BatchFaces({ fonts: [], photoDirs: [EXAMPLES], warn: (w) => warnings.push(w) });
  const fromFile = bf.render('r1', photoFace('0001.jpg') as ScriptFace).png;
  // With no photo folder at all: the bytes come from the pack only.
  const packOnly = new BatchFaces({ fonts: [], photoDirs: [], warn: (w) => warnings.push(w) });
  const resolved = withPhotos(photoFace('0001.jpg', refs[1]!), pack);
  t.ok(resolved.fields[0]!.value instanceof Uint8Array, 'the runner hands faces/ the bytes');
  t.notOk('blob' in resolved.fields[0]!, 'without the ref');
  t.same(packOnly.render('r1', resolved).png, fromFile, 'the same PNG, byte for byte');
  t.same(warnings, []);
  t.equal(withPhotos(photoFace('0001.jpg'), undefined).fields[0]!.value, '0001.jpg', 'a face without blobs is left as it is');
  const none: string[] = [];
  t.equal(withPhotos(photoFace('0001.jpg', refs[1]!), undefined, (x) => none.push(x)).fields[0]!.value, '', 'a photo blob in a batch without a pack: an empty photo box');
  t.same(none, ['fields[0] (photo 0001.jpg): the photo is in blobs.pack, but the batch has none']);

  flipByte(join(dir, BLOBS_FILE), 1 + 10);
  const broken = BlobPack.open(dir, manifestOf(size, 2))!;
  t.teardown(() => broken.close());
  t.throws(() => withPhotos(photoFace('0001.jpg', refs[1]!), broken), BatchInputError, 'without warn: throws');
  const w: string[] = [];
  const empty = withPhotos(photoFace('0001.jpg', refs[1]!), broken, (x) => w.push(x));
  t.equal(empty.fields[0]!.value, '', 'with warn: an empty photo box');
  t.match(w, [/fields\[0\] \(photo 0001\.jpg\): .*blobs\.pack: the 3388 bytes at offset 1 have SHA-256/]);
});

t.test('a batch with blobs.pack: run on a simulated printer (face drawn in a worker), sealed checks of the pack', async (t) => {
  const dir = fresh();
  const w = BlobPackWriter.create(join(dir, BLOBS_FILE));
  const ref = w.add(PHOTO);
  const listed = { file: BLOBS_FILE, ...w.close() } as const;
  const script = { ...(await photoScript('b1', ref)), face: photoFace('photos/0001.jpg', ref) };
  await writeBatch(dir, [script], store, { blobs: listed });
  const batch = loadBatch(dir);
  t.ok(batch.blobs instanceof BlobPack, 'loadBatch opens the pack');
  const opened = openStations(simulatedStations(1), SIM);
  t.teardown(() => opened.close());
  const warnings: string[] = [];
  const res = await runBatch(batch, { provider: store, stations: opened.stations, faceWorkers: 1, onEvent: (e) => void (e.type === 'message' && e.level === 'warn' && warnings.push(e.text)) });
  t.same(res.counts, { total: 1, pending: 0, inProgress: 0, issued: 1, rejected: 0, review: 0 }, res.message);
  const bf = new BatchFaces({ fonts: [], photoDirs: [EXAMPLES], warn: (x) => warnings.push(x) });
  t.same(new Uint8Array(readFileSync(join(dir, 'faces', 'b1.png'))), bf.render('b1', photoFace('0001.jpg') as ScriptFace).png, 'the kept face: the photo from the pack, drawn as from its file');
  t.same(warnings.filter((x) => !/font|glyph/i.test(x)), []);
  const v = await cli(['verify', dir, '--sim', '--keystore', keystore, '--pass-file', passFile]);
  t.equal(v.code, 0, 'verify --sim: the verify steps read the photo back against the pack', { out: v.out, err: v.err });
  t.match(v.out, /b1: passed its verify steps/);
  const show = await cli(['script', 'show', dir, '--card', '1']);
  t.match(show.out, /run-apdu 00 D6 04 00 <blob [0-9a-f]{8}… @0 3388 bytes \[1024:\+1024\]>/, 'script show names the blob slice');
  t.match(show.out, /check 00 B0 04 00 .* expect 100 bytes <blob [0-9a-f]{8}… @0 3388 bytes \[1024:\+100\]>/);

  // Sealed: the pack must be there with the size the manifest lists, and nowhere else.
  const copyOf = (edit: (d: string) => void, o: { listed?: boolean } = {}): Promise<string> => {
    const d = fresh();
    copyFileSync(join(dir, BLOBS_FILE), join(d, BLOBS_FILE));
    edit(d);
    return writeBatch(d, [script], store, o.listed === false ? {} : { blobs: listed }).then(() => d);
  };
  const refused = (d: string, message: RegExp) => t.throws(() => loadBatch(d), { name: 'BatchInputError', message });
  refused(await copyOf((d) => truncateSync(join(d, BLOBS_FILE), PHOTO.length - 1)), new RegExp(`${BLOBS_FILE}: 3387 bytes, prep wrote 3388: the file was cut short or replaced`));
  refused(await copyOf((d) => appendFileSync(join(d, BLOBS_FILE), Uint8Array.of(0))), /blobs\.pack: 3389 bytes, prep wrote 3388: the file was extended or replaced/);
  refused(await copyOf((d) => rmSync(join(d, BLOBS_FILE))), /blobs\.pack: missing \(prep wrote 3388 bytes there/);
  refused(await copyOf(() => {}, { listed: false }), /blobs\.pack: not written by the prep of this batch \(manifest\.json lists none\)/);
});

t.test('a record whose blob does not check is rejected before a card is taken; the others are issued', async (t) => {
  const dir = fresh();
  const second = new Uint8Array(readFileSync(join(EXAMPLES, '0002.jpg')));
  const w = BlobPackWriter.create(join(dir, BLOBS_FILE));
  const [r1, r2] = [w.add(PHOTO), w.add(second)];
  const listed = { file: BLOBS_FILE, ...w.close() } as const;
  const good = await photoScript('g1', r1);
  // Record 2 names the second photo in its verify step only: the check runs before any step.
  const bad = await photoScript('g2', r1);
  bad.line = 2;
  bad.verify.push({ op: 'check', apdu: '00A40000023F00', expectBlob: { ...r2!, from: 5, length: 0 }, what: 'MF' });
  t.same(scriptBlobs(bad).map((b) => b.blob), [...Array(4).fill(r1!.blob), r1!.blob, r1!.blob, r2!.blob], 'scriptBlobs: the run-apdu parts, then the checks');
  await writeBatch(dir, [good, bad], store, { blobs: listed });
  flipByte(join(dir, BLOBS_FILE), r2!.at + 7);
  const opened = openStations(simulatedStations(1), SIM);
  t.teardown(() => opened.close());
  const res = await runBatch(loadBatch(dir), { provider: store, stations: opened.stations, faceWorkers: 0 });
  t.same(res.counts, { total: 2, pending: 0, inProgress: 0, issued: 1, rejected: 1, review: 0 }, res.message);
  const journal = Journal.open(dir);
  t.teardown(() => journal.close());
  t.match(journal.get('g2'), { state: 'rejected', reason: new RegExp(`bad batch: .*blobs\\.pack: the ${second.length} bytes at offset ${r2!.at} have SHA-256`) });
  const out = readSimOutput(dir, ssCardStock)!;
  t.equal(out.hopper.length, 1, 'one card issued');
  t.equal(out.rejectBin.length, 0, 'no card spent on the record whose blob does not check');
});
