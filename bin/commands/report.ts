// cardsmith report DIR [--html FILE] [--json]: the batch's figures from its journal.
// Exit 0 when the report was made and the duplicates check is 0; 1 when duplicates were found
// (the batch must be investigated); 2 when DIR has no journal or FILE cannot be written.
import { writePrivateFileSync } from '../../files/private.js';
import type { CommandModule } from 'yargs';
import { Journal, JournalError } from '../../personalization/journal/index.js';
import { formatReportText, reportFromDir } from '../../personalization/report/index.js';
import type { Ctx } from '../context.js';
import { EXIT_FAILED, UsageError } from '../errors.js';
import { outputOptions } from '../options.js';

export function reportCommand(ctx: Ctx): CommandModule {
  return {
    command: 'report <dir>',
    describe: 'summarize a batch from its journal: counts, reject reasons, stations, timings, duplicates',
    builder: (y) =>
      y
        .positional('dir', { type: 'string', describe: 'the batch folder (holds journal.sqlite)' })
        .options({
          html: { type: 'string', requiresArg: true, describe: 'also write a self-contained HTML report (with card faces from DIR/faces/) to FILE' },
          json: { ...outputOptions.json, describe: 'machine-readable output: the report as one JSON object' },
          'max-faces': { type: 'number', default: 100, requiresArg: true, describe: 'with --html: card-face thumbnails embedded at most (issue order)' },
        })
        .example('$0 report batches/2024-05', 'counts, reject reasons, per-station figures and the duplicates check')
        .example('$0 report batches/2024-05 --html report.html', 'the same, and a page to open in a browser')
        .example('$0 report batches/2024-05 --json', '{"format":"cardsmith-report","counts":{…},…}')
        .epilogue('Exit 1 when the duplicates check is not 0. The journal is only read.'),
    handler: async (argv) => {
      const a = argv as unknown as { dir: string; html?: string; json: boolean; maxFaces: number };
      if (!Number.isInteger(a.maxFaces) || a.maxFaces < 0) throw new UsageError(`report: --max-faces takes a whole number ≥ 0, got ${String(a.maxFaces)}`);
      if (!Journal.exists(a.dir)) throw new UsageError(`report: ${a.dir} has no journal.sqlite; give a batch folder that has been run (cardsmith run ${a.dir})`);
      let built: ReturnType<typeof reportFromDir>;
      try {
        built = reportFromDir(a.dir, { html: a.html !== undefined, maxFaces: a.maxFaces });
      } catch (e) {
        if (e instanceof JournalError) throw new UsageError(`report: ${e.message}`);
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
