// `cardsmith run --face-workers N`: the card faces drawn by N worker threads (0: on the stations'
// thread at each eject), every card issued with its face either way; a count that is not a whole
// number ≥ 0 is bad usage (exit 2), refused before the journal or any station.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { faceFileName } from '../../personalization/report/index.js';
import { cli } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'run-face-workers-test-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

t.test('run --face-workers', async (t) => {
  const demo = join(root, 'demo');
  t.equal((await cli(['demo', '--cards', '2', '--out', demo])).code, 0, 'demo: key store and input');
  const storeArgs = ['--keystore', join(demo, 'keys.store'), '--pass-file', join(demo, 'demo-passphrase'), '--registry', join(root, 'registry.sqlite')];
  const prep = async (name: string): Promise<string> => {
    const out = join(root, name);
    const r = await cli(['prep', '--profile', 'builtin:sscard-gen3', '--input', join(demo, 'input', 'batch.csv'), '--out', out, '--keystore', join(demo, 'keys.store'), '--pass-file', join(demo, 'demo-passphrase'), '--registry', join(root, `${name}-registry.sqlite`)]);
    t.equal(r.code, 0, `prep ${name}`);
    return out;
  };

  const refused = await prep('refused');
  for (const bad of ['-1', '1.5', 'two']) {
    const batch = refused;
    const r = await cli(['run', batch, '--sim', '1', '--face-workers', bad, ...storeArgs]);
    t.equal(r.code, 2, `--face-workers ${bad}: bad usage`);
    t.match(r.err, /--face-workers takes a whole number ≥ 0/);
    t.notOk(existsSync(join(batch, 'journal.sqlite')), 'no journal written');
  }

  for (const workers of ['0', '1']) {
    const batch = await prep(`w${workers}`);
    const r = await cli(['run', batch, '--sim', '2', '--face-workers', workers, ...storeArgs.slice(0, 4), '--registry', join(root, `w${workers}-registry.sqlite`)]);
    t.equal(r.code, 0, `--face-workers ${workers}: exit 0`);
    t.match(r.out, /2 issued, 0 rejected of 2/);
    const ids = readFileSync(join(batch, 'cards.jsonl'), 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { recordId: string }).recordId);
    t.same(readdirSync(join(batch, 'faces')).sort(), ids.map(faceFileName).sort(), `--face-workers ${workers}: a face for every card`);
  }
});
