// Nothing is overwritten by accident: prep refuses an --out holding a batch (every file stays byte
// for byte) and leaves nothing that looks like a batch when it fails; report --html writes only a
// new file or over an earlier report (never over the journal); report and verify read only the
// batch's own journal — one copied from another batch, an empty (0-byte) one or a missing one
// where the batch has run are refused with a clear message (exit 2).
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { cli } from '../helpers/cli.js';
import { Journal } from '../../personalization/journal/index.js';
import { FileKeyStore } from '../../keys/index.js';
import { prepBatch } from '../../personalization/prep/index.js';
import { loadProfile } from '../../profiles/index.js';
import { DEMO_SEAL_KEY } from '../../personalization/demo.js';

const root = mkdtempSync(join(tmpdir(), 'no-overwrite-test-'));
const demo = join(root, 'demo');
const made = await cli(['demo', '--cards', '2', '--out', demo]);
const batch = join(demo, 'batch');
const input = join(demo, 'input', 'batch.csv');
const storeArgs = ['--keystore', join(demo, 'keys.store'), '--pass-file', join(demo, 'demo-passphrase')];
// A registry of its own: the demo's knows these cardholders have cards (prep would refuse them as such).
const prepArgs = (out: string) => ['prep', '--profile', 'builtin:sscard-gen3', '--input', input, '--out', out, ...storeArgs, '--registry', join(root, 'office-registry.sqlite')];

/** Every file under `dir` with its bytes. */
function snapshot(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const f of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) if (statSync(join(dir, f)).isFile()) files.set(f, readFileSync(join(dir, f)));
  return files;
}

t.test('fixture: a demo batch that has run', async (t) => {
  t.equal(made.code, 0, made.err);
  t.ok(existsSync(join(batch, 'journal.sqlite')));
});

t.test('prep refuses an --out that holds a batch: exit 2, every file byte-identical', async (t) => {
  const before = snapshot(batch);
  const r = await cli(prepArgs(batch));
  t.equal(r.code, 2, r.out);
  t.match(r.err, /prep: .*batch already holds a batch \(manifest\.json, cards\.jsonl, cards\.sha256, blobs\.pack, journal\.sqlite, audit\.log\): prep never writes over one/);
  t.ok(before.has('blobs.pack'), 'the batch holds its photos in blobs.pack');
  t.same(snapshot(batch), before, 'the batch folder is untouched (blobs.pack too)');
  t.same(readdirSync(demo).filter((f) => f.startsWith('.')), [], 'no staging folder left beside it');
  // A folder holding only a prepared batch (never run) is refused the same way.
  const prepared = join(root, 'prepared');
  t.equal((await cli(prepArgs(prepared))).code, 0);
  const first = snapshot(prepared);
  const again = await cli(prepArgs(prepared));
  t.equal(again.code, 2);
  t.same(snapshot(prepared), first);
  // A lone journal is a batch too.
  const lone = join(root, 'lone');
  mkdirSync(lone);
  copyFileSync(join(batch, 'journal.sqlite'), join(lone, 'journal.sqlite'));
  t.equal((await cli(prepArgs(lone))).code, 2);
  t.same(readdirSync(lone), ['journal.sqlite']);
});

t.test('prep into a new or empty folder, or beside unrelated files', async (t) => {
  const empty = join(root, 'empty');
  mkdirSync(empty);
  t.equal((await cli(prepArgs(empty))).code, 0);
  t.ok(existsSync(join(empty, 'manifest.json')));
  const mixed = join(root, 'mixed');
  mkdirSync(mixed);
  writeFileSync(join(mixed, 'notes.txt'), 'operator notes');
  t.equal((await cli(prepArgs(mixed))).code, 0);
  t.equal(readFileSync(join(mixed, 'notes.txt'), 'utf8'), 'operator notes', 'an unrelated file stays as it was');
  t.equal((await cli(['script', 'show', mixed, '--card', '1'])).code, 0, 'the batch checks out');
});

t.test("a folder holding only an invalid prep's rejects.csv takes the corrected batch", async (t) => {
  const bad = join(root, 'bad.csv');
  writeFileSync(bad, readFileSync(input, 'utf8') + '110105198503120216,李四,,1,01,110105,1985-03-12,photos/0004.jpg\n');
  const out = join(root, 'retry');
  const r = await cli(['prep', '--profile', 'builtin:sscard-gen3', '--input', bad, '--out', out, ...storeArgs]);
  t.equal(r.code, 2);
  t.same(readdirSync(out), ['rejects.csv'], 'the rejects report and nothing else');
  t.equal((await cli(prepArgs(out))).code, 0, 'the corrected input is prepared into the same folder');
  t.notOk(existsSync(join(out, 'rejects.csv')), 'the stale rejects report is gone');
  t.equal((await cli(['script', 'show', out, '--card', '1'])).code, 0);
});

