// cardsmith audit verify FILE [--json]: a batch's audit log verifies (exit 0); an edited, a deleted
// and a swapped line are each found (exit 1, naming the first bad entry); a missing file is exit 2.
import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUDIT_LOG, loadBatch, runBatch } from '../../personalization/runner/run.js';
import { openStations, simulatedStations } from '../../stations/index.js';
import { cli } from '../helpers/cli.js';
import { makeKeyStore, makeScripts, writeBatch } from '../runner/helpers.js';
import { SIM } from '../helpers/sim-host.js';

const { store } = await makeKeyStore();
t.teardown(() => store.close());
const dir = mkdtempSync(join(tmpdir(), 'cardsmith-audit-cli-'));
await writeBatch(dir, await makeScripts(store, 5, 'v'), store);
const opened = openStations(simulatedStations(2), SIM);
t.teardown(() => opened.close());
await runBatch(loadBatch(dir), { provider: store, stations: opened.stations });
const path = join(dir, AUDIT_LOG);
const orig = readFileSync(path, 'utf8').split('\n').slice(0, -1);
const put = (ls: string[]) => writeFileSync(path, ls.map((l) => l + '\n').join(''));

t.test('an intact log: exit 0', async (t) => {
  const r = await cli(['audit', 'verify', path]);
  t.equal(r.code, 0, r.err);
  t.match(r.out, new RegExp(`OK, ${orig.length} entries \\(sha256\\), chain intact`));
  const j = await cli(['audit', 'verify', path, '--json']);
  t.equal(j.code, 0);
  t.match(JSON.parse(j.out), { ok: true, entries: orig.length, hash: 'sha256' });
});

t.test('an edited, a deleted and a swapped line: exit 1 naming the first bad entry', async (t) => {
  const cases: [string, string[], RegExp][] = [
    ['edited', orig.map((l, i) => (i === 3 ? l.replace(/"station":"[^"]+"/, '"station":"sim-9"') : l)), /audit\.log:4: the entry was changed after it was written/],
    ['deleted', orig.filter((_, i) => i !== 2), /audit\.log:3: entry number 4 where 3 was expected/],
    ['swapped', [...orig.slice(0, 4), orig[5]!, orig[4]!, ...orig.slice(6)], /audit\.log:5: entry number 6 where 5 was expected/],
  ];
  for (const [name, lines, pattern] of cases) {
    put(lines);
    const r = await cli(['audit', 'verify', path]);
    t.equal(r.code, 1, `${name}: exit 1`);
    t.match(r.err, pattern, `${name}: ${r.err.trim()}`);
    const j = await cli(['audit', 'verify', path, '--json']);
    t.equal(j.code, 1);
    t.match(JSON.parse(j.out), { ok: false, error: pattern });
  }
  put(orig);
  t.equal((await cli(['audit', 'verify', path])).code, 0, 'restored: intact again');
});

t.test('usage', async (t) => {
  const r = await cli(['audit', 'verify', join(dir, 'nope.log')]);
  t.equal(r.code, 2);
  t.match(r.err, /does not exist/);
  t.equal((await cli(['audit'])).code, 2);
});
