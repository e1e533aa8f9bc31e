// Key and PIN values for the CLI. Anything on a command line is visible to every user of the
// machine (ps, /proc/PID/cmdline, shell history), so every secret option also takes
// `env:NAME`, `file:PATH` or `-` (first line of standard input), and the examples use those.
// Literal hex stays accepted for well-known test keys in the stateless calculators.
import { readFileSync } from 'node:fs';
import { fromHex, HexError } from '../bytes/index.js';
import { UsageError } from './errors.js';
import type { Io } from './io.js';

export const SECRET_FORMS = 'HEX, env:NAME, file:PATH or - (stdin)';

let stdinCache: string | undefined;

async function readStdinLine(io: Io): Promise<string> {
  if (stdinCache !== undefined) return stdinCache;
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  stdinCache = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  return stdinCache;
}

/** Resolves a secret option to bytes; errors name the option and the form, never the value. */
export async function readSecret(io: Io, option: string, value: string): Promise<Uint8Array> {
  let text: string;
  let where: string;
  if (value.startsWith('env:')) {
    const name = value.slice(4);
    const v = io.env[name];
    if (v === undefined || v === '') throw new UsageError(`--${option}: environment variable ${name} is not set`);
    text = v;
    where = `environment variable ${name}`;
  } else if (value.startsWith('file:')) {
    const path = value.slice(5);
    try {
      text = readFileSync(path, 'utf8').trim();
    } catch (e) {
      throw new UsageError(`--${option}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    where = `file ${path}`;
  } else if (value === '-') {
    text = await readStdinLine(io);
    where = 'standard input';
  } else {
    if (io.interactive) io.err(`note: --${option} on the command line is visible to other users (ps); prefer env:NAME or file:PATH`);
    text = value;
    where = 'the command line';
  }
  try {
    return fromHex(text.trim());
  } catch (e) {
    // The value itself is never echoed: it may be a real key with a typo in it.
    const detail = e instanceof HexError ? `not valid hex at offset ${e.offset}` : 'not valid hex';
    throw new UsageError(`--${option}: the value from ${where} is ${detail}`);
  }
}

/** Public (non-secret) hex arguments: parsed eagerly by yargs `coerce`, errors show the bad character. */
export function hexArg(option: string) {
  return (value: unknown): Uint8Array => {
    if (typeof value !== 'string') throw new UsageError(`--${option}: expected hex`);
    try {
      return fromHex(value, `--${option}`);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  };
}
