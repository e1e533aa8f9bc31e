// Progress output: JSON lines (one object per event, with counters, rate and ETA from a fake
// clock) and the TTY bar (redrawn in place, throttled, one line per station).
import t from 'tap';
import { createProgress, formatDuration, renderBar } from '../../personalization/progress/index.js';

function clock(start = Date.UTC(2024, 4, 1, 8)) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

t.test('JSON lines: one object per event, counters, cards per hour, ETA', async (t) => {
  const c = clock();
  const out: string[] = [];
  const p = createProgress({ tty: false, write: (s) => out.push(s), now: c.now });
  p.event({ type: 'start', total: 10, done: 2, stations: ['a', 'b'] });
  c.advance(60_000);
  p.event({ type: 'card', station: 'a', recordId: 'r3', outcome: 'issued' });
  c.advance(60_000);
  p.event({ type: 'card', station: 'b', recordId: 'r4', outcome: 'retry', reason: '6982' });
  p.event({ type: 'card', station: 'b', recordId: 'r5', outcome: 'rejected', reason: 'bad data' });
  p.event({ type: 'station', station: 'b', state: 'paused', reason: 'FEEDER EMPTY' });
  p.event({ type: 'end' });
  t.ok(out.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n')), 'one line per event');
  const objs = out.map((l) => JSON.parse(l));
  t.same(objs.map((o) => o.event), ['start', 'card', 'card', 'card', 'station', 'end']);
  t.same(objs[0], { ts: '2024-05-01T08:00:00.000Z', event: 'start', total: 10, done: 2, stations: ['a', 'b'], finished: 2, issued: 0, rejected: 0, review: 0, retries: 0, cardsPerHour: null, etaSeconds: null });
  t.match(objs[1], { event: 'card', station: 'a', recordId: 'r3', outcome: 'issued', finished: 3, cardsPerHour: 60, etaSeconds: 420 });
  t.match(objs[3], { outcome: 'rejected', reason: 'bad data', finished: 4, issued: 1, rejected: 1, retries: 1, cardsPerHour: 60, etaSeconds: 360 });
  t.match(objs[4], { event: 'station', station: 'b', state: 'paused', reason: 'FEEDER EMPTY' });
  t.match(p.snapshot().stations, [{ name: 'a', issued: 1 }, { name: 'b', rejected: 1, retries: 1, state: 'paused', reason: 'FEEDER EMPTY' }]);
});

t.test('TTY: a bar and a line per station, redrawn in place and throttled', async (t) => {
  const c = clock();
  const out: string[] = [];
  const p = createProgress({ tty: true, write: (s) => out.push(s), now: c.now, width: 100, minRedrawMs: 100 });
  p.event({ type: 'start', total: 4, stations: ['sim-1', 'sim-2'] });
  t.equal(out.length, 1);
  t.match(out[0], /^\r\x1b\[2K\[\.+\] 0\/4 {3}0%  issued 0  rejected 0  – cards\/h  ETA –\n\r\x1b\[2K {2}sim-1  idle {7}issued 0  rejected 0\n\r\x1b\[2K {2}sim-2  idle/);
  c.advance(30_000);
  p.event({ type: 'card', station: 'sim-1', recordId: 'r1', outcome: 'issued' });
  t.equal(out.length, 2);
  t.match(out[1], /^\x1b\[3A\r\x1b\[2K\[#+\.+\] 1\/4  25%  issued 1  rejected 0  120 cards\/h  ETA 0:01:30/, 'cursor up 3 lines, redraw');
  c.advance(10);
  p.event({ type: 'card', station: 'sim-2', recordId: 'r2', outcome: 'issued' });
  t.equal(out.length, 2, 'throttled: no redraw within 100 ms');
  p.event({ type: 'station', station: 'sim-2', state: 'paused', reason: 'CARD JAM' });
  t.equal(out.length, 3, 'station changes always redraw');
  t.match(out[2], /sim-2  paused {5}issued 1  rejected 0  — CARD JAM/);
  p.event({ type: 'message', level: 'warn', text: 'station sim-2 paused' });
  t.match(out[3], /^\x1b\[3A\r\x1b\[Jwarning: station sim-2 paused\n$/, 'messages go above the bar');
  t.match(out[4], /^\r\x1b\[2K\[/, 'and the bar is drawn again below');
});

t.test('renderBar and formatDuration', async (t) => {
  const lines = renderBar({ total: 200, doneBefore: 0, issued: 100, rejected: 0, review: 0, retries: 0, finished: 100, startedAt: 0, now: 1, cardsPerHour: 400, etaMs: 900_000, stations: [{ name: 'x', state: 'encoding', issued: 100, rejected: 0, retries: 0 }] }, 60);
  t.equal(lines.length, 2);
  t.ok(lines.every((l) => l.length <= 60), 'fits the width');
  t.match(lines[0], /^\[#####\.\.\.\.\.\] 100\/200  50%/);
  t.equal(formatDuration(3_723_000), '1:02:03');
});
