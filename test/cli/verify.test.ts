// `cardsmith verify` on a batch made by `cardsmith demo --cards 4`: the journal summary (all
// verified → exit 0; an issued record whose verification is missing or failed → exit 1, named), the
// JSON form, bad input (exit 2), and the reader mode against a blank simulated card (exit 1). The
// reader mode on a personalized card is tested through pcscd + vpcd in test/runner/pcsc.test.ts.
// --sim: the cards the demo's simulated printers kept in batch/sim-output all pass; a card whose EF
// was changed by one byte fails, naming its record; a deleted card, a second card for one record,
// a hopper card whose record was rejected and one of no record of the batch are reported (exit 1).
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { cli, cliProcess } from '../helpers/cli.js';
import { binSkipReason } from '../helpers/pcsc.js';
import { Journal } from '../../personalization/journal/index.js';
import { chipSerialFromAtr } from '../../stations/index.js';
import { createSsCard, saveCardImage } from '../../simulator/index.js';

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
  t.match(r.err, /not a batch folder/);
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

interface SimJson {
  ok: boolean;
  mode: string;
  cards: { file: string; chipSerial?: string; recordId?: string; state?: string; ok: boolean; checks?: number; reason?: string; face?: string }[];
  missing: { recordId: string; chipSerial: string; where: string }[];
  duplicates: { recordId: string; files: string[] }[];
  notIssued: { file: string; recordId?: string; state?: string }[];
  rejectBin: { cards: number; issued: unknown[] };
}

/** Chip serial of each record, from the journal summary. */
async function chips(dir: string): Promise<Map<string, string>> {
  const o = JSON.parse((await cli(['verify', dir, '--json'])).out) as { records: { id: string; chipSerial: string }[] };
  return new Map(o.records.map((r) => [r.id, r.chipSerial]));
}

function copyBatch(name: string): string {
  const copy = join(root, name);
  cpSync(batch, copy, { recursive: true });
  return copy;
}

