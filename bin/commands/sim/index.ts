import type { CommandModule } from 'yargs';
import { about } from '../index.js';
import type { Ctx } from '../../context.js';
import { simServeCommand } from './serve.js';

export function simCommand(ctx: Ctx): CommandModule {
  return {
    ...about('sim'),
    builder: (y) =>
      y
        .command(simServeCommand(ctx))
        .demandCommand(1, 'name a sim command (cardsmith sim --help lists them)')
        .example('$0 sim serve --state card.json', 'the social-security card in reader "Virtual PCD 00 00" until Ctrl-C'),
    handler: () => undefined,
  };
}
