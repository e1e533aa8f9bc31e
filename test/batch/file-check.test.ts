// File fields (photos) are looked at once per batch: a path named by many records is checked the
// first time only, whatever its spelling; folders linked from inside the batch folder stay
// inside; the check is synchronous.
import { copyFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { checkField, readBatch, type BatchItem } from '../../personalization/batch/index.js';
import { FileChecks } from '../../personalization/batch/file-check.js';
import { gb11643Check, loadProfile, type FieldSpec } from '../../profiles/index.js';

const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;
const sscard = loadProfile('builtin:sscard-gen3');
const HEADER = 'ssn,name,nameExtension,sex,ethnicity,birthplace,birthDate,photo';

/** A valid sscard-gen3 line for the i-th person born on 1985-03-12, naming `photo`. */
function line(i: number, photo: string): string {
  const body = `11010519850312${String(i).padStart(3, '0')}`;
  return `${body}${gb11643Check(body)},张伟,,${i % 2 === 1 ? '1' : '2'},01,110105,19850312,${photo}`;
}

t.test('a photo named by several records is checked once per batch, whatever its spelling', async (t) => {
  const dir = t.testdir({});
  copyFileSync(join(EXAMPLES, 'photos', '0001.jpg'), join(dir, 'p.jpg'));
  copyFileSync(join(EXAMPLES, 'photos', '0001.jpg'), join(dir, 'q.jpg'));
  writeFileSync(join(dir, 'b.csv'), [HEADER, line(1, 'p.jpg'), line(2, 'p.jpg'), line(3, './p.jpg'), line(4, 'q.jpg')].join('\n') + '\n');
  const items: BatchItem[] = [];
  for await (const item of readBatch(sscard, join(dir, 'b.csv'), { today: '20260115' })) {
    items.push(item);
    // Gone after the first record: the records after it that name it were checked with it.
    if (items.length === 1) {
      rmSync(join(dir, 'p.jpg'));
      rmSync(join(dir, 'q.jpg'));
    }
  }
  t.same(
    items.map((i) => (i.ok ? i.record.photo : i.rejects.map((r) => r.code).join())),
    ['p.jpg', 'p.jpg', 'p.jpg', 'file-missing'],
    'p.jpg (also as ./p.jpg) once; q.jpg, first named after the removal, is missing',
  );
});

t.test('files below a folder linked from inside the batch folder are inside it', async (t) => {
  const dir = t.testdir({});
  mkdirSync(join(dir, 'photos'));
  copyFileSync(join(EXAMPLES, 'photos', '0001.jpg'), join(dir, 'photos', 'own.jpg'));
  symlinkSync('photos', join(dir, 'linked'));
  const spec: FieldSpec = { name: 'photo', type: 'file', required: true, format: 'jpeg', maxBytes: 20000, loc: { file: 'x', line: 1, col: 1 } };
  const ctx = { today: '20240115', baseDir: dir, files: new FileChecks(dir) };
  t.same(checkField(spec, 'linked/own.jpg', ctx), { ok: true, value: 'linked/own.jpg' });
  t.match(checkField(spec, 'linked/none.jpg', ctx), { ok: false, code: 'file-missing' });
  t.match(checkField(spec, 'linked', ctx), { ok: false, code: 'file-missing', problem: 'does not name a file' });
});

t.test('checkField answers synchronously, photos included', async (t) => {
  const dir = t.testdir({});
  copyFileSync(join(EXAMPLES, 'photos', '0001.jpg'), join(dir, 'p.jpg'));
  const spec: FieldSpec = { name: 'photo', type: 'file', required: true, format: 'jpeg', loc: { file: 'x', line: 1, col: 1 } };
  const r = checkField(spec, 'p.jpg', { today: '20240115', baseDir: dir });
  t.notOk(r instanceof Promise, 'a result, not a promise');
  t.same(r, { ok: true, value: 'p.jpg' });
});
