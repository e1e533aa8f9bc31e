// cardsmith audit verify FILE [--json]: checks a hash-chained audit log (keys/audit.ts) — the
// runner's DIR/audit.log, or a key store's log without its anchor. Exit 0 when every entry chains
// and hashes correctly; 1 naming the first bad entry (edited, deleted, inserted, moved, torn);
// 2 when FILE cannot be read.
import { existsSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { about } from './index.js';
import { verifyAuditLog } from '../../keys/audit.js';
import { AuditError } from '../../keys/errors.js';
import type { Ctx } from '../context.js';
import { UsageError } from '../errors.js';
import { emit } from '../io.js';
import { outputOptions } from '../options.js';

export function auditCommand(ctx: Ctx): CommandModule {
  return {
    ...about('audit'),
    builder: (y) =>
      y
        .command({
          command: 'verify <file>',
          describe: 'check every entry and the hash chain; exit 1 naming the first edited, deleted or moved entry',
          builder: (y2) =>
            y2
              .positional('file', { type: 'string', describe: 'the audit log (a batch folder\'s audit.log)' })
              .options({ json: { ...outputOptions.json, describe: 'machine-readable output: {"ok":…,"entries":…} or {"ok":false,"error":…}' } })
              .example('$0 audit verify batches/2024-05/audit.log', 'OK, N entries')
              .epilogue("Without the key store's anchor a cut-off tail cannot be seen; for a key store's log use cardsmith keys audit --verify."),
          handler: (argv) => {
            const a = argv as unknown as { file: string; json: boolean };
            if (!existsSync(a.file)) throw new UsageError(`audit verify: ${a.file} does not exist`);
            try {
              const r = verifyAuditLog(a.file);
              emit(ctx.io, a.json, { ok: true, file: a.file, entries: r.entries, hash: r.hashAlg, head: r.head }, `audit log ${a.file}: OK, ${r.entries} entries (${r.hashAlg}), chain intact; head ${r.head.hash.slice(0, 16)}…`);
            } catch (e) {
              if (!(e instanceof AuditError)) throw e;
              if (a.json) ctx.io.out(JSON.stringify({ ok: false, file: a.file, error: e.message }));
              throw e;
            }
          },
        })
        .demandCommand(1, 'name a subcommand: audit verify FILE'),
    handler: () => {},
  };
}