t.test('a prep that fails midway leaves nothing that looks like a batch', async (t) => {
  const store = await FileKeyStore.open(join(demo, 'keys.store'), new TextEncoder().encode(readFileSync(join(demo, 'demo-passphrase'), 'utf8').trim()));
  t.teardown(() => store.close());
  const out = join(root, 'failed', 'batch');
  let cards = 0;
  await t.rejects(
    prepBatch({
      profile: loadProfile('builtin:sscard-gen3'),
      profileFile: 'builtin:sscard-gen3',
      input,
      store,
      out,
      sealKey: DEMO_SEAL_KEY,
      onProgress: (p) => {
        cards = p.cards;
        if (p.cards === 1) throw new Error('disk pulled');
      },
    }),
    /disk pulled/,
  );
  t.equal(cards, 1, 'it failed after writing a card');
  t.notOk(existsSync(out), 'no --out folder');
  t.same(readdirSync(dirname(out)), [], 'and no staging folder');
});

t.test('report --html never overwrites what is not a report', async (t) => {
  const journal = join(batch, 'journal.sqlite');
  const jBefore = readFileSync(journal);
  const r = await cli(['report', batch, '--html', journal]);
  t.equal(r.code, 2);
  t.match(r.err, /journal\.sqlite exists and is not a cardsmith HTML report: it is not overwritten/);
  t.ok(readFileSync(journal).equals(jBefore), 'journal byte-identical');
  const other = join(root, 'notes.html');
  writeFileSync(other, '<!doctype html><p>someone else’s page</p>');
  const oBefore = readFileSync(other);
  t.equal((await cli(['report', batch, '--html', other])).code, 2);
  t.ok(readFileSync(other).equals(oBefore), 'an unrelated file byte-identical');
  const scripts = join(batch, 'cards.jsonl');
  const sBefore = readFileSync(scripts);
  t.equal((await cli(['report', batch, '--html', scripts])).code, 2);
  t.ok(readFileSync(scripts).equals(sBefore));
  // A new file, then the same file again (an earlier report is replaced).
  const file = join(root, 'report.html');
  t.equal((await cli(['report', batch, '--html', file])).code, 0);
  t.equal((await cli(['report', batch, '--html', file])).code, 0, 'an earlier report is replaced');
  t.match(readFileSync(file, 'utf8'), /^<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="generator" content="cardsmith report">/);
});

t.test("report and verify refuse another batch's journal, an empty one, a missing one", async (t) => {
  // A second batch of the same records, run: its journal is not the demo batch's.
  const second = join(root, 'second');
  t.equal((await cli(prepArgs(second))).code, 0);
  t.equal((await cli(['run', second, '--sim', '2', ...storeArgs, '--registry', join(root, 'office-registry.sqlite')])).code, 0);
  const copy = join(root, 'copy');
  cpSync(batch, copy, { recursive: true });
  for (const f of ['journal.sqlite', 'journal.sqlite-wal', 'journal.sqlite-shm']) rmSync(join(copy, f), { force: true });
  copyFileSync(join(second, 'journal.sqlite'), join(copy, 'journal.sqlite'));
  const foreign = snapshot(copy);
  for (const cmd of [['report', copy], ['verify', copy], ['verify', copy, '--sim', ...storeArgs]]) {
    const r = await cli(cmd);
    t.equal(r.code, 2, `${cmd.join(' ')}: exit 2`);
    t.match(r.err, /journal\.sqlite belongs to batch "sscard-gen3:[0-9a-f]{16}", not "sscard-gen3:[0-9a-f]{16}"/);
  }
  t.same(snapshot(copy).get('journal.sqlite'), foreign.get('journal.sqlite'), 'the foreign journal is left as it was');

  writeFileSync(join(copy, 'journal.sqlite'), '');
  for (const cmd of [['report', copy], ['verify', copy]]) {
    const r = await cli(cmd);
    t.equal(r.code, 2, `${cmd[0]} on a zero-length journal: exit 2`);
    t.match(r.err, /journal\.sqlite is empty \(0 bytes\): the journal of this batch was truncated or replaced/);
  }
  t.equal(statSync(join(copy, 'journal.sqlite')).size, 0, 'still empty: nothing was created in it');

  rmSync(join(copy, 'journal.sqlite'));
  for (const cmd of [['report', copy], ['verify', copy]]) {
    const r = await cli(cmd);
    t.equal(r.code, 2);
    t.match(r.err, /journal\.sqlite is missing, but audit\.log shows this batch has run/);
  }
  const notRun = join(root, 'prepared');
  t.match((await cli(['report', notRun])).err, /has no journal \(run the batch with cardsmith run first\)/);
});

t.test('the journal is bound to the manifest digest too', async (t) => {
  const dir = mkdtempSync(join(root, 'bound-'));
  Journal.open(dir, { create: true, batchId: 'b:1', manifestSha256: 'a'.repeat(64) }).close();
  t.throws(() => Journal.open(dir, { batchId: 'b:1', manifestSha256: 'b'.repeat(64) }), { name: 'JournalMismatchError', message: /another batch's journal/ });
  t.doesNotThrow(() => Journal.open(dir, { batchId: 'b:1', manifestSha256: 'a'.repeat(64) }).close());
});
