// Field checks one by one (what each record field type accepts and how it says no), the digest
// set used for duplicates, and UTF-8 decoding that stops at the first bad byte.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { BatchError, checkField, gbkLength, KeySet, readUtf8 } from '../../personalization/batch/index.js';
import type { FieldSpec } from '../../profiles/index.js';

const loc = { file: 'x', line: 1, col: 1 };
const spec = (s: Partial<FieldSpec>): FieldSpec => ({ name: 'f', type: 'text', required: true, loc, ...s });
const ctx = { today: '20240115', baseDir: '/tmp' };
const ok = async (s: Partial<FieldSpec>, v: string) => checkField(spec(s), v, ctx);

t.test('each field type: accepted values, normalized', async (t) => {
  t.same(await ok({ type: 'citizen-id' }, '11010519491231002X'), { ok: true, value: '11010519491231002X' });
  t.same(await ok({ type: 'card-number' }, 'A02796279'), { ok: true, value: 'A02796279' });
  t.same(await ok({ type: 'text', charset: 'gbk', maxBytes: 30 }, '阿卜杜热合曼·买买提明'), { ok: true, value: '阿卜杜热合曼·买买提明' });
  t.same(await ok({ type: 'text', charset: 'ascii', maxLength: 26 }, 'ZHANG/WEI'), { ok: true, value: 'ZHANG/WEI' });
  t.same(await ok({ type: 'digits', minLength: 2, maxLength: 2, min: 1, max: 56 }, '05'), { ok: true, value: '05' });
  t.same(await ok({ type: 'region' }, '650102'), { ok: true, value: '650102' });
  t.same(await ok({ type: 'date' }, '1988-02-29'), { ok: true, value: '19880229' });
  t.same(await ok({ type: 'date' }, '19880229'), { ok: true, value: '19880229' });
  t.same(await ok({ type: 'enum', values: ['1', '2'] }, '2'), { ok: true, value: '2' });
  t.same(await ok({ type: 'pan' }, '79927398713'.padStart(16, '0')), { ok: true, value: '000079927398713'.padStart(16, '0') });
  t.same(await ok({ type: 'pin', minLength: 6, maxLength: 6 }, '123456'), { ok: true, value: '123456' });
  t.same(await ok({ type: 'text', maxLength: 5, required: false }, ''), { ok: true, value: '' });
});

t.test('each field type: refusals name the problem, never the value', async (t) => {
  const no = async (s: Partial<FieldSpec>, v: string, code: string, problem: RegExp) => {
    const r = await ok(s, v);
    t.match(r, { ok: false, code, problem }, `${s.type} ${code}`);
    if (!r.ok && v.length > 3) t.notOk(r.problem.includes(v), 'the value is not in the message');
  };
  await no({ type: 'citizen-id' }, '11010519491231002Y', 'citizen-id', /character 18 must be a digit or X/);
  await no({ type: 'citizen-id' }, '110105194912310021', 'citizen-id', /wrong check character/);
  await no({ type: 'citizen-id', past: true }, '110105203001010011', 'citizen-id', /in the future/);
  await no({ type: 'card-number' }, 'A02796278', 'card-number', /wrong check character/);
  await no({ type: 'card-number' }, 'a0279627X', 'card-number', /character 1 is not 0-9 or A-Z/);
  await no({ type: 'text', maxBytes: 4 }, '张三丰', 'too-long', /is 6 bytes in GBK, at most 4 fit/);
  await no({ type: 'text', maxBytes: 30 }, '王\u0007', 'control-character', /character 2 is a control character \(U\+0007\)/);
  await no({ type: 'text', maxBytes: 30 }, '😀', 'gbk', /character 1 \(U\+1F600\) has no GBK code/);
  await no({ type: 'text', charset: 'ascii', maxLength: 9 }, 'é', 'charset', /not printable ASCII/);
  await no({ type: 'text', maxLength: 9, minLength: 3 }, 'ab', 'too-short', /at least 3/);
  await no({ type: 'text', maxLength: 9, pattern: '[A-Z]+' }, 'abc', 'pattern', /expected form/);
  await no({ type: 'digits', maxLength: 2, min: 1 }, '00', 'range', /at least 1/);
  await no({ type: 'region' }, '12345a', 'region', /6 digits/);
  await no({ type: 'date', past: true }, '2024-01-16', 'date', /in the future/);
  await no({ type: 'date' }, '1700-01-01', 'date', /before 1800/);
  await no({ type: 'pan' }, '1234', 'pan', /12 to 19 digits/);
  await no({ type: 'pin' }, '12a4', 'digits', /digits only/);
  await no({ type: 'text', maxLength: 5 }, 'a ', 'spaces', /spaces at the start or end/);
  t.match(await ok({ type: 'text', maxLength: 5 }, ''), { ok: false, code: 'required' });
});

