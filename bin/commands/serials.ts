// cardsmith serials show FILE [--product P] [--json]: the serial counters of the bureau's registry,
// which `cardsmith prep` allocates card numbers from (personalization/serials/registry.ts): the next
// value of every counter and every range handed to a batch. Exit 0; 2 when FILE is not a registry.
import { existsSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { about } from './index.js';
import { SerialRegistry, SerialRegistryError } from '../../personalization/serials/registry.js';
import type { Ctx } from '../context.js';
import { UsageError } from '../errors.js';
import { emit } from '../io.js';
import { outputOptions } from '../options.js';

export function serialsCommand(ctx: Ctx): CommandModule {
  return {
    ...about('serials'),
    builder: (y) =>
      y
        .command({
          command: 'show <file>',
          describe: 'print the next value of every counter and the range each batch was given',
          builder: (y2) =>
            y2
              .positional('file', { type: 'string', describe: 'the registry (cardsmith prep --registry FILE, or issuance-registry.sqlite beside the key store)' })
              .options({
                product: { type: 'string', requiresArg: true, describe: 'only this product (the profile name)' },
                json: { ...outputOptions.json, describe: 'machine-readable output: {"counters":[…],"allocations":[…]}' },
              })
              .example('$0 serials show bureau/serials.sqlite', 'next card number per product, then one line per batch')
              .example('$0 serials show bureau/serials.sqlite --product sscard-gen3 --json', 'the same as JSON'),
          handler: (argv) => {
            const a = argv as unknown as { file: string; product?: string; json: boolean };
            if (!existsSync(a.file)) throw new UsageError(`serials show: ${a.file} does not exist`);
            let registry: SerialRegistry;
            try {
              registry = SerialRegistry.open(a.file);
            } catch (e) {
              // A file that cannot be opened as a serial registry is bad input here (exit 2); in prep a
              // SerialRegistryError is an operation that failed (its kind, exit 1).
              if (e instanceof SerialRegistryError) throw new UsageError(e.message);
              throw e;
            }
            try {
              const counters = registry.counters(a.product);
              const allocations = registry.allocations(a.product);
              const lines = [
                ...(counters.length === 0 ? ['no counters yet'] : counters.map((c) => `${c.product} ${c.counter}: next ${c.next}`)),
                ...allocations.map((r) => `  ${r.at} ${r.product} ${r.counter} ${r.first}..${r.last} (${r.count}) → ${r.batch}`),
              ];
              emit(ctx.io, a.json, { file: a.file, counters, allocations }, lines.join('\n'));
            } finally {
              registry.close();
            }
          },
        })
        .demandCommand(1, 'name a subcommand: serials show FILE'),
    handler: () => {},
  };
}
