// `cardsmith demo --cards 6` in-process: a demo key store, prep of the example batch, a run on 4
// simulated stations, the report; all issued, no duplicates, and no key, PIN or passphrase in
// what it prints.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { toHex } from '../../bytes/index.js';
import { FileKeyStore } from '../../keys/file-store.js';
import type { Report } from '../../personalization/report/index.js';
import { parseCardScript, type SealedApduStep } from '../../personalization/script.js';
import { decodePng } from '../../faces/index.js';
import { cli } from '../helpers/cli.js';

t.test('demo --cards 6: 6 issued, 0 rejected, 0 duplicates, no secrets printed', async (t) => {
  const out = join(mkdtempSync(join(tmpdir(), 'demo-test-')), 'demo');
  const r = await cli(['demo', '--cards', '6', '--out', out]);
  t.equal(r.code, 0, r.err.split('\n').slice(-3).join('\n'));
  t.match(r.out, /DEMO ONLY/);
  t.match(r.out, /records 6: issued 6, rejected 0, pending 0, in review 0/);
  t.match(r.out, /duplicates: 0/);

  const j = await cli(['demo', '--cards', '6', '--out', join(out, '..', 'demo-json'), '--json']);
  t.equal(j.code, 0);
  const res = JSON.parse(j.out) as { report: Report; run: { counts: { issued: number; rejected: number } } };
  t.equal(res.report.counts.issued, 6);
  t.equal(res.report.counts.rejected, 0);
  t.equal(res.report.duplicates.records + res.report.duplicates.chips + res.report.duplicates.inconsistent, 0);

  // The demo's cards have faces: one kept per issued card, one thumbnail each in the HTML report; the audit log verifies.
  const faces = readdirSync(join(out, 'batch', 'faces')).filter((f) => f.endsWith('.png'));
  t.equal(faces.length, 6, 'a face per issued card in DIR/faces');
  const html = join(out, 'report.html');
  t.equal((await cli(['report', join(out, 'batch'), '--html', html])).code, 0);
  t.equal((readFileSync(html, 'utf8').match(/<img alt="face of [^"]+" src="data:image\/png;base64,/g) ?? []).length, 6, 'six thumbnails in the HTML report');
  const audit = await cli(['audit', 'verify', join(out, 'batch', 'audit.log')]);
  t.equal(audit.code, 0, audit.err);

  // The passphrase file: mode 600, its content never printed.
  const passFile = join(out, 'demo-passphrase');
  t.equal(statSync(passFile).mode & 0o777, 0o600);
  const pass = readFileSync(passFile, 'utf8').trim();
  const printed = r.out + r.err + j.out + j.err;
  t.notOk(printed.includes(pass), 'passphrase not printed');
  t.notOk(printed.includes(readFileSync(join(out, '..', 'demo-json', 'demo-passphrase'), 'utf8').trim()), 'passphrase (json run) not printed');
  const ids = readFileSync(join(out, 'batch', 'cards.jsonl'), 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { recordId: string }).recordId).concat(readFileSync(join(out, '..', 'demo-json', 'batch', 'cards.jsonl'), 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { recordId: string }).recordId));
  t.notMatch(ids.reduce((p, id) => p.replaceAll(id, '<record>'), printed), /[0-9A-F]{32,}/i, 'no key-length hex runs besides record ids');

  // PINs (unsealed from the scripts) and key values never appear.
  const store = await FileKeyStore.open(join(out, 'keys.store'), new TextEncoder().encode(pass));
  t.teardown(() => store.close());
  const scripts = readFileSync(join(out, 'batch', 'cards.jsonl'), 'utf8').trimEnd().split('\n').map((l, i) => parseCardScript(l, `cards.jsonl:${i + 1}`));
  t.equal(scripts.length, 6);
  for (const s of scripts) {
    for (const step of [...s.steps, ...s.verify].filter((x): x is SealedApduStep => x.op === 'sealed-apdu')) {
      const secret = await store.unseal({ label: 'batch-transport' }, Buffer.from(step.data.sealed, 'base64'), new TextEncoder().encode(s.recordId));
      const hex = toHex(secret);
      if (step.header === '00200080') {
        const digits = hex.replace(/F+$/, '');
        t.notOk(printed.includes(digits) && digits.length >= 6 && new RegExp(`(^|[^0-9])${digits}([^0-9]|$)`).test(printed), `PIN of ${s.recordId} not printed`);
      }
      t.notOk(printed.toUpperCase().includes(hex), 'sealed value not printed');
    }
  }
});

t.test('demo: bad --cards and a non-empty --out exit 2', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'demo-test-'));
  t.equal((await cli(['demo', '--cards', '0', '--out', join(dir, 'a')])).code, 2);
  t.equal((await cli(['demo', '--cards', '99', '--out', join(dir, 'b')])).code, 2);
  t.equal((await cli(['demo', '--out', join(tmpdir())])).code, 2);
});

t.test('a batch folder moved without its input still prints the photos prep put on the chips', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'demo-moved-'));
  const demo = join(root, 'demo');
  t.equal((await cli(['demo', '--cards', '2', '--out', demo])).code, 0);
  // Another bureau's registry: the demo's own one knows these cardholders already have cards.
  const store = ['--keystore', join(demo, 'keys.store'), '--pass-file', join(demo, 'demo-passphrase'), '--registry', join(root, 'office-registry.sqlite')];
  const prepared = join(root, 'office', 'batch');
  const p = await cli(['prep', '--profile', 'builtin:sscard-gen3', '--input', join(demo, 'input', 'batch.csv'), '--out', prepared, ...store]);
  t.equal(p.code, 0, p.err);
  // To the production floor: the batch folder goes, the input (with its photos) stays behind.
  const floor = join(root, 'floor', 'batch');
  mkdirSync(join(root, 'floor'));
  renameSync(prepared, floor);
  renameSync(join(demo, 'input'), join(demo, 'input-elsewhere'));
  const r = await cli(['run', floor, '--sim', '1', ...store]);
  t.equal(r.code, 0, r.err);
  t.notMatch(r.err, /photo/, 'no photo warning');
  const faces = readdirSync(join(floor, 'faces')).filter((f) => f.endsWith('.png'));
  t.equal(faces.length, 2);
  for (const f of faces) {
    const img = decodePng(new Uint8Array(readFileSync(join(floor, 'faces', f))));
    // The photo box is 260 × 331 at (59, 165); its middle shows the drawn face, not the empty box's grey.
    const o = ((165 + 165) * img.width + 59 + 130) * 3;
    t.notSame(Array.from(img.data.subarray(o, o + 3)), [200, 200, 200], `${f}: the photo is printed`);
  }
});
