import type { CommandModule } from 'yargs';
import type { Ctx } from '../../context.js';
import { emit } from '../../io.js';
import { storeOptions, withStore, type StoreArgs } from './common.js';

export function listCommand(ctx: Ctx): CommandModule {
  return {
    command: 'list',
    describe: 'list the keys: label, version, algorithm, usage, state, KCV (never a key value)',
    builder: (y) => y.options(storeOptions).example('$0 keys list --keystore issuer.keys', 'the key table').example('$0 keys list --keystore issuer.keys --json', 'as JSON'),
    handler: async (argv) => {
      const a = argv as unknown as StoreArgs;
      const keys = await withStore(ctx, a, false, (s) => s.list());
      const rows = [['LABEL', 'VER', 'ALG', 'BITS', 'USAGE', 'STATE', 'KCV', 'CREATED', 'NOTE']].concat(
        keys.map((k) => [k.label, String(k.version), k.alg, String(k.length * 8), k.usage.join(','), k.state, k.kcv, k.createdAt.slice(0, 19) + 'Z', k.hasCertificate ? 'CA certificate' : k.exportable ? 'exportable' : '']),
      );
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      const text = keys.length === 0 ? 'no keys yet (cardsmith keys generate | import)' : rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
      emit(ctx.io, a.json, { keys }, text);
    },
  };
}
