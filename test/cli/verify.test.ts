// `cardsmith verify` on a batch made by `cardsmith demo --cards 4`: the journal summary (all
// verified → exit 0; an issued record whose verification is missing or failed → exit 1, named), the
// JSON form, bad input (exit 2), and the reader mode against a blank simulated card (exit 1). The
// reader mode on a personalized card is tested through pcscd + vpcd in test/runner/pcsc.test.ts.
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { cli, cliProcess } from '../helpers/cli.js';
import { binSkipReason } from '../helpers/pcsc.js';

const root = mkdtempSync(join(tmpdir(), 'verify-test-'));
const demo = join(root, 'demo');
const made = await cli(['demo', '--cards', '4', '--out', demo]);
const batch = join(demo, 'batch');
const ids = readFileSync(join(batch, 'cards.jsonl'), 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { recordId: string }).recordId);
const storeArgs = ['--keystore', join(demo, 'keys.store'), '--pass-file', join(demo, 'demo-passphrase')];

t.test('the demo batch: 4 records issued', async (t) => {
  t.equal(made.code, 0, 'demo exit 0', { stderr: made.err });
  t.equal(ids.length, 4);
});

t.test('journal summary: every record issued, verified, with its chip serial; exit 0', async (t) => {
  const r = await cli(['verify', batch]);
  t.equal(r.code, 0, 'exit 0', { stderr: r.err });
  for (const id of ids) t.match(r.out, new RegExp(`^${id}: issued, verification passed \\(\\d+ checks\\), chip [0-9A-F]+$`, 'm'));
  t.match(r.out, /^4 issued, 0 rejected of 4; every issued record has a passed verification$/m);

  const j = await cli(['verify', batch, '--json']);
  t.equal(j.code, 0);
  const o = JSON.parse(j.out) as { ok: boolean; mode: string; records: { id: string; state: string; chipSerial: string; verification: { ok: boolean } }[]; unverified: string[] };
  t.equal(o.ok, true);
  t.equal(o.mode, 'journal');
  t.same(o.records.map((x) => x.id), ids);
  t.ok(o.records.every((x) => x.state === 'issued' && x.verification.ok && /^[0-9A-F]+$/.test(x.chipSerial)));
  t.same(o.unverified, []);

  const one = await cli(['verify', batch, '--record', ids[1]!]);
  t.equal(one.code, 0);
  t.equal(one.out.split('\n').filter((l) => l.startsWith(`${ids[1]}:`)).length, 1);
  t.notMatch(one.out, new RegExp(`^${ids[0]}:`, 'm'));
});

t.test('an issued record without a passed verification: exit 1, named', async (t) => {
  const copy = join(root, 'tampered');
  cpSync(batch, copy, { recursive: true });
  const db = new Database(join(copy, 'journal.sqlite'));
  db.prepare('UPDATE records SET verification = NULL WHERE id = ?').run(ids[2]);
  db.close();
  const r = await cli(['verify', copy]);
  t.equal(r.code, 1);
  t.match(r.out, new RegExp(`^${ids[2]}: issued, no verification, chip`, 'm'));
  t.match(r.out, new RegExp(`1 issued record\\(s\\) without a passed verification: ${ids[2]}$`, 'm'));
  const j = JSON.parse((await cli(['verify', copy, '--json'])).out) as { ok: boolean; unverified: string[] };
  t.equal(j.ok, false);
  t.same(j.unverified, [ids[2]]);
});

t.test('bad input: exit 2', async (t) => {
  const empty = mkdtempSync(join(root, 'empty-'));
  const r = await cli(['verify', empty]);
  t.equal(r.code, 2);
  t.match(r.err, /has no journal/);
  const noKeys = await cli(['verify', batch, '--reader', 'sim']);
  t.equal(noKeys.code, 2);
  t.match(noKeys.err, /--reader needs --keystore/);
  const unknown = await cli(['verify', batch, '--record', 'no-such-record']);
  t.equal(unknown.code, 2);
  t.match(unknown.err, /not in the journal/);
});

t.test('reader mode on a blank simulated card: not a card of this batch, exit 1', async (t) => {
  const r = await cli(['verify', batch, '--reader', 'sim', ...storeArgs]);
  t.equal(r.code, 1, 'exit 1', { stderr: r.err });
  t.match(r.out, /verification FAILED .*no issued record of this batch has chip/);
  // Checked against a given record anyway: the chip differs from the journal's.
  const g = await cli(['verify', batch, '--reader', 'sim', '--record', ids[0]!, ...storeArgs, '--json']);
  t.equal(g.code, 1, 'exit 1', { stderr: g.err });
  const o = JSON.parse(g.out) as { ok: boolean; mode: string; recordId: string; reason: string };
  t.equal(o.ok, false);
  t.equal(o.mode, 'card');
  t.equal(o.recordId, ids[0]);
  t.match(o.reason, /was issued on chip .*this card is chip/);
});

t.test('reader mode, a blank card checked with its verify steps: they fail, exit 1', async (t) => {
  // A journal whose record 0 names the chip of the blank `sim` card (seed 0); issued rows are final, so the records row only.
  const copy = join(root, 'rechipped');
  cpSync(batch, copy, { recursive: true });
  const probe = await cli(['verify', batch, '--reader', 'sim', ...storeArgs, '--json']);
  const chip = (JSON.parse(probe.out) as { chipSerial?: string }).chipSerial;
  t.ok(chip, 'the simulated card has a chip serial');
  const db = new Database(join(copy, 'journal.sqlite'));
  db.prepare('UPDATE records SET chip_serial = ? WHERE id = ?').run(chip, ids[0]);
  db.close();
  const r = await cli(['verify', copy, '--reader', 'sim', '--record', ids[0]!, ...storeArgs]);
  t.equal(r.code, 1, 'exit 1', { stderr: r.err });
  t.match(r.out, new RegExp(`^${ids[0]}: verification FAILED \\(chip ${chip}\\): verify\\[`, 'm'));
});

t.test('--help (the built binary): usage and examples', { skip: binSkipReason() }, async (t) => {
  const r = cliProcess(['verify', '--help']);
  t.equal(r.code, 0);
  t.match(r.out, /cardsmith verify <dir>/);
  t.match(r.out, /Examples:/);
  t.match(r.out, /--reader/);
  t.match(r.out, /--record/);
});
