// The batch report, built from the journal alone: counts (issued, rejected by reason, pending, in
// review), physical cards rejected, per-station figures (throughput, card times), overall timings,
// the duplicates check (must be 0), and the lists of rejected and review records. JSON for
// machines; text for the terminal; HTML (report-html.ts) for people, with card-face thumbnails
// when the runner left them in DIR/faces/.
import type { Journal, JournalCounts } from '../journal/index.js';

export const REPORT_FORMAT = 'cardsmith-report';
export const REPORT_VERSION = 1;

export interface DurationStats {
  count: number;
  minMs: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
  meanMs: number;
}

export interface StationFigures {
  name: string;
  /** Claims (every card the station started, or was about to). */
  attempts: number;
  issued: number;
  /** Physical cards this station sent to the reject box. */
  cardsRejected: number;
  /** Records given back untouched (station faults before the card was written). */
  released: number;
  review: number;
  firstStart: string | null;
  lastEnd: string | null;
  /** Issued cards per hour between its first start and last end. */
  cardsPerHour: number | null;
  /** Time per issued card (claim to issue). */
  cardTime: DurationStats | null;
}

export interface ReportRecord {
  recordId: string;
  reason: string | null;
  station: string | null;
  attempts: number;
  cardRejects: number;
  chipSerial: string | null;
  finishedAt: string | null;
}

export interface Report {
  format: typeof REPORT_FORMAT;
  version: typeof REPORT_VERSION;
  generatedAt: string;
  batch: { dir: string | null; batchId: string | null; journalCreatedAt: string | null };
  counts: JournalCounts;
  /** Final reasons of rejected records, most frequent first. */
  rejectReasons: { reason: string; count: number }[];
  /** Physical cards sent to the reject box (including those whose record was then issued on another card). */
  cardRejects: { total: number; byReason: { reason: string; count: number }[] };
  /** Must all be 0. */
  duplicates: { records: number; chips: number; inconsistent: number };
  timings: { firstStart: string | null; lastEnd: string | null; elapsedMs: number | null; cardsPerHour: number | null; cardTime: DurationStats | null };
  stations: StationFigures[];
  rejected: ReportRecord[];
  review: ReportRecord[];
  inProgress: ReportRecord[];
  /**
   * The faces the runner kept in DIR/faces/ for issued records (reportFromDir fills it in):
   * how many, and how many (the first 20 record ids) were drawn with placeholder glyphs (no font had some characters).
   */
  faces?: { kept: number; placeholderGlyphs: number; placeholderRecords: string[] };
}

export interface BuildReportOptions {
  /** The batch folder (shown in the report). */
  dir?: string;
  /** Clock for generatedAt (tests). */
  now?: () => number;
}

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

/** "write failed (3 cards rejected)" and "write failed" are one reason. */
export function reasonKey(reason: string): string {
  return reason.replace(/ \(\d+ cards? rejected\)$/, '');
}

export function durationStats(values: number[]): DurationStats | null {
  if (values.length === 0) return null;
  const v = [...values].sort((a, b) => a - b);
  const at = (q: number) => v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))]!;
  return { count: v.length, minMs: v[0]!, medianMs: at(0.5), p95Ms: at(0.95), maxMs: v[v.length - 1]!, meanMs: Math.round(v.reduce((a, b) => a + b, 0) / v.length) };
}

function tally(reasons: string[]): { reason: string; count: number }[] {
  const m = new Map<string, number>();
  for (const r of reasons) m.set(reasonKey(r), (m.get(reasonKey(r)) ?? 0) + 1);
  return [...m.entries()].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}

const perHour = (n: number, from: number | null, to: number | null) => (from === null || to === null || to <= from || n === 0 ? null : Math.round(((n * 3_600_000) / (to - from)) * 10) / 10);

