// The dependency rules of docs/architecture.md, checked on the import graph of the shipped
// folders as the sources spell it: each folder imports only the folders below it in the table,
// and host code and the simulator never import each other (bin/, the composition root, joins
// them). The checker itself is shown to fail on planted violations, in a synthetic graph and in
// real files in a temporary folder.
import t from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkRules, importGraph, type FolderRules } from './helpers/import-graph.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

// Folder → what it may import (a folder, or one file of it). Keep in step with docs/architecture.md.
const EVERYWHERE = ['errors'];
const BELOW_PERSONALIZATION = ['bytes', 'files', 'iso7816', 'crypto', 'transport', 'channels', 'globalplatform', 'faces', 'stations', 'profiles', 'keys'];
const RULES: FolderRules = {
  // CardsmithError and its kinds: every folder may use it (EVERYWHERE), it uses nothing.
  errors: [],
  bytes: [],
  files: [],
  iso7816: ['bytes'],
  crypto: ['bytes'],
  transport: ['iso7816', 'bytes'],
  channels: ['iso7816', 'crypto', 'transport', 'bytes'],
  globalplatform: ['iso7816', 'channels', 'crypto', 'transport', 'bytes'],
  faces: [],
  stations: ['transport', 'faces', 'iso7816', 'bytes', 'files'],
  simulator: ['iso7816', 'crypto', 'bytes'],
  // The diversification method names and their data lengths only.
  profiles: ['iso7816', 'crypto/diversify.ts', 'bytes', 'files'],
  keys: ['crypto', 'bytes', 'files'],
  // schemas/: the JSON Schemas of card scripts and batch manifests (data, not code).
  personalization: [...BELOW_PERSONALIZATION, 'schemas'],
  bin: ['*'],
};

t.test('the shipped folders keep the dependency rules', async (t) => {
  const edges = importGraph(ROOT, Object.keys(RULES));
  // Not vacuous: the graph holds edges every layer is known to have.
  for (const e of ['channels/secure-channel.ts → transport/transport.ts', 'globalplatform/session.ts → channels/open.ts', 'stations/mover.ts → iso7816/index.ts', 'bin/commands/run.ts → simulator/index.ts']) {
    t.ok(edges.some(({ from, to }) => `${from} → ${to}` === e), `the graph has ${e}`);
  }
  t.ok(edges.length > 300, `${edges.length} imports read`);
  const problems = checkRules(edges, RULES, EVERYWHERE);
  t.same(problems, [], problems.length ? `rule violations:\n${problems.join('\n')}` : 'no import breaks a rule');
});

t.test('docs/architecture.md has one row per folder, naming what it may use as the rules do', async (t) => {
  const doc = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
  const rows = new Map([...doc.matchAll(/^\| `([a-z0-9]+)\/` \| [^|]* \| ([^|]*) \|$/gm)].map((m) => [m[1]!, m[2]!]));
  t.same([...rows.keys()].sort(), Object.keys(RULES).sort(), 'the folder table lists exactly the ruled folders');
  for (const [folder, allowed] of Object.entries(RULES)) {
    const cell = rows.get(folder) ?? '';
    if (folder === 'personalization') t.match(cell, /^everything above except simulator/, 'personalization/');
    else if (allowed.includes('*')) t.match(cell, /^everything/, `${folder}/`);
    else if (allowed.length === 0) t.equal(cell, '—', `${folder}/`);
    else {
      const named = cell.replace(/\([^)]*\)/g, '').split(',').map((x) => x.trim());
      t.same(named, allowed.map((a) => a.split('/')[0]), `${folder}/ may use ${cell}`);
    }
  }
});

t.test('host code and the simulator do not import each other (bin/ and tests aside)', async (t) => {
  const host = Object.keys(RULES).filter((f) => f !== 'simulator' && f !== 'bin');
  for (const f of host) t.notOk(RULES[f]!.includes('simulator'), `${f}/ may not use simulator/`);
  for (const f of ['channels', 'globalplatform', 'transport', 'stations', 'personalization', 'keys', 'profiles']) t.notOk(RULES.simulator!.includes(f), `simulator/ may not use ${f}/`);
});

t.test('the checker reports every planted violation as file → imported file (rule)', async (t) => {
  const problems = checkRules(
    [
      { from: 'transport/sim-cards.ts', to: 'simulator/index.ts' },
      { from: 'transport/open.ts', to: 'transport/pcsc.ts' },
      { from: 'channels/scp02.ts', to: 'stations/index.ts' },
      { from: 'faces/png.ts', to: 'bytes/index.ts' },
      { from: 'profiles/types.ts', to: 'crypto/diversify.ts' },
      { from: 'profiles/types.ts', to: 'crypto/sm4.ts' },
      { from: 'stations/open.ts', to: 'test/helpers/sim-host.ts' },
      { from: 'bin/main.ts', to: 'simulator/index.ts' },
      { from: 'simulator/gp/scp02.ts', to: 'channels/scp02.ts' },
      { from: 'readers/index.ts', to: 'bytes/index.ts' },
      { from: 'faces/png.ts', to: 'errors/index.ts' },
      { from: 'errors/index.ts', to: 'bytes/index.ts' },
    ],
    RULES,
    EVERYWHERE,
  );
  t.same(problems, [
    'transport/sim-cards.ts → simulator/index.ts (transport/ may use iso7816, bytes)',
    'channels/scp02.ts → stations/index.ts (channels/ may use iso7816, crypto, transport, bytes)',
    'faces/png.ts → bytes/index.ts (faces/ may use nothing of the project)',
    'profiles/types.ts → crypto/sm4.ts (profiles/ may use iso7816, crypto/diversify.ts, bytes, files)',
    'stations/open.ts → test/helpers/sim-host.ts (outside the shipped folders; stations/ may use transport, faces, iso7816, bytes, files)',
    'simulator/gp/scp02.ts → channels/scp02.ts (simulator/ may use iso7816, crypto, bytes)',
    'readers/index.ts → bytes/index.ts (readers/ has no rule)',
    'errors/index.ts → bytes/index.ts (errors/ may use nothing of the project)',
  ]);
});

t.test('the graph is read from real files: static, export-from, side-effect and dynamic imports; comments and strings do not count', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'cardsmith-arch-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write(
    'transport/open.ts',
    [
      "import type {",
      "  Card,",
      "} from '../simulator/card.js';",
      "export { x } from '../stations/index.js';",
      "import '../faces/setup.js';",
      "import { readFileSync } from 'node:fs';",
      "import { abytes } from '../bytes/index.js';",
      "// import { nope } from '../keys/store.js';",
      "const s = \"import { nope } from '../keys/store.js'\";",
      "export const load = () => import('../personalization/runner/run.js');",
    ].join('\n'),
  );
  write('transport/types.d.ts', "import '../keys/store.js';");
  const edges = importGraph(root, ['transport']);
  t.same(edges.map((e) => e.to), ['simulator/card.ts', 'stations/index.ts', 'faces/setup.ts', 'bytes/index.ts', 'personalization/runner/run.ts'], 'four kinds of import; comments, strings, packages and .d.ts left out');
  t.same(checkRules(edges, RULES, EVERYWHERE), [
    'transport/open.ts → simulator/card.ts (transport/ may use iso7816, bytes)',
    'transport/open.ts → stations/index.ts (transport/ may use iso7816, bytes)',
    'transport/open.ts → faces/setup.ts (transport/ may use iso7816, bytes)',
    'transport/open.ts → personalization/runner/run.ts (transport/ may use iso7816, bytes)',
  ]);
});
