// bench/startup: how long the CLI takes to start, next to a bare `node -e 0` in the same rounds.
// Times `--version`, `--help` and one light command as child processes, the subjects interleaved
// and their order rotated every round after an untimed warm-up, and prints medians, the ratios to
// `node -e 0`, a pass/fail against the goal (--version within 3× a bare node), and the files each
// start loads (modules, through a loader hook; files opened, through strace when it is installed).
// Run: tsc -p tsconfig.json && node dist/bench/startup.js [--rounds N] [--compare OTHER/dist/bin/cardsmith.js] [--json]
// --compare runs a second build (say, of an older commit) in the same rounds, for before/after.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HEAVY_PACKAGES, loadedModules, packageOf } from './loaded-modules.js';
import { median, verdictLine } from './measure.js';

const GOAL = 3;
const HEAVY = HEAVY_PACKAGES;
const LIGHT_COMMAND = ['profile', 'validate', 'builtin:gp-cps'];

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const rounds = Number(option('--rounds') ?? 15);
const json = process.argv.includes('--json');
const builds: [string, string][] = [['now', fileURLToPath(new URL('../bin/cardsmith.js', import.meta.url))]];
const other = option('--compare');
if (other) builds.push(['compared', resolve(other)]);

interface Subject {
  name: string;
  args: string[];
}

const BARE: Subject = { name: 'node -e 0', args: ['-e', '0'] };
const subjects: Subject[] = [BARE];
for (const [label, bin] of builds) {
  const tag = builds.length > 1 ? ` (${label})` : '';
  subjects.push(
    { name: `cardsmith --version${tag}`, args: [bin, '--version'] },
    { name: `cardsmith --help${tag}`, args: [bin, '--help'] },
    { name: `cardsmith ${LIGHT_COMMAND.join(' ')}${tag}`, args: [bin, ...LIGHT_COMMAND] },
  );
}

/** Milliseconds of one start, from spawn to exit; a failing start stops the bench. */
function timeOnce(s: Subject): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, s.args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${s.name}: exit ${r.status}: ${String(r.stderr)}`);
  return ms;
}

/** Files the process opens (successful open/openat calls), or undefined without strace. */
function filesOpened(args: string[]): number | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'cardsmith-strace-'));
  try {
    const out = join(dir, 'trace');
    const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=open,openat', '-o', out, process.execPath, ...args], { stdio: 'ignore' });
    if (r.error || r.status !== 0) return undefined;
    return readFileSync(out, 'utf8').split('\n').filter((l) => /open(at)?\(/.test(l) && !/= -1 /.test(l)).length;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const load = () => `load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`;
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`;
const loadBefore = load();

for (const s of subjects) for (let i = 0; i < 2; i++) timeOnce(s);
const samples = subjects.map((): number[] => []);
for (let r = 0; r < rounds; r++) {
  // Rotate the order so that no subject always runs first (or right after the same one).
  for (let k = 0; k < subjects.length; k++) {
    const i = (k + r) % subjects.length;
    samples[i]!.push(timeOnce(subjects[i]!));
  }
}
const bare = median(samples[0]!);
const timings = subjects.map((s, i) => ({ name: s.name, ms: median(samples[i]!), ratio: median(samples[i]!) / bare }));

const files = builds.map(([label, bin]) => {
  const r = loadedModules([bin, '--version']);
  const packages = new Set(r.files.map(packageOf).filter((p): p is string => p !== undefined));
  return {
    build: label,
    modules: r.files.length,
    projectModules: r.files.filter((f) => packageOf(f) === undefined).length,
    packages: packages.size,
    heavyLoaded: HEAVY.filter((p) => packages.has(p)).concat([...packages].filter((p) => p.startsWith('@peculiar/'))),
    filesOpened: filesOpened([bin, '--version']),
  };
});
const bareOpened = filesOpened(['-e', '0']);
const version = timings[1]!;
const pass = version.ratio <= GOAL;

if (json) {
  console.log(JSON.stringify({ machine, loadBefore, loadAfter: load(), rounds, timings, files, bareOpened, goal: GOAL, pass }));
} else {
  console.log(`startup, ${rounds} interleaved rounds after a warm-up, medians; ${machine}; ${loadBefore} before`);
  for (const t of timings) console.log(`  ${t.name.padEnd(58)} ${t.ms.toFixed(1).padStart(7)} ms  ${t.ratio.toFixed(2).padStart(5)}× node -e 0`);
  console.log(`files for --version${bareOpened === undefined ? '' : ` (node -e 0 opens ${bareOpened} files)`}:`);
  for (const f of files) {
    const opened = f.filesOpened === undefined ? '' : `, ${f.filesOpened} files opened`;
    const heavy = f.heavyLoaded.length > 0 ? f.heavyLoaded.join(', ') : 'none';
    console.log(`  ${f.build}: ${f.modules} modules (${f.projectModules} of cardsmith, ${f.packages} packages)${opened}; heavy packages: ${heavy}`);
  }
  console.log(`${load()} after`);
  console.log(verdictLine('cardsmith --version', `${version.ratio.toFixed(2)}× node -e 0`, { goal: `≤ ${GOAL}× node -e 0`, pass }));
}
