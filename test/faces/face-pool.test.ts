// The face pool (faces/face-pool.ts): faces drawn on worker threads are the bytes the calling thread
// draws, with the same warnings in the same order (photo warnings per face, the run-wide ones once
// even with several workers); a face that fails in a worker throws where it is taken, as inline,
// and the pool goes on; a worker that dies fails only the faces it had; a process with a pool
// (closed or not) exits by itself.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchFaces, defaultFaceWorkers, FaceError, FacePool, type ScriptFace } from '../../faces/index.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const DROID = '/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf';
const DEJAVU = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const noFonts = existsSync(DROID) && existsSync(DEJAVU) ? false : 'needs Droid Sans Fallback and DejaVu Sans: apt-get install fonts-droid-fallback fonts-dejavu-core';

const bad = mkdtempSync(join(tmpdir(), 'cardsmith-pool-photo-'));
writeFileSync(join(bad, 'bad.jpg'), Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0, 0xff, 0xd9));

const NAMES = ['张伟', '王芳', '李娜', '刘洋', 'Ünal Öz', '陈静'];
/** A batch's faces: the example photos and CJK text, one missing photo, one that cannot be decoded. */
const batch: [string, ScriptFace][] = NAMES.map((name, i) => [
  `r${i + 1}`,
  {
    width: 1011,
    height: 638,
    fields: [
      { kind: 'photo', x: 59, y: 165, size: 331, value: i === 3 ? 'photos/9999.jpg' : i === 4 ? 'bad.jpg' : `photos/000${i + 1}.jpg` },
      { kind: 'text', x: 366, y: 189, size: 38, value: `姓名 ${name}` },
      { kind: 'text', x: 366, y: 283, size: 32, value: `社会保障号码 11010519491231002${i}` },
    ],
  },
]);

/** The faces and warnings of the batch drawn inline, then through a pool of `workers`. */
async function both(fonts: string[], workers: number) {
  const inline = { warnings: [] as string[], pngs: [] as Uint8Array[] };
  const bf = new BatchFaces({ fonts, photoDirs: [EXAMPLES, bad], warn: (w) => inline.warnings.push(w) });
  for (const [id, f] of batch) inline.pngs.push(bf.render(id, f).png);
  const pooled = { warnings: [] as string[], pngs: [] as Uint8Array[] };
  const pool = new FacePool({ fonts, photoDirs: [EXAMPLES, bad], warn: (w) => pooled.warnings.push(w), workers });
  try {
    for (const [id, f] of batch) pool.drawAhead(id, f);
    for (const [id, f] of batch) pooled.pngs.push((await pool.take(id, f)).png);
  } finally {
    await pool.close();
  }
  return { inline, pooled, placeholders: [bf.placeholderRecords, pool.faces.placeholderRecords] };
}

t.test('photos and CJK text: faces drawn by 2 workers are byte-identical to faces drawn inline', { skip: noFonts }, async (t) => {
  const { inline, pooled } = await both([DEJAVU, DROID], 2);
  t.equal(pooled.pngs.length, batch.length);
  for (const [i, [id]] of batch.entries()) t.ok(Buffer.from(pooled.pngs[i]!).equals(Buffer.from(inline.pngs[i]!)), `${id}: the same PNG bytes`);
  t.same(pooled.warnings, inline.warnings, 'the same warnings in the same order');
  t.equal(inline.warnings.length, 2, 'the missing and the broken photo');
});

t.test('without fonts: the run-wide warnings come once across workers, as inline', async (t) => {
  const { inline, pooled, placeholders } = await both(['/nonexistent/fonts/card.ttf'], 2);
  for (const [i, [id]] of batch.entries()) t.ok(Buffer.from(pooled.pngs[i]!).equals(Buffer.from(inline.pngs[i]!)), `${id}: the same PNG bytes`);
  t.same(pooled.warnings, inline.warnings, 'the same warnings in the same order');
  t.equal(pooled.warnings.filter((w) => w.includes('placeholder glyphs')).length, 1, 'placeholder glyphs: warned once');
  t.equal(pooled.warnings.filter((w) => w.includes('card.ttf: no such font file')).length, 1, 'the missing font: warned once');
  t.same(placeholders[1], placeholders[0], 'the same records flagged');
});