t.test('--sim: every card the simulated printers kept passes its record\'s verify steps; exit 0', async (t) => {
  const hopper = join(batch, 'sim-output', 'hopper');
  const kept = readdirSync(hopper).sort();
  const byRecord = await chips(batch);
  t.same(kept.filter((f) => f.endsWith('.json')), [...byRecord.values()].map((c) => `${c}.json`).sort(), 'one card image per issued record, named by its chip serial');
  t.same(kept.filter((f) => f.endsWith('.png')).length, 4, 'with the printed faces');
  const r = await cli(['verify', batch, '--sim', ...storeArgs]);
  t.equal(r.code, 0, 'exit 0', { stderr: r.err });
  for (const id of ids) t.match(r.out, new RegExp(`^${id}: passed its verify steps \\(chip ${byRecord.get(id)}, \\d+ checks\\) — sim-output/hopper/${byRecord.get(id)}\\.json$`, 'm'));
  t.match(r.out, /^4 card\(s\) in the hopper: 4 passed, 0 failed; 0 issued record\(s\) without a card in the hopper; 0 record\(s\) with more than one card; reject bin: 0 card\(s\); every issued record's card is in the hopper and passed its verify steps$/m);
  t.notMatch(r.out + r.err, /PIN|[0-9A-F]{32}/, 'no PIN and no key-like hex in the output');

  const j = await cli(['verify', batch, '--sim', ...storeArgs, '--json']);
  t.equal(j.code, 0);
  const o = JSON.parse(j.out) as SimJson;
  t.equal(o.mode, 'sim');
  t.equal(o.ok, true);
  t.same(o.cards.map((c) => c.recordId).sort(), [...ids].sort());
  t.ok(o.cards.every((c) => c.ok && c.checks! > 0 && c.chipSerial === byRecord.get(c.recordId!) && c.face === `sim-output/hopper/${c.chipSerial}.png`));
  t.same([o.missing, o.duplicates, o.notIssued], [[], [], []]);

  const one = JSON.parse((await cli(['verify', batch, '--sim', '--record', ids[3]!, ...storeArgs, '--json'])).out) as SimJson;
  t.same(one.cards.map((c) => c.recordId), [ids[3]], '--record: that record\'s card only');
});

t.test('--sim: one byte of an EF changed in a kept card: that card fails, naming its record; exit 1', async (t) => {
  const copy = copyBatch('sim-tampered');
  const chip = (await chips(copy)).get(ids[1]!)!;
  const file = join(copy, 'sim-output', 'hopper', `${chip}.json`);
  const image = JSON.parse(readFileSync(file, 'utf8')) as { cells: Record<string, { t: string; spec?: { fid?: string }; data?: string }> };
  // EF06 (the cardholder's data): its first record, last byte changed.
  const node = Object.entries(image.cells).find(([, c]) => c.t === 'node' && c.spec?.fid === 'EF06')![0].split('/')[1];
  const cell = image.cells[`rec/${node}/0`]!;
  const last = parseInt(cell.data!.slice(-2), 16);
  cell.data = cell.data!.slice(0, -2) + ((last ^ 0x01).toString(16).toUpperCase().padStart(2, '0'));
  writeFileSync(file, JSON.stringify(image));
  const r = await cli(['verify', copy, '--sim', ...storeArgs]);
  t.equal(r.code, 1, 'exit 1', { stderr: r.err });
  t.match(r.out, new RegExp(`^${ids[1]}: FAILED \\(chip ${chip}\\): verify\\[\\d+\\].*EF06.* — sim-output/hopper/${chip}\\.json$`, 'm'));
  for (const id of [ids[0], ids[2], ids[3]]) t.match(r.out, new RegExp(`^${id}: passed its verify steps`, 'm'));
  t.match(r.out, /4 card\(s\) in the hopper: 3 passed, 1 failed;.*do not ship this batch as it is$/m);
  const o = JSON.parse((await cli(['verify', copy, '--sim', ...storeArgs, '--json'])).out) as SimJson;
  t.equal(o.ok, false);
  t.same(o.cards.filter((c) => !c.ok).map((c) => c.recordId), [ids[1]]);
});

t.test('--sim: a kept card deleted: its issued record is reported without a card; exit 1', async (t) => {
  const copy = copyBatch('sim-deleted');
  const chip = (await chips(copy)).get(ids[2]!)!;
  rmSync(join(copy, 'sim-output', 'hopper', `${chip}.json`));
  const r = await cli(['verify', copy, '--sim', ...storeArgs]);
  t.equal(r.code, 1, 'exit 1', { stderr: r.err });
  t.match(r.out, new RegExp(`^${ids[2]}: issued on chip ${chip}, but its card is not in the hopper: not kept anywhere$`, 'm'));
  t.match(r.out, /3 card\(s\) in the hopper: 3 passed, 0 failed; 1 issued record\(s\) without a card in the hopper;/);
  const o = JSON.parse((await cli(['verify', copy, '--sim', ...storeArgs, '--json'])).out) as SimJson;
  t.equal(o.ok, false);
  t.same(o.missing.map((m) => m.recordId), [ids[2]]);
});

t.test('--sim: two cards for one record, a card of a rejected record, a card of no record: exit 1', async (t) => {
  const copy = copyBatch('sim-extra');
  const chip = (await chips(copy)).get(ids[0]!)!;
  const hopper = join(copy, 'sim-output', 'hopper');
  cpSync(join(hopper, `${chip}.json`), join(hopper, `${chip}-again.json`));
  // A record rejected on a blank card that then (wrongly) reached the hopper.
  const blank = createSsCard({ seed: 'verify-test-rejected' });
  const blankChip = chipSerialFromAtr(blank.atr)!;
  const journal = Journal.open(copy);
  journal.addRecords(['extra-record']);
  const claim = journal.claimNext('sim-9')!;
  t.equal(claim.recordId, 'extra-record');
  journal.setChip(claim, blankChip);
  journal.rejectCard(claim, 'test: rejected', { retry: false });
  journal.close();
  saveCardImage(blank, join(hopper, `${blankChip}.json`));
  const stranger = createSsCard({ seed: 'verify-test-stranger' });
  saveCardImage(stranger, join(hopper, 'stranger.json'));
  const r = await cli(['verify', copy, '--sim', ...storeArgs]);
  t.equal(r.code, 1, 'exit 1', { stderr: r.err });
  t.match(r.out, new RegExp(`^${ids[0]}: 2 cards in the hopper for one record: sim-output/hopper/${chip}-again\\.json, sim-output/hopper/${chip}\\.json$`, 'm'));
  t.match(r.out, new RegExp(`^extra-record: FAILED \\(chip ${blankChip}\\): record extra-record is rejected in the journal, not issued`, 'm'));
  t.match(r.out, new RegExp(`^card sim-output/hopper/stranger\\.json: FAILED \\(chip ${chipSerialFromAtr(stranger.atr)}\\): no record of this batch was personalized on chip`, 'm'));
  const o = JSON.parse((await cli(['verify', copy, '--sim', ...storeArgs, '--json'])).out) as SimJson;
  t.equal(o.ok, false);
  t.same(o.duplicates, [{ recordId: ids[0], files: [`sim-output/hopper/${chip}-again.json`, `sim-output/hopper/${chip}.json`] }]);
  t.same(o.notIssued.map((n) => [n.recordId, n.state]).sort(), [[undefined, undefined], ['extra-record', 'rejected']]);
});

t.test('--sim: bad input, exit 2', async (t) => {
  const noKeys = await cli(['verify', batch, '--sim']);
  t.equal(noKeys.code, 2);
  t.match(noKeys.err, /--sim needs --keystore/);
  const both = await cli(['verify', batch, '--sim', '--reader', 'sim', ...storeArgs]);
  t.equal(both.code, 2);
  t.match(both.err, /--reader NAME or --sim, not both/);
  const copy = copyBatch('sim-none');
  rmSync(join(copy, 'sim-output'), { recursive: true });
  const none = await cli(['verify', copy, '--sim', ...storeArgs]);
  t.equal(none.code, 2);
  t.match(none.err, /has no sim-output\/ folder/);
});

t.test('--help (the built binary): usage and examples', { skip: binSkipReason() }, async (t) => {
  const r = cliProcess(['verify', '--help']);
  t.equal(r.code, 0);
  t.match(r.out, /cardsmith verify <dir>/);
  t.match(r.out, /Examples:/);
  t.match(r.out, /--reader/);
  t.match(r.out, /--record/);
  t.match(r.out, /--sim/);
  t.match(r.out, /verify demo\/batch --sim --keystore/);
});
