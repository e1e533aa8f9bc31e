import type { CommandModule } from 'yargs';
import { wipe } from '../../../bytes/index.js';
import { DIVERSIFY_METHODS, type DiversifyMethod, type KeyType } from '../../../crypto/diversify.js';
import type { Ctx } from '../../context.js';
import { emit } from '../../io.js';
import { hexOption } from '../../options.js';
import { storeOptions, withStore, type StoreArgs } from './common.js';

const KEY_TYPES: readonly KeyType[] = ['enc', 'mac', 'dek'];

export function deriveCommand(ctx: Ctx): CommandModule {
  return {
    command: 'derive',
    describe: "derive a card key (or key set) from a stored master key and print the KCVs (never the keys)",
    builder: (y) =>
      y
        .options({
          ...storeOptions,
          label: { type: 'string', demandOption: true, requiresArg: true, describe: 'master key label' },
          'key-version': { type: 'number', requiresArg: true, describe: 'master key version (default: newest active)' },
          method: { choices: DIVERSIFY_METHODS, demandOption: true, describe: 'diversification method' },
          data: { ...hexOption('data', 'diversification data (KDD, PBOC level data, or Option A block)'), demandOption: true },
          'key-type': { choices: KEY_TYPES, describe: 'emv, visa2, kdf3, cps11: one key of the set (all three when omitted)' },
        })
        .example('$0 keys derive --keystore issuer.keys --label kmc --method emv --data 00010203040506070809', 'KCVs of the ENC/MAC/DEK keys of that card'),
    handler: async (argv) => {
      const a = argv as unknown as StoreArgs & { label: string; keyVersion?: number; method: DiversifyMethod; data: Uint8Array; keyType?: KeyType };
      const set = ['emv', 'visa2', 'kdf3', 'cps11'].includes(a.method);
      const types: (KeyType | undefined)[] = set ? (a.keyType ? [a.keyType] : [...KEY_TYPES]) : [undefined];
      const ref = { label: a.label, ...(a.keyVersion !== undefined ? { version: a.keyVersion } : {}) };
      const { info, keys } = await withStore(ctx, a, false, async (s) => ({
        info: await s.info(ref),
        keys: await s.deriveCardKeys(ref, types.map((t) => ({ method: a.method, data: a.data, ...(t ? { keyType: t } : {}) }))),
      }));
      const out = keys.map((k, i) => {
        wipe(k.value);
        return { ...(types[i] ? { keyType: types[i] } : {}), alg: k.alg, kcv: k.kcv };
      });
      emit(ctx.io, a.json, { master: { label: info.label, version: info.version, kcv: info.kcv }, method: a.method, keys: out }, out.map((k) => `${k.keyType ?? 'key'}  ${k.alg}  KCV ${k.kcv}`).join('\n'));
    },
  };
}
