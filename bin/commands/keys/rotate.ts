import type { CommandModule } from 'yargs';
import { wipe } from '../../../bytes/index.js';
import type { Ctx } from '../../context.js';
import { emit } from '../../io.js';
import { componentOptions, storeOptions, withStore, type ComponentArgs, type StoreArgs } from './common.js';
import { keyLine, publicInfo } from './generate.js';
import { confirmedComponents } from './import.js';

export function rotateCommand(ctx: Ctx): CommandModule {
  return {
    command: 'rotate',
    describe: 'make a new version of a label (generated, or from components); older versions stay usable until retired',
    builder: (y) =>
      y
        .options({ ...storeOptions, label: { type: 'string', demandOption: true, requiresArg: true, describe: 'the label to rotate' }, ...componentOptions })
        .example('$0 keys rotate --keystore issuer.keys --label kmc', 'kmc v2, generated in the store')
        .example('$0 keys rotate --keystore issuer.keys --label kmc --component prompt --component prompt', 'kmc v2 from components'),
    handler: async (argv) => {
      const a = argv as unknown as StoreArgs & ComponentArgs & { label: string };
      const k = await withStore(ctx, a, true, async (s) => {
        if (!a.component || a.component.length === 0) return s.rotate(a.label);
        const prev = (await s.list()).find((x) => x.label === a.label);
        if (!prev) return s.rotate(a.label); // refuses with "no key labelled …"
        const { components } = await confirmedComponents(ctx, a, prev.alg);
        try {
          return await s.rotate(a.label, components);
        } finally {
          wipe(...components);
        }
      });
      emit(ctx.io, a.json, { key: publicInfo(k) }, `rotated: ${keyLine(k)} (older versions stay usable until cardsmith keys retire)`);
    },
  };
}
