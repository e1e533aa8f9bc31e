// The stations file: a full valid file, the shipped examples, and every kind of mistake reported
// at its file:line:column — all of them at once.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { loadStationsFile, parseStationsFile, simulatedStations, StationsFileError } from '../../stations/index.js';

function issues(text: string): string[] {
  try {
    parseStationsFile(text, 'st.yaml');
  } catch (e) {
    if (e instanceof StationsFileError) return e.issues.map((i) => `${i.line}:${i.col} ${i.message}`);
    throw e;
  }
  return [];
}

t.test('a valid file: all three movers, defaults, encoders', async (t) => {
  const f = parseStationsFile(
    `version: 1
defaults:
  interface: contactless
  maxConsecutiveFailures: 5
stations:
  - name: sim-1
    mover: { type: simulated, seed: 9, cards: 10, latency: { apduMs: 3 }, faults: [ { kind: jam, card: 2 }, { kind: removed, every: 3, afterApdus: 4 } ] }
  - name: ev
    mover: { type: evolis, uri: "tcp://127.0.0.1:9100", timeoutMs: 2000, ribbon: k }
    encoder: sim:sscard?seed=100
    interface: contact
  - name: desk
    mover: manual
    encoder: Virtual PCD 00 00
    maxConsecutiveFailures: 2
`,
    'st.yaml',
  );
  t.same(f.stations, [
    { name: 'sim-1', mover: { type: 'simulated', seed: 9, cards: 10, latency: { apduMs: 3 }, faults: [{ kind: 'jam', card: 2 }, { kind: 'removed', every: 3, afterApdus: 4 }] }, encoder: undefined, interface: 'contactless', maxConsecutiveFailures: 5 },
    { name: 'ev', mover: { type: 'evolis', uri: 'tcp://127.0.0.1:9100', timeoutMs: 2000, ribbon: 'k' }, encoder: 'sim:sscard?seed=100', interface: 'contact', maxConsecutiveFailures: 5 },
    { name: 'desk', mover: { type: 'manual' }, encoder: 'Virtual PCD 00 00', interface: 'contactless', maxConsecutiveFailures: 2 },
  ]);
});

t.test('the shipped examples load', async (t) => {
  for (const name of ['sim4.yaml', 'bureau.yaml']) {
    const f = await loadStationsFile(fileURLToPath(new URL(`../../examples/stations/${name}`, import.meta.url)));
    t.ok(f.stations.length >= 3, name);
  }
});

t.test('syntax errors keep YAML\'s position', async (t) => {
  t.match(issues('stations:\n  - name: a\n    mover: [simulated\n'), [/^4:1 YAML: /]);
});

t.test('structure and value errors at their line:column, all reported together', async (t) => {
  const text = `stations:
  - name: one
    mover: teleport
  - name: one
    mover: { type: simulated }
    encoder: "Some Reader"
  - name: "bad name!"
    mover: { type: evolis, uri: "lpt1:" }
    encoder: sim:gp
  - mover: manual
    colour: blue
  - name: nofault
    mover: { type: simulated, faults: [ { kind: fire, card: 1 }, { kind: jam }, { kind: jam, probability: 1.5 } ] }
    interface: nfc
    maxConsecutiveFailures: 0
extra: 1
`;
  t.same(issues(text), [
    '3:12 station "one": mover: unknown type "teleport"; known: simulated, evolis, manual',
    '4:11 station "one" is named twice (first at line 2); names must be unique',
    '6:14 station "one": a simulated printer encodes its own cards; leave encoder out (or write encoder: printer)',
    '7:11 stations[2]: name must be 1..64 of A-Z a-z 0-9 . _ : - starting with a letter or digit',
    '8:33 station "#3": mover: uri must be tcp://HOST:PORT or a device path such as /dev/usb/lp0',
    '9:14 station "#3": encoder sim:gp: only sim:sscard cards exist so far',
    '10:5 stations[3]: missing name',
    '11:5 stations[3]: unknown key "colour"; known: name, mover, encoder, interface, maxConsecutiveFailures',
    '10:5 station "#4": missing encoder (a PC/SC reader name, or sim for simulated cards)',
    '13:49 station "nofault": mover: faults[0]: kind must be one of jam, dead-chip, removed, encoder-timeout',
    '13:66 station "nofault": mover: faults[1]: give exactly one of card, every, probability',
    '13:107 station "nofault": mover: faults[2]: probability must be a number 0..1',
    '14:16 station "nofault": interface must be contact or contactless',
    '15:29 maxConsecutiveFailures must be an integer 1..1000',
    '16:1 top level: unknown key "extra"; known: version, defaults, stations',
  ].sort((a, b) => Number(a.split(':')[0]) - Number(b.split(':')[0]) || Number(a.split(':')[1]!.split(' ')[0]) - Number(b.split(':')[1]!.split(' ')[0])));
});

t.test('the error message is one line per issue, file:line:col first', async (t) => {
  const e = t.throws(() => parseStationsFile('stations: []\n', 'floor.yaml')) as Error;
  t.equal(e.message, 'floor.yaml:1:11: `stations` must be a non-empty list');
  t.equal(e.name, 'StationsFileError');
  const e2 = t.throws(() => parseStationsFile('- a\n', 'x.yaml')) as Error;
  t.equal(e2.message, 'x.yaml:1:1: the stations file must be a map with a `stations:` list');
  await t.rejects(loadStationsFile('/nonexistent/stations.yaml'), { name: 'StationsFileError', message: /\/nonexistent\/stations.yaml:1:1: cannot read the stations file \(ENOENT\)/ });
});

t.test('nesting thousands of levels deep: what is wrong and where, not a stack overflow', async (t) => {
  t.same(issues('stations:\n  - ' + '['.repeat(5000) + ']'.repeat(5000) + '\n'), ['2:67 YAML: lists and mappings nested more than 64 levels deep']);
  const block = 'stations:\n' + Array.from({ length: 3000 }, (_, i) => ' '.repeat(i + 2) + '- ').join('\n') + 'x\n';
  t.same(issues(block), ['65:66 YAML: lists and mappings nested more than 64 levels deep']);
});

t.test('a 100 000-character key is echoed clipped', async (t) => {
  const [issue] = issues(`stations:\n  - { name: a, mover: simulated, ${'k'.repeat(100_000)}: 1 }\n`);
  t.ok(issue!.length < 200, `${issue!.length} characters`);
  t.match(issue, /^2:34 stations\[0\]: unknown key "k+… \(100000 characters\)"; known: /);
});

t.test('--sim N', async (t) => {
  const s = simulatedStations(3, { seed: 10, latency: { apduMs: 1 } });
  t.same(s.map((x) => [x.name, x.mover.type, (x.mover as { seed: number }).seed]), [['sim-1', 'simulated', 11], ['sim-2', 'simulated', 12], ['sim-3', 'simulated', 13]]);
  t.throws(() => simulatedStations(0), RangeError);
});
