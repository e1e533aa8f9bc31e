// The runner's faces drawn on worker threads (runBatch faceWorkers) against the same batch drawn on
// the runner's thread (faceWorkers 0): the kept faces are the same bytes and the run says the same
// things; a face that cannot be drawn fails its card as inline (issued, the eject fails, that
// station pauses) and the other station finishes the batch.
import t from 'tap';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchFaces } from '../../faces/index.js';
import { faceFileName, FACES_DIR } from '../../personalization/report/index.js';
import { loadBatch, runBatch } from '../../personalization/runner/run.js';
import { INPUT_FILES_DIR, type CardScript } from '../../personalization/script.js';
import { openStations, simulatedStations } from '../../stations/index.js';
import { SIM } from '../helpers/sim-host.js';
import { makeKeyStore, makeScripts, writeBatch } from './helpers.js';

const PHOTOS = fileURLToPath(new URL('../../examples/photos/', import.meta.url));
const { store } = await makeKeyStore();
t.teardown(() => store.close());
const root = mkdtempSync(join(tmpdir(), 'cardsmith-face-workers-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

const scripts: CardScript[] = await makeScripts(store, 8, 'w');
for (const [i, s] of scripts.entries()) {
  s.face = {
    width: 1011,
    height: 638,
    fields: [
      // w0006: a photo the batch does not have (a warning, the empty box).
      { kind: 'photo', x: 59, y: 165, size: 331, value: i === 5 ? 'photos/9999.jpg' : `photos/000${i + 1}.jpg` },
      { kind: 'text', x: 366, y: 189, size: 38, value: `姓名 张伟${i}` },
    ],
  };
}

// Faces drawn on this (the stations') thread; workers have their own copy of the module.
let drawnHere = 0;
const render = BatchFaces.prototype.render;
BatchFaces.prototype.render = function (this: BatchFaces, ...a: Parameters<BatchFaces['render']>) {
  drawnHere++;
  return render.apply(this, a);
};

/** Runs the batch on 2 simulated printers; w0003's face cannot be drawn (too narrow). */
async function run(workers: number) {
  const dir = join(root, `batch-${workers}`);
  mkdirSync(join(dir, INPUT_FILES_DIR, 'photos'), { recursive: true });
  for (let i = 1; i <= 8; i++) cpSync(join(PHOTOS, `000${i}.jpg`), join(dir, INPUT_FILES_DIR, 'photos', `000${i}.jpg`));
  await writeBatch(dir, scripts, store);
  const batch = loadBatch(dir);
  batch.scripts.get('w0003')!.face = { width: 10, height: 638, fields: [] };
  const opened = openStations(simulatedStations(2), SIM);
  const warnings: string[] = [];
  drawnHere = 0;
  try {
    const res = await runBatch(batch, { provider: store, stations: opened.stations, faceWorkers: workers, keepSimOutput: false, onEvent: (e) => void (e.type === 'message' && e.level === 'warn' && warnings.push(e.text.replace(/^sim-\d+: /, '').replaceAll(dir, 'DIR'))) });
    const faces = new Map(readdirSync(join(dir, FACES_DIR)).map((f) => [f, readFileSync(join(dir, FACES_DIR, f))]));
    return { res, warnings, faces, drawnHere };
  } finally {
    await opened.close();
  }
}

t.test('faces drawn by workers: the same kept faces and warnings as inline; a bad face fails its card, not the run', async (t) => {
  const inline = await run(0);
  const pooled = await run(2);
  for (const r of [inline, pooled]) {
    t.equal(r.res.kind, 'done');
    t.same([r.res.counts.issued, r.res.counts.pending], [8, 0], `every card issued, the other station finished the batch: ${r.res.message}`);
    t.equal(r.res.paused.length, 1, 'the station of the bad face paused');
    t.match(r.res.paused[0]!.reason, /^FaceError: face: width and height must be integers 16\.\.4096, got 10 × 638$/);
  }
  t.equal(inline.drawnHere, 8, 'inline: every face drawn on the stations\' thread');
  t.equal(pooled.drawnHere, 0, 'workers: none');
  // Without a CJK font the once-per-run placeholder warning names the glyphs of whichever card two
  // stations eject first, inline or not: compare it without them.
  const firstPlaceholder = (w: string) => w.replace(/^card faces: no font here has .*?; drawn as placeholder glyphs/, 'card faces: no font here has …; drawn as placeholder glyphs');
  t.same(pooled.warnings.map(firstPlaceholder), inline.warnings.map(firstPlaceholder), 'the same warnings');
  t.ok(inline.warnings.some((w) => /^face of w0006: fields\[0\] \(photo\): photos\/9999\.jpg not found/.test(w)), 'the missing photo');
  t.ok(inline.warnings.includes('w0003 is issued but the eject failed (FaceError: face: width and height must be integers 16..4096, got 10 × 638): take the card out of the printer'));
  t.same([...pooled.faces.keys()].sort(), scripts.filter((s) => s.recordId !== 'w0003').map((s) => faceFileName(s.recordId)), 'a kept face for every card but the bad one');
  for (const [name, png] of inline.faces) t.ok(pooled.faces.get(name)?.equals(png), `${name}: the same bytes`);
});
