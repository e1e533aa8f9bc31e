// The report from a journal with every outcome: counts, reject reasons, physical cards rejected,
// per-station figures and timings (fake clock), the duplicates check (0, and non-zero on a
// tampered journal), the lists, the HTML page (escaped, with face thumbnails), and the
// `cardsmith report` command module (text, --json, --html, exit codes).
import t, { type Test } from 'tap';
import Database from 'better-sqlite3';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import yargs from 'yargs';
import { reportCommand } from '../../bin/commands/report.js';
import type { Io } from '../../bin/io.js';
import { messageFor, UsageError } from '../../bin/errors.js';
import { exitCodeOf } from '../../errors/index.js';
import { Journal, JOURNAL_FILE } from '../../personalization/journal/index.js';
import { buildReport, durationStats, faceFileName, FACES_DIR, formatReportText, renderReportHtml, reportFromDir } from '../../personalization/report/index.js';
import { encodePng } from '../../faces/index.js';
import { fakeClock, tempDir } from '../journal/fixtures/helpers.js';
import { loadBatch } from '../../personalization/runner/run.js';
import { makeKeyStore, makeScripts, writeBatch } from '../runner/helpers.js';

const OK = { ok: true };

function batch(t: Test, dir = tempDir(t, 'cardsmith-report-'), batchId = 'B-2024-05') {
  const j = Journal.open(dir, { create: true, batchId, now: fakeClock(1_700_000_000_000, 1000) });
  j.addRecords(['r1', 'r2', 'r3', 'r4', 'r5', 'r6', '<b>r7</b>']);
  let chip = 0;
  const next = () => (++chip).toString(16).padStart(4, '0');
  // r1: issued on st-1
  let c = j.claimNext('st-1')!;
  j.setChip(c, next());
  j.issue(c, { verification: OK });
  // r2: a card fails on st-2, the record is issued on st-1
  c = j.claimNext('st-2')!;
  j.setChip(c, next());
  j.rejectCard(c, 'EXTERNAL AUTHENTICATE 6982');
  c = j.claimNext('st-1')!;
  t.equal(c.recordId, 'r2');
  j.setChip(c, next());
  j.issue(c, { verification: OK });
  // r3: bad record data, rejected at once
  c = j.claimNext('st-2')!;
  j.setChip(c, next());
  j.rejectCard(c, 'record data invalid: name too long', { retry: false });
  // r4: three cards fail
  for (let i = 0; i < 3; i++) {
    c = j.claimNext(i === 1 ? 'st-1' : 'st-2')!;
    t.equal(c.recordId, 'r4');
    j.setChip(c, next());
    j.rejectCard(c, 'write failed 6581');
  }
  // r5: review
  c = j.claimNext('st-1')!;
  j.setChip(c, next());
  j.markReview(c, 'encoder lost the card mid-write');
  // r6: released (feeder empty), still pending
  c = j.claimNext('st-2')!;
  j.release(c, 'feeder empty');
  j.close();
  return dir;
}

