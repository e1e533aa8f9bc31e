// Which files a Node process loads: runs it with a module hook (ES modules, through
// module.register) and reads require.cache at exit (CommonJS files that packages require),
// and returns the file paths, each once. Used by bench/startup.ts and test/cli/startup.test.ts.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LOG_ENV = 'CARDSMITH_MODULE_LOG';

// Runs in the loader's hook thread: one line per resolved file URL.
const HOOKS = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.startsWith('file:')) appendFileSync(process.env.${LOG_ENV}, r.url + '\\n');
  return r;
}`;

// Runs first in the main thread: installs the hook, and at exit adds the CommonJS files.
const PRELOAD = `import { register, createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
register(${JSON.stringify('data:text/javascript,' + encodeURIComponent(HOOKS))});
process.on('exit', () => {
  const cache = createRequire(process.cwd() + '/').cache;
  const files = Object.keys(cache).map((f) => pathToFileURL(f).href + '\\n');
  appendFileSync(process.env.${LOG_ENV}, files.join(''));
});`;

/** Packages `--version` and `--help` must not load: each costs tens of milliseconds at startup. */
export const HEAVY_PACKAGES = ['better-sqlite3', 'fontkit', 'ajv', 'pkcs11js', 'smartcard', 'yaml', 'iconv-lite', 'jpeg-js'];

export interface Loaded {
  status: number | null;
  stdout: string;
  /** Absolute paths, sorted, each once. */
  files: string[];
}

/** Runs `node ...args` and lists the project and package files it loaded. */
export function loadedModules(args: string[], opts: SpawnSyncOptions = {}): Loaded {
  const dir = mkdtempSync(join(tmpdir(), 'cardsmith-modules-'));
  const log = join(dir, 'modules.log');
  try {
    const r = spawnSync(process.execPath, ['--import', 'data:text/javascript,' + encodeURIComponent(PRELOAD), ...args], {
      encoding: 'utf8',
      timeout: 60_000,
      ...opts,
      // Not the caller's environment: tap's NODE_OPTIONS would add its own loaders' files.
      env: { PATH: process.env.PATH, ...opts.env, [LOG_ENV]: log },
    });
    const lines = readFileSync(log, 'utf8').split('\n').filter((l) => l !== '');
    const files = [...new Set(lines.map((u) => fileURLToPath(u)))].sort();
    return { status: r.status, stdout: String(r.stdout), files };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The npm package a file belongs to (`@scope/name` or `name`), or undefined for project files. */
export function packageOf(file: string): string | undefined {
  const path = file.replaceAll('\\', '/');
  const at = path.lastIndexOf('/node_modules/');
  if (at < 0) return undefined;
  const [first, second] = path.slice(at + '/node_modules/'.length).split('/');
  return first!.startsWith('@') ? `${first}/${second}` : first;
}
