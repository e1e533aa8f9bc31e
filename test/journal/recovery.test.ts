// Crash recovery: the decision table row by row (pure), then recover() on a journal with one
// in-flight record per row, including an inspect that throws, a chip already issued elsewhere,
// a record whose cards run out, and the stations filter.
import t from 'tap';
import { decideRecovery, normalizeFinding, type InFlightRecord, type InspectFinding, type InspectResult } from '../../personalization/journal/index.js';
import { journalWith } from './fixtures/helpers.js';

const OK = { ok: true, checks: 3 };
const rec = (chipSerial: string | null): InFlightRecord => ({ recordId: 'r', seq: 1, station: 's', attempt: 1, chipSerial, startedAt: 0, owner: 'h:1' });

t.test('decision table', async (t) => {
  const rows: [string, InFlightRecord, InspectFinding, string, string, boolean][] = [
    ['issued, verified, same chip', rec('0A'), { state: 'issued', chipSerial: '0A', verification: OK }, 'issued', 'eject', false],
    ['issued, verified, chip unknown to the journal', rec(null), { state: 'issued', chipSerial: '0A', verification: OK }, 'issued', 'eject', false],
    ['issued, other chip', rec('0A'), { state: 'issued', chipSerial: '0B', verification: OK }, 'review', 'operator', false],
    ['issued without chip', rec('0A'), { state: 'issued', verification: OK }, 'review', 'operator', false],
    ['issued, verification failed', rec('0A'), { state: 'issued', chipSerial: '0A', verification: { ok: false } }, 'pending', 'reject', true],
    ['issued, no verification', rec('0A'), { state: 'issued', chipSerial: '0A' }, 'pending', 'reject', true],
    ['blank', rec('0A'), { state: 'blank', chipSerial: '0A' }, 'pending', 'keep', false],
    ['partial', rec('0A'), { state: 'partial', chipSerial: '0A' }, 'pending', 'reject', true],
    ['empty, nothing read', rec(null), { state: 'empty' }, 'pending', 'none', false],
    ['empty, chip had been read', rec('0A'), { state: 'empty' }, 'review', 'operator', false],
    ['unknown', rec('0A'), { state: 'unknown', detail: 'reader error' }, 'review', 'operator', false],
  ];
  for (const [name, r, f, decision, cardAction, cardRejected] of rows) {
    t.match(decideRecovery(r, f), { decision, cardAction, cardRejected }, name);
  }
  t.match(decideRecovery(rec('0A'), { state: 'unknown', detail: 'no ATR' }).reason, /cannot tell.*\(no ATR\)/);
  t.match(normalizeFinding('blank'), { state: 'blank' });
  t.match(normalizeFinding('weird' as never), { state: 'unknown', detail: /inspect returned "weird"/ });
});

t.test('recover(): one in-flight record per case, settled in the journal', async (t) => {
  const { journal } = journalWith(t, 8, { maxCardsPerRecord: 2 });
  // rec-0001 is already issued on chip 99 (to test a recovery that would issue the same chip again)
  const done = journal.claimNext('st-0')!;
  journal.setChip(done, '99');
  journal.issue(done, { verification: OK });
  // rec-0005 already lost one card, so a partial card uses up its cards
  const lost = journal.claimNext('st-x')!;
  t.equal(lost.recordId, 'rec-0002');
  journal.release(lost, 'setup');
  const claims = ['st-1', 'st-2', 'st-3', 'st-4', 'st-5', 'st-6', 'st-7'].map((s) => journal.claimNext(s)!);
  const [c1, c2, c3, c4, c5, c6, c7] = claims as [typeof done, typeof done, typeof done, typeof done, typeof done, typeof done, typeof done];
  journal.setChip(c1, '01');
  journal.setChip(c2, '02');
  journal.setChip(c5, '05');
  journal.rejectCard(c5, 'first card failed');
  const c5b = journal.claimNext('st-5')!;
  t.equal(c5b.recordId, c5.recordId);
  journal.setChip(c5b, '55');
  journal.setChip(c6, '06');
  // c3 and c4: no chip read yet; c7: chip 77, unknown
  journal.setChip(c7, '77');

  const answers: Record<string, InspectResult | Error> = {
    'st-1': { state: 'issued', chipSerial: '01', verification: { ok: true, kcvs: { mk: 'ABCDEF' } } },
    'st-2': 'blank',
    'st-3': { state: 'issued', chipSerial: '99', verification: OK }, // the chip of rec-0001!
    'st-4': 'empty',
    'st-5': { state: 'partial', chipSerial: '55' },
    'st-6': new Error('PC/SC: reader unplugged'),
    'st-7': 'unknown',
  };
  const seen: string[] = [];
  const outcomes = await journal.recover(async (r) => {
    seen.push(`${r.station}:${r.recordId}:${r.chipSerial ?? '-'}:${r.attempt}`);
    const a = answers[r.station]!;
    if (a instanceof Error) throw a;
    return a;
  });
  t.same(seen, ['st-1:rec-0002:01:2', 'st-2:rec-0003:02:1', 'st-3:rec-0004:-:1', 'st-4:rec-0005:-:1', 'st-5:rec-0006:55:2', 'st-6:rec-0007:06:1', 'st-7:rec-0008:77:1'].map((s) => s), 'inspect sees station, chip and attempt of each in-flight record');
  t.match(
    outcomes.map((o) => [o.recordId, o.decision, o.state, o.cardAction]),
    [
      ['rec-0002', 'issued', 'issued', 'eject'],
      ['rec-0003', 'pending', 'pending', 'keep'],
      ['rec-0004', 'review', 'review', 'operator'],
      ['rec-0005', 'pending', 'pending', 'none'],
      ['rec-0006', 'pending', 'rejected', 'reject'],
      ['rec-0007', 'review', 'review', 'operator'],
      ['rec-0008', 'review', 'review', 'operator'],
    ],
  );
  t.match(outcomes[2]!.reason, /chip 99 already carries record rec-0001/);
  t.match(journal.get('rec-0007')!.reason, /inspect failed: PC\/SC: reader unplugged/);
  t.match(journal.get('rec-0002'), { state: 'issued', chipSerial: '01', verification: { ok: true, kcvs: { mk: 'ABCDEF' } } });
  t.match(journal.get('rec-0006'), { state: 'rejected', cardRejects: 2, reason: /partly personalized.*\(2 cards rejected\)/ });
  t.match(journal.attempts({ recordId: 'rec-0003' }), [{ outcome: 'recovered-blank', chipSerial: '02' }]);
  t.same(journal.inFlight(), []);
  t.same(journal.duplicates(), { records: 0, chips: 0, inconsistent: 0 });
  t.same(await journal.recover(() => 'blank'), [], 'nothing left to recover');
});

t.test('recover(): only the given stations', async (t) => {
  const { journal } = journalWith(t, 2);
  journal.claimNext('mine');
  journal.claimNext('theirs');
  const out = await journal.recover(() => 'empty', { stations: ['mine'] });
  t.same(out.map((o) => o.station), ['mine']);
  t.same(journal.inFlight().map((r) => r.station), ['theirs']);
});
