// The faces' fonts travel in the batch: prep copies the profile's face.fonts into DIR/fonts/
// (listed in manifest.json files.fonts, so under its MAC), and run prints with those copies — a
// batch whose profile file and fonts were moved away still prints its faces with the profile's
// font. A batch with faces whose manifest lists no fonts (prepared by an earlier cardsmith) is
// refused before any card, asking for a new prep; a font copy changed after prep is refused too.
import t from 'tap';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchFaces, defaultFonts } from '../../faces/index.js';
import { FileKeyStore } from '../../keys/index.js';
import { faceFileName } from '../../personalization/report/index.js';
import { loadBatch, withPhotos } from '../../personalization/runner/run.js';
import type { BatchManifest, CardScript } from '../../personalization/script.js';
import { manifestMac, writeManifestFile } from '../../personalization/sealed.js';
import { cli } from '../helpers/cli.js';

const SERIF = '/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf';
const skip = existsSync(SERIF) ? false : `needs ${SERIF} (Debian package fonts-dejavu-extra), a font outside the default search list`;

const root = mkdtempSync(join(tmpdir(), 'batch-fonts-test-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

t.test('prep copies the face fonts; run prints with them after the profile and its font are gone', { skip }, async (t) => {
  const demo = join(root, 'demo');
  t.equal((await cli(['demo', '--cards', '2', '--out', demo])).code, 0, 'demo: key store and input');
  const storeArgs = ['--keystore', join(demo, 'keys.store'), '--pass-file', join(demo, 'demo-passphrase')];
  process.env.CARDSMITH_REGISTRY = join(root, 'office-registry.sqlite'); // the demo's registry knows these cardholders
  t.teardown(() => void delete process.env.CARDSMITH_REGISTRY);
  // The built-in profile with a face font beside it.
  const profileDir = join(root, 'profile');
  mkdirSync(profileDir);
  const yaml = readFileSync(fileURLToPath(new URL('../../profiles/sscard-gen3.yaml', import.meta.url)), 'utf8');
  t.ok(yaml.includes('\nface:\n'));
  writeFileSync(join(profileDir, 'sscard.yaml'), yaml.replace('\nface:\n', '\nface:\n  fonts: [card.ttf]\n'));
  copyFileSync(SERIF, join(profileDir, 'card.ttf'));
  const batch = join(root, 'batch');
  const prepped = await cli(['prep', '--profile', join(profileDir, 'sscard.yaml'), '--input', join(demo, 'input', 'batch.csv'), '--out', batch, ...storeArgs]);
  t.equal(prepped.code, 0, prepped.err);
  const manifest = JSON.parse(readFileSync(join(batch, 'manifest.json'), 'utf8')) as BatchManifest;
  t.match(manifest.files.fonts, [{ name: '01-card.ttf', size: readFileSync(SERIF).length }], 'the manifest lists the copy');
  t.same(readFileSync(join(batch, 'fonts', '01-card.ttf')), readFileSync(SERIF), 'copied byte for byte');

  // The profile and its font move away; the batch still prints with that font.
  renameSync(profileDir, join(root, 'moved'));
  rmSync(join(root, 'moved'), { recursive: true });
  const run = await cli(['run', batch, '--sim', '2', ...storeArgs]);
  t.equal(run.code, 0, run.err);
  t.notMatch(run.out + run.err, /cannot be loaded here/, 'no warning about the profile');
  // The photos come from the batch's blobs.pack (no photo folder), as run prints them.
  const loaded = loadBatch(batch);
  t.teardown(() => loaded.blobs?.close());
  const scripts = [...loaded.scripts.values()];
  t.equal(scripts.length, 2);
  t.same(readdirSync(join(batch, 'faces')).sort(), scripts.map((s) => faceFileName(s.recordId)).sort(), 'a face for every card');
  t.ok(scripts.every((s) => s.face!.fields.some((f) => f.kind === 'photo' && f.blob)), 'each face names its photo in blobs.pack');
  const warnings: string[] = [];
  const render = (fonts: string[], s: CardScript) => new BatchFaces({ fonts, photoDirs: [], warn: (w) => warnings.push(w) }).render(s.recordId, withPhotos(s.face!, loaded.blobs)).png;
  for (const s of scripts) {
    const kept = readFileSync(join(batch, 'faces', faceFileName(s.recordId)));
    t.same(kept, Buffer.from(render([join(batch, 'fonts', '01-card.ttf'), ...defaultFonts()], s)), `${s.recordId}: printed with the batch's copy of the profile's font`);
    t.notSame(kept, Buffer.from(render(defaultFonts(), s)), `${s.recordId}: not with the default fonts alone`);
  }
  t.notMatch(warnings.join('\n'), /photo/i, 'every photo read from blobs.pack');

  // A font copy changed after prep: refused before any card.
  const edited = join(root, 'edited');
  process.env.CARDSMITH_REGISTRY = join(root, 'another-registry.sqlite'); // the same cardholders again
  t.equal((await cli(['prep', '--profile', 'builtin:sscard-gen3', '--input', join(demo, 'input', 'batch.csv'), '--out', edited, ...storeArgs])).code, 0);
  const m = JSON.parse(readFileSync(join(edited, 'manifest.json'), 'utf8')) as BatchManifest;
  t.same(m.files.fonts, [], 'a face without fonts: an empty list');
  mkdirSync(join(edited, 'fonts'));
  writeFileSync(join(edited, 'fonts', '01-x.ttf'), 'not prep\'s');
  const extra = await cli(['run', edited, '--sim', '1', ...storeArgs]);
  t.equal(extra.code, 2);
  t.match(extra.err, /fonts\/01-x\.ttf: a file prep did not write/);
  rmSync(join(edited, 'fonts'), { recursive: true });

  // The same batch as an earlier prep wrote it (no files.fonts, MAC recomputed): it runs, its faces
  // with the default fonts, and says once why.
  const { fonts: _gone, ...files } = m.files;
  const store = await FileKeyStore.open(join(demo, 'keys.store'), new TextEncoder().encode(readFileSync(join(demo, 'demo-passphrase'), 'utf8').trim()));
  try {
    const { mac: _mac, ...rest } = { ...m, files };
    writeManifestFile(edited, { ...rest, mac: await manifestMac(store, rest) });
  } finally {
    await store.close();
  }
  const old = await cli(['run', edited, '--sim', '1', ...storeArgs]);
  t.equal(old.code, 0, old.err);
  t.equal(old.err.split('prepared by an earlier cardsmith, which did not copy the profile\'s face fonts into the batch: faces use CARDSMITH_FONTS and the system fonts').length - 1, 1, 'one warning');
  t.ok(existsSync(join(edited, 'faces')), 'its faces printed');
  const again = await cli(['run', edited, '--sim', '1', ...storeArgs]);
  t.equal(again.code, 0, 'a finished old batch: nothing to do');
  t.notMatch(again.err, /earlier cardsmith/, 'no face, no font warning');
});
