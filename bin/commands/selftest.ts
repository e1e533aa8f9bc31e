import type { CommandModule } from 'yargs';
import { about } from './index.js';
import { checkVector, loadVectorFiles } from '../../crypto/known-answers.js';
import type { Ctx } from '../context.js';
import { EXIT_FAILED } from '../errors.js';
import { installPath } from '../paths.js';

export function selftestCommand(ctx: Ctx): CommandModule {
  return {
    ...about('selftest'),
    builder: (y) =>
      y
        .options({
          verbose: { type: 'boolean', alias: 'v', default: false, describe: 'one line per vector with its source' },
          json: { type: 'boolean', default: false, describe: 'machine-readable output' },
        })
        .example('$0 selftest', 'a line per vector file: how many vectors passed')
        .example('$0 selftest --verbose', 'every vector with its source'),
    handler: (argv) => {
      const a = argv as unknown as { verbose: boolean; json: boolean };
      const { io } = ctx;
      const files = loadVectorFiles(installPath('test-vectors'));
      let passed = 0;
      let failed = 0;
      const report: { file: string; name: string; op: string; source: string; ok: boolean; detail?: string }[] = [];
      for (const f of files) {
        let filePassed = 0;
        for (const v of f.vectors) {
          const r = checkVector(v);
          report.push({ file: f.file, name: v.name, op: v.op, source: v.source, ok: r.ok, ...(r.detail ? { detail: r.detail } : {}) });
          if (r.ok) filePassed++;
          if (!a.json && (a.verbose || !r.ok)) io.out(`  ${r.ok ? 'ok  ' : 'FAIL'} ${f.file} ${v.name}${r.ok ? '' : ': ' + r.detail}${a.verbose ? `  [${v.source}]` : ''}`);
        }
        passed += filePassed;
        failed += f.vectors.length - filePassed;
        if (!a.json) io.out(`${filePassed === f.vectors.length ? 'ok  ' : 'FAIL'} ${f.file.padEnd(22)} ${filePassed}/${f.vectors.length}  ${f.description}`);
      }
      if (a.json) io.out(JSON.stringify({ passed, failed, vectors: report }));
      else io.out(`${passed} vectors passed, ${failed} failed`);
      if (failed > 0) ctx.exitCode = EXIT_FAILED;
    },
  };
}