t.test('file fields: inside the batch folder, present, small enough, the right format', async (t) => {
  const dir = t.testdir({ 'p.jpg': Buffer.from('FFD8FFE000104A464946', 'hex'), 'p.png': Buffer.from('89504E470D0A1A0A00', 'hex'), sub: { 'q.jpg': Buffer.from('FFD8FF00', 'hex') } });
  const c = { today: '20240115', baseDir: dir };
  const f = spec({ type: 'file', maxBytes: 9, format: 'jpeg' });
  t.same(await checkField(f, 'sub/q.jpg', c), { ok: true, value: 'sub/q.jpg' });
  t.match(await checkField(f, 'p.jpg', c), { ok: false, code: 'file-too-large', problem: 'file p.jpg is 10 bytes, at most 9 fit' });
  t.match(await checkField({ ...f, maxBytes: 100 }, 'p.png', c), { ok: false, code: 'file-format', problem: 'file p.png is not a JPEG file' });
  t.same(await checkField({ ...f, maxBytes: 100, format: 'png' }, 'p.png', c), { ok: true, value: 'p.png' });
  t.match(await checkField(f, '/etc/passwd', c), { ok: false, code: 'file-outside' });
  t.match(await checkField(f, 'sub/../../x.jpg', c), { ok: false, code: 'file-outside' });
  t.match(await checkField(f, 'sub', c), { ok: false, code: 'file-missing', problem: 'does not name a file' });
});

t.test('gbkLength', async (t) => {
  t.same(gbkLength('张a'), { bytes: 3 });
  t.match(gbkLength('a\tb'), { badChar: 2, control: true });
});

t.test('KeySet: finds repeats with their first line, grows, keeps distinct keys apart', async (t) => {
  const s = new KeySet(4);
  let fresh = 0;
  for (let i = 0; i < 5000; i++) if (s.add(`key-${i}`, i + 1) === undefined) fresh++;
  t.equal(fresh, 5000, 'no false duplicates among 5000 keys');
  t.equal(s.size, 5000);
  t.equal(s.add('key-42', 9999), 43, 'the line it was first seen on');
  t.equal(s.add('key-4999', 10000), 5000);
  t.equal(s.size, 5000);
});

t.test('UTF-8: a batch in GBK stops at the first byte that is not UTF-8', async (t) => {
  const dir = t.testdir({});
  const path = join(dir, 'b.csv');
  writeFileSync(path, Buffer.concat([Buffer.from('line one\nline two\n'), Buffer.from('D5C5', 'hex'), Buffer.from('\n')]));
  const read = async () => {
    for await (const _ of readUtf8(path, 'b.csv')) void _;
  };
  await t.rejects(read(), BatchError);
  await read().catch((e: BatchError) => t.match(e.reject, { line: 3, code: 'encoding', problem: 'the bytes at offset 18 are not UTF-8' }));
  writeFileSync(path, Buffer.from('abc\xE5', 'latin1'));
  await read().catch((e: BatchError) => t.match(e.reject, { code: 'encoding', problem: /ends inside a UTF-8 character/ }));
});
