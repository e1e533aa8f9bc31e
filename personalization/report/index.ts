// Batch reports from the journal: JSON, text, and a self-contained HTML page with card faces.
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { FACE_FLAG_KEYWORD, PLACEHOLDER_FLAG } from '../../faces/faces.js';
import { readPngText } from '../../faces/png.js';
import { Journal } from '../journal/index.js';
import { renderReportHtml, type FaceThumbnail } from './html.js';
import { buildReport, type BuildReportOptions, type Report } from './report.js';

export { buildReport, durationStats, formatReportText, reasonKey, REPORT_FORMAT, REPORT_VERSION } from './report.js';
export type { BuildReportOptions, DurationStats, Report, ReportRecord, StationFigures } from './report.js';
export { renderReportHtml, REPORT_HTML_HEAD } from './html.js';
export type { FaceThumbnail } from './html.js';

/** Where the runner keeps card faces: DIR/faces/<record id, URI-encoded>.png. */
export const FACES_DIR = 'faces';
export function faceFileName(recordId: string): string {
  return `${encodeURIComponent(recordId)}.png`;
}

/** True when a face PNG is flagged as drawn with placeholder glyphs (renderFace's tEXt chunk; the file's head is enough). */
export function hasPlaceholderGlyphs(png: Uint8Array): boolean {
  return readPngText(png)[FACE_FLAG_KEYWORD] === PLACEHOLDER_FLAG;
}

function headOf(path: string, n = 512): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const buf = new Uint8Array(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

/** The issued records' faces in DIR/faces/: how many, and those with placeholder glyphs (reads each file's head only). */
export function faceSummary(dir: string, journal: Journal): NonNullable<Report['faces']> {
  const folder = join(dir, FACES_DIR);
  const out = { kept: 0, placeholderGlyphs: 0, placeholderRecords: [] as string[] };
  if (!existsSync(folder)) return out;
  for (const c of journal.issuedCards()) {
    const path = join(folder, faceFileName(c.recordId));
    if (!existsSync(path)) continue;
    out.kept++;
    if (hasPlaceholderGlyphs(headOf(path))) {
      out.placeholderGlyphs++;
      if (out.placeholderRecords.length < 20) out.placeholderRecords.push(c.recordId);
    }
  }
  return out;
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
    else {
      const png = new Uint8Array(readFileSync(path));
      out.push({ recordId: c.recordId, png, ...(hasPlaceholderGlyphs(png) ? { placeholderGlyphs: true } : {}) });
    }
  }
  return { faces: out, omitted };
}

/** Opens DIR's journal, builds the report (and the HTML when asked), closes the journal. */
export function reportFromDir(dir: string, options: BuildReportOptions & { html?: boolean; maxFaces?: number } = {}): { report: Report; html?: string } {
  const journal = Journal.open(dir);
  try {
    const report = buildReport(journal, { dir, ...options });
    const kept = faceSummary(dir, journal);
    if (kept.kept > 0) report.faces = kept;
    if (!options.html) return { report };
    const { faces, omitted } = scanFaces(dir, journal, options.maxFaces);
    return { report, html: renderReportHtml(report, faces, { facesOmitted: omitted }) };
  } finally {
    journal.close();
  }
}
