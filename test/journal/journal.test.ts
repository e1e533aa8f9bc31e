// The journal's state machine and its constraints: every transition, the fields it writes, the
// errors for transitions that do not exist, and the database-level guarantees that make a second
// issue of a record, or a second record on one chip, impossible whatever the code does.
import t from 'tap';
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  DoubleIssueError,
  Journal,
  JOURNAL_FILE,
  JournalInputError,
  JournalMismatchError,
  JournalNotFoundError,
  JournalStateError,
  StaleClaimError,
} from '../../personalization/journal/index.js';
import { fakeClock, journalWith, tempDir } from './fixtures/helpers.js';

const OK = { ok: true, checks: 12, kcvs: { 'mk-enc': 'A1B2C3' } };

t.test('open: a missing journal is an error unless create is set; created in WAL mode', async (t) => {
  const dir = tempDir(t);
  t.throws(() => Journal.open(dir), JournalNotFoundError);
  t.throws(() => Journal.open(join(dir, 'nope'), { create: true }), JournalNotFoundError, 'the batch folder itself must exist');
  const j = Journal.open(dir, { create: true, batchId: 'batch-1' });
  t.ok(existsSync(join(dir, JOURNAL_FILE)));
  t.equal(Journal.exists(dir), true);
  t.same(j.meta().batch_id, 'batch-1');
  j.close();
  j.close(); // idempotent
  t.throws(() => j.counts(), /closed/);
  const raw = new Database(join(dir, JOURNAL_FILE), { readonly: true });
  t.equal(raw.pragma('journal_mode', { simple: true }), 'wal', 'WAL is a property of the file');
  raw.close();
  t.throws(() => Journal.open(dir, { batchId: 'batch-2' }), JournalMismatchError, 'another batch id is refused');
  const again = Journal.open(dir, { batchId: 'batch-1' });
  again.close();
});

t.test('addRecords: pending in the given order, idempotent on resume', async (t) => {
  const { journal, ids } = journalWith(t, 5);
  t.equal(journal.addRecords(ids), 0, 'the same ids again add nothing');
  t.equal(journal.addRecords(['rec-0006', 'rec-0001']), 1);
  t.same(journal.records().map((r) => [r.id, r.seq, r.state]), [...ids, 'rec-0006'].map((id, i) => [id, i + 1, 'pending']));
  t.throws(() => journal.addRecords(['']), JournalInputError);
  t.throws(() => journal.addRecords(['a\nb']), JournalInputError);
});

t.test('pending → in-progress → issued: fields, attempt row, timings', async (t) => {
  const { journal } = journalWith(t, 3);
  const claim = journal.claimNext('st-1')!;
  t.match(claim, { recordId: 'rec-0001', seq: 1, station: 'st-1', attempt: 1, startedAt: 1_700_000_000_000 + 1000 * 2 });
  t.match(journal.get('rec-0001'), { state: 'in-progress', station: 'st-1', attempt: 1, chipSerial: null, startedAt: claim.startedAt, finishedAt: null });
  journal.setChip(claim, 'a0b1c2d3e4f50617');
  t.equal(journal.get('rec-0001')!.chipSerial, 'A0B1C2D3E4F50617', 'chip serials are stored upper-case');
  journal.issue(claim, { verification: OK });
  const rec = journal.get('rec-0001')!;
  t.match(rec, { state: 'issued', station: 'st-1', attempt: 1, chipSerial: 'A0B1C2D3E4F50617', reason: null, verification: { ok: true, checks: 12, kcvs: { 'mk-enc': 'A1B2C3' } } });
  t.ok(rec.finishedAt! > rec.startedAt!);
  t.match(journal.attempts({ recordId: 'rec-0001' }), [{ attempt: 1, station: 'st-1', outcome: 'issued', chipSerial: 'A0B1C2D3E4F50617', startedAt: claim.startedAt }]);
  t.same(journal.issuedCards().map((c) => [c.recordId, c.chipSerial]), [['rec-0001', 'A0B1C2D3E4F50617']]);
  t.match(journal.counts(), { total: 3, pending: 2, inProgress: 0, issued: 1 });
  t.equal(journal.claimNext('st-1')!.recordId, 'rec-0002', 'claims go in seq order');
});

