// checkBatch and readBatch on the example batches and on small made-up ones: counts, normalized
// values, --skip-invalid semantics, the rejects file, and cardholder data kept out of messages.
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { BatchError, checkBatch, formatReject, mask, readBatch, type BatchRecord } from '../../personalization/batch/index.js';
import { loadProfile } from '../../profiles/index.js';

const example = (f: string): string => fileURLToPath(new URL(`../../examples/${f}`, import.meta.url));
const sscard = loadProfile('builtin:sscard-gen3');
const gp = loadProfile('builtin:gp-cps');
const noPhoto = loadProfile(fileURLToPath(new URL('../profiles/fixtures/sscard-no-photo.yaml', import.meta.url)));

const HEADER = 'ssn,name,sex,ethnicity,birthplace,birthDate';
const GOOD = ['110105198503120215,张伟,1,01,110105,1985-03-12', '310104199007040422,王芳,2,01,310104,19900704', '440106199202180684,李娜,2,01,440106,1992-02-18'];

t.test('the example batches are valid, with at least 20 sscard-gen3 records', async (t) => {
  const r = await checkBatch(sscard, example('sscard-gen3-batch.csv'));
  t.match(r, { format: 'csv', ok: true, rejected: 0, rejects: [] });
  t.ok(r.records >= 20, `${r.records} records`);
  t.equal(r.valid, r.records);
  const g = await checkBatch(gp, example('gp-cps-batch.jsonl'));
  t.match(g, { format: 'jsonl', ok: true, records: 5, valid: 5 });
});

t.test('readBatch: normalized values, in file order', async (t) => {
  const seen: BatchRecord[] = [];
  for await (const item of readBatch(sscard, example('sscard-gen3-batch.csv'))) if (item.ok) seen.push(item.record);
  t.same(seen[0], { ssn: '110105198503120215', name: '张伟', nameExtension: '', sex: '1', ethnicity: '01', birthplace: '110105', birthDate: '19850312', photo: 'photos/0001.jpg' });
  const long = seen.find((r) => r.nameExtension !== '')!;
  t.equal(long.nameExtension, '艾合买提', 'the name extension of a long name');
});

t.test('CSV and JSON Lines of the same records give the same records', async (t) => {
  const dir = t.testdir({
    'b.csv': `${HEADER}\n${GOOD.join('\n')}\n`,
    'b.jsonl': GOOD.map((l) => JSON.stringify(Object.fromEntries(HEADER.split(',').map((k, i) => [k, l.split(',')[i]])))).join('\n') + '\n',
  });
  const read = async (f: string) => {
    const out: BatchRecord[] = [];
    for await (const i of readBatch(noPhoto, join(dir, f))) if (i.ok) out.push(i.record);
    return out;
  };
  const csv = await read('b.csv');
  t.equal(csv.length, 3);
  t.same(await read('b.jsonl'), csv);
});

t.test('an invalid record refuses the batch; --skip-invalid accepts the rest', async (t) => {
  const dir = t.testdir({ 'b.csv': `${HEADER}\n${GOOD[0]}\n310104199007040421,王芳,2,01,310104,1990-07-04\n${GOOD[2]}\n${GOOD[0]}\n` });
  const strict = await checkBatch(noPhoto, join(dir, 'b.csv'), { display: 'b.csv' });
  t.match(strict, { ok: false, records: 4, valid: 2, rejected: 2 });
  t.same(
    strict.rejects.map((r) => formatReject('b.csv', r)),
    [
      'b.csv:3:1: ssn: wrong check character (GB 11643, 18th character) (value 3****************1) (hint: an 18-character citizen ID number whose last character is the GB 11643 check character)',
      'b.csv:5:1: ssn: the same ssn as line 2 (value 1****************5) (hint: a cardholder appears once per batch)',
    ],
  );
  const lenient = await checkBatch(noPhoto, join(dir, 'b.csv'), { skipInvalid: true });
  t.match(lenient, { ok: true, valid: 2, rejected: 2 });
});

