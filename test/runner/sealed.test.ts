// The sealed batch folder: manifest.json holds the digest of every file prep wrote (cards.jsonl
// line by line via cards.sha256, the size of blobs.pack, rejects.csv) and a MAC under the batch transport
// key. Every kind of edit — a line removed, copied, swapped, appended, one APDU byte changed with
// its read-back, the verify steps removed, a sealed blob moved to another card, blobs.pack cut,
// extended, removed or linked, the manifest's count changed or its MAC removed, a consistent
// rewrite of files and digests — is refused by run (exit 2, file and line named) before the
// journal exists or a station is touched, and by verify, report and script too. A photo changed
// inside blobs.pack (same size) is found by the SHA-256 its script names: that record is rejected
// before a card is taken, the others are issued. Batch fixtures: a `demo --cards 3` (run) and a fresh prep
// of the same input (not run).
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import t, { type Test } from 'tap';
import { cli } from '../helpers/cli.js';
import { ssCardStock } from '../helpers/sim-host.js';
import { Journal } from '../../personalization/journal/index.js';
import { readSimOutput } from '../../stations/index.js';
import { parseCardScript, type CardScript } from '../../personalization/script.js';
import { BATCH_MANIFEST_SCHEMA, CARD_SCRIPT_SCHEMA, manifestProblem } from '../../personalization/schemas.js';

const root = mkdtempSync(join(tmpdir(), 'sealed-test-'));
const demo = join(root, 'demo');
const made = await cli(['demo', '--cards', '3', '--out', demo]);
const storeArgs = ['--keystore', join(demo, 'keys.store'), '--pass-file', join(demo, 'demo-passphrase')];
const fresh = join(root, 'fresh');
// From here on another bureau's registry: the demo's knows these cardholders have cards.
process.env.CARDSMITH_REGISTRY = join(root, 'office-registry.sqlite');
const prepped = await cli(['prep', '--profile', 'builtin:sscard-gen3', '--input', join(demo, 'input', 'batch.csv'), '--out', fresh, ...storeArgs]);

t.test('fixtures: a run demo batch and a fresh prep', async (t) => {
  t.equal(made.code, 0, made.err);
  t.equal(prepped.code, 0, prepped.err);
  const m = JSON.parse(readFileSync(join(fresh, 'manifest.json'), 'utf8')) as { files: { inputFiles: unknown[]; blobs?: { size: number; count: number } } };
  t.match(m.files.blobs, { size: statSync(join(fresh, 'blobs.pack')).size, count: 3 }, 'the fresh batch has its 3 photos in blobs.pack, listed in the manifest');
  t.same(m.files.inputFiles, [], 'and no input-files/ copies');
  t.equal(manifestProblem(JSON.parse(readFileSync(join(fresh, 'manifest.json'), 'utf8'))), undefined, "prep's manifest matches the published schema");
});

let n = 0;
/** A copy of the fresh batch, edited. */
function edited(edit: (dir: string) => void): string {
  const dir = join(root, `case-${++n}`);
  cpSync(fresh, dir, { recursive: true });
  edit(dir);
  return dir;
}

const linesOf = (dir: string): string[] => readFileSync(join(dir, 'cards.jsonl'), 'utf8').split('\n').slice(0, -1);
const writeLines = (dir: string, lines: string[]): void => writeFileSync(join(dir, 'cards.jsonl'), lines.map((l) => `${l}\n`).join(''));
const scriptOf = (line: string): CardScript => JSON.parse(line) as CardScript;

/** run refuses with exit 2 naming `where`, and nothing reached a station: no journal, no simulated printer output. */
async function refusedBeforeAnyCard(t: Test, dir: string, where: RegExp): Promise<void> {
  const r = await cli(['run', dir, '--sim', '2', ...storeArgs]);
  t.equal(r.code, 2, 'run: exit 2', { out: r.out });
  t.match(r.err, where, 'run names the file and line');
  t.match(r.err, /^cardsmith: run: \S+/, 'one line, no stack trace');
  t.notOk(existsSync(join(dir, 'journal.sqlite')), 'no journal: no record was claimed');
  t.notOk(existsSync(join(dir, 'sim-output')), 'no simulated printer was used: no card saw an APDU');
  t.notOk(existsSync(join(dir, 'audit.log')), 'nothing in the batch audit log');
}

