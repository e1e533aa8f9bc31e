// Card images (docs/simulator.md "Card image"): JSON round trip, atomic save and load, precise
// errors for broken images, and determinism — two cards with the same seed give byte-identical
// transcripts, also when one of them is saved and reloaded half-way.
import t from 'tap';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../bytes/index.js';
import { CardImageError, createSsCard, IMAGE_FORMAT, IMAGE_VERSION, loadCardImage, saveCardImage, type CardImage, type SsCard } from '../../simulator/index.js';
import { personalizeExample } from '../../simulator/examples/personalize.js';
import { apdu, challenge, cloneImage, h, personalized, send, sw } from './fixtures/helpers.js';

t.test('image round trip', async (t) => {
  const { card } = personalized();
  const image = card.toImage();
  t.equal(image.format, IMAGE_FORMAT);
  t.equal(image.version, IMAGE_VERSION);
  t.equal(image.kind, 'sscard');
  t.equal(image.journal, undefined, 'no journal after a clean shutdown');
  const json = JSON.stringify(image);
  const again = createSsCard({ image: JSON.parse(json) as unknown });
  t.equal(JSON.stringify(again.toImage()), json, 'toImage(fromImage(x)) = x');
  t.equal(again.lifecycle, 'personalized');
  t.match(image.cells['card'], { t: 'card', lifecycle: 'personalized' });
  t.match(image.cells['node/0'], { t: 'node', parent: null, spec: { type: 'df', fid: '3F00' } });
  const t0 = createSsCard({ image: JSON.parse(json) as unknown, t0: true });
  t.equal(t0.toImage().options.t0, true, 't0 may be overridden when loading');
});

t.test('save and load files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cardsmith-sim-'));
  const path = join(dir, 'card.json');
  const { card } = personalized();
  card.powerOn('contact');
  sw(card, '00A4040C0F7378312E73682EC9E7BBE1B1A3D5CF');
  sw(card, '0020000003999999');
  saveCardImage(card, path);
  t.equal(statSync(path).mode & 0o777, 0o600, 'mode 0600: the image holds keys');
  t.same(readdirSync(dir), ['card.json'], 'no temporary file left behind');
  const image = loadCardImage(path);
  const loaded = createSsCard({ image });
  t.equal(JSON.stringify(loaded.toImage()), JSON.stringify(card.toImage()));
  loaded.powerOn('contact');
  sw(loaded, '00A4040C0F7378312E73682EC9E7BBE1B1A3D5CF');
  t.equal(sw(loaded, '00200000'), '63C2', 'the try counter survived the file');
  saveCardImage(path, loaded);
  t.ok(readFileSync(path, 'utf8').endsWith('\n'), 'the (path, card) argument order works too');
  t.throws(() => saveCardImage({ kind: 'x', powerOn: () => new Uint8Array(0), powerOff: () => {}, process: () => new Uint8Array(0) }, path), TypeError);
  t.throws(() => saveCardImage(card, join(dir, 'missing', 'card.json')), CardImageError);
});

