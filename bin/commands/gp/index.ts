// `cardsmith gp …`: GlobalPlatform card management from the command line (GP Card Specification
// 2.3.1; SCP02 / SCP03), the GlobalPlatformPro way: the library does the work, these files parse
// arguments and print.
import type { CommandModule } from 'yargs';
import { about } from '../index.js';
import type { Ctx } from '../../context.js';
import { capCommand } from './cap.js';
import { deleteCommand } from './delete.js';
import { infoCommand } from './info.js';
import { listCommand } from './list.js';
import { installCommand, loadCommand } from './load.js';
import { lockCommand, terminateCommand, unlockCommand } from './lock.js';
import { probeKeysCommand } from './probe-keys.js';
import { putKeyCommand } from './put-key.js';
import { storeDataCommand } from './store-data.js';

export function gpCommand(ctx: Ctx): CommandModule {
  return {
    ...about('gp'),
    builder: (y) =>
      y
        .command(infoCommand(ctx))
        .command(listCommand(ctx))
        .command(loadCommand(ctx))
        .command(installCommand(ctx))
        .command(deleteCommand(ctx))
        .command(putKeyCommand(ctx))
        .command(lockCommand(ctx))
        .command(unlockCommand(ctx))
        .command(terminateCommand(ctx))
        .command(storeDataCommand(ctx))
        .command(probeKeysCommand(ctx))
        .command(capCommand(ctx))
        .demandCommand(1, 'name a gp command (cardsmith gp --help lists them)')
        .example('$0 gp list --reader sim:gp', 'the registry of the simulated GP card')
        .example('$0 gp probe-keys --reader "Virtual PCD 00 00"', 'which well-known keys a card uses, without authenticating'),
    handler: () => undefined,
  };
}
