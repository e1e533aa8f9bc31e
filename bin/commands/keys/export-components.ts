import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { toHex, wipe } from '../../../bytes/index.js';
import type { Ctx } from '../../context.js';
import { UsageError } from '../../errors.js';
import { emit } from '../../io.js';
import { storeOptions, withStore, type StoreArgs } from './common.js';

export function exportComponentsCommand(ctx: Ctx): CommandModule {
  return {
    command: 'export-components',
    describe: 'back a key up as 2 or 3 clear components, each to its own file (mode 600); prints each KCV',
    builder: (y) =>
      y
        .options({
          ...storeOptions,
          label: { type: 'string', demandOption: true, requiresArg: true, describe: 'key label' },
          'key-version': { type: 'number', requiresArg: true, describe: 'version (default: the newest active)' },
          parts: { choices: [2, 3] as const, default: 2 as const, describe: 'how many components' },
          'out-dir': { type: 'string', demandOption: true, requiresArg: true, describe: 'folder for the component files (one per custodian; move each to its own medium)' },
        })
        .example('$0 keys export-components --keystore issuer.keys --label kmc --parts 3 --out-dir /media/ceremony', 'three components for three custodians'),
    handler: async (argv) => {
      const a = argv as unknown as StoreArgs & { label: string; keyVersion?: number; parts: 2 | 3; outDir: string };
      const written: { file: string; kcv: string }[] = [];
      const key = await withStore(ctx, a, true, async (s) => {
        const ex = await s.exportComponents({ label: a.label, ...(a.keyVersion !== undefined ? { version: a.keyVersion } : {}) }, a.parts);
        try {
          ex.components.forEach((c, i) => {
            const file = join(a.outDir, `${ex.key.label}-v${ex.key.version}-component-${i + 1}-of-${a.parts}.hex`);
            try {
              writeFileSync(file, toHex(c) + '\n', { mode: 0o600, flag: 'wx' });
            } catch (e) {
              const code = (e as NodeJS.ErrnoException).code;
              throw new UsageError(code === 'EEXIST' ? `${file} exists; move the old components away first` : `cannot write ${file} (${code ?? 'error'})`);
            }
            written.push({ file, kcv: ex.kcvs[i]! });
          });
        } finally {
          wipe(...ex.components);
        }
        return ex.key;
      });
      const text = [`${key.label} v${key.version} (KCV ${key.kcv}) exported as ${a.parts} components:`, ...written.map((w, i) => `  component ${i + 1}: KCV ${w.kcv}  ${w.file}`)].join('\n');
      emit(ctx.io, a.json, { label: key.label, version: key.version, kcv: key.kcv, components: written }, text);
    },
  };
}
