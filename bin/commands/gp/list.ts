// `cardsmith gp list`: the GP registry (GP Card Specification 2.3.1 §11.4 GET STATUS) — the ISD,
// applications and security domains, load files with their modules — with life cycle states and
// privileges by name.
import type { CommandModule } from 'yargs';
import type { RegistryEntry } from '../../../globalplatform/index.js';
import type { Ctx } from '../../context.js';
import { emit } from '../../io.js';
import { gpOptions, withSession, type GpArgs } from './common.js';

function line(kind: string, e: RegistryEntry): string {
  const parts = [`${kind.padEnd(4)} ${e.aid.padEnd(32)} ${e.lifeCycleName}`];
  if (e.version) parts.push(`version ${e.version}`);
  if (e.loadFile) parts.push(`from ${e.loadFile}`);
  if (e.privilegeNames.length) parts.push(`privileges ${e.privilegeNames.join(', ')}`);
  if (e.modules?.length) parts.push(`modules ${e.modules.join(', ')}`);
  return parts.join('  ');
}

export function listCommand(ctx: Ctx): CommandModule {
  return {
    command: 'list',
    describe: 'list the ISD, applications, security domains and load files (GET STATUS)',
    builder: (y) =>
      y
        .options(gpOptions)
        .example('$0 gp list --reader sim:gp', 'the registry of the simulated GP card, default test keys')
        .example('$0 gp list --reader "Virtual PCD 00 00" --kmc env:KMC --div emv --json', 'with diversified keys, as JSON'),
    handler: async (argv) => {
      const a = argv as unknown as GpArgs;
      await withSession(ctx, a, async ({ session }) => {
        const reg = await session.registry();
        const text = [
          ...reg.isd.map((e) => line('ISD', e)),
          ...reg.applications.map((e) => line(e.privilegeNames.includes('SecurityDomain') ? 'SD' : 'APP', e)),
          ...reg.loadFiles.map((e) => line('PKG', e)),
        ].join('\n');
        emit(ctx.io, a.json, reg, text || '(empty registry)');
      });
    },
  };
}