t.test('a face that fails in a worker throws where it is taken, as inline; the pool goes on', async (t) => {
  const broken: ScriptFace = { width: 10, height: 638, fields: [] };
  let inline: unknown;
  try {
    new BatchFaces({ fonts: [], photoDirs: [], warn: () => {} }).render('x', broken);
  } catch (e) {
    inline = e;
  }
  t.type(inline, FaceError);
  const pool = new FacePool({ fonts: [], photoDirs: [], warn: () => {}, workers: 1 });
  t.teardown(() => pool.close());
  pool.drawAhead('x', broken);
  const err = await pool.take('x', broken).catch((e: unknown) => e);
  t.type(err, FaceError, 'the same class');
  t.equal((err as Error).message, (inline as Error).message, 'the same message');
  t.equal((err as FaceError).kind, (inline as FaceError).kind, 'the same kind');
  const ok = await pool.take('y', batch[0]![1]);
  t.ok(ok.png.length > 1000, 'the next face is drawn');
});

t.test('a worker that dies fails the faces it had; the next face gets a new worker', async (t) => {
  const pool = new FacePool({ fonts: [], photoDirs: [EXAMPLES], warn: () => {}, workers: 1 });
  t.teardown(() => pool.close());
  t.ok((await pool.take('r0', batch[0]![1])).png.length > 1000, 'the worker has answered once');
  pool.drawAhead('r1', batch[0]![1]);
  const worker = (pool as unknown as { drawers: { worker: { terminate(): Promise<number> } }[] }).drawers[0]!.worker;
  await worker.terminate();
  const err = await pool.take('r1', batch[0]![1]).catch((e: unknown) => e);
  t.type(err, FaceError);
  t.match((err as Error).message, /the face worker stopped/);
  t.ok((await pool.take('r1', batch[0]![1])).png.length > 1000, 'drawn again by a new worker');
});

t.test('a worker that ends before its first answer (it cannot start here): faces are drawn on the calling thread, with one warning', async (t) => {
  const warnings: string[] = [];
  const pool = new FacePool({ fonts: [], photoDirs: [EXAMPLES], warn: (w) => warnings.push(w), workers: 1 });
  t.teardown(() => pool.close());
  pool.drawAhead('r1', batch[0]![1]);
  pool.drawAhead('r2', batch[1]![1]);
  const worker = (pool as unknown as { drawers: { worker: { terminate(): Promise<number> } }[] }).drawers[0]!.worker;
  await worker.terminate();
  const inline = new BatchFaces({ fonts: [], photoDirs: [EXAMPLES], warn: () => {} });
  t.ok(Buffer.from((await pool.take('r1', batch[0]![1])).png).equals(Buffer.from(inline.render('r1', batch[0]![1]).png)), 'the face it held is drawn inline');
  t.ok(Buffer.from((await pool.take('r3', batch[1]![1])).png).equals(Buffer.from(inline.render('r3', batch[1]![1]).png)), 'and so are the next ones');
  t.equal((pool as unknown as { drawers: unknown[] }).drawers.length, 0, 'no new worker started');
  t.equal(warnings.filter((w) => /a face worker could not start/.test(w)).length, 1, 'said once');
});

t.test('no workers: the faces are drawn on the calling thread when taken', async (t) => {
  const pool = new FacePool({ fonts: [], photoDirs: [EXAMPLES], warn: () => {}, workers: 0 });
  pool.drawAhead('r1', batch[0]![1]);
  t.equal((pool as unknown as { drawers: unknown[] }).drawers.length, 0, 'no worker started');
  const inline = new BatchFaces({ fonts: [], photoDirs: [EXAMPLES], warn: () => {} }).render('r1', batch[0]![1]).png;
  t.ok(Buffer.from((await pool.take('r1', batch[0]![1])).png).equals(Buffer.from(inline)));
  t.throws(() => new FacePool({ fonts: [], photoDirs: [], warn: () => {}, workers: -1 }), RangeError);
  t.same([1, 2, 3, 8].map(defaultFaceWorkers), [1, 2, 3, 4], 'by default one worker per core, at most 4');
});

t.test('a process with a face pool exits by itself, closed or not', async (t) => {
  const child = fileURLToPath(new URL('./fixtures/pool-child.ts', import.meta.url));
  for (const mode of ['close', 'left-open']) {
    const r = spawnSync(process.execPath, [...process.execArgv, child, mode], { encoding: 'utf8', timeout: 60_000 });
    t.equal(r.signal, null, `${mode}: not killed by the timeout`);
    t.equal(r.status, 0, `${mode}: exit 0 ${r.stderr}`);
    t.equal(r.stdout.trim(), 'drawn true', mode);
  }
});