export function buildReport(journal: Journal, options: BuildReportOptions = {}): Report {
  const meta = journal.meta();
  const records = journal.records();
  const attempts = journal.attempts();
  const cardRejectOutcomes = new Set(['card-rejected', 'recovered-partial']);
  const issuedOutcomes = new Set(['issued', 'recovered-issued']);

  const stations = new Map<string, { attempts: typeof attempts }>();
  for (const a of attempts) {
    const s = stations.get(a.station) ?? { attempts: [] };
    s.attempts.push(a);
    stations.set(a.station, s);
  }
  const figures: StationFigures[] = [...stations.entries()]
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(([name, { attempts: list }]) => {
      const starts = list.map((a) => a.startedAt);
      const ends = list.flatMap((a) => (a.endedAt === null ? [] : [a.endedAt]));
      const first = starts.length ? Math.min(...starts) : null;
      const last = ends.length ? Math.max(...ends) : null;
      const issued = list.filter((a) => issuedOutcomes.has(a.outcome));
      return {
        name,
        attempts: list.length,
        issued: issued.length,
        cardsRejected: list.filter((a) => cardRejectOutcomes.has(a.outcome)).length,
        released: list.filter((a) => a.outcome === 'released').length,
        review: list.filter((a) => a.outcome === 'review').length,
        firstStart: iso(first),
        lastEnd: iso(last),
        cardsPerHour: perHour(issued.length, first, last),
        cardTime: durationStats(issued.flatMap((a) => (a.endedAt === null || a.outcome !== 'issued' ? [] : [a.endedAt - a.startedAt]))),
      };
    });

  const allStarts = attempts.map((a) => a.startedAt);
  const allEnds = attempts.flatMap((a) => (a.endedAt === null ? [] : [a.endedAt]));
  const first = allStarts.length ? Math.min(...allStarts) : null;
  const last = allEnds.length ? Math.max(...allEnds) : null;
  const counts = journal.counts();
  const row = (r: (typeof records)[number]): ReportRecord => ({
    recordId: r.id,
    reason: r.reason,
    station: r.station,
    attempts: r.attempt,
    cardRejects: r.cardRejects,
    chipSerial: r.chipSerial,
    finishedAt: iso(r.finishedAt),
  });
  const rejectedCards = attempts.filter((a) => cardRejectOutcomes.has(a.outcome));
  return {
    format: REPORT_FORMAT,
    version: REPORT_VERSION,
    generatedAt: new Date((options.now ?? Date.now)()).toISOString(),
    batch: { dir: options.dir ?? null, batchId: meta.batch_id ?? null, journalCreatedAt: meta.created_at ? iso(Number(meta.created_at)) : null },
    counts,
    rejectReasons: tally(records.filter((r) => r.state === 'rejected').map((r) => r.reason ?? '(no reason)')),
    cardRejects: { total: rejectedCards.length, byReason: tally(rejectedCards.map((a) => a.reason ?? '(no reason)')) },
    duplicates: journal.duplicates(),
    timings: {
      firstStart: iso(first),
      lastEnd: iso(last),
      elapsedMs: first !== null && last !== null ? last - first : null,
      cardsPerHour: perHour(counts.issued, first, last),
      cardTime: durationStats(attempts.flatMap((a) => (a.outcome === 'issued' && a.endedAt !== null ? [a.endedAt - a.startedAt] : []))),
    },
    stations: figures,
    rejected: records.filter((r) => r.state === 'rejected').map(row),
    review: records.filter((r) => r.state === 'review').map(row),
    inProgress: records.filter((r) => r.state === 'in-progress').map(row),
  };
}

const ms = (v: number) => (v < 10_000 ? `${v} ms` : `${(v / 1000).toFixed(1)} s`);

/** The report for a terminal: a dozen lines, then the rejected and review records. */
export function formatReportText(r: Report): string {
  const c = r.counts;
  const dup = r.duplicates.records + r.duplicates.chips + r.duplicates.inconsistent;
  const lines = [
    `batch ${r.batch.batchId ?? '(no id)'}${r.batch.dir ? ` in ${r.batch.dir}` : ''}`,
    `records ${c.total}: issued ${c.issued}, rejected ${c.rejected}, pending ${c.pending}, in review ${c.review}${c.inProgress ? `, in progress ${c.inProgress} (run --resume)` : ''}`,
    `cards to the reject box: ${r.cardRejects.total}`,
    `duplicates: ${dup === 0 ? '0 (checked: records, chips, consistency)' : `${dup} — records ${r.duplicates.records}, chips ${r.duplicates.chips}, inconsistent ${r.duplicates.inconsistent}: INVESTIGATE`}`,
  ];
  if (r.timings.elapsedMs !== null) {
    lines.push(`time: ${ms(r.timings.elapsedMs)} from ${r.timings.firstStart} to ${r.timings.lastEnd}${r.timings.cardsPerHour !== null ? `, ${r.timings.cardsPerHour} cards/h` : ''}`);
  }
  if (r.timings.cardTime) {
    const t = r.timings.cardTime;
    lines.push(`per card: median ${ms(t.medianMs)}, p95 ${ms(t.p95Ms)}, max ${ms(t.maxMs)}`);
  }
  if (r.stations.length) {
    lines.push('stations:');
    const w = Math.max(...r.stations.map((s) => s.name.length));
    for (const s of r.stations) {
      lines.push(`  ${s.name.padEnd(w)}  issued ${s.issued}  cards rejected ${s.cardsRejected}  released ${s.released}${s.review ? `  review ${s.review}` : ''}${s.cardsPerHour !== null ? `  ${s.cardsPerHour} cards/h` : ''}${s.cardTime ? `  median ${ms(s.cardTime.medianMs)}` : ''}`);
    }
  }
  if (r.rejectReasons.length) {
    lines.push('reject reasons:');
    for (const x of r.rejectReasons) lines.push(`  ${String(x.count).padStart(5)}  ${x.reason}`);
  }
  if (r.rejected.length) {
    lines.push('rejected records:');
    for (const x of r.rejected) lines.push(`  ${x.recordId}  ${x.station ?? '-'}  ${x.reason ?? ''}`);
  }
  if (r.faces && r.faces.kept > 0) {
    const p = r.faces.placeholderGlyphs;
    lines.push(`card faces: ${r.faces.kept} kept${p ? `, ${p} with PLACEHOLDER GLYPHS (no font had some characters; not print-ready: install fonts-droid-fallback or name a font, docs/runner.md): ${r.faces.placeholderRecords.slice(0, 5).join(', ')}${p > 5 ? ', …' : ''}` : ', none flagged with placeholder glyphs'}`);
  }
  if (r.review.length) {
    lines.push('records waiting for review:');
    for (const x of r.review) lines.push(`  ${x.recordId}  ${x.station ?? '-'}  chip ${x.chipSerial ?? '?'}  ${x.reason ?? ''}`);
  }
  return lines.join('\n');
}
