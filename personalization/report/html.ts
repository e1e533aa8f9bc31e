// The report as one self-contained HTML file (no scripts, no external resources): summary,
// duplicates check, stations, timings, reject reasons, rejected and review records, and card-face
// thumbnails (PNG files embedded as data URLs) when the runner kept faces in DIR/faces/.
import type { Report, ReportRecord } from './report.js';

export interface FaceThumbnail {
  recordId: string;
  png: Uint8Array;
  /** Drawn with placeholder glyphs (no font had some characters): not print-ready. */
  placeholderGlyphs?: boolean;
}

const esc = (s: unknown) =>
  String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#f3f3f3}
td.n{text-align:right}.ok{color:#1a7f37;font-weight:bold}.bad{color:#b00020;font-weight:bold}
.faces{display:flex;flex-wrap:wrap;gap:.8em}.faces figure{margin:0}.faces img{width:254px;height:162px;border:1px solid #999;border-radius:8px}
figcaption{font-size:.85em;color:#555}`;

function records(title: string, list: ReportRecord[]): string {
  if (list.length === 0) return '';
  const rows = list.map((r) => `<tr><td>${esc(r.recordId)}</td><td>${esc(r.station ?? '')}</td><td>${esc(r.chipSerial ?? '')}</td><td class="n">${r.attempts}</td><td class="n">${r.cardRejects}</td><td>${esc(r.reason ?? '')}</td></tr>`);
  return `<h2>${esc(title)} (${list.length})</h2><table><tr><th>record</th><th>station</th><th>chip</th><th>attempts</th><th>cards rejected</th><th>reason</th></tr>${rows.join('')}</table>`;
}

/** How every HTML report begins: `cardsmith report --html` overwrites only a file that begins so. */
export const REPORT_HTML_HEAD = '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="generator" content="cardsmith report">';

/** `facesOmitted`: issued cards whose faces were left out (beyond the thumbnail limit); said on the page. */
export function renderReportHtml(r: Report, faces: readonly FaceThumbnail[] = [], o: { facesOmitted?: number } = {}): string {
  const c = r.counts;
  const dup = r.duplicates.records + r.duplicates.chips + r.duplicates.inconsistent;
  const parts: string[] = [];
  parts.push(`${REPORT_HTML_HEAD}<title>cardsmith report ${esc(r.batch.batchId ?? '')}</title><style>${CSS}</style></head><body>`);
  parts.push(`<h1>Batch ${esc(r.batch.batchId ?? '(no id)')}</h1><p>${r.batch.dir ? `${esc(r.batch.dir)} · ` : ''}generated ${esc(r.generatedAt)}</p>`);
  parts.push(
    `<h2>Records</h2><table><tr><th>total</th><th>issued</th><th>rejected</th><th>pending</th><th>in review</th><th>in progress</th><th>cards to the reject box</th></tr>` +
      `<tr><td class="n">${c.total}</td><td class="n">${c.issued}</td><td class="n">${c.rejected}</td><td class="n">${c.pending}</td><td class="n">${c.review}</td><td class="n">${c.inProgress}</td><td class="n">${r.cardRejects.total}</td></tr></table>`,
  );
  parts.push(
    `<h2>Duplicates</h2><p class="${dup === 0 ? 'ok' : 'bad'}">${dup === 0 ? '0 — no record issued twice, no chip carrying two records, journal consistent' : `${dup} — records ${r.duplicates.records}, chips ${r.duplicates.chips}, inconsistent ${r.duplicates.inconsistent}: investigate before shipping`}</p>`,
  );
  if (r.stations.length) {
    const rows = r.stations.map(
      (s) =>
        `<tr><td>${esc(s.name)}</td><td class="n">${s.attempts}</td><td class="n">${s.issued}</td><td class="n">${s.cardsRejected}</td><td class="n">${s.released}</td><td class="n">${s.review}</td><td class="n">${s.cardsPerHour ?? '–'}</td><td class="n">${s.cardTime ? s.cardTime.medianMs : '–'}</td><td class="n">${s.cardTime ? s.cardTime.p95Ms : '–'}</td></tr>`,
    );
    parts.push(`<h2>Stations</h2><table><tr><th>station</th><th>attempts</th><th>issued</th><th>cards rejected</th><th>released</th><th>review</th><th>cards/h</th><th>median ms</th><th>p95 ms</th></tr>${rows.join('')}</table>`);
  }
  const t = r.timings;
  if (t.elapsedMs !== null) {
    parts.push(
      `<h2>Timings</h2><table><tr><th>first start</th><th>last end</th><th>elapsed</th><th>cards/h</th><th>per card: median</th><th>p95</th><th>max</th></tr>` +
        `<tr><td>${esc(t.firstStart)}</td><td>${esc(t.lastEnd)}</td><td class="n">${(t.elapsedMs / 1000).toFixed(1)} s</td><td class="n">${t.cardsPerHour ?? '–'}</td><td class="n">${t.cardTime?.medianMs ?? '–'} ms</td><td class="n">${t.cardTime?.p95Ms ?? '–'} ms</td><td class="n">${t.cardTime?.maxMs ?? '–'} ms</td></tr></table>`,
    );
  }
  const reasons = (title: string, list: { reason: string; count: number }[]) =>
    list.length ? `<h2>${esc(title)}</h2><table><tr><th>count</th><th>reason</th></tr>${list.map((x) => `<tr><td class="n">${x.count}</td><td>${esc(x.reason)}</td></tr>`).join('')}</table>` : '';
  parts.push(reasons('Reject reasons (records)', r.rejectReasons));
  parts.push(reasons('Cards to the reject box, by reason', r.cardRejects.byReason));
  parts.push(records('Rejected records', r.rejected));
  parts.push(records('Records waiting for review', r.review));
  parts.push(records('Records in progress (resume the run)', r.inProgress));
  if (faces.length) {
    const figs = faces.map((f) => `<figure><img alt="face of ${esc(f.recordId)}" src="data:image/png;base64,${Buffer.from(f.png).toString('base64')}"><figcaption>${esc(f.recordId)}${f.placeholderGlyphs ? ' <span class="bad">placeholder glyphs</span>' : ''}</figcaption></figure>`);
    const flagged = r.faces?.placeholderGlyphs ?? faces.filter((f) => f.placeholderGlyphs).length;
    if (flagged) parts.push(`<p class="bad">${flagged} card face(s) drawn with placeholder glyphs: no font on the printing machine had some characters, so they are not print-ready. Install fonts-droid-fallback or name a font in the profile (face.fonts) or CARDSMITH_FONTS, and print them again.</p>`);
    const more = o.facesOmitted ? `<p>The first ${faces.length} of ${faces.length + o.facesOmitted} issued cards' faces; all are in the batch folder's faces/ (cardsmith report --max-faces N shows more).</p>` : '';
    parts.push(`<h2>Card faces (${faces.length})</h2>${more}<div class="faces">${figs.join('')}</div>`);
  }
  parts.push('</body></html>\n');
  return parts.join('\n');
}
