// prep against hostile or unlucky input: a full disk (a real one: a small tmpfs, where this
// machine lets the test mount one), a batch with a header and no records, a batch whose every
// record is rejected, rejects that a spreadsheet would run as formulas, a photo that is a link
// out of the batch folder, a 1 MB field.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { cli } from '../helpers/cli.js';
import { makeStore, PASS } from './fixtures/store.js';

const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;
const HEADER = 'ssn,name,nameExtension,sex,ethnicity,birthplace,birthDate,photo';
const env = { CARDSMITH_KEYSTORE_PASS: new TextDecoder().decode(PASS) };

/** The first `n` records of the example batch and their photos, in `dir`; `edit` changes the lines. */
function batch(dir: string, n: number, edit: (lines: string[]) => string[] = (l) => l): string {
  const lines = readFileSync(join(EXAMPLES, 'sscard-gen3-batch.csv'), 'utf8').trimEnd().split('\n').slice(0, n + 1);
  mkdirSync(join(dir, 'photos'), { recursive: true });
  for (const f of readdirSync(join(EXAMPLES, 'photos'))) copyFileSync(join(EXAMPLES, 'photos', f), join(dir, 'photos', f));
  const path = join(dir, `batch-${n}.csv`);
  writeFileSync(path, edit(lines).join('\n') + '\n');
  return path;
}

const prep = (path: string, input: string, out: string, ...more: string[]) => cli(['prep', '--profile', 'builtin:sscard-gen3', '--input', input, '--keystore', path, '--out', out, ...more], { env });

t.test('a batch with a header and no records: refused at prep, exit 2, nothing written', async (t) => {
  const { store, dir, path } = await makeStore();
  await store.close();
  const input = join(dir, 'header-only.csv');
  writeFileSync(input, HEADER + '\n');
  const r = await prep(path, input, join(dir, 'out'));
  t.equal(r.code, 2);
  t.match(r.err, `${input}:2: the batch has a header row and no records (hint: add one line per cardholder under the header)`);
  t.notOk(existsSync(join(dir, 'out', 'manifest.json')), 'no manifest');
  t.notOk(existsSync(join(dir, 'out', 'cards.jsonl')), 'no cards.jsonl');
});

t.test('--skip-invalid with every record rejected: refused, exit 2, only the rejects report', async (t) => {
  const { store, dir, path } = await makeStore();
  await store.close();
  const input = batch(dir, 2, (l) => l.map((x, i) => (i === 0 ? x : x.replace(/^\d{17}/, '12345678901234567'))));
  const r = await prep(path, input, join(dir, 'out'), '--skip-invalid');
  t.equal(r.code, 2);
  t.match(r.err, 'nothing prepared (no record is valid)');
  t.same(readdirSync(join(dir, 'out')), ['rejects.csv']);
});

t.test('rejects.csv: cells a spreadsheet would run as formulas start with a quote', async (t) => {
  const { store, dir, path } = await makeStore();
  await store.close();
  // The masked value keeps the first character: =, +, - and @ reach the report.
  const input = batch(dir, 5, (l) => [l[0]!, l[1]!, ...['=', '+', '-', '@'].map((c, i) => l[i + 2]!.replace(/^\d/, c))]);
  const r = await prep(path, input, join(dir, 'out'), '--skip-invalid');
  t.equal(r.code, 0, r.err);
  const rows = readFileSync(join(dir, 'out', 'rejects.csv'), 'utf8').trimEnd().split('\n').slice(1);
  t.equal(rows.length, 4);
  for (const [i, c] of ['=', '+', '-', '@'].entries()) {
    const masked = rows[i]!.split(',').at(-1)!;
    t.equal(masked[0], "'", `${c}… is written '${c}…`);
    t.equal(masked[1], c);
  }
  for (const row of rows) for (const cell of row.split(',')) t.notMatch(cell, /^[=+\-@\t\r]/, 'no cell starts a formula');
});