t.test('broken images are refused with the field named', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cardsmith-sim-'));
  const good = cloneImage(personalized().card);
  const cases: [string, (img: CardImage & Record<string, unknown>) => unknown, RegExp][] = [
    ['format', (i) => ({ ...i, format: 'other' }), /\$\.format/],
    ['version', (i) => ({ ...i, version: 2 }), /\$\.version.*version 1/],
    ['kind', (i) => ({ ...i, kind: 'gp' }), /\$\.kind/],
    ['seed', (i) => ({ ...i, drbg: { seed: 'XYZ', position: 0 } }), /\$\.drbg\.seed: expected hex/],
    ['position', (i) => ({ ...i, drbg: { seed: '00', position: -1 } }), /\$\.drbg\.position/],
    ['card cell', (i) => ({ ...i, cells: { ...i.cells, card: undefined } }), /missing the card cell|\$\.cells\["card"\]/],
    ['a fid', (i) => ({ ...i, cells: { ...i.cells, 'node/0': { t: 'node', parent: null, spec: { type: 'df', fid: '3F', access: { create: '20', keyWrite: '20' } } } } }), /node\/0"\]\.spec\.fid: expected 2\.\.2 bytes/],
    ['an access byte', (i) => ({ ...i, cells: { ...i.cells, 'node/0': { t: 'node', parent: null, spec: { type: 'df', fid: '3F00', access: { create: '45', keyWrite: '20' } } } } }), /access\.create: not an access condition/],
    ['a key', (i) => ({ ...i, cells: { ...i.cells, 'key/0/01/00': { t: 'key', key: { type: 1, id: 0, version: 1, alg: 'aes', limit: 15, value: '00' } } } }), /key\.alg/],
    ['a cell type', (i) => ({ ...i, cells: { ...i.cells, extra: { t: 'weird' } } }), /extra"\]\.t/],
  ];
  for (const [what, mutate, pattern] of cases) {
    const bad = mutate(JSON.parse(JSON.stringify(good)) as CardImage & Record<string, unknown>);
    let err: unknown;
    try {
      createSsCard({ image: JSON.parse(JSON.stringify(bad)) as unknown });
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof CardImageError, `${what}: CardImageError`);
    t.match((err as Error).message, pattern, `${what}: ${(err as Error).message}`);
    t.notMatch((err as Error).message, /404142434445/, 'no key bytes in the message');
  }
  const notJson = join(dir, 'bad.json');
  writeFileSync(notJson, '{ not json');
  t.throws(() => loadCardImage(notJson), { name: 'CardImageError', where: notJson });
  t.throws(() => loadCardImage(join(dir, 'nope.json')), CardImageError);
  t.throws(() => createSsCard({ image: 'a string' }), CardImageError);
});

/** A transcript: every command and answer of a personalization and a session using randomness. */
function transcript(card: SsCard, commands: (card: SsCard) => string[]): string[] {
  const lines: string[] = [];
  const originalProcess = card.process.bind(card);
  card.process = (c: Uint8Array) => {
    const r = originalProcess(c);
    lines.push(`${toHex(c)} -> ${toHex(r)}`);
    return r;
  };
  try {
    commands(card);
  } finally {
    card.process = originalProcess;
  }
  return lines;
}

function session(card: SsCard): string[] {
  card.powerOn('contact');
  sw(card, '00A4040C0C504B492EC9E7BBE1B1A3D5CF');
  sw(card, '00A4040C0C53532E434552542E41444631');
  for (const n of [4, 8, 16]) challenge(card, n);
  sw(card, '0020008103123456');
  send(card, apdu(0x00, 0x2a, 0x9e, 0x9a, h('616263'), 0x00));
  return [];
}

t.test('same seed ⇒ byte-identical transcripts', async (t) => {
  const run = (seed: number) => {
    const card = createSsCard({ seed });
    return [...transcript(card, (c) => (personalizeExample(c), [])), ...transcript(card, session)];
  };
  const a = run(77);
  const b = run(77);
  t.ok(a.length > 80, `${a.length} exchanges`);
  t.same(a, b, 'personalization (with on-card key generation) and a signing session');
  const c = run(78);
  t.not(a.join('\n'), c.join('\n'), 'another seed gives another transcript');
  t.same(a.filter((l) => l.startsWith('0084')).length, c.filter((l) => l.startsWith('0084')).length);
});

t.test('an image continues the random stream where it stopped', async (t) => {
  const straight = createSsCard({ seed: 5 });
  personalizeExample(straight);
  const part1 = transcript(straight, session);
  const part2 = transcript(straight, session);

  const first = createSsCard({ seed: 5 });
  personalizeExample(first);
  t.same(transcript(first, session), part1);
  first.powerOff();
  const dir = mkdtempSync(join(tmpdir(), 'cardsmith-sim-'));
  saveCardImage(first, join(dir, 'c.json'));
  const resumed = createSsCard({ image: loadCardImage(join(dir, 'c.json')) });
  t.same(transcript(resumed, session), part2, 'after save + load: the same challenges and signatures');
});

t.test('an image taken between a power cut and power-on recovers on power-on', async (t) => {
  const { card } = personalized();
  card.powerOn('contact');
  sw(card, '00A4040C0F7378312E73682EC9E7BBE1B1A3D5CF');
  card.injectPowerLoss({ atWrite: 3, phase: 'during' }); // VERIFY wrong: tx1 = journal, commit, apply(3, torn)
  t.equal(card.process(h('0020000003999999')).length, 0);
  const image = card.toImage();
  t.ok(image.journal, 'the journal is in the image');
  t.equal(image.journal?.committed, true);
  t.ok(Object.values(image.cells).some((c) => JSON.stringify(c) === '{"t":"torn"}'), 'and the torn cell');
  const restored = createSsCard({ image: JSON.parse(JSON.stringify(image)) as unknown });
  restored.powerOn('contact');
  t.equal(restored.toImage().journal, undefined, 'recovered at power-on');
  sw(restored, '00A4040C0F7378312E73682EC9E7BBE1B1A3D5CF');
  t.equal(sw(restored, '00200000'), '63C2', 'the committed decrement was replayed');
  t.equal(restored.internalErrors, 0);
});
