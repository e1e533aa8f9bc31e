import type { CommandModule, Options } from 'yargs';
import { KEY_ALGS, KEY_USAGES, type KeyAlg, type KeyInfo, type KeyUsage } from '../../../keys/types.js';
import type { Ctx } from '../../context.js';
import { UsageError } from '../../errors.js';
import { emit } from '../../io.js';
import { storeOptions, withStore, type StoreArgs } from './common.js';

export const newKeyOptions = {
  label: { type: 'string', demandOption: true, requiresArg: true, describe: 'key label (A-Z a-z 0-9 . _ -)' },
  alg: { choices: KEY_ALGS, demandOption: true, describe: 'algorithm' },
  length: { type: 'number', describe: 'key length in bytes (des3 16|24, aes 16|24|32, sm4 16); default des3 16, aes 32' },
  usage: { type: 'string', describe: `comma-separated: ${KEY_USAGES.join(', ')} (default derive; sm2: sign)` },
  exportable: { type: 'boolean', describe: 'allow export-components later (default: yes in a file store, no in a token)' },
} satisfies Record<string, Options>;

export interface NewKeyArgs {
  label: string;
  alg: KeyAlg;
  length?: number;
  usage?: string;
  exportable?: boolean;
}

export function parseUsage(text: string | undefined): KeyUsage[] | undefined {
  if (text === undefined) return undefined;
  const list = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const u of list) if (!(KEY_USAGES as readonly string[]).includes(u)) throw new UsageError(`--usage: unknown usage '${u}' (expected ${KEY_USAGES.join(', ')})`);
  return list as KeyUsage[];
}

export function keyLine(k: KeyInfo): string {
  return `${k.label} v${k.version}  ${k.alg}-${k.length * 8}  ${k.usage.join(',')}  ${k.state}  KCV ${k.kcv}`;
}

export function publicInfo(k: KeyInfo): KeyInfo {
  return { ...k };
}

export function generateCommand(ctx: Ctx): CommandModule {
  return {
    command: 'generate',
    describe: 'generate a new key (version 1) inside the store; prints its KCV',
    builder: (y) =>
      y
        .options({ ...storeOptions, ...newKeyOptions })
        .example('$0 keys generate --keystore issuer.keys --label kmc --alg des3', 'a 3DES master key for GP/CPS derivation')
        .example('$0 keys generate --keystore issuer.keys --label batch-transport --alg aes --length 32 --usage seal,mac', 'the batch transport key (seal secrets into scripts, key the PIN generator)')
        .example('$0 keys generate --keystore issuer.keys --label card-ca --alg sm2', 'an SM2 CA key (then keys ca-init)'),
    handler: async (argv) => {
      const a = argv as unknown as StoreArgs & NewKeyArgs;
      const usage = parseUsage(a.usage);
      const k = await withStore(ctx, a, true, (s) =>
        s.generate({ label: a.label, alg: a.alg, ...(a.length !== undefined ? { length: a.length } : {}), ...(usage ? { usage } : {}), ...(a.exportable !== undefined ? { exportable: a.exportable } : {}) }),
      );
      emit(ctx.io, a.json, { key: publicInfo(k) }, `generated ${keyLine(k)}${k.publicKey ? `\npublic key ${k.publicKey}` : ''}`);
    },
  };
}
