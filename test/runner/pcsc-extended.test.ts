// Through the real PC/SC stack: a script prepared with the built-in
// sscard-gen3 (card.maxCommandData 1024, maxResponseLength 65536) and a 5000-byte photo runs with
// the runner's executor over PcscTransport → pcscd → vpcd → `cardsmith sim serve` (the built
// binary, a child process). The extended-length APDUs reach the card as sent (sim serve logs each
// one with its 3-byte Lc), the verify step reads the whole photo in one READ BINARY (a 5002-byte
// response through pcscd), and the photo is read back again with a plain extended APDU.
// Skipped, naming the reason, when the PC/SC stack is not running or dist/ is not built.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { concat, equal, fromHex } from '../../bytes/index.js';
import { encodeCommand, parseResponse } from '../../iso7816/index.js';
import { prepBatch } from '../../personalization/prep/index.js';
import { executeScript } from '../../personalization/runner/executor.js';
import { loadBatch } from '../../personalization/runner/run.js';
import { parseCardScript, type SealedApduStep } from '../../personalization/script.js';
import { loadProfile } from '../../profiles/index.js';
import { PcscTransport } from '../../transport/index.js';
import { binSkipReason, lockStack, READER0, readerState, serve, stackSkipReason } from '../helpers/pcsc.js';
import { bigJpeg, bigPhotoBatch } from '../prep/fixtures/big-photo.js';
import { Recorder } from '../prep/fixtures/recorder.js';
import { makeStore } from '../prep/fixtures/store.js';

const skip = (await stackSkipReason()) || binSkipReason();
if (!skip) await lockStack(t);

const SIZE = 5000;

/** Serves a blank card once the reader is empty, and waits until pcscd shows it. */
async function served(t: Test, args: string[]) {
  await readerState(READER0, 'empty', 15_000);
  const s = serve(t, args);
  await s.waitFor(/connected to vpcd/, 15_000);
  await readerState(READER0, 'present', 15_000);
  t.teardown(() => readerState(READER0, 'empty', 15_000).then(() => undefined));
  return s;
}

t.test('extended-length APDUs through pcscd + vpcd: a 5000-byte photo in 5 writes and 1 read', { skip }, async (t) => {
  const { store, dir } = await makeStore();
  t.teardown(() => store.close());
  const input = bigPhotoBatch(dir, [SIZE]);
  const out = join(dir, 'out');
  const res = await prepBatch({ profile: loadProfile('builtin:sscard-gen3'), profileFile: 'builtin:sscard-gen3', input, store, out, seed: 3 });
  t.ok(res.ok, 'prep ok');
  const script = parseCardScript(readFileSync(join(out, 'cards.jsonl'), 'utf8').trimEnd(), 'cards.jsonl:1');
  // The photo is in the batch's blobs.pack; the executor reads it from there, as run does.
  const blobs = loadBatch(out).blobs;
  t.ok(blobs, 'the batch has its blobs.pack');
  t.teardown(() => blobs?.close());

  const sim = await served(t, ['--seed', '11', '--verbose']);
  const pcsc = await PcscTransport.open(READER0);
  t.equal(pcsc.protocol, 't1', 'pcscd negotiated T=1 (the card offers T=1 only)');
  const rec = new Recorder(pcsc);
  const last = script.steps.length - 1;
  try {
    const r = await executeScript(rec, script, {
      provider: store,
      transportKey: { label: 'batch-transport' },
      onStep: (e) => void (e.list === 'steps' && e.index === last && (rec.list = 'verify')),
      ...(blobs ? { blobs } : {}),
    });
    t.ok(r.checks > 0, `personalized and verified through PC/SC (${r.apdus} APDUs)`);
  } catch (e) {
    t.fail(`the script failed through PC/SC: ${(e as Error).message}`);
    await pcsc.close();
    return;
  }
  const writes = rec.on('EF08', 0xd6, 'steps');
  const reads = rec.on('EF08', 0xb0, 'verify');
  t.equal(writes.length, Math.ceil(SIZE / 1024), '5 UPDATE BINARY of the photo');
  t.ok(writes.every((c) => c.extended), 'all extended (the last carries 904 bytes)');
  t.ok(equal(concat(...writes.map((c) => c.data)), bigJpeg(SIZE)), 'the writes carry the photo from blobs.pack, in order');
  t.same(reads.map((c) => [c.le, c.extended]), [[SIZE, true]], 'one READ BINARY, Le = 5000 (extended), and its check passed');

  // Read the photo back with a plain extended READ BINARY (after the PIN).
  const verifyPin = script.verify.find((s): s is SealedApduStep => s.op === 'sealed-apdu' && s.header === '00200080')!;
  const pin = await store.unseal({ label: 'batch-transport' }, Buffer.from(verifyPin.data.sealed, 'base64'), new TextEncoder().encode(script.recordId));
  const x = async (c: Uint8Array) => parseResponse(await pcsc.transmit(c));
  t.equal((await x(encodeCommand({ cla: 0, ins: 0xa4, p1: 0x04, p2: 0x0c, data: fromHex('7378312E73682EC9E7BBE1B1A3D5CF') }))).sw, 0x9000, 'select SSSE');
  t.equal((await x(encodeCommand({ cla: 0, ins: 0x20, p1: 0x00, p2: 0x80, data: pin }))).sw, 0x9000, 'PIN');
  pin.fill(0);
  t.equal((await x(encodeCommand({ cla: 0, ins: 0xa4, p1: 0x02, p2: 0x0c, data: fromHex('EF08') }))).sw, 0x9000, 'select EF08');
  const photo = await x(encodeCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 0, data: new Uint8Array(0), le: SIZE }));
  t.equal(photo.sw, 0x9000);
  t.ok(equal(photo.data, bigJpeg(SIZE)), `the card holds the ${SIZE}-byte photo (one ${SIZE + 2}-byte response through pcscd)`);
  await pcsc.close();

  // What reached the card: sim serve logs every APDU; the photo writes carry a 3-byte Lc.
  const { code, out: log } = await sim.stop('SIGINT');
  t.equal(code, 0, 'sim serve: exit 0');
  const lcs = [...log.matchAll(/^contact: 00 D6 [0-9A-F]{2} [0-9A-F]{2} 00([0-9A-F]{4}) /gm)].map((m) => parseInt(m[1]!, 16));
  t.same(lcs.slice(0, 5), [1024, 1024, 1024, 1024, 904], 'the card received the photo chunks as extended APDUs (Lc 00 hh ll)');
  t.ok(lcs.length >= 5, `${lcs.length} extended UPDATE BINARY reached the card (photo + certificates)`);
  t.match(log, /^contact: 00 B0 00 00 001388 -> /m, 'and the extended READ BINARY (Le 00 13 88 = 5000)');
});
