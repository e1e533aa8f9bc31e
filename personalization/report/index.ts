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
  return scanFaces(dir, journal, max).faces;
}

/** As loadFaces, and how many issued records' faces were left out by `max`. */
export function scanFaces(dir: string, journal: Journal, max = 100): { faces: FaceThumbnail[]; omitted: number } {
  const folder = join(dir, FACES_DIR);
  if (!existsSync(folder)) return { faces: [], omitted: 0 };
  const out: FaceThumbnail[] = [];
  let omitted = 0;
  for (const c of journal.issuedCards()) {
    const path = join(folder, faceFileName(c.recordId));
    if (!existsSync(path)) continue;
    if (out.length >= max) omitted++;
    else out.push({ recordId: c.recordId, png: new Uint8Array(readFileSync(path)) });
  }
  return { faces: out, omitted };
}

/** Opens DIR's journal, builds the report (and the HTML when asked), closes the journal. */
export function reportFromDir(dir: string, options: BuildReportOptions & { html?: boolean; maxFaces?: number } = {}): { report: Report; html?: string } {
  const journal = Journal.open(dir);
  try {
    const report = buildReport(journal, { dir, ...options });
    if (!options.html) return { report };
    const { faces, omitted } = scanFaces(dir, journal, options.maxFaces);
    return { report, html: renderReportHtml(report, faces, { facesOmitted: omitted }) };
  } finally {
    journal.close();
  }
}
