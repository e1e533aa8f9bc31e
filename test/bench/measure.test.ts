// The verdict line every bench ends with: PASS or FAIL against a stated goal, "no goal" when none
// is set, "cannot judge" with the reason when the peer is missing.
import t from 'tap';
import { verdictLine } from '../../bench/measure.js';

t.test('verdict lines', async (t) => {
  t.equal(verdictLine('readBatch', '120000 records/s', { goal: '≥ 100000 records/s', pass: true }), 'verdict: readBatch: 120000 records/s; goal ≥ 100000 records/s: PASS');
  t.equal(verdictLine('readBatch', '90000 records/s', { goal: '≥ 100000 records/s', pass: false }), 'verdict: readBatch: 90000 records/s; goal ≥ 100000 records/s: FAIL');
  t.equal(verdictLine('file store', '2.3× the floor', { noGoal: true }), 'verdict: file store: 2.3× the floor; no goal');
  t.equal(verdictLine('simulator', 'SELECT MF ?', { goal: '≥ 20× vicc', cannotJudge: 'vicc not installed' }), 'verdict: simulator: cannot judge against goal ≥ 20× vicc (vicc not installed)');
});
