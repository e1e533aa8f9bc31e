// Personal data on disk: everything demo, prep, run and report write is mode 0600
// in 0700 folders, even under a umask of 000 (modes are set, not left to the umask). The journal's
// -wal and -shm files follow the journal's mode.
import { appendFileSync, existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import t from 'tap';
import { Journal } from '../../personalization/journal/index.js';
import { cli } from '../helpers/cli.js';

const mode = (p: string): number => statSync(p).mode & 0o777;

/** Every folder and file under `dir`, with its mode. */
function walk(dir: string, out: { path: string; dir: boolean }[] = []): { path: string; dir: boolean }[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    out.push({ path: p, dir: e.isDirectory() });
    if (e.isDirectory()) walk(p, out);
  }
  return out;
}

t.test('demo, prep, run, report: 0600 files in 0700 folders under umask 000', async (t) => {
  const before = process.umask(0);
  t.teardown(() => void process.umask(before));
  const root = mkdtempSync(join(tmpdir(), 'private-files-'));
  const demo = join(root, 'demo');
  const r = await cli(['demo', '--cards', '3', '--out', demo]);
  t.equal(r.code, 0, r.err);
  const batch = join(demo, 'batch');
  t.equal(readdirSync(join(batch, 'faces')).length, 3, 'faces kept');
  t.ok(existsSync(join(batch, 'sim-output', 'hopper')), 'simulated printers kept their cards');

  const store = ['--keystore', join(demo, 'keys.store'), '--pass-file', join(demo, 'demo-passphrase')];
  const html = join(root, 'report.html');
  t.equal((await cli(['report', batch, '--html', html])).code, 0);

  // prep with a rejected record (rejects.csv) and the serial registry.
  const input = join(demo, 'input', 'batch.csv');
  appendFileSync(input, '123,Bad Record,,1,01,110105,1985-03-12,\r\n');
  const serials = join(root, 'serials.sqlite');
  const p = await cli(['prep', '--profile', 'builtin:sscard-gen3', '--input', input, '--out', join(root, 'b2'), '--skip-invalid', '--serials', serials, ...store]);
  t.equal(p.code, 0, p.err);
  t.ok(existsSync(join(root, 'b2', 'rejects.csv')), 'rejects.csv written');

  const wide = walk(root)
    .filter((e) => mode(e.path) !== (e.dir ? 0o700 : 0o600))
    .map((e) => `${relative(root, e.path)} ${mode(e.path).toString(8)}`);
  t.same(wide, [], 'every folder 0700 and every file 0600');
  t.equal(mode(root), 0o700, 'mkdtemp');

  // A journal open for reading has its -wal and -shm: they carry the journal's mode.
  const j = Journal.open(batch);
  t.teardown(() => j.close());
  j.counts();
  for (const f of ['journal.sqlite-wal', 'journal.sqlite-shm']) {
    t.ok(existsSync(join(batch, f)), `${f} exists while the journal is open`);
    t.equal(mode(join(batch, f)), 0o600, `${f} is 0600`);
  }
});
