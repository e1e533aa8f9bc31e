// Option tables shared across commands, so `--json` and the key forms mean the same everywhere.
import type { Options } from 'yargs';
import { readFileSync } from 'node:fs';
import { UsageError } from './errors.js';
import { hexArg, SECRET_FORMS } from './secrets.js';

export const outputOptions = {
  json: { type: 'boolean', default: false, describe: 'machine-readable output (one JSON object)' },
} satisfies Record<string, Options>;

export function secretOption(describe: string): Options {
  return { type: 'string', requiresArg: true, describe: `${describe} (${SECRET_FORMS})` };
}

export function hexOption(name: string, describe: string): Options {
  return { type: 'string', requiresArg: true, describe: `${describe} (hex)`, coerce: hexArg(name) };
}

/** The bytes a hash/MAC/sign command works on: exactly one of --data HEX, --text UTF-8, --file PATH. */
export const messageOptions = {
  data: hexOption('data', 'message bytes'),
  text: { type: 'string', requiresArg: true, describe: 'message as UTF-8 text' },
  file: { type: 'string', requiresArg: true, describe: 'message read from a file' },
} satisfies Record<string, Options>;

export function messageFrom(argv: { data?: Uint8Array; text?: string; file?: string }): Uint8Array {
  const given = [argv.data !== undefined, argv.text !== undefined, argv.file !== undefined].filter(Boolean).length;
  if (given !== 1) throw new UsageError('give the message as exactly one of --data HEX, --text TEXT or --file PATH');
  if (argv.data !== undefined) return argv.data;
  if (argv.text !== undefined) return new TextEncoder().encode(argv.text);
  try {
    return new Uint8Array(readFileSync(argv.file!));
  } catch (e) {
    throw new UsageError(`--file: cannot read ${argv.file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** `--reader`: where the card is (transport/spec.ts: `sim…` for the in-process simulator, else a PC/SC reader). */
export const readerOptions = {
  reader: {
    type: 'string',
    requiresArg: true,
    demandOption: true,
    describe:
      "where the card is: 'sim' (in-process simulator; sim:sscard?seed=N&interface=contact|contactless&t0&state=FILE) or a PC/SC reader name / unique part of it",
  },
} satisfies Record<string, Options>;
