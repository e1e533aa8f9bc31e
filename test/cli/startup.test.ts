// `cardsmith --version` and `--help` load yargs and the CLI's frame only: no command module
// (those load when their command runs) and none of the heavy packages behind the commands.
import t from 'tap';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HEAVY_PACKAGES, loadedModules, packageOf } from '../../bench/loaded-modules.js';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const BIN = DIST + 'bin/cardsmith.js';
const HEAVY = HEAVY_PACKAGES;
/** The only project folders a start without a command needs. */
const FRAME = /^(bin\/[^/]+|bin\/commands\/index|errors\/[^/]+|bytes\/[^/]+)\.js$/;

function loaded(args: string[]): { status: number | null; packages: Set<string>; project: string[] } {
  const r = loadedModules([BIN, ...args]);
  const packages = new Set(r.files.map(packageOf).filter((p): p is string => p !== undefined));
  const project = r.files.filter((f) => packageOf(f) === undefined && f.startsWith(DIST)).map((f) => relative(DIST, f).replaceAll('\\', '/'));
  return { status: r.status, packages, project };
}

for (const args of [['--version'], ['--help']]) {
  t.test(`cardsmith ${args.join(' ')} loads no command module and no heavy package`, async (t) => {
    const r = loaded(args);
    t.equal(r.status, 0);
    t.ok(r.packages.has('yargs'), 'the recorder sees packages');
    for (const p of HEAVY) t.notOk(r.packages.has(p), `${p} not loaded`);
    t.same([...r.packages].filter((p) => p.startsWith('@peculiar/')), [], 'no @peculiar/* package');
    t.same(r.project.filter((f) => !FRAME.test(f)), [], 'project files: bin/ frame, errors/, bytes/ only');
  });
}

t.test('a command loads its own module and what it needs', async (t) => {
  const r = loaded(['profile', 'validate', 'builtin:gp-cps']);
  t.equal(r.status, 0);
  t.ok(r.project.includes('bin/commands/profile/validate.js'), 'the profile validate module');
  t.ok(r.packages.has('yaml'), 'yaml, to read the profile');
  t.notOk(r.project.includes('bin/commands/run.js'), 'not the run command');
});
