// The issuance registry through the CLI, as a bureau meets it: a batch's journal deleted, emptied or
// taken from another batch; the same cardholders in a second batch (refused unless a replacement,
// at prep and, when both batches were prepared first, at run); records put in review by the
// registry and resolved by an operator; `verify` comparing journal and registry.
import Database from 'better-sqlite3';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { verifyAuditLog } from '../../keys/audit.js';
import { IssuanceRegistry } from '../../personalization/registry/index.js';
import { loadBatch } from '../../personalization/runner/run.js';
import { cli } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'cardsmith-registry-cli-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const demo = join(root, 'demo');
const demoRun = await cli(['demo', '--cards', '4', '--out', demo]);
t.equal(demoRun.code, 0, demoRun.err.slice(-500));
const registryFile = join(demo, 'issuance-registry.sqlite');
const store = ['--keystore', join(demo, 'keys.store'), '--pass-file', join(demo, 'demo-passphrase')];
/** Rework finds the registry beside the key store; it does not open the store. */
const beside = ['--keystore', join(demo, 'keys.store')];
const csv = readFileSync(join(demo, 'input', 'batch.csv'), 'utf8').trimEnd().split(/\r?\n/);
const examples = join(import.meta.dirname, '..', '..', 'examples');
const example = readFileSync(join(examples, 'sscard-gen3-batch.csv'), 'utf8').trimEnd().split(/\r?\n/);
cpSync(join(examples, 'photos'), join(demo, 'input', 'photos'), { recursive: true });

/** Cards per state and reservations ever made, straight from the registry file. */
function registryState(): { issued: number; reserved: number; replaced: number; reservations: number } {
  const db = new Database(registryFile, { readonly: true });
  try {
    const n = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    return {
      issued: n("SELECT count(*) AS n FROM cards WHERE state = 'issued'"),
      reserved: n("SELECT count(*) AS n FROM cards WHERE state = 'reserved'"),
      replaced: n("SELECT count(*) AS n FROM cards WHERE state = 'replaced'"),
      reservations: n("SELECT count(*) AS n FROM events WHERE op = 'reserved'"),
    };
  } finally {
    db.close();
  }
}

/** Cards the simulated printers put in their output hoppers. */
function hopperCards(batch: string): number {
  const dir = join(batch, 'sim-output', 'hopper');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).length : 0;
}

