// Batches made to hurt: no records at all, photos that are links out of the batch folder,
// megabyte values and names (every echo stays one short line), CSV cells a spreadsheet would
// run as formulas.
import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { clip } from '../../bytes/index.js';
import { checkBatch, checkField, csvCell, formatReject, mask } from '../../personalization/batch/index.js';
import { loadProfile, type FieldSpec } from '../../profiles/index.js';

const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;
const sscard = loadProfile('builtin:sscard-gen3');
const gp = loadProfile('builtin:gp-cps');
const HEADER = 'ssn,name,nameExtension,sex,ethnicity,birthplace,birthDate,photo';
const tmp = (): string => mkdtempSync(join(tmpdir(), 'hostile-batch-'));

t.test('a batch with no records cannot be read on (CSV header only, JSON Lines blank)', async (t) => {
  const dir = tmp();
  for (const [name, text, profile, fatal] of [
    ['header.csv', `${HEADER}\n`, sscard, { line: 2, code: 'no-records', problem: 'the batch has a header row and no records' }],
    ['header-crlf.csv', `${HEADER}\r\n\r\n`, sscard, { line: 2, code: 'no-records' }],
    ['blank.jsonl', '\n\n', gp, { line: 1, code: 'no-records', problem: 'the batch has no records' }],
  ] as const) {
    writeFileSync(join(dir, name), text);
    const r = await checkBatch(profile, join(dir, name), { skipInvalid: true });
    t.notOk(r.ok, `${name}: not ok, even with skipInvalid`);
    t.match(r.fatal, fatal, name);
  }
});

t.test('a file field that is a link out of the batch folder is rejected; links inside are files', async (t) => {
  const base = tmp();
  const outside = tmp();
  copyFileSync(join(EXAMPLES, 'photos', '0001.jpg'), join(outside, 'other.jpg'));
  mkdirSync(join(base, 'photos'));
  copyFileSync(join(EXAMPLES, 'photos', '0001.jpg'), join(base, 'photos', 'own.jpg'));
  symlinkSync(join(outside, 'other.jpg'), join(base, 'out.jpg'));
  symlinkSync(outside, join(base, 'out-dir'));
  symlinkSync('photos/own.jpg', join(base, 'in.jpg'));
  symlinkSync('../' + outside.split('/').at(-1) + '/other.jpg', join(base, 'relative-out.jpg'));
  const spec: FieldSpec = { name: 'photo', type: 'file', required: true, format: 'jpeg', maxBytes: 20000, loc: { file: 'x', line: 1, col: 1 } };
  const ctx = { today: '20240115', baseDir: base };
  for (const p of ['out.jpg', 'out-dir/other.jpg', 'relative-out.jpg']) {
    t.match(await checkField(spec, p, ctx), { ok: false, code: 'file-outside', problem: `file ${p} is a link to a place outside the batch folder` }, p);
  }
  t.match(await checkField(spec, '../x.jpg', ctx), { ok: false, code: 'file-outside' }, '../ stays refused');
  t.same(await checkField(spec, 'in.jpg', ctx), { ok: true, value: 'in.jpg' }, 'a link inside the folder');
  t.same(await checkField(spec, 'photos/own.jpg', ctx), { ok: true, value: 'photos/own.jpg' });
});

t.test('a 1 MB value, column name or JSON key: every echo is one short line', async (t) => {
  const huge = '张'.repeat(350_000);
  const m = mask(huge);
  t.ok(m.length <= 80, `masked: ${m.length} characters`);
  t.match(m, /^张\*+…张 \(350000 characters\)$/);
  t.equal(mask('张三丰李四王五'), '张*****五', 'short values as before');
  t.equal(clip('x'.repeat(1_000_000)), 'x'.repeat(58) + '… (1000000 characters)', '80 characters with the tail');
  t.equal(clip('short'), 'short');
  t.equal(clip('a' + '😀'.repeat(50)), 'a' + '😀'.repeat(30) + '… (101 characters)', 'no half of a surrogate pair');

  const dir = tmp();
  writeFileSync(join(dir, 'column.csv'), `${HEADER},${'q'.repeat(1_000_000)}\n`);
  const col = await checkBatch(sscard, join(dir, 'column.csv'));
  const colLine = formatReject('column.csv', col.fatal!);
  t.ok(colLine.length < 400, `unknown column: ${colLine.length} characters`);
  t.match(colLine, /column 'q+… \(1000000 characters\)' is not a field/);

  const key = 'k'.repeat(1_000_000);
  writeFileSync(join(dir, 'key.jsonl'), JSON.stringify({ pan: '4761739001010119', name: 'A', [key]: 'v' }) + '\n');
  const keyed = await checkBatch(gp, join(dir, 'key.jsonl'));
  const unknown = keyed.rejects.find((r) => r.code === 'unknown-field')!;
  t.ok(formatReject('key.jsonl', unknown).length < 300, 'unknown JSON key: a short line');
  t.match(unknown.field, /^k+… \(1000000 characters\)$/);
});

t.test('CSV cells cardsmith writes: formulas neutralized (a leading quote), RFC 4180 quoting', async (t) => {
  t.equal(csvCell('=HYPERLINK("http://x","y")'), `"'=HYPERLINK(""http://x"",""y"")"`);
  t.equal(csvCell('+1+1'), "'+1+1");
  t.equal(csvCell('-2+3'), "'-2+3");
  t.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
  t.equal(csvCell('\tcmd'), "'\tcmd");
  t.equal(csvCell('\r=1'), `"'\r=1"`);
  t.equal(csvCell('a,b'), '"a,b"');
  t.equal(csvCell('plain'), 'plain');
  t.equal(csvCell(-3), '-3', 'numbers are numbers');
  t.equal(csvCell(undefined), '');
});

// JSON.parse itself does not recurse; this guards the checks after it (nothing may walk a value).
t.test('JSON Lines nested 200 000 levels deep: a reject at its line and column, no stack overflow', async (t) => {
  const dir = tmp();
  const deep = '['.repeat(200_000) + ']'.repeat(200_000);
  writeFileSync(join(dir, 'deep.jsonl'), `{"pan": ${deep}, "name": "A"}\n${deep}\n`);
  const r = await checkBatch(gp, join(dir, 'deep.jsonl'));
  t.match(r.rejects, [
    { line: 1, column: 2, field: 'pan', code: 'json-type', problem: 'must be a string, got a list' },
    { line: 2, column: 1, code: 'json-not-object' },
  ]);
});
