// Batch reports from the journal: JSON, text, and a self-contained HTML page with card faces.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Journal } from '../journal/index.js';
import { renderReportHtml, type FaceThumbnail } from './html.js';
import { buildReport, type BuildReportOptions, type Report } from './report.js';

export { buildReport, durationStats, formatReportText, reasonKey, REPORT_FORMAT, REPORT_VERSION } from './report.js';
export type { BuildReportOptions, DurationStats, Report, ReportRecord, StationFigures } from './report.js';
export { renderReportHtml } from './html.js';
export type { FaceThumbnail } from './html.js';

/** Where the runner keeps card faces: DIR/faces/<record id, URI-encoded>.png. */
export const FACES_DIR = 'faces';
export function faceFileName(recordId: string): string {
  return `${encodeURIComponent(recordId)}.png`;
}

/** Faces of issued records found in DIR/faces/, in issue order, at most `max`. */
export function loadFaces(dir: string, journal: Journal, max = 100): FaceThumbnail[] {
  const folder = join(dir, FACES_DIR);
  if (!existsSync(folder)) return [];
  const out: FaceThumbnail[] = [];
  for (const c of journal.issuedCards()) {
    if (out.length >= max) break;
    const path = join(folder, faceFileName(c.recordId));
    if (existsSync(path)) out.push({ recordId: c.recordId, png: new Uint8Array(readFileSync(path)) });
  }
  return out;
}

/** Opens DIR's journal, builds the report (and the HTML when asked), closes the journal. */
export function reportFromDir(dir: string, options: BuildReportOptions & { html?: boolean; maxFaces?: number } = {}): { report: Report; html?: string } {
  const journal = Journal.open(dir);
  try {
    const report = buildReport(journal, { dir, ...options });
    if (!options.html) return { report };
    return { report, html: renderReportHtml(report, loadFaces(dir, journal, options.maxFaces)) };
  } finally {
    journal.close();
  }
}
