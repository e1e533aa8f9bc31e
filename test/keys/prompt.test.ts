// The no-echo prompts, on a real pseudo-terminal (util-linux `script`): the passphrase and the
// components typed at the prompts never appear on the terminal, and each component's KCV is shown
// and must be confirmed.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kcvHex } from '../../crypto/kcv.js';
import { FileKeyStore } from '../../keys/file-store.js';
import { bytes, PASS, tempDir } from './fixtures/helpers.js';
import { TS_LOADER_ARGS } from '../helpers/ts-child.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const noScript = spawnSync('script', ['--version']).status === 0 ? false : 'util-linux script (for a pseudo-terminal) is not installed';

/** Runs the CLI on a pty and answers each prompt (matched by regex) with a line, as a person types. */
function onTerminal(args: string[], answers: [RegExp, string][]): Promise<{ code: number | null; screen: string }> {
  const cmd = ['node', ...TS_LOADER_ARGS, join(ROOT, 'bin/cardsmith.ts'), ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const child = spawn('script', ['-qec', cmd, '/dev/null'], { cwd: ROOT, env: { PATH: process.env.PATH, TERM: 'dumb' } });
  let screen = '';
  let next = 0;
  let seen = 0;
  child.stdout.on('data', (d: Buffer) => {
    screen += d.toString('utf8');
    while (next < answers.length) {
      const m = answers[next]![0].exec(screen.slice(seen));
      if (!m) break;
      seen += m.index + m[0].length;
      child.stdin.write(answers[next]![1] + '\r');
      next++;
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, screen });
    }),
  );
}

t.test('passphrase and components at no-echo prompts, KCVs confirmed at the terminal', { skip: noScript }, async (t) => {
  const dir = tempDir();
  const store = join(dir, 'issuer.keys');
  await (await FileKeyStore.create(store, new TextEncoder().encode(PASS))).close();
  const C1 = '0F1E2D3C4B5A69788796A5B4C3D2E1F0';
  const C2 = '1122334455667788AABBCCDDEEFF0011';
  const r = await onTerminal(['keys', 'import', '--keystore', store, '--label', 'kmc', '--alg', 'des3', '--component', 'prompt', '--component', 'prompt'], [
    [/component 1 of 2 \(hex, not shown\): /, C1],
    [/does it match the custodian's sheet\? \[y\/N\] /, 'y'],
    [/component 2 of 2 \(hex, not shown\): /, C2],
    [/does it match the custodian's sheet\? \[y\/N\] /, 'y'],
    [/passphrase for .*: /, PASS],
  ]);
  t.equal(r.code, 0, r.screen);
  t.match(r.screen, /passphrase for .*issuer\.keys: /, 'then the passphrase, also not echoed');
  t.match(r.screen, new RegExp(`component 1: KCV ${kcvHex('des3', bytes(C1))}`), 'the KCV of component 1 is shown');
  t.match(r.screen, /imported kmc v1/);
  for (const secret of [PASS, C1, C2, C1.toLowerCase()]) t.notOk(r.screen.includes(secret), 'what was typed is not echoed');
  const refused = await onTerminal(['keys', 'import', '--keystore', store, '--label', 'kmc2', '--alg', 'des3', '--component', 'prompt', '--component', 'prompt'], [
    [/component 1 of 2 \(hex, not shown\): /, C1],
    [/\[y\/N\] /, 'n'],
  ]);
  t.equal(refused.code, 1, 'a KCV the custodian does not confirm stops the ceremony');
  t.match(refused.screen, /not confirmed; nothing was stored/);
});
