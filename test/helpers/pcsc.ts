// The real PC/SC stack in tests: whether it is up (else the reason to skip), one stack user at a
// time across test files (a lock on a loopback port), waits for the virtual reader, and
// `cardsmith sim serve` as a child process that is always stopped in teardown. Every wait is
// bounded.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { loadPcsc, waitForReader, type ReaderInfo } from '../../transport/index.js';

export const READER0 = 'Virtual PCD 00 00';
export const READER1 = 'Virtual PCD 00 01';
// The repository root is two levels up from test/helpers/ and three from dist/test/helpers/
// (bench/ imports this file from dist).
const ROOT = fileURLToPath(new URL(import.meta.url.includes('/dist/test/') ? '../../../' : '../../', import.meta.url));
const SCRIPT = join(ROOT, 'scripts', 'pcsc-stack.sh');
export const BIN = join(ROOT, 'dist', 'bin', 'cardsmith.js');

/** false when pcscd + vpcd run (started by scripts/pcsc-stack.sh) and smartcard loads; else why not. */
export async function stackSkipReason(): Promise<false | string> {
  if (process.env.CARDSMITH_NO_PCSC === '1') return 'PC/SC stack disabled (CARDSMITH_NO_PCSC=1)';
  const st = spawnSync('bash', [SCRIPT, 'status'], { encoding: 'utf8', timeout: 30_000 });
  if (st.status !== 0) {
    const first = (st.stdout || st.stderr || '').split('\n')[0]?.trim();
    return `PC/SC stack not running (scripts/pcsc-stack.sh status: ${first || `exit ${st.status}`}); start it with scripts/pcsc-stack.sh start`;
  }
  try {
    await loadPcsc();
  } catch (e) {
    return (e as Error).message;
  }
  return false;
}

/** false when dist/bin/cardsmith.js exists (npm test builds it in pretest); else why not. */
export function binSkipReason(): false | string {
  return existsSync(BIN) ? false : 'dist/bin/cardsmith.js is not built (run npx tsc -p tsconfig.json)';
}

// The lock is a listening loopback port: the kernel frees it when its holder exits, however it
// exits, so there is no stale lock to clean up and no race between two waiters cleaning one up.
const LOCK_PORT = 35960;

function listenOnce(port: number): Promise<Server | NodeJS.ErrnoException> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => resolve(e));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(server));
  });
}

/**
 * Takes the virtual readers' lock (waiting up to `timeoutMs`); resolves with its release, or
 * undefined when another user still holds it then. For scripts (bench/); tests use lockStack.
 */
export async function takeStackLock(timeoutMs: number): Promise<(() => Promise<void>) | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await listenOnce(LOCK_PORT);
    if (got instanceof Server) {
      got.unref(); // holding the lock must not keep the process alive
      return () => new Promise<void>((resolve) => got.close(() => resolve()));
    }
    if (got.code !== 'EADDRINUSE') throw new Error(`the PC/SC test lock (loopback port ${LOCK_PORT}) cannot be taken: ${got.message}`);
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Holds the virtual readers for this test file: test files run in parallel, and two cards
 * connecting to the same vpcd port would replace each other. Released in teardown.
 */
export async function lockStack(t: Test, timeoutMs = 240_000): Promise<void> {
  const release = await takeStackLock(timeoutMs);
  if (!release) throw new Error(`the PC/SC test lock (loopback port ${LOCK_PORT}) is still held by another test after ${timeoutMs} ms`);
  t.teardown(release);
}

/** Waits until the reader shows no card (the stale-card rule of docs/pcsc.md) or a card. */
export function readerState(reader: string, want: 'present' | 'empty', timeoutMs = 8000): Promise<ReaderInfo> {
  return waitForReader(reader, want, { timeoutMs });
}

export interface Served {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first output line matching `re`; rejects after the timeout or on exit. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM (or `signal`), then waits for the exit; SIGKILL after the timeout. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; out: string; err: string }>;
}

/** `node dist/bin/cardsmith.js sim serve ARGS` as a child process, stopped in t.teardown. */
export function serve(t: Test, args: string[], env: NodeJS.ProcessEnv = {}): Served {
  const child = spawn(process.execPath, [BIN, 'sim', 'serve', ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let out = '';
  let err = '';
  let partial = '';
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    partial += s;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    for (const w of waiters) w();
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((c) => {
    exitCode = c;
    for (const w of waiters) w();
  });

  const served: Served = {
    child,
    lines,
    waitFor(re, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = lines.find((l) => re.test(l));
          if (hit !== undefined) return done(() => resolve(hit));
          if (exitCode !== undefined) return done(() => reject(new Error(`sim serve exited (${exitCode}) before printing ${re}; stdout:\n${out}\nstderr:\n${err}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`sim serve printed no line matching ${re} within ${timeoutMs} ms; stdout:\n${out}\nstderr:\n${err}`))), timeoutMs);
        const done = (f: () => void): void => {
          clearTimeout(timer);
          waiters.delete(check);
          f();
        };
        waiters.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM', timeoutMs = 10_000) {
      if (exitCode === undefined) child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        exited,
        new Promise<number | null>((resolve) => {
          timer = setTimeout(() => {
            child.kill('SIGKILL');
            resolve(null);
          }, timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (partial) lines.push(partial);
      return { code, out, err };
    },
  };
  // If this test process dies before teardown (uncaught error), the card must not outlive it and
  // hold the virtual reader for the next test file.
  const orphanGuard = (): void => void (exitCode === undefined && child.kill('SIGKILL'));
  process.once('exit', orphanGuard);
  t.teardown(async () => {
    await served.stop();
    process.off('exit', orphanGuard);
  });
  return served;
}
