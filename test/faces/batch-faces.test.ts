// The runner's card faces (faces/batch-faces.ts, used by personalization/runner/run.ts):
// photo file names from a card script are read from the batch input folder (the example JPEGs),
// names outside it are refused, a missing or broken photo becomes a warning naming the record and
// the field and an empty photo box (the card is already issued: the face still prints), the
// placeholder-glyph warning comes once per run naming the font package, and the report reads the
// flag back from the kept PNG files.
import t from 'tap';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchFaces, decodePng, type RgbImage, type ScriptFace } from '../../faces/index.js';
import { FACES_DIR, faceFileName, formatReportText, hasPlaceholderGlyphs, renderReportHtml, reportFromDir, type Report } from '../../personalization/report/index.js';
import { Journal } from '../../personalization/journal/index.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const px = (img: RgbImage, x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

const face = (photo: string, name = '张伟'): ScriptFace => ({
  width: 1011,
  height: 638,
  fields: [
    { kind: 'photo', x: 59, y: 165, size: 331, value: photo },
    { kind: 'text', x: 366, y: 189, size: 38, value: `姓名 ${name}` },
  ],
});

function faces(fonts: string[] = [], dirs = [EXAMPLES]) {
  const warnings: string[] = [];
  return { warnings, bf: new BatchFaces({ fonts, photoDirs: dirs, warn: (w) => warnings.push(w) }) };
}

t.test('a photo file name from the script: a JPEG read from the input folder fills its box', async (t) => {
  const { bf, warnings } = faces([], [FIXTURES]);
  const out = bf.render('r1', face('grey-8x8.jpg'));
  const img = decodePng(out.png);
  // grey-8x8.jpg is mid grey (128); the box is 248 × 331 (¾ of the size) at (59, 165).
  t.same(px(img, 59 + 124, 165 + 165), [128, 128, 128], 'the photo fills its box');
  t.same(px(img, 59 + 247, 165 + 330), [128, 128, 128], 'to the last pixel');
  t.same(px(img, 58, 300), [255, 255, 255], 'and no further');
  t.same(warnings.filter((w) => w.includes('photo')), [], 'no photo warning');
});

t.test('missing, outside and broken photos: a warning with record and field, an empty box', async (t) => {
  const { bf, warnings } = faces();
  const grey = [200, 200, 200];
  const missing = decodePng(bf.render('r2', face('photos/9999.jpg')).png);
  t.same(px(missing, 59 + 124, 165 + 20), grey, 'missing: the empty photo box');
  t.match(warnings.find((w) => w.startsWith('face of r2')), /^face of r2: fields\[0\] \(photo\): photos\/9999.jpg not found in .* printed with an empty photo box$/);
  bf.render('r3', face('../secret.jpg'));
  t.match(warnings.at(-1), /^face of r3: fields\[0\] \(photo\): \.\.\/secret.jpg is not a file name inside the batch input folder/);
  bf.render('r4', face('/etc/passwd'));
  t.match(warnings.at(-1), /^face of r4: .*\/etc\/passwd is not a file name inside/);
  const dir = mkdtempSync(join(tmpdir(), 'cardsmith-badphoto-'));
  writeFileSync(join(dir, 'bad.jpg'), Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0, 0xff, 0xd9));
  const { bf: bf2, warnings: w2 } = faces([], [dir]);
  const broken = decodePng(bf2.render('r5', face('bad.jpg')).png);
  t.same(px(broken, 59 + 124, 165 + 20), grey, 'undecodable: the empty photo box');
  t.match(w2.find((w) => w.startsWith('face of r5')), /^face of r5: face: fields\[0\] \(photo\): the photo is not usable: jpeg: cannot decode .*; printed with an empty photo box$/);
  t.same(bf2.render('r6', face('')).missingGlyphs.length > 0, true, 'a record without a photo renders (the box, no warning about it)');
  t.equal(w2.filter((w) => w.startsWith('face of r6')).length, 0);
});

