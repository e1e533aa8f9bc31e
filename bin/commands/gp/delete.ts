// `cardsmith gp delete AID --force`: DELETE (GP Card Specification 2.3.1 §11.2) of an application,
// security domain or load file, with its related objects unless --only. Irreversible, so it
// needs --force, and says first what it would delete.
import type { CommandModule } from 'yargs';
import { toHex } from '../../../bytes/index.js';
import type { Ctx } from '../../context.js';
import { UsageError } from '../../errors.js';
import { emit } from '../../io.js';
import { aidArg, gpOptions, withSession, type GpArgs } from './common.js';

export function deleteCommand(ctx: Ctx): CommandModule {
  return {
    command: 'delete <aid>',
    describe: 'delete an application, security domain or load file (irreversible: needs --force)',
    builder: (y) =>
      y
        .positional('aid', { type: 'string', demandOption: true, describe: 'AID to delete (hex)' })
        .options({
          ...gpOptions,
          force: { type: 'boolean', default: false, describe: 'really delete' },
          only: { type: 'boolean', default: false, describe: 'delete only this object, not its related objects (a load file\'s applications)' },
        })
        .example('$0 gp delete A0000001515350AA --reader sim:gp --force', 'a package and its applications')
        .example('$0 gp delete A0000001515350AA01 --reader sim:gp --force --only --json', 'one application instance'),
    handler: async (argv) => {
      const a = argv as unknown as GpArgs & { aid: string; force: boolean; only: boolean };
      const aid = aidArg(a.aid, 'aid')!;
      await withSession(ctx, a, async ({ session }) => {
        const reg = await session.registry();
        const hex = toHex(aid);
        const entry = [...reg.applications, ...reg.loadFiles].find((e) => e.aid === hex);
        const dependents = reg.applications.filter((e) => e.loadFile === hex).map((e) => e.aid);
        if (!a.force) {
          const what = entry ? `${entry.kind === 'load-file' ? 'load file' : 'application'} ${hex}${!a.only && dependents.length ? ` and its applications ${dependents.join(', ')}` : ''}` : `${hex} (not listed in the registry)`;
          throw new UsageError(`gp delete would delete ${what}, which cannot be undone; add --force to do it`);
        }
        await session.delete(aid, { related: !a.only });
        emit(ctx.io, a.json, { deleted: hex, related: a.only ? [] : dependents }, `deleted ${hex}${!a.only && dependents.length ? ` and ${dependents.join(', ')}` : ''}`);
      });
    },
  };
}
