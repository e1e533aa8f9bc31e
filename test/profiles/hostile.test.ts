// Hostile YAML given to `cardsmith profile validate`: an alias bomb (a few hundred bytes that
// stand for billions of values), nesting thousands of levels deep (YAML and JSON), an alias
// inside the node it names. Each is refused with exit 2, one clear message and its place; the
// built binary runs them so that a hang or a crash shows as a failure, not a stuck test.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseYaml, toPlain } from '../../profiles/source.js';
import { cli, cliProcess } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'cardsmith-hostile-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

/** a0: &a0 [x,x,…], a1: &a1 [*a0,*a0,…], …: `width` to the power `levels` values. */
function aliasBomb(levels: number, width: number): string {
  const lines = [`a0: &a0 [${Array(width).fill('x').join(',')}]`];
  for (let i = 1; i < levels; i++) lines.push(`a${i}: &a${i} [${Array(width).fill(`*a${i - 1}`).join(',')}]`);
  return lines.join('\n') + '\n';
}

t.test('an alias bomb: exit 2 with one message at the alias, no expansion', async (t) => {
  const text = aliasBomb(9, 9);
  t.ok(text.length < 400, `${text.length} bytes standing for 9^9 values`);
  const r = cliProcess(['profile', 'validate', file('bomb.yaml', text)]);
  t.equal(r.code, 2, 'exit 2');
  t.equal(r.err, '', 'nothing on stderr (no stack trace)');
  t.match(r.out, /bomb\.yaml:\d+:\d+: error: YAML: more than 1000 aliases are used \(hint: write the values out, or use fewer aliases\)\n/);
  t.match(r.out, /bomb\.yaml: 1 error\n$/, 'the one real error, no schema noise from a cut-short tree');
});

t.test('few aliases that expand to too many values: refused by size', async (t) => {
  // 30 aliases of a 5000-item list: 150 000 values.
  const text = `a: &a [${Array(5000).fill('x').join(',')}]\nb: [${Array(30).fill('*a').join(', ')}]\n`;
  const d = parseYaml(text, 'wide.yaml').diagnostics;
  t.same(
    d.map((x) => [x.code, x.message]),
    [['yaml-too-large', 'YAML: the aliases here expand the file to more than 100000 values']],
  );
  t.match(d[0]!.loc, { file: 'wide.yaml', line: 2 });
});

t.test('aliases within the limits still stand for their anchors', async (t) => {
  const r = parseYaml('a: &x { k: 1, l: [2, 3] }\nb: *x\nc: [*x, *x]\n', 'ok.yaml');
  t.same(r.diagnostics, []);
  t.same(toPlain(r.root!), { a: { k: 1, l: [2, 3] }, b: { k: 1, l: [2, 3] }, c: [{ k: 1, l: [2, 3] }, { k: 1, l: [2, 3] }] });
});

t.test('an alias inside the node it names is refused', async (t) => {
  const d = parseYaml('a: &x [1, *x]\n', 'self.yaml').diagnostics;
  t.same(
    d.map((x) => `${x.loc.line}:${x.loc.col} ${x.message}`),
    ['1:11 YAML: alias *x is inside the node it names'],
  );
});

t.test('nesting thousands of levels deep: what is wrong and where, exit 2', async (t) => {
  const cases: [string, string, string][] = [
    ['deep-flow.yaml', '['.repeat(5000) + ']'.repeat(5000) + '\n', '1:65'],
    ['deep-block.yaml', Array.from({ length: 3000 }, (_, i) => ' '.repeat(i) + '- ').join('\n') + 'x\n', '65:65'],
    ['deep-map.yaml', Array.from({ length: 3000 }, (_, i) => ' '.repeat(i) + 'k:').join('\n') + ' x\n', '65:65'],
    ['deep.json', '{"a":'.repeat(20000) + '1' + '}'.repeat(20000) + '\n', '1:321'],
  ];
  for (const [name, text, at] of cases) {
    const r = cliProcess(['profile', 'validate', file(name, text)]);
    t.equal(r.code, 2, `${name}: exit 2`);
    t.equal(r.err, '', `${name}: nothing on stderr`);
    t.match(r.out, `${name}:${at}: error: YAML: lists and mappings nested more than 64 levels deep`, name);
    t.notMatch(r.out, /call stack/i, `${name}: no "Maximum call stack size exceeded"`);
  }
});

t.test('100 000-character keys, values and names in a profile: every message line stays short', async (t) => {
  const builtin = readFileSync(fileURLToPath(new URL('../../profiles/sscard-gen3.yaml', import.meta.url)), 'utf8');
  const q = 'q'.repeat(100_000);
  const edits: [string, string, string, RegExp][] = [
    ['value.yaml', 'keyAlgorithm: 3des', `keyAlgorithm: ${q}`, /'q+… \(100000 characters\)' is not allowed for keyAlgorithm/],
    ['key.yaml', 'keyAlgorithm: 3des', `keyAlgorithm: 3des\n${q.slice(0, 1000)}: 1`, /unknown key 'q+… \(1000 characters\)'/],
    ['expr.yaml', 'concat(param.cardNumberLetter, serial(7))', `concat(record.${q}, serial(7))`, /record field 'q+… \(100000 characters\)' is not declared/],
  ];
  for (const [name, from, to, message] of edits) {
    t.ok(builtin.includes(from), `${name}: the builtin profile has ${from}`);
    const r = await cli(['profile', 'validate', file(name, builtin.replace(from, to))]);
    t.equal(r.code, 2, `${name}: exit 2`);
    t.match(r.out, message, name);
    const longest = Math.max(...r.out.split('\n').map((l) => l.length));
    t.ok(longest < 600, `${name}: longest line ${longest} characters`);
  }
});