const cases: { name: string; edit: (dir: string) => void; where: RegExp }[] = [
  {
    name: 'a line removed',
    edit: (d) => writeLines(d, linesOf(d).filter((_, i) => i !== 1)),
    where: /cards\.jsonl:2: differs from what prep wrote \(it is line 3 as prep wrote it/,
  },
  {
    name: 'a line duplicated',
    edit: (d) => {
      const l = linesOf(d);
      writeLines(d, [l[0]!, l[0]!, ...l.slice(1)]);
    },
    where: /cards\.jsonl:2: differs from what prep wrote \(it is line 1 as prep wrote it/,
  },
  {
    name: 'two lines swapped',
    edit: (d) => {
      const l = linesOf(d);
      writeLines(d, [l[1]!, l[0]!, ...l.slice(2)]);
    },
    where: /cards\.jsonl:1: differs from what prep wrote \(it is line 2 as prep wrote it/,
  },
  {
    name: 'one APDU byte changed, and its expected read-back',
    edit: (d) => {
      const l = linesOf(d);
      const s = scriptOf(l[1]!);
      const check = s.verify.find((v) => v.op === 'check' && v.what.endsWith('/name'))! as { expect: string };
      const step = s.steps.find((x) => x.op === 'apdu' && x.apdu.endsWith(check.expect))! as { apdu: string };
      const changed = check.expect.slice(0, 6) + (check.expect.slice(6, 8) === '41' ? '42' : '41') + check.expect.slice(8);
      step.apdu = step.apdu.slice(0, -check.expect.length) + changed;
      check.expect = changed;
      l[1] = JSON.stringify(s);
      writeLines(d, l);
    },
    where: /cards\.jsonl:2: differs from what prep wrote \(the line was changed\)/,
  },
  {
    name: 'the verify steps removed',
    edit: (d) => {
      const l = linesOf(d);
      l[2] = JSON.stringify({ ...scriptOf(l[2]!), verify: [] });
      writeLines(d, l);
    },
    where: /cards\.jsonl:3: differs from what prep wrote \(the line was changed\)/,
  },
  {
    name: 'a sealed blob moved from one card to another',
    edit: (d) => {
      const l = linesOf(d);
      const from = /"sealed":"([A-Za-z0-9+/=]+)"/.exec(l[0]!)![1]!;
      const to = /"sealed":"([A-Za-z0-9+/=]+)"/.exec(l[1]!)![1]!;
      l[1] = l[1]!.replace(to, from);
      writeLines(d, l);
    },
    where: /cards\.jsonl:2: differs from what prep wrote/,
  },
  {
    name: 'a line appended',
    edit: (d) => {
      const l = linesOf(d);
      writeLines(d, [...l, JSON.stringify({ ...scriptOf(l[2]!), recordId: 'extra-record' })]);
    },
    where: /cards\.jsonl:4: a line prep did not write \(it wrote 3\)/,
  },
  {
    name: 'the last newline cut',
    edit: (d) => writeFileSync(join(d, 'cards.jsonl'), readFileSync(join(d, 'cards.jsonl'), 'utf8').slice(0, -1)),
    where: /cards\.jsonl:3: the file does not end with a newline/,
  },
  {
    name: "the manifest's card count changed",
    edit: (d) => {
      const m = JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8')) as { cards: number };
      m.cards = 2;
      writeFileSync(join(d, 'manifest.json'), JSON.stringify(m, null, 2));
    },
    where: /manifest\.json: "cards" says 2 card\(s\) but files\.cards lists 3 line\(s\)/,
  },
  {
    name: "the manifest's MAC removed",
    edit: (d) => {
      const m = JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8')) as { mac?: string };
      delete m.mac;
      writeFileSync(join(d, 'manifest.json'), JSON.stringify(m, null, 2));
    },
    where: /manifest\.json: not a valid manifest \(schemas\/batch-manifest\.schema\.json\): \(top level\): must have required property 'mac'/,
  },
  {
    name: 'blobs.pack cut short by a byte',
    edit: (d) => truncateSync(join(d, 'blobs.pack'), statSync(join(d, 'blobs.pack')).size - 1),
    where: /blobs\.pack: (\d+) bytes, prep wrote \d+: the file was cut short or replaced/,
  },
  {
    name: 'a byte appended to blobs.pack',
    edit: (d) => appendFileSync(join(d, 'blobs.pack'), Uint8Array.of(0)),
    where: /blobs\.pack: \d+ bytes, prep wrote \d+: the file was extended or replaced/,
  },
  {
    name: 'blobs.pack removed',
    edit: (d) => rmSync(join(d, 'blobs.pack')),
    where: /blobs\.pack: missing \(prep wrote \d+ bytes there/,
  },
  {
    name: 'blobs.pack replaced by a link',
    edit: (d) => {
      rmSync(join(d, 'blobs.pack'));
      symlinkSync(join(fresh, 'blobs.pack'), join(d, 'blobs.pack'));
    },
    where: /blobs\.pack: not a regular file/,
  },
  {
    name: 'cards.sha256 emptied',
    edit: (d) => writeFileSync(join(d, 'cards.sha256'), ''),
    where: /cards\.sha256: not the 3 line digest\(s\) manifest\.json lists/,
  },
];

for (const c of cases) {
  t.test(`run refuses ${c.name} before any card`, async (t) => {
    await refusedBeforeAnyCard(t, edited(c.edit), c.where);
  });
}

t.test('verify, report and script refuse an edited batch too, naming the line', async (t) => {
  const dir = edited(cases[3]!.edit);
  cpSync(join(demo, 'batch', 'journal.sqlite'), join(dir, 'journal.sqlite'));
  for (const args of [['verify', dir], ['verify', dir, '--sim', ...storeArgs], ['report', dir], ['script', 'show', dir, '--card', '1'], ['script', 'export', dir, '--card', '1', '--out', join(root, 'x.apdu')]]) {
    const r = await cli(args);
    t.equal(r.code, 2, `${args[0]} ${args[1]}: exit 2`);
    t.match(r.err, /cards\.jsonl:2: differs from what prep wrote/, `${args.slice(0, 2).join(' ')} names the line`);
  }
  t.notOk(existsSync(join(root, 'x.apdu')), 'script export wrote nothing');
});

t.test('a consistent rewrite of a line, cards.sha256 and the manifest root: only the MAC tells', async (t) => {
  const dir = edited((d) => {
    const l = linesOf(d);
    l[0] = JSON.stringify({ ...scriptOf(l[0]!), verify: [] });
    writeLines(d, l);
    const digests = l.map((x) => createHash('sha256').update(x).digest());
    writeFileSync(join(d, 'cards.sha256'), digests.map((x) => `${x.toString('hex')}\n`).join(''));
    const m = JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8')) as { files: { cards: { root: string } } };
    m.files.cards.root = createHash('sha256').update(Buffer.concat(digests)).digest('hex');
    writeFileSync(join(d, 'manifest.json'), JSON.stringify(m, null, 2));
  });
  await refusedBeforeAnyCard(t, dir, /run: .*manifest\.json: its MAC does not verify under batch-transport v1 \(KCV [0-9A-F]+\): the manifest was changed after prep/);
  const v = await cli(['script', 'show', dir, '--card', '1']);
  t.equal(v.code, 0, 'without a key store only the digests can be checked…');
  t.match(v.err, /note: .*manifest\.json's MAC was not checked \(no --keystore\)/, '…and the output says the MAC was not checked');
  const r = await cli(['report', dir, ...storeArgs]);
  t.equal(r.code, 2, 'report --keystore checks the MAC');
  t.match(r.err, /its MAC does not verify/);
});

t.test('a photo changed inside blobs.pack (same size): its record is rejected before a card is taken, the others are issued', async (t) => {
  let victim = '';
  const dir = edited((d) => {
    const s = scriptOf(linesOf(d)[1]!);
    victim = s.recordId;
    const photo = s.face!.fields.find((f) => f.kind === 'photo')!.blob!;
    const bytes = readFileSync(join(d, 'blobs.pack'));
    bytes[photo.at + 100] = bytes[photo.at + 100]! ^ 0x01;
    writeFileSync(join(d, 'blobs.pack'), bytes);
  });
  // A registry of its own: the batch tests below issue these cardholders' cards.
  const r = await cli(['run', dir, '--sim', '1', ...storeArgs, '--registry', join(root, 'photo-registry.sqlite')]);
  t.equal(r.code, 1, 'run: exit 1, a record rejected', { err: r.err });
  const journal = Journal.open(dir);
  t.teardown(() => journal.close());
  t.match(journal.get(victim), { state: 'rejected', reason: /bad batch: .*blobs\.pack: the \d+ bytes at offset \d+ have SHA-256 [0-9a-f]{16}…, the script names/ });
  for (const s of linesOf(dir).map(scriptOf).filter((x) => x.recordId !== victim)) t.match(journal.get(s.recordId), { state: 'issued' }, `${s.recordId}: issued`);
  const out = readSimOutput(dir, ssCardStock)!;
  t.equal(out.hopper.length, 2, 'two cards issued');
  t.equal(out.rejectBin.length, 0, 'no card spent on the record whose photo does not check');
});

t.test('an intact batch: run, verify, report, script all accept it', async (t) => {
  const dir = edited(() => {});
  const r = await cli(['run', dir, '--sim', '2', ...storeArgs]);
  t.equal(r.code, 0, r.err);
  t.equal((await cli(['verify', dir, ...storeArgs])).code, 0);
  t.equal((await cli(['verify', dir, '--sim', ...storeArgs])).code, 0);
  const rep = await cli(['report', dir]);
  t.equal(rep.code, 0, rep.err);
  t.match(rep.err, /MAC was not checked/);
  t.equal((await cli(['report', dir, ...storeArgs])).err, '', 'with --keystore: no note');
  t.equal((await cli(['script', 'show', dir, '--card', '2'])).code, 0);
});

t.test('published schemas: `script schema` prints the shipped files; a card script is checked on load', async (t) => {
  const shipped = (f: string): unknown => JSON.parse(readFileSync(new URL(`../../schemas/${f}`, import.meta.url), 'utf8'));
  t.same(shipped('card-script.schema.json'), CARD_SCRIPT_SCHEMA);
  t.same(shipped('batch-manifest.schema.json'), BATCH_MANIFEST_SCHEMA);
  t.same(JSON.parse((await cli(['script', 'schema'])).out), CARD_SCRIPT_SCHEMA);
  t.same(JSON.parse((await cli(['script', 'schema', 'manifest'])).out), BATCH_MANIFEST_SCHEMA);
  const line = linesOf(fresh)[0]!;
  t.ok(parseCardScript(line, 'cards.jsonl:1'), "prep's scripts match the schema");
  const s = scriptOf(line);
  (s.steps[0] as { apdu: string }).apdu = '00A4000';
  t.throws(() => parseCardScript(JSON.stringify(s), 'cards.jsonl:1'), /^cards\.jsonl:1: not a valid card script \(schemas\/card-script\.schema\.json\): steps\/0\/apdu: must match pattern/);
  t.throws(() => parseCardScript(JSON.stringify({ ...scriptOf(line), extra: 1 }), 'cards.jsonl:7'), /cards\.jsonl:7: .*\(top level\): unexpected property "extra"/);
  const noVerifyWhat = scriptOf(line);
  delete (noVerifyWhat.verify.find((v) => v.op === 'check') as { what?: string }).what;
  t.throws(() => parseCardScript(JSON.stringify(noVerifyWhat), 'x:1'), /verify\/\d+: must have required property 'what'/);
});
