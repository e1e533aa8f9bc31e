// Runs the CLI in-process with captured output, and as a real child process for what only a
// process shows (exit code, --help printed by yargs, no stack trace on stderr).
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { run } from '../../bin/main.js';
import type { Io } from '../../bin/io.js';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export async function cli(args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string } = {}): Promise<CliResult> {
  let out = '';
  let err = '';
  const io: Io = {
    out: (t) => void (out += t.endsWith('\n') ? t : t + '\n'),
    err: (t) => void (err += t.endsWith('\n') ? t : t + '\n'),
    interactive: false,
    env: opts.env ?? {},
    stdin: Readable.from([opts.stdin ?? '']),
  };
  const code = await run(args, io);
  return { code, out, err };
}

const BIN = fileURLToPath(new URL('../../dist/bin/cardsmith.js', import.meta.url));

/** The built binary (npm test builds dist/ first, in pretest). */
export function cliProcess(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...opts.env },
    input: opts.input ?? '',
    timeout: 60_000,
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