t.test('figures from the journal', async (t) => {
  const dir = batch(t);
  const j = Journal.open(dir);
  t.teardown(() => j.close());
  const r = buildReport(j, { dir, now: () => Date.UTC(2024, 4, 1) });
  t.match(r, { format: 'cardsmith-report', version: 1, generatedAt: '2024-05-01T00:00:00.000Z', batch: { dir, batchId: 'B-2024-05' } });
  t.same(r.counts, { total: 7, pending: 2, inProgress: 0, issued: 2, rejected: 2, review: 1 });
  t.same(r.rejectReasons, [
    { reason: 'record data invalid: name too long', count: 1 },
    { reason: 'write failed 6581', count: 1 },
  ]);
  t.same(r.cardRejects, { total: 5, byReason: [{ reason: 'write failed 6581', count: 3 }, { reason: 'EXTERNAL AUTHENTICATE 6982', count: 1 }, { reason: 'record data invalid: name too long', count: 1 }] });
  t.same(r.duplicates, { records: 0, chips: 0, inconsistent: 0 });
  t.same(
    r.stations.map((s) => [s.name, s.attempts, s.issued, s.cardsRejected, s.released, s.review]),
    [
      ['st-1', 4, 2, 1, 0, 1],
      ['st-2', 5, 0, 4, 1, 0],
    ],
  );
  // fake clock: each journal call moves 1 s; an issued card takes claim → setChip → issue = 2 s
  t.same(r.stations[0]!.cardTime, { count: 2, minMs: 2000, medianMs: 2000, p95Ms: 2000, maxMs: 2000, meanMs: 2000 });
  t.ok(r.stations[0]!.cardsPerHour! > 0);
  t.equal(r.stations[1]!.cardsPerHour, null, 'no card issued: no throughput');
  t.match(r.timings, { firstStart: '2023-11-14T22:13:22.000Z', elapsedMs: Number });
  t.same(r.rejected.map((x) => [x.recordId, x.cardRejects, x.reason]), [
    ['r3', 1, 'record data invalid: name too long'],
    ['r4', 3, 'write failed 6581 (3 cards rejected)'],
  ]);
  t.same(r.review.map((x) => [x.recordId, x.station, x.chipSerial]), [['r5', 'st-1', '0008']]);
  t.same(r.inProgress, []);
  const text = formatReportText(r);
  t.match(text, /records 7: issued 2, rejected 2, pending 2, in review 1/);
  t.match(text, /duplicates: 0 \(checked/);
  t.match(text, /st-1 {2}issued 2 {2}cards rejected 1/);
  t.match(text, /records waiting for review:\n {2}r5 {2}st-1 {2}chip 0008/);
});

t.test('durationStats', async (t) => {
  t.equal(durationStats([]), null);
  t.same(durationStats([5, 1, 3, 2, 4]), { count: 5, minMs: 1, medianMs: 3, p95Ms: 5, maxMs: 5, meanMs: 3 });
});

t.test('HTML: self-contained, escaped, with face thumbnails from DIR/faces', async (t) => {
  const dir = batch(t);
  mkdirSync(join(dir, FACES_DIR));
  const png = encodePng({ width: 2, height: 2, data: new Uint8Array(12).fill(90) });
  writeFileSync(join(dir, FACES_DIR, faceFileName('r1')), png);
  t.equal(faceFileName('<b>r7</b>'), '%3Cb%3Er7%3C%2Fb%3E.png');
  const { report, html } = reportFromDir(dir, { html: true });
  t.ok(html);
  t.match(html!, /^<!doctype html>/);
  t.notMatch(html!, /<script|src="http/, 'no scripts, no external resources');
  t.match(html!, /Card faces \(1\)/);
  t.match(html!, new RegExp(`src="data:image/png;base64,${Buffer.from(png).toString('base64').replace(/[+/]/g, '\\$&')}"`));
  t.match(html!, /class="ok">0 — no record issued twice/);
  const evil = renderReportHtml({ ...report, review: [{ ...report.review[0]!, recordId: '<b>r7</b>', reason: '"><img src=x>' }] });
  t.match(evil, /&lt;b&gt;r7&lt;\/b&gt;/);
  t.notMatch(evil, /<b>r7|<img src=x>/);
});

async function runReport(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => void (out += s + '\n'), err: (s) => void (err += s + '\n'), interactive: false, env: {}, stdin: Readable.from(['']) };
  const ctx = { io, exitCode: 0 };
  try {
    await yargs(args)
      .command(reportCommand(ctx))
      .strict()
      .exitProcess(false)
      .fail((msg, e) => {
        throw e ?? new UsageError(msg);
      })
      .parseAsync();
  } catch (e) {
    io.err(`cardsmith: ${messageFor(e)}`);
    return { code: exitCodeOf(e), out, err };
  }
  return { code: ctx.exitCode, out, err };
}

t.test('cardsmith report: text, --json, --html, exit codes', async (t) => {
  // report reads a batch folder (checked against its manifest) and its own journal.
  const { store } = await makeKeyStore();
  t.teardown(() => store.close());
  const folder = tempDir(t, 'cardsmith-report-');
  await writeBatch(folder, await makeScripts(store, 2, 'x'), store);
  const dir = batch(t, folder, loadBatch(folder).id);
  const text = await runReport(['report', dir]);
  t.equal(text.code, 0, text.err);
  t.match(text.out, /^batch runner-test:[0-9a-f]{16} in /);
  const json = await runReport(['report', dir, '--json']);
  t.equal(json.code, 0);
  t.match(JSON.parse(json.out), { format: 'cardsmith-report', counts: { issued: 2 } });
  const file = join(dir, 'report.html');
  const html = await runReport(['report', dir, '--html', file]);
  t.equal(html.code, 0);
  t.match(html.out, /HTML report: /);
  t.match(readFileSync(file, 'utf8'), /<h1>Batch runner-test:[0-9a-f]{16}<\/h1>/);
  const missing = await runReport(['report', join(dir, 'nope')]);
  t.equal(missing.code, 2);
  t.match(missing.err, /not a batch folder/);
  const unwritable = await runReport(['report', dir, '--html', join(dir, 'no', 'such', 'dir.html')]);
  t.equal(unwritable.code, 2);
  t.match(unwritable.err, /cannot write/);

  // a tampered journal: an issued record's chip changed behind the journal's back
  const raw = new Database(join(dir, JOURNAL_FILE));
  raw.prepare("UPDATE records SET chip_serial = 'FFFF' WHERE id = 'r1'").run();
  raw.close();
  const bad = await runReport(['report', dir]);
  t.equal(bad.code, 1, 'duplicates / inconsistency: exit 1');
  t.match(bad.out, /duplicates: 1 — .*inconsistent 1: INVESTIGATE/);
  t.match(bad.err, /do not ship this batch/);
});