t.test('placeholder glyphs: flagged per record, warned once per run naming the package; the report shows it', async (t) => {
  const { bf, warnings } = faces([]);
  const a = bf.render('r1', face('photos/0001.jpg', '张伟'));
  const b = bf.render('r2', face('photos/0002.jpg', '王芳'));
  t.equal(a.placeholderGlyphs && b.placeholderGlyphs, true);
  t.same(bf.placeholderRecords, ['r1', 'r2']);
  const placeholderWarnings = warnings.filter((w) => w.includes('placeholder glyphs'));
  t.equal(placeholderWarnings.length, 1, 'one warning for the run');
  t.match(placeholderWarnings[0], /install fonts-droid-fallback/);
  t.notOk(placeholderWarnings[0]!.includes('\n'), 'one line');
  t.equal(hasPlaceholderGlyphs(a.png), true, 'the report reads the flag from the PNG');
  const { bf: missingFont, warnings: w2 } = faces(['/nonexistent/fonts/card.ttf']);
  missingFont.render('r1', face(''));
  missingFont.render('r2', face(''));
  t.equal(w2.filter((w) => w.includes('/nonexistent/fonts/card.ttf: no such font file')).length, 1, 'a named font that is missing: warned once');

  const report = {
    format: 'cardsmith-report',
    version: 1,
    generatedAt: '2024-01-01T00:00:00.000Z',
    batch: { dir: '/batch', batchId: 'b', journalCreatedAt: null },
    counts: { total: 2, pending: 0, inProgress: 0, issued: 2, rejected: 0, review: 0 },
    rejectReasons: [],
    cardRejects: { total: 0, byReason: [] },
    duplicates: { records: 0, chips: 0, inconsistent: 0 },
    timings: { firstStart: null, lastEnd: null, elapsedMs: null, cardsPerHour: null, cardTime: null },
    stations: [],
    rejected: [],
    review: [],
    inProgress: [],
    faces: { kept: 2, placeholderGlyphs: 2, placeholderRecords: ['r1', 'r2'] },
  } as unknown as Report;
  t.match(formatReportText(report), /card faces: 2 kept, 2 with PLACEHOLDER GLYPHS .*: r1, r2/);
  const html = renderReportHtml(report, [{ recordId: 'r1', png: a.png, placeholderGlyphs: true }]);
  t.match(html, /2 card face\(s\) drawn with placeholder glyphs/);
  t.match(html, /r1 <span class="bad">placeholder glyphs<\/span>/);
});

const DROID = '/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf';
const DEJAVU = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const noFonts = existsSync(DROID) && existsSync(DEJAVU) ? false : 'needs Droid Sans Fallback and DejaVu Sans: apt-get install fonts-droid-fallback fonts-dejavu-core';

t.test('with the CJK font the run has no placeholder warning', { skip: noFonts }, async (t) => {
  const { bf, warnings } = faces([DEJAVU, DROID]);
  const out = bf.render('r1', face('photos/0001.jpg'));
  t.equal(out.placeholderGlyphs, false);
  t.same(warnings, []);
  t.equal(hasPlaceholderGlyphs(out.png), false);
});

t.test('cardsmith report counts the kept faces with placeholder glyphs (from the PNG heads)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cardsmith-face-report-'));
  const journal = Journal.open(dir, { create: true, batchId: 'faces-test' });
  journal.addRecords(['r1', 'r2', 'r3']);
  for (const [i, id] of ['r1', 'r2'].entries()) {
    const claim = journal.claimNext('st-1')!;
    t.equal(claim.recordId, id);
    journal.setChip(claim, `000${i + 1}`);
    journal.issue(claim, { verification: { ok: true, checks: 1 } });
  }
  journal.close();
  const { bf } = faces([]);
  const placeholder = bf.render('r1', face(''));
  const clean = bf.render('r2', { width: 100, height: 100, fields: [{ kind: 'photo', x: 0, y: 0, size: 40, value: '' }] });
  t.equal(clean.placeholderGlyphs, false);
  mkdirSync(join(dir, FACES_DIR));
  writeFileSync(join(dir, FACES_DIR, faceFileName('r1')), placeholder.png);
  writeFileSync(join(dir, FACES_DIR, faceFileName('r2')), clean.png);
  const { report, html } = reportFromDir(dir, { html: true });
  t.same(report.faces, { kept: 2, placeholderGlyphs: 1, placeholderRecords: ['r1'] });
  t.match(formatReportText(report), /^card faces: 2 kept, 1 with PLACEHOLDER GLYPHS .*: r1$/m);
  t.match(html!, /1 card face\(s\) drawn with placeholder glyphs/);
  t.equal(html!.match(/<span class="bad">placeholder glyphs<\/span>/g)?.length, 1, 'only the flagged thumbnail is marked');
});