t.test('a second issue of the same record fails: by the state machine and by the database', async (t) => {
  const { journal, dir } = journalWith(t, 2);
  const claim = journal.claimNext('st-1')!;
  journal.setChip(claim, '0102030405060708');
  journal.issue(claim, { verification: OK });
  t.throws(() => journal.issue(claim, { verification: OK }), StaleClaimError, 'the claim is spent');
  t.throws(() => journal.requeue('rec-0001', 'try again'), JournalStateError, 'an issued record cannot go back');

  // Underneath the code: the constraints and triggers themselves.
  const raw = new Database(join(dir, JOURNAL_FILE));
  t.teardown(() => raw.close());
  t.throws(() => raw.prepare("INSERT INTO issued VALUES ('rec-0001', '1111111111111111', 'st-9', 9, 0)").run(), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
  t.throws(() => raw.prepare("INSERT INTO issued VALUES ('rec-0002', '0102030405060708', 'st-9', 9, 0)").run(), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
  t.throws(() => raw.prepare("UPDATE records SET state = 'pending' WHERE id = 'rec-0001'").run(), /an issued record never changes state/);
  t.throws(() => raw.prepare("UPDATE records SET state = 'issued' WHERE id = 'rec-0002'").run(), /only together with its issued row/);
  t.throws(() => raw.prepare("UPDATE issued SET chip_serial = '22' WHERE record_id = 'rec-0001'").run(), /final/);
  t.throws(() => raw.prepare("DELETE FROM issued").run(), /final/);
  t.throws(() => raw.prepare("DELETE FROM records").run(), /never deleted/);
  t.same(journal.duplicates(), { records: 0, chips: 0, inconsistent: 0 });
});

t.test('one record per chip: setChip and issue refuse a chip that already carries a record', async (t) => {
  const { journal } = journalWith(t, 3);
  const a = journal.claimNext('st-1')!;
  journal.setChip(a, 'AA00000000000001');
  journal.issue(a, { verification: OK });
  const b = journal.claimNext('st-2')!;
  const e = t.throws(() => journal.setChip(b, 'aa00000000000001')) as DoubleIssueError;
  t.ok(e instanceof DoubleIssueError);
  t.match(e, { recordId: 'rec-0002', chipSerial: 'AA00000000000001', holder: 'rec-0001', message: /already carries record rec-0001/ });
  t.equal(journal.get('rec-0002')!.chipSerial, null, 'the failed setChip wrote nothing');
  const e2 = t.throws(() => journal.issue(b, { chipSerial: 'AA00000000000001', verification: OK })) as DoubleIssueError;
  t.ok(e2 instanceof DoubleIssueError, 'without setChip, the UNIQUE constraint catches it');
  t.match(e2.message, /chip AA00000000000001 already carries record rec-0001/);
  t.match(journal.get('rec-0002'), { state: 'in-progress' }, 'the failed issue rolled back');
  t.equal(journal.rejectCard(b, 'chip already issued'), 'pending');
});

t.test('issue needs a chip serial, the same chip as setChip, and a passed verification', async (t) => {
  const { journal } = journalWith(t, 1);
  const c = journal.claimNext('st-1')!;
  t.throws(() => journal.issue(c, { verification: OK }), /no chip serial/);
  journal.setChip(c, '0A0B');
  t.throws(() => journal.issue(c, { chipSerial: '0C0D', verification: OK }), /swapped/);
  t.throws(() => journal.issue(c, { verification: { ok: false, failures: ['EF05 record 7 differs'] } }), JournalStateError);
  t.throws(() => journal.issue(c, { verification: { ok: true, kcvs: { mk: '00112233445566778899AABBCCDDEEFF' } } }), /key check value/, 'key bytes are no KCV');
  t.throws(() => journal.issue(c, { verification: { ok: true, failures: ['key was 00112233445566778899AABBCCDDEEFF'] } }), /looks like key or PIN material/);
  t.throws(() => journal.setChip(c, 'xyz'), JournalInputError);
  t.throws(() => journal.claimNext('bad station name!'), JournalInputError);
  journal.issue(c, { chipSerial: '0a0b', verification: { ok: true, pinTries: { 'pin-1': 6 }, lifecycle: 'personalized' } });
  t.match(journal.get('rec-0001')!.verification, { ok: true, pinTries: { 'pin-1': 6 }, lifecycle: 'personalized' });
});

t.test('rejectCard: back to pending for another card, rejected after maxCardsPerRecord or without retry', async (t) => {
  const { journal } = journalWith(t, 2, { maxCardsPerRecord: 2 });
  const c1 = journal.claimNext('st-1')!;
  journal.setChip(c1, '01');
  t.equal(journal.rejectCard(c1, 'EXTERNAL AUTHENTICATE 6982'), 'pending');
  t.match(journal.get('rec-0001'), { state: 'pending', cardRejects: 1, reason: 'EXTERNAL AUTHENTICATE 6982', attempt: 1 });
  const c2 = journal.claimNext('st-2')!;
  t.match(c2, { recordId: 'rec-0001', attempt: 2, station: 'st-2' }, 'the same record comes back first, on any station');
  journal.setChip(c2, '02');
  t.equal(journal.rejectCard(c2, 'write failed 6581'), 'rejected');
  t.match(journal.get('rec-0001'), { state: 'rejected', cardRejects: 2, reason: 'write failed 6581 (2 cards rejected)' });
  t.match(
    journal.attempts({ recordId: 'rec-0001' }).map((a) => [a.attempt, a.station, a.chipSerial, a.outcome, a.reason]),
    [
      [1, 'st-1', '01', 'card-rejected', 'EXTERNAL AUTHENTICATE 6982'],
      [2, 'st-2', '02', 'card-rejected', 'write failed 6581'],
    ],
  );
  const c3 = journal.claimNext('st-1')!;
  t.equal(journal.rejectCard(c3, 'record data invalid: name too long', { retry: false }), 'rejected');
  t.match(journal.get('rec-0002'), { state: 'rejected', cardRejects: 1, reason: 'record data invalid: name too long' });
  t.equal(journal.claimNext('st-1'), undefined);
});

t.test('release gives the record back without counting a card; markReview and requeue', async (t) => {
  const { journal } = journalWith(t, 2);
  const c = journal.claimNext('st-1')!;
  journal.release(c, 'feeder empty');
  t.match(journal.get('rec-0001'), { state: 'pending', cardRejects: 0, attempt: 1 });
  t.match(journal.attempts({ recordId: 'rec-0001' }), [{ outcome: 'released', reason: 'feeder empty' }]);
  const again = journal.claimNext('st-1')!;
  t.equal(again.attempt, 2);
  journal.markReview(again, 'encoder lost the card mid-write');
  t.match(journal.get('rec-0001'), { state: 'review', reason: 'encoder lost the card mid-write' });
  t.throws(() => journal.release(again, 'x'), StaleClaimError);
  journal.requeue('rec-0001', 'operator checked the card: blank');
  t.match(journal.get('rec-0001'), { state: 'pending', reason: 'requeued: operator checked the card: blank' });
  t.throws(() => journal.requeue('rec-0002', 'x'), JournalStateError, 'pending records cannot be requeued');
  t.throws(() => journal.requeue('nope', 'x'), JournalInputError);
  t.throws(() => journal.records({ state: 'bogus' as never }), JournalInputError);
});

t.test('a stale claim cannot settle a record another station holds now', async (t) => {
  const { journal } = journalWith(t, 1);
  const first = journal.claimNext('st-1')!;
  journal.release(first, 'station paused');
  const second = journal.claimNext('st-2')!;
  t.throws(() => journal.issue(first, { chipSerial: '01', verification: OK }), StaleClaimError);
  t.throws(() => journal.setChip(first, '01'), /no longer in progress on station st-1 attempt 1 \(now in-progress on st-2 attempt 2\)/);
  journal.setChip(second, '02');
  journal.issue(second, { verification: OK });
  t.equal(journal.counts().issued, 1);
});

t.test('plan: work, recover-first, review-needed, nothing to do', async (t) => {
  const dir = tempDir(t);
  const j = Journal.open(dir, { create: true, now: fakeClock() });
  t.teardown(() => j.close());
  t.equal(j.plan().kind, 'work');
  j.addRecords(['a', 'b']);
  t.match(j.plan(), { kind: 'work', message: '2 of 2 record(s) to personalize' });
  const a = j.claimNext('s')!;
  t.equal(j.plan().kind, 'recover-first');
  j.setChip(a, '01');
  j.issue(a, { verification: OK });
  const b = j.claimNext('s')!;
  j.markReview(b, 'unknown card state');
  t.equal(j.plan().kind, 'review-needed');
  j.requeue('b', 'checked');
  const b2 = j.claimNext('s')!;
  j.rejectCard(b2, 'bad data', { retry: false });
  t.match(j.plan(), { kind: 'nothing-to-do', message: 'nothing to do: all 2 record(s) are finished (1 issued, 1 rejected)' });
  // re-running a finished batch: reopen, add the same records, still nothing to do
  const again = Journal.open(dir);
  t.equal(again.addRecords(['a', 'b']), 0);
  t.equal(again.plan().kind, 'nothing-to-do');
  t.equal(again.claimNext('s'), undefined);
  again.close();
});

t.test('confirmIssued: an operator settles a review record on the chip found good', async (t) => {
  const { journal } = journalWith(t, 3);
  const a = journal.claimNext('st-1')!;
  journal.setChip(a, '0A');
  journal.issue(a, { verification: OK });
  const b = journal.claimNext('st-1')!;
  journal.setChip(b, '0B');
  journal.markReview(b, 'power cut during verification');
  t.throws(() => journal.confirmIssued('rec-0002', '0A', OK), DoubleIssueError, 'not on a chip that carries another record');
  t.throws(() => journal.confirmIssued('rec-0002', '0B', { ok: false }), JournalStateError);
  t.throws(() => journal.confirmIssued('rec-0003', '0C', OK), /only records in review/);
  journal.confirmIssued('rec-0002', '0b', OK);
  t.match(journal.get('rec-0002'), { state: 'issued', chipSerial: '0B', reason: null });
  t.throws(() => journal.confirmIssued('rec-0002', '0B', OK), JournalStateError);
  t.same(journal.duplicates(), { records: 0, chips: 0, inconsistent: 0 });
});
