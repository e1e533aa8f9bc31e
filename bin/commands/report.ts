// cardsmith report DIR [--html FILE] [--json] [--keystore …]: the batch's figures from its journal.
// The batch folder is checked against its manifest first (the MAC too with --keystore), and the
// journal must be this batch's. Exit 0 when the report was made and the duplicates check is 0; 1
// when duplicates were found (the batch must be investigated); 2 when DIR is not an intact batch,
// has no journal of its own, or FILE cannot be written (or is not a cardsmith report: never overwritten).
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { writePrivateFileSync } from '../../files/private.js';
import type { CommandModule } from 'yargs';
import { about } from './index.js';
import { JournalError } from '../../personalization/journal/index.js';
import { formatReportText, REPORT_HTML_HEAD, reportFromDir } from '../../personalization/report/index.js';
import { checkedBatch, openBatchJournal } from '../batch.js';
import type { Ctx } from '../context.js';
import { EXIT_FAILED, prefixed, UsageError } from '../errors.js';
import { outputOptions } from '../options.js';
import { openStore, storeOptions, type StoreArgs } from './keys/common.js';

/** Refuses to write over a file that is not a cardsmith HTML report (a journal, a script, anything else). */
function refuseNonReport(file: string): void {
  if (!existsSync(file)) return;
  let head = '';
  try {
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(REPORT_HTML_HEAD.length);
      head = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new UsageError(`report: cannot write ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (head !== REPORT_HTML_HEAD) throw new UsageError(`report: ${file} exists and is not a cardsmith HTML report: it is not overwritten; give another --html file`);
}

export function reportCommand(ctx: Ctx): CommandModule {
  return {
    ...about('report'),
    builder: (y) =>
      y
        .positional('dir', { type: 'string', describe: 'the batch folder (holds journal.sqlite)' })
        .options({
          ...storeOptions,
          keystore: { ...storeOptions.keystore, demandOption: false, describe: "the key store, to check the batch manifest's MAC too (else only the digests are checked, and a note says so)" },
          html: { type: 'string', requiresArg: true, describe: 'also write a self-contained HTML report (with card faces from DIR/faces/) to FILE (a new file, or an earlier cardsmith report)' },
          json: { ...outputOptions.json, describe: 'machine-readable output: the report as one JSON object' },
          'max-faces': { type: 'number', default: 100, requiresArg: true, describe: 'with --html: card-face thumbnails embedded at most (issue order)' },
        })
        .example('$0 report batches/2024-05', 'counts, reject reasons, per-station figures and the duplicates check')
        .example('$0 report batches/2024-05 --html report.html', 'the same, and a page to open in a browser')
        .example('$0 report batches/2024-05 --json', '{"format":"cardsmith-report","counts":{…},…}')
        .epilogue('Exit 1 when the duplicates check is not 0. The journal is only read.'),
    handler: async (argv) => {
      const a = argv as unknown as Omit<StoreArgs, 'keystore'> & { keystore?: string; dir: string; html?: string; maxFaces: number };
      if (!Number.isInteger(a.maxFaces) || a.maxFaces < 0) throw new UsageError(`report: --max-faces takes a whole number ≥ 0, got ${String(a.maxFaces)}`);
      if (a.html !== undefined) refuseNonReport(a.html);
      const provider = a.keystore === undefined ? undefined : await openStore(ctx.io, { ...a, keystore: a.keystore }, false);
      try {
        openBatchJournal('report', await checkedBatch(ctx, 'report', a.dir, provider)).close();
      } finally {
        await provider?.close();
      }
      let built: ReturnType<typeof reportFromDir>;
      try {
        built = reportFromDir(a.dir, { html: a.html !== undefined, maxFaces: a.maxFaces });
      } catch (e) {
        if (e instanceof JournalError) throw prefixed(e, 'report');
        throw e;
      }
      const { report, html } = built;
      if (a.html !== undefined) {
        try {
          writePrivateFileSync(a.html, html ?? '');
        } catch (e) {
          throw new UsageError(`report: cannot write ${a.html} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
        }
      }
      ctx.io.out(a.json ? JSON.stringify(report) : formatReportText(report) + (a.html !== undefined ? `\nHTML report: ${a.html}` : ''));
      const dup = report.duplicates.records + report.duplicates.chips + report.duplicates.inconsistent;
      if (dup > 0) {
        ctx.io.err(`cardsmith: report: the duplicates check found ${dup} problem(s); do not ship this batch before investigating`);
        ctx.exitCode = EXIT_FAILED;
      }
    },
  };
}
