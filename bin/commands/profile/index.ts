// `cardsmith profile validate|show|schema`: the profile language from the command line.
import type { CommandModule } from 'yargs';
import { about } from '../index.js';
import type { Ctx } from '../../context.js';
import { profileSchemaCommand } from './schema.js';
import { profileShowCommand } from './show.js';
import { profileValidateCommand } from './validate.js';

export function profileCommand(ctx: Ctx): CommandModule {
  return {
    ...about('profile'),
    builder: (y) =>
      y
        .command(profileValidateCommand(ctx))
        .command(profileShowCommand(ctx))
        .command(profileSchemaCommand(ctx))
        .demandCommand(1, 'name a profile command (cardsmith profile --help lists them)')
        .example('$0 profile validate my-card.yaml', 'every problem, as file:line:column: message')
        .example('$0 profile show builtin:sscard-gen3', 'the file tree, access conditions and keys of a built-in profile'),
    handler: () => undefined,
  };
}
