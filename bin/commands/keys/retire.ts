import type { CommandModule } from 'yargs';
import type { Ctx } from '../../context.js';
import { emit } from '../../io.js';
import { storeOptions, withStore, type StoreArgs } from './common.js';
import { keyLine, publicInfo } from './generate.js';

export function retireCommand(ctx: Ctx): CommandModule {
  return {
    command: 'retire',
    describe: 'retire one version of a key: it can no longer derive, encrypt, MAC, wrap, seal or sign (sealed data still opens)',
    builder: (y) =>
      y
        .options({
          ...storeOptions,
          label: { type: 'string', demandOption: true, requiresArg: true, describe: 'key label' },
          'key-version': { type: 'number', demandOption: true, requiresArg: true, describe: 'the version to retire (always named explicitly)' },
        })
        .example('$0 keys retire --keystore issuer.keys --label kmc --key-version 1', 'after every card under kmc v1 has been re-keyed'),
    handler: async (argv) => {
      const a = argv as unknown as StoreArgs & { label: string; keyVersion: number };
      const k = await withStore(ctx, a, true, (s) => s.retire({ label: a.label, version: a.keyVersion }));
      emit(ctx.io, a.json, { key: publicInfo(k) }, `retired ${keyLine(k)}`);
    },
  };
}
