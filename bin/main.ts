// The cardsmith command line: parses arguments, runs one command, maps errors to exit codes.
// `run` never calls process.exit, so tests drive it in-process.
import { readFileSync } from 'node:fs';
import yargs from 'yargs';
import { COMMAND_NAMES, lazyCommand } from './commands/index.js';
import type { Ctx } from './context.js';
import { exitCodeOf } from '../errors/index.js';
import { EXIT_OK, messageFor, UsageError } from './errors.js';
import { processIo, type Io } from './io.js';
import { installPath } from './paths.js';

function version(): string {
  return (JSON.parse(readFileSync(installPath('package.json'), 'utf8')) as { version: string }).version;
}

/** `signal` ends long-running commands (sim serve) as SIGINT would. */
export async function run(argv: string[], io: Io = processIo, signal?: AbortSignal): Promise<number> {
  const ctx: Ctx = { io, exitCode: EXIT_OK, ...(signal ? { signal } : {}) };
  const parser = yargs(argv)
    .scriptName('cardsmith')
    .usage('cardsmith: smart-card personalization, secure channels and a card simulator\n\nUsage: $0 <command> [options]')
    // Each command's module loads only when that command runs (bin/commands/index.ts).
    .command(COMMAND_NAMES.map((name) => lazyCommand(ctx, name)))
    .demandCommand(1, 'name a command (cardsmith --help lists them)')
    .recommendCommands()
    .showHelpOnFail(false)
    .strict()
    .version(version())
    .help()
    .alias('h', 'help')
    .wrap(Math.min(120, process.stdout.columns || 100))
    .epilogue('Exit codes: 0 success, 1 operation failed, 2 bad usage or input. Docs: docs/README.md')
    .exitProcess(false)
    .fail((msg, err) => {
      // yargs' own errors (YError) are bad usage: exit 2, with yargs' message.
      throw err === undefined || err.name === 'YError' ? new UsageError(err?.message ?? msg) : err;
    });
  try {
    // Help and version text go through io like every other output (tests capture it in-process).
    await parser.parseAsync(argv, {}, (_err, _parsed, output) => {
      if (output) io.out(output);
    });
  } catch (e) {
    if (io.env.CARDSMITH_DEBUG && e instanceof Error && e.stack) io.err(e.stack);
    io.err(`cardsmith: ${messageFor(e)}`);
    return exitCodeOf(e);
  }
  return ctx.exitCode;
}
