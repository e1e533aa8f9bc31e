import type { CommandModule } from 'yargs';
import { about } from '../index.js';
import type { Ctx } from '../../context.js';
import { auditCommand } from './audit.js';
import { caImportCommand, caInitCommand, issueCertCommand } from './ca.js';
import { deriveCommand } from './derive.js';
import { exportComponentsCommand } from './export-components.js';
import { generateCommand } from './generate.js';
import { importCommand } from './import.js';
import { initCommand } from './init.js';
import { listCommand } from './list.js';
import { retireCommand } from './retire.js';
import { rotateCommand } from './rotate.js';

export function keysCommand(ctx: Ctx): CommandModule {
  return {
    ...about('keys'),
    builder: (y) =>
      y
        .command(initCommand(ctx))
        .command(generateCommand(ctx))
        .command(importCommand(ctx))
        .command(exportComponentsCommand(ctx))
        .command(listCommand(ctx))
        .command(rotateCommand(ctx))
        .command(retireCommand(ctx))
        .command(auditCommand(ctx))
        .command(deriveCommand(ctx))
        .command(caInitCommand(ctx))
        .command(caImportCommand(ctx))
        .command(issueCertCommand(ctx))
        .demandCommand(1, 'name a keys command (cardsmith keys --help lists them)')
        .example('CARDSMITH_KEYSTORE_PASS=… $0 keys init --keystore issuer.keys', 'a new file key store')
        .example('$0 keys list --keystore issuer.keys --pass-file /run/secrets/pass', 'labels, versions and KCVs'),
    handler: () => undefined,
  };
}
