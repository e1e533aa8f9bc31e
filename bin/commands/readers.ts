import type { CommandModule } from 'yargs';
import { about } from './index.js';
import { toHex } from '../../bytes/index.js';
import { listReaders } from '../../transport/index.js';
import type { Ctx } from '../context.js';
import { outputOptions } from '../options.js';

export function readersCommand(ctx: Ctx): CommandModule {
  return {
    ...about('readers'),
    builder: (y) =>
      y
        .options({ json: { ...outputOptions.json, describe: 'machine-readable output: one JSON array, an object per reader' } })
        .example('$0 readers', 'one line per reader: name, card or empty, ATR')
        .example('$0 readers --json', '[{"name":"Virtual PCD 00 00","card":true,"atr":"3B…"}, …]')
        .epilogue('Needs pcscd and the optional smartcard package. The in-process simulator is not a PC/SC reader: use --reader sim.'),
    handler: async (argv) => {
      const a = argv as unknown as { json: boolean };
      const readers = await listReaders();
      const rows = readers.map((r) => ({ name: r.name, card: r.cardPresent, ...(r.atr ? { atr: toHex(r.atr) } : {}) }));
      if (a.json) {
        ctx.io.out(JSON.stringify(rows));
        return;
      }
      if (rows.length === 0) {
        ctx.io.out('no PC/SC readers attached');
        return;
      }
      const width = Math.max(...rows.map((r) => r.name.length));
      for (const r of rows) ctx.io.out(`${r.name.padEnd(width)}  ${r.card ? `card   ATR ${r.atr ?? '?'}` : 'empty'}`);
    },
  };
}