t.test('the rejects file: one JSON object per reject, mode 600, no cardholder value in clear', async (t) => {
  const secretSsn = '310104199007040421';
  const secretName = '欧阳一二三四五六七八九十一二三四';
  const dir = t.testdir({ 'b.csv': `${HEADER}\n${secretSsn},王芳,2,01,310104,1990-07-04\n310104199007040422,${secretName},2,01,310104,1990-07-04\n` });
  const rejectsFile = join(dir, 'rejects.jsonl');
  const r = await checkBatch(noPhoto, join(dir, 'b.csv'), { rejectsFile, display: 'b.csv' });
  t.equal(r.rejectsFile, rejectsFile);
  const lines = readFileSync(rejectsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(lines.map((l) => [l.file, l.line, l.column, l.field, l.code]), [['b.csv', 2, 1, 'ssn', 'citizen-id'], ['b.csv', 3, 20, 'name', 'too-long']]);
  t.equal(statSync(rejectsFile).mode & 0o777, 0o600);
  const everything = readFileSync(rejectsFile, 'utf8') + JSON.stringify(r) + r.rejects.map((x) => formatReject('b.csv', x)).join('\n');
  t.notOk(everything.includes(secretSsn), 'the ssn appears only masked');
  t.notOk(everything.includes(secretName), 'the name appears only masked');
  t.notOk(everything.includes('王芳'), 'nor do other values of the record');
});

t.test('maxRejects bounds the report, not the rejects file', async (t) => {
  const bad = Array.from({ length: 30 }, () => '110105198503120216,张伟,1,01,110105,1985-03-12');
  const dir = t.testdir({ 'b.csv': `${HEADER}\n${bad.join('\n')}\n` });
  const r = await checkBatch(noPhoto, join(dir, 'b.csv'), { maxRejects: 5, rejectsFile: join(dir, 'r.jsonl') });
  t.match(r, { rejected: 30, truncated: true });
  t.equal(r.rejects.length, 5);
  t.equal(readFileSync(join(dir, 'r.jsonl'), 'utf8').trim().split('\n').length, 30);
});

t.test('a batch that cannot be read: fatal, reported, never ok (even with skipInvalid)', async (t) => {
  const dir = t.testdir({ 'b.csv': `${HEADER}\n${GOOD[0]}\n"unclosed,1,01,110105,1985-03-12\n`, 'b.txt': 'x' });
  const r = await checkBatch(noPhoto, join(dir, 'b.csv'), { skipInvalid: true });
  t.match(r, { ok: false, valid: 1, fatal: { code: 'csv-unclosed-quote', line: 3, column: 1 } });
  await t.rejects(checkBatch(noPhoto, join(dir, 'b.txt')), BatchError, 'an unknown extension');
  const jl = await checkBatch(noPhoto, join(dir, 'b.txt'), { format: 'jsonl' });
  t.match(jl, { ok: false, rejected: 1, rejects: [{ code: 'json-syntax', line: 1, column: 1 }] });
  const missing = await checkBatch(noPhoto, join(dir, 'none.csv'));
  t.match(missing, { ok: false, fatal: { code: 'unreadable', problem: 'cannot read the batch (no such file)' } });
});

t.test('mask keeps the first and last character of long values only', async (t) => {
  t.equal(mask('11010519491231002X'), '1****************X');
  t.equal(mask('张三'), '**');
  t.equal(mask('ABCDE'), '*****');
  t.equal(mask(''), '');
});

t.test("rules: each record is compared with its own values (sscard-gen3: the SSN's birth date)", async (t) => {
  const dir = t.testdir({});
  copyFileSync(example('photos/0001.jpg'), join(dir, 'p.jpg'));
  const row = (ssn: string, birth: string) => `${ssn},张伟,,1,01,110105,${birth},p.jpg`;
  const lines = [row('110105198503120215', '1985-03-12'), row('310104199007040422', '1985-03-12'), row('440106199202180684', '19920218')];
  writeFileSync(join(dir, 'b.csv'), `ssn,name,nameExtension,sex,ethnicity,birthplace,birthDate,photo\n${lines.join('\n')}\n`);
  const items = [];
  for await (const item of readBatch(sscard, join(dir, 'b.csv'), { today: '20260115' })) items.push(item);
  t.same(items.map((i) => i.ok), [true, false, true]);
  t.match(items[1], { ok: false, line: 3, rejects: [{ code: 'rule', field: 'ssn', problem: 'the birth date differs from the one inside the social security number' }] });
});
