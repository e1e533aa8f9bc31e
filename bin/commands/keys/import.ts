import type { CommandModule } from 'yargs';
import { wipe } from '../../../bytes/index.js';
import { combineComponents, keyKcv } from '../../../keys/material.js';
import type { KeyAlg } from '../../../keys/types.js';
import type { Ctx } from '../../context.js';
import { emit } from '../../io.js';
import { checkFinalKcv, componentOptions, readComponents, storeOptions, withStore, type ComponentArgs, type StoreArgs } from './common.js';
import { keyLine, newKeyOptions, parseUsage, publicInfo, type NewKeyArgs } from './generate.js';

/** Reads, confirms and combines components; checks --kcv before anything is stored. */
export async function confirmedComponents(ctx: Ctx, a: ComponentArgs, alg: KeyAlg): Promise<{ components: Uint8Array[]; kcv: string }> {
  const components = await readComponents(ctx, a, alg);
  try {
    const key = combineComponents(alg, components);
    const kcv = keyKcv(alg, key);
    wipe(key);
    checkFinalKcv(a, kcv);
    return { components, kcv };
  } catch (e) {
    wipe(...components);
    throw e;
  }
}

export function importCommand(ctx: Ctx): CommandModule {
  return {
    command: 'import',
    describe: 'import a key from 2 or 3 clear components (key = XOR); each component KCV is shown and confirmed',
    builder: (y) =>
      y
        .options({ ...storeOptions, ...newKeyOptions, ...componentOptions })
        .example('$0 keys import --keystore issuer.keys --label kmc --alg des3 --component prompt --component prompt', 'at a terminal: each custodian types a component and confirms its KCV')
        .example(
          '$0 keys import --keystore issuer.keys --label kmc --alg des3 --component file:/media/c1.hex --component-kcv 1A2B3C --component env:C2 --component-kcv 4D5E6F --kcv 8BAF47',
          'non-interactive, with the KCVs from the custodians\' sheets',
        ),
    handler: async (argv) => {
      const a = argv as unknown as StoreArgs & NewKeyArgs & ComponentArgs;
      const usage = parseUsage(a.usage);
      const { components } = await confirmedComponents(ctx, a, a.alg);
      try {
        const k = await withStore(ctx, a, true, (s) =>
          s.importComponents(
            { label: a.label, alg: a.alg, ...(usage ? { usage } : {}), ...(a.exportable !== undefined ? { exportable: a.exportable } : {}) },
            components,
          ),
        );
        emit(ctx.io, a.json, { key: publicInfo(k), components: components.length }, `imported ${keyLine(k)} from ${components.length} components`);
      } finally {
        wipe(...components);
      }
    },
  };
}
