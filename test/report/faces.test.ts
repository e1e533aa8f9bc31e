// Card-face thumbnails in the HTML report: a run whose scripts carry faces keeps
// DIR/faces/<id>.png, and the report embeds exactly one image per issued card with a face — none for
// rejected records or records without a face; beyond --max-faces the page says how many were left out.
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../../personalization/journal/index.js';
import { faceFileName, FACES_DIR, reportFromDir } from '../../personalization/report/index.js';
import { loadBatch, runBatch } from '../../personalization/runner/run.js';
import { openStations, simulatedStations } from '../../stations/index.js';
import { cli } from '../helpers/cli.js';
import { makeKeyStore, makeScripts, writeBatch } from '../runner/helpers.js';
import { SIM } from '../helpers/sim-host.js';

const { store } = await makeKeyStore();
t.teardown(() => store.close());

const dir = mkdtempSync(join(tmpdir(), 'cardsmith-faces-'));
const scripts = await makeScripts(store, 10, 'f');
for (const [i, s] of scripts.entries()) {
  if (i === 7) continue; // f0008: no face
  s.face = { width: 1011, height: 638, fields: [{ kind: 'text', x: 40, y: 40, size: 32, value: `张三 ${s.recordId}` }, { kind: 'text', x: 40, y: 120, size: 24, value: `No. 0000${i}` }] };
}
// f0003: doomed (every card answers 6A82): rejected, so no face in the report even though it has one.
scripts[2]!.steps.splice(1, 0, { op: 'apdu', apdu: '00A4000002EF99', note: 'select a file no card has' });
await writeBatch(dir, scripts, store);
const opened = openStations(simulatedStations(2, { maxConsecutiveFailures: 5 }), SIM);
t.teardown(() => opened.close());
const res = await runBatch(loadBatch(dir), { provider: store, stations: opened.stations });

t.test('one thumbnail per issued card with a face', async (t) => {
  t.same([res.counts.issued, res.counts.rejected], [9, 1], res.message);
  const journal = Journal.open(dir);
  const issued = journal.issuedCards().map((c) => c.recordId);
  journal.close();
  const withFace = issued.filter((id) => id !== 'f0008');
  t.equal(withFace.length, 8);
  for (const id of withFace) t.ok(existsSync(join(dir, FACES_DIR, faceFileName(id))), `${id}: face kept`);
  const { html } = reportFromDir(dir, { html: true });
  const imgs = [...html!.matchAll(/<img alt="face of ([^"]+)" src="data:image\/png;base64,([A-Za-z0-9+/=]+)"/g)];
  t.equal(imgs.length, withFace.length, 'as many images as issued cards with a face');
  t.equal((html!.match(/<img/g) ?? []).length, withFace.length, 'and no other image');
  t.same(imgs.map((m) => m[1]).sort(), [...withFace].sort(), 'one per issued record, named');
  for (const m of imgs) t.same(Buffer.from(m[2]!, 'base64').subarray(1, 4).toString(), 'PNG', `${m[1]}: a PNG`);
  t.match(html!, new RegExp(`Card faces \\(${withFace.length}\\)`));
  t.notMatch(html!, /The first \d+ of/);
});

t.test('cardsmith report --html --max-faces', async (t) => {
  const file = join(dir, 'r.html');
  const r = await cli(['report', dir, '--html', file, '--max-faces', '3']);
  t.equal(r.code, 0, r.err);
  const html = readFileSync(file, 'utf8');
  t.equal((html.match(/<img/g) ?? []).length, 3);
  t.match(html, /The first 3 of 8 issued cards' faces/);
  const all = await cli(['report', dir, '--html', file]);
  t.equal(all.code, 0);
  t.equal((readFileSync(file, 'utf8').match(/<img/g) ?? []).length, 8);
  t.equal((await cli(['report', dir, '--html', file, '--max-faces', '-1'])).code, 2);
});