function writeCsv(name: string, lines: string[]): string {
  const path = join(demo, 'input', name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

const batch = join(demo, 'batch');
const before = registryState();
t.same(before, { issued: 4, reserved: 0, replaced: 0, reservations: 4 }, 'the demo issued 4 cards into the registry');

t.test('the journal deleted: no record is personalized again', async (t) => {
  for (const f of readdirSync(batch)) if (f.startsWith('journal.sqlite')) rmSync(join(batch, f));
  const hopper = hopperCards(batch);
  const r = await cli(['run', batch, '--sim', '4', ...store]);
  t.equal(r.code, 0, r.err.slice(-400));
  t.match(r.err, /issued in the issuance registry but not in this journal/, 'the run says where the issued records came from');
  t.same(registryState(), before, 'no new reservation, no new card');
  t.equal(hopperCards(batch), hopper, 'no card left the printers');
  const v = await cli(['verify', batch, ...store]);
  t.equal(v.code, 0, v.out);
  t.match(v.out, /issuance registry .*: agrees with the journal/);
});

t.test('a zero-length journal: no record is personalized again', async (t) => {
  for (const f of readdirSync(batch)) if (f.startsWith('journal.sqlite-')) rmSync(join(batch, f));
  writeFileSync(join(batch, 'journal.sqlite'), '');
  const r = await cli(['run', batch, '--sim', '4', ...store]);
  t.not(r.code, 1, r.err.slice(-400));
  t.same(registryState(), before, 'no new reservation, no new card');
});

t.test('the same cardholders in a second batch: refused at prep, unless the record is a replacement', async (t) => {
  const again = await cli(['prep', '--profile', 'builtin:sscard-gen3', '--input', join(demo, 'input', 'batch.csv'), '--out', join(root, 'again'), ...store]);
  t.equal(again.code, 2);
  t.equal((again.err.match(/already has a live card of sscard-gen3/g) ?? []).length, 4, 'every cardholder is named, with the line');
  t.match(again.err, /batch\.csv:2: ssn: .*card number A0000001/);
  t.notOk(existsSync(join(root, 'again', 'cards.jsonl')), 'nothing prepared');

  const onlyReason = writeCsv('half.csv', [`${csv[0]},replacement,replacementReason`, `${csv[1]},,case 7`]);
  const half = await cli(['prep', '--profile', 'builtin:sscard-gen3', '--input', onlyReason, '--out', join(root, 'half'), ...store]);
  t.equal(half.code, 2);
  t.match(half.err, /replacementReason is given but replacement is empty/);

  const lost = writeCsv('lost.csv', [`${csv[0]},replacement,replacementReason`, `${csv[1]},lost,police report 2026-118`]);
  const p = await cli(['prep', '--profile', 'builtin:sscard-gen3', '--input', lost, '--out', join(root, 'replacement'), ...store]);
  t.equal(p.code, 0, p.err);
  t.match(p.out, /card serials 5\.\.5/, 'card numbers continue from the registry');
  const r = await cli(['run', join(root, 'replacement'), '--sim', '1', ...store]);
  t.equal(r.code, 0, r.err.slice(-400));
  const s = registryState();
  t.match(s, { issued: 4, replaced: 1 }, 'the new card is issued, the lost one replaced');
  const show = await cli(['registry', 'show', '--registry', registryFile, '--state', 'replaced']);
  t.match(show.out, /A00000011 chip [0-9A-F]+ replaced .* replaced by card A00000054 \(lost: police report 2026-118\)/);
  t.notMatch(show.out, /110105198503120215/, 'no ID number in the registry');
});

t.test('two batches prepared before either ran: the second run refuses the cardholders the first issued', async (t) => {
  const pair = writeCsv('pair.csv', [example[0]!, example[9]!, example[10]!]);
  for (const name of ['f', 'g']) {
    const p = await cli(['prep', '--profile', 'builtin:sscard-gen3', '--input', pair, '--out', join(root, name), ...store]);
    t.equal(p.code, 0, p.err);
  }
  const f = await cli(['run', join(root, 'f'), '--sim', '2', ...store]);
  t.equal(f.code, 0, f.err.slice(-400));
  const issued = registryState().issued;
  const g = await cli(['run', join(root, 'g'), '--sim', '2', ...store, '--json']);
  t.equal(g.code, 1, 'exit 1: records rejected');
  t.match(JSON.parse(g.out.trim().split('\n').pop()!), { counts: { issued: 0, rejected: 2 } });
  t.match(g.err, /already has a live card of sscard-gen3/);
  t.equal(registryState().issued, issued, 'no second card for either cardholder');
  t.equal(hopperCards(join(root, 'g')), 0, 'no card was used');

  // An operator puts one back (say, after the cardholder's first card was withdrawn): journal, registry and audit log record it.
  const id = loadBatch(join(root, 'g')).scripts.keys().next().value as string;
  const rq = await cli(['rework', 'requeue', join(root, 'g'), id, '--reason', 'checked with the cardholder office', ...beside]);
  t.equal(rq.code, 0, rq.err);
  t.match(rq.out, /requeued \(now pending\)/);
  const audit = readFileSync(join(root, 'g', 'audit.log'), 'utf8');
  t.match(audit, /"op":"record-requeued"/);
  t.equal(verifyAuditLog(join(root, 'g', 'audit.log')).entries, audit.trim().split('\n').length, 'the audit chain stays valid');
  const reg = IssuanceRegistry.open(registryFile);
  t.teardown(() => reg.close());
  t.match(reg.events(loadBatch(join(root, 'g')).id, id).map((e) => e.op), ['requeued']);
  t.equal((await cli(['rework', 'requeue', join(root, 'g'), 'no-such-record', '--reason', 'x', ...beside])).code, 2);
});

t.test('a card the registry has in the making that the journal does not know: review, then an operator resolves it', async (t) => {
  const one = writeCsv('one.csv', [example[0]!, example[12]!, example[13]!]);
  const dir = join(root, 'review');
  t.equal((await cli(['prep', '--profile', 'builtin:sscard-gen3', '--input', one, '--out', dir, ...store])).code, 0);
  const b = loadBatch(dir);
  const [first, second] = [...b.scripts.values()];
  // As if a run on another machine wrote these cards and its journal was lost.
  const reg = IssuanceRegistry.open(registryFile);
  for (const [s, chip] of [
    [first!, 'C0FFEE0000000001'],
    [second!, 'C0FFEE0000000002'],
  ] as const) {
    reg.reserve({ product: 'sscard-gen3', revision: '1', batch: b.id, record: s.recordId, holder: s.issuance!.holder!, chip, keys: [], station: 'lost-machine' });
  }
  reg.close();
  const r = await cli(['run', dir, '--sim', '1', ...store, '--json']);
  t.equal(r.code, 1);
  t.match(JSON.parse(r.out.trim().split('\n').pop()!), { counts: { review: 2, issued: 0 } });
  t.match(r.err, /held for review/);

  const bad = await cli(['rework', 'resolve', dir, first!.recordId, '--issued', '--chip', 'C0FFEE00000000FF', '--reason', 'checked', ...beside]);
  t.equal(bad.code, 2, 'the wrong chip is refused');
  t.match(bad.err, /C0FFEE0000000001/);
  const ok = await cli(['rework', 'resolve', dir, first!.recordId, '--issued', '--chip', 'c0ffee0000000001', '--reason', 'verified in the desk reader', ...beside]);
  t.equal(ok.code, 0, ok.err);
  t.match(ok.out, /resolved as issued on chip C0FFEE0000000001 \(now issued\)/);
  const no = await cli(['rework', 'resolve', dir, second!.recordId, '--not-issued', '--reason', 'card destroyed', ...beside]);
  t.equal(no.code, 0, no.err);
  const again = await cli(['run', dir, '--sim', '1', ...store]);
  t.equal(again.code, 0, again.err.slice(-400));
  t.match(again.out, /2 issued, 0 rejected of 2/, 'the resolved one and the new card');
  const v = await cli(['verify', dir, ...store]);
  t.equal(v.code, 0, v.out);
  t.match(v.out, /agrees with the journal/);
});

t.test('a cardholder whose card is being written in another batch is held back, then issued when that card fails', async (t) => {
  const dir = join(root, 'held');
  t.equal((await cli(['prep', '--profile', 'builtin:sscard-gen3', '--input', writeCsv('held.csv', [example[0]!, example[17]!]), '--out', dir, ...store])).code, 0);
  const script = [...loadBatch(dir).scripts.values()][0]!;
  const reg = IssuanceRegistry.open(registryFile);
  t.teardown(() => reg.close());
  reg.reserve({ product: 'sscard-gen3', revision: '1', batch: 'elsewhere', record: 'x1', holder: script.issuance!.holder!, chip: 'ABAB000000000001', keys: [], station: 'other-machine' });
  const r = await cli(['run', dir, '--sim', '1', ...store]);
  t.equal(r.code, 1);
  t.match(r.out, /0 issued, 0 rejected, 1 not done \(1 held back: the cardholder's card is being written in another batch/);
  t.equal(hopperCards(dir), 0, 'no card was used');
  reg.void('elsewhere', 'x1', 'ABAB000000000001', 'that card failed its verify steps');
  const again = await cli(['run', dir, '--sim', '1', ...store]);
  t.equal(again.code, 0, again.err.slice(-300));
  t.match(again.out, /1 issued, 0 rejected of 1/);
});

t.test('verify: a journal and a registry that disagree fail', async (t) => {
  const other = join(root, 'other-registry.sqlite');
  IssuanceRegistry.open(other).close();
  const v = await cli(['verify', batch, '--registry', other, '--json']);
  t.equal(v.code, 1);
  const o = JSON.parse(v.out) as { registry: { checked: boolean; disagreements: { record: string; registry: string }[] } };
  t.equal(o.registry.checked, true);
  t.equal(o.registry.disagreements.length, 4, 'every issued record is missing from that registry');
  t.match(o.registry.disagreements[0], { registry: 'no card' });
  const unchecked = await cli(['verify', batch]);
  t.match(unchecked.out, /issuance registry: not checked/);
});

t.test('a journal copied from another batch is refused; nothing is issued', async (t) => {
  const copy = join(root, 'copied');
  const pair = writeCsv('copy.csv', [example[0]!, example[15]!]);
  t.equal((await cli(['prep', '--profile', 'builtin:sscard-gen3', '--input', pair, '--out', copy, ...store])).code, 0);
  const state = registryState();
  for (const f of readdirSync(batch)) if (f.startsWith('journal.sqlite')) rmSync(join(batch, f));
  t.equal((await cli(['run', batch, '--sim', '1', ...store])).code, 0, 'the demo batch gets a journal again (from the registry)');
  copyFileSync(join(batch, 'journal.sqlite'), join(copy, 'journal.sqlite'));
  const r = await cli(['run', copy, '--sim', '1', ...store]);
  t.equal(r.code, 2);
  t.match(r.err, /belongs to batch/);
  t.same(registryState(), state, 'nothing reserved or issued');
});
