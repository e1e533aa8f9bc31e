// The npm package as users get it: the library built with tsconfig.build.json, packed with
// `npm pack`, unpacked into node_modules of a project outside the repo (runtime dependencies
// linked from the repo's install: no network), then every ```js run example of docs/api.md run
// from there with its printed output compared to the ```text block after it. Also: what the
// tarball holds (no tests, benches or source maps; types for every export), that only the export
// paths resolve, that the CLI finds its shipped files, and that a TypeScript consumer and every
// import docs/ shows type-check.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';

const run = promisify(execFile);
const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
  files: string[];
  exports: Record<string, string | { types: string; import: string }>;
  dependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
const areas = Object.entries(pkg.exports).flatMap(([k, v]) => (typeof v === 'string' ? [] : [{ path: `cardsmith/${k.slice(2)}`, ...v }]));

const tmp = mkdtempSync(join(tmpdir(), 'cardsmith-package-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
const stage = join(tmp, 'stage');
const project = join(tmp, 'project');
const installed = join(project, 'node_modules', 'cardsmith');

interface PackJson {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

async function npmPack(cwd: string, args: string[]): Promise<PackJson> {
  const env = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', ...args], { cwd, env, maxBuffer: 64 << 20 });
  return (JSON.parse(stdout) as PackJson[])[0]!;
}

let packed: PackJson;

t.before(async () => {
  // A clean build in a staging copy: the repo's own dist/ stays as the test run needs it.
  await run(process.execPath, [tsc, '-p', join(repo, 'tsconfig.build.json'), '--outDir', join(stage, 'dist')], { cwd: repo });
  const copied = new Set(['package.json', 'README.md', ...pkg.files.filter((f) => !f.startsWith('!') && !f.startsWith('dist')).map((f) => f.split('/')[0]!)]);
  for (const entry of copied) cpSync(join(repo, entry), join(stage, entry), { recursive: true });
  packed = await npmPack(stage, ['--pack-destination', tmp]);
  mkdirSync(installed, { recursive: true });
  await run('tar', ['-xzf', join(tmp, packed.filename), '-C', installed, '--strip-components=1']);
  const link = (name: string): void => {
    const target = join(project, 'node_modules', name);
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(realpathSync(join(repo, 'node_modules', name)), target, 'dir');
  };
  for (const name of Object.keys(pkg.dependencies)) link(name);
  for (const name of Object.keys(pkg.optionalDependencies ?? {})) {
    try {
      link(name);
    } catch {
      // not installed here: the package works without it (PC/SC only)
    }
  }
  link('@types/node');
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
});

t.test('the tarball holds the library, its types and shipped files, and no tests, benches or maps', async (t) => {
  const files = packed.files.map((f) => f.path);
  t.comment(`tarball ${packed.size} bytes, ${packed.unpackedSize} unpacked, ${files.length} files`);
  t.same(files.filter((f) => f.startsWith('dist/test/') || f.startsWith('dist/bench/') || f.endsWith('.map')), []);
  t.same(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')), [], 'no TypeScript sources');
  for (const a of areas) {
    t.ok(files.includes(a.types.slice(2)), `${a.path}: ${a.types}`);
    t.ok(files.includes(a.import.slice(2)), `${a.path}: ${a.import}`);
  }
  t.ok(files.includes(pkg.bin.cardsmith!), 'the CLI');
  for (const f of ['profiles/sscard-gen3.yaml', 'profiles/gp-cps.yaml', 'profiles/caps/cps-data-store.cap', 'schemas/card-script.schema.json', 'test-vectors/kcv.json', 'examples/sscard-gen3-batch.csv', 'docs/api.md']) {
    t.ok(files.includes(f), f);
  }
});

t.test("the repo's own `npm pack` leaves out the test build that `npm test` puts in dist/", async (t) => {
  const dry = await npmPack(repo, ['--dry-run']);
  t.same(dry.files.map((f) => f.path).filter((f) => f.startsWith('dist/test/') || f.startsWith('dist/bench/') || f.endsWith('.map')), []);
});

t.test('every runnable example of docs/api.md prints what the page says, from the installed package', async (t) => {
  const page = readFileSync(join(repo, 'docs', 'api.md'), 'utf8');
  const examples = [...page.matchAll(/^```js run\n([\s\S]*?)^```\n+```text\n([\s\S]*?)^```$/gm)].map((m) => ({
    code: m[1]!,
    expected: m[2]!,
    section: [...page.slice(0, m.index).matchAll(/^## (.+)$/gm)].at(-1)?.[1],
  }));
  t.equal(examples.length, (page.match(/^```js run$/gm) ?? []).length, 'each runnable example has its output block');
  for (const a of areas) t.ok(examples.some((e) => e.code.includes(`from '${a.path}'`)), `an example imports ${a.path}`);
  const scratch = join(tmp, 'scratch'); // the examples' own temporary folders, removed with the rest
  mkdirSync(scratch);
  for (const [i, e] of examples.entries()) {
    const file = join(project, `example-${i + 1}.mjs`);
    writeFileSync(file, e.code);
    const { stdout } = await run(process.execPath, [file], { cwd: project, env: { ...process.env, TMPDIR: scratch } });
    t.equal(stdout, e.expected, `example: ${e.section}`);
  }
});

t.test('only the export paths resolve', async (t) => {
  const probe = join(project, 'probe.mjs');
  writeFileSync(probe, "await import('cardsmith/dist/crypto/kcv.js').then(() => console.log('resolved'), (e) => console.log(e.code));\nconsole.log((await import('cardsmith/package.json', { with: { type: 'json' } })).default.name);\n");
  const { stdout } = await run(process.execPath, [probe], { cwd: project });
  t.equal(stdout, 'ERR_PACKAGE_PATH_NOT_EXPORTED\ncardsmith\n');
});

t.test('the installed CLI finds its shipped files', async (t) => {
  const bin = join(installed, pkg.bin.cardsmith!);
  t.equal((await run(process.execPath, [bin, '--version'], { cwd: project })).stdout.trim(), pkg.version);
  const selftest = await run(process.execPath, [bin, 'selftest'], { cwd: project });
  t.match(selftest.stdout, /\n\d+ vectors passed, 0 failed\n$/, 'test-vectors/');
  const check = await run(process.execPath, [bin, 'profile', 'validate', 'builtin:gp-cps'], { cwd: project });
  t.equal(check.stdout, 'valid\n', 'profiles/ and profiles/caps/');
  const demo = await run(process.execPath, [bin, 'demo', '--cards', '1', '--out', join(tmp, 'demo'), '--json'], { cwd: project });
  t.match(JSON.parse(demo.stdout.split('\n')[0]!), { run: { counts: { issued: 1 } } }, 'examples/');
  t.notMatch(`${demo.stdout}${demo.stderr}`, /face worker could not start/, 'the card face was drawn by a worker from the installed dist/faces/face-worker.js');
});

t.test('a TypeScript consumer, and every import the docs show, type-check against the installed declarations', async (t) => {
  const imports = areas.map((a, i) => `import * as m${i} from '${a.path}';`).join('\n');
  writeFileSync(
    join(project, 'consumer.mts'),
    `${imports}
import { kcvHex } from 'cardsmith/crypto';
import { createSsCard } from 'cardsmith/simulator';
import { SimulatorTransport, type Transport } from 'cardsmith/transport';
import type { Profile } from 'cardsmith/profiles';
import type { PrepResult } from 'cardsmith/personalization';
export const kcv: string = kcvHex('aes', new Uint8Array(16));
export const reader: Transport = new SimulatorTransport(createSsCard({ seed: 1 }));
export const name = (p: Profile): string => p.name;
export const cards = (r: PrepResult): number | undefined => r.manifest?.cards;
export const all = [${areas.map((_, i) => `m${i}`).join(', ')}];
`,
  );
  // Every name the docs import from the package exists there (one file per import, so that names
  // shown from two areas do not clash).
  const docImports = readdirSync(join(repo, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .flatMap((f) => [...readFileSync(join(repo, 'docs', f), 'utf8').matchAll(/^import (?:type )?\{([^}]*)\} from '(cardsmith\/[a-z0-9]+)';$/gm)].map((m) => ({ f, names: m[1]!, from: m[2]! })));
  t.ok(docImports.length > areas.length, `${docImports.length} imports in docs/`);
  const checked = docImports.map((d, i) => {
    const names = d.names.split(',').map((n) => n.trim().replace(/^type /, '').split(' as ')[0]!).filter(Boolean);
    const file = `doc-import-${i + 1}.mts`;
    writeFileSync(join(project, file), `// docs/${d.f}\nexport type { ${names.join(', ')} } from '${d.from}';\n`);
    return file;
  });
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, types: ['node'], skipLibCheck: false }, files: ['consumer.mts', ...checked] }),
  );
  const r = await run(process.execPath, [tsc, '-p', join(project, 'tsconfig.json')], { cwd: project }).catch((e: { stdout: string; code: number }) => e);
  t.equal('code' in r ? r.code : 0, 0, r.stdout || 'tsc: no errors');
});
