import type { CommandModule } from 'yargs';
import { PROFILE_SCHEMA } from '../../../profiles/index.js';
import type { Ctx } from '../../context.js';

export function profileSchemaCommand(ctx: Ctx): CommandModule {
  return {
    command: 'schema',
    describe: 'print the JSON Schema of profiles (draft-07), for editors that complete and check YAML',
    builder: (y) =>
      y
        .example('$0 profile schema > profile.schema.json', 'save it')
        .example('# yaml-language-server: $schema=./profile.schema.json', 'then put this first line in a profile'),
    handler: () => {
      ctx.io.out(JSON.stringify(PROFILE_SCHEMA, null, 2));
    },
  };
}
