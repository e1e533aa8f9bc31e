// Progress of a batch run: a bar on a TTY (cards done / rejected, cards per hour, ETA, one line per
// station with its state), JSON lines otherwise (one object per event, for logs and supervisors).
// No dependencies; the clock is injectable so the output can be tested byte for byte.

export type CardOutcome = 'issued' | 'rejected' | 'retry' | 'review' | 'released';

export type ProgressEvent =
  /** total: records in the batch; done: already finished before this run (resume). */
  | { type: 'start'; total: number; done?: number; stations: string[] }
  | { type: 'card'; station: string; recordId: string; outcome: CardOutcome; reason?: string }
  | { type: 'station'; station: string; state: string; reason?: string }
  | { type: 'message'; level: 'info' | 'warn'; text: string }
  | { type: 'end' };

export interface StationProgress {
  name: string;
  state: string;
  reason?: string;
  issued: number;
  rejected: number;
  retries: number;
}

export interface ProgressSnapshot {
  total: number;
  /** Finished before this run started (resume). */
  doneBefore: number;
  issued: number;
  rejected: number;
  review: number;
  /** Cards that failed but whose record went back to pending. */
  retries: number;
  /** Records finished in this run and before it. */
  finished: number;
  startedAt: number;
  now: number;
  /** Records finished per hour in this run (null until one is finished). */
  cardsPerHour: number | null;
  /** Time left at the current rate (null when unknown). */
  etaMs: number | null;
  stations: StationProgress[];
}

export interface ProgressOptions {
  /** Draw a bar (true, for a terminal) or write JSON lines (false). */
  tty: boolean;
  write: (text: string) => void;
  now?: () => number;
  /** Terminal width for the bar (default 80). */
  width?: number;
  /** Least time between two redraws of the bar (default 100 ms; start, end and station changes always draw). */
  minRedrawMs?: number;
}

export interface Progress {
  event(e: ProgressEvent): void;
  snapshot(): ProgressSnapshot;
}

export function createProgress(options: ProgressOptions): Progress {
  const now = options.now ?? Date.now;
  const state = {
    total: 0,
    doneBefore: 0,
    issued: 0,
    rejected: 0,
    review: 0,
    retries: 0,
    startedAt: now(),
    stations: new Map<string, StationProgress>(),
  };
  let drawnLines = 0;
  let lastDraw = Number.NEGATIVE_INFINITY;
  const minRedraw = options.minRedrawMs ?? 100;

  const station = (name: string): StationProgress => {
    let s = state.stations.get(name);
    if (!s) {
      s = { name, state: 'idle', issued: 0, rejected: 0, retries: 0 };
      state.stations.set(name, s);
    }
    return s;
  };

  const snapshot = (): ProgressSnapshot => {
    const t = now();
    const finishedNow = state.issued + state.rejected + state.review;
    const elapsed = t - state.startedAt;
    const rate = finishedNow > 0 && elapsed > 0 ? (finishedNow * 3_600_000) / elapsed : null;
    const finished = state.doneBefore + finishedNow;
    const left = Math.max(0, state.total - finished);
    return {
      total: state.total,
      doneBefore: state.doneBefore,
      issued: state.issued,
      rejected: state.rejected,
      review: state.review,
      retries: state.retries,
      finished,
      startedAt: state.startedAt,
      now: t,
      cardsPerHour: rate === null ? null : Math.round(rate * 10) / 10,
      etaMs: rate === null ? (left === 0 ? 0 : null) : Math.round((left / rate) * 3_600_000),
      stations: [...state.stations.values()].map((s) => ({ ...s })),
    };
  };

  const draw = (force: boolean) => {
    const t = now();
    if (!force && t - lastDraw < minRedraw) return;
    lastDraw = t;
    const lines = renderBar(snapshot(), options.width ?? 80);
    const up = drawnLines > 0 ? `\x1b[${drawnLines}A` : '';
    options.write(`${up}${lines.map((l) => `\r\x1b[2K${l}`).join('\n')}\n`);
    drawnLines = lines.length;
  };

  const json = (e: ProgressEvent) => {
    const s = snapshot();
    const counters = { finished: s.finished, total: s.total, issued: s.issued, rejected: s.rejected, review: s.review, retries: s.retries, cardsPerHour: s.cardsPerHour, etaSeconds: s.etaMs === null ? null : Math.round(s.etaMs / 1000) };
    const { type, ...fields } = e;
    options.write(`${JSON.stringify({ ts: new Date(s.now).toISOString(), event: type, ...fields, ...counters })}\n`);
  };

  return {
    snapshot,
    event(e: ProgressEvent) {
      let force = false;
      switch (e.type) {
        case 'start':
          state.total = e.total;
          state.doneBefore = e.done ?? 0;
          state.startedAt = now();
          for (const n of e.stations) station(n);
          force = true;
          break;
        case 'card': {
          const s = station(e.station);
          if (e.outcome === 'issued') {
            state.issued++;
            s.issued++;
          } else if (e.outcome === 'rejected') {
            state.rejected++;
            s.rejected++;
          } else if (e.outcome === 'review') state.review++;
          else if (e.outcome === 'retry') {
            state.retries++;
            s.retries++;
          }
          break;
        }
        case 'station': {
          const s = station(e.station);
          s.state = e.state;
          if (e.reason !== undefined) s.reason = e.reason;
          else delete s.reason;
          force = true;
          break;
        }
        case 'message':
          if (options.tty) {
            // A message goes above the bar: clear the bar, print, redraw.
            const up = drawnLines > 0 ? `\x1b[${drawnLines}A\r\x1b[J` : '';
            options.write(`${up}${e.level === 'warn' ? 'warning: ' : ''}${e.text}\n`);
            drawnLines = 0;
          }
          force = true;
          break;
        case 'end':
          force = true;
          break;
      }
      if (options.tty) draw(force);
      else json(e);
    },
  };
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** The bar's lines: totals first, then one line per station. */
export function renderBar(s: ProgressSnapshot, width = 80): string[] {
  const frac = s.total > 0 ? Math.min(1, s.finished / s.total) : 0;
  const tail = ` ${s.finished}/${s.total}`;
  const barWidth = Math.max(10, Math.min(40, width - 50));
  const filled = Math.round(frac * barWidth);
  const rate = s.cardsPerHour === null ? '– cards/h' : `${Math.round(s.cardsPerHour)} cards/h`;
  const eta = s.etaMs === null ? 'ETA –' : `ETA ${formatDuration(s.etaMs)}`;
  const head = `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]${tail} ${String(Math.floor(frac * 100)).padStart(3)}%  issued ${s.issued}  rejected ${s.rejected}${s.review ? `  review ${s.review}` : ''}  ${rate}  ${eta}`;
  const nameWidth = Math.max(4, ...s.stations.map((x) => x.name.length));
  const lines = [head];
  for (const st of s.stations) {
    const line = `  ${st.name.padEnd(nameWidth)}  ${st.state.padEnd(9)}  issued ${st.issued}  rejected ${st.rejected}${st.retries ? `  retries ${st.retries}` : ''}${st.reason ? `  — ${st.reason}` : ''}`;
    lines.push(line);
  }
  return lines.map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
}