t.test('a photo that is a link out of the batch folder: the record is rejected at its line and column', async (t) => {
  const { store, dir, path } = await makeStore();
  await store.close();
  const outside = mkdtempSync(join(tmpdir(), 'outside-'));
  copyFileSync(join(EXAMPLES, 'photos', '0001.jpg'), join(outside, 'secret.jpg'));
  const input = batch(dir, 3, (l) => [l[0]!, l[1]!, l[2]!.replace('photos/0002.jpg', 'link.jpg'), l[3]!.replace('photos/0003.jpg', 'linked-dir/secret.jpg')]);
  symlinkSync(join(outside, 'secret.jpg'), join(dir, 'link.jpg'));
  symlinkSync(outside, join(dir, 'linked-dir'));
  const r = await prep(path, input, join(dir, 'out'));
  t.equal(r.code, 2);
  t.match(r.err, `${input}:3:47: photo: file link.jpg is a link to a place outside the batch folder`);
  t.match(r.err, `${input}:4:47: photo: file linked-dir/secret.jpg is a link to a place outside the batch folder`);
  t.notOk(existsSync(join(dir, 'out', 'cards.jsonl')), 'nothing prepared');
  // A link that stays inside the folder is a file of the batch like any other.
  symlinkSync(join(dir, 'photos', '0002.jpg'), join(dir, 'inside.jpg'));
  const ok = await prep(path, batch(dir, 2, (l) => [l[0]!, l[1]!, l[2]!.replace('photos/0002.jpg', 'inside.jpg')]), join(dir, 'ok'));
  t.equal(ok.code, 0, ok.err);
});

t.test('a 1 MB field: the reject line stays short, the value masked and its length given', async (t) => {
  const { store, dir, path } = await makeStore();
  await store.close();
  const input = batch(dir, 1, (l) => [l[0]!, l[1]!.replace('张伟', '张'.repeat(350_000))]);
  const r = await prep(path, input, join(dir, 'out'));
  t.equal(r.code, 2);
  const line = r.err.split('\n').find((x) => x.includes(':2:20: name:'))!;
  t.ok(line.length < 250, `${line.length} characters`);
  t.match(line, /\(value 张\*+…张 \(350000 characters\)\)/);
});

// Root can mount a small tmpfs: a disk that really fills up. Elsewhere the test says why it is skipped.
const mnt = mkdtempSync(join(tmpdir(), 'full-disk-'));
const noMount = process.getuid?.() !== 0 ? 'needs root to mount a tmpfs' : mountTmpfs(mnt, '160k');

t.test('a full disk: one clear line, exit 1, nothing half-written left', { skip: noMount ? `a real full disk: ${noMount}` : false }, async (t) => {
  t.teardown(() => {
    spawnSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });
  const { store, dir, path } = await makeStore();
  await store.close();
  // 20 cards need ~560 KB: cards.jsonl fills the 160 KB disk part way through.
  const r = await prep(path, batch(dir, 20), join(mnt, 'b'));
  t.equal(r.code, 1, 'exit 1');
  t.equal(r.err.trim().split('\n').at(-1), `cardsmith: disk full while writing ${join(mnt, 'b', 'cards.jsonl')}; nothing was prepared (free space, or choose another --out, and run prep again)`);
  t.same(readdirSync(mnt), [], 'no batch folder, no staging folder, no partial file left');
  // A disk with room for the cards but not the manifest: the cards go again.
  writeFileSync(join(mnt, 'filler'), Buffer.alloc(128 * 1024)); // 32 KB left: the 2 cards' scripts (30 KB) and their photos (7 KB) do not both fit
  const r2 = await prep(path, batch(dir, 2), join(mnt, 'b'));
  t.equal(r2.code, 1, 'exit 1');
  // Today the manifest is what does not fit; the sizes may move, the promise may not.
  t.match(r2.err.trim().split('\n').at(-1), /^cardsmith: disk full while writing \S+\/b\/(manifest\.json|cards\.jsonl|cards\.sha256|blobs\.pack); nothing was prepared/);
  t.same(readdirSync(mnt), ['filler'], 'nothing that looks like a batch, no staging folder');
});

/** Mounts a tmpfs of `size` at `dir`; the reason it could not, or undefined. */
function mountTmpfs(dir: string, size: string): string | undefined {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.error) return `mount: ${r.error.message}`;
  return r.status === 0 ? undefined : `mount -t tmpfs failed: ${(r.stderr || '').trim() || `exit ${r.status}`}`;
}
